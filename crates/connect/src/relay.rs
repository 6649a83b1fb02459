//! The app's client of the relay's channel API (`docs/relay-protocol.md`): create and delete a
//! channel, open its event stream, acknowledge what was applied.
//!
//! The subscriber token is a [`Secret`]: it goes to the keychain and into `Authorization`
//! headers, never into a log, the database or an error message.

use std::time::Duration;

use advicly_core::Secret;
use advicly_relay_protocol::{
    ack_path, channel_path, events_path, AckRequest, ChannelCreated, CHANNELS_PATH,
    LAST_EVENT_ID_HEADER,
};
use url::Url;

use crate::config::with_trailing_slash;
use crate::error::ConnectError;

/// A channel the relay just created. The token is shown once.
#[derive(Debug)]
pub struct CreatedChannel {
    pub channel_id: String,
    /// What Calendly posts to.
    pub ingress_url: Url,
    pub subscriber_token: Secret,
}

/// What deleting a channel found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelDeleted {
    Deleted,
    /// The relay does not know the channel (or the token) any more: nothing is left to delete.
    AlreadyGone,
}

/// Why opening a channel's stream failed.
#[derive(Debug)]
pub enum StreamRefusal {
    /// 401: the relay no longer knows this channel or token (the relay's data was reset, or
    /// the channel was deleted). A new channel is needed.
    ChannelUnknown,
    /// The relay could not be reached, or answered with a server error; try again later.
    Unavailable(String),
}

/// The relay's channel API at one base URL.
#[derive(Clone, Debug)]
pub struct RelayClient {
    http: reqwest::Client,
    /// Keeps no idle connections, so each stream opens on a connection of its own: the relay
    /// serves a stream that is a connection's first request with far less memory.
    stream_http: reqwest::Client,
    base: Url,
}

impl RelayClient {
    /// A client for the relay at `base` (the same base as the HTTPS OAuth bounce). Requests
    /// other than the event stream give up after `timeout`.
    pub fn new(base: Url, timeout: Duration) -> Result<Self, ConnectError> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
        };
        let built = |client: reqwest::Result<reqwest::Client>| {
            client.map_err(|error| {
                ConnectError::Internal(format!("building the relay client: {error}"))
            })
        };
        Ok(Self {
            http: built(builder().build())?,
            stream_http: built(builder().pool_max_idle_per_host(0).build())?,
            base: with_trailing_slash(&base),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// A protocol path (`/v1/…`) below the base, which may itself have a path (behind a proxy).
    fn url(&self, path: &str) -> Result<Url, ConnectError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|error| {
                ConnectError::Configuration(format!(
                    "the relay URL {} cannot take a path: {error}",
                    self.base
                ))
            })
    }

    fn unreachable(&self, error: reqwest::Error) -> ConnectError {
        ConnectError::RelayUnreachable {
            relay: self.base.to_string(),
            message: without_url(&error),
        }
    }

    fn refused(&self, status: reqwest::StatusCode, what: &str) -> ConnectError {
        if status.is_server_error() {
            return ConnectError::RelayUnreachable {
                relay: self.base.to_string(),
                message: format!("it answered HTTP {} to {what}", status.as_u16()),
            };
        }
        ConnectError::RelayRefused {
            relay: self.base.to_string(),
            message: match status.as_u16() {
                429 => format!("too many requests to {what}; try again in a minute"),
                code => format!("HTTP {code} to {what}"),
            },
        }
    }

    /// `POST /v1/channels`.
    pub async fn create_channel(&self, timeout: Duration) -> Result<CreatedChannel, ConnectError> {
        let response = self
            .http
            .post(self.url(CHANNELS_PATH)?)
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.refused(status, "creating a channel"));
        }
        let created: ChannelCreated =
            response
                .json()
                .await
                .map_err(|error| ConnectError::RelayRefused {
                    relay: self.base.to_string(),
                    message: format!(
                        "its answer to creating a channel could not be read ({})",
                        without_url(&error)
                    ),
                })?;
        let ingress_url =
            Url::parse(&created.ingress_url).map_err(|error| ConnectError::RelayRefused {
                relay: self.base.to_string(),
                message: format!("it gave an ingress URL that is not a URL ({error})"),
            })?;
        if created.channel_id.is_empty() || created.subscriber_token.is_empty() {
            return Err(ConnectError::RelayRefused {
                relay: self.base.to_string(),
                message: "it created a channel without an id or a token".into(),
            });
        }
        Ok(CreatedChannel {
            channel_id: created.channel_id,
            ingress_url,
            subscriber_token: Secret::new(created.subscriber_token),
        })
    }

    /// `DELETE /v1/channels/{id}`. A channel the relay no longer knows is already gone.
    pub async fn delete_channel(
        &self,
        channel_id: &str,
        token: &Secret,
        timeout: Duration,
    ) -> Result<ChannelDeleted, ConnectError> {
        let response = self
            .http
            .delete(self.url(&channel_path(&segment(channel_id)))?)
            .bearer_auth(token.expose())
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        match response.status().as_u16() {
            200..=299 => Ok(ChannelDeleted::Deleted),
            401 | 404 => Ok(ChannelDeleted::AlreadyGone),
            _ => Err(self.refused(response.status(), "deleting the channel")),
        }
    }

    /// `GET /v1/channels/{id}/events` with `Last-Event-ID: after`: the open response whose body
    /// is the event stream. No timeout applies to the body (the caller watches keep-alives).
    pub async fn open_events(
        &self,
        channel_id: &str,
        token: &Secret,
        after: u64,
        connect_timeout: Duration,
    ) -> Result<reqwest::Response, StreamRefusal> {
        let url = self
            .url(&events_path(&segment(channel_id)))
            .map_err(|error| StreamRefusal::Unavailable(error.to_string()))?;
        let request = self
            .stream_http
            .get(url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header(LAST_EVENT_ID_HEADER, after.to_string())
            .send();
        let response = match tokio::time::timeout(connect_timeout, request).await {
            Err(_) => {
                return Err(StreamRefusal::Unavailable(format!(
                    "the relay did not answer within {} s",
                    connect_timeout.as_secs()
                )))
            }
            Ok(Err(error)) => return Err(StreamRefusal::Unavailable(without_url(&error))),
            Ok(Ok(response)) => response,
        };
        match response.status().as_u16() {
            200..=299 => Ok(response),
            401 | 404 => Err(StreamRefusal::ChannelUnknown),
            code => Err(StreamRefusal::Unavailable(format!(
                "the relay answered HTTP {code} to opening the stream"
            ))),
        }
    }

    /// `POST /v1/channels/{id}/ack {"up_to": N}`: deliveries up to N may be deleted.
    pub async fn ack(
        &self,
        channel_id: &str,
        token: &Secret,
        up_to: u64,
        timeout: Duration,
    ) -> Result<(), ConnectError> {
        let response = self
            .http
            .post(self.url(&ack_path(&segment(channel_id)))?)
            .bearer_auth(token.expose())
            .json(&AckRequest { up_to })
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.refused(response.status(), "acknowledging deliveries"))
        }
    }
}

/// A channel id as one URL path segment (the relay's ids are URL-safe; this keeps a
/// surprising one from changing the path).
fn segment(channel_id: &str) -> String {
    url::form_urlencoded::byte_serialize(channel_id.as_bytes()).collect()
}

/// A reqwest error's text without the URL it carries (an events URL is harmless, but a habit
/// of never echoing URLs keeps query strings out of logs).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the relay");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_urls_escape_the_id_and_keep_the_base_path() {
        let client = RelayClient::new(
            Url::parse("https://relay.example/base").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        // The relay may live below a path behind its proxy; the id is one path segment.
        assert_eq!(
            client.url(&events_path(&segment("ab/c"))).unwrap().as_str(),
            "https://relay.example/base/v1/channels/ab%2Fc/events"
        );
        assert_eq!(
            client.url(&channel_path(&segment("abc"))).unwrap().as_str(),
            "https://relay.example/base/v1/channels/abc"
        );
    }

    #[tokio::test]
    async fn each_event_stream_opens_on_a_connection_of_its_own() {
        let data = tempfile::tempdir().unwrap();
        let relay = advicly_relay::start_embedded(data.path()).await.unwrap();
        let client = RelayClient::new(relay.base_url().clone(), Duration::from_secs(5)).unwrap();
        let timeout = Duration::from_secs(5);
        // A request that leaves an idle keep-alive connection behind.
        let channel = client.create_channel(timeout).await.unwrap();
        for after in [0, 0] {
            let stream = client
                .open_events(
                    &channel.channel_id,
                    &channel.subscriber_token,
                    after,
                    timeout,
                )
                .await
                .unwrap();
            // The relay's lean stream transport answers only a connection's first request, and
            // it closes the connection after the stream.
            assert_eq!(stream.status(), 200);
            assert_eq!(stream.headers()["connection"], "close");
        }
        relay.shutdown().await.unwrap();
    }
}
