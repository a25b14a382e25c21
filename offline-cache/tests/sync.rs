//! The sync engine against the simulated back offices over real HTTP on
//! 127.0.0.1, with a real SQLCipher store: exactly once through injected
//! faults (lost answers included), quarantine with a readable reason, and
//! results coming back as transitions.
//!
//! 10,000 cases across three systems (`ONEWINDOW_SYNC_CASES` to change).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backoffice_sim::{Config, Faults, Simulator, Submission};
use offline_cache::cases::{IntakeCommit, MaterialRecord};
use offline_cache::lifecycle::CaseState;
use offline_cache::sync::{SyncEngine, SyncSettings};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

fn forms_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms")
}

/// Filled values for one item of each system (valid for its standard).
fn samples() -> Vec<(&'static str, &'static str, Value)> {
    let pick = |item: &str| {
        backoffice_sim::sample_intakes()
            .into_iter()
            .find(|(id, _)| *id == item)
            .map(|(_, values)| values)
            .expect("a sample for the item")
    };
    vec![
        (
            "market-registration",
            "market.company-establishment",
            pick("market.company-establishment"),
        ),
        (
            "social-insurance",
            "human-resources.employer-social-insurance",
            pick("human-resources.employer-social-insurance"),
        ),
        (
            "construction-approval",
            "housing-construction.construction-permit",
            pick("housing-construction.construction-permit"),
        ),
    ]
}

fn intake_for(number: u64, system: &str, item: &str, values: &Value) -> IntakeCommit {
    let mut intake = sample::intake(
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
    intake.materials = Vec::<MaterialRecord>::new();
    intake
}

struct World {
    simulator: Simulator,
    store: Arc<CaseStore<Production>>,
    engine: Arc<SyncEngine>,
    client: reqwest::Client,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn world(faults: Option<Faults>) -> World {
    world_with(faults, Duration::from_secs(10)).await
}

async fn world_with(faults: Option<Faults>, request_timeout: Duration) -> World {
    offline_cache::sync::ensure_tls_provider();
    let sim_dir = tempfile::tempdir().unwrap();
    let mut config = Config::demo(&sim_dir.path().join("sim.db"));
    if let Some(faults) = faults {
        for system in backoffice_sim::System::all() {
            config.faults.insert(system.id().into(), faults.clone());
        }
    }
    let simulator = Simulator::start(config).await.unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    // Six-digit daily numbers: the long run takes 10,000 cases in one day.
    let options = StoreOptions {
        case_numbers: offline_cache::numbering::NumberingRule::new(
            "{hall}{window}{yyyymmdd}{seq:6}",
        )
        .unwrap(),
        ..StoreOptions::default()
    };
    let store = Arc::new(
        CaseStore::<Production>::open(store_dir.path(), &StoreKey::random(), options).unwrap(),
    );
    let catalog = forms::load_catalog(&forms_dir().join("catalog")).unwrap();
    let standards =
        forms::standards::load_standards(&forms_dir().join("standards"), &catalog).unwrap();
    // Tokens come from the key store (the mock store, on purpose), one
    // system left without one.
    let key_store: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    for system in standards
        .systems
        .keys()
        .filter(|system| *system != "utility-service")
    {
        offline_cache::key::save_backoffice_token(
            &key_store,
            system,
            &format!("demo-token-{system}"),
        )
        .unwrap();
    }
    let url = simulator.url();
    let (targets, without_token) =
        offline_cache::sync::targets_from_key_store(&standards, |_| url.clone(), &key_store)
            .unwrap();
    assert_eq!(without_token, ["utility-service"]);
    let settings = SyncSettings {
        per_system_concurrency: 8,
        request_timeout,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(400),
        pause_probe: Duration::from_millis(1_000),
    };
    let engine = Arc::new(SyncEngine::new(store.clone(), targets, settings).unwrap());
    World {
        simulator,
        store,
        engine,
        client: reqwest::Client::new(),
        _dirs: (sim_dir, store_dir),
    }
}

impl World {
    async fn submissions(&self) -> Vec<Submission> {
        self.client
            .get(format!("{}/admin/submissions", self.simulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_case_reaches_its_system_exactly_once_through_faults() {
    let total: u64 = forms::benchmark::count_from_environment("ONEWINDOW_SYNC_CASES", 10_000);
    let faults = Faults {
        server_error: 0.1,
        rate_limited: 0.05,
        retry_after_seconds: 1,
        reset: 0.05,
        lost_answer: 0.1,
        delay_ms: 0,
        // Held longer than the engine waits (1 s): timeouts, some of whose
        // submissions are committed after the engine gave up.
        stall: 0.01,
        stall_ms: 1_500,
        deduplicate_case_numbers: false,
        answer_status: 0,
        redirect_to: String::new(),
    };
    let world = world_with(Some(faults.clone()), Duration::from_secs(1)).await;
    // The market registration system is down (every request 500) for the
    // whole first half of the run.
    let set_faults = |faults: Faults| {
        let client = world.client.clone();
        let url = format!("{}/admin/faults/market-registration", world.simulator.url());
        async move {
            let answer = client.post(url).json(&faults).send().await.unwrap();
            assert!(answer.status().is_success());
        }
    };
    set_faults(Faults {
        server_error: 1.0,
        ..Faults::default()
    })
    .await;
    let samples = samples();
    let mut case_numbers = BTreeSet::new();
    for number in 0..total {
        let (system, item, values) = &samples[(number % 3) as usize];
        let case = world
            .store
            .record_intake(intake_for(number, system, item, values))
            .await
            .unwrap();
        assert_eq!(case.state, CaseState::Dispatched);
        case_numbers.insert(case.case_number);
    }
    let started = std::time::Instant::now();
    let drain = {
        let engine = world.engine.clone();
        tokio::spawn(async move { engine.drain_until_idle(Duration::from_secs(300)).await })
    };
    // Half the run: half the cases of the two systems that are up arrived.
    // Bounded: a drain that ends or stalls early fails here, never hangs.
    while (world.submissions().await.len() as u64) < total / 3 {
        assert!(
            !drain.is_finished(),
            "the drain ended before half the cases had arrived"
        );
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "half the cases did not arrive within 240 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let market_before = world
        .submissions()
        .await
        .iter()
        .filter(|submission| submission.system == "market-registration")
        .count();
    assert_eq!(
        market_before, 0,
        "nothing reached the system while it was down"
    );
    set_faults(faults).await;
    let report = drain.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    assert!(report.retried > 0, "faults were injected: {report:?}");
    assert_eq!(report.quarantined, 0, "{report:?}");
    assert!(
        world.store.outbox().await.unwrap().is_empty(),
        "everything acknowledged"
    );

    let stored = world.submissions().await;
    let unique: BTreeSet<_> = stored
        .iter()
        .filter_map(|submission| submission.case_number.clone())
        .collect();
    let duplicates = stored.len() - unique.len();
    let missing = case_numbers.difference(&unique).count();
    let figure = format!(
        "{total} cases, 500/429/reset/lost-answer/timeout faults, a system down half the run"
    );
    for (what, count) in [
        ("duplicates at the back office", duplicates),
        ("cases that never arrived", missing),
    ] {
        forms::benchmark::record(&forms::benchmark::BenchRow {
            group: "back-office faults",
            figure: &format!("{figure}: {what}"),
            value: &count.to_string(),
            baseline: "-",
            ratio: None,
            goal: "0",
            verdict: forms::benchmark::Verdict::of(Some(count == 0)),
        });
    }
    forms::benchmark::record(&forms::benchmark::BenchRow {
        group: "back-office faults",
        figure: &format!("{figure}: time to drain ({} retries)", report.retried),
        value: &format!("{:.1} s", elapsed.as_secs_f64()),
        baseline: "-",
        ratio: None,
        goal: "report",
        verdict: forms::benchmark::Verdict::Report,
    });
    assert_eq!(duplicates, 0, "exactly once at the back offices");
    assert_eq!(unique, case_numbers);
    assert_eq!(stored.len() as u64, total);
    let receipts: i64 = world
        .store
        .read(|connection| {
            Ok(connection.query_row(
                "SELECT count(*) FROM sub_cases WHERE remote_receipt IS NOT NULL",
                [],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(receipts as u64, total);
    assert!(world.store.verify_audit().unwrap().is_ok());
    let status = world.engine.status().await.unwrap();
    assert!(
        status
            .iter()
            .all(|system| system.pending == 0 && system.quarantined == 0),
        "{status:?}"
    );
    for (system, _, _) in &samples {
        let synced = status
            .iter()
            .find(|entry| entry.system == **system)
            .unwrap();
        assert!(synced.last_success_at.is_some(), "{status:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_the_system_rejects_is_quarantined_while_the_others_sync() {
    let world = world(None).await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let mut bad_values: Map<String, Value> = values.as_object().unwrap().clone();
    bad_values.insert(
        "legal_representative_id".into(),
        json!("34052419800101001X"),
    );
    let mut bad = intake_for(1, system, item, &Value::Object(bad_values));
    bad.applicant.profile.id_type = Some("990".into());
    let bad_case = world.store.record_intake(bad).await.unwrap();
    for number in 2..8 {
        let (system, item, values) = &samples[(number % 3) as usize];
        world
            .store
            .record_intake(intake_for(number, system, item, values))
            .await
            .unwrap();
    }
    let report = world
        .engine
        .drain_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert_eq!(report.acknowledged, 6, "{report:?}");
    let outbox = world.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].quarantined);
    assert_eq!(outbox[0].case_id, bad_case.id);
    let quarantined = world.engine.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].case_id, bad_case.id);
    assert_eq!(quarantined[0].system, *system);
    assert!(
        quarantined[0].reason_zh.contains("applicant.id_type"),
        "{quarantined:?}"
    );
    assert!(
        quarantined[0].reason_en.contains("applicant.idType"),
        "{quarantined:?}"
    );
    // Retrying without a correction quarantines it again; nothing is lost.
    world
        .engine
        .retry_quarantined(outbox[0].id, sample::clerk())
        .await
        .unwrap();
    let again = world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(again.quarantined, 1);
    assert_eq!(world.submissions().await.len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn results_on_the_back_office_arrive_as_transitions() {
    let world = world(None).await;
    let samples = samples();
    let mut ids = Vec::new();
    for number in 0..9 {
        let (system, item, values) = &samples[(number % 3) as usize];
        ids.push(
            world
                .store
                .record_intake(intake_for(number, system, item, values))
                .await
                .unwrap()
                .id,
        );
    }
    world
        .engine
        .drain_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    let receipt_of = |id: &str| {
        let id = id.to_owned();
        let store = world.store.clone();
        async move {
            store
                .read(move |connection| {
                    Ok(connection.query_row(
                        "SELECT remote_receipt FROM sub_cases WHERE case_id = ?1",
                        [id],
                        |row| row.get::<_, String>(0),
                    )?)
                })
                .await
                .unwrap()
        }
    };
    // An admin change on the back office arrives with the very next poll:
    // refused there → the poll shows it ready → the case goes
    // dispatched → in review → refused → result ready at once (the seeded
    // path alone needs three polls to get that far).
    let changed = world
        .client
        .post(format!(
            "{}/admin/receipts/{}/state",
            world.simulator.url(),
            receipt_of(&ids[0]).await
        ))
        .json(&json!({ "state": "refused" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    assert!(world.engine.poll_results().await.unwrap() >= 1);
    assert_eq!(
        world.store.case(&ids[0]).await.unwrap().state,
        CaseState::ResultReady
    );
    let refused: i64 = {
        let id = ids[0].clone();
        world
            .store
            .read(move |connection| {
                Ok(connection.query_row("SELECT count(*) FROM audit_log WHERE subject = ?1 AND action = 'case.refuse_result'", [id], |row| row.get(0))?)
            })
            .await
            .unwrap()
    };
    assert_eq!(refused, 1, "the refusal is a transition in the audit log");
    assert_eq!(
        world.store.case(&ids[1]).await.unwrap().state,
        CaseState::InReview,
        "one poll moves the others one step"
    );

    // The seeded review path brings the rest to a result or a supplement request.
    for _ in 0..3 {
        world.engine.poll_results().await.unwrap();
    }
    let mut states = Vec::new();
    for id in &ids {
        states.push(world.store.case(id).await.unwrap().state);
    }
    assert!(
        states.iter().all(|state| matches!(
            state,
            CaseState::ResultReady | CaseState::SupplementRequested
        )),
        "{states:?}"
    );
    assert!(world.store.verify_audit().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_syncing_process_mid_drain_still_gives_exactly_once() {
    let world = world(Some(Faults {
        lost_answer: 0.1,
        delay_ms: 2,
        ..Default::default()
    }))
    .await;
    let key = StoreKey::random();
    let store_dir = tempfile::tempdir().unwrap();
    // Kills after the first: 2 in the test run, ONEWINDOW_CRASH_ROUNDS in
    // the long one (with more cases, so the kills land during the drain).
    let kills: u64 = forms::benchmark::count_from_environment("ONEWINDOW_CRASH_ROUNDS", 2);
    let total = (kills * 20).max(600);
    {
        let options = StoreOptions {
            case_numbers: offline_cache::numbering::NumberingRule::new(
                "{hall}{window}{yyyymmdd}{seq:6}",
            )
            .unwrap(),
            ..StoreOptions::default()
        };
        let store = CaseStore::<Production>::open(store_dir.path(), &key, options).unwrap();
        let samples = samples();
        for number in 0..total {
            let (system, item, values) = &samples[(number % 3) as usize];
            store
                .record_intake(intake_for(number, system, item, values))
                .await
                .unwrap();
        }
    }
    let run = |kill_after: Option<u64>| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_store-exerciser"))
            .arg(store_dir.path())
            .arg(hex::encode(key.bytes()))
            .arg("sync")
            .arg(world.simulator.url())
            .arg(forms_dir())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        match kill_after {
            Some(milliseconds) => {
                std::thread::sleep(Duration::from_millis(milliseconds));
                child.kill().unwrap();
                child.wait().unwrap();
                String::new()
            }
            None => String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap(),
        }
    };
    run(Some(700));
    let after_first_kill = world.submissions().await.len() as u64;
    assert!(
        after_first_kill < total,
        "the kill came after the drain finished: make the drain slower"
    );
    let mut random = rand::rngs::StdRng::seed_from_u64(20261127);
    for _ in 0..kills {
        run(Some(random.random_range(150..900)));
    }
    let last = run(None);
    assert!(last.starts_with("drained"), "{last}");
    let stored = world.submissions().await;
    let distinct: BTreeSet<_> = stored
        .iter()
        .map(|submission| submission.case_number.clone())
        .collect();
    forms::benchmark::record(&forms::benchmark::BenchRow {
        group: "kill -9",
        figure: &format!(
            "kill -9 during sync, {} kills, {total} cases, 10% lost answers: duplicates at the back office",
            kills + 1
        ),
        value: &(stored.len() - distinct.len()).to_string(),
        baseline: "-",
        ratio: None,
        goal: "0",
        verdict: forms::benchmark::Verdict::of(Some(
            stored.len() == distinct.len() && distinct.len() as u64 == total,
        )),
    });
    assert_eq!(stored.len() as u64, total, "exactly once after the kills");
    assert_eq!(distinct.len() as u64, total);
    let store =
        CaseStore::<Production>::open(store_dir.path(), &key, StoreOptions::default()).unwrap();
    assert!(store.outbox().await.unwrap().is_empty());
    store.integrity_check().unwrap();
    assert!(store.verify_audit().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn look_ups_find_people_entities_and_licences_and_say_when_nothing_answers() {
    use offline_cache::sync::{Lookup, LookupOutcome};
    let world = world(None).await;
    let person = world
        .engine
        .look_up(&Lookup::Person {
            id_number: "34052419800101001X".into(),
        })
        .await;
    let LookupOutcome::Found(found) = person else {
        panic!("the registry's person was not found: {person:?}");
    };
    assert_eq!(found.record["name"], "张三");
    assert_eq!(found.source.as_deref(), Some("人口信息库（模拟）"));

    let entity = world
        .engine
        .look_up(&Lookup::Entity {
            credit_code: "91350100M000100Y43".into(),
        })
        .await;
    assert!(
        matches!(&entity, LookupOutcome::Found(found) if found.record["legalRepresentative"] == "张三"),
        "{entity:?}"
    );
    let licence = world
        .engine
        .look_up(&Lookup::Licence {
            number: "91350100M000100Y43".into(),
            kind: "business_licence".into(),
        })
        .await;
    assert!(matches!(licence, LookupOutcome::Found(_)), "{licence:?}");

    let unknown = world
        .engine
        .look_up(&Lookup::Person {
            id_number: "11010519491231002Y".into(),
        })
        .await;
    assert_eq!(unknown, LookupOutcome::NotFound);
    // No ID number travelled in an address (proxies and servers log them).
    let addresses: Vec<String> = world
        .client
        .get(format!("{}/admin/addresses", world.simulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!addresses.is_empty());
    assert!(
        addresses
            .iter()
            .all(|address| !address.contains("34052419800101001X")
                && !address.contains("11010519491231002Y")),
        "{addresses:?}"
    );

    // The back office gone: the window is told, and goes on.
    world.simulator.stop().await;
    let gone = world
        .engine
        .look_up(&Lookup::Person {
            id_number: "34052419800101001X".into(),
        })
        .await;
    assert!(
        matches!(gone, LookupOutcome::Unavailable { .. }),
        "{gone:?}"
    );
}

/// A store and its engine for one workstation of `window` at the simulator.
async fn workstation(
    simulator: &Simulator,
    options: StoreOptions,
) -> (
    Arc<CaseStore<Production>>,
    Arc<SyncEngine>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(CaseStore::<Production>::open(dir.path(), &StoreKey::random(), options).unwrap());
    let catalog = forms::load_catalog(&forms_dir().join("catalog")).unwrap();
    let standards =
        forms::standards::load_standards(&forms_dir().join("standards"), &catalog).unwrap();
    let key_store: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    for system in standards.systems.keys() {
        offline_cache::key::save_backoffice_token(
            &key_store,
            system,
            &format!("demo-token-{system}"),
        )
        .unwrap();
    }
    let url = simulator.url();
    let (targets, _) =
        offline_cache::sync::targets_from_key_store(&standards, |_| url.clone(), &key_store)
            .unwrap();
    let settings = SyncSettings {
        per_system_concurrency: 4,
        request_timeout: Duration::from_secs(10),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        pause_probe: Duration::from_millis(1_000),
    };
    let engine = Arc::new(SyncEngine::new(store.clone(), targets, settings).unwrap());
    (store, engine, dir)
}

/// Two workstations that (wrongly) share a window number issue the same
/// case number; a back office that de-duplicates on the case number answers
/// the second with the first one's receipt. That receipt must never be
/// attached to the second case: it is quarantined with a reason that names
/// the clash. The configured hall code is what the payload carries.
#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_for_another_case_is_never_taken_as_this_cases_receipt() {
    offline_cache::sync::ensure_tls_provider();
    let sim_dir = tempfile::tempdir().unwrap();
    let mut config = Config::demo(&sim_dir.path().join("sim.db"));
    config.faults.insert(
        "market-registration".into(),
        Faults {
            deduplicate_case_numbers: true,
            ..Faults::default()
        },
    );
    let simulator = Simulator::start(config).await.unwrap();
    let options = StoreOptions {
        hall_code: "420102".into(),
        window: "03".into(),
        agency: "江岸政务".into(),
        ..StoreOptions::default()
    };
    let (first_store, first_engine, _first_dir) = workstation(&simulator, options.clone()).await;
    let (second_store, second_engine, _second_dir) = workstation(&simulator, options).await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let first = first_store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    let second = second_store
        .record_intake(intake_for(2, system, item, values))
        .await
        .unwrap();
    assert_eq!(
        first.case_number, second.case_number,
        "the set-up clashes on purpose"
    );
    assert!(
        first.case_number.starts_with("42010203"),
        "{}",
        first.case_number
    );

    let report = first_engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(report.acknowledged, 1, "{report:?}");
    let report = second_engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert_eq!(report.acknowledged, 0, "{report:?}");

    let first_receipt = first_store.sub_cases_of(&first.id).await.unwrap()[0]
        .receipt
        .clone()
        .expect("the first case has its receipt");
    let second_sub = second_store.sub_cases_of(&second.id).await.unwrap();
    assert!(
        second_sub.iter().all(|sub| sub.receipt.is_none()),
        "another case's receipt was attached: {second_sub:?}"
    );
    let quarantined = second_engine.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert!(
        quarantined[0].reason_zh.contains(&second.case_number)
            && quarantined[0].reason_zh.contains(&first_receipt)
            && !quarantined[0].reason_zh.is_ascii(),
        "{quarantined:?}"
    );
    assert!(
        quarantined[0].reason_en.contains("numbering rule"),
        "{quarantined:?}"
    );

    // The payload carried the configured hall code, not the sample's.
    let sim = rusqlite::Connection::open(sim_dir.path().join("sim.db")).unwrap();
    let body: String = sim
        .query_row(
            "SELECT body FROM submissions WHERE system = 'market-registration'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["hallCode"], "420102", "{body}");
    simulator.stop().await;
}

fn supervisor() -> offline_cache::cases::Actor {
    offline_cache::cases::Actor {
        user_id: "supervisor-01".into(),
        role: offline_cache::lifecycle::Role::Supervisor,
    }
}

impl World {
    async fn set_faults(&self, system: &str, faults: Faults) {
        let answer = self
            .client
            .post(format!("{}/admin/faults/{system}", self.simulator.url()))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }

    async fn requests(&self, system: &str) -> u64 {
        let counts: Value = self
            .client
            .get(format!("{}/admin/requests", self.simulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        counts[system].as_u64().unwrap_or(0)
    }

    async fn terminate(&self, case_id: &str) {
        self.store
            .transition(
                case_id,
                offline_cache::lifecycle::Event::Terminate,
                supervisor(),
                chrono::Local::now().fixed_offset(),
                Some("容缺材料逾期未补".into()),
            )
            .await
            .unwrap();
    }

    /// What the back office holds for `case_number`: each submission's state.
    async fn held_for(&self, case_number: &str) -> Vec<String> {
        self.submissions()
            .await
            .into_iter()
            .filter(|submission| submission.case_number.as_deref() == Some(case_number))
            .map(|submission| submission.state)
            .collect()
    }
}

/// Terminated while its submission was being retried (the system down):
/// when the system is back, the submission is never sent; the withdrawal
/// (the first attempt may have arrived) is sent and the outbox is empty.
#[tokio::test(flavor = "multi_thread")]
async fn a_case_terminated_while_its_submission_is_retried_never_reaches_the_back_office() {
    let world = world(None).await;
    world
        .set_faults(
            "market-registration",
            Faults {
                server_error: 1.0,
                ..Faults::default()
            },
        )
        .await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let case = world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    let first = world.engine.drain().await.unwrap();
    assert_eq!(first.retried, 1, "{first:?}");
    world.terminate(&case.id).await;
    world
        .set_faults("market-registration", Faults::default())
        .await;
    world
        .engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    // The 500s came before the simulator took anything: it never had it.
    let held = world.held_for(&case.case_number).await;
    assert!(
        held.is_empty(),
        "a terminated case reached the back office: {held:?}"
    );
    assert!(world.store.outbox().await.unwrap().is_empty());
    let sub_cases = world.store.sub_cases_of(&case.id).await.unwrap();
    assert_eq!(sub_cases[0].state, "withdrawn", "{sub_cases:?}");
}

/// Terminated while the first attempt is in flight (the system answers
/// slowly): the acceptance that comes back is recorded, not dropped, and
/// the submission it accepted is withdrawn at the back office.
#[tokio::test(flavor = "multi_thread")]
async fn a_case_terminated_while_its_first_attempt_is_in_flight_is_withdrawn_at_the_back_office() {
    let world = world(None).await;
    world
        .set_faults(
            "market-registration",
            Faults {
                delay_ms: 1_500,
                ..Faults::default()
            },
        )
        .await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let case = world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    let drain = {
        let engine = world.engine.clone();
        tokio::spawn(async move { engine.drain().await.unwrap() })
    };
    // The request is out (its row marked as sent) before the answer comes.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let requests: Value = world
            .client
            .get(format!("{}/admin/requests", world.simulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if requests["total"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{requests}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    world.terminate(&case.id).await;
    let pass = drain.await.unwrap();
    assert_eq!(pass.acknowledged, 1, "{pass:?}");
    // The late acceptance was kept, with its receipt.
    let sub_cases = world.store.sub_cases_of(&case.id).await.unwrap();
    assert!(sub_cases[0].receipt.is_some(), "{sub_cases:?}");
    let timeline = world.store.case_timeline(&case.id).await.unwrap();
    assert!(
        format!("{timeline:?}").contains("sync.acknowledged_late"),
        "{timeline:?}"
    );
    world
        .set_faults("market-registration", Faults::default())
        .await;
    world
        .engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        world.held_for(&case.case_number).await,
        ["withdrawn"],
        "the accepted submission of a terminated case stayed at the back office"
    );
    assert!(world.store.outbox().await.unwrap().is_empty());
}

/// Terminated after the system took the submission but its answer was
/// lost: the withdrawal names the submission by its key, and the back
/// office withdraws it.
#[tokio::test(flavor = "multi_thread")]
async fn a_submission_whose_answer_was_lost_is_withdrawn_by_its_key() {
    let world = world(None).await;
    world
        .set_faults(
            "market-registration",
            Faults {
                lost_answer: 1.0,
                ..Faults::default()
            },
        )
        .await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let case = world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    let first = world.engine.drain().await.unwrap();
    assert_eq!(first.retried, 1, "{first:?}");
    assert_eq!(world.held_for(&case.case_number).await, ["submitted"]);
    world.terminate(&case.id).await;
    world
        .set_faults("market-registration", Faults::default())
        .await;
    world
        .engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(world.held_for(&case.case_number).await, ["withdrawn"]);
    assert!(world.store.outbox().await.unwrap().is_empty());
}

/// A system that refuses the window itself (an expired token: 401) pauses:
/// nothing is quarantined, the cases wait, the administrator reads why, one
/// request probes it now and then; once it answers again every case goes.
#[tokio::test(flavor = "multi_thread")]
async fn a_system_that_refuses_the_window_itself_is_paused_and_its_cases_wait() {
    for status in [401_u16, 403, 404] {
        let world = world(None).await;
        world
            .set_faults(
                "market-registration",
                Faults {
                    answer_status: status,
                    ..Faults::default()
                },
            )
            .await;
        let samples = samples();
        let (system, item, values) = &samples[0];
        for number in 0..5 {
            world
                .store
                .record_intake(intake_for(number, system, item, values))
                .await
                .unwrap();
        }
        let first = world.engine.drain().await.unwrap();
        assert_eq!(first.quarantined, 0, "{status}: {first:?}");
        assert!(first.paused >= 1, "{status}: {first:?}");
        // Within the probe interval nothing more is sent to it.
        let requests_before = world.requests("market-registration").await;
        for _ in 0..3 {
            world.engine.drain().await.unwrap();
        }
        assert_eq!(
            world.requests("market-registration").await,
            requests_before,
            "{status}: a paused system is not hammered"
        );
        let status_now = world.engine.status().await.unwrap();
        let market = status_now
            .iter()
            .find(|one| one.system == "market-registration")
            .unwrap();
        assert_eq!(market.pending, 5, "{status}: {market:?}");
        assert_eq!(market.quarantined, 0, "{status}: {market:?}");
        let paused = market.paused.as_ref().expect("paused");
        assert!(paused.reason_zh.contains(&status.to_string()), "{paused:?}");
        assert!(paused.reason_en.contains("administrator"), "{paused:?}");
        assert!(world.engine.quarantined().await.unwrap().is_empty());
        // Mended: the next probe finds it working, and everything goes.
        world
            .set_faults("market-registration", Faults::default())
            .await;
        let report = world
            .engine
            .drain_until_idle(Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(report.acknowledged, 5, "{status}: {report:?}");
        let market = world
            .engine
            .status()
            .await
            .unwrap()
            .into_iter()
            .find(|one| one.system == "market-registration")
            .unwrap();
        assert_eq!(market.paused, None);
        assert_eq!(market.pending, 0);
    }
}

/// A supervisor corrects a refused case's field (old and new value kept in
/// the store, the audit naming the field only) and it goes; "send all
/// again" puts every refused case of a system back in the queue.
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_corrects_a_refused_case_and_sends_it_again() {
    let world = world(None).await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let mut bad_values: Map<String, Value> = values.as_object().unwrap().clone();
    let good = bad_values["registered_capital"].clone();
    bad_values.insert("registered_capital".into(), json!("一百万"));
    let case = world
        .store
        .record_intake(intake_for(1, system, item, &Value::Object(bad_values)))
        .await
        .unwrap();
    let report = world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    let row = world.engine.quarantined().await.unwrap()[0].row_id;
    // A clerk may not change a committed case's data.
    let refused = world
        .engine
        .correct_and_retry(
            row,
            vec![offline_cache::sync::FieldCorrection {
                item_id: item.to_string(),
                field_id: "registered_capital".into(),
                value: good.clone(),
            }],
            "申请书填写为 100 万元".into(),
            sample::clerk(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "not_allowed");
    world
        .engine
        .correct_and_retry(
            row,
            vec![offline_cache::sync::FieldCorrection {
                item_id: item.to_string(),
                field_id: "registered_capital".into(),
                value: good.clone(),
            }],
            "申请书填写为 100 万元".into(),
            supervisor(),
        )
        .await
        .unwrap();
    let report = world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(report.acknowledged, 1, "{report:?}");
    let values = world.store.case_values(&case.id).await.unwrap();
    assert_eq!(values[*item]["registered_capital"], good);
    let timeline = world.store.case_timeline(&case.id).await.unwrap();
    let corrected = timeline
        .iter()
        .find(|entry| entry.action == "case.corrected")
        .expect("the correction is audited");
    assert_eq!(corrected.actor, "supervisor-01");
    let kept: (String, String) =
        world
            .store
            .read(move |connection| {
                Ok(connection.query_row(
                    "SELECT old_value, new_value FROM corrections",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?)
            })
            .await
            .unwrap();
    assert_eq!(kept.0, "\"一百万\"");
    assert_eq!(kept.1, good.to_string());

    // Send all again: two refused cases of the system go back at once.
    for number in 2..4 {
        let mut bad_values: Map<String, Value> = values[*item].clone();
        bad_values.insert("registered_capital".into(), json!("很多"));
        world
            .store
            .record_intake(intake_for(number, system, item, &Value::Object(bad_values)))
            .await
            .unwrap();
    }
    world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(world.engine.quarantined().await.unwrap().len(), 2);
    let again = world
        .engine
        .retry_all_quarantined(system.to_string(), supervisor())
        .await
        .unwrap();
    assert_eq!(again, 2);
    assert_eq!(
        world
            .store
            .outbox()
            .await
            .unwrap()
            .iter()
            .filter(|row| !row.quarantined)
            .count(),
        2
    );
}

/// A back office asks for more materials: the case shows it
/// (supplement_requested), the clerk records them at the window, the
/// supplement is sent, the back office takes the case up again and decides
/// it; the row does not wait in the outbox for ever.
#[tokio::test(flavor = "multi_thread")]
async fn materials_asked_for_reach_the_back_office_and_the_case_goes_on() {
    let world = world(None).await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let case = world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    let receipt = world.store.sub_cases_of(&case.id).await.unwrap()[0]
        .receipt
        .clone()
        .unwrap();
    for state in ["supplement_requested"] {
        let answer = world
            .client
            .post(format!(
                "{}/admin/receipts/{receipt}/state",
                world.simulator.url()
            ))
            .json(&json!({ "state": state }))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
        world.engine.poll_results().await.unwrap();
    }
    assert_eq!(
        world.store.case(&case.id).await.unwrap().state,
        CaseState::SupplementRequested
    );
    world
        .store
        .transition(
            &case.id,
            offline_cache::lifecycle::Event::Supplement,
            sample::clerk(),
            chrono::Local::now().fixed_offset(),
            Some("补正股东会决议原件".into()),
        )
        .await
        .unwrap();
    let outbox = world.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].action, "supplement");
    let report = world
        .engine
        .drain_until_idle(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(report.acknowledged, 1, "{report:?}");
    assert!(world.store.outbox().await.unwrap().is_empty());
    assert_eq!(world.held_for(&case.case_number).await, ["in_review"]);
    // Taken up again, it is decided (materials are asked for once).
    for _ in 0..3 {
        world.engine.poll_results().await.unwrap();
    }
    assert_eq!(world.held_for(&case.case_number).await, ["result_ready"]);
    let state = world.store.case(&case.id).await.unwrap().state;
    assert!(
        !matches!(state, CaseState::SupplementRequested | CaseState::InReview),
        "{state:?}"
    );
}

/// A back office (or a proxy before it) that redirects to plain http: the
/// redirect is not followed (the case would travel in clear), nothing is
/// quarantined, and the system is paused with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_plain_http_is_refused_and_pauses_the_system() {
    let world = world(None).await;
    world
        .set_faults(
            "market-registration",
            Faults {
                // Never contacted: the redirect is refused before any
                // connection is made.
                redirect_to: "http://backoffice.example/market/api/v1/applications".into(),
                ..Faults::default()
            },
        )
        .await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    let report = world.engine.drain().await.unwrap();
    assert_eq!(report.paused, 1, "{report:?}");
    assert_eq!(report.quarantined, 0, "{report:?}");
    let market = world
        .engine
        .status()
        .await
        .unwrap()
        .into_iter()
        .find(|one| one.system == "market-registration")
        .unwrap();
    let paused = market.paused.expect("paused");
    assert!(paused.reason_en.contains("plain http"), "{paused:?}");
    assert!(world.submissions().await.is_empty());
}

/// Terminated after the back office took the submission but its answer was
/// lost, then reopened before the withdrawal went: the case is sent again
/// under its first submission's key, so the back office answers with the
/// receipt it already gave; the case is at the back office once, and the
/// window holds its receipt (it was left with neither).
#[tokio::test(flavor = "multi_thread")]
async fn a_case_reopened_before_its_withdrawal_left_reaches_the_back_office_once() {
    use offline_cache::sign_offs::RequestKind;
    let world = world(None).await;
    world
        .set_faults(
            "market-registration",
            Faults {
                lost_answer: 1.0,
                ..Faults::default()
            },
        )
        .await;
    let samples = samples();
    let (system, item, values) = &samples[0];
    let case = world
        .store
        .record_intake(intake_for(1, system, item, values))
        .await
        .unwrap();
    world.engine.drain().await.unwrap();
    assert_eq!(world.held_for(&case.case_number).await, ["submitted"]);
    world.terminate(&case.id).await;
    let asked = world
        .store
        .request_sign_off(
            RequestKind::Reopen,
            Some(case.id.clone()),
            None,
            "申请人补齐材料".into(),
            json!({}),
            sample::clerk(),
            chrono::Local::now().fixed_offset(),
        )
        .await
        .unwrap();
    world
        .store
        .decide_sign_off(
            asked.id,
            true,
            None,
            supervisor(),
            chrono::Local::now().fixed_offset(),
        )
        .await
        .unwrap();
    world
        .set_faults("market-registration", Faults::default())
        .await;
    world
        .engine
        .drain_until_idle(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(world.held_for(&case.case_number).await, ["submitted"]);
    let sub_cases = world.store.sub_cases_of(&case.id).await.unwrap();
    assert!(sub_cases[0].receipt.is_some(), "{sub_cases:?}");
    assert!(world.store.outbox().await.unwrap().is_empty());
}
