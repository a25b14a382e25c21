//! `app_info`: what the Settings → About page shows.

use serde::Serialize;
use tauri::State;

use crate::error::UiError;
use crate::state::{AppState, Mode, Workstation};

/// Facts about the running app for the About page and the top bar.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub log_dir: String,
    pub config_dir: String,
    /// The loaded service-item catalogue's version; `None` while none is loaded.
    pub catalog_version: Option<String>,
    /// The year whose holiday notice (calendar file) is missing today: this
    /// year without one, or from 1 October next year. Dates counted into it
    /// are provisional; an administrator loads the file in Settings.
    pub calendar_missing_year: Option<i32>,
    pub mode: Mode,
    pub workstation: Workstation,
}

// Async, so it runs off the window's thread: the catalogue's version waits
// for the opening at start-up (`AppState::open`).
#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo, UiError> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state.paths.data_dir.display().to_string(),
        log_dir: state.paths.log_dir.display().to_string(),
        config_dir: state.paths.config_dir.display().to_string(),
        catalog_version: state
            .catalog()
            .as_ref()
            .map(|catalog| catalog.version.clone()),
        calendar_missing_year: {
            let today = chrono::Local::now().date_naive();
            match state.calendar() {
                Some(calendar) => calendar.missing_notice(today),
                None => Some(chrono::Datelike::year(&today)),
            }
        },
        mode: state.mode(),
        workstation: state.workstation.clone(),
    })
}
