//! The app crate's one error type and the shape the UI receives.
//!
//! Every command returns `Result<T, UiError>`. A [`UiError`] carries a stable
//! machine code (for the UI and for tests) and a message a clerk can act on,
//! in zh-CN and English. This module must never put applicant data (names,
//! ID numbers, phones) into a message: messages end up in logs.

use std::path::PathBuf;

use serde::Serialize;

/// What can go wrong inside the app crate itself.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The platform gave no usable directory for data, logs or configuration.
    #[error("the {kind} directory could not be determined: {detail}")]
    DirectoryUnavailable { kind: DirectoryKind, detail: String },
    /// A directory or file the app needs could not be created or written.
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Which of the app's directories an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    Data,
    Log,
    Config,
}

impl std::fmt::Display for DirectoryKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            DirectoryKind::Data => "data",
            DirectoryKind::Log => "log",
            DirectoryKind::Config => "configuration",
        })
    }
}

impl DirectoryKind {
    fn name_zh(self) -> &'static str {
        match self {
            DirectoryKind::Data => "数据",
            DirectoryKind::Log => "日志",
            DirectoryKind::Config => "配置",
        }
    }
}

/// An error as the UI receives it: a stable code and a message in both
/// languages. The UI shows the message of the current language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct UiError {
    /// Stable, machine-readable code, e.g. `directory_unavailable`.
    pub code: String,
    /// What happened and what to do, in Simplified Chinese.
    pub message_zh: String,
    /// What happened and what to do, in English.
    pub message_en: String,
}

impl AppError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::DirectoryUnavailable { .. } => "directory_unavailable",
            AppError::Write { .. } => "write_failed",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AppError::DirectoryUnavailable { kind, detail } => format!(
                "无法确定{}目录（{detail}）。请设置环境变量 ONEWINDOW_DATA_DIR 指向可写目录，或联系系统管理员。",
                kind.name_zh()
            ),
            AppError::Write { path, source } => format!(
                "无法写入 {}（{source}）。请检查磁盘空间和目录权限，或联系系统管理员。",
                path.display()
            ),
        }
    }

    fn message_en(&self) -> String {
        match self {
            AppError::DirectoryUnavailable { .. } => format!(
                "{self}. Set ONEWINDOW_DATA_DIR to a writable directory, or call your system administrator."
            ),
            AppError::Write { .. } => format!(
                "{self}. Check the free disk space and the folder's permissions, or call your system administrator."
            ),
        }
    }
}

impl From<AppError> for UiError {
    fn from(error: AppError) -> Self {
        tracing::warn!(code = error.code(), %error, "command failed");
        UiError {
            code: error.code().to_owned(),
            message_zh: error.message_zh(),
            message_en: error.message_en(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_two_messages() {
        let error = AppError::DirectoryUnavailable {
            kind: DirectoryKind::Log,
            detail: "no home directory".into(),
        };
        let json = serde_json::to_value(UiError::from(error)).unwrap();
        assert_eq!(json["code"], "directory_unavailable");
        assert_eq!(
            json["message_en"],
            "the log directory could not be determined: no home directory. \
             Set ONEWINDOW_DATA_DIR to a writable directory, or call your system administrator."
        );
        assert!(json["message_zh"].as_str().unwrap().contains("日志目录"));
        assert_eq!(json.as_object().unwrap().len(), 3);
    }

    #[test]
    fn write_error_names_the_path() {
        let error = AppError::Write {
            path: PathBuf::from("/data/preferences.json"),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        let ui = UiError::from(error);
        assert_eq!(ui.code, "write_failed");
        assert!(ui.message_zh.contains("/data/preferences.json"));
        assert!(ui.message_en.contains("/data/preferences.json"));
    }
}
