//! Results issuance at the one window (统一窗口出件) and the applicant's
//! rating (好差评). The rules (identity check, one issuance, one rating per
//! visit, bad ratings flagged) are `offline_cache::results`; this file
//! shapes them for the window and issues the issuance receipt.

use serde::{Deserialize, Serialize};
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::commands::printing::{issue, stored_view, window_actor, DocumentView};
use crate::error::UiError;
use crate::print::DocumentKind;
use crate::state::AppState;

/// A result waiting to be issued.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReadyRow {
    pub case_id: String,
    pub case_number: String,
    pub applicant_name: String,
    /// Masked (first six and last four characters).
    pub applicant_identifier: String,
    pub items_zh: Vec<String>,
    /// `approved` or `refused`.
    pub outcome: String,
    pub ready_since: String,
}

/// How the clerk hands the result over.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum IssueMethodEntry {
    Window {
        received_by: String,
        collector_identifier: String,
        agent: bool,
    },
    Mail {
        address_zh: String,
        carrier: String,
        tracking_number: String,
    },
}

/// An issued result with its receipt.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IssuanceOutcome {
    pub case_id: String,
    pub case_number: String,
    pub state: String,
    pub document: DocumentView,
}

/// The visit being rated.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum VisitEntry {
    Intake,
    Issuance,
}

/// A recorded rating.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RatingView {
    pub case_number: String,
    pub level: u8,
    /// `none`, `open` (a bad rating to follow up) or `done`.
    pub follow_up: String,
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Results ready at this hall, longest waiting first.
#[tauri::command]
#[specta::specta]
pub async fn results_ready(state: State<'_, AppState>) -> Result<Vec<ReadyRow>, UiError> {
    require(&state, "results_ready")?;
    let sync = state.service()?;
    let ready = sync
        .store
        .results_ready()
        .await
        .map_err(|error| cache_error(&error))?;
    let catalog = state.catalog();
    let catalog = catalog.as_deref();
    Ok(ready
        .into_iter()
        .map(|result| ReadyRow {
            items_zh: result
                .case
                .item_versions
                .keys()
                .map(|id| {
                    catalog
                        .and_then(|catalog| catalog.item(id))
                        .map_or_else(|| id.clone(), |item| item.name_zh.clone())
                })
                .collect(),
            case_id: result.case.id,
            case_number: result.case.case_number,
            applicant_name: result.case.applicant_name.unwrap_or_default(),
            applicant_identifier: forms::identifiers::mask_identifier(&result.applicant_identifier),
            outcome: result.outcome,
            ready_since: result.ready_since,
        })
        .collect())
}

/// Issues a result at the window or by mail, and its issuance receipt. A
/// second call for the same case returns the first issuance and receipt.
#[tauri::command]
#[specta::specta]
pub async fn issue_result(
    state: State<'_, AppState>,
    case_id: String,
    method: IssueMethodEntry,
    results_zh: Vec<String>,
) -> Result<IssuanceOutcome, UiError> {
    require(&state, "issue_result")?;
    use offline_cache::results::IssueMethod;
    let sync = state.service()?;
    let method = match method {
        IssueMethodEntry::Window {
            received_by,
            collector_identifier,
            agent,
        } => IssueMethod::Window {
            received_by: received_by.trim().to_owned(),
            collector_identifier: collector_identifier.trim().to_uppercase(),
            agent,
        },
        IssueMethodEntry::Mail {
            address_zh,
            carrier,
            tracking_number,
        } => IssueMethod::Mail {
            address_zh: address_zh.trim().to_owned(),
            carrier: carrier.trim().to_owned(),
            tracking_number: tracking_number.trim().to_owned(),
        },
    };
    sync.store
        .issue_result(offline_cache::results::IssueResult {
            case_id: case_id.clone(),
            method,
            results_zh,
            actor: window_actor(&state)?,
            at: now(),
        })
        .await
        .map_err(|error| cache_error(&error))?;
    let case = sync
        .store
        .case(&case_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let documents = sync
        .store
        .documents_of(&case_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let kind = DocumentKind::IssuanceReceipt;
    let document = match documents
        .iter()
        .find(|document| document.kind == kind.slug())
    {
        Some(found) => stored_view(&state, &case_id, &found.number, kind).await?,
        None => issue(&state, &case_id, kind).await?,
    };
    Ok(IssuanceOutcome {
        case_id,
        case_number: case.case_number,
        state: case.state.as_str().into(),
        document,
    })
}

/// Records the applicant's rating of a visit (5 非常满意 … 1 非常不满意).
#[tauri::command]
#[specta::specta]
pub async fn record_rating(
    state: State<'_, AppState>,
    case_id: String,
    visit: VisitEntry,
    level: u8,
    reasons: Vec<String>,
    comment: Option<String>,
) -> Result<RatingView, UiError> {
    require(&state, "record_rating")?;
    let sync = state.service()?;
    let record = sync
        .store
        .record_rating(
            offline_cache::results::NewRating {
                case_id,
                visit: match visit {
                    VisitEntry::Intake => offline_cache::results::Visit::Intake,
                    VisitEntry::Issuance => offline_cache::results::Visit::Issuance,
                },
                level,
                reasons,
                comment,
                at: now(),
            },
            window_actor(&state)?,
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(RatingView {
        case_number: record.case_number,
        level: record.level,
        follow_up: record.follow_up,
    })
}
