//! Decision proposals on the sample catalogue (Administrative Licensing
//! Law art. 32).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use forms::calendar::WorkingCalendar;
use forms::catalog::ApplicantType;
use forms::decision::{
    propose, DecisionError, DecisionInput, DecisionKind, MaterialMark, MaterialStatus,
};
use forms::form::ApplicantProfile;
use forms::{Catalog, FormsError};
use serde_json::json;

fn catalog() -> Catalog {
    forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap()
}

fn calendar() -> WorkingCalendar {
    WorkingCalendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar")).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn received(item: &str, material: &str) -> MaterialMark {
    MaterialMark {
        item_id: item.into(),
        material_id: material.into(),
        status: MaterialStatus::Received {
            original: true,
            copies: 2,
        },
    }
}

const COMPANY: &str = "market.company-establishment";
const COMPANY_MATERIALS: [&str; 6] = [
    "registration_application",
    "articles_of_association",
    "shareholder_qualification",
    "appointment_documents",
    "address_proof",
    "legal_representative_id_card",
];

fn company_input<'a>(profile: &'a ApplicantProfile, leave_out: &[&str]) -> DecisionInput<'a> {
    let mut values = BTreeMap::new();
    values.insert(
        COMPANY.to_owned(),
        json!({ "delegated": false }).as_object().unwrap().clone(),
    );
    DecisionInput {
        items: vec![(COMPANY.into(), 3)],
        applicant_type: ApplicantType::NaturalPerson,
        bundle: false,
        profile,
        values,
        marks: COMPANY_MATERIALS
            .iter()
            .filter(|material| !leave_out.contains(material))
            .map(|material| received(COMPANY, material))
            .collect(),
        field_errors: 0,
        accepted_on: date("2026-11-27"),
    }
}

#[test]
fn complete_materials_are_accepted_with_a_promised_date() {
    let profile = ApplicantProfile::default();
    let proposal = propose(&catalog(), &calendar(), &company_input(&profile, &[])).unwrap();
    assert_eq!(
        proposal.kind,
        DecisionKind::Accept,
        "{:#?}",
        proposal.reasons_zh
    );
    // Friday 27 Nov + 1 working day = Monday 30 Nov.
    assert_eq!(proposal.promised_completion, Some(date("2026-11-30")));
    assert_eq!(proposal.items[0].due_on, date("2026-11-30"));
    assert!(!proposal.provisional_dates, "2026 has its notice");
    assert!(!proposal.items[0].due_provisional);
    // Agent materials do not apply when nobody is delegated.
    assert!(proposal
        .materials
        .iter()
        .all(|line| line.material_id != "power_of_attorney"));
    assert_eq!(proposal.materials.len(), 6);
    assert!(!proposal.needs_supervisor_sign_off);
}

#[test]
fn only_supply_later_materials_missing_gives_accept_with_gaps_within_the_limit() {
    let profile = ApplicantProfile::default();
    let proposal = propose(
        &catalog(),
        &calendar(),
        &company_input(&profile, &["appointment_documents"]),
    )
    .unwrap();
    assert_eq!(proposal.kind, DecisionKind::AcceptWithGaps);
    assert!(proposal.needs_supervisor_sign_off);
    assert_eq!(proposal.gaps.len(), 1);
    // Five working days would be 4 Dec, but never beyond the promised date.
    assert_eq!(proposal.gaps[0].supply_by, Some(date("2026-11-30")));
}

#[test]
fn bad_credit_excludes_accepting_with_gaps() {
    let profile = ApplicantProfile {
        bad_credit: true,
        ..Default::default()
    };
    let proposal = propose(
        &catalog(),
        &calendar(),
        &company_input(&profile, &["appointment_documents"]),
    )
    .unwrap();
    assert_eq!(proposal.kind, DecisionKind::OneTimeNotice);
    assert!(proposal
        .reasons_zh
        .iter()
        .any(|reason| reason.contains("失信")));
    assert_eq!(proposal.to_supply.len(), 1);
}

#[test]
fn a_notice_names_every_missing_or_deficient_material() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(
        &profile,
        &["articles_of_association", "appointment_documents"],
    );
    input
        .marks
        .retain(|mark| mark.material_id != "address_proof");
    input.marks.push(MaterialMark {
        item_id: COMPANY.into(),
        material_id: "address_proof".into(),
        status: MaterialStatus::Deficient {
            reason_zh: "租赁合同已过期".into(),
        },
    });
    input
        .marks
        .retain(|mark| mark.material_id != "registration_application");
    input.marks.push(MaterialMark {
        item_id: COMPANY.into(),
        material_id: "registration_application".into(),
        status: MaterialStatus::Received {
            original: false,
            copies: 1,
        },
    });
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::OneTimeNotice);
    let named: Vec<&str> = proposal
        .to_supply
        .iter()
        .map(|line| line.material_id.as_str())
        .collect();
    for material in [
        "articles_of_association",
        "appointment_documents",
        "address_proof",
        "registration_application",
    ] {
        assert!(named.contains(&material), "{material} not named: {named:?}");
    }
    let lease = proposal
        .to_supply
        .iter()
        .find(|line| line.material_id == "address_proof")
        .unwrap();
    assert_eq!(lease.problem_zh.as_deref(), Some("租赁合同已过期"));
    let form = proposal
        .to_supply
        .iter()
        .find(|line| line.material_id == "registration_application")
        .unwrap();
    assert_eq!(form.problem_zh.as_deref(), Some("须提供原件"));
    assert!(form.basis_zh.as_deref().unwrap().contains("第十六条"));
    assert!(proposal.remedies_zh.is_some());
}

#[test]
fn items_outside_the_remit_are_not_accepted_and_name_the_body() {
    let profile = ApplicantProfile::default();
    let input = DecisionInput {
        items: vec![("civil-affairs.marriage-registration".into(), 1)],
        applicant_type: ApplicantType::NaturalPerson,
        bundle: false,
        profile: &profile,
        values: BTreeMap::new(),
        marks: vec![],
        field_errors: 0,
        accepted_on: date("2026-11-27"),
    };
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::NotAccepted);
    assert!(proposal.competent_bodies_zh[0].contains("婚姻登记处"));
    assert!(proposal
        .remedies_zh
        .as_deref()
        .unwrap()
        .contains("行政复议"));
}

#[test]
fn the_wrong_kind_of_applicant_is_not_accepted() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &[]);
    input.items = vec![("market.business-licence-change".into(), 2)];
    input.applicant_type = ApplicantType::NaturalPerson;
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::NotAccepted);
    assert!(proposal.reasons_zh[0].contains("不受理自然人申请"));
}

#[test]
fn field_errors_block_acceptance_but_not_a_notice() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &[]);
    input.field_errors = 2;
    assert_eq!(
        propose(&catalog(), &calendar(), &input),
        Err(DecisionError::FieldsInvalid { count: 2 })
    );
    let mut input = company_input(&profile, &["articles_of_association"]);
    input.field_errors = 2;
    assert_eq!(
        propose(&catalog(), &calendar(), &input).unwrap().kind,
        DecisionKind::OneTimeNotice
    );
}

#[test]
fn immediate_items_cannot_leave_gaps() {
    let profile = ApplicantProfile::default();
    let item = "human-resources.flexible-employment-enrolment";
    let input = DecisionInput {
        items: vec![(item.into(), 1)],
        applicant_type: ApplicantType::NaturalPerson,
        bundle: false,
        profile: &profile,
        values: BTreeMap::new(),
        marks: vec![
            received(item, "applicant_id_card"),
            received(item, "application_form"),
        ],
        field_errors: 0,
        accepted_on: date("2026-11-27"),
    };
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(
        proposal.kind,
        DecisionKind::OneTimeNotice,
        "{:#?}",
        proposal.reasons_zh
    );
    assert_eq!(proposal.to_supply[0].material_id, "photo_file");
}

#[test]
fn elicence_references_only_for_materials_the_store_holds() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(
        &profile,
        &["legal_representative_id_card", "articles_of_association"],
    );
    input.marks.push(MaterialMark {
        item_id: COMPANY.into(),
        material_id: "legal_representative_id_card".into(),
        status: MaterialStatus::FromElicence {
            reference: "EL-420102-0001".into(),
        },
    });
    input.marks.push(MaterialMark {
        item_id: COMPANY.into(),
        material_id: "articles_of_association".into(),
        status: MaterialStatus::FromElicence {
            reference: "EL-1".into(),
        },
    });
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::OneTimeNotice);
    assert_eq!(proposal.to_supply.len(), 1);
    assert_eq!(proposal.to_supply[0].material_id, "articles_of_association");
}

#[test]
fn a_due_date_in_a_year_without_a_notice_is_proposed_and_marked_provisional() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &[]);
    input.items = vec![("market.drug-retail-licence".into(), 1)];
    input.applicant_type = ApplicantType::LegalPerson;
    input.accepted_on = date("2026-12-20");
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    // 15 working days from Sun 20 Dec: 21–25 (5), 28–31 (9), 元旦 Fri 1 Jan
    // 2027, 4–8 Jan (14), Mon 11 Jan (15); 2027 has no notice loaded.
    assert_eq!(proposal.items[0].due_on, date("2027-01-11"));
    assert!(proposal.items[0].due_provisional);
    assert!(proposal.provisional_dates);
    assert_eq!(proposal.promised_completion, Some(date("2027-01-11")));

    // Before 2025 (other statutory holidays) nothing is guessed.
    input.accepted_on = date("2024-12-20");
    let error = propose(&catalog(), &calendar(), &input).unwrap_err();
    assert_eq!(
        error,
        DecisionError::Calendar(FormsError::CalendarMissing { year: 2024 })
    );
}

#[test]
fn a_draft_on_an_older_item_version_is_decided_on_that_version() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &[]);
    input.items = vec![(COMPANY.into(), 2)];
    input.marks = vec![received(COMPANY, "registration_application")];
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::Accept);
    assert_eq!(proposal.items[0].version, 2);
    input.items = vec![(COMPANY.into(), 1)];
    assert!(matches!(
        propose(&catalog(), &calendar(), &input),
        Err(DecisionError::UnknownItem { .. })
    ));
}

#[test]
fn a_supervisor_override_waives_materials_or_refuses_with_the_reason_printed() {
    use forms::decision::{override_allowed, override_proposal, OverrideError};
    let profile = ApplicantProfile::default();
    let notice = propose(
        &catalog(),
        &calendar(),
        &company_input(&profile, &["address_proof"]),
    )
    .unwrap();
    assert_eq!(notice.kind, DecisionKind::OneTimeNotice);
    let accepted = override_proposal(
        &notice,
        DecisionKind::Accept,
        "场所证明已由不动产登记系统核验",
        "李值班",
    )
    .unwrap();
    assert_eq!(accepted.kind, DecisionKind::Accept);
    assert!(accepted.to_supply.is_empty());
    assert!(accepted.promised_completion.is_some());
    assert!(accepted.reasons_zh[0].contains("李值班") && accepted.reasons_zh[0].contains("核验"));
    // The waived material is still listed, as it was marked.
    assert_eq!(accepted.materials.len(), notice.materials.len());

    let refused = override_proposal(
        &notice,
        DecisionKind::NotAccepted,
        "申请人已被列入失信名单",
        "李值班",
    )
    .unwrap();
    assert_eq!(refused.kind, DecisionKind::NotAccepted);
    assert!(refused.remedies_zh.is_some());
    assert_eq!(refused.promised_completion, None);

    assert_eq!(
        override_proposal(&notice, DecisionKind::Accept, "  ", "李值班").unwrap_err(),
        OverrideError::NoReason
    );
    assert!(matches!(
        override_allowed(DecisionKind::Accept, DecisionKind::OneTimeNotice),
        Err(OverrideError::NotAllowed { .. })
    ));
    assert!(matches!(
        override_allowed(DecisionKind::NotAccepted, DecisionKind::Accept),
        Err(OverrideError::NotAllowed { .. })
    ));
    assert_eq!(
        override_allowed(DecisionKind::Accept, DecisionKind::Accept),
        Err(OverrideError::Same(DecisionKind::Accept))
    );
}

#[test]
fn a_promise_never_ends_after_the_statutory_limit_around_a_holiday() {
    // The construction permit: statutory 7 calendar days, promised 5
    // working days (never later in an ordinary week). Accepted Tue 29 Sep
    // 2026: 7 calendar days end Tue 6 Oct, in the National Day holiday, so
    // the law's date is Thu 8 Oct; 5 working days are 30 Sep, 8, 9, Sat 10
    // (adjusted) and Mon 12 Oct. The promise is held to the law's date.
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &[]);
    input.items = vec![("housing-construction.construction-permit".into(), 1)];
    input.applicant_type = ApplicantType::LegalPerson;
    input.marks.clear();
    input.accepted_on = date("2026-09-29");
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.items[0].due_on, date("2026-10-08"));
    assert_eq!(proposal.promised_completion, Some(date("2026-10-08")));

    // In an ordinary week the promise stands: Tue 3 Nov + 5 working days.
    input.accepted_on = date("2026-11-03");
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.items[0].due_on, date("2026-11-10"));
}

#[test]
fn a_gap_deadline_in_a_year_without_a_notice_is_marked_provisional() {
    let profile = ApplicantProfile::default();
    let mut input = company_input(&profile, &["appointment_documents"]);
    // Thu 31 Dec 2026 + 1 working day: 元旦 Fri 1 Jan 2027, Mon 4 Jan.
    input.accepted_on = date("2026-12-31");
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert_eq!(proposal.kind, DecisionKind::AcceptWithGaps);
    assert_eq!(proposal.gaps[0].supply_by, Some(date("2027-01-04")));
    assert!(proposal.gaps[0].supply_by_provisional);
    assert!(proposal.provisional_dates);
    // In 2026 nothing is provisional.
    input.accepted_on = date("2026-11-27");
    let proposal = propose(&catalog(), &calendar(), &input).unwrap();
    assert!(!proposal.gaps[0].supply_by_provisional);
    assert!(!proposal.provisional_dates);
}
