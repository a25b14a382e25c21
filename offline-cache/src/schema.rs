//! The store's schema, as versioned migrations (rusqlite_migration keeps the
//! version in SQLite's `user_version`). Migrations only ever add: a newer
//! schema never drops what an older one wrote.

use rusqlite_migration::{Migrations, M};

/// Every migration, oldest first. Append; never edit a released one.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'trainer', 'admin')),
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE applicants (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('natural_person', 'legal_person')),
    identifier_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (identifier_type, identifier)
);
CREATE INDEX applicants_identifier ON applicants (identifier);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    bundle_id TEXT,
    item_versions TEXT NOT NULL,
    applicant_id TEXT REFERENCES applicants (id),
    window TEXT NOT NULL,
    clerk_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_day TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    promised_completion TEXT
);
CREATE INDEX cases_window_day ON cases (window, created_day);
CREATE INDEX cases_applicant ON cases (applicant_id);
CREATE INDEX cases_state ON cases (state);
CREATE TABLE sub_cases (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    back_office TEXT NOT NULL,
    items TEXT NOT NULL,
    state TEXT NOT NULL,
    remote_receipt TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (case_id, back_office)
);
CREATE TABLE field_values (
    case_id TEXT NOT NULL REFERENCES cases (id),
    item_id TEXT NOT NULL,
    field_id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (case_id, item_id, field_id)
);
CREATE TABLE materials (
    case_id TEXT NOT NULL REFERENCES cases (id),
    item_id TEXT NOT NULL,
    material_id TEXT NOT NULL,
    status TEXT NOT NULL,
    original INTEGER NOT NULL DEFAULT 0,
    copies INTEGER NOT NULL DEFAULT 0,
    elicence_reference TEXT,
    deficiency_reason TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (case_id, item_id, material_id)
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    proposal TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    document_number TEXT NOT NULL UNIQUE,
    content_sha256 TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE drafts (
    id TEXT PRIMARY KEY,
    clerk_id TEXT NOT NULL,
    window TEXT NOT NULL,
    bundle_id TEXT,
    item_versions TEXT NOT NULL,
    content TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    sub_case_id TEXT REFERENCES sub_cases (id),
    back_office TEXT NOT NULL,
    action TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    quarantined INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (quarantined, back_office, next_attempt_at);
CREATE TABLE sequences (
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (kind, period)
);
"#,
        ),
        // Version 2: sync bookkeeping per back office, and the link from a
        // new draft to the notice case it answers.
        M::up(
            r#"
CREATE TABLE sync_state (
    back_office TEXT PRIMARY KEY,
    last_success_at TEXT,
    last_error TEXT,
    cursor TEXT
);
ALTER TABLE cases ADD COLUMN previous_case_id TEXT REFERENCES cases (id);
"#,
        ),
        // Version 3: the applicant's name as the case recorded it, so case
        // lists need no join (and show the name the applicant had then).
        M::up(
            r#"
ALTER TABLE cases ADD COLUMN applicant_name TEXT;
UPDATE cases SET applicant_name = (SELECT name FROM applicants WHERE applicants.id = cases.applicant_id);
CREATE INDEX cases_window_day_time ON cases (window, created_day, created_at);
DROP INDEX cases_window_day;
"#,
        ),
        // Version 4: the back office's decision (approved or refused) on a
        // sub-case, kept once its result is ready.
        M::up("ALTER TABLE sub_cases ADD COLUMN outcome TEXT;"),
        // Version 5: an issued document's PDF, kept encrypted with the case.
        M::up("ALTER TABLE documents ADD COLUMN attachment_id TEXT;"),
        // Version 6: the window's local ticket queue.
        M::up(
            r#"
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    number TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'parked', 'no_show', 'done')),
    window TEXT,
    issued_at TEXT NOT NULL,
    called_at TEXT,
    calls INTEGER NOT NULL DEFAULT 0,
    UNIQUE (day, number)
);
CREATE INDEX tickets_day_state ON tickets (day, state);
"#,
        ),
        // Version 7: a case's timeline and name search without a scan.
        M::up(
            "CREATE INDEX audit_log_subject ON audit_log (subject);
             UPDATE cases SET applicant_name = (SELECT name FROM applicants WHERE applicants.id = cases.applicant_id) WHERE applicant_name IS NULL;
             CREATE INDEX cases_applicant_name ON cases (applicant_name);",
        ),
        // Version 8: results issued at the one window, and ratings (好差评).
        M::up(
            r#"
CREATE TABLE issuances (
    case_id TEXT PRIMARY KEY REFERENCES cases (id),
    method TEXT NOT NULL,
    results TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    clerk_id TEXT NOT NULL
);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    visit TEXT NOT NULL CHECK (visit IN ('intake', 'issuance')),
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    reasons TEXT NOT NULL,
    comment TEXT,
    rated_at TEXT NOT NULL,
    follow_up TEXT NOT NULL CHECK (follow_up IN ('none', 'open', 'done')),
    UNIQUE (case_id, visit)
);
CREATE INDEX ratings_follow_up ON ratings (follow_up);
"#,
        ),
        // Version 9: what the follow-up of a bad rating found and did.
        M::up("ALTER TABLE ratings ADD COLUMN follow_up_note TEXT;"),
        // Version 10: shift handovers at a window.
        M::up(
            r#"
CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    window TEXT NOT NULL,
    from_user TEXT NOT NULL,
    created_at TEXT NOT NULL,
    report TEXT NOT NULL,
    to_user TEXT,
    to_acknowledged_at TEXT,
    supervisor TEXT,
    supervisor_acknowledged_at TEXT
);
CREATE INDEX handovers_window ON handovers (window, created_at);
"#,
        ),
        // Version 11: when a ticket was first called and when it was done
        // (the queue watch's waiting and serving times), and the day's
        // appointments from the booking platform for check-in.
        M::up(
            r#"
ALTER TABLE tickets ADD COLUMN first_called_at TEXT;
ALTER TABLE tickets ADD COLUMN finished_at TEXT;
UPDATE tickets SET first_called_at = called_at WHERE called_at IS NOT NULL;
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,
    booking_number TEXT NOT NULL,
    item_id TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    applicant_identifier TEXT NOT NULL,
    phone TEXT,
    source TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('booked', 'checked_in', 'cancelled')),
    ticket_id INTEGER REFERENCES tickets (id),
    checked_in_at TEXT,
    UNIQUE (source, booking_number)
);
CREATE INDEX appointments_day ON appointments (day, slot);
"#,
        ),
        // Version 12: requests that wait for a supervisor on the desk: a
        // decision other than the core's proposal (override) and taking up
        // a terminated case again (reopen).
        M::up(
            r#"
CREATE TABLE sign_off_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('override', 'reopen')),
    case_id TEXT REFERENCES cases (id),
    draft_id TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'approved', 'refused')),
    decided_by TEXT,
    decided_at TEXT,
    decision_note TEXT
);
CREATE INDEX sign_off_requests_state ON sign_off_requests (state, requested_at);
"#,
        ),
        // Version 13: scans from the capture inbox (content encrypted in
        // the attachment vault; the thumbnail in this encrypted store).
        M::up(
            r#"
CREATE TABLE captures (
    id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    thumbnail BLOB,
    captured_at TEXT NOT NULL,
    draft_id TEXT,
    item_id TEXT,
    material_id TEXT,
    case_id TEXT REFERENCES cases (id),
    state TEXT NOT NULL CHECK (state IN ('tray', 'attached', 'committed', 'discarded'))
);
CREATE INDEX captures_draft ON captures (draft_id, state);
"#,
        ),
        // Version 14: practice sessions and their scored attempts (used in
        // the practice store only).
        M::up(
            r#"
CREATE TABLE practice_sessions (
    id TEXT PRIMARY KEY,
    trainer_id TEXT NOT NULL,
    trainee_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE practice_attempts (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES practice_sessions (id),
    trainee_id TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    case_id TEXT,
    score INTEGER,
    detail TEXT
);
CREATE INDEX practice_attempts_trainee ON practice_attempts (trainee_id, started_at);
"#,
        ),
        // Version 15: an override's approval is bound to the content it
        // approved (SHA-256 of applicant, values and marks) and lapses when
        // that changes (state `lapsed`). The table is made again because
        // SQLite cannot change a CHECK constraint; nothing refers to it.
        // Wrong passwords typed into the supervisor's dialog at a window
        // count against the person at the window, not the supervisor's
        // account (`window_check_failures`).
        M::up(
            r#"
CREATE TABLE sign_off_requests_15 (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('override', 'reopen')),
    case_id TEXT REFERENCES cases (id),
    draft_id TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'approved', 'refused', 'lapsed')),
    decided_by TEXT,
    decided_at TEXT,
    decision_note TEXT,
    content_sha256 TEXT,
    lapsed_at TEXT
);
INSERT INTO sign_off_requests_15 (id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state, decided_by, decided_at, decision_note)
    SELECT id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state, decided_by, decided_at, decision_note FROM sign_off_requests;
DROP TABLE sign_off_requests;
ALTER TABLE sign_off_requests_15 RENAME TO sign_off_requests;
CREATE INDEX sign_off_requests_state ON sign_off_requests (state, requested_at);
CREATE TABLE window_check_failures (
    asked_by TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    paused_until TEXT
);
"#,
        ),
        // Version 16: an outbox row's request may have reached the back
        // office once `sent_at` is set (written before the request leaves;
        // rows tried before this version count as sent).
        M::up(
            r#"
ALTER TABLE outbox ADD COLUMN sent_at TEXT;
UPDATE outbox SET sent_at = created_at WHERE attempts > 0;
-- A system that refuses the window itself (token expired, wrong address,
-- TLS) is paused with the reason for the administrator: its cases wait,
-- one request probes it every so often.
ALTER TABLE sync_state ADD COLUMN paused_reason TEXT;
ALTER TABLE sync_state ADD COLUMN paused_at TEXT;
ALTER TABLE sync_state ADD COLUMN probe_at TEXT;
-- A supervisor's correction of a case a back office refused: old and new
-- value of each field, kept in the (encrypted) store, never in the log.
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    item_id TEXT NOT NULL,
    field_id TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    corrected_at TEXT NOT NULL,
    note TEXT NOT NULL
);
"#,
        ),
    ])
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 16;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
        assert_eq!(super::SCHEMA_VERSION, 16);
    }
}
