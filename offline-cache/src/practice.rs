//! Practice sessions in the practice store: which trainer started a
//! session for which trainee, the trainee's attempts at scenarios with
//! their scores, and what a trainee committed during an attempt (read back
//! for the scoring). Accounts are copied into the practice store when a
//! session starts, so practice never needs the real store open.
//!
//! This module works on a practice store only; it must never be pointed at
//! the real case store.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cases::Actor;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// A user row as copied into the practice store (with its password hash,
/// so the trainee and the trainer sign in there with their own passwords).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCopy {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub created_at: String,
}

/// Reads the accounts to copy (the trainer and the trainee).
pub fn accounts_to_copy(
    connection: &Connection,
    ids: &[String],
) -> Result<Vec<AccountCopy>, CacheError> {
    let mut statement = connection.prepare(
        "SELECT id, login, display_name, role, password_hash, created_at FROM users WHERE id = ?1 AND disabled = 0",
    )?;
    let mut copies = Vec::new();
    for id in ids {
        if let Some(copy) = statement
            .query_row(params![id], |row| {
                Ok(AccountCopy {
                    id: row.get(0)?,
                    login: row.get(1)?,
                    display_name: row.get(2)?,
                    role: row.get(3)?,
                    password_hash: row.get(4)?,
                    created_at: row.get(5)?,
                })
            })
            .optional()?
        {
            copies.push(copy);
        }
    }
    Ok(copies)
}

/// Starts a session: the accounts copied in (replacing older copies), the
/// session recorded.
pub fn begin_session(
    connection: &mut Connection,
    accounts: &[AccountCopy],
    trainer_id: &str,
    trainee_id: &str,
    at: DateTime<FixedOffset>,
) -> Result<String, CacheError> {
    let transaction = connection.transaction()?;
    for account in accounts {
        transaction.execute(
            "DELETE FROM users WHERE login = ?1 AND id <> ?2",
            params![account.login, account.id],
        )?;
        transaction.execute(
            "INSERT INTO users (id, login, display_name, role, password_hash, disabled, failed_attempts, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6)
             ON CONFLICT (id) DO UPDATE SET login = excluded.login, display_name = excluded.display_name,
                role = excluded.role, password_hash = excluded.password_hash, disabled = 0, failed_attempts = 0, locked_until = NULL",
            params![account.id, account.login, account.display_name, account.role, account.password_hash, account.created_at],
        )?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    transaction.execute(
        "INSERT INTO practice_sessions (id, trainer_id, trainee_id, started_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, trainer_id, trainee_id, at.to_rfc3339()],
    )?;
    transaction.commit()?;
    Ok(id)
}

/// Ends a session.
pub fn end_session(
    connection: &Connection,
    session_id: &str,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    connection.execute(
        "UPDATE practice_sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
        params![session_id, at.to_rfc3339()],
    )?;
    Ok(())
}

/// Starts an attempt (a trainee has one open attempt at a time: an
/// earlier open one is closed unscored).
pub fn start_attempt(
    connection: &mut Connection,
    session_id: &str,
    trainee_id: &str,
    scenario_id: &str,
    at: DateTime<FixedOffset>,
) -> Result<String, CacheError> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE practice_attempts SET finished_at = ?2, score = 0, detail = '{\"abandoned\":true}' WHERE trainee_id = ?1 AND finished_at IS NULL",
        params![trainee_id, at.to_rfc3339()],
    )?;
    let id = uuid::Uuid::new_v4().to_string();
    transaction.execute(
        "INSERT INTO practice_attempts (id, session_id, trainee_id, scenario_id, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, session_id, trainee_id, scenario_id, at.to_rfc3339()],
    )?;
    transaction.commit()?;
    Ok(id)
}

/// An attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub id: String,
    pub session_id: String,
    pub trainee_id: String,
    pub scenario_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub case_id: Option<String>,
    pub score: Option<i64>,
    pub detail: Option<Value>,
}

const ATTEMPT: &str = "SELECT id, session_id, trainee_id, scenario_id, started_at, finished_at, case_id, score, detail FROM practice_attempts";

fn row_to_attempt(row: &rusqlite::Row) -> rusqlite::Result<AttemptRecord> {
    let detail: Option<String> = row.get(8)?;
    Ok(AttemptRecord {
        id: row.get(0)?,
        session_id: row.get(1)?,
        trainee_id: row.get(2)?,
        scenario_id: row.get(3)?,
        started_at: row.get(4)?,
        finished_at: row.get(5)?,
        case_id: row.get(6)?,
        score: row.get(7)?,
        detail: detail.and_then(|text| serde_json::from_str(&text).ok()),
    })
}

/// The trainee's open attempt, if any.
pub fn open_attempt(
    connection: &Connection,
    trainee_id: &str,
) -> Result<Option<AttemptRecord>, CacheError> {
    Ok(connection
        .query_row(
            &format!("{ATTEMPT} WHERE trainee_id = ?1 AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1"),
            params![trainee_id],
            row_to_attempt,
        )
        .optional()?)
}

/// What the trainee committed during an attempt: the latest case they
/// wrote since `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub case_id: String,
    pub bundle_id: Option<String>,
    pub item_ids: Vec<String>,
    pub decision_proposal: Value,
    pub applicant_identifier: String,
    pub applicant_name: String,
}

pub fn committed_since(
    connection: &Connection,
    clerk_id: &str,
    since: &str,
) -> Result<Option<Committed>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT c.id, c.bundle_id, c.item_versions, d.proposal, coalesce(a.identifier, ''), coalesce(c.applicant_name, a.name, '')
             FROM cases c JOIN decisions d ON d.case_id = c.id LEFT JOIN applicants a ON a.id = c.applicant_id
             WHERE c.clerk_id = ?1 AND c.created_at >= ?2 ORDER BY c.created_at DESC, d.id DESC LIMIT 1",
            params![clerk_id, since],
            |row| {
                let versions: String = row.get(2)?;
                let proposal: String = row.get(3)?;
                Ok(Committed {
                    case_id: row.get(0)?,
                    bundle_id: row.get(1)?,
                    item_ids: serde_json::from_str::<serde_json::Map<String, Value>>(&versions)
                        .map(|map| map.keys().cloned().collect())
                        .unwrap_or_default(),
                    decision_proposal: serde_json::from_str(&proposal).unwrap_or(Value::Null),
                    applicant_identifier: row.get(4)?,
                    applicant_name: row.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Records an attempt's outcome.
pub fn finish_attempt(
    connection: &Connection,
    attempt_id: &str,
    case_id: Option<&str>,
    score: u32,
    detail: &Value,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    let changed = connection.execute(
        "UPDATE practice_attempts SET finished_at = ?2, case_id = ?3, score = ?4, detail = ?5 WHERE id = ?1 AND finished_at IS NULL",
        params![attempt_id, at.to_rfc3339(), case_id, score, detail.to_string()],
    )?;
    if changed == 0 {
        return Err(CacheError::BadInput(format!(
            "attempt {attempt_id} is not open"
        )));
    }
    Ok(())
}

/// Every finished attempt, newest first, with the trainee's name.
pub fn attempts(connection: &Connection) -> Result<Vec<(AttemptRecord, String)>, CacheError> {
    let mut statement = connection.prepare(
        "SELECT p.id, p.session_id, p.trainee_id, p.scenario_id, p.started_at, p.finished_at, p.case_id, p.score, p.detail, coalesce(u.display_name, p.trainee_id)
         FROM practice_attempts p LEFT JOIN users u ON u.id = p.trainee_id
         WHERE p.finished_at IS NOT NULL ORDER BY p.finished_at DESC",
    )?;
    let rows = statement.query_map([], |row| Ok((row_to_attempt(row)?, row.get(9)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn begin_practice_session(
        &self,
        accounts: Vec<AccountCopy>,
        trainer_id: String,
        trainee_id: String,
        at: DateTime<FixedOffset>,
    ) -> Result<String, CacheError> {
        self.write(move |connection| {
            begin_session(connection, &accounts, &trainer_id, &trainee_id, at)
        })
        .await
    }

    pub async fn accounts_to_copy(&self, ids: Vec<String>) -> Result<Vec<AccountCopy>, CacheError> {
        self.read(move |connection| accounts_to_copy(connection, &ids))
            .await
    }

    pub async fn end_practice_session(
        &self,
        session_id: String,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| end_session(connection, &session_id, at))
            .await
    }

    pub async fn start_attempt(
        &self,
        session_id: String,
        trainee_id: String,
        scenario_id: String,
        at: DateTime<FixedOffset>,
    ) -> Result<String, CacheError> {
        self.write(move |connection| {
            start_attempt(connection, &session_id, &trainee_id, &scenario_id, at)
        })
        .await
    }

    pub async fn open_attempt(
        &self,
        trainee_id: String,
    ) -> Result<Option<AttemptRecord>, CacheError> {
        self.read(move |connection| open_attempt(connection, &trainee_id))
            .await
    }

    pub async fn committed_since(
        &self,
        clerk_id: String,
        since: String,
    ) -> Result<Option<Committed>, CacheError> {
        self.read(move |connection| committed_since(connection, &clerk_id, &since))
            .await
    }

    pub async fn finish_attempt(
        &self,
        attempt_id: String,
        case_id: Option<String>,
        score: u32,
        detail: Value,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| {
            finish_attempt(
                connection,
                &attempt_id,
                case_id.as_deref(),
                score,
                &detail,
                at,
            )
        })
        .await
    }

    pub async fn practice_attempts(&self) -> Result<Vec<(AttemptRecord, String)>, CacheError> {
        self.read(attempts).await
    }
}

/// Records in the store's audit chain (the real store's) that an
/// administrator ended practice session `session_id`, which could not be
/// ended otherwise, and why. Names account ids only.
pub fn record_ended_by_admin(
    connection: &mut Connection,
    admin: &Actor,
    session_id: &str,
    trainer_id: &str,
    trainee_id: &str,
    reason: &str,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    let transaction = connection.transaction()?;
    crate::audit::append(
        &transaction,
        &at.to_rfc3339(),
        &admin.user_id,
        "practice.ended_by_admin",
        session_id,
        &serde_json::json!({
            "trainer_id": trainer_id,
            "trainee_id": trainee_id,
            "reason": reason,
        }),
    )?;
    transaction.commit()?;
    Ok(())
}

impl<M: StoreMode> CaseStore<M> {
    /// [`record_ended_by_admin`] on the writer thread.
    pub async fn record_practice_ended_by_admin(
        &self,
        admin: Actor,
        session_id: String,
        trainer_id: String,
        trainee_id: String,
        reason: String,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| {
            record_ended_by_admin(
                connection,
                &admin,
                &session_id,
                &trainer_id,
                &trainee_id,
                &reason,
                at,
            )
        })
        .await
    }
}
