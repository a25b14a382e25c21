//! The service-item catalogue (事项清单) as the rest of the workstation sees
//! it: departments, back-office systems, code tables, items with their
//! fields and materials, and bundles (一件事).
//!
//! Everything here is already validated: a `Catalog` only exists if every
//! reference resolved and every rule type-checked (see [`crate::loader`]).
//! This module never reads files itself.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calendar::TimeLimit;
use crate::expression::Expression;

/// Category of the front-desk window (综合窗口分类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 经济发展类
    Economic,
    /// 社会事务类
    Social,
    /// 建设项目类
    Construction,
}

/// 即办件 (decided on the spot) or 承诺件 (promised within a time limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Immediate,
    Promised,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Active,
    Suspended,
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantType {
    NaturalPerson,
    LegalPerson,
}

/// A period that does not count toward the time limit (hearing, on-site
/// inspection, expert review ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludedPeriod {
    pub name_zh: String,
    pub name_en: String,
    /// The longest such a period may run, when the item's rules say.
    #[serde(default)]
    pub max: Option<TimeLimit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub name_zh: String,
    pub name_en: String,
    /// Amount in fen (1 yuan = 100 fen).
    pub amount_fen: u64,
    pub basis_zh: String,
}

/// Original, copy, both, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginalOrCopy {
    Original,
    Copy,
    OriginalAndCopy,
    OriginalOrCopy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialForm {
    Paper,
    Electronic,
    Both,
}

/// Required, optional, or may be supplied later (容缺后补).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Necessity {
    Required,
    Optional,
    SupplyLater,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialSource {
    Applicant,
    Government,
    Other,
}

/// One material of an item's list (申请材料).
#[derive(Debug, Clone, Serialize)]
pub struct Material {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub original_or_copy: OriginalOrCopy,
    pub copies: u32,
    pub paper_size: Option<String>,
    pub form: MaterialForm,
    pub necessity: Necessity,
    pub source: MaterialSource,
    /// The e-licence type the licence store can supply this material as.
    pub elicence_type: Option<String>,
    /// 受理标准: what makes the material acceptable.
    pub standard_zh: String,
    /// The legal basis a notice cites for this material.
    pub basis_zh: Option<String>,
    /// Where the applicant gets it, for the one-time notice.
    pub where_to_get_zh: Option<String>,
    pub blank_form: Option<String>,
    pub sample: Option<String>,
    /// For 容缺后补 materials: working days allowed to supply it.
    pub supply_within_days: Option<u32>,
    /// When the material applies (e.g. only when an agent applies).
    #[serde(skip)]
    pub applies_when: Option<Expression>,
}

/// The type of an intake field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "code_table")]
pub enum FieldType {
    Text,
    LongText,
    Integer,
    Decimal,
    /// Yuan with at most two decimals.
    Money,
    Date,
    YesNo,
    /// One code from a code table.
    Choice(String),
    /// Several codes from a code table.
    MultiChoice(String),
    ResidentId,
    CreditCode,
    Phone,
    /// An address with an administrative region code.
    Address,
    /// A reference to an e-licence in the licence store.
    ElicenceReference,
    /// A reference to an attached scan.
    AttachmentReference,
    /// A repeat group: rows of the child fields.
    Group,
}

/// When a field must be filled in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Optional,
    Required,
    #[serde(serialize_with = "serialize_expression")]
    RequiredWhen(Expression),
}

fn serialize_expression<S: serde::Serializer>(
    expression: &Expression,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(expression.source())
}

/// A rule that a filled-in value must satisfy, with its message.
#[derive(Debug, Clone, Serialize)]
pub struct Constraint {
    #[serde(serialize_with = "serialize_expression")]
    pub rule: Expression,
    pub message_zh: String,
    pub message_en: String,
}

/// One field of an intake form.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    #[serde(flatten)]
    pub field_type: FieldType,
    pub requirement: Requirement,
    pub constraints: Vec<Constraint>,
    /// Skip logic: the field is asked only when this holds.
    #[serde(serialize_with = "serialize_optional_expression")]
    pub relevant: Option<Expression>,
    /// A calculated value, filled in by the engine.
    #[serde(serialize_with = "serialize_optional_expression")]
    pub calculate: Option<Expression>,
    /// A profile key whose value fills the field by default (`applicant.phone`).
    pub default_from: Option<String>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub help_zh: Option<String>,
    /// For groups: the fields of one row, and the row limits.
    pub children: Vec<Field>,
    pub min_rows: u32,
    pub max_rows: Option<u32>,
}

fn serialize_optional_expression<S: serde::Serializer>(
    expression: &Option<Expression>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match expression {
        Some(expression) => serializer.serialize_some(expression.source()),
        None => serializer.serialize_none(),
    }
}

/// One service item.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The catalogue's own stable id (`market.company-establishment`).
    pub id: String,
    pub basic_code: String,
    pub implementation_code: String,
    pub handling_code: String,
    pub version: u32,
    pub status: ItemStatus,
    pub name_zh: String,
    pub name_en: String,
    pub category: Category,
    pub department: String,
    pub kind: ItemKind,
    pub statutory_limit: TimeLimit,
    pub promised_limit: TimeLimit,
    pub conditions_zh: Vec<String>,
    pub legal_basis_zh: Vec<String>,
    pub fees: Vec<Fee>,
    pub visits: u32,
    pub applicant_types: Vec<ApplicantType>,
    pub excluded_periods: Vec<ExcludedPeriod>,
    /// The back-office system that approves it.
    pub back_office: String,
    /// Whether a supervisor reviews the case before it goes to the back office.
    pub review_before_handoff: bool,
    /// False for items another body handles: the window does not accept them.
    pub handled_here: bool,
    /// For items not handled here: who does.
    pub competent_body_zh: Option<String>,
    /// Where the facts come from (the catalogue's source tags).
    pub source: Option<String>,
    pub fields: Vec<Field>,
    pub materials: Vec<Material>,
}

impl Item {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.id == id)
    }

    pub fn material(&self, id: &str) -> Option<&Material> {
        self.materials.iter().find(|material| material.id == id)
    }
}

/// A field or material of a bundle asked once and copied into the items.
#[derive(Debug, Clone, Serialize)]
pub struct SharedElement {
    pub id: String,
    /// `(item id, field or material id)` pairs it stands for.
    pub maps_to: Vec<(String, String)>,
}

/// A bundle (一件事): items across departments taken in one intake.
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    pub id: String,
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    pub category: Category,
    pub description_zh: String,
    pub items: Vec<String>,
    pub shared_fields: Vec<SharedElement>,
    pub shared_materials: Vec<SharedElement>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// Short name for document numbers (e.g. 市监).
    pub short_name_zh: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackOfficeSystem {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub department: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeEntry {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeTable {
    pub id: String,
    pub name_zh: String,
    pub standard: String,
    pub entries: Vec<CodeEntry>,
}

impl CodeTable {
    pub fn entry(&self, code: &str) -> Option<&CodeEntry> {
        self.entries.iter().find(|entry| entry.code == code)
    }
}

/// A loaded, validated catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub version: String,
    pub name_zh: String,
    /// True for the shipped sample catalogue: never mistaken for real data.
    pub sample: bool,
    pub departments: BTreeMap<String, Department>,
    pub systems: BTreeMap<String, BackOfficeSystem>,
    pub code_tables: BTreeMap<String, CodeTable>,
    pub items: Vec<Item>,
    pub bundles: Vec<Bundle>,
    /// Earlier versions of items (from `history/`), for drafts pinned to them.
    #[serde(skip)]
    pub history: BTreeMap<(String, u32), Item>,
    #[serde(skip)]
    pub(crate) item_index: BTreeMap<String, usize>,
}

impl Catalog {
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.item_index.get(id).map(|index| &self.items[*index])
    }

    /// The item with this implementation code (实施编码), as bookings and
    /// other platforms name items.
    pub fn item_by_implementation_code(&self, code: &str) -> Option<&Item> {
        self.items
            .iter()
            .find(|item| item.implementation_code == code.trim())
    }

    /// An item at a given version: the current one, or one kept in history.
    pub fn item_at(&self, id: &str, version: u32) -> Option<&Item> {
        match self.item(id) {
            Some(item) if item.version == version => Some(item),
            _ => self.history.get(&(id.to_owned(), version)),
        }
    }

    /// Keeps every item version `previous` knew (current or kept) that this
    /// catalogue does not: a catalogue replaced while drafts are open still
    /// decides those drafts on the versions they were started on.
    pub fn keep_versions_of(&mut self, previous: &Catalog) {
        let known = previous
            .items
            .iter()
            .map(|item| ((item.id.clone(), item.version), item))
            .chain(
                previous
                    .history
                    .iter()
                    .map(|(key, item)| (key.clone(), item)),
            );
        let mut kept = Vec::new();
        for ((id, version), item) in known {
            if self.item_at(&id, version).is_none() {
                kept.push(((id, version), item.clone()));
            }
        }
        self.history.extend(kept);
    }

    pub fn bundle(&self, id: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|bundle| bundle.id == id)
    }

    /// Counts for the catalogue check's summary.
    pub fn summary(&self) -> CatalogSummary {
        CatalogSummary {
            items: self.items.len(),
            bundles: self.bundles.len(),
            materials: self.items.iter().map(|item| item.materials.len()).sum(),
            fields: self.items.iter().map(|item| item.fields.len()).sum(),
            departments: self.departments.len(),
            systems: self.systems.len(),
            code_tables: self.code_tables.len(),
        }
    }

    /// The item versions an intake of these items starts on.
    pub fn item_versions(&self, item_ids: &[String]) -> BTreeMap<String, u32> {
        item_ids
            .iter()
            .filter_map(|id| self.item(id).map(|item| (id.clone(), item.version)))
            .collect()
    }

    /// Whether any of these item versions asks for a supervisor's review
    /// before the case goes to the back office.
    pub fn review_before_handoff(&self, item_versions: &BTreeMap<String, u32>) -> bool {
        item_versions.iter().any(|(id, version)| {
            self.item_at(id, *version)
                .is_some_and(|item| item.review_before_handoff)
        })
    }

    /// A bundle's sub-cases: its items grouped by the back-office system
    /// that approves them (one sub-case per system).
    pub fn bundle_sub_cases(&self, bundle: &Bundle) -> BTreeMap<String, Vec<String>> {
        let mut sub_cases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item_id in &bundle.items {
            if let Some(item) = self.item(item_id) {
                sub_cases
                    .entry(item.back_office.clone())
                    .or_default()
                    .push(item_id.clone());
            }
        }
        sub_cases
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogSummary {
    pub items: usize,
    pub bundles: usize,
    pub materials: usize,
    pub fields: usize,
    pub departments: usize,
    pub systems: usize,
    pub code_tables: usize,
}
