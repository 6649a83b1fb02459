//! The relay over real HTTP on 127.0.0.1:0: forwarding, rejections, headers and what it logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use advicly_relay::{router, serve, RelayConfig, RelayState, CONTENT_SECURITY_POLICY};
use rstest::rstest;
use tokio::sync::oneshot;
use url::Url;

/// Everything the relay's tracing wrote, at every level.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer lock")).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("log buffer lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct RunningRelay {
    base: Url,
    logs: CapturedLogs,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    // Tests run on tokio's current-thread runtime, so the thread-default subscriber also sees
    // the connection tasks axum spawns.
    _subscriber: tracing::subscriber::DefaultGuard,
}

impl RunningRelay {
    async fn start() -> Self {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let subscriber_guard = tracing::subscriber::set_default(subscriber);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay on a free loopback port");
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let state = RelayState::new(RelayConfig::default()).expect("default config is valid");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, router(state), async {
                let _ = stopped.await;
            })
            .await
            .expect("relay serves until stopped");
        });
        Self {
            base,
            logs,
            stop: Some(stop),
            task,
            _subscriber: subscriber_guard,
        }
    }

    async fn stop(mut self) -> CapturedLogs {
        let _ = self.stop.take().expect("stopped once").send(());
        self.task.await.expect("relay task ends cleanly");
        self.logs
    }
}

fn client() -> reqwest::Client {
    // The page must redirect by itself; the test reads it instead of following anything.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `href` of the "Open Advicly" link.
fn open_link(page: &str) -> Url {
    let start = page
        .find("id=\"open-advicly\" href=\"")
        .expect("the page has the Open Advicly link")
        + "id=\"open-advicly\" href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    Url::parse(&page[start..end].replace("&amp;", "&")).expect("the link is a URL")
}

fn assert_security_headers(response: &reqwest::Response) {
    let headers = response.headers();
    // Nothing the relay returns may be cached, leak a referrer, or run active content.
    assert_eq!(
        headers["cache-control"], "no-store",
        "responses must not be cached"
    );
    assert_eq!(
        headers["referrer-policy"], "no-referrer",
        "the code must not leak via Referer"
    );
    assert_eq!(
        headers["content-security-policy"], CONTENT_SECURITY_POLICY,
        "the strict CSP applies to every response"
    );
    assert!(
        headers.get("set-cookie").is_none(),
        "the relay keeps no state in the browser"
    );
}

#[tokio::test]
async fn an_approved_callback_is_handed_to_the_app_and_never_logged() {
    let relay = RunningRelay::start().await;
    let code = "f04281d639d8248435378b0365de7bd1f53bf452eda187d5f1e07ae7f04546d6";
    let state = "Xy_9-abcDEF&<odd>";
    let mut url = relay.base.join("oauth/callback").unwrap();
    url.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", state)
        .append_pair("unexpected", "dropped");
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "a complete callback is forwarded");
    assert_security_headers(&response);
    let page = response.text().await.unwrap();
    let link = open_link(&page);
    assert_eq!(link.scheme(), "advicly", "the link opens the desktop app");
    let pairs: Vec<(String, String)> = link.query_pairs().into_owned().collect();
    // Exactly code and state, decoded back to what Calendly sent; unknown parameters stay behind.
    assert_eq!(
        pairs,
        vec![("code".into(), code.into()), ("state".into(), state.into())]
    );
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "the page redirects by itself as well as offering the link"
    );
    assert!(
        !page.contains("<odd>"),
        "values are HTML-escaped in the page"
    );

    let logs = relay.stop().await.text();
    assert!(
        logs.contains("/oauth/callback"),
        "the request is logged by path: {logs}"
    );
    // The code and state are credentials in flight; the logs must never see them.
    assert!(
        !logs.contains(code),
        "the code leaked into the logs: {logs}"
    );
    assert!(
        !logs.contains("Xy_9"),
        "the state leaked into the logs: {logs}"
    );
    assert!(
        !logs.contains("code="),
        "a query string leaked into the logs: {logs}"
    );
}

#[tokio::test]
async fn an_oauth_error_is_forwarded_with_its_description() {
    let relay = RunningRelay::start().await;
    let mut url = relay.base.join("oauth/callback").unwrap();
    url.query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_description", "The user denied the request")
        .append_pair("state", "abc");
    let response = client().get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "an OAuth error is the app's to explain"
    );
    assert_security_headers(&response);
    let link = open_link(&response.text().await.unwrap());
    let pairs: Vec<(String, String)> = link.query_pairs().into_owned().collect();
    // The app needs the error, its description and the state to show a plain sentence.
    assert_eq!(
        pairs,
        vec![
            ("error".into(), "access_denied".into()),
            (
                "error_description".into(),
                "The user denied the request".into()
            ),
            ("state".into(), "abc".into()),
        ]
    );
    relay.stop().await;
}

#[rstest]
#[case::nothing("")]
#[case::code_without_state("code=abc")]
#[case::repeated_code("code=a&code=b&state=s")]
#[case::repeated_state("code=a&state=s&state=t")]
#[case::empty_code("code=&state=s")]
#[case::control_character("code=a%0Ab&state=s")]
#[case::space_in_state("code=a&state=s%20t")]
#[case::too_long_code(&format!("code={}&state=s", "a".repeat(513)))]
#[tokio::test]
async fn malformed_callbacks_get_a_plain_error_page(#[case] query: &str) {
    let relay = RunningRelay::start().await;
    let mut url = relay.base.join("oauth/callback").unwrap();
    url.set_query(Some(query));
    let response = client().get(url).send().await.unwrap();
    // Anything that is not exactly one code and one state (or an error) is not forwarded.
    assert_eq!(response.status(), 400, "query {query:?} must be rejected");
    assert_security_headers(&response);
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("advicly://"),
        "a rejected callback offers no deep link"
    );
    relay.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_routing() {
    let relay = RunningRelay::start().await;
    let url = relay.base.join("oauth/callback?code=a&state=b").unwrap();
    let response = client()
        .get(url)
        .body(vec![b'x'; 300 * 1024])
        .send()
        .await
        .unwrap();
    // The body-limit layer answers 413 for anything above 256 KiB.
    assert_eq!(response.status(), 413, "oversized bodies are refused");
    assert_security_headers(&response);
    relay.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_not_found_and_still_carry_the_headers() {
    let relay = RunningRelay::start().await;
    let response = client()
        .get(relay.base.join("admin").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "the relay has no other pages");
    assert_security_headers(&response);
    relay.stop().await;
}

#[test]
fn an_http_deep_link_is_refused_at_configuration() {
    // Forwarding to an http(s) URL would turn the relay into an open redirector.
    let config = RelayConfig {
        deep_link: Url::parse("https://evil.example/").unwrap(),
        ..RelayConfig::default()
    };
    assert!(
        RelayState::new(config).is_err(),
        "only app deep links are allowed"
    );
}

#[test]
fn a_public_url_with_credentials_is_refused_without_repeating_them() {
    // It would reach Calendly in every ingress URL, and the start-up log.
    let config = RelayConfig {
        public_url: Some(Url::parse("https://user:SECRETMARKER@relay.example/").unwrap()),
        ..RelayConfig::default()
    };
    let Err(error) = RelayState::new(config) else {
        panic!("a public URL with a password is refused");
    };
    assert!(
        !error.to_string().contains("SECRETMARKER"),
        "the error does not repeat the password: {error}"
    );
}

#[tokio::test]
async fn the_binary_prints_its_base_url_first_and_serves_the_bounce_page() {
    use std::io::BufRead;
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_advicly-relay"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the relay binary starts");
    let stdout = child.stdout.take().unwrap();
    // The first line of stdout is the base URL; port 0 means the test must read it back.
    let reader =
        tokio::task::spawn_blocking(move || std::io::BufReader::new(stdout).lines().next()?.ok());
    let base = match tokio::time::timeout(std::time::Duration::from_secs(30), reader).await {
        Ok(Ok(Some(line))) => line,
        other => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the relay never printed its base URL: {other:?}");
        }
    };
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "the first line is the base URL: {base}"
    );
    let response = client()
        .get(format!("{base}/oauth/callback?code=abc&state=def"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200, "the binary serves the same router");
}
