//! The decision proposal at the window, as the Administrative Licensing
//! Law (art. 32) and the hall's rules describe it:
//!
//! - an item outside this hall's remit, suspended or retired, or not open to
//!   this kind of applicant → **not accepted** (不予受理), naming the
//!   competent body and the applicant's remedies;
//! - any required material missing or deficient → **one-time notice**
//!   (一次性告知) listing *every* missing or deficient material with its
//!   standard, basis and where to get it;
//! - only materials marked 容缺后补 missing, and the applicant not flagged
//!   for bad credit → **accept with gaps** (容缺受理), each gap with a
//!   deadline never beyond the item's promised completion date;
//! - everything complete → **accept** (受理).
//!
//! The proposal carries everything the receipt or notice prints. This
//! module decides nothing about storage or printing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::calendar::{TimeLimit, WorkingCalendar};
use crate::catalog::{
    ApplicantType, Catalog, Item, ItemStatus, Material, MaterialSource, Necessity, OriginalOrCopy,
};
use crate::error::FormsError;
use crate::expression::new_context;
use crate::form::ApplicantProfile;

/// What the clerk found for one material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MaterialStatus {
    /// Handed over: whether the original was shown, and how many copies.
    Received {
        original: bool,
        copies: u32,
    },
    /// Taken from the e-licence store by reference.
    FromElicence {
        reference: String,
    },
    Missing,
    /// Handed over but not acceptable, with the reason.
    Deficient {
        reason_zh: String,
    },
}

/// The clerk's mark for one material of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialMark {
    pub item_id: String,
    pub material_id: String,
    #[serde(flatten)]
    pub status: MaterialStatus,
}

/// Everything the decision needs.
#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    /// `(item id, version)` pairs the intake was started on.
    pub items: Vec<(String, u32)>,
    pub applicant_type: ApplicantType,
    /// The items form a bundle (一件事): the applicant must be one the
    /// bundle takes as a whole (any of its items), because the later items
    /// are filed for the entity the first one creates (the founder applies
    /// for the company's seal, tax and social insurance registrations).
    pub bundle: bool,
    pub profile: &'a ApplicantProfile,
    /// Field values per item (for materials that apply only sometimes).
    pub values: BTreeMap<String, Map<String, Value>>,
    pub marks: Vec<MaterialMark>,
    /// How many field errors the form still has.
    pub field_errors: usize,
    pub accepted_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Accept,
    AcceptWithGaps,
    OneTimeNotice,
    NotAccepted,
}

/// One material line of a receipt or notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialLine {
    pub item_id: String,
    pub material_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub original_or_copy: OriginalOrCopy,
    pub copies_required: u32,
    pub source: MaterialSource,
    pub necessity: Necessity,
    pub status: MaterialStatus,
    /// For notices: what is wrong, in zh-CN.
    pub problem_zh: Option<String>,
    pub standard_zh: String,
    pub basis_zh: Option<String>,
    pub where_to_get_zh: Option<String>,
    /// For gaps: the date by which it must be supplied.
    pub supply_by: Option<NaiveDate>,
    /// `supply_by` was counted through a year with no official calendar file.
    #[serde(default)]
    pub supply_by_provisional: bool,
}

/// One item as the documents print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemLine {
    pub item_id: String,
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    pub department: String,
    pub back_office: String,
    pub promised_limit: TimeLimit,
    /// The promised completion date (excluded periods not counted): the
    /// promised limit's date, or the statutory limit's when that is earlier.
    pub due_on: NaiveDate,
    /// `due_on` was counted through a year with no official calendar file
    /// (statutory holidays only): printed and shown as an estimate.
    #[serde(default)]
    pub due_provisional: bool,
    pub excluded_periods_zh: Vec<String>,
    pub legal_basis_zh: Vec<String>,
    pub fees_fen: u64,
}

/// The proposal the clerk confirms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionProposal {
    pub kind: DecisionKind,
    pub reasons_zh: Vec<String>,
    pub reasons_en: Vec<String>,
    pub items: Vec<ItemLine>,
    /// Every applicable material with its status (the receipt's table).
    pub materials: Vec<MaterialLine>,
    /// Missing or deficient materials a notice must name (all of them).
    pub to_supply: Vec<MaterialLine>,
    /// Materials accepted as gaps, with their deadlines.
    pub gaps: Vec<MaterialLine>,
    /// The latest promised completion date over the items.
    pub promised_completion: Option<NaiveDate>,
    /// Some date of this proposal (a due date or a supply-by date) was
    /// counted through a year with no official calendar file: it follows the
    /// statutory holidays and may move when the State Council publishes
    /// that year's arrangement. The receipt and the window say so.
    #[serde(default)]
    pub provisional_dates: bool,
    /// For not-accepted decisions: where the applicant should go.
    pub competent_bodies_zh: Vec<String>,
    /// The applicant's remedies against the decision, for notices.
    pub remedies_zh: Option<String>,
    pub legal_basis_zh: String,
    /// Accept-with-gaps needs a supervisor's sign-off and the applicant's commitment.
    pub needs_supervisor_sign_off: bool,
    /// Set when a supervisor approved deciding otherwise than the core
    /// proposed: who and why (printed on the document).
    #[serde(default)]
    pub approved_exception_zh: Option<String>,
}

/// Why no proposal could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecisionError {
    #[error("unknown item `{id}` version {version}")]
    UnknownItem { id: String, version: u32 },
    #[error("the form still has {count} error(s): fix them before accepting")]
    FieldsInvalid { count: usize },
    #[error("no item was chosen")]
    NoItems,
    #[error(transparent)]
    Calendar(#[from] FormsError),
}

const LEGAL_BASIS: &str = "《中华人民共和国行政许可法》第三十二条";
const REMEDIES_ZH: &str = "如对本决定不服，可以自收到本通知之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。";
const DEFAULT_SUPPLY_DAYS: u32 = 5;

/// Proposes the decision for an intake.
pub fn propose(
    catalog: &Catalog,
    calendar: &WorkingCalendar,
    input: &DecisionInput,
) -> Result<DecisionProposal, DecisionError> {
    if input.items.is_empty() {
        return Err(DecisionError::NoItems);
    }
    let mut items: Vec<&Item> = Vec::new();
    for (id, version) in &input.items {
        items.push(
            catalog
                .item_at(id, *version)
                .ok_or_else(|| DecisionError::UnknownItem {
                    id: id.clone(),
                    version: *version,
                })?,
        );
    }

    let mut proposal = DecisionProposal {
        kind: DecisionKind::Accept,
        reasons_zh: Vec::new(),
        reasons_en: Vec::new(),
        items: Vec::new(),
        materials: Vec::new(),
        to_supply: Vec::new(),
        gaps: Vec::new(),
        promised_completion: None,
        provisional_dates: false,
        competent_bodies_zh: Vec::new(),
        remedies_zh: None,
        legal_basis_zh: LEGAL_BASIS.to_owned(),
        needs_supervisor_sign_off: false,
        approved_exception_zh: None,
    };

    // Not accepted: outside the remit, not open, or not for this applicant.
    let bundle_takes_applicant = items
        .iter()
        .any(|item| item.applicant_types.contains(&input.applicant_type));
    let takes_applicant = |item: &Item| {
        if input.bundle {
            bundle_takes_applicant
        } else {
            item.applicant_types.contains(&input.applicant_type)
        }
    };
    for item in &items {
        if !item.handled_here {
            let body = item.competent_body_zh.clone().unwrap_or_default();
            proposal.reasons_zh.push(format!(
                "“{}”不属于本中心受理范围，请向{body}申请",
                item.name_zh
            ));
            proposal.reasons_en.push(format!(
                "{} is not handled at this hall; apply to: {body}",
                item.name_en
            ));
            proposal.competent_bodies_zh.push(body);
        } else if catalog
            .item(&item.id)
            .map_or(item.status, |current| current.status)
            != ItemStatus::Active
        {
            // A draft on a kept older version goes on while the item is open.
            proposal
                .reasons_zh
                .push(format!("“{}”目前暂停办理", item.name_zh));
            proposal.reasons_en.push(format!(
                "{} is currently not open for applications",
                item.name_en
            ));
        } else if !takes_applicant(item) {
            let who = match input.applicant_type {
                ApplicantType::NaturalPerson => ("自然人", "natural persons"),
                ApplicantType::LegalPerson => ("法人或其他组织", "legal persons"),
            };
            proposal
                .reasons_zh
                .push(format!("“{}”不受理{}申请", item.name_zh, who.0));
            proposal
                .reasons_en
                .push(format!("{} is not open to {}", item.name_en, who.1));
        }
    }
    if !proposal.reasons_zh.is_empty() {
        proposal.kind = DecisionKind::NotAccepted;
        proposal.remedies_zh = Some(REMEDIES_ZH.to_owned());
        return Ok(proposal);
    }

    let mut latest = input.accepted_on;
    for item in &items {
        // Never a date after the law's: near a holiday a promise in working
        // days can end after a statutory limit in calendar days (or the other
        // way round) that it never passes in an ordinary week, which is all
        // the catalogue check can require (`loader`).
        let promised = calendar.due_date(input.accepted_on, item.promised_limit)?;
        let statutory = calendar.due_date(input.accepted_on, item.statutory_limit)?;
        let due = if statutory.date < promised.date {
            statutory
        } else {
            promised
        };
        let due_on = due.date;
        latest = latest.max(due_on);
        proposal.provisional_dates |= due.provisional;
        proposal.items.push(ItemLine {
            item_id: item.id.clone(),
            version: item.version,
            name_zh: item.name_zh.clone(),
            name_en: item.name_en.clone(),
            department: item.department.clone(),
            back_office: item.back_office.clone(),
            promised_limit: item.promised_limit,
            due_on,
            due_provisional: due.provisional,
            excluded_periods_zh: item
                .excluded_periods
                .iter()
                .map(|period| period.name_zh.clone())
                .collect(),
            legal_basis_zh: item.legal_basis_zh.clone(),
            fees_fen: item.fees.iter().map(|fee| fee.amount_fen).sum(),
        });
    }
    proposal.promised_completion = Some(latest);

    let marks: BTreeMap<(&str, &str), &MaterialStatus> = input
        .marks
        .iter()
        .map(|mark| {
            (
                (mark.item_id.as_str(), mark.material_id.as_str()),
                &mark.status,
            )
        })
        .collect();
    for (item, line) in items.iter().zip(proposal.items.clone()) {
        let values = input.values.get(&item.id).cloned().unwrap_or_default();
        for material in &item.materials {
            if !applies(material, &values, input) {
                continue;
            }
            let status = marks
                .get(&(item.id.as_str(), material.id.as_str()))
                .map_or(MaterialStatus::Missing, |status| (*status).clone());
            let problem = problem_with(material, &status);
            let mut entry = material_line(item, material, status.clone(), problem.clone());
            match (problem, material.necessity) {
                (None, _) => {}
                (Some(_), Necessity::Optional) => {}
                (Some(_), Necessity::Required) => proposal.to_supply.push(entry.clone()),
                (Some(_), Necessity::SupplyLater) => {
                    let days = material.supply_within_days.unwrap_or(DEFAULT_SUPPLY_DAYS);
                    let supply = calendar.add_working_days(input.accepted_on, days)?;
                    let by = supply.date.min(line.due_on);
                    entry.supply_by = Some(by);
                    entry.supply_by_provisional = if by == supply.date {
                        supply.provisional
                    } else {
                        line.due_provisional
                    };
                    proposal.provisional_dates |= entry.supply_by_provisional;
                    proposal.gaps.push(entry.clone());
                }
            }
            proposal.materials.push(entry);
        }
    }

    if !proposal.to_supply.is_empty() {
        proposal.kind = DecisionKind::OneTimeNotice;
        // The notice names everything, the gaps too.
        proposal.to_supply.append(&mut proposal.gaps);
        proposal.reasons_zh.push(format!(
            "申请材料不齐全或者不符合法定形式，共 {} 项需补正",
            proposal.to_supply.len()
        ));
        proposal.reasons_en.push(format!(
            "{} material(s) missing or not in legal form",
            proposal.to_supply.len()
        ));
        proposal.remedies_zh = Some(REMEDIES_ZH.to_owned());
        return Ok(proposal);
    }
    if !proposal.gaps.is_empty() {
        let on_the_spot: Vec<_> = proposal
            .gaps
            .iter()
            .filter(|gap| gap.supply_by == Some(input.accepted_on))
            .cloned()
            .collect();
        if input.profile.bad_credit || !on_the_spot.is_empty() {
            proposal.kind = DecisionKind::OneTimeNotice;
            if input.profile.bad_credit {
                proposal
                    .reasons_zh
                    .push("申请人存在失信记录，不适用容缺受理".into());
                proposal.reasons_en.push(
                    "The applicant has a bad credit record: accepting with gaps is excluded".into(),
                );
            } else {
                proposal
                    .reasons_zh
                    .push("即办事项当场办结，不适用容缺后补".into());
                proposal.reasons_en.push(
                    "An immediate item is decided on the spot: gaps cannot be supplied later"
                        .into(),
                );
            }
            proposal.to_supply.append(&mut proposal.gaps);
            proposal.remedies_zh = Some(REMEDIES_ZH.to_owned());
            return Ok(proposal);
        }
        proposal.kind = DecisionKind::AcceptWithGaps;
        proposal.needs_supervisor_sign_off = true;
        proposal.reasons_zh.push(format!(
            "主要申请材料齐全，{} 项非关键材料容缺后补，逾期未补齐的终止办理",
            proposal.gaps.len()
        ));
        proposal.reasons_en.push(format!(
            "Key materials complete; {} non-key material(s) to be supplied later, or the case ends",
            proposal.gaps.len()
        ));
    }
    if input.field_errors > 0 {
        return Err(DecisionError::FieldsInvalid {
            count: input.field_errors,
        });
    }
    if proposal.kind == DecisionKind::Accept {
        proposal
            .reasons_zh
            .push("申请材料齐全、符合法定形式，予以受理".into());
        proposal
            .reasons_en
            .push("Materials complete and in legal form: accepted".into());
    }
    Ok(proposal)
}

/// Whether a material applies to this intake (its `applies_when` rule).
fn applies(material: &Material, values: &Map<String, Value>, input: &DecisionInput) -> bool {
    let Some(rule) = &material.applies_when else {
        return true;
    };
    let mut context = new_context();
    for (key, value) in values {
        let cel = match value {
            Value::Bool(flag) => cel::Value::Bool(*flag),
            Value::Number(number) if number.is_i64() => {
                cel::Value::Int(number.as_i64().unwrap_or(0))
            }
            Value::Number(number) => cel::Value::Float(number.as_f64().unwrap_or(0.0)),
            Value::String(text) => cel::Value::from(text.as_str()),
            _ => cel::Value::Null,
        };
        context.add_variable_from_value(key.clone(), cel);
    }
    let mut profile = BTreeMap::new();
    profile.insert(
        "age".to_owned(),
        input
            .profile
            .age(input.accepted_on)
            .map_or(cel::Value::Null, cel::Value::Int),
    );
    profile.insert(
        "bad_credit".to_owned(),
        cel::Value::Bool(input.profile.bad_credit),
    );
    context.add_variable_from_value("applicant", crate::expression::map_value(profile));
    context.add_variable_from_value(
        "today",
        cel::Value::from(input.accepted_on.format("%Y-%m-%d").to_string()),
    );
    // A rule that cannot be evaluated (a value still missing) keeps the material asked.
    rule.evaluate_bool(&context).unwrap_or(true)
}

/// What is wrong with a material as marked, if anything.
fn problem_with(material: &Material, status: &MaterialStatus) -> Option<String> {
    match status {
        MaterialStatus::Missing => Some("未提交".into()),
        MaterialStatus::Deficient { reason_zh } => Some(reason_zh.clone()),
        MaterialStatus::FromElicence { reference } => {
            if material.elicence_type.is_none() {
                Some("该材料不能由电子证照库提供".into())
            } else if reference.trim().is_empty() {
                Some("电子证照引用为空".into())
            } else {
                None
            }
        }
        MaterialStatus::Received { original, copies } => {
            let needs_original = matches!(
                material.original_or_copy,
                OriginalOrCopy::Original | OriginalOrCopy::OriginalAndCopy
            );
            let needs_copies = match material.original_or_copy {
                OriginalOrCopy::Original => 0,
                OriginalOrCopy::OriginalOrCopy => u32::from(!*original) * material.copies,
                _ => material.copies,
            };
            if needs_original && !original {
                Some("须提供原件".into())
            } else if *copies < needs_copies {
                Some(format!(
                    "复印件份数不足（需 {needs_copies} 份，收到 {copies} 份）"
                ))
            } else {
                None
            }
        }
    }
}

fn material_line(
    item: &Item,
    material: &Material,
    status: MaterialStatus,
    problem: Option<String>,
) -> MaterialLine {
    MaterialLine {
        item_id: item.id.clone(),
        material_id: material.id.clone(),
        name_zh: material.name_zh.clone(),
        name_en: material.name_en.clone(),
        original_or_copy: material.original_or_copy,
        copies_required: material.copies,
        source: material.source,
        necessity: material.necessity,
        status,
        problem_zh: problem,
        standard_zh: material.standard_zh.clone(),
        basis_zh: material
            .basis_zh
            .clone()
            .or_else(|| item.legal_basis_zh.first().cloned()),
        where_to_get_zh: material.where_to_get_zh.clone(),
        supply_by: None,
        supply_by_provisional: false,
    }
}

/// Why an override cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("the override asks for the decision the core already proposes ({0:?})")]
    Same(DecisionKind),
    #[error("an override from {from:?} to {to:?} is not allowed: {why}")]
    NotAllowed {
        from: DecisionKind,
        to: DecisionKind,
        why: &'static str,
    },
    #[error("an override needs a reason")]
    NoReason,
}

/// The overrides a supervisor may approve: materials waived (a notice or
/// gaps become an acceptance), or an intake not accepted for a reason the
/// core cannot see. Making a notice out of an acceptance is done by marking
/// the material deficient, not by an override.
pub fn override_allowed(from: DecisionKind, to: DecisionKind) -> Result<(), OverrideError> {
    use DecisionKind as D;
    match (from, to) {
        _ if from == to => Err(OverrideError::Same(from)),
        (D::OneTimeNotice | D::AcceptWithGaps, D::Accept) => Ok(()),
        (D::Accept | D::AcceptWithGaps | D::OneTimeNotice, D::NotAccepted) => Ok(()),
        (D::NotAccepted, _) => Err(OverrideError::NotAllowed {
            from,
            to,
            why: "the hall cannot take in what is outside its remit or not open",
        }),
        (_, D::OneTimeNotice) => Err(OverrideError::NotAllowed {
            from,
            to,
            why: "mark the material missing or deficient instead",
        }),
        (_, D::AcceptWithGaps) => Err(OverrideError::NotAllowed {
            from,
            to,
            why: "gaps come from the catalogue's supply-later materials",
        }),
        _ => Err(OverrideError::NotAllowed {
            from,
            to,
            why: "no such override",
        }),
    }
}

/// The proposal as a supervisor's approved override makes it: the decision
/// `to`, with the supervisor's reason among the reasons (printed on the
/// document). Waived materials stay in the materials table with their
/// status, so the receipt shows what was not there.
pub fn override_proposal(
    proposal: &DecisionProposal,
    to: DecisionKind,
    reason_zh: &str,
    supervisor_name: &str,
) -> Result<DecisionProposal, OverrideError> {
    override_allowed(proposal.kind, to)?;
    let reason_zh = reason_zh.trim();
    if reason_zh.is_empty() {
        return Err(OverrideError::NoReason);
    }
    let mut overridden = proposal.clone();
    overridden.kind = to;
    overridden.needs_supervisor_sign_off = false;
    overridden.approved_exception_zh = Some(format!("经值班长{supervisor_name}批准：{reason_zh}"));
    match to {
        DecisionKind::Accept => {
            overridden.to_supply.clear();
            overridden.gaps.clear();
            overridden.reasons_zh = vec![format!(
                "经值班长{supervisor_name}批准例外受理：{reason_zh}"
            )];
            overridden.reasons_en = vec![format!(
                "Accepted by exception, approved by supervisor {supervisor_name}: {reason_zh}"
            )];
        }
        DecisionKind::NotAccepted => {
            overridden.reasons_zh = vec![format!("{reason_zh}（经值班长{supervisor_name}批准）")];
            overridden.reasons_en = vec![format!(
                "{reason_zh} (approved by supervisor {supervisor_name})"
            )];
            overridden.promised_completion = None;
            overridden.remedies_zh = Some(REMEDIES_ZH.to_owned());
        }
        DecisionKind::OneTimeNotice | DecisionKind::AcceptWithGaps => {
            unreachable!("override_allowed refuses these targets")
        }
    }
    Ok(overridden)
}
