//! Connecting Calendly: OAuth PKCE, the OS keychain, token refresh, connect and disconnect.
