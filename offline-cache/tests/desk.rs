//! The supervisor's desk and the audit viewer on a real encrypted store.

use chrono::{Duration, NaiveDate};
use offline_cache::cases::Actor;
use offline_cache::desk::{AuditFilter, Horizons};
use offline_cache::lifecycle::{CaseState, Event, Role};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};
use serde_json::json;

fn at(day: NaiveDate) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(&format!("{day}T10:00:00+08:00")).unwrap()
}

fn system() -> Actor {
    Actor {
        user_id: "back-office".into(),
        role: Role::System,
    }
}

fn supervisor() -> Actor {
    Actor {
        user_id: "supervisor-1".into(),
        role: Role::Supervisor,
    }
}

#[tokio::test]
async fn the_desk_lists_sign_offs_reviews_limits_gaps_and_waiting_results() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let new_case = |number: u64, day: NaiveDate| {
        sample::intake(&uuid::Uuid::new_v4().to_string(), number, at(day), 1, 1)
    };

    // Accepted with gaps, one gap due tomorrow.
    let mut gaps = new_case(1, today);
    gaps.event = Event::AcceptWithGaps;
    gaps.proposal = json!({ "kind": "accept_with_gaps", "gaps": [{ "supply_by": (today + Duration::days(1)).to_string() }] });
    let gaps_id = gaps.case_id.clone();
    store.record_intake(gaps).await.unwrap();
    // Accepted, its item asks for a review before the handoff.
    let mut review = new_case(2, today);
    review.dispatch_now = false;
    review.review_first = true;
    let review_id = review.case_id.clone();
    assert_eq!(
        store.record_intake(review).await.unwrap().state,
        CaseState::HandoffReview
    );
    // Dispatched, its promised date was yesterday.
    let mut late = new_case(3, today - Duration::days(10));
    late.promised_completion = Some(today - Duration::days(1));
    let late_id = late.case_id.clone();
    store.record_intake(late).await.unwrap();
    // Comfortably within its limit: not on the desk.
    let mut fine = new_case(4, today);
    fine.promised_completion = Some(today + Duration::days(20));
    store.record_intake(fine).await.unwrap();
    // A result ready for ten days.
    let ready = new_case(5, today - Duration::days(12));
    let ready_id = ready.case_id.clone();
    store.record_intake(ready).await.unwrap();
    for event in [Event::BackOfficeReview, Event::Approve, Event::ResultReady] {
        store
            .transition(
                &ready_id,
                event,
                system(),
                at(today - Duration::days(10)),
                None,
            )
            .await
            .unwrap();
    }

    let desk = store.desk(today, Horizons::default()).await.unwrap();
    assert_eq!(
        desk.sign_offs
            .iter()
            .map(|case| &case.id)
            .collect::<Vec<_>>(),
        [&gaps_id]
    );
    assert_eq!(
        desk.handoff_reviews
            .iter()
            .map(|case| &case.id)
            .collect::<Vec<_>>(),
        [&review_id]
    );
    assert_eq!(desk.time_limits.len(), 1, "{:?}", desk.time_limits);
    assert_eq!(desk.time_limits[0].case.id, late_id);
    assert_eq!(desk.time_limits[0].days_left, -1);
    assert_eq!(desk.gaps_due.len(), 1);
    assert_eq!(desk.gaps_due[0].case.id, gaps_id);
    assert_eq!(desk.gaps_due[0].days_left, 1);
    assert_eq!(desk.results_waiting.len(), 1);
    assert_eq!(desk.results_waiting[0].case.id, ready_id);
    assert_eq!(desk.results_waiting[0].days_left, -10);

    // The review approved, the gaps signed off: both leave the desk.
    store
        .transition(
            &review_id,
            Event::ApproveHandoff,
            supervisor(),
            at(today),
            None,
        )
        .await
        .unwrap();
    store
        .sign_off_gaps(&gaps_id, supervisor(), at(today), false)
        .await
        .unwrap();
    let desk = store.desk(today, Horizons::default()).await.unwrap();
    assert!(desk.sign_offs.is_empty());
    // Signed off without a direct dispatch: it waits for the review.
    assert_eq!(
        desk.handoff_reviews
            .iter()
            .map(|case| &case.id)
            .collect::<Vec<_>>(),
        [&gaps_id]
    );

    // The audit viewer: by action and by subject, newest first.
    let moves = store
        .audit_entries(AuditFilter {
            subject: Some(review_id.clone()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = moves.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["case.approve_handoff", "case.send_to_review", "case.accept"]
    );
    let sign_offs = store
        .audit_entries(AuditFilter {
            action: Some("case.sign_off".into()),
            from: Some(today.to_string()),
            to: Some(today.to_string()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sign_offs.len(), 1);
    assert_eq!(sign_offs[0].actor, "supervisor-1");
}

#[tokio::test]
async fn terminating_a_dispatched_gap_case_keeps_its_unsent_submissions_home_and_records_the_reason(
) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    // Dispatched at once: two submissions wait in the outbox (offline).
    let mut dispatched = sample::intake(&uuid::Uuid::new_v4().to_string(), 1, at(today), 1, 2);
    dispatched.event = Event::Accept;
    let dispatched_id = dispatched.case_id.clone();
    store.record_intake(dispatched).await.unwrap();
    let before = store.outbox().await.unwrap();
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|row| row.action == "submit"));
    // One of them was sent and its answer lost: it may be at the back office.
    let maybe_sent = before[0].sub_case_id.clone().unwrap();
    store
        .write_blocking(|connection| {
            connection.execute(
                "UPDATE outbox SET attempts = 1 WHERE id = (SELECT min(id) FROM outbox)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    let moved = store
        .transition(
            &dispatched_id,
            Event::Terminate,
            supervisor(),
            at(today + Duration::days(6)),
            Some("容缺材料逾期未补齐".into()),
        )
        .await
        .unwrap();
    assert_eq!(moved, CaseState::Terminated);
    let after = store.outbox().await.unwrap();
    let actions: Vec<(&str, &str)> = after
        .iter()
        .map(|row| (row.action.as_str(), row.sub_case_id.as_deref().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("withdraw", maybe_sent.as_str())],
        "no submission of a terminated case is ever sent again; the unsent one needs no withdrawal; the one that may have arrived is withdrawn"
    );
    let facts = store.document_facts(&dispatched_id).await.unwrap();
    let (terminated_at, reason) = facts.termination.unwrap();
    assert!(terminated_at.starts_with("2026-12-03"), "{terminated_at}");
    assert_eq!(reason, "容缺材料逾期未补齐");

    // Terminated before it left the window: nothing to withdraw.
    let mut held = sample::intake(&uuid::Uuid::new_v4().to_string(), 2, at(today), 1, 1);
    held.event = Event::AcceptWithGaps;
    held.dispatch_now = false;
    let held_id = held.case_id.clone();
    store.record_intake(held).await.unwrap();
    store
        .transition(
            &held_id,
            Event::Terminate,
            supervisor(),
            at(today),
            Some("申请人撤回".into()),
        )
        .await
        .unwrap();
    assert_eq!(store.outbox().await.unwrap().len(), 1, "nothing added");
    assert!(store
        .document_facts(&held_id)
        .await
        .unwrap()
        .termination
        .is_some());
}

#[tokio::test]
async fn a_reopening_waits_for_a_supervisor_and_sends_the_case_on_without_a_duplicate() {
    use offline_cache::sign_offs::RequestKind;
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    // Dispatched (two submissions queued), then terminated: two withdrawals wait.
    let intake = sample::intake(&uuid::Uuid::new_v4().to_string(), 1, at(today), 1, 1);
    let case_id = intake.case_id.clone();
    store.record_intake(intake).await.unwrap();
    store
        .transition(
            &case_id,
            Event::Terminate,
            supervisor(),
            at(today),
            Some("逾期".into()),
        )
        .await
        .unwrap();
    // Only a terminated case can be reopened; a reason is needed.
    let clerk = sample::clerk();
    let no_reason = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(case_id.clone()),
            None,
            " ".into(),
            json!({}),
            clerk.clone(),
            at(today),
        )
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), "reason_required");
    let asked = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(case_id.clone()),
            None,
            "申请人已补齐材料".into(),
            json!({}),
            clerk.clone(),
            at(today),
        )
        .await
        .unwrap();
    assert_eq!(asked.state, "waiting");
    // Asking again keeps one request.
    store
        .request_sign_off(
            RequestKind::Reopen,
            Some(case_id.clone()),
            None,
            "材料已补齐（原件）".into(),
            json!({}),
            clerk.clone(),
            at(today),
        )
        .await
        .unwrap();
    let waiting = store.waiting_requests().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].reason, "材料已补齐（原件）");
    // The request asked first changed under the supervisor: deciding it
    // from a view loaded before is refused; the new one is decided.
    let stale = store
        .decide_sign_off(
            asked.id.clone(),
            true,
            Some("同意".into()),
            supervisor(),
            at(today),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code(), "request_changed");
    let asked = waiting[0].clone();
    // A clerk cannot decide it.
    let not_allowed = store
        .decide_sign_off(asked.id.clone(), true, None, clerk.clone(), at(today))
        .await
        .unwrap_err();
    assert_eq!(not_allowed.code(), "not_supervisor");
    let approved = store
        .decide_sign_off(
            asked.id.clone(),
            true,
            Some("同意".into()),
            supervisor(),
            at(today),
        )
        .await
        .unwrap();
    assert_eq!(approved.state, "approved");
    assert_eq!(
        store.case(&case_id).await.unwrap().state,
        CaseState::Dispatched
    );
    // Nothing had left the window: both submissions go now.
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    assert!(outbox.iter().all(|row| row.action == "submit"));
    let twice = store
        .decide_sign_off(asked.id, false, None, supervisor(), at(today))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), "already_decided");

    // A case at the back office, terminated: its withdrawal has not left
    // yet, so reopening cancels it and sends nothing again (no duplicate).
    let sent = sample::intake(&uuid::Uuid::new_v4().to_string(), 3, at(today), 1, 1);
    let sent_id = sent.case_id.clone();
    store.record_intake(sent).await.unwrap();
    let sent_for_query = sent_id.clone();
    store
        .write_blocking(move |connection| {
            // Delivered: the engine removes a row once the back office has
            // it, and keeps the receipt.
            connection.execute("DELETE FROM outbox WHERE case_id = ?1", [&sent_for_query])?;
            connection.execute(
                "UPDATE sub_cases SET remote_receipt = 'R-' || id, state = 'submitted' WHERE case_id = ?1",
                [&sent_for_query],
            )?;
            Ok(())
        })
        .unwrap();
    store
        .transition(
            &sent_id,
            Event::Terminate,
            supervisor(),
            at(today),
            Some("逾期".into()),
        )
        .await
        .unwrap();
    let withdrawals = store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.case_id == sent_id)
        .count();
    assert_eq!(withdrawals, 2);
    let asked = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(sent_id.clone()),
            None,
            "已补齐".into(),
            json!({}),
            clerk.clone(),
            at(today),
        )
        .await
        .unwrap();
    store
        .decide_sign_off(asked.id, true, None, supervisor(), at(today))
        .await
        .unwrap();
    assert_eq!(
        store.case(&sent_id).await.unwrap().state,
        CaseState::Dispatched
    );
    assert!(
        store
            .outbox()
            .await
            .unwrap()
            .iter()
            .all(|row| row.case_id != sent_id),
        "no duplicate submission, no withdrawal"
    );

    // Terminated before it left the window: reopening submits it.
    let mut held = sample::intake(&uuid::Uuid::new_v4().to_string(), 2, at(today), 1, 1);
    held.event = Event::AcceptWithGaps;
    held.dispatch_now = false;
    let held_id = held.case_id.clone();
    store.record_intake(held).await.unwrap();
    store
        .transition(
            &held_id,
            Event::Terminate,
            supervisor(),
            at(today),
            Some("逾期".into()),
        )
        .await
        .unwrap();
    let asked = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(held_id.clone()),
            None,
            "补齐".into(),
            json!({}),
            clerk,
            at(today),
        )
        .await
        .unwrap();
    store
        .decide_sign_off(asked.id, true, None, supervisor(), at(today))
        .await
        .unwrap();
    let outbox: Vec<_> = store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.case_id == held_id)
        .collect();
    assert_eq!(outbox.len(), 2);
    assert!(outbox.iter().all(|row| row.action == "submit"));
    assert!(store.verify_audit().unwrap().unwrap() > 5);
}

fn supervisor_two() -> Actor {
    Actor {
        user_id: "supervisor-2".into(),
        role: Role::Supervisor,
    }
}

#[tokio::test]
async fn no_supervisor_signs_off_approves_or_reopens_a_case_they_took_in_themselves() {
    use offline_cache::sign_offs::RequestKind;
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    // Supervisor 1 takes in a case with gaps at a window.
    let mut gaps = sample::intake(&uuid::Uuid::new_v4().to_string(), 1, at(today), 1, 1);
    gaps.actor = supervisor();
    gaps.event = Event::AcceptWithGaps;
    gaps.dispatch_now = false;
    gaps.proposal = json!({ "kind": "accept_with_gaps" });
    let gaps_id = gaps.case_id.clone();
    store.record_intake(gaps).await.unwrap();
    let own = store
        .sign_off_gaps(&gaps_id, supervisor(), at(today), true)
        .await
        .unwrap_err();
    assert_eq!(own.code(), "own_work", "{own}");
    assert!(own.message_zh().contains("本人"), "{}", own.message_zh());
    assert!(own.to_string().contains("another supervisor"), "{own}");
    // Nothing moved; another supervisor signs it off.
    assert_eq!(
        store.case(&gaps_id).await.unwrap().state,
        CaseState::AcceptedWithGaps
    );
    assert_eq!(
        store
            .sign_off_gaps(&gaps_id, supervisor_two(), at(today), true)
            .await
            .unwrap(),
        CaseState::Dispatched
    );

    // Their own case waiting for the handoff review.
    let mut review = sample::intake(&uuid::Uuid::new_v4().to_string(), 2, at(today), 1, 1);
    review.actor = supervisor();
    review.dispatch_now = false;
    review.review_first = true;
    let review_id = review.case_id.clone();
    store.record_intake(review).await.unwrap();
    let own = store
        .transition(
            &review_id,
            Event::ApproveHandoff,
            supervisor(),
            at(today),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(own.code(), "own_work");
    assert_eq!(
        store
            .transition(
                &review_id,
                Event::ApproveHandoff,
                supervisor_two(),
                at(today),
                None,
            )
            .await
            .unwrap(),
        CaseState::Dispatched
    );

    // A reopening of their own case, asked by a clerk.
    let mut ended = sample::intake(&uuid::Uuid::new_v4().to_string(), 3, at(today), 1, 1);
    ended.actor = supervisor();
    let ended_id = ended.case_id.clone();
    store.record_intake(ended).await.unwrap();
    store
        .transition(
            &ended_id,
            Event::Terminate,
            supervisor_two(),
            at(today),
            Some("逾期".into()),
        )
        .await
        .unwrap();
    let asked = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(ended_id.clone()),
            None,
            "申请人已补齐材料".into(),
            json!({}),
            sample::clerk(),
            at(today),
        )
        .await
        .unwrap();
    let own = store
        .decide_sign_off(asked.id.clone(), true, None, supervisor(), at(today))
        .await
        .unwrap_err();
    assert_eq!(own.code(), "own_work");
    assert_eq!(
        store.case(&ended_id).await.unwrap().state,
        CaseState::Terminated
    );

    // A reopening a supervisor asked for themselves.
    let mut other = sample::intake(&uuid::Uuid::new_v4().to_string(), 4, at(today), 1, 1);
    other.dispatch_now = false;
    let other_id = other.case_id.clone();
    store.record_intake(other).await.unwrap();
    store
        .transition(
            &other_id,
            Event::Terminate,
            supervisor_two(),
            at(today),
            Some("逾期".into()),
        )
        .await
        .unwrap();
    let asked_self = store
        .request_sign_off(
            RequestKind::Reopen,
            Some(other_id.clone()),
            None,
            "补齐".into(),
            json!({}),
            supervisor(),
            at(today),
        )
        .await
        .unwrap();
    let own = store
        .decide_sign_off(asked_self.id.clone(), true, None, supervisor(), at(today))
        .await
        .unwrap_err();
    assert_eq!(own.code(), "own_work");
    // Another supervisor decides both.
    for id in [asked.id, asked_self.id] {
        assert_eq!(
            store
                .decide_sign_off(id, true, None, supervisor_two(), at(today))
                .await
                .unwrap()
                .state,
            "approved"
        );
    }
    assert!(store.verify_audit().unwrap().is_ok());
}
