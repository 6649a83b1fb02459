//! Advicly's headless core: the domain vocabulary, the local SQLite store and the pure sync plan.
//!
//! Nothing in this crate performs network I/O or knows about Tauri; callers pass the clock in.

pub mod domain;
pub mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod secret;
pub mod store;
pub mod sync;
#[cfg(test)]
mod test_support;

pub use error::StoreError;
pub use secret::Secret;
pub use store::Store;
