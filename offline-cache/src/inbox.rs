//! The capture inbox: document cameras and scanners save PDF, JPEG, PNG
//! and TIFF files into a folder; each finished file is checked, stored
//! encrypted in the attachment vault with a thumbnail (images), recorded
//! as a capture of the open draft's selected material (or of the tray the
//! clerk sorts), and — by default — removed from the inbox.
//!
//! When is a file finished? On Linux when its writer closes it after
//! writing (inotify's close-after-write: a slow writer produces modify
//! events long before it is done), or when it is renamed into the folder
//! (writers that use a temporary name). Elsewhere, when its size has not
//! changed for a second. Hidden and temporary files are ignored. Files that
//! arrived while the app was closed are picked up at start.
//!
//! An unreadable or unsupported file is rejected with a clear message and
//! left where it is. The captures table and the vault hold the only copy
//! once the original is removed; this module must never log a file's
//! contents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::attachments::AttachmentVault;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// The kinds of file the inbox takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Pdf,
    Jpeg,
    Png,
    Tiff,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Tiff => "image/tiff",
        }
    }
}

/// Why a file was not taken (the file stays in the inbox).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{file}: not a PDF, JPEG, PNG or TIFF file")]
    Unsupported { file: String },
    #[error("{file}: the {kind} is damaged or incomplete ({detail})")]
    Damaged {
        file: String,
        kind: &'static str,
        detail: String,
    },
    #[error("{file}: cannot be read ({detail})")]
    Unreadable { file: String, detail: String },
    #[error("{file}: empty file")]
    Empty { file: String },
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unsupported { .. } => "capture_unsupported",
            Rejection::Damaged { .. } => "capture_damaged",
            Rejection::Unreadable { .. } => "capture_unreadable",
            Rejection::Empty { .. } => "capture_empty",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Rejection::Unsupported { file } => {
                format!("“{file}”不是 PDF、JPEG、PNG 或 TIFF 文件，未导入，文件保留在收件夹中。")
            }
            Rejection::Damaged { file, kind, .. } => {
                format!("“{file}”（{kind}）已损坏或不完整，未导入，请重新扫描。")
            }
            Rejection::Unreadable { file, .. } => {
                format!("无法读取“{file}”，未导入，请检查文件权限。")
            }
            Rejection::Empty { file } => format!("“{file}”是空文件，未导入，请重新扫描。"),
        }
    }
}

/// A file's name says it is not (yet) a capture: hidden, or a temporary
/// name a writer renames when done.
pub fn ignored(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return true;
    };
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || name.ends_with('~')
        || [
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".swp",
            ".lock",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// What a finished file is: its type and, for images, a PNG thumbnail
/// (at most 200 px on its longer side).
pub fn inspect(file: &str, bytes: &[u8]) -> Result<(MediaType, Option<Vec<u8>>), Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty { file: file.into() });
    }
    if bytes.starts_with(b"%PDF-") {
        // A complete PDF ends with %%EOF (allowing trailing whitespace).
        let tail = &bytes[bytes.len().saturating_sub(1024)..];
        let complete = tail.windows(5).any(|window| window == b"%%EOF");
        if !complete {
            return Err(Rejection::Damaged {
                file: file.into(),
                kind: "PDF",
                detail: "no end-of-file marker".into(),
            });
        }
        return Ok((MediaType::Pdf, None));
    }
    let format =
        image::guess_format(bytes).map_err(|_| Rejection::Unsupported { file: file.into() })?;
    let (media, kind) = match format {
        image::ImageFormat::Jpeg => (MediaType::Jpeg, "JPEG"),
        image::ImageFormat::Png => (MediaType::Png, "PNG"),
        image::ImageFormat::Tiff => (MediaType::Tiff, "TIFF"),
        _ => return Err(Rejection::Unsupported { file: file.into() }),
    };
    let decoded =
        image::load_from_memory_with_format(bytes, format).map_err(|error| Rejection::Damaged {
            file: file.into(),
            kind,
            detail: error.to_string(),
        })?;
    let thumbnail = decoded.thumbnail(200, 200);
    let mut png = std::io::Cursor::new(Vec::new());
    thumbnail
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|error| Rejection::Damaged {
            file: file.into(),
            kind,
            detail: error.to_string(),
        })?;
    Ok((media, Some(png.into_inner())))
}

/// Where a capture goes: a draft's material, or the tray.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureTarget {
    pub draft_id: Option<String>,
    pub item_id: Option<String>,
    pub material_id: Option<String>,
}

/// One capture as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub id: String,
    pub file_name: String,
    pub media_type: MediaType,
    pub size: i64,
    pub sha256: String,
    pub attachment_id: String,
    pub captured_at: String,
    pub draft_id: Option<String>,
    pub item_id: Option<String>,
    pub material_id: Option<String>,
    /// `tray` (not yet sorted), `attached` (to a draft's material).
    pub state: String,
}

const SELECT: &str = "SELECT id, file_name, media_type, size, sha256, attachment_id, captured_at, draft_id, item_id, material_id, state FROM captures";

fn row_to_capture(row: &rusqlite::Row) -> rusqlite::Result<Capture> {
    let media: String = row.get(2)?;
    Ok(Capture {
        id: row.get(0)?,
        file_name: row.get(1)?,
        media_type: serde_json::from_value(serde_json::Value::String(media))
            .unwrap_or(MediaType::Pdf),
        size: row.get(3)?,
        sha256: row.get(4)?,
        attachment_id: row.get(5)?,
        captured_at: row.get(6)?,
        draft_id: row.get(7)?,
        item_id: row.get(8)?,
        material_id: row.get(9)?,
        state: row.get(10)?,
    })
}

fn media_text(media: MediaType) -> String {
    serde_json::to_value(media)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Records a checked capture (its content already in the vault). The same
/// content for the same target is recorded once.
#[allow(clippy::too_many_arguments)]
pub fn record_capture(
    connection: &mut Connection,
    file_name: &str,
    media: MediaType,
    size: i64,
    sha256: &str,
    attachment_id: &str,
    thumbnail: Option<&[u8]>,
    target: &CaptureTarget,
    at: DateTime<FixedOffset>,
) -> Result<Capture, CacheError> {
    let transaction = connection.transaction()?;
    let existing: Option<String> = transaction
        .query_row(
            "SELECT id FROM captures WHERE sha256 = ?1 AND coalesce(draft_id, '') = coalesce(?2, '') AND state <> 'discarded'",
            params![sha256, target.draft_id],
            |row| row.get(0),
        )
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            let attached = target.draft_id.is_some() && target.material_id.is_some();
            transaction.execute(
                "INSERT INTO captures (id, file_name, media_type, size, sha256, attachment_id, thumbnail, captured_at, draft_id, item_id, material_id, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    id,
                    file_name,
                    media_text(media),
                    size,
                    sha256,
                    attachment_id,
                    thumbnail,
                    at.to_rfc3339(),
                    target.draft_id.as_ref().filter(|_| attached),
                    target.item_id.as_ref().filter(|_| attached),
                    target.material_id.as_ref().filter(|_| attached),
                    if attached { "attached" } else { "tray" },
                ],
            )?;
            crate::audit::append(
                &transaction,
                &at.to_rfc3339(),
                "inbox",
                "capture.imported",
                &id,
                &serde_json::json!({ "media": media_text(media), "size": size, "attached": attached }),
            )?;
            id
        }
    };
    let capture = transaction.query_row(
        &format!("{SELECT} WHERE id = ?1"),
        params![id],
        row_to_capture,
    )?;
    transaction.commit()?;
    Ok(capture)
}

/// The captures of a draft and the unsorted tray, newest first.
pub fn captures_for(
    connection: &Connection,
    draft_id: Option<&str>,
) -> Result<Vec<Capture>, CacheError> {
    let mut statement = connection.prepare_cached(&format!(
        "{SELECT} WHERE (state = 'tray') OR (state = 'attached' AND draft_id = ?1) ORDER BY captured_at DESC"
    ))?;
    let rows = statement.query_map(params![draft_id], row_to_capture)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A capture's thumbnail (PNG), if it has one.
pub fn thumbnail(connection: &Connection, id: &str) -> Result<Option<Vec<u8>>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT thumbnail FROM captures WHERE id = ?1",
            params![id],
            |row| row.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten())
}

/// Sorts a capture to a draft's material, back to the tray (no material),
/// or away (`discard`).
pub fn sort_capture(
    connection: &mut Connection,
    id: &str,
    target: Option<&CaptureTarget>,
    discard: bool,
) -> Result<Capture, CacheError> {
    let transaction = connection.transaction()?;
    let (state, draft, item, material) = match (discard, target) {
        (true, _) => ("discarded", None, None, None),
        (false, Some(target)) if target.draft_id.is_some() && target.material_id.is_some() => (
            "attached",
            target.draft_id.clone(),
            target.item_id.clone(),
            target.material_id.clone(),
        ),
        _ => ("tray", None, None, None),
    };
    let changed = transaction.execute(
        "UPDATE captures SET state = ?2, draft_id = ?3, item_id = ?4, material_id = ?5 WHERE id = ?1 AND state IN ('tray', 'attached')",
        params![id, state, draft, item, material],
    )?;
    if changed == 0 {
        return Err(CacheError::BadInput(format!(
            "capture {id} is not in the tray or on a draft"
        )));
    }
    let capture = transaction.query_row(
        &format!("{SELECT} WHERE id = ?1"),
        params![id],
        row_to_capture,
    )?;
    transaction.commit()?;
    Ok(capture)
}

/// What importing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    Imported(Capture),
    Rejected(Rejection),
    /// The file was gone before it could be read (deleted or moved away).
    Gone {
        file: String,
    },
}

/// Imports one finished file: checks it, stores it encrypted, records the
/// capture for `target`, and removes the original when asked to. A
/// rejected file stays where it is.
pub async fn import_file<M: StoreMode>(
    store: &CaseStore<M>,
    vault: &AttachmentVault,
    path: &Path,
    target: CaptureTarget,
    remove_after_import: bool,
    at: DateTime<FixedOffset>,
) -> Result<Arrival, CacheError> {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Arrival::Gone { file })
        }
        Err(error) => {
            return Ok(Arrival::Rejected(Rejection::Unreadable {
                file,
                detail: error.kind().to_string(),
            }))
        }
    };
    let (media, thumbnail) = match inspect(&file, &bytes) {
        Ok(found) => found,
        Err(rejection) => return Ok(Arrival::Rejected(rejection)),
    };
    let attachment_id = vault.put(&bytes)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let name = file.clone();
    let capture = store
        .write(move |connection| {
            record_capture(
                connection,
                &name,
                media,
                size,
                &sha256,
                &attachment_id,
                thumbnail.as_deref(),
                &target,
                at,
            )
        })
        .await?;
    if remove_after_import {
        if let Err(error) = std::fs::remove_file(path) {
            tracing::warn!(kind = %error.kind(), "an imported capture could not be removed from the inbox");
        }
    }
    Ok(Arrival::Imported(capture))
}

/// Files already in `folder` (arrived while the app was closed), oldest
/// first, without hidden and temporary ones.
pub fn waiting_files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.path())
        .filter(|path| !ignored(path))
        .map(|path| {
            let modified = std::fs::metadata(&path)
                .and_then(|meta| meta.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, path)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, path)| path).collect()
}

/// Watches a folder and hands each finished file to `ready` (on the
/// watcher's thread; keep it short, e.g. send it to a channel). Dropping
/// the watcher stops it.
pub struct FolderWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl FolderWatcher {
    pub fn start(
        folder: &Path,
        ready: impl Fn(PathBuf) + Send + 'static,
    ) -> Result<Self, CacheError> {
        use notify::{RecursiveMode, Watcher};
        std::fs::create_dir_all(folder).map_err(|error| CacheError::Io {
            path: folder.to_path_buf(),
            detail: error.to_string(),
        })?;
        let finished = completion_detector();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                for path in finished(&event) {
                    if !ignored(&path) {
                        ready(path);
                    }
                }
            })
            .map_err(|error| CacheError::Io {
                path: folder.to_path_buf(),
                detail: error.to_string(),
            })?;
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .map_err(|error| CacheError::Io {
                path: folder.to_path_buf(),
                detail: error.to_string(),
            })?;
        Ok(FolderWatcher { _watcher: watcher })
    }

    /// Watches `folder` and its subfolders and calls `changed` after any
    /// finished write, rename or removal of a file not hidden or temporary
    /// (for a catalogue folder, reloaded as a whole).
    pub fn on_any_change(
        folder: &Path,
        changed: impl Fn() + Send + 'static,
    ) -> Result<Self, CacheError> {
        use notify::event::{AccessKind, AccessMode, ModifyKind};
        use notify::{EventKind, RecursiveMode, Watcher};
        let io = |error: notify::Error| CacheError::Io {
            path: folder.to_path_buf(),
            detail: error.to_string(),
        };
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                let relevant = matches!(
                    event.kind,
                    EventKind::Access(AccessKind::Close(AccessMode::Write))
                        | EventKind::Modify(ModifyKind::Name(_))
                        | EventKind::Remove(_)
                ) || (!cfg!(target_os = "linux")
                    && matches!(event.kind, EventKind::Modify(_) | EventKind::Create(_)));
                if relevant && event.paths.iter().any(|path| !ignored(path)) {
                    changed();
                }
            })
            .map_err(io)?;
        watcher
            .watch(folder, RecursiveMode::Recursive)
            .map_err(io)?;
        Ok(FolderWatcher { _watcher: watcher })
    }
}

/// Linux: a file is finished when closed after writing, or renamed in.
#[cfg(target_os = "linux")]
fn completion_detector() -> impl Fn(&notify::Event) -> Vec<PathBuf> + Send + 'static {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    use notify::EventKind;
    |event: &notify::Event| match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event.paths.clone(),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.clone(),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.last().cloned().into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// Elsewhere: a file is finished when its size has not changed for a
/// second after its last event.
#[cfg(not(target_os = "linux"))]
fn completion_detector() -> impl Fn(&notify::Event) -> Vec<PathBuf> + Send + 'static {
    |event: &notify::Event| {
        let mut done = Vec::new();
        for path in &event.paths {
            let size = |path: &Path| std::fs::metadata(path).map(|meta| meta.len()).ok();
            let mut last = size(path);
            loop {
                std::thread::sleep(STABLE_FOR);
                let now = size(path);
                if now.is_none() {
                    break;
                }
                if now == last {
                    done.push(path.clone());
                    break;
                }
                last = now;
            }
        }
        done
    }
}

/// How long a file's size must stay the same (where there is no
/// close-after-write event).
pub const STABLE_FOR: Duration = Duration::from_secs(1);

impl<M: StoreMode> CaseStore<M> {
    pub async fn captures_for(&self, draft_id: Option<String>) -> Result<Vec<Capture>, CacheError> {
        self.read(move |connection| captures_for(connection, draft_id.as_deref()))
            .await
    }

    pub async fn capture_thumbnail(&self, id: String) -> Result<Option<Vec<u8>>, CacheError> {
        self.read(move |connection| thumbnail(connection, &id))
            .await
    }

    pub async fn sort_capture(
        &self,
        id: String,
        target: Option<CaptureTarget>,
        discard: bool,
    ) -> Result<Capture, CacheError> {
        self.write(move |connection| sort_capture(connection, &id, target.as_ref(), discard))
            .await
    }
}
