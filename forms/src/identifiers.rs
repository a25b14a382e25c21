//! National identifier checks: the resident ID number (GB 11643-1999), the
//! unified social credit code (GB 32100-2015) and the organisation code it
//! embeds (GB 11714-1997).
//!
//! Each check says exactly what is wrong (length, a character, the date, the
//! check character) so the clerk can fix the right keystroke. These
//! functions never log or keep the numbers they are given.

use chrono::NaiveDate;

/// What is wrong with an identifier, precise enough to show the clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("must be {expected} characters, found {found}")]
    Length { expected: usize, found: usize },
    #[error("character {position} ('{found}') is not allowed there")]
    Character { position: usize, found: char },
    #[error("the birth date {date} does not exist")]
    BirthDate { date: String },
    #[error("the birth date {date} is in the future")]
    BirthDateInFuture { date: String },
    #[error("the check character should be '{expected}', found '{found}'")]
    CheckCharacter { expected: char, found: char },
    #[error(
        "the embedded organisation code's check character should be '{expected}', found '{found}'"
    )]
    OrganisationCheck { expected: char, found: char },
}

impl IdentifierError {
    /// A stable machine code for the UI and tests.
    pub fn code(&self) -> &'static str {
        match self {
            IdentifierError::Length { .. } => "identifier_length",
            IdentifierError::Character { .. } => "identifier_character",
            IdentifierError::BirthDate { .. } => "identifier_birth_date",
            IdentifierError::BirthDateInFuture { .. } => "identifier_birth_date_future",
            IdentifierError::CheckCharacter { .. } => "identifier_check_character",
            IdentifierError::OrganisationCheck { .. } => "identifier_organisation_check",
        }
    }

    /// The message in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            IdentifierError::Length { expected, found } => {
                format!("应为 {expected} 位，实际为 {found} 位")
            }
            IdentifierError::Character { position, found } => {
                format!("第 {position} 位字符“{found}”不符合规则")
            }
            IdentifierError::BirthDate { date } => format!("出生日期 {date} 不存在"),
            IdentifierError::BirthDateInFuture { date } => format!("出生日期 {date} 晚于今天"),
            IdentifierError::CheckCharacter { expected, found } => {
                format!("校验码应为“{expected}”，实际为“{found}”，请核对号码")
            }
            IdentifierError::OrganisationCheck { expected, found } => {
                format!("其中的组织机构代码校验码应为“{expected}”，实际为“{found}”，请核对代码")
            }
        }
    }
}

/// Sex as encoded in the resident ID number's sequence digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// A valid 18-character resident ID number and what it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    /// The normalised number (upper-case `X`).
    pub number: String,
    /// The 6-digit administrative division code of the place of first registration.
    pub region_code: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits of a resident ID number.
pub fn resident_check_character(first_17: &[u32; 17]) -> char {
    let sum: u32 = first_17
        .iter()
        .zip(RESIDENT_WEIGHTS)
        .map(|(digit, weight)| digit * weight)
        .sum();
    RESIDENT_CHECK[(sum % 11) as usize]
}

fn digits<const N: usize>(chars: &[char], offset: usize) -> Result<[u32; N], IdentifierError> {
    let mut out = [0; N];
    for (index, slot) in out.iter_mut().enumerate() {
        let found = chars[offset + index];
        *slot = found.to_digit(10).ok_or(IdentifierError::Character {
            position: offset + index + 1,
            found,
        })?;
    }
    Ok(out)
}

fn birth_date(text: &str, today: NaiveDate) -> Result<NaiveDate, IdentifierError> {
    let date =
        NaiveDate::parse_from_str(text, "%Y%m%d").map_err(|_| IdentifierError::BirthDate {
            date: format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8]),
        })?;
    if date > today {
        return Err(IdentifierError::BirthDateInFuture {
            date: date.format("%Y-%m-%d").to_string(),
        });
    }
    Ok(date)
}

/// Checks an 18-character resident ID number against GB 11643-1999: digits,
/// a real birth date not after `today`, and the check character. A lower-case
/// `x` is accepted and normalised.
pub fn check_resident_id(input: &str, today: NaiveDate) -> Result<ResidentId, IdentifierError> {
    let chars: Vec<char> = input.trim().chars().collect();
    if chars.len() != 18 {
        return Err(IdentifierError::Length {
            expected: 18,
            found: chars.len(),
        });
    }
    let first_17: [u32; 17] = digits(&chars, 0)?;
    let found = chars[17].to_ascii_uppercase();
    if !(found.is_ascii_digit() || found == 'X') {
        return Err(IdentifierError::Character {
            position: 18,
            found: chars[17],
        });
    }
    let text: String = chars[..17].iter().collect();
    let birth = birth_date(&text[6..14], today)?;
    let expected = resident_check_character(&first_17);
    if expected != found {
        return Err(IdentifierError::CheckCharacter { expected, found });
    }
    Ok(ResidentId {
        number: format!("{text}{found}"),
        region_code: text[0..6].to_owned(),
        birth_date: birth,
        sex: if first_17[16] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        },
    })
}

/// Upgrades an old 15-digit number to 18 characters: `19` is inserted after
/// the 6-digit region code and the check character appended. The result is
/// then checked like any 18-character number.
pub fn upgrade_resident_id(old: &str, today: NaiveDate) -> Result<ResidentId, IdentifierError> {
    let chars: Vec<char> = old.trim().chars().collect();
    if chars.len() != 15 {
        return Err(IdentifierError::Length {
            expected: 15,
            found: chars.len(),
        });
    }
    let _: [u32; 15] = digits(&chars, 0)?;
    let text: String = chars.iter().collect();
    let seventeen = format!("{}19{}", &text[..6], &text[6..]);
    let seventeen_chars: Vec<char> = seventeen.chars().collect();
    let first_17: [u32; 17] = digits(&seventeen_chars, 0)?;
    let check = resident_check_character(&first_17);
    check_resident_id(&format!("{seventeen}{check}"), today)
}

/// The characters of the unified social credit code, in value order (0-30).
pub const CREDIT_CODE_CHARACTERS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORGANISATION_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn credit_value(character: char) -> Option<u32> {
    CREDIT_CODE_CHARACTERS
        .find(character)
        .map(|index| index as u32)
}

/// The check character for the first 17 characters of a credit code.
pub fn credit_check_character(first_17: &[u32; 17]) -> char {
    let sum: u32 = first_17
        .iter()
        .zip(CREDIT_WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    let check = (31 - sum % 31) % 31;
    CREDIT_CODE_CHARACTERS
        .chars()
        .nth(check as usize)
        .expect("0..=30 is inside the set")
}

/// A valid unified social credit code and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode {
    pub code: String,
    /// Position 1: the registering authority (e.g. `9` for market regulation).
    pub authority: char,
    /// Position 2: the entity type within that authority.
    pub entity_type: char,
    /// Positions 3-8: the administrative division code.
    pub region_code: String,
    /// Positions 9-17: the organisation code (GB 11714).
    pub organisation_code: String,
}

/// Checks a unified social credit code (GB 32100-2015): the character set,
/// the 18th-position check, and the embedded organisation code's check.
/// Lower-case letters are accepted and normalised.
pub fn check_credit_code(input: &str) -> Result<CreditCode, IdentifierError> {
    let chars: Vec<char> = input
        .trim()
        .chars()
        .map(|character| character.to_ascii_uppercase())
        .collect();
    if chars.len() != 18 {
        return Err(IdentifierError::Length {
            expected: 18,
            found: chars.len(),
        });
    }
    let mut values = [0u32; 18];
    for (index, character) in chars.iter().enumerate() {
        values[index] = credit_value(*character).ok_or(IdentifierError::Character {
            position: index + 1,
            found: input.trim().chars().nth(index).unwrap_or(*character),
        })?;
    }
    for (index, character) in chars[2..8].iter().enumerate() {
        if !character.is_ascii_digit() {
            return Err(IdentifierError::Character {
                position: index + 3,
                found: *character,
            });
        }
    }
    let first_17: [u32; 17] = values[..17].try_into().expect("17 values");
    let expected = credit_check_character(&first_17);
    if expected != chars[17] {
        return Err(IdentifierError::CheckCharacter {
            expected,
            found: chars[17],
        });
    }
    let organisation: String = chars[8..17].iter().collect();
    check_organisation_code(&organisation).map_err(|error| match error {
        IdentifierError::CheckCharacter { expected, found } => {
            IdentifierError::OrganisationCheck { expected, found }
        }
        IdentifierError::Character { position, found } => IdentifierError::Character {
            position: position + 8,
            found,
        },
        other => other,
    })?;
    Ok(CreditCode {
        code: chars.iter().collect(),
        authority: chars[0],
        entity_type: chars[1],
        region_code: chars[2..8].iter().collect(),
        organisation_code: organisation,
    })
}

/// The check character for the first 8 characters of an organisation code.
pub fn organisation_check_character(first_8: &[u32; 8]) -> char {
    let sum: u32 = first_8
        .iter()
        .zip(ORGANISATION_WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        digit => char::from_digit(digit, 10).expect("1..=9"),
    }
}

/// Checks a 9-character organisation code (GB 11714-1997): 8 digits or
/// upper-case letters (A=10 … Z=35) and a check digit or `X`. A hyphen
/// before the check character (`12345678-9`) is accepted.
pub fn check_organisation_code(input: &str) -> Result<String, IdentifierError> {
    let cleaned: Vec<char> = input
        .trim()
        .chars()
        .filter(|character| *character != '-')
        .map(|character| character.to_ascii_uppercase())
        .collect();
    if cleaned.len() != 9 {
        return Err(IdentifierError::Length {
            expected: 9,
            found: cleaned.len(),
        });
    }
    let mut first_8 = [0u32; 8];
    for (index, character) in cleaned[..8].iter().enumerate() {
        first_8[index] = character
            .to_digit(36)
            .filter(|_| character.is_ascii_alphanumeric())
            .ok_or(IdentifierError::Character {
                position: index + 1,
                found: *character,
            })?;
    }
    // A check character outside 0-9 and X is simply a wrong check character:
    // say which one it should be.
    let found = cleaned[8];
    let expected = organisation_check_character(&first_8);
    if expected != found {
        return Err(IdentifierError::CheckCharacter { expected, found });
    }
    Ok(cleaned.iter().collect())
}

/// Masks an ID number for printing: the first 6 and last 4 characters stay
/// (`420102********1234`).
pub fn mask_identifier(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(index, character)| {
            if index < 6 || index >= chars.len() - 4 {
                *character
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn valid_resident_ids_from_the_standard() {
        for number in [
            "34052419800101001X",
            "11010519491231002X",
            "440304200002291236",
        ] {
            let id = check_resident_id(number, today()).unwrap_or_else(|e| panic!("{number}: {e}"));
            assert_eq!(id.number, number);
        }
        let id = check_resident_id("34052419800101001x", today()).unwrap();
        assert_eq!(id.number, "34052419800101001X");
        assert_eq!(id.region_code, "340524");
        assert_eq!(id.birth_date, NaiveDate::from_ymd_opt(1980, 1, 1).unwrap());
        assert_eq!(id.sex, Sex::Male);
        assert_eq!(
            check_resident_id("11010519491231002X", today())
                .unwrap()
                .sex,
            Sex::Female
        );
    }

    #[test]
    fn invalid_resident_ids_say_what_is_wrong() {
        assert_eq!(
            check_resident_id("340524198001010010", today()),
            Err(IdentifierError::CheckCharacter {
                expected: 'X',
                found: '0'
            })
        );
        assert_eq!(
            check_resident_id("440304190002291234", today()),
            Err(IdentifierError::BirthDate {
                date: "1900-02-29".into()
            })
        );
        assert_eq!(
            check_resident_id("3405241980010100", today()),
            Err(IdentifierError::Length {
                expected: 18,
                found: 16
            })
        );
        assert_eq!(
            check_resident_id("34052419800A01001X", today()),
            Err(IdentifierError::Character {
                position: 12,
                found: 'A'
            })
        );
        // A birth date after today.
        let future = "11010520300101001";
        let digits: Vec<u32> = future.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let check = resident_check_character(&digits.try_into().unwrap());
        assert!(matches!(
            check_resident_id(&format!("{future}{check}"), today()),
            Err(IdentifierError::BirthDateInFuture { .. })
        ));
    }

    #[test]
    fn fifteen_digit_numbers_upgrade() {
        // 340524800101001 → 34052419800101001X (the standard's own example).
        let id = upgrade_resident_id("340524800101001", today()).unwrap();
        assert_eq!(id.number, "34052419800101001X");
        assert!(matches!(
            upgrade_resident_id("34052480010100", today()),
            Err(IdentifierError::Length { expected: 15, .. })
        ));
        assert!(matches!(
            upgrade_resident_id("340524800230001", today()),
            Err(IdentifierError::BirthDate { .. })
        ));
    }

    #[test]
    fn credit_codes_from_the_standard() {
        let code = check_credit_code("91350100M000100Y43").unwrap();
        assert_eq!(code.authority, '9');
        assert_eq!(code.entity_type, '1');
        assert_eq!(code.region_code, "350100");
        assert_eq!(code.organisation_code, "M000100Y4");
        assert!(check_credit_code("91110108MA01ABCD5T").is_ok());
        assert!(check_credit_code("91110108ma01abcd5t").is_ok());
        assert_eq!(
            check_credit_code("91350100M000100Y4Z"),
            Err(IdentifierError::Character {
                position: 18,
                found: 'Z'
            })
        );
        assert_eq!(
            check_credit_code("91110108MA01ABCDEN"),
            Err(IdentifierError::OrganisationCheck {
                expected: '5',
                found: 'E'
            })
        );
        assert!(matches!(
            check_credit_code("91350100M000100Y44"),
            Err(IdentifierError::CheckCharacter { .. })
        ));
        assert!(matches!(
            check_credit_code("91350100M000100Y4"),
            Err(IdentifierError::Length {
                expected: 18,
                found: 17
            })
        ));
        assert_eq!(
            check_credit_code("913501O0M000100Y43"),
            Err(IdentifierError::Character {
                position: 7,
                found: 'O'
            })
        );
    }

    #[test]
    fn organisation_codes() {
        assert_eq!(check_organisation_code("M000100Y4").unwrap(), "M000100Y4");
        assert_eq!(check_organisation_code("M000100Y-4").unwrap(), "M000100Y4");
        assert!(matches!(
            check_organisation_code("M000100Y5"),
            Err(IdentifierError::CheckCharacter {
                expected: '4',
                found: '5'
            })
        ));
    }

    #[test]
    fn masking_keeps_region_and_last_four() {
        assert_eq!(mask_identifier("420102199003071234"), "420102********1234");
        assert_eq!(mask_identifier("1234"), "****");
    }

    #[test]
    fn messages_exist_in_chinese() {
        let error = IdentifierError::CheckCharacter {
            expected: 'X',
            found: '0',
        };
        assert!(error.message_zh().contains("校验码"));
        assert_eq!(error.code(), "identifier_check_character");
    }

    proptest! {
        #[test]
        fn no_input_panics(input in "\\PC{0,40}") {
            let _ = check_resident_id(&input, today());
            let _ = upgrade_resident_id(&input, today());
            let _ = check_credit_code(&input);
            let _ = check_organisation_code(&input);
            let _ = mask_identifier(&input);
        }

        #[test]
        fn generated_resident_ids_validate_and_one_changed_digit_fails(
            region in 110000u32..660000,
            days in 0i64..40_000,
            sequence in 0u32..1000,
            position in 0usize..17,
            delta in 1u32..10,
        ) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(days as u64);
            prop_assume!(birth <= today());
            let body = format!("{region:06}{}{sequence:03}", birth.format("%Y%m%d"));
            let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
            let check = resident_check_character(&digits.clone().try_into().unwrap());
            let number = format!("{body}{check}");
            let id = check_resident_id(&number, today()).unwrap();
            prop_assert_eq!(id.birth_date, birth);
            // Any single wrong digit is caught (the weights are all non-zero mod 11).
            let mut changed: Vec<char> = number.chars().collect();
            changed[position] = char::from_digit((digits[position] + delta) % 10, 10).unwrap();
            let changed: String = changed.into_iter().collect();
            prop_assert!(check_resident_id(&changed, today()).is_err());
        }

        #[test]
        fn generated_credit_codes_validate(
            authority in 0usize..31, entity in 0usize..31, region in 110000u32..660000,
            organisation in proptest::collection::vec(0u32..36, 8),
        ) {
            let set: Vec<char> = CREDIT_CODE_CHARACTERS.chars().collect();
            // The organisation code uses digits and the letters allowed in credit codes.
            let organisation: Vec<u32> = organisation
                .into_iter()
                .map(|value| credit_value(char::from_digit(value, 36).unwrap().to_ascii_uppercase()).map_or(value % 10, |_| value))
                .collect();
            let first_8: [u32; 8] = organisation.clone().try_into().unwrap();
            let org_check = organisation_check_character(&first_8);
            let organisation_text: String = organisation.iter().map(|v| char::from_digit(*v, 36).unwrap().to_ascii_uppercase()).collect::<String>() + &org_check.to_string();
            let body = format!("{}{}{region:06}{organisation_text}", set[authority], set[entity]);
            let values: Vec<u32> = body.chars().map(|c| credit_value(c).unwrap()).collect();
            let check = credit_check_character(&values.try_into().unwrap());
            let code = format!("{body}{check}");
            prop_assert!(check_credit_code(&code).is_ok(), "{}", code);
        }
    }
}
