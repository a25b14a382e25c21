//! The case store's one error type. Every variant says what went wrong and
//! what to do, in English and zh-CN, and names ids, never applicant data.

use std::path::PathBuf;

use crate::lifecycle::{CaseState, Event, Role};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the key store cannot be reached ({detail}), so the case store stays closed and no key was made; start or unlock the desktop keyring and restart the app")]
    KeyringUnavailable { detail: String },
    #[error("the case store {path} exists but its key was not found in the key store; nothing was changed. If the desktop keyring is locked or not started yet, unlock or start it and restart the app; if the key store was lost, an administrator opens the store with its recovery key")]
    StoreKeyMissing { path: PathBuf },
    #[error("the store key in the key store is damaged ({detail})")]
    KeyDamaged { detail: String },
    #[error("the store key file {path} cannot be used: {detail}")]
    KeyFile { path: PathBuf, detail: String },
    #[error("{path} cannot be opened with this key, or is not a case store: wrong key or damaged file (the file was left untouched)")]
    WrongKeyOrNotAStore { path: PathBuf },
    #[error("{path} is damaged: {detail} (the file was left untouched; restore it from backup)")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} was written by a newer OneWindow (schema {found}, this version knows {known}); update the app")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the disk is full: {detail}; free space and try again (nothing was written)")]
    DiskFull { detail: String },
    #[error("the disk refused a write (it may be full or failing): {detail}; nothing was saved")]
    WriteRefused { detail: String },
    #[error("the data folder is read-only: {detail}; nothing was saved. Check the folder's permissions or how its disk is mounted")]
    ReadOnly { detail: String },
    #[error("`{event:?}` is not allowed from `{from:?}` for a {role:?}")]
    IllegalTransition {
        from: CaseState,
        event: Event,
        role: Role,
    },
    #[error("no case `{0}`")]
    UnknownCase(String),
    #[error("no draft `{0}`")]
    UnknownDraft(String),
    #[error("bad input: {0}")]
    BadInput(String),
    /// A rule of the window refused the request; the messages say what to do.
    #[error("{message_en}")]
    Refused {
        code: &'static str,
        message_zh: String,
        message_en: String,
    },
    #[error("the store is closed")]
    Closed,
    #[error("database error: {0}")]
    Database(String),
    #[error("file error on {path}: {detail}")]
    Io { path: PathBuf, detail: String },
}

impl CacheError {
    /// A stable machine code for the UI and tests.
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::KeyringUnavailable { .. } => "keyring_unavailable",
            CacheError::StoreKeyMissing { .. } => "store_key_missing",
            CacheError::KeyDamaged { .. } => "key_damaged",
            CacheError::KeyFile { .. } => "key_file",
            CacheError::WrongKeyOrNotAStore { .. } => "wrong_key_or_not_a_store",
            CacheError::Corrupt { .. } => "store_corrupt",
            CacheError::NewerSchema { .. } => "store_newer_schema",
            CacheError::DiskFull { .. } => "disk_full",
            CacheError::WriteRefused { .. } => "write_refused",
            CacheError::ReadOnly { .. } => "read_only",
            CacheError::IllegalTransition { .. } => "illegal_transition",
            CacheError::UnknownCase(_) => "unknown_case",
            CacheError::UnknownDraft(_) => "unknown_draft",
            CacheError::BadInput(_) => "bad_input",
            CacheError::Refused { code, .. } => code,
            CacheError::Closed => "store_closed",
            CacheError::Database(_) => "database",
            CacheError::Io { .. } => "io",
        }
    }

    /// The message in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            CacheError::KeyringUnavailable { .. } => "无法访问系统密钥库，办件库未打开，也未生成新密钥。请启动或解锁桌面密钥服务后重启本程序。".into(),
            CacheError::StoreKeyMissing { path } => format!("办件库 {} 已存在，但在密钥库中找不到它的密钥，未做任何改动。如桌面密钥服务已锁定或尚未启动，请解锁或启动后重启本程序；如密钥库已丢失，请系统管理员输入恢复密钥打开办件库。", path.display()),
            CacheError::KeyDamaged { .. } => "密钥库中的办件库密钥已损坏，请联系系统管理员。".into(),
            CacheError::KeyFile { path, .. } => format!("密钥文件 {} 无法使用，请联系系统管理员。", path.display()),
            CacheError::WrongKeyOrNotAStore { path } => format!("无法用当前密钥打开 {}：密钥不符或文件已损坏。文件未被改动，请联系系统管理员。", path.display()),
            CacheError::Corrupt { path, .. } => format!("办件库 {} 已损坏，文件未被改动，请从备份恢复。", path.display()),
            CacheError::NewerSchema { .. } => "办件库由更新版本的一窗通写入，请先升级本软件。".into(),
            CacheError::DiskFull { .. } => "磁盘空间已满，本次操作未保存。请清理磁盘后重试。".into(),
            CacheError::WriteRefused { .. } => "磁盘拒绝写入（可能已满或故障），本次操作未保存。请检查磁盘后重试。".into(),
            CacheError::ReadOnly { .. } => "数据文件夹只读，本次操作未保存。请系统管理员检查该文件夹的权限或磁盘的挂载方式。".into(),
            CacheError::IllegalTransition { from, event, .. } => format!("办件当前状态（{from:?}）不允许执行“{event:?}”。"),
            CacheError::UnknownCase(id) => format!("找不到办件 {id}。"),
            CacheError::UnknownDraft(id) => format!("找不到草稿 {id}。"),
            CacheError::BadInput(detail) => format!("输入有误：{detail}"),
            CacheError::Refused { message_zh, .. } => message_zh.clone(),
            CacheError::Closed => "办件库已关闭。".into(),
            CacheError::Database(_) => "办件库出错，本次操作未保存，请重试或联系系统管理员。".into(),
            CacheError::Io { path, .. } => format!("读写 {} 出错，请检查磁盘。", path.display()),
        }
    }
}

/// Maps an SQLite error, recognising a full disk.
pub(crate) fn database(error: rusqlite::Error) -> CacheError {
    if let rusqlite::Error::SqliteFailure(failure, detail) = &error {
        if failure.code == rusqlite::ErrorCode::DiskFull {
            return CacheError::DiskFull {
                detail: detail
                    .clone()
                    .unwrap_or_else(|| "database or disk is full".into()),
            };
        }
        if failure.code == rusqlite::ErrorCode::ReadOnly {
            return CacheError::ReadOnly {
                detail: detail
                    .clone()
                    .unwrap_or_else(|| "attempt to write a readonly database".into()),
            };
        }
        if failure.code == rusqlite::ErrorCode::SystemIoFailure {
            return CacheError::WriteRefused {
                detail: detail.clone().unwrap_or_else(|| "disk I/O error".into()),
            };
        }
    }
    CacheError::Database(error.to_string())
}

impl From<rusqlite::Error> for CacheError {
    fn from(error: rusqlite::Error) -> Self {
        database(error)
    }
}
