//! The CLI's own output: stable JSON wire types (our scripting interface) and the human tables.
//!
//! The JSON field names and shapes are documented in `crates/cli/README.md`; change them only by
//! adding fields. Times are RFC 3339 UTC (`2026-11-21T09:30:00Z`); absent values are `null`.
//!
//! Text from Calendly (names, e-mails, event names, reasons, answers) is untrusted: a booking
//! form is filled in by anyone. Human output passes it through [`printable`], which escapes
//! control and bidirectional-formatting characters, so a booking cannot send escape sequences
//! to the advisor's terminal. JSON output escapes the same characters as `\uXXXX`.

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

use advicly_engine::{
    ClientView, DeliveryReport, DisconnectReport, LastSyncView, MeetingView, RealtimeView,
    ResolvedSettings, SettingKey, SettingSource, SettingValue, StatusView, SyncCounts, SyncReport,
    CALENDLY_API_BASE, CALENDLY_AUTH_BASE, DEFAULT_INTERVAL_MINUTES,
};

fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn rfc3339_opt(instant: Option<DateTime<Utc>>) -> Option<String> {
    instant.map(rfc3339)
}

/// An invitee inside a meeting.
#[derive(Debug, Serialize)]
pub struct InviteeJson {
    pub email: String,
    pub name: String,
    pub status: String,
}

/// One line of `advicly meetings --json`.
#[derive(Debug, Serialize)]
pub struct MeetingJson {
    pub uri: String,
    pub name: Option<String>,
    pub status: String,
    pub start_time: String,
    pub end_time: String,
    pub event_type: Option<String>,
    pub location_kind: Option<String>,
    pub join_url: Option<String>,
    pub invitees: Vec<InviteeJson>,
    pub client_emails: Vec<String>,
    pub rescheduled_from: Option<String>,
    pub rescheduled_to: Option<String>,
    pub canceled_reason: Option<String>,
    pub canceled_by: Option<String>,
    /// "1 of 3 moved" when some, not all, invitees rescheduled.
    pub reschedule_note: Option<String>,
    /// Why this meeting's invitees could not be read from Calendly last time.
    pub read_error: Option<String>,
    pub deleted: bool,
}

impl From<&MeetingView> for MeetingJson {
    fn from(meeting: &MeetingView) -> Self {
        Self {
            uri: meeting.uri.to_string(),
            name: meeting.name.clone(),
            status: meeting.status.as_str().to_owned(),
            start_time: rfc3339(meeting.start_time),
            end_time: rfc3339(meeting.end_time),
            event_type: meeting.event_type.clone(),
            location_kind: meeting.location_kind.clone(),
            join_url: meeting.join_url.clone(),
            invitees: meeting
                .invitees
                .iter()
                .map(|invitee| InviteeJson {
                    email: invitee.email.clone(),
                    name: invitee.name.clone(),
                    status: invitee.status.as_str().to_owned(),
                })
                .collect(),
            client_emails: meeting.client_emails.clone(),
            rescheduled_from: meeting.rescheduled_from.as_ref().map(ToString::to_string),
            rescheduled_to: meeting.rescheduled_to.as_ref().map(ToString::to_string),
            canceled_reason: meeting.canceled_reason.clone(),
            canceled_by: meeting.canceled_by.clone(),
            reschedule_note: meeting.reschedule_note.clone(),
            read_error: meeting.read_error.clone(),
            deleted: meeting.deleted,
        }
    }
}

/// One line of `advicly clients --json`.
#[derive(Debug, Serialize)]
pub struct ClientJson {
    pub email: String,
    pub name: String,
    pub meeting_count: u64,
    pub next_meeting: Option<String>,
    pub last_meeting: Option<String>,
}

impl From<&ClientView> for ClientJson {
    fn from(client: &ClientView) -> Self {
        Self {
            email: client.email.clone(),
            name: client.name.clone(),
            meeting_count: client.meeting_count,
            next_meeting: rfc3339_opt(client.next_meeting),
            last_meeting: rfc3339_opt(client.last_meeting),
        }
    }
}

/// Per-kind change counts of a sync.
#[derive(Debug, Serialize)]
pub struct CountsJson {
    pub created: u64,
    pub updated: u64,
    pub canceled: u64,
    pub restored: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

impl From<&SyncCounts> for CountsJson {
    fn from(counts: &SyncCounts) -> Self {
        Self {
            created: counts.created,
            updated: counts.updated,
            canceled: counts.canceled,
            restored: counts.restored,
            deleted: counts.deleted,
            unchanged: counts.unchanged,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub email: String,
    pub name: String,
    pub user_uri: String,
}

#[derive(Debug, Serialize)]
pub struct LastSyncJson {
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub counts: CountsJson,
    pub error: Option<String>,
    /// "1 meeting could not be read from Calendly: …" while that holds.
    pub warning: Option<String>,
}

impl From<&LastSyncView> for LastSyncJson {
    fn from(last: &LastSyncView) -> Self {
        Self {
            kind: last.kind.as_str().to_owned(),
            started_at: rfc3339(last.started_at),
            finished_at: rfc3339_opt(last.finished_at),
            counts: CountsJson::from(&last.counts),
            error: last.error.clone(),
            warning: last.warning.clone(),
        }
    }
}

/// `advicly status --json`. Never carries a token.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub state: String,
    pub account: Option<AccountJson>,
    pub reason: Option<String>,
    pub last_sync: Option<LastSyncJson>,
    pub next_sync: Option<String>,
    pub token_expires_at: Option<String>,
    /// `closed`, `open` (needs reconnect, or the token endpoint's cool-down runs) or `half_open`.
    pub circuit: String,
    /// While Calendly's token endpoint fails: when the next trial refresh happens.
    pub sign_in_retry_at: Option<String>,
    /// The same, as the sentence `status` prints.
    pub sign_in_problem: Option<String>,
    pub meeting_count: u64,
    pub realtime: RealtimeJson,
}

/// The `realtime` field of `advicly status --json`.
#[derive(Debug, Serialize)]
pub struct RealtimeJson {
    /// `off`, `connecting`, `live` or `degraded`.
    pub state: String,
    pub reason: Option<String>,
    pub last_delivery_at: Option<String>,
    pub subscription: Option<SubscriptionJson>,
}

#[derive(Debug, Serialize)]
pub struct SubscriptionJson {
    pub uri: String,
    pub state: String,
}

impl From<&RealtimeView> for RealtimeJson {
    fn from(realtime: &RealtimeView) -> Self {
        Self {
            state: realtime.state.as_str().to_owned(),
            reason: realtime.reason.clone(),
            last_delivery_at: rfc3339_opt(realtime.last_delivery_at),
            subscription: realtime
                .subscription
                .as_ref()
                .map(|subscription| SubscriptionJson {
                    uri: subscription.uri.clone(),
                    state: subscription.state.clone(),
                }),
        }
    }
}

/// One line of `advicly listen --json`.
#[derive(Debug, Serialize)]
pub struct DeliveryJson {
    pub id: i64,
    pub event: Option<String>,
    /// `applied`, `duplicate` or `rejected`.
    pub outcome: String,
    pub reason: Option<String>,
    pub meeting_uri: Option<String>,
}

impl From<&DeliveryReport> for DeliveryJson {
    fn from(report: &DeliveryReport) -> Self {
        Self {
            id: report.id,
            event: report.event.clone(),
            outcome: report.outcome.as_str().to_owned(),
            reason: report.reason.clone(),
            meeting_uri: report.meeting_uri.clone(),
        }
    }
}

/// One line of `advicly listen` for a person.
pub fn delivery_line(report: &DeliveryReport) -> String {
    // The event name, the meeting and the reason come from the delivery: escape them.
    let event = printable(report.event.as_deref().unwrap_or("(unreadable)"));
    let mut line = format!("#{} {event}: {}", report.id, report.outcome.as_str());
    if let Some(meeting) = &report.meeting_uri {
        line.push_str(&format!(" {}", printable(meeting)));
    }
    if let Some(reason) = &report.reason {
        line.push_str(&format!(" ({})", printable(reason)));
    }
    if report.outcome.as_str() == "applied" && !report.changed {
        line.push_str(" (already up to date)");
    }
    line.push('\n');
    line
}

impl From<&StatusView> for StatusJson {
    fn from(status: &StatusView) -> Self {
        Self {
            state: status.state.as_str().to_owned(),
            account: status.account.as_ref().map(|account| AccountJson {
                email: account.email.clone(),
                name: account.name.clone(),
                user_uri: account.user_uri.to_string(),
            }),
            reason: status.reason.clone(),
            last_sync: status.last_sync.as_ref().map(LastSyncJson::from),
            next_sync: rfc3339_opt(status.next_sync),
            token_expires_at: rfc3339_opt(status.token_expires_at),
            circuit: status.circuit.as_str().to_owned(),
            sign_in_retry_at: status
                .sign_in_outage
                .as_ref()
                .map(|outage| rfc3339(outage.retry_at)),
            sign_in_problem: status
                .sign_in_outage
                .as_ref()
                .map(|outage| outage.message.clone()),
            meeting_count: status.meeting_count,
            realtime: RealtimeJson::from(&status.realtime),
        }
    }
}

/// `advicly sync --json`.
#[derive(Debug, Serialize)]
pub struct SyncJson {
    pub kind: String,
    pub window_start: String,
    pub window_end: String,
    pub started_at: String,
    pub finished_at: String,
    pub counts: CountsJson,
    pub pages: u32,
    pub events: u32,
    pub invitee_fetches: u32,
    pub api_calls: BTreeMap<String, u64>,
}

impl From<&SyncReport> for SyncJson {
    fn from(report: &SyncReport) -> Self {
        Self {
            kind: report.kind.as_str().to_owned(),
            window_start: rfc3339(report.window.start),
            window_end: rfc3339(report.window.end),
            started_at: rfc3339(report.started_at),
            finished_at: rfc3339(report.finished_at),
            counts: CountsJson::from(&report.counts),
            pages: report.progress.pages,
            events: report.progress.events,
            invitee_fetches: report.progress.invitees,
            api_calls: report.api_calls.clone(),
        }
    }
}

/// `advicly disconnect --json`.
#[derive(Debug, Serialize)]
pub struct DisconnectJson {
    pub subscriptions_deleted: u32,
    pub tokens_revoked: bool,
    pub warnings: Vec<String>,
    pub wiped: bool,
}

impl From<&DisconnectReport> for DisconnectJson {
    fn from(report: &DisconnectReport) -> Self {
        Self {
            subscriptions_deleted: report.subscriptions_deleted,
            tokens_revoked: report.tokens_revoked,
            warnings: report.warnings.clone(),
            wiped: report.wiped,
        }
    }
}

/// One setting in `advicly config --json` and `advicly config get KEY --json`.
#[derive(Debug, Serialize)]
pub struct ConfigEntryJson {
    pub key: &'static str,
    /// The value in effect (the app's default when nothing sets it; `null` when there is none).
    pub value: serde_json::Value,
    /// `default`, `built_in`, `file`, `environment` or `flag`.
    pub source: &'static str,
    /// What the settings file says, when it says something usable.
    pub file_value: serde_json::Value,
    pub environment_variable: &'static str,
    pub description: &'static str,
}

impl ConfigEntryJson {
    pub fn new(settings: &ResolvedSettings, key: SettingKey) -> Self {
        let entry = settings.settings.iter().find(|entry| entry.key == key);
        let value = entry
            .and_then(|entry| entry.value.clone())
            .or_else(|| default_value(key));
        Self {
            key: key.name(),
            value: value.as_ref().map_or(serde_json::Value::Null, json_value),
            source: settings.source(key).as_str(),
            file_value: entry
                .and_then(|entry| entry.file_value.as_ref())
                .map_or(serde_json::Value::Null, json_value),
            environment_variable: key.environment_variable(),
            description: key.describe(),
        }
    }

    /// The value as `config get` prints it; `None` when it is not set and has no default.
    pub fn value_text(&self) -> Option<String> {
        match &self.value {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// A problem with a setting in `advicly config --json`.
#[derive(Debug, Serialize)]
pub struct ConfigProblemJson {
    /// The setting's name; `null` when the problem is with the whole file.
    pub setting: Option<&'static str>,
    pub source: &'static str,
    pub message: String,
}

/// `advicly config --json`.
#[derive(Debug, Serialize)]
pub struct ConfigJson {
    /// The settings file shared with the desktop app (it may not exist yet).
    pub file: Option<String>,
    pub settings: BTreeMap<&'static str, ConfigEntryJson>,
    pub problems: Vec<ConfigProblemJson>,
}

impl From<&ResolvedSettings> for ConfigJson {
    fn from(settings: &ResolvedSettings) -> Self {
        Self {
            file: settings
                .file
                .as_ref()
                .map(|path| path.display().to_string()),
            settings: SettingKey::ALL
                .into_iter()
                .map(|key| (key.name(), ConfigEntryJson::new(settings, key)))
                .collect(),
            problems: settings
                .problems
                .iter()
                .map(|problem| ConfigProblemJson {
                    setting: problem.key.map(SettingKey::name),
                    source: problem.source.as_str(),
                    message: problem.message.clone(),
                })
                .collect(),
        }
    }
}

/// What applies when a setting is not set (`None`: the feature is simply off).
fn default_value(key: SettingKey) -> Option<SettingValue> {
    match key {
        SettingKey::SyncIntervalMinutes => Some(SettingValue::Minutes(DEFAULT_INTERVAL_MINUTES)),
        SettingKey::Notifications => Some(SettingValue::Switch(
            advicly_engine::settings::DEFAULT_NOTIFICATIONS,
        )),
        SettingKey::ApiBase => url::Url::parse(CALENDLY_API_BASE)
            .ok()
            .map(SettingValue::Address),
        SettingKey::AuthBase => url::Url::parse(CALENDLY_AUTH_BASE)
            .ok()
            .map(SettingValue::Address),
        SettingKey::ClientId | SettingKey::RelayBase => None,
    }
}

fn json_value(value: &SettingValue) -> serde_json::Value {
    match value {
        SettingValue::Minutes(minutes) => serde_json::Value::from(*minutes),
        SettingValue::Switch(on) => serde_json::Value::Bool(*on),
        other => serde_json::Value::String(other.to_string()),
    }
}

/// The human `advicly config` listing.
pub fn config_lines(settings: &ResolvedSettings) -> String {
    let mut text = format!(
        "Settings file: {}\n\n",
        settings.file.as_ref().map_or_else(
            || "(no config folder is known)".to_owned(),
            |path| path.display().to_string()
        )
    );
    let rows: Vec<Vec<String>> = SettingKey::ALL
        .into_iter()
        .map(|key| {
            let entry = ConfigEntryJson::new(settings, key);
            let value = entry.value_text().unwrap_or_else(|| "-".to_owned());
            let source = match settings.source(key) {
                SettingSource::Environment => {
                    format!("environment ({})", key.environment_variable())
                }
                SettingSource::Flag => format!("flag ({})", key.flag()),
                SettingSource::BuiltIn => "built into this app".to_owned(),
                SettingSource::File => "file".to_owned(),
                SettingSource::Default if entry.value_text().is_some() => "default".to_owned(),
                SettingSource::Default => "not set".to_owned(),
            };
            vec![
                key.name().to_owned(),
                printable(&value).into_owned(),
                source,
            ]
        })
        .collect();
    text.push_str(&table(&["SETTING", "VALUE", "FROM"], &rows));
    if settings.client_id().is_none() {
        text.push_str("\nNo client id is set, so `advicly connect` can only use a personal access token (`advicly connect --token`). Set one with `advicly config set client_id YOUR_CLIENT_ID`.\n");
    }
    if !settings.problems.is_empty() {
        text.push_str("\nProblems (these values are ignored):\n");
        for problem in &settings.problems {
            text.push_str(&format!("  {}\n", printable(&problem.message)));
        }
    }
    text
}

/// A note when an environment variable or flag hides what the file says.
pub fn override_note(settings: &ResolvedSettings, key: SettingKey) -> String {
    match settings.source(key) {
        SettingSource::Environment => format!(
            "Note: {} is set in this environment and wins over the file.\n",
            key.environment_variable()
        ),
        SettingSource::Flag => format!(
            "Note: {} on this command line wins over the file.\n",
            key.flag()
        ),
        _ => String::new(),
    }
}

/// Pretty-printed JSON with a trailing newline. serde_json escapes C0 controls; DEL, C1
/// controls and bidirectional overrides are escaped here too (they only occur inside strings,
/// so the result is the same JSON value).
pub fn to_json<T: Serialize>(value: &T) -> String {
    escape_json(serde_json::to_string_pretty(value).expect("CLI output types always serialize"))
}

/// One compact JSON object on its own line (`advicly listen --json`), escaped like [`to_json`].
pub fn to_json_line<T: Serialize>(value: &T) -> String {
    escape_json(serde_json::to_string(value).expect("CLI output types always serialize"))
}

fn escape_json(text: String) -> String {
    let mut escaped = String::with_capacity(text.len() + 1);
    for character in text.chars() {
        if needs_escaping(character) && !character.is_ascii_control() {
            escaped.push_str(&format!("\\u{:04x}", u32::from(character)));
        } else if character == '\u{7f}' {
            escaped.push_str("\\u007f");
        } else {
            escaped.push(character);
        }
    }
    escaped.push('\n');
    escaped
}

/// True for characters a terminal may act on instead of printing: C0 and C1 controls, DEL,
/// and the invisible bidirectional and zero-width formatting characters.
fn needs_escaping(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// Untrusted text as it may be printed to a terminal: every control or formatting character
/// is shown as `\u{1b}` instead of being sent.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escaping) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if needs_escaping(character) {
            safe.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
        } else {
            safe.push(character);
        }
    }
    Cow::Owned(safe)
}

fn local(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn local_opt(instant: Option<DateTime<Utc>>) -> String {
    instant.map(local).unwrap_or_else(|| "-".to_owned())
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut line = String::new();
        for (index, cell) in cells.into_iter().enumerate() {
            if index == last {
                line.push_str(cell);
            } else {
                let padding = widths[index] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(padding + 2));
            }
        }
        line.trim_end().to_owned() + "\n"
    };
    let mut text = render(headers.to_vec());
    for row in rows {
        text.push_str(&render(row.iter().map(String::as_str).collect()));
    }
    text
}

/// The human meetings table (local time).
pub fn meetings_table(meetings: &[MeetingView]) -> String {
    if meetings.is_empty() {
        return "No meetings match.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = meetings
        .iter()
        .map(|meeting| {
            let minutes = (meeting.end_time - meeting.start_time).num_minutes();
            let mut status = meeting.status.as_str().to_owned();
            if meeting.deleted {
                status = "deleted".to_owned();
            } else if meeting.rescheduled_to.is_some() {
                status = "rescheduled".to_owned();
            }
            let clients = if meeting.client_emails.is_empty() {
                "-".to_owned()
            } else {
                meeting.client_emails.join(", ")
            };
            vec![
                local(meeting.start_time),
                format!("{minutes}m"),
                printable(&status).into_owned(),
                printable(meeting.name.as_deref().unwrap_or("(untitled)")).into_owned(),
                printable(&clients).into_owned(),
            ]
        })
        .collect();
    table(&["START", "LENGTH", "STATUS", "MEETING", "CLIENTS"], &rows)
}

/// The human clients table (local time).
pub fn clients_table(clients: &[ClientView]) -> String {
    if clients.is_empty() {
        return "No clients yet. Run `advicly sync` after connecting Calendly.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|client| {
            vec![
                printable(&client.email).into_owned(),
                printable(&client.name).into_owned(),
                client.meeting_count.to_string(),
                local_opt(client.next_meeting),
                local_opt(client.last_meeting),
            ]
        })
        .collect();
    table(&["EMAIL", "NAME", "MEETINGS", "NEXT", "LAST"], &rows)
}

fn counts_sentence(counts: &SyncCounts) -> String {
    format!(
        "{} new, {} updated, {} canceled, {} restored, {} deleted, {} unchanged",
        counts.created,
        counts.updated,
        counts.canceled,
        counts.restored,
        counts.deleted,
        counts.unchanged
    )
}

/// The human `status` lines.
pub fn status_lines(status: &StatusView) -> String {
    let mut lines = Vec::new();
    let state = match &status.account {
        Some(account) => format!(
            "{} as {} <{}>",
            status.state.as_str(),
            printable(&account.name),
            printable(&account.email)
        ),
        None => status.state.as_str().to_owned(),
    };
    lines.push(format!("Connection:   {state}"));
    if let Some(reason) = &status.reason {
        lines.push(format!("Reason:       {}", printable(reason)));
    }
    if let Some(outage) = &status.sign_in_outage {
        lines.push(format!("Sign-in:      {}", printable(&outage.message)));
    }
    match &status.last_sync {
        Some(last) => {
            let when = local_opt(last.finished_at.or(Some(last.started_at)));
            let outcome = match &last.error {
                Some(error) => format!("failed: {}", printable(error)),
                None => counts_sentence(&last.counts),
            };
            lines.push(format!(
                "Last sync:    {} ({}) at {when}: {outcome}",
                last.kind.as_str(),
                if last.finished_at.is_some() {
                    "finished"
                } else {
                    "unfinished"
                },
            ));
        }
        None => lines.push("Last sync:    never".to_owned()),
    }
    if let Some(warning) = status
        .last_sync
        .as_ref()
        .and_then(|last| last.warning.as_ref())
    {
        lines.push(format!("Warning:      {warning}"));
    }
    lines.push(format!("Next sync:    {}", local_opt(status.next_sync)));
    lines.push(format!(
        "Token until:  {}",
        local_opt(status.token_expires_at)
    ));
    lines.push(format!("Circuit:      {}", status.circuit.as_str()));
    lines.push(format!("Meetings:     {}", status.meeting_count));
    let realtime = &status.realtime;
    let mut realtime_line = format!("Real time:    {}", realtime.state.as_str());
    if let Some(reason) = &realtime.reason {
        realtime_line.push_str(&format!(" ({})", printable(reason)));
    }
    lines.push(realtime_line);
    if let Some(last) = realtime.last_delivery_at {
        lines.push(format!("Last delivery: {}", local_opt(Some(last))));
    }
    if let Some(subscription) = &realtime.subscription {
        lines.push(format!(
            "Subscription: {} ({})",
            printable(&subscription.uri),
            printable(&subscription.state)
        ));
    }
    lines.join("\n") + "\n"
}

/// The human summary printed after a sync.
pub fn sync_summary(report: &SyncReport) -> String {
    let calls: u64 = report.api_calls.values().sum();
    format!(
        "{} sync finished: {} ({} pages, {} meetings listed, {} invitee lists fetched, {} API calls).\n",
        capitalized(report.kind.as_str()),
        counts_sentence(&report.counts),
        report.progress.pages,
        report.progress.events,
        report.progress.invitees,
        calls
    )
}

/// The human lines printed after `disconnect`.
pub fn disconnect_lines(report: &DisconnectReport) -> String {
    let mut text = String::from("Disconnected from Calendly.");
    if report.tokens_revoked {
        text.push_str(" Tokens were revoked.");
    }
    if report.subscriptions_deleted > 0 {
        text.push_str(&format!(
            " {} webhook subscription(s) deleted.",
            report.subscriptions_deleted
        ));
    }
    if report.wiped {
        text.push_str(" Local meetings and clients were erased.");
    }
    text.push('\n');
    for warning in &report.warnings {
        text.push_str(&format!("Warning: {}\n", printable(warning)));
    }
    text
}

fn capitalized(word: &str) -> String {
    let mut characters = word.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().collect::<String>() + characters.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_every_column_but_the_last() {
        let text = table(
            &["A", "BB"],
            &[vec!["long cell".to_owned(), "x".to_owned()]],
        );
        // Columns line up under their headers so the table reads as a table.
        assert_eq!(text, "A          BB\nlong cell  x\n");
    }

    #[test]
    fn control_and_bidi_characters_are_shown_not_sent() {
        let hostile = "Ann\u{1b}]0;owned\u{7}\u{1b}[2J \u{9b}31m\u{202e}evil\u{7f}";
        let shown = printable(hostile);
        // Nothing a terminal would act on survives; the text stays readable.
        assert!(!shown.chars().any(needs_escaping), "{shown:?}");
        assert_eq!(
            shown,
            "Ann\\u{1b}]0;owned\\u{7}\\u{1b}[2J \\u{9b}31m\\u{202e}evil\\u{7f}"
        );
        assert_eq!(
            printable("Zoë Öztürk"),
            "Zoë Öztürk",
            "ordinary text is untouched"
        );
    }

    #[test]
    fn json_output_escapes_c1_controls_and_round_trips() {
        let hostile = "a\u{1b}[31m\u{9b}b\u{202e}c\u{7f}";
        let text = to_json(&serde_json::json!({ "name": hostile }));
        assert!(
            !text.chars().any(|c| c != '\n' && needs_escaping(c)),
            "{text:?}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Scripts still get the exact value back.
        assert_eq!(parsed["name"], hostile);
    }

    #[test]
    fn times_are_rfc3339_utc_with_z() {
        let instant = DateTime::parse_from_rfc3339("2026-11-21T10:30:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        // Scripts parse these; the documented format is UTC with a Z suffix.
        assert_eq!(rfc3339(instant), "2026-11-21T08:30:00Z");
    }
}
