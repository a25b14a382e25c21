//! The applicant as the window enters them: the identifier checked as it
//! is typed (resident ID number or unified social credit code), and the
//! profile the rules read (`applicant.*`) built from what was entered,
//! with every problem named by its field.
//!
//! This module never looks anything up and never stores anything.

use chrono::NaiveDate;

use crate::catalog::ApplicantType;
use crate::form::{ApplicantProfile, FieldError};
use crate::identifiers::{check_credit_code, check_resident_id, IdentifierError, Sex};

/// What the clerk typed for the applicant.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplicantFields<'a> {
    /// `natural_person` or `legal_person`.
    pub kind: &'a str,
    pub identifier: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub ethnicity: &'a str,
    pub legal_representative: &'a str,
    pub entity_type: &'a str,
}

/// An identifier as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierFacts {
    pub valid: bool,
    /// Without spaces, upper case.
    pub normalized: String,
    pub problem: Option<FieldError>,
    /// `YYYY-MM-DD` (resident IDs).
    pub birth_date: Option<String>,
    /// GB/T 2261.1 code (resident IDs).
    pub sex: Option<String>,
    pub region_code: Option<String>,
}

fn problem(path: &str, code: &'static str, zh: String, en: String) -> FieldError {
    FieldError {
        path: format!("applicant.{path}"),
        code,
        message_zh: zh,
        message_en: en,
    }
}

/// Checks a resident ID number (`natural_person`) or a credit code
/// (`legal_person`) as typed.
pub fn check_identifier(kind: &str, text: &str, today: NaiveDate) -> IdentifierFacts {
    let normalized: String = text
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let wrong = |error: IdentifierError, what_zh: &str, what_en: &str| {
        Some(problem(
            "identifier",
            error.code(),
            format!("{what_zh}{}", error.message_zh()),
            format!("{what_en}{error}"),
        ))
    };
    let empty = IdentifierFacts {
        valid: false,
        normalized: normalized.clone(),
        problem: None,
        birth_date: None,
        sex: None,
        region_code: None,
    };
    if normalized.is_empty() {
        return IdentifierFacts {
            problem: Some(problem(
                "identifier",
                "identifier_missing",
                "请填写证件号码。".into(),
                "Enter the identifier.".into(),
            )),
            ..empty
        };
    }
    match kind {
        "legal_person" => match check_credit_code(&normalized) {
            Ok(code) => IdentifierFacts {
                valid: true,
                normalized: code.code,
                region_code: Some(code.region_code),
                ..empty
            },
            Err(error) => IdentifierFacts {
                problem: wrong(error, "统一社会信用代码", "Credit code: "),
                ..empty
            },
        },
        _ => match check_resident_id(&normalized, today) {
            Ok(id) => IdentifierFacts {
                valid: true,
                birth_date: Some(id.birth_date.format("%Y-%m-%d").to_string()),
                sex: Some(match id.sex {
                    Sex::Male => "1".into(),
                    Sex::Female => "2".into(),
                }),
                region_code: Some(id.number.chars().take(6).collect()),
                normalized: id.number,
                problem: None,
            },
            Err(error) => IdentifierFacts {
                problem: wrong(error, "身份证号码", "ID number: "),
                ..empty
            },
        },
    }
}

/// The applicant's type and profile from what was entered, and every
/// problem with it (an unknown type, a bad identifier, no name).
pub fn applicant_profile(
    fields: &ApplicantFields,
    today: NaiveDate,
) -> (Option<ApplicantType>, ApplicantProfile, Vec<FieldError>) {
    let mut problems = Vec::new();
    let text = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
    let kind = match fields.kind {
        "natural_person" => Some(ApplicantType::NaturalPerson),
        "legal_person" => Some(ApplicantType::LegalPerson),
        _ => {
            problems.push(problem(
                "kind",
                "applicant_kind",
                "请选择申请人类型：自然人或法人。".into(),
                "Choose the applicant type: natural or legal person.".into(),
            ));
            None
        }
    };
    let mut profile = ApplicantProfile {
        name: text(fields.name),
        phone: text(fields.phone),
        address: text(fields.address),
        ..ApplicantProfile::default()
    };
    let checked = check_identifier(fields.kind, fields.identifier, today);
    if let Some(found) = checked.problem.clone() {
        problems.push(found);
    }
    match kind {
        Some(ApplicantType::NaturalPerson) => {
            profile.applicant_type = Some("natural_person".into());
            profile.id_type = Some("111".into());
            profile.ethnicity = text(fields.ethnicity);
            if checked.valid {
                profile.id_number = Some(checked.normalized.clone());
                profile.birth_date = checked.birth_date.clone();
                profile.sex = checked.sex.clone();
                profile.region_code = checked.region_code.clone();
            }
        }
        Some(ApplicantType::LegalPerson) => {
            profile.applicant_type = Some("legal_person".into());
            profile.legal_representative = text(fields.legal_representative);
            profile.entity_type = text(fields.entity_type);
            if checked.valid {
                profile.credit_code = Some(checked.normalized.clone());
                profile.region_code = checked.region_code.clone();
            }
        }
        None => {}
    }
    if profile.name.is_none() {
        problems.push(problem(
            "name",
            "applicant_name",
            "请填写申请人姓名或名称。".into(),
            "Enter the applicant's name.".into(),
        ));
    }
    (kind, profile, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn a_resident_id_gives_birth_date_sex_and_region() {
        let facts = check_identifier("natural_person", " 34052419800101001x ", today());
        assert!(facts.valid);
        assert_eq!(facts.normalized, "34052419800101001X");
        assert_eq!(facts.birth_date.as_deref(), Some("1980-01-01"));
        assert_eq!(facts.region_code.as_deref(), Some("340524"));
        let wrong = check_identifier("natural_person", "340524198001010010", today());
        assert_eq!(wrong.problem.unwrap().code, "identifier_check_character");
        let empty = check_identifier("legal_person", "  ", today());
        assert_eq!(empty.problem.unwrap().code, "identifier_missing");
    }

    #[test]
    fn a_profile_names_every_problem_and_keeps_only_valid_identifiers() {
        let (kind, profile, problems) = applicant_profile(
            &ApplicantFields {
                kind: "legal_person",
                identifier: "91350100M000100Y43",
                name: "福州示例科技有限公司",
                legal_representative: " 张三 ",
                ..ApplicantFields::default()
            },
            today(),
        );
        assert_eq!(kind, Some(ApplicantType::LegalPerson));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(profile.credit_code.as_deref(), Some("91350100M000100Y43"));
        assert_eq!(profile.legal_representative.as_deref(), Some("张三"));

        let (kind, profile, problems) = applicant_profile(
            &ApplicantFields {
                kind: "robot",
                identifier: "123",
                ..ApplicantFields::default()
            },
            today(),
        );
        assert_eq!(kind, None);
        assert_eq!(profile.id_number, None);
        let codes: Vec<&str> = problems.iter().map(|problem| problem.code).collect();
        assert_eq!(
            codes,
            ["applicant_kind", "identifier_length", "applicant_name"]
        );
    }
}
