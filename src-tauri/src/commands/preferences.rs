//! Interface preferences: read them, and change the language.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_specta::Event;

use crate::error::UiError;
use crate::preferences::{Language, Preferences};
use crate::state::AppState;

/// Sent to every window after the preferences changed.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct PreferencesChanged {
    pub preferences: Preferences,
}

#[tauri::command]
#[specta::specta]
pub fn get_preferences(state: State<'_, AppState>) -> Result<Preferences, UiError> {
    Ok(state
        .preferences
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone())
}

/// Saves the interface language; the change survives a restart.
#[tauri::command]
#[specta::specta]
pub fn set_language<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    language: Language,
) -> Result<Preferences, UiError> {
    let updated = {
        let mut current = state
            .preferences
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut updated: Preferences = current.clone();
        updated.language = language;
        state.preferences_file.save(&updated)?;
        *current = updated.clone();
        updated
    };
    tracing::info!(?language, "interface language changed");
    if let Err(error) = (PreferencesChanged {
        preferences: updated.clone(),
    })
    .emit(&app)
    {
        tracing::warn!(%error, "could not announce the preference change");
    }
    Ok(updated)
}
