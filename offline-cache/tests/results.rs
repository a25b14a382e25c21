//! Results issued at the one window and ratings, on a real encrypted store.

use offline_cache::cases::Actor;
use offline_cache::lifecycle::{CaseState, Event, Role};
use offline_cache::results::{IssueMethod, IssueResult, NewRating, Visit};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn clerk() -> Actor {
    Actor {
        user_id: "clerk-1".into(),
        role: Role::Clerk,
    }
}

/// A case accepted at the window and brought to "result ready" by the back office.
async fn ready_case(store: &CaseStore<Production>, number: u64) -> (String, String) {
    let case_id = uuid::Uuid::new_v4().to_string();
    let intake = sample::intake(&case_id, number, now(), 2, 2);
    let identifier = intake.applicant.identifier.clone();
    store.record_intake(intake).await.unwrap();
    let system = Actor {
        user_id: "back-office".into(),
        role: Role::System,
    };
    for event in [Event::BackOfficeReview, Event::Approve, Event::ResultReady] {
        store
            .transition(&case_id, event, system.clone(), now(), None)
            .await
            .unwrap();
    }
    (case_id, identifier)
}

fn issue(case_id: &str, method: IssueMethod) -> IssueResult {
    IssueResult {
        case_id: case_id.into(),
        method,
        results_zh: vec!["营业执照正本1份、副本1份".into()],
        actor: clerk(),
        at: now(),
    }
}

#[tokio::test]
async fn a_result_is_issued_once_to_the_applicant_or_an_agent_or_by_mail() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let (first, identifier) = ready_case(&store, 1).await;
    let (second, _) = ready_case(&store, 2).await;
    let ready = store.results_ready().await.unwrap();
    assert_eq!(ready.len(), 2);
    assert_eq!(ready[0].outcome, "approved");

    // Someone else's ID, not marked as an agent: refused, nothing changes.
    let stranger = sample::resident_id(999_999);
    let refused = store
        .issue_result(issue(
            &first,
            IssueMethod::Window {
                received_by: "王示例".into(),
                collector_identifier: stranger.clone(),
                agent: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "collector_not_applicant", "{refused}");
    let bad_id = store
        .issue_result(issue(
            &first,
            IssueMethod::Window {
                received_by: "王示例".into(),
                collector_identifier: "123".into(),
                agent: true,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), "collector_identifier", "{bad_id}");
    assert_eq!(store.results_ready().await.unwrap().len(), 2);

    let record = store
        .issue_result(issue(
            &first,
            IssueMethod::Window {
                received_by: "张示例".into(),
                collector_identifier: identifier.to_lowercase(),
                agent: false,
            },
        ))
        .await
        .unwrap();
    assert_eq!(store.case(&first).await.unwrap().state, CaseState::Issued);
    // A second issuance returns the first.
    let again = store
        .issue_result(issue(
            &first,
            IssueMethod::Mail {
                address_zh: "x".into(),
                carrier: "EMS".into(),
                tracking_number: "1".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(again, record);

    let missing_tracking = store
        .issue_result(issue(
            &second,
            IssueMethod::Mail {
                address_zh: "湖北省武汉市示例路1号".into(),
                carrier: "EMS".into(),
                tracking_number: " ".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing_tracking.code(), "mail_tracking_missing");
    let mailed = store
        .issue_result(issue(
            &second,
            IssueMethod::Mail {
                address_zh: "湖北省武汉市示例路1号".into(),
                carrier: "EMS".into(),
                tracking_number: "1190000000001".into(),
            },
        ))
        .await
        .unwrap();
    assert!(matches!(mailed.method, IssueMethod::Mail { .. }));
    assert!(store.results_ready().await.unwrap().is_empty());
    let timeline = store.case_timeline(&second).await.unwrap();
    assert!(
        timeline.iter().any(|entry| entry.action == "case.issue"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn a_visit_is_rated_once_and_bad_ratings_open_a_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let (case_id, _) = ready_case(&store, 1).await;
    let rating = |visit: Visit, level: u8| NewRating {
        case_id: case_id.clone(),
        visit,
        level,
        reasons: if level < 3 {
            vec!["等候时间长".into()]
        } else {
            vec![]
        },
        comment: Some("  ".into()),
        at: now(),
    };
    let too_high = store.record_rating(rating(Visit::Intake, 6), clerk()).await;
    assert_eq!(too_high.unwrap_err().code(), "rating_level");
    // The result has not been issued: its visit cannot be rated yet.
    let early = store
        .record_rating(rating(Visit::Issuance, 5), clerk())
        .await;
    assert_eq!(early.unwrap_err().code(), "not_issued");
    let bad = store
        .record_rating(rating(Visit::Intake, 2), clerk())
        .await
        .unwrap();
    assert_eq!(bad.follow_up, "open");
    assert_eq!(bad.comment, None, "a blank comment is not kept");
    let twice = store.record_rating(rating(Visit::Intake, 5), clerk()).await;
    assert_eq!(twice.unwrap_err().code(), "already_rated");
    let open = store.open_follow_ups().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].reasons, ["等候时间长"]);
    assert_eq!(store.ratings_of(&case_id).await.unwrap().len(), 1);
    let timeline = store.case_timeline(&case_id).await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|entry| entry.action == "rating.recorded"),
        "the rating is audited: {timeline:?}"
    );
}
