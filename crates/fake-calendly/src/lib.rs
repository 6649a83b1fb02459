//! A faithful fake of Calendly's OAuth server, API v2 and webhook deliveries, for tests and the demo.
