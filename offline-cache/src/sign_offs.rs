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
//!
//! No one approves their own work: a supervisor never approves a request
//! they made, an override of an intake that is theirs, or the reopening of
//! a case they took in (`own_work`). An override's approval holds only for
//! the content it was asked for: the SHA-256 of the applicant, the form
//! values and the material marks ([`ApprovedContent`]) is kept with the
//! request, and at commit ([`confirm_override`]) a different content makes
//! the approval lapse (state `lapsed`, audited); the clerk asks again.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

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
    /// `waiting`, `approved`, `refused`, or `lapsed` (an approved override
    /// whose intake changed before the commit).
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    /// An override: the SHA-256 of the content it was asked for.
    pub content_sha256: Option<String>,
}

/// What an override's approval is bound to: the applicant, the form values
/// and the material marks, as the clerk had them when asking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedContent {
    pub applicant: Value,
    pub values: Value,
    pub marks: Value,
}

impl ApprovedContent {
    /// SHA-256 (lower-case hex) over a canonical serialisation: compact
    /// JSON of `{applicant, marks, values}` with the keys of every object,
    /// at every depth, in byte order, so the same content always gives
    /// the same hash whatever order its maps were built in.
    pub fn sha256(&self) -> String {
        let mut text = String::new();
        canonical(
            &json!({
                "applicant": self.applicant,
                "values": self.values,
                "marks": self.marks,
            }),
            &mut text,
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

const SELECT: &str = "SELECT id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state, decided_by, decided_at, decision_note, content_sha256 FROM sign_off_requests";

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
        content_sha256: row.get(12)?,
    })
}

fn refused(code: &'static str, zh: String, en: String) -> CacheError {
    CacheError::Refused {
        code,
        message_zh: zh,
        message_en: en,
    }
}

/// The refusal when someone would approve their own work; `what_zh` and
/// `what_en` say whose the work is.
pub(crate) fn own_work(what_zh: &str, what_en: &str) -> CacheError {
    refused(
        "own_work",
        format!("{what_zh}，不能由您本人签批，请由另一位值班长签批。"),
        format!("{what_en}: no one approves their own work; another supervisor must sign it off."),
    )
}

fn lapsed() -> CacheError {
    refused(
        "approval_lapsed",
        "值班长批准例外后，申请人、表单或材料已有改动，原批准已失效。请核对后重新申请例外。".into(),
        "The applicant, the form or the materials changed after the supervisor approved the exception, so the approval has lapsed: check the intake and ask again.".into(),
    )
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

/// A new request for a case (a reopening). One waiting request per draft
/// or case: asking again replaces the reason of the waiting one. An
/// override is asked with [`request_override`], bound to its content.
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
    if kind == RequestKind::Override {
        return Err(CacheError::BadInput(
            "an override is asked with request_override, bound to the content it is for".into(),
        ));
    }
    make_request(
        connection, kind, case_id, draft_id, reason, detail, None, actor, at,
    )
}

/// Asks for an override of a draft's proposal, bound to `content` (the
/// applicant, values and marks as they are now): the approval holds only
/// while they stay the same. Asking again replaces the waiting request's
/// reason and content.
pub fn request_override(
    connection: &mut Connection,
    draft_id: &str,
    reason: &str,
    detail: &Value,
    content: &ApprovedContent,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<SignOffRequest, CacheError> {
    make_request(
        connection,
        RequestKind::Override,
        None,
        Some(draft_id),
        reason,
        detail,
        Some(&content.sha256()),
        actor,
        at,
    )
}

#[allow(clippy::too_many_arguments)]
fn make_request(
    connection: &mut Connection,
    kind: RequestKind,
    case_id: Option<&str>,
    draft_id: Option<&str>,
    reason: &str,
    detail: &Value,
    content_sha256: Option<&str>,
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
    if let Some(draft_id) = draft_id {
        crate::drafts::check_owner(&transaction, draft_id, &actor.user_id)?;
    }
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
    let waiting: Option<(String, Option<String>, String, String)> = transaction
        .query_row(
            "SELECT id, content_sha256, reason, detail FROM sign_off_requests WHERE state = 'waiting' AND kind = ?1 AND coalesce(case_id, '') = coalesce(?2, '') AND coalesce(draft_id, '') = coalesce(?3, '')",
            params![kind.as_str(), case_id, draft_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    // Asked again for other content or reasons: the waiting request lapses
    // and a new one is made, so a supervisor who loaded the old one can
    // never approve what they did not see (its id is no longer waiting).
    let waiting = match waiting {
        Some((old, old_sha, old_reason, old_detail))
            if old_sha.as_deref() != content_sha256
                || old_reason != reason
                || serde_json::from_str::<Value>(&old_detail).ok().as_ref() != Some(detail) =>
        {
            transaction.execute(
                "UPDATE sign_off_requests SET state = 'lapsed', lapsed_at = ?2 WHERE id = ?1",
                params![old, at.to_rfc3339()],
            )?;
            None
        }
        other => other.map(|(id, ..)| id),
    };
    let id = match waiting {
        Some(id) => {
            transaction.execute(
                "UPDATE sign_off_requests SET reason = ?2, detail = ?3, requested_by = ?4, requested_at = ?5, content_sha256 = ?6 WHERE id = ?1",
                params![id, reason, detail.to_string(), actor.user_id, at.to_rfc3339(), content_sha256],
            )?;
            id
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            transaction.execute(
                "INSERT INTO sign_off_requests (id, kind, case_id, draft_id, requested_by, requested_at, reason, detail, state, content_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'waiting', ?9)",
                params![id, kind.as_str(), case_id, draft_id, actor.user_id, at.to_rfc3339(), reason, detail.to_string(), content_sha256],
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
/// withdrawals not yet sent (no `sent_at`) are cancelled (the back office still has the
/// case), the rest is submitted again. No one approves a request they
/// made, an override of their own intake or the reopening of a case they
/// took in (`own_work`).
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
    if request.state == "lapsed" {
        return Err(refused(
            "request_changed",
            "该申请已被经办人更新，请刷新后查看新的申请再签批。".into(),
            "The clerk changed this request: refresh, and decide on the new one.".into(),
        ));
    }
    if request.state != "waiting" {
        return Err(refused(
            "already_decided",
            "该申请已处理。".into(),
            format!("This request was already {}.", request.state),
        ));
    }
    if approve {
        if request.requested_by == supervisor.user_id {
            return Err(own_work(
                "该申请是您本人提出的",
                "You asked for this yourself",
            ));
        }
        if let Some(case_id) = &request.case_id {
            crate::cases::refuse_own_case(&transaction, case_id, supervisor)?;
        }
        if let Some(draft_id) = &request.draft_id {
            let clerk: Option<String> = transaction
                .query_row(
                    "SELECT clerk_id FROM drafts WHERE id = ?1",
                    params![draft_id],
                    |row| row.get(0),
                )
                .optional()?;
            if clerk.as_deref() == Some(supervisor.user_id.as_str()) {
                return Err(own_work("该受理是您本人经办的", "This intake is your own"));
            }
        }
    }
    let at_text = at.to_rfc3339();
    if approve && request.kind == RequestKind::Reopen {
        let case_id = request.case_id.clone().unwrap_or_default();
        // Withdrawals that never reached the back office (not sent, or
        // quarantined: refused there, or no endpoint) are cancelled: what
        // they were to withdraw is still there, or may be.
        let cancelled: Vec<(String, Option<String>, Option<String>)> = {
            let mut statement = transaction.prepare(
                "SELECT o.sub_case_id, json_extract(o.payload, '$.submission_key'), s.remote_receipt
                 FROM outbox o JOIN sub_cases s ON s.id = o.sub_case_id
                 WHERE o.case_id = ?1 AND o.action = 'withdraw' AND (o.sent_at IS NULL OR o.quarantined = 1)",
            )?;
            let rows = statement.query_map(params![case_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        crate::store::exec(
            &transaction,
            "DELETE FROM outbox WHERE case_id = ?1 AND action = 'withdraw' AND (sent_at IS NULL OR quarantined = 1)",
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
        // A sub-case whose withdrawal never left and that holds a receipt is
        // still at the back office: nothing is sent again. One without a
        // receipt may or may not be there (its answer never came): it is
        // sent again under its first submission's key, so a back office that
        // has it answers with the receipt it gave, and one that has not
        // takes it now.
        for (sub_case, submission_key, receipt) in cancelled {
            match (receipt, submission_key) {
                (Some(_), _) => {
                    crate::store::exec(
                        &transaction,
                        "DELETE FROM outbox WHERE sub_case_id = ?1 AND action = 'submit' AND sent_at IS NULL",
                        params![sub_case],
                    )?;
                }
                (None, Some(key)) => {
                    crate::store::exec(
                        &transaction,
                        "UPDATE outbox SET idempotency_key = ?2 WHERE sub_case_id = ?1 AND action = 'submit' AND sent_at IS NULL",
                        params![sub_case, key],
                    )?;
                }
                (None, None) => {}
            }
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

/// At the commit of an intake under an approved override: the approval
/// holds only for the content it was asked for. A different content (or
/// an approval kept from before approvals were bound to content) makes it
/// lapse: the request becomes `lapsed`, the lapse is audited (both hashes)
/// and the commit is refused with `approval_lapsed` (ask again). The
/// supervisor who approved cannot commit under their own approval.
pub fn confirm_override(
    connection: &mut Connection,
    request_id: &str,
    content: &ApprovedContent,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<SignOffRequest, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let request = request_by_id(&transaction, request_id)?;
    if request.state == "lapsed" {
        return Err(lapsed());
    }
    if request.kind != RequestKind::Override || request.state != "approved" {
        return Err(refused(
            "override_not_approved",
            "该例外申请未获值班长批准。".into(),
            "This exception has not been approved by a supervisor.".into(),
        ));
    }
    if request.decided_by.as_deref() == Some(actor.user_id.as_str()) {
        return Err(own_work(
            "该例外是您本人批准的",
            "You approved this exception yourself",
        ));
    }
    let current = content.sha256();
    if request.content_sha256.as_deref() == Some(current.as_str()) {
        return Ok(request);
    }
    let at_text = at.to_rfc3339();
    transaction.execute(
        "UPDATE sign_off_requests SET state = 'lapsed', lapsed_at = ?2 WHERE id = ?1",
        params![request_id, at_text],
    )?;
    audit::append(
        &transaction,
        &at_text,
        &actor.user_id,
        "sign_off.override_lapsed",
        request.draft_id.as_deref().unwrap_or(request_id),
        &json!({
            "request": request_id,
            "approved_by": request.decided_by,
            "approved_sha256": request.content_sha256,
            "current_sha256": current,
        }),
    )?;
    transaction.commit()?;
    Err(lapsed())
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn request_override(
        &self,
        draft_id: String,
        reason: String,
        detail: Value,
        content: ApprovedContent,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<SignOffRequest, CacheError> {
        self.write(move |connection| {
            request_override(
                connection, &draft_id, &reason, &detail, &content, &actor, at,
            )
        })
        .await
    }

    pub async fn confirm_override(
        &self,
        request_id: String,
        content: ApprovedContent,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<SignOffRequest, CacheError> {
        self.write(move |connection| {
            confirm_override(connection, &request_id, &content, &actor, at)
        })
        .await
    }

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
