//! Calendly's OAuth endpoints through the `oauth2` crate: the authorize URL (PKCE S256 + state),
//! the code exchange and the refresh (public client: `client_id` in the body, no secret), and
//! token revocation. Answers are read through a size-capped HTTP exchange, and `expires_in` is
//! clamped, so a hostile or broken token endpoint can neither exhaust memory nor overflow a date.

use std::time::Duration;

use advicly_core::Secret;
use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use url::Url;

use crate::config::with_trailing_slash;
use crate::error::ConnectError;
use crate::keychain::TokenSet;

/// Calendly's access tokens live two hours; used when a response omits `expires_in`.
const DEFAULT_ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(2);

/// The shortest lifetime believed: a smaller `expires_in` would make every call refresh.
const MIN_ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

/// The longest lifetime believed: a larger `expires_in` is clamped (and cannot overflow a date).
const MAX_ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::days(30);

/// An OAuth answer is a few hundred bytes; anything above this is refused unread.
pub(crate) const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// The OAuth error codes that are Calendly's verdict on the grant or on this app: the sign-in
/// is over and only a new one helps. Every other failure may pass.
const VERDICT_ERRORS: [&str; 3] = ["invalid_grant", "invalid_client", "unauthorized_client"];

/// Why a token request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenRequestFailure {
    /// Calendly's verdict (`invalid_grant`, `invalid_client`, `unauthorized_client`): the code or
    /// refresh token is dead for good, or the app registration no longer accepts it.
    Verdict {
        error: String,
        description: Option<String>,
    },
    /// Calendly answered with another OAuth error.
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Calendly could not be reached.
    Offline(String),
    /// Calendly answered with something unusable (5xx, 429, a body that is not OAuth JSON).
    Transient(String),
}

impl TokenRequestFailure {
    pub fn describe(&self) -> String {
        match self {
            Self::Verdict { error, description } if error == "invalid_grant" => format!(
                "Calendly no longer accepts this sign-in (invalid_grant{})",
                description
                    .as_deref()
                    .map(|text| format!(": {}", text.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
            Self::Verdict { error, description } => format!(
                "Calendly no longer accepts this app's client id for this sign-in ({error}{})",
                description
                    .as_deref()
                    .map(|text| format!(": {}", text.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
            Self::Refused { error, description } => format!(
                "Calendly refused the token request ({error}{})",
                description
                    .as_deref()
                    .map(|text| format!(": {}", text.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
            Self::Offline(message) => format!("Calendly could not be reached ({message})"),
            Self::Transient(message) => {
                format!("Calendly's sign-in service had a problem ({message})")
            }
        }
    }
}

/// A started authorization: the URL to open and the secrets to keep.
pub(crate) struct StartedAuthorization {
    pub authorize_url: Url,
    pub state: String,
    pub verifier: Secret,
}

/// The OAuth endpoints of one app registration.
#[derive(Clone)]
pub(crate) struct OAuthEndpoints {
    client_id: String,
    authorize_url: Url,
    token_url: Url,
    revoke_url: Url,
    http: reqwest::Client,
}

impl OAuthEndpoints {
    pub fn new(
        client_id: String,
        auth_base: &Url,
        request_timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let base = with_trailing_slash(auth_base);
        let join = |path: &str| {
            base.join(path).map_err(|error| {
                ConnectError::Configuration(format!(
                    "the OAuth base URL {auth_base} is unusable: {error}"
                ))
            })
        };
        let http = reqwest::Client::builder()
            // Following redirects from a token endpoint is an SSRF risk (oauth2's advice).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| ConnectError::Configuration(format!("HTTP client: {error}")))?;
        Ok(Self {
            client_id,
            authorize_url: join("oauth/authorize")?,
            token_url: join("oauth/token")?,
            revoke_url: join("oauth/revoke")?,
            http,
        })
    }

    fn client(
        &self,
        redirect_uri: Option<&Url>,
    ) -> BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            // A native app is a public client: the client id goes in the body, no secret.
            .set_auth_type(AuthType::RequestBody);
        match redirect_uri {
            Some(uri) => client.set_redirect_uri(RedirectUrl::from_url(uri.clone())),
            None => client,
        }
    }

    /// A fresh authorize URL with a random `state` and a PKCE S256 challenge.
    pub fn start(&self, redirect_uri: &Url, scopes: &[String]) -> StartedAuthorization {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client(Some(redirect_uri));
        let (authorize_url, state) = client
            .authorize_url(|| CsrfToken::new_random_len(32))
            .add_scopes(scopes.iter().map(|scope| Scope::new(scope.clone())))
            .set_pkce_challenge(challenge)
            .url();
        StartedAuthorization {
            authorize_url,
            state: state.secret().clone(),
            verifier: Secret::new(verifier.secret().clone()),
        }
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &Secret,
        redirect_uri: &Url,
        now: DateTime<Utc>,
    ) -> Result<TokenSet, TokenRequestFailure> {
        let response = self
            .client(Some(redirect_uri))
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
            .request_async(&CappedHttp(self.http.clone()))
            .await
            .map_err(classify)?;
        Ok(token_set(&response, None, now))
    }

    /// Uses a refresh token (single use: Calendly rotates it) for a new token pair.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        now: DateTime<Utc>,
    ) -> Result<TokenSet, TokenRequestFailure> {
        let presented = RefreshToken::new(refresh_token.expose().to_owned());
        let response = self
            .client(None)
            .exchange_refresh_token(&presented)
            .request_async(&CappedHttp(self.http.clone()))
            .await
            .map_err(classify)?;
        Ok(token_set(&response, Some(refresh_token), now))
    }

    /// `POST /oauth/revoke` with `client_id` and `token`. Calendly documents a client secret
    /// for this endpoint; a public client may be refused, which the caller reports plainly.
    pub async fn revoke(&self, token: &Secret) -> Result<(), String> {
        let response = self
            .http
            .post(self.revoke_url.clone())
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("token", token.expose()),
            ])
            .send()
            .await
            .map_err(|error| format!("Calendly could not be reached ({})", network_kind(&error)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_capped(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .unwrap_or_default();
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| {
                value
                    .get("error")
                    .and_then(|error| error.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "no reason given".to_owned());
        Err(format!(
            "Calendly refused to revoke the token (HTTP {}, {error})",
            status.as_u16()
        ))
    }
}

fn token_set(
    response: &oauth2::basic::BasicTokenResponse,
    previous_refresh_token: Option<&Secret>,
    now: DateTime<Utc>,
) -> TokenSet {
    let lifetime = access_token_lifetime(response.expires_in());
    TokenSet {
        access_token: Secret::new(response.access_token().secret().clone()),
        // Calendly always rotates; should a server not send a new one, the old one still holds.
        refresh_token: response
            .refresh_token()
            .map(|token| Secret::new(token.secret().clone()))
            .or_else(|| previous_refresh_token.cloned()),
        // Clamped lifetimes keep this far from the end of chrono's range; saturate regardless.
        expires_at: Some(now.checked_add_signed(lifetime).unwrap_or(now)),
    }
}

/// The lifetime to believe for an `expires_in`: missing means Calendly's two hours; anything
/// outside 15 minutes to 30 days is clamped. A token that really expires sooner is answered with
/// a 401, which refreshes it once.
pub(crate) fn access_token_lifetime(expires_in: Option<Duration>) -> chrono::Duration {
    match expires_in {
        None => DEFAULT_ACCESS_TOKEN_LIFETIME,
        Some(duration) => chrono::Duration::from_std(duration)
            .unwrap_or(MAX_ACCESS_TOKEN_LIFETIME)
            .clamp(MIN_ACCESS_TOKEN_LIFETIME, MAX_ACCESS_TOKEN_LIFETIME),
    }
}

/// Why the capped HTTP exchange of a token request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeFailure {
    /// The request could not be built from oauth2's parts (a bug, not the network).
    #[error("the token request could not be built: {0}")]
    Build(String),
    /// Nothing came back: `timed out`, `connection failed` or `connection interrupted`.
    #[error("{0}")]
    Network(&'static str),
    /// The answer was larger than any OAuth answer can be.
    #[error("the token endpoint sent an answer larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// oauth2's HTTP client: reqwest, with the answer read through [`read_capped`].
struct CappedHttp(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for CappedHttp {
    type Error = ExchangeFailure;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, ExchangeFailure>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(capped_exchange(&self.0, request))
    }
}

/// One token request through reqwest, reading at most [`MAX_TOKEN_RESPONSE_BYTES`] of the answer.
async fn capped_exchange(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, ExchangeFailure> {
    let request = reqwest::Request::try_from(request)
        .map_err(|error| ExchangeFailure::Build(error.to_string()))?;
    let response = http
        .execute(request)
        .await
        .map_err(|error| ExchangeFailure::Network(network_kind(&error)))?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = read_capped(response, MAX_TOKEN_RESPONSE_BYTES).await?;
    builder
        .body(body)
        .map_err(|error| ExchangeFailure::Build(error.to_string()))
}

/// Reads a response body chunk by chunk, giving up as soon as it grows past `limit`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ExchangeFailure> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(ExchangeFailure::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ExchangeFailure::Network(network_kind(&error)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ExchangeFailure::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn network_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "connection interrupted"
    }
}

type OAuthError =
    RequestTokenError<ExchangeFailure, oauth2::StandardErrorResponse<BasicErrorResponseType>>;

fn classify(error: OAuthError) -> TokenRequestFailure {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let description = response.error_description().cloned();
            let code = response.error().as_ref().to_owned();
            if VERDICT_ERRORS.contains(&code.as_str()) {
                TokenRequestFailure::Verdict {
                    error: code,
                    description,
                }
            } else if matches!(
                code.as_str(),
                "rate_limited" | "temporarily_unavailable" | "server_error"
            ) {
                TokenRequestFailure::Transient(code)
            } else {
                TokenRequestFailure::Refused {
                    error: code,
                    description,
                }
            }
        }
        RequestTokenError::Request(ExchangeFailure::Network(kind)) => {
            TokenRequestFailure::Offline(kind.to_owned())
        }
        RequestTokenError::Request(other) => TokenRequestFailure::Transient(other.to_string()),
        // oauth2 reports a non-JSON answer (a 5xx page, a 429 from a proxy) as a parse error.
        RequestTokenError::Parse(_, _) => {
            TokenRequestFailure::Transient("an unreadable answer from the token endpoint".into())
        }
        RequestTokenError::Other(message) => TokenRequestFailure::Transient(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot token endpoint on loopback that answers with `head` and then `body`.
    async fn token_endpoint(head: &'static str, body: Vec<u8>) -> OAuthEndpoints {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        });
        OAuthEndpoints::new("client".into(), &base, Duration::from_secs(10)).unwrap()
    }

    #[tokio::test]
    async fn an_endless_token_answer_is_cut_off_as_a_transient_failure() {
        let endpoints = token_endpoint(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
            vec![b' '; 1024 * 1024],
        )
        .await;
        let failure = endpoints
            .refresh(&Secret::new("refresh"), Utc::now())
            .await
            .unwrap_err();
        // Never read into memory whole, and never mistaken for Calendly's verdict.
        assert!(
            matches!(&failure, TokenRequestFailure::Transient(message) if message.contains("larger than")),
            "{failure:?}"
        );
    }

    #[tokio::test]
    async fn a_hostile_expires_in_in_a_real_answer_cannot_overflow_the_expiry() {
        let body = br#"{"access_token":"access","token_type":"bearer","expires_in":18446744073709551615,"refresh_token":"next"}"#;
        let endpoints = token_endpoint(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
            body.to_vec(),
        )
        .await;
        let now = Utc::now();
        let tokens = endpoints
            .refresh(&Secret::new("refresh"), now)
            .await
            .unwrap();
        assert_eq!(tokens.expires_at, Some(now + MAX_ACCESS_TOKEN_LIFETIME));
    }

    #[rstest]
    #[case::missing(None, chrono::Duration::hours(2))]
    #[case::calendly(Some(7200), chrono::Duration::hours(2))]
    #[case::zero(Some(0), MIN_ACCESS_TOKEN_LIFETIME)]
    #[case::a_century(Some(100 * 365 * 86_400), MAX_ACCESS_TOKEN_LIFETIME)]
    #[case::u64_max(Some(u64::MAX), MAX_ACCESS_TOKEN_LIFETIME)]
    fn hostile_expires_in_values_are_clamped(
        #[case] seconds: Option<u64>,
        #[case] expected: chrono::Duration,
    ) {
        // `now + lifetime` must never overflow, and a zero lifetime must not cause a refresh storm.
        let lifetime = access_token_lifetime(seconds.map(Duration::from_secs));
        assert_eq!(lifetime, expected);
        let now = Utc::now();
        assert!(now.checked_add_signed(lifetime).is_some());
    }
}
