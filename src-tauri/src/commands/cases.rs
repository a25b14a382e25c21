//! The Cases screen: today's cases of this window, a search (case number,
//! applicant ID number or credit code, name), and one case's timeline,
//! documents and sync state. Reading only; the store answers.

use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// A case in a list.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CaseRow {
    pub id: String,
    pub case_number: String,
    pub state: String,
    pub created_at: String,
    pub applicant_name: Option<String>,
    /// Item names (zh-CN, en).
    pub items: Vec<(String, String)>,
}

/// One step of a case's history.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TimelineRow {
    pub at: String,
    pub actor: String,
    pub action: String,
}

/// An issued document of a case.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CaseDocument {
    pub number: String,
    pub kind: String,
    pub issued_at: String,
    pub sha256: String,
}

/// Where the case stands with one back office.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CaseSync {
    pub system: String,
    pub name_zh: String,
    pub name_en: String,
    pub state: String,
    pub receipt: Option<String>,
    pub outcome: Option<String>,
}

/// One case, in full.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CaseDetail {
    pub case: CaseRow,
    pub timeline: Vec<TimelineRow>,
    pub documents: Vec<CaseDocument>,
    pub sync: Vec<CaseSync>,
}

pub(crate) fn row(state: &AppState, summary: offline_cache::cases::CaseSummary) -> CaseRow {
    let items = summary
        .item_versions
        .keys()
        .map(|id| {
            state
                .catalog()
                .as_ref()
                .and_then(|catalog| catalog.item(id))
                .map(|item| (item.name_zh.clone(), item.name_en.clone()))
                .unwrap_or_else(|| (id.clone(), id.clone()))
        })
        .collect();
    CaseRow {
        id: summary.id,
        case_number: summary.case_number,
        state: serde_json::to_value(summary.state)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default(),
        created_at: summary.created_at,
        applicant_name: summary.applicant_name,
        items,
    }
}

fn rows(state: &AppState, cases: Vec<offline_cache::cases::CaseSummary>) -> Vec<CaseRow> {
    cases
        .into_iter()
        .map(|summary| row(state, summary))
        .collect()
}

/// This window's cases of today, newest first.
#[tauri::command]
#[specta::specta]
pub async fn cases_today(state: State<'_, AppState>) -> Result<Vec<CaseRow>, UiError> {
    require(&state, "cases_today")?;
    let sync = state.service()?;
    let day = chrono::Local::now().format("%Y-%m-%d").to_string();
    let cases = sync
        .store
        .cases_for_window_day(&state.workstation.window_number, &day)
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(rows(&state, cases))
}

/// Cases matching a case number, an ID number or credit code, or a name's start.
#[tauri::command]
#[specta::specta]
pub async fn search_cases(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<CaseRow>, UiError> {
    require(&state, "search_cases")?;
    let sync = state.service()?;
    let cases = sync
        .store
        .search_cases(&query)
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(rows(&state, cases))
}

/// The materials a back office asked for (a case in supplement_requested)
/// were handed in at the window: the case goes back to review and the
/// supplement is sent to the back office. The note says what was received.
#[tauri::command]
#[specta::specta]
pub async fn record_supplement(
    state: State<'_, AppState>,
    case_id: String,
    note: String,
) -> Result<CaseRow, UiError> {
    let actor = require(&state, "record_supplement")?;
    let sync = state.service()?;
    let error = |error: offline_cache::CacheError| cache_error(&error);
    sync.store
        .transition(
            &case_id,
            offline_cache::lifecycle::Event::Supplement,
            actor,
            chrono::Local::now().fixed_offset(),
            Some(note),
        )
        .await
        .map_err(error)?;
    sync.wake();
    let summary = sync.store.case(&case_id).await.map_err(error)?;
    Ok(row(&state, summary))
}

/// One case's timeline, documents and sync state.
#[tauri::command]
#[specta::specta]
pub async fn case_detail(
    state: State<'_, AppState>,
    case_id: String,
) -> Result<CaseDetail, UiError> {
    require(&state, "case_detail")?;
    let sync = state.service()?;
    let error = |error: offline_cache::CacheError| cache_error(&error);
    let summary = sync.store.case(&case_id).await.map_err(error)?;
    let timeline = sync.store.case_timeline(&case_id).await.map_err(error)?;
    let documents = sync.store.documents_of(&case_id).await.map_err(error)?;
    let sub_cases = sync.store.sub_cases_of(&case_id).await.map_err(error)?;
    let system_name = |id: &str| {
        state
            .catalog()
            .as_ref()
            .and_then(|catalog| catalog.systems.get(id))
            .map(|system| (system.name_zh.clone(), system.name_en.clone()))
            .unwrap_or_else(|| (id.to_owned(), id.to_owned()))
    };
    Ok(CaseDetail {
        case: row(&state, summary),
        timeline: timeline
            .into_iter()
            .map(|entry| TimelineRow {
                at: entry.at,
                actor: entry.actor,
                action: entry.action,
            })
            .collect(),
        documents: documents
            .into_iter()
            .map(|document| CaseDocument {
                number: document.number,
                kind: document.kind,
                issued_at: document.issued_at,
                sha256: document.sha256,
            })
            .collect(),
        sync: sub_cases
            .into_iter()
            .map(|sub_case| {
                let (name_zh, name_en) = system_name(&sub_case.back_office);
                CaseSync {
                    system: sub_case.back_office,
                    name_zh,
                    name_en,
                    state: sub_case.state,
                    receipt: sub_case.receipt,
                    outcome: sub_case.outcome,
                }
            })
            .collect(),
    })
}
