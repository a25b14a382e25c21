//! The one writer thread survives a job that panics, and documents are
//! rendered outside the writer and its transaction (issue 19, part 6). On
//! real SQLCipher files in temporary folders.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use offline_cache::attachments::AttachmentVault;
use offline_cache::documents::NewDocument;
use offline_cache::drafts::DraftSave;
use offline_cache::{sample, CacheError, CaseStore, Production, StoreKey, StoreOptions};
use serde_json::json;

fn at(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

fn draft(id: &str, typing: u32) -> DraftSave {
    DraftSave {
        id: id.into(),
        clerk_id: "clerk-01".into(),
        window: "01".into(),
        bundle_id: None,
        item_versions: BTreeMap::from([("market.company-establishment".to_owned(), 2)]),
        content: json!({ "typing": typing }),
        at: at("2026-12-04T10:00:00+08:00"),
    }
}

async fn draft_count(store: &CaseStore<Production>) -> i64 {
    store
        .read(|connection| {
            Ok(connection.query_row("SELECT count(*) FROM drafts", [], |row| row.get(0))?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_job_that_panics_fails_alone_and_the_next_draft_save_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    store.save_draft(draft("before", 1)).await.unwrap();

    // A job that panics inside its transaction, after writing a row.
    let failed = store
        .write(|connection| -> Result<(), CacheError> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "INSERT INTO drafts (id, clerk_id, window, item_versions, content, revision, created_at, updated_at)
                 VALUES ('lost-2', 'clerk-01', '01', '{}', '{}', 1, 'x', 'x')",
                [],
            )?;
            panic!("a bug in a job");
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "write_failed", "{failed}");
    assert!(!failed.message_zh().is_empty());
    assert!(
        failed.message_zh().contains("未保存"),
        "{}",
        failed.message_zh()
    );

    // A job that opens a transaction by hand and panics with it open: the
    // writer rolls it back, or every later job would fail to begin its own.
    let failed = store
        .write(|connection| -> Result<(), CacheError> {
            connection.execute_batch(
                "BEGIN IMMEDIATE;
                 INSERT INTO drafts (id, clerk_id, window, item_versions, content, revision, created_at, updated_at)
                 VALUES ('lost-3', 'clerk-01', '01', '{}', '{}', 1, 'x', 'x');",
            )?;
            panic!("another bug");
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "write_failed", "{failed}");

    // The blocking entry point too.
    let failed = store
        .write_blocking(|_| -> Result<(), CacheError> { panic!("a bug off the runtime") })
        .unwrap_err();
    assert_eq!(failed.code(), "write_failed", "{failed}");

    // The writer lives on: the next autosave is kept.
    let revision = store.save_draft(draft("after", 2)).await.unwrap();
    assert_eq!(revision, 1);
    assert_eq!(
        store.draft("after").await.unwrap().content,
        json!({ "typing": 2 })
    );
    let revision = store.save_draft(draft("before", 3)).await.unwrap();
    assert_eq!(revision, 2);
    // Nothing of the panicking jobs was kept.
    assert_eq!(draft_count(&store).await, 2, "only `before` and `after`");
    assert!(store.draft("lost-2").await.is_err());
    assert!(store.draft("lost-3").await.is_err());
    store.integrity_check().unwrap();
}

fn new_document(case_id: &str, time: &str) -> NewDocument {
    NewDocument {
        case_id: case_id.into(),
        kind: "acceptance-receipt".into(),
        kind_text: "受".into(),
        at: at(time),
        actor: sample::clerk(),
    }
}

#[tokio::test]
async fn a_render_that_panics_fails_alone_and_the_next_issue_gets_a_sound_number() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let store = Arc::new(
        CaseStore::<Production>::open(&dir.path().join("store"), &key, StoreOptions::default())
            .unwrap(),
    );
    let vault = Arc::new(AttachmentVault::open(&dir.path().join("vault"), &key).unwrap());
    let case_id = uuid::Uuid::new_v4().to_string();
    store
        .record_intake(sample::intake(
            &case_id,
            1,
            at("2026-12-04T09:30:00+08:00"),
            10,
            5,
        ))
        .await
        .unwrap();
    let other_case = uuid::Uuid::new_v4().to_string();
    store
        .record_intake(sample::intake(
            &other_case,
            2,
            at("2026-12-04T09:40:00+08:00"),
            10,
            5,
        ))
        .await
        .unwrap();

    // The render panics: the caller gets an error, nothing is recorded.
    let panicked = store
        .issue_document(
            vault.clone(),
            new_document(&case_id, "2026-12-04T10:00:00+08:00"),
            |_number: &str| -> Result<Vec<u8>, String> { panic!("a bug in the layout") },
        )
        .await
        .unwrap_err();
    assert_eq!(panicked.code(), "render_failed", "{panicked}");
    assert!(!panicked.message_zh().is_empty());
    assert!(store.documents_of(&case_id).await.unwrap().is_empty());

    // The store keeps working: a draft is saved.
    store.save_draft(draft("after-render", 1)).await.unwrap();

    // Rendering runs off the writer and outside its transaction: while a
    // document renders, another write (an autosave) goes through.
    let writes_during_render = store.clone();
    let retried = store
        .issue_document(
            vault.clone(),
            new_document(&case_id, "2026-12-04T10:01:00+08:00"),
            move |number: &str| {
                let (done, finished) = std::sync::mpsc::channel();
                let store = writes_during_render.clone();
                std::thread::spawn(move || {
                    let _ = done.send(store.write_blocking(|connection| {
                        offline_cache::drafts::save_draft(connection, &draft("during-render", 1))
                    }));
                });
                match finished.recv_timeout(Duration::from_secs(10)) {
                    Ok(Ok(_)) => Ok(format!("%PDF receipt {number}").into_bytes()),
                    Ok(Err(error)) => Err(format!("a write during rendering failed: {error}")),
                    Err(_) => Err("the writer was held while the document rendered".into()),
                }
            },
        )
        .await
        .unwrap();
    // The retry prints the number the panicked render had reserved: none
    // is skipped.
    assert!(
        retried.number.ends_with("〔2026〕1号"),
        "{}",
        retried.number
    );
    assert_eq!(
        vault.get(&retried.attachment_id).unwrap(),
        format!("%PDF receipt {}", retried.number).into_bytes()
    );
    assert_eq!(
        store.draft("during-render").await.unwrap().revision,
        1,
        "the autosave made while rendering is kept"
    );

    // A render that fails (an error, not a panic) is an error too; then
    // documents of another case and of the same case are issued, every
    // number once.
    let failed = store
        .issue_document(
            vault.clone(),
            new_document(&other_case, "2026-12-04T10:02:00+08:00"),
            |_| Err("no font".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "bad_input");
    let render = |number: &str| Ok(format!("%PDF receipt {number}").into_bytes());
    let other = store
        .issue_document(
            vault.clone(),
            new_document(&other_case, "2026-12-04T10:03:00+08:00"),
            render,
        )
        .await
        .unwrap();
    let again = store
        .issue_document(
            vault.clone(),
            new_document(&case_id, "2026-12-04T10:04:00+08:00"),
            render,
        )
        .await
        .unwrap();
    let mut numbers = vec![
        retried.number.clone(),
        other.number.clone(),
        again.number.clone(),
    ];
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 3, "every document has its own number");
    let listed: Vec<String> = store
        .documents_of(&case_id)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.number)
        .collect();
    assert_eq!(listed, [retried.number.clone(), again.number.clone()]);
    assert_eq!(
        store.documents_of(&other_case).await.unwrap().len(),
        1,
        "the failed render of the other case left no document"
    );
    // Each document issued has its audit entry, and the chain holds.
    let issued: i64 = store
        .read(|connection| {
            Ok(connection.query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'document.issued'",
                [],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(issued, 3);
    assert!(store.verify_audit().unwrap().is_ok());
    store.integrity_check().unwrap();
}

/// A render that fails on the last evening of the year, retried the next
/// morning: the number reserved in 2026 is not printed on a 2027 document;
/// the retry gets the new year's first number.
#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_from_last_year_is_not_printed_on_this_years_document() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let store =
        CaseStore::<Production>::open(&dir.path().join("store"), &key, StoreOptions::default())
            .unwrap();
    let vault = Arc::new(AttachmentVault::open(&dir.path().join("vault"), &key).unwrap());
    let case_id = uuid::Uuid::new_v4().to_string();
    store
        .record_intake(sample::intake(
            &case_id,
            1,
            at("2026-12-31T17:20:00+08:00"),
            1,
            0,
        ))
        .await
        .unwrap();
    let failed = store
        .issue_document(
            vault.clone(),
            new_document(&case_id, "2026-12-31T17:25:00+08:00"),
            |_number: &str| -> Result<Vec<u8>, String> {
                Err("the printer font is missing".into())
            },
        )
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "bad_input", "{failed}");
    let issued = store
        .issue_document(
            vault,
            new_document(&case_id, "2027-01-04T08:40:00+08:00"),
            |number: &str| Ok(format!("%PDF receipt {number}").into_bytes()),
        )
        .await
        .unwrap();
    assert!(issued.number.ends_with("〔2027〕1号"), "{}", issued.number);
}
