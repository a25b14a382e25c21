//! Where the workstation keeps its data, logs and configuration.
//!
//! By default the directories come from Tauri's path resolver (on Linux
//! `~/.local/share/<identifier>` and friends). The environment variable
//! `ONEWINDOW_DATA_DIR` puts all three under one folder instead, which tests
//! and demos use to start from a clean slate. This module only decides and
//! creates directories; it never deletes or moves anything.

use std::path::{Path, PathBuf};

use crate::error::{AppError, DirectoryKind};

/// The environment variable that moves every directory under one folder.
pub const DATA_DIR_VARIABLE: &str = "ONEWINDOW_DATA_DIR";

/// The three directories the app writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPaths {
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub config_dir: PathBuf,
}

impl AppPaths {
    /// All three directories under one root: `root`, `root/logs`, `root/config`.
    pub fn under(root: &Path) -> Self {
        AppPaths {
            data_dir: root.to_path_buf(),
            log_dir: root.join("logs"),
            config_dir: root.join("config"),
        }
    }

    /// Resolves the directories: the override if one is given, otherwise the
    /// platform directories from Tauri's path resolver.
    pub fn resolve<R: tauri::Runtime>(
        resolver: &tauri::path::PathResolver<R>,
        data_dir_override: Option<PathBuf>,
    ) -> Result<Self, AppError> {
        if let Some(root) = data_dir_override {
            return Ok(Self::under(&root));
        }
        let unavailable = |kind| {
            move |error: tauri::Error| AppError::DirectoryUnavailable {
                kind,
                detail: error.to_string(),
            }
        };
        Ok(AppPaths {
            data_dir: resolver
                .app_data_dir()
                .map_err(unavailable(DirectoryKind::Data))?,
            log_dir: resolver
                .app_log_dir()
                .map_err(unavailable(DirectoryKind::Log))?,
            config_dir: resolver
                .app_config_dir()
                .map_err(unavailable(DirectoryKind::Config))?,
        })
    }

    /// The override from the environment, if set and not empty.
    pub fn override_from_environment() -> Option<PathBuf> {
        std::env::var_os(DATA_DIR_VARIABLE)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    }

    /// Creates the directories that do not exist yet.
    pub fn create_all(&self) -> Result<(), AppError> {
        for dir in [&self.data_dir, &self.log_dir, &self.config_dir] {
            std::fs::create_dir_all(dir).map_err(|source| AppError::Write {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_puts_everything_under_one_root() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        assert_eq!(paths.data_dir, root.path());
        assert_eq!(paths.log_dir, root.path().join("logs"));
        assert_eq!(paths.config_dir, root.path().join("config"));
        paths.create_all().unwrap();
        assert!(paths.log_dir.is_dir() && paths.config_dir.is_dir());
    }

    #[test]
    fn create_all_reports_the_path_it_could_not_create() {
        let root = tempfile::tempdir().unwrap();
        let blocker = root.path().join("a-file");
        std::fs::write(&blocker, b"not a directory").unwrap();
        let error = AppPaths::under(&blocker).create_all().unwrap_err();
        match error {
            AppError::Write { path, .. } => assert!(path.starts_with(&blocker)),
            other => panic!("unexpected error {other:?}"),
        }
    }
}
