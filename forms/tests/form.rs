//! The form engine on the sample catalogue's real forms.

use std::path::Path;

use chrono::NaiveDate;
use forms::form::{prefill, validate, ApplicantProfile};
use forms::Catalog;
use serde_json::{json, Map, Value};

fn catalog() -> Catalog {
    forms::load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn company_values() -> Value {
    json!({
        "entity_name": "武汉示例科技有限公司",
        "company_type": "1130",
        "registered_capital": "1000000.00",
        "industry": "I",
        "business_scope": "软件开发；信息技术咨询服务",
        "premises_address": { "region_code": "420102", "detail": "沿江大道100号" },
        "operating_term_years": 0,
        "legal_representative_name": "张三",
        "legal_representative_id": "34052419800101001X",
        "applicant_phone": "13912345678",
        "shareholders": [
            { "name": "张三", "id_number": "34052419800101001X", "subscribed_amount": 600000, "contribution_form": "1", "contribution_date": "2030-12-31" },
            { "name": "李四", "id_number": "11010519491231002X", "subscribed_amount": "400000.00", "contribution_form": "1", "contribution_date": "2030-12-31" }
        ],
        "delegated": false
    })
}

#[test]
fn a_complete_company_form_is_valid_and_agent_fields_are_skipped() {
    let catalog = catalog();
    let item = catalog.item("market.company-establishment").unwrap();
    let report = validate(
        &catalog,
        &item.fields,
        &object(company_values()),
        &ApplicantProfile::default(),
        today(),
    );
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert!(report.not_relevant.contains(&"agent_name".to_owned()));
    assert!(report.not_relevant.contains(&"agent_id_number".to_owned()));
}

#[test]
fn every_error_is_listed_with_its_path() {
    let catalog = catalog();
    let item = catalog.item("market.company-establishment").unwrap();
    let mut values = company_values();
    values["legal_representative_id"] = json!("340524198001010010");
    values["registered_capital"] = json!("100.505");
    values["company_type"] = json!("9999");
    values["applicant_phone"] = json!("12345");
    values["shareholders"][1]["subscribed_amount"] = json!(2000000);
    values["shareholders"][1]["contribution_date"] = json!("2020-02-30");
    values["shareholders"][0]["surname"] = json!("x");
    values["delegated"] = json!(true);
    values.as_object_mut().unwrap().remove("business_scope");
    values["nickname"] = json!("?");
    let report = validate(
        &catalog,
        &item.fields,
        &object(values),
        &ApplicantProfile::default(),
        today(),
    );
    let found: Vec<(String, &str)> = report
        .errors
        .iter()
        .map(|e| (e.path.clone(), e.code))
        .collect();
    for expected in [
        ("legal_representative_id", "identifier_check_character"),
        ("registered_capital", "money_precision"),
        ("company_type", "not_in_code_table"),
        ("applicant_phone", "bad_phone"),
        ("shareholders[1].contribution_date", "bad_date"),
        ("shareholders[0].surname", "unknown_field"),
        ("business_scope", "required"),
        ("agent_name", "required"),
        ("agent_id_number", "required"),
        ("nickname", "unknown_field"),
    ] {
        assert!(
            found
                .iter()
                .any(|(path, code)| path == expected.0 && *code == expected.1),
            "missing {expected:?} in {found:#?}"
        );
    }
    let id_error = report
        .errors
        .iter()
        .find(|e| e.path == "legal_representative_id")
        .unwrap();
    assert!(
        id_error.message_zh.contains("校验码"),
        "{}",
        id_error.message_zh
    );
    assert!(
        id_error.message_en.contains("check character"),
        "{}",
        id_error.message_en
    );
}

#[test]
fn row_rules_see_their_row_and_the_whole_form() {
    let catalog = catalog();
    let item = catalog.item("market.company-establishment").unwrap();
    let mut values = company_values();
    values["shareholders"][1]["subscribed_amount"] = json!(2000000);
    values["shareholders"][0]["contribution_date"] = json!("2025-01-01");
    let report = validate(
        &catalog,
        &item.fields,
        &object(values),
        &ApplicantProfile::default(),
        today(),
    );
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "shareholders[0].contribution_date",
            "shareholders[1].subscribed_amount"
        ],
        "{:#?}",
        report.errors
    );
}

#[test]
fn repeat_group_row_limits() {
    let catalog = catalog();
    let item = catalog.item("market.company-establishment").unwrap();
    let mut values = company_values();
    let row = values["shareholders"][0].clone();
    values["shareholders"] = Value::Array(vec![row; 51]);
    let report = validate(
        &catalog,
        &item.fields,
        &object(values.clone()),
        &ApplicantProfile::default(),
        today(),
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.path == "shareholders" && e.code == "too_many_rows"),
        "{:#?}",
        report.errors
    );
    assert!(report
        .errors
        .iter()
        .any(|e| e.path == "shareholders" && e.code == "constraint"));
    values["shareholders"] = json!([]);
    let report = validate(
        &catalog,
        &item.fields,
        &object(values),
        &ApplicantProfile::default(),
        today(),
    );
    assert!(report
        .errors
        .iter()
        .any(|e| e.path == "shareholders" && e.code == "too_few_rows"));
}

#[test]
fn calculated_values_are_filled_and_used() {
    let catalog = catalog();
    let item = catalog.item("tax.resale-taxes").unwrap();
    let values = json!({
        "applicant_name": "王五", "applicant_id_number": "440304200002291236",
        "floor_area_sqm": 120.0, "price": "2000000.00", "buyer_only_home": true,
        "seller_years_held": 6, "seller_only_home": true
    });
    let report = validate(
        &catalog,
        &item.fields,
        &object(values),
        &ApplicantProfile::default(),
        today(),
    );
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert_eq!(report.calculated["deed_tax_estimate"], json!(30000.0));
    assert_eq!(report.calculated["income_tax_exempt"], json!(true));

    let sign = catalog.item("urban-management.shop-sign").unwrap();
    let values = json!({
        "entity_name": "示例餐馆", "premises_address": { "region_code": "420106", "detail": "中山路1号" },
        "sign_width_m": 4.5, "sign_height_m": 1.2
    });
    let report = validate(
        &catalog,
        &sign.fields,
        &object(values),
        &ApplicantProfile::default(),
        today(),
    );
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert!((report.calculated["sign_area_sqm"].as_f64().unwrap() - 5.4).abs() < 1e-9);
}

#[test]
fn profile_rules_and_defaults() {
    let catalog = catalog();
    let item = catalog.item("civil-affairs.elderly-allowance").unwrap();
    let young = ApplicantProfile::from_resident_id("赵六", "34052419800101001X", today()).unwrap();
    let defaults = prefill(&item.fields, &young, today());
    assert_eq!(defaults["applicant_name"], json!("赵六"));
    assert_eq!(defaults["applicant_id_number"], json!("34052419800101001X"));
    let mut values = defaults.clone();
    values.insert("bank_account".into(), json!("6222000011112222"));
    values.insert("delegated".into(), json!(false));
    let report = validate(&catalog, &item.fields, &values, &young, today());
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.path == "age" && e.code == "constraint"),
        "{:#?}",
        report.errors
    );
    let old = ApplicantProfile::from_resident_id("钱七", "110105194003150022", today()).unwrap();
    let mut values = prefill(&item.fields, &old, today());
    values.insert("bank_account".into(), json!("6222000011112222"));
    values.insert("delegated".into(), json!(false));
    let report = validate(&catalog, &item.fields, &values, &old, today());
    assert!(report.is_valid(), "{:#?}", report.errors);
}

#[test]
fn wrong_shapes_never_panic() {
    let catalog = catalog();
    for item in &catalog.items {
        for garbage in [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, 2]),
            json!({"a": 1}),
            json!(true),
            json!(1e300),
        ] {
            let values: Map<String, Value> = item
                .fields
                .iter()
                .map(|field| (field.id.clone(), garbage.clone()))
                .collect();
            let _ = validate(
                &catalog,
                &item.fields,
                &values,
                &ApplicantProfile::default(),
                today(),
            );
        }
    }
}
