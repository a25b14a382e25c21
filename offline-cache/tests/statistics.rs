//! Statistics and the follow-up of bad ratings on a real encrypted store.

use chrono::NaiveDate;
use offline_cache::cases::Actor;
use offline_cache::lifecycle::{Event, Role};
use offline_cache::results::{IssueMethod, IssueResult, NewRating, Visit};
use offline_cache::{sample, CaseStore, Production, StoreKey, StoreOptions};

fn at(day: NaiveDate, hour: u32) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(&format!("{day}T{hour:02}:00:00+08:00")).unwrap()
}

#[tokio::test]
async fn statistics_count_cases_decisions_visits_issuance_time_and_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        CaseStore::<Production>::open(dir.path(), &StoreKey::random(), StoreOptions::default())
            .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let clerk = Actor {
        user_id: "clerk".into(),
        role: Role::Clerk,
    };
    let system = Actor {
        user_id: "back-office".into(),
        role: Role::System,
    };
    // Accepted, promised the same day (on the spot), issued 26 hours later.
    let mut spot = sample::intake(&uuid::Uuid::new_v4().to_string(), 1, at(day, 9), 1, 1);
    spot.promised_completion = Some(day);
    let spot_id = spot.case_id.clone();
    store.record_intake(spot).await.unwrap();
    for event in [Event::BackOfficeReview, Event::Approve, Event::ResultReady] {
        store
            .transition(&spot_id, event, system.clone(), at(day, 10), None)
            .await
            .unwrap();
    }
    let identifier = sample::resident_id(1);
    store
        .issue_result(IssueResult {
            case_id: spot_id.clone(),
            method: IssueMethod::Window {
                received_by: "张示例".into(),
                collector_identifier: identifier,
                agent: false,
            },
            results_zh: vec!["执照1份".into()],
            actor: clerk.clone(),
            at: at(day.succ_opt().unwrap(), 11),
        })
        .await
        .unwrap();
    // A one-time notice, and the second visit that answers it.
    let mut notice = sample::intake(&uuid::Uuid::new_v4().to_string(), 2, at(day, 9), 1, 1);
    notice.event = Event::IssueNotice;
    let notice_id = notice.case_id.clone();
    store.record_intake(notice).await.unwrap();
    let mut second = sample::intake(&uuid::Uuid::new_v4().to_string(), 2, at(day, 15), 1, 1);
    second.previous_case_id = Some(notice_id.clone());
    second.promised_completion = Some(day.succ_opt().unwrap());
    store.record_intake(second).await.unwrap();
    // Outside the range.
    let later = sample::intake(
        &uuid::Uuid::new_v4().to_string(),
        3,
        at(day + chrono::Days::new(10), 9),
        1,
        1,
    );
    store.record_intake(later).await.unwrap();
    // Ratings: one bad.
    let rating = store
        .record_rating(
            NewRating {
                case_id: notice_id.clone(),
                visit: Visit::Intake,
                level: 1,
                reasons: vec!["需要多次跑动".into()],
                comment: None,
                at: at(day, 10),
            },
            clerk.clone(),
        )
        .await
        .unwrap();
    store
        .record_rating(
            NewRating {
                case_id: spot_id.clone(),
                visit: Visit::Intake,
                level: 5,
                reasons: vec![],
                comment: None,
                at: at(day, 10),
            },
            clerk.clone(),
        )
        .await
        .unwrap();

    let stats = store
        .statistics(day, day + chrono::Days::new(6))
        .await
        .unwrap();
    assert_eq!(stats.cases, 3);
    assert_eq!(stats.by_category.values().sum::<i64>(), 3);
    assert_eq!(stats.by_item["market.company-establishment"], 3);
    assert_eq!(stats.decisions["accept"], 2);
    assert_eq!(stats.decisions["issue_notice"], 1);
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.on_the_spot, 1);
    assert_eq!(
        stats.one_visit, 1,
        "the second visit does not count as one visit"
    );
    assert_eq!(stats.issued, 1);
    let hours = stats.average_hours_to_issue.unwrap();
    assert!((hours - 26.0).abs() < 0.01, "{hours}");
    assert_eq!(stats.ratings[&1], 1);
    assert_eq!(stats.ratings[&5], 1);
    assert_eq!(stats.bad_ratings_open, 1);

    // The follow-up: a supervisor only, with a note.
    let refused = store
        .close_follow_up(rating.id, "已回访".into(), clerk.clone(), at(day, 16))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "not_allowed");
    let supervisor = Actor {
        user_id: "supervisor".into(),
        role: Role::Supervisor,
    };
    let empty = store
        .close_follow_up(rating.id, " ".into(), supervisor.clone(), at(day, 16))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), "reason_required");
    store
        .close_follow_up(
            rating.id,
            "已电话回访，说明材料清单".into(),
            supervisor.clone(),
            at(day, 16),
        )
        .await
        .unwrap();
    let stats = store.statistics(day, day).await.unwrap();
    assert_eq!((stats.bad_ratings_open, stats.bad_ratings_done), (0, 1));
    assert_eq!(
        store
            .close_follow_up(rating.id, "again".into(), supervisor, at(day, 17))
            .await
            .unwrap_err()
            .code(),
        "no_open_follow_up"
    );
    let backwards = store
        .statistics(day, day.pred_opt().unwrap())
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), "range");
}
