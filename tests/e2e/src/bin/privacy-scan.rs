//! The privacy scan after the end-to-end suite: every file the test apps
//! left in their data directories and logs — outside the encrypted case
//! stores and the encrypted attachments — is searched for the ID numbers,
//! credit codes, names and phone numbers the tests used. Any hit fails.
//!
//! Usage: `privacy-scan <homes folder>` (the e2e run keeps each app's home
//! there when `ONEWINDOW_E2E_HOMES` is set). Left out, with the reason:
//! `cases/` and `attachments/` (encrypted; their raw bytes are what is
//! checked), `exports/` (files a clerk saved on purpose), the demo and
//! sandbox back offices' own databases (they stand for remote systems),
//! and the web view's own folders (`xdg-*`).

use std::path::{Path, PathBuf};

fn needles() -> Vec<String> {
    let today = chrono::Local::now().date_naive();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let mut found: Vec<String> = Vec::new();
    for profile in forms::samples::sample_applicants(today) {
        found.extend(profile.id_number);
        found.extend(profile.credit_code);
        found.extend(profile.name);
        found.extend(profile.phone);
    }
    found.extend(
        forms::samples::SAMPLE_CREDIT_CODES
            .iter()
            .map(|code| (*code).to_owned()),
    );
    let catalog = forms::load_catalog(&root.join("catalog")).expect("the sample catalogue loads");
    if let Ok(scenarios) = forms::training::load_scenarios(&root.join("training"), &catalog, today)
    {
        for scenario in scenarios {
            found.push(scenario.applicant.id_number);
            found.push(scenario.applicant.name);
            found.push(scenario.applicant.phone);
        }
    }
    // The simulator's registry people and the e2e card.
    found.extend(
        [
            "34052419800101001X",
            "11010519491231002X",
            "440304200002291236",
            "110105194003150022",
            "13800000001",
        ]
        .iter()
        .map(|text| (*text).to_owned()),
    );
    found.retain(|needle| needle.chars().count() >= 3);
    found.sort();
    found.dedup();
    found
}

fn skipped(path: &Path) -> bool {
    path.components().any(|part| {
        let name = part.as_os_str().to_string_lossy();
        matches!(name.as_ref(), "cases" | "attachments" | "exports") || name.starts_with("xdg-")
    }) || path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("demo-backoffice.sqlite"))
}

fn files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !skipped(&path) {
                files(&path, into);
            }
        } else if !skipped(&path) {
            into.push(path);
        }
    }
}

/// Adds a hit for every file that holds one of the needles. A file that
/// cannot be read is a hit too: what was not searched is not clean.
fn search(paths: &[PathBuf], needles: &[String], finding: &str, hits: &mut Vec<String>) {
    for path in paths {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                hits.push(format!(
                    "{}: could not be searched ({error})",
                    path.display()
                ));
                continue;
            }
        };
        for needle in needles {
            let needle_bytes = needle.as_bytes();
            if bytes
                .windows(needle_bytes.len())
                .any(|window| window == needle_bytes)
            {
                hits.push(format!(
                    "{}: {finding} ({} characters)",
                    path.display(),
                    needle.chars().count()
                ));
            }
        }
    }
}

fn main() {
    let homes = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("usage: privacy-scan <homes folder>");
            std::process::exit(2);
        });
    let needles = needles();
    let mut scanned = Vec::new();
    files(&homes, &mut scanned);
    let mut hits = Vec::new();
    search(
        &scanned,
        &needles,
        "contains a test person's data",
        &mut hits,
    );
    // The encrypted stores: their raw bytes must not show the data either.
    let mut stores = Vec::new();
    fn encrypted(dir: &Path, into: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                if !name.starts_with("xdg-") && name != "exports" {
                    encrypted(&path, into);
                }
            } else if path.components().any(|part| {
                matches!(
                    part.as_os_str().to_string_lossy().as_ref(),
                    "cases" | "attachments"
                )
            }) {
                into.push(path);
            }
        }
    }
    encrypted(&homes, &mut stores);
    search(
        &stores,
        &needles,
        "an encrypted file shows a test person's data in the clear",
        &mut hits,
    );
    println!(
        "privacy scan: {} files outside the encrypted stores and {} encrypted files searched for {} test values: {} hit(s)",
        scanned.len(),
        stores.len(),
        needles.len(),
        hits.len()
    );
    if !hits.is_empty() {
        hits.sort();
        hits.dedup();
        for hit in &hits {
            eprintln!("{hit}");
        }
        std::process::exit(1);
    }
}
