//! The workstation's configuration file, `onewindow.toml`: the hall and
//! window, the back offices, the printer, the device folders, the idle
//! lock and the key store, written by the hall's IT staff at installation
//! (documented with an example in `docs/configuration.md`).
//!
//! Where it is looked for, first found wins: the file `ONEWINDOW_CONFIG`
//! names; `onewindow.toml` in the app's configuration directory;
//! `/etc/onewindow/onewindow.toml`. No file: the defaults.
//!
//! Every problem of the file is found at once, each with its key, its line
//! and what to do, in Chinese and English: a file with problems is never
//! half used. The environment variables of the development and test set-up
//! (`ONEWINDOW_BACKOFFICE_URL`, `ONEWINDOW_CATALOG_DIR`, ...) still override
//! single settings. This module reads and checks; it never writes the file
//! and never opens the store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use offline_cache::numbering::NumberingRule;

use crate::backoffice::BackOfficeSetting;
use crate::error::UiError;
use crate::state::Workstation;

/// The file name in the configuration directories.
pub const FILE_NAME: &str = "onewindow.toml";
/// The environment variable that names a configuration file.
pub const FILE_VARIABLE: &str = "ONEWINDOW_CONFIG";

/// Where an override from the environment comes from, in a problem.
const ENVIRONMENT_SOURCE: &str = "environment variable";
/// The hall-wide configuration file, when the app's own has none.
pub const SYSTEM_FILE: &str = "/etc/onewindow/onewindow.toml";

/// The file as written. Unknown keys are problems (a misspelt key must not
/// silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    workstation: Option<WorkstationSection>,
    #[serde(default)]
    backoffice: BackOfficeSection,
    #[serde(default)]
    printer: PrinterSection,
    #[serde(default)]
    folders: FolderSection,
    #[serde(default)]
    lock: LockSection,
    #[serde(default)]
    key_store: KeyStoreSection,
    #[serde(default)]
    numbering: NumberingSection,
    #[serde(default)]
    progress: ProgressSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkstationSection {
    hall_code: String,
    hall_name_zh: String,
    hall_name_en: String,
    window_number: String,
    /// The agency short name (机关代字) on document numbers.
    agency_short_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberingSection {
    case_numbers: Option<String>,
    document_numbers: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressSection {
    url: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackOfficeSection {
    /// `"demo"`, `"none"` or `"url"`.
    connection: Option<String>,
    url: Option<String>,
    sync_interval_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrinterSection {
    name: Option<String>,
    paper: Option<crate::print::Layout>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderSection {
    catalog: Option<PathBuf>,
    standards: Option<PathBuf>,
    calendar: Option<PathBuf>,
    training: Option<PathBuf>,
    capture: Option<PathBuf>,
    id_card: Option<PathBuf>,
    keep_capture_originals: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockSection {
    idle_minutes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyStoreSection {
    /// `"system"` (the Secret Service), `"kernel-keyring"` or `"file"`.
    kind: Option<String>,
    file: Option<PathBuf>,
}

/// Where the store key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// The Secret Service (never anything else in its place).
    System,
    /// The kernel keyring: in memory, empty after every reboot (allowed
    /// only when chosen here, warned about on every start and in the window).
    KernelKeyring,
    /// A plain key file (allowed, warned about on every start).
    File(PathBuf),
}

/// How the receipt tells the applicant to follow the case: the progress
/// page its QR code opens, and the phone number printed beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressQuery {
    /// An https address with `{case_number}`; `None`: no QR code is printed
    /// (a receipt never points at a page that is not the hall's).
    pub url: Option<String>,
    pub phone: String,
}

impl ProgressQuery {
    /// The page for one case, when the hall has one.
    pub fn url_for(&self, case_number: &str) -> Option<String> {
        self.url
            .as_ref()
            .map(|url| url.replace("{case_number}", case_number))
    }
}

/// The folders the app reads its data files from and watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folders {
    pub catalog: PathBuf,
    pub standards: PathBuf,
    pub calendar: PathBuf,
    pub training: PathBuf,
    /// `None`: `<data>/inbox/capture`.
    pub capture: Option<PathBuf>,
    /// `None`: `<data>/inbox/id-card`.
    pub id_card: Option<PathBuf>,
    pub keep_capture_originals: bool,
}

/// The settings in force: the file's, the environment's overrides, and the
/// defaults for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The file they came from (`None`: no file, defaults).
    pub source: Option<PathBuf>,
    pub workstation: Workstation,
    pub backoffice: BackOfficeSetting,
    pub sync_interval: Duration,
    pub printer: Option<String>,
    pub paper: Option<crate::print::Layout>,
    pub idle_lock_minutes: Option<u32>,
    pub key_store: KeyStore,
    pub folders: Folders,
    /// The agency short name (机关代字) on document numbers.
    pub agency_short_name: String,
    pub case_numbers: NumberingRule,
    pub document_numbers: NumberingRule,
    pub progress: ProgressQuery,
}

/// One problem of the file: which key, on which line, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub line: Option<usize>,
    pub message_zh: String,
    pub message_en: String,
}

/// Why the configuration cannot be used: the file and all its problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:", self.path.display())?;
        for problem in &self.problems {
            write!(formatter, "\n  {}", problem.describe_en())?;
        }
        Ok(())
    }
}

impl Problem {
    fn new(key: &str, line: Option<usize>, zh: String, en: String) -> Self {
        Problem {
            key: key.to_owned(),
            line,
            message_zh: zh,
            message_en: en,
        }
    }

    fn describe_zh(&self) -> String {
        match self.line {
            Some(line) => format!("第 {line} 行 {}：{}", self.key, self.message_zh),
            None => format!("{}：{}", self.key, self.message_zh),
        }
    }

    fn describe_en(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}, {}: {}", self.key, self.message_en),
            None => format!("{}: {}", self.key, self.message_en),
        }
    }
}

impl ConfigError {
    /// The error the window shows: the file, and every problem.
    pub fn to_ui(&self) -> UiError {
        let zh: Vec<String> = self.problems.iter().map(Problem::describe_zh).collect();
        let en: Vec<String> = self.problems.iter().map(Problem::describe_en).collect();
        if self.path == Path::new(ENVIRONMENT_SOURCE) {
            return UiError {
                code: "config_invalid".into(),
                message_zh: format!(
                    "环境变量设置有误，工作站未打开案件库，请系统管理员改正后重启：{}",
                    zh.join("；")
                ),
                message_en: format!(
                    "Environment variables have problems, so the case store was not opened. Ask your administrator to correct them and restart: {}",
                    en.join("; ")
                ),
            };
        }
        UiError {
            code: "config_invalid".into(),
            message_zh: format!(
                "配置文件 {} 有误，工作站未打开案件库，请系统管理员改正后重启：{}",
                self.path.display(),
                zh.join("；")
            ),
            message_en: format!(
                "The configuration file {} has problems, so the case store was not opened. Ask your administrator to correct it and restart: {}",
                self.path.display(),
                en.join("; ")
            ),
        }
    }
}

/// The shipped data folders: next to the sources in a development build,
/// in the bundle's resources once installed.
#[derive(Debug, Clone)]
pub struct ShippedFolders {
    pub root: PathBuf,
}

impl ShippedFolders {
    /// The sources' `forms/` folder when it exists (a development build on
    /// its own machine), else `<resources>/forms` of the installed bundle.
    pub fn find(resource_dir: Option<PathBuf>) -> Self {
        let sources = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../forms"));
        if sources.join("catalog").is_dir() {
            return ShippedFolders { root: sources };
        }
        match resource_dir {
            Some(resources) => ShippedFolders {
                root: resources.join("forms"),
            },
            None => ShippedFolders { root: sources },
        }
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Which file is read: `ONEWINDOW_CONFIG`, else the app's own, else the
/// hall-wide one; `None` when none exists.
pub fn find_file(config_dir: &Path) -> Option<PathBuf> {
    if let Some(named) = variable(FILE_VARIABLE) {
        return Some(PathBuf::from(named));
    }
    [config_dir.join(FILE_NAME), PathBuf::from(SYSTEM_FILE)]
        .into_iter()
        .find(|path| path.is_file())
}

/// The back office when neither the file nor the environment names one: the
/// built-in demo in a development build (everything works at first start),
/// none in a release build (an installed workstation never pretends).
pub fn default_backoffice() -> BackOfficeSetting {
    if cfg!(debug_assertions) {
        BackOfficeSetting::Demo
    } else {
        BackOfficeSetting::None
    }
}

impl Settings {
    /// The defaults, without the environment's overrides.
    fn base(shipped: &ShippedFolders) -> Self {
        Settings {
            source: None,
            workstation: Workstation::sample(),
            backoffice: default_backoffice(),
            sync_interval: Duration::from_secs(3),
            printer: None,
            paper: None,
            idle_lock_minutes: None,
            key_store: KeyStore::System,
            folders: Folders {
                catalog: shipped.root.join("catalog"),
                standards: shipped.root.join("standards"),
                calendar: shipped.root.join("calendar"),
                training: shipped.root.join("training"),
                capture: None,
                id_card: None,
                keep_capture_originals: false,
            },
            agency_short_name: "示例政务".into(),
            case_numbers: NumberingRule::default_case_numbers(),
            document_numbers: NumberingRule::default_document_numbers(),
            progress: ProgressQuery {
                url: None,
                phone: "12345".into(),
            },
        }
    }

    /// The case store's numbering: this hall, this window, its rules.
    pub fn store_options(&self) -> offline_cache::StoreOptions {
        offline_cache::StoreOptions {
            hall_code: self.workstation.hall_code.clone(),
            window: self.workstation.window_number.clone(),
            agency: self.agency_short_name.clone(),
            case_numbers: self.case_numbers.clone(),
            document_numbers: self.document_numbers.clone(),
            ..offline_cache::StoreOptions::default()
        }
    }

    /// Defaults with the environment's overrides, no file (an override with
    /// a problem is left out here: [`Settings::load`] reports it).
    pub fn defaults(shipped: &ShippedFolders) -> Self {
        let mut settings = Self::base(shipped);
        let _reported_by_load = settings.apply_environment();
        settings
    }

    /// Reads and checks the file found for `config_dir` (see [`find_file`]),
    /// then the environment's overrides: every problem of either, or the
    /// settings.
    pub fn load(config_dir: &Path, shipped: &ShippedFolders) -> Result<Self, ConfigError> {
        let mut settings = match find_file(config_dir) {
            None => Self::base(shipped),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|error| ConfigError {
                    path: path.clone(),
                    problems: vec![Problem::new(
                        "(file)",
                        None,
                        format!("无法读取（{error}）"),
                        format!("cannot be read ({error})"),
                    )],
                })?;
                let mut settings = Self::parse(&text, shipped).map_err(|problems| ConfigError {
                    path: path.clone(),
                    problems,
                })?;
                settings.source = Some(path);
                settings
            }
        };
        let problems = settings.apply_environment();
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError {
                path: settings
                    .source
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(ENVIRONMENT_SOURCE)),
                problems,
            })
        }
    }

    /// Parses and checks a file's text; every problem found, or the settings.
    pub fn parse(text: &str, shipped: &ShippedFolders) -> Result<Self, Vec<Problem>> {
        let file: ConfigFile = toml::from_str(text).map_err(|error| {
            let line = error
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = error.message().trim().to_owned();
            vec![Problem::new(
                "(syntax)",
                line,
                format!("不是有效的配置（{message}）"),
                format!("not a valid configuration ({message})"),
            )]
        })?;
        let line_of = |section: &str, key: &str| line_of_key(text, section, key);
        let mut problems = Vec::new();
        let mut problem = |section: &str, key: &str, zh: String, en: String| {
            problems.push(Problem::new(
                &format!("{section}.{key}"),
                line_of(section, key),
                zh,
                en,
            ));
        };

        let mut settings = Settings::base(shipped);

        if let Some(workstation) = file.workstation {
            let fields = [
                ("hall_code", &workstation.hall_code),
                ("hall_name_zh", &workstation.hall_name_zh),
                ("hall_name_en", &workstation.hall_name_en),
                ("window_number", &workstation.window_number),
            ];
            for (key, value) in fields {
                if value.trim().is_empty() {
                    problem(
                        "workstation",
                        key,
                        "不能为空".into(),
                        "must not be empty".into(),
                    );
                }
            }
            let number = workstation.window_number.trim();
            if !number.is_empty()
                && (number.chars().count() > 8
                    || !number.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                problem(
                    "workstation",
                    "window_number",
                    format!("“{number}”不是窗口号：最多 8 个字母或数字"),
                    format!("“{number}” is not a window number: at most 8 letters or digits"),
                );
            }
            let hall = workstation.hall_code.trim();
            if !hall.is_empty()
                && (hall.chars().count() > 20 || !hall.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                problem(
                    "workstation",
                    "hall_code",
                    format!("“{hall}”不是大厅编码：最多 20 个字母或数字（它出现在每个办件编号中）"),
                    format!("“{hall}” is not a hall code: at most 20 letters or digits (it is part of every case number)"),
                );
            }
            // A real hall's documents carry its own 机关代字; without one the
            // hall's name stands in (never the sample's).
            settings.agency_short_name = workstation.hall_name_zh.trim().to_owned();
            if let Some(agency) = &workstation.agency_short_name {
                let agency = agency.trim();
                if agency.is_empty()
                    || agency.chars().count() > 20
                    || agency
                        .chars()
                        .any(|c| c.is_whitespace() || "{}〔〕".contains(c))
                {
                    problem(
                        "workstation",
                        "agency_short_name",
                        format!("“{agency}”不是机关代字：1 到 20 个字，不含空格、花括号或六角括号"),
                        format!("“{agency}” is not an agency short name: 1 to 20 characters, no spaces, braces or 〔〕"),
                    );
                } else {
                    settings.agency_short_name = agency.to_owned();
                }
            }
            settings.workstation = Workstation {
                hall_code: hall.to_owned(),
                hall_name_zh: workstation.hall_name_zh.trim().to_owned(),
                hall_name_en: workstation.hall_name_en.trim().to_owned(),
                window_number: number.to_owned(),
            };
        }

        for (key, value, target) in [
            (
                "case_numbers",
                file.numbering.case_numbers,
                &mut settings.case_numbers,
            ),
            (
                "document_numbers",
                file.numbering.document_numbers,
                &mut settings.document_numbers,
            ),
        ] {
            let Some(pattern) = value else { continue };
            match NumberingRule::new(pattern.trim()) {
                Ok(rule) => *target = rule,
                Err(offline_cache::CacheError::Refused {
                    message_zh,
                    message_en,
                    ..
                }) => problem("numbering", key, message_zh, message_en),
                Err(other) => problem("numbering", key, "编号规则无效".into(), other.to_string()),
            }
        }

        if let Some(url) = file.progress.url {
            let url = url.trim();
            let parsed = url::Url::parse(url);
            match parsed {
                Ok(parsed) if parsed.scheme() == "https" && url.contains("{case_number}") => {
                    settings.progress.url = Some(url.to_owned());
                }
                Ok(parsed) if parsed.scheme() != "https" => problem(
                    "progress",
                    "url",
                    format!("“{url}”须为 https 地址（回执二维码打开的进度查询页）"),
                    format!("“{url}” must be an https address (the progress page the receipt's QR code opens)"),
                ),
                Ok(_) => problem(
                    "progress",
                    "url",
                    "地址中须含 {case_number}，二维码才能打开这件办件的进度".into(),
                    "the address needs {case_number}, so the QR code opens this case's progress".into(),
                ),
                Err(error) => problem(
                    "progress",
                    "url",
                    format!("“{url}”不是有效地址（{error}）"),
                    format!("“{url}” is not a valid address ({error})"),
                ),
            }
        }
        if let Some(phone) = file.progress.phone {
            let phone = phone.trim();
            if phone.is_empty()
                || phone.len() > 20
                || !phone.chars().all(|c| c.is_ascii_digit() || c == '-')
            {
                problem(
                    "progress",
                    "phone",
                    format!("“{phone}”不是电话号码：最多 20 位数字或连字符"),
                    format!("“{phone}” is not a phone number: at most 20 digits or hyphens"),
                );
            } else {
                settings.progress.phone = phone.to_owned();
            }
        }

        let backoffice = file.backoffice;
        match (backoffice.connection.as_deref(), backoffice.url) {
            (None, None) => {}
            (Some("demo"), None) => settings.backoffice = BackOfficeSetting::Demo,
            (Some("none"), None) => settings.backoffice = BackOfficeSetting::None,
            (Some("url") | None, Some(url)) => match check_url(&url) {
                Ok(()) => settings.backoffice = BackOfficeSetting::Url(url),
                Err((zh, en)) => problem("backoffice", "url", zh, en),
            },
            (Some("url"), None) => problem(
                "backoffice",
                "url",
                "connection = \"url\" 时必须填写后台地址".into(),
                "connection = \"url\" needs the back offices' url".into(),
            ),
            (Some("demo" | "none"), Some(_)) => problem(
                "backoffice",
                "url",
                "只有 connection = \"url\" 时才能填写地址".into(),
                "a url is only allowed with connection = \"url\"".into(),
            ),
            (Some(other), _) => problem(
                "backoffice",
                "connection",
                format!("“{other}”无效，应为 \"url\"、\"demo\" 或 \"none\""),
                format!("“{other}” is not valid; use \"url\", \"demo\" or \"none\""),
            ),
        }
        if let Some(seconds) = backoffice.sync_interval_seconds {
            if (1..=3600).contains(&seconds) {
                settings.sync_interval = Duration::from_secs(u64::from(seconds));
            } else {
                problem(
                    "backoffice",
                    "sync_interval_seconds",
                    format!("{seconds} 超出范围：应为 1 到 3600 秒"),
                    format!("{seconds} is out of range: use 1 to 3600 seconds"),
                );
            }
        }

        if let Some(name) = file.printer.name {
            if name.trim().is_empty() {
                problem(
                    "printer",
                    "name",
                    "不能为空（不指定打印机就删去这一行）".into(),
                    "must not be empty (remove the line to name no printer)".into(),
                );
            } else {
                settings.printer = Some(name.trim().to_owned());
            }
        }
        settings.paper = file.printer.paper;

        if let Some(minutes) = file.lock.idle_minutes {
            if (1..=60).contains(&minutes) {
                settings.idle_lock_minutes = Some(minutes);
            } else {
                problem(
                    "lock",
                    "idle_minutes",
                    format!("{minutes} 超出范围：应为 1 到 60 分钟"),
                    format!("{minutes} is out of range: use 1 to 60 minutes"),
                );
            }
        }

        match (file.key_store.kind.as_deref(), file.key_store.file) {
            (None | Some("system"), None) => {}
            (Some("kernel-keyring"), None) => settings.key_store = KeyStore::KernelKeyring,
            (Some("kernel-keyring"), Some(_)) => problem(
                "key_store",
                "file",
                "只有 kind = \"file\" 时才能填写密钥文件".into(),
                "a key file is only allowed with kind = \"file\"".into(),
            ),
            (Some("file"), Some(path)) => {
                if path.is_absolute() {
                    settings.key_store = KeyStore::File(path);
                } else {
                    problem(
                        "key_store",
                        "file",
                        format!("“{}”不是绝对路径", path.display()),
                        format!("“{}” is not an absolute path", path.display()),
                    );
                }
            }
            (Some("file"), None) => problem(
                "key_store",
                "file",
                "kind = \"file\" 时必须填写密钥文件路径".into(),
                "kind = \"file\" needs the key file's path".into(),
            ),
            (None | Some("system"), Some(_)) => problem(
                "key_store",
                "file",
                "只有 kind = \"file\" 时才能填写密钥文件".into(),
                "a key file is only allowed with kind = \"file\"".into(),
            ),
            (Some(other), _) => problem(
                "key_store",
                "kind",
                format!("“{other}”无效，应为 \"system\"、\"kernel-keyring\" 或 \"file\""),
                format!("“{other}” is not valid; use \"system\", \"kernel-keyring\" or \"file\""),
            ),
        }

        let folders = file.folders;
        let mut read_folder = |key: &str, value: Option<PathBuf>, target: &mut PathBuf| {
            let Some(path) = value else { return };
            if !path.is_absolute() {
                problem(
                    "folders",
                    key,
                    format!("“{}”不是绝对路径", path.display()),
                    format!("“{}” is not an absolute path", path.display()),
                );
            } else if !path.is_dir() {
                problem(
                    "folders",
                    key,
                    format!("文件夹“{}”不存在", path.display()),
                    format!("the folder “{}” does not exist", path.display()),
                );
            } else {
                *target = path;
            }
        };
        read_folder("catalog", folders.catalog, &mut settings.folders.catalog);
        read_folder(
            "standards",
            folders.standards,
            &mut settings.folders.standards,
        );
        read_folder("calendar", folders.calendar, &mut settings.folders.calendar);
        read_folder("training", folders.training, &mut settings.folders.training);
        // The inbox folders are made when missing; they must be absolute.
        for (key, value, target) in [
            ("capture", folders.capture, &mut settings.folders.capture),
            ("id_card", folders.id_card, &mut settings.folders.id_card),
        ] {
            match value {
                Some(path) if !path.is_absolute() => problem(
                    "folders",
                    key,
                    format!("“{}”不是绝对路径", path.display()),
                    format!("“{}” is not an absolute path", path.display()),
                ),
                other => *target = other,
            }
        }
        settings.folders.keep_capture_originals = folders.keep_capture_originals.unwrap_or(false);

        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// The development and test set-up's environment variables override
    /// single settings; a value that cannot be used is a problem (named by
    /// its variable), never silently passed over.
    fn apply_environment(&mut self) -> Vec<Problem> {
        self.apply_overrides(variable)
    }

    /// [`Settings::apply_environment`] with the variables looked up by
    /// `variable` (tests pass their own).
    fn apply_overrides(&mut self, variable: impl Fn(&str) -> Option<String>) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut problem = |name: &str, zh: String, en: String| {
            problems.push(Problem::new(
                &format!("{name} ({ENVIRONMENT_SOURCE})"),
                None,
                zh,
                en,
            ));
        };
        if let Some(url) = variable("ONEWINDOW_BACKOFFICE_URL") {
            match check_url(&url) {
                Ok(()) => self.backoffice = BackOfficeSetting::Url(url),
                Err((zh, en)) => problem("ONEWINDOW_BACKOFFICE_URL", zh, en),
            }
        }
        if let Some(value) = variable("ONEWINDOW_SYNC_INTERVAL_MS") {
            match value.trim().parse::<u64>() {
                Ok(milliseconds) if (1..=3_600_000).contains(&milliseconds) => {
                    self.sync_interval = Duration::from_millis(milliseconds);
                }
                _ => problem(
                    "ONEWINDOW_SYNC_INTERVAL_MS",
                    format!("“{value}”无效：应为 1 到 3600000 之间的毫秒数"),
                    format!(
                        "“{value}” is not valid: use a number of milliseconds from 1 to 3600000"
                    ),
                ),
            }
        }
        if let Some(path) = variable("ONEWINDOW_KEY_FILE") {
            self.key_store = KeyStore::File(PathBuf::from(path));
        }
        let folders = &mut self.folders;
        for (name, target) in [
            ("ONEWINDOW_CATALOG_DIR", &mut folders.catalog),
            ("ONEWINDOW_STANDARDS_DIR", &mut folders.standards),
            ("ONEWINDOW_CALENDAR_DIR", &mut folders.calendar),
            ("ONEWINDOW_TRAINING_DIR", &mut folders.training),
        ] {
            if let Some(path) = variable(name) {
                *target = PathBuf::from(path);
            }
        }
        if let Some(path) = variable("ONEWINDOW_CAPTURE_DIR") {
            folders.capture = Some(PathBuf::from(path));
        }
        if let Some(path) = variable("ONEWINDOW_ID_CARD_DIR") {
            folders.id_card = Some(PathBuf::from(path));
        }
        if variable("ONEWINDOW_CAPTURE_KEEP_ORIGINALS").is_some() {
            folders.keep_capture_originals = true;
        }
        problems
    }
}

/// A back-office URL must be https, or http to this machine only (the
/// demo and test set-ups).
fn check_url(url: &str) -> Result<(), (String, String)> {
    let lower = url.trim().to_ascii_lowercase();
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    let host_follows = |prefix: &str| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
    };
    let https = lower.starts_with("https://") && lower.len() > "https://".len();
    if https || loopback.iter().any(|prefix| host_follows(prefix)) {
        Ok(())
    } else {
        Err((
            format!("“{url}”不可用：后台地址必须是 https（http 只允许本机 127.0.0.1）"),
            format!(
                "“{url}” cannot be used: a back-office address must be https (http only to this machine, 127.0.0.1)"
            ),
        ))
    }
}

/// The line of `key` inside `[section]`, for the problem's location.
fn line_of_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            current = name.trim().to_owned();
        } else if current == section
            && trimmed
                .split_once('=')
                .is_some_and(|(name, _)| name.trim() == key)
        {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> ShippedFolders {
        ShippedFolders::find(None)
    }

    #[test]
    fn environment_overrides_that_cannot_be_used_are_problems_named_by_variable() {
        let variables = std::collections::BTreeMap::from([
            ("ONEWINDOW_SYNC_INTERVAL_MS", "three seconds"),
            ("ONEWINDOW_BACKOFFICE_URL", "http://exchange.example.gov.cn"),
            ("ONEWINDOW_CATALOG_DIR", "/srv/catalog"),
        ]);
        let mut settings = Settings::base(&shipped());
        let problems =
            settings.apply_overrides(|name| variables.get(name).map(|value| value.to_string()));
        let keys: Vec<&str> = problems
            .iter()
            .map(|problem| problem.key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "ONEWINDOW_BACKOFFICE_URL (environment variable)",
                "ONEWINDOW_SYNC_INTERVAL_MS (environment variable)"
            ]
        );
        assert!(problems[1].message_en.contains("“three seconds”"));
        // The usable ones are still applied; the others leave the default.
        assert_eq!(settings.folders.catalog, PathBuf::from("/srv/catalog"));
        assert_eq!(settings.sync_interval, Duration::from_secs(3));
        assert!(!matches!(settings.backoffice, BackOfficeSetting::Url(_)));
        let shown = ConfigError {
            path: PathBuf::from(ENVIRONMENT_SOURCE),
            problems,
        }
        .to_ui();
        assert!(shown
            .message_en
            .starts_with("Environment variables have problems"));
        assert!(shown.message_zh.contains("ONEWINDOW_SYNC_INTERVAL_MS"));

        let good = std::collections::BTreeMap::from([
            ("ONEWINDOW_SYNC_INTERVAL_MS", "250"),
            ("ONEWINDOW_BACKOFFICE_URL", "http://127.0.0.1:9000"),
        ]);
        let mut settings = Settings::base(&shipped());
        let problems =
            settings.apply_overrides(|name| good.get(name).map(|value| value.to_string()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings.sync_interval, Duration::from_millis(250));
        assert!(
            matches!(settings.backoffice, BackOfficeSetting::Url(ref url) if url == "http://127.0.0.1:9000")
        );
    }

    #[test]
    fn the_documented_example_parses_to_what_it_says() {
        let folder = tempfile::tempdir().unwrap();
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/onewindow.example.toml"
        ))
        .unwrap()
        .replace("/srv/onewindow", &folder.path().display().to_string());
        for sub in ["catalog", "standards", "calendar", "training"] {
            std::fs::create_dir_all(folder.path().join(sub)).unwrap();
        }
        let settings = Settings::parse(&example, &shipped()).unwrap();
        assert_eq!(settings.workstation.window_number, "05");
        assert_eq!(
            settings.backoffice,
            BackOfficeSetting::Url("https://exchange.example.gov.cn/".into())
        );
        assert_eq!(settings.sync_interval, Duration::from_secs(5));
        assert_eq!(settings.printer.as_deref(), Some("HallWindow05"));
        assert_eq!(settings.paper, Some(crate::print::Layout::A4));
        assert_eq!(settings.idle_lock_minutes, Some(10));
        assert_eq!(settings.key_store, KeyStore::System);
        assert_eq!(settings.folders.catalog, folder.path().join("catalog"));
        assert_eq!(
            settings.folders.capture,
            Some(PathBuf::from("/var/spool/onewindow/capture"))
        );
        let store = settings.store_options();
        assert_eq!(
            (
                store.hall_code.as_str(),
                store.window.as_str(),
                store.agency.as_str()
            ),
            ("310104", "05", "徐汇政务")
        );
        assert_eq!(
            settings.progress.url_for("31010405202612040001").as_deref(),
            Some("https://zwfw.example.gov.cn/progress?case=31010405202612040001")
        );
    }

    #[test]
    fn numbering_and_progress_problems_are_reported_with_their_lines() {
        let text = "[workstation]\nhall_code = \"31 01\"\nhall_name_zh = \"徐汇\"\nhall_name_en = \"Xuhui\"\nwindow_number = \"05\"\nagency_short_name = \"徐汇 政务\"\n\n[numbering]\ncase_numbers = \"{hall}{yyyymmdd}{seq:4}\"\ndocument_numbers = \"{agency}{window}{kind}〔{yyyy}〕{sequence}号\"\n\n[progress]\nurl = \"http://zwfw.example.gov.cn/progress\"\nphone = \"call us\"\n";
        let problems = Settings::parse(text, &shipped()).unwrap_err();
        let found: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|problem| (problem.key.as_str(), problem.line))
            .collect();
        assert_eq!(
            found,
            vec![
                ("workstation.hall_code", Some(2)),
                ("workstation.agency_short_name", Some(6)),
                ("numbering.case_numbers", Some(9)),
                ("numbering.document_numbers", Some(10)),
                ("progress.url", Some(13)),
                ("progress.phone", Some(14)),
            ]
        );
        // Without the window, two windows of the hall would share numbers.
        assert!(problems[2].message_en.contains("{window}"), "{problems:?}");
        assert!(problems[2].message_zh.contains("窗口号"), "{problems:?}");
        assert!(
            problems[3].message_en.contains("{sequence}"),
            "{problems:?}"
        );
        assert!(problems[4].message_en.contains("https"), "{problems:?}");
        // A hall without its own 机关代字 uses its name, never the sample's.
        let named = Settings::parse(
            "[workstation]\nhall_code = \"310104\"\nhall_name_zh = \"徐汇区行政服务中心\"\nhall_name_en = \"Xuhui\"\nwindow_number = \"05\"\n",
            &shipped(),
        )
        .unwrap();
        assert_eq!(named.agency_short_name, "徐汇区行政服务中心");
        assert_eq!(named.progress.url, None);
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let settings = Settings::parse("", &shipped()).unwrap();
        assert_eq!(settings.workstation, Workstation::sample());
        assert_eq!(settings.backoffice, default_backoffice());
        assert!(settings.folders.catalog.ends_with("catalog"));
    }

    #[test]
    fn every_problem_is_reported_with_its_key_and_line() {
        let text = "[workstation]\nhall_code = \"310104\"\nhall_name_zh = \"徐汇\"\nhall_name_en = \"\"\nwindow_number = \"No. 5!\"\n\n[backoffice]\nurl = \"http://exchange.example.gov.cn\"\nsync_interval_seconds = 0\n\n[lock]\nidle_minutes = 90\n\n[key_store]\nkind = \"file\"\nfile = \"keys/store.key\"\n\n[folders]\ncatalog = \"/no/such/folder\"\n";
        let problems = Settings::parse(text, &shipped()).unwrap_err();
        let found: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|problem| (problem.key.as_str(), problem.line))
            .collect();
        assert_eq!(
            found,
            vec![
                ("workstation.hall_name_en", Some(4)),
                ("workstation.window_number", Some(5)),
                ("backoffice.url", Some(8)),
                ("backoffice.sync_interval_seconds", Some(9)),
                ("lock.idle_minutes", Some(12)),
                ("key_store.file", Some(16)),
                ("folders.catalog", Some(19)),
            ]
        );
        assert!(problems[2].message_en.contains("https"));
        assert!(problems[6].message_zh.contains("/no/such/folder"));
    }

    #[test]
    fn a_misspelt_key_or_broken_syntax_is_a_problem_with_its_line() {
        let problems =
            Settings::parse("[lock]\nidle_minute = 5\n", &shipped()).expect_err("unknown key");
        assert_eq!(problems[0].line, Some(2));
        assert!(
            problems[0].message_en.contains("idle_minute"),
            "{:?}",
            problems[0]
        );
        let problems =
            Settings::parse("[printer]\nname = \"A\n", &shipped()).expect_err("broken string");
        assert_eq!(problems[0].key, "(syntax)");
        assert_eq!(problems[0].line, Some(2));
        let problems = Settings::parse("[printer]\npaper = \"letter\"\n", &shipped())
            .expect_err("unknown paper");
        assert!(problems[0].message_en.contains("letter"));
    }

    #[test]
    fn the_back_office_choices_are_checked() {
        let parse = |text: &str| Settings::parse(text, &shipped());
        assert_eq!(
            parse("[backoffice]\nconnection = \"none\"\n")
                .unwrap()
                .backoffice,
            BackOfficeSetting::None
        );
        assert_eq!(
            parse("[backoffice]\nconnection = \"demo\"\n")
                .unwrap()
                .backoffice,
            BackOfficeSetting::Demo
        );
        assert_eq!(
            parse("[backoffice]\nurl = \"http://127.0.0.1:8080\"\n")
                .unwrap()
                .backoffice,
            BackOfficeSetting::Url("http://127.0.0.1:8080".into())
        );
        for bad in [
            "[backoffice]\nconnection = \"url\"\n",
            "[backoffice]\nconnection = \"demo\"\nurl = \"https://a\"\n",
            "[backoffice]\nconnection = \"cloud\"\n",
            "[backoffice]\nurl = \"http://127.0.0.1.evil.example\"\n",
            "[key_store]\nkind = \"vault\"\n",
            "[key_store]\nfile = \"/k\"\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_volatile_kernel_keyring_is_used_only_when_chosen() {
        let parse = |text: &str| Settings::parse(text, &shipped());
        // No setting: the Secret Service alone (no fallback to the kernel
        // keyring, which forgets the key at every reboot).
        assert_eq!(parse("").unwrap().key_store, KeyStore::System);
        assert_eq!(
            parse("[key_store]\nkind = \"system\"\n").unwrap().key_store,
            KeyStore::System
        );
        assert_eq!(
            parse("[key_store]\nkind = \"kernel-keyring\"\n")
                .unwrap()
                .key_store,
            KeyStore::KernelKeyring
        );
        let problems =
            parse("[key_store]\nkind = \"kernel-keyring\"\nfile = \"/k\"\n").unwrap_err();
        assert_eq!(problems[0].key, "key_store.file");
        let problems = parse("[key_store]\nkind = \"keyutils\"\n").unwrap_err();
        assert!(problems[0].message_en.contains("kernel-keyring"));
        // The app warns about it: the key source says so at every start.
        let options = crate::backoffice::ServiceOptions::from_settings(
            &parse("[key_store]\nkind = \"kernel-keyring\"\n").unwrap(),
        );
        assert!(matches!(
            options.key,
            offline_cache::KeySource::KernelKeyring { .. }
        ));
        assert_eq!(options.key.warning().unwrap().code, "key_store_volatile");
    }

    #[test]
    fn the_error_for_the_window_names_the_file_and_each_problem() {
        let error = ConfigError {
            path: PathBuf::from("/etc/onewindow/onewindow.toml"),
            problems: Settings::parse("[lock]\nidle_minutes = 0\n", &shipped()).unwrap_err(),
        };
        let ui = error.to_ui();
        assert_eq!(ui.code, "config_invalid");
        assert!(ui.message_zh.contains("/etc/onewindow/onewindow.toml"));
        assert!(ui.message_zh.contains("第 2 行 lock.idle_minutes"));
        assert!(ui.message_en.contains("line 2, lock.idle_minutes"));
    }
}
