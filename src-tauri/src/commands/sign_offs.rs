//! Requests for a supervisor's sign-off that wait on the desk: an override
//! of the core's proposal for a draft (asked at the decision step), and
//! the reopening of a terminated case (asked from the Cases screen). The
//! rules are `offline_cache::sign_offs` and `forms::decision`.

use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// A request as the clerk and the supervisor see it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SignOffRequestView {
    pub id: String,
    /// `override` or `reopen`.
    pub kind: String,
    pub case_id: Option<String>,
    pub draft_id: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub reason: String,
    /// What the request is about, for the desk (the intake's title or the
    /// case number, and for an override the proposed and wanted decisions).
    pub title_zh: String,
    pub title_en: String,
    pub proposed: Option<String>,
    pub wanted: Option<String>,
    /// `waiting`, `approved` or `refused`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

pub(crate) fn request_view(
    request: offline_cache::sign_offs::SignOffRequest,
    users: &[offline_cache::accounts::User],
) -> SignOffRequestView {
    let name = |id: &str| {
        users
            .iter()
            .find(|user| user.id == id)
            .map_or_else(|| id.to_owned(), |user| user.display_name.clone())
    };
    let text = |key: &str| {
        request
            .detail
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    SignOffRequestView {
        kind: match request.kind {
            offline_cache::sign_offs::RequestKind::Override => "override".into(),
            offline_cache::sign_offs::RequestKind::Reopen => "reopen".into(),
        },
        title_zh: text("title_zh").unwrap_or_default(),
        title_en: text("title_en").unwrap_or_default(),
        proposed: text("proposed"),
        wanted: text("wanted"),
        requested_by: name(&request.requested_by),
        decided_by: request.decided_by.as_deref().map(name),
        id: request.id,
        case_id: request.case_id,
        draft_id: request.draft_id,
        requested_at: request.requested_at,
        reason: request.reason,
        state: request.state,
        decision_note: request.decision_note,
    }
}

pub(crate) async fn views(
    state: &AppState,
    requests: Vec<offline_cache::sign_offs::SignOffRequest>,
) -> Result<Vec<SignOffRequestView>, UiError> {
    let sync = state.service()?;
    let users = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(requests
        .into_iter()
        .map(|request| request_view(request, &users))
        .collect())
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Asks a supervisor to reopen a terminated case, with the reason.
#[tauri::command]
#[specta::specta]
pub async fn request_reopen(
    state: State<'_, AppState>,
    case_id: String,
    reason: String,
) -> Result<SignOffRequestView, UiError> {
    let actor = require(&state, "request_reopen")?;
    let sync = state.service()?;
    let case = sync
        .store
        .case(&case_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let request = sync
        .store
        .request_sign_off(
            offline_cache::sign_offs::RequestKind::Reopen,
            Some(case_id),
            None,
            reason,
            serde_json::json!({
                "title_zh": format!("重新办理 {}", case.case_number),
                "title_en": format!("Reopen {}", case.case_number),
            }),
            actor,
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(views(&state, vec![request]).await?.remove(0))
}

/// The latest sign-off request about a draft (its decision step shows it).
#[tauri::command]
#[specta::specta]
pub async fn draft_sign_off(
    state: State<'_, AppState>,
    draft_id: String,
) -> Result<Option<SignOffRequestView>, UiError> {
    require(&state, "draft_sign_off")?;
    let sync = state.service()?;
    let request = sync
        .store
        .request_for_draft(draft_id)
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(match request {
        Some(request) => Some(views(&state, vec![request]).await?.remove(0)),
        None => None,
    })
}

/// A supervisor approves or refuses a waiting request (a note is kept).
#[tauri::command]
#[specta::specta]
pub async fn decide_sign_off(
    state: State<'_, AppState>,
    request_id: String,
    approve: bool,
    note: Option<String>,
) -> Result<SignOffRequestView, UiError> {
    let supervisor = require(&state, "decide_sign_off")?;
    let sync = state.service()?;
    let note = note
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let decided = sync
        .store
        .decide_sign_off(request_id, approve, note, supervisor, now())
        .await
        .map_err(|error| cache_error(&error))?;
    sync.wake();
    Ok(views(&state, vec![decided]).await?.remove(0))
}
