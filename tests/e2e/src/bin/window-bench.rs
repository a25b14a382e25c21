//! The window benchmark: cold start to an interactive window and the
//! memory of the running app, OneWindow against a minimal Tauri window
//! (`tests/minimal-window`) built with the same Tauri and measured in the
//! same run, the same way (goal: at most 1.25× that floor).
//!
//! Each round starts both through tauri-driver in turn, each with a fresh
//! home, twice: the first start (OneWindow makes its store key and its
//! store), then a cold start of the same installation (a new process, its
//! data already there), which is the start a clerk sees every morning and
//! the one judged. Start time: from asking WebDriver for a session (which
//! starts the app) until the page's first input can take a key (OneWindow:
//! the sign-in field). Memory, on the cold start: after 3 s of rest, the
//! proportional set size of the app and of every process below it
//! (WebKit's web and network processes), from `/proc/<pid>/smaps_rollup`.
//!
//! Run by `./x bench` under Xvfb and a D-Bus session with both release
//! binaries: `window-bench <onewindow> <minimal-window> [rounds]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use forms::benchmark::{record, BenchRow, Verdict};
use onewindow_e2e::{App, Home};

const GOAL: f64 = 1.25;

struct Sample {
    first_start: Duration,
    start: Duration,
    memory_kib: u64,
}

/// Every process's parent, from /proc.
fn parents() -> BTreeMap<u32, u32> {
    let mut parents = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may hold spaces: the fields after its ')' count.
        if let Some(parent) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|field| field.parse().ok())
        {
            parents.insert(pid, parent);
        }
    }
    parents
}

fn below(root: u32, parents: &BTreeMap<u32, u32>) -> Vec<u32> {
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, of)| **of == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found
}

fn proportional_set_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Pss:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse().ok())
        })
        .unwrap_or(0)
}

/// The app started by the driver (the process running `binary`) and all
/// below it.
fn app_memory_kib(driver: u32, binary: &Path) -> u64 {
    let parents = parents();
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let app = below(driver, &parents)
        .into_iter()
        .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary));
    let Some(app) = app else {
        panic!(
            "the app {} was not found under the driver",
            binary.display()
        );
    };
    below(app, &parents)
        .into_iter()
        .map(proportional_set_kib)
        .sum()
}

/// One start in `home`: how long until the first input took a key, and
/// the memory after a rest.
async fn start_once(binary: &Path, ready: &str, label: &str, home: &Home) -> (Duration, u64) {
    let environment: Vec<(String, PathBuf)> = home.environment();
    let (app, opened) = App::launch(binary, &environment, label)
        .await
        .unwrap_or_else(|(problem, _)| panic!("{label}: {problem}"));
    let started = std::time::Instant::now();
    let field = app.wait_for(ready).await;
    // Interactive: the field takes a key.
    field
        .send_keys("a")
        .await
        .unwrap_or_else(|error| panic!("{label}: the first field takes no key: {error}"));
    let start = opened + started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let memory_kib = app_memory_kib(app.driver_id(), binary);
    app.close().await;
    (start, memory_kib)
}

async fn measure(binary: &Path, ready: &str, label: &str) -> Sample {
    let home = Home::new();
    let (first_start, _) = start_once(binary, ready, &format!("{label}-first"), &home).await;
    // The app of the first start has gone with its driver's process group;
    // let the session bus drop its single-instance name.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (start, memory_kib) = start_once(binary, ready, label, &home).await;
    Sample {
        first_start,
        start,
        memory_kib,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [onewindow, minimal] = [0, 1].map(|index| {
        PathBuf::from(arguments.get(index).unwrap_or_else(|| {
            panic!("usage: window-bench <onewindow binary> <minimal-window binary> [rounds]")
        }))
    });
    let rounds: usize = arguments
        .get(2)
        .and_then(|text| text.parse().ok())
        .unwrap_or(5);
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    for round in 0..rounds {
        floor.push(
            measure(
                &minimal,
                "[data-testid=ready]",
                &format!("bench-minimal-{round}"),
            )
            .await,
        );
        ours.push(
            measure(
                &onewindow,
                "[data-testid=gate-login]",
                &format!("bench-onewindow-{round}"),
            )
            .await,
        );
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let start_ours = median(ours.iter().map(|s| s.start.as_secs_f64() * 1e3).collect());
    let start_floor = median(floor.iter().map(|s| s.start.as_secs_f64() * 1e3).collect());
    let first_ours = median(
        ours.iter()
            .map(|s| s.first_start.as_secs_f64() * 1e3)
            .collect(),
    );
    let first_floor = median(
        floor
            .iter()
            .map(|s| s.first_start.as_secs_f64() * 1e3)
            .collect(),
    );
    let memory_ours = median(ours.iter().map(|s| s.memory_kib as f64 / 1024.0).collect());
    let memory_floor = median(floor.iter().map(|s| s.memory_kib as f64 / 1024.0).collect());

    println!(
        "\n{:<70} {:>10} {:>10} {:>8} {:>9} {:>6}",
        "figure", "value", "baseline", "ratio", "goal", "result"
    );
    println!("{}", "-".repeat(118));
    for (figure, value, baseline, unit, judged) in [
        (
            format!("first start (store made) to an interactive window, median of {rounds} (baseline: minimal window)"),
            first_ours,
            first_floor,
            "ms",
            false,
        ),
        (
            format!("cold start to an interactive window, median of {rounds} (baseline: minimal Tauri window)"),
            start_ours,
            start_floor,
            "ms",
            true,
        ),
        (
            format!("memory, app + WebKit processes (PSS), median of {rounds} (baseline: minimal window)"),
            memory_ours,
            memory_floor,
            "MiB",
            true,
        ),
    ] {
        let ratio = value / baseline;
        let verdict = Verdict::of(judged.then_some(ratio <= GOAL));
        let value = format!("{value:.0} {unit}");
        let baseline = format!("{baseline:.0} {unit}");
        let goal = if judged {
            format!("<= {GOAL}x")
        } else {
            "report".to_owned()
        };
        println!(
            "{figure:<70} {value:>10} {baseline:>10} {ratio:>7.2}x {goal:>9} {:>6}",
            verdict.label()
        );
        record(&BenchRow {
            group: "window",
            figure: &figure,
            value: &value,
            baseline: &baseline,
            ratio: Some(ratio),
            goal: &goal,
            verdict,
        });
    }
}
