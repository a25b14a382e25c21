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

use forms::benchmark::{BenchRow, Table, Verdict};
use onewindow_e2e::{App, Home};

const GOAL: f64 = 1.25;

struct Sample {
    first_start: Duration,
    start: Duration,
    memory_kib: u64,
    /// Where the cold start went, in milliseconds: see [`PHASES`].
    phases: [f64; 4],
    /// The page's own start-up marks (`onewindow:…`), ms after its origin.
    marks: BTreeMap<String, f64>,
}

/// The parts of a start, told apart by the page's navigation timing.
const PHASES: [&str; 4] = [
    "app and web view start (session asked -> page requested)",
    "page served (-> response end)",
    "scripts loaded and run (-> DOMContentLoaded end)",
    "first screen (-> the first input takes a key)",
];

/// The page's clock origin (wall clock, ms), its response end and its
/// DOMContentLoaded end (ms after the origin).
const NAVIGATION_TIMING: &str = "const navigation = performance.getEntriesByType('navigation')[0];
     return [performance.timeOrigin, navigation ? navigation.responseEnd : 0,
             navigation ? navigation.domContentLoadedEventEnd : 0,
             performance.getEntriesByType('mark').map((mark) => [mark.name, mark.startTime])];";

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

/// A process's proportional set size; 0 for a process that has ended since
/// it was listed (gone, or a zombie with no memory left). Any other failure to read it stops the benchmark: a
/// figure with a process left out would be wrong.
fn proportional_set_kib(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(error) => panic!("{path} cannot be read ({error}): the memory figure would be wrong"),
    };
    if text.is_empty() {
        return 0;
    }
    text.lines()
        .find(|line| line.starts_with("Pss:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{path} has no Pss line"))
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

/// One start in `home`: how long until the first input took a key, the
/// memory after a rest, and the phases of the start.
async fn start_once(
    binary: &Path,
    ready: &str,
    label: &str,
    home: &Home,
) -> (Duration, u64, [f64; 4], BTreeMap<String, f64>) {
    let environment: Vec<(String, PathBuf)> = home.environment();
    let (app, opened) = App::launch(binary, &environment, label)
        .await
        .unwrap_or_else(|(problem, _)| panic!("{label}: {problem}"));
    let started = std::time::Instant::now();
    // Looked for every 5 ms (WebDriver's default wait looks every 250 ms,
    // which would count up to a quarter second the page did not take).
    let field = app
        .client
        .wait()
        .at_most(Duration::from_secs(60))
        .every(Duration::from_millis(5))
        .for_element(fantoccini::Locator::Css(ready))
        .await
        .unwrap_or_else(|error| panic!("{label}: {ready} did not appear: {error}"));
    // Interactive: the field takes a key.
    field
        .send_keys("a")
        .await
        .unwrap_or_else(|error| panic!("{label}: the first field takes no key: {error}"));
    let start = opened + started.elapsed();
    let timing = app.script(NAVIGATION_TIMING).await;
    let number = |index: usize| timing[index].as_f64().unwrap_or(0.0);
    let asked_ms = app
        .asked_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs_f64() * 1e3)
        .unwrap_or(0.0);
    let before_page = number(0) - asked_ms;
    let (served, scripts) = (number(1), number(2) - number(1));
    let total = start.as_secs_f64() * 1e3;
    let phases = [
        before_page,
        served,
        scripts,
        total - before_page - served - scripts,
    ];
    let marks = timing[3]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|mark| Some((mark[0].as_str()?.to_owned(), mark[1].as_f64()?)))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let memory_kib = app_memory_kib(app.driver_id(), binary);
    app.close().await;
    (start, memory_kib, phases, marks)
}

async fn measure(binary: &Path, ready: &str, label: &str) -> Sample {
    let home = Home::new();
    let (first_start, _, _, _) = start_once(binary, ready, &format!("{label}-first"), &home).await;
    // The app of the first start has gone with its driver's process group;
    // let the session bus drop its single-instance name.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (start, memory_kib, phases, marks) = start_once(binary, ready, label, &home).await;
    Sample {
        first_start,
        start,
        memory_kib,
        phases,
        marks,
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
    let rounds: usize = match arguments.get(2) {
        None => 5,
        Some(text) => match text.parse() {
            Ok(rounds) if rounds > 0 => rounds,
            _ => panic!("rounds: “{text}” is not a whole number of at least 1"),
        },
    };
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
    println!("\nwhere the cold start goes, median ms of {rounds} (OneWindow, minimal window):");
    for (index, phase) in PHASES.iter().enumerate() {
        let ours_phase = median(ours.iter().map(|s| s.phases[index]).collect());
        let floor_phase = median(floor.iter().map(|s| s.phases[index]).collect());
        println!("  {phase:<60} {ours_phase:>7.0} {floor_phase:>7.0}");
    }
    let names: std::collections::BTreeSet<&String> =
        ours.iter().flat_map(|sample| sample.marks.keys()).collect();
    let mut marks: Vec<(f64, &String)> = names
        .into_iter()
        .map(|name| {
            let times = ours
                .iter()
                .filter_map(|sample| sample.marks.get(name).copied());
            (median(times.collect()), name)
        })
        .collect();
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (time, name) in marks {
        println!("  OneWindow's mark {name:<43} {time:>7.0} ms after the page's origin");
    }
    let memory_ours = median(ours.iter().map(|s| s.memory_kib as f64 / 1024.0).collect());
    let memory_floor = median(floor.iter().map(|s| s.memory_kib as f64 / 1024.0).collect());

    let mut table = Table::start();
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
        table.row(&BenchRow {
            group: "window",
            figure: &figure,
            value: &value,
            baseline: &baseline,
            ratio: Some(ratio),
            goal: &goal,
            verdict,
        });
    }
    table.finish();
}
