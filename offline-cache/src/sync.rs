//! The sync engine: drains the outbox to the back-office systems exactly
//! once, and brings their results back as lifecycle transitions.
//!
//! - Every outbox row carries an idempotency key made when the row was
//!   written; every retry of that row reuses it (items of a multi-item
//!   sub-case use `key/0`, `key/1`…).
//! - Rows of different systems drain independently, at most
//!   `per_system_concurrency` at a time per system; one bad row never
//!   blocks the others; rows live in the store, so the queue survives
//!   restarts.
//! - Retryable (connect errors, timeouts, 5xx, 429 with Retry-After): capped
//!   exponential backoff with jitter. Permanent (other 4xx, or a value the
//!   mapping cannot convert): quarantined with a reason in zh-CN and English
//!   until someone corrects the case and retries. Conflict (409): the
//!   system's own record wins and its receipt is taken, when the answer
//!   names this submission's own key (else the row is quarantined).
//! - A row leaves the outbox only when the system acknowledged it with its
//!   receipt id.
//!
//! This pass sends submissions, a terminated case's withdrawals and the
//! supplements a back office asked for; rows for later actions (issuance,
//! rating) wait in the outbox until those endpoints exist. Every row is marked `sent_at` before its
//! request leaves; what that decides when a case is terminated mid-flight
//! is `crate::outbox`'s, in one place.
//!
//! Only `CaseStore<Production>` can be synced: a practice store cannot be
//! handed to this engine. Plain HTTP is accepted only for loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate};
use forms::standards::{CaseFacts, PayloadFormat, Standard, UnifiedIntake};
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::lifecycle::{CaseState, Event, Role};
use crate::store::{exec, CaseStore, Production};

/// One back-office system to sync with.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://…`, or `http://` on a loopback address.
    pub base_url: String,
    pub token: String,
    pub standard: Standard,
}

#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub per_system_concurrency: usize,
    pub request_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often a paused system (it refused the window itself: 401, 403,
    /// 404, 405, 408, TLS) is probed with one request.
    pub pause_probe: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            per_system_concurrency: 4,
            request_timeout: Duration::from_secs(20),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(300),
            pause_probe: Duration::from_secs(60),
        }
    }
}

/// What one drain pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    pub acknowledged: usize,
    pub retried: usize,
    pub quarantined: usize,
    pub reconciled: usize,
    /// Answers that paused their system (it refused the window itself).
    pub paused: usize,
}

/// Counts per system, for the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub system: String,
    pub pending: i64,
    pub quarantined: i64,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    /// Set while the system is paused: why, for the administrator (its
    /// cases wait; nothing is quarantined).
    pub paused: Option<Paused>,
}

/// Why a system is paused, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub since: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// A row held back until someone corrects the case, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedRow {
    pub row_id: i64,
    pub case_id: String,
    pub case_number: String,
    pub system: String,
    pub attempts: i64,
    pub reason_zh: String,
    pub reason_en: String,
}

/// Builds the sync targets of every system in `standards`: each system's
/// base URL from `base_url`, its bearer token from the key store. Systems
/// with no token saved are left out and named in the second list, so the
/// window can say which back offices are not set up yet.
pub fn targets_from_key_store(
    standards: &forms::standards::Standards,
    base_url: impl Fn(&str) -> String,
    key_store: &Arc<keyring_core::CredentialStore>,
) -> Result<(BTreeMap<String, Target>, Vec<String>), CacheError> {
    let mut targets = BTreeMap::new();
    let mut without_token = Vec::new();
    for (system, standard) in &standards.systems {
        match crate::key::backoffice_token(key_store, system)? {
            Some(token) => {
                targets.insert(
                    system.clone(),
                    Target {
                        base_url: base_url(system),
                        token,
                        standard: standard.clone(),
                    },
                );
            }
            None => without_token.push(system.clone()),
        }
    }
    Ok((targets, without_token))
}

/// A row ready to send, with what its payload is made of.
#[derive(Debug, Clone)]
struct Job {
    row_id: i64,
    back_office: String,
    action: String,
    key: String,
    attempts: i64,
    case_id: String,
    case_number: String,
    intakes: Vec<UnifiedIntake>,
    /// For a withdrawal or a supplement: what it names.
    follow_up: Option<FollowUp>,
}

/// What a follow-up of a case already at the back office names there: a
/// withdrawal (the case was terminated) or a supplement (the materials the
/// back office asked for were handed in at the window).
#[derive(Debug, Clone)]
struct FollowUp {
    supplement: bool,
    receipts: Vec<String>,
    submission_key: Option<String>,
    note: Option<String>,
}

/// The result of sending one row.
enum Outcome {
    Acknowledged(Vec<String>, bool),
    Retry(Duration, String),
    Quarantine(String, String),
    /// The system refused the window itself, not this case: the system is
    /// paused, the row waits (zh-CN, English reason for the administrator).
    Pause(String, String),
}

/// What the window asks the back offices about ("ask only once").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "what")]
pub enum Lookup {
    /// A natural person by resident ID number.
    Person { id_number: String },
    /// A legal entity by unified social credit code.
    Entity { credit_code: String },
    /// An e-licence by its number and type.
    Licence { number: String, kind: String },
}

/// A record a back office holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupRecord {
    /// The system that answered.
    pub system: String,
    /// The register the system names as the record's source, if any.
    pub source: Option<String>,
    pub record: Map<String, Value>,
}

/// The answer to a look-up. The window goes on whatever it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum LookupOutcome {
    Found(LookupRecord),
    /// Every system that can answer said it has no such record.
    NotFound,
    /// No system that can answer was reachable (or none can answer).
    Unavailable {
        detail: String,
    },
}

pub struct SyncEngine {
    store: Arc<CaseStore<Production>>,
    client: reqwest::Client,
    targets: BTreeMap<String, Target>,
    settings: SyncSettings,
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Installs rustls' ring provider for this process (once; harmless when one
/// is already installed). HTTP clients made anywhere in the process need it.
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Percent-encodes one path or query segment.
fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// What asking for the day's bookings gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentsFetch {
    /// The lists of the systems that answered.
    Fetched(Vec<crate::appointments::BookingList>),
    /// Every system asked failed (offline, refused): the stored list stands.
    Unreachable { detail: String },
    /// No configured system runs an appointment service.
    NotOffered,
}

impl SyncEngine {
    pub fn new(
        store: Arc<CaseStore<Production>>,
        targets: BTreeMap<String, Target>,
        settings: SyncSettings,
    ) -> Result<Self, CacheError> {
        for (system, target) in &targets {
            let url = reqwest::Url::parse(&target.base_url).map_err(|error| {
                CacheError::BadInput(format!(
                    "{system}: `{}` is not a URL: {error}",
                    target.base_url
                ))
            })?;
            match url.scheme() {
                "https" => {}
                "http" if is_loopback(&url) => {}
                _ => {
                    return Err(CacheError::BadInput(format!(
                        "{system}: use https (plain http only to this machine)"
                    )))
                }
            }
        }
        ensure_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // Never from https to plain http (the case would travel in
                // clear), and not round and round.
                let allowed = match attempt.url().scheme() {
                    "https" => true,
                    "http" => is_loopback(attempt.url()),
                    _ => false,
                };
                if !allowed {
                    attempt.error("a redirect to plain http was refused")
                } else if attempt.previous().len() >= 3 {
                    attempt.error("more than three redirects")
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|error| {
                CacheError::BadInput(format!("the HTTP client cannot start: {error}"))
            })?;
        Ok(SyncEngine {
            store,
            client,
            targets,
            settings,
        })
    }

    /// Asks the systems whose standard has an endpoint for `lookup`, in
    /// order, until one has the record. Nothing is written.
    pub async fn look_up(&self, lookup: &Lookup) -> LookupOutcome {
        let mut problems = Vec::new();
        let mut asked = 0;
        for (system, target) in &self.targets {
            let endpoints = &target.standard.endpoints;
            // An ID number goes in the request's body, never in its address
            // (addresses end up in the logs of every proxy on the way), unless
            // the standard can only take it in the path (`{id}`).
            let mut body = None;
            let path = match lookup {
                Lookup::Person { id_number } => endpoints.person.as_ref().map(|path| {
                    if path.contains("{id}") {
                        path.replace("{id}", &urlencoding(id_number))
                    } else {
                        body = Some(json!({ "idNumber": id_number }));
                        path.clone()
                    }
                }),
                Lookup::Entity { credit_code } => endpoints
                    .entity
                    .as_ref()
                    .map(|path| path.replace("{code}", &urlencoding(credit_code))),
                Lookup::Licence { number, kind } => endpoints.licence.as_ref().map(|path| {
                    format!(
                        "{}?kind={}",
                        path.replace("{number}", &urlencoding(number)),
                        urlencoding(kind)
                    )
                }),
            };
            let Some(path) = path else { continue };
            asked += 1;
            let url = format!("{}{path}", target.base_url.trim_end_matches('/'));
            let request = match &body {
                Some(body) => self.client.post(&url).json(body),
                None => self.client.get(&url),
            };
            let answer = request.bearer_auth(&target.token).send().await;
            match answer {
                Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {}
                Ok(response) if response.status().is_success() => {
                    match response.json::<Map<String, Value>>().await {
                        Ok(record) => {
                            return LookupOutcome::Found(LookupRecord {
                                system: system.clone(),
                                source: record
                                    .get("source")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned),
                                record,
                            })
                        }
                        Err(error) => {
                            problems.push(format!("{system}: unreadable answer ({error})"))
                        }
                    }
                }
                Ok(response) => problems.push(format!("{system}: HTTP {}", response.status())),
                Err(error) => problems.push(format!("{system}: {error}")),
            }
        }
        if asked == 0 {
            LookupOutcome::Unavailable {
                detail: "no configured back office offers this look-up".into(),
            }
        } else if problems.len() == asked {
            LookupOutcome::Unavailable {
                detail: problems.join("; "),
            }
        } else {
            LookupOutcome::NotFound
        }
    }

    /// Fetches the day's bookings for `hall` from the systems whose standard
    /// has an appointments endpoint (each distinct address once). Nothing
    /// is written; the caller saves them with `save_appointments`.
    pub async fn fetch_appointments(
        &self,
        hall: &str,
        day: chrono::NaiveDate,
    ) -> AppointmentsFetch {
        let mut asked = std::collections::BTreeSet::new();
        let mut problems = Vec::new();
        let mut found = Vec::new();
        for (system, target) in &self.targets {
            let Some(path) = &target.standard.endpoints.appointments else {
                continue;
            };
            let url = format!(
                "{}{}",
                target.base_url.trim_end_matches('/'),
                path.replace("{hall}", &urlencoding(hall))
                    .replace("{day}", &day.format("%Y-%m-%d").to_string())
            );
            if !asked.insert(url.clone()) {
                continue;
            }
            let answer = self
                .client
                .get(&url)
                .bearer_auth(&target.token)
                .send()
                .await;
            match answer {
                Ok(response) if response.status().is_success() => {
                    match response.json::<crate::appointments::BookingList>().await {
                        Ok(list) => found.push(list),
                        Err(error) => {
                            problems.push(format!("{system}: unreadable answer ({error})"))
                        }
                    }
                }
                Ok(response) => problems.push(format!("{system}: HTTP {}", response.status())),
                Err(error) => problems.push(format!("{system}: {error}")),
            }
        }
        if asked.is_empty() {
            AppointmentsFetch::NotOffered
        } else if found.is_empty() {
            AppointmentsFetch::Unreachable {
                detail: problems.join("; "),
            }
        } else {
            AppointmentsFetch::Fetched(found)
        }
    }

    /// One pass: sends every due row (per system concurrently) and records
    /// each outcome in the store.
    pub async fn drain(&self) -> Result<DrainReport, CacheError> {
        // The configured hall goes out with every case (`case.hall_code`).
        let hall_code = self.store.options.hall_code.clone();
        let mut jobs = self
            .store
            .read(move |connection| due_jobs(connection, &hall_code))
            .await?;
        // Written before any request leaves: from now on each of these rows
        // may have reached its back office (see `crate::outbox`).
        let row_ids: Vec<(i64, String)> = jobs
            .iter()
            .filter(|job| self.targets.contains_key(&job.back_office))
            .map(|job| (job.row_id, job.key.clone()))
            .collect();
        let sendable: std::collections::HashSet<i64> = self
            .store
            .write(move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let sendable =
                    crate::outbox::mark_sending(&transaction, &row_ids, &now().to_rfc3339())?;
                transaction.commit()?;
                Ok(sendable)
            })
            .await?
            .into_iter()
            .collect();
        jobs.retain(|job| sendable.contains(&job.row_id));
        let mut tasks = tokio::task::JoinSet::new();
        let mut limits: BTreeMap<String, Arc<tokio::sync::Semaphore>> = BTreeMap::new();
        for job in jobs {
            let Some(target) = self.targets.get(&job.back_office).cloned() else {
                continue;
            };
            let limit = limits
                .entry(job.back_office.clone())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Semaphore::new(
                        self.settings.per_system_concurrency.max(1),
                    ))
                })
                .clone();
            let client = self.client.clone();
            let settings = self.settings.clone();
            tasks.spawn(async move {
                let _permit = limit
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let outcome = match &job.follow_up {
                    Some(follow_up) => {
                        send_follow_up(&client, &target, &job, follow_up, &settings).await
                    }
                    None => send(&client, &target, &job, &settings).await,
                };
                (job, outcome)
            });
        }
        let mut report = DrainReport::default();
        // Outcomes are written in batches: one transaction for all the
        // answers that arrived together, instead of one each.
        while let Some(joined) = tasks.join_next().await {
            let mut batch: Vec<(Job, Outcome)> = Vec::new();
            if let Ok(done) = joined {
                batch.push(done);
            }
            while batch.len() < 256 {
                match tasks.try_join_next() {
                    Some(Ok(done)) => batch.push(done),
                    Some(Err(_)) => {}
                    None => break,
                }
            }
            for (_, outcome) in &batch {
                match outcome {
                    Outcome::Acknowledged(_, reconciled) => {
                        report.acknowledged += 1;
                        report.reconciled += usize::from(*reconciled);
                    }
                    Outcome::Retry(..) => report.retried += 1,
                    Outcome::Quarantine(..) => report.quarantined += 1,
                    Outcome::Pause(..) => report.paused += 1,
                }
            }
            let probe = self.settings.pause_probe;
            self.store
                .write(move |connection| record_outcomes(connection, &batch, probe))
                .await?;
        }
        Ok(report)
    }

    /// Drains until nothing is pending (quarantined rows aside) or `limit` passes.
    pub async fn drain_until_idle(&self, limit: Duration) -> Result<DrainReport, CacheError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut total = DrainReport::default();
        loop {
            let pass = self.drain().await?;
            total.acknowledged += pass.acknowledged;
            total.retried += pass.retried;
            total.quarantined += pass.quarantined;
            total.reconciled += pass.reconciled;
            total.paused += pass.paused;
            let pending = self
                .store
                .read(|connection| {
                    Ok(connection.query_row(
                        "SELECT count(*) FROM outbox WHERE quarantined = 0 AND action IN ('submit', 'withdraw', 'supplement')",
                        [],
                        |row| row.get::<_, i64>(0),
                    )?)
                })
                .await?;
            if pending == 0 || tokio::time::Instant::now() >= deadline {
                return Ok(total);
            }
            let next: Option<String> = self.store.read(|connection| Ok(connection.query_row("SELECT min(next_attempt_at) FROM outbox WHERE quarantined = 0 AND action IN ('submit', 'withdraw', 'supplement')", [], |row| row.get(0))?)).await?;
            let wait = next
                .and_then(|next| DateTime::parse_from_rfc3339(&next).ok())
                .map(|next| (next - now()).to_std().unwrap_or_default())
                .unwrap_or_default()
                .min(Duration::from_millis(500));
            tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
        }
    }

    /// Asks every system for the state of the receipts it holds and turns
    /// changes into lifecycle transitions. Returns how many sub-cases changed.
    pub async fn poll_results(&self) -> Result<usize, CacheError> {
        let mut changed = 0;
        for (system, target) in &self.targets {
            let system_id = system.clone();
            let receipts: Vec<(String, String, String)> = self
                .store
                .read(move |connection| open_receipts(connection, &system_id))
                .await?;
            if receipts.is_empty() {
                continue;
            }
            let all: Vec<String> = receipts
                .iter()
                .flat_map(|(_, receipt, _)| receipt.split(',').map(str::to_owned))
                .collect();
            let answer = self
                .client
                .post(format!(
                    "{}{}",
                    target.base_url, target.standard.endpoints.status
                ))
                .bearer_auth(&target.token)
                .json(&json!({ "receipts": all }))
                .send()
                .await;
            let Ok(answer) = answer else { continue };
            if !answer.status().is_success() {
                continue;
            }
            let Ok(body) = answer.json::<Value>().await else {
                continue;
            };
            for (sub_case_id, receipt, current) in receipts {
                // The least advanced item of a sub-case is its state.
                let states: Vec<&str> = receipt
                    .split(',')
                    .filter_map(|one| body["states"][one].as_str())
                    .collect();
                let Some(state) = least_advanced(&states) else {
                    continue;
                };
                // Refused if any item was refused; approved once any was decided.
                let outcomes: Vec<&str> = receipt
                    .split(',')
                    .filter_map(|one| body["outcomes"][one].as_str())
                    .collect();
                let outcome = if outcomes.contains(&"refused") {
                    Some("refused".to_owned())
                } else {
                    outcomes.first().map(|outcome| (*outcome).to_owned())
                };
                if state != current {
                    let state = state.to_owned();
                    self.store
                        .write(move |connection| {
                            apply_remote_state(connection, &sub_case_id, &state, outcome.as_deref())
                        })
                        .await?;
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }

    /// Pending and quarantined counts and the last success, per system.
    pub async fn status(&self) -> Result<Vec<SystemStatus>, CacheError> {
        self.status_of(self.targets.keys().cloned().collect()).await
    }

    /// [`SyncEngine::status`] of the given systems, synced by this engine
    /// or not (cases for a system without a token or address still wait).
    pub async fn status_of(&self, systems: Vec<String>) -> Result<Vec<SystemStatus>, CacheError> {
        self.store
            .read(move |connection| {
                systems
                    .iter()
                    .map(|system| {
                        let count = |quarantined: i64| -> rusqlite::Result<i64> {
                            connection.query_row("SELECT count(*) FROM outbox WHERE back_office = ?1 AND quarantined = ?2 AND action IN ('submit', 'withdraw', 'supplement')", params![system, quarantined], |row| row.get(0))
                        };
                        type State = (Option<String>, Option<String>, Option<String>, Option<String>);
                        let state: Option<State> = connection
                            .query_row("SELECT last_success_at, last_error, paused_reason, paused_at FROM sync_state WHERE back_office = ?1", params![system], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                            .optional()?;
                        let (last_success_at, last_error, paused_reason, paused_at) = state.unwrap_or((None, None, None, None));
                        let paused = paused_reason.map(|reason| {
                            let reason: Value = serde_json::from_str(&reason).unwrap_or(Value::Null);
                            Paused {
                                since: paused_at.unwrap_or_default(),
                                reason_zh: reason["zh"].as_str().unwrap_or_default().to_owned(),
                                reason_en: reason["en"].as_str().unwrap_or_default().to_owned(),
                            }
                        });
                        Ok(SystemStatus { system: system.clone(), pending: count(0)?, quarantined: count(1)?, last_success_at, last_error, paused })
                    })
                    .collect()
            })
            .await
    }

    /// The systems this engine syncs with.
    pub fn systems(&self) -> Vec<String> {
        self.targets.keys().cloned().collect()
    }

    /// Every quarantined row with its reason, oldest first.
    pub async fn quarantined(&self) -> Result<Vec<QuarantinedRow>, CacheError> {
        self.store.read(quarantined_rows).await
    }

    /// The values a refused row sent, per item of its sub-case, for the
    /// supervisor who corrects them.
    pub async fn refused_values(
        &self,
        row_id: i64,
    ) -> Result<BTreeMap<String, Map<String, Value>>, CacheError> {
        self.store
            .read(move |connection| {
                let row: Option<(String, String)> = connection
                    .query_row(
                        "SELECT o.case_id, s.items FROM outbox o JOIN sub_cases s ON s.id = o.sub_case_id WHERE o.id = ?1 AND o.quarantined = 1",
                        params![row_id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                let (case_id, items) = row.ok_or_else(|| not_quarantined(row_id))?;
                let items: Vec<String> = serde_json::from_str(&items)
                    .map_err(|error| CacheError::Database(error.to_string()))?;
                let mut values = crate::cases::case_values(connection, &case_id)?;
                values.retain(|item, _| items.contains(item));
                Ok(values)
            })
            .await
    }

    /// Puts a quarantined row back in the queue after the case was corrected.
    pub async fn retry_quarantined(&self, row_id: i64, actor: Actor) -> Result<(), CacheError> {
        self.store
            .write(move |connection| retry_row(connection, row_id, &actor))
            .await
    }

    /// "Send all again" for one system: every quarantined row of it back in
    /// the queue, each audited under `actor`. Returns how many.
    pub async fn retry_all_quarantined(
        &self,
        system: String,
        actor: Actor,
    ) -> Result<usize, CacheError> {
        self.store
            .write(move |connection| {
                let rows: Vec<i64> = connection
                    .prepare_cached(
                        "SELECT id FROM outbox WHERE back_office = ?1 AND quarantined = 1 ORDER BY id",
                    )?
                    .query_map(params![system], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                for row_id in &rows {
                    retry_row(connection, *row_id, &actor)?;
                }
                Ok(rows.len())
            })
            .await
    }

    /// A supervisor corrects the data of a case a back office refused
    /// (the old and new value of each field kept in the store's
    /// `corrections`, the audit naming the fields, never their values) and
    /// sends it again, in one transaction.
    pub async fn correct_and_retry(
        &self,
        row_id: i64,
        corrections: Vec<FieldCorrection>,
        note: String,
        actor: Actor,
    ) -> Result<(), CacheError> {
        self.store
            .write(move |connection| correct_row(connection, row_id, &corrections, &note, &actor))
            .await
    }

    /// Ends a system's pause now (the administrator mended its token or
    /// address): its next pass sends again. Audited.
    pub async fn resume(&self, system: String, actor: Actor) -> Result<(), CacheError> {
        self.store
            .write(move |connection| {
                if !matches!(actor.role, Role::Supervisor | Role::Admin) {
                    return Err(CacheError::Refused {
                        code: "not_allowed",
                        message_zh: "只有值班长或系统管理员可以恢复发送".into(),
                        message_en: "Only a supervisor or an administrator can resume sending".into(),
                    });
                }
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let at = now().to_rfc3339();
                exec(
                    &transaction,
                    "UPDATE sync_state SET probe_at = ?2 WHERE back_office = ?1 AND paused_reason IS NOT NULL",
                    params![system, at],
                )?;
                exec(
                    &transaction,
                    "UPDATE outbox SET next_attempt_at = NULL WHERE back_office = ?1 AND quarantined = 0",
                    params![system],
                )?;
                audit::append(
                    &transaction,
                    &at,
                    &actor.user_id,
                    "sync.resumed",
                    &system,
                    &json!({ "system": system, "role": actor.role.as_str() }),
                )?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }
}

const ORDER: [&str; 6] = [
    "submitted",
    "in_review",
    "supplement_requested",
    "approved",
    "refused",
    "result_ready",
];

fn least_advanced<'a>(states: &[&'a str]) -> Option<&'a str> {
    states
        .iter()
        .copied()
        .min_by_key(|state| ORDER.iter().position(|known| known == state).unwrap_or(0))
}

async fn send(
    client: &reqwest::Client,
    target: &Target,
    job: &Job,
    settings: &SyncSettings,
) -> Outcome {
    let mut receipts = Vec::new();
    let mut reconciled = false;
    let today = chrono::Local::now().date_naive();
    for (index, intake) in job.intakes.iter().enumerate() {
        let payload = match target.standard.map(intake, today) {
            Ok(payload) => payload,
            Err(errors) => {
                let zh = errors
                    .iter()
                    .map(|error| {
                        format!("{} → {}：{}", error.source, error.target, error.reason_zh)
                    })
                    .collect::<Vec<_>>()
                    .join("；");
                let en = errors
                    .iter()
                    .map(|error| {
                        format!("{} → {}: {}", error.source, error.target, error.reason_en)
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                return Outcome::Quarantine(
                    format!("数据无法转换为{}的格式：{zh}", target.standard.name_zh),
                    format!(
                        "the data cannot be converted for {}: {en}",
                        target.standard.system
                    ),
                );
            }
        };
        let key = if job.intakes.len() == 1 {
            job.key.clone()
        } else {
            format!("{}/{index}", job.key)
        };
        let answer = client
            .post(format!(
                "{}{}",
                target.base_url, target.standard.endpoints.submit
            ))
            .bearer_auth(&target.token)
            .header("Idempotency-Key", &key)
            .header(
                "content-type",
                match payload.format {
                    PayloadFormat::Json => "application/json",
                    PayloadFormat::Xml => "application/xml",
                },
            )
            .body(payload.body)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => return network_outcome(&error, target, job, settings),
        };
        let status = answer.status();
        if let Some(pause) = refusal_of_the_window(status.as_u16(), target) {
            return pause;
        }
        let retry_after = answer
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        match status.as_u16() {
            200 | 201 => match body["receipt"].as_str() {
                Some(receipt) => receipts.push(receipt.to_owned()),
                None => {
                    return Outcome::Retry(
                        backoff(job.attempts, settings),
                        "the answer had no receipt".into(),
                    )
                }
            },
            // A conflict's receipt is ours only when the back office says it
            // is for this very submission (our Idempotency-Key): a system that
            // de-duplicates on something else (the case number) answers with
            // another case's receipt, which must never be attached here.
            409 => match (body["receipt"].as_str(), body["idempotencyKey"].as_str()) {
                (Some(receipt), Some(held_by)) if held_by == key => {
                    receipts.push(receipt.to_owned());
                    reconciled = true;
                }
                (Some(receipt), held_by) => {
                    let number = &intake.case.case_number;
                    let whose_zh = match held_by {
                        Some(_) => "另一件办件",
                        None => "未说明属于哪一件办件",
                    };
                    let whose_en = match held_by {
                        Some(_) => "another submission",
                        None => "a submission it did not name",
                    };
                    return Outcome::Quarantine(
                        format!("{}报告冲突：办件编号 {number} 已被{whose_zh}占用（其回执 {receipt}），该回执未关联到本件。请系统管理员核对本窗口的编号规则与窗口号后重试。", target.standard.name_zh),
                        format!("{} reported a conflict: case number {number} is already held by {whose_en} (receipt {receipt}); that receipt was not attached to this case. Ask your administrator to check this window's numbering rule and window number, then retry.", target.standard.system),
                    );
                }
                (None, _) => {
                    return Outcome::Retry(
                        backoff(job.attempts, settings),
                        "conflict without a receipt".into(),
                    )
                }
            },
            429 => {
                return Outcome::Retry(
                    Duration::from_secs(retry_after.unwrap_or(1))
                        .max(backoff(job.attempts, settings) / 4),
                    "rate limited".into(),
                )
            }
            500..=599 => {
                return Outcome::Retry(
                    backoff(job.attempts, settings),
                    format!("server error {status}"),
                )
            }
            _ => {
                let field = body["field"].as_str().unwrap_or("");
                let message = body["message"].as_str().unwrap_or("");
                return Outcome::Quarantine(
                    format!("{}拒收（{}）：字段“{field}”{message}。请更正办件后重试。", target.standard.name_zh, status.as_u16()),
                    format!("{} refused it ({}): field `{field}`: {message}. Correct the case, then retry.", target.standard.system, status.as_u16()),
                );
            }
        }
    }
    Outcome::Acknowledged(receipts, reconciled)
}

/// A network error: retried, unless the TLS handshake failed or a redirect
/// to plain http was refused (no retry of this case can mend either: the
/// system is paused for the administrator).
fn network_outcome(
    error: &reqwest::Error,
    target: &Target,
    job: &Job,
    settings: &SyncSettings,
) -> Outcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut tls = error.is_redirect();
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            tls = true;
        }
        source = cause.source();
    }
    if tls {
        return Outcome::Pause(
            format!("与{}的安全连接（TLS）无法建立：证书无效、已过期或地址被转到非加密连接。请系统管理员检查该系统的地址和证书；办件都在等待，恢复后自动发送。", target.standard.name_zh),
            format!("The secure connection (TLS) to {} cannot be made: its certificate is invalid or expired, or the address redirects to plain http ({error}). Ask the administrator to check the system's address and certificate; the cases wait and go once it works.", target.standard.system),
        );
    }
    Outcome::Retry(backoff(job.attempts, settings), format!("network: {error}"))
}

/// Answers that refuse the window itself rather than this case (its token,
/// its address, its method): no correction of a case can mend them, so the
/// system is paused with a message for the administrator.
fn refusal_of_the_window(status: u16, target: &Target) -> Option<Outcome> {
    let (zh, en) = match status {
        401 => (
            "访问令牌无效或已过期",
            "its access token is invalid or expired",
        ),
        403 => (
            "拒绝本窗口访问（权限不足）",
            "it refuses this window access (forbidden)",
        ),
        404 | 405 => (
            "接口地址不存在或不接受该请求",
            "the address does not exist or does not take this request",
        ),
        408 => ("等待请求超时", "it timed out waiting for the request"),
        300..=399 => ("把请求转到了别处", "it redirected the request elsewhere"),
        _ => return None,
    };
    Some(Outcome::Pause(
        format!("{}暂停发送（状态码 {status}）：{zh}。这不是办件的错误，请系统管理员检查该系统的令牌和地址；办件都在等待，恢复后自动发送。", target.standard.name_zh),
        format!("Sending to {} is paused ({status}): {en}. The cases are not at fault: ask the administrator to check the system's token and address; the cases wait and go once it works.", target.standard.system),
    ))
}

/// Sends one follow-up of a case already at the back office: a withdrawal
/// (the receipts it names, or the submission's key) or a supplement (the
/// materials asked for were handed in; the back office takes the case up
/// again).
async fn send_follow_up(
    client: &reqwest::Client,
    target: &Target,
    job: &Job,
    follow_up: &FollowUp,
    settings: &SyncSettings,
) -> Outcome {
    let (name, system, number) = (
        &target.standard.name_zh,
        &target.standard.system,
        &job.case_number,
    );
    let (path, body) = if follow_up.supplement {
        (
            &target.standard.endpoints.supplement,
            json!({ "receipts": follow_up.receipts, "caseNo": number, "note": follow_up.note }),
        )
    } else {
        (
            &target.standard.endpoints.withdraw,
            json!({
                "receipts": follow_up.receipts,
                "submissionKey": follow_up.submission_key,
                "caseNo": number,
                "reason": follow_up.note,
            }),
        )
    };
    let Some(path) = path else {
        return if follow_up.supplement {
            Outcome::Quarantine(
                format!("{name}没有线上补正接口：办件 {number} 的补正材料已在窗口收齐，请通知该部门。"),
                format!("{system} offers no supplement endpoint: the materials of case {number} were handed in at the window; tell the department."),
            )
        } else {
            Outcome::Quarantine(
                format!("{name}没有线上撤回接口：办件 {number} 已终止，请电话通知该部门撤回。"),
                format!("{system} offers no withdrawal: case {number} was terminated; phone the department to withdraw it."),
            )
        };
    };
    let answer = client
        .post(format!("{}{}", target.base_url, path))
        .bearer_auth(&target.token)
        .header("Idempotency-Key", &job.key)
        .json(&body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return network_outcome(&error, target, job, settings),
    };
    let status = answer.status().as_u16();
    if let Some(pause) = refusal_of_the_window(status, target) {
        return pause;
    }
    match (status, follow_up.supplement) {
        (200 | 201, _) => Outcome::Acknowledged(Vec::new(), false),
        (429 | 500..=599, _) => Outcome::Retry(
            backoff(job.attempts, settings),
            format!("{}: server answered {status}", job.action),
        ),
        (_, true) => Outcome::Quarantine(
            format!("{name}未接受办件 {number} 的补正（状态码 {status}）。请核对补正材料后重新推送，或电话通知该部门。"),
            format!("{system} did not take the supplement of case {number} ({status}). Check the materials and send it again, or phone the department."),
        ),
        (_, false) => Outcome::Quarantine(
            format!("{name}拒绝撤回已终止的办件 {number}（状态码 {status}）。请电话通知该部门撤回。"),
            format!("{system} refused to withdraw terminated case {number} ({status}). Phone the department to withdraw it."),
        ),
    }
}

/// Capped exponential backoff with ±20 % jitter.
fn backoff(attempts: i64, settings: &SyncSettings) -> Duration {
    let exponent = attempts.clamp(0, 20) as u32;
    let base = settings
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(settings.backoff_cap);
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter)
}

fn due_jobs(connection: &Connection, hall_code: &str) -> Result<Vec<Job>, CacheError> {
    let now = now().to_rfc3339();
    // A terminated case's submissions are never due; a withdrawal waits
    // until no submission of its sub-case is in flight or queued.
    let mut statement = connection.prepare_cached(
        "SELECT o.id, o.back_office, o.action, o.idempotency_key, o.attempts, o.case_id, s.items, o.payload, c.case_number
         FROM outbox o JOIN sub_cases s ON s.id = o.sub_case_id JOIN cases c ON c.id = o.case_id
         WHERE o.quarantined = 0 AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1)
           AND ((o.action = 'submit' AND c.state != 'terminated')
             OR (o.action = 'withdraw' AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.sub_case_id = o.sub_case_id AND p.action = 'submit'))
             OR (o.action = 'supplement' AND c.state != 'terminated' AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.sub_case_id = o.sub_case_id AND p.action = 'submit')))
         ORDER BY o.id LIMIT 20000",
    )?;
    type DueRow = (
        i64,
        String,
        String,
        String,
        i64,
        String,
        String,
        String,
        String,
    );
    let rows: Vec<DueRow> = statement
        .query_map(params![now], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    // A paused system gets one request (a probe) once its probe time has
    // come, none before.
    let mut paused: BTreeMap<String, bool> = BTreeMap::new();
    for pause in connection
        .prepare_cached(
            "SELECT back_office, probe_at FROM sync_state WHERE paused_reason IS NOT NULL",
        )?
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })?
    {
        let (system, probe_at) = pause?;
        let due = probe_at.is_none_or(|probe_at| probe_at <= now);
        paused.insert(system, due);
    }
    let mut jobs = Vec::new();
    for (row_id, back_office, action, key, attempts, case_id, items, payload, case_number) in rows {
        if let Some(probe_due) = paused.get_mut(&back_office) {
            if !*probe_due {
                continue;
            }
            *probe_due = false;
        }
        if action == "withdraw" || action == "supplement" {
            let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            let text = |name: &str| payload[name].as_str().map(str::to_owned);
            let mut receipts: Vec<String> = payload["receipts"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if action == "supplement" {
                // The receipts the back office asked about, as held now.
                let held: Option<String> = connection
                    .query_row(
                        "SELECT s.remote_receipt FROM outbox o JOIN sub_cases s ON s.id = o.sub_case_id WHERE o.id = ?1",
                        params![row_id],
                        |row| row.get(0),
                    )
                    .optional()?
                    .flatten();
                receipts = held
                    .map(|text| text.split(',').map(str::to_owned).collect())
                    .unwrap_or_default();
            }
            let supplement = action == "supplement";
            jobs.push(Job {
                row_id,
                back_office,
                action,
                key,
                attempts,
                case_id,
                case_number,
                intakes: Vec::new(),
                follow_up: Some(FollowUp {
                    supplement,
                    receipts,
                    submission_key: text("submission_key"),
                    note: text("note"),
                }),
            });
            continue;
        }
        let items: Vec<String> = serde_json::from_str(&items)
            .map_err(|error| CacheError::Database(error.to_string()))?;
        let facts: (String, String, String, Option<String>, String, Option<String>) = connection.query_row(
            "SELECT c.case_number, c.created_day, c.window, c.promised_completion, c.item_versions, a.profile FROM cases c LEFT JOIN applicants a ON a.id = c.applicant_id WHERE c.id = ?1",
            params![case_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )?;
        let (case_number, day, window, promised, versions, profile) = facts;
        let versions: BTreeMap<String, u32> = serde_json::from_str(&versions).unwrap_or_default();
        let profile: forms::form::ApplicantProfile = profile
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let values = crate::cases::case_values(connection, &case_id)?;
        let case = CaseFacts {
            case_id: case_id.clone(),
            case_number: case_number.clone(),
            accepted_on: NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok(),
            window,
            hall_code: hall_code.to_owned(),
            promised_completion: promised
                .and_then(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()),
        };
        let intakes = items
            .iter()
            .map(|item| UnifiedIntake {
                case: case.clone(),
                applicant: profile.clone(),
                item_id: item.clone(),
                item_version: versions.get(item).copied().unwrap_or(1),
                values: values.get(item).cloned().unwrap_or_else(Map::new),
            })
            .collect();
        jobs.push(Job {
            row_id,
            back_office,
            action,
            key,
            attempts,
            case_id,
            case_number,
            intakes,
            follow_up: None,
        });
    }
    Ok(jobs)
}

fn system_actor() -> Actor {
    Actor {
        user_id: "sync".into(),
        role: Role::System,
    }
}

/// Writes a batch of outcomes in one transaction.
fn record_outcomes(
    connection: &mut Connection,
    batch: &[(Job, Outcome)],
    probe: Duration,
) -> Result<(), CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = now().to_rfc3339();
    for (job, outcome) in batch {
        // A row gone while its request was out (its case terminated): the
        // answer is recorded and acted on, never dropped.
        if !crate::outbox::row_is_queued(&transaction, job.row_id, &job.key)? {
            match outcome {
                Outcome::Acknowledged(receipts, _) if job.follow_up.is_none() => {
                    crate::outbox::late_acknowledgement(
                        &transaction,
                        job.row_id,
                        &job.case_id,
                        &job.back_office,
                        receipts,
                        &at,
                    )?
                }
                _ => crate::outbox::ended_after_row_gone(
                    &transaction,
                    job.row_id,
                    &job.case_id,
                    &job.back_office,
                    &at,
                )?,
            }
            continue;
        }
        match outcome {
            Outcome::Acknowledged(_, _) if job.follow_up.is_some() => {
                followed_up(&transaction, job)?
            }
            Outcome::Acknowledged(receipts, reconciled) => {
                acknowledge(&transaction, job, receipts, *reconciled)?
            }
            Outcome::Retry(after, reason) => reschedule(&transaction, job, *after, reason)?,
            Outcome::Pause(reason_zh, reason_en) => {
                pause(&transaction, job, probe, reason_zh, reason_en)?
            }
            Outcome::Quarantine(reason_zh, reason_en) => {
                quarantine(&transaction, job, reason_zh, reason_en)?
            }
        }
    }
    transaction.commit()?;
    Ok(())
}

/// The back office confirmed a withdrawal (the sub-case is `withdrawn`) or
/// took a supplement (the sub-case is `in_review` again): the row leaves.
fn followed_up(transaction: &rusqlite::Transaction, job: &Job) -> Result<(), CacheError> {
    let at = now().to_rfc3339();
    let supplement = job
        .follow_up
        .as_ref()
        .is_some_and(|follow_up| follow_up.supplement);
    let (state, action) = if supplement {
        ("in_review", "sync.supplemented")
    } else {
        ("withdrawn", "sync.withdrawn")
    };
    exec(
        transaction,
        "DELETE FROM outbox WHERE id = ?1",
        params![job.row_id],
    )?;
    // A withdrawal moves the sub-case only while it holds what was
    // withdrawn (after a reopening it may hold a new submission's receipt).
    let named = job
        .follow_up
        .as_ref()
        .map(|follow_up| follow_up.receipts.join(","))
        .unwrap_or_default();
    exec(
        transaction,
        "UPDATE sub_cases SET state = ?4, updated_at = ?2 WHERE case_id = ?1 AND back_office = ?3
           AND (?5 OR remote_receipt IS NULL OR remote_receipt = ?6)",
        params![job.case_id, at, job.back_office, state, supplement, named],
    )?;
    clear_pause(transaction, &job.back_office)?;
    audit::append(
        transaction,
        &at,
        "sync",
        action,
        &job.case_id,
        &json!({ "system": job.back_office }),
    )?;
    Ok(())
}

fn acknowledge(
    transaction: &rusqlite::Transaction,
    job: &Job,
    receipts: &[String],
    reconciled: bool,
) -> Result<(), CacheError> {
    let at = now().to_rfc3339();
    let case_id: Option<String> = transaction
        .query_row(
            "SELECT case_id FROM outbox WHERE id = ?1",
            params![job.row_id],
            |row| row.get(0),
        )
        .optional()?;
    let Some(case_id) = case_id else {
        return Ok(()); // already acknowledged by an earlier pass
    };
    exec(
        transaction,
        "DELETE FROM outbox WHERE id = ?1",
        params![job.row_id],
    )?;
    exec(
        transaction,
        "UPDATE sub_cases SET remote_receipt = ?1, state = 'submitted', updated_at = ?2 WHERE case_id = ?3 AND back_office = ?4",
        params![receipts.join(","), at, case_id, job.back_office],
    )?;
    exec(
        transaction,
        "INSERT INTO sync_state (back_office, last_success_at) VALUES (?1, ?2) ON CONFLICT (back_office) DO UPDATE SET last_success_at = excluded.last_success_at, last_error = NULL, paused_reason = NULL, paused_at = NULL, probe_at = NULL",
        params![job.back_office, at],
    )?;
    audit::append(
        transaction,
        &at,
        "sync",
        if reconciled {
            "sync.reconciled"
        } else {
            "sync.acknowledged"
        },
        &case_id,
        &json!({ "system": job.back_office, "action": job.action, "receipts": receipts }),
    )?;
    Ok(())
}

/// The system answered as one that takes the window (an acceptance, or a
/// refusal of one case's data): a pause ends.
fn clear_pause(transaction: &rusqlite::Transaction, system: &str) -> Result<(), CacheError> {
    exec(
        transaction,
        "UPDATE sync_state SET paused_reason = NULL, paused_at = NULL, probe_at = NULL WHERE back_office = ?1 AND paused_reason IS NOT NULL",
        params![system],
    )?;
    Ok(())
}

/// The system refused the window itself: it is paused (since the first such
/// answer), probed again after `probe`; the row waits, nothing quarantined.
fn pause(
    transaction: &rusqlite::Transaction,
    job: &Job,
    probe: Duration,
    reason_zh: &str,
    reason_en: &str,
) -> Result<(), CacheError> {
    let at = now();
    let interval =
        chrono::Duration::from_std(probe).unwrap_or_else(|_| chrono::Duration::seconds(60));
    let next = at + interval;
    let reason = json!({ "zh": reason_zh, "en": reason_en }).to_string();
    // The row that probed waits one interval more, so the next probe is
    // another row's: one answer for one case (a withdrawal the system does
    // not know) never holds up the system's other cases.
    exec(
        transaction,
        "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
        params![job.row_id, (next + interval).to_rfc3339(), reason_en],
    )?;
    let was_paused: bool = transaction
        .query_row(
            "SELECT paused_reason IS NOT NULL FROM sync_state WHERE back_office = ?1",
            params![job.back_office],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(false);
    exec(
        transaction,
        "INSERT INTO sync_state (back_office, last_error, paused_reason, paused_at, probe_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (back_office) DO UPDATE SET last_error = excluded.last_error, paused_reason = excluded.paused_reason,
           paused_at = coalesce(sync_state.paused_at, excluded.paused_at), probe_at = excluded.probe_at",
        params![job.back_office, reason_en, reason, at.to_rfc3339(), next.to_rfc3339()],
    )?;
    if !was_paused {
        audit::append(
            transaction,
            &at.to_rfc3339(),
            "sync",
            "sync.paused",
            &job.back_office,
            &json!({ "system": job.back_office, "reason": reason_en }),
        )?;
    }
    Ok(())
}

fn reschedule(
    transaction: &rusqlite::Transaction,
    job: &Job,
    after: Duration,
    reason: &str,
) -> Result<(), CacheError> {
    let next =
        now() + chrono::Duration::from_std(after).unwrap_or_else(|_| chrono::Duration::seconds(60));
    exec(transaction, "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1", params![job.row_id, next.to_rfc3339(), reason])?;
    exec(
        transaction,
        "INSERT INTO sync_state (back_office, last_error) VALUES (?1, ?2) ON CONFLICT (back_office) DO UPDATE SET last_error = excluded.last_error",
        params![job.back_office, reason],
    )?;
    Ok(())
}

fn quarantined_rows(connection: &Connection) -> Result<Vec<QuarantinedRow>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT o.id, o.case_id, c.case_number, o.back_office, o.attempts, o.last_error
         FROM outbox o JOIN cases c ON c.id = o.case_id
         WHERE o.quarantined = 1 ORDER BY o.id",
    )?;
    let rows = statement.query_map([], |row| {
        let reason: Option<String> = row.get(5)?;
        let reason: Value = reason
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        let text = |language: &str| reason[language].as_str().unwrap_or_default().to_owned();
        Ok(QuarantinedRow {
            row_id: row.get(0)?,
            case_id: row.get(1)?,
            case_number: row.get(2)?,
            system: row.get(3)?,
            attempts: row.get(4)?,
            reason_zh: text("zh"),
            reason_en: text("en"),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn quarantine(
    transaction: &rusqlite::Transaction,
    job: &Job,
    reason_zh: &str,
    reason_en: &str,
) -> Result<(), CacheError> {
    let at = now().to_rfc3339();
    let reason = json!({ "zh": reason_zh, "en": reason_en }).to_string();
    exec(
        transaction,
        "UPDATE outbox SET quarantined = 1, attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![job.row_id, reason],
    )?;
    // The system answered about this case's data: it takes the window.
    clear_pause(transaction, &job.back_office)?;
    let case_id: String = transaction.query_row(
        "SELECT case_id FROM outbox WHERE id = ?1",
        params![job.row_id],
        |row| row.get(0),
    )?;
    audit::append(
        transaction,
        &at,
        "sync",
        "sync.quarantined",
        &case_id,
        &json!({ "system": job.back_office, "row": job.row_id }),
    )?;
    Ok(())
}

/// The refusal for a row that is not among the refused ones.
fn not_quarantined(row_id: i64) -> CacheError {
    CacheError::Refused {
        code: "not_quarantined",
        message_zh: format!("第 {row_id} 条待发记录不在退回列表中（可能已重发）"),
        message_en: format!(
            "Outbox row {row_id} is not among the refused ones (it may have been sent again)"
        ),
    }
}

/// One field of a refused case, as a supervisor corrects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCorrection {
    pub item_id: String,
    pub field_id: String,
    pub value: Value,
}

fn correct_row(
    connection: &mut Connection,
    row_id: i64,
    corrections: &[FieldCorrection],
    note: &str,
    actor: &Actor,
) -> Result<(), CacheError> {
    if !matches!(actor.role, Role::Supervisor | Role::Admin) {
        return Err(CacheError::Refused {
            code: "not_allowed",
            message_zh: "只有值班长可以更正被退回的办件".into(),
            message_en: "Only a supervisor can correct a case a back office refused".into(),
        });
    }
    if corrections.is_empty() || note.trim().is_empty() {
        return Err(CacheError::Refused {
            code: "correction_incomplete",
            message_zh: "请填写要更正的字段和更正理由".into(),
            message_en: "Name the fields to correct and the reason".into(),
        });
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let case_id: Option<String> = transaction
        .query_row(
            "SELECT case_id FROM outbox WHERE id = ?1 AND quarantined = 1",
            params![row_id],
            |row| row.get(0),
        )
        .optional()?;
    let case_id = case_id.ok_or_else(|| not_quarantined(row_id))?;
    let at = now().to_rfc3339();
    let mut fields = Vec::new();
    for correction in corrections {
        let old: Option<String> = transaction
            .query_row(
                "SELECT value FROM field_values WHERE case_id = ?1 AND item_id = ?2 AND field_id = ?3",
                params![case_id, correction.item_id, correction.field_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(old) = old else {
            return Err(CacheError::Refused {
                code: "unknown_field",
                message_zh: format!(
                    "办件中没有事项 {} 的字段 {}",
                    correction.item_id, correction.field_id
                ),
                message_en: format!(
                    "The case has no field {} of item {}",
                    correction.field_id, correction.item_id
                ),
            });
        };
        let new = keep_kind(&old, &correction.value).to_string();
        exec(
            &transaction,
            "UPDATE field_values SET value = ?4 WHERE case_id = ?1 AND item_id = ?2 AND field_id = ?3",
            params![case_id, correction.item_id, correction.field_id, new],
        )?;
        exec(
            &transaction,
            "INSERT INTO corrections (case_id, item_id, field_id, old_value, new_value, corrected_by, corrected_at, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![case_id, correction.item_id, correction.field_id, old, new, actor.user_id, at, note],
        )?;
        fields.push(format!("{}.{}", correction.item_id, correction.field_id));
    }
    // The audit names what was corrected and by whom; the values stay in
    // the encrypted `corrections` table.
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        "case.corrected",
        &case_id,
        &json!({ "row": row_id, "fields": fields, "role": actor.role.as_str() }),
    )?;
    // Sent again in the same transaction: corrected and queued, or neither.
    requeue(&transaction, row_id, actor)?;
    transaction.commit()?;
    Ok(())
}

/// A corrected value as the field held it: text stays text (an ID number
/// or a postcode typed as digits must not become a number), a number or a
/// yes/no typed as text becomes one when the old value was one.
fn keep_kind(old: &str, new: &Value) -> Value {
    let old: Value = serde_json::from_str(old).unwrap_or(Value::Null);
    match (&old, new) {
        (Value::String(_), Value::Number(number)) => Value::String(number.to_string()),
        (Value::String(_), Value::Bool(flag)) => Value::String(flag.to_string()),
        (Value::Number(_), Value::String(text)) => text
            .trim()
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| new.clone()),
        (Value::Bool(_), Value::String(text)) => match text.trim() {
            "true" | "是" => Value::Bool(true),
            "false" | "否" => Value::Bool(false),
            _ => new.clone(),
        },
        _ => new.clone(),
    }
}

fn retry_row(connection: &mut Connection, row_id: i64, actor: &Actor) -> Result<(), CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    requeue(&transaction, row_id, actor)?;
    transaction.commit()?;
    Ok(())
}

/// A quarantined row back in the queue, audited under `actor`.
fn requeue(
    transaction: &rusqlite::Transaction,
    row_id: i64,
    actor: &Actor,
) -> Result<(), CacheError> {
    if !matches!(actor.role, Role::Clerk | Role::Supervisor | Role::Admin) {
        return Err(CacheError::Refused {
            code: "not_allowed",
            message_zh: "只有窗口人员、值班长或系统管理员可以重发被退回的办件".into(),
            message_en:
                "Only a clerk, a supervisor or an administrator can send a refused case again"
                    .into(),
        });
    }
    let case_id: Option<String> = transaction
        .query_row(
            "SELECT case_id FROM outbox WHERE id = ?1 AND quarantined = 1",
            params![row_id],
            |row| row.get(0),
        )
        .optional()?;
    let case_id = case_id.ok_or_else(|| not_quarantined(row_id))?;
    exec(
        transaction,
        "UPDATE outbox SET quarantined = 0, attempts = 0, next_attempt_at = NULL WHERE id = ?1",
        params![row_id],
    )?;
    audit::append(
        transaction,
        &now().to_rfc3339(),
        &actor.user_id,
        "sync.retried",
        &case_id,
        &json!({ "row": row_id, "role": actor.role.as_str() }),
    )?;
    Ok(())
}

/// `(sub-case id, receipts, state)` of sub-cases a system still works on.
fn open_receipts(
    connection: &Connection,
    system: &str,
) -> Result<Vec<(String, String, String)>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, remote_receipt, state FROM sub_cases WHERE back_office = ?1 AND remote_receipt IS NOT NULL AND state NOT IN ('result_ready')",
    )?;
    let rows = statement.query_map(params![system], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records a sub-case's new remote state and moves the case as far as all
/// its sub-cases allow.
fn apply_remote_state(
    connection: &mut Connection,
    sub_case_id: &str,
    state: &str,
    outcome: Option<&str>,
) -> Result<(), CacheError> {
    // One transaction: the sub-case's new state and the case's moves land
    // together, so a crash cannot leave the case behind its sub-cases.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = now().to_rfc3339();
    let case_id: String = transaction.query_row(
        "SELECT case_id FROM sub_cases WHERE id = ?1",
        params![sub_case_id],
        |row| row.get(0),
    )?;
    exec(
        &transaction,
        "UPDATE sub_cases SET state = ?2, updated_at = ?3, outcome = coalesce(?4, outcome) WHERE id = ?1",
        params![sub_case_id, state, at, outcome],
    )?;
    let refused_outcomes: i64 = transaction.query_row(
        "SELECT count(*) FROM sub_cases WHERE case_id = ?1 AND outcome = 'refused'",
        params![case_id],
        |row| row.get(0),
    )?;
    let states: Vec<String> = transaction
        .prepare_cached("SELECT state FROM sub_cases WHERE case_id = ?1")?
        .query_map(params![case_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = states.iter().map(String::as_str).collect();
    let any_refused = refs.contains(&"refused") || refused_outcomes > 0;
    let wanted: &[Event] = match least_advanced(&refs) {
        Some("in_review") => &[Event::BackOfficeReview],
        Some("supplement_requested") => &[Event::BackOfficeReview, Event::RequestSupplement],
        Some("approved" | "refused") if any_refused => {
            &[Event::BackOfficeReview, Event::RefuseResult]
        }
        Some("approved" | "refused") => &[Event::BackOfficeReview, Event::Approve],
        Some("result_ready") if any_refused => &[
            Event::BackOfficeReview,
            Event::RefuseResult,
            Event::ResultReady,
        ],
        Some("result_ready") => &[Event::BackOfficeReview, Event::Approve, Event::ResultReady],
        _ => &[],
    };
    for event in wanted {
        let current: String = transaction.query_row(
            "SELECT state FROM cases WHERE id = ?1",
            params![case_id],
            |row| row.get(0),
        )?;
        let current = CaseState::parse(&current)?;
        if crate::lifecycle::check_transition(current, *event, Role::System).is_ok() {
            crate::cases::apply_event(
                &transaction,
                &case_id,
                current,
                *event,
                &system_actor(),
                &at,
                None,
            )?;
        }
    }
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A corrected value keeps the kind the field held: an ID number or a
    /// postcode typed as digits stays text; a number typed as text becomes
    /// a number where the field held one.
    #[test]
    fn a_corrected_value_keeps_the_kind_of_the_field() {
        assert_eq!(
            keep_kind("\"34052419800101001X\"", &json!("11010519491231002X")),
            json!("11010519491231002X")
        );
        assert_eq!(keep_kind("\"430000\"", &json!(430071)), json!("430071"));
        assert_eq!(keep_kind("1000000", &json!("2000000")), json!(2000000));
        assert_eq!(keep_kind("true", &json!("否")), json!(false));
        assert_eq!(keep_kind("12", &json!("很多")), json!("很多"));
    }
}
