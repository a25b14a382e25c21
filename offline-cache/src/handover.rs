//! Shift handover at a window: the clerk ending a shift records what is
//! still open (their drafts, cases waiting for a gap sign-off, results
//! ready to issue, parked tickets); the next clerk and a supervisor each
//! acknowledge it. The next clerk's acknowledgement moves the open drafts
//! to them, in the same transaction. Every step is audited.
//!
//! This module never decides who may acknowledge beyond "a clerk other than
//! the one leaving" and "a supervisor"; the command table decides who may
//! call it at all.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::lifecycle::Role;
use crate::store::{CaseStore, StoreMode};

/// One open thing in a handover report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWork {
    /// A draft id, a case id or a ticket number.
    pub id: String,
    /// What the list shows: a case number, a ticket number, a draft's start.
    pub label: String,
    pub since: String,
}

/// What a shift leaves open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverReport {
    pub drafts: Vec<OpenWork>,
    pub pending_gaps: Vec<OpenWork>,
    pub results_to_issue: Vec<OpenWork>,
    pub parked_tickets: Vec<OpenWork>,
}

/// A handover and who has acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub id: String,
    pub window: String,
    pub from_user: String,
    pub created_at: String,
    pub report: HandoverReport,
    pub to_user: Option<String>,
    pub to_acknowledged_at: Option<String>,
    pub supervisor: Option<String>,
    pub supervisor_acknowledged_at: Option<String>,
}

impl Handover {
    /// Both the next clerk and a supervisor have acknowledged it.
    pub fn complete(&self) -> bool {
        self.to_acknowledged_at.is_some() && self.supervisor_acknowledged_at.is_some()
    }
}

fn refused(code: &'static str, zh: &str, en: &str) -> CacheError {
    CacheError::Refused {
        code,
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

fn work(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<OpenWork>, CacheError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(parameters, |row| {
        Ok(OpenWork {
            id: row.get(0)?,
            label: row.get(1)?,
            since: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The clerk `from` hands over `window`; returns the recorded report.
pub fn prepare_handover(
    connection: &mut Connection,
    window: &str,
    from: &Actor,
    at: DateTime<FixedOffset>,
    day: NaiveDate,
) -> Result<Handover, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let report = HandoverReport {
        drafts: work(&transaction, "SELECT id, substr(created_at, 1, 16), updated_at FROM drafts WHERE window = ?1 AND clerk_id = ?2 ORDER BY updated_at", params![window, from.user_id])?,
        pending_gaps: work(&transaction, "SELECT id, case_number, updated_at FROM cases WHERE window = ?1 AND state = 'accepted_with_gaps' ORDER BY created_at", params![window])?,
        results_to_issue: work(&transaction, "SELECT id, case_number, updated_at FROM cases WHERE window = ?1 AND state = 'result_ready' ORDER BY updated_at", params![window])?,
        parked_tickets: work(&transaction, "SELECT number, number, issued_at FROM tickets WHERE window = ?1 AND day = ?2 AND state = 'parked' ORDER BY issued_at", params![window, day.to_string()])?,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let at = at.to_rfc3339();
    crate::store::exec(
        &transaction,
        "INSERT INTO handovers (id, window, from_user, created_at, report) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, window, from.user_id, at, serde_json::to_string(&report).expect("reports serialise")],
    )?;
    audit::append(
        &transaction,
        &at,
        &from.user_id,
        "handover.prepared",
        &id,
        &json!({ "window": window, "drafts": report.drafts.len(), "pending_gaps": report.pending_gaps.len(), "results": report.results_to_issue.len(), "parked": report.parked_tickets.len() }),
    )?;
    let handover = handover(&transaction, &id)?;
    transaction.commit()?;
    Ok(handover)
}

/// One handover by its id.
pub fn handover(connection: &Connection, id: &str) -> Result<Handover, CacheError> {
    connection
        .query_row(
            "SELECT id, window, from_user, created_at, report, to_user, to_acknowledged_at, supervisor, supervisor_acknowledged_at FROM handovers WHERE id = ?1",
            params![id],
            |row| {
                Ok((
                    Handover {
                        id: row.get(0)?,
                        window: row.get(1)?,
                        from_user: row.get(2)?,
                        created_at: row.get(3)?,
                        report: HandoverReport::default(),
                        to_user: row.get(5)?,
                        to_acknowledged_at: row.get(6)?,
                        supervisor: row.get(7)?,
                        supervisor_acknowledged_at: row.get(8)?,
                    },
                    row.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?
        .map(|(mut handover, report)| {
            handover.report = serde_json::from_str(&report)
                .map_err(|error| CacheError::Database(error.to_string()))?;
            Ok(handover)
        })
        .unwrap_or_else(|| Err(refused("unknown_handover", "找不到该交班记录。", "No such handover.")))
}

/// The latest handover of `window` not yet acknowledged by both.
pub fn pending_handover(
    connection: &Connection,
    window: &str,
) -> Result<Option<Handover>, CacheError> {
    let id: Option<String> = connection
        .query_row(
            "SELECT id FROM handovers WHERE window = ?1 AND (to_acknowledged_at IS NULL OR supervisor_acknowledged_at IS NULL) ORDER BY created_at DESC LIMIT 1",
            params![window],
            |row| row.get(0),
        )
        .optional()?;
    id.map(|id| handover(connection, &id)).transpose()
}

/// The next clerk (moving the open drafts to them) or a supervisor
/// acknowledges a handover.
pub fn acknowledge_handover(
    connection: &mut Connection,
    id: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<Handover, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = handover(&transaction, id)?;
    let stamp = at.to_rfc3339();
    match actor.role {
        Role::Clerk => {
            if actor.user_id == current.from_user {
                return Err(refused(
                    "own_handover",
                    "交班须由接班的另一位窗口人员确认。",
                    "The next clerk, not the one leaving, acknowledges a handover.",
                ));
            }
            if current.to_acknowledged_at.is_some() {
                return Err(refused(
                    "already_acknowledged",
                    "接班人已确认过该交班。",
                    "The next clerk has already acknowledged it.",
                ));
            }
            crate::store::exec(
                &transaction,
                "UPDATE handovers SET to_user = ?2, to_acknowledged_at = ?3 WHERE id = ?1",
                params![id, actor.user_id, stamp],
            )?;
            for draft in &current.report.drafts {
                crate::store::exec(
                    &transaction,
                    "UPDATE drafts SET clerk_id = ?2 WHERE id = ?1",
                    params![draft.id, actor.user_id],
                )?;
            }
        }
        Role::Supervisor => {
            if current.supervisor_acknowledged_at.is_some() {
                return Err(refused(
                    "already_acknowledged",
                    "值班长已确认过该交班。",
                    "A supervisor has already acknowledged it.",
                ));
            }
            crate::store::exec(
                &transaction,
                "UPDATE handovers SET supervisor = ?2, supervisor_acknowledged_at = ?3 WHERE id = ?1",
                params![id, actor.user_id, stamp],
            )?;
        }
        _ => {
            return Err(refused(
                "not_allowed",
                "只有接班窗口人员和值班长可以确认交班。",
                "Only the next clerk and a supervisor acknowledge a handover.",
            ))
        }
    }
    audit::append(
        &transaction,
        &stamp,
        &actor.user_id,
        "handover.acknowledged",
        id,
        &json!({ "role": actor.role.as_str(), "drafts_moved": if actor.role == Role::Clerk { current.report.drafts.len() } else { 0 } }),
    )?;
    let updated = handover(&transaction, id)?;
    transaction.commit()?;
    Ok(updated)
}

/// Records that a handover's report was printed (audited; the report
/// itself is made again from the handover whenever it is printed).
pub fn record_handover_print(
    connection: &mut Connection,
    id: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
    printer: &str,
) -> Result<(), CacheError> {
    handover(connection, id)?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        "handover.print",
        id,
        &json!({ "printer": printer, "role": actor.role.as_str() }),
    )?;
    transaction.commit()?;
    Ok(())
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn record_handover_print(
        &self,
        id: String,
        actor: Actor,
        at: DateTime<FixedOffset>,
        printer: String,
    ) -> Result<(), CacheError> {
        self.write(move |connection| record_handover_print(connection, &id, &actor, at, &printer))
            .await
    }

    pub async fn prepare_handover(
        &self,
        window: String,
        from: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<Handover, CacheError> {
        let day = at.date_naive();
        self.write(move |connection| prepare_handover(connection, &window, &from, at, day))
            .await
    }

    pub async fn handover(&self, id: String) -> Result<Handover, CacheError> {
        self.read(move |connection| handover(connection, &id)).await
    }

    pub async fn pending_handover(&self, window: String) -> Result<Option<Handover>, CacheError> {
        self.read(move |connection| pending_handover(connection, &window))
            .await
    }

    pub async fn acknowledge_handover(
        &self,
        id: String,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<Handover, CacheError> {
        self.write(move |connection| acknowledge_handover(connection, &id, &actor, at))
            .await
    }
}
