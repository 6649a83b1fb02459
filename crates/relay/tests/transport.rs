//! The two ways an event stream is served: a fresh connection that opens a stream goes to the
//! lean stream transport; a stream opened on a connection hyper already serves stays with hyper.
//! Both must look the same to a client, and the lean one must notice departed, stalled and
//! shut-down streams as hyper does. Raw sockets, so that which transport answers is certain.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use advicly_relay::RelayConfig;
use advicly_relay_protocol::{events_path, ChannelCreated};
use support::{Backend, TestRelay, DEADLINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as read off the socket: status, headers (lower-case names), and the body so far
/// with any chunked framing removed.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl RawResponse {
    /// The headers a client sees as the response's own, without the per-connection framing and
    /// the date.
    fn semantic_headers(&self) -> BTreeMap<String, String> {
        let mut headers = self.headers.clone();
        for framing in ["date", "connection", "transfer-encoding", "content-length"] {
            headers.remove(framing);
        }
        headers
    }
}

/// Reads from `socket` (appending to `seen`) until `done` says the response is complete.
async fn read_until(
    socket: &mut TcpStream,
    seen: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> bool {
    let mut buffer = [0u8; 4096];
    while !done(seen) {
        let read = tokio::time::timeout(DEADLINE, socket.read(&mut buffer))
            .await
            .expect("the relay answers in time")
            .expect("a readable socket");
        if read == 0 {
            return false;
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    true
}

fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|n| n + 4)
}

/// Removes chunked framing from what has arrived of a body (complete chunks only).
fn dechunk(mut bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = bytes.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap(), 16)
            .expect("a hex chunk size");
        if size == 0 {
            return (body, true);
        }
        let start = line_end + 2;
        if bytes.len() < start + size + 2 {
            return (body, false);
        }
        body.extend_from_slice(&bytes[start..start + size]);
        bytes = &bytes[start + size + 2..];
    }
}

/// Sends `request` on `socket` and reads one response until its body holds `body_until` (or,
/// for a sized body, all of it).
async fn exchange(socket: &mut TcpStream, request: &str, body_until: &str) -> RawResponse {
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    assert!(
        read_until(socket, &mut seen, |bytes| head_end(bytes).is_some()).await,
        "a response head"
    );
    let end = head_end(&seen).unwrap();
    let mut headers_storage = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers_storage);
    parsed.parse(&seen[..end]).expect("a valid response head");
    let status = parsed.code.unwrap();
    let headers: BTreeMap<String, String> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8(h.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let chunked = headers.get("transfer-encoding").map(String::as_str) == Some("chunked");
    let length: Option<usize> = headers.get("content-length").map(|v| v.parse().unwrap());
    let needle = body_until.as_bytes().to_vec();
    read_until(socket, &mut seen, |bytes| {
        let body = &bytes[end..];
        match (chunked, length) {
            (true, _) => {
                let (body, _) = dechunk(body);
                body.windows(needle.len().max(1)).any(|w| w == needle)
            }
            (false, Some(length)) => body.len() >= length,
            (false, None) => body.windows(needle.len().max(1)).any(|w| w == needle),
        }
    })
    .await;
    let body = if chunked {
        dechunk(&seen[end..]).0
    } else {
        seen[end..].to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn stream_request(channel: &ChannelCreated, token: &str, extra: &str) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n{extra}\r\n",
        events_path(&channel.channel_id)
    )
}

async fn fresh_connection(relay: &TestRelay) -> TcpStream {
    TcpStream::connect(relay.relay.as_ref().unwrap().local_addr())
        .await
        .unwrap()
}

/// A connection hyper serves: it has already answered one keep-alive request on it.
async fn connection_hyper_serves(relay: &TestRelay) -> TcpStream {
    let mut socket = fresh_connection(relay).await;
    let health = exchange(
        &mut socket,
        "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n",
        "",
    )
    .await;
    assert_eq!(health.status, 200);
    assert_ne!(
        health.headers.get("connection").map(String::as_str),
        Some("close")
    );
    socket
}

#[tokio::test]
async fn a_fresh_connection_and_a_reused_one_get_the_same_stream_answers() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let cases = [
        (
            "stream opens",
            channel.subscriber_token.clone(),
            "",
            ": connected",
        ),
        ("wrong token", "not-the-token".to_owned(), "", "}"),
        (
            "bad cursor",
            channel.subscriber_token.clone(),
            "Last-Event-ID: minus-one\r\n",
            "}",
        ),
    ];
    for (case, token, extra, until) in cases {
        let request = stream_request(&channel, &token, extra);
        let mut lean_socket = fresh_connection(&relay).await;
        let lean = exchange(&mut lean_socket, &request, until).await;
        let mut hyper_socket = connection_hyper_serves(&relay).await;
        let hyper = exchange(&mut hyper_socket, &request, until).await;
        assert_eq!(lean.status, hyper.status, "{case}: status");
        assert_eq!(
            lean.semantic_headers(),
            hyper.semantic_headers(),
            "{case}: headers"
        );
        assert_eq!(
            String::from_utf8_lossy(&lean.body),
            String::from_utf8_lossy(&hyper.body),
            "{case}: body"
        );
        assert_eq!(
            lean.headers.get("connection").map(String::as_str),
            Some("close"),
            "{case}: the lean transport closes after its one response"
        );
        assert!(lean.headers.contains_key("date"), "{case}: a Date header");
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_on_a_fresh_connection_carries_deliveries_as_chunks_and_ends_cleanly_at_shutdown()
{
    let relay = TestRelay::start(Backend::Sqlite).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut socket = fresh_connection(&relay).await;
    let opened = exchange(
        &mut socket,
        &stream_request(&channel, &channel.subscriber_token, ""),
        ": connected",
    )
    .await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.headers["transfer-encoding"], "chunked");
    assert_eq!(opened.headers["content-type"], "text/event-stream");
    assert_eq!(
        relay
            .relay
            .as_ref()
            .unwrap()
            .state()
            .connected_subscribers(),
        1
    );

    let (status, id) = client
        .post(&channel, "{\"first\": \"ünïcode\"}", None)
        .await;
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    let id_line = format!("id: {}\n", id.unwrap());
    read_until(&mut socket, &mut seen, |bytes| {
        let (body, _) = dechunk(bytes);
        String::from_utf8_lossy(&body).contains(&id_line)
    })
    .await;
    let (events, _) = dechunk(&seen);
    let events = String::from_utf8(events).unwrap();
    assert!(events.contains("event: delivery\n"), "{events}");
    assert!(events.contains(r#"\"first\": \"ünïcode\""#), "{events}");

    // Shutdown ends the stream with the final chunk and closes the connection.
    let relay_handle = relay.relay.as_ref().unwrap();
    relay_handle.state().begin_shutdown();
    let rest = read_to_close(&mut socket, Close::Clean).await;
    let (_, complete) = dechunk(&rest);
    assert!(complete, "the last chunk came before the close: {rest:?}");
    relay.stop().await;
}

#[tokio::test]
async fn an_http_1_0_stream_is_delimited_by_the_close() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let channel = relay.client().create_channel().await;
    let mut socket = fresh_connection(&relay).await;
    let request =
        stream_request(&channel, &channel.subscriber_token, "").replacen("HTTP/1.1", "HTTP/1.0", 1);
    let opened = exchange(&mut socket, &request, ": connected").await;
    assert_eq!(opened.status, 200);
    assert!(!opened.headers.contains_key("transfer-encoding"));
    assert!(!opened.headers.contains_key("content-length"));
    assert!(String::from_utf8_lossy(&opened.body).starts_with(": connected\n"));
    relay.stop().await;
}

#[tokio::test]
async fn a_subscriber_that_leaves_is_noticed_on_either_transport() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let channel = relay.client().create_channel().await;
    let request = stream_request(&channel, &channel.subscriber_token, "");
    let mut lean = fresh_connection(&relay).await;
    exchange(&mut lean, &request, ": connected").await;
    let mut hyper = connection_hyper_serves(&relay).await;
    exchange(&mut hyper, &request, ": connected").await;
    support::until_subscribers(&relay, 2).await;
    drop(lean);
    support::until_subscribers(&relay, 1).await;
    drop(hyper);
    support::until_subscribers(&relay, 0).await;
    relay.stop().await;
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_disconnected_after_the_write_timeout() {
    let config = RelayConfig {
        stream_write_timeout: Duration::from_millis(200),
        ..RelayConfig::default()
    };
    let relay = TestRelay::start_with(Backend::Sqlite, config).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket
        .connect(relay.relay.as_ref().unwrap().local_addr())
        .await
        .unwrap();
    exchange(
        &mut stalled,
        &stream_request(&channel, &channel.subscriber_token, ""),
        ": connected",
    )
    .await;
    support::until_subscribers(&relay, 1).await;
    // The subscriber reads nothing more. 16 MiB of deliveries is more than the socket buffers
    // hold (its receive buffer is 4 KiB, a send buffer grows to 4 MiB here), so a write stalls
    // and the relay lets the subscriber go.
    let body = "x".repeat(128 * 1024);
    let posted = 128;
    for _ in 0..posted {
        let (status, _) = client.post(&channel, body.clone(), None).await;
        assert_eq!(status, 200);
    }
    support::until_subscribers(&relay, 0).await;
    // Everything stays in the channel for the next connection.
    let mut reader = client.subscribe(&channel, None).await;
    assert_eq!(reader.deliveries(posted).await.len(), posted);
    relay.stop().await;
}

/// How the relay is expected to end a connection.
#[derive(Clone, Copy, PartialEq)]
enum Close {
    /// A clean close: every byte arrives, then end of stream.
    Clean,
    /// The relay closes with bytes of ours unread, so the kernel may answer with a reset after
    /// the data it had sent; the reset counts as the close.
    MayReset,
}

/// Reads until the relay closes the connection.
async fn read_to_close(socket: &mut TcpStream, close: Close) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(DEADLINE, socket.read(&mut buffer))
            .await
            .expect("the relay closes the connection in time");
        let read = match read {
            Ok(read) => read,
            Err(error)
                if close == Close::MayReset
                    && error.kind() == std::io::ErrorKind::ConnectionReset =>
            {
                0
            }
            Err(error) => panic!("the connection failed: {error}"),
        };
        if read == 0 {
            return seen;
        }
        seen.extend_from_slice(&buffer[..read]);
    }
}

#[tokio::test]
async fn a_request_sent_after_a_stream_request_ends_the_connection_unanswered() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let client = relay.client();
    let channel = client.create_channel().await;
    let mut socket = fresh_connection(&relay).await;
    // One write: the stream request, then a pipelined channel deletion on the same connection.
    let pipelined = format!(
        "{}DELETE {} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {}\r\n\r\n",
        stream_request(&channel, &channel.subscriber_token, ""),
        advicly_relay_protocol::channel_path(&channel.channel_id),
        channel.subscriber_token
    );
    socket.write_all(pipelined.as_bytes()).await.unwrap();
    let answered =
        String::from_utf8_lossy(&read_to_close(&mut socket, Close::MayReset).await).into_owned();
    assert_eq!(answered.matches("HTTP/1.1 ").count(), 1, "{answered}");
    assert!(answered.starts_with("HTTP/1.1 200 OK\r\n"), "{answered}");
    // The second request never ran: the channel is still there.
    let (status, _) = client.post(&channel, "still here", None).await;
    assert_eq!(status, 200);
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_request_with_a_body_goes_to_hyper_and_a_head_in_pieces_is_answered() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let channel = relay.client().create_channel().await;
    let mut with_body = fresh_connection(&relay).await;
    let request = stream_request(&channel, &channel.subscriber_token, "Content-Length: 5\r\n");
    let opened = exchange(&mut with_body, &format!("{request}hello"), ": connected").await;
    assert_eq!(opened.status, 200);
    assert_ne!(
        opened.headers.get("connection").map(String::as_str),
        Some("close"),
        "hyper, which keeps the connection"
    );

    // Whichever transport takes a head that arrives in two writes, the stream opens.
    let mut in_pieces = fresh_connection(&relay).await;
    in_pieces.set_nodelay(true).unwrap();
    let request = stream_request(&channel, &channel.subscriber_token, "");
    let (first, rest) = request.split_at(20);
    in_pieces.write_all(first.as_bytes()).await.unwrap();
    in_pieces.flush().await.unwrap();
    let opened = exchange(&mut in_pieces, rest, ": connected").await;
    assert_eq!(opened.status, 200);
    assert!(String::from_utf8_lossy(&opened.body).contains(": connected"));
    relay.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_ends_an_open_lean_stream_with_its_last_chunk() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let channel = relay.client().create_channel().await;
    let mut socket = fresh_connection(&relay).await;
    exchange(
        &mut socket,
        &stream_request(&channel, &channel.subscriber_token, ""),
        ": connected",
    )
    .await;
    let stopping = tokio::spawn(relay.stop());
    let rest = read_to_close(&mut socket, Close::Clean).await;
    assert!(
        dechunk(&rest).1,
        "the last chunk came before the close: {rest:?}"
    );
    tokio::time::timeout(DEADLINE, stopping)
        .await
        .expect("the relay stops in time")
        .unwrap();
}
