//! What the running app holds between commands: its directories, its mode,
//! the workstation's identity and the interface preferences.
//!
//! Start-up is in two parts, so the window opens at once: [`AppState::start`]
//! does what the first screen needs (folders, logging, configuration,
//! preferences), and [`AppState::open`], on a thread of its own while the
//! window loads, opens the catalogue, the calendar, the case store and sync
//! and the practice scenarios. Whatever reaches those waits until they are
//! open: no command ever sees them half-open.
//!
//! This is plumbing only; domain state (cases, the catalogue) belongs to the
//! core crates and is reached through them.

use std::sync::{Arc, Condvar, Mutex, RwLock};

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

/// Set once what start-up opens behind the window is in place.
#[derive(Default)]
struct Opened {
    done: Mutex<bool>,
    changed: Condvar,
}

impl Opened {
    fn wait(&self) {
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while !*done {
            done = self
                .changed
                .wait(done)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn finish(&self) {
        *self
            .done
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        self.changed.notify_all();
    }
}

/// Managed Tauri state.
pub struct AppState {
    pub paths: AppPaths,
    /// The configuration in force (file, environment overrides, defaults).
    pub settings: Arc<crate::config::Settings>,
    /// The service-item catalogue (and its search index), when it loaded.
    catalogs: CatalogSlot,
    /// The working-day calendar (promised dates, gap deadlines), when it
    /// loaded; replaced as a whole when the administrator loads a year.
    calendar: RwLock<Option<Arc<forms::calendar::WorkingCalendar>>>,
    mode: Mutex<Mode>,
    pub workstation: Workstation,
    pub preferences_file: PreferencesFile,
    pub preferences: Mutex<Preferences>,
    /// Who is signed in at this workstation (nobody at start).
    pub session: crate::access::SessionSlot,
    /// The case store and the sync with the back offices (the real ones,
    /// or in practice the practice store and the sandbox), or why they are
    /// not available (the window then says so and what to do).
    service: RwLock<Result<Arc<crate::backoffice::SyncService>, UiError>>,
    /// How the services were started (practice mode starts its own).
    pub service_options: crate::backoffice::ServiceOptions,
    /// The running practice session, in practice mode.
    pub practice: Mutex<Option<crate::practice::PracticeSession>>,
    /// The practice scenarios (shipped, and the trainers' own), when they
    /// loaded.
    scenarios: RwLock<Result<Vec<forms::training::Scenario>, String>>,
    /// The device folders (capture inbox, ID-card reader) and the clerk's
    /// current capture target.
    pub devices: crate::devices::Devices,
    /// Why the case store stays closed whatever [`AppState::open`] finds
    /// (a folder that cannot be made, a configuration with problems).
    config_problem: Option<UiError>,
    opened: Opened,
    _log_guard: Option<LogGuard>,
}

impl AppState {
    /// The catalogue in use, if one loaded.
    pub fn catalog(&self) -> Option<Arc<forms::Catalog>> {
        self.catalogs().get()
    }

    /// The catalogue slot (waits until start-up has opened it).
    pub fn catalogs(&self) -> &CatalogSlot {
        self.opened.wait();
        &self.catalogs
    }

    /// The working-day calendar, if it loaded.
    pub fn calendar(&self) -> Option<Arc<forms::calendar::WorkingCalendar>> {
        self.opened.wait();
        self.calendar
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The folder where the years an administrator loads in Settings are
    /// kept: the app's own data (the configured or shipped calendar folder
    /// of an installed app is read-only).
    pub fn loaded_calendar_dir(&self) -> std::path::PathBuf {
        self.paths.data_dir.join("holiday-notices")
    }

    /// The calendar folder's years with those an administrator loaded (a
    /// year in both: the folder's file counts, and the log says so).
    pub fn load_calendar(&self) -> Result<forms::calendar::WorkingCalendar, forms::FormsError> {
        let (calendar, left_out) = forms::calendar::WorkingCalendar::load_with_loaded(
            &self.settings.folders.calendar,
            &self.loaded_calendar_dir(),
        )?;
        for path in left_out {
            tracing::warn!(file = %path.display(), "a loaded holiday notice is left out: the calendar folder has that year");
        }
        Ok(calendar)
    }

    /// Puts a calendar in place of the one in use (a year's file loaded in
    /// Settings); a proposal already made keeps the dates it had.
    pub fn replace_calendar(&self, calendar: forms::calendar::WorkingCalendar) {
        self.opened.wait();
        *self
            .calendar
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(calendar));
    }

    /// The practice scenarios, or why they did not load.
    pub fn scenarios(&self) -> &RwLock<Result<Vec<forms::training::Scenario>, String>> {
        self.opened.wait();
        &self.scenarios
    }

    /// The case store and sync in use (real or practice), or why there is none.
    pub fn service(&self) -> Result<Arc<crate::backoffice::SyncService>, UiError> {
        self.opened.wait();
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
        self.opened.wait();
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

    /// The first part of start-up: creates the directories, starts
    /// logging and reads the preferences. The catalogue, the calendar, the
    /// case store and the scenarios are not open yet: [`AppState::open`]
    /// opens them. A folder that cannot be made, or a configuration with
    /// problems (`settings` is then the defaults), keeps the case store
    /// closed: the window shows why.
    pub fn start(
        paths: AppPaths,
        settings: Result<crate::config::Settings, crate::config::ConfigError>,
        services: &crate::backoffice::ServiceOptions,
        shipped: &crate::config::ShippedFolders,
    ) -> Self {
        // A folder that cannot be made keeps the store closed, and the
        // window says which and why (logging then goes to stderr only).
        let folder_problem = paths.create_all().err();
        let log_guard = crate::logging::start(&paths.log_dir);
        if let Some(error) = &folder_problem {
            tracing::error!(%error, "a folder of the app cannot be made: the case store stays closed");
        }
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
        let config_problem = folder_problem.map(UiError::from).or(config_problem);
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
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            data_dir = %paths.data_dir.display(),
            log_dir = %paths.log_dir.display(),
            "OneWindow started"
        );
        // A practice session still marked on disk (the app stopped during
        // practice) starts in practice mode: the real store stays closed.
        let practice = crate::practice::marked_session(&paths.data_dir);
        let devices = crate::devices::Devices::configure(&settings.folders, &paths.data_dir);
        for folder in [&devices.capture_folder, &devices.id_card_folder] {
            if let Err(error) = std::fs::create_dir_all(folder) {
                tracing::warn!(%error, folder = %folder.display(), "a device folder cannot be made");
            }
        }
        AppState {
            devices,
            paths,
            catalogs: CatalogSlot::default(),
            calendar: RwLock::new(None),
            service: RwLock::new(Err(not_opened())),
            // The store's hall, window and numbering always come from the
            // configuration in force, whoever made the service options.
            service_options: crate::backoffice::ServiceOptions {
                store: settings.store_options(),
                ..services.clone()
            },
            mode: Mutex::new(if practice.is_some() {
                Mode::Practice
            } else {
                Mode::Production
            }),
            practice: Mutex::new(practice),
            scenarios: RwLock::new(Err("not loaded yet".to_owned())),
            workstation: settings.workstation.clone(),
            settings: Arc::new(settings),
            preferences_file,
            preferences: Mutex::new(preferences),
            session: crate::access::SessionSlot::default(),
            config_problem,
            opened: Opened::default(),
            _log_guard: log_guard,
        }
    }

    /// The second part of start-up, run once while the window loads: loads
    /// the catalogue and the calendar, opens the case store and sync (or
    /// the practice ones) and loads the scenarios. Everything that reaches
    /// them waits until this has finished, even if it panics (the store
    /// then stays closed and says why).
    pub fn open(&self) {
        struct Finish<'a>(&'a Opened);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                self.0.finish();
            }
        }
        let _finish = Finish(&self.opened);
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.open_all()));
        if opened.is_err() {
            *self
                .service
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Err(UiError {
                code: "startup_failed".into(),
                message_zh: "启动时打开办件库出错，请重启本程序；如仍出错，请联系系统管理员并提供日志。".into(),
                message_en: "Opening the case store failed at start-up. Restart the app; if it happens again, call your administrator with the log.".into(),
            });
        }
    }

    fn open_all(&self) {
        let settings = &self.settings;
        let mut catalog_problems = Vec::new();
        let catalog = match forms::load_catalog(&settings.folders.catalog) {
            Ok(catalog) => Some(catalog),
            Err(error) => {
                tracing::warn!(code = error.code(), "the catalogue did not load:\n{error}");
                catalog_problems.push(error.to_string());
                None
            }
        };
        // A damaged file among the loaded notices must not take the whole
        // calendar with it: the configured folder alone is used then.
        let calendar = self.load_calendar().or_else(|error| {
            tracing::warn!(
                code = error.code(),
                "the loaded holiday notices did not load; the calendar folder alone is used:\n{error}"
            );
            forms::calendar::WorkingCalendar::load_dir(&settings.folders.calendar)
        });
        match calendar {
            Ok(calendar) => {
                *self
                    .calendar
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(calendar));
            }
            Err(error) => tracing::warn!(
                code = error.code(),
                "the working-day calendar did not load:\n{error}"
            ),
        }
        let practice = self
            .practice
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some();
        let opening = std::time::Instant::now();
        let data_dir = &self.paths.data_dir;
        let services = &self.service_options;
        let sync = match (&self.config_problem, practice) {
            (Some(problem), _) => Err(problem.clone()),
            (None, true) => crate::practice::start_services(data_dir, catalog.as_ref(), services),
            (None, false) => {
                crate::backoffice::SyncService::start(data_dir, catalog.as_ref(), services)
                    .map(Arc::new)
            }
        };
        tracing::debug!(
            milliseconds = opening.elapsed().as_millis() as u64,
            "case store and sync opened"
        );
        if let Err(problem) = &sync {
            tracing::warn!(
                code = problem.code,
                "the case store or sync is not available: {}",
                problem.message_en
            );
        }
        let scenarios = crate::practice::load_all_scenarios(
            &settings.folders.training,
            data_dir,
            catalog.as_ref(),
        );
        if let Err(problem) = &scenarios {
            tracing::warn!("the practice scenarios did not load: {problem}");
        }
        if let Some(catalog) = catalog {
            self.catalogs.replace(catalog);
        }
        self.catalogs.set_problems(catalog_problems);
        *self
            .service
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = sync;
        *self
            .scenarios
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = scenarios;
    }
}

/// What the services are before start-up has opened them (never seen by a
/// command: they wait for the opening).
fn not_opened() -> UiError {
    UiError {
        code: "store_opening".into(),
        message_zh: "办件库正在打开，请稍候再试。".into(),
        message_en: "The case store is still opening; try again in a moment.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_for_the_opening_ends_when_it_finishes_and_not_before() {
        let opened = Arc::new(Opened::default());
        let waiter = {
            let opened = opened.clone();
            std::thread::spawn(move || {
                opened.wait();
                std::time::Instant::now()
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "the waiter returned before the opening finished"
        );
        let finished_at = std::time::Instant::now();
        opened.finish();
        let woke_at = waiter.join().expect("the waiter wakes");
        assert!(woke_at >= finished_at);
        // Once finished, waiting returns at once.
        opened.wait();
    }
}
