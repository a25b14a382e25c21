//! Sync with the back offices: how it stands, a pass on demand, and the
//! retry of a case a back office refused once it has been corrected.

use tauri::State;

use crate::access::require;
use crate::backoffice::{unavailable_overview, SyncOverview};
use crate::error::UiError;
use crate::state::AppState;

/// How sync stands (the same shape as the `SyncOverview` event).
#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> Result<SyncOverview, UiError> {
    require(&state, "sync_status")?;
    match state.service() {
        Ok(sync) => sync.overview().await,
        Err(problem) => Ok(unavailable_overview(&problem)),
    }
}

/// Runs one sync pass now and returns how things stand after it.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>) -> Result<SyncOverview, UiError> {
    require(&state, "sync_now")?;
    match state.service() {
        Ok(sync) => {
            let overview = sync.pass().await;
            sync.wake();
            overview
        }
        Err(problem) => Ok(unavailable_overview(&problem)),
    }
}

/// Puts a quarantined case back in the queue after it was corrected.
#[tauri::command]
#[specta::specta]
pub async fn retry_quarantined(
    state: State<'_, AppState>,
    row_id: u32,
) -> Result<SyncOverview, UiError> {
    require(&state, "retry_quarantined")?;
    let sync = state.service()?;
    // Until sign-in exists (accounts issue), the window's clerk acts.
    let actor = offline_cache::cases::Actor {
        user_id: format!("window-{}", state.workstation.window_number),
        role: offline_cache::lifecycle::Role::Clerk,
    };
    sync.retry(row_id, actor).await?;
    sync.pass().await
}
