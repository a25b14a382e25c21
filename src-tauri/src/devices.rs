//! Hall devices through watched folders: the capture inbox (document
//! cameras, scanners) and the ID-card reader's output folder.
//!
//! Folders (created at start; documented in `docs/devices.md`):
//! - captures: `ONEWINDOW_CAPTURE_DIR`, else `<data>/inbox/capture`;
//! - ID cards: `ONEWINDOW_ID_CARD_DIR`, else `<data>/inbox/id-card`.
//!
//! A finished capture goes to the draft and material the clerk has
//! selected (`set_capture_target`), else to the tray; the window hears of
//! it (`CaptureArrived`). A card file is read, checked, deleted with its
//! photo (privacy) and sent to the window (`IdCardRead`) only while someone
//! is signed in and the window is not locked; its contents are never
//! logged. Every device file is opened through
//! `offline_cache::inbox::open_arrival` / `open_in_folder` (an ordinary
//! file directly in its folder, no links) and a card's photo name is
//! checked by `forms::id_card`: nothing outside a device folder is ever
//! read or deleted. The catalogue folder is watched too: a change is loaded
//! in the background and replaces the catalogue in use only when valid
//! (`CatalogChanged`); drafts keep their item versions. The rules are
//! `offline_cache::inbox`, `forms::id_card` and `forms::loader`; this
//! module is the glue and must not grow rules.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use offline_cache::inbox::{Arrival, CaptureTarget, FolderWatcher};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_specta::Event;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// The device folders and what the clerk has selected.
pub struct Devices {
    pub capture_folder: PathBuf,
    pub id_card_folder: PathBuf,
    /// Remove a capture from the inbox once it is stored (default: yes).
    pub remove_after_import: bool,
    target: Mutex<CaptureTarget>,
    watchers: Mutex<Vec<FolderWatcher>>,
}

impl Devices {
    /// The folders the configuration names, else `inbox/` in the data folder.
    pub fn configure(folders: &crate::config::Folders, data_dir: &Path) -> Self {
        Devices {
            capture_folder: folders
                .capture
                .clone()
                .unwrap_or_else(|| data_dir.join("inbox/capture")),
            id_card_folder: folders
                .id_card
                .clone()
                .unwrap_or_else(|| data_dir.join("inbox/id-card")),
            remove_after_import: !folders.keep_capture_originals,
            target: Mutex::new(CaptureTarget::default()),
            watchers: Mutex::new(Vec::new()),
        }
    }

    /// Forgets the clerk's capture target (on sign-out and lock): scans
    /// that arrive next go to the tray, never to the last clerk's draft.
    pub fn clear_capture_target(&self) {
        *self
            .target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = CaptureTarget::default();
    }

    /// Where new captures go now.
    pub fn capture_target(&self) -> CaptureTarget {
        self.target()
    }

    fn target(&self) -> CaptureTarget {
        self.target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// One capture as the window shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CaptureView {
    pub id: String,
    pub file_name: String,
    /// `pdf`, `jpeg`, `png` or `tiff`.
    pub media_type: String,
    pub size: u32,
    pub captured_at: String,
    pub draft_id: Option<String>,
    pub item_id: Option<String>,
    pub material_id: Option<String>,
    /// `tray` or `attached`.
    pub state: String,
    /// A PNG thumbnail, base64 (images only).
    pub thumbnail_base64: Option<String>,
}

/// Sent to the window when a file arrived in the capture inbox.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CaptureArrived {
    pub file_name: String,
    /// Set when it was stored.
    pub capture_id: Option<String>,
    pub attached: bool,
    /// Set when it was not taken (the file stays in the inbox).
    pub problem_code: Option<String>,
    pub problem_zh: Option<String>,
    pub problem_en: Option<String>,
}

/// What an ID card says, for the applicant step.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct IdCardView {
    pub name: String,
    pub sex: String,
    pub ethnicity: String,
    /// The GB/T 3304 code of the ethnicity, from the catalogue's table.
    pub ethnicity_code: Option<String>,
    pub birth_date: String,
    pub address: String,
    pub id_number: String,
    pub issuing_authority: String,
    pub valid_from: String,
    /// Empty: valid for life (长期).
    pub valid_until: String,
    /// The photo as a data URL, when the reader gave one.
    pub photo_data_url: Option<String>,
}

/// Sent to the window when an ID card was read (or could not be).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct IdCardRead {
    pub card: Option<IdCardView>,
    pub problem_code: Option<String>,
    pub problem_zh: Option<String>,
    pub problem_en: Option<String>,
}

fn media_text(media: offline_cache::inbox::MediaType) -> String {
    serde_json::to_value(media)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Imports one finished file and tells the window.
async fn take_capture<R: Runtime>(app: &AppHandle<R>, path: PathBuf) {
    let state = app.state::<AppState>();
    let Ok(sync) = state.service() else {
        return;
    };
    let target = state.devices.target();
    let arrival = offline_cache::inbox::import_file(
        &sync.store,
        &sync.vault,
        &state.devices.capture_folder,
        &path,
        target,
        state.devices.remove_after_import,
        chrono::Local::now().fixed_offset(),
    )
    .await;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let event = match arrival {
        Ok(Arrival::Imported(capture)) => CaptureArrived {
            file_name,
            attached: capture.state == "attached",
            capture_id: Some(capture.id),
            problem_code: None,
            problem_zh: None,
            problem_en: None,
        },
        Ok(Arrival::Rejected(rejection)) => {
            tracing::warn!(code = rejection.code(), "a capture was not taken");
            CaptureArrived {
                file_name,
                attached: false,
                capture_id: None,
                problem_code: Some(rejection.code().into()),
                problem_zh: Some(rejection.message_zh()),
                problem_en: Some(rejection.to_string()),
            }
        }
        Ok(Arrival::Gone { .. }) => return,
        Err(error) => {
            let ui = cache_error(&error);
            CaptureArrived {
                file_name,
                attached: false,
                capture_id: None,
                problem_code: Some(ui.code),
                problem_zh: Some(ui.message_zh),
                problem_en: Some(ui.message_en),
            }
        }
    };
    if let Err(error) = event.emit(app) {
        tracing::warn!(%error, "the window could not be told of a capture");
    }
}

fn card_problem(code: &str, message_zh: String, message_en: String) -> IdCardRead {
    IdCardRead {
        card: None,
        problem_code: Some(code.into()),
        problem_zh: Some(message_zh),
        problem_en: Some(message_en),
    }
}

fn card_unreadable(error: &std::io::Error) -> IdCardRead {
    tracing::warn!(kind = %error.kind(), "an ID card file cannot be read");
    card_problem(
        "id_card_unreadable",
        "读卡文件无法读取，请检查读卡器输出文件夹的权限后重新读卡。".into(),
        format!(
            "The ID card file cannot be read ({}); check the reader folder's permissions and read the card again.",
            error.kind()
        ),
    )
}

fn card_refused(reason: &offline_cache::inbox::OutsideFolder) -> IdCardRead {
    tracing::warn!(code = reason.code(), "an ID card file or photo was refused");
    card_problem(reason.code(), reason.message_zh(), reason.to_string())
}

/// Reads one card file of `folder` (waiting briefly for its photo),
/// deletes both and returns what the window is to be told. `may_show` says
/// whether someone is signed in with the window unlocked; when not, the
/// window is told nothing.
fn read_card_file(
    folder: &Path,
    path: &Path,
    catalog: Option<&forms::Catalog>,
    may_show: &dyn Fn() -> bool,
) -> Option<IdCardRead> {
    use offline_cache::inbox::{open_arrival, open_in_folder, Opening};
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(extension.as_str(), "json" | "ini" | "txt") {
        return None; // a photo: read with its card
    }
    let mut card_file = match open_arrival(folder, path) {
        Ok(file) => file,
        // Deleted before it could be read: nothing to tell.
        Err(Opening::Gone) => return None,
        // A link or a path out of the folder: neither read nor deleted.
        Err(Opening::Refused(reason)) => return Some(card_refused(&reason)),
        Err(Opening::Unreadable(error)) => return Some(card_unreadable(&error)),
    };
    let bytes = match card_file.read() {
        Ok(bytes) => bytes,
        Err(error) => return Some(card_unreadable(&error)),
    };
    let outcome = forms::id_card::read_card(&bytes, chrono::Local::now().date_naive());
    // The card file is inside the folder (checked): it goes, whatever it said.
    let _ = card_file.remove();
    if !may_show() {
        // Nobody signed in, or the window locked: the card is not sent.
        // Its files are removed rather than left waiting: a card left in
        // the folder would keep the applicant's data on disk, and would
        // fill in the form of whoever signs in next with a card read long
        // before. The clerk reads the card again once signed in.
        if let Ok(card) = &outcome {
            if let Some(name) = &card.photo_file {
                if let Ok(photo) = open_in_folder(folder, name) {
                    let _ = photo.remove();
                }
            }
        }
        tracing::warn!("an ID card was read while no one was signed in or the window was locked; it was discarded unsent");
        return None;
    }
    Some(match outcome {
        Ok(card) => {
            let mut photo = card
                .photo
                .clone()
                .map(|bytes| ("image/png".to_owned(), bytes));
            // `forms::id_card` let through only a plain file name; the
            // photo is opened in the folder, never through a link.
            if let Some(name) = &card.photo_file {
                let mut opened = open_in_folder(folder, name);
                for _ in 0..20 {
                    if !matches!(opened, Err(Opening::Gone)) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    opened = open_in_folder(folder, name);
                }
                match opened {
                    Ok(mut photo_file) => {
                        if let Ok(bytes) = photo_file.read() {
                            let mime = match image::guess_format(&bytes) {
                                Ok(image::ImageFormat::Png) => "image/png",
                                Ok(image::ImageFormat::Jpeg) => "image/jpeg",
                                _ => "image/bmp",
                            };
                            photo = Some((mime.to_owned(), bytes));
                        }
                        let _ = photo_file.remove();
                    }
                    Err(Opening::Refused(reason)) => return Some(card_refused(&reason)),
                    // No photo arrived, or it cannot be read: the card without it.
                    Err(Opening::Gone | Opening::Unreadable(_)) => {}
                }
            }
            if !may_show() {
                // Locked or signed out while the photo was awaited.
                return None;
            }
            let ethnicity_code = catalog
                .and_then(|catalog| catalog.code_tables.get("ethnicity"))
                .and_then(|table| {
                    table
                        .entries
                        .iter()
                        .find(|entry| entry.name_zh.starts_with(card.ethnicity.as_str()))
                })
                .map(|entry| entry.code.clone());
            IdCardRead {
                card: Some(IdCardView {
                    ethnicity_code,
                    name: card.name,
                    sex: card.sex,
                    ethnicity: card.ethnicity,
                    birth_date: card.birth_date.to_string(),
                    address: card.address,
                    id_number: card.id_number,
                    issuing_authority: card.issuing_authority,
                    valid_from: card.valid_from.to_string(),
                    valid_until: card
                        .valid_until
                        .map(|date| date.to_string())
                        .unwrap_or_default(),
                    photo_data_url: photo.map(|(mime, bytes)| {
                        format!(
                            "data:{mime};base64,{}",
                            base64::engine::general_purpose::STANDARD.encode(bytes)
                        )
                    }),
                }),
                problem_code: None,
                problem_zh: None,
                problem_en: None,
            }
        }
        Err(error) => {
            tracing::warn!(code = error.code(), "an ID card file was refused");
            IdCardRead {
                card: None,
                problem_code: Some(error.code().into()),
                problem_zh: Some(error.message_zh()),
                problem_en: Some(format!("{error}.")),
            }
        }
    })
}

/// Starts the watchers and takes what arrived while the app was closed.
pub fn spawn<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let devices = &state.devices;
    let (captures, mut arrived) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    for path in offline_cache::inbox::waiting_files(&devices.capture_folder) {
        let _ = captures.send(path);
    }
    let mut watchers = Vec::new();
    match FolderWatcher::start(&devices.capture_folder, move |path| {
        let _ = captures.send(path);
    }) {
        Ok(watcher) => watchers.push(watcher),
        Err(error) => tracing::warn!(%error, "the capture inbox cannot be watched"),
    }
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(path) = arrived.recv().await {
            take_capture(&handle, path).await;
        }
    });
    let card_folder = devices.id_card_folder.clone();
    let read = {
        let handle = app.clone();
        let catalog = state.catalog();
        let folder = card_folder.clone();
        move |path: PathBuf| {
            let handle = handle.clone();
            let catalog = catalog.clone();
            let folder = folder.clone();
            // Off the watcher's thread: a card may wait for its photo.
            std::thread::spawn(move || {
                // Signed in, not locked, and not idle past the idle lock
                // (which Rust applies when it is next asked).
                let may_show = || {
                    matches!(
                        crate::access::session_now(&handle.state::<AppState>(), false),
                        crate::access::Activity::Active(_)
                    )
                };
                let event = read_card_file(&folder, &path, catalog.as_deref(), &may_show);
                // Nothing at all reaches a signed-out or locked window.
                if let Some(event) = event.filter(|_| may_show()) {
                    let _ = event.emit(&handle);
                }
            });
        }
    };
    for path in offline_cache::inbox::waiting_files(&card_folder) {
        read(path);
    }
    match FolderWatcher::start(&card_folder, read) {
        Ok(watcher) => watchers.push(watcher),
        Err(error) => tracing::warn!(%error, "the ID-card folder cannot be watched"),
    }
    // The catalogue folder: a change is loaded and checked in the
    // background and put in use only when valid.
    let (changed, mut changes) = tokio::sync::mpsc::unbounded_channel::<()>();
    match FolderWatcher::on_any_change(&state.settings.folders.catalog, move || {
        let _ = changed.send(());
    }) {
        Ok(watcher) => watchers.push(watcher),
        Err(error) => tracing::warn!(%error, "the catalogue folder cannot be watched"),
    }
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while changes.recv().await.is_some() {
            // An editor or a copy writes several files: wait for quiet.
            loop {
                match tokio::time::timeout(CATALOG_QUIET, changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            reload_catalog(&handle).await;
        }
    });
    *devices
        .watchers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = watchers;
}

/// How long the catalogue folder must be quiet before it is reloaded.
const CATALOG_QUIET: Duration = Duration::from_millis(500);

/// Sent to the window after the catalogue folder changed: the version in
/// use, and the problems when the new catalogue was not valid (the last
/// good one stays in use).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CatalogChanged {
    pub version: Option<String>,
    pub replaced: bool,
    pub problems: Vec<String>,
}

/// Loads the catalogue folder again; puts it in use if valid.
pub async fn reload_catalog<R: Runtime>(app: &AppHandle<R>) -> CatalogChanged {
    let state = app.state::<AppState>();
    let folder = state.settings.folders.catalog.clone();
    let loaded = tauri::async_runtime::spawn_blocking(move || forms::load_catalog(&folder)).await;
    let event = match loaded {
        Ok(Ok(catalog)) => {
            let version = catalog.version.clone();
            state.catalogs().replace(catalog);
            tracing::info!(%version, "the catalogue was reloaded");
            CatalogChanged {
                version: Some(version),
                replaced: true,
                problems: Vec::new(),
            }
        }
        Ok(Err(error)) => {
            tracing::warn!(
                code = error.code(),
                "the changed catalogue is not valid; the last good one stays"
            );
            let problems: Vec<String> = error
                .to_string()
                .lines()
                .map(str::to_owned)
                .filter(|line| !line.trim().is_empty())
                .collect();
            state.catalogs().set_problems(problems.clone());
            CatalogChanged {
                version: state.catalog().map(|catalog| catalog.version.clone()),
                replaced: false,
                problems,
            }
        }
        Err(error) => {
            let problems = vec![format!("the catalogue could not be loaded: {error}")];
            state.catalogs().set_problems(problems.clone());
            CatalogChanged {
                version: state.catalog().map(|catalog| catalog.version.clone()),
                replaced: false,
                problems,
            }
        }
    };
    if let Err(error) = event.clone().emit(app) {
        tracing::warn!(%error, "the window could not be told of the catalogue");
    }
    event
}

/// The catalogue in use and the last reload's problems.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CatalogStatus {
    pub version: Option<String>,
    pub problems: Vec<String>,
}

#[tauri::command]
#[specta::specta]
pub fn catalog_status(state: State<'_, AppState>) -> Result<CatalogStatus, UiError> {
    require(&state, "catalog_status")?;
    Ok(CatalogStatus {
        version: state.catalog().map(|catalog| catalog.version.clone()),
        problems: state.catalogs().problems(),
    })
}

/// Loads the catalogue folder again now (the watcher does this on every
/// change; this is the administrator's "reload" and the tests' way in).
#[tauri::command]
#[specta::specta]
pub async fn reload_catalog_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<CatalogChanged, UiError> {
    require(&state, "reload_catalog_now")?;
    Ok(reload_catalog(&app).await)
}

fn capture_view(capture: offline_cache::inbox::Capture, thumbnail: Option<Vec<u8>>) -> CaptureView {
    CaptureView {
        media_type: media_text(capture.media_type),
        size: u32::try_from(capture.size).unwrap_or(u32::MAX),
        thumbnail_base64: thumbnail
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
        id: capture.id,
        file_name: capture.file_name,
        captured_at: capture.captured_at,
        draft_id: capture.draft_id,
        item_id: capture.item_id,
        material_id: capture.material_id,
        state: capture.state,
    }
}

/// Where new captures go: the open draft's selected material, or (with
/// no material) the tray.
#[tauri::command]
#[specta::specta]
pub fn set_capture_target(
    state: State<'_, AppState>,
    draft_id: Option<String>,
    item_id: Option<String>,
    material_id: Option<String>,
) -> Result<(), UiError> {
    require(&state, "set_capture_target")?;
    *state
        .devices
        .target
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = CaptureTarget {
        draft_id,
        item_id,
        material_id,
    };
    Ok(())
}

/// The tray and the captures of a draft, newest first, with thumbnails.
#[tauri::command]
#[specta::specta]
pub async fn captures(
    state: State<'_, AppState>,
    draft_id: Option<String>,
) -> Result<Vec<CaptureView>, UiError> {
    require(&state, "captures")?;
    let sync = state.service()?;
    let list = sync
        .store
        .captures_for(draft_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let mut views = Vec::with_capacity(list.len());
    for capture in list {
        let thumbnail = sync
            .store
            .capture_thumbnail(capture.id.clone())
            .await
            .map_err(|error| cache_error(&error))?;
        views.push(capture_view(capture, thumbnail));
    }
    Ok(views)
}

/// Sorts a capture to a draft's material, back to the tray, or discards it.
#[tauri::command]
#[specta::specta]
pub async fn sort_capture(
    state: State<'_, AppState>,
    capture_id: String,
    draft_id: Option<String>,
    item_id: Option<String>,
    material_id: Option<String>,
    discard: bool,
) -> Result<CaptureView, UiError> {
    require(&state, "sort_capture")?;
    let sync = state.service()?;
    let capture = sync
        .store
        .sort_capture(
            capture_id,
            Some(CaptureTarget {
                draft_id,
                item_id,
                material_id,
            }),
            discard,
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(capture_view(capture, None))
}

/// Imports what waits in the capture inbox now (the watcher does this as
/// files arrive; this is for a clerk's "look again" and for tests).
#[tauri::command]
#[specta::specta]
pub async fn import_waiting_captures<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<u32, UiError> {
    require(&state, "import_waiting_captures")?;
    let waiting = offline_cache::inbox::waiting_files(&state.devices.capture_folder);
    let count = u32::try_from(waiting.len()).unwrap_or(u32::MAX);
    for path in waiting {
        take_capture(&app, path).await;
    }
    Ok(count)
}

/// The device folders, for Settings and the hall's IT staff.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeviceFolders {
    pub capture_folder: String,
    pub id_card_folder: String,
    pub remove_after_import: bool,
}

#[tauri::command]
#[specta::specta]
pub fn device_folders(state: State<'_, AppState>) -> Result<DeviceFolders, UiError> {
    require(&state, "device_folders")?;
    Ok(DeviceFolders {
        capture_folder: state.devices.capture_folder.display().to_string(),
        id_card_folder: state.devices.id_card_folder.display().to_string(),
        remove_after_import: state.devices.remove_after_import,
    })
}
