//! Synthetic records for tests, benchmarks and the crash exerciser: made-up
//! applicants with checksum-valid ID numbers and intakes of a given size.
//! Never used for real cases.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Map};

use crate::cases::{Actor, ApplicantInput, IntakeCommit, MaterialRecord};
use crate::lifecycle::{Event, Role};

/// A checksum-valid resident ID number for sequence `n` (region 420102),
/// different for every `n` below 20,000,000.
pub fn resident_id(n: u64) -> String {
    let birth_days = (n / 1000) % 20_000;
    let birth =
        chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("valid") + chrono::Days::new(birth_days);
    let body = format!("420102{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let digits: Vec<u32> = body
        .chars()
        .map(|c| c.to_digit(10).expect("digits"))
        .collect();
    let check =
        forms::identifiers::resident_check_character(&digits.try_into().expect("17 digits"));
    format!("{body}{check}")
}

/// A clerk at window 01.
pub fn clerk() -> Actor {
    Actor {
        user_id: "clerk-01".into(),
        role: Role::Clerk,
    }
}

/// An accepted intake of the company establishment item with `fields`
/// field values and `materials` materials, sent to two back offices.
pub fn intake(
    case_id: &str,
    applicant: u64,
    at: DateTime<FixedOffset>,
    fields: usize,
    materials: usize,
) -> IntakeCommit {
    let id_number = resident_id(applicant);
    let mut values = Map::new();
    for index in 0..fields {
        values.insert(
            format!("field_{index:03}"),
            json!(format!("value {index} of case {case_id}")),
        );
    }
    let mut item_values = BTreeMap::new();
    item_values.insert("market.company-establishment".to_owned(), values);
    let materials = (0..materials)
        .map(|index| MaterialRecord {
            mark: forms::decision::MaterialMark {
                item_id: "market.company-establishment".into(),
                material_id: format!("material_{index:02}"),
                status: forms::decision::MaterialStatus::Received {
                    original: true,
                    copies: 1,
                },
            },
            attachments: vec![],
        })
        .collect();
    let mut sub_cases = BTreeMap::new();
    sub_cases.insert(
        "market-registration".to_owned(),
        vec!["market.company-establishment".to_owned()],
    );
    sub_cases.insert(
        "seal-management".to_owned(),
        vec!["public-security.seal-filing".to_owned()],
    );
    let mut item_versions = BTreeMap::new();
    item_versions.insert("market.company-establishment".to_owned(), 3);
    IntakeCommit {
        case_id: case_id.to_owned(),
        category: forms::catalog::Category::Economic,
        bundle_id: None,
        item_versions,
        applicant: ApplicantInput {
            kind: "natural_person".into(),
            identifier_type: "111".into(),
            identifier: id_number.clone(),
            name: format!("测试申请人{applicant}"),
            profile: forms::form::ApplicantProfile {
                applicant_type: Some("natural_person".into()),
                name: Some(format!("测试申请人{applicant}")),
                id_number: Some(id_number),
                phone: Some("13900000000".into()),
                ..Default::default()
            },
        },
        window: "01".into(),
        actor: clerk(),
        at,
        values: item_values,
        materials,
        event: Event::Accept,
        proposal: json!({ "kind": "accept" }),
        promised_completion: None,
        sub_cases,
        dispatch_now: true,
        review_first: false,
        draft_id: None,
        previous_case_id: None,
        consent: None,
    }
}
