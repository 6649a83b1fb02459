//! The one error shape the UI sees: `{ code, message }` (see `docs/ipc.md`).
//!
//! The UI branches on `code` only and shows `message` as plain text. Every command error goes
//! through here, so no engine error type (and nothing secret) ever reaches the webview as-is.

use serde::Serialize;
use std::fmt;

/// A command failure as sent over IPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpcError {
    /// One of the closed set of codes in `docs/ipc.md` (`not_connected`, `offline`, …).
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
}

impl IpcError {
    /// Bad arguments from the UI (the engine was not called).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self {
            code: "invalid_input",
            message: message.into(),
        }
    }

    /// A failure of the shell itself (opener, plugin, background task).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "internal",
            message: message.into(),
        }
    }
}

impl From<advicly_engine::EngineError> for IpcError {
    fn from(error: advicly_engine::EngineError) -> Self {
        Self {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for IpcError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for IpcError {}
