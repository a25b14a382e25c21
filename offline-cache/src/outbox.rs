//! The races between a case's lifecycle and its outbox rows, decided in one
//! place.
//!
//! A row's request may have reached its back office from the moment
//! `sent_at` is set, which the sync engine writes (in its own transaction)
//! before the request leaves. From that one fact:
//! - terminating a case deletes its submissions, so none is ever sent
//!   again, and for every sub-case that may be at the back office (a
//!   submission sent, even one whose answer never came, or a receipt held)
//!   queues a withdrawal that is really sent, naming the receipts held or
//!   the submission's own key;
//! - a withdrawal waits while a submission of its sub-case is queued (after
//!   a reopening), and names only what it was queued for;
//! - an answer for a row that is gone (its case terminated while the
//!   request was out) is recorded (the receipt on the sub-case, an audit
//!   entry) and acted on: a terminated case's accepted sub-case gets a
//!   withdrawal if none is waiting, so an acceptance that arrives after an
//!   earlier withdrawal found nothing is withdrawn too. Never dropped.
//!
//! What stays open: a request the window gave up on (timeout) that the back
//! office commits later, after the withdrawal found nothing, is not seen
//! until someone looks at that back office; the withdrawal's audit entry
//! and the case's termination say where to look.
//!
//! This module must never send anything or move a case's state: the sync
//! engine sends, `lifecycle` decides states.

use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::json;

use crate::audit;
use crate::error::CacheError;
use crate::store::exec;

/// Marks the rows whose requests are about to leave, and returns those that
/// still may go (a row deleted or quarantined since it was read stays home).
/// Rows are named by id and key: a deleted row's id is given to the next
/// row written, which must not pass for it.
pub(crate) fn mark_sending(
    transaction: &Transaction,
    rows: &[(i64, String)],
    at: &str,
) -> Result<Vec<i64>, CacheError> {
    let mut sendable = Vec::with_capacity(rows.len());
    let mut statement = transaction.prepare_cached(
        "UPDATE outbox SET sent_at = coalesce(sent_at, ?2) WHERE id = ?1 AND idempotency_key = ?3 AND quarantined = 0 RETURNING id",
    )?;
    for (row_id, key) in rows {
        if let Some(id) = statement
            .query_row(params![row_id, at, key], |row| row.get::<_, i64>(0))
            .optional()?
        {
            sendable.push(id);
        }
    }
    Ok(sendable)
}

/// Queues a withdrawal of `sub_case_id` unless one that has not left yet is
/// waiting (it will name what the sub-case holds when it goes); one that has
/// left names an earlier submission, so a new one is queued.
fn queue_withdrawal(
    transaction: &Transaction,
    case_id: &str,
    sub_case_id: &str,
    back_office: &str,
    submission_key: Option<&str>,
    note: Option<&str>,
    at: &str,
) -> Result<(), CacheError> {
    let waiting: i64 = transaction.query_row(
        "SELECT count(*) FROM outbox WHERE sub_case_id = ?1 AND action = 'withdraw' AND sent_at IS NULL AND quarantined = 0",
        params![sub_case_id],
        |row| row.get(0),
    )?;
    if waiting > 0 {
        return Ok(());
    }
    // The withdrawal names what it withdraws as it is now: the receipts
    // held, or the submission's key; never a later submission of the case
    // (after a reopening) that holds the sub-case's receipt by then.
    let receipts: Option<String> = transaction.query_row(
        "SELECT remote_receipt FROM sub_cases WHERE id = ?1",
        params![sub_case_id],
        |row| row.get(0),
    )?;
    let receipts: Vec<&str> = receipts
        .as_deref()
        .map(|text| text.split(',').filter(|one| !one.is_empty()).collect())
        .unwrap_or_default();
    exec(
        transaction,
        "INSERT INTO outbox (case_id, sub_case_id, back_office, action, idempotency_key, payload, created_at) VALUES (?1, ?2, ?3, 'withdraw', ?4, ?5, ?6)",
        params![
            case_id,
            sub_case_id,
            back_office,
            uuid::Uuid::new_v4().to_string(),
            json!({ "note": note, "submission_key": submission_key, "receipts": receipts }).to_string(),
            at
        ],
    )?;
    Ok(())
}

/// Settles a terminated case's outbox: its submissions are deleted, and
/// every sub-case that may be at its back office gets a withdrawal.
pub(crate) fn on_terminate(
    transaction: &Transaction,
    case_id: &str,
    note: Option<&str>,
    at: &str,
) -> Result<(), CacheError> {
    let sub_cases: Vec<(String, String, Option<String>)> = transaction
        .prepare_cached(
            "SELECT id, back_office, remote_receipt FROM sub_cases WHERE case_id = ?1 ORDER BY back_office",
        )?
        .query_map(params![case_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    // Materials that were never sent after all: the case is ended.
    exec(
        transaction,
        "DELETE FROM outbox WHERE case_id = ?1 AND action = 'supplement' AND (sent_at IS NULL OR quarantined = 1)",
        params![case_id],
    )?;
    for (sub_case_id, back_office, receipt) in sub_cases {
        // Sent: marked before its request left, or answered at least once.
        let submissions: Vec<(i64, bool, String)> = transaction
            .prepare_cached(
                "SELECT id, sent_at IS NOT NULL OR attempts > 0, idempotency_key FROM outbox WHERE sub_case_id = ?1 AND action = 'submit'",
            )?
            .query_map(params![sub_case_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut may_have_reached = receipt.is_some();
        let mut submission_key = None;
        for (row_id, sent, key) in submissions {
            exec(
                transaction,
                "DELETE FROM outbox WHERE id = ?1",
                params![row_id],
            )?;
            if sent {
                may_have_reached = true;
                submission_key = Some(key);
            }
        }
        if may_have_reached {
            queue_withdrawal(
                transaction,
                case_id,
                &sub_case_id,
                &back_office,
                submission_key.as_deref(),
                note,
                at,
            )?;
        }
    }
    Ok(())
}

/// Whether the row an answer is for is still in the outbox: its id and its
/// key (a deleted row's id is given again to the next row written).
pub(crate) fn row_is_queued(
    transaction: &Transaction,
    row_id: i64,
    key: &str,
) -> Result<bool, CacheError> {
    Ok(transaction
        .query_row(
            "SELECT 1 FROM outbox WHERE id = ?1 AND idempotency_key = ?2",
            params![row_id, key],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The back office accepted a submission whose row is gone: the receipt is
/// kept on the sub-case (it is there now), audited, and a terminated case's
/// sub-case gets its withdrawal.
pub(crate) fn late_acknowledgement(
    transaction: &Transaction,
    row_id: i64,
    case_id: &str,
    back_office: &str,
    receipts: &[String],
    at: &str,
) -> Result<(), CacheError> {
    let sub_case: Option<(String, Option<String>)> = transaction
        .query_row(
            "SELECT id, remote_receipt FROM sub_cases WHERE case_id = ?1 AND back_office = ?2",
            params![case_id, back_office],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let state: Option<String> = transaction
        .query_row(
            "SELECT state FROM cases WHERE id = ?1",
            params![case_id],
            |row| row.get(0),
        )
        .optional()?;
    if let Some((sub_case_id, held)) = &sub_case {
        // A receipt held from a submission withdrawn before a reopening is
        // stale: the late one is the sub-case's now.
        let withdrawn: bool = transaction.query_row(
            "SELECT state = 'withdrawn' FROM sub_cases WHERE id = ?1",
            params![sub_case_id],
            |row| row.get(0),
        )?;
        if held.is_none() || withdrawn {
            exec(
                transaction,
                "UPDATE sub_cases SET remote_receipt = ?2, updated_at = ?3 WHERE id = ?1",
                params![sub_case_id, receipts.join(","), at],
            )?;
        }
        // A withdrawal waiting (not sent yet) names this receipt too, for a
        // back office that withdraws by receipt only.
        let waiting: Vec<(i64, String)> = transaction
            .prepare_cached(
                "SELECT id, payload FROM outbox WHERE sub_case_id = ?1 AND action = 'withdraw' AND sent_at IS NULL",
            )?
            .query_map(params![sub_case_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (row_id, payload) in waiting {
            let mut payload: serde_json::Value =
                serde_json::from_str(&payload).unwrap_or_else(|_| json!({}));
            let mut named: Vec<String> = payload["receipts"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter_map(|one| one.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for receipt in receipts {
                if !named.contains(receipt) {
                    named.push(receipt.clone());
                }
            }
            payload["receipts"] = json!(named);
            exec(
                transaction,
                "UPDATE outbox SET payload = ?2 WHERE id = ?1",
                params![row_id, payload.to_string()],
            )?;
        }
        if state.as_deref() == Some("terminated") {
            queue_withdrawal(
                transaction,
                case_id,
                sub_case_id,
                back_office,
                None,
                None,
                at,
            )?;
        }
    }
    audit::append(
        transaction,
        at,
        "sync",
        "sync.acknowledged_late",
        case_id,
        &json!({ "system": back_office, "row": row_id, "receipts": receipts, "case_state": state }),
    )?;
    Ok(())
}

/// A request whose row is gone ended without an acceptance (an error, a
/// timeout, a refusal): nothing is sent again; the withdrawal queued at
/// termination (by the submission's key) covers a request that was
/// committed without an answer. Audited.
pub(crate) fn ended_after_row_gone(
    transaction: &Transaction,
    row_id: i64,
    case_id: &str,
    back_office: &str,
    at: &str,
) -> Result<(), CacheError> {
    audit::append(
        transaction,
        at,
        "sync",
        "sync.ended_after_termination",
        case_id,
        &json!({ "system": back_office, "row": row_id }),
    )?;
    Ok(())
}
