//! One intake at the window, item or bundle alike: the questions to ask,
//! the materials checklist, and the check of what the clerk has entered so
//! far (field errors, calculated values, skipped fields and the decision
//! proposal), computed in one call so the window can show all of it after
//! every pause in typing.
//!
//! For a single item a question's key is the field id and a checklist
//! line's key the material id. For a bundle the keys are those of
//! [`crate::bundle`]: shared ids once, everything else `item/id`.
//!
//! This module decides nothing on its own: the rules are the form engine's
//! ([`crate::form`], [`crate::bundle`]) and the decision's
//! ([`crate::decision`]). It never stores or prints anything.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bundle::{bundle_form, distribute, item_key, validate_bundle};
use crate::calendar::WorkingCalendar;
use crate::catalog::{
    ApplicantType, Bundle, Catalog, Category, Field, Item, Material, OriginalOrCopy,
};
use crate::decision::{
    propose, DecisionError, DecisionInput, DecisionProposal, MaterialMark, MaterialStatus,
};
use crate::form::{validate, ApplicantProfile, FormReport};

/// What an intake is for: one item, or a bundle (一件事).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Subject {
    Item(String),
    Bundle(String),
}

/// Why no intake can be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the catalogue has no item `{0}`")]
    UnknownItem(String),
    #[error("the catalogue has no item `{id}` at version {version}")]
    UnknownVersion { id: String, version: u32 },
    #[error("the catalogue has no bundle `{0}`")]
    UnknownBundle(String),
}

/// One question of the intake form.
#[derive(Debug, Clone, Serialize)]
pub struct Question<'a> {
    /// The key the value is entered under.
    pub key: String,
    pub field: &'a Field,
    /// The items this one value fills.
    pub item_ids: Vec<String>,
}

/// One line of the materials checklist.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistLine<'a> {
    /// The key the clerk's mark is kept under.
    pub key: String,
    pub material: &'a Material,
    /// `(item, material)` pairs this one mark stands for.
    pub targets: Vec<(String, String)>,
    /// What satisfies every target at once (a shared material may be a copy
    /// for one item and an original for another).
    pub original_or_copy: OriginalOrCopy,
    pub copies: u32,
}

/// The strictest of several requirements: the original if any asks for it,
/// and the most copies any asks for.
fn strictest(materials: &[&Material]) -> (OriginalOrCopy, u32) {
    let needs_original = materials.iter().any(|material| {
        matches!(
            material.original_or_copy,
            OriginalOrCopy::Original | OriginalOrCopy::OriginalAndCopy
        )
    });
    let copies = materials
        .iter()
        .filter(|material| material.original_or_copy != OriginalOrCopy::Original)
        .map(|material| material.copies)
        .max()
        .unwrap_or(0);
    let all_either = materials
        .iter()
        .all(|material| material.original_or_copy == OriginalOrCopy::OriginalOrCopy);
    let kind = match (needs_original, copies > 0) {
        (true, true) => OriginalOrCopy::OriginalAndCopy,
        (true, false) => OriginalOrCopy::Original,
        (false, _) if all_either => OriginalOrCopy::OriginalOrCopy,
        (false, _) => OriginalOrCopy::Copy,
    };
    (kind, copies)
}

/// Everything the window asks and checks for one intake.
#[derive(Debug, Clone)]
pub struct IntakePlan<'a> {
    pub subject: Subject,
    pub category: Category,
    /// The item versions the intake is pinned to.
    pub item_versions: BTreeMap<String, u32>,
    pub items: Vec<&'a Item>,
    pub bundle: Option<&'a Bundle>,
    pub questions: Vec<Question<'a>>,
    pub checklist: Vec<ChecklistLine<'a>>,
    /// Who may apply.
    pub applicant_types: Vec<ApplicantType>,
}

/// Plans an intake. `pinned`: the versions a draft started on (a draft
/// reopened after a catalogue change keeps them); `None` for a new intake.
pub fn plan<'a>(
    catalog: &'a Catalog,
    subject: &Subject,
    pinned: Option<&BTreeMap<String, u32>>,
) -> Result<IntakePlan<'a>, PlanError> {
    let item_at = |id: &str| -> Result<&'a Item, PlanError> {
        match pinned.and_then(|versions| versions.get(id)) {
            Some(version) => {
                catalog
                    .item_at(id, *version)
                    .ok_or_else(|| PlanError::UnknownVersion {
                        id: id.to_owned(),
                        version: *version,
                    })
            }
            None => catalog
                .item(id)
                .ok_or_else(|| PlanError::UnknownItem(id.to_owned())),
        }
    };
    match subject {
        Subject::Item(id) => {
            let item = item_at(id)?;
            Ok(IntakePlan {
                subject: subject.clone(),
                category: item.category,
                item_versions: BTreeMap::from([(item.id.clone(), item.version)]),
                items: vec![item],
                bundle: None,
                questions: item
                    .fields
                    .iter()
                    .map(|field| Question {
                        key: field.id.clone(),
                        field,
                        item_ids: vec![item.id.clone()],
                    })
                    .collect(),
                checklist: item
                    .materials
                    .iter()
                    .map(|material| ChecklistLine {
                        key: material.id.clone(),
                        material,
                        targets: vec![(item.id.clone(), material.id.clone())],
                        original_or_copy: material.original_or_copy,
                        copies: material.copies,
                    })
                    .collect(),
                applicant_types: item.applicant_types.clone(),
            })
        }
        Subject::Bundle(id) => {
            let bundle = catalog
                .bundle(id)
                .ok_or_else(|| PlanError::UnknownBundle(id.clone()))?;
            let items = bundle
                .items
                .iter()
                .map(|id| item_at(id))
                .collect::<Result<Vec<_>, _>>()?;
            let questions = bundle_form(catalog, bundle)
                .into_iter()
                .map(|question| Question {
                    key: question.key,
                    field: question.field,
                    item_ids: question.targets.into_iter().map(|(item, _)| item).collect(),
                })
                .collect();
            let mut checklist = Vec::new();
            let mut shared: BTreeSet<(String, String)> = BTreeSet::new();
            for element in &bundle.shared_materials {
                let Some(material) = element.maps_to.first().and_then(|(item, material)| {
                    items
                        .iter()
                        .find(|candidate| candidate.id == *item)
                        .and_then(|item| item.material(material))
                }) else {
                    continue;
                };
                shared.extend(element.maps_to.iter().cloned());
                let all: Vec<&Material> = element
                    .maps_to
                    .iter()
                    .filter_map(|(item, material)| {
                        items
                            .iter()
                            .find(|candidate| candidate.id == *item)
                            .and_then(|item| item.material(material))
                    })
                    .collect();
                let (original_or_copy, copies) = strictest(&all);
                checklist.push(ChecklistLine {
                    key: element.id.clone(),
                    material,
                    targets: element.maps_to.clone(),
                    original_or_copy,
                    copies,
                });
            }
            for item in &items {
                for material in &item.materials {
                    let target = (item.id.clone(), material.id.clone());
                    if shared.contains(&target) {
                        continue;
                    }
                    checklist.push(ChecklistLine {
                        key: item_key(&item.id, &material.id),
                        material,
                        targets: vec![target],
                        original_or_copy: material.original_or_copy,
                        copies: material.copies,
                    });
                }
            }
            // Anyone one of the items takes (see `DecisionInput::bundle`).
            let mut applicant_types =
                vec![ApplicantType::NaturalPerson, ApplicantType::LegalPerson];
            applicant_types
                .retain(|kind| items.iter().any(|item| item.applicant_types.contains(kind)));
            Ok(IntakePlan {
                subject: subject.clone(),
                category: bundle.category,
                item_versions: items
                    .iter()
                    .map(|item| (item.id.clone(), item.version))
                    .collect(),
                items,
                bundle: Some(bundle),
                questions,
                checklist,
                applicant_types,
            })
        }
    }
}

/// What the clerk has entered so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub applicant_type: Option<ApplicantType>,
    #[serde(default)]
    pub profile: ApplicantProfile,
    /// Question key → value.
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Checklist key → the clerk's mark (unmarked lines count as missing).
    #[serde(default)]
    pub marks: BTreeMap<String, MaterialStatus>,
}

/// The check of an intake at one moment.
#[derive(Debug, Clone)]
pub struct IntakeCheck {
    /// Field errors (under the question keys), calculated values, skipped fields.
    pub report: FormReport,
    /// The values each item receives (calculated values included).
    pub item_values: BTreeMap<String, Map<String, Value>>,
    /// The marks per item material.
    pub marks: Vec<MaterialMark>,
    /// Checklist keys that apply to this intake (the others are not asked).
    pub applicable_materials: Vec<String>,
    /// The proposal, or why there is none yet.
    pub proposal: Result<DecisionProposal, DecisionError>,
}

impl IntakePlan<'_> {
    /// Checks the answers: the form, the materials and the decision.
    pub fn check(
        &self,
        catalog: &Catalog,
        calendar: &WorkingCalendar,
        answers: &Answers,
        today: NaiveDate,
    ) -> IntakeCheck {
        let (report, mut item_values) = match self.bundle {
            Some(bundle) => (
                validate_bundle(catalog, bundle, &answers.values, &answers.profile, today),
                distribute(catalog, bundle, &answers.values),
            ),
            None => {
                let item = self.items[0];
                (
                    validate(
                        catalog,
                        &item.fields,
                        &answers.values,
                        &answers.profile,
                        today,
                    ),
                    BTreeMap::from([(item.id.clone(), answers.values.clone())]),
                )
            }
        };
        // Calculated values replace whatever was typed for them.
        for (key, value) in &report.calculated {
            let (item_id, field_id) = match key.split_once('/') {
                Some((item, field)) => (item.to_owned(), field.to_owned()),
                None => (self.items[0].id.clone(), key.clone()),
            };
            if let Some(values) = item_values.get_mut(&item_id) {
                values.insert(field_id, value.clone());
            }
        }
        let marks: Vec<MaterialMark> = self
            .checklist
            .iter()
            .filter_map(|line| Some((line, answers.marks.get(&line.key)?)))
            .flat_map(|(line, status)| {
                line.targets
                    .iter()
                    .map(|(item_id, material_id)| MaterialMark {
                        item_id: item_id.clone(),
                        material_id: material_id.clone(),
                        status: status.clone(),
                    })
            })
            .collect();
        let applicant_type = answers
            .applicant_type
            .unwrap_or(ApplicantType::NaturalPerson);
        let input = DecisionInput {
            items: self
                .item_versions
                .iter()
                .map(|(id, version)| (id.clone(), *version))
                .collect(),
            applicant_type,
            bundle: self.bundle.is_some(),
            profile: &answers.profile,
            values: item_values.clone(),
            marks: marks.clone(),
            field_errors: report.errors.len(),
            accepted_on: today,
        };
        let proposal = propose(catalog, calendar, &input);
        let applicable: BTreeSet<(String, String)> = match &proposal {
            Ok(proposal) if !proposal.materials.is_empty() => proposal
                .materials
                .iter()
                .map(|line| (line.item_id.clone(), line.material_id.clone()))
                .collect(),
            // No proposal (or a refusal, which lists none): show every line.
            _ => self
                .checklist
                .iter()
                .flat_map(|line| line.targets.iter().cloned())
                .collect(),
        };
        let applicable_materials = self
            .checklist
            .iter()
            .filter(|line| {
                line.targets
                    .iter()
                    .any(|target| applicable.contains(target))
            })
            .map(|line| line.key.clone())
            .collect();
        IntakeCheck {
            report,
            item_values,
            marks,
            applicable_materials,
            proposal,
        }
    }

    /// Back-office system → its items: one sub-case each.
    pub fn sub_cases(&self) -> BTreeMap<String, Vec<String>> {
        let mut sub_cases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in &self.items {
            sub_cases
                .entry(item.back_office.clone())
                .or_default()
                .push(item.id.clone());
        }
        sub_cases
    }

    /// Whether any item asks for a supervisor's review before the case goes
    /// to the back office.
    pub fn needs_review(&self) -> bool {
        self.items.iter().any(|item| item.review_before_handoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DecisionKind;
    use crate::samples::{sample_bundle, sample_item};
    use std::path::Path;

    fn catalog() -> Catalog {
        crate::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap()
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar")).unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn received() -> MaterialStatus {
        MaterialStatus::Received {
            original: true,
            copies: 1,
        }
    }

    fn all_received(plan: &IntakePlan) -> BTreeMap<String, MaterialStatus> {
        plan.checklist
            .iter()
            .map(|line| (line.key.clone(), received()))
            .collect()
    }

    #[test]
    fn an_item_with_every_material_and_a_valid_form_is_accepted() {
        let catalog = catalog();
        let item = catalog.item("market.company-establishment").unwrap();
        let sample = sample_item(&catalog, item, today()).unwrap();
        let plan = plan(&catalog, &Subject::Item(item.id.clone()), None).unwrap();
        assert_eq!(plan.questions.len(), item.fields.len());
        let answers = Answers {
            applicant_type: Some(ApplicantType::NaturalPerson),
            profile: sample.applicant.clone(),
            values: sample.values.clone(),
            marks: all_received(&plan),
        };
        let check = plan.check(&catalog, &calendar(), &answers, today());
        assert!(check.report.is_valid(), "{:?}", check.report.errors);
        assert_eq!(check.proposal.unwrap().kind, DecisionKind::Accept);
    }

    #[test]
    fn a_missing_required_material_gives_a_notice_naming_it() {
        let catalog = catalog();
        let plan = plan(
            &catalog,
            &Subject::Item("market.company-establishment".into()),
            None,
        )
        .unwrap();
        let mut marks = all_received(&plan);
        marks.remove("articles_of_association");
        let answers = Answers {
            marks,
            ..Answers::default()
        };
        // The form is still empty: the notice does not wait for it.
        let check = plan.check(&catalog, &calendar(), &answers, today());
        assert!(!check.report.is_valid());
        let proposal = check.proposal.unwrap();
        assert_eq!(proposal.kind, DecisionKind::OneTimeNotice);
        assert!(proposal
            .to_supply
            .iter()
            .any(|line| line.material_id == "articles_of_association"));
    }

    #[test]
    fn a_bundle_asks_shared_fields_once_and_copies_shared_marks_to_every_item() {
        let catalog = catalog();
        let bundle = catalog.bundle("bundle.start-company").unwrap();
        let sample = sample_bundle(&catalog, bundle, today()).unwrap();
        let plan = plan(&catalog, &Subject::Bundle(bundle.id.clone()), None).unwrap();
        assert_eq!(
            plan.questions
                .iter()
                .filter(|question| question.key == "entity_name")
                .count(),
            1
        );
        assert_eq!(plan.items.len(), bundle.items.len());
        let answers = Answers {
            applicant_type: Some(ApplicantType::NaturalPerson),
            profile: sample.applicant.clone(),
            values: sample.values.clone(),
            marks: all_received(&plan),
        };
        let check = plan.check(&catalog, &calendar(), &answers, today());
        assert!(check.report.is_valid(), "{:?}", check.report.errors);
        let proposal = check.proposal.unwrap();
        assert_eq!(
            proposal.kind,
            DecisionKind::Accept,
            "{:?}",
            proposal.reasons_en
        );
        assert_eq!(proposal.items.len(), bundle.items.len());
        for element in &bundle.shared_materials {
            for (item, material) in &element.maps_to {
                assert!(check
                    .marks
                    .iter()
                    .any(|mark| mark.item_id == *item && mark.material_id == *material));
            }
        }
        assert!(check
            .item_values
            .values()
            .all(|values| values.get("entity_name") == sample.values.get("entity_name")));
        assert_eq!(plan.sub_cases().len(), bundle.items.len());
    }

    #[test]
    fn a_shared_material_asks_for_what_satisfies_every_item() {
        let catalog = catalog();
        let bundle = catalog.bundle("bundle.start-company").unwrap();
        let sample = sample_bundle(&catalog, bundle, today()).unwrap();
        let plan = plan(&catalog, &Subject::Bundle(bundle.id.clone()), None).unwrap();
        // Mark each line exactly as it asks: the original only when it says
        // so, and its count of copies.
        let marks = plan
            .checklist
            .iter()
            .map(|line| {
                let original = matches!(
                    line.original_or_copy,
                    OriginalOrCopy::Original | OriginalOrCopy::OriginalAndCopy
                );
                let copies = if line.original_or_copy == OriginalOrCopy::Original {
                    0
                } else {
                    line.copies
                };
                (
                    line.key.clone(),
                    MaterialStatus::Received { original, copies },
                )
            })
            .collect();
        let answers = Answers {
            applicant_type: Some(ApplicantType::NaturalPerson),
            profile: sample.applicant.clone(),
            values: sample.values.clone(),
            marks,
        };
        let proposal = plan
            .check(&catalog, &calendar(), &answers, today())
            .proposal
            .unwrap();
        assert_eq!(
            proposal.kind,
            DecisionKind::Accept,
            "{:?}",
            proposal
                .to_supply
                .iter()
                .map(|line| (&line.item_id, &line.material_id, &line.problem_zh))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn unknown_subjects_and_versions_are_named() {
        let catalog = catalog();
        assert_eq!(
            plan(&catalog, &Subject::Item("nope".into()), None).unwrap_err(),
            PlanError::UnknownItem("nope".into())
        );
        assert_eq!(
            plan(&catalog, &Subject::Bundle("nope".into()), None).unwrap_err(),
            PlanError::UnknownBundle("nope".into())
        );
        let pinned = BTreeMap::from([("market.company-establishment".to_owned(), 99)]);
        assert!(matches!(
            plan(
                &catalog,
                &Subject::Item("market.company-establishment".into()),
                Some(&pinned)
            ),
            Err(PlanError::UnknownVersion { version: 99, .. })
        ));
    }
}
