//! The sync benchmark: drains 10,000 cases (`ONEWINDOW_BENCH_SYNC_CASES`)
//! to the simulated back offices, which add 20 ms to every answer, and
//! prints the throughput beside its limit measured in the same run
//! (concurrency ÷ round-trip time, the round trip measured on one request)
//! with the goal ≥ 80 % of the limit, and the CPU time per case of this
//! process (the simulator runs in a process of its own).
//!
//! Run: `cargo bench -p offline_cache --bench sync` (builds the simulator first).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offline_cache::sync::{SyncEngine, SyncSettings, Target};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};
use serde_json::json;

fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[tokio::main]
async fn main() {
    offline_cache::sync::ensure_tls_provider();
    let total: u64 = forms::benchmark::count_from_environment("ONEWINDOW_BENCH_SYNC_CASES", 10_000);
    let latency = Duration::from_millis(20);
    let concurrency = 16usize;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-q", "-p", "backoffice-sim"])
        .status()
        .expect("cargo builds the simulator");
    assert!(status.success());
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut simulator = Command::new(target_dir.join("release/backoffice-sim"))
        .args(["--port", &port.to_string(), "--database"])
        .arg(work.path().join("sim.db"))
        .args(["--delay-ms", &latency.as_millis().to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("the simulator starts");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{url}/admin/requests"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the simulator did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let options = StoreOptions {
        case_numbers: offline_cache::numbering::NumberingRule::new(
            "{hall}{window}{yyyymmdd}{seq:6}",
        )
        .unwrap(),
        ..StoreOptions::default()
    };
    let store = Arc::new(
        CaseStore::<Production>::open(&work.path().join("store"), &StoreKey::random(), options)
            .unwrap(),
    );
    let values = json!({
        "entity_name": "福州示例科技有限公司", "credit_code": "91350100M000100Y43", "employee_count": 1,
        "employees": [{ "name": "王五", "id_number": "440304200002291236", "monthly_wage": "6500.00" }]
    });
    for number in 0..total {
        let mut intake = sample::intake(
            &uuid::Uuid::new_v4().to_string(),
            number,
            chrono::Local::now().fixed_offset(),
            0,
            0,
        );
        intake.values = BTreeMap::from([(
            "human-resources.employer-social-insurance".to_owned(),
            values.as_object().unwrap().clone(),
        )]);
        intake.item_versions =
            BTreeMap::from([("human-resources.employer-social-insurance".to_owned(), 1)]);
        intake.sub_cases = BTreeMap::from([(
            "social-insurance".to_owned(),
            vec!["human-resources.employer-social-insurance".to_owned()],
        )]);
        store.record_intake(intake).await.unwrap();
    }
    let forms_dir = root.join("forms");
    let catalog = forms::load_catalog(&forms_dir.join("catalog")).unwrap();
    let standards =
        forms::standards::load_standards(&forms_dir.join("standards"), &catalog).unwrap();
    let targets = standards
        .systems
        .into_iter()
        .map(|(system, standard)| {
            (
                system.clone(),
                Target {
                    base_url: url.clone(),
                    token: format!("demo-token-{system}"),
                    standard,
                },
            )
        })
        .collect();
    let settings = SyncSettings {
        per_system_concurrency: concurrency,
        ..SyncSettings::default()
    };
    let engine = SyncEngine::new(store.clone(), targets, settings).unwrap();

    // The round trip of one request, measured now.
    let mut round_trips = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        client
            .post(format!("{url}/si/api/submissions/status"))
            .bearer_auth("demo-token-social-insurance")
            .json(&json!({ "receipts": [] }))
            .send()
            .await
            .unwrap();
        round_trips.push(start.elapsed());
    }
    round_trips.sort();
    let round_trip = round_trips[round_trips.len() / 2];

    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let report = engine
        .drain_until_idle(Duration::from_secs(600))
        .await
        .unwrap();
    let elapsed = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(report.acknowledged as u64, total, "{report:?}");
    let _ = simulator.kill();
    let _ = simulator.wait();

    let throughput = total as f64 / elapsed.as_secs_f64();
    let limit = concurrency as f64 / round_trip.as_secs_f64();
    let share = throughput / limit;
    let drained = format!(
        "drain {total} cases, concurrency {concurrency}, +{} ms (baseline: the limit)",
        latency.as_millis()
    );
    let mut table = forms::benchmark::Table::start();
    table.row(&forms::benchmark::BenchRow {
        group: "sync",
        figure: &drained,
        value: &format!("{throughput:.0}/s"),
        baseline: &format!("{limit:.0}/s"),
        ratio: Some(share),
        goal: ">= 0.80x",
        verdict: forms::benchmark::Verdict::of(Some(share >= 0.8)),
    });
    table.row(&forms::benchmark::BenchRow {
        group: "sync",
        figure: "CPU time per case (this process: store, mapping, HTTP)",
        value: &format!("{:.1} µs", cpu / total as f64 * 1e6),
        baseline: "-",
        ratio: None,
        goal: "report",
        verdict: forms::benchmark::Verdict::Report,
    });
    table.row(&forms::benchmark::BenchRow {
        group: "sync",
        figure: "round trip of one request (measured)",
        value: &format!("{:.1} ms", round_trip.as_secs_f64() * 1e3),
        baseline: "-",
        ratio: None,
        goal: "report",
        verdict: forms::benchmark::Verdict::Report,
    });
    table.finish();
}
