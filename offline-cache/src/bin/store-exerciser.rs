//! A child process for the crash and full-disk tests: it works on a store
//! and prints one line per commit the store acknowledged, so the parent can
//! kill it at any moment and check that every acknowledged commit survived.
//!
//! `store-exerciser DIR KEY_HEX loop SEED` — intakes, transitions and draft
//! saves until killed. `store-exerciser DIR KEY_HEX fill` — intakes with
//! large values until a write is refused; prints the error code.
//! `store-exerciser DIR KEY_HEX sync URL FORMS_DIR` — drains the outbox to
//! the simulated back offices at URL until idle; prints `drained N`.
//! `store-exerciser DIR KEY_HEX typing SEED` — a clerk typing into one draft
//! (keys 40–200 ms apart, now and then a pause), saved by the window's rule;
//! prints `typed N MS` per key and `saved N` per acknowledged save.
//! `store-exerciser DIR - keyring` — makes the store key in the system key
//! store, reads it back, opens the store with it and prints the backend.
//! `store-exerciser DIR - keyring-down` — asks the system key store for the
//! key while it cannot be reached; prints `obtain-failed CODE` (or
//! `obtain-ok`), then whether a key was put in the kernel keyring instead.

use std::io::Write;
use std::path::PathBuf;

use offline_cache::cases::{record_intake, transition, Actor};
use offline_cache::drafts::{save_draft, DraftSave};
use offline_cache::lifecycle::{Event, Role};
use offline_cache::{CaseStore, Production, StoreKey, StoreOptions};

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [dir, key, mode, rest @ ..] = arguments.as_slice() else {
        eprintln!("usage: store-exerciser DIR KEY_HEX (loop SEED | fill)");
        std::process::exit(2);
    };
    if mode == "keyring" {
        keyring_check(dir);
        return;
    }
    if mode == "keyring-down" {
        keyring_down(dir);
        return;
    }
    if mode == "sync" {
        sync(dir, key, rest);
        return;
    }
    let bytes: [u8; 32] = hex::decode(key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .unwrap_or_else(|| {
            eprintln!("the key must be 64 hex digits");
            std::process::exit(2);
        });
    let store = match CaseStore::<Production>::open(
        &PathBuf::from(dir),
        &StoreKey::from_bytes(bytes),
        StoreOptions::default(),
    ) {
        Ok(store) => store,
        Err(error) => {
            println!("open-failed {}", error.code());
            std::process::exit(1);
        }
    };
    let seed: u64 = rest.first().and_then(|seed| seed.parse().ok()).unwrap_or(1);
    let mut out = std::io::stdout().lock();
    let now = || chrono::Local::now().fixed_offset();
    let options = StoreOptions::default();
    match mode.as_str() {
        "typing" => typing(&store, seed, &mut out),
        "loop" => {
            for round in 0u64.. {
                let case_id = uuid::Uuid::new_v4().to_string();
                let mut intake =
                    offline_cache::sample::intake(&case_id, seed * 1_000_000 + round, now(), 20, 5);
                intake.dispatch_now = round % 2 == 0;
                let options = options.clone();
                let result = store
                    .write_blocking(move |connection| record_intake(connection, &options, &intake));
                match result {
                    Ok(case) => writeln!(out, "case {} {}", case.id, case.state.as_str()).unwrap(),
                    Err(error) => writeln!(out, "error {}", error.code()).unwrap(),
                }
                out.flush().unwrap();
                if round % 2 == 1 {
                    let actor = Actor {
                        user_id: "clerk-01".into(),
                        role: Role::Clerk,
                    };
                    let id = case_id.clone();
                    if let Ok(state) = store.write_blocking(move |connection| {
                        transition(connection, &id, Event::Dispatch, &actor, now(), None)
                    }) {
                        writeln!(out, "state {case_id} {}", state.as_str()).unwrap();
                        out.flush().unwrap();
                    }
                }
                let draft = DraftSave {
                    id: format!("draft-{seed}-{}", round % 7),
                    clerk_id: "clerk-01".into(),
                    window: "01".into(),
                    bundle_id: None,
                    item_versions: [("market.company-establishment".to_owned(), 3)].into(),
                    content: serde_json::json!({ "typed": format!("round {round}") }),
                    at: now(),
                };
                let draft_id = draft.id.clone();
                if let Ok(revision) =
                    store.write_blocking(move |connection| save_draft(connection, &draft))
                {
                    writeln!(out, "draft {draft_id} {revision} round {round}").unwrap();
                    out.flush().unwrap();
                }
            }
        }
        "fill" => {
            for round in 0u64.. {
                let case_id = uuid::Uuid::new_v4().to_string();
                let intake = offline_cache::sample::intake(&case_id, round, now(), 400, 10);
                let options = options.clone();
                match store
                    .write_blocking(move |connection| record_intake(connection, &options, &intake))
                {
                    Ok(case) => {
                        writeln!(out, "case {}", case.id).unwrap();
                        out.flush().unwrap();
                    }
                    Err(error) => {
                        writeln!(out, "refused {}", error.code()).unwrap();
                        out.flush().unwrap();
                        std::process::exit(0);
                    }
                }
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

fn keyring_check(dir: &str) {
    let store_file = PathBuf::from(dir).join("cases.db");
    let (_, backend) = match offline_cache::key::system_store() {
        Ok(found) => found,
        Err(error) => {
            println!("keyring-failed {}: {error}", error.code());
            std::process::exit(1);
        }
    };
    let source = offline_cache::KeySource::System {
        account: "exerciser".into(),
    };
    let first = source.obtain(&store_file).expect("the key is made");
    let again = source.obtain(&store_file).expect("the key is read back");
    println!("keyring-ok {backend}");
    if first.bytes() == again.bytes() {
        println!("same-key");
    }
    let store = CaseStore::<Production>::open(&PathBuf::from(dir), &again, StoreOptions::default())
        .expect("the store opens");
    drop(store);
    CaseStore::<Production>::open(
        &PathBuf::from(dir),
        &source.obtain(&store_file).unwrap(),
        StoreOptions::default(),
    )
    .expect("the store opens again");
    println!("store-ok");
}

fn keyring_down(dir: &str) {
    let source = offline_cache::KeySource::System {
        account: "exerciser".into(),
    };
    match source.obtain(&PathBuf::from(dir).join("cases.db")) {
        Ok(_) => println!("obtain-ok"),
        Err(error) => println!("obtain-failed {}", error.code()),
    }
    // The volatile kernel keyring must not have been used instead.
    let kernel: std::sync::Arc<keyring_core::CredentialStore> =
        linux_keyutils_keyring_store::Store::new().expect("the kernel keyring");
    let entry =
        keyring_core::Entry::new_in_store(&kernel, offline_cache::key::SERVICE, "exerciser")
            .expect("an entry");
    match entry.get_secret() {
        Ok(_) => {
            println!("kernel-entry");
            let _ = entry.delete_credential();
        }
        Err(keyring_core::Error::NoEntry) => println!("no-kernel-entry"),
        Err(error) => println!("kernel-unreadable {error}"),
    }
}

fn sync(dir: &str, key: &str, rest: &[String]) {
    let [url, forms_dir, ..] = rest else {
        eprintln!("usage: store-exerciser DIR KEY_HEX sync URL FORMS_DIR");
        std::process::exit(2);
    };
    let bytes: [u8; 32] = hex::decode(key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .expect("64 hex digits");
    let forms_dir = PathBuf::from(forms_dir);
    let catalog = forms::load_catalog(&forms_dir.join("catalog")).expect("the catalogue loads");
    let standards = forms::standards::load_standards(&forms_dir.join("standards"), &catalog)
        .expect("the standards load");
    let options = StoreOptions {
        case_numbers: offline_cache::numbering::NumberingRule::new(
            "{hall}{window}{yyyymmdd}{seq:6}",
        )
        .expect("valid"),
        ..StoreOptions::default()
    };
    let store = std::sync::Arc::new(
        CaseStore::<Production>::open(&PathBuf::from(dir), &StoreKey::from_bytes(bytes), options)
            .expect("the store opens"),
    );
    let targets = standards
        .systems
        .into_iter()
        .map(|(system, standard)| {
            (
                system.clone(),
                offline_cache::sync::Target {
                    base_url: url.clone(),
                    token: format!("demo-token-{system}"),
                    standard,
                },
            )
        })
        .collect();
    let settings = offline_cache::sync::SyncSettings {
        per_system_concurrency: 8,
        request_timeout: std::time::Duration::from_secs(10),
        backoff_base: std::time::Duration::from_millis(20),
        backoff_cap: std::time::Duration::from_millis(300),
        pause_probe: std::time::Duration::from_secs(60),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let report = runtime.block_on(async {
        let engine = offline_cache::sync::SyncEngine::new(store.clone(), targets, settings)
            .expect("the engine starts");
        engine
            .drain_until_idle(std::time::Duration::from_secs(120))
            .await
    });
    match report {
        Ok(report) => println!("drained {}", report.acknowledged),
        Err(error) => println!("sync-failed {}", error.code()),
    }
}

/// The window's autosave rule (ui/src/lib/intake/autosave.ts): save 250 ms
/// after the last key, and at the latest 750 ms after the first unsaved key.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(250);
const LONGEST_UNSAVED: std::time::Duration = std::time::Duration::from_millis(750);

fn typing(store: &CaseStore<Production>, seed: u64, out: &mut impl Write) {
    use rand::{Rng, SeedableRng};
    use std::time::{Duration, Instant};
    let mut random = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let sleep_until =
        |at: Instant| std::thread::sleep(at.saturating_duration_since(Instant::now()));
    let mut typed = 0u64;
    let mut last_key = Instant::now();
    let mut unsaved_since: Option<Instant> = None;
    loop {
        let gap = if random.random_bool(0.05) {
            600
        } else {
            random.random_range(40..200)
        };
        let next_key = last_key + Duration::from_millis(gap);
        if let Some(since) = unsaved_since {
            let due = (last_key + PAUSE).min(since + LONGEST_UNSAVED);
            if due <= next_key {
                sleep_until(due);
                let draft = DraftSave {
                    id: format!("typing-{seed}"),
                    clerk_id: "clerk-01".into(),
                    window: "01".into(),
                    bundle_id: None,
                    item_versions: [("market.company-establishment".to_owned(), 3)].into(),
                    content: serde_json::json!({ "typed": typed }),
                    at: chrono::Local::now().fixed_offset(),
                };
                match store.write_blocking(move |connection| save_draft(connection, &draft)) {
                    Ok(_) => writeln!(out, "saved {typed}").unwrap(),
                    Err(error) => writeln!(out, "save-failed {typed} {}", error.code()).unwrap(),
                }
                out.flush().unwrap();
                unsaved_since = None;
            }
        }
        sleep_until(next_key);
        typed += 1;
        last_key = Instant::now();
        unsaved_since.get_or_insert(last_key);
        writeln!(out, "typed {typed} {}", started.elapsed().as_millis()).unwrap();
        out.flush().unwrap();
    }
}
