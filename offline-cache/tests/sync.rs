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
        case_numbers: offline_cache::numbering::NumberingRule::new("{hall}{yyyymmdd}{seq:6}")
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
            case_numbers: offline_cache::numbering::NumberingRule::new("{hall}{yyyymmdd}{seq:6}")
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
