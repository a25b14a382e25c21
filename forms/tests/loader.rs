//! The catalogue loader against the shipped sample and against broken
//! copies of it: every error is found at once and placed.

use std::path::{Path, PathBuf};

use forms::catalog::{Category, FieldType};
use forms::{load_catalog, FormsError, SourceError};

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")
}

/// A copy of the sample catalogue in a temporary folder.
fn copy_of_sample() -> tempfile::TempDir {
    let target = tempfile::tempdir().unwrap();
    copy_dir(&sample_dir(), target.path());
    target
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn errors(dir: &Path) -> Vec<SourceError> {
    match load_catalog(dir) {
        Err(FormsError::Load(errors)) => errors,
        Ok(_) => panic!("the broken catalogue loaded"),
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn has(errors: &[SourceError], file: &str, line: usize, text: &str) -> bool {
    errors.iter().any(|error| {
        error.file.ends_with(file) && error.line == Some(line) && error.message.contains(text)
    })
}

#[test]
fn the_sample_catalogue_loads_and_is_marked_as_sample() {
    let catalog = load_catalog(&sample_dir()).unwrap_or_else(|error| panic!("{error}"));
    assert!(catalog.sample);
    let summary = catalog.summary();
    assert!(summary.items >= 40, "{summary:?}");
    assert!(summary.bundles >= 5, "{summary:?}");
    for category in [Category::Economic, Category::Social, Category::Construction] {
        assert!(
            catalog
                .items
                .iter()
                .filter(|item| item.category == category)
                .count()
                >= 8,
            "too few {category:?} items"
        );
    }
    for bundle in [
        "bundle.start-company",
        "bundle.open-restaurant",
        "bundle.open-pharmacy",
        "bundle.open-convenience-store",
        "bundle.sell-resale-flat",
    ] {
        assert!(catalog.bundle(bundle).is_some(), "{bundle} missing");
    }
    let company = catalog.item("market.company-establishment").unwrap();
    assert_eq!(company.version, 3);
    let shareholders = company.field("shareholders").unwrap();
    assert_eq!(shareholders.field_type, FieldType::Group);
    assert_eq!(shareholders.max_rows, Some(50));
    // A field from the library, overridden by the item.
    assert_eq!(company.field("entity_name").unwrap().label_zh, "公司名称");
    assert!(company
        .material("power_of_attorney")
        .unwrap()
        .applies_when
        .is_some());
    // The kept older version.
    let older = catalog.item_at("market.company-establishment", 2).unwrap();
    assert!(older.field("shareholders").is_none());
    assert!(catalog.item_at("market.company-establishment", 1).is_none());
}

#[test]
fn a_bundle_makes_one_sub_case_per_back_office_system() {
    let catalog = load_catalog(&sample_dir()).unwrap();
    let bundle = catalog.bundle("bundle.open-pharmacy").unwrap();
    let sub_cases = catalog.bundle_sub_cases(bundle);
    // All three pharmacy items go to market regulation's licensing system
    // except none: drug, device and food licensing share one system.
    assert_eq!(sub_cases.len(), 1, "{sub_cases:?}");
    let start = catalog.bundle("bundle.start-company").unwrap();
    let sub_cases = catalog.bundle_sub_cases(start);
    assert_eq!(sub_cases.len(), 7, "{sub_cases:?}");
    assert_eq!(
        sub_cases["market-registration"],
        ["market.company-establishment"]
    );
}

#[test]
fn every_unknown_key_is_reported_with_its_place() {
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "items/market.toml",
        "visits = 0\n",
        "visits = 0\nvisist = 1\n",
    );
    edit(
        dir.path(),
        "items/market.toml",
        "max_rows = 50\n",
        "max_rows = 50\nmaxrows = 5\n",
    );
    let errors = errors(dir.path());
    let unknown: Vec<_> = errors
        .iter()
        .filter(|e| e.message.contains("unknown key"))
        .collect();
    assert_eq!(unknown.len(), 2, "{errors:#?}");
    assert!(
        unknown
            .iter()
            .any(|e| e.message.contains("visist") && e.line == Some(21)),
        "{unknown:#?}"
    );
    assert!(
        unknown.iter().any(|e| e.message.contains("maxrows")),
        "{unknown:#?}"
    );
}

#[test]
fn references_duplicates_rules_and_limits_are_all_reported_together() {
    let dir = copy_of_sample();
    // Unknown department and back-office system.
    edit(
        dir.path(),
        "items/utilities.toml",
        "department = \"utilities\"",
        "department = \"utility\"",
    );
    edit(
        dir.path(),
        "items/utilities.toml",
        "back_office = \"utility-service\"",
        "back_office = \"utility-services\"",
    );
    // A duplicate handling code.
    edit(
        dir.path(),
        "items/construction.toml",
        "handling_code = \"00011300200001\"",
        "handling_code = \"00011300100001\"",
    );
    // A typo in a rule, and a rule of the wrong type.
    edit(
        dir.path(),
        "items/market.toml",
        "rule = \"row.subscribed_amount <= registered_capital\"",
        "rule = \"row.subscribed_amount <= registered_capitol\"",
    );
    edit(
        dir.path(),
        "items/trade-permits.toml",
        "calculate = \"sign_width_m * sign_height_m\"",
        "calculate = \"sign_width_m > sign_height_m\"",
    );
    // A promised limit longer than the statutory one.
    edit(
        dir.path(),
        "items/social-affairs.toml",
        "promised_limit = { days = 15, unit = \"working_days\" }\nconditions_zh = [\"在本市",
        "promised_limit = { days = 16, unit = \"working_days\" }\nconditions_zh = [\"在本市",
    );
    // A missing code table and a missing library field.
    edit(
        dir.path(),
        "items/social-affairs.toml",
        "code_table = \"disability_categories\"",
        "code_table = \"disability_kinds\"",
    );
    edit(
        dir.path(),
        "items/construction.toml",
        "use = \"credit_code\"",
        "use = \"credit_number\"",
    );

    let errors = errors(dir.path());
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "unknown department `utility`",
        "unknown back-office system `utility-services`",
        "duplicate code `00011300100001`",
        "unknown name `registered_capitol`",
        "field `sign_area_sqm`: calculate",
        "promised limit (16 days) is longer than the statutory limit (15 days)",
        "unknown code table `disability_kinds`",
        "unknown library field `credit_number`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        errors.iter().all(|e| e.line.is_some()),
        "every error is placed:\n{text}"
    );
    assert!(
        has(&errors, "items/market.toml", 117, "registered_capitol"),
        "{text}"
    );
}

#[test]
fn bundle_conflicts_are_load_errors() {
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "bundles/bundles.toml",
        "\"real-estate.resale-transfer:price\",\n  \"tax.resale-taxes:price\",",
        "\"real-estate.resale-transfer:price\",\n  \"tax.resale-taxes:buyer_only_home\",",
    );
    edit(
        dir.path(),
        "bundles/bundles.toml",
        "\"market.medical-device-filing\",\n",
        "\"market.no-such-item\",\n",
    );
    let errors = errors(dir.path());
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("joins fields of different types"), "{text}");
    assert!(
        text.contains("unknown item `market.no-such-item`"),
        "{text}"
    );
}

#[test]
fn a_syntax_error_is_placed_and_the_other_files_still_checked() {
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "items/utilities.toml",
        "version = 1\n",
        "version = = 1\n",
    );
    edit(
        dir.path(),
        "items/market.toml",
        "department = \"market\"",
        "department = \"markets\"",
    );
    let errors = errors(dir.path());
    assert!(
        errors
            .iter()
            .any(|e| e.file.ends_with("items/utilities.toml") && e.line == Some(9)),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("unknown department `markets`")),
        "{errors:#?}"
    );
}

#[test]
fn history_must_hold_older_versions_of_current_items() {
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "history/market.toml",
        "version = 2",
        "version = 3",
    );
    let errors = errors(dir.path());
    assert!(
        errors.iter().any(|e| e
            .message
            .contains("must be older than the current version 3")),
        "{errors:#?}"
    );
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let error = load_catalog(Path::new("/no/such/catalogue")).unwrap_err();
    assert!(error.to_string().contains("catalog.toml"), "{error}");
}

#[test]
fn the_generated_catalogue_loads_and_is_deterministic() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    forms::generator::write_catalog(&sample_dir(), first.path(), 1100, 42).unwrap();
    forms::generator::write_catalog(&sample_dir(), second.path(), 1100, 42).unwrap();
    let catalog = load_catalog(first.path()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(catalog.items.len(), 1100);
    for file in ["items/market.toml", "items/tax.toml"] {
        assert_eq!(
            std::fs::read(first.path().join(file)).unwrap(),
            std::fs::read(second.path().join(file)).unwrap(),
            "{file} differs between two runs"
        );
    }
}

#[test]
fn the_large_form_loads_and_its_values_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let values = forms::generator::write_large_form(&sample_dir(), dir.path(), 300, 100).unwrap();
    let catalog = load_catalog(dir.path()).unwrap_or_else(|error| panic!("{error}"));
    let item = catalog.item("generated.large-form").unwrap();
    assert_eq!(item.fields.len(), 300);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let report = forms::form::validate(&catalog, &item.fields, &values, &Default::default(), today);
    assert!(
        report.is_valid(),
        "{:#?}",
        &report.errors[..report.errors.len().min(5)]
    );
}

#[test]
fn limits_of_different_units_are_compared_as_dates() {
    // 6 working days (Monday → Tuesday week, 8 days) against 7 calendar days
    // (Monday → Monday): fewer days, a later date.
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "items/construction.toml",
        "statutory_limit = { days = 7, unit = \"calendar_days\" }\npromised_limit = { days = 5, unit = \"working_days\" }",
        "statutory_limit = { days = 7, unit = \"calendar_days\" }\npromised_limit = { days = 6, unit = \"working_days\" }",
    );
    // 29 calendar days against 20 working days (four weeks, 28 days): a
    // calendar-day promise was never checked against working days.
    edit(
        dir.path(),
        "items/market.toml",
        "promised_limit = { days = 10, unit = \"working_days\" }",
        "promised_limit = { days = 29, unit = \"calendar_days\" }",
    );
    let errors = errors(dir.path());
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        has(
            &errors,
            "items/construction.toml",
            275,
            "the promised limit (6 working days) ends after the statutory limit (7 calendar days) in an ordinary week: accepted on a Mon, the promise ends 8 days later, the law 7 days later"
        ),
        "{text}"
    );
    assert!(
        text.contains("the promised limit (29 calendar days) ends after the statutory limit (20 working days) in an ordinary week: accepted on a Mon, the promise ends 29 days later, the law 28 days later"),
        "{text}"
    );
}

#[test]
fn the_sample_mixed_unit_limits_hold_in_ordinary_weeks() {
    // 5 working days never end after 7 calendar days outside holidays;
    // 14 working days not after 20 calendar days (the sample's tobacco
    // licence promised 15, which ends on day 21 when accepted on a Tuesday).
    let catalog = load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    let tobacco = catalog.item("tobacco.retail-licence").unwrap();
    assert_eq!(tobacco.promised_limit.days, 14);
    let dir = copy_of_sample();
    edit(
        dir.path(),
        "items/trade-permits.toml",
        "promised_limit = { days = 14, unit = \"working_days\" }",
        "promised_limit = { days = 15, unit = \"working_days\" }",
    );
    let errors = errors(dir.path());
    assert!(
        has(
            &errors,
            "items/trade-permits.toml",
            18,
            "accepted on a Tue, the promise ends 21 days later, the law 20 days later"
        ),
        "{errors:?}"
    );
}
