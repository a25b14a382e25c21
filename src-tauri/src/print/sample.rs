//! Sample documents: a realistic case of the sample catalogue (company
//! establishment) decided every way, for the tests, the benchmark and the
//! "print a test page" of Settings. Sample data only (示例), made up.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use forms::calendar::WorkingCalendar;
use forms::catalog::ApplicantType;
use forms::decision::{
    propose, DecisionInput, DecisionKind, DecisionProposal, MaterialMark, MaterialStatus,
};
use forms::form::ApplicantProfile;
use serde_json::json;

use super::{Delivery, DocumentInput, DocumentKind, Issuance, Termination};

const COMPANY: &str = "market.company-establishment";

/// The sample applicant's (made-up) ID number.
pub const APPLICANT_ID: &str = "420102198603150116";

fn accepted_at() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-27T10:05:00+08:00").expect("a fixed time")
}

/// A decision of `kind` on the company establishment item (or, for a
/// refusal, on the marriage registration the window does not handle).
pub fn proposal(
    catalog: &forms::Catalog,
    calendar: &WorkingCalendar,
    kind: DecisionKind,
) -> Result<DecisionProposal, String> {
    let profile = ApplicantProfile::default();
    let (item, leave_out): (&str, &[&str]) = match kind {
        DecisionKind::Accept => (COMPANY, &[]),
        DecisionKind::AcceptWithGaps => (COMPANY, &["appointment_documents"]),
        DecisionKind::OneTimeNotice => (COMPANY, &["articles_of_association", "address_proof"]),
        DecisionKind::NotAccepted => ("civil-affairs.marriage-registration", &[]),
    };
    let found = catalog
        .item(item)
        .ok_or_else(|| format!("the catalogue has no item {item}"))?;
    let marks = found
        .materials
        .iter()
        .filter(|material| !leave_out.contains(&material.id.as_str()))
        .map(|material| MaterialMark {
            item_id: item.into(),
            material_id: material.id.clone(),
            status: MaterialStatus::Received {
                original: true,
                copies: 1,
            },
        })
        .collect();
    let mut values = serde_json::Map::new();
    values.insert("delegated".into(), json!(false));
    let input = DecisionInput {
        items: vec![(item.into(), found.version)],
        applicant_type: ApplicantType::NaturalPerson,
        bundle: false,
        profile: &profile,
        values: [(item.to_owned(), values)].into(),
        marks,
        field_errors: 0,
        accepted_on: accepted_at().date_naive(),
    };
    let proposal = propose(catalog, calendar, &input).map_err(|error| error.to_string())?;
    if proposal.kind == kind {
        Ok(proposal)
    } else {
        Err(format!("the sample gave {:?}, not {kind:?}", proposal.kind))
    }
}

/// A complete sample document of `kind`.
pub fn input(
    catalog_dir: &Path,
    calendar_dir: &Path,
    kind: DocumentKind,
) -> Result<DocumentInput, String> {
    let catalog = forms::load_catalog(catalog_dir).map_err(|error| error.to_string())?;
    let calendar = WorkingCalendar::load_dir(calendar_dir).map_err(|error| error.to_string())?;
    let decision = match kind {
        DocumentKind::AcceptanceReceipt | DocumentKind::IssuanceReceipt => DecisionKind::Accept,
        DocumentKind::OneTimeNotice => DecisionKind::OneTimeNotice,
        DocumentKind::GapsNotice | DocumentKind::Commitment | DocumentKind::TerminationNotice => {
            DecisionKind::AcceptWithGaps
        }
        DocumentKind::NotAcceptedNotice => DecisionKind::NotAccepted,
    };
    Ok(DocumentInput {
        kind,
        hall_name_zh: "示例区政务服务中心".into(),
        window: "01".into(),
        clerk_name: "陈示例".into(),
        document_number: format!("示例政务01{}〔2026〕7号", kind.number_word()),
        case_number: "SAMPLE01202611270042".into(),
        applicant_name: "张示例".into(),
        applicant_identifier: APPLICANT_ID.into(),
        accepted_at: accepted_at(),
        proposal: proposal(&catalog, &calendar, decision)?,
        progress_url: Some("https://zwfw.example.gov.cn/progress?case=SAMPLE01202611270042".into()),
        progress_phone: "12345".into(),
        delivery: if kind == DocumentKind::IssuanceReceipt {
            Delivery::Mail {
                address_zh: "示例区示例路1号".into(),
                tracking_number: Some("EMS1234567890CN".into()),
            }
        } else {
            Delivery::PickUp {
                place_zh: "一楼综合出件窗口".into(),
            }
        },
        issuance: (kind == DocumentKind::IssuanceReceipt).then(|| Issuance {
            results_zh: vec!["营业执照正本1份".into(), "营业执照副本1份".into()],
            issued_at: accepted_at(),
            received_by: "张示例".into(),
        }),
        termination: (kind == DocumentKind::TerminationNotice).then(|| Termination {
            terminated_at: accepted_at() + chrono::Duration::days(5),
            reason_zh: "容缺材料未在承诺期限内补齐。".into(),
        }),
        copy: false,
        practice: false,
    })
}
