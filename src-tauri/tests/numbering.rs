//! Two workstations of one hall, configured as a hall's IT staff would
//! write their `onewindow.toml`, each take in 1,000 cases across a year end
//! with no network between them: no case number and no document number is
//! issued twice, and every number carries the hall, not the sample.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use offline_cache::attachments::AttachmentVault;
use offline_cache::documents::NewDocument;
use offline_cache::{sample, CaseStore, Production, StoreKey};
use onewindow_lib::config::{Settings, ShippedFolders};

fn configuration(window: &str) -> String {
    format!(
        "[workstation]\n\
         hall_code = \"420102\"\n\
         hall_name_zh = \"江岸区政务服务中心\"\n\
         hall_name_en = \"Jiang'an District Government Service Centre\"\n\
         window_number = \"{window}\"\n\
         agency_short_name = \"江岸政务\"\n"
    )
}

const CASES_PER_WINDOW: u64 = 1_000;

/// The numbers one workstation issues: `CASES_PER_WINDOW` cases and a
/// receipt for each, half on the last day of 2026, half on the first of 2027.
async fn numbers_of_one_window(window: &str) -> (Vec<String>, Vec<String>) {
    let shipped = ShippedFolders::find(None);
    let settings = Settings::parse(&configuration(window), &shipped).expect("a valid file");
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let store =
        CaseStore::<Production>::open(&dir.path().join("cases"), &key, settings.store_options())
            .unwrap();
    let vault = Arc::new(AttachmentVault::open(&dir.path().join("attachments"), &key).unwrap());
    let mut case_numbers = Vec::new();
    let mut document_numbers = Vec::new();
    for index in 0..CASES_PER_WINDOW {
        let at: DateTime<FixedOffset> = if index < CASES_PER_WINDOW / 2 {
            "2026-12-31T16:30:00+08:00".parse().unwrap()
        } else {
            "2027-01-01T09:00:00+08:00".parse().unwrap()
        };
        let case_id = uuid::Uuid::new_v4().to_string();
        let summary = store
            .record_intake(sample::intake(&case_id, index, at, 1, 0))
            .await
            .unwrap();
        case_numbers.push(summary.case_number);
        let issued = store
            .issue_document(
                vault.clone(),
                NewDocument {
                    case_id: case_id.clone(),
                    kind: "acceptance-receipt".into(),
                    kind_text: "受".into(),
                    at,
                    actor: sample::clerk(),
                },
                |number| Ok(number.as_bytes().to_vec()),
            )
            .await
            .unwrap();
        document_numbers.push(issued.number);
    }
    (case_numbers, document_numbers)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_windows_of_one_hall_never_issue_the_same_number() {
    let (first, second) = tokio::join!(numbers_of_one_window("03"), numbers_of_one_window("12"));
    let mut cases = BTreeSet::new();
    let mut documents = BTreeSet::new();
    for number in first.0.iter().chain(&second.0) {
        assert!(number.starts_with("420102"), "{number}");
        assert!(
            cases.insert(number.clone()),
            "case number {number} issued twice"
        );
    }
    for number in first.1.iter().chain(&second.1) {
        assert!(number.starts_with("江岸政务"), "{number}");
        assert!(
            documents.insert(number.clone()),
            "document number {number} issued twice"
        );
    }
    assert_eq!(cases.len(), 2 * CASES_PER_WINDOW as usize);
    assert_eq!(documents.len(), 2 * CASES_PER_WINDOW as usize);
    // Each window's first receipt of each year, without padding zeros.
    assert_eq!(first.1[0], "江岸政务03受〔2026〕1号");
    assert_eq!(second.1[0], "江岸政务12受〔2026〕1号");
    let half = (CASES_PER_WINDOW / 2) as usize;
    assert_eq!(first.1[half], "江岸政务03受〔2027〕1号");
    assert_eq!(first.0[0], "42010203202612310001");
    assert_eq!(second.0[half], "42010212202701010001");
}
