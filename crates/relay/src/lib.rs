//! The relay server: HTTPS OAuth callback bounce page (and, later, webhook fan-out).
