//! What the supervisor's desk watches: cases waiting for a sign-off or a
//! handoff review, promised dates near or past, gap materials near their
//! deadline, results waiting too long for issuance; and the audit log,
//! filtered, for the audit viewer.
//!
//! Days are counted in calendar days from `today` (a watch list, not a
//! time limit: the limits themselves were set in working days when the
//! case was accepted). This module only reads; moving a case is
//! `cases::transition`.

use chrono::NaiveDate;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cases::CaseSummary;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// A case on a watch list, with the date that puts it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    pub case: CaseSummary,
    /// `YYYY-MM-DD`: the promised date, the gap deadline, or when the
    /// result became ready.
    pub date: String,
    /// Days from today to `date` (negative: past it).
    pub days_left: i64,
}

/// Everything the desk shows at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desk {
    /// Accepted with gaps, waiting for a supervisor's sign-off.
    pub sign_offs: Vec<CaseSummary>,
    /// Waiting for the review before they go to the back office.
    pub handoff_reviews: Vec<CaseSummary>,
    /// Promised completion within `warn_days`, or past it, still open.
    pub time_limits: Vec<Watched>,
    /// Gap materials due within `warn_days` or overdue.
    pub gaps_due: Vec<Watched>,
    /// Results ready for issuance longer than `result_days`.
    pub results_waiting: Vec<Watched>,
}

/// How far ahead the desk warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizons {
    pub warn_days: i64,
    pub result_days: i64,
}

impl Default for Horizons {
    fn default() -> Self {
        Horizons {
            warn_days: 2,
            result_days: 5,
        }
    }
}

/// States in which a case still runs against its promised date.
const OPEN_STATES: &str = "'accepted_with_gaps', 'accepted', 'handoff_review', 'dispatched', 'in_review', 'supplement_requested'";

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn ids(connection: &Connection, sql: &str) -> Result<Vec<(String, Option<String>)>, CacheError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The desk as of `today`.
pub fn desk(
    connection: &Connection,
    today: NaiveDate,
    horizons: Horizons,
) -> Result<Desk, CacheError> {
    let case = |id: &str| crate::cases::case(connection, id);
    let watched = |id: &str, date: NaiveDate| -> Result<Watched, CacheError> {
        Ok(Watched {
            case: case(id)?,
            date: date.to_string(),
            days_left: (date - today).num_days(),
        })
    };
    let mut desk = Desk::default();
    for (id, _) in ids(
        connection,
        "SELECT id, NULL FROM cases WHERE state = 'accepted_with_gaps' ORDER BY created_at",
    )? {
        desk.sign_offs.push(case(&id)?);
    }
    for (id, _) in ids(
        connection,
        "SELECT id, NULL FROM cases WHERE state = 'handoff_review' ORDER BY updated_at",
    )? {
        desk.handoff_reviews.push(case(&id)?);
    }
    for (id, promised) in ids(connection, &format!(
        "SELECT id, promised_completion FROM cases WHERE state IN ({OPEN_STATES}) AND promised_completion IS NOT NULL ORDER BY promised_completion"
    ))? {
        if let Some(date) = promised.as_deref().and_then(day) {
            if (date - today).num_days() <= horizons.warn_days {
                desk.time_limits.push(watched(&id, date)?);
            }
        }
    }
    // Gap deadlines are in the proposal the clerk confirmed.
    let mut statement = connection.prepare_cached(&format!(
        "SELECT c.id, d.proposal FROM cases c JOIN decisions d ON d.case_id = c.id
         WHERE c.state IN ({OPEN_STATES}) AND d.kind = 'accept_with_gaps'"
    ))?;
    let gap_rows: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, proposal) in gap_rows {
        let proposal: Value = serde_json::from_str(&proposal)
            .map_err(|error| CacheError::Database(error.to_string()))?;
        let earliest = proposal["gaps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|gap| gap["supply_by"].as_str().and_then(day))
            .min();
        if let Some(date) = earliest {
            if (date - today).num_days() <= horizons.warn_days {
                desk.gaps_due.push(watched(&id, date)?);
            }
        }
    }
    desk.gaps_due.sort_by(|a, b| a.date.cmp(&b.date));
    for (id, since) in ids(
        connection,
        "SELECT id, updated_at FROM cases WHERE state = 'result_ready' ORDER BY updated_at",
    )? {
        if let Some(date) = since.as_deref().and_then(day) {
            if (today - date).num_days() > horizons.result_days {
                desk.results_waiting.push(watched(&id, date)?);
            }
        }
    }
    Ok(desk)
}

/// One entry of the audit log as the viewer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// What the audit viewer filters by (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    pub actor: Option<String>,
    /// An action or its start (`case.`, `account.sign_in_failed`).
    pub action: Option<String>,
    pub subject: Option<String>,
    pub limit: u32,
}

/// Audit entries matching `filter`, newest first.
pub fn audit_entries(
    connection: &Connection,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, CacheError> {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let to = text(&filter.to).map(|day| format!("{day}\u{10FFFF}"));
    let action = text(&filter.action).map(|action| format!("{action}%"));
    let limit = if filter.limit == 0 {
        500
    } else {
        filter.limit.min(5000)
    };
    let mut statement = connection.prepare_cached(
        "SELECT seq, at, actor, action, subject, detail FROM audit_log
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at <= ?2) AND (?3 IS NULL OR actor = ?3)
           AND (?4 IS NULL OR action LIKE ?4) AND (?5 IS NULL OR subject = ?5)
         ORDER BY seq DESC LIMIT ?6",
    )?;
    let rows = statement.query_map(
        params![
            text(&filter.from),
            to,
            text(&filter.actor),
            action,
            text(&filter.subject),
            limit
        ],
        |row| {
            Ok(AuditEntry {
                seq: row.get(0)?,
                at: row.get(1)?,
                actor: row.get(2)?,
                action: row.get(3)?,
                subject: row.get(4)?,
                detail: row.get(5)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn desk(&self, today: NaiveDate, horizons: Horizons) -> Result<Desk, CacheError> {
        self.read(move |connection| desk(connection, today, horizons))
            .await
    }

    pub async fn audit_entries(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, CacheError> {
        self.read(move |connection| audit_entries(connection, &filter))
            .await
    }
}
