//! The workstation's link to the back offices: opens the encrypted case
//! store (its key from the OS key store, or from a key file an
//! administrator named), starts the built-in demo back office when no real
//! one is configured (so everything works at first start), runs the sync
//! engine in the background and tells the UI how each system is doing.
//!
//! Its settings (the back offices' address, or the demo, or none; the key
//! store; the sync interval) come from the configuration file, read and
//! checked by `crate::config`.
//!
//! It holds no sync or store rules: those are in `offline_cache`. The
//! practice store (its own folder and key, `crate::practice`) is opened
//! through the same service but only ever with the in-process sandbox back
//! office; this module must never give it the configured back offices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use offline_cache::key::{backoffice_token, save_backoffice_token, system_store, KeySource};
use offline_cache::sync::{targets_from_key_store, SyncEngine, SyncSettings};
use offline_cache::{CacheError, CaseStore, Production, StoreOptions};
use serde::Serialize;
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;

use crate::error::UiError;

/// Where the back offices are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackOfficeSetting {
    /// The built-in demo back office, on a free loopback port.
    Demo,
    /// Real systems under one base URL.
    Url(String),
    /// No back office: cases are taken in and kept, nothing is sent.
    None,
}

/// How the workstation reaches its key store and back offices.
#[derive(Clone)]
pub struct ServiceOptions {
    pub key: KeySource,
    /// Where back-office tokens are kept; `None`: the OS key store.
    pub token_store: Option<Arc<keyring_core::CredentialStore>>,
    pub backoffice: BackOfficeSetting,
    pub interval: Duration,
    /// The back offices' data standards.
    pub standards_dir: PathBuf,
    /// Run sync passes in the background (the app); tests call `sync_now`.
    pub background: bool,
    /// The store's hall, window and numbering rules (from the configuration).
    pub store: StoreOptions,
}

impl ServiceOptions {
    /// The options the configuration gives.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        ServiceOptions {
            key: match &settings.key_store {
                crate::config::KeyStore::File(path) => KeySource::File(path.clone()),
                crate::config::KeyStore::System => KeySource::System {
                    account: "cases".into(),
                },
                crate::config::KeyStore::KernelKeyring => KeySource::KernelKeyring {
                    account: "cases".into(),
                },
            },
            token_store: None,
            backoffice: settings.backoffice.clone(),
            interval: settings.sync_interval,
            standards_dir: settings.folders.standards.clone(),
            background: true,
            store: settings.store_options(),
        }
    }
}

/// How the link to the back offices stands, for the top bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Syncing with the built-in demo back office.
    Demo,
    /// Syncing with the configured back offices.
    Configured,
    /// No back office is configured: cases are kept, nothing is sent.
    NotConfigured,
    /// Not syncing; the reason says why and what to do.
    Unavailable,
}

/// One system's sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SystemSync {
    pub system: String,
    pub name_zh: String,
    pub name_en: String,
    pub pending: u32,
    pub quarantined: u32,
    pub last_success_at: Option<String>,
    /// False when no token is saved for it: it is not synced.
    pub has_token: bool,
    /// Set while the system refuses the window itself (token, address,
    /// TLS): sending to it is paused, its cases wait; why, for the
    /// administrator.
    pub paused: Option<SystemPause>,
}

/// Why sending to a system is paused, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SystemPause {
    pub since: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// A case held back by a back office's refusal, until corrected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct QuarantinedCase {
    pub row_id: u32,
    pub case_number: String,
    pub system: String,
    pub attempts: u32,
    pub reason_zh: String,
    pub reason_en: String,
}

/// Everything the UI shows about sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
pub struct SyncOverview {
    pub connection: Connection,
    /// Why sync is unavailable (set with `Connection::Unavailable`).
    pub problem: Option<UiError>,
    pub pending: u32,
    pub quarantined: u32,
    pub systems: Vec<SystemSync>,
    pub quarantined_cases: Vec<QuarantinedCase>,
    /// Where the store key is kept when an administrator chose a volatile
    /// or plain store (the kernel keyring, a key file): shown at every start.
    pub key_store_warning: Option<UiError>,
}

impl SyncOverview {
    fn unavailable(problem: UiError) -> Self {
        SyncOverview {
            connection: Connection::Unavailable,
            problem: Some(problem),
            pending: 0,
            quarantined: 0,
            systems: Vec::new(),
            quarantined_cases: Vec::new(),
            key_store_warning: None,
        }
    }
}

/// A store or sync error as the UI receives it.
pub fn cache_error(error: &CacheError) -> UiError {
    UiError {
        code: error.code().to_owned(),
        message_zh: error.message_zh(),
        message_en: format!("{error}"),
    }
}

/// The running link: the store, the engine and the demo back office.
pub struct SyncService {
    pub store: Arc<CaseStore<Production>>,
    /// Encrypted files kept with the cases (issued documents, scans).
    pub vault: Arc<offline_cache::attachments::AttachmentVault>,
    engine: Arc<SyncEngine>,
    connection: Connection,
    names: BTreeMap<String, (String, String)>,
    without_token: Vec<String>,
    wake: Arc<tokio::sync::Notify>,
    last: Mutex<Option<SyncOverview>>,
    /// Held for the length of a pass; `shut_down` takes it to wait for the
    /// running pass and stop the loop before the process exits.
    pass_lock: tokio::sync::Mutex<bool>,
    _demo: Option<backoffice_sim::Simulator>,
    /// A recovery key made at this start and not yet shown to (and
    /// confirmed by) an administrator; only in memory.
    pending_recovery: Mutex<Option<offline_cache::recovery::RecoveryKey>>,
    /// Why the way the key is kept needs a warning (see `SyncOverview`).
    key_warning: Option<UiError>,
}

/// The real store's database file (`<data>/cases/cases.db`): its key is
/// made only while no file of it exists, and its recovery file lies next
/// to it.
pub fn store_file(data_dir: &Path) -> PathBuf {
    use offline_cache::StoreMode;
    data_dir.join("cases").join(Production::FILE_NAME)
}

/// Where back-office tokens are kept: the Secret Service, or the kernel
/// keyring when an administrator chose it for the key. With a key file and
/// no Secret Service, the kernel keyring too (tokens only; warned): a lost
/// token stops sync for that system, never loses a case.
fn token_store(key: &KeySource) -> Result<Arc<keyring_core::CredentialStore>, CacheError> {
    match key {
        KeySource::KernelKeyring { .. } => offline_cache::key::kernel_keyring_store(),
        KeySource::File(_) => system_store().map(|(store, _)| store).or_else(|error| {
            tracing::warn!(%error, "no Secret Service: back-office tokens are kept in the kernel keyring, lost at reboot");
            offline_cache::key::kernel_keyring_store()
        }),
        _ => system_store().map(|(store, _)| store),
    }
}

/// The demo back office's tokens: made once, kept in the key store like
/// real ones, so the engine reads them the same way.
fn demo_tokens(
    systems: &[String],
    tokens: &Arc<keyring_core::CredentialStore>,
) -> Result<BTreeMap<String, String>, CacheError> {
    let mut all = BTreeMap::new();
    for system in systems {
        let token = match backoffice_token(tokens, system)? {
            Some(token) => token,
            None => {
                let token = format!("demo-{}", uuid::Uuid::new_v4().simple());
                save_backoffice_token(tokens, system, &token)?;
                token
            }
        };
        all.insert(system.clone(), token);
    }
    Ok(all)
}

impl SyncService {
    /// Opens the store and starts syncing; an error says why the window
    /// works without a store (and the UI shows it).
    pub fn start(
        data_dir: &Path,
        catalog: Option<&forms::Catalog>,
        options: &ServiceOptions,
    ) -> Result<Self, UiError> {
        let store_file = store_file(data_dir);
        let obtained = options
            .key
            .open(&store_file)
            .map_err(|error| cache_error(&error))?;
        let mut service = Self::start_with_key(data_dir, catalog, options, &obtained.key)?;
        if let Some(warning) = options.key.warning() {
            tracing::warn!(code = warning.code, "{}", warning.message_en);
            service.key_warning = Some(UiError {
                code: warning.code.into(),
                message_zh: warning.message_zh,
                message_en: warning.message_en,
            });
        }
        // The store opened with the key. A store made before recovery keys
        // gets one now, to be shown. One made but never confirmed is not
        // replaced behind the administrator's back (a printed key would stop
        // working at the next start): the window asks for a new one to be
        // made in Settings.
        let pending = match obtained.recovery {
            Some(recovery) => Some(recovery),
            None => match offline_cache::recovery::state(&store_file) {
                Ok(offline_cache::recovery::RecoveryState::Acknowledged) => None,
                Ok(offline_cache::recovery::RecoveryState::Unacknowledged) => {
                    tracing::warn!("the recovery key was never confirmed as kept");
                    if service.key_warning.is_none() {
                        service.key_warning = Some(UiError {
                            code: "recovery_key_unconfirmed".into(),
                            message_zh: "办件库的恢复密钥尚未确认抄存。如果管理员没有抄存，请在“设置”中生成新的恢复密钥并妥善保存。".into(),
                            message_en: "The case store's recovery key was never confirmed as kept. If the administrator did not write it down, make a new one in Settings and keep it safe.".into(),
                        });
                    }
                    None
                }
                Ok(offline_cache::recovery::RecoveryState::Missing) => {
                    let recovery = offline_cache::recovery::RecoveryKey::random();
                    match offline_cache::recovery::seal(&store_file, &obtained.key, &recovery) {
                        Ok(()) => Some(recovery),
                        Err(error) => {
                            tracing::warn!(code = error.code(), %error, "the recovery key could not be made");
                            None
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(code = error.code(), %error, "the recovery file cannot be read");
                    None
                }
            },
        };
        if pending.is_some() {
            tracing::info!("a recovery key waits to be shown to an administrator");
        }
        service.pending_recovery = Mutex::new(pending);
        Ok(service)
    }

    /// The recovery key waiting to be shown, as a person types it.
    pub fn pending_recovery_key(&self) -> Option<String> {
        self.pending_recovery
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|key| key.display().to_string())
    }

    /// Puts `key` up to be shown (a recovery key made again).
    pub fn set_pending_recovery_key(&self, key: Option<offline_cache::recovery::RecoveryKey>) {
        *self
            .pending_recovery
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = key;
    }

    /// [`SyncService::start`] with a key already obtained (the practice
    /// store's key is derived from the real one).
    pub fn start_with_key(
        data_dir: &Path,
        catalog: Option<&forms::Catalog>,
        options: &ServiceOptions,
        key: &offline_cache::StoreKey,
    ) -> Result<Self, UiError> {
        let key = key.clone();
        let store =
            CaseStore::<Production>::open(&data_dir.join("cases"), &key, options.store.clone())
                .map_err(|error| cache_error(&error))?;
        let store = Arc::new(store);
        let vault =
            offline_cache::attachments::AttachmentVault::open(&data_dir.join("attachments"), &key)
                .map_err(|error| cache_error(&error))?;
        let catalog = catalog.ok_or_else(|| UiError {
            code: "catalog_missing".into(),
            message_zh: "事项目录未加载，无法与后台同步。请联系系统管理员检查目录文件。".into(),
            message_en: "The service-item catalogue did not load, so nothing can sync. Ask your administrator to check the catalogue files.".into(),
        })?;
        let standards_dir = &options.standards_dir;
        let standards =
            forms::standards::load_standards(standards_dir, catalog).map_err(|error| UiError {
                code: "standards_invalid".into(),
                message_zh: format!("后台数据标准文件有误，无法同步：{error}"),
                message_en: format!(
                    "The back-office data standards have errors, so nothing can sync: {error}"
                ),
            })?;
        let tokens = match &options.token_store {
            Some(store) => store.clone(),
            None => token_store(&options.key).map_err(|error| cache_error(&error))?,
        };
        let systems: Vec<String> = standards.systems.keys().cloned().collect();
        let (base_url, demo, connection) = match &options.backoffice {
            BackOfficeSetting::Url(url) => (
                url.trim_end_matches('/').to_owned(),
                None,
                Connection::Configured,
            ),
            BackOfficeSetting::Demo => {
                let config = backoffice_sim::Config {
                    tokens: demo_tokens(&systems, &tokens).map_err(|error| cache_error(&error))?,
                    ..backoffice_sim::Config::demo(&data_dir.join("demo-backoffice.sqlite"))
                };
                let simulator =
                    tauri::async_runtime::block_on(backoffice_sim::Simulator::start(config))
                        .map_err(|error| UiError {
                            code: "demo_backoffice".into(),
                            message_zh: format!("内置演示后台无法启动（{error}）。"),
                            message_en: format!(
                                "The built-in demo back office could not start: {error}"
                            ),
                        })?;
                (simulator.url(), Some(simulator), Connection::Demo)
            }
            BackOfficeSetting::None => (String::new(), None, Connection::NotConfigured),
        };
        let (targets, without_token) = if connection == Connection::NotConfigured {
            (BTreeMap::new(), systems.clone())
        } else {
            targets_from_key_store(&standards, |_| base_url.clone(), &tokens)
                .map_err(|error| cache_error(&error))?
        };
        let engine = SyncEngine::new(store.clone(), targets, SyncSettings::default())
            .map_err(|error| cache_error(&error))?;
        let names = catalog
            .systems
            .iter()
            .map(|(id, system)| (id.clone(), (system.name_zh.clone(), system.name_en.clone())))
            .collect();
        tracing::info!(
            ?connection,
            systems = systems.len(),
            without_token = without_token.len(),
            "syncing with the back offices"
        );
        Ok(SyncService {
            store,
            vault: Arc::new(vault),
            engine: Arc::new(engine),
            connection,
            names,
            without_token,
            wake: Arc::new(tokio::sync::Notify::new()),
            last: Mutex::new(None),
            pass_lock: tokio::sync::Mutex::new(false),
            _demo: demo,
            pending_recovery: Mutex::new(None),
            key_warning: None,
        })
    }

    /// One pass: send what is due, fetch results, and say how things stand.
    pub async fn pass(&self) -> Result<SyncOverview, UiError> {
        let stopped = self.pass_lock.lock().await;
        if *stopped {
            return self.overview().await;
        }
        if let Err(error) = self.engine.drain().await {
            tracing::warn!(code = error.code(), %error, "sync pass failed");
        }
        if let Err(error) = self.engine.poll_results().await {
            tracing::warn!(code = error.code(), %error, "result poll failed");
        }
        drop(stopped);
        self.overview().await
    }

    /// How sync stands now.
    pub async fn overview(&self) -> Result<SyncOverview, UiError> {
        let mut systems = self.engine.systems();
        systems.extend(self.without_token.iter().cloned());
        let status = self
            .engine
            .status_of(systems)
            .await
            .map_err(|error| cache_error(&error))?;
        let quarantined = self
            .engine
            .quarantined()
            .await
            .map_err(|error| cache_error(&error))?;
        let count = |value: i64| u32::try_from(value).unwrap_or(u32::MAX);
        let mut systems: Vec<SystemSync> = status
            .iter()
            .map(|entry| SystemSync {
                system: entry.system.clone(),
                name_zh: self
                    .names
                    .get(&entry.system)
                    .map(|n| n.0.clone())
                    .unwrap_or_default(),
                name_en: self
                    .names
                    .get(&entry.system)
                    .map(|n| n.1.clone())
                    .unwrap_or_default(),
                pending: count(entry.pending),
                quarantined: count(entry.quarantined),
                last_success_at: entry.last_success_at.clone(),
                has_token: !self.without_token.contains(&entry.system),
                paused: entry.paused.as_ref().map(|paused| SystemPause {
                    since: paused.since.clone(),
                    reason_zh: paused.reason_zh.clone(),
                    reason_en: paused.reason_en.clone(),
                }),
            })
            .collect();
        systems.sort_by(|a, b| a.system.cmp(&b.system));
        Ok(SyncOverview {
            connection: self.connection.clone(),
            problem: None,
            pending: systems.iter().map(|system| system.pending).sum(),
            quarantined: systems.iter().map(|system| system.quarantined).sum(),
            systems,
            quarantined_cases: quarantined
                .into_iter()
                .map(|row| QuarantinedCase {
                    row_id: u32::try_from(row.row_id).unwrap_or(u32::MAX),
                    case_number: row.case_number,
                    system: row.system,
                    attempts: count(row.attempts),
                    reason_zh: row.reason_zh,
                    reason_en: row.reason_en,
                })
                .collect(),
            key_store_warning: self.key_warning.clone(),
        })
    }

    /// "Send all again" for one system; wakes the sync loop.
    pub async fn retry_all(
        &self,
        system: String,
        actor: offline_cache::cases::Actor,
    ) -> Result<usize, UiError> {
        let count = self
            .engine
            .retry_all_quarantined(system, actor)
            .await
            .map_err(|error| cache_error(&error))?;
        self.wake.notify_one();
        Ok(count)
    }

    /// The values a refused row sent, per item.
    pub async fn refused_values(
        &self,
        row_id: u32,
    ) -> Result<
        std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
        UiError,
    > {
        self.engine
            .refused_values(i64::from(row_id))
            .await
            .map_err(|error| cache_error(&error))
    }

    /// A supervisor's correction of a refused case, then its retry.
    pub async fn correct(
        &self,
        row_id: u32,
        corrections: Vec<offline_cache::sync::FieldCorrection>,
        note: String,
        actor: offline_cache::cases::Actor,
    ) -> Result<(), UiError> {
        self.engine
            .correct_and_retry(i64::from(row_id), corrections, note, actor)
            .await
            .map_err(|error| cache_error(&error))?;
        self.wake.notify_one();
        Ok(())
    }

    /// Ends a system's pause now; wakes the sync loop.
    pub async fn resume(
        &self,
        system: String,
        actor: offline_cache::cases::Actor,
    ) -> Result<(), UiError> {
        self.engine
            .resume(system, actor)
            .await
            .map_err(|error| cache_error(&error))?;
        self.wake.notify_one();
        Ok(())
    }

    /// Puts a corrected case back in the queue and wakes the sync loop.
    pub async fn retry(
        &self,
        row_id: u32,
        actor: offline_cache::cases::Actor,
    ) -> Result<(), UiError> {
        self.engine
            .retry_quarantined(i64::from(row_id), actor)
            .await
            .map_err(|error| cache_error(&error))?;
        self.wake.notify_one();
        Ok(())
    }

    /// Asks the back offices about a person, an entity or an e-licence.
    pub async fn look_up(
        &self,
        lookup: &offline_cache::sync::Lookup,
    ) -> offline_cache::sync::LookupOutcome {
        self.engine.look_up(lookup).await
    }

    /// Asks the booking platform for the day's appointments of `hall`.
    pub async fn fetch_appointments(
        &self,
        hall: &str,
        day: chrono::NaiveDate,
    ) -> offline_cache::sync::AppointmentsFetch {
        self.engine.fetch_appointments(hall, day).await
    }

    /// Waits for a running pass and stops the loop: called when the app
    /// exits, so no pass is cut off half-way by the process ending.
    /// [`SyncService::shut_down`] from async code (switching to or from
    /// practice): waits for a running pass, then no more passes run.
    pub async fn stop(&self) {
        *self.pass_lock.lock().await = true;
    }

    pub fn shut_down(&self) {
        let mut stopped = tauri::async_runtime::block_on(self.pass_lock.lock());
        *stopped = true;
        tracing::info!("sync stopped for exit");
    }

    /// Asks the loop for a pass now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs passes forever (every `interval`, or when woken) and sends the
    /// UI a `SyncOverview` event whenever it changes.
    pub fn spawn_loop<R: Runtime>(self: &Arc<Self>, app: AppHandle<R>, interval: Duration) {
        let service = self.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                if *service.pass_lock.lock().await {
                    break;
                }
                match service.pass().await {
                    Ok(overview) => service.publish(&app, overview),
                    Err(problem) => tracing::warn!(code = problem.code, "sync overview failed"),
                }
                let _ = tokio::time::timeout(interval, service.wake.notified()).await;
            }
        });
    }

    fn publish<R: Runtime>(&self, app: &AppHandle<R>, overview: SyncOverview) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.as_ref() != Some(&overview) {
            if let Err(error) = overview.emit(app) {
                tracing::warn!(%error, "the sync status could not be sent to the window");
            }
            *last = Some(overview);
        }
    }
}

/// The overview when the service could not start.
pub fn unavailable_overview(problem: &UiError) -> SyncOverview {
    SyncOverview::unavailable(problem.clone())
}
