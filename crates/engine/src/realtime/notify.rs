//! The desktop notification for a meeting that was booked, canceled or rescheduled in real
//! time. The engine decides what to say; the shell only shows it.

use chrono::Local;

use super::deliveries::{MeetingChange, MeetingChangeKind};

/// A desktop notification to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// The meeting it is about, so a click can open it.
    pub meeting_uri: String,
}

/// What to tell the advisor about one change, in their local time.
pub fn notification_for(change: &MeetingChange) -> Notification {
    let when = change
        .start_time
        .with_timezone(&Local)
        .format("%a %-d %b, %H:%M")
        .to_string();
    let meeting = change
        .meeting_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or("a meeting");
    let who = if change.invitee_name.trim().is_empty() {
        "An invitee"
    } else {
        change.invitee_name.trim()
    };
    let (title, body) = match change.kind {
        MeetingChangeKind::Booked => (
            "New meeting booked".to_owned(),
            format!("{who} booked {meeting} for {when}"),
        ),
        MeetingChangeKind::Rescheduled => (
            "Meeting rescheduled".to_owned(),
            format!("{who} moved {meeting} to {when}"),
        ),
        MeetingChangeKind::Canceled => (
            "Meeting canceled".to_owned(),
            match &change.reason {
                Some(reason) => format!("{who} canceled {meeting} on {when}: “{reason}”"),
                None => format!("{who} canceled {meeting} on {when}"),
            },
        ),
    };
    Notification {
        title,
        body,
        meeting_uri: change.meeting_uri.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn change(kind: MeetingChangeKind, reason: Option<&str>) -> MeetingChange {
        MeetingChange {
            kind,
            meeting_uri: "https://api.calendly.com/scheduled_events/E".into(),
            meeting_name: Some("Financial review".into()),
            start_time: chrono::Utc
                .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
                .unwrap(),
            invitee_name: "Ann Lee".into(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn each_kind_says_who_what_and_when() {
        let booked = notification_for(&change(MeetingChangeKind::Booked, None));
        assert_eq!(booked.title, "New meeting booked");
        assert!(
            booked
                .body
                .starts_with("Ann Lee booked Financial review for "),
            "{}",
            booked.body
        );
        let moved = notification_for(&change(MeetingChangeKind::Rescheduled, None));
        assert!(
            moved.body.contains("moved Financial review to"),
            "{}",
            moved.body
        );
        let canceled = notification_for(&change(MeetingChangeKind::Canceled, Some("Travelling")));
        // The reason matters to the advisor, so it is part of the text.
        assert!(canceled.body.ends_with("“Travelling”"), "{}", canceled.body);
    }
}
