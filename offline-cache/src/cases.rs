//! Cases: the intake commit (one transaction: applicant, case, values,
//! materials, decision, sub-cases, audit entry, outbox rows), lifecycle
//! transitions, documents, and the look-ups the window needs ("ask once",
//! today's cases, cases by ID number).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::audit;
use crate::error::CacheError;
use crate::lifecycle::{check_transition, CaseState, Event, Role};
use crate::store::{CaseStore, StoreMode, StoreOptions};

/// Who does something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
}

/// The applicant as the window identified them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicantInput {
    /// `natural_person` or `legal_person`.
    pub kind: String,
    /// GA/T 517 code (`111` resident ID) or `001` (credit code).
    pub identifier_type: String,
    pub identifier: String,
    pub name: String,
    pub profile: forms::form::ApplicantProfile,
}

/// The clerk's mark on one material, with attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialRecord {
    #[serde(flatten)]
    pub mark: forms::decision::MaterialMark,
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Everything one intake decision writes, in one transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeCommit {
    /// Made by the client when the intake started; the same id on a retry
    /// finds the case already written instead of writing it twice.
    pub case_id: String,
    pub category: forms::catalog::Category,
    pub bundle_id: Option<String>,
    pub item_versions: BTreeMap<String, u32>,
    pub applicant: ApplicantInput,
    pub window: String,
    pub actor: Actor,
    pub at: DateTime<FixedOffset>,
    /// Field values per item.
    pub values: BTreeMap<String, Map<String, Value>>,
    pub materials: Vec<MaterialRecord>,
    /// The decision event (accept, accept with gaps, notice, refuse).
    pub event: Event,
    /// The proposal the clerk confirmed, kept as printed.
    pub proposal: Value,
    pub promised_completion: Option<chrono::NaiveDate>,
    /// Back-office system → its items (one sub-case each).
    pub sub_cases: BTreeMap<String, Vec<String>>,
    /// Send accepted cases straight to the back offices (no review needed).
    pub dispatch_now: bool,
    /// Otherwise, put an accepted case in the supervisor's handoff review.
    #[serde(default)]
    pub review_first: bool,
    /// The draft this intake came from; it is removed in the same transaction.
    pub draft_id: Option<String>,
    /// For a new draft after a one-time notice: the case it answers.
    pub previous_case_id: Option<String>,
    /// What the applicant agreed to have looked up and reused ("ask only
    /// once"), as the window read it out; kept in the audit entry.
    #[serde(default)]
    pub consent: Option<String>,
}

impl IntakeCommit {
    /// The commit of an intake the forms crate planned and checked, with
    /// the proposal the clerk confirmed. Only accepted cases get sub-cases
    /// for the back offices; an accepted case whose items ask for no review
    /// goes straight to them.
    #[allow(clippy::too_many_arguments)]
    pub fn from_check(
        plan: &forms::intake::IntakePlan,
        check: &forms::intake::IntakeCheck,
        proposal: &forms::decision::DecisionProposal,
        applicant: ApplicantInput,
        window: &str,
        actor: Actor,
        at: DateTime<FixedOffset>,
        draft_id: &str,
        consent: Option<String>,
    ) -> IntakeCommit {
        use forms::decision::DecisionKind;
        let event = match proposal.kind {
            DecisionKind::Accept => Event::Accept,
            DecisionKind::AcceptWithGaps => Event::AcceptWithGaps,
            DecisionKind::OneTimeNotice => Event::IssueNotice,
            DecisionKind::NotAccepted => Event::Refuse,
        };
        let accepted = matches!(
            proposal.kind,
            DecisionKind::Accept | DecisionKind::AcceptWithGaps
        );
        let bundle_id = match &plan.subject {
            forms::intake::Subject::Bundle(id) => Some(id.clone()),
            forms::intake::Subject::Item(_) => None,
        };
        IntakeCommit {
            case_id: draft_id.to_owned(),
            category: plan.category,
            bundle_id,
            item_versions: plan.item_versions.clone(),
            applicant,
            window: window.to_owned(),
            actor,
            at,
            values: check.item_values.clone(),
            materials: check
                .marks
                .iter()
                .map(|mark| MaterialRecord {
                    mark: mark.clone(),
                    attachments: Vec::new(),
                })
                .collect(),
            event,
            proposal: serde_json::to_value(proposal).expect("proposals serialise"),
            promised_completion: proposal.promised_completion.filter(|_| accepted),
            sub_cases: if accepted {
                plan.sub_cases()
            } else {
                BTreeMap::new()
            },
            dispatch_now: !plan.needs_review(),
            review_first: plan.needs_review(),
            draft_id: Some(draft_id.to_owned()),
            previous_case_id: None,
            consent,
        }
    }
}

/// A case as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: String,
    pub case_number: String,
    pub state: CaseState,
    pub window: String,
    pub clerk_id: String,
    pub created_at: String,
    pub applicant_name: Option<String>,
    pub item_versions: BTreeMap<String, u32>,
}

/// What the window already knows about an applicant ("ask only once").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownApplicant {
    pub applicant_id: String,
    pub kind: String,
    pub name: String,
    pub profile: forms::form::ApplicantProfile,
    /// The latest value of each field from earlier cases, with the case number it came from.
    pub earlier_values: BTreeMap<String, (Value, String)>,
}

/// One row waiting for a back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: String,
    pub sub_case_id: Option<String>,
    pub back_office: String,
    pub action: String,
    pub idempotency_key: String,
    pub attempts: i64,
    pub quarantined: bool,
}

fn immediate(connection: &mut Connection) -> Result<Transaction<'_>, CacheError> {
    Ok(connection.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store records always serialise")
}

/// Writes an intake decision; returns the case (as it already is, when the
/// same case id was written before).
pub fn record_intake(
    connection: &mut Connection,
    options: &StoreOptions,
    intake: &IntakeCommit,
) -> Result<CaseSummary, CacheError> {
    if intake.item_versions.is_empty() {
        return Err(CacheError::BadInput(
            "an intake needs at least one item".into(),
        ));
    }
    if uuid::Uuid::parse_str(&intake.case_id).is_err() {
        return Err(CacheError::BadInput(format!(
            "case id `{}` is not a UUID",
            intake.case_id
        )));
    }
    let transaction = immediate(connection)?;
    if let Some(existing) = summary(&transaction, &intake.case_id)? {
        return Ok(existing);
    }
    let state = check_transition(CaseState::Draft, intake.event, intake.actor.role)?;
    let at = intake.at.to_rfc3339();
    let day = intake.at.date_naive();

    let applicant = &intake.applicant;
    let existing: Option<String> = transaction
        .query_row(
            "SELECT id FROM applicants WHERE identifier_type = ?1 AND identifier = ?2",
            params![applicant.identifier_type, applicant.identifier],
            |row| row.get(0),
        )
        .optional()?;
    let applicant_id = match existing {
        Some(id) => {
            crate::store::exec(
                &transaction,
                "UPDATE applicants SET name = ?2, profile = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, applicant.name, json_text(&applicant.profile), at],
            )?;
            id
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            crate::store::exec(&transaction,
                "INSERT INTO applicants (id, kind, identifier_type, identifier, name, profile, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![id, applicant.kind, applicant.identifier_type, applicant.identifier, applicant.name, json_text(&applicant.profile), at],
            )?;
            id
        }
    };

    let case_number =
        options
            .case_numbers
            .next(&transaction, "case", day, &options.number_parts(""))?;
    crate::store::exec(&transaction,
        "INSERT INTO cases (id, case_number, category, bundle_id, item_versions, applicant_id, window, clerk_id, state, created_at, created_day, updated_at, promised_completion, previous_case_id, applicant_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13, ?14)",
        params![
            intake.case_id,
            case_number,
            json_text(&intake.category).trim_matches('"'),
            intake.bundle_id,
            json_text(&intake.item_versions),
            applicant_id,
            intake.window,
            intake.actor.user_id,
            state.as_str(),
            at,
            day.to_string(),
            intake.promised_completion.map(|date| date.to_string()),
            intake.previous_case_id,
            intake.applicant.name,
        ],
    )?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO field_values (case_id, item_id, field_id, value) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (item_id, values) in &intake.values {
            for (field_id, value) in values {
                insert.execute(params![
                    intake.case_id,
                    item_id,
                    field_id,
                    value.to_string()
                ])?;
            }
        }
        let mut material = transaction.prepare_cached(
            "INSERT INTO materials (case_id, item_id, material_id, status, original, copies, elicence_reference, deficiency_reason, attachments) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for record in &intake.materials {
            use forms::decision::MaterialStatus as S;
            let (status, original, copies, reference, reason) = match &record.mark.status {
                S::Received { original, copies } => ("received", *original, *copies, None, None),
                S::FromElicence { reference } => {
                    ("from_elicence", false, 0, Some(reference.clone()), None)
                }
                S::Missing => ("missing", false, 0, None, None),
                S::Deficient { reason_zh } => {
                    ("deficient", false, 0, None, Some(reason_zh.clone()))
                }
            };
            material.execute(params![
                intake.case_id,
                record.mark.item_id,
                record.mark.material_id,
                status,
                original,
                copies,
                reference,
                reason,
                json_text(&record.attachments)
            ])?;
        }
    }
    crate::store::exec(&transaction,
        "INSERT INTO decisions (case_id, kind, proposal, decided_by, decided_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![intake.case_id, intake.event.as_str(), intake.proposal.to_string(), intake.actor.user_id, at],
    )?;
    for (back_office, items) in &intake.sub_cases {
        crate::store::exec(&transaction,
            "INSERT INTO sub_cases (id, case_id, back_office, items, state, updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            params![uuid::Uuid::new_v4().to_string(), intake.case_id, back_office, json_text(items), at],
        )?;
    }
    audit::append(
        &transaction,
        &at,
        &intake.actor.user_id,
        &format!("case.{}", intake.event.as_str()),
        &intake.case_id,
        &json!({ "case_number": case_number, "state": state.as_str(), "items": intake.item_versions, "window": intake.window, "consent": intake.consent }),
    )?;
    if let Some(draft_id) = &intake.draft_id {
        crate::store::exec(
            &transaction,
            "DELETE FROM drafts WHERE id = ?1",
            params![draft_id],
        )?;
        // The draft's scans are the case's now (their ids are in its
        // materials' attachments).
        crate::store::exec(
            &transaction,
            "UPDATE captures SET state = 'committed', case_id = ?2 WHERE draft_id = ?1 AND state = 'attached'",
            params![draft_id, intake.case_id],
        )?;
    }
    if state == CaseState::Accepted && !intake.dispatch_now && intake.review_first {
        apply_event(
            &transaction,
            &intake.case_id,
            state,
            Event::SendToReview,
            &intake.actor,
            &at,
            None,
        )?;
    }
    if intake.dispatch_now && state == CaseState::Accepted {
        apply_event(
            &transaction,
            &intake.case_id,
            state,
            Event::Dispatch,
            &intake.actor,
            &at,
            None,
        )?;
    }
    let result = summary(&transaction, &intake.case_id)?
        .ok_or_else(|| CacheError::UnknownCase(intake.case_id.clone()))?;
    transaction.commit()?;
    Ok(result)
}

/// A supervisor signs off a case accepted with gaps; then, in the same
/// transaction, the case goes to the back offices (`dispatch`) or to the
/// handoff review. Never a case the supervisor took in (`own_work`).
pub fn sign_off_gaps(
    connection: &mut Connection,
    case_id: &str,
    supervisor: &Actor,
    at: DateTime<FixedOffset>,
    dispatch: bool,
) -> Result<CaseState, CacheError> {
    let transaction = immediate(connection)?;
    let current: Option<String> = transaction
        .query_row(
            "SELECT state FROM cases WHERE id = ?1",
            params![case_id],
            |row| row.get(0),
        )
        .optional()?;
    let current =
        CaseState::parse(&current.ok_or_else(|| CacheError::UnknownCase(case_id.to_owned()))?)?;
    refuse_own_case(&transaction, case_id, supervisor)?;
    let at = at.to_rfc3339();
    let mut state = apply_event(
        &transaction,
        case_id,
        current,
        Event::SignOffGaps,
        supervisor,
        &at,
        None,
    )?;
    state = apply_event(
        &transaction,
        case_id,
        state,
        if dispatch {
            Event::Dispatch
        } else {
            Event::SendToReview
        },
        supervisor,
        &at,
        None,
    )?;
    transaction.commit()?;
    Ok(state)
}

/// Refuses (`own_work`) when `actor` took the case in: no one approves
/// their own work (the gaps' sign-off, the handoff review, a reopening).
pub(crate) fn refuse_own_case(
    connection: &Connection,
    case_id: &str,
    actor: &Actor,
) -> Result<(), CacheError> {
    let clerk: Option<String> = connection
        .query_row(
            "SELECT clerk_id FROM cases WHERE id = ?1",
            params![case_id],
            |row| row.get(0),
        )
        .optional()?;
    if clerk.as_deref() == Some(actor.user_id.as_str()) {
        return Err(crate::sign_offs::own_work(
            "该办件是您本人受理的",
            "You took this case in yourself",
        ));
    }
    Ok(())
}

/// Moves a case by `event`, with its audit entry and any outbox rows, in
/// one transaction. An illegal move is an error and changes nothing; so is
/// approving the handoff of a case one took in oneself (`own_work`).
pub fn transition(
    connection: &mut Connection,
    case_id: &str,
    event: Event,
    actor: &Actor,
    at: DateTime<FixedOffset>,
    note: Option<&str>,
) -> Result<CaseState, CacheError> {
    let transaction = immediate(connection)?;
    let current: String = transaction
        .query_row(
            "SELECT state FROM cases WHERE id = ?1",
            params![case_id],
            |row| row.get(0),
        )
        .optional()?
        .ok_or_else(|| CacheError::UnknownCase(case_id.to_owned()))?;
    if event == Event::ApproveHandoff {
        refuse_own_case(&transaction, case_id, actor)?;
    }
    // A supplement says what was handed in: the back office is told, and
    // the case's history keeps it.
    if event == Event::Supplement && note.is_none_or(|note| note.trim().is_empty()) {
        return Err(CacheError::Refused {
            code: "note_required",
            message_zh: "请写明收到了哪些补正材料".into(),
            message_en: "Say which materials were handed in".into(),
        });
    }
    let state = apply_event(
        &transaction,
        case_id,
        CaseState::parse(&current)?,
        event,
        actor,
        &at.to_rfc3339(),
        note,
    )?;
    transaction.commit()?;
    Ok(state)
}

pub(crate) fn apply_event(
    transaction: &Transaction,
    case_id: &str,
    from: CaseState,
    event: Event,
    actor: &Actor,
    at: &str,
    note: Option<&str>,
) -> Result<CaseState, CacheError> {
    let to = check_transition(from, event, actor.role)?;
    crate::store::exec(
        transaction,
        "UPDATE cases SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![case_id, to.as_str(), at],
    )?;
    audit::append(
        transaction,
        at,
        &actor.user_id,
        &format!("case.{}", event.as_str()),
        case_id,
        &json!({ "from": from.as_str(), "to": to.as_str(), "role": actor.role.as_str(), "note": note }),
    )?;
    // Terminating settles the outbox in one place (`outbox::on_terminate`):
    // what never left is deleted, what may be at a back office is withdrawn.
    if event == Event::Terminate {
        crate::outbox::on_terminate(transaction, case_id, note, at)?;
        return Ok(to);
    }
    if let Some(action) = event.outbox_action() {
        // A supplement goes only to the back offices that asked for it.
        let mut sub_cases = transaction.prepare_cached(
            "SELECT id, back_office FROM sub_cases WHERE case_id = ?1 AND (?2 != 'supplement' OR state = 'supplement_requested') ORDER BY back_office",
        )?;
        let targets: Vec<(String, String)> = sub_cases
            .query_map(params![case_id, action], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        for (sub_case_id, back_office) in targets {
            crate::store::exec(transaction,
                "INSERT INTO outbox (case_id, sub_case_id, back_office, action, idempotency_key, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![case_id, sub_case_id, back_office, action, uuid::Uuid::new_v4().to_string(), json!({ "note": note }).to_string(), at],
            )?;
            if action == "submit" {
                crate::store::exec(
                    transaction,
                    "UPDATE sub_cases SET state = 'queued', updated_at = ?2 WHERE id = ?1",
                    params![sub_case_id, at],
                )?;
            }
        }
    }
    Ok(to)
}

fn summary(connection: &Connection, case_id: &str) -> Result<Option<CaseSummary>, CacheError> {
    connection
        .query_row(
            &format!("{SUMMARY_COLUMNS} WHERE c.id = ?1"),
            params![case_id],
            summary_row,
        )
        .optional()?
        .transpose()
}

fn summary_row(row: &rusqlite::Row) -> rusqlite::Result<Result<CaseSummary, CacheError>> {
    let state: String = row.get(2)?;
    let versions: String = row.get(7)?;
    Ok((|| {
        Ok(CaseSummary {
            id: row.get(0)?,
            case_number: row.get(1)?,
            state: CaseState::parse(&state)?,
            window: row.get(3)?,
            clerk_id: row.get(4)?,
            created_at: row.get(5)?,
            applicant_name: row.get(6)?,
            item_versions: serde_json::from_str(&versions)
                .map_err(|error| CacheError::Database(error.to_string()))?,
        })
    })())
}

fn summaries(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<CaseSummary>, CacheError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(parameters, summary_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

const SUMMARY_COLUMNS: &str = "SELECT c.id, c.case_number, c.state, c.window, c.clerk_id, c.created_at, coalesce(c.applicant_name, a.name), c.item_versions FROM cases c LEFT JOIN applicants a ON a.id = c.applicant_id";

/// One case.
pub fn case(connection: &Connection, case_id: &str) -> Result<CaseSummary, CacheError> {
    summary(connection, case_id)?.ok_or_else(|| CacheError::UnknownCase(case_id.to_owned()))
}

/// A window's cases of one day (`YYYY-MM-DD`), newest first.
pub fn cases_for_window_day(
    connection: &Connection,
    window: &str,
    day: &str,
) -> Result<Vec<CaseSummary>, CacheError> {
    summaries(connection, &format!("{SUMMARY_COLUMNS} WHERE c.window = ?1 AND c.created_day = ?2 ORDER BY c.created_at DESC"), params![window, day])
}

/// Cases matching what a clerk typed: a case number, an applicant's ID
/// number or credit code, or the start of the applicant's name as the case
/// recorded it; newest first, at most 50.
pub fn search_cases(connection: &Connection, query: &str) -> Result<Vec<CaseSummary>, CacheError> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    // GLOB is case-sensitive, so the name prefix can use its index.
    let prefix: String = query
        .chars()
        .filter(|c| !matches!(c, '*' | '?' | '[' | ']'))
        .collect();
    summaries(
        connection,
        &format!(
            "{SUMMARY_COLUMNS} WHERE c.case_number = ?1
               OR c.applicant_id IN (SELECT id FROM applicants WHERE identifier = upper(?1))
               OR c.applicant_name GLOB ?2
             ORDER BY c.created_at DESC LIMIT 50"
        ),
        params![query, format!("{prefix}*")],
    )
}

/// One step of a case's history, from the audit log (ids and actions only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
}

/// A case's history, oldest first.
pub fn case_timeline(
    connection: &Connection,
    case_id: &str,
) -> Result<Vec<TimelineEntry>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT at, actor, action FROM audit_log WHERE subject = ?1 ORDER BY seq",
    )?;
    let rows = statement.query_map(params![case_id], |row| {
        Ok(TimelineEntry {
            at: row.get(0)?,
            actor: row.get(1)?,
            action: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where a case stands with one back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubCaseState {
    pub back_office: String,
    pub state: String,
    pub receipt: Option<String>,
    pub outcome: Option<String>,
}

/// A case's sub-cases, one per back office.
pub fn sub_cases_of(
    connection: &Connection,
    case_id: &str,
) -> Result<Vec<SubCaseState>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT back_office, state, remote_receipt, outcome FROM sub_cases WHERE case_id = ?1 ORDER BY back_office",
    )?;
    let rows = statement.query_map(params![case_id], |row| {
        Ok(SubCaseState {
            back_office: row.get(0)?,
            state: row.get(1)?,
            receipt: row.get(2)?,
            outcome: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every case of the applicant with this identifier, newest first.
pub fn cases_by_identifier(
    connection: &Connection,
    identifier: &str,
) -> Result<Vec<CaseSummary>, CacheError> {
    summaries(
        connection,
        &format!("{SUMMARY_COLUMNS} WHERE c.applicant_id IN (SELECT id FROM applicants WHERE identifier = ?1) ORDER BY c.created_at DESC"),
        params![identifier],
    )
}

/// What earlier cases recorded about the applicant with this identifier.
pub fn find_applicant(
    connection: &Connection,
    identifier: &str,
) -> Result<Option<KnownApplicant>, CacheError> {
    let found: Option<(String, String, String, String)> = connection
        .query_row("SELECT id, kind, name, profile FROM applicants WHERE identifier = ?1 ORDER BY updated_at DESC LIMIT 1", params![identifier], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((applicant_id, kind, name, profile)) = found else {
        return Ok(None);
    };
    let mut statement = connection.prepare_cached(
        "SELECT v.field_id, v.value, c.case_number FROM field_values v JOIN cases c ON c.id = v.case_id
         WHERE c.applicant_id = ?1 ORDER BY c.created_at ASC",
    )?;
    let mut earlier_values = BTreeMap::new();
    let rows = statement.query_map(params![applicant_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (field, value, case_number) = row?;
        if let Ok(value) = serde_json::from_str(&value) {
            earlier_values.insert(field, (value, case_number));
        }
    }
    Ok(Some(KnownApplicant {
        applicant_id,
        kind,
        name,
        profile: serde_json::from_str(&profile)
            .map_err(|error| CacheError::Database(error.to_string()))?,
        earlier_values,
    }))
}

/// The field values of a case, per item.
pub fn case_values(
    connection: &Connection,
    case_id: &str,
) -> Result<BTreeMap<String, Map<String, Value>>, CacheError> {
    let mut statement = connection
        .prepare_cached("SELECT item_id, field_id, value FROM field_values WHERE case_id = ?1")?;
    let rows = statement.query_map(params![case_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for row in rows {
        let (item, field, value) = row?;
        let value = serde_json::from_str(&value)
            .map_err(|error| CacheError::Database(error.to_string()))?;
        out.entry(item).or_default().insert(field, value);
    }
    Ok(out)
}

/// Rows still waiting for their back office, oldest first.
pub fn outbox(connection: &Connection) -> Result<Vec<OutboxRow>, CacheError> {
    let mut statement = connection.prepare_cached("SELECT id, case_id, sub_case_id, back_office, action, idempotency_key, attempts, quarantined FROM outbox ORDER BY id")?;
    let rows = statement.query_map([], |row| {
        Ok(OutboxRow {
            id: row.get(0)?,
            case_id: row.get(1)?,
            sub_case_id: row.get(2)?,
            back_office: row.get(3)?,
            action: row.get(4)?,
            idempotency_key: row.get(5)?,
            attempts: row.get(6)?,
            quarantined: row.get::<_, i64>(7)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn sign_off_gaps(
        &self,
        case_id: &str,
        supervisor: Actor,
        at: DateTime<FixedOffset>,
        dispatch: bool,
    ) -> Result<CaseState, CacheError> {
        let case_id = case_id.to_owned();
        self.write(move |connection| sign_off_gaps(connection, &case_id, &supervisor, at, dispatch))
            .await
    }

    pub async fn record_intake(&self, intake: IntakeCommit) -> Result<CaseSummary, CacheError> {
        let options = self.options.clone();
        self.write(move |connection| record_intake(connection, &options, &intake))
            .await
    }

    pub async fn transition(
        &self,
        case_id: &str,
        event: Event,
        actor: Actor,
        at: DateTime<FixedOffset>,
        note: Option<String>,
    ) -> Result<CaseState, CacheError> {
        let case_id = case_id.to_owned();
        self.write(move |connection| {
            transition(connection, &case_id, event, &actor, at, note.as_deref())
        })
        .await
    }

    pub async fn search_cases(&self, query: &str) -> Result<Vec<CaseSummary>, CacheError> {
        let query = query.to_owned();
        self.read(move |connection| search_cases(connection, &query))
            .await
    }

    pub async fn case_timeline(&self, case_id: &str) -> Result<Vec<TimelineEntry>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| case_timeline(connection, &case_id))
            .await
    }

    pub async fn sub_cases_of(&self, case_id: &str) -> Result<Vec<SubCaseState>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| sub_cases_of(connection, &case_id))
            .await
    }

    pub async fn case(&self, case_id: &str) -> Result<CaseSummary, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| case(connection, &case_id))
            .await
    }

    pub async fn cases_for_window_day(
        &self,
        window: &str,
        day: &str,
    ) -> Result<Vec<CaseSummary>, CacheError> {
        let (window, day) = (window.to_owned(), day.to_owned());
        self.read(move |connection| cases_for_window_day(connection, &window, &day))
            .await
    }

    pub async fn cases_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Vec<CaseSummary>, CacheError> {
        let identifier = identifier.to_owned();
        self.read(move |connection| cases_by_identifier(connection, &identifier))
            .await
    }

    pub async fn find_applicant(
        &self,
        identifier: &str,
    ) -> Result<Option<KnownApplicant>, CacheError> {
        let identifier = identifier.to_owned();
        self.read(move |connection| find_applicant(connection, &identifier))
            .await
    }

    pub async fn case_values(
        &self,
        case_id: &str,
    ) -> Result<BTreeMap<String, Map<String, Value>>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| case_values(connection, &case_id))
            .await
    }

    pub async fn outbox(&self) -> Result<Vec<OutboxRow>, CacheError> {
        self.read(outbox).await
    }
}
