//! Documents at the window: the printer and paper, a test page to preview
//! and print, and a case's documents: issue (numbered, stored encrypted with
//! the case, hash in the audit log), print, reprint as 副本, save to a file.
//! Rendering is `crate::print`; storing is `offline_cache::documents`.

use base64::Engine;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::access::require;
use crate::backoffice::cache_error;
use crate::commands::preferences::change_preferences;
use crate::error::UiError;
use crate::preferences::Preferences;
use crate::print::{self, printer, Delivery, DocumentInput, DocumentKind, Layout};
use crate::state::{AppState, Mode};

/// A made document for the preview (pdf.js) and the clerk's next step.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DocumentView {
    pub kind: DocumentKind,
    pub number: String,
    pub sha256: String,
    pub pages: u32,
    /// The PDF, base64-encoded.
    pub pdf_base64: String,
    /// Characters no font could draw, printed as 〓.
    pub missing_characters: Vec<String>,
}

/// A job handed to CUPS.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PrintJob {
    pub printer: String,
    pub job_id: String,
}

pub(crate) fn preferences(state: &AppState) -> Preferences {
    state
        .preferences
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The CUPS printers of this machine.
#[tauri::command]
#[specta::specta]
pub fn list_printers(state: State<'_, AppState>) -> Result<Vec<String>, UiError> {
    require(&state, "list_printers")?;
    Ok(printer::printers())
}

/// Chooses the printer and its paper; remembered across restarts.
#[tauri::command]
#[specta::specta]
pub fn set_printing<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    printer: Option<String>,
    paper: Layout,
) -> Result<Preferences, UiError> {
    require(&state, "set_printing")?;
    let updated = change_preferences(&app, &state, |preferences| {
        preferences.printer = printer.filter(|name| !name.trim().is_empty());
        preferences.paper = paper;
    })?;
    Ok(updated)
}

fn test_page(
    folders: &crate::config::Folders,
    paper: Layout,
) -> Result<(DocumentInput, print::Rendered), UiError> {
    let mut input = print::sample::input(
        &folders.catalog,
        &folders.calendar,
        DocumentKind::AcceptanceReceipt,
    )
    .map_err(|detail| UiError {
        code: "test_page".into(),
        message_zh: format!("测试页无法生成：{detail}"),
        message_en: format!("The test page could not be made: {detail}"),
    })?;
    // A test page is never a valid document.
    input.practice = true;
    let rendered = print::render(&input, paper)?;
    Ok((input, rendered))
}

/// A sample receipt, marked void, on the chosen paper: to check the
/// printer and the layout.
#[tauri::command]
#[specta::specta]
pub fn preview_test_page(
    state: State<'_, AppState>,
    paper: Layout,
) -> Result<DocumentView, UiError> {
    require(&state, "preview_test_page")?;
    let (input, rendered) = test_page(&state.settings.folders, paper)?;
    Ok(DocumentView {
        kind: input.kind,
        number: input.document_number,
        sha256: sha256(&rendered.bytes),
        pages: rendered.pages as u32,
        pdf_base64: encode(&rendered.bytes),
        missing_characters: Vec::new(),
    })
}

/// Prints the test page on the chosen printer.
#[tauri::command]
#[specta::specta]
pub fn print_test_page(state: State<'_, AppState>) -> Result<PrintJob, UiError> {
    require(&state, "print_test_page")?;
    let chosen = preferences(&state);
    let (_, rendered) = test_page(&state.settings.folders, chosen.paper)?;
    let job_id = printer::print(
        chosen.printer.as_deref(),
        "OneWindow test page",
        &rendered.bytes,
    )?;
    Ok(PrintJob {
        printer: chosen.printer.unwrap_or_default(),
        job_id,
    })
}

/// The document input of a stored case.
async fn case_input(
    state: &AppState,
    case_id: &str,
    kind: DocumentKind,
) -> Result<DocumentInput, UiError> {
    let sync = state.service()?;
    let facts = sync
        .store
        .document_facts(case_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let proposal = serde_json::from_value(facts.proposal.clone()).map_err(|error| UiError {
        code: "proposal_unreadable".into(),
        message_zh: format!("办件 {} 的受理决定无法读取，不能出具文书。请联系系统管理员。", facts.case_number),
        message_en: format!("The decision of case {} cannot be read ({error}), so no document can be made. Call your administrator.", facts.case_number),
    })?;
    let accepted_at = chrono::DateTime::parse_from_rfc3339(&facts.accepted_at)
        .unwrap_or_else(|_| chrono::Local::now().fixed_offset());
    // The clerk as the hall knows them (their account's name).
    let clerk_name = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .find(|user| user.id == facts.clerk_id)
        .map_or_else(|| facts.clerk_id.clone(), |user| user.display_name);
    // An issuance receipt prints what was handed over, to whom or where.
    let mut delivery = Delivery::PickUp {
        place_zh: "综合出件窗口".into(),
    };
    let mut issuance = None;
    if kind == DocumentKind::IssuanceReceipt {
        if let Some(record) = sync
            .store
            .issuance_of(case_id)
            .await
            .map_err(|error| cache_error(&error))?
        {
            let issued_at =
                chrono::DateTime::parse_from_rfc3339(&record.issued_at).unwrap_or(accepted_at);
            let received_by = match &record.method {
                offline_cache::results::IssueMethod::Window {
                    received_by, agent, ..
                } => {
                    if *agent {
                        format!("{received_by}（代领）")
                    } else {
                        received_by.clone()
                    }
                }
                offline_cache::results::IssueMethod::Mail {
                    address_zh,
                    carrier,
                    tracking_number,
                } => {
                    delivery = Delivery::Mail {
                        address_zh: address_zh.clone(),
                        tracking_number: Some(format!("{carrier} {tracking_number}")),
                    };
                    format!("邮寄（{carrier}）")
                }
            };
            issuance = Some(print::Issuance {
                results_zh: record.results_zh,
                issued_at,
                received_by,
            });
        }
    }
    let termination = facts
        .termination
        .as_ref()
        .map(|(at, reason_zh)| print::Termination {
            terminated_at: chrono::DateTime::parse_from_rfc3339(at).unwrap_or(accepted_at),
            reason_zh: reason_zh.clone(),
        });
    Ok(DocumentInput {
        kind,
        hall_name_zh: state.workstation.hall_name_zh.clone(),
        window: facts.window.clone(),
        clerk_name,
        document_number: String::new(),
        case_number: facts.case_number.clone(),
        applicant_name: facts.applicant_name.clone(),
        applicant_identifier: facts.applicant_identifier.clone(),
        accepted_at,
        proposal,
        progress_url: state.settings.progress.url_for(&facts.case_number),
        progress_phone: state.settings.progress.phone.clone(),
        delivery,
        issuance,
        termination,
        copy: false,
        practice: state.mode() == Mode::Practice,
    })
}

/// Who acts: the signed-in user (commands check the session first).
pub(crate) fn window_actor(state: &AppState) -> Result<offline_cache::cases::Actor, UiError> {
    state
        .session
        .get()
        .map(|session| session.user.actor())
        .ok_or_else(crate::access::not_signed_in)
}

/// Issues a document for a case: numbered, rendered, stored encrypted with
/// the case and its hash audited, in one transaction; returns it for the
/// preview.
#[tauri::command]
#[specta::specta]
pub async fn issue_document(
    state: State<'_, AppState>,
    case_id: String,
    kind: DocumentKind,
) -> Result<DocumentView, UiError> {
    require(&state, "issue_document")?;
    issue(&state, &case_id, kind).await
}

/// Issues a document of `kind` for a case (see `issue_document`).
pub(crate) async fn issue(
    state: &AppState,
    case_id: &str,
    kind: DocumentKind,
) -> Result<DocumentView, UiError> {
    let sync = state.service()?;
    let input = case_input(state, case_id, kind).await?;
    let paper = preferences(state).paper;
    let missing = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), 0usize)));
    let seen = missing.clone();
    let issued = sync
        .store
        .issue_document(
            sync.vault.clone(),
            offline_cache::documents::NewDocument {
                case_id: case_id.to_owned(),
                kind: kind.slug().into(),
                kind_text: kind.number_word().into(),
                at: chrono::Local::now().fixed_offset(),
                actor: window_actor(state)?,
            },
            move |number| {
                let mut input = input;
                input.document_number = number.to_owned();
                let rendered = print::render(&input, paper).map_err(|error| error.to_string())?;
                if let Ok(mut slot) = seen.lock() {
                    *slot = (rendered.missing_characters.clone(), rendered.pages);
                }
                Ok(rendered.bytes)
            },
        )
        .await
        .map_err(|error| cache_error(&error))?;
    let (missing_characters, pages) = missing.lock().map(|slot| slot.clone()).unwrap_or_default();
    Ok(DocumentView {
        kind,
        number: issued.number,
        sha256: issued.sha256,
        pages: pages as u32,
        pdf_base64: encode(&issued.pdf),
        missing_characters: missing_characters.iter().map(char::to_string).collect(),
    })
}

/// A document already issued, as stored, for the preview.
pub(crate) async fn stored_view(
    state: &AppState,
    case_id: &str,
    number: &str,
    kind: DocumentKind,
) -> Result<DocumentView, UiError> {
    let sync = state.service()?;
    let (row, bytes) = sync
        .store
        .stored_document(sync.vault.clone(), case_id, number)
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(DocumentView {
        kind,
        number: row.number,
        sha256: row.sha256,
        pages: 0,
        pdf_base64: encode(&bytes),
        missing_characters: Vec::new(),
    })
}

/// Prints an issued document. `copy`: a reprint, made again from the case
/// and marked 副本, logged with its hash.
#[tauri::command]
#[specta::specta]
pub async fn print_document(
    state: State<'_, AppState>,
    case_id: String,
    number: String,
    copy: bool,
) -> Result<PrintJob, UiError> {
    require(&state, "print_document")?;
    let sync = state.service()?;
    let chosen = preferences(&state);
    let printer_name = chosen.printer.clone().ok_or(print::PrintError::NoPrinter)?;
    let (row, stored) = sync
        .store
        .stored_document(sync.vault.clone(), &case_id, &number)
        .await
        .map_err(|error| cache_error(&error))?;
    let bytes = if copy {
        let kind = DocumentKind::from_slug(&row.kind).ok_or_else(|| UiError {
            code: "unknown_document_kind".into(),
            message_zh: format!("文书 {number} 的种类“{}”无法识别，不能补打。请联系系统管理员。", row.kind),
            message_en: format!("Document {number} is of an unknown kind `{}` and cannot be reprinted. Call your administrator.", row.kind),
        })?;
        let mut input = case_input(&state, &case_id, kind).await?;
        input.document_number = number.clone();
        input.copy = true;
        let bytes = print::render(&input, chosen.paper)?.bytes;
        sync.store
            .record_reprint(
                number.clone(),
                bytes.clone(),
                window_actor(&state)?,
                chrono::Local::now().fixed_offset(),
            )
            .await
            .map_err(|error| cache_error(&error))?;
        bytes
    } else {
        stored
    };
    let job_id = printer::print(Some(&printer_name), &number, &bytes)?;
    Ok(PrintJob {
        printer: printer_name,
        job_id,
    })
}

/// Saves an issued document (as stored) to the exports folder; returns the
/// path. The file is readable by this account only (0600) and written whole
/// (`offline_cache::exports`); the saving is audited (who, which case, which
/// number, the file name) before the file appears under its name.
#[tauri::command]
#[specta::specta]
pub async fn save_document(
    state: State<'_, AppState>,
    case_id: String,
    number: String,
) -> Result<String, UiError> {
    let actor = require(&state, "save_document")?;
    let sync = state.service()?;
    let (_, bytes) = sync
        .store
        .stored_document(sync.vault.clone(), &case_id, &number)
        .await
        .map_err(|error| cache_error(&error))?;
    let file_name: String = number
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let file_name = format!("{file_name}.pdf");
    let path = state.paths.data_dir.join("exports").join(&file_name);
    let staged =
        offline_cache::exports::stage(&path, &bytes).map_err(|error| cache_error(&error))?;
    sync.store
        .record_saved_document(
            case_id,
            number,
            file_name,
            actor,
            chrono::Local::now().fixed_offset(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    let path = staged.publish().map_err(|error| cache_error(&error))?;
    Ok(path.display().to_string())
}
