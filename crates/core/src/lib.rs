//! Advicly's headless core: the domain vocabulary, the local SQLite store and the pure sync plan.
//!
//! Nothing in this crate performs network I/O or knows about Tauri; callers pass the clock in.

pub mod domain;
pub mod secret;

pub use secret::Secret;
