//! The case store on real SQLCipher files in temporary folders.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use offline_cache::audit::BrokenLink;
use offline_cache::cases::Actor;
use offline_cache::drafts::DraftSave;
use offline_cache::lifecycle::{CaseState, Event, Role};
use offline_cache::sample;
use offline_cache::{CaseStore, KeySource, Practice, Production, StoreKey, StoreOptions};
use serde_json::json;

fn at(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

fn mock_key(account: &str) -> StoreKey {
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    // A key for a store not made yet (its recovery file goes to a scratch folder).
    let scratch = tempfile::tempdir().unwrap();
    KeySource::Store {
        store,
        account: account.into(),
    }
    .obtain(&scratch.path().join("new.db"))
    .unwrap()
}

fn open(dir: &Path, key: &StoreKey) -> CaseStore<Production> {
    CaseStore::open(dir, key, StoreOptions::default()).unwrap()
}

fn supervisor() -> Actor {
    Actor {
        user_id: "supervisor-01".into(),
        role: Role::Supervisor,
    }
}

#[tokio::test]
async fn an_intake_is_one_transaction_with_audit_and_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    let store = open(dir.path(), &key);
    let case_id = uuid::Uuid::new_v4().to_string();
    let case = store
        .record_intake(sample::intake(
            &case_id,
            1,
            at("2026-11-27T09:30:00+08:00"),
            50,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(case.state, CaseState::Dispatched);
    assert_eq!(case.case_number, "SAMPLE01202611270001");
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 2, "one submission per back-office system");
    assert!(outbox
        .iter()
        .all(|row| row.action == "submit" && !row.quarantined));
    assert_ne!(outbox[0].idempotency_key, outbox[1].idempotency_key);
    assert_eq!(store.verify_audit().unwrap(), Ok(2));
    let values = store.case_values(&case_id).await.unwrap();
    assert_eq!(values["market.company-establishment"].len(), 50);

    // The same case id again writes nothing new.
    let again = store
        .record_intake(sample::intake(
            &case_id,
            1,
            at("2026-11-27T09:31:00+08:00"),
            50,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(again.case_number, case.case_number);
    assert_eq!(store.outbox().await.unwrap().len(), 2);
}

#[tokio::test]
async fn case_numbers_count_up_per_day_and_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    let mut numbers = Vec::new();
    {
        let store = open(dir.path(), &key);
        for _ in 0..3 {
            let id = uuid::Uuid::new_v4().to_string();
            numbers.push(
                store
                    .record_intake(sample::intake(
                        &id,
                        2,
                        at("2026-11-27T10:00:00+08:00"),
                        1,
                        1,
                    ))
                    .await
                    .unwrap()
                    .case_number,
            );
        }
    }
    let store = open(dir.path(), &key);
    let id = uuid::Uuid::new_v4().to_string();
    numbers.push(
        store
            .record_intake(sample::intake(
                &id,
                2,
                at("2026-11-27T16:00:00+08:00"),
                1,
                1,
            ))
            .await
            .unwrap()
            .case_number,
    );
    let id = uuid::Uuid::new_v4().to_string();
    numbers.push(
        store
            .record_intake(sample::intake(
                &id,
                2,
                at("2026-11-30T08:00:00+08:00"),
                1,
                1,
            ))
            .await
            .unwrap()
            .case_number,
    );
    assert_eq!(
        numbers,
        [
            "SAMPLE01202611270001",
            "SAMPLE01202611270002",
            "SAMPLE01202611270003",
            "SAMPLE01202611270004",
            "SAMPLE01202611300001"
        ]
    );
    let document = |time: &str| offline_cache::documents::NewDocument {
        case_id: id.clone(),
        kind: "acceptance-receipt".into(),
        kind_text: "受".into(),
        at: at(time),
        actor: sample::clerk(),
    };
    // Each document is rendered with its number, kept encrypted with the
    // case, and its hash is in the audit log.
    let vault = std::sync::Arc::new(
        offline_cache::attachments::AttachmentVault::open(
            &dir.path().join("attachments"),
            &mock_key("cases"),
        )
        .unwrap(),
    );
    let render = |number: &str| Ok(format!("%PDF receipt {number}").into_bytes());
    let first = store
        .issue_document(vault.clone(), document("2026-11-30T08:00:00+08:00"), render)
        .await
        .unwrap();
    let second = store
        .issue_document(vault.clone(), document("2026-11-30T08:01:00+08:00"), render)
        .await
        .unwrap();
    assert_eq!(first.number, "示例政务01受〔2026〕1号");
    assert_eq!(second.number, "示例政务01受〔2026〕2号");
    assert_eq!(first.pdf, "%PDF receipt 示例政务01受〔2026〕1号".as_bytes());
    assert_eq!(vault.get(&first.attachment_id).unwrap(), first.pdf);
    let listed = store.documents_of(&id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].sha256, first.sha256);
    assert_eq!(
        listed[1].attachment_id.as_deref(),
        Some(second.attachment_id.as_str())
    );
    // The stored PDF reads back by number; an unknown number is an error.
    let (row, pdf) = store
        .stored_document(vault.clone(), &id, &first.number)
        .await
        .unwrap();
    assert_eq!(
        (row.number.as_str(), pdf.as_slice()),
        (first.number.as_str(), first.pdf.as_slice())
    );
    let missing = store
        .stored_document(vault.clone(), &id, "示例政务01受〔2026〕99999号")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "bad_input");
    assert!(missing.to_string().contains("99999"), "{missing}");
    // A render that fails records nothing; its number is not reused.
    let failed = store
        .issue_document(vault.clone(), document("2026-11-30T08:02:00+08:00"), |_| {
            Err("no font".into())
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "bad_input");
    assert_eq!(store.documents_of(&id).await.unwrap().len(), 2);
    // A reprint is logged with its own hash.
    let reprint_hash = store
        .record_reprint(
            first.number.clone(),
            b"%PDF copy".to_vec(),
            sample::clerk(),
            at("2026-11-30T09:00:00+08:00"),
        )
        .await
        .unwrap();
    let details: Vec<String> = store
        .read(|connection| {
            let mut statement = connection.prepare(
                "SELECT detail FROM audit_log WHERE action LIKE 'document.%' ORDER BY seq",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(details.len(), 3);
    assert!(details[0].contains(&first.sha256));
    assert!(details[2].contains(&reprint_hash));
    assert!(store.verify_audit().unwrap().is_ok());
}

#[tokio::test]
async fn transitions_follow_the_lifecycle_and_illegal_ones_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &mock_key("cases"));
    let id = uuid::Uuid::new_v4().to_string();
    let mut intake = sample::intake(&id, 3, at("2026-11-27T10:00:00+08:00"), 5, 2);
    intake.event = Event::AcceptWithGaps;
    intake.dispatch_now = false;
    assert_eq!(
        store.record_intake(intake).await.unwrap().state,
        CaseState::AcceptedWithGaps
    );
    let error = store
        .transition(
            &id,
            Event::SignOffGaps,
            sample::clerk(),
            at("2026-11-27T10:01:00+08:00"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "illegal_transition");
    assert_eq!(
        store.case(&id).await.unwrap().state,
        CaseState::AcceptedWithGaps
    );
    assert_eq!(store.verify_audit().unwrap(), Ok(1));
    assert!(store.outbox().await.unwrap().is_empty());

    assert_eq!(
        store
            .transition(
                &id,
                Event::SignOffGaps,
                supervisor(),
                at("2026-11-27T10:02:00+08:00"),
                None
            )
            .await
            .unwrap(),
        CaseState::Accepted
    );
    assert_eq!(
        store
            .transition(
                &id,
                Event::SendToReview,
                sample::clerk(),
                at("2026-11-27T10:03:00+08:00"),
                None
            )
            .await
            .unwrap(),
        CaseState::HandoffReview
    );
    assert!(
        store.outbox().await.unwrap().is_empty(),
        "nothing leaves before the review"
    );
    assert_eq!(
        store
            .transition(
                &id,
                Event::ApproveHandoff,
                supervisor(),
                at("2026-11-27T10:04:00+08:00"),
                Some("ok".into())
            )
            .await
            .unwrap(),
        CaseState::Dispatched
    );
    assert_eq!(store.outbox().await.unwrap().len(), 2);
    assert_eq!(store.verify_audit().unwrap(), Ok(4));
    let unknown = store
        .transition(
            "no-such-case",
            Event::Issue,
            sample::clerk(),
            at("2026-11-27T10:05:00+08:00"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "unknown_case");
}

#[tokio::test]
async fn drafts_reopen_exactly_after_a_restart_and_go_with_the_intake() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    let content = json!({ "applicant": { "name": "张三" }, "values": { "entity_name": "武汉示例科技有限公司", "registered_capital": "1000000.00" }, "cursor": "registered_capital" });
    {
        let store = open(dir.path(), &key);
        for revision in 1..=5 {
            let saved = store
                .save_draft(DraftSave {
                    id: "draft-a".into(),
                    clerk_id: "clerk-01".into(),
                    window: "01".into(),
                    bundle_id: None,
                    item_versions: BTreeMap::from([("market.company-establishment".to_owned(), 2)]),
                    content: if revision == 5 {
                        content.clone()
                    } else {
                        json!({ "typing": revision })
                    },
                    at: at("2026-11-27T10:00:00+08:00"),
                })
                .await
                .unwrap();
            assert_eq!(saved, revision);
        }
    }
    let store = open(dir.path(), &key);
    let drafts = store.open_drafts(Some("01".into())).await.unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].content, content);
    assert_eq!(drafts[0].revision, 5);
    assert_eq!(
        drafts[0].item_versions["market.company-establishment"], 2,
        "pinned to the version it started on"
    );
    let id = uuid::Uuid::new_v4().to_string();
    let mut intake = sample::intake(&id, 4, at("2026-11-27T10:10:00+08:00"), 3, 1);
    intake.draft_id = Some("draft-a".into());
    store.record_intake(intake).await.unwrap();
    assert!(store.open_drafts(None).await.unwrap().is_empty());
    assert_eq!(
        store
            .discard_draft("draft-a", sample::clerk(), at("2026-11-27T10:11:00+08:00"))
            .await
            .unwrap_err()
            .code(),
        "unknown_draft"
    );
}

#[tokio::test]
async fn ask_once_returns_what_earlier_cases_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &mock_key("cases"));
    let first = uuid::Uuid::new_v4().to_string();
    store
        .record_intake(sample::intake(
            &first,
            5,
            at("2026-11-20T10:00:00+08:00"),
            3,
            1,
        ))
        .await
        .unwrap();
    let second = uuid::Uuid::new_v4().to_string();
    let mut later = sample::intake(&second, 5, at("2026-11-27T10:00:00+08:00"), 2, 1);
    later
        .values
        .get_mut("market.company-establishment")
        .unwrap()
        .insert("field_000".into(), json!("updated"));
    store.record_intake(later).await.unwrap();
    let known = store
        .find_applicant(&sample::resident_id(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(known.name, "测试申请人5");
    assert_eq!(known.profile.phone.as_deref(), Some("13900000000"));
    assert_eq!(
        known.earlier_values["field_000"].0,
        json!("updated"),
        "the newest value wins"
    );
    assert_eq!(
        known.earlier_values["field_002"].0,
        json!(format!("value 2 of case {first}"))
    );
    assert_eq!(
        store
            .cases_by_identifier(&sample::resident_id(5))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store
        .find_applicant("110105194912310021")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .cases_for_window_day("01", "2026-11-27")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_changed_audit_entry_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    {
        let store = open(dir.path(), &key);
        for applicant in 0..3 {
            let id = uuid::Uuid::new_v4().to_string();
            let intake = sample::intake(&id, applicant, at("2026-11-27T10:00:00+08:00"), 1, 1);
            let options = StoreOptions::default();
            store
                .write_blocking(move |connection| {
                    offline_cache::cases::record_intake(connection, &options, &intake)
                })
                .unwrap();
        }
        assert_eq!(store.verify_audit().unwrap(), Ok(6));
    }
    let raw = rusqlite::Connection::open(dir.path().join("cases.db")).unwrap();
    raw.pragma_update(None, "key", format!("x'{}'", hex::encode(key.bytes())))
        .unwrap();
    let refused = raw.execute("UPDATE audit_log SET detail = '{}' WHERE seq = 3", []);
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    raw.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = '{\"x\":1}' WHERE seq = 3;").unwrap();
    drop(raw);
    let store = open(dir.path(), &key);
    assert_eq!(
        store.verify_audit().unwrap(),
        Err(BrokenLink {
            seq: 3,
            reason: "its content was changed".into()
        })
    );
}

#[test]
fn the_file_is_unreadable_without_the_key_and_a_wrong_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    {
        let store = open(dir.path(), &key);
        let id = uuid::Uuid::new_v4().to_string();
        let intake = sample::intake(&id, 6, at("2026-11-27T10:00:00+08:00"), 3, 1);
        let options = StoreOptions::default();
        store
            .write_blocking(move |connection| {
                offline_cache::cases::record_intake(connection, &options, &intake)
            })
            .unwrap();
    }
    let path = dir.path().join("cases.db");
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    let identifier = sample::resident_id(6);
    assert!(!bytes
        .windows(identifier.len())
        .any(|window| window == identifier.as_bytes()));
    let before = std::fs::read(&path).unwrap();
    let error =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .err()
            .unwrap();
    assert_eq!(error.code(), "wrong_key_or_not_a_store");
    assert!(error.message_zh().contains("文件未被改动"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default()).is_ok());
}

#[test]
fn damaged_truncated_and_newer_files_give_clear_errors_and_stay_as_they_were() {
    let key = mock_key("cases");
    let make = || {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), &key);
        for applicant in 0..40 {
            let id = uuid::Uuid::new_v4().to_string();
            let intake = sample::intake(&id, applicant, at("2026-11-27T10:00:00+08:00"), 30, 5);
            let options = StoreOptions::default();
            store
                .write_blocking(move |connection| {
                    offline_cache::cases::record_intake(connection, &options, &intake)
                })
                .unwrap();
        }
        drop(store);
        dir
    };
    // Damaged in the middle.
    let dir = make();
    let path = dir.path().join("cases.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 4096] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let error = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(error.code(), "store_corrupt" | "wrong_key_or_not_a_store"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Truncated.
    let dir = make();
    let path = dir.path().join("cases.db");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let error = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(error.code(), "store_corrupt" | "wrong_key_or_not_a_store"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len() / 3);

    // Written by a newer version.
    let dir = make();
    let raw = rusqlite::Connection::open(dir.path().join("cases.db")).unwrap();
    raw.pragma_update(None, "key", format!("x'{}'", hex::encode(key.bytes())))
        .unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);
    let error = CaseStore::<Production>::open(dir.path(), &key, StoreOptions::default())
        .err()
        .unwrap();
    assert_eq!(error.code(), "store_newer_schema", "{error}");
}

#[tokio::test]
async fn a_version_1_store_is_migrated_with_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let key = mock_key("cases");
    {
        let mut raw = rusqlite::Connection::open(dir.path().join("cases.db")).unwrap();
        raw.pragma_update(None, "key", format!("x'{}'", hex::encode(key.bytes())))
            .unwrap();
        offline_cache::schema::migrations()
            .to_version(&mut raw, 1)
            .unwrap();
        raw.execute_batch(
            "INSERT INTO cases (id, case_number, category, item_versions, window, clerk_id, state, created_at, created_day, updated_at)
             VALUES ('00000000-0000-4000-8000-000000000001', 'SAMPLE202601050001', 'economic', '{\"market.company-establishment\":2}', '01', 'clerk-01', 'accepted', '2026-01-05T09:00:00+08:00', '2026-01-05', '2026-01-05T09:00:00+08:00');",
        )
        .unwrap();
    }
    let store = open(dir.path(), &key);
    let case = store
        .case("00000000-0000-4000-8000-000000000001")
        .await
        .unwrap();
    assert_eq!(case.case_number, "SAMPLE202601050001");
    assert_eq!(case.item_versions["market.company-establishment"], 2);
    let version: i64 = store
        .read_blocking(|connection| {
            Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
        })
        .unwrap();
    assert_eq!(version, offline_cache::schema::SCHEMA_VERSION);
}

#[test]
fn the_practice_store_is_a_separate_file_with_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let real_key = KeySource::Store {
        store: store.clone(),
        account: "cases".into(),
    }
    .obtain(&dir.path().join("cases.db"))
    .unwrap();
    let practice_key = KeySource::Store {
        store,
        account: "practice".into(),
    }
    .obtain(&dir.path().join("practice.db"))
    .unwrap();
    let practice =
        CaseStore::<Practice>::open(dir.path(), &practice_key, StoreOptions::default()).unwrap();
    assert!(practice.is_practice());
    assert!(practice.path().ends_with("practice.db"));
    let real =
        CaseStore::<Production>::open(dir.path(), &real_key, StoreOptions::default()).unwrap();
    assert!(real.path().ends_with("cases.db"));
    drop(real);
    assert!(
        CaseStore::<Production>::open(dir.path(), &practice_key, StoreOptions::default()).is_err()
    );
}
