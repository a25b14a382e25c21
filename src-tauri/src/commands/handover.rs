//! Shift handover at this window: the leaving clerk records the open work
//! and signs out; the next clerk and a supervisor acknowledge it (the
//! next clerk's acknowledgement moves the drafts). The rules are
//! `offline_cache::handover`.

use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// One open thing of a handover.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct OpenWorkRow {
    pub id: String,
    pub label: String,
    pub since: String,
}

/// A handover as the window shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct HandoverView {
    pub id: String,
    pub window: String,
    pub from_user: String,
    pub from_name: String,
    pub created_at: String,
    pub drafts: Vec<OpenWorkRow>,
    pub pending_gaps: Vec<OpenWorkRow>,
    pub results_to_issue: Vec<OpenWorkRow>,
    pub parked_tickets: Vec<OpenWorkRow>,
    pub clerk_acknowledged: bool,
    pub supervisor_acknowledged: bool,
}

fn rows(work: Vec<offline_cache::handover::OpenWork>) -> Vec<OpenWorkRow> {
    work.into_iter()
        .map(|work| OpenWorkRow {
            id: work.id,
            label: work.label,
            since: work.since,
        })
        .collect()
}

async fn view(
    state: &AppState,
    handover: offline_cache::handover::Handover,
) -> Result<HandoverView, UiError> {
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let from_name = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .find(|user| user.id == handover.from_user)
        .map_or_else(|| handover.from_user.clone(), |user| user.display_name);
    Ok(HandoverView {
        clerk_acknowledged: handover.to_acknowledged_at.is_some(),
        supervisor_acknowledged: handover.supervisor_acknowledged_at.is_some(),
        id: handover.id,
        window: handover.window,
        from_user: handover.from_user,
        from_name,
        created_at: handover.created_at,
        drafts: rows(handover.report.drafts),
        pending_gaps: rows(handover.report.pending_gaps),
        results_to_issue: rows(handover.report.results_to_issue),
        parked_tickets: rows(handover.report.parked_tickets),
    })
}

/// The signed-in clerk ends the shift: records the open work of this window.
#[tauri::command]
#[specta::specta]
pub async fn prepare_handover(state: State<'_, AppState>) -> Result<HandoverView, UiError> {
    let clerk = require(&state, "prepare_handover")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let handover = sync
        .store
        .prepare_handover(
            state.workstation.window_number.clone(),
            clerk,
            chrono::Local::now().fixed_offset(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    view(&state, handover).await
}

/// This window's handover still waiting for an acknowledgement, if any.
#[tauri::command]
#[specta::specta]
pub async fn pending_handover(state: State<'_, AppState>) -> Result<Option<HandoverView>, UiError> {
    require(&state, "pending_handover")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let pending = sync
        .store
        .pending_handover(state.workstation.window_number.clone())
        .await
        .map_err(|error| cache_error(&error))?;
    match pending {
        Some(handover) => Ok(Some(view(&state, handover).await?)),
        None => Ok(None),
    }
}

/// The next clerk or a supervisor acknowledges the handover.
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_handover(
    state: State<'_, AppState>,
    handover_id: String,
) -> Result<HandoverView, UiError> {
    let actor = require(&state, "acknowledge_handover")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let handover = sync
        .store
        .acknowledge_handover(handover_id, actor, chrono::Local::now().fixed_offset())
        .await
        .map_err(|error| cache_error(&error))?;
    view(&state, handover).await
}
