//! Integration tests of the fake Calendly, all over real loopback HTTP.

mod api;
mod bad_input;
mod binary;
mod conformance;
mod oauth;
mod pagination;
mod simulation;
mod support;
mod webhooks;
