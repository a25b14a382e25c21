//! The shell in the real window: languages, About, restart, single instance.
//!
//! Run by `./x test` under Xvfb and a D-Bus session, one test at a time
//! (each starts its own app; the single-instance plugin allows one per
//! session bus).

use std::time::{Duration, Instant};

use onewindow_e2e::{app_binary, App, Home};

const NAV: [&str; 7] = [
    "queue",
    "intake",
    "cases",
    "issuance",
    "supervisor",
    "training",
    "settings",
];
const NAV_ZH: [&str; 7] = [
    "叫号排队",
    "综合受理",
    "办件查询",
    "统一出件",
    "值班长",
    "培训练习",
    "设置",
];
const NAV_EN: [&str; 7] = [
    "Queue",
    "Intake",
    "Cases",
    "Results issuance",
    "Supervisor",
    "Training",
    "Settings",
];

async fn nav_labels(app: &App) -> Vec<String> {
    let mut labels = Vec::new();
    for view in NAV {
        labels.push(app.text(&format!("[data-testid=nav-{view}] .name")).await);
    }
    labels
}

async fn press_alt_digit(app: &App, digit: char) {
    app.press_alt_digit(digit).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_opens_in_chinese_and_switches_to_english() {
    let home = Home::new();
    let app = App::start(&home, "languages").await;

    assert_eq!(nav_labels(&app).await, NAV_ZH);
    assert_eq!(
        app.script("return document.documentElement.lang").await,
        "zh-CN"
    );
    assert_eq!(app.text("[data-testid=product-name]").await, "一窗通");
    assert_eq!(
        app.text("[data-testid=topbar-hall]").await,
        "示例区政务服务中心"
    );
    assert_eq!(app.text("[data-testid=topbar-window]").await, "01 号窗口");
    assert!(app
        .text("[data-testid=topbar-user]")
        .await
        .contains("clerk 示例（窗口人员）"));
    assert!(app
        .text("[data-testid=topbar-pending-sync]")
        .await
        .contains("0 件"));
    app.wait_for("[data-testid=view-queue]").await;
    app.screenshot("shell-zh-CN").await;

    // Keyboard first: Alt+2 opens Intake without touching the mouse.
    press_alt_digit(&app, '2').await;
    app.wait_for("[data-testid=view-intake]").await;
    let current = app
        .wait_for("[data-testid=nav-intake]")
        .await
        .attr("aria-current")
        .await
        .expect("aria-current readable");
    assert_eq!(current.as_deref(), Some("page"));

    app.click("[data-testid=nav-settings]").await;
    app.click("[data-testid=language-en]").await;
    app.wait_for_text("[data-testid=nav-queue] .name", "Queue")
        .await;
    assert_eq!(nav_labels(&app).await, NAV_EN);
    assert_eq!(
        app.script("return document.documentElement.lang").await,
        "en"
    );
    assert_eq!(
        app.text("[data-testid=topbar-hall]").await,
        "Sample District Government Service Centre"
    );
    app.screenshot("settings-en").await;

    press_alt_digit(&app, '1').await;
    app.wait_for("[data-testid=view-queue]").await;
    app.screenshot("shell-en").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn about_shows_what_app_info_returned() {
    let home = Home::new();
    let app = App::start(&home, "about").await;
    app.click("[data-testid=nav-settings]").await;

    let data_dir = home.data_dir();
    assert_eq!(
        app.text("[data-testid=about-version]").await,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        app.text("[data-testid=about-data-dir]").await,
        data_dir.display().to_string()
    );
    assert_eq!(
        app.text("[data-testid=about-log-dir]").await,
        data_dir.join("logs").display().to_string()
    );
    assert_eq!(
        app.text("[data-testid=about-config-dir]").await,
        data_dir.join("config").display().to_string()
    );
    assert_eq!(app.text("[data-testid=about-mode]").await, "正式办件");
    assert_eq!(app.text("[data-testid=about-hall-code]").await, "SAMPLE");
    assert_eq!(
        app.text("[data-testid=about-catalog-version]").await,
        "2026.11-sample.1"
    );
    app.screenshot("about-zh-CN").await;

    // The running binary logs to a daily file in the directory it showed.
    let log_text = read_logs(&data_dir.join("logs"));
    assert!(
        log_text.contains("OneWindow started"),
        "no start line in the log files: {log_text}"
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn language_choice_survives_a_restart() {
    let home = Home::new();
    let app = App::start(&home, "restart-first").await;
    app.click("[data-testid=nav-settings]").await;
    app.click("[data-testid=language-en]").await;
    app.wait_for_text("[data-testid=nav-queue] .name", "Queue")
        .await;
    app.close().await;

    let app = App::start(&home, "restart-second").await;
    app.wait_for_text("[data-testid=nav-queue] .name", "Queue")
        .await;
    assert_eq!(nav_labels(&app).await, NAV_EN);
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn second_start_hands_over_to_the_running_window() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "run the end-to-end tests inside a D-Bus session (`dbus-run-session`; `./x test` does)"
    );
    let home = Home::new();
    let app = App::start(&home, "single-instance").await;

    let mut second = std::process::Command::new(app_binary())
        .envs(home.environment())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("a second copy of the app starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().expect("second copy's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second start kept running instead of handing over");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "the second start exited with {status}");

    // The first window is still there and answers.
    app.wait_for("[data-testid=shell][data-ready=true]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = read_logs(&home.data_dir().join("logs"));
        if logs.contains("a second start was redirected to the running window") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running app did not note the second start: {logs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.close().await;
}

fn read_logs(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("log directory exists") {
        let path = entry.expect("log entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("onewindow.") && name.ends_with(".log") {
            text.push_str(&std::fs::read_to_string(&path).expect("log readable"));
        }
    }
    text
}

/// The store opens with its key from the session's Secret Service, the
/// built-in demo back office answers, and Settings lists every approval
/// system's queue.
#[tokio::test(flavor = "multi_thread")]
async fn the_built_in_demo_back_office_is_connected() {
    let home = Home::new();
    let app = App::start(&home, "sync").await;
    app.wait_for("[data-testid=topbar-connection][data-connection=demo]")
        .await;
    assert!(app
        .text("[data-testid=topbar-connection]")
        .await
        .contains("演示后台"));
    assert_eq!(
        app.text("[data-testid=topbar-pending-sync]").await,
        "待同步 0 件"
    );
    press_alt_digit(&app, '7').await;
    app.wait_for("[data-testid=sync-systems]").await;
    let rows = app
        .script("return document.querySelectorAll('[data-testid=sync-systems] tbody tr').length")
        .await;
    assert_eq!(rows, 19);
    assert!(app
        .text("[data-testid=sync-system-social-insurance]")
        .await
        .contains("社会保险经办系统"));
    app.wait_for_text("[data-testid=sync-none-held]", "没有被退回的办件。")
        .await;
    app.click("[data-testid=sync-now]").await;
    app.wait_for("[data-testid=sync-now]:not([disabled])").await;
    app.screenshot("settings-sync").await;
    app.close().await;
}

/// Settings → printing: choose the cups-pdf printer and the roll, preview
/// the test page through pdf.js, and print it through CUPS.
#[tokio::test(flavor = "multi_thread")]
async fn the_test_page_previews_and_prints() {
    let home = Home::new();
    let app = App::start(&home, "printing").await;
    app.choose_test_printer().await;
    app.click("[data-testid=paper-roll80]").await;
    app.click("[data-testid=preview-test-page]").await;
    app.wait_for("[data-testid=pdf-preview][data-rendered=true]")
        .await;
    // The page was really drawn: a tall roll with dark pixels on it.
    let drawn = app
        .script(
            "const canvas = document.querySelector('[data-testid=pdf-preview] canvas');
             const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
             let dark = 0;
             for (let i = 0; i < data.length; i += 4) { if (data[i] < 100) dark += 1; }
             return [canvas.width, canvas.height, dark];",
        )
        .await;
    let values: Vec<u64> = drawn
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_u64().unwrap())
        .collect();
    assert!(values[1] > values[0] * 2, "a roll is tall: {values:?}");
    assert!(
        values[2] > 2000,
        "text and the QR code are drawn: {values:?}"
    );
    app.screenshot("settings-printing").await;
    app.click("[data-testid=print-test-page]").await;
    app.wait_for("[data-testid=printing-message]").await;
    assert!(app
        .text("[data-testid=printing-message]")
        .await
        .contains("OneWindowPDF"));
    app.close().await;
}

/// Intake: the catalogue is searched as the clerk types (pinyin here),
/// Enter opens the item's guide, Esc comes back to the search.
#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_is_searched_by_keyboard_and_a_guide_opens() {
    let home = Home::new();
    let app = App::start(&home, "intake").await;
    press_alt_digit(&app, '2').await;
    let search = app.wait_for("[data-testid=catalog-search]").await;
    search
        .send_keys("gongsisheli")
        .await
        .expect("typing reaches the search box");
    app.wait_for("[data-testid=hit-market\\.company-establishment]")
        .await;
    let first = app
        .script("return document.querySelector('[data-testid=catalog-results] li').dataset.testid")
        .await;
    assert_eq!(first, "hit-market.company-establishment");
    app.screenshot("intake-search-zh").await;
    search.send_keys("\u{E007}").await.unwrap(); // Enter
    app.wait_for_text("[data-testid=guide-name]", "有限责任公司设立登记")
        .await;
    let rows = app
        .script("return document.querySelectorAll('[data-testid=guide-materials] tbody tr').length")
        .await;
    assert!(rows.as_u64().unwrap() >= 6, "{rows}");
    app.screenshot("intake-guide-zh").await;
    let back = app.wait_for("[data-testid=guide-back]").await;
    back.send_keys("\u{E00C}").await.unwrap(); // Escape
    app.wait_for("[data-testid=catalog-search]").await;
    app.close().await;
}

/// The queue: tickets issued per category, F2 calls the next to this
/// window, F7 finishes it.
#[tokio::test(flavor = "multi_thread")]
async fn tickets_are_issued_and_called_by_keyboard() {
    let home = Home::new();
    let app = App::start(&home, "queue").await;
    app.wait_for("[data-testid=view-queue]").await;
    app.click("[data-testid=issue-economic]").await;
    app.wait_for_text("[data-testid=issued-ticket]", "已取号 A001")
        .await;
    app.click("[data-testid=issue-social]").await;
    app.wait_for_text("[data-testid=issued-ticket]", "已取号 B001")
        .await;
    app.chord(&[], '\u{E032}').await; // F2
    app.wait_for_text("[data-testid=current-ticket] .number", "A001")
        .await;
    app.screenshot("queue-zh").await;
    app.chord(&[], '\u{E037}').await; // F7
    app.wait_for("[data-testid=current-ticket] .idle").await;

    // A booked applicant checks in (the demo back office runs the booking
    // platform): the appointment ticket is called before the walk-in B001,
    // and the intake of the booked item starts with the booking's applicant.
    app.wait_for("[data-testid=appointments] [data-testid=check-in]")
        .await;
    app.click("[data-testid=appointments] [data-testid=check-in]")
        .await;
    app.wait_for_text("[data-testid=issued-ticket]", "已取号 Y001")
        .await;
    app.chord(&[], '\u{E032}').await; // F2
    app.wait_for_text("[data-testid=current-ticket] .number", "Y001")
        .await;
    let booked = app.text("[data-testid=current-appointment]").await;
    assert!(booked.contains("张三"), "{booked}");
    app.screenshot("queue-appointment-zh").await;
    app.press_alt_digit('2').await;
    app.wait_for("[data-testid=start-booked]").await;
    app.chord(&[], '\u{E038}').await; // F8
    let identifier = app
        .wait_for("[data-testid=applicant-identifier]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(identifier.as_deref(), Some("34052419800101001X"));
    app.close().await;
}

/// Cases: a new workstation has no cases today, and a search that finds
/// nothing says so.
#[tokio::test(flavor = "multi_thread")]
async fn the_cases_screen_lists_and_searches() {
    let home = Home::new();
    let app = App::start(&home, "cases").await;
    press_alt_digit(&app, '3').await;
    app.wait_for_text("[data-testid=cases-none]", "没有办件。")
        .await;
    let search = app.wait_for("[data-testid=case-search]").await;
    search.send_keys("SAMPLE2026").await.unwrap();
    app.wait_for_text("[data-testid=view-cases] h2", "找到 0 件")
        .await;
    app.screenshot("cases-zh").await;
    app.close().await;
}

/// Every screen in both languages, for review: `artifacts/e2e/screen-*.png`.
#[tokio::test(flavor = "multi_thread")]
async fn every_screen_is_shown_in_both_languages() {
    let home = Home::new();
    let app = App::start(&home, "screens").await;
    for (language, label) in [("zh-CN", "zh"), ("en", "en")] {
        if language == "en" {
            press_alt_digit(&app, '7').await;
            app.click("[data-testid=language-en]").await;
            app.wait_for("[data-testid=shell][data-language=en]").await;
        }
        for (index, view) in NAV.iter().enumerate() {
            let digit = char::from_digit(index as u32 + 1, 10).unwrap();
            press_alt_digit(&app, digit).await;
            app.wait_for(&format!("[data-testid=nav-{view}][aria-current=page]"))
                .await;
            app.screenshot(&format!("screen-{view}-{label}")).await;
        }
        // The intake's steps, on an empty company establishment.
        press_alt_digit(&app, '2').await;
        let search = app.wait_for("[data-testid=catalog-search]").await;
        search.send_keys("gongsisheli").await.unwrap();
        app.wait_for("[data-testid=hit-market\\.company-establishment]")
            .await;
        app.chord(&[fantoccini::key::Key::Control], '\u{E007}')
            .await;
        for step in ["applicant", "form", "materials", "decision"] {
            app.click(&format!("[data-testid=step-{step}]")).await;
            app.wait_for(&format!("[data-testid=intake-flow][data-step={step}]"))
                .await;
            app.screenshot(&format!("screen-intake-{step}-{label}"))
                .await;
        }
        app.click("[data-testid=intake-close]").await;
        app.wait_for("[data-testid=catalog-search]").await;
    }
    app.close().await;
}

/// The screenshot command `./x run` prints on a headless machine works as
/// printed: taken from the script itself, its variables filled in as the
/// script's shell would (xvfb-run sets `DISPLAY` and `XAUTHORITY`), run with
/// the app's window open, it writes a picture of the screen. (`DISPLAY`
/// alone is refused: Xvfb asks for its authority file.)
#[tokio::test(flavor = "multi_thread")]
async fn the_screenshot_command_that_the_run_command_prints_works() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../x")).unwrap();
    let line = script
        .lines()
        .find(|line| line.contains("import -window root"))
        .expect("./x run prints a screenshot command");
    let command = line
        .split("(another terminal): ")
        .nth(1)
        .and_then(|rest| rest.split("\"; exec").next())
        .expect("the printed command")
        .to_owned();
    let display = std::env::var("DISPLAY").expect("the tests run under xvfb-run");
    let authority = std::env::var("XAUTHORITY").expect("xvfb-run sets XAUTHORITY");
    let command = command
        .replace("$DISPLAY", &display)
        .replace("$XAUTHORITY", &authority);
    let home = Home::new();
    let app = App::start(&home, "screenshot-command").await;
    app.wait_for("body").await;
    let folder = tempfile::tempdir().unwrap();
    // A fresh shell without the test's display variables: only what the
    // printed command itself says.
    let output = std::process::Command::new("env")
        .args(["-u", "DISPLAY", "-u", "XAUTHORITY", "sh", "-c", &command])
        .current_dir(folder.path())
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let picture = image::open(folder.path().join("onewindow.png")).expect("a PNG was written");
    assert!(
        picture.width() >= 1024 && picture.height() >= 640,
        "{command}"
    );
    app.close().await;
}
