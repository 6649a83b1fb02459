//! OAuth server: authorize with PKCE, consent, code exchange negatives, refresh rotation,
//! revoke, introspect, token rate limit, and tokens managed through `/_control`.

use std::time::Duration;

use axum::http::StatusCode;
use fake_calendly::{ConsentMode, FakeConfig, MintTokenRequest, TokenActionRequest};
use rstest::rstest;

use crate::support::*;

#[tokio::test]
async fn full_pkce_login_returns_calendly_token_fields_and_the_token_works() {
    let fake = start(FakeConfig::for_tests()).await;
    let tokens = oauth_tokens(&fake).await;
    let user = fake.default_user();
    // Field facts from API.md §1.2.
    assert_eq!(
        tokens["token_type"], "Bearer",
        "token_type is always Bearer"
    );
    assert_eq!(tokens["expires_in"], 7200, "access tokens live two hours");
    assert!(
        tokens["created_at"].is_i64(),
        "created_at is UNIX seconds as an integer"
    );
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token is returned");
    assert!(
        refresh_token.len() == 64 && refresh_token.chars().all(|c| c.is_ascii_hexdigit()),
        "refresh tokens look like Calendly's 64 hex chars"
    );
    assert_eq!(
        tokens["scope"], "users:read scheduled_events:read webhooks:read webhooks:write",
        "the granted scopes are echoed"
    );
    assert_eq!(
        tokens["owner"],
        user.user_uri.as_str(),
        "owner is the user URI"
    );
    assert_eq!(
        tokens["organization"],
        user.organization_uri.as_str(),
        "organization is the owner's org URI"
    );
    let access = tokens["access_token"]
        .as_str()
        .expect("an access token is returned");
    assert_eq!(
        access.split('.').count(),
        3,
        "access tokens are shaped like a JWT"
    );
    let me = api_get(&fake, access, "/users/me").await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "the new access token authenticates API calls: {}",
        me.body
    );
    assert_eq!(
        me.body["resource"]["uri"],
        user.user_uri.as_str(),
        "the token belongs to the approving user"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn consent_page_approve_and_deny_redirect_with_state() {
    let fake = start(FakeConfig::default()).await;
    assert!(
        !FakeConfig::default().auto_approve,
        "the default config shows the consent page"
    );
    let client = no_redirect_client();
    for (decision, expect_code) in [("approve", true), ("deny", false)] {
        let (_, challenge) = pkce_pair();
        let page = client
            .get(authorize_url(&fake, &challenge, &[]))
            .send()
            .await
            .expect("authorize answers");
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "without auto-approve the consent page is shown"
        );
        let html = page.text().await.expect("html body");
        assert!(
            html.contains("Approve") && html.contains("Deny"),
            "the page offers Approve and Deny"
        );
        let consent_id = html
            .split("name=\"consent_id\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form carries a consent id");
        let answer = client
            .post(
                fake.auth_base_url()
                    .join("/oauth/authorize/decision")
                    .expect("path"),
            )
            .form(&[("consent_id", consent_id), ("decision", decision)])
            .send()
            .await
            .expect("decision answers");
        assert_eq!(
            answer.status(),
            StatusCode::FOUND,
            "a decision redirects back to the app"
        );
        let query = location_query(&answer);
        assert_eq!(
            pair(&query, "state"),
            Some("state-123"),
            "state is echoed on {decision}"
        );
        if expect_code {
            assert!(
                pair(&query, "code").is_some_and(|code| code.len() == 64),
                "approve returns a 64-hex code"
            );
        } else {
            assert_eq!(
                pair(&query, "error"),
                Some("access_denied"),
                "deny returns access_denied"
            );
        }
    }
    // The control switch turns on auto-deny and auto-approve without a page.
    fake.control()
        .set_consent_mode(ConsentMode::AutoDeny)
        .await
        .expect("control call");
    let (_, challenge) = pkce_pair();
    let denied = client
        .get(authorize_url(&fake, &challenge, &[]))
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(
        pair(&location_query(&denied), "error"),
        Some("access_denied"),
        "auto-deny redirects with access_denied"
    );
    fake.control()
        .set_auto_approve(true)
        .await
        .expect("control call");
    let approved = client
        .get(authorize_url(&fake, &challenge, &[]))
        .send()
        .await
        .expect("authorize answers");
    assert!(
        pair(&location_query(&approved), "code").is_some(),
        "auto-approve redirects with a code"
    );
    fake.shutdown().await;
}

#[rstest]
#[case::missing_challenge(&[("code_challenge", None)], "invalid_request")]
#[case::plain_method(&[("code_challenge_method", Some("plain"))], "invalid_request")]
#[case::missing_method(&[("code_challenge_method", None)], "invalid_request")]
#[case::wrong_response_type(&[("response_type", Some("token"))], "unsupported_response_type")]
#[case::unknown_scope(&[("scope", Some("users:read everything:write"))], "invalid_scope")]
#[tokio::test]
async fn authorize_rejects_bad_requests_by_redirecting_with_an_error(
    #[case] overrides: &[(&str, Option<&str>)],
    #[case] expected_error: &str,
) {
    let fake = start(FakeConfig::for_tests()).await;
    let (_, challenge) = pkce_pair();
    let response = no_redirect_client()
        .get(authorize_url(&fake, &challenge, overrides))
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "errors after the redirect URI is verified go back to the app"
    );
    let query = location_query(&response);
    assert_eq!(
        pair(&query, "error"),
        Some(expected_error),
        "the error code names the problem"
    );
    assert_eq!(
        pair(&query, "state"),
        Some("state-123"),
        "state is echoed on errors too"
    );
    assert!(
        pair(&query, "code").is_none(),
        "no code is issued for a bad request"
    );
    fake.shutdown().await;
}

#[rstest]
#[case::unknown_client(&[("client_id", Some("someone-else"))])]
#[case::missing_client(&[("client_id", None)])]
#[case::unregistered_redirect(&[("redirect_uri", Some("https://attacker.example/callback"))])]
#[case::missing_redirect(&[("redirect_uri", None)])]
#[tokio::test]
async fn authorize_never_redirects_for_an_unknown_client_or_redirect_uri(
    #[case] overrides: &[(&str, Option<&str>)],
) {
    let fake = start(FakeConfig::for_tests()).await;
    let (_, challenge) = pkce_pair();
    let response = no_redirect_client()
        .get(authorize_url(&fake, &challenge, overrides))
        .send()
        .await
        .expect("authorize answers");
    // Redirecting to an unverified URI would leak the error (and codes) to whoever registered nothing.
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "an error page, not a redirect"
    );
    assert!(
        response.headers().get("location").is_none(),
        "no Location header"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn loopback_redirect_uris_match_on_any_port() {
    let fake = start(FakeConfig::for_tests()).await;
    let (_, challenge) = pkce_pair();
    let url = authorize_url(
        &fake,
        &challenge,
        &[(
            "redirect_uri",
            Some("http://127.0.0.1:54321/oauth/callback"),
        )],
    );
    let response = no_redirect_client()
        .get(url)
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "a registered loopback URI matches with any port (RFC 8252)"
    );
    let location = response.headers()["location"].to_str().expect("ascii");
    assert!(
        location.starts_with("http://127.0.0.1:54321/oauth/callback?code="),
        "the redirect keeps the requested port: {location}"
    );
    fake.shutdown().await;
}

/// How a code exchange is spoiled in the negative cases.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    WrongVerifier,
    MissingVerifier,
    MismatchedRedirect,
    UnknownClient,
    ReusedCode,
    ExpiredCode,
    UnknownCode,
}

#[rstest]
#[case(Spoil::WrongVerifier, StatusCode::BAD_REQUEST, "invalid_grant")]
#[case(Spoil::MissingVerifier, StatusCode::BAD_REQUEST, "invalid_request")]
#[case(Spoil::MismatchedRedirect, StatusCode::BAD_REQUEST, "invalid_grant")]
#[case(Spoil::UnknownClient, StatusCode::UNAUTHORIZED, "invalid_client")]
#[case(Spoil::ReusedCode, StatusCode::BAD_REQUEST, "invalid_grant")]
#[case(Spoil::ExpiredCode, StatusCode::BAD_REQUEST, "invalid_grant")]
#[case(Spoil::UnknownCode, StatusCode::BAD_REQUEST, "invalid_grant")]
#[tokio::test]
async fn code_exchange_negatives(
    #[case] spoil: Spoil,
    #[case] status: StatusCode,
    #[case] error: &str,
) {
    let fake = start(FakeConfig::for_tests()).await;
    let (code, verifier) = authorize_code(&fake).await;
    let (_, other_verifier) = authorize_code(&fake).await;
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", verifier.clone()),
        ("client_id", "fake-calendly-client-id".into()),
    ];
    let set = |form: &mut Vec<(&str, String)>, key: &'static str, value: Option<String>| {
        form.retain(|(existing, _)| *existing != key);
        if let Some(value) = value {
            form.push((key, value));
        }
    };
    match spoil {
        Spoil::WrongVerifier => set(&mut form, "code_verifier", Some(other_verifier)),
        Spoil::MissingVerifier => set(&mut form, "code_verifier", None),
        Spoil::MismatchedRedirect => set(
            &mut form,
            "redirect_uri",
            Some("http://127.0.0.1/oauth/callback".into()),
        ),
        Spoil::UnknownClient => set(&mut form, "client_id", Some("someone-else".into())),
        Spoil::ReusedCode => {
            let (first, body) = exchange_code(&fake, &code, &verifier).await;
            assert_eq!(first, StatusCode::OK, "the first exchange succeeds: {body}");
        }
        Spoil::ExpiredCode => {
            // Codes live ten minutes of fake time.
            fake.control().shift_clock(601).await.expect("shift clock");
        }
        Spoil::UnknownCode => set(&mut form, "code", Some("0".repeat(64))),
    }
    let borrowed: Vec<(&str, &str)> = form
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    let (actual_status, body) = token_request(&fake, &borrowed).await;
    assert_eq!(
        actual_status, status,
        "{spoil:?} gets the right status: {body}"
    );
    assert_eq!(
        body["error"], error,
        "{spoil:?} gets the right OAuth error code"
    );
    assert!(
        body["error_description"].is_string(),
        "errors carry a description"
    );
    assert!(
        body.get("access_token").is_none(),
        "no token is issued for {spoil:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_and_a_used_refresh_token_dies() {
    let fake = start(FakeConfig::for_tests()).await;
    let first = oauth_tokens(&fake).await;
    let first_refresh = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let (status, second) = refresh(&fake, &first_refresh).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a fresh refresh token works: {second}"
    );
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "every refresh returns a new refresh token"
    );
    assert_ne!(
        second["access_token"], first["access_token"],
        "every refresh returns a new access token"
    );
    assert_eq!(
        second["scope"], first["scope"],
        "refresh keeps the granted scopes"
    );
    let (reuse_status, reuse) = refresh(&fake, &first_refresh).await;
    assert_eq!(
        reuse_status,
        StatusCode::BAD_REQUEST,
        "re-presenting a used refresh token fails"
    );
    assert_eq!(reuse["error"], "invalid_grant", "reuse is invalid_grant");
    let (third_status, third) = refresh(
        &fake,
        second["refresh_token"].as_str().expect("refresh token"),
    )
    .await;
    assert_eq!(
        third_status,
        StatusCode::OK,
        "the newest refresh token still works after a failed reuse: {third}"
    );
    // API.md §1.2: the previous access token keeps working until it expires.
    let old_access = api_get(
        &fake,
        first["access_token"].as_str().expect("access token"),
        "/users/me",
    )
    .await;
    assert_eq!(
        old_access.status,
        StatusCode::OK,
        "an earlier access token is not revoked by rotation"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_have_exactly_one_winner() {
    let fake = start(FakeConfig {
        token_requests_per_minute: 100,
        ..FakeConfig::for_tests()
    })
    .await;
    let tokens = oauth_tokens(&fake).await;
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let refresh_token = refresh_token.clone();
            let auth = fake.auth_base_url();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(auth.join("/oauth/token").expect("path"))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &refresh_token),
                        ("client_id", "fake-calendly-client-id"),
                    ])
                    .send()
                    .await
                    .expect("token endpoint answers")
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.expect("task completes"));
    }
    let winners = statuses
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    let losers = statuses
        .iter()
        .filter(|status| **status == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!(
        winners, 1,
        "single-use rotation lets exactly one concurrent refresh win: {statuses:?}"
    );
    assert_eq!(
        losers, 7,
        "every other concurrent refresh gets invalid_grant: {statuses:?}"
    );
    let stats = fake.control().stats().await.expect("stats");
    assert_eq!(
        stats.token_requests_by_grant.get("refresh_token"),
        Some(&8),
        "all eight refreshes reached the fake"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn token_requests_are_limited_per_user_per_minute() {
    let fake = start(FakeConfig::for_tests()).await;
    let mut refresh_token = oauth_tokens(&fake).await["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    // The code exchange was request 1; seven refreshes fill the window of eight.
    for index in 0..7 {
        let (status, body) = refresh(&fake, &refresh_token).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "token request {} of 8 is allowed: {body}",
            index + 2
        );
        refresh_token = body["refresh_token"].as_str().expect("refresh").to_string();
    }
    let (status, body) = refresh(&fake, &refresh_token).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the ninth token request in a minute is refused: {body}"
    );
    fake.control().shift_clock(61).await.expect("shift clock");
    let (status, body) = refresh(&fake, &refresh_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a refused request did not spend the refresh token, and a new minute allows it: {body}"
    );
    fake.shutdown().await;
}

async fn form_post(
    fake: &fake_calendly::FakeHandle,
    path: &str,
    form: &[(&str, &str)],
) -> ApiResponse {
    send(
        reqwest::Client::new()
            .post(fake.auth_base_url().join(path).expect("path"))
            .form(form),
    )
    .await
}

#[tokio::test]
async fn introspect_and_revoke_follow_the_token_state() {
    let fake = start(FakeConfig::for_tests()).await;
    let tokens = oauth_tokens(&fake).await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    let client = ("client_id", "fake-calendly-client-id");
    let active = form_post(&fake, "/oauth/introspect", &[client, ("token", access)]).await;
    assert_eq!(
        active.body["active"], true,
        "a fresh access token is active: {}",
        active.body
    );
    assert_eq!(
        active.body["owner"],
        fake.default_user().user_uri.as_str(),
        "introspection names the owner"
    );
    assert!(
        active.body["exp"].as_i64() > active.body["iat"].as_i64(),
        "exp follows iat"
    );
    // Assumption (API.md §10.5): a public client revokes with its client_id and no secret.
    let revoked = form_post(&fake, "/oauth/revoke", &[client, ("token", access)]).await;
    assert_eq!(
        revoked.status,
        StatusCode::OK,
        "revoke answers 200: {}",
        revoked.body
    );
    assert_eq!(
        revoked.body,
        serde_json::json!({}),
        "revoke answers an empty object"
    );
    let inactive = form_post(&fake, "/oauth/introspect", &[client, ("token", access)]).await;
    assert_eq!(
        inactive.body,
        serde_json::json!({"active": false}),
        "a revoked token is inactive"
    );
    assert_eq!(
        api_get(&fake, access, "/users/me").await.status,
        StatusCode::UNAUTHORIZED,
        "a revoked access token gets 401"
    );
    form_post(&fake, "/oauth/revoke", &[client, ("token", refresh_token)]).await;
    let (status, body) = refresh(&fake, refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a revoked refresh token cannot be used"
    );
    let unknown_client = form_post(
        &fake,
        "/oauth/revoke",
        &[("client_id", "nope"), ("token", access)],
    )
    .await;
    assert_eq!(
        unknown_client.status,
        StatusCode::UNAUTHORIZED,
        "an unknown client cannot revoke"
    );
    let missing_token = form_post(&fake, "/oauth/introspect", &[client]).await;
    assert_eq!(
        missing_token.body["error"], "invalid_request",
        "introspect without a token is invalid_request"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn control_can_expire_and_revoke_tokens_and_mint_scoped_pats() {
    let fake = start(FakeConfig::for_tests()).await;
    let control = fake.control();
    let tokens = oauth_tokens(&fake).await;
    let access = tokens["access_token"].as_str().expect("access");
    let expired = control
        .expire_tokens(&TokenActionRequest::default())
        .await
        .expect("expire");
    assert!(
        expired.tokens_affected >= 1,
        "the user's access token was expired"
    );
    let response = api_get(&fake, access, "/users/me").await;
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "an expired token gets 401"
    );
    assert_eq!(
        response.body["title"], "Unauthenticated",
        "401 uses Calendly's error body"
    );
    let (status, renewed) =
        refresh(&fake, tokens["refresh_token"].as_str().expect("refresh")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "refresh tokens survive access-token expiry: {renewed}"
    );
    control
        .revoke_tokens(&TokenActionRequest::default())
        .await
        .expect("revoke");
    let (status, _) = refresh(&fake, renewed["refresh_token"].as_str().expect("refresh")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "revoking through control kills refresh tokens too"
    );

    let narrow = control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: None,
            scopes: Some(vec!["users:read".into()]),
        })
        .await
        .expect("mint");
    assert_eq!(
        api_get(&fake, &narrow.token, "/users/me").await.status,
        StatusCode::OK,
        "users:read allows /users/me"
    );
    let denied = api_get(
        &fake,
        &narrow.token,
        &format!("/scheduled_events?user={}", narrow.user_uri),
    )
    .await;
    assert_eq!(
        denied.status,
        StatusCode::FORBIDDEN,
        "a missing scope is 403"
    );
    assert_eq!(
        denied.body["title"], "Insufficient scope",
        "the insufficient-scope body is used"
    );
    assert_eq!(
        denied.body["required_scopes"],
        serde_json::json!(["scheduled_events:read"]),
        "the body names the missing scope"
    );
    let writer = control
        .mint_personal_access_token(&MintTokenRequest {
            user_uri: None,
            scopes: Some(vec!["scheduled_events:write".into()]),
        })
        .await
        .expect("mint");
    let implied = api_get(
        &fake,
        &writer.token,
        &format!("/scheduled_events?user={}", writer.user_uri),
    )
    .await;
    assert_eq!(
        implied.status,
        StatusCode::OK,
        "a :write scope implies the matching :read: {}",
        implied.body
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_different_account_authorizes_when_control_switches_the_logged_in_user() {
    let fake = start(FakeConfig::for_tests()).await;
    let control = fake.control();
    let other = control
        .add_user(&fake_calendly::NewUser {
            name: "Sam Patel".into(),
            email: "sam@patel-wealth.example".into(),
            ..Default::default()
        })
        .await
        .expect("add user");
    control
        .set_authorizing_user(&other.user_uri)
        .await
        .expect("switch user");
    let tokens = oauth_tokens(&fake).await;
    assert_eq!(
        tokens["owner"],
        other.user_uri.as_str(),
        "the token belongs to the newly logged-in account"
    );
    assert_ne!(
        tokens["organization"],
        fake.default_user().organization_uri.as_str(),
        "a new user gets its own organization"
    );
    let stats = control.stats().await.expect("stats");
    assert_eq!(
        stats.token_requests, 1,
        "exactly one token request reached the fake"
    );
    tokio::time::timeout(Duration::from_secs(5), fake.shutdown())
        .await
        .expect("shutdown completes");
}

#[tokio::test]
async fn access_tokens_expire_on_the_fake_clock_and_codes_have_ten_minutes() {
    let fake = start(FakeConfig::for_tests()).await;
    let tokens = oauth_tokens(&fake).await;
    let access = tokens["access_token"].as_str().expect("access");
    fake.control().shift_clock(7199).await.expect("shift");
    assert_eq!(
        api_get(&fake, access, "/users/me").await.status,
        StatusCode::OK,
        "the token still works just before two hours"
    );
    fake.control().shift_clock(2).await.expect("shift");
    let expired = api_get(&fake, access, "/users/me").await;
    assert_eq!(
        expired.status,
        StatusCode::UNAUTHORIZED,
        "after two hours of fake time the token is expired"
    );
    assert_eq!(
        expired.body["message"], "The access token is expired",
        "the message says why"
    );
    let (status, renewed) =
        refresh(&fake, tokens["refresh_token"].as_str().expect("refresh")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "refresh tokens do not expire with time: {renewed}"
    );
    let created_at = renewed["created_at"].as_i64().expect("created_at");
    let clock = fake.control().clock().await.expect("clock");
    assert!(
        (clock.now.timestamp() - created_at).abs() <= 2,
        "created_at comes from the shifted clock"
    );
    // A code used just inside its ten minutes still works.
    let (code, verifier) = authorize_code(&fake).await;
    fake.control().shift_clock(590).await.expect("shift");
    let (status, body) = exchange_code(&fake, &code, &verifier).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a code is valid for ten minutes: {body}"
    );
    fake.shutdown().await;
}
