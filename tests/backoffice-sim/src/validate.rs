//! Each system's own data standard, checked strictly: a payload that does
//! not follow it is refused with the offending field named. These rules are
//! written from the systems' side, independently of the workstation's
//! mapping files, so a mapping mistake shows up as a 422.

use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Why a payload was refused: the field (a dotted path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: &str) -> Refusal {
    Refusal {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn get<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(tree, |node, segment| node.get(segment))
}

fn text<'a>(tree: &'a Value, path: &str) -> Result<&'a str, Refusal> {
    match get(tree, path) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(_) => Err(refuse(path, "must be non-empty text")),
        None => Err(refuse(path, "is required")),
    }
}

fn date(tree: &Value, path: &str, format: &str) -> Result<(), Refusal> {
    let value = text(tree, path)?;
    NaiveDate::parse_from_str(value, format)
        .map(|_| ())
        .map_err(|_| refuse(path, &format!("must be a date as {format}")))
}

fn one_of<'a>(tree: &'a Value, path: &str, allowed: &[&str]) -> Result<&'a str, Refusal> {
    let value = text(tree, path)?;
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(refuse(path, &format!("must be one of {allowed:?}")))
    }
}

fn matches(
    tree: &Value,
    path: &str,
    test: impl Fn(&str) -> bool,
    what: &str,
) -> Result<(), Refusal> {
    let value = text(tree, path)?;
    if test(value) {
        Ok(())
    } else {
        Err(refuse(path, what))
    }
}

fn resident_id(tree: &Value, path: &str) -> Result<(), Refusal> {
    let today = chrono::Local::now().date_naive();
    matches(
        tree,
        path,
        |value| forms::identifiers::check_resident_id(value, today).is_ok(),
        "must be a valid resident ID number",
    )
}

fn credit_code(tree: &Value, path: &str) -> Result<(), Refusal> {
    matches(
        tree,
        path,
        |value| forms::identifiers::check_credit_code(value).is_ok(),
        "must be a valid unified social credit code",
    )
}

fn yuan(value: &str) -> bool {
    value.split_once('.').is_some_and(|(whole, fraction)| {
        !whole.is_empty()
            && whole.chars().all(|c| c.is_ascii_digit())
            && fraction.len() == 2
            && fraction.chars().all(|c| c.is_ascii_digit())
    })
}

fn only_keys(tree: &Value, allowed: &[&str]) -> Result<(), Refusal> {
    let Some(object) = tree.as_object() else {
        return Err(refuse("", "the payload must be an object"));
    };
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(refuse(key, "is not part of this standard")),
        None => Ok(()),
    }
}

fn rows<'a>(tree: &'a Value, path: &str) -> Result<&'a Vec<Value>, Refusal> {
    match get(tree, path) {
        Some(Value::Array(rows)) if !rows.is_empty() => Ok(rows),
        Some(_) => Err(refuse(path, "must be a non-empty list")),
        None => Err(refuse(path, "is required")),
    }
}

/// 市场主体登记注册系统: JSON, camelCase, dates yyyy-MM-dd.
pub fn market(tree: &Value) -> Result<(), Refusal> {
    only_keys(
        tree,
        &[
            "caseNo",
            "hallCode",
            "acceptDate",
            "itemCode",
            "applicant",
            "company",
            "legalRepresentative",
            "shareholders",
            "entity",
            "change",
            "individual",
            "partnership",
            "partners",
        ],
    )?;
    text(tree, "caseNo")?;
    text(tree, "hallCode")?;
    date(tree, "acceptDate", "%Y-%m-%d")?;
    let item = text(tree, "itemCode")?;
    text(tree, "applicant.name")?;
    if one_of(tree, "applicant.kind", &["P", "E"])? == "E" {
        credit_code(tree, "applicant.creditCode")?;
    } else {
        one_of(
            tree,
            "applicant.idType",
            &["SFZ", "HZ", "GAJMLWNDTXZ", "TWJMLWDLTXZ"],
        )?;
        if text(tree, "applicant.idType")? == "SFZ" {
            resident_id(tree, "applicant.idNo")?;
        }
        one_of(tree, "applicant.gender", &["M", "F"])?;
        date(tree, "applicant.birthDate", "%Y-%m-%d")?;
    }
    match item {
        "market.company-establishment" => {
            text(tree, "company.name")?;
            text(tree, "company.typeCode")?;
            matches(
                tree,
                "company.registeredCapital",
                yuan,
                "must be yuan with two decimals",
            )?;
            matches(
                tree,
                "company.address.regionCode",
                |v| v.len() == 6 && v.chars().all(|c| c.is_ascii_digit()),
                "must be a 6-digit region code",
            )?;
            text(tree, "company.address.detail")?;
            text(tree, "legalRepresentative.name")?;
            resident_id(tree, "legalRepresentative.idNo")?;
            for (index, row) in rows(tree, "shareholders")?.iter().enumerate() {
                let at = |field: &str| format!("shareholders.{index}.{field}");
                text(row, "name").map_err(|r| refuse(&at("name"), &r.message))?;
                matches(
                    row,
                    "subscribedAmount",
                    yuan,
                    "must be yuan with two decimals",
                )
                .map_err(|r| refuse(&at("subscribedAmount"), &r.message))?;
                one_of(
                    row,
                    "contributionForm",
                    &["CURRENCY", "GOODS", "IP", "LAND", "EQUITY", "CREDITOR"],
                )
                .map_err(|r| refuse(&at("contributionForm"), &r.message))?;
                date(row, "dueDate", "%Y-%m-%d").map_err(|r| refuse(&at("dueDate"), &r.message))?;
            }
        }
        "market.sole-proprietor-registration" => {
            text(tree, "individual.operatorName")?;
            resident_id(tree, "individual.operatorIdNo")?;
            mobile(tree, "individual.mobile")?;
            region(tree, "individual.address.regionCode")?;
            text(tree, "individual.address.detail")?;
            text(tree, "individual.scope")?;
        }
        "market.partnership-establishment" => {
            text(tree, "partnership.name")?;
            one_of(tree, "partnership.typeCode", &["4531", "4532", "4533"])?;
            region(tree, "partnership.address.regionCode")?;
            for (index, row) in rows(tree, "partners")?.iter().enumerate() {
                let at = |field: &str| format!("partners.{index}.{field}");
                text(row, "name").map_err(|r| refuse(&at("name"), &r.message))?;
                matches(row, "contribution", yuan, "must be yuan with two decimals")
                    .map_err(|r| refuse(&at("contribution"), &r.message))?;
                one_of(row, "generalPartner", &["Y", "N"])
                    .map_err(|r| refuse(&at("generalPartner"), &r.message))?;
            }
        }
        "market.individual-to-company" | "market.deregistration" => {
            text(tree, "entity.name")?;
            credit_code(tree, "entity.creditCode")?;
        }
        "market.business-licence-change" => {
            text(tree, "entity.name")?;
            credit_code(tree, "entity.creditCode")?;
            text(tree, "change.description")?;
            date(tree, "change.resolutionDate", "%Y-%m-%d")?;
        }
        _ => return Err(refuse("itemCode", "is not an item this system approves")),
    }
    Ok(())
}

/// 社会保险经办系统: JSON, snake_case, dates yyyymmdd, GB/T 2261.1 sex codes.
pub fn social(tree: &Value) -> Result<(), Refusal> {
    only_keys(
        tree,
        &[
            "business_no",
            "accept_date",
            "handling_item",
            "person",
            "contact",
            "bank",
            "insurance",
            "unit",
            "staff",
        ],
    )?;
    text(tree, "business_no")?;
    date(tree, "accept_date", "%Y%m%d")?;
    match text(tree, "handling_item")? {
        "human-resources.flexible-employment-enrolment" => {
            text(tree, "person.family_name")?;
            text(tree, "person.given_name")?;
            one_of(tree, "person.cert_type", &["01"])?;
            resident_id(tree, "person.cert_no")?;
            one_of(tree, "person.sex", &["0", "1", "2", "9"])?;
            date(tree, "person.birth_date", "%Y%m%d")?;
            mobile(tree, "contact.mobile")?;
            text(tree, "bank.account")?;
            date(tree, "insurance.start_date", "%Y%m%d")?;
        }
        "human-resources.employer-social-insurance" => {
            text(tree, "unit.name")?;
            credit_code(tree, "unit.credit_code")?;
            if let Some(Value::Array(staff)) = get(tree, "staff") {
                for (index, row) in staff.iter().enumerate() {
                    resident_id(row, "cert_no")
                        .map_err(|r| refuse(&format!("staff.{index}.cert_no"), &r.message))?;
                    if !row.get("wage_fen").is_some_and(Value::is_u64) {
                        return Err(refuse(
                            &format!("staff.{index}.wage_fen"),
                            "must be a whole number of fen",
                        ));
                    }
                }
            }
        }
        "human-resources.resident-pension-enrolment" => {
            text(tree, "person.family_name")?;
            text(tree, "person.given_name")?;
            resident_id(tree, "person.cert_no")?;
            one_of(tree, "person.sex", &["0", "1", "2", "9"])?;
            date(tree, "person.birth_date", "%Y%m%d")?;
            mobile(tree, "contact.mobile")?;
            one_of(tree, "insurance.student", &["0", "1"])?;
        }
        _ => {
            return Err(refuse(
                "handling_item",
                "is not an item this system handles",
            ))
        }
    }
    Ok(())
}

/// 工程建设项目审批管理系统: XML, its own element names, money in fen.
pub fn construction(tree: &Value) -> Result<(), Refusal> {
    text(tree, "BanJianBianHao")?;
    date(tree, "ShouLiRiQi", "%Y-%m-%d")?;
    match text(tree, "ShiXiang")? {
        "housing-construction.construction-permit" => {
            text(tree, "JianSheDanWei.MingCheng")?;
            credit_code(tree, "JianSheDanWei.XinYongDaiMa")?;
            matches(
                tree,
                "GongCheng.HeTongJiaGeFen",
                |v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()),
                "must be a whole number of fen",
            )?;
            credit_code(tree, "ShiGongDanWei.XinYongDaiMa")?;
        }
        "housing-construction.completion-filing" => {
            text(tree, "JianSheDanWei.MingCheng")?;
            date(tree, "JunGongYanShouRiQi", "%Y%m%d")?;
            one_of(tree, "ZhuZhaiGongCheng", &["0", "1"])?;
        }
        "natural-resources.land-use-planning-permit"
        | "natural-resources.works-planning-permit" => {
            text(tree, "JianSheDanWei.MingCheng")?;
            credit_code(tree, "JianSheDanWei.XinYongDaiMa")?;
            text(tree, "XiangMuDaiMa")?;
            matches(
                tree,
                if get(tree, "YongDiMianJi").is_some() {
                    "YongDiMianJi"
                } else {
                    "GongCheng.MianJi"
                },
                |v| v.parse::<f64>().is_ok_and(|area| area > 0.0),
                "must be a positive area in square metres",
            )?;
        }
        _ => return Err(refuse("ShiXiang", "is not an item this system handles")),
    }
    Ok(())
}

/// 政务服务一体化平台办件交换 (the exchange platform in front of `system`):
/// JSON, the platform's envelope names, the form as entered under formData.
pub fn exchange(system: &str, tree: &Value) -> Result<(), Refusal> {
    only_keys(
        tree,
        &[
            "projid",
            "taskCode",
            "taskVersion",
            "receiveDate",
            "promiseDate",
            "windowNo",
            "userProp",
            "applyName",
            "userPageType",
            "certNo",
            "creditCode",
            "mobile",
            "formData",
        ],
    )?;
    text(tree, "projid")?;
    let item_prefix = crate::EXCHANGE_SYSTEMS
        .iter()
        .find(|(id, _, _)| *id == system)
        .map(|(_, _, prefix)| *prefix)
        .ok_or_else(|| refuse("", "unknown system"))?;
    matches(
        tree,
        "taskCode",
        |code| code.starts_with(item_prefix) && code.len() > item_prefix.len(),
        "is not an item of this department",
    )?;
    if !get(tree, "taskVersion").is_some_and(Value::is_u64) {
        return Err(refuse("taskVersion", "must be a whole number"));
    }
    date(tree, "receiveDate", "%Y-%m-%d")?;
    if get(tree, "promiseDate").is_some() {
        date(tree, "promiseDate", "%Y-%m-%d")?;
    }
    text(tree, "windowNo")?;
    text(tree, "applyName")?;
    match text(tree, "userProp")? {
        "1" => {
            // GA/T 2000.156 certificate types the platform takes.
            one_of(tree, "userPageType", &["111", "414", "511", "516", "553"])?;
            if text(tree, "userPageType")? == "111" {
                resident_id(tree, "certNo")?;
            } else {
                text(tree, "certNo")?;
            }
        }
        "2" => credit_code(tree, "creditCode")?,
        _ => {
            return Err(refuse(
                "userProp",
                "must be 1 (natural person) or 2 (legal person)",
            ))
        }
    }
    if get(tree, "mobile").is_some() {
        mobile(tree, "mobile")?;
    }
    let Some(form) = get(tree, "formData").and_then(Value::as_object) else {
        return Err(refuse("formData", "must be an object of the form's fields"));
    };
    for (key, value) in form {
        if value.is_null() {
            return Err(refuse(
                &format!("formData.{key}"),
                "must not be null; leave the field out",
            ));
        }
    }
    Ok(())
}

fn mobile(tree: &Value, path: &str) -> Result<(), Refusal> {
    matches(
        tree,
        path,
        |v| v.len() == 11 && v.starts_with('1') && v.chars().all(|c| c.is_ascii_digit()),
        "must be an 11-digit mobile number",
    )
}

fn region(tree: &Value, path: &str) -> Result<(), Refusal> {
    matches(
        tree,
        path,
        |v| v.len() == 6 && v.chars().all(|c| c.is_ascii_digit()),
        "must be a 6-digit region code",
    )
}

/// Reads an XML document into a tree of objects and text (repeated
/// elements become lists); the root element's name is returned beside it.
pub fn xml_tree(body: &str) -> Result<(String, Value), Refusal> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                stack.push((name, Map::new(), String::new()));
            }
            Ok(Event::Text(text)) => {
                if let Some(top) = stack.last_mut() {
                    let decoded = text
                        .decode()
                        .map_err(|error| refuse("", &format!("bad XML text: {error}")))?;
                    let unescaped = quick_xml::escape::unescape(&decoded)
                        .map_err(|error| refuse("", &format!("bad XML text: {error}")))?;
                    top.2.push_str(&unescaped);
                }
            }
            Ok(Event::End(_)) => {
                let Some((name, children, text)) = stack.pop() else {
                    return Err(refuse("", "unbalanced XML"));
                };
                let value = if children.is_empty() {
                    Value::String(text)
                } else {
                    Value::Object(children)
                };
                match stack.last_mut() {
                    Some(parent) => match parent.1.get_mut(&name) {
                        Some(Value::Array(items)) => items.push(value),
                        Some(existing) => {
                            let first = existing.take();
                            *existing = Value::Array(vec![first, value]);
                        }
                        None => {
                            parent.1.insert(name, value);
                        }
                    },
                    None => root = Some((name, value)),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => return Err(refuse("", &format!("not well-formed XML: {error}"))),
        }
    }
    root.ok_or_else(|| refuse("", "empty XML document"))
}
