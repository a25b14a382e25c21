//! The workstation's interface preferences (language, printer and paper), kept in
//! `preferences.json` in the configuration directory.
//!
//! Writes are atomic (a temporary file renamed over the old one), so a crash
//! never leaves half a file. An unreadable file is never thrown away: it is
//! renamed aside with a timestamp and the defaults apply. This module holds
//! no applicant data and must never be used for any.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The file name inside the configuration directory.
pub const FILE_NAME: &str = "preferences.json";

/// The interface languages. Simplified Chinese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    SimplifiedChinese,
    #[serde(rename = "en")]
    English,
}

/// Everything the workstation remembers about its interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default)]
pub struct Preferences {
    pub language: Language,
    /// The CUPS printer documents go to; `None` until one is chosen.
    pub printer: Option<String>,
    /// The paper of that printer.
    pub paper: crate::print::Layout,
    /// Minutes without input before the workstation locks itself.
    pub idle_lock_minutes: u32,
}

/// The idle lock's default: five minutes.
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 5;

/// The idle lock's allowed range, in minutes (it cannot be switched off),
/// the same as the configuration's `lock.idle_minutes`.
pub const IDLE_LOCK_RANGE: std::ops::RangeInclusive<u32> = 1..=60;

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            language: Language::default(),
            printer: None,
            paper: crate::print::Layout::default(),
            idle_lock_minutes: DEFAULT_IDLE_LOCK_MINUTES,
        }
    }
}

/// Reads and writes [`Preferences`] in one configuration directory.
#[derive(Debug, Clone)]
pub struct PreferencesFile {
    path: PathBuf,
}

impl PreferencesFile {
    pub fn in_dir(config_dir: &Path) -> Self {
        PreferencesFile {
            path: config_dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved preferences, or the defaults when there are none yet. An
    /// unreadable file is moved aside (and logged) rather than deleted.
    pub fn load(&self) -> Preferences {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Preferences::default()
            }
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "preferences unreadable; using defaults");
                return Preferences::default();
            }
        };
        match serde_json::from_str::<Preferences>(&text) {
            Ok(preferences) if IDLE_LOCK_RANGE.contains(&preferences.idle_lock_minutes) => {
                preferences
            }
            Ok(mut preferences) => {
                // The rest of the file stands; the bad value is replaced and
                // the file as it was kept aside for inspection.
                let found = preferences.idle_lock_minutes;
                preferences.idle_lock_minutes = DEFAULT_IDLE_LOCK_MINUTES;
                let aside = self.aside();
                let moved = std::fs::rename(&self.path, &aside).is_ok();
                let saved = self.save(&preferences);
                tracing::warn!(
                    path = %self.path.display(),
                    found,
                    allowed = ?IDLE_LOCK_RANGE,
                    default = DEFAULT_IDLE_LOCK_MINUTES,
                    moved_aside_to = %if moved { aside.display().to_string() } else { "(could not move)".into() },
                    saved_again = saved.is_ok(),
                    "preferences: idle_lock_minutes is out of range; the default applies"
                );
                preferences
            }
            Err(error) => {
                let aside = self.aside();
                let moved = std::fs::rename(&self.path, &aside).is_ok();
                tracing::warn!(
                    path = %self.path.display(),
                    line = error.line(),
                    column = error.column(),
                    %error,
                    moved_aside_to = %if moved { aside.display().to_string() } else { "(could not move)".into() },
                    "preferences file is not valid; using defaults"
                );
                Preferences::default()
            }
        }
    }

    /// Where a bad file is kept.
    fn aside(&self) -> PathBuf {
        self.path.with_extension(format!(
            "json.unreadable-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or(0)
        ))
    }

    /// Saves the preferences atomically.
    pub fn save(&self, preferences: &Preferences) -> Result<(), AppError> {
        let write_error = |source| AppError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let mut temporary = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        let json = serde_json::to_vec_pretty(preferences).expect("preferences always serialise");
        temporary.write_all(&json).map_err(write_error)?;
        temporary.as_file().sync_all().map_err(write_error)?;
        temporary
            .persist(&self.path)
            .map_err(|error| write_error(error.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_simplified_chinese_when_nothing_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let file = PreferencesFile::in_dir(dir.path());
        assert_eq!(file.load().language, Language::SimplifiedChinese);
        assert!(!file.path().exists());
    }

    #[test]
    fn saved_language_is_read_back_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = PreferencesFile::in_dir(&dir.path().join("config"));
        file.save(&Preferences {
            language: Language::English,
            ..Preferences::default()
        })
        .unwrap();
        let on_disk = std::fs::read_to_string(file.path()).unwrap();
        assert!(on_disk.contains("\"language\": \"en\""), "{on_disk}");
        let again = PreferencesFile::in_dir(&dir.path().join("config"));
        assert_eq!(again.load().language, Language::English);
    }

    #[test]
    fn unreadable_file_is_kept_aside_and_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let file = PreferencesFile::in_dir(dir.path());
        std::fs::write(file.path(), b"{\"language\": \"klingon\"}").unwrap();
        assert_eq!(file.load(), Preferences::default());
        assert!(!file.path().exists());
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("preferences.json.unreadable-"))
            .collect();
        assert_eq!(kept.len(), 1, "the bad file must be kept for inspection");
    }

    #[test]
    fn an_idle_lock_out_of_range_is_replaced_by_the_default_and_the_file_kept() {
        for bad in [0, 61, 100_000] {
            let dir = tempfile::tempdir().unwrap();
            let file = PreferencesFile::in_dir(dir.path());
            let text = format!("{{\"language\": \"en\", \"idle_lock_minutes\": {bad}}}");
            std::fs::write(file.path(), &text).unwrap();
            let loaded = file.load();
            assert_eq!(loaded.idle_lock_minutes, DEFAULT_IDLE_LOCK_MINUTES, "{bad}");
            assert_eq!(loaded.language, Language::English, "the rest stands");
            let kept: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| {
                    path.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("preferences.json.unreadable-")
                })
                .collect();
            assert_eq!(kept.len(), 1, "the bad file is kept aside");
            assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), text);
            assert_eq!(file.load(), loaded, "the corrected file reads back");
        }
        for good in [1, 60] {
            let dir = tempfile::tempdir().unwrap();
            let file = PreferencesFile::in_dir(dir.path());
            std::fs::write(file.path(), format!("{{\"idle_lock_minutes\": {good}}}")).unwrap();
            assert_eq!(file.load().idle_lock_minutes, good);
        }
    }

    #[test]
    fn unknown_keys_from_a_newer_version_do_not_lose_the_language() {
        let dir = tempfile::tempdir().unwrap();
        let file = PreferencesFile::in_dir(dir.path());
        std::fs::write(file.path(), b"{\"language\": \"en\", \"theme\": \"dark\"}").unwrap();
        assert_eq!(file.load().language, Language::English);
    }
}
