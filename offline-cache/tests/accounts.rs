//! Accounts on a real encrypted store: the first administrator, argon2id
//! hashes, lockout after repeated failures, disabled accounts, resets, and
//! a supervisor's sign-off of a case accepted with gaps.

use offline_cache::accounts::{NewUser, LOCK_AFTER_FAILURES};
use offline_cache::lifecycle::{CaseState, Event, Role};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn open() -> (tempfile::TempDir, CaseStore<Production>) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    (dir, store)
}

#[tokio::test]
async fn the_first_admin_creates_accounts_whose_passwords_are_only_hashes() {
    let (dir, store) = open();
    assert!(!store.has_accounts().await.unwrap());
    let short = store
        .create_first_admin("admin".into(), "管理员".into(), "short".into(), now())
        .await
        .unwrap_err();
    assert_eq!(short.code(), "password_too_short");
    let admin = store
        .create_first_admin(
            "Admin".into(),
            "管理员".into(),
            "correct horse".into(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(admin.login, "admin");
    assert_eq!(admin.role, Role::Admin);
    let again = store
        .create_first_admin("second".into(), "x".into(), "correct horse".into(), now())
        .await
        .unwrap_err();
    assert_eq!(again.code(), "accounts_exist");

    let supervisor = store
        .create_user(
            admin.actor(),
            NewUser {
                login: "wang".into(),
                display_name: "王值班长".into(),
                role: Role::Supervisor,
                password: "246810".into(), // a six-digit PIN
            },
            now(),
        )
        .await
        .unwrap();
    // A clerk cannot create accounts.
    let clerk_actor = offline_cache::cases::Actor {
        user_id: "someone".into(),
        role: Role::Clerk,
    };
    let refused = store
        .create_user(
            clerk_actor,
            NewUser {
                login: "x".into(),
                display_name: "x".into(),
                role: Role::Admin,
                password: "whatever-long".into(),
            },
            now(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "not_allowed");
    let signed_in = store
        .verify_user("WANG".into(), "246810".into(), now())
        .await
        .unwrap();
    assert_eq!(signed_in, supervisor);
    assert_eq!(store.users().await.unwrap().len(), 2);

    // Only argon2id hashes are kept: never the password or PIN itself.
    let hashes: Vec<String> = store
        .read_blocking(|connection| {
            let mut statement = connection.prepare("SELECT password_hash FROM users")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .unwrap();
    assert_eq!(hashes.len(), 2);
    for hash in &hashes {
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("246810") && !hash.contains("correct horse"));
    }
    assert_ne!(hashes[0], hashes[1]);
    drop(dir);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_a_reset_lifts_it() {
    let (_dir, store) = open();
    let admin = store
        .create_first_admin(
            "admin".into(),
            "管理员".into(),
            "correct horse".into(),
            now(),
        )
        .await
        .unwrap();
    let clerk = store
        .create_user(
            admin.actor(),
            NewUser {
                login: "li".into(),
                display_name: "李窗口".into(),
                role: Role::Clerk,
                password: "window-pass".into(),
            },
            now(),
        )
        .await
        .unwrap();
    let unknown = store
        .verify_user("nobody".into(), "window-pass".into(), now())
        .await
        .unwrap_err();
    assert_eq!(
        unknown.code(),
        "sign_in_failed",
        "the same answer as a wrong password"
    );
    for _ in 0..LOCK_AFTER_FAILURES {
        let wrong = store
            .verify_user("li".into(), "wrong-pass".into(), now())
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), "sign_in_failed");
    }
    // Locked: even the right password is refused until the lock ends.
    let locked = store
        .verify_user("li".into(), "window-pass".into(), now())
        .await
        .unwrap_err();
    assert_eq!(locked.code(), "sign_in_failed");
    let later = now() + chrono::Duration::minutes(6);
    assert_eq!(
        store
            .verify_user("li".into(), "window-pass".into(), later)
            .await
            .unwrap()
            .id,
        clerk.id
    );

    store
        .set_disabled(admin.actor(), clerk.id.clone(), true, now())
        .await
        .unwrap();
    let disabled = store
        .verify_user("li".into(), "window-pass".into(), now())
        .await
        .unwrap_err();
    assert_eq!(disabled.code(), "sign_in_failed");
    store
        .set_disabled(admin.actor(), clerk.id.clone(), false, now())
        .await
        .unwrap();
    store
        .reset_password(
            admin.actor(),
            clerk.id.clone(),
            "new-window-pass".into(),
            now(),
        )
        .await
        .unwrap();
    assert!(store
        .verify_user("li".into(), "window-pass".into(), now())
        .await
        .is_err());
    assert!(store
        .verify_user("li".into(), "new-window-pass".into(), now())
        .await
        .is_ok());
    let audit = store.verify_audit().unwrap();
    assert!(audit.is_ok(), "the audit chain holds: {audit:?}");
}

#[tokio::test]
async fn a_supervisor_signs_off_a_case_accepted_with_gaps_and_a_clerk_cannot() {
    let (_dir, store) = open();
    let case_id = uuid::Uuid::new_v4().to_string();
    let mut intake = sample::intake(&case_id, 1, now(), 1, 1);
    intake.event = Event::AcceptWithGaps;
    store.record_intake(intake).await.unwrap();
    assert_eq!(
        store.case(&case_id).await.unwrap().state,
        CaseState::AcceptedWithGaps
    );
    let clerk = offline_cache::cases::Actor {
        user_id: "clerk".into(),
        role: Role::Clerk,
    };
    let refused = store
        .sign_off_gaps(&case_id, clerk, now(), true)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "illegal_transition");
    let supervisor = offline_cache::cases::Actor {
        user_id: "supervisor".into(),
        role: Role::Supervisor,
    };
    let state = store
        .sign_off_gaps(&case_id, supervisor, now(), true)
        .await
        .unwrap();
    assert_eq!(state, CaseState::Dispatched);
    let outbox = store.outbox().await.unwrap();
    assert!(outbox
        .iter()
        .any(|row| row.case_id == case_id && row.action == "submit"));
}

#[tokio::test]
async fn an_unknown_login_reads_and_costs_the_same_as_a_wrong_password_a_locked_or_a_disabled_account(
) {
    let (_dir, store) = open();
    let admin = store
        .create_first_admin(
            "admin".into(),
            "管理员".into(),
            "correct horse".into(),
            now(),
        )
        .await
        .unwrap();
    for login in ["li", "zhao"] {
        store
            .create_user(
                admin.actor(),
                NewUser {
                    login: login.into(),
                    display_name: login.into(),
                    role: Role::Clerk,
                    password: "window-pass".into(),
                },
                now(),
            )
            .await
            .unwrap();
    }
    // The time a failure takes (the fastest of three) does not tell an
    // unknown login from a wrong password: both run argon2 once.
    let mut unknown = std::time::Duration::MAX;
    let mut wrong = std::time::Duration::MAX;
    for round in 0..3 {
        let started = std::time::Instant::now();
        let error = store
            .verify_user(format!("nobody-{round}"), "window-pass".into(), now())
            .await
            .unwrap_err();
        unknown = unknown.min(started.elapsed());
        assert_eq!(error.code(), "sign_in_failed");
        let started = std::time::Instant::now();
        store
            .verify_user("zhao".into(), "wrong-pass".into(), now())
            .await
            .unwrap_err();
        wrong = wrong.min(started.elapsed());
    }
    assert!(
        unknown * 2 >= wrong,
        "an unknown login took {unknown:?}, a wrong password {wrong:?}"
    );

    // One answer for unknown, wrong, locked and disabled alike.
    let answer = |error: offline_cache::CacheError| {
        (
            error.code().to_owned(),
            error.message_zh(),
            error.to_string(),
        )
    };
    let unknown = answer(
        store
            .verify_user("nobody".into(), "window-pass".into(), now())
            .await
            .unwrap_err(),
    );
    assert_eq!(unknown.0, "sign_in_failed");
    for _ in 0..LOCK_AFTER_FAILURES {
        let wrong = store
            .verify_user("li".into(), "wrong-pass".into(), now())
            .await
            .unwrap_err();
        assert_eq!(answer(wrong), unknown);
    }
    let started = std::time::Instant::now();
    let locked = store
        .verify_user("li".into(), "window-pass".into(), now())
        .await
        .unwrap_err();
    let locked_took = started.elapsed();
    assert_eq!(answer(locked), unknown, "locked");
    assert!(locked_took * 2 >= wrong, "locked took {locked_took:?}");
    let zhao = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|user| user.login == "zhao")
        .unwrap();
    store
        .set_disabled(admin.actor(), zhao.id, true, now())
        .await
        .unwrap();
    let disabled = store
        .verify_user("zhao".into(), "window-pass".into(), now())
        .await
        .unwrap_err();
    assert_eq!(answer(disabled), unknown, "disabled");
    // The audit log keeps the real reasons.
    let reasons: Vec<String> = store
        .audit_entries(offline_cache::desk::AuditFilter {
            action: Some("account.sign_in_refused".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|entry| {
            let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
            detail["reason"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert!(reasons.contains(&"locked".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"disabled".to_owned()), "{reasons:?}");
}

#[tokio::test]
async fn wrong_passwords_in_the_supervisors_dialog_at_a_window_never_lock_the_supervisor_out() {
    let (_dir, store) = open();
    let admin = store
        .create_first_admin(
            "admin".into(),
            "管理员".into(),
            "correct horse".into(),
            now(),
        )
        .await
        .unwrap();
    let supervisor = store
        .create_user(
            admin.actor(),
            NewUser {
                login: "wang".into(),
                display_name: "王值班长".into(),
                role: Role::Supervisor,
                password: "246810".into(),
            },
            now(),
        )
        .await
        .unwrap();
    let at_window = offline_cache::cases::Actor {
        user_id: "clerk-li".into(),
        role: Role::Clerk,
    };
    for _ in 0..LOCK_AFTER_FAILURES {
        let wrong = store
            .verify_at_window("wang".into(), "000000".into(), at_window.clone(), now())
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), "sign_in_failed");
    }
    // The dialog at this window pauses, even for the right PIN …
    let paused = store
        .verify_at_window("wang".into(), "246810".into(), at_window.clone(), now())
        .await
        .unwrap_err();
    assert_eq!(paused.code(), "window_check_paused", "{paused}");
    assert!(
        paused.message_zh().contains("暂停"),
        "{}",
        paused.message_zh()
    );
    // … but the supervisor's own account is not locked.
    assert_eq!(
        store
            .verify_user("wang".into(), "246810".into(), now())
            .await
            .unwrap()
            .id,
        supervisor.id
    );
    // Another window's dialog is not paused; after the pause this one works.
    let other_window = offline_cache::cases::Actor {
        user_id: "clerk-zhao".into(),
        role: Role::Clerk,
    };
    assert!(store
        .verify_at_window("wang".into(), "246810".into(), other_window, now())
        .await
        .is_ok());
    let later = now() + chrono::Duration::minutes(6);
    assert_eq!(
        store
            .verify_at_window("wang".into(), "246810".into(), at_window.clone(), later)
            .await
            .unwrap()
            .id,
        supervisor.id
    );
    // Unknown and disabled accounts get the one answer there too.
    assert_eq!(
        store
            .verify_at_window("nobody".into(), "246810".into(), at_window.clone(), later)
            .await
            .unwrap_err()
            .code(),
        "sign_in_failed"
    );
    store
        .set_disabled(admin.actor(), supervisor.id.clone(), true, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_at_window("wang".into(), "246810".into(), at_window, later)
            .await
            .unwrap_err()
            .code(),
        "sign_in_failed"
    );
    assert!(store.verify_audit().unwrap().is_ok());
}
