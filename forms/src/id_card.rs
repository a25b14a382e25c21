//! Files written by an ID-card reader's vendor tool: the card's fields in a
//! documented JSON or INI format (see `docs/devices.md`), read and checked
//! here: the ID number's check character (GB 11643), the birth date and
//! sex agreeing with the number, and the card's validity dates.
//!
//! Parsing is pure: the caller reads the file, passes its bytes, and
//! deletes the file afterwards. This module must never log or keep what a
//! card says; its errors name the field and the problem, never the value.
//!
//! A card file may name its photo (`photoFile`, `PhotoName`). That name
//! comes from a file anyone who can write to the reader's folder controls,
//! so it must be a plain file name in the same folder ([`plain_file_name`]:
//! no folders, no `..`, no absolute path, no NUL); anything else refuses
//! the card (`id_card_photo_name`). The caller then opens the photo with
//! `offline_cache::inbox::open_in_folder`, which refuses links out of the
//! folder. This module must never hand on a name that could leave the
//! folder.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::identifiers::{check_resident_id, Sex};

/// What a card says, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdCard {
    pub name: String,
    /// `男` or `女`, as printed.
    pub sex: String,
    /// As printed (e.g. `汉`).
    pub ethnicity: String,
    pub birth_date: NaiveDate,
    pub address: String,
    pub id_number: String,
    pub issuing_authority: String,
    pub valid_from: NaiveDate,
    /// `None`: valid for life (长期).
    pub valid_until: Option<NaiveDate>,
    /// The photo's file name next to the card file, when there is one.
    pub photo_file: Option<String>,
    /// The photo itself, when the file carried it (base64 in JSON).
    #[serde(skip)]
    pub photo: Option<Vec<u8>>,
}

/// What is wrong with a card file (never its values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdCardError {
    #[error("the file is neither the JSON nor the INI card format: {detail}")]
    Format { detail: String },
    #[error("the field `{field}` is missing or empty")]
    Missing { field: &'static str },
    #[error("the field `{field}` is not a date (YYYYMMDD or YYYY-MM-DD)")]
    Date { field: &'static str },
    #[error("the ID number is not valid: {detail}")]
    IdNumber { detail: String, message_zh: String },
    #[error("the birth date or sex does not agree with the ID number")]
    Disagrees,
    #[error("the card is not valid yet (from {valid_from})")]
    NotYetValid { valid_from: NaiveDate },
    #[error("the card expired on {valid_until}")]
    Expired { valid_until: NaiveDate },
    #[error("the photo is not valid base64")]
    Photo,
    #[error("the photo file name is not a plain file name in the card folder ({problem}); the card was refused and no other file was read or deleted")]
    PhotoName { problem: &'static str },
}

impl IdCardError {
    pub fn code(&self) -> &'static str {
        match self {
            IdCardError::Format { .. } => "id_card_format",
            IdCardError::Missing { .. } => "id_card_missing_field",
            IdCardError::Date { .. } => "id_card_date",
            IdCardError::IdNumber { .. } => "id_card_number",
            IdCardError::Disagrees => "id_card_disagrees",
            IdCardError::NotYetValid { .. } => "id_card_not_yet_valid",
            IdCardError::Expired { .. } => "id_card_expired",
            IdCardError::Photo => "id_card_photo",
            IdCardError::PhotoName { .. } => "id_card_photo_name",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            IdCardError::Format { .. } => {
                "读卡文件格式无法识别（应为 JSON 或 INI），请检查读卡器软件的输出设置。".into()
            }
            IdCardError::Missing { field } => format!("读卡文件缺少“{field}”字段，请重新读卡。"),
            IdCardError::Date { field } => format!("读卡文件的“{field}”不是有效日期，请重新读卡。"),
            IdCardError::IdNumber { message_zh, .. } => {
                format!("身份证号码校验不通过：{message_zh}。请重新读卡或核对证件。")
            }
            IdCardError::Disagrees => {
                "证件上的出生日期或性别与身份证号码不一致，请核对证件真伪。".into()
            }
            IdCardError::NotYetValid { valid_from } => {
                format!("该证件自 {valid_from} 起才生效，请核对证件。")
            }
            IdCardError::Expired { valid_until } => {
                format!("该证件已于 {valid_until} 过期，请申请人出示有效证件。")
            }
            IdCardError::Photo => "读卡文件中的照片数据损坏，请重新读卡。".into(),
            IdCardError::PhotoName { problem } => format!(
                "读卡文件指定的照片文件名不是读卡文件夹中的普通文件名（{}），已拒绝该读卡文件，未读取或删除其他任何文件。请检查读卡器软件的输出设置后重新读卡。",
                problem_zh(problem)
            ),
        }
    }
}

/// What is wrong with a device file's name, in English (see [`problem_zh`]).
const EMPTY: &str = "empty";
const SEPARATOR: &str = "contains a folder separator";
const DOTS: &str = "is `.` or `..`";
const NUL: &str = "contains a NUL character";
const CONTROL: &str = "contains a control character";
const LONG: &str = "longer than 255 bytes";

fn problem_zh(problem: &str) -> &'static str {
    match problem {
        EMPTY => "文件名为空",
        SEPARATOR => "含有文件夹分隔符，指向其他文件夹",
        DOTS => "为“.”或“..”，指向文件夹本身或上级文件夹",
        NUL => "含有空字符",
        CONTROL => "含有控制字符",
        _ => "超过 255 字节",
    }
}

/// Checks a file name a device file gives for another file (a card's
/// photo): it must name a file directly in the same folder, so it may not
/// be empty, contain `/` or a backslash (no folders, no absolute path), be `.` or
/// `..`, or contain NUL or other control characters. Returns the name, or
/// what is wrong with it (English; the card error carries both languages).
/// The filesystem side (links out of the folder) is
/// `offline_cache::inbox::open_in_folder`.
pub fn plain_file_name(name: &str) -> Result<&str, &'static str> {
    if name.is_empty() {
        Err(EMPTY)
    } else if name.contains('\0') {
        Err(NUL)
    } else if name.contains(['/', '\\']) {
        Err(SEPARATOR)
    } else if name == "." || name == ".." {
        Err(DOTS)
    } else if name.chars().any(char::is_control) {
        Err(CONTROL)
    } else if name.len() > 255 {
        Err(LONG)
    } else {
        Ok(name)
    }
}

/// The JSON format's fields (camelCase).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonCard {
    name: Option<String>,
    sex: Option<String>,
    ethnicity: Option<String>,
    birth_date: Option<String>,
    address: Option<String>,
    id_number: Option<String>,
    issuing_authority: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    photo_file: Option<String>,
    photo_base64: Option<String>,
}

/// INI keys as common reader tools write them (section `[IDCard]` or
/// none), with the JSON names accepted too.
fn ini_card(text: &str) -> Result<JsonCard, IdCardError> {
    let ini = ini::Ini::load_from_str(text).map_err(|error| IdCardError::Format {
        detail: format!("INI: {error}"),
    })?;
    let mut card = JsonCard::default();
    let mut any = false;
    for (_, properties) in ini.iter() {
        for (key, value) in properties.iter() {
            let value = Some(value.trim().to_owned());
            any = true;
            match key.to_ascii_lowercase().as_str() {
                "name" => card.name = value,
                "sex" | "gender" => card.sex = value,
                "nation" | "ethnicity" | "folk" => card.ethnicity = value,
                "born" | "birthdate" | "birth" => card.birth_date = value,
                "address" => card.address = value,
                "idcardno" | "idnumber" | "cardno" => card.id_number = value,
                "grantdept" | "issuingauthority" | "police" => card.issuing_authority = value,
                "userlifebegin" | "validfrom" => card.valid_from = value,
                "userlifeend" | "validuntil" => card.valid_until = value,
                "photoname" | "photofile" | "photo" => card.photo_file = value,
                _ => {}
            }
        }
    }
    if !any {
        return Err(IdCardError::Format {
            detail: "no fields".into(),
        });
    }
    Ok(card)
}

fn required(value: Option<String>, field: &'static str) -> Result<String, IdCardError> {
    value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .ok_or(IdCardError::Missing { field })
}

fn date(text: &str, field: &'static str) -> Result<NaiveDate, IdCardError> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y.%m.%d"))
        .map_err(|_| IdCardError::Date { field })
}

/// Reads a card file's bytes (JSON or INI, UTF-8) and checks it as of `today`.
pub fn read_card(bytes: &[u8], today: NaiveDate) -> Result<IdCard, IdCardError> {
    let text = std::str::from_utf8(bytes).map_err(|_| IdCardError::Format {
        detail: "not UTF-8 text".into(),
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let raw = if text.trim_start().starts_with('{') {
        serde_json::from_str::<JsonCard>(text).map_err(|error| IdCardError::Format {
            detail: format!("JSON: line {} column {}", error.line(), error.column()),
        })?
    } else {
        ini_card(text)?
    };
    let id_text = required(raw.id_number, "idNumber")?;
    let resident = check_resident_id(&id_text, today).map_err(|error| IdCardError::IdNumber {
        detail: error.to_string(),
        message_zh: error.message_zh(),
    })?;
    let sex = required(raw.sex, "sex")?;
    let birth_date = date(&required(raw.birth_date, "birthDate")?, "birthDate")?;
    let sex_agrees = match resident.sex {
        Sex::Male => sex.starts_with('男') || sex == "1" || sex.eq_ignore_ascii_case("M"),
        Sex::Female => sex.starts_with('女') || sex == "2" || sex.eq_ignore_ascii_case("F"),
    };
    if birth_date != resident.birth_date || !sex_agrees {
        return Err(IdCardError::Disagrees);
    }
    let valid_from = date(&required(raw.valid_from, "validFrom")?, "validFrom")?;
    let until_text = required(raw.valid_until, "validUntil")?;
    let valid_until = if until_text == "长期" || until_text.eq_ignore_ascii_case("long") {
        None
    } else {
        Some(date(&until_text, "validUntil")?)
    };
    if valid_from > today {
        return Err(IdCardError::NotYetValid { valid_from });
    }
    if let Some(until) = valid_until {
        if until < today {
            return Err(IdCardError::Expired { valid_until: until });
        }
    }
    let photo_file = match raw.photo_file.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(
            plain_file_name(name)
                .map_err(|problem| IdCardError::PhotoName { problem })?
                .to_owned(),
        ),
    };
    let photo = match raw.photo_base64 {
        Some(encoded) if !encoded.trim().is_empty() => Some(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.trim())
                .map_err(|_| IdCardError::Photo)?,
        ),
        _ => None,
    };
    Ok(IdCard {
        name: required(raw.name, "name")?,
        sex,
        ethnicity: required(raw.ethnicity, "ethnicity")?,
        birth_date,
        address: required(raw.address, "address")?,
        id_number: resident.number,
        issuing_authority: required(raw.issuing_authority, "issuingAuthority")?,
        valid_from,
        valid_until,
        photo_file,
        photo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    const JSON: &str = r#"{
      "name": "张三", "sex": "男", "ethnicity": "汉", "birthDate": "1980-01-01",
      "address": "安徽省宣城市郎溪县示例路1号", "idNumber": "34052419800101001X",
      "issuingAuthority": "郎溪县公安局", "validFrom": "20150301", "validUntil": "20350301",
      "photoBase64": "iVBORw0KGgo="
    }"#;

    const INI: &str = "[IDCard]\nName=钱七\nSex=女\nNation=汉\nBorn=19400315\nAddress=北京市朝阳区示例街7号\nIDCardNo=110105194003150022\nGrantDept=北京市公安局朝阳分局\nUserLifeBegin=20100101\nUserLifeEnd=长期\nPhotoName=zp.bmp\n";

    #[test]
    fn both_formats_read_and_check() {
        let card = read_card(JSON.as_bytes(), today()).unwrap();
        assert_eq!(card.id_number, "34052419800101001X");
        assert_eq!(card.valid_until, NaiveDate::from_ymd_opt(2035, 3, 1));
        assert_eq!(card.photo.as_deref(), Some(&b"\x89PNG\r\n\x1a\n"[..]));
        let card = read_card(INI.as_bytes(), today()).unwrap();
        assert_eq!(card.name, "钱七");
        assert_eq!(card.valid_until, None, "长期");
        assert_eq!(card.photo_file.as_deref(), Some("zp.bmp"));
    }

    #[test]
    fn a_bad_check_character_expiry_or_mismatch_is_refused_without_the_values() {
        let bad = JSON.replace("34052419800101001X", "340524198001010011");
        let error = read_card(bad.as_bytes(), today()).unwrap_err();
        assert_eq!(error.code(), "id_card_number");
        assert!(!error.to_string().contains("3405241980"), "{error}");
        let expired = JSON.replace("20350301", "20250301");
        assert_eq!(
            read_card(expired.as_bytes(), today()).unwrap_err().code(),
            "id_card_expired"
        );
        let not_yet = JSON.replace("20150301", "20270101");
        assert_eq!(
            read_card(not_yet.as_bytes(), today()).unwrap_err().code(),
            "id_card_not_yet_valid"
        );
        let woman = JSON.replace("\"男\"", "\"女\"");
        assert_eq!(
            read_card(woman.as_bytes(), today()).unwrap_err().code(),
            "id_card_disagrees"
        );
        let missing = JSON.replace("\"name\": \"张三\",", "");
        assert_eq!(
            read_card(missing.as_bytes(), today()).unwrap_err(),
            IdCardError::Missing { field: "name" }
        );
        assert_eq!(
            read_card(b"\xff\xfe", today()).unwrap_err().code(),
            "id_card_format"
        );
        assert_eq!(
            read_card(b"{ not json", today()).unwrap_err().code(),
            "id_card_format"
        );
    }
    #[test]
    fn a_photo_name_that_is_not_a_plain_file_name_in_the_folder_is_refused() {
        for name in [
            "../../cases/cases.db",
            "../x",
            "/home/clerk/.local/share/onewindow/cases/cases.db",
            "sub/dir/zp.bmp",
            "..",
            ".",
            "photos\\zp.bmp",
        ] {
            if !name.contains('\\') {
                // (INI reads a backslash as an escape.)
                let ini = INI.replace("PhotoName=zp.bmp", &format!("PhotoName={name}"));
                let error = read_card(ini.as_bytes(), today()).expect_err(name);
                assert_eq!(error.code(), "id_card_photo_name", "{name}");
            }
            let json = JSON.replace(
                "\"photoBase64\"",
                &format!(
                    "\"photoFile\": {}, \"photoBase64\"",
                    serde_json::json!(name)
                ),
            );
            let error = read_card(json.as_bytes(), today()).expect_err(name);
            assert_eq!(error.code(), "id_card_photo_name", "{name}");
            assert!(
                error.message_zh().contains("照片"),
                "{}",
                error.message_zh()
            );
            assert!(error.to_string().contains("photo"), "{error}");
        }
        // A NUL in the name (JSON can carry one).
        let json = JSON.replace(
            "\"photoBase64\"",
            "\"photoFile\": \"zp.bmp\\u0000../../x\", \"photoBase64\"",
        );
        assert_eq!(
            read_card(json.as_bytes(), today()).unwrap_err().code(),
            "id_card_photo_name"
        );
        assert_eq!(plain_file_name("zp.bmp"), Ok("zp.bmp"));
        assert_eq!(plain_file_name("a/b"), Err(SEPARATOR));
        assert_eq!(plain_file_name("a\\b"), Err(SEPARATOR));
        assert_eq!(plain_file_name("/abs"), Err(SEPARATOR));
        assert_eq!(plain_file_name(".."), Err(DOTS));
        assert_eq!(plain_file_name("a\0b"), Err(NUL));
        assert_eq!(plain_file_name("a\nb"), Err(CONTROL));
        assert_eq!(plain_file_name(""), Err(EMPTY));
        assert_eq!(plain_file_name(&"长".repeat(90)), Err(LONG));
        assert_eq!(
            plain_file_name("..zp.bmp"),
            Ok("..zp.bmp"),
            "dots inside a name are fine"
        );
        // A plain name is kept, Chinese and spaces included.
        let ini = INI.replace("PhotoName=zp.bmp", "PhotoName=照片 01.bmp");
        let card = read_card(ini.as_bytes(), today()).unwrap();
        assert_eq!(card.photo_file.as_deref(), Some("照片 01.bmp"));
    }
}
