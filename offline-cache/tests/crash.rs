//! "Nothing lost": a child process commits intakes, transitions and draft
//! saves and prints each acknowledged commit; it is killed with SIGKILL at
//! random moments. After every kill the store opens, passes
//! `PRAGMA integrity_check`, its audit chain verifies, and every
//! acknowledged commit is there.
//!
//! 50 rounds by default; `ONEWINDOW_CRASH_ROUNDS=500` for the long run.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use offline_cache::lifecycle::CaseState;
use offline_cache::{CaseStore, Production, StoreKey, StoreOptions};
use rand::{Rng, SeedableRng};

fn exerciser() -> Command {
    Command::new(env!("CARGO_BIN_EXE_store-exerciser"))
}

#[test]
fn acknowledged_commits_survive_kill_9() {
    let rounds: u64 = forms::benchmark::count_from_environment("ONEWINDOW_CRASH_ROUNDS", 50);
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let key_hex = hex::encode(key.bytes());
    let mut random = rand::rngs::StdRng::seed_from_u64(20261127);
    let mut cases: HashMap<String, CaseState> = HashMap::new();
    let mut drafts: HashMap<String, i64> = HashMap::new();
    let mut acknowledged = 0u64;

    for round in 0..rounds {
        let mut command = exerciser();
        command
            .arg(dir.path())
            .arg(&key_hex)
            .arg("loop")
            .arg((round + 1).to_string());
        let lines = kill_after(command, Duration::from_millis(random.random_range(30..350)));
        for line in lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["case", id, state] | ["state", id, state] => {
                    let state = CaseState::parse(state).unwrap();
                    cases.insert((*id).to_owned(), state);
                    acknowledged += 1;
                }
                ["draft", id, revision, ..] => {
                    let revision: i64 = revision.parse().unwrap();
                    let entry = drafts.entry((*id).to_owned()).or_insert(0);
                    *entry = (*entry).max(revision);
                    acknowledged += 1;
                }
                ["open-failed", code] => {
                    panic!("round {round}: the store did not open after a kill: {code}")
                }
                _ => {} // a line cut by the kill
            }
        }

        let store = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default())
            .unwrap_or_else(|error| panic!("round {round}: {error}"));
        store
            .integrity_check()
            .unwrap_or_else(|error| panic!("round {round}: {error}"));
        let links = store
            .verify_audit()
            .unwrap()
            .unwrap_or_else(|broken| panic!("round {round}: audit chain broken at {broken:?}"));
        assert!(
            links as usize >= cases.len(),
            "round {round}: fewer audit entries than cases"
        );
        for (id, acknowledged_state) in &cases {
            let found = store
                .read_blocking(|connection| offline_cache::cases::case(connection, id))
                .unwrap_or_else(|error| {
                    panic!("round {round}: acknowledged case {id} lost: {error}")
                });
            let later = matches!(
                (acknowledged_state, found.state),
                (CaseState::Accepted, CaseState::Dispatched)
            );
            assert!(
                found.state == *acknowledged_state || later,
                "round {round}: case {id} was {acknowledged_state:?}, found {:?}",
                found.state
            );
        }
        for (id, revision) in &drafts {
            let draft = store
                .read_blocking(|connection| offline_cache::drafts::draft(connection, id))
                .unwrap();
            assert!(
                draft.revision >= *revision,
                "round {round}: draft {id} went back from {revision} to {}",
                draft.revision
            );
        }
    }
    assert!(
        acknowledged > rounds,
        "the child made too little progress to test anything ({acknowledged} commits)"
    );
    println!(
        "{rounds} kill rounds, {acknowledged} acknowledged commits, {} cases, none lost",
        cases.len()
    );
    forms::benchmark::record(&forms::benchmark::BenchRow {
        group: "kill -9",
        figure: &format!(
            "kill -9 during intake, {rounds} rounds ({acknowledged} acknowledged commits): accepted cases lost"
        ),
        value: "0",
        baseline: "-",
        ratio: None,
        goal: "0",
        verdict: forms::benchmark::Verdict::Pass,
    });
}

/// A clerk typing into a draft, killed at random moments: what was typed
/// since the last save that survived. The window saves 250 ms after the
/// last key and at the latest 750 ms after the first unsaved one, so the
/// loss stays under a second of typing (the goal), whenever the kill comes.
#[test]
fn a_kill_while_typing_loses_under_a_second_of_typing() {
    let rounds: u64 =
        forms::benchmark::count_from_environment("ONEWINDOW_CRASH_ROUNDS", 10).max(10);
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let key_hex = hex::encode(key.bytes());
    let mut random = rand::rngs::StdRng::seed_from_u64(20261128);
    let mut worst_ms = 0u64;
    let mut keys_typed = 0u64;
    for round in 0..rounds {
        let mut command = exerciser();
        command
            .arg(dir.path())
            .arg(&key_hex)
            .arg("typing")
            .arg((round + 1).to_string());
        let lines = kill_after(
            command,
            Duration::from_millis(random.random_range(400..2500)),
        );
        // When each key was typed (ms from the start), as the clerk saw it.
        let mut typed_at: HashMap<u64, u64> = HashMap::new();
        for line in lines {
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["typed", count, at] => {
                    if let (Ok(count), Ok(at)) = (count.parse(), at.parse()) {
                        typed_at.insert(count, at);
                    }
                }
                ["save-failed", ..] => panic!("round {round}: a draft save was refused: {line}"),
                _ => {}
            }
        }
        // At least 400 ms ran: a round with no key typed is a failed start,
        // not a round to pass over.
        let Some(last) = typed_at.keys().max().copied() else {
            panic!("round {round}: the exerciser typed nothing before the kill");
        };
        keys_typed += last;
        let store = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default())
            .unwrap_or_else(|error| panic!("round {round}: {error}"));
        let draft_id = format!("typing-{}", round + 1);
        let saved = store
            .read_blocking(move |connection| offline_cache::drafts::draft(connection, &draft_id))
            .ok()
            .and_then(|draft| draft.content["typed"].as_u64())
            .unwrap_or(0);
        if saved < last {
            // Typing lost: from the first key not saved to the last key typed.
            let first_lost = typed_at[&(saved + 1)];
            worst_ms = worst_ms.max(typed_at[&last] - first_lost);
        }
    }
    forms::benchmark::record(&forms::benchmark::BenchRow {
        group: "kill -9",
        figure: &format!(
            "kill -9 while typing a draft, {rounds} rounds ({keys_typed} keys): typing lost, worst round"
        ),
        value: &format!("{worst_ms} ms"),
        baseline: "-",
        ratio: None,
        goal: "<= 1000 ms",
        verdict: forms::benchmark::Verdict::of(Some(worst_ms <= 1000)),
    });
    assert!(keys_typed > rounds, "too little typing to test anything");
    assert!(
        worst_ms <= 1000,
        "{worst_ms} ms of typing lost in one round (goal: at most a second)"
    );
}

#[test]
fn a_full_disk_refuses_the_write_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    drop(CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default()).unwrap());
    let limit = std::fs::metadata(dir.path().join("cases.db"))
        .unwrap()
        .len()
        + 400_000;
    let mut command = exerciser();
    command
        .arg(dir.path())
        .arg(hex::encode(key.bytes()))
        .arg("fill")
        .stdout(Stdio::piped());
    #[cfg(unix)]
    unsafe {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls between fork and exec.
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let cap = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let written: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("case "))
        .collect();
    let refusal = text
        .lines()
        .find_map(|line| line.strip_prefix("refused "))
        .unwrap_or_else(|| panic!("no refusal: {text}"));
    assert!(
        matches!(refusal, "disk_full" | "write_refused"),
        "{refusal}"
    );
    assert!(!written.is_empty(), "some cases fit before the disk filled");

    let store = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default()).unwrap();
    store.integrity_check().unwrap();
    assert!(store.verify_audit().unwrap().is_ok());
    for id in &written {
        store
            .read_blocking(|connection| offline_cache::cases::case(connection, id))
            .unwrap();
    }
    drop(store);
    // Space returns: the same store takes new cases again.
    let recovered = acknowledged_cases_in(dir.path(), &key, None, Duration::from_millis(600));
    assert!(recovered > 0, "no case was written once space returned");
    record_row(
        &format!("disk full: refused with `{refusal}`, {} cases kept intact; space returned: cases taken again", written.len()),
        "recovered",
        "recovered",
    );
}

fn record_row(figure: &str, value: &str, goal: &str) {
    forms::benchmark::record(&forms::benchmark::BenchRow {
        group: "disk",
        figure,
        value,
        baseline: "-",
        ratio: None,
        goal,
        verdict: forms::benchmark::Verdict::Pass,
    });
}

/// Runs the exerciser's intake loop for `run` (inside `wrapper`'s command
/// when given) and returns the lines it printed.
fn run_loop(
    dir: &std::path::Path,
    key: &StoreKey,
    wrapper: Option<&[String]>,
    run: Duration,
) -> Vec<String> {
    let exerciser_path = env!("CARGO_BIN_EXE_store-exerciser");
    let mut arguments = vec![
        exerciser_path.to_owned(),
        dir.display().to_string(),
        hex::encode(key.bytes()),
        "loop".to_owned(),
        "7".to_owned(),
    ];
    let command = match wrapper {
        Some(wrapper) => {
            let mut all = wrapper.to_vec();
            all.append(&mut arguments);
            let mut command = Command::new(&all[0]);
            command.args(&all[1..]);
            command
        }
        None => {
            let mut command = Command::new(&arguments[0]);
            command.args(&arguments[1..]);
            command
        }
    };
    kill_after(command, run)
}

/// Runs `command` for `run`, kills it with SIGKILL and returns the lines it
/// printed (the last may be cut by the kill).
fn kill_after(mut command: Command, run: Duration) -> Vec<String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the exerciser starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(run);
    // It may have ended on its own (a store that would not open).
    let _ = child.kill();
    child.wait().unwrap();
    reader.join().unwrap()
}

fn acknowledged_cases_in(
    dir: &std::path::Path,
    key: &StoreKey,
    wrapper: Option<&[String]>,
    run: Duration,
) -> usize {
    run_loop(dir, key, wrapper, run)
        .iter()
        .filter(|line| line.starts_with("case "))
        .count()
}

/// The data folder mounted read-only under a running store: every write is
/// refused with a clear code, nothing already there is damaged, and once
/// the folder is writable again the store takes cases again.
#[test]
fn a_read_only_data_folder_refuses_writes_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let before = acknowledged_cases_in(dir.path(), &key, None, Duration::from_millis(500));
    assert!(before > 0);
    // Root ignores file permissions: a read-only bind mount in a mount
    // namespace of the child's own; anyone else: the folder's permissions.
    let root = unsafe { libc::geteuid() } == 0;
    let folder = dir.path().display().to_string();
    let wrapper: Vec<String> = if root {
        vec![
            "unshare".into(),
            "--mount".into(),
            "sh".into(),
            "-c".into(),
            format!("mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && exec \"$@\""),
            "read-only".into(),
        ]
    } else {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        Vec::new()
    };
    let lines = run_loop(
        dir.path(),
        &key,
        root.then_some(wrapper.as_slice()),
        Duration::from_millis(800),
    );
    if !root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    assert!(
        !lines.iter().any(|line| line.starts_with("case ")),
        "a case was acknowledged on a read-only folder: {lines:?}"
    );
    let refusal = lines
        .iter()
        .find_map(|line| {
            line.strip_prefix("error ")
                .or_else(|| line.strip_prefix("open-failed "))
        })
        .unwrap_or_else(|| panic!("no refusal from the read-only folder: {lines:?}"))
        .to_owned();
    assert!(
        matches!(refusal.as_str(), "read_only" | "write_refused" | "io"),
        "unclear refusal `{refusal}`"
    );
    let store = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default()).unwrap();
    store.integrity_check().unwrap();
    assert!(store.verify_audit().unwrap().is_ok());
    drop(store);
    let after = acknowledged_cases_in(dir.path(), &key, None, Duration::from_millis(500));
    assert!(
        after > 0,
        "no case was written once the folder was writable again"
    );
    record_row(
        &format!("read-only data folder: every write refused with `{refusal}`, store intact; writable again: cases taken again"),
        "recovered",
        "recovered",
    );
}
