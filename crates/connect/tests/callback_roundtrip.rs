//! Property: whatever valid `code`/`state` (or error) Calendly sends, the relay's deep link is
//! parsed back by the connector to exactly the same values — the two sides agree on encoding.

use advicly_connect::{parse_callback_url, CallbackParameters};
use advicly_relay::ForwardedCallback;
use proptest::prelude::*;
use url::Url;

/// Printable ASCII without spaces and quotes: what both sides accept in `code` and `state`.
fn token_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range('!', '~'), 1..max)
        .prop_map(|characters| {
            characters
                .into_iter()
                .filter(|c| *c != '"')
                .collect::<String>()
        })
        .prop_filter("non-empty after filtering", |text| !text.is_empty())
}

fn query_of(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

proptest! {
    #[test]
    fn approved_callbacks_survive_the_bounce(code in token_text(200), state in token_text(100)) {
        let query = query_of(&[("code", &code), ("state", &state)]);
        let forwarded = ForwardedCallback::parse(Some(&query)).expect("the relay accepts it");
        let link = forwarded.deep_link(&Url::parse("advicly://oauth/callback").unwrap());
        let parsed = parse_callback_url(link.as_str(), None).expect("the app accepts the link");
        // Any difference would make a valid sign-in fail (or, worse, pass a changed value).
        prop_assert_eq!(parsed, CallbackParameters::Approved { code, state });
    }

    #[test]
    fn oauth_errors_survive_the_bounce(
        error in "[a-z_]{1,40}",
        description in "[ -~]{1,200}",
        state in token_text(100),
    ) {
        let query = query_of(&[("error", &error), ("error_description", &description), ("state", &state)]);
        let forwarded = ForwardedCallback::parse(Some(&query)).expect("the relay accepts it");
        let link = forwarded.deep_link(&Url::parse("advicly://oauth/callback").unwrap());
        let parsed = parse_callback_url(link.as_str(), None).expect("the app accepts the link");
        // The advisor must read exactly what Calendly said.
        prop_assert_eq!(
            parsed,
            CallbackParameters::Failed { error, error_description: Some(description), state: Some(state) }
        );
    }
}
