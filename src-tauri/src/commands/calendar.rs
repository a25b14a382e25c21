//! The working-day calendar in Settings: loading a year's holiday notice
//! file (checked by `forms::calendar` against the years in use, every
//! problem with its file and line; kept in the app's own data folder,
//! `<data>/holiday-notices`, since an installed app's calendar folder is
//! read-only; the calendar reloaded at once; audited). Whether next year's
//! file is missing is in `app_info`. Nothing here decides a date.

use std::path::Path;

use serde::Serialize;
use tauri::State;

use crate::access::require_user;
use crate::error::UiError;
use crate::state::AppState;

/// The calendar after a year's file was loaded.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CalendarLoaded {
    /// The year the file was for.
    pub year: i32,
    /// The years with a holiday notice now.
    pub years: Vec<i32>,
    /// Where the file was put.
    pub file: String,
    /// The year still missing today, if any (as `app_info` says).
    pub missing_year: Option<i32>,
}

fn invalid(file_name: &str, problems: &[forms::SourceError]) -> UiError {
    let list = problems
        .iter()
        .map(|problem| format!("  {problem}"))
        .collect::<Vec<_>>()
        .join("\n");
    UiError {
        code: "calendar_invalid".into(),
        message_zh: format!(
            "日历文件 {file_name} 有 {} 处错误，未载入，日历未改动：\n{list}",
            problems.len()
        ),
        message_en: format!(
            "The calendar file {file_name} has {} problem(s) and was not loaded; the calendar is unchanged:\n{list}",
            problems.len()
        ),
    }
}

fn folder_problem(folder: &Path, error: &std::io::Error) -> UiError {
    UiError {
        code: "calendar_folder_unwritable".into(),
        message_zh: format!(
            "无法写入本程序存放已载入日历的目录 {}（{error}）。请系统管理员检查该目录的权限和磁盘空间，或把文件复制到 onewindow.toml 中 [folders] calendar 所设的目录。",
            folder.display()
        ),
        message_en: format!(
            "The folder where this app keeps loaded calendars, {}, cannot be written ({error}). Ask the administrator to check its permissions and free space, or to copy the file into the folder [folders] calendar names in onewindow.toml.",
            folder.display()
        ),
    }
}

/// Loads a year's calendar file: `file_name` is what the administrator
/// chose (it names the file in the problems), `text` its content. The file
/// is checked with every file already in the calendar folder, written there
/// as `<year>.toml` (never over an existing file) and the calendar in use
/// replaced by the folder loaded again. On any problem nothing changes.
#[tauri::command]
#[specta::specta]
pub async fn load_calendar_file(
    state: State<'_, AppState>,
    file_name: String,
    text: String,
) -> Result<CalendarLoaded, UiError> {
    let user = require_user(&state, "load_calendar_file")?;
    let folder = state.loaded_calendar_dir();
    std::fs::create_dir_all(&folder).map_err(|error| folder_problem(&folder, &error))?;
    let shown = Path::new(&file_name)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calendar.toml".into());
    // The calendar in use must load before a year is added to it; its own
    // problems are named as its, not as the chosen file's.
    let loaded = state.load_calendar().map_err(|error| UiError {
        code: "calendar_folder_invalid".into(),
        message_zh: format!(
            "现有的日历文件有错误，未载入新文件，日历未改动。请系统管理员先改正：\n{error}"
        ),
        message_en: format!(
            "The calendar files already in use have problems; the new file was not loaded and the calendar is unchanged. Ask the system administrator to correct them first:\n{error}"
        ),
    })?;
    let year = loaded
        .check_year_text(Path::new(&shown), &text)
        .map_err(|problems| invalid(&shown, &problems))?;
    let target = folder.join(format!("{year}.toml"));
    if target.exists() {
        return Err(UiError {
            code: "calendar_year_exists".into(),
            message_zh: format!("日历目录中已有 {}，未覆盖。", target.display()),
            message_en: format!(
                "{} is already in the calendar folder; it was not replaced.",
                target.display()
            ),
        });
    }
    let partial = folder.join(format!(".{year}.toml.partial"));
    std::fs::write(&partial, text.as_bytes())
        .and_then(|()| std::fs::rename(&partial, &target))
        .map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            folder_problem(&folder, &error)
        })?;
    let calendar = match state.load_calendar() {
        Ok(calendar) => calendar,
        Err(error) => {
            // Checked above; should another file have changed meanwhile,
            // the new one goes again and the calendar in use stays.
            let _ = std::fs::remove_file(&target);
            return Err(UiError {
                code: "calendar_invalid".into(),
                message_zh: format!("日历目录在载入时发生变化，未载入：\n{error}"),
                message_en: format!(
                    "The calendar folder changed while loading; nothing was loaded:\n{error}"
                ),
            });
        }
    };
    let years = calendar.years().collect();
    let missing_year = calendar.missing_notice(chrono::Local::now().date_naive());
    state.replace_calendar(calendar);
    tracing::info!(year, file = %target.display(), login = %user.login, "a calendar year was loaded");
    // Audited in the case store when it is open (the calendar counts at
    // once either way; the log above always has it).
    if let Ok(sync) = state.service() {
        if let Err(error) = sync
            .store
            .record_act(
                user.actor(),
                "calendar.year_loaded",
                format!("calendar:{year}"),
                serde_json::json!({ "year": year }),
            )
            .await
        {
            tracing::warn!(
                code = error.code(),
                "the calendar load could not be audited"
            );
        }
    }
    Ok(CalendarLoaded {
        year,
        years,
        file: target.display().to_string(),
        missing_year,
    })
}
