//! Engine tests against the real fake Calendly over loopback and a real SQLite file.
//!
//! One test binary (faster to link); the modules group the behaviours.

mod convergence;
mod harness;
mod history;
mod oauth;
mod realtime;
mod scheduler;
mod settings;
mod sync;
mod views;
