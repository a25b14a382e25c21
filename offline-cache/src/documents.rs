//! Documents issued at the window (receipts, notices): each gets its number,
//! is rendered with that number, stored encrypted with the case and has its
//! SHA-256 written to the audit log. Reprints are logged with their own
//! hash. The rendering itself is the caller's (the app's print module):
//! this module only knows bytes, numbers and hashes.
//!
//! The number is printed on the PDF, so it must exist before rendering;
//! rendering is slow code this crate does not control, so it must not run
//! on the writer thread or inside a transaction (a panic there used to end
//! the writer, and every save after it). Issuing is therefore three steps:
//!
//! 1. [`reserve_number`], one short IMMEDIATE transaction: the case must
//!    exist; a number reserved earlier for the same case and kind and never
//!    completed is taken again, else the next number is drawn and recorded
//!    as a *reserved* `documents` row (`content_sha256` empty, no PDF). The
//!    UNIQUE document number gives each number to one row only.
//! 2. Rendering with that number, on a blocking thread, outside any
//!    transaction; an error or a panic there is the caller's error alone.
//! 3. [`complete_document`], one short IMMEDIATE transaction: the PDF goes
//!    into the attachment vault, and the reserved row gets its hash, time
//!    and attachment together with the `document.issued` audit entry. A row
//!    already completed (two issues raced on one reservation) is returned
//!    as stored, so a number is never written twice.
//!
//! A render that fails or panics leaves the reservation: the next issue of
//! that case and kind (the retry) prints the same number, so no number goes
//! to two documents and none is skipped, and nothing half-written is ever
//! visible: reserved rows are not documents to [`documents_of`],
//! [`stored_document`] or [`record_reprint`]. The callers' retry finds a
//! completed document through [`documents_of`]. This module must never run
//! the caller's rendering inside a transaction or on the writer thread.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::attachments::AttachmentVault;
use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::store::{exec, CaseStore, StoreMode, StoreOptions};

/// A document about to be issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDocument {
    pub case_id: String,
    /// `acceptance-receipt`, `one-time-notice`…
    pub kind: String,
    /// The kind's word in the number (受, 告, 容, 诺, 不, 出).
    pub kind_text: String,
    pub at: DateTime<FixedOffset>,
    pub actor: Actor,
}

/// A document as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub number: String,
    pub sha256: String,
    pub attachment_id: String,
    pub pdf: Vec<u8>,
}

/// One issued document of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub number: String,
    pub kind: String,
    pub sha256: String,
    pub issued_at: String,
    pub attachment_id: Option<String>,
}

/// What a case's documents print, as the store recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentFacts {
    pub case_id: String,
    pub case_number: String,
    pub window: String,
    pub clerk_id: String,
    pub accepted_at: String,
    pub applicant_name: String,
    pub applicant_identifier: String,
    /// The decision event (`accept`, `accept_with_gaps`, …).
    pub decision: String,
    /// The proposal the clerk confirmed (a `forms::decision::DecisionProposal`).
    pub proposal: Value,
    /// When the case was terminated and the reason written then (from the
    /// case's audit entry), if it was.
    pub termination: Option<(String, String)>,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Step 1 of issuing: the number the document will carry, taken from an
/// earlier reservation of the same case and kind that was never completed,
/// else drawn and recorded as a reserved row, in one short transaction.
pub fn reserve_number(
    connection: &mut Connection,
    options: &StoreOptions,
    document: &NewDocument,
) -> Result<String, CacheError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let exists: Option<String> = transaction
        .query_row(
            "SELECT id FROM cases WHERE id = ?1",
            params![document.case_id],
            |row| row.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Err(CacheError::UnknownCase(document.case_id.clone()));
    }
    // A reservation of another period (a render that failed on 31
    // December, retried in January) carries the wrong year: it stays unused
    // and a number of this period is drawn.
    let reserved: Option<String> = transaction
        .query_row(
            "SELECT document_number, issued_at FROM documents WHERE case_id = ?1 AND kind = ?2 AND content_sha256 = '' ORDER BY id DESC LIMIT 1",
            params![document.case_id, document.kind],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()?
        .filter(|(_, issued_at)| {
            chrono::DateTime::parse_from_rfc3339(issued_at).is_ok_and(|reserved_at| {
                options
                    .document_numbers
                    .same_period(reserved_at.date_naive(), document.at.date_naive())
            })
        })
        .map(|(number, _)| number);
    let number = match reserved {
        Some(number) => number,
        None => {
            let number = options.document_numbers.next(
                &transaction,
                &format!("document:{}", document.kind),
                document.at.date_naive(),
                &options.number_parts(&document.kind_text),
            )?;
            exec(
                &transaction,
                "INSERT INTO documents (case_id, kind, document_number, content_sha256, issued_at, attachment_id) VALUES (?1, ?2, ?3, '', ?4, NULL)",
                params![document.case_id, document.kind, number, document.at.to_rfc3339()],
            )?;
            number
        }
    };
    transaction.commit()?;
    Ok(number)
}

/// Step 3 of issuing: stores the rendered PDF encrypted and completes the
/// reserved row `number` with its hash and the audit entry, in one short
/// transaction. A row already completed is returned as it was stored.
pub fn complete_document(
    connection: &mut Connection,
    vault: &AttachmentVault,
    document: &NewDocument,
    number: &str,
    pdf: Vec<u8>,
) -> Result<IssuedDocument, CacheError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let row: Option<(String, Option<String>)> = transaction
        .query_row(
            "SELECT content_sha256, attachment_id FROM documents WHERE document_number = ?1 AND case_id = ?2 AND kind = ?3",
            params![number, document.case_id, document.kind],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match row {
        None => {
            return Err(CacheError::Database(format!(
                "document number {number} is not reserved for case {}",
                document.case_id
            )))
        }
        Some((sha, Some(attachment_id))) if !sha.is_empty() => {
            let pdf = vault.get(&attachment_id)?;
            return Ok(IssuedDocument {
                number: number.to_owned(),
                sha256: sha,
                attachment_id,
                pdf,
            });
        }
        Some(_) => {}
    }
    let sha = sha256(&pdf);
    let attachment_id = vault.put(&pdf)?;
    let at = document.at.to_rfc3339();
    let completed = exec(
        &transaction,
        "UPDATE documents SET content_sha256 = ?2, issued_at = ?3, attachment_id = ?4 WHERE document_number = ?1 AND content_sha256 = ''",
        params![number, sha, at, attachment_id],
    )?;
    if completed != 1 {
        return Err(CacheError::Database(format!(
            "document number {number} was not waiting to be written"
        )));
    }
    audit::append(
        &transaction,
        &at,
        &document.actor.user_id,
        "document.issued",
        &document.case_id,
        &json!({ "kind": document.kind, "number": number, "sha256": sha }),
    )?;
    transaction.commit()?;
    Ok(IssuedDocument {
        number: number.to_owned(),
        sha256: sha,
        attachment_id,
        pdf,
    })
}

/// What the caller of a render that panicked is told.
fn render_failed() -> CacheError {
    CacheError::Refused {
        code: "render_failed",
        message_zh: "生成文书时发生内部错误，文书未出具（文号已保留，重试时沿用），办件及其他数据不受影响。请重试；如再次出现，请联系系统管理员并提供日志。".into(),
        message_en: "An internal error stopped the document from being made: it was not issued (its number is kept for the retry), and the case and everything else are unaffected. Try again; if it happens again, call the administrator with the log.".into(),
    }
}

/// Logs a reprint (marked 副本) of an issued document, with its own hash.
pub fn record_reprint(
    connection: &mut Connection,
    number: &str,
    pdf: &[u8],
    actor: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<String, CacheError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let case_id: Option<String> = transaction
        .query_row(
            "SELECT case_id FROM documents WHERE document_number = ?1 AND content_sha256 <> ''",
            params![number],
            |row| row.get(0),
        )
        .optional()?;
    let case_id = case_id
        .ok_or_else(|| CacheError::BadInput(format!("no document has the number {number}")))?;
    let sha = sha256(pdf);
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        &actor.user_id,
        "document.reprinted",
        &case_id,
        &json!({ "number": number, "sha256": sha }),
    )?;
    transaction.commit()?;
    Ok(sha)
}

/// The documents issued for a case, oldest first (not numbers reserved
/// for a document not yet written).
pub fn documents_of(
    connection: &Connection,
    case_id: &str,
) -> Result<Vec<DocumentRow>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT document_number, kind, content_sha256, issued_at, attachment_id FROM documents WHERE case_id = ?1 AND content_sha256 <> '' ORDER BY id",
    )?;
    let rows = statement.query_map(params![case_id], |row| {
        Ok(DocumentRow {
            number: row.get(0)?,
            kind: row.get(1)?,
            sha256: row.get(2)?,
            issued_at: row.get(3)?,
            attachment_id: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An issued document of a case and its PDF as stored. A number the case
/// does not have, or a document issued before PDFs were kept (schema 4 and
/// earlier), is a clear error.
pub fn stored_document(
    connection: &Connection,
    vault: &AttachmentVault,
    case_id: &str,
    number: &str,
) -> Result<(DocumentRow, Vec<u8>), CacheError> {
    let row = documents_of(connection, case_id)?
        .into_iter()
        .find(|row| row.number == number)
        .ok_or_else(|| {
            CacheError::BadInput(format!("case {case_id} has no document numbered {number}"))
        })?;
    let attachment = row.attachment_id.clone().ok_or_else(|| {
        CacheError::BadInput(format!(
            "document {number} was issued before PDFs were kept with the case; issue it again"
        ))
    })?;
    let pdf = vault.get(&attachment)?;
    Ok((row, pdf))
}

/// What the documents of a case print.
pub fn document_facts(connection: &Connection, case_id: &str) -> Result<DocumentFacts, CacheError> {
    let facts = connection
        .query_row(
            "SELECT c.case_number, c.window, c.clerk_id, c.created_at, coalesce(c.applicant_name, a.name), a.identifier, d.kind, d.proposal
             FROM cases c JOIN applicants a ON a.id = c.applicant_id
             JOIN decisions d ON d.case_id = c.id
             WHERE c.id = ?1 ORDER BY d.id DESC LIMIT 1",
            params![case_id],
            |row| {
                let proposal: String = row.get(7)?;
                Ok(DocumentFacts {
                    case_id: case_id.to_owned(),
                    case_number: row.get(0)?,
                    window: row.get(1)?,
                    clerk_id: row.get(2)?,
                    accepted_at: row.get(3)?,
                    applicant_name: row.get(4)?,
                    applicant_identifier: row.get(5)?,
                    decision: row.get(6)?,
                    proposal: serde_json::from_str(&proposal).unwrap_or(Value::Null),
                    termination: None,
                })
            },
        )
        .optional()?;
    let mut facts = facts.ok_or_else(|| CacheError::UnknownCase(case_id.to_owned()))?;
    facts.termination = connection
        .query_row(
            "SELECT at, detail FROM audit_log WHERE subject = ?1 AND action = 'case.terminate' ORDER BY seq DESC LIMIT 1",
            params![case_id],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()?
        .map(|(at, detail)| {
            let note = serde_json::from_str::<Value>(&detail)
                .ok()
                .and_then(|detail| detail.get("note").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            (at, note)
        });
    Ok(facts)
}

impl<M: StoreMode> CaseStore<M> {
    /// Issues a document: its number reserved on the writer
    /// ([`reserve_number`]), `render(number)` run on a blocking thread
    /// outside any transaction, then the PDF stored and the document
    /// recorded on the writer ([`complete_document`]). A render that fails
    /// is `bad_input`, one that panics `render_failed`; either way nothing
    /// is recorded but the reservation, which the retry uses.
    pub async fn issue_document(
        &self,
        vault: std::sync::Arc<AttachmentVault>,
        document: NewDocument,
        render: impl FnOnce(&str) -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Result<IssuedDocument, CacheError> {
        let options = self.options.clone();
        let reserving = document.clone();
        let number = self
            .write(move |connection| reserve_number(connection, &options, &reserving))
            .await?;
        let for_render = number.clone();
        let pdf = match tokio::task::spawn_blocking(move || render(&for_render)).await {
            Ok(Ok(pdf)) => pdf,
            Ok(Err(detail)) => {
                return Err(CacheError::BadInput(format!(
                    "the document could not be made: {detail}"
                )))
            }
            Err(_) => {
                tracing::error!(kind = %document.kind, "rendering a document panicked; its number stays reserved for the retry");
                return Err(render_failed());
            }
        };
        self.write(move |connection| complete_document(connection, &vault, &document, &number, pdf))
            .await
    }

    /// [`record_reprint`] on the writer thread.
    pub async fn record_reprint(
        &self,
        number: String,
        pdf: Vec<u8>,
        actor: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<String, CacheError> {
        self.write(move |connection| record_reprint(connection, &number, &pdf, &actor, at))
            .await
    }

    pub async fn documents_of(&self, case_id: &str) -> Result<Vec<DocumentRow>, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| documents_of(connection, &case_id))
            .await
    }

    /// [`stored_document`] on a reader.
    pub async fn stored_document(
        &self,
        vault: std::sync::Arc<AttachmentVault>,
        case_id: &str,
        number: &str,
    ) -> Result<(DocumentRow, Vec<u8>), CacheError> {
        let (case_id, number) = (case_id.to_owned(), number.to_owned());
        self.read(move |connection| stored_document(connection, &vault, &case_id, &number))
            .await
    }

    pub async fn document_facts(&self, case_id: &str) -> Result<DocumentFacts, CacheError> {
        let case_id = case_id.to_owned();
        self.read(move |connection| document_facts(connection, &case_id))
            .await
    }
}
