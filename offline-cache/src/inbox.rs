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
//!
//! Device folders are writable by the devices' tools, so what is in them
//! is not trusted to stay in them. Every device file (a capture, an ID
//! card file and the photo it names) is opened through [`open_in_folder`]
//! or [`open_arrival`]: a plain file name (`forms::id_card::plain_file_name`)
//! of an ordinary file directly in the folder, not a symbolic link (opened
//! with `O_NOFOLLOW`, and the opened file is the one the folder entry
//! names). Anything else is refused (`device_file_refused`) before a byte
//! is read, and nothing is removed. This module must never read, import or
//! delete a file outside the folder it was given.

use std::io::Read;
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
    #[error("{0}")]
    Outside(OutsideFolder),
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unsupported { .. } => "capture_unsupported",
            Rejection::Damaged { .. } => "capture_damaged",
            Rejection::Unreadable { .. } => "capture_unreadable",
            Rejection::Empty { .. } => "capture_empty",
            Rejection::Outside(reason) => reason.code(),
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
            Rejection::Outside(reason) => reason.message_zh(),
        }
    }
}

/// Why a device file was refused before anything was read: it is not an
/// ordinary file directly in its folder. Nothing was read or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideFolder {
    #[error("“{name}” is not a plain file name in the device inbox ({problem}); nothing was read or deleted")]
    NotPlain { name: String, problem: &'static str },
    #[error("“{name}” is not directly in the device inbox; nothing was read or deleted")]
    NotInFolder { name: String },
    #[error("“{name}” in the device inbox is a symbolic link; devices must write ordinary files there, so it was neither read nor deleted")]
    Link { name: String },
    #[error("“{name}” in the device inbox is not an ordinary file (a folder or a device); it was neither read nor deleted")]
    NotAFile { name: String },
}

impl OutsideFolder {
    pub fn code(&self) -> &'static str {
        "device_file_refused"
    }

    pub fn message_zh(&self) -> String {
        match self {
            OutsideFolder::NotPlain { name, .. } => format!(
                "“{name}”不是设备收件夹中的普通文件名（含有路径、“..”或特殊字符），已拒绝，未读取或删除任何文件。请检查设备软件的输出设置。"
            ),
            OutsideFolder::NotInFolder { name } => format!(
                "“{name}”不在设备收件夹中，已拒绝，未读取或删除任何文件。"
            ),
            OutsideFolder::Link { name } => format!(
                "设备收件夹中的“{name}”是符号链接，已拒绝，未读取也未删除。设备软件应在收件夹中写入普通文件，请系统管理员检查。"
            ),
            OutsideFolder::NotAFile { name } => format!(
                "设备收件夹中的“{name}”不是普通文件（文件夹或设备文件），已拒绝，未读取也未删除。"
            ),
        }
    }
}

/// A device file opened by [`open_in_folder`]: an ordinary file directly
/// in the folder, not a link.
#[derive(Debug)]
pub struct FolderFile {
    file: std::fs::File,
    path: PathBuf,
    name: String,
}

impl FolderFile {
    /// The file's path (in the folder as resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the whole file from the handle opened (not the name again).
    pub fn read(&mut self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Removes the file's entry from the folder. Removing an entry never
    /// follows a link, and the entry is in the checked folder.
    pub fn remove(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Why a device file could not be opened.
#[derive(Debug)]
pub enum Opening {
    /// Not an ordinary file directly in the folder: refused, untouched.
    Refused(OutsideFolder),
    /// No such file (any more).
    Gone,
    /// There, but the system would not let it be read.
    Unreadable(std::io::Error),
}

fn io_opening(error: std::io::Error) -> Opening {
    if error.kind() == std::io::ErrorKind::NotFound {
        Opening::Gone
    } else {
        Opening::Unreadable(error)
    }
}

/// Opens the file `name` directly in `folder` for reading, after checking
/// that `name` is a plain file name and that the entry is an ordinary file
/// and not a symbolic link; the file opened is the one checked (same
/// device and inode) and its resolved path is in the resolved folder.
pub fn open_in_folder(folder: &Path, name: &str) -> Result<FolderFile, Opening> {
    let refused = |reason| Err(Opening::Refused(reason));
    if let Err(problem) = forms::id_card::plain_file_name(name) {
        return refused(OutsideFolder::NotPlain {
            name: name.into(),
            problem,
        });
    }
    let name = name.to_owned();
    let folder = std::fs::canonicalize(folder).map_err(io_opening)?;
    let path = folder.join(&name);
    let entry = std::fs::symlink_metadata(&path).map_err(io_opening)?;
    if entry.file_type().is_symlink() {
        return refused(OutsideFolder::Link { name });
    }
    if !entry.is_file() {
        return refused(OutsideFolder::NotAFile { name });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never through a link swapped in since the check; never wait on a
        // FIFO swapped in either.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(&path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return refused(OutsideFolder::Link { name })
        }
        Err(error) => return Err(io_opening(error)),
    };
    let opened = file.metadata().map_err(Opening::Unreadable)?;
    if !opened.is_file() {
        return refused(OutsideFolder::NotAFile { name });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (opened.dev(), opened.ino()) != (entry.dev(), entry.ino()) {
            // Replaced between the check and the open.
            return refused(OutsideFolder::Link { name });
        }
    }
    match std::fs::canonicalize(&path) {
        Ok(resolved) if resolved.parent() == Some(folder.as_path()) => {}
        _ => return refused(OutsideFolder::NotInFolder { name }),
    }
    Ok(FolderFile { file, path, name })
}

/// Opens a file the watcher or the start-up scan reported as arrived in
/// `folder`: the path must be directly in the folder (its parent resolves
/// to the folder), then as [`open_in_folder`].
pub fn open_arrival(folder: &Path, path: &Path) -> Result<FolderFile, Opening> {
    let shown = || {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    };
    let Some(name) = path.file_name() else {
        return Err(Opening::Refused(OutsideFolder::NotInFolder {
            name: shown(),
        }));
    };
    let Some(name) = name.to_str() else {
        return Err(Opening::Refused(OutsideFolder::NotPlain {
            name: shown(),
            problem: "not UTF-8 text",
        }));
    };
    let folder_resolved = std::fs::canonicalize(folder).map_err(io_opening)?;
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    let in_folder = match parent.map(std::fs::canonicalize) {
        Some(Ok(parent)) => parent == folder_resolved,
        Some(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Opening::Gone)
        }
        _ => false,
    };
    if !in_folder {
        return Err(Opening::Refused(OutsideFolder::NotInFolder {
            name: shown(),
        }));
    }
    open_in_folder(&folder_resolved, name)
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

/// Imports one finished file of the inbox `folder`: checks it is an
/// ordinary file directly in the folder ([`open_arrival`]) and what it is,
/// stores it encrypted, records the capture for `target`, and removes the
/// original when asked to. A rejected file stays where it is.
#[allow(clippy::too_many_arguments)]
pub async fn import_file<M: StoreMode>(
    store: &CaseStore<M>,
    vault: &AttachmentVault,
    folder: &Path,
    path: &Path,
    target: CaptureTarget,
    remove_after_import: bool,
    at: DateTime<FixedOffset>,
) -> Result<Arrival, CacheError> {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unreadable = |file: String, error: std::io::Error| {
        Ok(Arrival::Rejected(Rejection::Unreadable {
            file,
            detail: error.kind().to_string(),
        }))
    };
    let mut opened = match open_arrival(folder, path) {
        Ok(opened) => opened,
        Err(Opening::Gone) => return Ok(Arrival::Gone { file }),
        Err(Opening::Refused(reason)) => return Ok(Arrival::Rejected(Rejection::Outside(reason))),
        Err(Opening::Unreadable(error)) => return unreadable(file, error),
    };
    let bytes = match opened.read() {
        Ok(bytes) => bytes,
        Err(error) => return unreadable(file, error),
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
        if let Err(error) = opened.remove() {
            tracing::warn!(kind = %error.kind(), "an imported capture could not be removed from the inbox");
        }
    }
    Ok(Arrival::Imported(capture))
}

/// Files already in `folder` (arrived while the app was closed), oldest
/// first, without hidden and temporary ones, links and subfolders.
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
        // Every rename into the folder gives `To`; a rename within it gives
        // `Both` as well, for the same file, which would report it twice
        // (an ID card read and sent twice).
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(opening: Result<FolderFile, Opening>) -> OutsideFolder {
        match opening {
            Err(Opening::Refused(reason)) => reason,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn only_ordinary_files_directly_in_the_folder_are_opened() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("inbox");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        let outside = root.path().join("cases.db");
        std::fs::write(&outside, b"the case store").unwrap();
        std::fs::write(folder.join("zp.bmp"), b"BM photo").unwrap();
        std::fs::write(folder.join("sub/zp.bmp"), b"BM nested").unwrap();

        let mut opened = open_in_folder(&folder, "zp.bmp").unwrap();
        assert_eq!(opened.read().unwrap(), b"BM photo");
        assert_eq!(opened.name(), "zp.bmp");
        opened.remove().unwrap();
        assert!(!folder.join("zp.bmp").exists());
        assert!(matches!(
            open_in_folder(&folder, "zp.bmp"),
            Err(Opening::Gone)
        ));

        for name in [
            "../cases.db",
            "..",
            outside.to_str().unwrap(),
            "sub/zp.bmp",
            "sub\\zp.bmp",
            "zp\0.bmp",
        ] {
            let reason = refused(open_in_folder(&folder, name));
            assert!(
                matches!(reason, OutsideFolder::NotPlain { .. }),
                "{name}: {reason:?}"
            );
            assert_eq!(reason.code(), "device_file_refused");
        }
        // Links are refused wherever they point, inside or out.
        std::os::unix::fs::symlink(&outside, folder.join("out.bmp")).unwrap();
        std::fs::write(folder.join("real.bmp"), b"BM real").unwrap();
        std::os::unix::fs::symlink(folder.join("real.bmp"), folder.join("in.bmp")).unwrap();
        std::os::unix::fs::symlink("../cases.db", folder.join("relative.bmp")).unwrap();
        for name in ["out.bmp", "in.bmp", "relative.bmp"] {
            let reason = refused(open_in_folder(&folder, name));
            assert_eq!(reason, OutsideFolder::Link { name: name.into() }, "{name}");
            assert!(reason.message_zh().contains("符号链接"));
        }
        // A folder and a FIFO are not ordinary files (and opening a FIFO
        // would wait for a writer).
        assert!(matches!(
            refused(open_in_folder(&folder, "sub")),
            OutsideFolder::NotAFile { .. }
        ));
        let fifo = std::ffi::CString::new(folder.join("pipe.bmp").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            refused(open_in_folder(&folder, "pipe.bmp")),
            OutsideFolder::NotAFile { .. }
        ));
        // Nothing outside was touched.
        assert_eq!(std::fs::read(&outside).unwrap(), b"the case store");
        assert_eq!(std::fs::read(folder.join("real.bmp")).unwrap(), b"BM real");
    }

    #[test]
    fn an_arrival_must_be_directly_in_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("inbox");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        let outside = root.path().join("secret.png");
        std::fs::write(&outside, b"secret").unwrap();
        std::fs::write(folder.join("page.png"), b"page").unwrap();
        std::fs::write(folder.join("sub/page.png"), b"nested").unwrap();
        // The folder reached through a link of its own is the same folder.
        let alias = root.path().join("alias");
        std::os::unix::fs::symlink(&folder, &alias).unwrap();
        let mut opened = open_arrival(&alias, &folder.join("page.png")).unwrap();
        assert_eq!(opened.read().unwrap(), b"page");
        assert_eq!(
            opened.path(),
            folder.canonicalize().unwrap().join("page.png")
        );
        for path in [
            outside.clone(),
            folder.join("../secret.png"),
            folder.join("sub/page.png"),
            folder.join("sub/.."),
            PathBuf::from("page.png"),
        ] {
            let reason = refused(open_arrival(&folder, &path));
            assert!(
                matches!(reason, OutsideFolder::NotInFolder { .. }),
                "{}: {reason:?}",
                path.display()
            );
        }
        assert!(matches!(
            open_arrival(&folder, &folder.join("gone.png")),
            Err(Opening::Gone)
        ));
        assert_eq!(std::fs::read(&outside).unwrap(), b"secret");
    }
}
