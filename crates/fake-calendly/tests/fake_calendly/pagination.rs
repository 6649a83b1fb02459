//! Pagination: walking `next_page` (and back with `previous_page`) visits every row exactly once,
//! in order, for any page size; the `pagination` object always has all five keys.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use fake_calendly::{FakeConfig, SeedRequest};
use proptest::prelude::*;

use crate::support::*;

/// Follows `next_page` links from `first_path`; returns the pages' item URIs.
async fn walk_forward(
    fake: &fake_calendly::FakeHandle,
    token: &str,
    first_path: &str,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = Some(first_path.to_string());
    while let Some(link) = next {
        let response = api_get(fake, token, &link).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "every page link works: {}",
            response.body
        );
        let pagination = &response.body["pagination"];
        for key in [
            "count",
            "next_page",
            "previous_page",
            "next_page_token",
            "previous_page_token",
        ] {
            assert!(
                pagination.get(key).is_some(),
                "pagination always carries {key}"
            );
        }
        let items: Vec<String> = response.body["collection"]
            .as_array()
            .expect("collection")
            .iter()
            .map(|item| item["uri"].as_str().expect("uri").to_string())
            .collect();
        assert_eq!(
            pagination["count"],
            items.len(),
            "pagination.count is the number of rows in this page"
        );
        if let Some(link) = pagination["next_page"].as_str() {
            assert!(
                link.starts_with(fake.api_base_url().as_str().trim_end_matches('/')),
                "next_page points at the fake"
            );
            assert_eq!(
                url::Url::parse(link)
                    .expect("url")
                    .query_pairs()
                    .find(|(key, _)| key == "page_token")
                    .map(|(_, value)| value.into_owned()),
                pagination["next_page_token"].as_str().map(str::to_string),
                "next_page carries next_page_token"
            );
        }
        pages.push(items);
        next = pagination["next_page"].as_str().map(str::to_string);
        assert!(pages.len() <= 200, "pagination terminates");
    }
    pages
}

async fn check_pagination(event_count: usize, page_size: usize, seed: u64, descending: bool) {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let range_start = "2026-02-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time");
    // A narrow range makes equal start times likely, which the cursor must break by id.
    let range_end = range_start + Duration::days(3);
    let report = fake
        .control()
        .seed(&SeedRequest {
            user_uri: None,
            count: event_count,
            seed,
            range_start,
            range_end,
        })
        .await
        .expect("seed");
    let user = fake.default_user().user_uri.clone();
    let sort = if descending {
        "start_time:desc"
    } else {
        "start_time:asc"
    };
    let pages = walk_forward(
        &fake,
        &token,
        &format!("/scheduled_events?user={user}&count={page_size}&sort={sort}"),
    )
    .await;
    let flattened: Vec<String> = pages.iter().flatten().cloned().collect();
    let unique: BTreeSet<&String> = flattened.iter().collect();
    assert_eq!(
        unique.len(),
        flattened.len(),
        "no event appears twice across pages"
    );
    let expected: BTreeSet<&String> = report.event_uris.iter().collect();
    assert_eq!(unique, expected, "every seeded event appears");
    let expected_pages = event_count.div_ceil(page_size).max(1);
    assert_eq!(
        pages.len(),
        expected_pages,
        "pages are full except the last"
    );

    // Walking back from the last page with previous_page reproduces the same pages.
    if pages.len() > 1 {
        let mut link = {
            let mut last = format!("/scheduled_events?user={user}&count={page_size}&sort={sort}");
            for _ in 1..pages.len() {
                let response = api_get(&fake, &token, &last).await;
                last = response.body["pagination"]["next_page"]
                    .as_str()
                    .expect("next page")
                    .to_string();
            }
            let response = api_get(&fake, &token, &last).await;
            response.body["pagination"]["previous_page"]
                .as_str()
                .map(str::to_string)
        };
        let mut index = pages.len() - 1;
        while let Some(previous) = link {
            index -= 1;
            let response = api_get(&fake, &token, &previous).await;
            let items: Vec<String> = response.body["collection"]
                .as_array()
                .expect("array")
                .iter()
                .map(|item| item["uri"].as_str().expect("uri").to_string())
                .collect();
            assert_eq!(
                items, pages[index],
                "previous_page returns exactly the earlier page"
            );
            link = response.body["pagination"]["previous_page"]
                .as_str()
                .map(str::to_string);
        }
        assert_eq!(index, 0, "walking back ends at the first page");
    }
    fake.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_event_exactly_once_across_pages(event_count in 0usize..90, page_size in 1usize..=100, seed in any::<u64>(), descending in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        runtime.block_on(check_pagination(event_count, page_size, seed, descending));
    }
}

#[tokio::test]
async fn invitee_pages_cover_a_group_event_and_sort_by_created_at() {
    let fake = start(FakeConfig::for_tests()).await;
    let token = full_access_token(&fake).await;
    let control = fake.control();
    let mut request = booking(72, "Host Guest", "guest0@example.com");
    request.invitee_limit = Some(20);
    let booked = control.book(&request).await.expect("book");
    for index in 1..7 {
        control
            .add_invitee(&fake_calendly::AddInviteeRequest {
                event_uri: booked.event_uri.clone(),
                invitee: fake_calendly::InviteeSpec {
                    name: format!("Guest {index}"),
                    email: format!("guest{index}@example.com"),
                    ..Default::default()
                },
            })
            .await
            .expect("add invitee");
    }
    let uuid = booked.event_uri.rsplit('/').next().expect("uuid");
    let pages = walk_forward(
        &fake,
        &token,
        &format!("/scheduled_events/{uuid}/invitees?count=3"),
    )
    .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1],
        "7 invitees in pages of 3"
    );
    let descending = api_get(
        &fake,
        &token,
        &format!("/scheduled_events/{uuid}/invitees?count=100&sort=created_at:desc"),
    )
    .await;
    let ascending: Vec<String> = pages.into_iter().flatten().collect();
    let mut reversed: Vec<String> = descending.body["collection"]
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["uri"].as_str().expect("uri").to_string())
        .collect();
    reversed.reverse();
    assert_eq!(
        reversed, ascending,
        "created_at:desc is the reverse of the default ascending order"
    );
    let one = api_get(
        &fake,
        &token,
        &format!("/scheduled_events/{uuid}/invitees?email=guest3@example.com"),
    )
    .await;
    assert_eq!(
        one.body["collection"].as_array().expect("array").len(),
        1,
        "the email filter keeps one invitee"
    );
    let bad_token = api_get(
        &fake,
        &token,
        &format!("/scheduled_events/{uuid}/invitees?page_token=garbage"),
    )
    .await;
    assert_eq!(
        bad_token.status,
        StatusCode::BAD_REQUEST,
        "an invalid page token is a 400"
    );
    fake.shutdown().await;
}
