//! `backoffice_sim`: a real back office to sync against, in tests and in the
//! demo. One HTTP server on 127.0.0.1 emulates three classified approval
//! systems, each with its own data standard (market registration: JSON
//! camelCase; social insurance: JSON snake_case; construction approval:
//! XML), and the provincial exchange platform in front of 16 more
//! department systems (one JSON standard); each system has its own bearer
//! token and its own receipt numbers, over one SQLite file of its own.
//!
//! Submissions carry an `Idempotency-Key`: the same key and body return the
//! same receipt and create nothing; the same key with another body is a 409.
//! Receipts move submitted → in_review → approved | refused |
//! supplement_requested → result_ready, one step per status poll along a
//! seeded path, or as an admin call sets them. Faults are set per system:
//! a share of 500s, 429 with Retry-After, slow answers, dropped connections,
//! and answers lost after the submission was committed.
//!
//! It never contacts anything; it only listens on loopback.

pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Faults injected into one system's answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Share of requests answered 500.
    pub server_error: f64,
    /// Share answered 429 with `Retry-After: retry_after_seconds`.
    pub rate_limited: f64,
    pub retry_after_seconds: u64,
    /// Added to every answer.
    pub delay_ms: u64,
    /// Share whose connection is dropped before anything happens.
    pub reset: f64,
    /// Share of submissions committed and then not answered.
    pub lost_answer: f64,
    /// Share of requests held `stall_ms` before they are handled as usual
    /// (longer than the client waits: a timeout on its side, while the
    /// submission may still be committed here).
    pub stall: f64,
    pub stall_ms: u64,
    /// Behave like a back office that de-duplicates on the case number: a
    /// new Idempotency-Key whose case number is already held gets a 409
    /// with the receipt (and key) of the submission that holds it.
    pub deduplicate_case_numbers: bool,
    /// Answer every request with this HTTP status (0: none), as a system
    /// does whose token expired (401), that moved (404) or refuses (403).
    pub answer_status: u16,
    /// Answer every request with a 307 to this address (empty: none), as a
    /// misconfigured proxy that sends the window to plain http does.
    pub redirect_to: String,
}

/// One emulated system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    MarketRegistration,
    SocialInsurance,
    ConstructionApproval,
    /// A department system reached through the provincial exchange
    /// platform (one JSON standard; the id is the catalogue's system id).
    Exchange(&'static str),
}

/// The systems behind the exchange platform: catalogue id, receipt prefix,
/// and the item-code prefix of the department whose items it takes.
pub const EXCHANGE_SYSTEMS: [(&str, &str, &str); 16] = [
    ("market-licensing", "YTH01", "market."),
    ("seal-management", "YTH02", "public-security."),
    ("residence-management", "YTH03", "public-security."),
    ("tax-service", "YTH04", "tax."),
    ("medical-insurance", "YTH05", "medical-insurance."),
    ("housing-fund", "YTH06", "housing-fund."),
    ("bank-appointment", "YTH07", "bank."),
    ("civil-affairs", "YTH08", "civil-affairs."),
    ("disabled-persons", "YTH09", "disabled-persons."),
    ("health-licensing", "YTH10", "health."),
    ("tobacco-licensing", "YTH11", "tobacco."),
    ("fire-inspection", "YTH12", "fire."),
    ("urban-management", "YTH13", "urban-management."),
    ("project-platform", "YTH14", "development-reform."),
    ("real-estate-registration", "YTH15", "real-estate."),
    ("utility-service", "YTH16", "utilities."),
];

impl System {
    /// Every emulated system: the three with standards of their own, then
    /// those behind the exchange platform.
    pub fn all() -> Vec<System> {
        [
            System::MarketRegistration,
            System::SocialInsurance,
            System::ConstructionApproval,
        ]
        .into_iter()
        .chain(
            EXCHANGE_SYSTEMS
                .iter()
                .map(|(id, _, _)| System::Exchange(id)),
        )
        .collect()
    }

    /// The catalogue's id of the system.
    pub fn id(self) -> &'static str {
        match self {
            System::MarketRegistration => "market-registration",
            System::SocialInsurance => "social-insurance",
            System::ConstructionApproval => "construction-approval",
            System::Exchange(id) => id,
        }
    }

    fn receipt_prefix(self) -> &'static str {
        match self {
            System::MarketRegistration => "SCJG",
            System::SocialInsurance => "SB",
            System::ConstructionApproval => "GCJS",
            System::Exchange(id) => EXCHANGE_SYSTEMS
                .iter()
                .find(|(system, _, _)| *system == id)
                .map_or("YTH", |(_, prefix, _)| prefix),
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        System::all().into_iter().find(|system| system.id() == id)
    }
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: PathBuf,
    pub seed: u64,
    /// Bearer token per system.
    pub tokens: BTreeMap<String, String>,
    pub faults: BTreeMap<String, Faults>,
    /// 0 for any free port.
    pub port: u16,
}

impl Config {
    /// Demo settings: fixed tokens (`demo-token-<system>`), no faults.
    pub fn demo(database: &Path) -> Self {
        Config {
            database: database.to_path_buf(),
            seed: 7,
            tokens: System::all()
                .iter()
                .map(|system| {
                    (
                        system.id().to_owned(),
                        format!("demo-token-{}", system.id()),
                    )
                })
                .collect(),
            faults: BTreeMap::new(),
            port: 0,
        }
    }
}

struct Shared {
    database: Mutex<Connection>,
    tokens: BTreeMap<String, String>,
    faults: Mutex<BTreeMap<String, Faults>>,
    random: Mutex<rand::rngs::StdRng>,
    seed: u64,
    requests: Mutex<HashMap<String, u64>>,
    /// The address (path and query) of every request but the admin ones,
    /// so tests can see that no personal number travels in one.
    addresses: Mutex<Vec<String>>,
}

/// A running simulator.
pub struct Simulator {
    pub address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One filled intake (item id, field values) for each item the sample data
/// standards cover, valid for its system: the contract tests and the sync
/// tests send these.
pub fn sample_intakes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "market.company-establishment",
            json!({
                "entity_name": "武汉示例科技有限公司", "company_type": "1130", "registered_capital": "1000000.00", "industry": "I",
                "business_scope": "软件开发", "premises_address": { "region_code": "420102", "detail": "沿江大道100号" },
                "operating_term_years": 0, "legal_representative_name": "张三", "legal_representative_id": "34052419800101001X",
                "shareholders": [{ "name": "张三", "id_number": "34052419800101001X", "subscribed_amount": "1000000.00", "contribution_form": "1", "contribution_date": "2030-12-31" }]
            }),
        ),
        (
            "market.business-licence-change",
            json!({ "entity_name": "福州示例科技有限公司", "credit_code": "91350100M000100Y43", "change_items": "住所变更", "resolution_date": "2026-11-20" }),
        ),
        (
            "human-resources.flexible-employment-enrolment",
            json!({
                "applicant_name": "张三", "applicant_id_number": "34052419800101001X", "sex": "1", "ethnicity": "01", "applicant_phone": "13912345678",
                "household_region": { "region_code": "420102", "detail": "胜利街1号" }, "residence_address": { "region_code": "420106", "detail": "中山路2号" },
                "bank_name": "示例银行", "bank_account": "6222000011112222", "start_date": "2026-12-01", "contribution_grade": "60"
            }),
        ),
        (
            "human-resources.employer-social-insurance",
            json!({
                "entity_name": "福州示例科技有限公司", "credit_code": "91350100M000100Y43", "employee_count": 1,
                "employees": [{ "name": "王五", "id_number": "440304200002291236", "monthly_wage": "6500.00" }]
            }),
        ),
        (
            "housing-construction.construction-permit",
            json!({
                "entity_name": "北京示例建设有限公司", "credit_code": "91110108MA01ABCD5T", "contract_value": "3500000.50", "floor_area_sqm": 1200.5,
                "contractor_credit_code": "91350100M000100Y43", "works_planning_permit": "建字第420102202600012号"
            }),
        ),
        (
            "housing-construction.completion-filing",
            json!({ "entity_name": "北京示例建设有限公司", "credit_code": "91110108MA01ABCD5T", "acceptance_date": "2026-11-20", "is_housing": true }),
        ),
    ]
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS submissions (
    receipt TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    body TEXT NOT NULL,
    case_number TEXT,
    state TEXT NOT NULL,
    outcome TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (system, idempotency_key)
);
CREATE TABLE IF NOT EXISTS sequences (system TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS supplements (receipt TEXT PRIMARY KEY, taken_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (id_number TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (credit_code TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS licences (number TEXT NOT NULL, kind TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (number, kind));
";

fn seed_registry(connection: &Connection) -> rusqlite::Result<()> {
    let persons = [
        (
            "34052419800101001X",
            "张三",
            "1",
            "1980-01-01",
            "安徽省宣城市郎溪县示例路1号",
        ),
        (
            "11010519491231002X",
            "李四",
            "2",
            "1949-12-31",
            "北京市朝阳区示例街2号",
        ),
        (
            "440304200002291236",
            "王五",
            "1",
            "2000-02-29",
            "广东省深圳市福田区示例大道3号",
        ),
        (
            "110105194003150022",
            "钱七",
            "2",
            "1940-03-15",
            "北京市朝阳区示例街7号",
        ),
    ];
    for (id, name, sex, birth, address) in persons {
        connection.execute(
            "INSERT OR IGNORE INTO persons (id_number, record) VALUES (?1, ?2)",
            params![id, json!({ "name": name, "idNumber": id, "sex": sex, "birthDate": birth, "address": address, "source": "人口信息库（模拟）" }).to_string()],
        )?;
    }
    let entities = [
        ("91350100M000100Y43", "福州示例科技有限公司", "张三", "1130"),
        ("91110108MA01ABCD5T", "北京示例建设有限公司", "李四", "1190"),
    ];
    for (code, name, representative, kind) in entities {
        connection.execute(
            "INSERT OR IGNORE INTO entities (credit_code, record) VALUES (?1, ?2)",
            params![code, json!({ "name": name, "creditCode": code, "legalRepresentative": representative, "entityType": kind, "source": "市场主体库（模拟）" }).to_string()],
        )?;
    }
    connection.execute(
        "INSERT OR IGNORE INTO licences (number, kind, record) VALUES (?1, 'business_licence', ?2)",
        params!["91350100M000100Y43", json!({ "holder": "福州示例科技有限公司", "kind": "business_licence", "validUntil": "长期" }).to_string()],
    )?;
    Ok(())
}

impl Simulator {
    /// Starts the simulator on 127.0.0.1.
    pub async fn start(config: Config) -> std::io::Result<Simulator> {
        quiet_deliberate_drops();
        let connection = Connection::open(&config.database).map_err(std::io::Error::other)?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(std::io::Error::other)?;
        connection
            .execute_batch(SCHEMA)
            .map_err(std::io::Error::other)?;
        seed_registry(&connection).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            database: Mutex::new(connection),
            tokens: config.tokens,
            faults: Mutex::new(config.faults),
            random: Mutex::new(rand::rngs::StdRng::seed_from_u64(config.seed)),
            seed: config.seed,
            requests: Mutex::new(HashMap::new()),
            addresses: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route(
                "/market/api/v1/applications",
                post(|state, headers, body| {
                    submit(state, headers, body, System::MarketRegistration)
                }),
            )
            .route(
                "/market/api/v1/applications/status",
                post(|state, headers, body| {
                    status(state, headers, body, System::MarketRegistration)
                }),
            )
            .route(
                "/market/api/v1/applications/withdrawals",
                post(|state, headers, body| {
                    withdraw(state, headers, body, System::MarketRegistration)
                }),
            )
            .route(
                "/market/api/v1/applications/supplements",
                post(|state, headers, body| {
                    supplement(state, headers, body, System::MarketRegistration)
                }),
            )
            .route(
                "/market/api/v1/persons/search",
                post(|state, headers, body| {
                    person_by_body(state, headers, body, System::MarketRegistration)
                }),
            )
            .route(
                "/market/api/v1/persons/{id}",
                get(|state, headers, id| person(state, headers, id, System::MarketRegistration)),
            )
            .route(
                "/market/api/v1/entities/{code}",
                get(|state, headers, code| {
                    entity(state, headers, code, System::MarketRegistration)
                }),
            )
            .route(
                "/si/api/submissions",
                post(|state, headers, body| submit(state, headers, body, System::SocialInsurance)),
            )
            .route(
                "/si/api/submissions/status",
                post(|state, headers, body| status(state, headers, body, System::SocialInsurance)),
            )
            .route(
                "/si/api/submissions/withdrawals",
                post(|state, headers, body| {
                    withdraw(state, headers, body, System::SocialInsurance)
                }),
            )
            .route(
                "/si/api/submissions/supplements",
                post(|state, headers, body| {
                    supplement(state, headers, body, System::SocialInsurance)
                }),
            )
            .route(
                "/si/api/persons/search",
                post(|state, headers, body| {
                    person_by_body(state, headers, body, System::SocialInsurance)
                }),
            )
            .route(
                "/si/api/persons/{id}",
                get(|state, headers, id| person(state, headers, id, System::SocialInsurance)),
            )
            .route(
                "/gcjs/services/shenqing",
                post(|state, headers, body| {
                    submit(state, headers, body, System::ConstructionApproval)
                }),
            )
            .route(
                "/gcjs/services/zhuangtai",
                post(|state, headers, body| {
                    status(state, headers, body, System::ConstructionApproval)
                }),
            )
            .route(
                "/gcjs/services/chehui",
                post(|state, headers, body| {
                    withdraw(state, headers, body, System::ConstructionApproval)
                }),
            )
            .route(
                "/gcjs/services/buzheng",
                post(|state, headers, body| {
                    supplement(state, headers, body, System::ConstructionApproval)
                }),
            )
            .route("/gcjs/services/zhengzhao/{number}", get(licence))
            .route(
                "/exchange/api/v1/{system}/cases",
                post(
                    |state, UrlPath(system): UrlPath<String>, headers, body| async move {
                        match exchange_system(&system) {
                            Some(system) => submit(state, headers, body, system).await,
                            None => unknown_system(&system),
                        }
                    },
                ),
            )
            .route(
                "/exchange/api/v1/{system}/cases/status",
                post(
                    |state, UrlPath(system): UrlPath<String>, headers, body| async move {
                        match exchange_system(&system) {
                            Some(system) => status(state, headers, body, system).await,
                            None => unknown_system(&system),
                        }
                    },
                ),
            )
            .route(
                "/exchange/api/v1/{system}/cases/withdrawals",
                post(
                    |state, UrlPath(system): UrlPath<String>, headers, body| async move {
                        match exchange_system(&system) {
                            Some(system) => withdraw(state, headers, body, system).await,
                            None => unknown_system(&system),
                        }
                    },
                ),
            )
            .route(
                "/exchange/api/v1/{system}/cases/supplements",
                post(
                    |state, UrlPath(system): UrlPath<String>, headers, body| async move {
                        match exchange_system(&system) {
                            Some(system) => supplement(state, headers, body, system).await,
                            None => unknown_system(&system),
                        }
                    },
                ),
            )
            .route("/exchange/api/v1/appointments", get(appointments))
            .route("/admin/faults/{system}", post(set_faults))
            .route("/admin/receipts/{receipt}/state", post(set_state))
            .route("/admin/submissions", get(list_submissions))
            .route("/admin/requests", get(request_counts))
            .route("/admin/addresses", get(request_addresses))
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                count_every_request,
            ))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let address = listener.local_addr()?;
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await;
        });
        Ok(Simulator {
            address,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops listening and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

type SharedState = Arc<Shared>;

fn exchange_system(id: &str) -> Option<System> {
    System::from_id(id).filter(|system| matches!(system, System::Exchange(_)))
}

fn unknown_system(id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "system",
        &format!("the exchange platform has no system `{id}`"),
    )
}

fn problem(status: StatusCode, field: &str, message: &str) -> Response {
    (status, Json(json!({ "field": field, "message": message }))).into_response()
}

fn authorised(shared: &Shared, headers: &HeaderMap, system: System) -> bool {
    let expected = shared
        .tokens
        .get(system.id())
        .map(|token| format!("Bearer {token}"));
    let given = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    expected.is_some() && given == expected.as_deref()
}

/// What the fault dice decided for one request.
enum Fault {
    None,
    ServerError,
    RateLimited(u64),
    Reset,
    LoseAnswer,
    Status(u16),
    Redirect(String),
}

async fn roll(shared: &Shared, system: System, submission: bool) -> Fault {
    *shared
        .requests
        .lock()
        .expect("lock")
        .entry(system.id().to_owned())
        .or_default() += 1;
    let faults = shared
        .faults
        .lock()
        .expect("lock")
        .get(system.id())
        .cloned()
        .unwrap_or_default();
    if faults.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
    }
    let stall: f64 = shared.random.lock().expect("lock").random();
    if stall < faults.stall {
        tokio::time::sleep(Duration::from_millis(faults.stall_ms)).await;
    }
    if faults.answer_status != 0 {
        return Fault::Status(faults.answer_status);
    }
    if !faults.redirect_to.is_empty() {
        return Fault::Redirect(faults.redirect_to.clone());
    }
    let dice: f64 = shared.random.lock().expect("lock").random();
    let mut edge = faults.reset;
    if dice < edge {
        return Fault::Reset;
    }
    edge += faults.server_error;
    if dice < edge {
        return Fault::ServerError;
    }
    edge += faults.rate_limited;
    if dice < edge {
        return Fault::RateLimited(faults.retry_after_seconds.max(1));
    }
    edge += faults.lost_answer;
    if submission && dice < edge {
        return Fault::LoseAnswer;
    }
    Fault::None
}

const DROPPED: &str = "backoffice-sim: connection dropped on purpose";

/// The answer a fault gives instead of the real one, if any (a reset ends
/// the connection and never returns).
fn fault_answer(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Reset => drop_connection(),
        Fault::ServerError => Some(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            "simulated server error",
        )),
        Fault::RateLimited(seconds) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", seconds.to_string())],
                "slow down",
            )
                .into_response(),
        ),
        Fault::Status(code) => Some(problem(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "",
            "simulated answer",
        )),
        Fault::Redirect(to) => Some(
            (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", to.clone())],
                "moved",
            )
                .into_response(),
        ),
        Fault::None | Fault::LoseAnswer => None,
    }
}

/// Ends the connection without an answer (the client sees a reset): the
/// handler's task ends, and hyper closes the connection.
fn drop_connection() -> ! {
    std::panic::panic_any(DROPPED)
}

/// Keeps the deliberate drops out of the output; every other panic is
/// reported as before.
fn quiet_deliberate_drops() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&DROPPED) {
                previous(info);
            }
        }));
    });
}

async fn submit(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
    system: System,
) -> Response {
    if !authorised(&shared, &headers, system) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token is required",
        );
    }
    let fault = roll(&shared, system, true).await;
    if let Some(answer) = fault_answer(&fault) {
        return answer;
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.trim().is_empty())
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Idempotency-Key",
            "the header is required",
        );
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed = match system {
        System::ConstructionApproval => validate::xml_tree(&text).and_then(|(root, tree)| {
            if root == "ShenQing" {
                Ok(tree)
            } else {
                Err(validate::Refusal {
                    field: root,
                    message: "the root element must be ShenQing".into(),
                })
            }
        }),
        _ => serde_json::from_str::<Value>(&text).map_err(|error| validate::Refusal {
            field: String::new(),
            message: format!("not JSON: {error}"),
        }),
    };
    let tree = match parsed {
        Ok(tree) => tree,
        Err(refusal) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                &refusal.field,
                &refusal.message,
            )
        }
    };
    let checked = match system {
        System::MarketRegistration => validate::market(&tree),
        System::SocialInsurance => validate::social(&tree),
        System::ConstructionApproval => validate::construction(&tree),
        System::Exchange(id) => validate::exchange(id, &tree),
    };
    if let Err(refusal) = checked {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &refusal.field,
            &refusal.message,
        );
    }
    let case_number = ["caseNo", "business_no", "BanJianBianHao", "projid"]
        .iter()
        .find_map(|key| tree.get(key).and_then(Value::as_str))
        .map(str::to_owned);
    let body_hash = hex::encode(Sha256::digest(text.as_bytes()));
    let deduplicate = shared
        .faults
        .lock()
        .expect("lock")
        .get(system.id())
        .is_some_and(|faults| faults.deduplicate_case_numbers);
    let result = {
        let mut connection = shared.database.lock().expect("lock");
        record(
            &mut connection,
            system,
            key,
            &body_hash,
            &text,
            case_number.as_deref(),
            deduplicate,
        )
    };
    match result {
        Ok(Recorded::New(receipt)) => {
            if matches!(fault, Fault::LoseAnswer) {
                drop_connection();
            }
            (StatusCode::CREATED, Json(json!({ "receipt": receipt, "state": "submitted" }))).into_response()
        }
        Ok(Recorded::Again(receipt, state)) => (StatusCode::OK, Json(json!({ "receipt": receipt, "state": state, "duplicate": true }))).into_response(),
        Ok(Recorded::Conflict(receipt)) => (StatusCode::CONFLICT, Json(json!({ "receipt": receipt, "idempotencyKey": key, "message": "this Idempotency-Key was used with another body" }))).into_response(),
        Ok(Recorded::SameCaseNumber { receipt, key: held_by }) => (StatusCode::CONFLICT, Json(json!({ "receipt": receipt, "idempotencyKey": held_by, "caseNumber": case_number, "message": "a submission with this case number is already held" }))).into_response(),
        Err(error) => problem(StatusCode::INTERNAL_SERVER_ERROR, "", &error.to_string()),
    }
}

/// A follow-up's request (withdrawal, supplement) once its token and the
/// system's faults let it through; else the answer to give.
async fn follow_up_request(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    system: System,
) -> Result<Value, Response> {
    if !authorised(shared, headers, system) {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token is required",
        ));
    }
    if let Some(answer) = fault_answer(&roll(shared, system, false).await) {
        return Err(answer);
    }
    serde_json::from_slice::<Value>(body)
        .map_err(|_| problem(StatusCode::UNPROCESSABLE_ENTITY, "", "not JSON"))
}

/// The receipts a follow-up names (`receipts`: a list of strings).
fn receipts_named(request: &Value) -> Vec<String> {
    request["receipts"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Withdraws submissions (a terminated case): named by their receipts, or,
/// when the window never heard its answer, by the submission's own
/// Idempotency-Key (`submissionKey`; a bundle's parts are `key/N`). A
/// submission never received is reported as `withdrawn: 0`, not an error:
/// there is nothing left to withdraw.
async fn withdraw(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
    system: System,
) -> Response {
    let request = match follow_up_request(&shared, &headers, &body, system).await {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let receipts = receipts_named(&request);
    let key = request["submissionKey"].as_str().unwrap_or("").to_owned();
    if receipts.is_empty() && key.is_empty() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "receipts",
            "name the receipts or the submissionKey to withdraw",
        );
    }
    let connection = shared.database.lock().expect("lock");
    let mut withdrawn = 0;
    for receipt in &receipts {
        withdrawn += connection
            .execute(
                "UPDATE submissions SET state = 'withdrawn' WHERE system = ?1 AND receipt = ?2",
                params![system.id(), receipt],
            )
            .unwrap_or(0);
    }
    if !key.is_empty() {
        withdrawn += connection
            .execute(
                "UPDATE submissions SET state = 'withdrawn' WHERE system = ?1 AND state != 'withdrawn' AND (idempotency_key = ?2 OR idempotency_key LIKE ?2 || '/%')",
                params![system.id(), key],
            )
            .unwrap_or(0);
    }
    (StatusCode::OK, Json(json!({ "withdrawn": withdrawn }))).into_response()
}

/// Takes the materials a reviewer asked for: the receipts named go from
/// `supplement_requested` back to `in_review`. A receipt not waiting for
/// materials is a 409 (nothing was asked), an unknown one a 404.
async fn supplement(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
    system: System,
) -> Response {
    let request = match follow_up_request(&shared, &headers, &body, system).await {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let receipts = receipts_named(&request);
    if receipts.is_empty() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "receipts",
            "name the receipts",
        );
    }
    let connection = shared.database.lock().expect("lock");
    for receipt in &receipts {
        let state: Option<String> = connection
            .query_row(
                "SELECT state FROM submissions WHERE system = ?1 AND receipt = ?2",
                params![system.id(), receipt],
                |row| row.get(0),
            )
            .optional()
            .unwrap_or(None);
        match state.as_deref() {
            None => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "receipts",
                    "no such receipt",
                )
            }
            Some("supplement_requested" | "in_review") => {}
            Some(_) => {
                return problem(
                    StatusCode::CONFLICT,
                    "receipts",
                    "no materials were asked for this receipt",
                )
            }
        }
    }
    for receipt in &receipts {
        let _ = connection.execute(
            "UPDATE submissions SET state = 'in_review' WHERE system = ?1 AND receipt = ?2 AND state = 'supplement_requested'",
            params![system.id(), receipt],
        );
        let _ = connection.execute(
            "INSERT OR IGNORE INTO supplements (receipt, taken_at) VALUES (?1, ?2)",
            params![receipt, chrono::Local::now().to_rfc3339()],
        );
    }
    (StatusCode::OK, Json(json!({ "taken": receipts.len() }))).into_response()
}

enum Recorded {
    New(String),
    Again(String, String),
    Conflict(String),
    /// Another submission (its receipt and key) holds this case number.
    SameCaseNumber {
        receipt: String,
        key: String,
    },
}

fn record(
    connection: &mut Connection,
    system: System,
    key: &str,
    body_hash: &str,
    body: &str,
    case_number: Option<&str>,
    deduplicate_case_numbers: bool,
) -> rusqlite::Result<Recorded> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let existing: Option<(String, String, String)> = transaction
        .query_row("SELECT receipt, body_sha256, state FROM submissions WHERE system = ?1 AND idempotency_key = ?2", params![system.id(), key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    if let Some((receipt, hash, state)) = existing {
        return Ok(if hash == body_hash {
            Recorded::Again(receipt, state)
        } else {
            Recorded::Conflict(receipt)
        });
    }
    if let (true, Some(number)) = (deduplicate_case_numbers, case_number) {
        let held: Option<(String, String)> = transaction
            .query_row("SELECT receipt, idempotency_key FROM submissions WHERE system = ?1 AND case_number = ?2", params![system.id(), number], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((receipt, key)) = held {
            return Ok(Recorded::SameCaseNumber { receipt, key });
        }
    }
    let next: i64 = transaction
        .query_row("INSERT INTO sequences (system, last) VALUES (?1, 1) ON CONFLICT (system) DO UPDATE SET last = last + 1 RETURNING last", params![system.id()], |row| row.get(0))?;
    let receipt = format!(
        "{}{}{next:07}",
        system.receipt_prefix(),
        chrono::Local::now().format("%Y%m%d")
    );
    transaction.execute(
        "INSERT INTO submissions (receipt, system, idempotency_key, body_sha256, body, case_number, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'submitted', ?7)",
        params![receipt, system.id(), key, body_hash, body, case_number, chrono::Local::now().to_rfc3339()],
    )?;
    transaction.commit()?;
    Ok(Recorded::New(receipt))
}

/// The next state of a receipt on a status poll, along a path fixed by the
/// seed; materials are asked for once (a supplemented receipt is decided).
fn next_state(seed: u64, receipt: &str, state: &str, supplemented: bool) -> Option<&'static str> {
    let digest = Sha256::digest(format!("{seed}:{receipt}").as_bytes());
    let dice = digest[0] % 10;
    match state {
        "submitted" => Some("in_review"),
        "in_review" => Some(match dice {
            0 => "refused",
            1 if !supplemented => "supplement_requested",
            _ => "approved",
        }),
        "approved" | "refused" => Some("result_ready"),
        _ => None,
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    receipts: Vec<String>,
}

async fn status(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
    system: System,
) -> Response {
    if !authorised(&shared, &headers, system) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token is required",
        );
    }
    if let Some(answer) = fault_answer(&roll(&shared, system, false).await) {
        return answer;
    }
    let Ok(query) = serde_json::from_slice::<StatusQuery>(&body) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "receipts",
            "send {\"receipts\": [...]}",
        );
    };
    let connection = shared.database.lock().expect("lock");
    let mut states = BTreeMap::new();
    // The decision (approved or refused) stays visible after the result is
    // ready, so a client that polls seldom still learns it.
    let mut outcomes = BTreeMap::new();
    for receipt in query.receipts {
        let current: Option<(String, Option<String>)> = connection
            .query_row(
                "SELECT state, outcome FROM submissions WHERE receipt = ?1 AND system = ?2",
                params![receipt, system.id()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .unwrap_or(None);
        let Some((current, mut outcome)) = current else {
            states.insert(receipt, Value::Null);
            continue;
        };
        let supplemented = connection
            .query_row(
                "SELECT 1 FROM supplements WHERE receipt = ?1",
                params![receipt],
                |_| Ok(()),
            )
            .optional()
            .unwrap_or(None)
            .is_some();
        let shown = match next_state(shared.seed, &receipt, &current, supplemented) {
            Some(next) => {
                if matches!(next, "approved" | "refused") {
                    outcome = Some(next.to_owned());
                }
                let _ = connection.execute(
                    "UPDATE submissions SET state = ?2, outcome = ?3 WHERE receipt = ?1",
                    params![receipt, next, outcome],
                );
                next.to_owned()
            }
            None => current,
        };
        states.insert(receipt.clone(), Value::from(shown));
        outcomes.insert(receipt, outcome.map_or(Value::Null, Value::from));
    }
    Json(json!({ "states": states, "outcomes": outcomes })).into_response()
}

async fn person(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    system: System,
) -> Response {
    lookup(
        &shared,
        &headers,
        system,
        "SELECT record FROM persons WHERE id_number = ?1",
        &id,
    )
    .await
}

/// A person look-up with the ID number in the body (`{"idNumber": …}`).
async fn person_by_body(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
    system: System,
) -> Response {
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|request| request["idNumber"].as_str().map(str::to_owned));
    let Some(id) = id else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idNumber",
            "the ID number is required",
        );
    };
    lookup(
        &shared,
        &headers,
        system,
        "SELECT record FROM persons WHERE id_number = ?1",
        &id,
    )
    .await
}

async fn entity(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    UrlPath(code): UrlPath<String>,
    system: System,
) -> Response {
    lookup(
        &shared,
        &headers,
        system,
        "SELECT record FROM entities WHERE credit_code = ?1",
        &code,
    )
    .await
}

async fn lookup(
    shared: &Shared,
    headers: &HeaderMap,
    system: System,
    sql: &str,
    key: &str,
) -> Response {
    if !authorised(shared, headers, system) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token is required",
        );
    }
    let record: Option<String> = shared
        .database
        .lock()
        .expect("lock")
        .query_row(sql, params![key], |row| row.get(0))
        .optional()
        .unwrap_or(None);
    match record {
        Some(record) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            record,
        )
            .into_response(),
        None => problem(StatusCode::NOT_FOUND, "id", "no record"),
    }
}

#[derive(Deserialize)]
struct AppointmentQuery {
    hall: String,
    day: String,
}

/// The booking platform's list for a hall and a day: four bookings of the
/// registry's people for items the window takes, the same for every day
/// (numbered by the day), so a demo always has someone to check in.
async fn appointments(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<AppointmentQuery>,
) -> Response {
    *shared
        .requests
        .lock()
        .expect("lock")
        .entry("appointments".to_owned())
        .or_insert(0) += 1;
    let allowed = System::all()
        .into_iter()
        .filter(|system| matches!(system, System::Exchange(_)))
        .any(|system| authorised(&shared, &headers, system));
    if !allowed {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token of the exchange platform is required",
        );
    }
    let Ok(day) = chrono::NaiveDate::parse_from_str(&query.day, "%Y-%m-%d") else {
        return problem(StatusCode::BAD_REQUEST, "day", "the day is YYYY-MM-DD");
    };
    let bookings = [
        (
            "09:00-09:30",
            "420102-000131127004-MKT01",
            "张三",
            "34052419800101001X",
            "13800000001",
        ),
        (
            "10:00-10:30",
            "420102-000220011000-HR03",
            "钱七",
            "110105194003150022",
            "13800000002",
        ),
        (
            "14:00-14:30",
            "420102-000172030000-PS02",
            "王五",
            "440304200002291236",
            "13800000003",
        ),
        (
            "15:30-16:00",
            "420102-000223010000-CA01",
            "李四",
            "11010519491231002X",
            "13800000004",
        ),
    ];
    let list: Vec<Value> = bookings
        .iter()
        .enumerate()
        .map(|(index, (slot, code, name, id, phone))| {
            json!({
                "bookingNumber": format!("YY{}{:03}", day.format("%Y%m%d"), index + 1),
                "hall": query.hall,
                "day": day.to_string(),
                "slot": slot,
                "implementationCode": code,
                "name": name,
                "idNumber": id,
                "phone": phone,
            })
        })
        .collect();
    Json(json!({ "appointments": list, "source": "网上预约平台（模拟）" })).into_response()
}

#[derive(Deserialize)]
struct LicenceQuery {
    kind: String,
}

async fn licence(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
    query: axum::extract::Query<LicenceQuery>,
) -> Response {
    if !authorised(&shared, &headers, System::ConstructionApproval) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Authorization",
            "a valid bearer token is required",
        );
    }
    let record: Option<String> = shared
        .database
        .lock()
        .expect("lock")
        .query_row(
            "SELECT record FROM licences WHERE number = ?1 AND kind = ?2",
            params![number, query.kind],
            |row| row.get(0),
        )
        .optional()
        .unwrap_or(None);
    match record {
        Some(record) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            record,
        )
            .into_response(),
        None => problem(StatusCode::NOT_FOUND, "number", "no such licence"),
    }
}

async fn set_faults(
    State(shared): State<SharedState>,
    UrlPath(system): UrlPath<String>,
    Json(faults): Json<Faults>,
) -> Response {
    if System::from_id(&system).is_none() {
        return problem(StatusCode::NOT_FOUND, "system", "no such system");
    }
    shared.faults.lock().expect("lock").insert(system, faults);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct NewState {
    state: String,
}

async fn set_state(
    State(shared): State<SharedState>,
    UrlPath(receipt): UrlPath<String>,
    Json(new): Json<NewState>,
) -> Response {
    const STATES: [&str; 6] = [
        "submitted",
        "in_review",
        "approved",
        "refused",
        "supplement_requested",
        "result_ready",
    ];
    if !STATES.contains(&new.state.as_str()) {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "state", "unknown state");
    }
    let changed = shared
        .database
        .lock()
        .expect("lock")
        .execute(
            "UPDATE submissions SET state = ?2, outcome = CASE WHEN ?2 IN ('approved', 'refused') THEN ?2 ELSE outcome END WHERE receipt = ?1",
            params![receipt, new.state],
        )
        .unwrap_or(0);
    if changed == 0 {
        return problem(StatusCode::NOT_FOUND, "receipt", "no such receipt");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// One stored submission, for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub receipt: String,
    pub system: String,
    pub idempotency_key: String,
    pub case_number: Option<String>,
    pub state: String,
}

async fn list_submissions(State(shared): State<SharedState>) -> Response {
    let connection = shared.database.lock().expect("lock");
    let mut statement = match connection.prepare("SELECT receipt, system, idempotency_key, case_number, state FROM submissions ORDER BY receipt") {
        Ok(statement) => statement,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "", &error.to_string()),
    };
    let rows: Vec<Submission> = statement
        .query_map([], |row| {
            Ok(Submission {
                receipt: row.get(0)?,
                system: row.get(1)?,
                idempotency_key: row.get(2)?,
                case_number: row.get(3)?,
                state: row.get(4)?,
            })
        })
        .and_then(|rows| rows.collect())
        .unwrap_or_default();
    Json(rows).into_response()
}

/// Counts every request but the test's own `/admin` ones under `total`
/// (so a test can prove a workstation sent nothing at all).
async fn count_every_request(
    State(shared): State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !request.uri().path().starts_with("/admin") {
        shared
            .addresses
            .lock()
            .expect("lock")
            .push(request.uri().to_string());
        *shared
            .requests
            .lock()
            .expect("lock")
            .entry("total".to_owned())
            .or_insert(0) += 1;
    }
    next.run(request).await
}

async fn request_addresses(State(shared): State<SharedState>) -> Response {
    Json(shared.addresses.lock().expect("lock").clone()).into_response()
}

async fn request_counts(State(shared): State<SharedState>) -> Response {
    Json(shared.requests.lock().expect("lock").clone()).into_response()
}
