//! The intake form engine: checks a form's values against its item (or a
//! bundle's items) and returns every error at once, each with the field's
//! path (`shareholders[2].subscribed_amount`) and a message in zh-CN and
//! English. It also fills calculated values and profile defaults.
//!
//! Values arrive as JSON (what the UI sends). The engine never trusts them:
//! a value of the wrong shape is an error with its path, never a panic.
//! Rules that cannot be evaluated because another field is still empty are
//! skipped; that field's own check reports it.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::{Context, Value as CelValue};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Catalog, Field, FieldType, Requirement};
use crate::expression::{map_value, new_context};
use crate::identifiers::{check_credit_code, check_resident_id, Sex};

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// `field`, or `group[row].field` (rows counted from 0).
    pub path: String,
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

/// The result of checking a form.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FormReport {
    pub errors: Vec<FieldError>,
    /// Calculated values, by field id (top level only).
    pub calculated: Map<String, Value>,
    /// Fields skipped by their relevance rule.
    pub not_relevant: Vec<String>,
}

impl FormReport {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// What the workstation knows about the applicant ("ask only once"): rules
/// read it as `applicant.*` and fields may default from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApplicantProfile {
    /// `natural_person` or `legal_person`.
    #[serde(rename = "type")]
    pub applicant_type: Option<String>,
    pub name: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    /// GB/T 2261.1 code.
    pub sex: Option<String>,
    /// GB/T 3304 code.
    pub ethnicity: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub region_code: Option<String>,
    pub credit_code: Option<String>,
    pub legal_representative: Option<String>,
    pub entity_type: Option<String>,
    /// On a credit blacklist: excluded from accept-with-gaps.
    #[serde(default)]
    pub bad_credit: bool,
}

impl ApplicantProfile {
    /// A natural person's profile from a valid resident ID number: birth
    /// date and sex come from the number itself.
    pub fn from_resident_id(name: &str, id_number: &str, today: NaiveDate) -> Option<Self> {
        let id = check_resident_id(id_number, today).ok()?;
        Some(ApplicantProfile {
            applicant_type: Some("natural_person".into()),
            name: Some(name.to_owned()),
            id_type: Some("111".into()),
            id_number: Some(id.number),
            sex: Some(match id.sex {
                Sex::Male => "1".into(),
                Sex::Female => "2".into(),
            }),
            birth_date: Some(id.birth_date.format("%Y-%m-%d").to_string()),
            ..Default::default()
        })
    }

    /// Age in whole years on `today`, when the birth date is known.
    pub fn age(&self, today: NaiveDate) -> Option<i64> {
        let birth = NaiveDate::parse_from_str(self.birth_date.as_deref()?, "%Y-%m-%d").ok()?;
        let mut age = i64::from(today.year() - birth.year());
        if (today.month(), today.day()) < (birth.month(), birth.day()) {
            age -= 1;
        }
        Some(age)
    }

    /// The value of a profile key (`applicant.phone` → the phone).
    pub fn value(&self, key: &str, today: NaiveDate) -> Option<Value> {
        let text = |value: &Option<String>| value.clone().map(Value::String);
        match key.strip_prefix("applicant.").unwrap_or(key) {
            "type" => text(&self.applicant_type),
            "name" => text(&self.name),
            "id_type" => text(&self.id_type),
            "id_number" => text(&self.id_number),
            "sex" => text(&self.sex),
            "ethnicity" => text(&self.ethnicity),
            "birth_date" => text(&self.birth_date),
            "age" => self.age(today).map(Value::from),
            "phone" => text(&self.phone),
            "address" => text(&self.address),
            "region_code" => text(&self.region_code),
            "credit_code" => text(&self.credit_code),
            "legal_representative" => text(&self.legal_representative),
            "entity_type" => text(&self.entity_type),
            "bad_credit" => Some(Value::Bool(self.bad_credit)),
            _ => None,
        }
    }

    fn to_cel(&self, today: NaiveDate) -> CelValue {
        let mut entries = BTreeMap::new();
        for (key, _) in crate::expression::PROFILE_KEYS {
            let value = match self.value(key, today) {
                Some(Value::String(text)) => CelValue::from(text),
                Some(Value::Bool(flag)) => CelValue::Bool(flag),
                Some(Value::Number(number)) => CelValue::Int(number.as_i64().unwrap_or(0)),
                _ => CelValue::Null,
            };
            entries.insert((*key).to_owned(), value);
        }
        map_value(entries)
    }
}

/// Default values for a new form from the applicant profile: field id →
/// value, for every field that declares `default_from` and whose profile
/// value is known.
pub fn prefill(
    fields: &[Field],
    profile: &ApplicantProfile,
    today: NaiveDate,
) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|field| {
            let key = field.default_from.as_deref()?;
            profile
                .value(key, today)
                .map(|value| (field.id.clone(), value))
        })
        .collect()
}

/// Checks `values` against `fields`.
pub fn validate(
    catalog: &Catalog,
    fields: &[Field],
    values: &Map<String, Value>,
    profile: &ApplicantProfile,
    today: NaiveDate,
) -> FormReport {
    let mut report = FormReport::default();
    let known: BTreeMap<&str, &Field> = fields
        .iter()
        .map(|field| (field.id.as_str(), field))
        .collect();
    for key in values.keys() {
        if !known.contains_key(key.as_str()) {
            report.errors.push(error(
                key,
                "unknown_field",
                format!("表单中没有字段“{key}”"),
                format!("the form has no field `{key}`"),
            ));
        }
    }

    // The rule context: every field's value (or null), the profile, today.
    let mut context = new_context();
    let checker = Checker { catalog, today };
    for field in fields {
        let value = values.get(&field.id).unwrap_or(&Value::Null);
        context.add_variable_from_value(field.id.clone(), checker.to_cel(field, value));
    }
    context.add_variable_from_value("applicant", profile.to_cel(today));
    context.add_variable_from_value(
        "today",
        CelValue::from(today.format("%Y-%m-%d").to_string()),
    );

    // Calculated values first, in declaration order, so later rules see them.
    for field in fields {
        if let Some(rule) = &field.calculate {
            if let Ok(result) = rule.evaluate(&context) {
                if let Some(json) = cel_to_json(&result, &field.field_type) {
                    context.add_variable_from_value(field.id.clone(), result);
                    report.calculated.insert(field.id.clone(), json);
                }
            }
        }
    }

    for field in fields {
        let value = match report.calculated.get(&field.id) {
            Some(calculated) => calculated.clone(),
            None => values.get(&field.id).cloned().unwrap_or(Value::Null),
        };
        checker.field(field, &value, &field.id, &context, &mut report);
    }
    report
}

fn error(path: &str, code: &'static str, message_zh: String, message_en: String) -> FieldError {
    FieldError {
        path: path.to_owned(),
        code,
        message_zh,
        message_en,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

struct Checker<'a> {
    catalog: &'a Catalog,
    today: NaiveDate,
}

impl Checker<'_> {
    fn field(
        &self,
        field: &Field,
        value: &Value,
        path: &str,
        context: &Context,
        report: &mut FormReport,
    ) {
        if let Some(rule) = &field.relevant {
            // A rule that cannot be evaluated yet keeps the field asked.
            if rule.evaluate_bool(context) == Ok(false) {
                if !path.contains('[') {
                    report.not_relevant.push(field.id.clone());
                }
                return;
            }
        }
        let required = match &field.requirement {
            Requirement::Required => true,
            Requirement::Optional => false,
            Requirement::RequiredWhen(rule) => rule.evaluate_bool(context) == Ok(true),
        };
        let label = (&field.label_zh, &field.label_en);
        if field.field_type == FieldType::Group {
            self.group(field, value, path, context, report, required);
            return;
        }
        if is_empty(value) {
            if required && field.calculate.is_none() {
                report.errors.push(error(
                    path,
                    "required",
                    format!("请填写“{}”", label.0),
                    format!("{} is required", label.1),
                ));
            }
            return;
        }
        let before = report.errors.len();
        self.value(field, value, path, report);
        if report.errors.len() > before {
            return;
        }
        for constraint in &field.constraints {
            if constraint.rule.evaluate_bool(context) == Ok(false) {
                report.errors.push(error(
                    path,
                    "constraint",
                    constraint.message_zh.clone(),
                    constraint.message_en.clone(),
                ));
            }
        }
    }

    fn group(
        &self,
        field: &Field,
        value: &Value,
        path: &str,
        context: &Context,
        report: &mut FormReport,
        required: bool,
    ) {
        let rows = match value {
            Value::Null => Vec::new(),
            Value::Array(rows) => rows.clone(),
            _ => {
                report.errors.push(error(
                    path,
                    "wrong_type",
                    format!("“{}”应为多行列表", field.label_zh),
                    format!("{} must be a list of rows", field.label_en),
                ));
                return;
            }
        };
        let count = rows.len() as u32;
        let minimum = field.min_rows.max(u32::from(required));
        if count < minimum {
            report.errors.push(error(
                path,
                "too_few_rows",
                format!("“{}”至少需要 {minimum} 行", field.label_zh),
                format!("{} needs at least {minimum} row(s)", field.label_en),
            ));
        }
        if let Some(maximum) = field.max_rows {
            if count > maximum {
                report.errors.push(error(
                    path,
                    "too_many_rows",
                    format!("“{}”最多 {maximum} 行", field.label_zh),
                    format!("{} allows at most {maximum} rows", field.label_en),
                ));
            }
        }
        for (index, row) in rows.iter().enumerate() {
            let row_path = format!("{path}[{index}]");
            let Value::Object(cells) = row else {
                report.errors.push(error(
                    &row_path,
                    "wrong_type",
                    "每一行应为一组字段".into(),
                    "each row must be a set of fields".into(),
                ));
                continue;
            };
            for key in cells.keys() {
                if !field.children.iter().any(|child| child.id == *key) {
                    report.errors.push(error(
                        &format!("{row_path}.{key}"),
                        "unknown_field",
                        format!("该行没有字段“{key}”"),
                        format!("the row has no field `{key}`"),
                    ));
                }
            }
            let mut row_context = context.new_inner_scope();
            row_context.add_variable_from_value("row", self.row_to_cel(&field.children, cells));
            for child in &field.children {
                let cell = cells.get(&child.id).unwrap_or(&Value::Null);
                self.field(
                    child,
                    cell,
                    &format!("{row_path}.{}", child.id),
                    &row_context,
                    report,
                );
            }
        }
        for constraint in &field.constraints {
            if constraint.rule.evaluate_bool(context) == Ok(false) {
                report.errors.push(error(
                    path,
                    "constraint",
                    constraint.message_zh.clone(),
                    constraint.message_en.clone(),
                ));
            }
        }
    }

    /// Checks the shape and content of one non-empty value.
    fn value(&self, field: &Field, value: &Value, path: &str, report: &mut FormReport) {
        let (zh, en) = (&field.label_zh, &field.label_en);
        let mut fail = |code: &'static str, message_zh: String, message_en: String| {
            report
                .errors
                .push(error(path, code, message_zh, message_en));
        };
        match &field.field_type {
            FieldType::Text
            | FieldType::LongText
            | FieldType::ElicenceReference
            | FieldType::AttachmentReference => {
                let Value::String(text) = value else {
                    return fail(
                        "wrong_type",
                        format!("“{zh}”应为文字"),
                        format!("{en} must be text"),
                    );
                };
                let length = text.trim().chars().count() as u32;
                if let Some(minimum) = field.min_length {
                    if length < minimum {
                        fail(
                            "too_short",
                            format!("“{zh}”至少 {minimum} 个字"),
                            format!("{en} needs at least {minimum} characters"),
                        );
                    }
                }
                let maximum = field.max_length.unwrap_or(match field.field_type {
                    FieldType::LongText => 5000,
                    _ => 500,
                });
                if length > maximum {
                    fail(
                        "too_long",
                        format!("“{zh}”最多 {maximum} 个字，现有 {length} 个"),
                        format!("{en} allows {maximum} characters, found {length}"),
                    );
                }
                if matches!(
                    field.field_type,
                    FieldType::ElicenceReference | FieldType::AttachmentReference
                ) && text.trim().chars().any(char::is_whitespace)
                {
                    fail(
                        "bad_reference",
                        format!("“{zh}”不是有效的引用编号"),
                        format!("{en} is not a valid reference"),
                    );
                }
            }
            FieldType::Integer => match value.as_i64() {
                Some(number) => self.range(field, number as f64, path, report),
                None => fail(
                    "not_integer",
                    format!("“{zh}”应为整数"),
                    format!("{en} must be a whole number"),
                ),
            },
            FieldType::Decimal | FieldType::Money => match number(value) {
                Some(amount) => {
                    if field.field_type == FieldType::Money && !has_at_most_two_decimals(value) {
                        return fail(
                            "money_precision",
                            format!("“{zh}”最多保留两位小数（元、角、分）"),
                            format!("{en} has at most two decimals"),
                        );
                    }
                    self.range(field, amount, path, report);
                }
                None => fail(
                    "not_number",
                    format!("“{zh}”应为数字"),
                    format!("{en} must be a number"),
                ),
            },
            FieldType::Date => match value
                .as_str()
                .map(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
            {
                Some(Ok(_)) => {}
                _ => fail(
                    "bad_date",
                    format!("“{zh}”应为有效日期（年-月-日）"),
                    format!("{en} must be a real date (YYYY-MM-DD)"),
                ),
            },
            FieldType::YesNo => {
                if !value.is_boolean() {
                    fail(
                        "wrong_type",
                        format!("“{zh}”应选择是或否"),
                        format!("{en} must be yes or no"),
                    );
                }
            }
            FieldType::Choice(table) => match value.as_str() {
                Some(code) if self.in_table(table, code) => {}
                _ => fail(
                    "not_in_code_table",
                    format!("“{zh}”的选项不在代码表中"),
                    format!("{en}: the choice is not in the code table"),
                ),
            },
            FieldType::MultiChoice(table) => {
                let codes: Option<Vec<&str>> = value
                    .as_array()
                    .map(|items| items.iter().filter_map(Value::as_str).collect());
                match codes {
                    Some(codes) if codes.len() == value.as_array().map_or(0, Vec::len) => {
                        if let Some(bad) = codes.iter().find(|code| !self.in_table(table, code)) {
                            fail(
                                "not_in_code_table",
                                format!("“{zh}”的选项“{bad}”不在代码表中"),
                                format!("{en}: `{bad}` is not in the code table"),
                            );
                        }
                        let mut unique = codes.clone();
                        unique.sort_unstable();
                        unique.dedup();
                        if unique.len() != codes.len() {
                            fail(
                                "duplicate_choice",
                                format!("“{zh}”有重复选项"),
                                format!("{en} lists a choice twice"),
                            );
                        }
                    }
                    _ => fail(
                        "wrong_type",
                        format!("“{zh}”应为选项列表"),
                        format!("{en} must be a list of choices"),
                    ),
                }
            }
            FieldType::ResidentId => match value
                .as_str()
                .map(|text| check_resident_id(text, self.today))
            {
                Some(Ok(_)) => {}
                Some(Err(problem)) => fail(
                    problem.code(),
                    format!("“{zh}”{}", problem.message_zh()),
                    format!("{en}: {problem}"),
                ),
                None => fail(
                    "wrong_type",
                    format!("“{zh}”应为文字"),
                    format!("{en} must be text"),
                ),
            },
            FieldType::CreditCode => match value.as_str().map(check_credit_code) {
                Some(Ok(_)) => {}
                Some(Err(problem)) => fail(
                    problem.code(),
                    format!("“{zh}”{}", problem.message_zh()),
                    format!("{en}: {problem}"),
                ),
                None => fail(
                    "wrong_type",
                    format!("“{zh}”应为文字"),
                    format!("{en} must be text"),
                ),
            },
            FieldType::Phone => {
                if !value.as_str().is_some_and(is_phone_number) {
                    fail(
                        "bad_phone",
                        format!("“{zh}”应为11位手机号或带区号的固定电话"),
                        format!("{en} must be an 11-digit mobile or a landline with area code"),
                    );
                }
            }
            FieldType::Address => {
                let region = value.get("region_code").and_then(Value::as_str);
                let detail = value.get("detail").and_then(Value::as_str).map(str::trim);
                match (region, detail) {
                    (Some(region), Some(detail))
                        if !detail.is_empty() && detail.chars().count() <= 200 =>
                    {
                        let known = match self.catalog.code_tables.get("regions") {
                            Some(table) => table.entry(region).is_some(),
                            None => region.len() == 6 && region.chars().all(|c| c.is_ascii_digit()),
                        };
                        if !known {
                            fail(
                                "unknown_region",
                                format!("“{zh}”的行政区划代码 {region} 无效"),
                                format!("{en}: region code {region} is not valid"),
                            );
                        }
                    }
                    _ => fail(
                        "bad_address",
                        format!("“{zh}”需要行政区划和详细地址（200字以内）"),
                        format!("{en} needs a region and a street address (up to 200 characters)"),
                    ),
                }
            }
            FieldType::Group => {}
        }
    }

    fn range(&self, field: &Field, number: f64, path: &str, report: &mut FormReport) {
        if let Some(minimum) = field.min_value {
            if number < minimum {
                report.errors.push(error(
                    path,
                    "below_minimum",
                    format!("“{}”不能小于 {minimum}", field.label_zh),
                    format!("{} cannot be less than {minimum}", field.label_en),
                ));
            }
        }
        if let Some(maximum) = field.max_value {
            if number > maximum {
                report.errors.push(error(
                    path,
                    "above_maximum",
                    format!("“{}”不能大于 {maximum}", field.label_zh),
                    format!("{} cannot be more than {maximum}", field.label_en),
                ));
            }
        }
    }

    fn in_table(&self, table: &str, code: &str) -> bool {
        self.catalog
            .code_tables
            .get(table)
            .is_some_and(|table| table.entry(code).is_some())
    }

    /// A field's value for rules: typed when valid, null when empty or wrong.
    fn to_cel(&self, field: &Field, value: &Value) -> CelValue {
        if is_empty(value) {
            return match field.field_type {
                FieldType::Group | FieldType::MultiChoice(_) => {
                    CelValue::List(Arc::new(Vec::new()))
                }
                _ => CelValue::Null,
            };
        }
        match &field.field_type {
            FieldType::Integer => value.as_i64().map_or(CelValue::Null, CelValue::Int),
            FieldType::Decimal | FieldType::Money => {
                number(value).map_or(CelValue::Null, CelValue::Float)
            }
            FieldType::YesNo => value.as_bool().map_or(CelValue::Null, CelValue::Bool),
            FieldType::MultiChoice(_) => CelValue::List(Arc::new(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(CelValue::from)
                    .collect(),
            )),
            FieldType::Address => {
                let text = |key: &str| {
                    value
                        .get(key)
                        .and_then(Value::as_str)
                        .map_or(CelValue::Null, CelValue::from)
                };
                let mut entries = BTreeMap::new();
                entries.insert("region_code".to_owned(), text("region_code"));
                entries.insert("detail".to_owned(), text("detail"));
                map_value(entries)
            }
            FieldType::Group => CelValue::List(Arc::new(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .map(|cells| self.row_to_cel(&field.children, cells))
                    .collect(),
            )),
            _ => value
                .as_str()
                .map_or(CelValue::Null, |text| CelValue::from(text.trim())),
        }
    }

    fn row_to_cel(&self, children: &[Field], cells: &Map<String, Value>) -> CelValue {
        map_value(
            children
                .iter()
                .map(|child| {
                    (
                        child.id.clone(),
                        self.to_cel(child, cells.get(&child.id).unwrap_or(&Value::Null)),
                    )
                })
                .collect(),
        )
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn has_at_most_two_decimals(value: &Value) -> bool {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.trim().to_owned(),
        _ => return false,
    };
    match text.split_once('.') {
        Some((_, decimals)) => decimals.len() <= 2 && !decimals.contains(['e', 'E']),
        None => !text.contains(['e', 'E']),
    }
}

/// An 11-digit mobile number (1[3-9]…) or a landline with area code
/// (`027-85771234`, `02785771234`, with an optional extension `-123`).
pub fn is_phone_number(text: &str) -> bool {
    let text = text.trim();
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    if digits(text) && text.len() == 11 && text.starts_with('1') {
        return matches!(text.as_bytes()[1], b'3'..=b'9');
    }
    let mut parts = text.split('-');
    let first = parts.next().unwrap_or("");
    let (area, local, extension) = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), extension, None) => (first, local, extension),
        (None, None, None) if first.starts_with('0') && (10..=12).contains(&first.len()) => {
            return digits(first);
        }
        _ => return false,
    };
    area.starts_with('0')
        && (3..=4).contains(&area.len())
        && digits(area)
        && (7..=8).contains(&local.len())
        && digits(local)
        && extension.is_none_or(|extension| extension.len() <= 6 && digits(extension))
}

/// A calculated CEL result as JSON for a field of `field_type`.
fn cel_to_json(value: &CelValue, field_type: &FieldType) -> Option<Value> {
    match (value, field_type) {
        (CelValue::Int(number), FieldType::Integer) => Some(Value::from(*number)),
        (CelValue::Float(number), FieldType::Money) => {
            serde_json::Number::from_f64((number * 100.0).round() / 100.0).map(Value::Number)
        }
        (CelValue::Float(number), FieldType::Decimal) => {
            serde_json::Number::from_f64(*number).map(Value::Number)
        }
        (CelValue::Int(number), FieldType::Decimal | FieldType::Money) => {
            Some(Value::from(*number))
        }
        (CelValue::Bool(flag), FieldType::YesNo) => Some(Value::Bool(*flag)),
        (CelValue::String(text), _) => Some(Value::String(text.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        for good in [
            "13912345678",
            "027-85771234",
            "02785771234",
            "0710-1234567",
            "027-85771234-123",
        ] {
            assert!(is_phone_number(good), "{good}");
        }
        for bad in [
            "12912345678",
            "1391234567",
            "27-85771234",
            "027-857",
            "abc",
            "",
            "027-85771234-1234567",
        ] {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }

    #[test]
    fn money_has_at_most_two_decimals() {
        assert!(has_at_most_two_decimals(&serde_json::json!(12.5)));
        assert!(has_at_most_two_decimals(&serde_json::json!("12.50")));
        assert!(has_at_most_two_decimals(&serde_json::json!(100)));
        assert!(!has_at_most_two_decimals(&serde_json::json!("12.505")));
        assert!(!has_at_most_two_decimals(&serde_json::json!(1e30)));
    }

    #[test]
    fn profile_age_and_values() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let profile =
            ApplicantProfile::from_resident_id("张三", "11010519491231002X", today).unwrap();
        assert_eq!(profile.age(today), Some(76));
        assert_eq!(profile.sex.as_deref(), Some("2"));
        assert_eq!(profile.value("applicant.age", today), Some(Value::from(76)));
        assert_eq!(profile.value("applicant.nothing", today), None);
    }
}
