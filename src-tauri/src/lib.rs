//! OneWindow (一窗通): the desktop shell of the window clerk's workstation.
//!
//! This crate is the only one that knows about Tauri, windows and the IPC
//! shapes. It wires the core crates (`forms`, `offline_cache`) to commands,
//! owns OS integration (directories, logging, single instance, window
//! state) and generates the UI's TypeScript bindings. It must never hold
//! business rules: those live in the core crates.

pub mod access;
pub mod backoffice;
pub mod commands;
pub mod config;
pub mod devices;
pub mod error;
pub mod logging;
pub mod paths;
pub mod practice;
pub mod preferences;
pub mod print;
pub mod state;

use std::path::{Path, PathBuf};

use tauri::{Manager, Runtime};

use crate::paths::AppPaths;
use crate::state::AppState;

/// Where the generated bindings live, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// The typed command and event list for one runtime: the one source of the
/// invoke handler and of the UI's bindings. (A macro, because a command that
/// is generic over the runtime must be named with a concrete runtime.)
macro_rules! specta_builder_for {
    ($runtime:ty) => {
        tauri_specta::Builder::<$runtime>::new()
            .commands(tauri_specta::collect_commands![
                commands::app::app_info,
                commands::session::session_status,
                commands::session::create_first_admin::<$runtime>,
                commands::session::sign_in::<$runtime>,
                commands::session::sign_out::<$runtime>,
                commands::session::lock_session::<$runtime>,
                commands::session::unlock_session::<$runtime>,
                commands::session::note_activity,
                commands::session::list_accounts,
                commands::session::create_account,
                commands::session::set_account_disabled,
                commands::session::reset_account_password,
                commands::catalog::search_catalog,
                commands::catalog::item_guide,
                commands::cases::cases_today,
                commands::cases::search_cases,
                commands::cases::case_detail,
                commands::intake::start_intake,
                commands::intake::resume_intake,
                commands::intake::open_intakes,
                commands::intake::save_intake,
                commands::intake::discard_intake,
                commands::intake::check_identifier,
                commands::intake::look_up_applicant,
                commands::intake::look_up_licence,
                commands::intake::commit_intake,
                commands::intake::sign_off_gaps,
                commands::results::results_ready,
                commands::results::issue_result,
                commands::results::record_rating,
                commands::desk::supervisor_desk,
                commands::desk::desk_action,
                commands::desk::audit_entries,
                commands::desk::verify_audit_chain,
                commands::statistics::statistics,
                commands::statistics::queue_watch,
                commands::statistics::export_statistics,
                commands::statistics::open_follow_ups,
                commands::statistics::close_follow_up,
                commands::handover::prepare_handover,
                commands::handover::pending_handover,
                commands::handover::acknowledge_handover,
                commands::handover::print_handover_report,
                commands::preferences::set_idle_lock::<$runtime>,
                commands::queue::queue_today,
                commands::queue::issue_ticket,
                commands::queue::call_next,
                commands::queue::ticket_action,
                commands::queue::transfer_ticket,
                commands::queue::appointments_today,
                commands::queue::check_in_appointment,
                commands::intake::request_override,
                commands::sign_offs::request_reopen,
                commands::sign_offs::draft_sign_off,
                commands::sign_offs::decide_sign_off,
                devices::set_capture_target,
                devices::captures,
                devices::sort_capture,
                devices::import_waiting_captures::<$runtime>,
                devices::device_folders,
                devices::catalog_status,
                practice::start_practice::<$runtime>,
                practice::end_practice::<$runtime>,
                practice::end_practice_as_admin::<$runtime>,
                practice::practice_scenarios,
                practice::start_scenario,
                practice::open_attempt,
                practice::finish_scenario,
                practice::practice_results,
                practice::export_practice_results,
                practice::save_scenario,
                devices::reload_catalog_now::<$runtime>,
                commands::calendar::load_calendar_file,
                commands::preferences::get_preferences,
                commands::preferences::set_language::<$runtime>,
                commands::sync::sync_status,
                commands::sync::sync_now,
                commands::sync::retry_quarantined,
                commands::cases::record_supplement,
                commands::sync::retry_all_quarantined,
                commands::sync::correct_quarantined,
                commands::sync::refused_case_fields,
                commands::sync::resume_system,
                commands::printing::list_printers,
                commands::printing::set_printing::<$runtime>,
                commands::printing::preview_test_page,
                commands::printing::print_test_page,
                commands::printing::issue_document,
                commands::printing::print_document,
                commands::printing::save_document,
                commands::recovery::pending_recovery_key,
                commands::recovery::acknowledge_recovery_key,
                commands::recovery::renew_recovery_key,
                commands::recovery::recover_store::<$runtime>,
            ])
            .events(tauri_specta::collect_events![
                commands::preferences::PreferencesChanged,
                commands::session::SessionView,
                backoffice::SyncOverview,
                devices::CaptureArrived,
                devices::IdCardRead,
                devices::CatalogChanged
            ])
    };
}

/// The commands and events of the real app.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    specta_builder_for!(tauri::Wry)
}

/// The same commands and events for Tauri's mock runtime (command tests).
pub fn mock_specta_builder() -> tauri_specta::Builder<tauri::test::MockRuntime> {
    specta_builder_for!(tauri::test::MockRuntime)
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &Path) -> Result<(), String> {
    let header = "// Generated from the Rust command and event types by tauri-specta.\n\
                  // Do not edit: run `ONEWINDOW_UPDATE_BINDINGS=1 cargo test -p onewindow bindings`.\n";
    specta_builder()
        .export(
            specta_typescript::Typescript::default().header(header),
            path,
        )
        .map_err(|error| error.to_string())
}

/// Adds the app's commands, events and start-up to a Tauri builder. Used by
/// the real app and by the command tests (with Tauri's mock runtime).
pub fn with_app<R: Runtime>(
    builder: tauri::Builder<R>,
    specta: tauri_specta::Builder<R>,
    data_dir_override: Option<PathBuf>,
) -> tauri::Builder<R> {
    builder
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            start(app, &specta, data_dir_override.clone(), None)?;
            Ok(())
        })
}

/// Start-up: mounts the events, resolves and creates the directories,
/// reads the configuration, starts logging and puts the app state in
/// place, then opens the catalogue, the case store and sync on a thread of
/// its own while the window loads (commands wait for it; see
/// [`AppState::open`]). Tauri runs it from the setup hook; the mock runtime
/// has no event loop, so tests call it, with services of their own
/// (`None`: the configuration's).
pub fn start<R: Runtime, M: Manager<R>>(
    app: &M,
    specta: &tauri_specta::Builder<R>,
    data_dir_override: Option<PathBuf>,
    services: Option<&backoffice::ServiceOptions>,
) -> Result<(), error::AppError> {
    let began = std::time::Instant::now();
    specta.mount_events(app);
    let paths = AppPaths::resolve(app.path(), data_dir_override)?;
    let shipped = config::ShippedFolders::find(app.path().resource_dir().ok());
    let settings = config::Settings::load(&paths.config_dir, &shipped);
    let services = match services {
        Some(services) => services.clone(),
        None => backoffice::ServiceOptions::from_settings(
            settings
                .as_ref()
                .unwrap_or(&config::Settings::defaults(&shipped)),
        ),
    };
    let state = AppState::start(paths, settings, &services, &shipped);
    app.manage(state);
    tracing::info!(
        milliseconds = began.elapsed().as_millis() as u64,
        "start-up done (the window opens now)"
    );
    let app = app.app_handle().clone();
    let open = move || {
        let state = app.state::<AppState>();
        state.open();
        let sync = state.service();
        if let (Ok(sync), true) = (&sync, services.background) {
            sync.spawn_loop(app.clone(), services.interval);
            devices::spawn(&app);
        }
        tracing::info!(
            milliseconds = began.elapsed().as_millis() as u64,
            "catalogue, case store and sync open"
        );
    };
    // Run on its own thread; here, before the window, if no thread can be had.
    let task: std::sync::Arc<OnceTask> =
        std::sync::Arc::new(std::sync::Mutex::new(Some(Box::new(open))));
    let for_thread = task.clone();
    let spawned = std::thread::Builder::new()
        .name("opening".into())
        .spawn(move || run_once(&for_thread));
    if let Err(error) = spawned {
        tracing::warn!(%error, "no thread for the opening: opening before the window");
        run_once(&task);
    }
    Ok(())
}

/// Work to be done once, by whichever takes it first.
type OnceTask = std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>;

fn run_once(task: &OnceTask) {
    let work = task
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(work) = work {
        work();
    }
}

/// The app's Tauri context: configuration, capabilities and the embedded UI.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app. Returns only when the app has exited.
pub fn run() {
    let builder = tauri::Builder::default()
        // First, so a second start hands over to the running window at once.
        .plugin(tauri_plugin_single_instance::init(
            |app, _arguments, _cwd| {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.show();
                    let _ = window.set_focus();
                }
                tracing::info!("a second start was redirected to the running window");
            },
        ))
        .plugin(tauri_plugin_window_state::Builder::default().build());
    let app = with_app(
        builder,
        specta_builder(),
        AppPaths::override_from_environment(),
    )
    .build(context());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "OneWindow could not start");
            eprintln!("OneWindow could not start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| {
        // Let a running sync pass finish before the process ends.
        if let tauri::RunEvent::Exit = event {
            if let Some(Ok(sync)) = app.try_state::<AppState>().map(|state| state.service()) {
                sync.shut_down();
            }
        }
    });
}
