//! The append-only list of schema migrations and the code that runs them at open.
//!
//! Never edit or reorder an entry once it has shipped: add a new one at the end. The index of a
//! migration plus one is the `PRAGMA user_version` it leaves behind.

use crate::error::StoreError;
use rusqlite::Connection;

/// Schema migrations, oldest first. Entry `i` upgrades `user_version` from `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: accounts, meetings, invitees, answers, clients, links, sync runs, settings, search index.
    r#"
CREATE TABLE accounts (
    account_id        INTEGER PRIMARY KEY,
    user_uri          TEXT NOT NULL UNIQUE,
    organization_uri  TEXT NOT NULL,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    timezone          TEXT,
    scheduling_url    TEXT,
    connection_state  TEXT NOT NULL DEFAULT 'connected'
                      CHECK (connection_state IN ('connected', 'needs_reconnect', 'disconnected')),
    connection_reason TEXT,
    is_active         INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
-- At most one account is the active one.
CREATE UNIQUE INDEX accounts_single_active ON accounts (is_active) WHERE is_active = 1;

CREATE TABLE meetings (
    meeting_id           INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    event_uri            TEXT NOT NULL,
    name                 TEXT,
    status               TEXT NOT NULL,
    start_time           TEXT NOT NULL,
    end_time             TEXT NOT NULL,
    event_type           TEXT,
    location_kind        TEXT,
    join_url             TEXT,
    location_detail      TEXT,
    calendly_created_at  TEXT NOT NULL,
    calendly_updated_at  TEXT NOT NULL,
    canceled_at          TEXT,
    canceled_reason      TEXT,
    canceled_by          TEXT,
    canceler_type        TEXT,
    has_cancellation     INTEGER NOT NULL DEFAULT 0 CHECK (has_cancellation IN (0, 1)),
    rescheduled_from     TEXT,
    rescheduled_to       TEXT,
    deleted_in_calendly  INTEGER NOT NULL DEFAULT 0 CHECK (deleted_in_calendly IN (0, 1)),
    first_seen_at        TEXT NOT NULL,
    last_seen_at         TEXT NOT NULL,
    last_change_source   TEXT NOT NULL CHECK (last_change_source IN ('poll', 'webhook')),
    invitees_total       INTEGER NOT NULL DEFAULT 0,
    invitees_active      INTEGER NOT NULL DEFAULT 0,
    content_fingerprint  TEXT NOT NULL,
    UNIQUE (account_id, event_uri)
);
CREATE INDEX meetings_by_account_start ON meetings (account_id, start_time);
-- Covers the "earliest start among not-yet-ended meetings" lookup of upcoming-first lists.
CREATE INDEX meetings_by_account_end ON meetings (account_id, end_time, start_time);

CREATE TABLE invitees (
    invitee_id          INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    meeting_id          INTEGER NOT NULL REFERENCES meetings (meeting_id) ON DELETE CASCADE,
    invitee_uri         TEXT NOT NULL,
    event_uri           TEXT NOT NULL,
    email               TEXT NOT NULL,
    email_normalized    TEXT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    timezone            TEXT,
    cancel_url          TEXT,
    reschedule_url      TEXT,
    old_invitee_uri     TEXT,
    new_invitee_uri     TEXT,
    rescheduled         INTEGER NOT NULL DEFAULT 0 CHECK (rescheduled IN (0, 1)),
    no_show             INTEGER NOT NULL DEFAULT 0 CHECK (no_show IN (0, 1)),
    has_cancellation    INTEGER NOT NULL DEFAULT 0 CHECK (has_cancellation IN (0, 1)),
    canceled_reason     TEXT,
    canceled_by         TEXT,
    canceler_type       TEXT,
    canceled_at         TEXT,
    calendly_created_at TEXT NOT NULL,
    calendly_updated_at TEXT NOT NULL,
    content_fingerprint TEXT NOT NULL,
    UNIQUE (account_id, invitee_uri)
);
CREATE INDEX invitees_by_meeting ON invitees (meeting_id);
CREATE INDEX invitees_by_old_invitee ON invitees (account_id, old_invitee_uri) WHERE old_invitee_uri IS NOT NULL;
CREATE INDEX invitees_by_new_invitee ON invitees (account_id, new_invitee_uri) WHERE new_invitee_uri IS NOT NULL;

CREATE TABLE invitee_answers (
    answer_id  INTEGER PRIMARY KEY,
    invitee_id INTEGER NOT NULL REFERENCES invitees (invitee_id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL
);
CREATE INDEX invitee_answers_by_invitee ON invitee_answers (invitee_id, position);

CREATE TABLE clients (
    client_id          INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    email_normalized   TEXT NOT NULL,
    display_name       TEXT NOT NULL DEFAULT '',
    -- Calendly created_at of the invitee the display name came from ("most recent wins").
    display_name_from  TEXT,
    UNIQUE (account_id, email_normalized)
);

CREATE TABLE meeting_clients (
    meeting_id     INTEGER NOT NULL REFERENCES meetings (meeting_id) ON DELETE CASCADE,
    client_id      INTEGER NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- 1 while the client has a not-canceled invitee on the meeting (a group member who
    -- canceled stays linked for history but no longer attends).
    client_attends INTEGER NOT NULL DEFAULT 1 CHECK (client_attends IN (0, 1)),
    PRIMARY KEY (meeting_id, client_id)
) WITHOUT ROWID;
CREATE INDEX meeting_clients_by_client ON meeting_clients (client_id, meeting_id);

CREATE TABLE sync_runs (
    sync_run_id     INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
    window_start    TEXT NOT NULL,
    window_end      TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    created_count   INTEGER NOT NULL DEFAULT 0,
    updated_count   INTEGER NOT NULL DEFAULT 0,
    canceled_count  INTEGER NOT NULL DEFAULT 0,
    restored_count  INTEGER NOT NULL DEFAULT 0,
    deleted_count   INTEGER NOT NULL DEFAULT 0,
    unchanged_count INTEGER NOT NULL DEFAULT 0,
    api_calls       TEXT NOT NULL DEFAULT '{}',
    error           TEXT
);
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, started_at);

CREATE TABLE settings (
    setting_id INTEGER PRIMARY KEY,
    -- NULL means a global setting.
    account_id INTEGER REFERENCES accounts (account_id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL
);
CREATE UNIQUE INDEX settings_by_scope_key ON settings (ifnull(account_id, 0), key);

-- One row per meeting (rowid = meeting_id): meeting name, invitee names and e-mails, answers.
CREATE VIRTUAL TABLE meeting_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');

-- Whatever deletes a meeting (account wipe, cascade) also drops its search row.
CREATE TRIGGER meetings_drop_search_row AFTER DELETE ON meetings BEGIN
    DELETE FROM meeting_search WHERE rowid = old.meeting_id;
END;
"#,
    // 2: what sync knows about each meeting's invitee list (sync that always converges):
    //    the version whose invitees were last read completely, when, why the last read failed,
    //    and how many invitees moved away (reschedules belong to invitees, not meetings).
    r#"
ALTER TABLE meetings ADD COLUMN invitees_read_for TEXT;
ALTER TABLE meetings ADD COLUMN invitees_read_at TEXT;
ALTER TABLE meetings ADD COLUMN read_error TEXT;
ALTER TABLE meetings ADD COLUMN read_error_at TEXT;
ALTER TABLE meetings ADD COLUMN moved_invitee_count INTEGER NOT NULL DEFAULT 0;
-- Rows a poll wrote with every invitee Calendly counts were read completely for their version;
-- taking that on trust spares an upgrade from re-reading every meeting's invitees at once.
UPDATE meetings SET invitees_read_for = calendly_updated_at || '|' || content_fingerprint,
                    invitees_read_at = last_seen_at
 WHERE last_change_source = 'poll'
   AND (SELECT count(*) FROM invitees i WHERE i.meeting_id = meetings.meeting_id) >= invitees_total;
-- One invitee moving out of a group no longer marks the whole meeting rescheduled.
UPDATE meetings SET moved_invitee_count = (
    SELECT count(*) FROM invitees x
     WHERE x.meeting_id = meetings.meeting_id
       AND (x.new_invitee_uri IS NOT NULL
            OR EXISTS (SELECT 1 FROM invitees y
                        WHERE y.account_id = x.account_id AND y.old_invitee_uri = x.invitee_uri)));
UPDATE meetings SET rescheduled_to = NULL
 WHERE rescheduled_to IS NOT NULL
   AND moved_invitee_count < max(invitees_total,
                                 (SELECT count(*) FROM invitees i WHERE i.meeting_id = meetings.meeting_id));
"#,
    // 3: real time: each account's relay channel and Calendly subscription, and every webhook
    // delivery received through it (never its signature).
    r#"
CREATE TABLE realtime_channels (
    account_id          INTEGER PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    relay_base          TEXT NOT NULL,
    channel_id          TEXT NOT NULL,
    ingress_url         TEXT NOT NULL,
    -- Who signs the deliveries: our own per-subscription key, or Calendly's app key (OAuth).
    signed_by           TEXT NOT NULL DEFAULT 'subscription' CHECK (signed_by IN ('subscription', 'app')),
    subscription_uri    TEXT,
    subscription_state  TEXT,
    subscription_checked_at TEXT,
    -- Set when real time cannot work for this account (e.g. the Calendly plan has no webhooks).
    off_reason          TEXT,
    -- The highest relay delivery id applied, recorded or rejected: where the stream resumes.
    last_delivery_id    INTEGER NOT NULL DEFAULT 0,
    -- What the listener holding the stream last reported, for other processes' status.
    stream_state        TEXT,
    stream_reason       TEXT,
    stream_changed_at   TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_delivery_id INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    channel_id          TEXT NOT NULL,
    -- The relay's id: integers, strictly increasing per channel.
    delivery_id         INTEGER NOT NULL,
    event               TEXT,
    received_at         TEXT NOT NULL,
    processed_at        TEXT NOT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'rejected')),
    reason              TEXT,
    -- SHA-256 of the raw body: the same Calendly message sent twice is a duplicate.
    body_digest         TEXT,
    meeting_uri         TEXT,
    invitee_uri         TEXT,
    changed             INTEGER NOT NULL DEFAULT 0 CHECK (changed IN (0, 1)),
    UNIQUE (account_id, channel_id, delivery_id)
);
CREATE INDEX webhook_deliveries_by_digest ON webhook_deliveries (account_id, body_digest)
    WHERE body_digest IS NOT NULL;
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (account_id, processed_at);
"#,
    // 4: event types: names, durations and colours of the kinds of meetings, cached per account.
    r#"
CREATE TABLE event_types (
    event_type_id    INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    event_type_uri   TEXT NOT NULL,
    name             TEXT,
    duration_minutes INTEGER,
    color            TEXT,
    kind             TEXT,
    scheduling_url   TEXT,
    -- Calendly's flag; also 0 once a complete listing no longer returns the type.
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    fetched_at       TEXT NOT NULL,
    UNIQUE (account_id, event_type_uri)
);

-- When each account's event types were last listed completely (their freshness).
CREATE TABLE event_type_refreshes (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    refreshed_at TEXT NOT NULL
);
"#,
    // 5: counting an account's meetings (every status refresh) from a small index, not the table.
    r#"
CREATE INDEX meetings_live_by_account ON meetings (account_id) WHERE deleted_in_calendly = 0;
"#,
    // 6: client notes: the advisor's private note on a client, kept only in this database.
    r#"
CREATE TABLE client_notes (
    client_id  INTEGER PRIMARY KEY REFERENCES clients (client_id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#,
    // 7: the status line's count of unreadable meetings (and a sync's retry list) from the few
    // failed rows. Without it, every status refresh read every meeting's row: with 10,000
    // meetings the first overview mapped the whole database into the app's memory.
    r#"
CREATE INDEX meetings_unreadable_by_account
    ON meetings (account_id, deleted_in_calendly, read_error_at, meeting_id)
    WHERE read_error IS NOT NULL;
"#,
];

/// The schema version this build writes and understands.
pub(crate) fn supported_version(migrations: &[&str]) -> i64 {
    migrations.len() as i64
}

/// Brings the database up to the newest schema in ONE transaction, or refuses a newer database.
pub(crate) fn run_migrations(
    connection: &mut Connection,
    migrations: &[&str],
) -> Result<(), StoreError> {
    let supported = supported_version(migrations);
    // An immediate transaction takes the write lock before reading the version, so two
    // processes opening the same file at once cannot both run the same migration.
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > supported {
        return Err(StoreError::DatabaseTooNew { found, supported });
    }
    for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        transaction
            .execute_batch(sql)
            .map_err(|source| StoreError::Migration { version, source })?;
        transaction
            .pragma_update(None, "user_version", version)
            .map_err(|source| StoreError::Migration { version, source })?;
    }
    transaction.commit()?;
    Ok(())
}
