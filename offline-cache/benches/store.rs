//! The store benchmark: prints one table of figures beside baselines
//! measured in the same run.
//!
//! - intake commit (50 fields, 10 materials, audit entry, outbox rows, one
//!   transaction) p50/p99 against one 4 KiB write + fsync on the same disk
//!   (goal: commit ≤ 2 × fsync);
//! - draft autosave p50/p99 against the same fsync;
//! - with 1,000,000 synthetic cases (`ONEWINDOW_BENCH_CASES` to change):
//!   this window's cases for a day, and look-up by ID number (goal < 20 ms
//!   each), against reading one case by its id;
//! - opening the encrypted store against opening a plain file.
//!
//! Run: `cargo bench -p offline_cache`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use offline_cache::cases::{cases_by_identifier, cases_for_window_day, record_intake};
use offline_cache::drafts::{save_draft, DraftSave};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};
use rusqlite::params;

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * fraction).round() as usize]
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{:.2} ms", micros / 1000.0)
    }
}

struct Row {
    figure: String,
    value: Duration,
    baseline: Duration,
    goal: Goal,
}

enum Goal {
    Report,
    AtMostTimesBaseline(f64),
    Below(Duration),
}

fn main() {
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap())
        .expect("a folder on the project's disk");
    let key = StoreKey::random();
    let store = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default()).unwrap();
    let now = || chrono::Local::now().fixed_offset();
    let mut rows = Vec::new();

    // The disk's own fsync latency.
    let mut fsync = Vec::new();
    let mut file = std::fs::File::create(dir.path().join("fsync-probe")).unwrap();
    for _ in 0..200 {
        let start = Instant::now();
        file.write_all(&[7u8; 4096]).unwrap();
        file.sync_all().unwrap();
        fsync.push(start.elapsed());
    }

    let mut commits = Vec::new();
    for number in 0..300u64 {
        let intake = sample::intake(&uuid::Uuid::new_v4().to_string(), number, now(), 50, 10);
        let options = StoreOptions::default();
        let start = Instant::now();
        store
            .write_blocking(move |connection| record_intake(connection, &options, &intake))
            .unwrap();
        commits.push(start.elapsed());
    }
    let mut saves = Vec::new();
    for number in 0..300u64 {
        let draft = DraftSave {
            id: format!("draft-{}", number % 5),
            clerk_id: "clerk-01".into(),
            window: "01".into(),
            bundle_id: None,
            item_versions: BTreeMap::from([("market.company-establishment".to_owned(), 3)]),
            content: serde_json::json!({ "values": { "entity_name": format!("武汉示例{number}有限公司") }, "cursor": "entity_name" }),
            at: now(),
        };
        let start = Instant::now();
        store
            .write_blocking(move |connection| save_draft(connection, &draft))
            .unwrap();
        saves.push(start.elapsed());
    }
    // The same commits without waiting for the disk: what the CPU costs.
    store
        .write_blocking(|connection| Ok(connection.pragma_update(None, "synchronous", "OFF")?))
        .unwrap();
    let mut unsynced = Vec::new();
    for number in 0..300u64 {
        let intake = sample::intake(
            &uuid::Uuid::new_v4().to_string(),
            10_000 + number,
            now(),
            50,
            10,
        );
        let options = StoreOptions::default();
        let start = Instant::now();
        store
            .write_blocking(move |connection| record_intake(connection, &options, &intake))
            .unwrap();
        unsynced.push(start.elapsed());
    }
    rows.push(Row {
        figure: "intake commit without fsync p50 (diagnostic; baseline: one fsync)".into(),
        value: percentile(&mut unsynced, 0.5),
        baseline: percentile(&mut fsync, 0.5),
        goal: Goal::Report,
    });
    for (label, fraction) in [("p50", 0.5), ("p99", 0.99)] {
        let disk = percentile(&mut fsync, fraction);
        rows.push(Row {
            figure: format!(
                "intake commit (50 fields, 10 materials) {label} (baseline: one fsync)"
            ),
            value: percentile(&mut commits, fraction),
            baseline: disk,
            goal: Goal::AtMostTimesBaseline(2.0),
        });
        rows.push(Row {
            figure: format!("draft autosave {label} (baseline: one fsync)"),
            value: percentile(&mut saves, fraction),
            baseline: disk,
            goal: Goal::Report,
        });
    }
    drop(store);

    // A large store: synthetic cases spread over a year and 20 windows.
    let total: u64 = forms::benchmark::count_from_environment("ONEWINDOW_BENCH_CASES", 1_000_000);
    let large = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let store = CaseStore::<Production>::open(large.path(), &key, StoreOptions::default()).unwrap();
    let fill_started = Instant::now();
    store
        .write_blocking(move |connection| {
            let transaction = connection.transaction()?;
            {
                let mut applicant = transaction.prepare("INSERT INTO applicants (id, kind, identifier_type, identifier, name, profile, created_at, updated_at) VALUES (?1, 'natural_person', '111', ?2, ?3, '{}', '2026-01-01', '2026-01-01')")?;
                let mut case = transaction.prepare(
                    "INSERT INTO cases (id, case_number, category, item_versions, applicant_id, applicant_name, window, clerk_id, state, created_at, created_day, updated_at) VALUES (?1, ?2, 'economic', '{\"market.company-establishment\":3}', ?3, ?7, ?4, 'clerk', 'dispatched', ?5, ?6, ?5)",
                )?;
                let applicants = total / 4 + 1;
                for number in 0..applicants {
                    applicant.execute(params![format!("a{number}"), sample::resident_id(number), format!("申请人{number}")])?;
                }
                // Cases arrive in time order, as at a hall: a year of days,
                // twenty windows taking turns within each day.
                let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
                let per_day = total.div_ceil(365);
                for number in 0..total {
                    let day = start + chrono::Days::new(number / per_day);
                    let seconds = (number % per_day) * 28_800 / per_day;
                    case.execute(params![
                        format!("c{number:08}"),
                        format!("N{number:010}"),
                        format!("a{}", number % applicants),
                        format!("{:02}", number % 20),
                        format!("{day}T{:02}:{:02}:{:02}+08:00", 8 + seconds / 3600, seconds / 60 % 60, seconds % 60),
                        day.to_string(),
                        format!("申请人{}", number % applicants),
                    ])?;
                }
            }
            transaction.commit()?;
            Ok(())
        })
        .unwrap();
    let fill = fill_started.elapsed();
    let mut by_id = Vec::new();
    let mut window_day = Vec::new();
    let mut identifier = Vec::new();
    for number in 0..200u64 {
        let id = format!("c{:08}", (number * 4_999) % total);
        let start = Instant::now();
        black_box(
            store
                .read_blocking(|connection| offline_cache::cases::case(connection, &id))
                .unwrap(),
        );
        by_id.push(start.elapsed());
        let day = (chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
            + chrono::Days::new(number % 365))
        .to_string();
        let window = format!("{:02}", number % 20);
        let start = Instant::now();
        black_box(
            store
                .read_blocking(|connection| cases_for_window_day(connection, &window, &day))
                .unwrap(),
        );
        window_day.push(start.elapsed());
        let person = sample::resident_id((number * 31) % (total / 4 + 1));
        let start = Instant::now();
        black_box(
            store
                .read_blocking(|connection| cases_by_identifier(connection, &person))
                .unwrap(),
        );
        identifier.push(start.elapsed());
    }
    for (label, fraction) in [("p50", 0.5), ("p99", 0.99)] {
        let baseline = percentile(&mut by_id, fraction);
        rows.push(Row {
            figure: format!(
                "{total} cases: window's cases of a day {label} (baseline: one case by id)"
            ),
            value: percentile(&mut window_day, fraction),
            baseline,
            goal: Goal::Below(Duration::from_millis(20)),
        });
        rows.push(Row {
            figure: format!("{total} cases: cases by ID number {label} (baseline: one case by id)"),
            value: percentile(&mut identifier, fraction),
            baseline,
            goal: Goal::Below(Duration::from_millis(20)),
        });
    }
    drop(store);

    // Opening: the encrypted store against a plain SQLite file.
    let mut open = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        black_box(
            CaseStore::<Production>::open(large.path(), &key, StoreOptions::default()).unwrap(),
        );
        open.push(start.elapsed());
    }
    let plain_path = dir.path().join("plain.db");
    rusqlite::Connection::open(&plain_path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let mut plain = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let connection = rusqlite::Connection::open(&plain_path).unwrap();
        black_box(
            connection
                .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                    row.get::<_, i64>(0)
                })
                .unwrap(),
        );
        plain.push(start.elapsed());
    }
    rows.push(Row {
        figure: format!(
            "open the encrypted store ({total} cases, median; baseline: plain SQLite open)"
        ),
        value: percentile(&mut open, 0.5),
        baseline: percentile(&mut plain, 0.5),
        goal: Goal::Report,
    });
    rows.push(Row {
        figure: format!("fill {total} synthetic cases (one transaction; baseline: one fsync)"),
        value: fill,
        baseline: percentile(&mut fsync, 0.5),
        goal: Goal::Report,
    });

    let mut table = forms::benchmark::Table::start();
    for row in &rows {
        let ratio = row.value.as_secs_f64() / row.baseline.as_secs_f64().max(1e-12);
        let (goal, pass) = match row.goal {
            Goal::Report => ("report".to_owned(), None),
            Goal::AtMostTimesBaseline(times) => (format!("<= {times}x"), Some(ratio <= times)),
            Goal::Below(limit) => (format!("< {}", show(limit)), Some(row.value < limit)),
        };
        table.row(&forms::benchmark::BenchRow {
            group: "store",
            figure: &row.figure,
            value: &show(row.value),
            baseline: &show(row.baseline),
            ratio: Some(ratio),
            goal: &goal,
            verdict: forms::benchmark::Verdict::of(pass),
        });
    }
    table.finish();
}
