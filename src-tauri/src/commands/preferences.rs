//! Interface preferences: read them, change the language, and (for an
//! administrator) the idle lock's minutes. Every change is saved, takes
//! effect at once and is announced to the window.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_specta::Event;

use crate::access::require;
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

/// Applies `change` to the preferences, saves them and tells the window.
pub(crate) fn change_preferences<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    change: impl FnOnce(&mut Preferences),
) -> Result<Preferences, UiError> {
    let updated = {
        let mut current = state
            .preferences
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut updated: Preferences = current.clone();
        change(&mut updated);
        state.preferences_file.save(&updated)?;
        *current = updated.clone();
        updated
    };
    if let Err(error) = (PreferencesChanged {
        preferences: updated.clone(),
    })
    .emit(app)
    {
        tracing::warn!(%error, "could not announce the preference change");
    }
    Ok(updated)
}

/// Saves the interface language; the change survives a restart.
#[tauri::command]
#[specta::specta]
pub fn set_language<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    language: Language,
) -> Result<Preferences, UiError> {
    let updated = change_preferences(&app, &state, |preferences| {
        preferences.language = language;
    })?;
    tracing::info!(?language, "interface language changed");
    Ok(updated)
}

/// The idle lock's allowed range, in minutes (it cannot be switched off).
pub const IDLE_LOCK_RANGE: std::ops::RangeInclusive<u32> = crate::preferences::IDLE_LOCK_RANGE;

/// Sets the minutes without input before the workstation locks itself
/// (an administrator's setting, 1 to 60).
#[tauri::command]
#[specta::specta]
pub async fn set_idle_lock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    minutes: u32,
) -> Result<Preferences, UiError> {
    require(&state, "set_idle_lock")?;
    if !IDLE_LOCK_RANGE.contains(&minutes) {
        return Err(UiError {
            code: "bad_idle_lock".into(),
            message_zh: format!(
                "自动锁屏时间须在 {} 到 {} 分钟之间（填写的是 {minutes}）。",
                IDLE_LOCK_RANGE.start(),
                IDLE_LOCK_RANGE.end()
            ),
            message_en: format!(
                "The idle lock must be between {} and {} minutes (you entered {minutes}).",
                IDLE_LOCK_RANGE.start(),
                IDLE_LOCK_RANGE.end()
            ),
        });
    }
    let updated = change_preferences(&app, &state, |preferences| {
        preferences.idle_lock_minutes = minutes;
    })?;
    tracing::info!(minutes, "idle lock changed");
    // The session view carries the minutes the window's timer uses.
    crate::commands::session::announce(&app, &state).await?;
    Ok(updated)
}
