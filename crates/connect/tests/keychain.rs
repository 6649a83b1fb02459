//! The keychain module against a real gnome-keyring: missing entries, idempotent deletes,
//! namespacing by service (build flavour) and account.

mod support;

use advicly_connect::{AccountKey, Keychain, KeychainItem, TokenSet};
use advicly_core::domain::UserUri;
use advicly_core::Secret;
use std::time::Duration;

fn unique_service(flavour: &str) -> String {
    format!("com.advicly.test.{flavour}.{}", rand::random::<u64>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_entries_are_none_and_deleting_twice_succeeds() {
    if !support::in_private_keyring_session("missing_entries_are_none_and_deleting_twice_succeeds")
    {
        return;
    }
    let keychain = Keychain::new(unique_service("basic"), Duration::from_secs(10));
    let account = AccountKey::for_user(&UserUri::new("https://api.calendly.com/users/AAAA1111"));
    let item = KeychainItem::WebhookSigningKey(account.clone());
    assert_eq!(
        keychain.get(&item).await.unwrap(),
        None,
        "a missing item reads as None"
    );
    keychain
        .set(&item, &Secret::new("signing-key-value-1"))
        .await
        .unwrap();
    keychain
        .set(&item, &Secret::new("signing-key-value-2"))
        .await
        .unwrap();
    assert_eq!(
        keychain.get(&item).await.unwrap(),
        Some(Secret::new("signing-key-value-2")),
        "setting again replaces the value"
    );
    assert_eq!(
        keychain.list_user_attributes().await.unwrap(),
        vec!["account:AAAA1111:webhook-signing-key".to_owned()],
        "one item, named by account and kind"
    );
    keychain.delete(&item).await.unwrap();
    keychain
        .delete(&item)
        .await
        .expect("deleting a missing item is success");
    assert_eq!(keychain.get(&item).await.unwrap(), None, "the item is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavours_and_accounts_never_see_each_others_tokens() {
    if !support::in_private_keyring_session("flavours_and_accounts_never_see_each_others_tokens") {
        return;
    }
    let base = unique_service("flavour");
    let release = Keychain::new(base.clone(), Duration::from_secs(10));
    let dev = Keychain::new(format!("{base}.dev"), Duration::from_secs(10));
    let first = AccountKey::for_user(&UserUri::new("https://api.calendly.com/users/first-user"));
    let second = AccountKey::for_user(&UserUri::new("https://api.calendly.com/users/second-user"));
    let tokens = |label: &str| TokenSet {
        access_token: Secret::new(format!("access-{label}")),
        refresh_token: Some(Secret::new(format!("refresh-{label}"))),
        expires_at: Some(chrono::Utc::now()),
    };
    release
        .save_token_set(&first, &tokens("release-first"))
        .await
        .unwrap();
    dev.save_token_set(&first, &tokens("dev-first"))
        .await
        .unwrap();
    release
        .save_token_set(&second, &tokens("release-second"))
        .await
        .unwrap();

    // A dev build writing the same account never overwrites the real user's tokens.
    assert_eq!(
        release
            .token_set(&first)
            .await
            .unwrap()
            .unwrap()
            .access_token,
        Secret::new("access-release-first"),
        "the release flavour keeps its own tokens"
    );
    assert_eq!(
        dev.token_set(&first).await.unwrap().unwrap().access_token,
        Secret::new("access-dev-first"),
        "the dev flavour has its own"
    );
    // Removing one account leaves the other account and the other flavour alone.
    release.delete_account(&first).await.unwrap();
    assert_eq!(
        release.token_set(&first).await.unwrap(),
        None,
        "the account's tokens are gone"
    );
    assert!(
        release.token_set(&second).await.unwrap().is_some(),
        "the other account is untouched"
    );
    assert!(
        dev.token_set(&first).await.unwrap().is_some(),
        "the other flavour is untouched"
    );
    dev.delete_account(&first).await.unwrap();
    release.delete_account(&second).await.unwrap();
}

#[test]
fn account_keys_are_safe_names() {
    // Odd characters in a user URI must not reach keychain attributes or file names.
    let odd = AccountKey::for_user(&UserUri::new("https://api.calendly.com/users/a b/../c"));
    assert!(
        odd.as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{odd:?}"
    );
    let plain = AccountKey::for_user(&UserUri::new(
        "https://api.calendly.com/users/EBHAAFHDCAEQTSEZ",
    ));
    assert_eq!(
        plain.as_str(),
        "EBHAAFHDCAEQTSEZ",
        "plain ids are used as they are"
    );
}

/// Marks the child run of the next test (no private session around it).
const OUTSIDE_MODE: &str = "outside-any-session";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_outside_a_private_session_fails_before_reaching_any_keychain() {
    if std::env::var(support::CHILD_MODE_VARIABLE).as_deref() == Ok(OUTSIDE_MODE) {
        // The child: a plain `cargo test` run, as far as it can tell.
        let keychain = Keychain::new(unique_service("outside"), Duration::from_secs(10));
        let error = keychain
            .set(
                &KeychainItem::RelayToken(AccountKey::for_user(&UserUri::new(
                    "https://api.calendly.com/users/OUTSIDE1",
                ))),
                &Secret::new("must-never-be-stored-anywhere"),
            )
            .await
            .expect_err("a test service outside a private session is refused");
        assert_eq!(error.code(), "keychain_unavailable");
        assert!(
            error.to_string().contains("scripts/with-test-session.sh"),
            "the failure says how to run tests: {error}"
        );
        return;
    }
    let name = "a_test_outside_a_private_session_fails_before_reaching_any_keychain";
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env_remove(support::SESSION_VARIABLE)
        .env(support::CHILD_MODE_VARIABLE, OUTSIDE_MODE)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the child must pass: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
