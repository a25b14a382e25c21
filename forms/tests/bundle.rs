//! A bundle taken as one intake: shared fields asked once, one sub-case per
//! back-office system, shared materials marked once.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use forms::bundle::{bundle_form, bundle_marks, distribute, validate_bundle};
use forms::calendar::WorkingCalendar;
use forms::catalog::ApplicantType;
use forms::decision::{propose, DecisionInput, DecisionKind, MaterialMark, MaterialStatus};
use forms::form::ApplicantProfile;
use serde_json::{json, Value};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

#[test]
fn shared_fields_are_asked_once_and_reach_every_item() {
    let catalog =
        forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    let bundle = catalog.bundle("bundle.sell-resale-flat").unwrap();
    let form = bundle_form(&catalog, bundle);
    let keys: Vec<&str> = form.iter().map(|question| question.key.as_str()).collect();
    assert_eq!(
        keys.iter().filter(|key| **key == "buyer_id_number").count(),
        1
    );
    assert!(
        !keys.iter().any(|key| key.ends_with("/applicant_id_number")),
        "{keys:?}"
    );
    assert!(keys.contains(&"tax.resale-taxes/buyer_only_home"));

    let values = json!({
        "buyer_name": "王五", "buyer_id_number": "440304200002291236",
        "floor_area_sqm": 88.5, "price": "1500000.00",
        "real-estate.resale-transfer/seller_name": "赵六",
        "real-estate.resale-transfer/seller_id_number": "34052419800101001X",
        "real-estate.resale-transfer/certificate_number": "鄂(2020)武汉市江岸不动产权第0001号",
        "tax.resale-taxes/buyer_only_home": true,
        "tax.resale-taxes/seller_years_held": 3,
        "tax.resale-taxes/seller_only_home": false,
        "utilities.account-transfer/utility_kinds": ["power", "water"],
        "utilities.account-transfer/residence_address": { "region_code": "420102", "detail": "胜利街1号" }
    });
    let values = values.as_object().unwrap();
    let split = distribute(&catalog, bundle, values);
    assert_eq!(
        split["tax.resale-taxes"]["applicant_id_number"],
        json!("440304200002291236")
    );
    assert_eq!(
        split["utilities.account-transfer"]["applicant_id_number"],
        json!("440304200002291236")
    );
    let report = validate_bundle(
        &catalog,
        bundle,
        values,
        &ApplicantProfile::default(),
        today(),
    );
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert_eq!(
        report.calculated["tax.resale-taxes/deed_tax_estimate"],
        json!(15000.0)
    );

    // A bad shared value is reported once, under the shared key.
    let mut broken = values.clone();
    broken.insert("buyer_id_number".into(), Value::from("440304200002291237"));
    let report = validate_bundle(
        &catalog,
        bundle,
        &broken,
        &ApplicantProfile::default(),
        today(),
    );
    let paths: Vec<&str> = report
        .errors
        .iter()
        .map(|error| error.path.as_str())
        .collect();
    assert_eq!(paths, ["buyer_id_number"], "{:#?}", report.errors);
}

#[test]
fn a_bundle_is_decided_with_shared_materials_marked_once() {
    let catalog =
        forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    let calendar =
        WorkingCalendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar")).unwrap();
    let bundle = catalog.bundle("bundle.flexible-worker-insurance").unwrap();
    let mut shared = BTreeMap::new();
    shared.insert(
        "identity_document".to_owned(),
        MaterialStatus::Received {
            original: true,
            copies: 1,
        },
    );
    let own = vec![
        MaterialMark {
            item_id: "human-resources.flexible-employment-enrolment".into(),
            material_id: "application_form".into(),
            status: MaterialStatus::Received {
                original: true,
                copies: 0,
            },
        },
        MaterialMark {
            item_id: "human-resources.flexible-employment-enrolment".into(),
            material_id: "photo_file".into(),
            status: MaterialStatus::Received {
                original: true,
                copies: 0,
            },
        },
    ];
    let marks = bundle_marks(bundle, &shared, &own);
    assert_eq!(marks.len(), 4);
    let profile = ApplicantProfile::default();
    let input = DecisionInput {
        items: bundle
            .items
            .iter()
            .map(|id| (id.clone(), catalog.item(id).unwrap().version))
            .collect(),
        applicant_type: ApplicantType::NaturalPerson,
        bundle: true,
        profile: &profile,
        values: BTreeMap::new(),
        marks,
        field_errors: 0,
        accepted_on: today(),
    };
    let proposal = propose(&catalog, &calendar, &input).unwrap();
    assert_eq!(
        proposal.kind,
        DecisionKind::Accept,
        "{:#?}",
        proposal.to_supply
    );
    assert_eq!(catalog.bundle_sub_cases(bundle).len(), 2);
}
