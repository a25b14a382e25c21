//! Shift handover on a real encrypted store: the report, the next clerk's
//! acknowledgement moving the drafts, the supervisor's, and the refusals.

use offline_cache::cases::Actor;
use offline_cache::drafts::DraftSave;
use offline_cache::lifecycle::{Event, Role};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};
use serde_json::json;

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn actor(user_id: &str, role: Role) -> Actor {
    Actor {
        user_id: user_id.into(),
        role,
    }
}

#[tokio::test]
async fn a_handover_lists_open_work_and_moves_drafts_when_the_next_clerk_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let leaving = actor("clerk-a", Role::Clerk);
    let next = actor("clerk-b", Role::Clerk);
    let draft_id = uuid::Uuid::new_v4().to_string();
    store
        .save_draft(DraftSave {
            id: draft_id.clone(),
            clerk_id: leaving.user_id.clone(),
            window: "01".into(),
            bundle_id: None,
            item_versions: [("market.company-establishment".to_owned(), 1)].into(),
            content: json!({ "step": "form" }),
            at: now(),
        })
        .await
        .unwrap();
    let mut gaps = sample::intake(&uuid::Uuid::new_v4().to_string(), 1, now(), 1, 1);
    gaps.event = Event::AcceptWithGaps;
    gaps.window = "01".into();
    store.record_intake(gaps).await.unwrap();

    let handover = store
        .prepare_handover("01".into(), leaving.clone(), now())
        .await
        .unwrap();
    assert_eq!(handover.report.drafts.len(), 1);
    assert_eq!(handover.report.drafts[0].id, draft_id);
    assert_eq!(handover.report.pending_gaps.len(), 1);
    assert!(!handover.complete());
    assert_eq!(
        store
            .pending_handover("01".into())
            .await
            .unwrap()
            .unwrap()
            .id,
        handover.id
    );

    // The clerk leaving cannot acknowledge their own handover.
    let own = store
        .acknowledge_handover(handover.id.clone(), leaving.clone(), now())
        .await
        .unwrap_err();
    assert_eq!(own.code(), "own_handover");
    let taken = store
        .acknowledge_handover(handover.id.clone(), next.clone(), now())
        .await
        .unwrap();
    assert_eq!(taken.to_user.as_deref(), Some("clerk-b"));
    assert_eq!(store.draft(&draft_id).await.unwrap().clerk_id, "clerk-b");
    let twice = store
        .acknowledge_handover(handover.id.clone(), next.clone(), now())
        .await
        .unwrap_err();
    assert_eq!(twice.code(), "already_acknowledged");
    let done = store
        .acknowledge_handover(
            handover.id.clone(),
            actor("supervisor", Role::Supervisor),
            now(),
        )
        .await
        .unwrap();
    assert!(done.complete());
    assert!(store.pending_handover("01".into()).await.unwrap().is_none());
    let trainer = store
        .acknowledge_handover(handover.id.clone(), actor("t", Role::Trainer), now())
        .await
        .unwrap_err();
    assert_eq!(trainer.code(), "not_allowed");
    assert!(store.verify_audit().unwrap().is_ok());
}

#[tokio::test]
async fn a_draft_is_opened_saved_and_discarded_only_by_its_clerk_or_the_one_it_was_handed_to() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let owner = actor("clerk-a", Role::Clerk);
    let other = actor("clerk-b", Role::Clerk);
    let draft_id = uuid::Uuid::new_v4().to_string();
    let save = |clerk: &Actor, step: &str| DraftSave {
        id: draft_id.clone(),
        clerk_id: clerk.user_id.clone(),
        window: "01".into(),
        bundle_id: None,
        item_versions: [("market.company-establishment".to_owned(), 1)].into(),
        content: json!({ "step": step }),
        at: now(),
    };
    store.save_draft(save(&owner, "form")).await.unwrap();

    // Another clerk's save does not overwrite it, nor take it over.
    let refused = store
        .save_draft(save(&other, "decision"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "not_your_draft", "{refused}");
    assert!(
        refused.message_zh().contains("交接"),
        "{}",
        refused.message_zh()
    );
    let kept = store.draft(&draft_id).await.unwrap();
    assert_eq!(kept.clerk_id, "clerk-a");
    assert_eq!(kept.content, json!({ "step": "form" }));
    assert_eq!(kept.revision, 1);
    // Nor open it, nor discard it.
    assert_eq!(
        store
            .own_draft(&draft_id, "clerk-b")
            .await
            .unwrap_err()
            .code(),
        "not_your_draft"
    );
    assert_eq!(
        store
            .discard_draft(&draft_id, other.clone(), now())
            .await
            .unwrap_err()
            .code(),
        "not_your_draft"
    );
    assert!(store.draft(&draft_id).await.is_ok());
    assert_eq!(
        store
            .own_draft(&draft_id, "clerk-a")
            .await
            .unwrap()
            .revision,
        1
    );

    // Handed over: now the next clerk's, and no longer the first one's.
    let handover = store
        .prepare_handover("01".into(), owner.clone(), now())
        .await
        .unwrap();
    store
        .acknowledge_handover(handover.id, other.clone(), now())
        .await
        .unwrap();
    assert_eq!(store.save_draft(save(&other, "decision")).await.unwrap(), 2);
    assert_eq!(
        store
            .save_draft(save(&owner, "form"))
            .await
            .unwrap_err()
            .code(),
        "not_your_draft"
    );
    assert!(store.own_draft(&draft_id, "clerk-b").await.is_ok());
    store
        .discard_draft(&draft_id, other.clone(), now())
        .await
        .unwrap();
    assert_eq!(
        store.draft(&draft_id).await.unwrap_err().code(),
        "unknown_draft"
    );
}
