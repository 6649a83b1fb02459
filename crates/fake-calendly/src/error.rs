//! The one error type of the fake-calendly library: starting the servers and calling `/_control`.

/// Everything that can go wrong when starting the fake or driving it through [`crate::ControlClient`].
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// A listener could not be bound; another process may hold the port.
    #[error("could not bind the fake Calendly {which} listener on {address}: {source}")]
    Bind {
        which: &'static str,
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The configuration is not usable (for example an empty client id).
    #[error("invalid fake Calendly configuration: {0}")]
    InvalidConfig(String),
    /// The control endpoint could not be reached at all.
    #[error("could not reach the fake Calendly control API at {url}: {source}")]
    ControlUnreachable { url: String, source: reqwest::Error },
    /// The control endpoint answered with an error status; the body says why.
    #[error("the fake Calendly control API answered {status} for {url}: {body}")]
    ControlRejected {
        url: String,
        status: u16,
        body: String,
    },
    /// The control endpoint answered with a body this client could not read.
    #[error("the fake Calendly control API sent an unreadable answer for {url}: {reason}")]
    ControlUnreadable { url: String, reason: String },
    /// A bounded wait in the control client ran out before the condition held.
    #[error("timed out after {waited_ms} ms waiting for {what}")]
    WaitTimedOut { what: String, waited_ms: u128 },
}
