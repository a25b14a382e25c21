//! What the running app holds between commands: its directories, its mode,
//! the workstation's identity and the interface preferences.
//!
//! This is plumbing only; domain state (cases, the catalogue) belongs to the
//! core crates and is reached through them.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::error::UiError;
use crate::logging::LogGuard;
use crate::paths::AppPaths;
use crate::preferences::{Preferences, PreferencesFile};

/// Which store and back office the workstation is working against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Real cases, the real store, the real back offices.
    Production,
    /// Practice cases for training: a separate store, nothing leaves the machine.
    Practice,
}

/// The hall and window this workstation serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Workstation {
    pub hall_code: String,
    pub hall_name_zh: String,
    pub hall_name_en: String,
    pub window_number: String,
}

impl Workstation {
    /// The identity a fresh installation shows until the hall's configuration
    /// names its own; clearly a sample, never mistaken for a real hall.
    pub fn sample() -> Self {
        Workstation {
            hall_code: "SAMPLE".into(),
            hall_name_zh: "示例区政务服务中心".into(),
            hall_name_en: "Sample District Government Service Centre".into(),
            window_number: "01".into(),
        }
    }
}

/// The catalogue in use and its search index, replaced as a whole when
/// the catalogue folder changes and the new one is valid; the last
/// reload's problems (for the administrator and the supervisor).
#[derive(Default)]
pub struct CatalogSlot {
    current: std::sync::RwLock<Option<(Arc<forms::Catalog>, Arc<forms::search::SearchIndex>)>>,
    problems: Mutex<Vec<String>>,
}

impl CatalogSlot {
    pub fn new(catalog: Option<forms::Catalog>) -> Self {
        let slot = CatalogSlot::default();
        if let Some(catalog) = catalog {
            slot.replace(catalog);
        }
        slot
    }

    /// The catalogue in use (drafts keep their item versions across a
    /// replacement: the new one carries the old versions in its history).
    pub fn get(&self) -> Option<Arc<forms::Catalog>> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|(catalog, _)| catalog.clone())
    }

    pub fn search(&self) -> Option<(Arc<forms::Catalog>, Arc<forms::search::SearchIndex>)> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Puts `catalog` in use, keeping the item versions of the one before.
    pub fn replace(&self, mut catalog: forms::Catalog) {
        if let Some(previous) = self.get() {
            catalog.keep_versions_of(&previous);
        }
        let index = Arc::new(forms::search::SearchIndex::build(&catalog));
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Arc::new(catalog), index));
        self.set_problems(Vec::new());
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set_problems(&self, problems: Vec<String>) {
        *self
            .problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = problems;
    }
}

/// Managed Tauri state.
pub struct AppState {
    pub paths: AppPaths,
    /// The configuration in force (file, environment overrides, defaults).
    pub settings: Arc<crate::config::Settings>,
    /// The service-item catalogue (and its search index), when it loaded.
    pub catalogs: CatalogSlot,
    /// The working-day calendar (promised dates, gap deadlines), when it loaded.
    pub calendar: Option<Arc<forms::calendar::WorkingCalendar>>,
    mode: Mutex<Mode>,
    pub workstation: Workstation,
    pub preferences_file: PreferencesFile,
    pub preferences: Mutex<Preferences>,
    /// Who is signed in at this workstation (nobody at start).
    pub session: crate::access::SessionSlot,
    /// The case store and the sync with the back offices (the real ones,
    /// or in practice the practice store and the sandbox), or why they are
    /// not available (the window then says so and what to do).
    service: std::sync::RwLock<Result<Arc<crate::backoffice::SyncService>, UiError>>,
    /// How the services were started (practice mode starts its own).
    pub service_options: crate::backoffice::ServiceOptions,
    /// The running practice session, in practice mode.
    pub practice: Mutex<Option<crate::practice::PracticeSession>>,
    /// The practice scenarios (shipped, and the trainers' own), when they
    /// loaded.
    pub scenarios: std::sync::RwLock<Result<Vec<forms::training::Scenario>, String>>,
    /// The device folders (capture inbox, ID-card reader) and the clerk's
    /// current capture target.
    pub devices: crate::devices::Devices,
    _log_guard: Option<LogGuard>,
}

impl AppState {
    /// The catalogue in use, if one loaded.
    pub fn catalog(&self) -> Option<Arc<forms::Catalog>> {
        self.catalogs.get()
    }

    /// The case store and sync in use (real or practice), or why there is none.
    pub fn service(&self) -> Result<Arc<crate::backoffice::SyncService>, UiError> {
        self.service
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Puts other services in use (switching to or from practice); returns
    /// the ones before.
    pub fn swap_service(
        &self,
        next: Result<Arc<crate::backoffice::SyncService>, UiError>,
    ) -> Result<Arc<crate::backoffice::SyncService>, UiError> {
        std::mem::replace(
            &mut *self
                .service
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            next,
        )
    }

    pub fn mode(&self) -> Mode {
        *self
            .mode
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_mode(&self, mode: Mode) {
        *self
            .mode
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = mode;
    }

    /// Creates the directories, starts logging and reads the preferences.
    /// A configuration with problems (`settings` is then the defaults)
    /// keeps the case store closed: the window shows every problem.
    pub fn start(
        paths: AppPaths,
        settings: Result<crate::config::Settings, crate::config::ConfigError>,
        services: &crate::backoffice::ServiceOptions,
        shipped: &crate::config::ShippedFolders,
    ) -> Result<Self, crate::error::AppError> {
        paths.create_all()?;
        let log_guard = crate::logging::start(&paths.log_dir);
        let (settings, config_problem) = match settings {
            Ok(settings) => (settings, None),
            Err(error) => {
                tracing::error!("the configuration file has problems: {error}");
                (
                    crate::config::Settings::defaults(shipped),
                    Some(error.to_ui()),
                )
            }
        };
        if let Some(source) = &settings.source {
            tracing::info!(file = %source.display(), "configuration read");
        }
        let preferences_file = PreferencesFile::in_dir(&paths.config_dir);
        let chosen = preferences_file.path().is_file();
        let mut preferences = preferences_file.load();
        if !chosen {
            // Nothing chosen in Settings yet: the configuration's defaults.
            preferences.printer = settings.printer.clone();
            if let Some(paper) = settings.paper {
                preferences.paper = paper;
            }
            if let Some(minutes) = settings.idle_lock_minutes {
                preferences.idle_lock_minutes = minutes;
            }
        }
        let mut catalog_problems = Vec::new();
        let catalog = match forms::load_catalog(&settings.folders.catalog) {
            Ok(catalog) => Some(catalog),
            Err(error) => {
                tracing::warn!(code = error.code(), "the catalogue did not load:\n{error}");
                catalog_problems.push(error.to_string());
                None
            }
        };
        let calendar = match forms::calendar::WorkingCalendar::load_dir(&settings.folders.calendar)
        {
            Ok(calendar) => Some(Arc::new(calendar)),
            Err(error) => {
                tracing::warn!(
                    code = error.code(),
                    "the working-day calendar did not load:\n{error}"
                );
                None
            }
        };
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            data_dir = %paths.data_dir.display(),
            log_dir = %paths.log_dir.display(),
            "OneWindow started"
        );
        // A practice session still marked on disk (the app stopped during
        // practice) starts in practice mode: the real store stays closed.
        let practice = crate::practice::marked_session(&paths.data_dir);
        let opening = std::time::Instant::now();
        let sync = match (&practice, config_problem) {
            (_, Some(problem)) => Err(problem),
            (Some(_), None) => {
                crate::practice::start_services(&paths.data_dir, catalog.as_ref(), services)
            }
            (None, None) => {
                crate::backoffice::SyncService::start(&paths.data_dir, catalog.as_ref(), services)
                    .map(Arc::new)
            }
        };
        tracing::debug!(
            milliseconds = opening.elapsed().as_millis() as u64,
            "case store and sync opened"
        );
        let scenarios = crate::practice::load_all_scenarios(
            &settings.folders.training,
            &paths.data_dir,
            catalog.as_ref(),
        );
        if let Err(problem) = &scenarios {
            tracing::warn!("the practice scenarios did not load: {problem}");
        }
        if let Err(problem) = &sync {
            tracing::warn!(
                code = problem.code,
                "the case store or sync is not available: {}",
                problem.message_en
            );
        }
        let catalogs = CatalogSlot::new(catalog);
        catalogs.set_problems(catalog_problems);
        let devices = crate::devices::Devices::configure(&settings.folders, &paths.data_dir);
        for folder in [&devices.capture_folder, &devices.id_card_folder] {
            if let Err(error) = std::fs::create_dir_all(folder) {
                tracing::warn!(%error, folder = %folder.display(), "a device folder cannot be made");
            }
        }
        Ok(AppState {
            devices,
            paths,
            catalogs,
            calendar,
            service: std::sync::RwLock::new(sync),
            service_options: services.clone(),
            mode: Mutex::new(if practice.is_some() {
                Mode::Practice
            } else {
                Mode::Production
            }),
            practice: Mutex::new(practice),
            scenarios: std::sync::RwLock::new(scenarios),
            workstation: settings.workstation.clone(),
            settings: Arc::new(settings),
            preferences_file,
            preferences: Mutex::new(preferences),
            session: crate::access::SessionSlot::default(),
            _log_guard: log_guard,
        })
    }
}
