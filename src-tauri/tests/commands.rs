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

fn start(data_dir: &std::path::Path, window_label: &str) -> Mock {
    let specta = onewindow_lib::mock_specta_builder();
    let app = onewindow_lib::with_app(mock_builder(), specta.clone(), Some(data_dir.to_path_buf()))
        .build(onewindow_lib::context())
        .expect("the app builds with the mock runtime");
    onewindow_lib::start(&app, &specta, Some(data_dir.to_path_buf())).expect("start-up succeeds");
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
        json!({ "language": "zh-CN" })
    );
    assert_eq!(
        invoke(&mock, "set_language", json!({ "language": "en" })).unwrap(),
        json!({ "language": "en" })
    );
    drop(mock);

    let again = start(root.path(), "main");
    assert_eq!(
        invoke(&again, "get_preferences", json!({})).unwrap(),
        json!({ "language": "en" })
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
