//! Results at the one window (统一窗口出件) and the applicant's rating of a
//! visit (好差评).
//!
//! - A result is issued once: at the window to the applicant (identity
//!   checked against the case) or to an agent, or by mail with carrier and
//!   tracking number. The case's `issue` transition, the issuance record and
//!   the audit entry land in one transaction; a second issuance of the same
//!   case returns the first.
//! - A visit is rated once on the national five-level scale (5 非常满意 …
//!   1 非常不满意). Ratings of 2 or 1 are bad ratings and open a follow-up
//!   for the supervisor. The audit log keeps the level, never the comment
//!   (it may name people).
//!
//! This module never prints and never talks to a back office: the `issue`
//! transition queues the back office's notice in the outbox as every
//! transition does.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::cases::{Actor, CaseSummary};
use crate::error::CacheError;
use crate::lifecycle::{CaseState, Event};
use crate::store::{CaseStore, StoreMode};

/// How a result leaves the hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum IssueMethod {
    /// Handed over at the window. `agent`: someone other than the applicant
    /// collects it (always so for a legal person), with their own ID.
    Window {
        received_by: String,
        collector_identifier: String,
        agent: bool,
    },
    /// Mailed.
    Mail {
        address_zh: String,
        carrier: String,
        tracking_number: String,
    },
}

/// An issuance to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueResult {
    pub case_id: String,
    pub method: IssueMethod,
    /// What is handed over (营业执照正本1份、副本1份).
    pub results_zh: Vec<String>,
    pub actor: Actor,
    pub at: DateTime<FixedOffset>,
}

/// An issuance as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuanceRecord {
    pub case_id: String,
    pub method: IssueMethod,
    pub results_zh: Vec<String>,
    pub issued_at: String,
    pub clerk_id: String,
}

/// A result waiting at this hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyResult {
    pub case: CaseSummary,
    /// Since when it waits (the case's last change).
    pub ready_since: String,
    /// `approved` or `refused`: what the back offices decided.
    pub outcome: String,
    pub applicant_identifier: String,
}

/// The visit a rating is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visit {
    Intake,
    Issuance,
}

impl Visit {
    fn as_str(self) -> &'static str {
        match self {
            Visit::Intake => "intake",
            Visit::Issuance => "issuance",
        }
    }
}

/// A rating to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRating {
    pub case_id: String,
    pub visit: Visit,
    /// 5 (非常满意) to 1 (非常不满意).
    pub level: u8,
    /// For bad ratings: what went wrong (the applicant's choices).
    pub reasons: Vec<String>,
    pub comment: Option<String>,
    pub at: DateTime<FixedOffset>,
}

/// A rating as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRecord {
    pub id: i64,
    pub case_id: String,
    pub case_number: String,
    pub visit: Visit,
    pub level: u8,
    pub reasons: Vec<String>,
    pub comment: Option<String>,
    pub rated_at: String,
    /// `none`, or `open` / `done` for a bad rating's follow-up.
    pub follow_up: String,
}

/// The lowest level that is not a bad rating.
pub const FIRST_GOOD_LEVEL: u8 = 3;

fn refused(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> CacheError {
    CacheError::Refused {
        code,
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

fn check_issue(
    request: &IssueResult,
    applicant_kind: &str,
    applicant_identifier: &str,
) -> Result<(), CacheError> {
    if request
        .results_zh
        .iter()
        .all(|result| result.trim().is_empty())
    {
        return Err(refused(
            "results_missing",
            "请填写交付的办理结果（如营业执照正本1份）。",
            "Name what is handed over (at least one result).",
        ));
    }
    match &request.method {
        IssueMethod::Window {
            received_by,
            collector_identifier,
            agent,
        } => {
            if received_by.trim().is_empty() {
                return Err(refused(
                    "collector_name_missing",
                    "请填写领取人姓名。",
                    "Enter the name of whoever collects the result.",
                ));
            }
            let today = request.at.date_naive();
            let collector =
                forms::identifiers::check_resident_id(collector_identifier.trim(), today).map_err(
                    |error| {
                        refused(
                            "collector_identifier",
                            format!("领取人身份证号码{}", error.message_zh()),
                            format!("The collector's ID number: {error}."),
                        )
                    },
                )?;
            let is_applicant = collector.number.eq_ignore_ascii_case(applicant_identifier);
            if !agent && applicant_kind == "natural_person" && !is_applicant {
                return Err(refused(
                    "collector_not_applicant",
                    "领取人身份证号码与申请人不一致：请核对证件，或勾选“代领”并查验授权委托书。",
                    "The collector's ID number is not the applicant's: check the card, or mark the collector as an agent and check the authorisation.",
                ));
            }
        }
        IssueMethod::Mail {
            address_zh,
            carrier,
            tracking_number,
        } => {
            for (value, code, zh, en) in [
                (
                    address_zh,
                    "mail_address_missing",
                    "邮寄地址",
                    "the mailing address",
                ),
                (carrier, "mail_carrier_missing", "快递公司", "the carrier"),
                (
                    tracking_number,
                    "mail_tracking_missing",
                    "运单号",
                    "the tracking number",
                ),
            ] {
                if value.trim().is_empty() {
                    return Err(refused(
                        code,
                        format!("请填写{zh}。"),
                        format!("Enter {en}."),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Issues a case's result (see the module comment); returns the record.
pub fn issue_result(
    connection: &mut Connection,
    request: &IssueResult,
) -> Result<IssuanceRecord, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(existing) = issuance_of(&transaction, &request.case_id)? {
        return Ok(existing);
    }
    let found: Option<(String, String, String)> = transaction
        .query_row(
            "SELECT c.state, a.kind, a.identifier FROM cases c JOIN applicants a ON a.id = c.applicant_id WHERE c.id = ?1",
            params![request.case_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let (state, kind, identifier) =
        found.ok_or_else(|| CacheError::UnknownCase(request.case_id.clone()))?;
    check_issue(request, &kind, &identifier)?;
    let at = request.at.to_rfc3339();
    crate::cases::apply_event(
        &transaction,
        &request.case_id,
        CaseState::parse(&state)?,
        Event::Issue,
        &request.actor,
        &at,
        Some(match request.method {
            IssueMethod::Window { .. } => "window",
            IssueMethod::Mail { .. } => "mail",
        }),
    )?;
    let method = serde_json::to_string(&request.method).expect("methods serialise");
    crate::store::exec(
        &transaction,
        "INSERT INTO issuances (case_id, method, results, issued_at, clerk_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            request.case_id,
            method,
            serde_json::to_string(&request.results_zh).expect("strings serialise"),
            at,
            request.actor.user_id
        ],
    )?;
    let record = issuance_of(&transaction, &request.case_id)?
        .ok_or_else(|| CacheError::UnknownCase(request.case_id.clone()))?;
    transaction.commit()?;
    Ok(record)
}

/// The issuance of a case, if it was issued.
pub fn issuance_of(
    connection: &Connection,
    case_id: &str,
) -> Result<Option<IssuanceRecord>, CacheError> {
    let row: Option<(String, String, String, String)> = connection
        .query_row(
            "SELECT method, results, issued_at, clerk_id FROM issuances WHERE case_id = ?1",
            params![case_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    let Some((method, results, issued_at, clerk_id)) = row else {
        return Ok(None);
    };
    let damaged = |error: serde_json::Error| CacheError::Database(error.to_string());
    Ok(Some(IssuanceRecord {
        case_id: case_id.to_owned(),
        method: serde_json::from_str(&method).map_err(damaged)?,
        results_zh: serde_json::from_str(&results).map_err(damaged)?,
        issued_at,
        clerk_id,
    }))
}

/// Results ready for issuance at this hall, longest waiting first.
pub fn results_ready(connection: &Connection) -> Result<Vec<ReadyResult>, CacheError> {
    let ids: Vec<(String, String, String, String)> = connection
        .prepare_cached(
            "SELECT c.id, c.updated_at, coalesce(a.identifier, ''),
                    CASE WHEN EXISTS (SELECT 1 FROM sub_cases s WHERE s.case_id = c.id AND (s.outcome = 'refused' OR s.state = 'refused')) THEN 'refused' ELSE 'approved' END
             FROM cases c LEFT JOIN applicants a ON a.id = c.applicant_id
             WHERE c.state = 'result_ready' ORDER BY c.updated_at",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    ids.into_iter()
        .map(|(id, ready_since, identifier, outcome)| {
            Ok(ReadyResult {
                case: crate::cases::case(connection, &id)?,
                ready_since,
                outcome,
                applicant_identifier: identifier,
            })
        })
        .collect()
}

/// Records the applicant's rating of a visit.
pub fn record_rating(
    connection: &mut Connection,
    rating: &NewRating,
    actor: &Actor,
) -> Result<RatingRecord, CacheError> {
    if !(1..=5).contains(&rating.level) {
        return Err(refused(
            "rating_level",
            format!("评价等级应为 1 至 5，收到 {}。", rating.level),
            format!("A rating is 1 to 5, not {}.", rating.level),
        ));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known: Option<String> = transaction
        .query_row(
            "SELECT state FROM cases WHERE id = ?1",
            params![rating.case_id],
            |row| row.get(0),
        )
        .optional()?;
    let state = known.ok_or_else(|| CacheError::UnknownCase(rating.case_id.clone()))?;
    if rating.visit == Visit::Issuance && !matches!(state.as_str(), "issued" | "rated") {
        return Err(refused(
            "not_issued",
            "该办件的结果尚未出件，不能评价出件服务。",
            "The result of this case has not been issued yet.",
        ));
    }
    let follow_up = if rating.level < FIRST_GOOD_LEVEL {
        "open"
    } else {
        "none"
    };
    let at = rating.at.to_rfc3339();
    let inserted = transaction.execute(
        "INSERT INTO ratings (case_id, visit, level, reasons, comment, rated_at, follow_up) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (case_id, visit) DO NOTHING",
        params![
            rating.case_id,
            rating.visit.as_str(),
            rating.level,
            serde_json::to_string(&rating.reasons).expect("strings serialise"),
            rating.comment.as_deref().map(str::trim).filter(|comment| !comment.is_empty()),
            at,
            follow_up
        ],
    )?;
    if inserted == 0 {
        return Err(refused(
            "already_rated",
            "本次服务已经评价过。",
            "This visit has already been rated.",
        ));
    }
    let id = transaction.last_insert_rowid();
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        "rating.recorded",
        &rating.case_id,
        &json!({ "visit": rating.visit.as_str(), "level": rating.level, "follow_up": follow_up }),
    )?;
    let record = ratings(&transaction, "WHERE r.id = ?1", params![id])?
        .pop()
        .ok_or_else(|| CacheError::Database("the rating just written is gone".into()))?;
    transaction.commit()?;
    Ok(record)
}

fn ratings(
    connection: &Connection,
    filter: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<RatingRecord>, CacheError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT r.id, r.case_id, c.case_number, r.visit, r.level, r.reasons, r.comment, r.rated_at, r.follow_up
         FROM ratings r JOIN cases c ON c.id = r.case_id {filter} ORDER BY r.rated_at"
    ))?;
    let rows = statement.query_map(parameters, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, u8>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, Option<String>>(6)?,
            row.get::<_, String>(7)?,
            row.get::<_, String>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, case_id, case_number, visit, level, reasons, comment, rated_at, follow_up) = row?;
        out.push(RatingRecord {
            id,
            case_id,
            case_number,
            visit: if visit == "issuance" {
                Visit::Issuance
            } else {
                Visit::Intake
            },
            level,
            reasons: serde_json::from_str(&reasons)
                .map_err(|error| CacheError::Database(error.to_string()))?,
            comment,
            rated_at,
            follow_up,
        });
    }
    Ok(out)
}

/// The ratings of a case.
pub fn ratings_of(connection: &Connection, case_id: &str) -> Result<Vec<RatingRecord>, CacheError> {
    ratings(connection, "WHERE r.case_id = ?1", params![case_id])
}

/// Bad ratings whose follow-up is still open, oldest first.
pub fn open_follow_ups(connection: &Connection) -> Result<Vec<RatingRecord>, CacheError> {
    ratings(connection, "WHERE r.follow_up = 'open'", [])
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn issue_result(&self, request: IssueResult) -> Result<IssuanceRecord, CacheError> {
        self.write(move |connection| issue_result(connection, &request))
            .await
    }

    pub async fn issuance_of(&self, case_id: &str) -> Result<Option<IssuanceRecord>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| issuance_of(connection, &case_id))
            .await
    }

    pub async fn results_ready(&self) -> Result<Vec<ReadyResult>, CacheError> {
        self.read(results_ready).await
    }

    pub async fn record_rating(
        &self,
        rating: NewRating,
        actor: Actor,
    ) -> Result<RatingRecord, CacheError> {
        self.write(move |connection| record_rating(connection, &rating, &actor))
            .await
    }

    pub async fn ratings_of(&self, case_id: &str) -> Result<Vec<RatingRecord>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| ratings_of(connection, &case_id))
            .await
    }

    pub async fn open_follow_ups(&self) -> Result<Vec<RatingRecord>, CacheError> {
        self.read(open_follow_ups).await
    }
}
