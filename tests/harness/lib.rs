//! Shared harness for the end-to-end tests: temporary homes, keychain sessions, servers on port 0.
