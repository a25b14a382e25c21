//! Sync with the back offices: how it stands, a pass on demand, and the
//! retry of a case a back office refused once it has been corrected.

use tauri::State;

use crate::access::require;
use crate::backoffice::{unavailable_overview, SyncOverview};
use crate::commands::printing::window_actor;
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
    sync.retry(row_id, window_actor(&state)?).await?;
    sync.pass().await
}

/// "Send all again": every case of `system` a back office refused goes
/// back in the queue (each audited under the signed-in user).
#[tauri::command]
#[specta::specta]
pub async fn retry_all_quarantined(
    state: State<'_, AppState>,
    system: String,
) -> Result<SyncOverview, UiError> {
    require(&state, "retry_all_quarantined")?;
    let sync = state.service()?;
    sync.retry_all(system, window_actor(&state)?).await?;
    sync.pass().await
}

/// A supervisor corrects fields of a refused case (old and new values kept,
/// audited) and sends it again.
#[tauri::command]
#[specta::specta]
pub async fn correct_quarantined(
    state: State<'_, AppState>,
    row_id: u32,
    corrections: Vec<FieldCorrectionInput>,
    note: String,
) -> Result<SyncOverview, UiError> {
    require(&state, "correct_quarantined")?;
    let sync = state.service()?;
    let corrections = corrections
        .into_iter()
        .map(|correction| offline_cache::sync::FieldCorrection {
            item_id: correction.item_id,
            field_id: correction.field_id,
            value: correction.value,
        })
        .collect();
    sync.correct(row_id, corrections, note, window_actor(&state)?)
        .await?;
    sync.pass().await
}

/// Sending to a paused system starts again now (its token or address was
/// mended).
#[tauri::command]
#[specta::specta]
pub async fn resume_system(
    state: State<'_, AppState>,
    system: String,
) -> Result<SyncOverview, UiError> {
    require(&state, "resume_system")?;
    let sync = state.service()?;
    sync.resume(system, window_actor(&state)?).await?;
    sync.pass().await
}

/// One field of a refused case, as the supervisor sees it to correct it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct RefusedField {
    pub item_id: String,
    pub item_name_zh: String,
    pub item_name_en: String,
    pub field_id: String,
    pub label_zh: String,
    pub label_en: String,
    /// The value as sent, as text (a repeat group's rows as JSON).
    pub value: String,
}

/// The fields a refused case sent, with their labels and values, so the
/// supervisor picks the one the back office named instead of typing ids.
#[tauri::command]
#[specta::specta]
pub async fn refused_case_fields(
    state: State<'_, AppState>,
    row_id: u32,
) -> Result<Vec<RefusedField>, UiError> {
    require(&state, "refused_case_fields")?;
    let sync = state.service()?;
    let values = sync.refused_values(row_id).await?;
    let catalog = state.catalog();
    let mut fields = Vec::new();
    for (item_id, item_values) in values {
        let item = catalog.as_ref().and_then(|catalog| catalog.item(&item_id));
        for (field_id, value) in item_values {
            let field = item.and_then(|item| item.field(&field_id));
            fields.push(RefusedField {
                item_name_zh: item.map_or_else(|| item_id.clone(), |item| item.name_zh.clone()),
                item_name_en: item.map_or_else(|| item_id.clone(), |item| item.name_en.clone()),
                label_zh: field.map_or_else(|| field_id.clone(), |field| field.label_zh.clone()),
                label_en: field.map_or_else(|| field_id.clone(), |field| field.label_en.clone()),
                value: match &value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                },
                item_id: item_id.clone(),
                field_id,
            });
        }
    }
    Ok(fields)
}

/// One field of a refused case as the supervisor corrects it.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
pub struct FieldCorrectionInput {
    pub item_id: String,
    pub field_id: String,
    /// The new value, as the form holds it (text, number, ...).
    #[specta(type = specta_typescript::Unknown)]
    pub value: serde_json::Value,
}
