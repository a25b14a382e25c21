//! The ID-card reader's folder through the running app (mock runtime, real
//! data directory, real folder watcher): card files that name a photo out
//! of the folder are refused and nothing outside is read or deleted; a card
//! read while nobody is signed in, or while the window is locked, never
//! reaches the window (issue 19, part 3).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, WebviewWindow};

struct Mock {
    _app: App<MockRuntime>,
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
        // No back office, so that the background work (which starts the
        // device watchers) sends nothing anywhere.
        backoffice: onewindow_lib::backoffice::BackOfficeSetting::None,
        interval: Duration::from_millis(200),
        standards_dir: onewindow_lib::config::ShippedFolders::find(None)
            .root
            .join("standards"),
        background: true,
        // Replaced by the configuration's at start.
        store: offline_cache::StoreOptions::default(),
    }
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

/// Starts the app, makes the first administrator and a clerk, signs the
/// clerk in, and collects every `IdCardRead` the window is sent.
fn start(data_dir: &Path) -> (Mock, mpsc::Receiver<Value>) {
    let specta = onewindow_lib::mock_specta_builder();
    let app = onewindow_lib::with_app(mock_builder(), specta.clone(), Some(data_dir.to_path_buf()))
        .build(onewindow_lib::context())
        .expect("the app builds with the mock runtime");
    let (sender, events) = mpsc::channel();
    app.listen_any("id-card-read", move |event| {
        let _ = sender.send(serde_json::from_str::<Value>(event.payload()).unwrap());
    });
    onewindow_lib::start(
        &app,
        &specta,
        Some(data_dir.to_path_buf()),
        Some(&services()),
    )
    .expect("start-up succeeds");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("a mock window");
    let mock = Mock { _app: app, window };
    invoke(
        &mock,
        "create_first_admin",
        json!({ "login": "admin", "displayName": "管理员", "password": PASSWORD }),
    )
    .expect("the first administrator is made");
    invoke(
        &mock,
        "create_account",
        json!({ "login": "clerk", "displayName": "窗口 示例", "role": "clerk", "password": PASSWORD }),
    )
    .expect("the administrator makes a clerk");
    sign_in(&mock);
    // The watchers start right after the store opens; a card written
    // before that is found by the start-up scan, after it by the watcher.
    std::thread::sleep(Duration::from_millis(300));
    (mock, events)
}

fn sign_in(mock: &Mock) {
    invoke(
        mock,
        "sign_in",
        json!({ "login": "clerk", "password": PASSWORD }),
    )
    .expect("the clerk signs in");
}

/// The ID-card folder the app watches (the data folder's by default).
fn card_folder(mock: &Mock) -> PathBuf {
    let folders = invoke(mock, "device_folders", json!({})).expect("device_folders answers");
    PathBuf::from(folders["id_card_folder"].as_str().unwrap())
}

fn card_json(name: &str, photo_file: Option<&str>) -> String {
    let mut card = json!({
        "name": name, "sex": "男", "ethnicity": "汉", "birthDate": "1980-01-01",
        "address": "安徽省宣城市郎溪县示例路1号", "idNumber": "34052419800101001X",
        "issuingAuthority": "郎溪县公安局", "validFrom": "20150301", "validUntil": "20350301"
    });
    if let Some(photo) = photo_file {
        card["photoFile"] = json!(photo);
    }
    card.to_string()
}

/// Writes a card file as reader tools do: a temporary name, then renamed.
fn drop_card(folder: &Path, file: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(folder).unwrap();
    let temporary = folder.join(format!(".{file}.tmp"));
    std::fs::write(&temporary, text).unwrap();
    let path = folder.join(file);
    std::fs::rename(&temporary, &path).unwrap();
    path
}

fn next_event(events: &mpsc::Receiver<Value>) -> Value {
    events
        .recv_timeout(Duration::from_secs(10))
        .expect("the window is told of the card within 10 s")
}

fn wait_gone(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while path.symlink_metadata().is_ok() {
        assert!(
            Instant::now() < deadline,
            "{} was not taken",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_card_naming_a_photo_out_of_the_folder_is_refused_and_nothing_outside_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let (mock, events) = start(root.path());
    let folder = card_folder(&mock);
    let store_file = root.path().join("cases/cases.db");
    assert!(store_file.exists(), "the case store is open");
    let outside = root.path().join("outside.bmp");
    std::fs::write(&outside, b"BM not a photo of this card").unwrap();
    std::fs::create_dir_all(folder.join("sub/dir")).unwrap();
    let nested = folder.join("sub/dir/zp.bmp");
    std::fs::write(&nested, b"BM nested").unwrap();
    std::os::unix::fs::symlink(&outside, folder.join("link.bmp")).unwrap();

    let absolute = outside.display().to_string();
    for (index, (photo, code)) in [
        ("../../cases/cases.db", "id_card_photo_name"),
        ("../x", "id_card_photo_name"),
        (absolute.as_str(), "id_card_photo_name"),
        ("sub/dir/zp.bmp", "id_card_photo_name"),
        ("link.bmp", "device_file_refused"),
    ]
    .into_iter()
    .enumerate()
    {
        let card = drop_card(
            &folder,
            &format!("card-{index}.json"),
            &card_json("张三", Some(photo)),
        );
        let event = next_event(&events);
        assert_eq!(event["card"], Value::Null, "{photo}: no card data is sent");
        assert_eq!(event["problem_code"], code, "{photo}: {event}");
        assert!(
            event["problem_zh"]
                .as_str()
                .is_some_and(|text| !text.is_empty()),
            "{event}"
        );
        assert!(
            event["problem_en"]
                .as_str()
                .is_some_and(|text| !text.is_empty()),
            "{event}"
        );
        wait_gone(&card);
    }
    // Nothing named was read or deleted: the store, the file outside, the
    // nested file and the link are all still there, and the store works.
    assert!(store_file.exists(), "the case store was not deleted");
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        b"BM not a photo of this card"
    );
    assert!(nested.exists());
    assert!(folder.join("link.bmp").symlink_metadata().is_ok());
    invoke(&mock, "session_status", json!({})).expect("the app still answers");
    let status = invoke(&mock, "session_status", json!({})).unwrap();
    assert_eq!(status["first_start"], false, "the accounts are still there");

    // A plain photo name in the folder is read with its card and removed.
    std::fs::write(folder.join("zp.bmp"), b"BM the photo").unwrap();
    drop_card(
        &folder,
        "card-plain.json",
        &card_json("张三", Some("zp.bmp")),
    );
    let event = next_event(&events);
    assert_eq!(event["card"]["name"], "张三", "{event}");
    assert!(event["card"]["photo_data_url"]
        .as_str()
        .is_some_and(|url| url.starts_with("data:image/bmp;base64,")));
    wait_gone(&folder.join("zp.bmp"));
}

#[test]
fn a_card_read_while_signed_out_or_locked_never_reaches_the_window() {
    let root = tempfile::tempdir().unwrap();
    let (mock, events) = start(root.path());
    let folder = card_folder(&mock);

    invoke(&mock, "sign_out", json!({})).expect("sign out");
    let signed_out = drop_card(&folder, "card-a.json", &card_json("甲某", None));
    wait_gone(&signed_out);

    sign_in(&mock);
    invoke(&mock, "lock_session", json!({})).expect("lock");
    let locked = drop_card(&folder, "card-b.json", &card_json("乙某", None));
    wait_gone(&locked);

    // Idle past the idle lock (5 minutes): Rust has locked it, though no
    // command has asked since; the card does not reach the window.
    invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).expect("unlock");
    {
        use tauri::Manager;
        mock._app
            .state::<onewindow_lib::state::AppState>()
            .session
            .advance_clock(Duration::from_secs(6 * 60));
    }
    let idle = drop_card(&folder, "card-d.json", &card_json("丁某", None));
    wait_gone(&idle);

    invoke(&mock, "unlock_session", json!({ "password": PASSWORD })).expect("unlock");
    drop_card(&folder, "card-c.json", &card_json("丙某", None));
    let event = next_event(&events);
    assert_eq!(
        event["card"]["name"], "丙某",
        "the first card the window hears of is the one read while signed in: {event}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let later: Vec<Value> = events.try_iter().collect();
    assert!(later.is_empty(), "nothing else was sent: {later:?}");
}
