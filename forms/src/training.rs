//! Practice scenarios for trainee clerks and the automatic scoring of an
//! attempt.
//!
//! A scenario (`forms/training/*.toml`, format in that folder's file) is
//! a made-up applicant, what they ask for in plain words, what they bring,
//! and what a good clerk does: the item or bundle, the decision, and for a
//! one-time notice the materials it must name. [`load_scenarios`] checks
//! each against the catalogue (item exists, materials exist, ID numbers
//! valid); [`score`] compares an attempt with the scenario.
//!
//! Everything here is training data: this module must never produce or
//! accept a real person's data (names end in 练习, numbers are made up).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::{ApplicantType, Catalog, Category};
use crate::decision::DecisionKind;
use crate::identifiers::check_resident_id;

/// What the trainee should take in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum ScenarioSubject {
    Item(String),
    Bundle(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RawSubject {
    kind: String,
    id: String,
}

/// The made-up applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioApplicant {
    pub kind: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
}

/// A material brought with a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeficientMaterial {
    pub material: String,
    pub problem_zh: String,
}

/// What the applicant does not bring, or brings with a problem; every
/// other material of the checklist is brought as asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioMaterials {
    #[serde(default)]
    pub missing: Vec<String>,
    #[serde(default)]
    pub deficient: Vec<DeficientMaterial>,
}

/// One practice scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub id: String,
    pub category: Category,
    pub title_zh: String,
    pub title_en: String,
    pub budget_seconds: u32,
    pub matter_zh: String,
    pub matter_en: String,
    pub subject: ScenarioSubject,
    pub decision: DecisionKind,
    pub notice_names: Vec<String>,
    pub applicant: ScenarioApplicant,
    pub materials: ScenarioMaterials,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: String,
    category: Category,
    title_zh: String,
    title_en: String,
    budget_seconds: u32,
    matter_zh: String,
    matter_en: String,
    subject: RawSubject,
    decision: DecisionKind,
    #[serde(default)]
    notice_names: Vec<String>,
    applicant: ScenarioApplicant,
    #[serde(default)]
    materials: ScenarioMaterials,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    scenario: Vec<RawScenario>,
}

/// What is wrong with the scenarios (each with its file and scenario).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ScenarioErrors {
    pub problems: Vec<String>,
}

/// Loads every `*.toml` of `dir` (in name order) and checks each scenario
/// against `catalog`.
pub fn load_scenarios(
    dir: &Path,
    catalog: &Catalog,
    today: NaiveDate,
) -> Result<Vec<Scenario>, ScenarioErrors> {
    let mut problems = Vec::new();
    let mut scenarios = Vec::new();
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "toml")
            })
            .collect(),
        Err(error) => {
            return Err(ScenarioErrors {
                problems: vec![format!("{}: {error}", dir.display())],
            })
        }
    };
    files.sort();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                problems.push(format!("{}: {error}", path.display()));
                continue;
            }
        };
        match toml::from_str::<ScenarioFile>(&text) {
            Ok(file) => {
                for raw in file.scenario {
                    match check(raw, catalog, today) {
                        Ok(scenario) => scenarios.push(scenario),
                        Err(found) => problems.extend(
                            found
                                .into_iter()
                                .map(|problem| format!("{}: {problem}", path.display())),
                        ),
                    }
                }
            }
            Err(error) => problems.push(format!("{}: {error}", path.display())),
        }
    }
    let mut seen = BTreeSet::new();
    for scenario in &scenarios {
        if !seen.insert(scenario.id.clone()) {
            problems.push(format!("scenario `{}` is defined twice", scenario.id));
        }
    }
    if problems.is_empty() {
        Ok(scenarios)
    } else {
        Err(ScenarioErrors { problems })
    }
}

fn check(raw: RawScenario, catalog: &Catalog, today: NaiveDate) -> Result<Scenario, Vec<String>> {
    let id = raw.id.clone();
    let mut problems = Vec::new();
    let subject = match raw.subject.kind.as_str() {
        "item" => ScenarioSubject::Item(raw.subject.id.clone()),
        "bundle" => ScenarioSubject::Bundle(raw.subject.id.clone()),
        other => {
            problems.push(format!(
                "scenario `{id}`: subject kind `{other}` is not item or bundle"
            ));
            ScenarioSubject::Item(raw.subject.id.clone())
        }
    };
    let materials: BTreeSet<String> = match &subject {
        ScenarioSubject::Item(item) => match catalog.item(item) {
            Some(found) => found
                .materials
                .iter()
                .map(|material| material.id.clone())
                .collect(),
            None => {
                problems.push(format!("scenario `{id}`: unknown item `{item}`"));
                BTreeSet::new()
            }
        },
        ScenarioSubject::Bundle(bundle) => match catalog.bundle(bundle) {
            Some(found) => found
                .items
                .iter()
                .filter_map(|item| catalog.item(item))
                .flat_map(|item| item.materials.iter().map(|material| material.id.clone()))
                .collect(),
            None => {
                problems.push(format!("scenario `{id}`: unknown bundle `{bundle}`"));
                BTreeSet::new()
            }
        },
    };
    let named = raw
        .materials
        .missing
        .iter()
        .chain(raw.materials.deficient.iter().map(|line| &line.material))
        .chain(&raw.notice_names);
    for material in named {
        if !materials.is_empty() && !materials.contains(material) {
            problems.push(format!(
                "scenario `{id}`: the item has no material `{material}`"
            ));
        }
    }
    if raw.decision == DecisionKind::OneTimeNotice && raw.notice_names.is_empty() {
        problems.push(format!(
            "scenario `{id}`: a one-time notice names the materials it must list (notice_names)"
        ));
    }
    if raw.applicant.kind == "natural_person" {
        if let Err(error) = check_resident_id(&raw.applicant.id_number, today) {
            problems.push(format!(
                "scenario `{id}`: the applicant's ID number: {error}"
            ));
        }
    }
    if !raw.applicant.name.ends_with("练习") {
        problems.push(format!(
            "scenario `{id}`: practice names end in 练习 so no one takes them for a real person"
        ));
    }
    if raw.budget_seconds == 0 {
        problems.push(format!("scenario `{id}`: the time budget is zero"));
    }
    if problems.is_empty() {
        Ok(Scenario {
            id: raw.id,
            category: raw.category,
            title_zh: raw.title_zh,
            title_en: raw.title_en,
            budget_seconds: raw.budget_seconds,
            matter_zh: raw.matter_zh,
            matter_en: raw.matter_en,
            subject,
            decision: raw.decision,
            notice_names: raw.notice_names,
            applicant: raw.applicant,
            materials: raw.materials,
        })
    } else {
        Err(problems)
    }
}

/// A scenario as a trainer writes it in the editor: the file format's
/// fields. [`check_new`] turns it into a [`Scenario`] (or says what is
/// wrong) and [`to_toml`] writes it in the format of `forms/training`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioDraft {
    pub id: String,
    pub category: Category,
    pub title_zh: String,
    pub title_en: String,
    pub budget_seconds: u32,
    pub matter_zh: String,
    pub matter_en: String,
    /// `item` or `bundle`.
    pub subject_kind: String,
    pub subject_id: String,
    pub decision: DecisionKind,
    pub notice_names: Vec<String>,
    pub applicant: ScenarioApplicant,
    pub materials: ScenarioMaterials,
}

/// Checks a trainer's scenario like a shipped one.
pub fn check_new(
    draft: &ScenarioDraft,
    catalog: &Catalog,
    today: NaiveDate,
) -> Result<Scenario, ScenarioErrors> {
    let id_ok = !draft.id.is_empty()
        && draft
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let raw = RawScenario {
        id: draft.id.clone(),
        category: draft.category,
        title_zh: draft.title_zh.clone(),
        title_en: draft.title_en.clone(),
        budget_seconds: draft.budget_seconds,
        matter_zh: draft.matter_zh.clone(),
        matter_en: draft.matter_en.clone(),
        subject: RawSubject {
            kind: draft.subject_kind.clone(),
            id: draft.subject_id.clone(),
        },
        decision: draft.decision,
        notice_names: draft.notice_names.clone(),
        applicant: draft.applicant.clone(),
        materials: draft.materials.clone(),
    };
    let mut problems = Vec::new();
    if !id_ok {
        problems.push(format!(
            "scenario id `{}`: use lower-case letters, digits and hyphens",
            draft.id
        ));
    }
    for (field, text) in [
        ("title_zh", &draft.title_zh),
        ("matter_zh", &draft.matter_zh),
    ] {
        if text.trim().is_empty() {
            problems.push(format!("scenario `{}`: {field} is empty", draft.id));
        }
    }
    match check(raw, catalog, today) {
        Ok(scenario) if problems.is_empty() => Ok(scenario),
        Ok(_) => Err(ScenarioErrors { problems }),
        Err(found) => {
            problems.extend(found);
            Err(ScenarioErrors { problems })
        }
    }
}

#[derive(Serialize)]
struct OutSubject<'a> {
    kind: &'a str,
    id: &'a str,
}

#[derive(Serialize)]
struct OutScenario<'a> {
    id: &'a str,
    category: Category,
    title_zh: &'a str,
    title_en: &'a str,
    budget_seconds: u32,
    matter_zh: &'a str,
    matter_en: &'a str,
    subject: OutSubject<'a>,
    decision: DecisionKind,
    notice_names: &'a [String],
    applicant: &'a ScenarioApplicant,
    materials: &'a ScenarioMaterials,
}

#[derive(Serialize)]
struct OutFile<'a> {
    scenario: Vec<OutScenario<'a>>,
}

/// Writes scenarios in the format [`load_scenarios`] reads.
pub fn to_toml(scenarios: &[Scenario]) -> String {
    let file = OutFile {
        scenario: scenarios
            .iter()
            .map(|scenario| {
                let (kind, id) = match &scenario.subject {
                    ScenarioSubject::Item(id) => ("item", id.as_str()),
                    ScenarioSubject::Bundle(id) => ("bundle", id.as_str()),
                };
                OutScenario {
                    id: &scenario.id,
                    category: scenario.category,
                    title_zh: &scenario.title_zh,
                    title_en: &scenario.title_en,
                    budget_seconds: scenario.budget_seconds,
                    matter_zh: &scenario.matter_zh,
                    matter_en: &scenario.matter_en,
                    subject: OutSubject { kind, id },
                    decision: scenario.decision,
                    notice_names: &scenario.notice_names,
                    applicant: &scenario.applicant,
                    materials: &scenario.materials,
                }
            })
            .collect(),
    };
    format!(
        "# Practice scenarios written with the trainer's editor (same format as\n# forms/training/scenarios.toml).\n\n{}",
        toml::to_string(&file).unwrap_or_default()
    )
}

impl Scenario {
    /// The applicant's type.
    pub fn applicant_type(&self) -> ApplicantType {
        if self.applicant.kind == "legal_person" {
            ApplicantType::LegalPerson
        } else {
            ApplicantType::NaturalPerson
        }
    }
}

/// What the trainee did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// What was taken in (`None`: nothing was committed).
    pub subject: Option<ScenarioSubject>,
    pub decision: Option<DecisionKind>,
    /// The materials the committed notice names (material ids).
    pub notice_names: Vec<String>,
    /// The applicant's ID number and name as committed.
    pub applicant_id_number: String,
    pub applicant_name: String,
    pub seconds: u32,
    pub keystrokes: u32,
}

/// One scored part, with the feedback the trainee reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorePart {
    pub name: String,
    pub points: u32,
    pub of: u32,
    pub feedback_zh: String,
    pub feedback_en: String,
}

/// An attempt's score (0–100) and its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub total: u32,
    pub parts: Vec<ScorePart>,
}

fn decision_zh(kind: DecisionKind) -> &'static str {
    match kind {
        DecisionKind::Accept => "予以受理",
        DecisionKind::AcceptWithGaps => "容缺受理",
        DecisionKind::OneTimeNotice => "一次性告知",
        DecisionKind::NotAccepted => "不予受理",
    }
}

/// Scores an attempt: the right item (30), the right decision (30), every
/// material the notice must name (20), no wrong applicant data accepted
/// (10), within the time budget (10; half past it, none past twice it).
pub fn score(scenario: &Scenario, attempt: &Attempt) -> Score {
    let mut parts = Vec::new();
    let right_subject = attempt.subject.as_ref() == Some(&scenario.subject);
    parts.push(ScorePart {
        name: "subject".into(),
        points: if right_subject { 30 } else { 0 },
        of: 30,
        feedback_zh: match (&attempt.subject, right_subject) {
            (None, _) => "没有提交受理决定。".into(),
            (_, true) => "事项选择正确。".into(),
            (_, false) => format!("事项选错了：申请人要办的是“{}”。", scenario.title_zh),
        },
        feedback_en: match (&attempt.subject, right_subject) {
            (None, _) => "Nothing was committed.".into(),
            (_, true) => "The right item.".into(),
            (_, false) => format!(
                "The wrong item: the applicant wanted “{}”.",
                scenario.title_en
            ),
        },
    });
    let right_decision = attempt.decision == Some(scenario.decision);
    parts.push(ScorePart {
        name: "decision".into(),
        points: if right_decision { 30 } else { 0 },
        of: 30,
        feedback_zh: if right_decision {
            format!("决定正确：{}。", decision_zh(scenario.decision))
        } else {
            format!(
                "应作出“{}”，实际为“{}”。",
                decision_zh(scenario.decision),
                attempt.decision.map_or("无", decision_zh)
            )
        },
        feedback_en: if right_decision {
            "The right decision.".into()
        } else {
            format!(
                "The decision should be {:?}, not {:?}.",
                scenario.decision, attempt.decision
            )
        },
    });
    let missing: Vec<&String> = scenario
        .notice_names
        .iter()
        .filter(|material| !attempt.notice_names.contains(material))
        .collect();
    let named = scenario.notice_names.len() - missing.len();
    let notice_points = if scenario.notice_names.is_empty() {
        20
    } else {
        u32::try_from(20 * named / scenario.notice_names.len()).unwrap_or(0)
    };
    parts.push(ScorePart {
        name: "notice".into(),
        points: notice_points,
        of: 20,
        feedback_zh: if missing.is_empty() {
            "需告知的材料均已列明。".into()
        } else {
            format!(
                "告知书漏列材料：{}。",
                missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            )
        },
        feedback_en: if missing.is_empty() {
            "Every material the notice must name is named.".into()
        } else {
            format!(
                "The notice leaves out: {}.",
                missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    });
    let data_right = attempt.subject.is_none()
        || (attempt
            .applicant_id_number
            .trim()
            .eq_ignore_ascii_case(&scenario.applicant.id_number)
            && attempt.applicant_name.trim() == scenario.applicant.name);
    parts.push(ScorePart {
        name: "fields".into(),
        points: if data_right && attempt.subject.is_some() {
            10
        } else {
            0
        },
        of: 10,
        feedback_zh: if attempt.subject.is_none() {
            "没有录入申请人。".into()
        } else if data_right {
            "申请人信息与证件一致。".into()
        } else {
            "申请人的姓名或证件号码与证件不一致，却被受理了。".into()
        },
        feedback_en: if attempt.subject.is_none() {
            "No applicant was entered.".into()
        } else if data_right {
            "The applicant's data matches the ID card.".into()
        } else {
            "The applicant's name or ID number differs from the card and was accepted anyway."
                .into()
        },
    });
    let budget = scenario.budget_seconds.max(1);
    let time_points = if attempt.subject.is_none() {
        0
    } else if attempt.seconds <= budget {
        10
    } else if attempt.seconds <= budget * 2 {
        5
    } else {
        0
    };
    parts.push(ScorePart {
        name: "time".into(),
        points: time_points,
        of: 10,
        feedback_zh: format!(
            "用时 {} 秒（限时 {} 秒），按键 {} 次。",
            attempt.seconds, budget, attempt.keystrokes
        ),
        feedback_en: format!(
            "{} s taken ({} s budget), {} key presses.",
            attempt.seconds, budget, attempt.keystrokes
        ),
    });
    Score {
        total: parts.iter().map(|part| part.points).sum(),
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario {
            id: "s".into(),
            category: Category::Economic,
            title_zh: "食品经营许可".into(),
            title_en: "Food licence".into(),
            budget_seconds: 100,
            matter_zh: String::new(),
            matter_en: String::new(),
            subject: ScenarioSubject::Item("market.food-business-licence".into()),
            decision: DecisionKind::OneTimeNotice,
            notice_names: vec!["a".into(), "b".into()],
            applicant: ScenarioApplicant {
                kind: "natural_person".into(),
                name: "郑强练习".into(),
                id_number: "420106197809214526".into(),
                phone: String::new(),
                address: String::new(),
            },
            materials: ScenarioMaterials::default(),
        }
    }

    fn attempt() -> Attempt {
        Attempt {
            subject: Some(ScenarioSubject::Item("market.food-business-licence".into())),
            decision: Some(DecisionKind::OneTimeNotice),
            notice_names: vec!["a".into(), "b".into()],
            applicant_id_number: "420106197809214526".into(),
            applicant_name: "郑强练习".into(),
            seconds: 90,
            keystrokes: 80,
        }
    }

    #[test]
    fn a_perfect_attempt_scores_full_marks() {
        assert_eq!(score(&scenario(), &attempt()).total, 100);
    }

    #[test]
    fn each_mistake_costs_its_part_and_says_why() {
        let mut missed = attempt();
        missed.notice_names = vec!["a".into()];
        missed.seconds = 150;
        let scored = score(&scenario(), &missed);
        assert_eq!(scored.total, 100 - 10 - 5);
        assert!(scored.parts[2].feedback_zh.contains('b'));

        let mut wrong = attempt();
        wrong.decision = Some(DecisionKind::Accept);
        wrong.applicant_name = "郑强".into();
        let scored = score(&scenario(), &wrong);
        assert_eq!(scored.total, 100 - 30 - 10);
        assert!(scored.parts[1].feedback_zh.contains("一次性告知"));

        let nothing = Attempt {
            subject: None,
            decision: None,
            notice_names: vec![],
            applicant_id_number: String::new(),
            applicant_name: String::new(),
            seconds: 10,
            keystrokes: 0,
        };
        assert_eq!(score(&scenario(), &nothing).total, 0);
    }
}
