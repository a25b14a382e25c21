//! The end-to-end harness: the real `onewindow` binary in a real window.
//!
//! [`App::start`] launches `tauri-driver` (which runs WebKitWebDriver, which
//! starts the app) with a private home folder, so every run begins with an
//! empty data directory and no remembered window state, and connects a
//! WebDriver client (fantoccini). Tests then click, type and read the page
//! like a clerk would, and take screenshots into the artifacts folder.
//!
//! It needs a display (the test command runs it under Xvfb) and a D-Bus
//! session (for the single-instance check); every wait is bounded, so a hung
//! driver fails the test instead of hanging CI. This crate never touches
//! the developer's own OneWindow data.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long any single wait for the window may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The app binary under test: `ONEWINDOW_BINARY`, or `debug/onewindow` in
/// the Cargo target directory.
pub fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ONEWINDOW_BINARY") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("onewindow")
}

/// Where screenshots and driver logs go: `ONEWINDOW_ARTIFACTS`, or
/// `artifacts/e2e` in the repository.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("ONEWINDOW_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts").join("e2e"));
    std::fs::create_dir_all(&dir).expect("the artifacts folder can be created");
    dir
}

fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin").join("tauri-driver"));
    match in_cargo_home {
        Some(path) if path.exists() => path,
        _ => PathBuf::from("tauri-driver"),
    }
}

/// The password of the accounts the tests make.
pub const PASSWORD: &str = "window-pass";

/// A private home for one app: its data directory and the XDG folders where
/// the web view and the window-state plugin keep their files. Reusing a home
/// across two [`App::start`] calls is how tests restart the app.
pub struct Home {
    root: PathBuf,
    /// Removes the home when dropped, unless `ONEWINDOW_E2E_HOMES` keeps it
    /// for the privacy scan after the suite.
    _cleanup: Option<tempfile::TempDir>,
    key_file: bool,
    catalog: Option<PathBuf>,
    calendar: Option<PathBuf>,
}

impl Home {
    pub fn new() -> Self {
        let builder = {
            let mut builder = tempfile::Builder::new();
            builder.prefix("onewindow-e2e-");
            builder
        };
        match std::env::var_os("ONEWINDOW_E2E_HOMES") {
            Some(kept) => {
                std::fs::create_dir_all(&kept).expect("the homes folder can be made");
                let root = builder
                    .tempdir_in(&kept)
                    .expect("a home can be made")
                    .keep();
                Home {
                    root,
                    _cleanup: None,
                    key_file: false,
                    catalog: None,
                    calendar: None,
                }
            }
            None => {
                let guard = builder.tempdir().expect("a temporary folder can be made");
                Home {
                    root: guard.path().to_path_buf(),
                    _cleanup: Some(guard),
                    key_file: false,
                    catalog: None,
                    calendar: None,
                }
            }
        }
    }

    /// The app of this home reads its working-day calendar from `dir`
    /// (`ONEWINDOW_CALENDAR_DIR`) instead of the shipped one.
    pub fn with_calendar(mut self, dir: PathBuf) -> Self {
        self.calendar = Some(dir);
        self
    }

    /// The app of this home loads the catalogue in `dir`
    /// (`ONEWINDOW_CATALOG_DIR`) instead of the sample catalogue.
    pub fn with_catalog(mut self, dir: PathBuf) -> Self {
        self.catalog = Some(dir);
        self
    }

    /// A home whose store key is kept in a file ([`Home::key_file`]), as an
    /// administrator may configure, so a test can open the store itself.
    pub fn with_key_file() -> Self {
        Home {
            key_file: true,
            ..Home::new()
        }
    }

    /// The store key file of a [`Home::with_key_file`] home.
    pub fn key_file(&self) -> PathBuf {
        self.root.as_path().join("store.key")
    }

    /// The app's data directory (`ONEWINDOW_DATA_DIR`).
    pub fn data_dir(&self) -> PathBuf {
        self.root.as_path().join("data")
    }

    /// The environment the app runs with.
    pub fn environment(&self) -> Vec<(String, PathBuf)> {
        let root = self.root.as_path();
        vec![
            ("ONEWINDOW_DATA_DIR".into(), self.data_dir()),
            ("XDG_CONFIG_HOME".into(), root.join("xdg-config")),
            ("XDG_DATA_HOME".into(), root.join("xdg-data")),
            ("XDG_CACHE_HOME".into(), root.join("xdg-cache")),
        ]
        .into_iter()
        .chain(
            self.key_file
                .then(|| ("ONEWINDOW_KEY_FILE".into(), self.key_file())),
        )
        .chain(
            self.catalog
                .clone()
                .map(|dir| ("ONEWINDOW_CATALOG_DIR".into(), dir)),
        )
        .chain(
            self.calendar
                .clone()
                .map(|dir| ("ONEWINDOW_CALENDAR_DIR".into(), dir)),
        )
        .collect()
    }
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

/// A running app and the WebDriver session that drives it.
pub struct App {
    pub client: Client,
    driver: Child,
    /// When the session was asked for (which starts the app), by the wall
    /// clock: the page's `performance.timeOrigin` is on the same clock.
    pub asked_at: std::time::SystemTime,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free local port")
}

impl App {
    /// Starts the app with `home` and waits until the shell has loaded,
    /// nobody signed in.
    pub async fn start_signed_out(home: &Home, label: &str) -> App {
        match App::try_start_signed_out(home, label).await {
            Ok(app) => app,
            // The app of the test before may still hold the single-instance
            // name on the session bus for a moment after it was killed: the
            // new one then exits at once. Start once more after a pause.
            Err((_, log)) if log.contains("single-instance") => {
                eprintln!(
                    "{label}: the previous app still held the single-instance name; starting again"
                );
                tokio::time::sleep(Duration::from_secs(3)).await;
                App::try_start_signed_out(home, &format!("{label}-again"))
                    .await
                    .unwrap_or_else(|(problem, _)| panic!("{problem}"))
            }
            Err((problem, _)) => panic!("{problem}"),
        }
    }

    /// One start; on failure the problem and the driver's log.
    async fn try_start_signed_out(home: &Home, label: &str) -> Result<App, (String, String)> {
        let binary = app_binary();
        assert!(
            binary.exists(),
            "the app binary {} does not exist: build it first (`cargo build -p onewindow`; `./x test` does)",
            binary.display()
        );
        let environment: Vec<(String, PathBuf)> = home
            .environment()
            .into_iter()
            .chain([("ONEWINDOW_LOG".to_owned(), PathBuf::from("info"))])
            .collect();
        let (app, _) = App::launch(&binary, &environment, label).await?;
        app.wait_for("[data-testid=shell][data-ready=true]").await;
        Ok(app)
    }

    /// Starts `binary` through its own tauri-driver with `environment`;
    /// returns the session and how long the session took to open (the
    /// driver's start not counted: from asking for the session, which
    /// starts the app, to the window's page loaded).
    pub async fn launch(
        binary: &Path,
        environment: &[(String, PathBuf)],
        label: &str,
    ) -> Result<(App, Duration), (String, String)> {
        let port = free_port();
        let native_port = free_port();
        let log_path = artifacts_dir().join(format!("{label}.driver.log"));
        let log = std::fs::File::create(&log_path).expect("driver log file");
        let mut command = Command::new(tauri_driver());
        command
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .envs(environment.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("driver log handle"))
            .stderr(log);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let driver = command.spawn().unwrap_or_else(|error| {
            panic!("tauri-driver could not start ({error}): install it with `cargo install tauri-driver --version '^2' --locked` (`./x test` does)")
        });
        let mut app = AppStarting {
            driver: Some(driver),
        };
        // tauri-driver forwards to WebKitWebDriver: both must be listening.
        wait_for_port(port, &log_path);
        wait_for_port(native_port, &log_path);

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": binary }),
        );
        let asked = Instant::now();
        let asked_at = std::time::SystemTime::now();
        let client = tokio::time::timeout(
            Duration::from_secs(90),
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        let opened = asked.elapsed();
        let failed = |problem: String| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            (format!("{problem}; see {}", log_path.display()), log)
        };
        let client = match client {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return Err(failed(format!("WebDriver session failed: {error}"))),
            Err(_) => return Err(failed("no WebDriver session within 90 s".into())),
        };
        let app = App {
            client,
            driver: app.driver.take().expect("driver present"),
            asked_at,
        };
        Ok((app, opened))
    }

    /// The driver's process id (it leads the group of the app it started).
    pub fn driver_id(&self) -> u32 {
        self.driver.id()
    }

    /// Starts the app and signs in as a clerk (see [`App::sign_in_as`]).
    pub async fn start(home: &Home, label: &str) -> App {
        let app = App::start_signed_out(home, label).await;
        app.sign_in_as("clerk").await;
        app
    }

    /// Signs in with the account of `role` (`clerk`, `supervisor`,
    /// `trainer`, `admin`; password [`PASSWORD`]). On a first start the
    /// accounts are made first, through the same commands the first-start
    /// screen and the administrator's account list use.
    pub async fn sign_in_as(&self, role: &str) {
        let outcome = self
            .client
            .execute_async(
                "const [role, password, done] = arguments;
                 const invoke = window.__TAURI_INTERNALS__.invoke;
                 (async () => {
                   const status = await invoke('session_status');
                   if (status.first_start) {
                     await invoke('create_first_admin', { login: 'admin', displayName: '管理员', password });
                     for (const other of ['clerk', 'supervisor', 'trainer']) {
                       await invoke('create_account', { login: other, displayName: other + ' 示例', role: other, password });
                     }
                   }
                   await invoke('sign_in', { login: role, password });
                   return 'ok';
                 })().then(done, (error) => done(error));",
                vec![serde_json::json!(role), serde_json::json!(PASSWORD)],
            )
            .await
            .expect("the sign-in script runs");
        assert_eq!(
            outcome,
            serde_json::json!("ok"),
            "signing in as {role} failed"
        );
        self.wait_for(&format!("[data-testid=topbar-user-name][data-role={role}]"))
            .await;
        // The window has finished setting up for the new user.
        self.wait_for("[data-testid=shell][data-settled=true]")
            .await;
    }

    /// Waits for an element and returns it.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css} did not appear within {WAIT:?}: {error}"))
    }

    /// Waits until no element matches `css`.
    pub async fn wait_until_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        let probe = format!("return document.querySelector({css:?}) === null");
        while self.script(&probe).await != serde_json::json!(true) {
            assert!(
                Instant::now() < deadline,
                "{css} was still there after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the element `css`.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|error| panic!("no text for {css}: {error}"))
            .trim()
            .to_owned()
    }

    /// Waits until the element `css` shows exactly `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let actual = self.text(css).await;
            if actual == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} shows {actual:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses `key` while holding `modifiers` (e.g. Alt+2, Ctrl+Enter, F9),
    /// as real key events to whatever has the focus.
    pub async fn chord(&self, modifiers: &[fantoccini::key::Key], key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut keys = KeyActions::new("keyboard".into());
        for modifier in modifiers {
            keys = keys.then(KeyAction::Down {
                value: (*modifier).into(),
            });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        for modifier in modifiers.iter().rev() {
            keys = keys.then(KeyAction::Up {
                value: (*modifier).into(),
            });
        }
        self.client
            .perform_actions(keys)
            .await
            .expect("key presses reach the window");
    }

    /// Chooses the cups-pdf test printer `OneWindowPDF` in Settings → 打印.
    pub async fn choose_test_printer(&self) {
        self.press_alt_digit('7').await;
        self.wait_for("[data-testid=printer-select] option[value=OneWindowPDF]")
            .await;
        self.script(
            "const select = document.querySelector('[data-testid=printer-select]');
             select.value = 'OneWindowPDF';
             select.dispatchEvent(new Event('change', { bubbles: true }));
             return true;",
        )
        .await;
    }

    /// Starts an intake of the company-establishment item from the search,
    /// by keyboard (pinyin, then Ctrl+Enter), up to the applicant step.
    pub async fn start_company_intake(&self) {
        self.press_alt_digit('2').await;
        let search = self.wait_for("[data-testid=catalog-search]").await;
        search.send_keys("gongsisheli").await.unwrap();
        self.wait_for("[data-testid=hit-market\\.company-establishment]")
            .await;
        self.chord(&[fantoccini::key::Key::Control], '\u{E007}')
            .await;
        self.wait_for("[data-testid=intake-flow][data-step=applicant]")
            .await;
    }

    /// Opens the screen with the shortcut Alt+`digit`.
    pub async fn press_alt_digit(&self, digit: char) {
        self.chord(&[fantoccini::key::Key::Alt], digit).await;
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("could not click {css}: {error}"));
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, source: &str) -> serde_json::Value {
        self.client
            .execute(source, vec![])
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}"))
    }

    /// Saves a screenshot as `<artifacts>/<name>.png` after two animation
    /// frames, so what was just changed has been painted.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .expect("animation frames");
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot saved");
        path
    }

    /// Ends the session (which closes the app) and stops the driver.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(20), self.client.clone().close()).await;
        stop(&mut self.driver);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        stop(&mut self.driver);
    }
}

/// Holds the driver until the session exists, so a failed start cleans up.
struct AppStarting {
    driver: Option<Child>,
}

impl Drop for AppStarting {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            stop(driver);
        }
    }
}

/// Stops the driver and everything it started (its process group).
fn stop(driver: &mut Child) {
    if let Ok(Some(_)) = driver.try_wait() {
        return;
    }
    // The driver leads its own process group (see `App::start`): end the
    // whole group, so WebKitWebDriver and the app go with it.
    #[cfg(unix)]
    if let Ok(group) = libc::pid_t::try_from(driver.id()) {
        if group > 1 {
            // SAFETY: killpg only sends a signal; the group is the driver's own.
            unsafe { libc::killpg(group, libc::SIGKILL) };
        }
    }
    let _ = driver.kill();
    let _ = driver.wait();
}

fn wait_for_port(port: u16, log_path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the WebDriver servers did not listen on port {port} within 30 s; see {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
