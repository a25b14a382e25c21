//! Filled sample intakes: for any item or bundle of a catalogue, an
//! applicant and a set of field values that the form engine accepts.
//!
//! Contract tests (every item and bundle maps to a payload its back office
//! accepts), the sync tests and benchmarks, the demo and practice cases start
//! from these. The filler knows nothing of particular items: it tries
//! plausible values per field type, in order, and lets the form engine say
//! which fields are still wrong, so a new item in the catalogue gets a sample
//! without anyone writing one.
//!
//! It must never produce anything but sample data: every name is marked as
//! an example and every identifier is made up (valid check characters, no
//! real person or company).

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Map, Value};

use crate::bundle::{bundle_form, validate_bundle};
use crate::catalog::{ApplicantType, Bundle, Catalog, Field, FieldType, Item};
use crate::form::{prefill, validate, ApplicantProfile, FormReport};
use crate::identifiers::resident_check_character;

/// An applicant and field values the form engine accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleIntake {
    pub applicant: ApplicantProfile,
    pub values: Map<String, Value>,
}

/// Why no sample could be made: the fields still wrong after every try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSample {
    pub subject: String,
    pub errors: Vec<String>,
}

impl std::fmt::Display for NoSample {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "no valid sample for {}: {}",
            self.subject,
            self.errors.join("; ")
        )
    }
}

/// A resident ID number with a correct check character, made from a region,
/// a birth date and a sequence number (odd: male, even: female).
pub fn resident_id(region: &str, birth: NaiveDate, sequence: u32) -> String {
    let first = format!("{region}{}{sequence:03}", birth.format("%Y%m%d"));
    let mut digits = [0u32; 17];
    for (slot, character) in digits.iter_mut().zip(first.chars()) {
        *slot = character.to_digit(10).unwrap_or(0);
    }
    format!("{first}{}", resident_check_character(&digits))
}

/// The facts of sample case `number`, accepted on `accepted_on` at the
/// sample hall's window 01 (id and case number made from the number, no
/// promised date).
pub fn sample_case_facts(number: u64, accepted_on: NaiveDate) -> crate::standards::CaseFacts {
    crate::standards::CaseFacts {
        case_id: format!("6f1c2e8a-0000-4000-8000-{number:012}"),
        case_number: format!("SAMPLE{}{number:04}", accepted_on.format("%Y%m%d")),
        accepted_on: Some(accepted_on),
        window: "01".into(),
        hall_code: "SAMPLE".into(),
        promised_completion: None,
    }
}

/// Credit codes of sample companies (valid check characters, made up).
pub const SAMPLE_CREDIT_CODES: [&str; 3] = [
    "91350100M000100Y43",
    "91110108MA01ABCD5T",
    "91420102MA4K000000",
];

/// The sample applicants the filler tries, in order: a man of working age,
/// a woman of working age, a person over 80, a person under 18, and a
/// company. Ages are counted from `today`, so they stay true every year.
pub fn sample_applicants(today: NaiveDate) -> Vec<ApplicantProfile> {
    let born = |years: i32, sequence: u32, name: &str| {
        let birth =
            NaiveDate::from_ymd_opt(today.year_ce().1 as i32 - years, 3, 15).unwrap_or(today);
        let mut profile = ApplicantProfile::from_resident_id(
            name,
            &resident_id("420102", birth, sequence),
            today,
        )
        .unwrap_or_default();
        profile.phone = Some("13912345678".into());
        profile.ethnicity = Some("01".into());
        profile.region_code = Some("420102".into());
        profile.address = Some("示例路1号".into());
        profile
    };
    let company = ApplicantProfile {
        applicant_type: Some("legal_person".into()),
        name: Some("示例科技有限公司".into()),
        credit_code: Some(SAMPLE_CREDIT_CODES[0].into()),
        legal_representative: Some("张示例".into()),
        entity_type: Some("1130".into()),
        phone: Some("13912345678".into()),
        region_code: Some("420102".into()),
        address: Some("示例路1号".into()),
        ..Default::default()
    };
    vec![
        born(40, 11, "张示例"),
        born(35, 22, "李示例"),
        born(85, 32, "王示例"),
        born(10, 41, "赵示例"),
        company,
    ]
}

/// Fills an item's form for the first sample applicant of a type the item
/// takes for whom a valid form exists.
pub fn sample_item(
    catalog: &Catalog,
    item: &Item,
    today: NaiveDate,
) -> Result<SampleIntake, NoSample> {
    let questions: Vec<(String, &Field)> = item
        .fields
        .iter()
        .map(|field| (field.id.clone(), field))
        .collect();
    fill(
        catalog,
        &format!("item {}", item.id),
        &questions,
        applicants_for(&item.applicant_types, today),
        today,
        |values, profile| validate(catalog, &item.fields, values, profile, today),
        |profile| prefill(&item.fields, profile, today),
    )
}

/// Fills a bundle's single form (shared fields once, the rest per item).
pub fn sample_bundle(
    catalog: &Catalog,
    bundle: &Bundle,
    today: NaiveDate,
) -> Result<SampleIntake, NoSample> {
    let form = bundle_form(catalog, bundle);
    let questions: Vec<(String, &Field)> = form
        .iter()
        .map(|question| (question.key.clone(), question.field))
        .collect();
    let mut types: Vec<ApplicantType> = Vec::new();
    for item in bundle.items.iter().filter_map(|id| catalog.item(id)) {
        for kind in &item.applicant_types {
            if !types.contains(kind) {
                types.push(*kind);
            }
        }
    }
    fill(
        catalog,
        &format!("bundle {}", bundle.id),
        &questions,
        applicants_for(&types, today),
        today,
        |values, profile| validate_bundle(catalog, bundle, values, profile, today),
        |profile| {
            let mut values = Map::new();
            for question in &form {
                if let Some(value) = question
                    .field
                    .default_from
                    .as_deref()
                    .and_then(|key| profile.value(key, today))
                {
                    values.insert(question.key.clone(), value);
                }
            }
            values
        },
    )
}

fn applicants_for(types: &[ApplicantType], today: NaiveDate) -> Vec<ApplicantProfile> {
    sample_applicants(today)
        .into_iter()
        .filter(|profile| {
            let natural = profile.applicant_type.as_deref() == Some("natural_person");
            types.is_empty()
                || types.iter().any(|kind| match kind {
                    ApplicantType::NaturalPerson => natural,
                    ApplicantType::LegalPerson => !natural,
                })
        })
        .collect()
}

/// The values tried for one field, best first.
fn candidates(
    field: &Field,
    profile: &ApplicantProfile,
    catalog_codes: &dyn Fn(&str) -> Vec<String>,
    today: NaiveDate,
) -> Vec<Value> {
    let within = |number: f64| {
        field.min_value.is_none_or(|minimum| number >= minimum)
            && field.max_value.is_none_or(|maximum| number <= maximum)
    };
    let numbers = || {
        let mut numbers = Vec::new();
        if let Some(minimum) = field.min_value {
            numbers.push(minimum.max(0.0).ceil().max(minimum));
        }
        numbers.extend([
            1.0,
            5.0,
            10.0,
            12.0,
            30.0,
            50.0,
            100.0,
            300.0,
            1000.0,
            350_000.0,
            1_000_000.0,
        ]);
        if let Some(maximum) = field.max_value {
            numbers.push(maximum);
        }
        numbers.retain(|number| within(*number));
        numbers.dedup();
        numbers
    };
    let text = |base: &str| {
        let minimum = field.min_length.unwrap_or(0) as usize;
        let maximum = field
            .max_length
            .map_or(usize::MAX, |maximum| maximum as usize);
        let mut text = base.to_owned();
        while text.chars().count() < minimum {
            text.push_str("示例内容");
        }
        text.chars().take(maximum.max(1)).collect::<String>()
    };
    let person_id = profile
        .id_number
        .clone()
        .unwrap_or_else(|| resident_id("420102", today - Duration::days(365 * 40), 11));
    match &field.field_type {
        FieldType::Text => {
            let id = field.id.as_str();
            let base = if id.contains("name") {
                if id.contains("entity") || id.contains("company") || id.contains("unit") {
                    "示例科技有限公司".to_owned()
                } else {
                    profile.name.clone().unwrap_or_else(|| "张示例".into())
                }
            } else {
                format!("示例{}", field.label_zh)
            };
            vec![Value::from(text(&base)), Value::from(text("示例"))]
        }
        FieldType::LongText => vec![Value::from(text(&format!(
            "示例{}：按规定如实填写。",
            field.label_zh
        )))],
        FieldType::Integer => numbers()
            .into_iter()
            .map(|number| Value::from(number as i64))
            .collect(),
        FieldType::Decimal => numbers().into_iter().map(Value::from).collect(),
        FieldType::Money => numbers()
            .into_iter()
            .map(|number| Value::from(format!("{number:.2}")))
            .collect(),
        FieldType::Date => [0, -30, 30, -400, 365, -3650]
            .into_iter()
            .map(|days| {
                Value::from(
                    (today + Duration::days(days))
                        .format("%Y-%m-%d")
                        .to_string(),
                )
            })
            .collect(),
        FieldType::YesNo => vec![Value::Bool(true), Value::Bool(false)],
        FieldType::Choice(table) => catalog_codes(table).into_iter().map(Value::from).collect(),
        FieldType::MultiChoice(table) => catalog_codes(table)
            .into_iter()
            .map(|code| Value::Array(vec![Value::from(code)]))
            .collect(),
        FieldType::ResidentId => vec![
            Value::from(person_id),
            Value::from(resident_id("440304", today - Duration::days(365 * 30), 22)),
        ],
        FieldType::CreditCode => {
            let own = profile.credit_code.clone().into_iter();
            own.chain(SAMPLE_CREDIT_CODES.iter().map(|code| (*code).to_owned()))
                .map(Value::from)
                .collect()
        }
        FieldType::Phone => vec![Value::from(
            profile
                .phone
                .clone()
                .unwrap_or_else(|| "13912345678".into()),
        )],
        FieldType::Address => vec![json!({ "region_code": "420102", "detail": "示例路1号" })],
        FieldType::ElicenceReference => vec![Value::from("DZZZ-SAMPLE-0001")],
        FieldType::AttachmentReference => vec![Value::from("attachment-sample-0001")],
        FieldType::Group => Vec::new(),
    }
}

/// A group's rows: `count` rows, each child at its `choice`-th candidate.
fn rows(
    field: &Field,
    count: usize,
    profile: &ApplicantProfile,
    codes: &dyn Fn(&str) -> Vec<String>,
    choice: &[usize],
    today: NaiveDate,
) -> Value {
    let row: Map<String, Value> = field
        .children
        .iter()
        .enumerate()
        .filter(|(_, child)| child.calculate.is_none())
        .filter_map(|(index, child)| {
            let options = candidates(child, profile, codes, today);
            let pick = choice.get(index).copied().unwrap_or(0);
            options
                .get(pick.min(options.len().saturating_sub(1)))
                .map(|value| (child.id.clone(), value.clone()))
        })
        .collect();
    Value::Array(vec![Value::Object(row); count])
}

/// The field key an error path points at: `group[1].field` → `group`.
fn key_of(path: &str) -> &str {
    path.split('[').next().unwrap_or(path)
}

/// The child index an error path points at, for groups.
fn child_of(path: &str) -> Option<&str> {
    path.split_once("].").map(|(_, child)| child)
}

/// The first other question a rule of `field` names, by its field id: in
/// a bundle `item/field` keys are matched within the same item.
fn referenced(questions: &[(String, &Field)], key: &str, field: &Field) -> Option<usize> {
    let prefix = key
        .rsplit_once('/')
        .map_or(String::new(), |(item, _)| format!("{item}/"));
    field.constraints.iter().find_map(|constraint| {
        let source = constraint.rule.source();
        questions.iter().position(|(other_key, other)| {
            other_key != key
                && other.calculate.is_none()
                && (other_key == &format!("{prefix}{}", other.id) || other_key == &other.id)
                && source
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word == other.id)
        })
    })
}

/// What the filler has chosen for one question.
#[derive(Clone, Default)]
struct Choice {
    /// Index into the field's candidates (for groups: the row count less
    /// the minimum).
    pick: usize,
    /// For groups: each child's candidate index.
    children: Vec<usize>,
}

/// Tries candidates until the form engine finds no error: each round moves
/// every field with an error on to its next candidate. A field with a
/// default from the applicant's profile starts with that default.
#[allow(clippy::too_many_arguments)]
fn fill(
    catalog: &Catalog,
    subject: &str,
    questions: &[(String, &Field)],
    applicants: Vec<ApplicantProfile>,
    today: NaiveDate,
    check: impl Fn(&Map<String, Value>, &ApplicantProfile) -> FormReport,
    defaults: impl Fn(&ApplicantProfile) -> Map<String, Value>,
) -> Result<SampleIntake, NoSample> {
    let codes = |table: &str| -> Vec<String> {
        catalog
            .code_tables
            .get(table)
            .map(|table| {
                table
                    .entries
                    .iter()
                    .map(|entry| entry.code.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut last_errors = Vec::new();
    for applicant in applicants {
        let profile_defaults = defaults(&applicant);
        let mut choices: Vec<Choice> = questions
            .iter()
            .map(|(_, field)| Choice {
                pick: 0,
                children: vec![0; field.children.len()],
            })
            .collect();
        // Defaults from the profile are tried first, then the candidates.
        let mut use_default: Vec<bool> = questions
            .iter()
            .map(|(key, _)| profile_defaults.contains_key(key))
            .collect();
        for _round in 0..40 {
            let mut values = Map::new();
            for (index, (key, field)) in questions.iter().enumerate() {
                if field.calculate.is_some() {
                    continue;
                }
                if use_default[index] {
                    if let Some(value) = profile_defaults.get(key) {
                        values.insert(key.clone(), value.clone());
                        continue;
                    }
                }
                let choice = &choices[index];
                let value = if field.field_type == FieldType::Group {
                    let count = (field.min_rows.max(1) as usize) + choice.pick;
                    Some(rows(
                        field,
                        count,
                        &applicant,
                        &codes,
                        &choice.children,
                        today,
                    ))
                } else {
                    candidates(field, &applicant, &codes, today)
                        .get(choice.pick)
                        .cloned()
                };
                if let Some(value) = value {
                    values.insert(key.clone(), value);
                }
            }
            let report = check(&values, &applicant);
            // Values given to fields that are not asked are dropped.
            for key in &report.not_relevant {
                values.remove(key);
            }
            if report.is_valid() {
                let report = check(&values, &applicant);
                if report.is_valid() {
                    return Ok(SampleIntake { applicant, values });
                }
            }
            last_errors = report
                .errors
                .iter()
                .map(|error| format!("{}: {}", error.path, error.message_en))
                .collect();
            let mut moved = false;
            for error in &report.errors {
                let mut advanced = false;
                let key = key_of(&error.path);
                let Some(index) = questions.iter().position(|(question, _)| question == key) else {
                    continue;
                };
                let field = questions[index].1;
                if use_default[index] {
                    use_default[index] = false;
                    moved = true;
                    continue;
                }
                let choice = &mut choices[index];
                match (field.field_type == FieldType::Group, child_of(&error.path)) {
                    (true, Some(child)) => {
                        if let Some(position) = field.children.iter().position(|c| c.id == child) {
                            choice.children[position] += 1;
                            advanced = true;
                        }
                    }
                    (true, None) => {
                        choice.pick += 1;
                        advanced = choice.pick < 5;
                    }
                    (false, _) => {
                        let count = candidates(field, &applicant, &codes, today).len();
                        if choice.pick + 1 < count {
                            choice.pick += 1;
                            advanced = true;
                        }
                    }
                }
                // A rule across fields (`size(rows) == count`): once this
                // field has run through its candidates, start it again and
                // move on a field the rule names, like an odometer.
                if !advanced {
                    if let Some(other) = referenced(questions, key, field) {
                        choices[index].pick = 0;
                        choices[other].pick += 1;
                        advanced = true;
                    }
                }
                moved |= advanced;
            }
            if !moved {
                break;
            }
        }
    }
    Err(NoSample {
        subject: subject.to_owned(),
        errors: last_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        crate::load_catalog(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog"))
            .expect("the sample catalogue loads")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn made_up_resident_ids_pass_the_check() {
        let id = resident_id("420102", NaiveDate::from_ymd_opt(1986, 3, 15).unwrap(), 11);
        let checked = crate::identifiers::check_resident_id(&id, today()).unwrap();
        assert_eq!(checked.number, id);
    }

    #[test]
    fn every_item_of_the_sample_catalogue_has_a_valid_sample() {
        let catalog = catalog();
        let mut failures = Vec::new();
        for item in catalog.items.iter().filter(|item| item.handled_here) {
            match sample_item(&catalog, item, today()) {
                Ok(sample) => {
                    let report = validate(
                        &catalog,
                        &item.fields,
                        &sample.values,
                        &sample.applicant,
                        today(),
                    );
                    assert!(report.is_valid(), "{}: {:?}", item.id, report.errors);
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn every_bundle_of_the_sample_catalogue_has_a_valid_sample() {
        let catalog = catalog();
        assert!(!catalog.bundles.is_empty());
        for bundle in catalog.bundles.iter() {
            let sample =
                sample_bundle(&catalog, bundle, today()).unwrap_or_else(|error| panic!("{error}"));
            let report =
                validate_bundle(&catalog, bundle, &sample.values, &sample.applicant, today());
            assert!(report.is_valid(), "{}: {:?}", bundle.id, report.errors);
        }
    }

    #[test]
    fn an_item_no_applicant_can_satisfy_is_reported_with_its_errors() {
        let catalog = catalog();
        let mut item = catalog
            .items
            .iter()
            .find(|item| {
                item.fields
                    .iter()
                    .any(|field| field.field_type == FieldType::Integer)
            })
            .unwrap()
            .clone();
        for field in &mut item.fields {
            if field.field_type == FieldType::Integer {
                field.min_value = Some(10.0);
                field.max_value = Some(5.0);
            }
        }
        let error = sample_item(&catalog, &item, today()).unwrap_err();
        assert!(
            error.errors.iter().any(|message| message.contains(
                &item
                    .fields
                    .iter()
                    .find(|f| f.field_type == FieldType::Integer)
                    .unwrap()
                    .id
            )),
            "{error}"
        );
    }
}
