//! The commands through Tauri's IPC layer, with the mock runtime: the real
//! invoke handler, the real capability file and a real data directory.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow};

struct Mock {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

/// The key store of these tests: keyring-core's mock store, on purpose
/// (the real Secret Service is tested in offline-cache and end to end).
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
        // No background passes: a pass still running when the test process
        // exits would race OpenSSL's clean-up. Tests call `sync_now`.
        background: false,
        // Replaced by the configuration's at start (the app's own rule).
        store: offline_cache::StoreOptions::default(),
    }
}

/// Starts the app and signs in as a clerk (the accounts made on first use).
fn start(data_dir: &std::path::Path, window_label: &str) -> Mock {
    let mock = start_with(data_dir, window_label, &services());
    if window_label == "main" {
        sign_in_as(&mock, "clerk");
    }
    mock
}

const PASSWORD: &str = "window-pass";

/// Signs in with an account of `role` (`clerk`, `supervisor`, `trainer`,
/// `admin`), making the accounts through the commands on the first start:
/// the first administrator, then one account per role.
fn sign_in_as(mock: &Mock, role: &str) {
    let status = invoke(mock, "session_status", json!({})).expect("session_status answers");
    if status["first_start"] == true {
        invoke(
            mock,
            "create_first_admin",
            json!({ "login": "admin", "displayName": "管理员", "password": PASSWORD }),
        )
        .expect("the first administrator is made");
        for other in ["clerk", "supervisor", "trainer"] {
            invoke(
                mock,
                "create_account",
                json!({ "login": other, "displayName": format!("{other} 示例"), "role": other, "password": PASSWORD }),
            )
            .expect("the administrator makes the accounts");
        }
    }
    let session = invoke(
        mock,
        "sign_in",
        json!({ "login": role, "password": PASSWORD }),
    )
    .expect("the account signs in");
    assert_eq!(session["user"]["role"], role);
}

fn start_with(
    data_dir: &std::path::Path,
    window_label: &str,
    services: &onewindow_lib::backoffice::ServiceOptions,
) -> Mock {
    let specta = onewindow_lib::mock_specta_builder();
    let app = onewindow_lib::with_app(mock_builder(), specta.clone(), Some(data_dir.to_path_buf()))
        .build(onewindow_lib::context())
        .expect("the app builds with the mock runtime");
    onewindow_lib::start(&app, &specta, Some(data_dir.to_path_buf()), Some(services))
        .expect("start-up succeeds");
    let window = tauri::WebviewWindowBuilder::new(&app, window_label, Default::default())
        .build()
        .expect("a mock window");
    Mock { _app: app, window }
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

#[test]
fn app_info_reports_version_directories_and_mode() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let info = invoke(&mock, "app_info", json!({})).expect("app_info answers");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["data_dir"], root.path().display().to_string());
    assert_eq!(
        info["log_dir"],
        root.path().join("logs").display().to_string()
    );
    assert_eq!(
        info["config_dir"],
        root.path().join("config").display().to_string()
    );
    assert_eq!(info["catalog_version"], "2026.11-sample.1");
    assert_eq!(info["mode"], "production");
    assert_eq!(info["workstation"]["hall_code"], "SAMPLE");
    assert!(
        root.path().join("logs").is_dir(),
        "start-up creates the log directory"
    );
}

#[test]
fn language_is_saved_and_read_back() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    assert_eq!(
        invoke(&mock, "get_preferences", json!({})).unwrap(),
        json!({ "language": "zh-CN", "printer": null, "paper": "a4", "idle_lock_minutes": 5 })
    );
    assert_eq!(
        invoke(&mock, "set_language", json!({ "language": "en" })).unwrap(),
        json!({ "language": "en", "printer": null, "paper": "a4", "idle_lock_minutes": 5 })
    );
    drop(mock);

    // Preferences need no one signed in (the sign-in screen is in the language too).
    let again = start_with(root.path(), "main", &services());
    assert_eq!(
        invoke(&again, "get_preferences", json!({})).unwrap(),
        json!({ "language": "en", "printer": null, "paper": "a4", "idle_lock_minutes": 5 })
    );
}

#[test]
fn bad_arguments_are_refused_with_a_message_that_names_them() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let error = invoke(&mock, "set_language", json!({ "language": "fr" })).unwrap_err();
    assert!(error.to_string().contains("language"), "{error}");
    let error = invoke(&mock, "set_language", json!({})).unwrap_err();
    assert!(error.to_string().contains("language"), "{error}");
    // Nothing was saved by the refused calls.
    assert!(!root.path().join("config/preferences.json").exists());
}

#[test]
fn windows_outside_the_capability_cannot_call_commands() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "intruder");
    let error = invoke(&mock, "app_info", json!({})).unwrap_err();
    assert!(error.to_string().contains("not allowed"), "{error}");
}

#[test]
fn undeclared_commands_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    assert!(invoke(
        &mock,
        "plugin:fs|read_file",
        json!({ "path": "/etc/passwd" })
    )
    .is_err());
    assert!(invoke(&mock, "no_such_command", json!({})).is_err());
}

/// An accepted intake for `item` (sent to `system`) with `values`.
fn intake(
    number: u64,
    system: &str,
    item: &str,
    values: Value,
) -> offline_cache::cases::IntakeCommit {
    use std::collections::BTreeMap;
    let mut intake = offline_cache::sample::intake(
        &uuid::Uuid::new_v4().to_string(),
        number,
        chrono::Local::now().fixed_offset(),
        0,
        0,
    );
    intake.applicant.profile.id_type = Some("111".into());
    intake.values = BTreeMap::from([(item.to_owned(), values.as_object().unwrap().clone())]);
    intake.item_versions = BTreeMap::from([(item.to_owned(), 1)]);
    intake.sub_cases = BTreeMap::from([(system.to_owned(), vec![item.to_owned()])]);
    intake.materials = Vec::new();
    intake
}

/// The sample catalogue's decision to accept a company establishment, as
/// the store keeps it.
fn accepted_proposal() -> Value {
    let forms_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms");
    let catalog = forms::load_catalog(&forms_dir.join("catalog")).unwrap();
    let calendar = forms::calendar::WorkingCalendar::load_dir(&forms_dir.join("calendar")).unwrap();
    serde_json::to_value(
        onewindow_lib::print::sample::proposal(
            &catalog,
            &calendar,
            forms::decision::DecisionKind::Accept,
        )
        .unwrap(),
    )
    .unwrap()
}

fn store(mock: &Mock) -> std::sync::Arc<offline_cache::CaseStore<offline_cache::Production>> {
    use tauri::Manager;
    let state = mock._app.state::<onewindow_lib::state::AppState>();
    state.service().expect("the store is open").store.clone()
}

#[test]
fn the_built_in_demo_back_office_syncs_cases_and_quarantines_a_refusal() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let status = invoke(&mock, "sync_status", json!({})).expect("sync_status answers");
    assert_eq!(status["connection"], "demo");
    assert_eq!(status["systems"].as_array().unwrap().len(), 19);
    assert!(status["systems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|system| system["has_token"] == true && system["pending"] == 0));

    // One good case and one the market system refuses (an ID type its code
    // table does not have), written to the app's own store.
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    let good = intake(1, "market-registration", item, values.clone());
    let mut bad = intake(2, "market-registration", item, values);
    bad.applicant.profile.id_type = Some("990".into());
    tauri::async_runtime::block_on(async {
        store.record_intake(good).await.unwrap();
        store.record_intake(bad).await.unwrap();
    });

    let after = invoke(&mock, "sync_now", json!({})).expect("sync_now answers");
    assert_eq!(after["pending"], 0, "{after}");
    assert_eq!(after["quarantined"], 1, "{after}");
    let market = after["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|system| system["system"] == "market-registration")
        .unwrap();
    assert!(market["last_success_at"].is_string(), "{market}");
    let held = &after["quarantined_cases"][0];
    assert!(
        held["reason_zh"]
            .as_str()
            .unwrap()
            .contains("applicant.id_type"),
        "{held}"
    );
    assert!(
        held["reason_en"]
            .as_str()
            .unwrap()
            .contains("applicant.idType"),
        "{held}"
    );

    // A clerk cannot send it again; a supervisor can.
    let refused = invoke(
        &mock,
        "retry_quarantined",
        json!({ "rowId": held["row_id"] }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "not_allowed", "{refused}");
    sign_in_as(&mock, "supervisor");
    // The supervisor sees what the refused case sent, by label, to pick
    // the field to correct (no ids to type).
    let fields = invoke(
        &mock,
        "refused_case_fields",
        json!({ "rowId": held["row_id"] }),
    )
    .expect("the supervisor sees the refused case's fields");
    let name = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["field_id"] == "entity_name")
        .unwrap_or_else(|| panic!("{fields}"))
        .clone();
    assert_eq!(name["item_name_zh"], "有限责任公司设立登记", "{name}");
    assert!(!name["label_zh"].as_str().unwrap().is_empty(), "{name}");
    assert_eq!(name["value"], "武汉示例科技有限公司", "{name}");
    // Retried without a correction, it is refused again; nothing is lost.
    let again = invoke(
        &mock,
        "retry_quarantined",
        json!({ "rowId": held["row_id"] }),
    )
    .expect("retry answers");
    assert_eq!(again["quarantined"], 1, "{again}");
    // The retry starts the count again, and the new refusal counts once.
    assert_eq!(
        again["quarantined_cases"][0]["row_id"], held["row_id"],
        "{again}"
    );
    assert_eq!(again["quarantined_cases"][0]["attempts"], 1, "{again}");
    let wrong = invoke(&mock, "retry_quarantined", json!({ "rowId": 999_999 })).unwrap_err();
    assert_eq!(wrong["code"], "not_quarantined", "{wrong}");
    // The retry is audited under the supervisor who did it (it was a
    // made-up `window-NN` clerk).
    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "sync.retried", "subject": null } }),
    )
    .unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].to_string().contains("supervisor"), "{entries:?}");
    assert!(!entries[0].to_string().contains("window-"), "{entries:?}");
}

#[test]
fn the_configuration_file_names_the_hall_window_printer_and_lock() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("config")).unwrap();
    std::fs::write(
        root.path().join("config/onewindow.toml"),
        "[workstation]\nhall_code = \"310104\"\nhall_name_zh = \"徐汇区行政服务中心\"\nhall_name_en = \"Xuhui District Administrative Service Centre\"\nwindow_number = \"07\"\n\n[printer]\nname = \"HallWindow07\"\npaper = \"roll80\"\n\n[lock]\nidle_minutes = 12\n",
    )
    .unwrap();
    let mock = start(root.path(), "main");
    let info = invoke(&mock, "app_info", json!({})).unwrap();
    assert_eq!(info["workstation"]["hall_code"], "310104");
    assert_eq!(info["workstation"]["window_number"], "07");
    let preferences = invoke(&mock, "get_preferences", json!({})).unwrap();
    assert_eq!(preferences["printer"], "HallWindow07", "{preferences}");
    assert_eq!(preferences["paper"], "roll80");
    let session = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(session["idle_lock_minutes"], 12);
}

/// The hall's configuration reaches what the window issues: the case
/// number carries the hall and the window, the document number the hall's
/// agency short name and the window, without padding zeros (GB/T 9704).
#[test]
fn a_configured_hall_numbers_its_cases_and_documents() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("config")).unwrap();
    std::fs::write(
        root.path().join("config/onewindow.toml"),
        "[workstation]\nhall_code = \"310104\"\nhall_name_zh = \"徐汇区行政服务中心\"\nhall_name_en = \"Xuhui District Administrative Service Centre\"\nwindow_number = \"07\"\nagency_short_name = \"徐汇政务\"\n\n[progress]\nurl = \"https://zwfw.xuhui.example/progress?case={case_number}\"\nphone = \"021-12345\"\n",
    )
    .unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .expect("commit_intake");
    let case_number = outcome["case_number"].as_str().unwrap();
    let today = chrono::Local::now().format("%Y%m%d").to_string();
    assert_eq!(case_number, format!("31010407{today}0001"), "{outcome}");
    let year = chrono::Local::now().format("%Y").to_string();
    let document_number = outcome["document"]["number"].as_str().unwrap();
    assert_eq!(
        document_number,
        format!("徐汇政务07受〔{year}〕1号"),
        "{outcome}"
    );
    let text = pdf_text(outcome["document"]["pdf_base64"].as_str().unwrap());
    assert!(
        !text.contains("SAMPLE") && !text.contains("示例政务"),
        "{text}"
    );
    assert!(text.contains("021-12345"), "{text}");
}

#[test]
fn a_configuration_file_with_problems_keeps_the_store_closed_and_says_each() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("config")).unwrap();
    let file = root.path().join("config/onewindow.toml");
    std::fs::write(
        &file,
        "[backoffice]\nurl = \"http://exchange.example.gov.cn\"\n\n[lock]\nidle_minutes = 0\n",
    )
    .unwrap();
    let mock = start_with(root.path(), "main", &services());
    let problem = invoke(&mock, "session_status", json!({})).unwrap_err();
    assert_eq!(problem["code"], "config_invalid", "{problem}");
    let english = problem["message_en"].as_str().unwrap();
    assert!(english.contains(&file.display().to_string()), "{english}");
    assert!(english.contains("line 2, backoffice.url"), "{english}");
    assert!(english.contains("line 5, lock.idle_minutes"), "{english}");
    assert!(problem["message_zh"]
        .as_str()
        .unwrap()
        .contains("第 5 行 lock.idle_minutes"));
    // Nothing was opened: no case store was made.
    assert!(!root.path().join("cases").exists());
    assert!(invoke(&mock, "app_info", json!({})).is_ok());
}

#[test]
fn a_folder_that_cannot_be_made_keeps_the_store_closed_and_the_window_says_which() {
    let root = tempfile::tempdir().unwrap();
    // The log folder's place is taken by a file.
    std::fs::write(root.path().join("logs"), b"not a folder").unwrap();
    let mock = start_with(root.path(), "main", &services());
    let problem = invoke(&mock, "session_status", json!({})).unwrap_err();
    assert_eq!(problem["code"], "write_failed", "{problem}");
    let english = problem["message_en"].as_str().unwrap();
    assert!(
        english.contains(&root.path().join("logs").display().to_string()),
        "{english}"
    );
    // The window still opens and shows it; no case store was made.
    assert!(invoke(&mock, "app_info", json!({})).is_ok());
    assert!(!root.path().join("cases").exists());
}

#[test]
fn with_no_back_office_configured_cases_are_kept_and_nothing_is_sent() {
    let root = tempfile::tempdir().unwrap();
    let services = onewindow_lib::backoffice::ServiceOptions {
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::None,
        ..services()
    };
    let mock = start_with(root.path(), "main", &services);
    sign_in_as(&mock, "clerk");
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    tauri::async_runtime::block_on(store.record_intake(intake(
        1,
        "market-registration",
        item,
        values,
    )))
    .unwrap();
    let status = invoke(&mock, "sync_now", json!({})).expect("sync_now answers");
    assert_eq!(status["connection"], "not_configured", "{status}");
    assert_eq!(status["pending"], 1, "{status}");
    assert!(status["systems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|system| system["has_token"] == false));
    assert!(!root.path().join("demo-backoffice.sqlite").exists());
}

#[test]
fn without_a_usable_key_the_window_says_why_and_still_runs() {
    let root = tempfile::tempdir().unwrap();
    let mut services = services();
    // A key "file" that is a folder cannot be read.
    let folder = root.path().join("key-folder");
    std::fs::create_dir_all(&folder).unwrap();
    services.key = offline_cache::KeySource::File(folder);
    let mock = start_with(root.path(), "main", &services);
    // The sign-in screen asks for the session and is told why there is none.
    let status = invoke(&mock, "session_status", json!({})).unwrap_err();
    assert_eq!(status["code"], "key_file", "{status}");
    assert!(status["message_zh"].as_str().unwrap().contains("密钥文件"));
    let refused = invoke(
        &mock,
        "sign_in",
        json!({ "login": "clerk", "password": PASSWORD }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "key_file");
    let not_signed_in = invoke(&mock, "sync_status", json!({})).unwrap_err();
    assert_eq!(not_signed_in["code"], "not_signed_in");
    assert!(invoke(&mock, "app_info", json!({})).is_ok());
    assert!(invoke(&mock, "get_preferences", json!({})).is_ok());
}

#[test]
fn documents_are_issued_stored_printed_reprinted_and_saved() {
    use base64::Engine;
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let store = store(&mock);
    let proposal = accepted_proposal();
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    let mut accepted = intake(7, "market-registration", item, values);
    accepted.proposal = proposal;
    let case_id = accepted.case_id.clone();
    let case_number = tauri::async_runtime::block_on(store.record_intake(accepted))
        .unwrap()
        .case_number;

    let view = invoke(
        &mock,
        "issue_document",
        json!({ "caseId": case_id, "kind": "acceptance_receipt" }),
    )
    .expect("issue_document answers");
    let number = view["number"].as_str().unwrap().to_owned();
    assert!(number.contains('受'), "{number}");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(view["pdf_base64"].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let pdf_path = root.path().join("issued.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let text = String::from_utf8(
        std::process::Command::new("pdftotext")
            .arg(&pdf_path)
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let text: String = text.split_whitespace().collect();
    assert!(
        text.contains(&number) && text.contains(&case_number),
        "{text}"
    );

    // Saved as stored: the same bytes.
    let saved = invoke(
        &mock,
        "save_document",
        json!({ "caseId": case_id, "number": number }),
    )
    .unwrap();
    assert_eq!(std::fs::read(saved.as_str().unwrap()).unwrap(), pdf);
    let unknown = invoke(
        &mock,
        "save_document",
        json!({ "caseId": case_id, "number": "no-such-number" }),
    )
    .unwrap_err();
    assert_eq!(unknown["code"], "bad_input", "{unknown}");

    // Printing needs a chosen printer; a reprint is a copy and is logged.
    let refused = invoke(
        &mock,
        "print_document",
        json!({ "caseId": case_id, "number": number, "copy": true }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "no_printer");
    invoke(
        &mock,
        "set_printing",
        json!({ "printer": "OneWindowPDF", "paper": "a4" }),
    )
    .unwrap();
    let job = invoke(
        &mock,
        "print_document",
        json!({ "caseId": case_id, "number": number, "copy": true }),
    )
    .unwrap();
    assert!(
        job["job_id"].as_str().unwrap().starts_with("OneWindowPDF-"),
        "{job}"
    );
    let actions: Vec<String> = tauri::async_runtime::block_on(store.read(|connection| {
        let mut statement = connection
            .prepare("SELECT action FROM audit_log WHERE action LIKE 'document.%' ORDER BY seq")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }))
    .unwrap();
    // Saving is audited too (issue 19).
    assert_eq!(
        actions,
        ["document.issued", "document.saved", "document.reprinted"]
    );

    // A notice that does not fit the decision is refused, and nothing is stored.
    let wrong = invoke(
        &mock,
        "issue_document",
        json!({ "caseId": case_id, "kind": "not_accepted_notice" }),
    )
    .unwrap_err();
    assert_eq!(wrong["code"], "bad_input", "{wrong}");
    assert_eq!(
        tauri::async_runtime::block_on(store.documents_of(&case_id))
            .unwrap()
            .len(),
        1
    );

    // The test page previews on the roll.
    let page = invoke(&mock, "preview_test_page", json!({ "paper": "roll80" })).unwrap();
    assert_eq!(page["pages"], 1);
}

#[test]
fn after_shut_down_no_pass_sends_anything() {
    use tauri::Manager;
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    tauri::async_runtime::block_on(store.record_intake(intake(
        3,
        "market-registration",
        item,
        values,
    )))
    .unwrap();
    let state = mock._app.state::<onewindow_lib::state::AppState>();
    state.service().unwrap().shut_down();
    let after = invoke(&mock, "sync_now", json!({})).unwrap();
    assert_eq!(after["pending"], 1, "{after}");
}

#[test]
fn the_catalogue_is_searched_as_typed_and_an_item_guide_is_shown() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let ids = |query: &str| -> Vec<String> {
        invoke(&mock, "search_catalog", json!({ "query": query }))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for query in ["公司设立", "gongsisheli", "gssl"] {
        assert!(
            ids(query).contains(&"market.company-establishment".to_owned()),
            "{query}: {:?}",
            ids(query)
        );
    }
    // Bundles are offered beside items.
    let hits = invoke(&mock, "search_catalog", json!({ "query": "开办" })).unwrap();
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|hit| hit["bundle"] == true),
        "{hits}"
    );
    let guide = invoke(
        &mock,
        "item_guide",
        json!({ "itemId": "market.company-establishment" }),
    )
    .unwrap();
    assert_eq!(guide["hit"]["name_zh"], "有限责任公司设立登记");
    assert_eq!(guide["hit"]["category"], "economic");
    assert!(guide["materials"].as_array().unwrap().len() >= 6, "{guide}");
    assert!(!guide["legal_basis_zh"].as_array().unwrap().is_empty());
    let unknown = invoke(&mock, "item_guide", json!({ "itemId": "no.such-item" })).unwrap_err();
    assert_eq!(unknown["code"], "unknown_item");
}

#[test]
fn the_window_works_its_ticket_queue() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let a = invoke(&mock, "issue_ticket", json!({ "category": "economic" })).unwrap();
    let b = invoke(&mock, "issue_ticket", json!({ "category": "social" })).unwrap();
    assert_eq!(a["number"], "A001");
    assert_eq!(b["number"], "B001");
    let bad = invoke(&mock, "issue_ticket", json!({ "category": "sports" })).unwrap_err();
    assert_eq!(bad["code"], "bad_input");

    let queue = invoke(&mock, "call_next", json!({})).unwrap();
    assert_eq!(queue["current"]["number"], "A001");
    assert_eq!(queue["waiting"].as_array().unwrap().len(), 1);
    let busy = invoke(&mock, "call_next", json!({})).unwrap_err();
    assert!(
        busy["message_en"]
            .as_str()
            .unwrap()
            .contains("still serving"),
        "{busy}"
    );
    let recalled = invoke(
        &mock,
        "ticket_action",
        json!({ "ticketId": a["id"], "action": "recall" }),
    )
    .unwrap();
    assert_eq!(recalled["current"]["calls"], 2);
    // Sent to window 02, it leaves this window's screen.
    let moved = invoke(
        &mock,
        "transfer_ticket",
        json!({ "ticketId": a["id"], "toWindow": "02" }),
    )
    .unwrap();
    assert!(moved["current"].is_null());
    let next = invoke(&mock, "call_next", json!({})).unwrap();
    assert_eq!(next["current"]["number"], "B001");
    let parked = invoke(
        &mock,
        "ticket_action",
        json!({ "ticketId": b["id"], "action": "park" }),
    )
    .unwrap();
    assert_eq!(parked["parked"][0]["number"], "B001");
    invoke(
        &mock,
        "ticket_action",
        json!({ "ticketId": b["id"], "action": "resume" }),
    )
    .unwrap();
    let done = invoke(
        &mock,
        "ticket_action",
        json!({ "ticketId": b["id"], "action": "finish" }),
    )
    .unwrap();
    assert_eq!(done["done_today"], 1);
    let empty = invoke(&mock, "call_next", json!({})).unwrap();
    assert!(
        empty["current"].is_null() && empty["waiting"].as_array().unwrap().is_empty(),
        "{empty}"
    );

    // The supervisor's queue watch: this window served B001; A001 waits
    // at window 02 (transferred: it has a window but is waiting again).
    sign_in_as(&mock, "supervisor");
    let today = chrono::Local::now().date_naive().to_string();
    let watch = invoke(&mock, "queue_watch", json!({ "from": today, "to": today })).unwrap();
    let window = watch["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["key"] == "01")
        .unwrap_or_else(|| panic!("{watch}"));
    assert_eq!(window["served"], 1, "{watch}");
    assert!(window["average_wait_minutes"].as_f64().unwrap() >= 0.0);
    let categories: Vec<&str> = watch["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["key"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["economic", "social"]);
    assert_eq!(
        watch["hours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hour| hour["issued"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    let backwards = invoke(
        &mock,
        "queue_watch",
        json!({ "from": today, "to": "2000-01-01" }),
    )
    .unwrap_err();
    assert_eq!(backwards["code"], "bad_input", "{backwards}");
}

#[test]
fn a_booked_applicant_checks_in_is_called_first_and_is_not_asked_again() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    // Before any refresh the stored list is empty.
    let stored = invoke(&mock, "appointments_today", json!({ "refresh": false })).unwrap();
    assert_eq!(stored["rows"], json!([]));
    // The demo back office runs the booking platform.
    let fetched = invoke(&mock, "appointments_today", json!({ "refresh": true })).unwrap();
    let rows = fetched["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{fetched}");
    assert_eq!(fetched["problem_en"], Value::Null);
    assert_eq!(fetched["skipped"], json!([]));
    let first = &rows[0];
    assert_eq!(first["item_id"], "market.company-establishment");
    assert_eq!(first["item_name_zh"], "有限责任公司设立登记");
    assert_eq!(first["identifier_masked"], "340524********001X");
    assert!(
        !fetched.to_string().contains("34052419800101001X"),
        "the list masks IDs"
    );

    invoke(&mock, "issue_ticket", json!({ "category": "economic" })).unwrap();
    let ticket = invoke(
        &mock,
        "check_in_appointment",
        json!({ "appointmentId": first["id"] }),
    )
    .unwrap();
    assert_eq!(ticket["number"], "Y001");
    let twice = invoke(
        &mock,
        "check_in_appointment",
        json!({ "appointmentId": first["id"] }),
    )
    .unwrap_err();
    assert_eq!(twice["code"], "already_checked_in");
    // A refresh keeps the check-in.
    let again = invoke(&mock, "appointments_today", json!({ "refresh": true })).unwrap();
    assert_eq!(again["rows"][0]["state"], "checked_in");
    assert_eq!(again["rows"][0]["ticket_number"], "Y001");

    // Called before the walk-in who came first, with the booking.
    let queue = invoke(&mock, "call_next", json!({})).unwrap();
    assert_eq!(queue["current"]["number"], "Y001");
    assert_eq!(
        queue["appointment"]["booking_number"],
        first["booking_number"]
    );
    // The intake of the booked item starts with the booking's applicant.
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": "market.company-establishment" }, "ticket": "Y001" }),
    )
    .unwrap();
    let applicant = &session["draft"]["applicant"];
    assert_eq!(applicant["identifier"], "34052419800101001X", "{session}");
    assert_eq!(applicant["name"], "张三");
    assert_eq!(
        applicant["sources"]["identifier"],
        format!("appointment:{}", first["booking_number"].as_str().unwrap())
    );
}

#[test]
fn cases_are_listed_searched_and_shown_with_timeline_documents_and_sync() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    let mut accepted = intake(11, "market-registration", item, values);
    accepted.at = chrono::Local::now().fixed_offset();
    accepted.proposal = accepted_proposal();
    let identifier = accepted.applicant.identifier.clone();
    let name = accepted.applicant.name.clone();
    let case_id = accepted.case_id.clone();
    let case_number = tauri::async_runtime::block_on(store.record_intake(accepted))
        .unwrap()
        .case_number;

    let today = invoke(&mock, "cases_today", json!({})).unwrap();
    assert_eq!(today[0]["case_number"], case_number, "{today}");
    assert_eq!(today[0]["items"][0][0], "有限责任公司设立登记");
    for query in [
        case_number.as_str(),
        identifier.as_str(),
        &name.chars().take(1).collect::<String>(),
    ] {
        let found = invoke(&mock, "search_cases", json!({ "query": query })).unwrap();
        assert!(
            found
                .as_array()
                .unwrap()
                .iter()
                .any(|case| case["id"] == case_id.as_str()),
            "{query}: {found}"
        );
    }
    assert!(invoke(&mock, "search_cases", json!({ "query": "无此人*" }))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());

    invoke(
        &mock,
        "issue_document",
        json!({ "caseId": case_id, "kind": "acceptance_receipt" }),
    )
    .unwrap();
    invoke(&mock, "sync_now", json!({})).unwrap();
    let detail = invoke(&mock, "case_detail", json!({ "caseId": case_id })).unwrap();
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"document.issued"), "{actions:?}");
    assert_eq!(detail["documents"].as_array().unwrap().len(), 1);
    assert_eq!(detail["sync"][0]["system"], "market-registration");
    assert!(detail["sync"][0]["receipt"].is_string(), "{detail}");
    let unknown = invoke(&mock, "case_detail", json!({ "caseId": "no-such-case" })).unwrap_err();
    assert_eq!(unknown["code"], "unknown_case");
}

fn forms_catalog() -> forms::Catalog {
    let forms_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms");
    forms::load_catalog(&forms_dir.join("catalog")).unwrap()
}

/// A draft of `item` filled with the forms crate's sample values and
/// applicant, with every material received except `leave_out`.
fn filled_draft(session: &Value, item: &str, leave_out: &[&str]) -> Value {
    let catalog = forms_catalog();
    let found = catalog.item(item).unwrap();
    let sample =
        forms::samples::sample_item(&catalog, found, chrono::Local::now().date_naive()).unwrap();
    let mut draft = session["draft"].clone();
    draft["applicant"] = json!({
        "kind": "natural_person",
        "identifier": sample.applicant.id_number,
        "name": sample.applicant.name,
        "phone": sample.applicant.phone,
        "address": sample.applicant.address,
        "ethnicity": sample.applicant.ethnicity,
        "legal_representative": "",
        "entity_type": "",
        "consent": true,
        "sources": {},
    });
    draft["values"] = Value::Object(sample.values.clone());
    let marks: serde_json::Map<String, Value> = session["form"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["key"].as_str().unwrap().to_owned())
        .filter(|key| !leave_out.contains(&key.as_str()))
        .map(|key| {
            (
                key,
                json!({ "status": "received", "original": true, "copies": 1 }),
            )
        })
        .collect();
    draft["marks"] = Value::Object(marks);
    draft["step"] = json!("decision");
    draft
}

fn pdf_text(base64: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("document.pdf");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext runs (poppler-utils)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_intake_is_started_checked_saved_and_committed_once_with_its_receipt() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .expect("start_intake answers");
    assert_eq!(session["draft"]["step"], "applicant");
    assert!(!session["form"]["questions"].as_array().unwrap().is_empty());
    // An empty form: every problem is listed, and no acceptance is offered.
    assert!(!session["check"]["errors"].as_array().unwrap().is_empty());
    assert!(!session["check"]["applicant_problems"]
        .as_array()
        .unwrap()
        .is_empty());

    let draft = filled_draft(&session, item, &[]);
    let check = invoke(&mock, "save_intake", json!({ "draft": draft })).expect("save_intake");
    assert_eq!(check["errors"], json!([]), "{check}");
    assert_eq!(check["applicant_problems"], json!([]), "{check}");
    assert_eq!(check["proposal"]["kind"], "accept", "{check}");
    assert!(check["revision"].as_u64().unwrap() >= 2);

    // The clerk cannot confirm a decision the core did not propose.
    let refused = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "one_time_notice" }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "proposal_changed", "{refused}");

    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .expect("commit_intake");
    assert_eq!(outcome["decision"], "accept");
    assert_eq!(outcome["document"]["kind"], "acceptance_receipt");
    let text = pdf_text(outcome["document"]["pdf_base64"].as_str().unwrap());
    assert!(text.contains("受理回执"), "{text}");
    assert!(
        text.contains(outcome["case_number"].as_str().unwrap()),
        "{text}"
    );
    // No review asked: the accepted case goes to the back office at once.
    assert_eq!(outcome["state"], "dispatched", "{outcome}");

    // A retry (say, after the answer was lost) finds the same case and document.
    let again = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .expect("a retry answers");
    assert_eq!(again["case_number"], outcome["case_number"]);
    assert_eq!(again["document"]["number"], outcome["document"]["number"]);
    let today = invoke(&mock, "cases_today", json!({})).unwrap();
    assert_eq!(today.as_array().unwrap().len(), 1, "{today}");
    // The draft became the case.
    assert_eq!(invoke(&mock, "open_intakes", json!({})).unwrap(), json!([]));
}

#[test]
fn a_missing_material_gives_a_one_time_notice_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": "A001" }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &["articles_of_association"]);
    let check = invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    assert_eq!(check["proposal"]["kind"], "one_time_notice", "{check}");
    let named: Vec<&str> = check["proposal"]["to_supply"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["material_id"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["articles_of_association"]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "one_time_notice" }),
    )
    .unwrap();
    assert_eq!(outcome["state"], "notice_issued", "{outcome}");
    let text = pdf_text(outcome["document"]["pdf_base64"].as_str().unwrap());
    assert!(text.contains("一次性告知书"), "{text}");
    assert!(text.contains("公司章程"), "{text}");
}

#[test]
fn a_draft_survives_a_restart_with_every_value_and_mark() {
    let root = tempfile::tempdir().unwrap();
    let services = services();
    let item = "market.company-establishment";
    let draft = {
        let mock = start_with(root.path(), "main", &services);
        sign_in_as(&mock, "clerk");
        let session = invoke(
            &mock,
            "start_intake",
            json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
        )
        .unwrap();
        let mut draft = filled_draft(&session, item, &["articles_of_association"]);
        draft["step"] = json!("materials");
        draft["focus"] = json!("address_proof");
        invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
        draft
    };
    let mock = start_with(root.path(), "main", &services);
    sign_in_as(&mock, "clerk");
    let open = invoke(&mock, "open_intakes", json!({})).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["id"], draft["id"]);
    assert_eq!(open[0]["step"], "materials");
    let resumed = invoke(&mock, "resume_intake", json!({ "draftId": draft["id"] })).unwrap();
    assert_eq!(resumed["draft"], draft);
    invoke(&mock, "discard_intake", json!({ "draftId": draft["id"] })).unwrap();
    assert_eq!(invoke(&mock, "open_intakes", json!({})).unwrap(), json!([]));
    let gone = invoke(&mock, "resume_intake", json!({ "draftId": draft["id"] })).unwrap_err();
    assert_eq!(gone["code"], "unknown_draft", "{gone}");
}

#[test]
fn identifiers_are_checked_as_typed_and_look_ups_need_consent() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let good = invoke(
        &mock,
        "check_identifier",
        json!({ "kind": "natural_person", "identifier": "34052419800101001x" }),
    )
    .unwrap();
    assert_eq!(good["valid"], true, "{good}");
    assert_eq!(good["normalized"], "34052419800101001X");
    assert_eq!(good["birth_date"], "1980-01-01");
    let bad = invoke(
        &mock,
        "check_identifier",
        json!({ "kind": "natural_person", "identifier": "340524198001010010" }),
    )
    .unwrap();
    assert_eq!(bad["valid"], false);
    assert_eq!(
        bad["problem"]["code"], "identifier_check_character",
        "{bad}"
    );
    let code = invoke(
        &mock,
        "check_identifier",
        json!({ "kind": "legal_person", "identifier": "91350100M000100Y4" }),
    )
    .unwrap();
    assert_eq!(code["problem"]["code"], "identifier_length", "{code}");

    let subject = json!({ "kind": "item", "id": "market.company-establishment" });
    let refused = invoke(
        &mock,
        "look_up_applicant",
        json!({ "subject": subject, "kind": "natural_person", "identifier": "34052419800101001X", "consent": false }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "consent_required");
    // The demo back office's population register knows this person.
    let found = invoke(
        &mock,
        "look_up_applicant",
        json!({ "subject": subject, "kind": "natural_person", "identifier": "34052419800101001X", "consent": true }),
    )
    .unwrap();
    assert_eq!(found["back_office"], "found", "{found}");
    let name = found["applicant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["key"] == "name")
        .unwrap();
    assert_eq!(name["value"], "张三");
    assert!(name["source"].as_str().unwrap().starts_with("back_office:"));
    let licence = invoke(
        &mock,
        "look_up_licence",
        json!({ "number": "91350100m000100y43", "kind": "business_licence" }),
    )
    .unwrap();
    assert_eq!(licence["outcome"], "found", "{licence}");
    assert_eq!(licence["reference"], "business_licence:91350100M000100Y43");
}

#[test]
fn a_returning_applicant_is_asked_only_once() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let subject = json!({ "kind": "item", "id": item });
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": subject, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    let known = invoke(
        &mock,
        "look_up_applicant",
        json!({ "subject": subject, "kind": "natural_person", "identifier": draft["applicant"]["identifier"], "consent": true }),
    )
    .unwrap();
    assert_eq!(known["earlier_cases"], 1);
    let source = format!("case:{}", outcome["case_number"].as_str().unwrap());
    let phone = known["applicant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["key"] == "phone")
        .unwrap();
    assert_eq!(phone["value"], draft["applicant"]["phone"]);
    assert_eq!(phone["source"], source);
    // Every answer of the earlier case comes back for the same item's form.
    let form = known["form"].as_array().unwrap();
    for (key, value) in draft["values"].as_object().unwrap() {
        let found = form.iter().find(|prefill| prefill["key"] == *key);
        assert!(found.is_some(), "{key} not offered again");
        assert_eq!(found.unwrap()["value"], *value, "{key}");
    }
}

#[test]
fn a_ready_result_is_issued_by_mail_or_at_the_window_and_rated() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let subject = json!({ "kind": "item", "id": item });
    let mut cases = Vec::new();
    for _ in 0..2 {
        let session = invoke(
            &mock,
            "start_intake",
            json!({ "subject": subject, "ticket": null }),
        )
        .unwrap();
        let draft = filled_draft(&session, item, &[]);
        let outcome = invoke(
            &mock,
            "commit_intake",
            json!({ "draft": draft, "confirmed": "accept" }),
        )
        .unwrap();
        cases.push((outcome, draft));
    }
    assert_eq!(
        invoke(&mock, "results_ready", json!({})).unwrap(),
        json!([])
    );
    // The back office decides and the result comes back (as the sync engine
    // records it).
    let store = store(&mock);
    let system = offline_cache::cases::Actor {
        user_id: "back-office".into(),
        role: offline_cache::lifecycle::Role::System,
    };
    tauri::async_runtime::block_on(async {
        for (outcome, _) in &cases {
            for event in [
                offline_cache::lifecycle::Event::BackOfficeReview,
                offline_cache::lifecycle::Event::Approve,
                offline_cache::lifecycle::Event::ResultReady,
            ] {
                store
                    .transition(
                        outcome["case_id"].as_str().unwrap(),
                        event,
                        system.clone(),
                        chrono::Local::now().fixed_offset(),
                        None,
                    )
                    .await
                    .unwrap();
            }
        }
    });
    let ready = invoke(&mock, "results_ready", json!({})).unwrap();
    assert_eq!(ready.as_array().unwrap().len(), 2, "{ready}");
    assert!(ready[0]["applicant_identifier"]
        .as_str()
        .unwrap()
        .contains("********"));

    let (first, first_draft) = &cases[0];
    let case_id = first["case_id"].as_str().unwrap();
    let stranger = invoke(
        &mock,
        "issue_result",
        json!({ "caseId": case_id, "method": { "method": "window", "received_by": "王示例", "collector_identifier": "34052419800101001X", "agent": false }, "resultsZh": ["营业执照正本1份、副本1份"] }),
    )
    .unwrap_err();
    assert_eq!(stranger["code"], "collector_not_applicant", "{stranger}");
    assert!(stranger["message_zh"].as_str().unwrap().contains("代领"));
    let issued = invoke(
        &mock,
        "issue_result",
        json!({ "caseId": case_id, "method": { "method": "window", "received_by": first_draft["applicant"]["name"], "collector_identifier": first_draft["applicant"]["identifier"], "agent": false }, "resultsZh": ["营业执照正本1份、副本1份"] }),
    )
    .unwrap();
    assert_eq!(issued["state"], "issued");
    assert_eq!(issued["document"]["kind"], "issuance_receipt");
    let text = pdf_text(issued["document"]["pdf_base64"].as_str().unwrap());
    assert!(text.contains("出件回执"), "{text}");
    assert!(text.contains("营业执照正本1份、副本1份"), "{text}");

    let (second, _) = &cases[1];
    let mailed = invoke(
        &mock,
        "issue_result",
        json!({ "caseId": second["case_id"], "method": { "method": "mail", "address_zh": "湖北省武汉市示例路1号", "carrier": "EMS", "tracking_number": "1190000000001" }, "resultsZh": ["营业执照正本1份"] }),
    )
    .unwrap();
    let text = pdf_text(mailed["document"]["pdf_base64"].as_str().unwrap());
    assert!(text.contains("1190000000001"), "{text}");
    assert!(text.contains("湖北省武汉市示例路1号"), "{text}");
    assert_eq!(
        invoke(&mock, "results_ready", json!({})).unwrap(),
        json!([])
    );

    let bad = invoke(
        &mock,
        "record_rating",
        json!({ "caseId": case_id, "visit": "intake", "level": 2, "reasons": ["等候时间长"], "comment": null }),
    )
    .unwrap();
    assert_eq!(bad["follow_up"], "open");
    let good = invoke(
        &mock,
        "record_rating",
        json!({ "caseId": case_id, "visit": "issuance", "level": 5, "reasons": [], "comment": "很快" }),
    )
    .unwrap();
    assert_eq!(good["follow_up"], "none");
    let twice = invoke(
        &mock,
        "record_rating",
        json!({ "caseId": case_id, "visit": "issuance", "level": 4, "reasons": [], "comment": null }),
    )
    .unwrap_err();
    assert_eq!(twice["code"], "already_rated");
}

#[test]
fn a_supervisor_signs_off_a_gap_case_at_the_window_with_their_own_password() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &["appointment_documents"]);
    let check = invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    assert_eq!(check["proposal"]["kind"], "accept_with_gaps", "{check}");
    assert_eq!(check["proposal"]["needs_supervisor_sign_off"], true);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept_with_gaps" }),
    )
    .unwrap();
    assert_eq!(outcome["state"], "accepted_with_gaps");
    assert_eq!(outcome["document"]["kind"], "gaps_notice");
    let case_id = outcome["case_id"].as_str().unwrap();

    let sign_off = |login: &str, password: &str| {
        invoke(
            &mock,
            "sign_off_gaps",
            json!({ "caseId": case_id, "login": login, "password": password }),
        )
    };
    assert_eq!(
        sign_off("supervisor", "wrong-pass").unwrap_err()["code"],
        "sign_in_failed"
    );
    assert_eq!(
        sign_off("clerk", PASSWORD).unwrap_err()["code"],
        "not_supervisor"
    );
    assert_eq!(
        sign_off("supervisor", PASSWORD).unwrap(),
        json!("dispatched")
    );
    // Signed once: a second sign-off is an illegal move, not a second dispatch.
    assert_eq!(
        sign_off("supervisor", PASSWORD).unwrap_err()["code"],
        "illegal_transition"
    );
    // The clerk's session goes on.
    let session = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(session["user"]["role"], "clerk");
}

#[test]
fn terminating_a_gap_case_at_the_desk_issues_the_termination_notice_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &["appointment_documents"]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept_with_gaps" }),
    )
    .unwrap();
    let case_id = outcome["case_id"].as_str().unwrap();
    // A clerk cannot end a case.
    assert_eq!(
        invoke(
            &mock,
            "desk_action",
            json!({ "caseId": case_id, "action": "terminate", "reason": "逾期" }),
        )
        .unwrap_err()["code"],
        "not_allowed"
    );
    sign_in_as(&mock, "supervisor");
    let no_reason = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "terminate", "reason": null }),
    )
    .unwrap_err();
    assert_eq!(no_reason["code"], "reason_required");
    let ended = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "terminate", "reason": "选任文件逾期未补齐" }),
    )
    .unwrap();
    assert_eq!(ended["state"], "terminated", "{ended}");
    assert_eq!(ended["document"]["kind"], "termination_notice");
    let text = pdf_text(ended["document"]["pdf_base64"].as_str().unwrap());
    for wanted in [
        "终止办理通知书",
        "选任文件逾期未补齐",
        "决定终止办理",
        "救济途径",
    ] {
        assert!(text.contains(wanted), "`{wanted}` missing:\n{text}");
    }
    // The notice is one of the case's documents (for a reprint).
    let documents = invoke(&mock, "case_detail", json!({ "caseId": case_id })).unwrap();
    assert!(
        documents.to_string().contains("termination-notice"),
        "{documents}"
    );
}

#[test]
fn overrides_and_reopenings_wait_on_the_desk_until_a_supervisor_approves() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &["address_proof"]);
    let check = invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    assert_eq!(check["proposal"]["kind"], "one_time_notice", "{check}");
    // Not an override the rules allow: a notice out of nothing.
    let odd = invoke(
        &mock,
        "request_override",
        json!({ "draft": draft, "wanted": "accept_with_gaps", "reason": "x" }),
    )
    .unwrap_err();
    assert_eq!(odd["code"], "override_not_allowed");
    let asked = invoke(
        &mock,
        "request_override",
        json!({ "draft": draft, "wanted": "accept", "reason": "场所证明已由不动产登记系统核验" }),
    )
    .unwrap();
    assert_eq!(asked["state"], "waiting");
    assert_eq!(asked["proposed"], "one_time_notice");
    let early = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap_err();
    assert_eq!(early["code"], "override_waiting");

    sign_in_as(&mock, "supervisor");
    let desk = invoke(&mock, "supervisor_desk", json!({})).unwrap();
    assert_eq!(desk["requests"][0]["id"], asked["id"], "{desk}");
    assert_eq!(desk["requests"][0]["kind"], "override");
    invoke(
        &mock,
        "decide_sign_off",
        json!({ "requestId": asked["id"], "approve": true, "note": "同意" }),
    )
    .unwrap();

    sign_in_as(&mock, "clerk");
    let status = invoke(&mock, "draft_sign_off", json!({ "draftId": draft["id"] })).unwrap();
    assert_eq!(status["state"], "approved");
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    assert_eq!(outcome["decision"], "accept", "{outcome}");
    assert_eq!(outcome["document"]["kind"], "acceptance_receipt");
    let receipt: String = pdf_text(outcome["document"]["pdf_base64"].as_str().unwrap())
        .split_whitespace()
        .collect();
    assert!(receipt.contains("例外受理"), "{receipt}");

    // A gap case terminated, then reopened with the supervisor's approval.
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let gaps = filled_draft(&session, item, &["appointment_documents"]);
    let gap_case = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": gaps, "confirmed": "accept_with_gaps" }),
    )
    .unwrap();
    let case_id = gap_case["case_id"].as_str().unwrap();
    let too_soon = invoke(
        &mock,
        "request_reopen",
        json!({ "caseId": case_id, "reason": "材料已补齐" }),
    )
    .unwrap_err();
    assert_eq!(too_soon["code"], "not_terminated");
    sign_in_as(&mock, "supervisor");
    invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "terminate", "reason": "逾期未补齐" }),
    )
    .unwrap();
    sign_in_as(&mock, "clerk");
    let reopen = invoke(
        &mock,
        "request_reopen",
        json!({ "caseId": case_id, "reason": "申请人已补齐选任文件" }),
    )
    .unwrap();
    assert_eq!(
        invoke(
            &mock,
            "decide_sign_off",
            json!({ "requestId": reopen["id"], "approve": true, "note": null }),
        )
        .unwrap_err()["code"],
        "not_allowed"
    );
    sign_in_as(&mock, "supervisor");
    invoke(
        &mock,
        "decide_sign_off",
        json!({ "requestId": reopen["id"], "approve": true, "note": null }),
    )
    .unwrap();
    let detail = invoke(&mock, "case_detail", json!({ "caseId": case_id })).unwrap();
    assert_eq!(detail["case"]["state"], "dispatched", "{detail}");
}

#[test]
fn scans_in_the_capture_inbox_go_to_the_selected_material_and_with_the_case() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    let folders = invoke(&mock, "device_folders", json!({})).unwrap();
    let inbox = std::path::PathBuf::from(folders["capture_folder"].as_str().unwrap());
    // A scan while the clerk has the address proof selected; a text file.
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(inbox.join("address.png"), png.get_ref()).unwrap();
    std::fs::write(inbox.join("notes.txt"), "not a scan").unwrap();
    invoke(
        &mock,
        "set_capture_target",
        json!({ "draftId": draft["id"], "itemId": null, "materialId": "address_proof" }),
    )
    .unwrap();
    let imported = invoke(&mock, "import_waiting_captures", json!({})).unwrap();
    assert_eq!(imported, 2, "both were looked at");
    assert!(inbox.join("notes.txt").exists(), "a refused file stays");
    assert!(
        !inbox.join("address.png").exists(),
        "an imported scan is removed"
    );
    let scans = invoke(&mock, "captures", json!({ "draftId": draft["id"] })).unwrap();
    let scans = scans.as_array().unwrap();
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(scans[0]["state"], "attached");
    assert_eq!(scans[0]["material_id"], "address_proof");
    assert!(scans[0]["thumbnail_base64"].as_str().unwrap().len() > 20);

    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    let case_id = outcome["case_id"].as_str().unwrap().to_owned();
    let attachments: String = tauri::async_runtime::block_on(store(&mock).read(move |connection| {
        Ok(connection.query_row(
            "SELECT attachments FROM materials WHERE case_id = ?1 AND material_id = 'address_proof'",
            [case_id],
            |row| row.get(0),
        )?)
    }))
    .unwrap();
    let ids: Vec<String> = serde_json::from_str(&attachments).unwrap();
    assert_eq!(ids.len(), 1, "{attachments}");
    // Committed: no longer on the draft or in the tray.
    assert_eq!(
        invoke(&mock, "captures", json!({ "draftId": draft["id"] })).unwrap(),
        json!([])
    );
}

/// Arguments of the right shape for every command of the access table, so
/// a refusal can only come from the role check.
fn walk_arguments(command: &str) -> Value {
    let subject = json!({ "kind": "item", "id": "market.company-establishment" });
    let draft = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "subject": subject,
        "ticket": null,
        "applicant": { "kind": "natural_person", "identifier": "", "name": "", "phone": "", "address": "", "ethnicity": "", "legal_representative": "", "entity_type": "", "consent": false, "sources": {} },
        "values": {},
        "marks": {},
        "step": "applicant",
        "focus": null,
    });
    match command {
        "create_first_admin" => {
            json!({ "login": "x", "displayName": "x", "password": "long-enough" })
        }
        "sign_in" => json!({ "login": "x", "password": "y" }),
        "unlock_session" => json!({ "password": "y" }),
        "create_account" => {
            json!({ "login": "walk", "displayName": "x", "role": "clerk", "password": "short" })
        }
        "set_account_disabled" => json!({ "userId": "nobody", "disabled": false }),
        "reset_account_password" => json!({ "userId": "nobody", "password": "long-enough-1" }),
        "search_catalog" | "search_cases" => json!({ "query": "公司" }),
        "item_guide" => json!({ "itemId": "market.company-establishment" }),
        "case_detail" => json!({ "caseId": "nope" }),
        "start_intake" => json!({ "subject": subject, "ticket": null }),
        "resume_intake" | "discard_intake" => json!({ "draftId": "nope" }),
        "save_intake" => json!({ "draft": draft }),
        "commit_intake" => json!({ "draft": draft, "confirmed": "accept" }),
        "check_identifier" => json!({ "kind": "natural_person", "identifier": "1" }),
        "look_up_applicant" => {
            json!({ "subject": subject, "kind": "natural_person", "identifier": "1", "consent": false })
        }
        "look_up_licence" => json!({ "number": "x", "kind": "business_licence" }),
        "sign_off_gaps" => json!({ "caseId": "nope", "login": "x", "password": "y" }),
        "issue_result" => {
            json!({ "caseId": "nope", "method": { "method": "mail", "address_zh": "", "carrier": "", "tracking_number": "" }, "resultsZh": [] })
        }
        "record_rating" => {
            json!({ "caseId": "nope", "visit": "intake", "level": 5, "reasons": [], "comment": null })
        }
        "issue_ticket" => json!({ "category": "economic" }),
        "ticket_action" => json!({ "ticketId": 1, "action": "recall" }),
        "transfer_ticket" => json!({ "ticketId": 1, "toWindow": "02" }),
        "appointments_today" => json!({ "refresh": false }),
        "check_in_appointment" => json!({ "appointmentId": "nope" }),
        "request_override" => json!({ "draft": draft, "wanted": "accept", "reason": "x" }),
        "request_reopen" => json!({ "caseId": "nope", "reason": "x" }),
        "draft_sign_off" => json!({ "draftId": "nope" }),
        "decide_sign_off" => json!({ "requestId": "nope", "approve": true, "note": null }),
        "set_capture_target" => json!({ "draftId": null, "itemId": null, "materialId": null }),
        "captures" => json!({ "draftId": null }),
        "start_practice" => json!({ "traineeLogin": "nobody" }),
        "end_practice_as_admin" => json!({ "login": "nobody", "password": "x" }),
        "start_scenario" => json!({ "scenarioId": "nope" }),
        "finish_scenario" => json!({ "keystrokes": 0 }),
        "save_scenario" => {
            json!({ "scenario": { "id": "x", "category": "economic", "title_zh": "x", "title_en": "x", "budget_seconds": 1, "matter_zh": "x", "matter_en": "x", "subject_kind": "item", "subject_id": "nope", "decision": "accept", "notice_names": [], "applicant_name": "x", "applicant_id_number": "x", "applicant_phone": "", "applicant_address": "", "missing": [] } })
        }
        "sort_capture" => {
            json!({ "captureId": "nope", "draftId": null, "itemId": null, "materialId": null, "discard": false })
        }
        "set_language" => json!({ "language": "zh-CN" }),
        "retry_quarantined" => json!({ "rowId": 1 }),
        "retry_all_quarantined" | "resume_system" => json!({ "system": "market-registration" }),
        "record_supplement" => {
            json!({ "caseId": "00000000-0000-4000-8000-000000000000", "note": "原件" })
        }
        "refused_case_fields" => json!({ "rowId": 1 }),
        "correct_quarantined" => json!({
            "rowId": 1,
            "corrections": [{ "item_id": "market.company-establishment", "field_id": "entity_name", "value": "x" }],
            "note": "核对"
        }),
        "set_printing" => json!({ "printer": null, "paper": "a4" }),
        "preview_test_page" => json!({ "paper": "a4" }),
        "issue_document" => json!({ "caseId": "nope", "kind": "acceptance_receipt" }),
        "print_document" => json!({ "caseId": "nope", "number": "x", "copy": false }),
        "save_document" => json!({ "caseId": "nope", "number": "x" }),
        "recover_store" => json!({ "recoveryKey": "x" }),
        "acknowledge_handover" => json!({ "handoverId": "nope" }),
        "print_handover_report" => json!({ "handoverId": "nope" }),
        "set_idle_lock" => json!({ "minutes": 5 }),
        "statistics" => json!({ "from": "2026-11-01", "to": "2026-11-30" }),
        "queue_watch" => json!({ "from": "2026-11-01", "to": "2026-11-30" }),
        "export_statistics" => json!({ "from": "2026-11-01", "to": "2026-11-30", "format": "csv" }),
        "close_follow_up" => json!({ "ratingId": 999, "note": "x" }),
        // Not a calendar file: nothing is written into the shipped folder.
        "load_calendar_file" => json!({ "fileName": "2099.toml", "text": "year = " }),
        "desk_action" => json!({ "caseId": "nope", "action": "approve_handoff", "reason": null }),
        "audit_entries" => {
            json!({ "query": { "from": null, "to": null, "actor": null, "action": null, "subject": null } })
        }
        _ => json!({}),
    }
}

/// The access table covers exactly the commands the window may call (its
/// capability), and every command is checked in Rust as the table says:
/// each one called as nobody and as every role.
#[test]
fn every_command_is_checked_for_every_role_as_the_table_says() {
    use onewindow_lib::access::{Access, COMMANDS};
    let capability: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/main-window.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut allowed: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|permission| permission.as_str()?.strip_prefix("allow-"))
        .map(|name| name.replace('-', "_"))
        .collect();
    let mut table: Vec<String> = COMMANDS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    allowed.sort();
    table.sort();
    assert_eq!(
        allowed, table,
        "the access table and the window's capability differ"
    );

    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    // Calls that change who is signed in are checked in their own test.
    let session_changers = ["sign_in", "sign_out", "lock_session", "unlock_session"];
    for role in [
        None,
        Some("clerk"),
        Some("supervisor"),
        Some("trainer"),
        Some("admin"),
    ] {
        invoke(&mock, "sign_out", json!({})).unwrap();
        if let Some(role) = role {
            sign_in_as(&mock, role);
        }
        for (command, access) in COMMANDS {
            if session_changers.contains(command) {
                continue;
            }
            let outcome = invoke(&mock, command, walk_arguments(command));
            let code = outcome
                .as_ref()
                .err()
                .and_then(|error| error["code"].as_str())
                .map(str::to_owned);
            let may = match (access, role) {
                (Access::Anyone, _) => true,
                (Access::Roles(_), None) => false,
                (Access::Roles(roles), Some(role)) => {
                    roles.iter().any(|allowed| allowed.as_str() == role)
                }
            };
            if may {
                assert!(
                    !matches!(code.as_deref(), Some("not_allowed" | "not_signed_in")),
                    "{command} as {role:?} was refused: {outcome:?}"
                );
                // A malformed argument would hide the check: every call got
                // to the command (the IPC layer's own errors have no code).
                if let Err(error) = &outcome {
                    assert!(error["code"].is_string(), "{command} as {role:?}: {error}");
                }
            } else {
                let expected = if role.is_none() {
                    "not_signed_in"
                } else {
                    "not_allowed"
                };
                assert_eq!(
                    code.as_deref(),
                    Some(expected),
                    "{command} as {role:?}: {outcome:?}"
                );
            }
        }
    }
}

#[test]
fn an_idle_lock_keeps_the_user_and_needs_their_password() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let locked = invoke(&mock, "lock_session", json!({})).unwrap();
    assert_eq!(locked["locked"], true);
    assert_eq!(locked["user"]["role"], "clerk");
    let refused = invoke(&mock, "search_catalog", json!({ "query": "公司" })).unwrap_err();
    assert_eq!(refused["code"], "session_locked");
    let wrong = invoke(&mock, "unlock_session", json!({ "password": "wrong-pass" })).unwrap_err();
    assert_eq!(wrong["code"], "sign_in_failed");
    let unlocked = invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).unwrap();
    assert_eq!(unlocked["locked"], false);
    assert!(invoke(&mock, "search_catalog", json!({ "query": "公司" })).is_ok());
    let out = invoke(&mock, "sign_out", json!({})).unwrap();
    assert_eq!(out["user"], Value::Null);
    assert_eq!(
        invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).unwrap_err()["code"],
        "not_signed_in"
    );

    // The administrator sets the minutes (1 to 60, it cannot be switched
    // off); the session view carries them to the window's timer.
    sign_in_as(&mock, "admin");
    for bad in [0, 61] {
        let refused = invoke(&mock, "set_idle_lock", json!({ "minutes": bad })).unwrap_err();
        assert_eq!(refused["code"], "bad_idle_lock", "{refused}");
    }
    let set = invoke(&mock, "set_idle_lock", json!({ "minutes": 2 })).unwrap();
    assert_eq!(set["idle_lock_minutes"], 2);
    let session = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(session["idle_lock_minutes"], 2);
    // Kept across a restart.
    drop(mock);
    let again = start_with(root.path(), "main", &services());
    assert_eq!(
        invoke(&again, "get_preferences", json!({})).unwrap()["idle_lock_minutes"],
        2
    );
}

/// `docs/commands.md` is the access table; regenerate it with
/// `ONEWINDOW_UPDATE_DOCS=1`.
#[test]
fn the_command_table_in_the_docs_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/commands.md");
    let expected = onewindow_lib::access::table_markdown();
    if std::env::var_os("ONEWINDOW_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/commands.md is stale: run ONEWINDOW_UPDATE_DOCS=1 cargo test -p onewindow --test commands"
    );
}

#[test]
fn the_supervisors_desk_reviews_handoffs_signs_off_gaps_and_verifies_the_audit_chain() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    // A food business licence asks for a review before the handoff.
    let item = "market.food-business-licence";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    let reviewed = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    assert_eq!(reviewed["state"], "handoff_review", "{reviewed}");
    // A clerk has no desk.
    assert_eq!(
        invoke(&mock, "supervisor_desk", json!({})).unwrap_err()["code"],
        "not_allowed"
    );

    sign_in_as(&mock, "supervisor");
    let desk = invoke(&mock, "supervisor_desk", json!({})).unwrap();
    assert_eq!(
        desk["handoff_reviews"][0]["id"], reviewed["case_id"],
        "{desk}"
    );
    let case_id = reviewed["case_id"].as_str().unwrap();
    let no_reason = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "send_back", "reason": " " }),
    )
    .unwrap_err();
    assert_eq!(no_reason["code"], "reason_required");
    let back = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "send_back", "reason": "经营场所证明不清晰" }),
    )
    .unwrap();
    assert_eq!(back["state"], "accepted");
    assert_eq!(back["document"], Value::Null);
    assert_eq!(
        invoke(&mock, "supervisor_desk", json!({})).unwrap()["handoff_reviews"],
        json!([])
    );

    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "case.", "subject": case_id } }),
    )
    .unwrap();
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["case.send_back", "case.send_to_review", "case.accept"]
    );
    let check = invoke(&mock, "verify_audit_chain", json!({})).unwrap();
    assert_eq!(check["intact"], true, "{check}");
    assert!(check["entries"].as_u64().unwrap() > 5);
}

#[test]
fn statistics_are_counted_exported_as_csv_and_xlsx_and_bad_ratings_followed_up() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    invoke(
        &mock,
        "record_rating",
        json!({ "caseId": outcome["case_id"], "visit": "intake", "level": 1, "reasons": ["等候时间长"], "comment": null }),
    )
    .unwrap();

    sign_in_as(&mock, "supervisor");
    let today = chrono::Local::now().date_naive().to_string();
    let stats = invoke(&mock, "statistics", json!({ "from": today, "to": today })).unwrap();
    assert_eq!(stats["cases"], 1, "{stats}");
    assert_eq!(stats["accepted"], 1);
    assert_eq!(stats["bad_ratings_open"], 1);
    let item_row = &stats["by_item"][0];
    assert_eq!(item_row["name_zh"], "有限责任公司设立登记");
    let bad_date = invoke(
        &mock,
        "statistics",
        json!({ "from": "2026-13-01", "to": today }),
    )
    .unwrap_err();
    assert_eq!(bad_date["code"], "date");

    let csv_path = invoke(
        &mock,
        "export_statistics",
        json!({ "from": today, "to": today, "format": "csv" }),
    )
    .unwrap();
    let text = std::fs::read_to_string(csv_path.as_str().unwrap()).unwrap();
    assert!(text.starts_with("分类,项目,数值"), "{text}");
    assert!(text.contains("事项,有限责任公司设立登记,1"), "{text}");
    let xlsx_path = invoke(
        &mock,
        "export_statistics",
        json!({ "from": today, "to": today, "format": "xlsx" }),
    )
    .unwrap();
    let bytes = std::fs::read(xlsx_path.as_str().unwrap()).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/sharedStrings.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert!(sheet.contains("有限责任公司设立登记"), "{sheet}");

    let open = invoke(&mock, "open_follow_ups", json!({})).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    invoke(
        &mock,
        "close_follow_up",
        json!({ "ratingId": open[0]["rating_id"], "note": "已电话回访，说明了取号规则" }),
    )
    .unwrap();
    assert_eq!(
        invoke(&mock, "open_follow_ups", json!({})).unwrap(),
        json!([])
    );
    let stats = invoke(&mock, "statistics", json!({ "from": today, "to": today })).unwrap();
    assert_eq!(stats["bad_ratings_done"], 1);
}

#[test]
fn a_shift_handover_moves_the_drafts_to_the_next_clerk_when_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": "market.company-establishment" }, "ticket": null }),
    )
    .unwrap();
    let draft_id = session["draft"]["id"].clone();
    let handover = invoke(&mock, "prepare_handover", json!({})).unwrap();
    assert_eq!(handover["drafts"][0]["id"], draft_id, "{handover}");
    assert_eq!(handover["from_name"], "clerk 示例");

    // Another clerk: the draft is not theirs until they acknowledge.
    invoke(
        &mock,
        "sign_in",
        json!({ "login": "admin", "password": PASSWORD }),
    )
    .unwrap();
    invoke(
        &mock,
        "create_account",
        json!({ "login": "clerk2", "displayName": "接班人员", "role": "clerk", "password": PASSWORD }),
    )
    .unwrap();
    invoke(
        &mock,
        "sign_in",
        json!({ "login": "clerk2", "password": PASSWORD }),
    )
    .unwrap();
    assert_eq!(invoke(&mock, "open_intakes", json!({})).unwrap(), json!([]));
    let pending = invoke(&mock, "pending_handover", json!({})).unwrap();
    assert_eq!(pending["id"], handover["id"]);
    let taken = invoke(
        &mock,
        "acknowledge_handover",
        json!({ "handoverId": handover["id"] }),
    )
    .unwrap();
    assert_eq!(taken["clerk_acknowledged"], true);
    let drafts = invoke(&mock, "open_intakes", json!({})).unwrap();
    assert_eq!(drafts[0]["id"], draft_id, "{drafts}");

    sign_in_as(&mock, "supervisor");
    let done = invoke(
        &mock,
        "acknowledge_handover",
        json!({ "handoverId": handover["id"] }),
    )
    .unwrap();
    assert_eq!(done["supervisor_acknowledged"], true);
    assert_eq!(
        invoke(&mock, "pending_handover", json!({})).unwrap(),
        Value::Null
    );

    // The report prints (through CUPS) with the open work and both
    // acknowledgements, and the print is audited.
    let no_printer = invoke(
        &mock,
        "print_handover_report",
        json!({ "handoverId": handover["id"] }),
    )
    .unwrap_err();
    assert_eq!(no_printer["code"], "no_printer");
    invoke(
        &mock,
        "set_printing",
        json!({ "printer": "OneWindowPDF", "paper": "a4" }),
    )
    .unwrap();
    let printed = invoke(
        &mock,
        "print_handover_report",
        json!({ "handoverId": handover["id"] }),
    )
    .unwrap();
    assert!(
        printed["job_id"]
            .as_str()
            .unwrap()
            .starts_with("OneWindowPDF-"),
        "{printed}"
    );
    let text: String = pdf_text(printed["pdf_base64"].as_str().unwrap())
        .split_whitespace()
        .collect();
    for wanted in [
        "交接班报告",
        "未完成的受理（1）",
        "接班人员",
        "值班负责人",
        "交班人（签字）",
    ] {
        assert!(text.contains(wanted), "`{wanted}` missing:\n{text}");
    }
    let unknown = invoke(
        &mock,
        "print_handover_report",
        json!({ "handoverId": "nope" }),
    )
    .unwrap_err();
    assert_eq!(unknown["code"], "unknown_handover");
    let audited = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "handover.print", "subject": null } }),
    )
    .unwrap();
    assert_eq!(audited.as_array().unwrap().len(), 1, "{audited}");
}

fn file_digest(path: &std::path::Path) -> Option<String> {
    use sha2::Digest;
    std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(sha2::Sha256::digest(bytes)))
}

/// Practice is isolated: with a real back office configured (the
/// simulator, counting every request), a full practice session — a
/// trainee's scenario taken in, synced and scored, the app stopped and
/// started again mid-practice — leaves the real store's files byte for
/// byte as they were and sends the real back office nothing. Leaving
/// practice needs a trainer.
#[test]
fn a_practice_session_never_touches_the_real_store_or_back_office() {
    let root = tempfile::tempdir().unwrap();
    let simulator = tauri::async_runtime::block_on(backoffice_sim::Simulator::start(
        backoffice_sim::Config::demo(&root.path().join("real-backoffice.sqlite")),
    ))
    .unwrap();
    let requests = || -> u64 {
        let url = format!("{}/admin/requests", simulator.url());
        let counts: Value = tauri::async_runtime::block_on(async move {
            reqwest::get(url).await.unwrap().json().await.unwrap()
        });
        counts["total"].as_u64().unwrap_or(0)
    };
    let keys: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    for system in backoffice_sim::System::all() {
        offline_cache::key::save_backoffice_token(
            &keys,
            system.id(),
            &format!("demo-token-{}", system.id()),
        )
        .unwrap();
    }
    let real = onewindow_lib::backoffice::ServiceOptions {
        key: offline_cache::KeySource::Store {
            store: keys.clone(),
            account: "cases".into(),
        },
        token_store: Some(keys),
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::Url(simulator.url()),
        ..services()
    };
    let data = root.path().join("data");
    let mock = start_with(&data, "main", &real);
    // Real work first: a case sent to the real back office.
    sign_in_as(&mock, "clerk");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    invoke(&mock, "sync_now", json!({})).unwrap();
    assert!(
        requests() > 0,
        "the real back office was reached for real work"
    );

    // The trainer starts practice for the clerk.
    sign_in_as(&mock, "trainer");
    assert_eq!(
        invoke(&mock, "start_practice", json!({ "traineeLogin": "nobody" })).unwrap_err()["code"],
        "unknown_trainee"
    );
    let switched = invoke(&mock, "start_practice", json!({ "traineeLogin": "clerk" })).unwrap();
    assert_eq!(switched["mode"], "practice");
    assert_eq!(switched["user"], Value::Null, "the trainee signs in next");
    let real_files: Vec<std::path::PathBuf> = ["cases.db", "cases.db-wal"]
        .iter()
        .map(|name| data.join("cases").join(name))
        .collect();
    let before: Vec<Option<String>> = real_files.iter().map(|path| file_digest(path)).collect();
    let sent_before = requests();

    // The trainee runs a scenario on the normal screens.
    sign_in_as(&mock, "clerk");
    let scenarios = invoke(&mock, "practice_scenarios", json!({})).unwrap();
    assert!(scenarios.as_array().unwrap().len() >= 12);
    let attempt = invoke(
        &mock,
        "start_scenario",
        json!({ "scenarioId": "economic-company-complete" }),
    )
    .unwrap();
    assert_eq!(attempt["scenario"]["applicant_name"], "周明练习");
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept" }),
    )
    .unwrap();
    // The diagonal watermark's letters come out of pdftotext one by one.
    let receipt = pdf_text(outcome["document"]["pdf_base64"].as_str().unwrap());
    for letter in ['练', '习', '无', '效'] {
        assert!(
            receipt.contains(letter),
            "practice documents are void: {receipt}"
        );
    }
    let synced = invoke(&mock, "sync_now", json!({})).unwrap();
    assert_eq!(
        synced["connection"], "demo",
        "the sandbox, not the real one: {synced}"
    );
    let scored = invoke(&mock, "finish_scenario", json!({ "keystrokes": 57 })).unwrap();
    // Right item, decision and notice, within time; the applicant typed is
    // not the scenario's (the sample filler's), which costs its part.
    assert_eq!(scored["total"], 90, "{scored}");
    assert_eq!(scored["keystrokes"], 57);
    assert_eq!(
        invoke(&mock, "end_practice", json!({})).unwrap_err()["code"],
        "not_allowed",
        "a trainee cannot leave practice"
    );

    // The app stops during practice and starts again: still practice.
    drop(mock);
    let mock = start_with(&data, "main", &real);
    let info = invoke(&mock, "app_info", json!({})).unwrap();
    assert_eq!(info["mode"], "practice");
    let status = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(status["mode"], "practice");

    // Nothing of it touched the real store or the real back office.
    let after: Vec<Option<String>> = real_files.iter().map(|path| file_digest(path)).collect();
    assert_eq!(before, after, "the real store's files are unchanged");
    assert!(before[0].is_some());
    assert_eq!(
        requests(),
        sent_before,
        "no request reached the real back office"
    );

    // The trainer reads the score and ends practice.
    sign_in_as(&mock, "trainer");
    let results = invoke(&mock, "practice_results", json!({})).unwrap();
    assert_eq!(results[0]["total"], 90, "{results}");
    assert_eq!(results[0]["trainee_name"], "clerk 示例");
    let exported = invoke(&mock, "export_practice_results", json!({})).unwrap();
    let csv = std::fs::read_to_string(exported.as_str().unwrap()).unwrap();
    assert!(
        csv.contains("开办有限公司（材料齐全）") && csv.contains(",90,"),
        "{csv}"
    );
    let back = invoke(&mock, "end_practice", json!({})).unwrap();
    assert_eq!(back["mode"], "production");
    sign_in_as(&mock, "clerk");
    let cases = invoke(&mock, "cases_today", json!({})).unwrap();
    assert_eq!(
        cases.as_array().unwrap().len(),
        1,
        "the real case, not the practice one"
    );
    // The trainer's view still reads the practice results from real mode.
    sign_in_as(&mock, "trainer");
    let results = invoke(&mock, "practice_results", json!({})).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 1);
}

#[test]
fn a_trainer_writes_a_scenario_that_is_checked_saved_and_offered() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    sign_in_as(&mock, "trainer");
    let mut scenario = json!({
        "id": "trainer-residence-permit",
        "category": "social",
        "title_zh": "居住证（培训员自编）",
        "title_en": "Residence permit (trainer's own)",
        "budget_seconds": 150,
        "matter_zh": "我想办居住证，材料都带了。",
        "matter_en": "I want a residence permit; I brought everything.",
        "subject_kind": "item",
        "subject_id": "public-security.residence-permit",
        "decision": "accept",
        "notice_names": [],
        "applicant_name": "林练习",
        "applicant_id_number": "420105199002285633",
        "applicant_phone": "13900002001",
        "applicant_address": "示例区练习路20号",
        "missing": []
    });
    let saved = invoke(&mock, "save_scenario", json!({ "scenario": scenario })).unwrap();
    assert_eq!(saved["id"], "trainer-residence-permit");
    let file = root.path().join("training/trainer-scenarios.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[[scenario]]") && text.contains("林练习"),
        "{text}"
    );
    let offered = invoke(&mock, "practice_scenarios", json!({})).unwrap();
    assert!(offered
        .as_array()
        .unwrap()
        .iter()
        .any(|found| found["id"] == "trainer-residence-permit"));
    // Checked like the shipped ones: a bad ID number and an unknown
    // material are refused with what is wrong; a shipped id is taken.
    scenario["applicant_id_number"] = json!("420105199002285634");
    scenario["missing"] = json!(["no_such_material"]);
    let refused = invoke(&mock, "save_scenario", json!({ "scenario": scenario })).unwrap_err();
    assert_eq!(refused["code"], "scenario_invalid");
    let message = refused["message_en"].as_str().unwrap();
    assert!(
        message.contains("ID number") && message.contains("no_such_material"),
        "{message}"
    );
    scenario["applicant_id_number"] = json!("420105199002285633");
    scenario["missing"] = json!([]);
    scenario["id"] = json!("economic-company-complete");
    let clash = invoke(&mock, "save_scenario", json!({ "scenario": scenario })).unwrap_err();
    assert!(
        clash["message_en"].as_str().unwrap().contains("shipped"),
        "{clash}"
    );
    // A trainers' file broken by hand is never overwritten.
    std::fs::write(&file, "[[scenario]]\nid = \"half").unwrap();
    scenario["id"] = json!("trainer-another");
    let kept = invoke(&mock, "save_scenario", json!({ "scenario": scenario })).unwrap_err();
    assert!(
        kept["message_en"]
            .as_str()
            .unwrap()
            .contains("does not load"),
        "{kept}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "[[scenario]]\nid = \"half"
    );
}

/// Random JSON in every argument of every command, as each command's own
/// roles: an answer or a coded error, never a crash (a panic in a command
/// would fail the IPC call here). `ONEWINDOW_FUZZ_CASES` sets the cases per
/// command (default 6; the long run uses hundreds).
#[test]
fn random_arguments_never_crash_a_command() {
    use onewindow_lib::access::{Access, COMMANDS};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};
    let cases = u32::try_from(forms::benchmark::count_from_environment(
        "ONEWINDOW_FUZZ_CASES",
        6,
    ))
    .expect("ONEWINDOW_FUZZ_CASES fits in 32 bits");
    let leaf = proptest::prop_oneof![
        proptest::strategy::Just(Value::Null),
        proptest::bool::ANY.prop_map(Value::Bool),
        proptest::num::i64::ANY.prop_map(|number| json!(number)),
        proptest::num::f64::ANY.prop_map(|number| json!(number)),
        "\\PC{0,40}".prop_map(Value::String),
        proptest::strategy::Just(json!("")),
        proptest::strategy::Just(json!("market.company-establishment")),
    ];
    let value = leaf.prop_recursive(3, 24, 6, |inner| {
        proptest::prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    // Calls that change who is signed in, the store in use or the accounts
    // themselves have their own tests.
    let skipped = [
        "sign_in",
        "sign_out",
        "lock_session",
        "unlock_session",
        "create_first_admin",
        "start_practice",
        "end_practice",
        "set_account_disabled",
        "reset_account_password",
    ];
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let mut calls = 0;
    let mut by_role: Vec<(&str, &str)> = COMMANDS
        .iter()
        .filter(|(command, _)| !skipped.contains(command))
        .map(|(command, access)| {
            let role = match access {
                Access::Anyone => "clerk",
                Access::Roles(roles) => roles[0].as_str(),
            };
            (role, *command)
        })
        .collect();
    by_role.sort();
    let mut signed_in = "";
    for (role, command) in by_role {
        if role != signed_in {
            sign_in_as(&mock, role);
            signed_in = role;
        }
        let names: Vec<String> = walk_arguments(command)
            .as_object()
            .map(|arguments| arguments.keys().cloned().collect())
            .unwrap_or_default();
        for _ in 0..cases {
            let mut arguments = serde_json::Map::new();
            for name in &names {
                let tree = value.new_tree(&mut runner).unwrap();
                arguments.insert(name.clone(), tree.current());
            }
            // The IPC layer refuses malformed arguments; a command answers
            // or refuses with a code. Either way, no panic.
            let _ = invoke(&mock, command, Value::Object(arguments));
            calls += 1;
        }
    }
    assert!(calls > 100, "{calls} calls");
    // The app still works after all that.
    sign_in_as(&mock, "clerk");
    assert!(invoke(&mock, "search_catalog", json!({ "query": "公司" })).is_ok());
}

#[test]
fn no_one_approves_their_own_work_and_an_approval_lapses_when_the_intake_changes() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let start_item = |mock: &Mock| {
        invoke(
            mock,
            "start_intake",
            json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
        )
        .unwrap()
    };

    // The clerk's override, approved by the supervisor.
    let session = start_item(&mock);
    let draft = filled_draft(&session, item, &["address_proof"]);
    let asked = invoke(
        &mock,
        "request_override",
        json!({ "draft": draft, "wanted": "accept", "reason": "场所证明已由不动产登记系统核验" }),
    )
    .unwrap();
    sign_in_as(&mock, "supervisor");
    invoke(
        &mock,
        "decide_sign_off",
        json!({ "requestId": asked["id"], "approve": true, "note": "同意" }),
    )
    .unwrap();
    // After the approval the clerk puts another applicant in: the approval
    // was for the intake as it was asked, so it lapses.
    sign_in_as(&mock, "clerk");
    let mut changed = draft.clone();
    changed["applicant"]["name"] = json!("王另一");
    let lapsed = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": changed, "confirmed": "accept" }),
    )
    .unwrap_err();
    assert_eq!(lapsed["code"], "approval_lapsed", "{lapsed}");
    assert!(
        lapsed["message_zh"].as_str().unwrap().contains("重新申请"),
        "{lapsed}"
    );
    assert!(
        lapsed["message_en"].as_str().unwrap().contains("ask again"),
        "{lapsed}"
    );
    let status = invoke(&mock, "draft_sign_off", json!({ "draftId": draft["id"] })).unwrap();
    assert_eq!(status["state"], "lapsed", "{status}");
    // Putting the old content back does not bring the lapsed approval back.
    assert_eq!(
        invoke(
            &mock,
            "commit_intake",
            json!({ "draft": draft, "confirmed": "accept" }),
        )
        .unwrap_err()["code"],
        "approval_lapsed"
    );
    // No case was written.
    assert!(invoke(&mock, "case_detail", json!({ "caseId": draft["id"] })).is_err());
    // The lapse is in the audit log.
    sign_in_as(&mock, "supervisor");
    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "sign_off.override_lapsed", "subject": draft["id"] } }),
    )
    .unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    // Asked again for the intake as it is now, approved, committed unchanged.
    sign_in_as(&mock, "clerk");
    let again = invoke(
        &mock,
        "request_override",
        json!({ "draft": changed, "wanted": "accept", "reason": "场所证明已核验" }),
    )
    .unwrap();
    sign_in_as(&mock, "supervisor");
    invoke(
        &mock,
        "decide_sign_off",
        json!({ "requestId": again["id"], "approve": true, "note": null }),
    )
    .unwrap();
    sign_in_as(&mock, "clerk");
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": changed, "confirmed": "accept" }),
    )
    .unwrap();
    assert_eq!(outcome["decision"], "accept", "{outcome}");

    // The supervisor takes in at a window too: their own override and
    // their own gap case need another supervisor.
    sign_in_as(&mock, "supervisor");
    let session = start_item(&mock);
    let own_draft = filled_draft(&session, item, &["address_proof"]);
    let own_request = invoke(
        &mock,
        "request_override",
        json!({ "draft": own_draft, "wanted": "accept", "reason": "已核验" }),
    )
    .unwrap();
    let refused = invoke(
        &mock,
        "decide_sign_off",
        json!({ "requestId": own_request["id"], "approve": true, "note": null }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "own_work", "{refused}");
    let status = invoke(
        &mock,
        "draft_sign_off",
        json!({ "draftId": own_draft["id"] }),
    )
    .unwrap();
    assert_eq!(status["state"], "waiting");

    let session = start_item(&mock);
    let gaps = filled_draft(&session, item, &["appointment_documents"]);
    let gap_case = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": gaps, "confirmed": "accept_with_gaps" }),
    )
    .unwrap();
    let case_id = gap_case["case_id"].as_str().unwrap();
    let at_window = invoke(
        &mock,
        "sign_off_gaps",
        json!({ "caseId": case_id, "login": "supervisor", "password": PASSWORD }),
    )
    .unwrap_err();
    assert_eq!(at_window["code"], "own_work", "{at_window}");
    let at_desk = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "sign_off", "reason": null }),
    )
    .unwrap_err();
    assert_eq!(at_desk["code"], "own_work", "{at_desk}");
    let detail = invoke(&mock, "case_detail", json!({ "caseId": case_id })).unwrap();
    assert_eq!(detail["case"]["state"], "accepted_with_gaps", "{detail}");
}

#[test]
fn a_draft_is_resumed_saved_and_discarded_only_by_its_clerk() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &[]);
    invoke(&mock, "save_intake", json!({ "draft": draft })).unwrap();
    // Someone else signed in at the same window.
    sign_in_as(&mock, "supervisor");
    for (command, arguments) in [
        ("resume_intake", json!({ "draftId": draft["id"] })),
        ("save_intake", json!({ "draft": draft })),
        ("discard_intake", json!({ "draftId": draft["id"] })),
        (
            "request_override",
            json!({ "draft": draft, "wanted": "not_accepted", "reason": "x" }),
        ),
    ] {
        let refused = invoke(&mock, command, arguments).unwrap_err();
        assert_eq!(refused["code"], "not_your_draft", "{command}: {refused}");
    }
    // The clerk's draft is as they left it.
    sign_in_as(&mock, "clerk");
    let resumed = invoke(&mock, "resume_intake", json!({ "draftId": draft["id"] })).unwrap();
    assert_eq!(resumed["draft"], draft);
    invoke(&mock, "discard_intake", json!({ "draftId": draft["id"] })).unwrap();
}

#[test]
fn wrong_passwords_in_the_supervisor_dialog_at_a_clerks_window_do_not_lock_the_supervisor_out() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let item = "market.company-establishment";
    let session = invoke(
        &mock,
        "start_intake",
        json!({ "subject": { "kind": "item", "id": item }, "ticket": null }),
    )
    .unwrap();
    let draft = filled_draft(&session, item, &["appointment_documents"]);
    let outcome = invoke(
        &mock,
        "commit_intake",
        json!({ "draft": draft, "confirmed": "accept_with_gaps" }),
    )
    .unwrap();
    let case_id = outcome["case_id"].as_str().unwrap();
    let sign_off = |password: &str| {
        invoke(
            &mock,
            "sign_off_gaps",
            json!({ "caseId": case_id, "login": "supervisor", "password": password }),
        )
    };
    for _ in 0..5 {
        assert_eq!(
            sign_off("not-the-pass").unwrap_err()["code"],
            "sign_in_failed"
        );
    }
    // The dialog at this window pauses …
    assert_eq!(
        sign_off(PASSWORD).unwrap_err()["code"],
        "window_check_paused"
    );
    // … and the supervisor still signs in at their own desk and signs off.
    sign_in_as(&mock, "supervisor");
    let signed = invoke(
        &mock,
        "desk_action",
        json!({ "caseId": case_id, "action": "sign_off", "reason": null }),
    )
    .unwrap();
    assert_eq!(signed["state"], "dispatched", "{signed}");
}

fn lose_key(options: &onewindow_lib::backoffice::ServiceOptions) {
    let offline_cache::KeySource::Store { store, account } = &options.key else {
        panic!("these tests use the mock key store");
    };
    keyring_core::Entry::new_in_store(store, offline_cache::key::SERVICE, account)
        .unwrap()
        .delete_credential()
        .unwrap();
}

fn key_saved(options: &onewindow_lib::backoffice::ServiceOptions) -> bool {
    let offline_cache::KeySource::Store { store, account } = &options.key else {
        panic!("these tests use the mock key store");
    };
    keyring_core::Entry::new_in_store(store, offline_cache::key::SERVICE, account)
        .unwrap()
        .get_secret()
        .is_ok()
}

/// The store key lost: the window says so (`store_key_missing`), the store
/// is not replaced and nothing is written, and the recovery key shown once
/// to the administrator after the first start opens it again in the
/// window, with its cases and accounts, the key saved again.
#[test]
fn a_lost_store_key_is_recovered_in_the_window_with_the_recovery_key() {
    let root = tempfile::tempdir().unwrap();
    let options = services();
    let store_file = root.path().join("cases").join("cases.db");
    let recovery = {
        let mock = start_with(root.path(), "main", &options);
        sign_in_as(&mock, "admin");
        let shown = invoke(&mock, "pending_recovery_key", json!({})).unwrap();
        let shown = shown
            .as_str()
            .expect("a recovery key after the first start")
            .to_owned();
        assert_eq!(shown.split('-').count(), 14, "{shown}");
        // Shown until the administrator confirms keeping it, then forgotten.
        assert_eq!(
            invoke(&mock, "pending_recovery_key", json!({})).unwrap(),
            json!(shown)
        );
        invoke(&mock, "acknowledge_recovery_key", json!({})).unwrap();
        assert_eq!(
            invoke(&mock, "pending_recovery_key", json!({})).unwrap(),
            Value::Null
        );
        // Not needed while the store is open.
        assert_eq!(
            invoke(&mock, "recover_store", json!({ "recoveryKey": shown })).unwrap_err()["code"],
            "recovery_not_needed"
        );
        shown
    };
    {
        // A start after it was confirmed: nothing to show.
        let mock = start_with(root.path(), "main", &options);
        sign_in_as(&mock, "admin");
        assert_eq!(
            invoke(&mock, "pending_recovery_key", json!({})).unwrap(),
            Value::Null
        );
    }

    // The key store is lost.
    lose_key(&options);
    let before = file_digest(&store_file).expect("the store file");
    let mock = start_with(root.path(), "main", &options);
    let closed = invoke(&mock, "session_status", json!({})).unwrap_err();
    assert_eq!(closed["code"], "store_key_missing", "{closed}");
    assert!(closed["message_zh"].as_str().unwrap().contains("恢复密钥"));
    assert!(!key_saved(&options), "a new key was made");
    // A wrong recovery key, and a mistyped one: clear errors, nothing changed.
    let other = offline_cache::recovery::RecoveryKey::random()
        .display()
        .to_string();
    assert_eq!(
        invoke(&mock, "recover_store", json!({ "recoveryKey": other })).unwrap_err()["code"],
        "recovery_key_wrong"
    );
    assert_eq!(
        invoke(
            &mock,
            "recover_store",
            json!({ "recoveryKey": "ABCD-EFGH" })
        )
        .unwrap_err()["code"],
        "recovery_key_mistyped"
    );
    assert!(!key_saved(&options));
    assert_eq!(
        file_digest(&store_file).unwrap(),
        before,
        "the store file changed"
    );
    assert_eq!(
        invoke(&mock, "session_status", json!({})).unwrap_err()["code"],
        "store_key_missing"
    );
    // The recovery key, typed at the window: the store opens, accounts kept.
    invoke(
        &mock,
        "recover_store",
        json!({ "recoveryKey": recovery.to_lowercase() }),
    )
    .unwrap();
    assert!(
        key_saved(&options),
        "the key is saved in the key store again"
    );
    let status = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(status["first_start"], false, "{status}");
    sign_in_as(&mock, "admin");
    // The recovery is in the store's audit chain.
    sign_in_as(&mock, "supervisor");
    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "store.recovered", "subject": null } }),
    )
    .unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    drop(mock);
    // And the next start finds the key.
    let mock = start_with(root.path(), "main", &options);
    sign_in_as(&mock, "clerk");
}

/// A key kept where an administrator chose a plain file is shown in the
/// window's sync status at every start; the Secret Service gives no warning.
#[test]
fn a_key_store_chosen_by_the_administrator_is_warned_about_in_the_window() {
    let root = tempfile::tempdir().unwrap();
    let mock = start(root.path(), "main");
    let overview = invoke(&mock, "sync_status", json!({})).unwrap();
    assert_eq!(overview["key_store_warning"], Value::Null, "{overview}");
    drop(mock);

    let other = tempfile::tempdir().unwrap();
    let mut options = services();
    options.key = offline_cache::KeySource::File(other.path().join("keys/store.key"));
    let mock = start_with(other.path(), "main", &options);
    sign_in_as(&mock, "clerk");
    let overview = invoke(&mock, "sync_status", json!({})).unwrap();
    assert_eq!(
        overview["key_store_warning"]["code"], "key_store_file",
        "{overview}"
    );
    assert!(overview["key_store_warning"]["message_zh"]
        .as_str()
        .unwrap()
        .contains("密钥文件"));
}

/// From 1 October the administrator is told that next year's holiday notice
/// is missing (`app_info`), and loads it in Settings: a file with problems is
/// refused with its file and line and changes nothing; a good one is copied
/// into the calendar folder in use and counts at once; only an
/// administrator may.
#[test]
fn next_years_holiday_notice_is_asked_for_and_loaded_in_settings() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("calendar");
    std::fs::create_dir_all(&folder).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms/calendar");
    std::fs::copy(shipped.join("2026.toml"), folder.join("2026.toml")).unwrap();
    std::fs::create_dir_all(root.path().join("config")).unwrap();
    std::fs::write(
        root.path().join("config/onewindow.toml"),
        format!("[folders]\ncalendar = {:?}\n", folder.display().to_string()),
    )
    .unwrap();
    let mock = start(root.path(), "main");
    let today = chrono::Local::now().date_naive();
    let only_2026 = forms::calendar::WorkingCalendar::load_dir(&folder).unwrap();
    // On the day this was written, 4 December 2026, that is 2027.
    assert_eq!(
        only_2026.missing_notice(chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()),
        Some(2027)
    );
    let info = invoke(&mock, "app_info", json!({})).unwrap();
    assert_eq!(
        info["calendar_missing_year"],
        json!(only_2026.missing_notice(today)),
        "{info}"
    );

    let good = "year = 2027\nsource = \"国务院办公厅关于2027年部分节假日安排的通知\"\n\n[[holiday]]\nname_zh = \"元旦\"\nname_en = \"New Year's Day\"\nfrom = 2027-01-01\nto = 2027-01-03\nworking_weekends = []\n";
    let refused = invoke(
        &mock,
        "load_calendar_file",
        json!({ "fileName": "2027.toml", "text": good }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "not_allowed", "a clerk may not: {refused}");

    invoke(&mock, "sign_out", json!({})).unwrap();
    sign_in_as(&mock, "admin");
    let bad = good.replace("to = 2027-01-03", "to = 2026-12-31");
    let error = invoke(
        &mock,
        "load_calendar_file",
        json!({ "fileName": "/home/admin/下载/2027.toml", "text": bad }),
    )
    .unwrap_err();
    assert_eq!(error["code"], "calendar_invalid", "{error}");
    assert!(
        error["message_en"]
            .as_str()
            .unwrap()
            .contains("2027.toml:7:"),
        "the file and line of the problem: {error}"
    );
    assert!(
        error["message_zh"]
            .as_str()
            .unwrap()
            .contains("2027.toml:7:"),
        "{error}"
    );
    assert!(!folder.join("2027.toml").exists(), "nothing written");
    assert!(
        !root.path().join("holiday-notices/2027.toml").exists(),
        "nothing written"
    );

    let loaded = invoke(
        &mock,
        "load_calendar_file",
        json!({ "fileName": "/home/admin/下载/2027.toml", "text": good }),
    )
    .unwrap();
    assert_eq!(loaded["year"], 2027);
    assert_eq!(loaded["years"], json!([2026, 2027]));
    // Kept in the app's own data (an installed app's calendar folder is
    // read-only); the configured folder is left as it was.
    let notices = root.path().join("holiday-notices");
    assert_eq!(
        std::fs::read_to_string(notices.join("2027.toml")).unwrap(),
        good
    );
    assert!(!folder.join("2027.toml").exists());
    let with_2027 = forms::calendar::WorkingCalendar::load_with_loaded(&folder, &notices)
        .unwrap()
        .0;
    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "calendar.year_loaded", "subject": null } }),
    )
    .unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "audited: {entries}");
    let info = invoke(&mock, "app_info", json!({})).unwrap();
    assert_eq!(
        info["calendar_missing_year"],
        json!(with_2027.missing_notice(today)),
        "the calendar in use is the reloaded one: {info}"
    );
    assert_ne!(
        with_2027.missing_notice(chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()),
        Some(2027)
    );

    // The same year again is refused, and the file stays as it was.
    let twice = invoke(
        &mock,
        "load_calendar_file",
        json!({ "fileName": "2027-again.toml", "text": good.replace("元旦", "新年") }),
    )
    .unwrap_err();
    assert_eq!(twice["code"], "calendar_invalid", "{twice}");
    assert!(
        twice["message_en"]
            .as_str()
            .unwrap()
            .contains("defined twice"),
        "{twice}"
    );
    assert_eq!(
        std::fs::read_to_string(notices.join("2027.toml")).unwrap(),
        good
    );
}

/// A back office that refuses the window's token (401) pauses sending to
/// it: the supervisor sees why in the sync status, no case is sent back,
/// and "resume" is the supervisor's (audited), not the clerk's.
#[test]
fn a_back_office_refusing_the_token_pauses_its_sending_and_shows_why() {
    let root = tempfile::tempdir().unwrap();
    let simulator = tauri::async_runtime::block_on(backoffice_sim::Simulator::start(
        backoffice_sim::Config::demo(&root.path().join("backoffice.sqlite")),
    ))
    .unwrap();
    let keys: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    for system in backoffice_sim::System::all() {
        // The market registration's token has expired.
        let token = if system.id() == "market-registration" {
            "expired-token".to_owned()
        } else {
            format!("demo-token-{}", system.id())
        };
        offline_cache::key::save_backoffice_token(&keys, system.id(), &token).unwrap();
    }
    let options = onewindow_lib::backoffice::ServiceOptions {
        key: offline_cache::KeySource::Store {
            store: keys.clone(),
            account: "cases".into(),
        },
        token_store: Some(keys),
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::Url(simulator.url()),
        ..services()
    };
    let mock = start_with(&root.path().join("data"), "main", &options);
    sign_in_as(&mock, "clerk");
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    tauri::async_runtime::block_on(store.record_intake(intake(
        1,
        "market-registration",
        item,
        values,
    )))
    .unwrap();
    let status = invoke(&mock, "sync_now", json!({})).unwrap();
    assert_eq!(status["quarantined"], 0, "{status}");
    assert_eq!(status["pending"], 1, "{status}");
    let market = status["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|system| system["system"] == "market-registration")
        .unwrap()
        .clone();
    let reason = market["paused"]["reason_zh"].as_str().unwrap();
    assert!(
        reason.contains("401") && reason.contains("令牌"),
        "{market}"
    );
    assert!(market["paused"]["reason_en"]
        .as_str()
        .unwrap()
        .contains("administrator"));
    let refused = invoke(
        &mock,
        "resume_system",
        json!({ "system": "market-registration" }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "not_allowed", "{refused}");
    sign_in_as(&mock, "supervisor");
    invoke(
        &mock,
        "resume_system",
        json!({ "system": "market-registration" }),
    )
    .expect("a supervisor resumes");
    let entries = invoke(
        &mock,
        "audit_entries",
        json!({ "query": { "from": null, "to": null, "actor": null, "action": "sync.resumed", "subject": null } }),
    )
    .expect("the supervisor reads the audit");
    let entries = entries.as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].to_string().contains("supervisor"), "{entries:?}");
    tauri::async_runtime::block_on(simulator.stop());
}

/// A case whose back office asked for more materials: the clerk records
/// what was handed in (a note is required), the case goes back to review
/// and the supplement waits in the outbox for the back office.
#[test]
fn the_clerk_records_the_materials_a_back_office_asked_for() {
    let root = tempfile::tempdir().unwrap();
    let services = onewindow_lib::backoffice::ServiceOptions {
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::None,
        ..services()
    };
    let mock = start_with(root.path(), "main", &services);
    sign_in_as(&mock, "clerk");
    let store = store(&mock);
    let (item, values) = backoffice_sim::sample_intakes().remove(0);
    // Two back offices; only the market registration will ask for more.
    let mut commit = intake(1, "market-registration", item, values);
    commit.sub_cases.insert(
        "seal-management".into(),
        vec!["public-security.seal-filing".into()],
    );
    let case = tauri::async_runtime::block_on(store.record_intake(commit)).unwrap();
    let system = offline_cache::cases::Actor {
        user_id: "sync".into(),
        role: offline_cache::lifecycle::Role::System,
    };
    for event in [
        offline_cache::lifecycle::Event::BackOfficeReview,
        offline_cache::lifecycle::Event::RequestSupplement,
    ] {
        tauri::async_runtime::block_on(store.transition(
            &case.id,
            event,
            system.clone(),
            chrono::Local::now().fixed_offset(),
            None,
        ))
        .unwrap();
    }
    // The market registration system is the one that asked.
    let case_id = case.id.clone();
    store
        .write_blocking(move |connection| {
            connection.execute(
                "UPDATE sub_cases SET state = 'supplement_requested' WHERE case_id = ?1 AND back_office = 'market-registration'",
                [&case_id],
            )?;
            Ok(())
        })
        .unwrap();
    let empty = invoke(
        &mock,
        "record_supplement",
        json!({ "caseId": case.id, "note": " " }),
    )
    .unwrap_err();
    assert_eq!(empty["code"], "note_required", "{empty}");
    let row = invoke(
        &mock,
        "record_supplement",
        json!({ "caseId": case.id, "note": "股东会决议原件" }),
    )
    .expect("the supplement is recorded");
    assert_eq!(row["state"], "in_review", "{row}");
    // Only the back office that asked gets the supplement.
    let outbox = tauri::async_runtime::block_on(store.outbox()).unwrap();
    let supplements: Vec<&str> = outbox
        .iter()
        .filter(|entry| entry.action == "supplement" && entry.case_id == case.id)
        .map(|entry| entry.back_office.as_str())
        .collect();
    assert_eq!(supplements, ["market-registration"], "{outbox:?}");
    // Not twice: the case is no longer waiting for materials.
    let again = invoke(
        &mock,
        "record_supplement",
        json!({ "caseId": case.id, "note": "again" }),
    )
    .unwrap_err();
    assert_eq!(again["code"], "illegal_transition", "{again}");
}

/// A recovery key shown but never confirmed is not replaced at the next
/// start (the key an administrator printed must keep working): the window
/// asks instead for a new one to be made in Settings.
#[test]
fn an_unconfirmed_recovery_key_is_kept_and_the_window_asks_about_it() {
    let root = tempfile::tempdir().unwrap();
    let options = services();
    let sealed = root.path().join("cases").join("cases.key-recovery");
    {
        let mock = start_with(root.path(), "main", &options);
        sign_in_as(&mock, "admin");
        let shown = invoke(&mock, "pending_recovery_key", json!({})).unwrap();
        assert!(shown.is_string(), "{shown}");
    }
    let before = file_digest(&sealed).expect("the recovery file");
    let mock = start_with(root.path(), "main", &options);
    sign_in_as(&mock, "admin");
    assert_eq!(
        file_digest(&sealed).unwrap(),
        before,
        "the printed key was replaced"
    );
    assert_eq!(
        invoke(&mock, "pending_recovery_key", json!({})).unwrap(),
        Value::Null
    );
    let overview = invoke(&mock, "sync_status", json!({})).unwrap();
    assert_eq!(
        overview["key_store_warning"]["code"], "recovery_key_unconfirmed",
        "{overview}"
    );
}
