//! The audit log: append-only (triggers refuse updates and deletes), and
//! chained: each entry stores the SHA-256 of its own content and of the
//! entry before it, so an edit anywhere breaks every later link.
//! [`verify`] finds the first broken link.
//!
//! Entries name ids, states and actions: never ID numbers, names or phones.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::CacheError;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(
    previous: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        previous,
        &seq.to_string(),
        at,
        actor,
        action,
        subject,
        detail,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends an entry inside `transaction`.
pub fn append(
    transaction: &Transaction,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &Value,
) -> Result<(), CacheError> {
    let last: Option<(i64, String)> = transaction
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (seq, previous) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let detail = detail.to_string();
    let hash = entry_hash(&previous, seq, at, actor, action, subject, &detail);
    crate::store::exec(transaction,
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, previous_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, at, actor, action, subject, detail, previous, hash],
    )?;
    Ok(())
}

impl<M: crate::store::StoreMode> crate::store::CaseStore<M> {
    /// Records a workstation act that is not a case's (a calendar year
    /// loaded, a setting of the administrator's) as an entry of its own.
    /// `detail` names ids and codes, never applicant data.
    pub async fn record_act(
        &self,
        actor: crate::cases::Actor,
        action: &'static str,
        subject: String,
        detail: Value,
    ) -> Result<(), CacheError> {
        self.write(move |connection| {
            let transaction =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut detail = detail;
            detail["role"] = Value::from(actor.role.as_str());
            append(
                &transaction,
                &chrono::Local::now().to_rfc3339(),
                &actor.user_id,
                action,
                &subject,
                &detail,
            )?;
            transaction.commit()?;
            Ok(())
        })
        .await
    }
}

/// The first entry whose link or content does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Walks the whole chain; `Ok(count)` when every link holds.
pub fn verify(connection: &Connection) -> Result<Result<i64, BrokenLink>, CacheError> {
    let mut statement = connection.prepare("SELECT seq, at, actor, action, subject, detail, previous_hash, hash FROM audit_log ORDER BY seq")?;
    let mut rows = statement.query([])?;
    let mut previous = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let fields: [String; 7] = [
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
        ];
        let [at, actor, action, subject, detail, previous_hash, hash] = fields;
        if seq != expected_seq {
            return Ok(Err(BrokenLink {
                seq,
                reason: format!("entry {expected_seq} is missing"),
            }));
        }
        if previous_hash != previous {
            return Ok(Err(BrokenLink {
                seq,
                reason: "does not link to the entry before it".into(),
            }));
        }
        if entry_hash(&previous, seq, &at, &actor, &action, &subject, &detail) != hash {
            return Ok(Err(BrokenLink {
                seq,
                reason: "its content was changed".into(),
            }));
        }
        previous = hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(Ok(count))
}
