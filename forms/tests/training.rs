//! The shipped practice scenarios: they load against the sample catalogue,
//! cover the three categories and every decision kind, and each one's
//! expected decision is what the decision rules propose for what its
//! applicant brings — so the scoring never marks a right answer wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use forms::catalog::Category;
use forms::decision::{propose, DecisionInput, DecisionKind, MaterialMark, MaterialStatus};
use forms::form::ApplicantProfile;
use forms::training::{load_scenarios, ScenarioSubject};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_scenarios_cover_every_category_and_decision_and_agree_with_the_rules() {
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let calendar = forms::calendar::WorkingCalendar::load_dir(&root().join("calendar")).unwrap();
    let scenarios = load_scenarios(&root().join("training"), &catalog, today()).unwrap();
    assert!(scenarios.len() >= 12, "{} scenarios", scenarios.len());
    let categories: BTreeSet<String> = scenarios
        .iter()
        .map(|scenario| format!("{:?}", scenario.category))
        .collect();
    for category in [Category::Economic, Category::Social, Category::Construction] {
        assert!(
            categories.contains(&format!("{category:?}")),
            "{category:?}"
        );
    }
    let decisions: BTreeSet<String> = scenarios
        .iter()
        .map(|scenario| format!("{:?}", scenario.decision))
        .collect();
    assert_eq!(decisions.len(), 4, "every decision kind: {decisions:?}");
    assert!(scenarios
        .iter()
        .any(|scenario| !scenario.materials.missing.is_empty()));
    assert!(
        scenarios
            .iter()
            .any(|scenario| !scenario.materials.deficient.is_empty()),
        "some applicant brings a deficient material"
    );

    for scenario in &scenarios {
        let ScenarioSubject::Item(item_id) = &scenario.subject else {
            continue;
        };
        let item = catalog.item(item_id).unwrap();
        let values = forms::samples::sample_item(&catalog, item, today())
            .map(|sample| sample.values)
            .unwrap_or_default();
        let marks = item
            .materials
            .iter()
            .map(|material| MaterialMark {
                item_id: item.id.clone(),
                material_id: material.id.clone(),
                status: if scenario.materials.missing.contains(&material.id) {
                    MaterialStatus::Missing
                } else if let Some(line) = scenario
                    .materials
                    .deficient
                    .iter()
                    .find(|line| line.material == material.id)
                {
                    MaterialStatus::Deficient {
                        reason_zh: line.problem_zh.clone(),
                    }
                } else {
                    MaterialStatus::Received {
                        original: true,
                        copies: material.copies.max(1),
                    }
                },
            })
            .collect();
        let profile = ApplicantProfile {
            name: Some(scenario.applicant.name.clone()),
            id_number: Some(scenario.applicant.id_number.clone()),
            ..ApplicantProfile::default()
        };
        let proposal = propose(
            &catalog,
            &calendar,
            &DecisionInput {
                items: vec![(item.id.clone(), item.version)],
                applicant_type: scenario.applicant_type(),
                bundle: false,
                profile: &profile,
                values: BTreeMap::from([(item.id.clone(), values)]),
                marks,
                field_errors: 0,
                accepted_on: today(),
            },
        )
        .unwrap();
        assert_eq!(
            proposal.kind, scenario.decision,
            "scenario {}: {:?}",
            scenario.id, proposal.reasons_zh
        );
        if scenario.decision == DecisionKind::OneTimeNotice {
            let named: Vec<&str> = proposal
                .to_supply
                .iter()
                .map(|line| line.material_id.as_str())
                .collect();
            for wanted in &scenario.notice_names {
                assert!(
                    named.contains(&wanted.as_str()),
                    "scenario {}: {wanted}",
                    scenario.id
                );
            }
        }
    }
}

#[test]
fn a_bad_scenario_file_is_refused_with_what_and_where() {
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("training/scenarios.toml"))
        .unwrap()
        .replacen("420102198503122310", "420102198503122311", 1)
        .replacen("market.food-business-licence", "market.no-such-item", 1)
        .replacen("周明练习", "周明", 1);
    std::fs::write(dir.path().join("scenarios.toml"), text).unwrap();
    let problems = load_scenarios(dir.path(), &catalog, today())
        .unwrap_err()
        .problems;
    let all = problems.join("\n");
    assert!(
        all.contains("economic-company-complete") && all.contains("check character"),
        "{all}"
    );
    assert!(all.contains("unknown item `market.no-such-item`"), "{all}");
    assert!(all.contains("练习"), "{all}");
    assert!(all.contains("scenarios.toml"), "names the file: {all}");
}

#[test]
fn a_trainers_scenario_is_checked_and_saved_in_the_same_format() {
    use forms::training::{check_new, to_toml, ScenarioDraft};
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let shipped = load_scenarios(&root().join("training"), &catalog, today()).unwrap();
    let first = &shipped[0];
    let draft = ScenarioDraft {
        id: "trainer-company-again".into(),
        category: first.category,
        title_zh: "培训员自编：开办公司".into(),
        title_en: "Trainer's own: a company".into(),
        budget_seconds: 200,
        matter_zh: first.matter_zh.clone(),
        matter_en: first.matter_en.clone(),
        subject_kind: "item".into(),
        subject_id: "market.company-establishment".into(),
        decision: DecisionKind::OneTimeNotice,
        notice_names: vec!["address_proof".into()],
        applicant: first.applicant.clone(),
        materials: forms::training::ScenarioMaterials {
            missing: vec!["address_proof".into()],
            deficient: vec![],
        },
    };
    let checked = check_new(&draft, &catalog, today()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        to_toml(std::slice::from_ref(&checked)),
    )
    .unwrap();
    let again = load_scenarios(dir.path(), &catalog, today()).unwrap();
    assert_eq!(
        again,
        vec![checked],
        "what the editor saves loads back the same"
    );

    let mut bad = draft;
    bad.id = "Bad Id".into();
    bad.notice_names = vec!["no_such_material".into()];
    let problems = check_new(&bad, &catalog, today())
        .unwrap_err()
        .problems
        .join("\n");
    assert!(
        problems.contains("lower-case") && problems.contains("no_such_material"),
        "{problems}"
    );
}
