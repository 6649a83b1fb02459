//! Calendly API v2 client: wire types, pagination, rate-limit pacing, retries.
