//! A lean HTTP/1.1 transport for event streams.
//!
//! An idle subscriber is a connection that may sit for days with nothing to say. Served by
//! hyper, it keeps hyper's per-connection buffers for its whole life: an 8 KiB read buffer and an
//! 8 KiB header buffer, fixed minimums in hyper 1.x, plus the response's header map. At 10,000
//! subscribers that is most of the relay's memory.
//!
//! So a fresh connection whose first bytes are a complete `GET /v1/channels/{id}/events`
//! request head is served here instead. The same router answers the request (every layer,
//! header and error is the same); this module only writes the answer, with `Connection: close`,
//! and then keeps nothing but the socket and the response body. Every other connection, and any
//! request this module is not sure about (a partial head, a body, an upgrade, too many headers),
//! goes to hyper untouched: the decision only peeks at the socket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::body::{Body, HttpBody as _};
use axum::extract::ConnectInfo;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{Method, Request, Response, StatusCode, Version};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower::ServiceExt as _;

/// The most of a request head this transport looks at; a longer head goes to hyper.
const MAX_PEEKED_HEAD: usize = 8 * 1024;
/// The most headers this transport parses; more go to hyper (which allows 100).
const MAX_HEADERS: usize = 32;

/// A complete event-stream request, parsed from bytes still waiting in the socket.
#[derive(Debug)]
pub(crate) struct StreamRequest {
    /// How many bytes of the socket the head takes; they are consumed only when served here.
    head_len: usize,
    request: Request<Body>,
}

/// Looks at what the client sent first: an event-stream request this transport can serve, or
/// `None` for hyper. Consumes nothing.
pub(crate) async fn classify(stream: &TcpStream) -> std::io::Result<Option<StreamRequest>> {
    // A silent connection holds no buffer while it waits.
    stream.readable().await?;
    // On the heap, so that a long-lived connection's future does not carry the buffer.
    let mut buffer = vec![0u8; MAX_PEEKED_HEAD];
    let peeked = stream.peek(&mut buffer).await?;
    Ok(parse_stream_request(&buffer[..peeked]))
}

/// `Some` only for a complete `GET` head of an events path with no request body.
fn parse_stream_request(bytes: &[u8]) -> Option<StreamRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).ok()? else {
        return None;
    };
    if parsed.method != Some("GET") {
        return None;
    }
    let target = parsed.path?;
    if !is_events_path(target) {
        return None;
    }
    let version = match parsed.version? {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return None,
    };
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(target)
        .version(version);
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(field.value).ok()?;
        let carries_body = (name == header::CONTENT_LENGTH && value != "0")
            || name == header::TRANSFER_ENCODING
            || name == header::UPGRADE
            || name == header::EXPECT;
        if carries_body {
            return None;
        }
        request = request.header(name, value);
    }
    let request = request.body(Body::empty()).ok()?;
    Some(StreamRequest { head_len, request })
}

/// `/v1/channels/{one segment}/events`, with or without a query.
fn is_events_path(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    path.strip_prefix("/v1/channels/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .is_some_and(|channel_id| !channel_id.is_empty() && !channel_id.contains('/'))
}

/// Answers `request` through `router` and streams the response body until it ends, the client
/// leaves, or a write stalls for `write_timeout` (a subscriber that stopped reading reconnects
/// with its `Last-Event-ID` and loses nothing). The connection closes afterwards.
pub(crate) async fn serve(
    mut stream: TcpStream,
    request: StreamRequest,
    router: Router,
    peer: SocketAddr,
    write_timeout: Duration,
) {
    let StreamRequest {
        head_len,
        mut request,
    } = request;
    {
        let mut head = vec![0u8; head_len];
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
    }
    let close_delimited = request.version() == Version::HTTP_10;
    request.extensions_mut().insert(ConnectInfo(peer));
    // Boxed: the routing future is needed only until the answer starts.
    let response: Result<Response<Body>, Infallible> = Box::pin(router.oneshot(request)).await;
    let Ok(response) = response;
    let (parts, body) = response.into_parts();
    let length = body.size_hint().exact();
    let chunked = length.is_none() && !close_delimited;
    let head = response_head(&parts, length, chunked, SystemTime::now());
    drop(parts);
    if write_all(&mut stream, &head, write_timeout).await.is_err() {
        return;
    }
    drop(head);
    let mut body = body.into_data_stream();
    let mut probe = [0u8; 1];
    loop {
        let next = tokio::select! {
            frame = body.next() => Next::Frame(frame),
            _ = stream.read(&mut probe) => Next::Read,
        };
        match next {
            Next::Frame(Some(Ok(data))) if data.is_empty() => {}
            Next::Frame(Some(Ok(data))) => {
                let written = if chunked {
                    let size = chunk_size_line(data.len());
                    write_parts(
                        &mut stream,
                        &[size.as_bytes(), &data, b"\r\n"],
                        write_timeout,
                    )
                    .await
                } else {
                    write_parts(&mut stream, &[&data], write_timeout).await
                };
                if written.is_err() {
                    return;
                }
            }
            Next::Frame(Some(Err(_))) => return,
            Next::Frame(None) => {
                if chunked
                    && write_all(&mut stream, b"0\r\n\r\n", write_timeout)
                        .await
                        .is_err()
                {
                    return;
                }
                let _ = stream.shutdown().await;
                return;
            }
            // The client closed its side, the socket failed, or the client sent something: a
            // stream's client has nothing to send, so a pipelined request or a flood ends the
            // connection rather than being read forever.
            Next::Read => return,
        }
    }
}

enum Next {
    Frame(Option<Result<Bytes, axum::Error>>),
    /// The client closed its side, the socket failed, or the client sent something.
    Read,
}

async fn write_all(
    stream: &mut TcpStream,
    bytes: &[u8],
    write_timeout: Duration,
) -> std::io::Result<()> {
    match tokio::time::timeout(write_timeout, stream.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// The line that opens a chunk of a chunked body: the size in hex and CRLF (the data and a
/// closing CRLF follow).
fn chunk_size_line(length: usize) -> String {
    format!("{length:x}\r\n")
}

/// Writes `parts` in order. Nearly always the socket has room: one vectored write sends them all,
/// with no copy and no timer (a fan-out writes each event to every subscriber, so both would be
/// paid per subscriber per event). Whatever did not fit is written with the stall timeout.
async fn write_parts(
    stream: &mut TcpStream,
    parts: &[&[u8]],
    write_timeout: Duration,
) -> std::io::Result<()> {
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let slices: Vec<std::io::IoSlice<'_>> = parts
        .iter()
        .map(|part| std::io::IoSlice::new(part))
        .collect();
    let written = match stream.try_write_vectored(&slices) {
        Ok(written) => written,
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(error) => return Err(error),
    };
    if written == total {
        return Ok(());
    }
    let mut rest = Vec::with_capacity(total - written);
    let mut skip = written;
    for part in parts {
        let skipped = skip.min(part.len());
        rest.extend_from_slice(&part[skipped..]);
        skip -= skipped;
    }
    write_all(stream, &rest, write_timeout).await
}

/// The status line and headers for a connection that closes after this response. The status
/// line says HTTP/1.1 also to an HTTP/1.0 client, as RFC 9110 allows (its body is then delimited
/// by the close).
fn response_head(
    parts: &axum::http::response::Parts,
    length: Option<u64>,
    chunked: bool,
    now: SystemTime,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    let mut has_date = false;
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        let framing = name == header::CONNECTION
            || name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING;
        if framing {
            continue;
        }
        if name == header::DATE {
            has_date = true;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // Responses that never have a body carry no framing header (RFC 9110 §8.6).
    let bodiless = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    if bodiless {
    } else if let Some(length) = length {
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    } else if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n");
    if !has_date {
        head.extend_from_slice(format!("date: {}\r\n", httpdate::fmt_http_date(now)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<StreamRequest> {
        parse_stream_request(text.as_bytes())
    }

    #[test]
    fn a_complete_events_request_is_taken_with_its_headers_and_length() {
        let text = "GET /v1/channels/ch_1/events?after=4 HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer t\r\nLast-Event-ID: 7\r\n\r\n";
        let taken = parse(text).expect("an events request");
        assert_eq!(taken.head_len, text.len());
        assert_eq!(taken.request.uri(), "/v1/channels/ch_1/events?after=4");
        assert_eq!(taken.request.version(), Version::HTTP_11);
        assert_eq!(taken.request.headers()["authorization"], "Bearer t");
        assert_eq!(taken.request.headers()["last-event-id"], "7");
    }

    #[test]
    fn bytes_after_the_head_are_not_counted_in_its_length() {
        let head = "GET /v1/channels/c/events HTTP/1.0\r\n\r\n";
        let taken = parse(&format!("{head}GET /healthz")).expect("an events request");
        assert_eq!(taken.head_len, head.len());
        assert_eq!(taken.request.version(), Version::HTTP_10);
    }

    #[test]
    fn everything_else_is_left_to_hyper() {
        let left = [
            // Partial heads: the rest may still be on its way.
            "GET /v1/channels/c/events HTTP/1.1\r\nHost: relay\r\n",
            "GET /v1/chan",
            "",
            // Other methods and paths.
            "POST /v1/channels/c/events HTTP/1.1\r\n\r\n",
            "HEAD /v1/channels/c/events HTTP/1.1\r\n\r\n",
            "GET /v1/channels/c HTTP/1.1\r\n\r\n",
            "GET /v1/channels//events HTTP/1.1\r\n\r\n",
            "GET /v1/channels/a/b/events HTTP/1.1\r\n\r\n",
            "GET /v1/channels/c/events/more HTTP/1.1\r\n\r\n",
            "GET /healthz HTTP/1.1\r\n\r\n",
            "GET /hooks/c HTTP/1.1\r\n\r\n",
            // Requests with a body, an upgrade or an expectation.
            "GET /v1/channels/c/events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "GET /v1/channels/c/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET /v1/channels/c/events HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /v1/channels/c/events HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            // Not HTTP.
            "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\u{fc}\u{3}\u{3}",
            "GET /v1/channels/c/events SPDY/3\r\n\r\n",
        ];
        for text in left {
            assert!(parse(text).is_none(), "taken: {text:?}");
        }
        let many_headers: String = (0..=MAX_HEADERS)
            .map(|n| format!("X-{n}: {n}\r\n"))
            .collect();
        assert!(parse(&format!(
            "GET /v1/channels/c/events HTTP/1.1\r\n{many_headers}\r\n"
        ))
        .is_none());
        assert!(parse("GET /v1/channels/c/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_some());
    }

    #[test]
    fn the_response_head_frames_the_body_and_closes_the_connection() {
        let response = Response::builder()
            .status(401)
            .header("content-type", "application/json")
            .header("content-length", "99")
            .header("connection", "keep-alive")
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let fixed = String::from_utf8(response_head(&parts, Some(12), false, now)).unwrap();
        assert_eq!(
            fixed,
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 12\r\nconnection: close\r\ndate: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n"
        );
        let streamed = String::from_utf8(response_head(&parts, None, true, now)).unwrap();
        assert!(streamed.contains("\r\ntransfer-encoding: chunked\r\n"));
        assert!(!streamed.contains("content-length"));
        let until_close = String::from_utf8(response_head(&parts, None, false, now)).unwrap();
        assert!(
            !until_close.contains("transfer-encoding") && !until_close.contains("content-length")
        );
    }

    #[test]
    fn bodiless_statuses_get_no_framing_and_a_date_is_not_repeated() {
        let now = SystemTime::UNIX_EPOCH;
        for status in [204, 304] {
            let (parts, ()) = Response::builder()
                .status(status)
                .body(())
                .unwrap()
                .into_parts();
            let head = String::from_utf8(response_head(&parts, Some(0), false, now)).unwrap();
            assert!(
                !head.contains("content-length") && !head.contains("transfer-encoding"),
                "{head}"
            );
        }
        let (parts, ()) = Response::builder()
            .header("date", "Mon, 01 Jan 2024 00:00:00 GMT")
            .body(())
            .unwrap()
            .into_parts();
        let head = String::from_utf8(response_head(&parts, Some(0), false, now)).unwrap();
        assert_eq!(head.matches("date: ").count(), 1, "{head}");
        assert!(head.contains("date: Mon, 01 Jan 2024"), "{head}");
    }

    #[test]
    fn a_chunk_opens_with_its_size_in_hex_and_crlf() {
        assert_eq!(chunk_size_line(b"hello, stream".len()), "d\r\n");
        assert_eq!(chunk_size_line(300), "12c\r\n");
    }
}
