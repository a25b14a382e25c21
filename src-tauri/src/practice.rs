//! Practice mode for trainers and trainees.
//!
//! A trainer starts a session for a trainee: the real store and its sync
//! are stopped and closed, and the workstation switches to a practice store
//! of its own (`<data>/practice`, its key derived from the real one) whose
//! sync goes only to a sandbox back office inside the process (the demo
//! simulator with tokens that exist only in memory) — never to a configured
//! back office. Every document is watermarked 练习 — 无效, the banner cannot
//! be hidden, and the session is marked on disk so that an app stopped
//! during practice starts again in practice. Leaving needs a trainer's
//! sign-in. Scenarios and scoring are `forms::training`; sessions and
//! attempts are `offline_cache::practice`.
//!
//! This module must never open the real store while practice runs, and
//! never hand the practice store to real back offices.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tauri::{AppHandle, Runtime, State};

use crate::access::{not_signed_in, require};
use crate::backoffice::{cache_error, BackOfficeSetting, ServiceOptions, SyncService};
use crate::error::UiError;
use crate::state::{AppState, Mode};

/// The session marked on disk while practice runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PracticeSession {
    pub session_id: String,
    pub trainer_id: String,
    pub trainee_id: String,
    pub started_at: String,
}

/// The practice data folder.
pub fn practice_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("practice")
}

fn marker(data_dir: &Path) -> PathBuf {
    practice_dir(data_dir).join("session.json")
}

/// The session marked on disk, if practice was running.
pub fn marked_session(data_dir: &Path) -> Option<PracticeSession> {
    let text = std::fs::read_to_string(marker(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_marker(data_dir: &Path, session: &PracticeSession) -> Result<(), UiError> {
    let path = marker(data_dir);
    let io = |error: std::io::Error| {
        UiError {
        code: "practice_marker".into(),
        message_zh: format!("无法记录练习状态（{error}），请检查数据目录的磁盘空间和权限。"),
        message_en: format!(
            "The practice session cannot be recorded ({error}); check the data folder's space and permissions."
        ),
    }
    };
    std::fs::create_dir_all(practice_dir(data_dir)).map_err(io)?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_vec(session).unwrap_or_default()).map_err(io)?;
    std::fs::rename(&temporary, &path).map_err(io)
}

/// The practice store's key: derived from the real key, so it needs no
/// entry of its own and is never the real key. The real key is never made
/// here while either store exists (a key store that lost it would
/// otherwise shadow it).
fn practice_key(
    data_dir: &Path,
    options: &ServiceOptions,
) -> Result<offline_cache::StoreKey, UiError> {
    let real_store = crate::backoffice::store_file(data_dir);
    let practice_store = crate::backoffice::store_file(&practice_dir(data_dir));
    if offline_cache::key::store_exists(&practice_store)
        && !offline_cache::key::store_exists(&real_store)
    {
        // The real key comes from the real store's key store entry; with
        // the real store gone, a new one must not be made for practice.
        return options
            .key
            .obtain(&practice_store)
            .map_err(|error| cache_error(&error))
            .map(|real| derive_practice_key(&real));
    }
    let real = options
        .key
        .obtain(&real_store)
        .map_err(|error| cache_error(&error))?;
    Ok(derive_practice_key(&real))
}

fn derive_practice_key(real: &offline_cache::StoreKey) -> offline_cache::StoreKey {
    let mut hasher = Sha256::new();
    hasher.update(b"onewindow practice store");
    hasher.update(real.bytes());
    offline_cache::StoreKey::from_bytes(hasher.finalize().into())
}

/// Opens the practice store and its sandbox back office.
pub fn start_services(
    data_dir: &Path,
    catalog: Option<&forms::Catalog>,
    options: &ServiceOptions,
) -> Result<Arc<SyncService>, UiError> {
    let key = practice_key(data_dir, options)?;
    let tokens = keyring_core::mock::Store::new().map_err(|error| UiError {
        code: "practice_sandbox".into(),
        message_zh: format!("练习沙盒后台无法启动（{error}）。"),
        message_en: format!("The practice sandbox back office cannot start ({error})."),
    })?;
    let sandbox = ServiceOptions {
        backoffice: BackOfficeSetting::Demo,
        token_store: Some(tokens),
        store: options.store.for_practice(),
        ..options.clone()
    };
    SyncService::start_with_key(&practice_dir(data_dir), catalog, &sandbox, &key).map(Arc::new)
}

/// Opens the practice or the real services off the async workers (the
/// sandbox back office starts its own server and waits for it).
async fn open_in_background(state: &AppState, practice: bool) -> Result<Arc<SyncService>, UiError> {
    let data_dir = state.paths.data_dir.clone();
    let catalog = state.catalog();
    let options = state.service_options.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if practice {
            start_services(&data_dir, catalog.as_deref(), &options)
        } else {
            SyncService::start(&data_dir, catalog.as_deref(), &options).map(Arc::new)
        }
    })
    .await
    .map_err(|error| UiError {
        code: "services_failed".into(),
        message_zh: "无法打开办件库，请重试或联系系统管理员。".into(),
        message_en: format!(
            "The case store could not be opened ({error}); try again or call your administrator."
        ),
    })?
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Switches the services: stops the ones in use (waiting for a running
/// pass), puts `next` in use, starts its sync loop when the app runs one.
async fn switch_to<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    next: Result<Arc<SyncService>, UiError>,
    mode: Mode,
) {
    if let Ok(previous) = state.service() {
        previous.stop().await;
    }
    if let (Ok(service), true) = (&next, state.service_options.background) {
        service.spawn_loop(app.clone(), state.service_options.interval);
    }
    // The services before are dropped here: their store closes.
    drop(state.swap_service(next));
    state.set_mode(mode);
    state.session.set(None);
}

/// The trainer starts a practice session for a trainee (a clerk's
/// account): the accounts are copied into the practice store, the real
/// store closes, and the window shows the sign-in screen in practice mode.
#[tauri::command]
#[specta::specta]
pub async fn start_practice<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    trainee_login: String,
) -> Result<crate::commands::session::SessionView, UiError> {
    let trainer = require(&state, "start_practice")?;
    if state.mode() == Mode::Practice {
        return Err(UiError {
            code: "already_practising".into(),
            message_zh: "已在练习模式中。".into(),
            message_en: "Practice is already running.".into(),
        });
    }
    let real = state.service()?;
    let users = real
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?;
    let trainee = users
        .iter()
        .find(|user| user.login == trainee_login.trim() && !user.disabled)
        .ok_or_else(|| UiError {
            code: "unknown_trainee".into(),
            message_zh: format!("没有名为“{}”的可用账号。", trainee_login.trim()),
            message_en: format!("There is no active account `{}`.", trainee_login.trim()),
        })?;
    let accounts = real
        .store
        .accounts_to_copy(vec![trainer.user_id.clone(), trainee.id.clone()])
        .await
        .map_err(|error| cache_error(&error))?;
    let practice = open_in_background(&state, true).await?;
    let session_id = practice
        .store
        .begin_practice_session(accounts, trainer.user_id.clone(), trainee.id.clone(), now())
        .await
        .map_err(|error| cache_error(&error))?;
    let session = PracticeSession {
        session_id,
        trainer_id: trainer.user_id.clone(),
        trainee_id: trainee.id.clone(),
        started_at: now().to_rfc3339(),
    };
    write_marker(&state.paths.data_dir, &session)?;
    tracing::info!("practice started; the real store is closed until it ends");
    switch_to(&app, &state, Ok(practice), Mode::Practice).await;
    *state
        .practice
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(session);
    crate::commands::session::announce(&app, &state).await
}

/// A trainer ends practice (signed in over the trainee's session): the
/// practice store closes and the real one opens again.
#[tauri::command]
#[specta::specta]
pub async fn end_practice<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<crate::commands::session::SessionView, UiError> {
    require(&state, "end_practice")?;
    if state.mode() != Mode::Practice {
        return Err(UiError {
            code: "not_practising".into(),
            message_zh: "当前不在练习模式。".into(),
            message_en: "Practice is not running.".into(),
        });
    }
    let session = state
        .practice
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    if let (Some(session), Ok(service)) = (&session, state.service()) {
        service
            .store
            .end_practice_session(session.session_id.clone(), now())
            .await
            .map_err(|error| cache_error(&error))?;
    }
    let real = open_in_background(&state, false).await;
    std::fs::remove_file(marker(&state.paths.data_dir)).map_err(|error| UiError {
        code: "practice_marker".into(),
        message_zh: format!("无法结束练习状态（{error}）。"),
        message_en: format!("The practice session mark cannot be removed ({error})."),
    })?;
    tracing::info!("practice ended; the real store is open again");
    switch_to(&app, &state, real, Mode::Production).await;
    *state
        .practice
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    crate::commands::session::announce(&app, &state).await
}

/// An administrator ends a practice session that cannot be ended the
/// usual way (the practice store does not open, so nobody can sign in; or
/// its trainer is gone). No session is needed: the administrator's login
/// and password are checked against the real store's accounts, which is
/// opened for it. The ending is audited in the real store
/// (`practice.ended_by_admin`: who, which session, its trainer and trainee,
/// why) and logged; the window is back in real work, signed out. A real
/// store that does not open cannot check the administrator, so practice
/// stays and the error says why.
#[tauri::command]
#[specta::specta]
pub async fn end_practice_as_admin<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    login: String,
    password: String,
) -> Result<crate::commands::session::SessionView, UiError> {
    if state.mode() != Mode::Practice {
        return Err(UiError {
            code: "not_practising".into(),
            message_zh: "当前不在练习模式。".into(),
            message_en: "Practice is not running.".into(),
        });
    }
    let real = open_in_background(&state, false).await.inspect_err(|error| {
        tracing::warn!(code = %error.code, "an administrator could not end practice: the real store does not open");
    })?;
    let admin = match real.store.verify_user(login, password, now()).await {
        Ok(user) if user.role == offline_cache::lifecycle::Role::Admin => user,
        refused => {
            real.stop().await;
            return Err(match refused {
                Ok(_) => UiError {
                    code: "not_allowed".into(),
                    message_zh: "只有管理员可以强制结束练习。".into(),
                    message_en: "Only an administrator can end practice this way.".into(),
                },
                Err(error) => cache_error(&error),
            });
        }
    };
    let session = state
        .practice
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .or_else(|| marked_session(&state.paths.data_dir));
    let practice_open = state.service().is_ok();
    let reason = if practice_open {
        "ended by an administrator"
    } else {
        "the practice store did not open"
    };
    let (session_id, trainer_id, trainee_id) = session
        .as_ref()
        .map(|session| {
            (
                session.session_id.clone(),
                session.trainer_id.clone(),
                session.trainee_id.clone(),
            )
        })
        .unwrap_or_default();
    real.store
        .record_practice_ended_by_admin(
            admin.actor(),
            session_id.clone(),
            trainer_id,
            trainee_id,
            reason.into(),
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    tracing::warn!(
        admin = %admin.id,
        session = %session_id,
        reason,
        "practice ended by an administrator (audited in the real store)"
    );
    if let (Some(session), Ok(practice)) = (&session, state.service()) {
        if let Err(error) = practice
            .store
            .end_practice_session(session.session_id.clone(), now())
            .await
        {
            tracing::warn!(%error, "the practice store did not record the end of its session");
        }
    }
    match std::fs::remove_file(marker(&state.paths.data_dir)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(UiError {
                code: "practice_marker".into(),
                message_zh: "无法删除练习状态标记，请检查数据目录的权限。".into(),
                message_en: format!("The practice session mark cannot be removed ({error}); check the data folder's permissions."),
            });
        }
        _ => {}
    }
    switch_to(&app, &state, Ok(real), Mode::Production).await;
    *state
        .practice
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    state.devices.clear_capture_target();
    crate::commands::session::announce(&app, &state).await
}

/// A scenario as the trainee reads it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ScenarioView {
    pub id: String,
    pub category: String,
    pub title_zh: String,
    pub title_en: String,
    pub budget_seconds: u32,
    pub matter_zh: String,
    pub matter_en: String,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub applicant_phone: String,
    pub applicant_address: String,
    /// The materials the applicant does not bring.
    pub missing: Vec<String>,
    /// Brought with a problem: material and what is wrong.
    pub deficient: Vec<(String, String)>,
}

fn scenarios(state: &AppState) -> Result<Vec<forms::training::Scenario>, UiError> {
    state
        .scenarios()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .map_err(|problem| UiError {
            code: "scenarios_missing".into(),
            message_zh: "练习场景未能加载，请联系培训管理员。".into(),
            message_en: format!("The practice scenarios did not load: {problem}"),
        })
}

/// The trainers' own scenarios, written by the editor.
fn own_scenarios_file(data_dir: &Path) -> PathBuf {
    data_dir.join("training").join("trainer-scenarios.toml")
}

/// The shipped scenarios and the trainers' own (`<data>/training`).
pub fn load_all_scenarios(
    shipped_dir: &Path,
    data_dir: &Path,
    catalog: Option<&forms::Catalog>,
) -> Result<Vec<forms::training::Scenario>, String> {
    let catalog = catalog.ok_or_else(|| "the catalogue did not load".to_owned())?;
    let today = chrono::Local::now().date_naive();
    let mut all = forms::training::load_scenarios(shipped_dir, catalog, today)
        .map_err(|errors| errors.to_string())?;
    let own = data_dir.join("training");
    if own.exists() {
        match forms::training::load_scenarios(&own, catalog, today) {
            Ok(found) => all.extend(found),
            Err(errors) => tracing::warn!("a trainer's scenario did not load:\n{errors}"),
        }
    }
    Ok(all)
}

fn scenario_view(scenario: &forms::training::Scenario) -> ScenarioView {
    ScenarioView {
        id: scenario.id.clone(),
        category: serde_json::to_value(scenario.category)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default(),
        title_zh: scenario.title_zh.clone(),
        title_en: scenario.title_en.clone(),
        budget_seconds: scenario.budget_seconds,
        matter_zh: scenario.matter_zh.clone(),
        matter_en: scenario.matter_en.clone(),
        applicant_name: scenario.applicant.name.clone(),
        applicant_id_number: scenario.applicant.id_number.clone(),
        applicant_phone: scenario.applicant.phone.clone(),
        applicant_address: scenario.applicant.address.clone(),
        missing: scenario.materials.missing.clone(),
        deficient: scenario
            .materials
            .deficient
            .iter()
            .map(|line| (line.material.clone(), line.problem_zh.clone()))
            .collect(),
    }
}

/// The practice scenarios.
#[tauri::command]
#[specta::specta]
pub fn practice_scenarios(state: State<'_, AppState>) -> Result<Vec<ScenarioView>, UiError> {
    require(&state, "practice_scenarios")?;
    Ok(scenarios(&state)?.iter().map(scenario_view).collect())
}

fn practice_only(state: &AppState) -> Result<PracticeSession, UiError> {
    match (
        state.mode(),
        state
            .practice
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone(),
    ) {
        (Mode::Practice, Some(session)) => Ok(session),
        _ => Err(UiError {
            code: "not_practising".into(),
            message_zh: "练习场景只能在练习模式中进行，请培训员开始练习。".into(),
            message_en: "Scenarios run in practice mode only; ask a trainer to start practice."
                .into(),
        }),
    }
}

/// An attempt in progress.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AttemptView {
    pub attempt_id: String,
    pub scenario: ScenarioView,
    pub started_at: String,
}

/// The trainee starts a scenario (the clock starts).
#[tauri::command]
#[specta::specta]
pub async fn start_scenario(
    state: State<'_, AppState>,
    scenario_id: String,
) -> Result<AttemptView, UiError> {
    let trainee = require(&state, "start_scenario")?;
    let session = practice_only(&state)?;
    let all = scenarios(&state)?;
    let scenario = all
        .iter()
        .find(|scenario| scenario.id == scenario_id)
        .ok_or_else(|| UiError {
            code: "unknown_scenario".into(),
            message_zh: format!("没有练习场景 {scenario_id}。"),
            message_en: format!("There is no scenario {scenario_id}."),
        })?;
    let service = state.service()?;
    let started = now();
    let attempt_id = service
        .store
        .start_attempt(session.session_id, trainee.user_id, scenario_id, started)
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(AttemptView {
        attempt_id,
        scenario: scenario_view(scenario),
        started_at: started.to_rfc3339(),
    })
}

/// The trainee's open attempt, if any (the practice screen shows it).
#[tauri::command]
#[specta::specta]
pub async fn open_attempt(state: State<'_, AppState>) -> Result<Option<AttemptView>, UiError> {
    let trainee = require(&state, "open_attempt")?;
    if state.mode() != Mode::Practice {
        return Ok(None);
    }
    let service = state.service()?;
    let Some(open) = service
        .store
        .open_attempt(trainee.user_id)
        .await
        .map_err(|error| cache_error(&error))?
    else {
        return Ok(None);
    };
    let all = scenarios(&state)?;
    let Some(scenario) = all.iter().find(|scenario| scenario.id == open.scenario_id) else {
        return Ok(None);
    };
    Ok(Some(AttemptView {
        attempt_id: open.id,
        scenario: scenario_view(scenario),
        started_at: open.started_at,
    }))
}

/// One scored part.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ScorePartView {
    pub name: String,
    pub points: u32,
    pub of: u32,
    pub feedback_zh: String,
    pub feedback_en: String,
}

/// An attempt's outcome.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AttemptResult {
    pub attempt_id: String,
    pub scenario_id: String,
    pub scenario_title_zh: String,
    pub scenario_title_en: String,
    pub trainee_name: String,
    pub finished_at: String,
    pub total: u32,
    pub parts: Vec<ScorePartView>,
    pub seconds: u32,
    pub keystrokes: u32,
}

/// The trainee finishes the scenario: what they committed since it
/// started is scored.
#[tauri::command]
#[specta::specta]
pub async fn finish_scenario(
    state: State<'_, AppState>,
    keystrokes: u32,
) -> Result<AttemptResult, UiError> {
    let trainee = require(&state, "finish_scenario")?;
    practice_only(&state)?;
    let service = state.service()?;
    let open = service
        .store
        .open_attempt(trainee.user_id.clone())
        .await
        .map_err(|error| cache_error(&error))?
        .ok_or_else(|| UiError {
            code: "no_attempt".into(),
            message_zh: "没有进行中的练习，请先选择场景。".into(),
            message_en: "No scenario is running; choose one first.".into(),
        })?;
    let all = scenarios(&state)?;
    let scenario = all
        .iter()
        .find(|scenario| scenario.id == open.scenario_id)
        .ok_or_else(|| UiError {
            code: "unknown_scenario".into(),
            message_zh: "该练习场景已不存在。".into(),
            message_en: "That scenario no longer exists.".into(),
        })?;
    let committed = service
        .store
        .committed_since(trainee.user_id.clone(), open.started_at.clone())
        .await
        .map_err(|error| cache_error(&error))?;
    let finished = now();
    let seconds = chrono::DateTime::parse_from_rfc3339(&open.started_at)
        .map(|started| (finished - started).num_seconds().max(0))
        .unwrap_or(0);
    let attempt = match &committed {
        Some(case) => {
            let proposal: Option<forms::decision::DecisionProposal> =
                serde_json::from_value(case.decision_proposal.clone()).ok();
            forms::training::Attempt {
                subject: Some(match &case.bundle_id {
                    Some(bundle) => forms::training::ScenarioSubject::Bundle(bundle.clone()),
                    None => forms::training::ScenarioSubject::Item(
                        case.item_ids.first().cloned().unwrap_or_default(),
                    ),
                }),
                decision: proposal.as_ref().map(|proposal| proposal.kind),
                notice_names: proposal
                    .map(|proposal| {
                        proposal
                            .to_supply
                            .iter()
                            .map(|line| line.material_id.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
                applicant_id_number: case.applicant_identifier.clone(),
                applicant_name: case.applicant_name.clone(),
                seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
                keystrokes,
            }
        }
        None => forms::training::Attempt {
            subject: None,
            decision: None,
            notice_names: Vec::new(),
            applicant_id_number: String::new(),
            applicant_name: String::new(),
            seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
            keystrokes,
        },
    };
    let scored = forms::training::score(scenario, &attempt);
    let detail = serde_json::json!({ "score": scored, "attempt": attempt });
    service
        .store
        .finish_attempt(
            open.id.clone(),
            committed.map(|case| case.case_id),
            scored.total,
            detail,
            finished,
        )
        .await
        .map_err(|error| cache_error(&error))?;
    let trainee_name = state
        .session
        .get()
        .map(|session| session.user.display_name.clone())
        .ok_or_else(not_signed_in)?;
    Ok(result(
        scenario,
        open.id,
        trainee_name,
        finished.to_rfc3339(),
        &scored,
        &attempt,
    ))
}

fn result(
    scenario: &forms::training::Scenario,
    attempt_id: String,
    trainee_name: String,
    finished_at: String,
    scored: &forms::training::Score,
    attempt: &forms::training::Attempt,
) -> AttemptResult {
    AttemptResult {
        attempt_id,
        scenario_id: scenario.id.clone(),
        scenario_title_zh: scenario.title_zh.clone(),
        scenario_title_en: scenario.title_en.clone(),
        trainee_name,
        finished_at,
        total: scored.total,
        parts: scored
            .parts
            .iter()
            .map(|part| ScorePartView {
                name: part.name.clone(),
                points: part.points,
                of: part.of,
                feedback_zh: part.feedback_zh.clone(),
                feedback_en: part.feedback_en.clone(),
            })
            .collect(),
        seconds: attempt.seconds,
        keystrokes: attempt.keystrokes,
    }
}

/// Every scored attempt, newest first (the trainer's view). In production
/// mode the practice store is opened for the reading only.
#[tauri::command]
#[specta::specta]
pub async fn practice_results(state: State<'_, AppState>) -> Result<Vec<AttemptResult>, UiError> {
    require(&state, "practice_results")?;
    let service = match state.mode() {
        Mode::Practice => state.service()?,
        Mode::Production => {
            if !practice_dir(&state.paths.data_dir).join("cases").exists() {
                return Ok(Vec::new());
            }
            let key = practice_key(&state.paths.data_dir, &state.service_options)?;
            // Reading only: the practice store itself, no sandbox, no sync.
            let store = offline_cache::CaseStore::<offline_cache::Production>::open(
                &practice_dir(&state.paths.data_dir).join("cases"),
                &key,
                state.service_options.store.for_practice(),
            )
            .map_err(|error| cache_error(&error))?;
            let rows = store
                .practice_attempts()
                .await
                .map_err(|error| cache_error(&error))?;
            return Ok(results(&state, rows));
        }
    };
    let rows = service
        .store
        .practice_attempts()
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(results(&state, rows))
}

fn results(
    state: &AppState,
    rows: Vec<(offline_cache::practice::AttemptRecord, String)>,
) -> Vec<AttemptResult> {
    let known = scenarios(state).unwrap_or_default();
    rows.into_iter()
        .filter_map(|(record, trainee_name)| {
            let scenario = known
                .iter()
                .find(|scenario| scenario.id == record.scenario_id)?;
            let detail = record.detail.clone().unwrap_or_default();
            let scored: forms::training::Score =
                serde_json::from_value(detail.get("score").cloned()?).ok()?;
            let attempt: forms::training::Attempt =
                serde_json::from_value(detail.get("attempt").cloned()?).ok()?;
            Some(result(
                scenario,
                record.id,
                trainee_name,
                record.finished_at.unwrap_or_default(),
                &scored,
                &attempt,
            ))
        })
        .collect()
}

/// The trainer's export of every scored attempt as CSV (in `exports/`).
#[tauri::command]
#[specta::specta]
pub async fn export_practice_results(state: State<'_, AppState>) -> Result<String, UiError> {
    require(&state, "export_practice_results")?;
    let rows = practice_results(state.clone()).await?;
    let folder = state.paths.data_dir.join("exports");
    let io = |error: std::io::Error| UiError {
        code: "export_failed".into(),
        message_zh: format!("导出失败（{error}），请检查磁盘空间。"),
        message_en: format!("The export failed ({error}); check the disk space."),
    };
    let path = folder.join(format!(
        "practice-results-{}.csv",
        now().format("%Y%m%d-%H%M%S")
    ));
    let header = [
        "完成时间 finished",
        "学员 trainee",
        "场景 scenario",
        "总分 score",
        "用时(秒) seconds",
        "按键 keystrokes",
        "事项 item",
        "决定 decision",
        "告知材料 notice",
        "申请人信息 applicant",
        "时限 time",
    ];
    let records = rows.iter().map(|row| {
        let mut record = vec![
            row.finished_at.clone(),
            row.trainee_name.clone(),
            row.scenario_title_zh.clone(),
            row.total.to_string(),
            row.seconds.to_string(),
            row.keystrokes.to_string(),
        ];
        record.extend(
            row.parts
                .iter()
                .map(|part| format!("{}/{}", part.points, part.of)),
        );
        record
    });
    // Every cell neutralised (a trainee's name cannot become a formula),
    // written whole and for this account only.
    let bytes = crate::commands::statistics::csv_bytes(&header, records)
        .map_err(|error| io(error.into()))?;
    offline_cache::exports::write_private(&path, &bytes).map_err(|error| cache_error(&error))?;
    Ok(path.display().to_string())
}

/// A scenario as the trainer's editor sends it.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ScenarioInput {
    /// Lower-case letters, digits and hyphens.
    pub id: String,
    /// `economic`, `social` or `construction`.
    pub category: String,
    pub title_zh: String,
    pub title_en: String,
    pub budget_seconds: u32,
    pub matter_zh: String,
    pub matter_en: String,
    /// `item` or `bundle`.
    pub subject_kind: String,
    pub subject_id: String,
    pub decision: crate::commands::intake::DecisionChoice,
    pub notice_names: Vec<String>,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub applicant_phone: String,
    pub applicant_address: String,
    /// Materials the applicant does not bring.
    pub missing: Vec<String>,
}

/// Saves a trainer's scenario (new, or one of the trainers' own changed)
/// in the scenario format, after the same checks as the shipped ones.
#[tauri::command]
#[specta::specta]
pub fn save_scenario(
    state: State<'_, AppState>,
    scenario: ScenarioInput,
) -> Result<ScenarioView, UiError> {
    require(&state, "save_scenario")?;
    let catalog = state.catalog().ok_or_else(|| UiError {
        code: "catalog_missing".into(),
        message_zh: "事项目录未加载，无法保存场景。".into(),
        message_en: "The catalogue did not load; the scenario cannot be checked.".into(),
    })?;
    let bad = |problems: Vec<String>| UiError {
        code: "scenario_invalid".into(),
        message_zh: format!("场景有误，未保存：{}", problems.join("；")),
        message_en: format!("The scenario was not saved: {}", problems.join("; ")),
    };
    let category = serde_json::from_value(serde_json::Value::String(scenario.category.clone()))
        .map_err(|_| {
            bad(vec![format!(
                "category `{}` is not economic, social or construction",
                scenario.category
            )])
        })?;
    let draft = forms::training::ScenarioDraft {
        id: scenario.id.trim().to_owned(),
        category,
        title_zh: scenario.title_zh,
        title_en: scenario.title_en,
        budget_seconds: scenario.budget_seconds,
        matter_zh: scenario.matter_zh,
        matter_en: scenario.matter_en,
        subject_kind: scenario.subject_kind,
        subject_id: scenario.subject_id.trim().to_owned(),
        decision: scenario.decision.into(),
        notice_names: scenario.notice_names,
        applicant: forms::training::ScenarioApplicant {
            kind: "natural_person".into(),
            name: scenario.applicant_name,
            id_number: scenario.applicant_id_number.trim().to_owned(),
            phone: scenario.applicant_phone,
            address: scenario.applicant_address,
        },
        materials: forms::training::ScenarioMaterials {
            missing: scenario.missing,
            deficient: Vec::new(),
        },
    };
    let checked = forms::training::check_new(&draft, &catalog, chrono::Local::now().date_naive())
        .map_err(|errors| bad(errors.problems))?;
    let today = chrono::Local::now().date_naive();
    let shipped =
        forms::training::load_scenarios(&state.settings.folders.training, &catalog, today)
            .unwrap_or_default();
    if shipped.iter().any(|scenario| scenario.id == checked.id) {
        return Err(bad(vec![format!(
            "`{}` is a shipped scenario; choose another id",
            checked.id
        )]));
    }
    let file = own_scenarios_file(&state.paths.data_dir);
    let mut own = match file.parent() {
        // A trainers' file that no longer loads is never overwritten (its
        // scenarios would be lost): the trainer is told what is wrong.
        Some(dir) if dir.exists() => forms::training::load_scenarios(dir, &catalog, today)
            .map_err(|errors| {
                bad(vec![format!(
                    "the trainers' scenario file {} does not load, so nothing was saved: {errors}",
                    file.display()
                )])
            })?,
        _ => Vec::new(),
    };
    own.retain(|scenario| scenario.id != checked.id);
    own.push(checked.clone());
    let io = |error: std::io::Error| UiError {
        code: "scenario_save".into(),
        message_zh: format!("场景无法保存（{error}），请检查磁盘空间。"),
        message_en: format!("The scenario cannot be saved ({error}); check the disk space."),
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temporary = file.with_extension("toml.tmp");
    std::fs::write(&temporary, forms::training::to_toml(&own)).map_err(io)?;
    std::fs::rename(&temporary, &file).map_err(io)?;
    *state
        .scenarios()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = load_all_scenarios(
        &state.settings.folders.training,
        &state.paths.data_dir,
        Some(&catalog),
    );
    Ok(scenario_view(&checked))
}
