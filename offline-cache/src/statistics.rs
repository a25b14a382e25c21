//! Statistics of the hall for a date range (by the day a case was taken
//! in): cases by category and by item, decisions by kind, the share done on
//! the spot (马上办: promised for the day it was accepted) and in one visit
//! (一次办: accepted without an earlier one-time notice for the same
//! matter), the average time from intake to issuance, and the ratings with
//! the follow-up state of the bad ones. Also the follow-up itself.
//!
//! This module only counts what the store holds; it never writes files
//! (exports are the app's).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::lifecycle::Role;
use crate::store::{CaseStore, StoreMode};

/// The statistics of one range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub from: String,
    pub to: String,
    pub cases: i64,
    pub by_category: BTreeMap<String, i64>,
    /// Item id → cases (a bundle counts for each of its items).
    pub by_item: BTreeMap<String, i64>,
    /// Decision kind → cases.
    pub decisions: BTreeMap<String, i64>,
    /// Accepted cases (with or without gaps).
    pub accepted: i64,
    /// Of the accepted: promised for the day they were accepted.
    pub on_the_spot: i64,
    /// Of the accepted: no earlier one-time notice for the same matter.
    pub one_visit: i64,
    /// Issued cases and their average hours from intake to issuance.
    pub issued: i64,
    pub average_hours_to_issue: Option<f64>,
    /// Level (1–5) → ratings.
    pub ratings: BTreeMap<u8, i64>,
    pub bad_ratings_open: i64,
    pub bad_ratings_done: i64,
}

fn counts(
    connection: &Connection,
    sql: &str,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, i64>, CacheError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(params![from, to], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The statistics of cases taken in from `from` to `to` (inclusive).
pub fn statistics(
    connection: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Statistics, CacheError> {
    if to < from {
        return Err(CacheError::Refused {
            code: "range",
            message_zh: "截止日期早于起始日期。".into(),
            message_en: "The end of the range is before its start.".into(),
        });
    }
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let (f, t) = (from_text.as_str(), to_text.as_str());
    let in_range = "c.created_day BETWEEN ?1 AND ?2";
    let one = |sql: &str| -> Result<i64, CacheError> {
        Ok(connection.query_row(sql, params![f, t], |row| row.get(0))?)
    };
    let accepted_filter = format!("{in_range} AND d.kind IN ('accept', 'accept_with_gaps')");
    let average: Option<f64> = connection.query_row(
        &format!(
            "SELECT avg((julianday(i.issued_at) - julianday(c.created_at)) * 24.0)
             FROM cases c JOIN issuances i ON i.case_id = c.id WHERE {in_range}"
        ),
        params![f, t],
        |row| row.get(0),
    )?;
    let ratings = counts(
        connection,
        &format!("SELECT CAST(r.level AS TEXT), count(*) FROM ratings r JOIN cases c ON c.id = r.case_id WHERE {in_range} GROUP BY r.level"),
        f,
        t,
    )?
    .into_iter()
    .filter_map(|(level, count)| Some((level.parse().ok()?, count)))
    .collect();
    Ok(Statistics {
        from: from_text.clone(),
        to: to_text.clone(),
        cases: one(&format!("SELECT count(*) FROM cases c WHERE {in_range}"))?,
        by_category: counts(connection, &format!("SELECT c.category, count(*) FROM cases c WHERE {in_range} GROUP BY c.category"), f, t)?,
        by_item: counts(connection, &format!("SELECT j.key, count(*) FROM cases c, json_each(c.item_versions) j WHERE {in_range} GROUP BY j.key"), f, t)?,
        decisions: counts(connection, &format!("SELECT d.kind, count(*) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE {in_range} GROUP BY d.kind"), f, t)?,
        accepted: one(&format!("SELECT count(*) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE {accepted_filter}"))?,
        on_the_spot: one(&format!("SELECT count(*) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE {accepted_filter} AND c.promised_completion = c.created_day"))?,
        one_visit: one(&format!("SELECT count(*) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE {accepted_filter} AND c.previous_case_id IS NULL"))?,
        issued: one(&format!("SELECT count(*) FROM cases c JOIN issuances i ON i.case_id = c.id WHERE {in_range}"))?,
        average_hours_to_issue: average,
        ratings,
        bad_ratings_open: one(&format!("SELECT count(*) FROM ratings r JOIN cases c ON c.id = r.case_id WHERE {in_range} AND r.follow_up = 'open'"))?,
        bad_ratings_done: one(&format!("SELECT count(*) FROM ratings r JOIN cases c ON c.id = r.case_id WHERE {in_range} AND r.follow_up = 'done'"))?,
    })
}

/// A supervisor closes a bad rating's follow-up with what was done.
pub fn close_follow_up(
    connection: &mut Connection,
    rating_id: i64,
    note: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    if actor.role != Role::Supervisor {
        return Err(CacheError::Refused {
            code: "not_allowed",
            message_zh: "差评回访只能由值班长办结。".into(),
            message_en: "Only a supervisor closes a bad rating's follow-up.".into(),
        });
    }
    if note.trim().is_empty() {
        return Err(CacheError::Refused {
            code: "reason_required",
            message_zh: "请写明回访处理情况。".into(),
            message_en: "Write what the follow-up found and did.".into(),
        });
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let case_id: String = transaction
        .query_row(
            "SELECT case_id FROM ratings WHERE id = ?1 AND follow_up = 'open'",
            params![rating_id],
            |row| row.get(0),
        )
        .map_err(|_| CacheError::Refused {
            code: "no_open_follow_up",
            message_zh: "没有待办的差评回访。".into(),
            message_en: "There is no open follow-up for this rating.".into(),
        })?;
    crate::store::exec(
        &transaction,
        "UPDATE ratings SET follow_up = 'done', follow_up_note = ?2 WHERE id = ?1",
        params![rating_id, note.trim()],
    )?;
    let at = at.to_rfc3339();
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        "rating.follow_up_done",
        &case_id,
        &json!({ "rating": rating_id, "note_length": note.trim().chars().count() }),
    )?;
    transaction.commit()?;
    Ok(())
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn statistics(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Statistics, CacheError> {
        self.read(move |connection| statistics(connection, from, to))
            .await
    }

    pub async fn close_follow_up(
        &self,
        rating_id: i64,
        note: String,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| close_follow_up(connection, rating_id, &note, &actor, at))
            .await
    }
}
