//! Calendly's OAuth endpoints through the `oauth2` crate: the authorize URL (PKCE S256 + state),
//! the code exchange and the refresh (public client: `client_id` in the body, no secret), and
//! token revocation.

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

/// Why a token request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenRequestFailure {
    /// `invalid_grant`: the code or refresh token is dead for good.
    InvalidGrant { description: Option<String> },
    /// Calendly answered with another OAuth error.
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Calendly could not be reached.
    Offline(String),
    /// Calendly answered with something unusable (5xx, a body that is not OAuth JSON).
    Transient(String),
}

impl TokenRequestFailure {
    pub fn describe(&self) -> String {
        match self {
            Self::InvalidGrant { description } => format!(
                "Calendly no longer accepts this sign-in (invalid_grant{})",
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
            .request_async(&self.http)
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
            .request_async(&self.http)
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
        let body = response.text().await.unwrap_or_default();
        let error = serde_json::from_str::<serde_json::Value>(&body)
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
    let lifetime = response
        .expires_in()
        .and_then(|duration| chrono::Duration::from_std(duration).ok())
        .unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME);
    TokenSet {
        access_token: Secret::new(response.access_token().secret().clone()),
        // Calendly always rotates; should a server not send a new one, the old one still holds.
        refresh_token: response
            .refresh_token()
            .map(|token| Secret::new(token.secret().clone()))
            .or_else(|| previous_refresh_token.cloned()),
        expires_at: Some(now + lifetime),
    }
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

type OAuthError = RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<BasicErrorResponseType>,
>;

fn classify(error: OAuthError) -> TokenRequestFailure {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let description = response.error_description().cloned();
            match response.error() {
                BasicErrorResponseType::InvalidGrant => {
                    TokenRequestFailure::InvalidGrant { description }
                }
                BasicErrorResponseType::Extension(extension)
                    if extension == "rate_limited"
                        || extension == "temporarily_unavailable"
                        || extension == "server_error" =>
                {
                    TokenRequestFailure::Transient(extension.clone())
                }
                other => TokenRequestFailure::Refused {
                    error: other.as_ref().to_owned(),
                    description,
                },
            }
        }
        RequestTokenError::Request(oauth2::HttpClientError::Reqwest(error)) => {
            TokenRequestFailure::Offline(network_kind(&error).to_owned())
        }
        RequestTokenError::Request(other) => TokenRequestFailure::Offline(other.to_string()),
        RequestTokenError::Parse(_, _) => {
            TokenRequestFailure::Transient("an unreadable answer from the token endpoint".into())
        }
        RequestTokenError::Other(message) => TokenRequestFailure::Transient(message),
    }
}
