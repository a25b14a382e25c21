//! The store key is never lost or silently replaced: a key is made only
//! when no store exists; an existing store whose key is not found is a
//! clear error and nothing is written. Real SQLCipher files, the mock key
//! store (emptied to stand for a lost key store).

use std::path::Path;
use std::sync::Arc;

use offline_cache::sample;
use offline_cache::{CaseStore, KeySource, Production, StoreOptions};

fn at(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

/// Every file of the store folder, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn empty(store: &Arc<keyring_core::CredentialStore>, account: &str) {
    keyring_core::Entry::new_in_store(store, offline_cache::key::SERVICE, account)
        .unwrap()
        .delete_credential()
        .unwrap();
}

fn no_entry(store: &Arc<keyring_core::CredentialStore>, account: &str) -> bool {
    matches!(
        keyring_core::Entry::new_in_store(store, offline_cache::key::SERVICE, account)
            .unwrap()
            .get_secret(),
        Err(keyring_core::Error::NoEntry)
    )
}

#[tokio::test]
async fn an_existing_store_whose_key_is_gone_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cases");
    let store_file = folder.join("cases.db");
    let keys: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let source = KeySource::Store {
        store: keys.clone(),
        account: "cases".into(),
    };
    let key = source.obtain(&store_file).unwrap();
    let store = CaseStore::<Production>::open(&folder, &key, StoreOptions::default()).unwrap();
    let case_id = uuid::Uuid::new_v4().to_string();
    store
        .record_intake(sample::intake(
            &case_id,
            1,
            at("2026-12-04T09:30:00+08:00"),
            10,
            2,
        ))
        .await
        .unwrap();
    drop(store);

    // The key store is lost (or was not reachable and looked empty).
    empty(&keys, "cases");
    let before = snapshot(&folder);
    let error = source.obtain(&store_file).unwrap_err();
    assert_eq!(error.code(), "store_key_missing", "{error}");
    assert!(
        error.message_zh().contains("恢复密钥"),
        "{}",
        error.message_zh()
    );
    assert!(error.to_string().contains("recovery key"), "{error}");
    // Nothing was written: no key in the key store, the files unchanged.
    assert!(no_entry(&keys, "cases"), "a new key was saved");
    assert_eq!(snapshot(&folder), before, "the store folder changed");
    // Asking again changes nothing either.
    assert_eq!(
        source.obtain(&store_file).unwrap_err().code(),
        "store_key_missing"
    );
    assert!(no_entry(&keys, "cases"));
    assert_eq!(snapshot(&folder), before);
}

#[test]
fn a_write_ahead_log_alone_counts_as_an_existing_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_file = dir.path().join("cases.db");
    std::fs::write(dir.path().join("cases.db-wal"), b"not empty").unwrap();
    let keys: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let source = KeySource::Store {
        store: keys.clone(),
        account: "cases".into(),
    };
    assert_eq!(
        source.obtain(&store_file).unwrap_err().code(),
        "store_key_missing"
    );
    assert!(no_entry(&keys, "cases"));
}

#[test]
fn a_key_file_that_is_gone_is_not_made_again_for_an_existing_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_file = dir.path().join("cases").join("cases.db");
    let key_file = dir.path().join("keys/store.key");
    let source = KeySource::File(key_file.clone());
    let key = source.obtain(&store_file).unwrap();
    drop(
        CaseStore::<Production>::open(&dir.path().join("cases"), &key, StoreOptions::default())
            .unwrap(),
    );
    std::fs::remove_file(&key_file).unwrap();
    assert_eq!(
        source.obtain(&store_file).unwrap_err().code(),
        "store_key_missing"
    );
    assert!(!key_file.exists(), "a new key file was written");
}

#[tokio::test]
async fn a_lost_key_store_is_recovered_with_the_recovery_key_and_the_cases_are_there() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cases");
    let store_file = folder.join("cases.db");
    let keys: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let source = KeySource::Store {
        store: keys.clone(),
        account: "cases".into(),
    };
    // First start: the key and its recovery key (shown once) are made.
    let first = source.open(&store_file).unwrap();
    let recovery = first.recovery.expect("a recovery key at first creation");
    let written = recovery.display().to_string();
    drop(recovery);
    let store =
        CaseStore::<Production>::open(&folder, &first.key, StoreOptions::default()).unwrap();
    let case_id = uuid::Uuid::new_v4().to_string();
    let case = store
        .record_intake(sample::intake(
            &case_id,
            7,
            at("2026-12-04T10:00:00+08:00"),
            10,
            2,
        ))
        .await
        .unwrap();
    drop(store);
    // The wrapped key lies next to the store, private, the key not in clear.
    let wrapped = offline_cache::recovery::recovery_file(&store_file);
    assert_eq!(wrapped, folder.join("cases.key-recovery"));
    let text = std::fs::read_to_string(&wrapped).unwrap();
    assert!(!text.contains(&hex::encode(first.key.bytes())));

    // The key store is lost: the store stays closed and is not replaced.
    empty(&keys, "cases");
    assert_eq!(
        source.obtain(&store_file).unwrap_err().code(),
        "store_key_missing"
    );
    let before = snapshot(&folder);

    // A wrong recovery key, and a mistyped one: clear errors, nothing changed.
    let other = offline_cache::recovery::RecoveryKey::random()
        .display()
        .to_string();
    let error = offline_cache::recovery::recover(&source, &store_file, &other).unwrap_err();
    assert_eq!(error.code(), "recovery_key_wrong");
    assert!(error.message_zh().contains("恢复密钥"));
    let mut mistyped: Vec<char> = written.chars().collect();
    mistyped[0] = if mistyped[0] == '7' { '8' } else { '7' };
    let mistyped: String = mistyped.into_iter().collect();
    assert_eq!(
        offline_cache::recovery::recover(&source, &store_file, &mistyped)
            .unwrap_err()
            .code(),
        "recovery_key_mistyped"
    );
    assert!(no_entry(&keys, "cases"), "a key was saved");
    assert_eq!(snapshot(&folder), before, "the store folder changed");

    // The administrator types the recovery key (lower case, spaces).
    let typed = written.to_lowercase().replace('-', " ");
    let recovered = offline_cache::recovery::recover(&source, &store_file, &typed).unwrap();
    assert_eq!(recovered.bytes(), first.key.bytes());
    // Saved in the key store again: the next start finds it.
    let again = source.open(&store_file).unwrap();
    assert!(again.recovery.is_none());
    assert_eq!(again.key.bytes(), first.key.bytes());
    let store =
        CaseStore::<Production>::open(&folder, &again.key, StoreOptions::default()).unwrap();
    let read = store.case(&case_id).await.unwrap();
    assert_eq!(read.case_number, case.case_number);
}

#[test]
fn a_recovery_key_that_opens_another_store_is_not_saved() {
    // Two stores, each with its recovery file; the first one's recovery
    // file copied over the second's: the key it unwraps does not open the
    // second store, so nothing is saved.
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let one = KeySource::Store {
        store: keys.clone(),
        account: "one".into(),
    };
    let two = KeySource::Store {
        store: keys.clone(),
        account: "two".into(),
    };
    let one_file = dir.path().join("one/cases.db");
    let two_file = dir.path().join("two/cases.db");
    let first = one.open(&one_file).unwrap();
    let second = two.open(&two_file).unwrap();
    drop(
        CaseStore::<Production>::open(&dir.path().join("one"), &first.key, StoreOptions::default())
            .unwrap(),
    );
    drop(
        CaseStore::<Production>::open(
            &dir.path().join("two"),
            &second.key,
            StoreOptions::default(),
        )
        .unwrap(),
    );
    std::fs::copy(
        offline_cache::recovery::recovery_file(&one_file),
        offline_cache::recovery::recovery_file(&two_file),
    )
    .unwrap();
    empty(&keys, "two");
    let typed = first.recovery.unwrap().display().to_string();
    assert_eq!(
        offline_cache::recovery::recover(&two, &two_file, &typed)
            .unwrap_err()
            .code(),
        "wrong_key_or_not_a_store"
    );
    assert!(no_entry(&keys, "two"));
}
