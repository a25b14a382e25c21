//! Drafts: the half-typed intake, saved on every pause in typing and
//! reopened exactly as it was after a crash or restart, pinned to the item
//! versions it started on. A save is one small upsert; only creating and
//! discarding a draft go into the audit log.
//!
//! A draft is its clerk's: only the clerk who started it, or the one it was
//! handed over to (`handover` moves `clerk_id`), opens, saves or discards
//! it (`not_your_draft`). This module never lets one clerk's save overwrite
//! another's draft.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// A draft to save. `id` is made by the client when the intake starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftSave {
    pub id: String,
    pub clerk_id: String,
    pub window: String,
    pub bundle_id: Option<String>,
    /// The item versions the draft started on (kept from the first save).
    pub item_versions: BTreeMap<String, u32>,
    /// Everything the screen holds: applicant, values, materials, cursor.
    pub content: Value,
    pub at: DateTime<FixedOffset>,
}

/// A saved draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftRecord {
    pub id: String,
    pub clerk_id: String,
    pub window: String,
    pub bundle_id: Option<String>,
    pub item_versions: BTreeMap<String, u32>,
    pub content: Value,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

fn not_yours() -> CacheError {
    CacheError::Refused {
        code: "not_your_draft",
        message_zh: "该草稿不是您受理的，也未交接给您，不能打开、保存或放弃。".into(),
        message_en: "This draft is not yours and was not handed over to you: it cannot be opened, saved or discarded.".into(),
    }
}

fn clerk_of(connection: &Connection, id: &str) -> Result<Option<String>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT clerk_id FROM drafts WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )
        .optional()?)
}

/// Refuses (`not_your_draft`) unless the draft `id`, if it exists, is
/// `user_id`'s (started by them or handed over to them).
pub fn check_owner(connection: &Connection, id: &str, user_id: &str) -> Result<(), CacheError> {
    match clerk_of(connection, id)? {
        Some(clerk) if clerk != user_id => Err(not_yours()),
        _ => Ok(()),
    }
}

/// Saves a draft; returns its new revision. A draft that exists is saved
/// only by its clerk (`not_your_draft`).
pub fn save_draft(connection: &mut Connection, draft: &DraftSave) -> Result<i64, CacheError> {
    if draft.id.trim().is_empty() {
        return Err(CacheError::BadInput("a draft needs an id".into()));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = draft.at.to_rfc3339();
    let content = draft.content.to_string();
    let revision: Option<i64> = transaction
        .prepare_cached("UPDATE drafts SET content = ?2, updated_at = ?3, revision = revision + 1 WHERE id = ?1 AND clerk_id = ?4 RETURNING revision")?
        .query_row(params![draft.id, content, at, draft.clerk_id], |row| row.get(0))
        .optional()?;
    let revision = match revision {
        Some(revision) => revision,
        None if clerk_of(&transaction, &draft.id)?.is_some() => return Err(not_yours()),
        None => {
            crate::store::exec(&transaction,
                "INSERT INTO drafts (id, clerk_id, window, bundle_id, item_versions, content, revision, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                params![draft.id, draft.clerk_id, draft.window, draft.bundle_id, serde_json::to_string(&draft.item_versions).expect("versions serialise"), content, at],
            )?;
            audit::append(
                &transaction,
                &at,
                &draft.clerk_id,
                "draft.started",
                &draft.id,
                &json!({ "items": draft.item_versions, "window": draft.window }),
            )?;
            1
        }
    };
    transaction.commit()?;
    Ok(revision)
}

fn record(row: &rusqlite::Row) -> rusqlite::Result<(DraftRecord, String, String)> {
    Ok((
        DraftRecord {
            id: row.get(0)?,
            clerk_id: row.get(1)?,
            window: row.get(2)?,
            bundle_id: row.get(3)?,
            item_versions: BTreeMap::new(),
            content: Value::Null,
            revision: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn finish(
    (mut draft, versions, content): (DraftRecord, String, String),
) -> Result<DraftRecord, CacheError> {
    draft.item_versions =
        serde_json::from_str(&versions).map_err(|error| CacheError::Database(error.to_string()))?;
    draft.content =
        serde_json::from_str(&content).map_err(|error| CacheError::Database(error.to_string()))?;
    Ok(draft)
}

const COLUMNS: &str = "SELECT id, clerk_id, window, bundle_id, item_versions, content, revision, created_at, updated_at FROM drafts";

/// Open drafts, newest first; of one window when given.
pub fn open_drafts(
    connection: &Connection,
    window: Option<&str>,
) -> Result<Vec<DraftRecord>, CacheError> {
    let mut statement = connection.prepare_cached(&format!(
        "{COLUMNS} WHERE ?1 IS NULL OR window = ?1 ORDER BY updated_at DESC"
    ))?;
    let rows = statement.query_map(params![window], record)?;
    rows.map(|row| finish(row?)).collect()
}

/// The draft `id` for `user_id` to open: theirs or handed over to them
/// (`not_your_draft` otherwise).
pub fn own_draft(
    connection: &Connection,
    id: &str,
    user_id: &str,
) -> Result<DraftRecord, CacheError> {
    let found = draft(connection, id)?;
    if found.clerk_id != user_id {
        return Err(not_yours());
    }
    Ok(found)
}

pub fn draft(connection: &Connection, id: &str) -> Result<DraftRecord, CacheError> {
    let found = connection
        .query_row(&format!("{COLUMNS} WHERE id = ?1"), params![id], record)
        .optional()?;
    finish(found.ok_or_else(|| CacheError::UnknownDraft(id.to_owned()))?)
}

/// Discards a draft its clerk abandons (audited); another's draft is
/// refused (`not_your_draft`).
pub fn discard_draft(
    connection: &mut Connection,
    id: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    check_owner(&transaction, id, &actor.user_id)?;
    if crate::store::exec(
        &transaction,
        "DELETE FROM drafts WHERE id = ?1",
        params![id],
    )? == 0
    {
        return Err(CacheError::UnknownDraft(id.to_owned()));
    }
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        "draft.discarded",
        id,
        &json!({}),
    )?;
    transaction.commit()?;
    Ok(())
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn save_draft(&self, draft: DraftSave) -> Result<i64, CacheError> {
        self.write(move |connection| save_draft(connection, &draft))
            .await
    }

    pub async fn open_drafts(
        &self,
        window: Option<String>,
    ) -> Result<Vec<DraftRecord>, CacheError> {
        self.read(move |connection| open_drafts(connection, window.as_deref()))
            .await
    }

    pub async fn draft(&self, id: &str) -> Result<DraftRecord, CacheError> {
        let id = id.to_owned();
        self.read(move |connection| draft(connection, &id)).await
    }

    /// The draft for `user_id` to open: theirs or handed over to them.
    pub async fn own_draft(&self, id: &str, user_id: &str) -> Result<DraftRecord, CacheError> {
        let (id, user_id) = (id.to_owned(), user_id.to_owned());
        self.read(move |connection| own_draft(connection, &id, &user_id))
            .await
    }

    pub async fn discard_draft(
        &self,
        id: &str,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        let id = id.to_owned();
        self.write(move |connection| discard_draft(connection, &id, &actor, at))
            .await
    }
}
