//! Data standards: the shipped files load against the sample catalogue and
//! turn filled intakes into each system's own payload; broken files and
//! unmappable values give errors that name what is wrong.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use forms::form::ApplicantProfile;
use forms::standards::{load_standards, PayloadFormat, UnifiedIntake};
use forms::FormsError;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn intake(item: &str, values: Value) -> UnifiedIntake {
    UnifiedIntake {
        case: forms::samples::sample_case_facts(1, today()),
        applicant: ApplicantProfile::from_resident_id("欧阳修文", "34052419800101001X", today())
            .unwrap(),
        item_id: item.into(),
        item_version: 3,
        values: values.as_object().unwrap().clone(),
    }
}

#[test]
fn the_three_systems_get_their_own_formats() {
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let standards = load_standards(&root().join("standards"), &catalog)
        .unwrap_or_else(|error| panic!("{error}"));
    // Every back-office system of the catalogue has a standard, and every
    // item handled at the window has rules in its system's standard.
    assert_eq!(
        standards.systems.keys().collect::<Vec<_>>(),
        catalog.systems.keys().collect::<Vec<_>>()
    );
    for item in catalog.items.iter().filter(|item| item.handled_here) {
        assert!(
            standards.systems[&item.back_office]
                .item_rules
                .contains_key(&item.id),
            "{} has no rules in {}",
            item.id,
            item.back_office
        );
    }
    // The exchange platform's standard is shared, with each system's own paths.
    assert_eq!(
        standards.systems["tax-service"].endpoints.submit,
        "/exchange/api/v1/tax-service/cases"
    );

    // Market regulation: camelCase JSON, its own codes, yuan as text.
    let market = &standards.systems["market-registration"];
    let payload = market
        .map(
            &intake(
                "market.company-establishment",
                json!({
                    "entity_name": "武汉示例科技有限公司", "company_type": "1130", "registered_capital": "1000000.00",
                    "industry": "I", "business_scope": "软件开发",
                    "premises_address": { "region_code": "420102", "detail": "沿江大道100号" },
                    "operating_term_years": 0, "legal_representative_name": "张三", "legal_representative_id": "34052419800101001X",
                    "shareholders": [{ "name": "张三", "id_number": "34052419800101001X", "subscribed_amount": 600000, "contribution_form": "1", "contribution_date": "2030-12-31" }]
                }),
            ),
            today(),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(payload.format, PayloadFormat::Json);
    let body: Value = serde_json::from_str(&payload.body).unwrap();
    assert_eq!(body["caseNo"], "SAMPLE202611270001");
    assert_eq!(body["applicant"]["idType"], "SFZ");
    assert_eq!(body["applicant"]["gender"], "M");
    assert_eq!(body["applicant"]["birthDate"], "1980-01-01");
    assert_eq!(body["company"]["registeredCapital"], "1000000.00");
    assert_eq!(body["company"]["address"]["regionCode"], "420102");
    assert_eq!(body["shareholders"][0]["contributionForm"], "CURRENCY");
    assert_eq!(body["shareholders"][0]["subscribedAmount"], "600000.00");

    // Social insurance: snake_case, yyyymmdd, split names, GB/T 2261.1 sex.
    let social = &standards.systems["social-insurance"];
    let payload = social
        .map(
            &intake(
                "human-resources.flexible-employment-enrolment",
                json!({
                    "applicant_name": "欧阳修文", "applicant_id_number": "34052419800101001X", "sex": "1", "ethnicity": "01",
                    "applicant_phone": "13912345678", "household_region": { "region_code": "420102", "detail": "胜利街1号" },
                    "residence_address": { "region_code": "420106", "detail": "中山路2号" }, "bank_name": "示例银行",
                    "bank_account": "6222000011112222", "start_date": "2026-12-01", "contribution_grade": "60"
                }),
            ),
            today(),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
    let body: Value = serde_json::from_str(&payload.body).unwrap();
    assert_eq!(body["person"]["family_name"], "欧阳");
    assert_eq!(body["person"]["given_name"], "修文");
    assert_eq!(body["person"]["sex"], "1");
    assert_eq!(body["person"]["birth_date"], "19800101");
    assert_eq!(body["accept_date"], "20261127");
    assert_eq!(body["contact"]["address"], "420106 中山路2号");

    // Construction: XML, other element names, money in fen.
    let construction = &standards.systems["construction-approval"];
    let payload = construction
        .map(
            &intake(
                "housing-construction.construction-permit",
                json!({
                    "entity_name": "武汉示例建设有限公司", "credit_code": "91350100M000100Y43", "contract_value": "3500000.50",
                    "floor_area_sqm": 1200.5, "contractor_credit_code": "91110108MA01ABCD5T", "works_planning_permit": "建字第420102202600012号"
                }),
            ),
            today(),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(payload.format, PayloadFormat::Xml);
    assert!(payload.body.starts_with("<?xml"), "{}", payload.body);
    assert!(
        payload
            .body
            .contains("<HeTongJiaGeFen>350000050</HeTongJiaGeFen>"),
        "{}",
        payload.body
    );
    assert!(
        payload.body.contains("<ShouLiRiQi>2026-11-27</ShouLiRiQi>"),
        "{}",
        payload.body
    );
}

#[test]
fn unmappable_values_name_source_target_and_reason() {
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let standards = load_standards(&root().join("standards"), &catalog).unwrap();
    let market = &standards.systems["market-registration"];
    let mut bad = intake(
        "market.business-licence-change",
        json!({ "entity_name": "武汉示例", "credit_code": "91350100M000100Y43", "change_items": "" }),
    );
    bad.applicant.id_type = Some("990".into());
    let errors = market.map(&bad, today()).unwrap_err();
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|error| (error.source.as_str(), error.target.as_str()))
        .collect();
    assert!(
        found.contains(&("applicant.id_type", "applicant.idType")),
        "{errors:#?}"
    );
    assert!(
        found.contains(&("field.change_items", "change.description")),
        "{errors:#?}"
    );
    assert!(
        found.contains(&("field.resolution_date", "change.resolutionDate")),
        "{errors:#?}"
    );
    let code = errors
        .iter()
        .find(|error| error.source == "applicant.id_type")
        .unwrap();
    assert!(code.reason_zh.contains("990"), "{}", code.reason_zh);
    let none = market
        .map(&intake("market.food-business-licence", json!({})), today())
        .unwrap_err();
    assert!(none[0].reason_en.contains("no data standard"), "{none:#?}");
}

#[test]
fn broken_standard_files_are_load_errors_with_places() {
    let catalog = forms::load_catalog(&root().join("catalog")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        r#"system = "market-registration"
name_zh = "x"
format = "xml"
colour = "blue"

[endpoints]
submit = "/a"
status = "/b"

[[rule]]
target = "caseNo"
source = "case.case_numbr"

[[rule]]
target = "bad target"
constant = 1

[[rule]]
target = "name"
source = "field.entity_name"

[[item]]
id = "housing-construction.construction-permit"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nameless.toml"),
        "name_zh = \"x\"\nformat = \"json\"\n[endpoints]\nsubmit = \"/a\"\nstatus = \"/b\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("shared.toml"),
        "systems = [\"tax-service\", \"no-such-system\", \"tax-service\"]\nname_zh = \"x\"\nformat = \"json\"\nall_items = true\n[endpoints]\nsubmit = \"/{system}/a\"\nstatus = \"/b\"\n",
    )
    .unwrap();
    let Err(FormsError::Load(errors)) = load_standards(dir.path(), &catalog) else {
        panic!("the broken file loaded")
    };
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "bad.toml:4:1: unknown key `colour`",
        "xml_root",
        "bad.toml:12:10: unknown source `case.case_numbr`",
        "bad.toml:15:10: target `bad target`",
        "system-wide rules cannot read fields",
        "goes to `construction-approval`, not to market-registration",
        "nameless.toml:1:1: name the back office",
        "shared.toml:1:11: unknown back-office system `no-such-system`",
        "shared.toml:1:11: system `tax-service` has a second standard",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
