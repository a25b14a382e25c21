//! Requests that wait for a supervisor on the desk:
//! - an **override**: the clerk asks to decide a draft otherwise than the
//!   core proposes (materials waived, or not accepted for a reason the
//!   core cannot see); which overrides exist is `forms::decision`;
//! - a **reopening**: a terminated case taken up again (the gaps arrived
//!   after all); approving it moves the case back and sends it on.
//!
//! A request is decided once, by a supervisor, with the decision audited;
//! an approved override is what lets the intake commit with the other
//! decision (checked again there). This module must never decide a case
//! by itself: every move goes through the lifecycle.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit;
use crate::cases::{apply_event, Actor};
use crate::error::CacheError;
use crate::lifecycle::{CaseState, Event, Role};
use crate::store::{CaseStore, StoreMode};

/// What is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Override,
    Reopen,
}

impl RequestKind {
    fn as_str(self) -> &'static str {
        match self {
            RequestKind::Override => "override",
            RequestKind::Reopen => "reopen",
        }
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffRequest {
    pub id: String,
    pub kind: RequestKind,
    pub case_id: Option<String>,
    pub draft_id: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub reason: String,
    /// Override: `{ "proposed": …, "wanted": …, "title_zh": … }`; reopen:
    /// `{ "case_number": … }`.
    pub detail: Value,
    /// `waiting`, `approved` or `refused`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

const SELECT: &str = "SELECT id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state, decided_by, decided_at, decision_note FROM sign_off_requests";

fn row_to_request(row: &rusqlite::Row) -> rusqlite::Result<SignOffRequest> {
    let kind: String = row.get(1)?;
    let detail: String = row.get(7)?;
    Ok(SignOffRequest {
        id: row.get(0)?,
        kind: if kind == "reopen" {
            RequestKind::Reopen
        } else {
            RequestKind::Override
        },
        case_id: row.get(2)?,
        draft_id: row.get(3)?,
        requested_by: row.get(4)?,
        requested_at: row.get(5)?,
        reason: row.get(6)?,
        detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
        state: row.get(8)?,
        decided_by: row.get(9)?,
        decided_at: row.get(10)?,
        decision_note: row.get(11)?,
    })
}

fn refused(code: &'static str, zh: String, en: String) -> CacheError {
    CacheError::Refused {
        code,
        message_zh: zh,
        message_en: en,
    }
}

fn request_by_id(connection: &Connection, id: &str) -> Result<SignOffRequest, CacheError> {
    connection
        .query_row(
            &format!("{SELECT} WHERE id = ?1"),
            params![id],
            row_to_request,
        )
        .optional()?
        .ok_or_else(|| {
            refused(
                "unknown_request",
                "找不到该签批申请。".into(),
                format!("There is no sign-off request {id}."),
            )
        })
}

/// A new request for a draft or a case. One waiting request per draft or
/// case: asking again replaces the reason of the waiting one.
#[allow(clippy::too_many_arguments)]
pub fn request(
    connection: &mut Connection,
    kind: RequestKind,
    case_id: Option<&str>,
    draft_id: Option<&str>,
    reason: &str,
    detail: &Value,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<SignOffRequest, CacheError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(refused(
            "reason_required",
            "申请值班长签批须写明理由。".into(),
            "A request for a supervisor's sign-off needs a reason.".into(),
        ));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if kind == RequestKind::Reopen {
        let case_id =
            case_id.ok_or_else(|| CacheError::BadInput("a reopening names a case".into()))?;
        let state: Option<String> = transaction
            .query_row(
                "SELECT state FROM cases WHERE id = ?1",
                params![case_id],
                |row| row.get(0),
            )
            .optional()?;
        let state = state.ok_or_else(|| CacheError::UnknownCase(case_id.to_owned()))?;
        if CaseState::parse(&state)? != CaseState::Terminated {
            return Err(refused(
                "not_terminated",
                "只有已终止办理的办件才能申请重新办理。".into(),
                "Only a terminated case can be reopened.".into(),
            ));
        }
    }
    let waiting: Option<String> = transaction
        .query_row(
            "SELECT id FROM sign_off_requests WHERE state = 'waiting' AND kind = ?1 AND coalesce(case_id, '') = coalesce(?2, '') AND coalesce(draft_id, '') = coalesce(?3, '')",
            params![kind.as_str(), case_id, draft_id],
            |row| row.get(0),
        )
        .optional()?;
    let id = match waiting {
        Some(id) => {
            transaction.execute(
                "UPDATE sign_off_requests SET reason = ?2, detail = ?3, requested_by = ?4, requested_at = ?5 WHERE id = ?1",
                params![id, reason, detail.to_string(), actor.user_id, at.to_rfc3339()],
            )?;
            id
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            transaction.execute(
                "INSERT INTO sign_off_requests (id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'waiting')",
                params![id, kind.as_str(), case_id, draft_id, actor.user_id, at.to_rfc3339(), reason, detail.to_string()],
            )?;
            id
        }
    };
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        &format!("sign_off.{}_requested", kind.as_str()),
        case_id.or(draft_id).unwrap_or(&id),
        &json!({ "request": id, "role": actor.role.as_str() }),
    )?;
    let made = request_by_id(&transaction, &id)?;
    transaction.commit()?;
    Ok(made)
}

/// Requests waiting for a supervisor, oldest first.
pub fn waiting_requests(connection: &Connection) -> Result<Vec<SignOffRequest>, CacheError> {
    let mut statement = connection.prepare_cached(&format!(
        "{SELECT} WHERE state = 'waiting' ORDER BY requested_at"
    ))?;
    let rows = statement.query_map([], row_to_request)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest request about a draft (the clerk's decision step shows it).
pub fn request_for_draft(
    connection: &Connection,
    draft_id: &str,
) -> Result<Option<SignOffRequest>, CacheError> {
    Ok(connection
        .query_row(
            &format!("{SELECT} WHERE draft_id = ?1 ORDER BY requested_at DESC LIMIT 1"),
            params![draft_id],
            row_to_request,
        )
        .optional()?)
}

/// A supervisor approves or refuses a waiting request. Approving a
/// reopening moves the case back (terminated → accepted) and sends it on:
/// withdrawals not yet sent are cancelled (the back office still has the
/// case), the rest is submitted again.
pub fn decide(
    connection: &mut Connection,
    id: &str,
    approve: bool,
    note: Option<&str>,
    supervisor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<SignOffRequest, CacheError> {
    if supervisor.role != Role::Supervisor {
        return Err(refused(
            "not_supervisor",
            "签批申请须由值班长决定。".into(),
            "Only a supervisor decides sign-off requests.".into(),
        ));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let request = request_by_id(&transaction, id)?;
    if request.state != "waiting" {
        return Err(refused(
            "already_decided",
            "该申请已处理。".into(),
            format!("This request was already {}.", request.state),
        ));
    }
    let at_text = at.to_rfc3339();
    if approve && request.kind == RequestKind::Reopen {
        let case_id = request.case_id.clone().unwrap_or_default();
        let cancelled: Vec<String> = {
            let mut statement = transaction.prepare(
                "SELECT sub_case_id FROM outbox WHERE case_id = ?1 AND action = 'withdraw' AND attempts = 0 AND sub_case_id IS NOT NULL",
            )?;
            let rows = statement.query_map(params![case_id], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        crate::store::exec(
            &transaction,
            "DELETE FROM outbox WHERE case_id = ?1 AND action = 'withdraw' AND attempts = 0",
            params![case_id],
        )?;
        let state = apply_event(
            &transaction,
            &case_id,
            CaseState::Terminated,
            Event::Reopen,
            supervisor,
            &at_text,
            Some(&request.reason),
        )?;
        apply_event(
            &transaction,
            &case_id,
            state,
            Event::Dispatch,
            supervisor,
            &at_text,
            None,
        )?;
        // Sub-cases whose withdrawal never left are still at the back office.
        for sub_case in cancelled {
            crate::store::exec(
                &transaction,
                "DELETE FROM outbox WHERE sub_case_id = ?1 AND action = 'submit' AND attempts = 0",
                params![sub_case],
            )?;
        }
    }
    transaction.execute(
        "UPDATE sign_off_requests SET state = ?2, decided_by = ?3, decided_at = ?4, decision_note = ?5 WHERE id = ?1",
        params![id, if approve { "approved" } else { "refused" }, supervisor.user_id, at_text, note],
    )?;
    audit::append(
        &transaction,
        &at_text,
        &supervisor.user_id,
        &format!(
            "sign_off.{}_{}",
            request.kind.as_str(),
            if approve { "approved" } else { "refused" }
        ),
        request
            .case_id
            .as_deref()
            .or(request.draft_id.as_deref())
            .unwrap_or(id),
        &json!({ "request": id }),
    )?;
    let decided = request_by_id(&transaction, id)?;
    transaction.commit()?;
    Ok(decided)
}

impl<M: StoreMode> CaseStore<M> {
    #[allow(clippy::too_many_arguments)]
    pub async fn request_sign_off(
        &self,
        kind: RequestKind,
        case_id: Option<String>,
        draft_id: Option<String>,
        reason: String,
        detail: Value,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<SignOffRequest, CacheError> {
        self.write(move |connection| {
            request(
                connection,
                kind,
                case_id.as_deref(),
                draft_id.as_deref(),
                &reason,
                &detail,
                &actor,
                at,
            )
        })
        .await
    }

    pub async fn waiting_requests(&self) -> Result<Vec<SignOffRequest>, CacheError> {
        self.read(waiting_requests).await
    }

    pub async fn request_for_draft(
        &self,
        draft_id: String,
    ) -> Result<Option<SignOffRequest>, CacheError> {
        self.read(move |connection| request_for_draft(connection, &draft_id))
            .await
    }

    pub async fn decide_sign_off(
        &self,
        id: String,
        approve: bool,
        note: Option<String>,
        supervisor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<SignOffRequest, CacheError> {
        self.write(move |connection| {
            decide(connection, &id, approve, note.as_deref(), &supervisor, at)
        })
        .await
    }
}
