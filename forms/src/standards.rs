//! Data standards of the back-office systems: one file per system in
//! `forms/standards/`, declaring its endpoints, auth, payload format (JSON or
//! XML) and how the unified intake (applicant, case, field values) maps to
//! its payload: renames and nesting, date formats, code translation, split
//! and join, constants, values derived from the ID number, money units and
//! repeat groups.
//!
//! Files are validated against the catalogue when they load (every error
//! with file:line:column). Mapping an intake returns the payload, or every
//! value that could not be mapped, each naming the source field, the target
//! field and the reason in zh-CN and English. Pure: no I/O beyond reading
//! the folder it is pointed at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use toml::Spanned;

use crate::catalog::{Catalog, Field, FieldType, Item};
use crate::error::{FormsError, SourceError};
use crate::form::ApplicantProfile;
use crate::identifiers::{check_resident_id, Sex};
use crate::loader::{parse, read_sources, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    Json,
    Xml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    Bearer,
}

/// Endpoint paths of one system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub submit: String,
    pub status: String,
    /// Withdraws submissions of a terminated case (JSON: `receipts`, or the
    /// submission's `submissionKey` when its answer never came, and a
    /// `reason`). A system without one gets its withdrawals by phone.
    #[serde(default)]
    pub withdraw: Option<String>,
    /// Tells the system that the materials it asked for (a case in
    /// `supplement_requested`) were handed in (JSON: `receipts`, `caseNo`,
    /// `note`); it takes the case up again.
    #[serde(default)]
    pub supplement: Option<String>,
    /// A person look-up: with `{id}` the ID number is in the path (GET);
    /// without, it is sent as `{"idNumber": …}` in a POST body, so it never
    /// appears in an address.
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub licence: Option<String>,
    /// The day's bookings for a hall (`{hall}`, `{day}`), where the system
    /// runs the province's appointment service.
    #[serde(default)]
    pub appointments: Option<String>,
}

impl Endpoints {
    /// The paths with `{system}` replaced by a system's id (for a standard
    /// shared by several systems through one exchange platform).
    fn for_system(&self, system: &str) -> Endpoints {
        let path = |text: &String| text.replace("{system}", system);
        Endpoints {
            submit: path(&self.submit),
            status: path(&self.status),
            withdraw: self.withdraw.as_ref().map(path),
            supplement: self.supplement.as_ref().map(path),
            person: self.person.as_ref().map(path),
            entity: self.entity.as_ref().map(path),
            licence: self.licence.as_ref().map(path),
            appointments: self.appointments.as_ref().map(path),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derive {
    BirthDate,
    Sex,
    Region,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    FamilyName,
    GivenName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyUnit {
    Fen,
    Yuan,
}

#[derive(Debug, Clone, Deserialize)]
struct RawRule {
    target: Spanned<String>,
    source: Option<Spanned<String>>,
    constant: Option<toml::Value>,
    join: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    separator: String,
    derive: Option<Derive>,
    split: Option<Split>,
    date_format: Option<Spanned<String>>,
    codes: Option<Spanned<BTreeMap<String, String>>>,
    money: Option<MoneyUnit>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
struct RawItemRules {
    id: Spanned<String>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
struct RawStandard {
    /// The one system this standard is for ...
    system: Option<Spanned<String>>,
    /// ... or the systems that receive cases through one exchange standard.
    systems: Option<Spanned<Vec<String>>>,
    /// Every item of the systems is accepted with the system-wide rules
    /// alone (an exchange standard that carries the form as it is).
    #[serde(default)]
    all_items: bool,
    name_zh: String,
    format: PayloadFormat,
    xml_root: Option<String>,
    #[serde(default = "bearer")]
    auth: AuthKind,
    endpoints: Endpoints,
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    item: Vec<RawItemRules>,
}

fn bearer() -> AuthKind {
    AuthKind::Bearer
}

/// Where a rule takes its value from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    Source(String),
    Constant(Value),
    Join(Vec<String>, String),
}

/// One checked mapping rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub target: Vec<String>,
    pub from: RuleSource,
    pub derive: Option<Derive>,
    pub split: Option<Split>,
    pub date_format: Option<String>,
    pub codes: Option<BTreeMap<String, String>>,
    pub money: Option<MoneyUnit>,
    pub optional: bool,
    /// For repeat groups: the rules applied to each row.
    pub rows: Vec<Rule>,
}

/// One system's data standard.
#[derive(Debug, Clone, Serialize)]
pub struct Standard {
    pub system: String,
    pub name_zh: String,
    pub format: PayloadFormat,
    pub xml_root: Option<String>,
    pub auth: AuthKind,
    pub endpoints: Endpoints,
    pub rules: Vec<Rule>,
    pub item_rules: BTreeMap<String, Vec<Rule>>,
}

/// The standards of every system, by system id.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Standards {
    pub systems: BTreeMap<String, Standard>,
}

const CASE_KEYS: &[&str] = &[
    "case_id",
    "case_number",
    "accepted_on",
    "window",
    "hall_code",
    "item_id",
    "item_version",
    "promised_completion",
];

/// Loads `forms/standards/*.toml` and checks it against `catalog`.
pub fn load_standards(dir: &Path, catalog: &Catalog) -> Result<Standards, FormsError> {
    let mut errors = Vec::new();
    let sources = read_sources(dir, &mut errors);
    if sources.is_empty() && errors.is_empty() {
        errors.push(SourceError::file(
            dir,
            "no data-standard files (*.toml) found",
        ));
    }
    let mut standards = Standards::default();
    for source in &sources {
        let Some(raw) = parse::<RawStandard>(source, &mut errors) else {
            continue;
        };
        let (systems, at) = match (&raw.system, &raw.systems) {
            (Some(system), None) => (vec![system.get_ref().clone()], system.span().start),
            (None, Some(systems)) if !systems.get_ref().is_empty() => {
                (systems.get_ref().clone(), systems.span().start)
            }
            _ => {
                errors.push(source.error_at(
                    0,
                    "name the back office: either `system = \"id\"` or `systems = [\"id\", ...]`",
                ));
                continue;
            }
        };
        let mut known = Vec::new();
        for system in &systems {
            if !catalog.systems.contains_key(system) {
                errors.push(source.error_at(at, format!("unknown back-office system `{system}`")));
            } else if standards.systems.contains_key(system) || known.contains(system) {
                errors
                    .push(source.error_at(at, format!("system `{system}` has a second standard")));
            } else {
                known.push(system.clone());
            }
        }
        if raw.format == PayloadFormat::Xml
            && raw.xml_root.as_deref().is_none_or(|root| !is_name(root))
        {
            errors.push(source.error_at(at, "an XML standard needs `xml_root`, an element name"));
        }
        let mut checker = RuleChecker {
            source,
            errors: &mut errors,
        };
        let rules = checker.rules(&raw.rule, None, None);
        let mut item_rules: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
        if raw.all_items {
            for item in catalog
                .items
                .iter()
                .filter(|item| known.contains(&item.back_office))
            {
                item_rules.insert(item.id.clone(), Vec::new());
            }
        }
        for section in &raw.item {
            let id = section.id.get_ref();
            match catalog.item(id) {
                Some(item) if systems.contains(&item.back_office) => {
                    let mut checker = RuleChecker {
                        source,
                        errors: &mut errors,
                    };
                    item_rules.insert(
                        id.clone(),
                        checker.rules(&section.rule, Some(&item.fields), None),
                    );
                }
                Some(item) => errors.push(source.error_at(
                    section.id.span().start,
                    format!(
                        "item `{id}` goes to `{}`, not to {}",
                        item.back_office,
                        systems.join(", ")
                    ),
                )),
                None => errors
                    .push(source.error_at(section.id.span().start, format!("unknown item `{id}`"))),
            }
        }
        for system in known {
            let own_items = item_rules
                .iter()
                .filter(|(id, _)| {
                    catalog
                        .item(id)
                        .is_some_and(|item| item.back_office == system)
                })
                .map(|(id, rules)| (id.clone(), rules.clone()))
                .collect();
            standards.systems.insert(
                system.clone(),
                Standard {
                    endpoints: raw.endpoints.for_system(&system),
                    system,
                    name_zh: raw.name_zh.clone(),
                    format: raw.format,
                    xml_root: raw.xml_root.clone(),
                    auth: raw.auth,
                    rules: rules.clone(),
                    item_rules: own_items,
                },
            );
        }
    }
    if errors.is_empty() {
        Ok(standards)
    } else {
        Err(FormsError::Load(errors))
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

struct RuleChecker<'a, 'b> {
    source: &'a Source,
    errors: &'b mut Vec<SourceError>,
}

impl RuleChecker<'_, '_> {
    /// Checks rules; `fields` are the item's fields (None: system-wide
    /// rules, which may not read fields); `row` the group's row fields.
    fn rules(
        &mut self,
        raw: &[RawRule],
        fields: Option<&[Field]>,
        row: Option<&[Field]>,
    ) -> Vec<Rule> {
        let mut out = Vec::new();
        let mut targets = BTreeSet::new();
        for rule in raw {
            let at = rule.target.span().start;
            let target: Vec<String> = rule
                .target
                .get_ref()
                .split('.')
                .map(str::to_owned)
                .collect();
            if !target.iter().all(|segment| is_name(segment)) {
                self.errors.push(self.source.error_at(
                    at,
                    format!(
                        "target `{}` must be names joined by dots",
                        rule.target.get_ref()
                    ),
                ));
                continue;
            }
            if !targets.insert(rule.target.get_ref().clone()) {
                self.errors.push(self.source.error_at(
                    at,
                    format!("target `{}` is mapped twice", rule.target.get_ref()),
                ));
                continue;
            }
            let from = match (&rule.source, &rule.constant, &rule.join) {
                (Some(source), None, None) => {
                    let kind = self.source_kind(source, fields, row);
                    if let Some(kind) = kind.as_ref() {
                        self.check_modifiers(rule, kind, fields);
                    }
                    RuleSource::Source(source.get_ref().clone())
                }
                (None, Some(constant), None) => {
                    RuleSource::Constant(serde_json::to_value(constant).unwrap_or(Value::Null))
                }
                (None, None, Some(parts)) => {
                    for part in parts.get_ref() {
                        let spanned = Spanned::new(parts.span(), part.clone());
                        self.source_kind(&spanned, fields, row);
                    }
                    RuleSource::Join(parts.get_ref().clone(), rule.separator.clone())
                }
                _ => {
                    self.errors.push(self.source.error_at(
                        at,
                        format!(
                            "`{}` needs exactly one of source, constant or join",
                            rule.target.get_ref()
                        ),
                    ));
                    continue;
                }
            };
            let rows = if rule.rule.is_empty() {
                Vec::new()
            } else {
                let group = match (&rule.source, fields) {
                    (Some(source), Some(fields)) => {
                        source.get_ref().strip_prefix("field.").and_then(|id| {
                            fields.iter().find(|field| {
                                field.id == id && field.field_type == FieldType::Group
                            })
                        })
                    }
                    _ => None,
                };
                match group {
                    Some(group) => self.rules(&rule.rule, fields, Some(&group.children)),
                    None => {
                        self.errors.push(self.source.error_at(
                            at,
                            format!(
                                "`{}`: row rules need a repeat group as source",
                                rule.target.get_ref()
                            ),
                        ));
                        Vec::new()
                    }
                }
            };
            if let Some(format) = &rule.date_format {
                let sample = NaiveDate::from_ymd_opt(2026, 1, 2)
                    .expect("valid")
                    .format(format.get_ref());
                if std::panic::catch_unwind(|| sample.to_string()).is_err()
                    || format.get_ref().is_empty()
                {
                    self.errors.push(self.source.error_at(
                        format.span().start,
                        format!("`{}` is not a date format", format.get_ref()),
                    ));
                }
            }
            if let Some(codes) = &rule.codes {
                if codes.get_ref().is_empty() {
                    self.errors.push(
                        self.source
                            .error_at(codes.span().start, "the code translation is empty"),
                    );
                }
            }
            out.push(Rule {
                target,
                from,
                derive: rule.derive,
                split: rule.split,
                date_format: rule
                    .date_format
                    .as_ref()
                    .map(|format| format.get_ref().clone()),
                codes: rule.codes.as_ref().map(|codes| codes.get_ref().clone()),
                money: rule.money,
                optional: rule.optional,
                rows,
            });
        }
        out
    }

    /// The type of a source, or `None` (with an error) if it does not exist.
    fn source_kind(
        &mut self,
        source: &Spanned<String>,
        fields: Option<&[Field]>,
        row: Option<&[Field]>,
    ) -> Option<FieldType> {
        let text = source.get_ref();
        let at = source.span().start;
        let (scope, rest) = text.split_once('.').unwrap_or((text.as_str(), ""));
        let found = match scope {
            "applicant"
                if crate::expression::PROFILE_KEYS
                    .iter()
                    .any(|(key, _)| *key == rest) =>
            {
                Some(if rest == "id_number" {
                    FieldType::ResidentId
                } else {
                    FieldType::Text
                })
            }
            "case" if CASE_KEYS.contains(&rest) => Some(FieldType::Text),
            // The whole form as entered (exchange standards carry it as is).
            "fields" if rest.is_empty() && row.is_none() => Some(FieldType::Group),
            "field" => {
                match fields {
                    None => {
                        self.errors.push(self.source.error_at(at, format!("`{text}`: system-wide rules cannot read fields; put it under [[item]]")));
                        return None;
                    }
                    Some(fields) => {
                        let (id, part) = rest.split_once('.').unwrap_or((rest, ""));
                        match fields.iter().find(|field| field.id == id) {
                            Some(field) if part.is_empty() => Some(field.field_type.clone()),
                            Some(field)
                                if field.field_type == FieldType::Address
                                    && matches!(part, "region_code" | "detail") =>
                            {
                                Some(FieldType::Text)
                            }
                            _ => None,
                        }
                    }
                }
            }
            "row" => row.and_then(|children| {
                children
                    .iter()
                    .find(|child| child.id == rest)
                    .map(|child| child.field_type.clone())
            }),
            _ => None,
        };
        if found.is_none() {
            self.errors
                .push(self.source.error_at(at, format!("unknown source `{text}`")));
        }
        found
    }

    fn check_modifiers(&mut self, rule: &RawRule, kind: &FieldType, _fields: Option<&[Field]>) {
        let at = rule.target.span().start;
        let target = rule.target.get_ref();
        if rule.derive.is_some() && *kind != FieldType::ResidentId {
            self.errors.push(self.source.error_at(
                at,
                format!("`{target}`: derive needs a resident ID number as source"),
            ));
        }
        if rule.money.is_some() && *kind != FieldType::Money {
            self.errors.push(self.source.error_at(
                at,
                format!("`{target}`: money units apply to money fields only"),
            ));
        }
        if rule.date_format.is_some()
            && !matches!(kind, FieldType::Date)
            && rule.derive != Some(Derive::BirthDate)
            && !matches!(kind, FieldType::Text)
        {
            self.errors.push(
                self.source
                    .error_at(at, format!("`{target}`: date_format applies to dates")),
            );
        }
        if !rule.rule.is_empty() && *kind != FieldType::Group {
            self.errors.push(self.source.error_at(
                at,
                format!("`{target}`: row rules need a repeat group as source"),
            ));
        }
    }
}

/// The case facts a payload may carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseFacts {
    pub case_id: String,
    pub case_number: String,
    pub accepted_on: Option<NaiveDate>,
    pub window: String,
    pub hall_code: String,
    pub promised_completion: Option<NaiveDate>,
}

/// One item of an intake, as the sync engine hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnifiedIntake {
    pub case: CaseFacts,
    pub applicant: ApplicantProfile,
    pub item_id: String,
    pub item_version: u32,
    pub values: Map<String, Value>,
}

/// A value that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingError {
    pub source: String,
    pub target: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// A payload ready to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    pub format: PayloadFormat,
    pub content_type: &'static str,
    pub body: String,
    /// The same payload as a JSON tree (also for XML systems), for tests and logs.
    pub tree: Value,
}

impl Standard {
    /// Maps one item of an intake; every problem is returned at once.
    pub fn map(
        &self,
        intake: &UnifiedIntake,
        today: NaiveDate,
    ) -> Result<Payload, Vec<MappingError>> {
        let mut tree = Map::new();
        let mut errors = Vec::new();
        let item_rules = self.item_rules.get(&intake.item_id);
        if item_rules.is_none() {
            errors.push(MappingError {
                source: intake.item_id.clone(),
                target: self.system.clone(),
                reason_zh: format!("{}没有为事项 {} 定义数据标准", self.name_zh, intake.item_id),
                reason_en: format!(
                    "{} has no data standard for item {}",
                    self.system, intake.item_id
                ),
            });
        }
        let context = Context {
            intake,
            row: None,
            today,
        };
        for rule in self.rules.iter().chain(item_rules.into_iter().flatten()) {
            apply(rule, &context, &mut tree, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let tree = Value::Object(tree);
        let body = match self.format {
            PayloadFormat::Json => tree.to_string(),
            PayloadFormat::Xml => to_xml(self.xml_root.as_deref().unwrap_or("Application"), &tree),
        };
        Ok(Payload {
            format: self.format,
            content_type: match self.format {
                PayloadFormat::Json => "application/json",
                PayloadFormat::Xml => "application/xml",
            },
            body,
            tree,
        })
    }
}

struct Context<'a> {
    intake: &'a UnifiedIntake,
    row: Option<&'a Map<String, Value>>,
    today: NaiveDate,
}

impl Context<'_> {
    fn read(&self, source: &str) -> Option<Value> {
        let (scope, rest) = source.split_once('.').unwrap_or((source, ""));
        let value = match scope {
            "applicant" => self.intake.applicant.value(rest, self.today),
            "case" => {
                let case = &self.intake.case;
                match rest {
                    "case_id" => Some(Value::from(case.case_id.clone())),
                    "case_number" => Some(Value::from(case.case_number.clone())),
                    "accepted_on" => case.accepted_on.map(|date| Value::from(date.to_string())),
                    "window" => Some(Value::from(case.window.clone())),
                    "hall_code" => Some(Value::from(case.hall_code.clone())),
                    "item_id" => Some(Value::from(self.intake.item_id.clone())),
                    "item_version" => Some(Value::from(self.intake.item_version)),
                    "promised_completion" => case
                        .promised_completion
                        .map(|date| Value::from(date.to_string())),
                    _ => None,
                }
            }
            "field" => {
                let (id, part) = rest.split_once('.').unwrap_or((rest, ""));
                let value = self.intake.values.get(id)?;
                if part.is_empty() {
                    Some(value.clone())
                } else {
                    value.get(part).cloned()
                }
            }
            "fields" => Some(Value::Object(self.intake.values.clone())),
            "row" => self.row.and_then(|row| row.get(rest).cloned()),
            _ => None,
        }?;
        match &value {
            Value::Null => None,
            Value::String(text) if text.trim().is_empty() => None,
            _ => Some(value),
        }
    }
}

fn fail(
    errors: &mut Vec<MappingError>,
    source: &str,
    rule: &Rule,
    reason_zh: String,
    reason_en: String,
) {
    errors.push(MappingError {
        source: source.to_owned(),
        target: rule.target.join("."),
        reason_zh,
        reason_en,
    });
}

fn apply(
    rule: &Rule,
    context: &Context,
    tree: &mut Map<String, Value>,
    errors: &mut Vec<MappingError>,
) {
    let (label, value) = match &rule.from {
        RuleSource::Constant(value) => ("constant".to_owned(), Some(value.clone())),
        RuleSource::Join(parts, separator) => {
            let texts: Vec<String> = parts
                .iter()
                .filter_map(|part| context.read(part))
                .map(|value| text_of(&value))
                .collect();
            (
                parts.join("+"),
                (!texts.is_empty()).then(|| Value::from(texts.join(separator))),
            )
        }
        RuleSource::Source(source) => (source.clone(), context.read(source)),
    };
    let Some(mut value) = value else {
        if !rule.optional {
            fail(
                errors,
                &label,
                rule,
                format!("缺少“{label}”，无法填写“{}”", rule.target.join(".")),
                format!(
                    "`{label}` is empty, so `{}` cannot be filled",
                    rule.target.join(".")
                ),
            );
        }
        return;
    };
    if !rule.rows.is_empty() {
        let Some(rows) = value.as_array() else {
            return fail(
                errors,
                &label,
                rule,
                "应为多行列表".into(),
                "is not a list of rows".into(),
            );
        };
        let mut mapped = Vec::new();
        for row in rows {
            let Some(cells) = row.as_object() else {
                continue;
            };
            let row_context = Context {
                intake: context.intake,
                row: Some(cells),
                today: context.today,
            };
            let mut row_tree = Map::new();
            for child in &rule.rows {
                apply(child, &row_context, &mut row_tree, errors);
            }
            mapped.push(Value::Object(row_tree));
        }
        insert(tree, &rule.target, Value::Array(mapped));
        return;
    }
    if let Some(derive) = rule.derive {
        let Some(id) = value
            .as_str()
            .and_then(|text| check_resident_id(text, context.today).ok())
        else {
            return fail(
                errors,
                &label,
                rule,
                "不是有效的公民身份号码".into(),
                "is not a valid resident ID number".into(),
            );
        };
        value = match derive {
            Derive::BirthDate => Value::from(
                id.birth_date
                    .format(rule.date_format.as_deref().unwrap_or("%Y-%m-%d"))
                    .to_string(),
            ),
            Derive::Sex => Value::from(match id.sex {
                Sex::Male => "1",
                Sex::Female => "2",
            }),
            Derive::Region => Value::from(id.region_code),
        };
    } else if let Some(format) = &rule.date_format {
        match value
            .as_str()
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        {
            Some(date) => value = Value::from(date.format(format).to_string()),
            None => {
                return fail(
                    errors,
                    &label,
                    rule,
                    "不是有效日期".into(),
                    "is not a valid date".into(),
                )
            }
        }
    }
    if let Some(split) = rule.split {
        let name = text_of(&value);
        let (family, given) = split_name(&name);
        value = Value::from(match split {
            Split::FamilyName => family,
            Split::GivenName => given,
        });
    }
    if let Some(unit) = rule.money {
        match money_in_fen(&value) {
            Some(fen) => {
                value = match unit {
                    MoneyUnit::Fen => Value::from(fen),
                    MoneyUnit::Yuan => Value::from(format!("{}.{:02}", fen / 100, fen % 100)),
                }
            }
            None => {
                return fail(
                    errors,
                    &label,
                    rule,
                    "不是有效金额".into(),
                    "is not a valid amount".into(),
                )
            }
        }
    }
    if let Some(codes) = &rule.codes {
        let code = text_of(&value);
        match codes.get(&code) {
            Some(translated) => value = Value::from(translated.clone()),
            None => {
                return fail(
                    errors,
                    &label,
                    rule,
                    format!("代码“{code}”在该部门的代码表中没有对应值"),
                    format!("code `{code}` has no counterpart in this system's code table"),
                )
            }
        }
    }
    insert(tree, &rule.target, value);
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim().to_owned(),
        other => other.to_string(),
    }
}

/// Amount in fen from yuan written as a number or text with at most two decimals.
pub fn money_in_fen(value: &Value) -> Option<i64> {
    let text = text_of(value);
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// Common two-character surnames (复姓); otherwise the first character.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "端木", "南宫", "独孤",
];

/// Splits a Chinese name into family and given name.
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    let family_length = if COMPOUND_SURNAMES
        .iter()
        .any(|surname| name.starts_with(surname))
        && name.chars().count() > 2
    {
        2
    } else {
        1
    };
    let family: String = name.chars().take(family_length).collect();
    let given: String = name.chars().skip(family_length).collect();
    (family, given)
}

fn insert(tree: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = tree;
    for segment in parents {
        let entry = node
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = entry.as_object_mut().expect("made an object above");
    }
    node.insert(last.clone(), value);
}

/// Writes a JSON tree as XML: objects become elements, arrays repeat their
/// element, text is escaped.
pub fn to_xml(root: &str, tree: &Value) -> String {
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let mut writer = quick_xml::Writer::new(Vec::new());
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    fn element(writer: &mut quick_xml::Writer<Vec<u8>>, name: &str, value: &Value) {
        match value {
            Value::Array(items) => {
                for item in items {
                    element(writer, name, item);
                }
            }
            Value::Object(children) => {
                let _ = writer.write_event(Event::Start(BytesStart::new(name)));
                for (child, value) in children {
                    element(writer, child, value);
                }
                let _ = writer.write_event(Event::End(BytesEnd::new(name)));
            }
            other => {
                let _ = writer.write_event(Event::Start(BytesStart::new(name)));
                let _ = writer.write_event(Event::Text(BytesText::new(&text_of(other))));
                let _ = writer.write_event(Event::End(BytesEnd::new(name)));
            }
        }
    }
    element(&mut writer, root, tree);
    String::from_utf8(writer.into_inner()).expect("XML from UTF-8 text is UTF-8")
}

/// The items of `catalog` that go to `system` (for contract tests).
pub fn items_of<'a>(catalog: &'a Catalog, system: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
    catalog
        .items
        .iter()
        .filter(move |item| item.back_office == system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_with_compound_surnames() {
        assert_eq!(split_name("张三"), ("张".into(), "三".into()));
        assert_eq!(split_name("欧阳修文"), ("欧阳".into(), "修文".into()));
        assert_eq!(split_name("欧阳"), ("欧".into(), "阳".into()));
    }

    #[test]
    fn money_converts_exactly() {
        assert_eq!(money_in_fen(&Value::from("1000000.00")), Some(100_000_000));
        assert_eq!(money_in_fen(&Value::from("12.5")), Some(1250));
        assert_eq!(money_in_fen(&serde_json::json!(600000)), Some(60_000_000));
        assert_eq!(money_in_fen(&Value::from("12.345")), None);
        assert_eq!(money_in_fen(&Value::from("-1")), None);
    }

    #[test]
    fn xml_nests_and_escapes() {
        let tree = serde_json::json!({ "Name": "A & B <c>", "Rows": [{ "X": 1 }, { "X": 2 }] });
        let xml = to_xml("Root", &tree);
        assert!(xml.contains("<Name>A &amp; B &lt;c&gt;</Name>"), "{xml}");
        assert!(
            xml.contains("<Rows><X>1</X></Rows><Rows><X>2</X></Rows>"),
            "{xml}"
        );
    }
}
