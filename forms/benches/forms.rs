//! The forms benchmark: prints one table of figures, each beside a baseline
//! measured in the same run, with the ratio and the goal.
//!
//! - search over the 1,100-item synthetic catalogue, p50 and p99 per query
//!   kind, against a plain substring scan of every field (goal: p99 < 1 ms
//!   and at least 10× faster than the scan);
//! - validating a 300-field form with a 100-row repeat group (goal: < 5 ms),
//!   against parsing the same values from JSON;
//! - loading and validating the 1,100-item catalogue, against parsing its
//!   TOML files alone.
//!
//! Run: `cargo bench -p forms` (optimised build).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use forms::search::SearchIndex;

struct Row {
    figure: String,
    value: Duration,
    baseline: Duration,
    goal: Option<Goal>,
}

enum Goal {
    Below(Duration),
    Both(Duration, f64),
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[index]
}

fn time<F: FnMut()>(runs: usize, mut work: F) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect()
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{:.2} ms", micros / 1000.0)
    }
}

fn main() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let work = tempfile::tempdir().expect("temporary folder");
    let generated = work.path().join("generated");
    forms::generator::write_catalog(&sample, &generated, 1100, 42).expect("generated catalogue");
    let mut rows = Vec::new();

    // Loading and validating the catalogue, against parsing its TOML alone.
    let load = time(7, || {
        black_box(forms::load_catalog(&generated).expect("the generated catalogue loads"));
    });
    let texts: Vec<String> = std::fs::read_dir(generated.join("items"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let parse = time(7, || {
        for text in &texts {
            black_box(text.parse::<toml::Table>().unwrap());
        }
    });
    rows.push(Row {
        figure: "load + validate 1,100 items (median; baseline: TOML parse only)".into(),
        value: percentile(&mut load.clone(), 0.5),
        baseline: percentile(&mut parse.clone(), 0.5),
        goal: None,
    });

    // Search.
    let catalog = forms::load_catalog(&generated).unwrap();
    let index = SearchIndex::build(&catalog);
    let codes: Vec<String> = catalog
        .items
        .iter()
        .step_by(37)
        .map(|item| item.handling_code.clone())
        .collect();
    let prefixes: Vec<String> = catalog
        .items
        .iter()
        .step_by(53)
        .map(|item| item.basic_code[..9].to_owned())
        .collect();
    let kinds: Vec<(&str, Vec<String>)> = vec![
        ("exact code", codes),
        ("code prefix", prefixes),
        (
            "initials",
            ["spjyxkz", "ylkzyxkz", "tzsb", "rlzyfw", "bdcdy", "jzyqyzz"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "full pinyin",
            [
                "shipinjingying",
                "yishizhiye",
                "huhu",
                "budongchan",
                "jianzhuye",
                "shuiwuzhuxiao",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "Chinese text",
            [
                "许可证",
                "执业注册",
                "登记",
                "不动产抵押",
                "食品小作坊",
                "遗失补领",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "department",
            ["卫生健康", "公安分局", "市场监督"]
                .map(String::from)
                .to_vec(),
        ),
    ];
    for (kind, queries) in &kinds {
        let repeat = 2000 / queries.len();
        let mut fast = Vec::new();
        let mut slow = Vec::new();
        for _ in 0..repeat {
            for query in queries {
                fast.extend(time(1, || {
                    black_box(index.search(query, 20));
                }));
                slow.extend(time(1, || {
                    black_box(index.scan(query, 20));
                }));
            }
        }
        for (label, fraction) in [("p50", 0.5), ("p99", 0.99)] {
            rows.push(Row {
                figure: format!("search {kind} {label} (baseline: substring scan)"),
                value: percentile(&mut fast, fraction),
                baseline: percentile(&mut slow, fraction),
                goal: (label == "p99").then_some(Goal::Both(Duration::from_millis(1), 10.0)),
            });
        }
    }

    // The large form.
    let large = work.path().join("large");
    let values = forms::generator::write_large_form(&sample, &large, 300, 100).unwrap();
    let large_catalog = forms::load_catalog(&large).unwrap();
    let item = large_catalog.item("generated.large-form").unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let profile = forms::form::ApplicantProfile::default();
    let mut validate = time(200, || {
        let report = forms::form::validate(&large_catalog, &item.fields, &values, &profile, today);
        assert!(report.is_valid());
        black_box(report);
    });
    let json = serde_json::to_string(&values).unwrap();
    let mut read = time(200, || {
        black_box(
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&json).unwrap(),
        );
    });
    for (label, fraction) in [("p50", 0.5), ("p99", 0.99)] {
        rows.push(Row {
            figure: format!(
                "validate 300 fields + 100 rows {label} (baseline: JSON parse of the values)"
            ),
            value: percentile(&mut validate, fraction),
            baseline: percentile(&mut read, fraction),
            goal: Some(Goal::Below(Duration::from_millis(5))),
        });
    }

    print_table(&rows);
}

fn print_table(rows: &[Row]) {
    let mut table = forms::benchmark::Table::start();
    for row in rows {
        let ratio = row.value.as_secs_f64() / row.baseline.as_secs_f64().max(1e-12);
        let speedup = 1.0 / ratio;
        let (goal, pass) = match &row.goal {
            None => ("report".to_owned(), None),
            Some(Goal::Below(limit)) => (format!("< {}", show(*limit)), Some(row.value < *limit)),
            Some(Goal::Both(limit, times)) => (
                format!("< {}, >= {times}x faster", show(*limit)),
                Some(row.value < *limit && speedup >= *times),
            ),
        };
        table.row(&forms::benchmark::BenchRow {
            group: "forms",
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
