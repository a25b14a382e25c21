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
    let rounds: u64 = std::env::var("ONEWINDOW_CRASH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let key_hex = hex::encode(key.bytes());
    let mut random = rand::rngs::StdRng::seed_from_u64(20261127);
    let mut cases: HashMap<String, CaseState> = HashMap::new();
    let mut drafts: HashMap<String, i64> = HashMap::new();
    let mut acknowledged = 0u64;

    for round in 0..rounds {
        let mut child = exerciser()
            .arg(dir.path())
            .arg(&key_hex)
            .arg("loop")
            .arg((round + 1).to_string())
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
        std::thread::sleep(Duration::from_millis(random.random_range(30..350)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        for line in reader.join().unwrap() {
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
}
