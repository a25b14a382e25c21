//! Workstation settings kept in the store (hall, window, numbering rules,
//! idle lock...): plain key/value text, each change audited.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::json;

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;

pub fn get_setting(connection: &Connection, key: &str) -> Result<Option<String>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![key],
            |row| row.get(0),
        )
        .optional()?)
}

/// Sets a setting; the audit entry records the key, not the value.
pub fn set_setting(
    connection: &mut Connection,
    key: &str,
    value: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    if key.trim().is_empty() {
        return Err(CacheError::BadInput("a setting needs a name".into()));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        "setting.changed",
        key,
        &json!({ "role": actor.role.as_str() }),
    )?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseStore, Production, StoreKey, StoreOptions};

    #[test]
    fn settings_are_kept_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
                .unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00+08:00").unwrap();
        store
            .write_blocking(move |connection| {
                set_setting(connection, "window", "07", &crate::sample::clerk(), at)
            })
            .unwrap();
        store
            .write_blocking(move |connection| {
                set_setting(connection, "window", "08", &crate::sample::clerk(), at)
            })
            .unwrap();
        assert_eq!(
            store
                .read_blocking(|connection| get_setting(connection, "window"))
                .unwrap()
                .as_deref(),
            Some("08")
        );
        assert_eq!(
            store
                .read_blocking(|connection| get_setting(connection, "nothing"))
                .unwrap(),
            None
        );
        assert_eq!(store.verify_audit().unwrap(), Ok(2));
        assert_eq!(
            store
                .write_blocking(move |connection| set_setting(
                    connection,
                    " ",
                    "x",
                    &crate::sample::clerk(),
                    at
                ))
                .unwrap_err()
                .code(),
            "bad_input"
        );
    }
}
