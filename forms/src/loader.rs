//! Loads a catalogue folder and validates everything in it, returning every
//! problem at once with its file, line and column.
//!
//! Folder layout (see `forms/catalog/README.md`): `catalog.toml`
//! (version, departments, back-office systems), `code-tables/*.toml`,
//! `library.toml` (fields and materials shared by many items, used with
//! `use = "id"`), `items/*.toml`, `bundles/*.toml`, and `history/*.toml`
//! (earlier item versions kept for drafts). A catalogue that fails to load
//! returns errors and nothing else, so it can never replace one that loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use crate::calendar::TimeLimit;
use crate::catalog::*;
use crate::error::{FormsError, SourceError};
use crate::expression::{Expression, SampleKind, Scope, PROFILE_KEYS};

/// One source file's path and text, for placing errors.
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

impl Source {
    pub(crate) fn error_at(&self, offset: usize, message: impl Into<String>) -> SourceError {
        SourceError::at(&self.path, &self.text, offset, message)
    }
}

/// Parses one TOML file, collecting unknown keys (all of them, each placed)
/// instead of stopping at the first.
pub(crate) fn parse<T: DeserializeOwned>(
    source: &Source,
    errors: &mut Vec<SourceError>,
) -> Option<T> {
    let deserializer = match toml::Deserializer::parse(&source.text) {
        Ok(deserializer) => deserializer,
        Err(error) => {
            errors.push(SourceError::from_toml(&source.path, &source.text, &error));
            return None;
        }
    };
    let mut unknown = Vec::new();
    let parsed = serde_ignored::deserialize(deserializer, |path| unknown.push(segments(&path)));
    match parsed {
        Ok(value) => {
            for path in unknown {
                let offset = locate(&source.text, &path).unwrap_or(0);
                let name = path
                    .iter()
                    .map(|segment| match segment {
                        Segment::Key(key) => key.clone(),
                        Segment::Index(index) => index.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                errors.push(source.error_at(offset, format!("unknown key `{name}`")));
            }
            // Unknown keys are errors, but the rest of the file is still
            // checked, so one run reports everything.
            Some(value)
        }
        Err(error) => {
            errors.push(SourceError::from_toml(&source.path, &source.text, &error));
            None
        }
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_ignored::Path) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut current = path;
    loop {
        match current {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Segment::Index(*index));
                current = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Segment::Key(key.clone()));
                current = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => current = parent,
        }
    }
    out.reverse();
    out
}

/// The byte offset of the key at `path`, found in the spanned parse tree.
fn locate(text: &str, path: &[Segment]) -> Option<usize> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut array: Option<&toml::de::DeArray> = None;
    let mut offset = None;
    for segment in path {
        let value = match (segment, array) {
            (Segment::Index(index), Some(items)) => items.get(*index)?,
            (Segment::Key(key), None) => {
                let (found_key, value) = table.iter().find(|(name, _)| name.get_ref() == key)?;
                offset = Some(found_key.span().start);
                value
            }
            _ => return offset,
        };
        array = None;
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            toml::de::DeValue::Array(items) => array = Some(items),
            _ => {}
        }
    }
    offset
}

// ----- the file shapes -------------------------------------------------------

#[derive(Deserialize)]
struct RawCatalogFile {
    version: String,
    name_zh: String,
    #[serde(default)]
    sample: bool,
    #[serde(default)]
    department: Vec<RawDepartment>,
    #[serde(default)]
    system: Vec<RawSystem>,
}

#[derive(Deserialize)]
struct RawDepartment {
    id: Spanned<String>,
    name_zh: String,
    name_en: String,
    short_name_zh: String,
}

#[derive(Deserialize)]
struct RawSystem {
    id: Spanned<String>,
    name_zh: String,
    name_en: String,
    department: Spanned<String>,
}

#[derive(Deserialize)]
struct RawCodeTableFile {
    #[serde(default)]
    table: Vec<RawCodeTable>,
}

#[derive(Deserialize)]
struct RawCodeTable {
    id: Spanned<String>,
    name_zh: String,
    standard: String,
    entries: Vec<RawCodeEntry>,
}

#[derive(Deserialize)]
struct RawCodeEntry {
    code: Spanned<String>,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize, Default)]
struct RawLibraryFile {
    #[serde(default)]
    field: Vec<RawField>,
    #[serde(default)]
    material: Vec<RawMaterial>,
}

#[derive(Deserialize)]
struct RawItemFile {
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawBundleFile {
    #[serde(default)]
    bundle: Vec<RawBundle>,
}

#[derive(Deserialize, Clone)]
struct RawConstraint {
    rule: Spanned<String>,
    message_zh: String,
    message_en: String,
}

#[derive(Deserialize, Clone, Default)]
struct RawField {
    id: Option<Spanned<String>>,
    #[serde(rename = "use")]
    use_: Option<Spanned<String>>,
    label_zh: Option<String>,
    label_en: Option<String>,
    #[serde(rename = "type")]
    field_type: Option<Spanned<String>>,
    code_table: Option<Spanned<String>>,
    required: Option<bool>,
    required_when: Option<Spanned<String>>,
    #[serde(default)]
    constraint: Vec<RawConstraint>,
    relevant: Option<Spanned<String>>,
    calculate: Option<Spanned<String>>,
    default_from: Option<Spanned<String>>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    min_value: Option<f64>,
    max_value: Option<f64>,
    help_zh: Option<String>,
    #[serde(default)]
    fields: Vec<RawField>,
    min_rows: Option<u32>,
    max_rows: Option<u32>,
}

#[derive(Deserialize, Clone, Default)]
struct RawMaterial {
    id: Option<Spanned<String>>,
    #[serde(rename = "use")]
    use_: Option<Spanned<String>>,
    name_zh: Option<String>,
    name_en: Option<String>,
    original_or_copy: Option<OriginalOrCopy>,
    copies: Option<u32>,
    paper_size: Option<String>,
    form: Option<MaterialForm>,
    necessity: Option<Necessity>,
    source: Option<MaterialSource>,
    elicence_type: Option<Spanned<String>>,
    standard_zh: Option<String>,
    basis_zh: Option<String>,
    where_to_get_zh: Option<String>,
    blank_form: Option<String>,
    sample: Option<String>,
    supply_within_days: Option<u32>,
    applies_when: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawItem {
    id: Spanned<String>,
    basic_code: Spanned<String>,
    implementation_code: Spanned<String>,
    handling_code: Spanned<String>,
    version: Spanned<u32>,
    status: ItemStatus,
    name_zh: String,
    name_en: String,
    category: Category,
    department: Spanned<String>,
    kind: ItemKind,
    statutory_limit: Spanned<TimeLimit>,
    promised_limit: Spanned<TimeLimit>,
    #[serde(default)]
    conditions_zh: Vec<String>,
    legal_basis_zh: Vec<String>,
    #[serde(default)]
    fee: Vec<Fee>,
    visits: u32,
    applicant_types: Spanned<Vec<ApplicantType>>,
    #[serde(default)]
    excluded_period: Vec<ExcludedPeriod>,
    back_office: Spanned<String>,
    #[serde(default)]
    review_before_handoff: bool,
    #[serde(default = "yes")]
    handled_here: bool,
    competent_body_zh: Option<String>,
    source: Option<String>,
    #[serde(default)]
    field: Vec<RawField>,
    #[serde(default)]
    material: Vec<RawMaterial>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct RawBundle {
    id: Spanned<String>,
    version: u32,
    name_zh: String,
    name_en: String,
    category: Category,
    description_zh: String,
    items: Spanned<Vec<String>>,
    #[serde(default)]
    shared_field: Vec<RawShared>,
    #[serde(default)]
    shared_material: Vec<RawShared>,
    source: Option<String>,
}

#[derive(Deserialize)]
struct RawShared {
    id: Spanned<String>,
    /// `"item-id:field-id"` entries.
    maps_to: Spanned<Vec<String>>,
}

// ----- loading ------------------------------------------------------------------

pub(crate) fn read_sources(dir: &Path, errors: &mut Vec<SourceError>) -> Vec<Source> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            errors.push(SourceError::file(
                dir,
                format!("cannot read the folder: {error}"),
            ));
            Vec::new()
        }
    };
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| match std::fs::read_to_string(&path) {
            Ok(text) => Some(Source { path, text }),
            Err(error) => {
                errors.push(SourceError::file(&path, format!("cannot read: {error}")));
                None
            }
        })
        .collect()
}

/// Loads and validates the catalogue in `dir`.
pub fn load_catalog(dir: &Path) -> Result<Catalog, FormsError> {
    let mut errors = Vec::new();
    let catalog_path = dir.join("catalog.toml");
    let catalog_source = match std::fs::read_to_string(&catalog_path) {
        Ok(text) => Some(Source {
            path: catalog_path.clone(),
            text,
        }),
        Err(error) => {
            errors.push(SourceError::file(
                &catalog_path,
                format!("cannot read the catalogue's main file: {error}"),
            ));
            None
        }
    };
    let files = CatalogFiles {
        catalog: catalog_source,
        code_tables: read_sources(&dir.join("code-tables"), &mut errors),
        library: read_sources(dir, &mut errors)
            .into_iter()
            .filter(|source| {
                source
                    .path
                    .file_name()
                    .is_some_and(|name| name == "library.toml")
            })
            .collect(),
        items: read_sources(&dir.join("items"), &mut errors),
        bundles: read_sources(&dir.join("bundles"), &mut errors),
        history: read_sources(&dir.join("history"), &mut errors),
    };
    build(files, errors)
}

struct CatalogFiles {
    catalog: Option<Source>,
    code_tables: Vec<Source>,
    library: Vec<Source>,
    items: Vec<Source>,
    bundles: Vec<Source>,
    history: Vec<Source>,
}

struct Builder<'a> {
    errors: Vec<SourceError>,
    departments: BTreeMap<String, Department>,
    systems: BTreeMap<String, BackOfficeSystem>,
    code_tables: BTreeMap<String, CodeTable>,
    library_fields: BTreeMap<String, (RawField, &'a Source)>,
    library_materials: BTreeMap<String, (RawMaterial, &'a Source)>,
}

fn build(files: CatalogFiles, errors: Vec<SourceError>) -> Result<Catalog, FormsError> {
    let mut builder = Builder {
        errors,
        departments: BTreeMap::new(),
        systems: BTreeMap::new(),
        code_tables: BTreeMap::new(),
        library_fields: BTreeMap::new(),
        library_materials: BTreeMap::new(),
    };
    let mut header = None;
    if let Some(source) = &files.catalog {
        if let Some(raw) = parse::<RawCatalogFile>(source, &mut builder.errors) {
            builder.add_departments_and_systems(source, &raw);
            header = Some((raw.version, raw.name_zh, raw.sample));
        }
    }
    for source in &files.code_tables {
        if let Some(raw) = parse::<RawCodeTableFile>(source, &mut builder.errors) {
            builder.add_code_tables(source, raw);
        }
    }
    for source in &files.library {
        if let Some(raw) = parse::<RawLibraryFile>(source, &mut builder.errors) {
            builder.add_library(source, raw);
        }
    }
    let mut items: Vec<Item> = Vec::new();
    let mut seen_ids: BTreeMap<String, ()> = BTreeMap::new();
    let mut seen_codes: BTreeMap<String, String> = BTreeMap::new();
    for source in &files.items {
        if let Some(raw) = parse::<RawItemFile>(source, &mut builder.errors) {
            for raw_item in raw.item {
                if seen_ids.insert(raw_item.id.get_ref().clone(), ()).is_some() {
                    builder.errors.push(source.error_at(
                        raw_item.id.span().start,
                        format!("duplicate item id `{}`", raw_item.id.get_ref()),
                    ));
                    continue;
                }
                for code in [&raw_item.implementation_code, &raw_item.handling_code] {
                    if let Some(other) =
                        seen_codes.insert(code.get_ref().clone(), raw_item.id.get_ref().clone())
                    {
                        builder.errors.push(source.error_at(
                            code.span().start,
                            format!(
                                "duplicate code `{}` (already used by `{other}`)",
                                code.get_ref()
                            ),
                        ));
                    }
                }
                if let Some(item) = builder.item(source, raw_item) {
                    items.push(item);
                }
            }
        }
    }
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let item_index: BTreeMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(index, item)| (item.id.clone(), index))
        .collect();

    let mut history = BTreeMap::new();
    for source in &files.history {
        if let Some(raw) = parse::<RawItemFile>(source, &mut builder.errors) {
            for raw_item in raw.item {
                let id = raw_item.id.clone();
                let version = raw_item.version.clone();
                let current = item_index
                    .get(id.get_ref())
                    .map(|index| items[*index].version);
                match current {
                    None => builder.errors.push(source.error_at(
                        id.span().start,
                        format!("history keeps `{}`, which is not a current item", id.get_ref()),
                    )),
                    Some(current) if *version.get_ref() >= current => {
                        builder.errors.push(source.error_at(
                            version.span().start,
                            format!(
                                "a kept version of `{}` must be older than the current version {current}",
                                id.get_ref()
                            ),
                        ))
                    }
                    Some(_) => {
                        if let Some(item) = builder.item(source, raw_item) {
                            let key = (item.id.clone(), item.version);
                            if history.insert(key, item).is_some() {
                                builder.errors.push(source.error_at(
                                    version.span().start,
                                    format!("version {} of `{}` is kept twice", version.get_ref(), id.get_ref()),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    let mut bundles = Vec::new();
    for source in &files.bundles {
        if let Some(raw) = parse::<RawBundleFile>(source, &mut builder.errors) {
            for raw_bundle in raw.bundle {
                if bundles
                    .iter()
                    .any(|bundle: &Bundle| bundle.id == *raw_bundle.id.get_ref())
                    || item_index.contains_key(raw_bundle.id.get_ref())
                {
                    builder.errors.push(source.error_at(
                        raw_bundle.id.span().start,
                        format!("duplicate id `{}`", raw_bundle.id.get_ref()),
                    ));
                    continue;
                }
                if let Some(bundle) = builder.bundle(source, raw_bundle, &items, &item_index) {
                    bundles.push(bundle);
                }
            }
        }
    }

    if !builder.errors.is_empty() {
        return Err(FormsError::Load(builder.errors));
    }
    let (version, name_zh, sample) = header.expect("no errors means the header loaded");
    Ok(Catalog {
        version,
        name_zh,
        sample,
        departments: builder.departments,
        systems: builder.systems,
        code_tables: builder.code_tables,
        items,
        bundles,
        history,
        item_index,
    })
}

impl<'a> Builder<'a> {
    fn add_departments_and_systems(&mut self, source: &Source, raw: &RawCatalogFile) {
        for department in &raw.department {
            let id = department.id.get_ref().clone();
            if self.departments.contains_key(&id) {
                self.errors.push(source.error_at(
                    department.id.span().start,
                    format!("duplicate department `{id}`"),
                ));
                continue;
            }
            self.departments.insert(
                id.clone(),
                Department {
                    id,
                    name_zh: department.name_zh.clone(),
                    name_en: department.name_en.clone(),
                    short_name_zh: department.short_name_zh.clone(),
                },
            );
        }
        for system in &raw.system {
            let id = system.id.get_ref().clone();
            if self.systems.contains_key(&id) {
                self.errors.push(source.error_at(
                    system.id.span().start,
                    format!("duplicate back-office system `{id}`"),
                ));
                continue;
            }
            if !self.departments.contains_key(system.department.get_ref()) {
                self.errors.push(source.error_at(
                    system.department.span().start,
                    format!("unknown department `{}`", system.department.get_ref()),
                ));
            }
            self.systems.insert(
                id.clone(),
                BackOfficeSystem {
                    id,
                    name_zh: system.name_zh.clone(),
                    name_en: system.name_en.clone(),
                    department: system.department.get_ref().clone(),
                },
            );
        }
    }

    fn add_code_tables(&mut self, source: &Source, raw: RawCodeTableFile) {
        for table in raw.table {
            let id = table.id.get_ref().clone();
            if self.code_tables.contains_key(&id) {
                self.errors.push(source.error_at(
                    table.id.span().start,
                    format!("duplicate code table `{id}`"),
                ));
                continue;
            }
            let mut seen = BTreeSet::new();
            let mut entries = Vec::new();
            for entry in table.entries {
                if !seen.insert(entry.code.get_ref().clone()) {
                    self.errors.push(source.error_at(
                        entry.code.span().start,
                        format!("duplicate code `{}` in table `{id}`", entry.code.get_ref()),
                    ));
                }
                entries.push(CodeEntry {
                    code: entry.code.into_inner(),
                    name_zh: entry.name_zh,
                    name_en: entry.name_en,
                });
            }
            self.code_tables.insert(
                id.clone(),
                CodeTable {
                    id,
                    name_zh: table.name_zh,
                    standard: table.standard,
                    entries,
                },
            );
        }
    }

    fn add_library(&mut self, source: &'a Source, raw: RawLibraryFile) {
        for field in raw.field {
            match &field.id {
                Some(id) if !self.library_fields.contains_key(id.get_ref()) => {
                    self.library_fields
                        .insert(id.get_ref().clone(), (field.clone(), source));
                }
                Some(id) => self.errors.push(source.error_at(
                    id.span().start,
                    format!("duplicate library field `{}`", id.get_ref()),
                )),
                None => self
                    .errors
                    .push(SourceError::file(&source.path, "a library field has no id")),
            }
        }
        for material in raw.material {
            match &material.id {
                Some(id) if !self.library_materials.contains_key(id.get_ref()) => {
                    self.library_materials
                        .insert(id.get_ref().clone(), (material.clone(), source));
                }
                Some(id) => self.errors.push(source.error_at(
                    id.span().start,
                    format!("duplicate library material `{}`", id.get_ref()),
                )),
                None => self.errors.push(SourceError::file(
                    &source.path,
                    "a library material has no id",
                )),
            }
        }
    }

    fn item(&mut self, source: &Source, raw: RawItem) -> Option<Item> {
        let before = self.errors.len();
        let id = raw.id.get_ref().clone();
        if !self.departments.contains_key(raw.department.get_ref()) {
            self.errors.push(source.error_at(
                raw.department.span().start,
                format!("unknown department `{}`", raw.department.get_ref()),
            ));
        }
        if !self.systems.contains_key(raw.back_office.get_ref()) {
            self.errors.push(source.error_at(
                raw.back_office.span().start,
                format!("unknown back-office system `{}`", raw.back_office.get_ref()),
            ));
        }
        if *raw.version.get_ref() == 0 {
            self.errors
                .push(source.error_at(raw.version.span().start, "versions start at 1"));
        }
        if raw.basic_code.get_ref().trim().is_empty() {
            self.errors
                .push(source.error_at(raw.basic_code.span().start, "the basic code is empty"));
        }
        self.check_limits(source, &raw);
        if raw.applicant_types.get_ref().is_empty() {
            self.errors.push(source.error_at(
                raw.applicant_types.span().start,
                "name at least one applicant type",
            ));
        }
        if !raw.handled_here && raw.competent_body_zh.is_none() {
            self.errors.push(source.error_at(
                raw.id.span().start,
                format!("`{id}` is not handled here: name the competent body (competent_body_zh)"),
            ));
        }

        let fields = self.fields(source, &raw.field, &format!("item `{id}`"));
        let scope = scope_of(&fields, None);
        self.check_rules(source, &raw.field, &fields, &scope, &format!("item `{id}`"));
        let materials = self.materials(source, &raw.material, &scope, &id);
        if self.errors.len() > before {
            return None;
        }
        Some(Item {
            id,
            basic_code: raw.basic_code.into_inner(),
            implementation_code: raw.implementation_code.into_inner(),
            handling_code: raw.handling_code.into_inner(),
            version: raw.version.into_inner(),
            status: raw.status,
            name_zh: raw.name_zh,
            name_en: raw.name_en,
            category: raw.category,
            department: raw.department.into_inner(),
            kind: raw.kind,
            statutory_limit: raw.statutory_limit.into_inner(),
            promised_limit: raw.promised_limit.into_inner(),
            conditions_zh: raw.conditions_zh,
            legal_basis_zh: raw.legal_basis_zh,
            fees: raw.fee,
            visits: raw.visits,
            applicant_types: raw.applicant_types.into_inner(),
            excluded_periods: raw.excluded_period,
            back_office: raw.back_office.into_inner(),
            review_before_handoff: raw.review_before_handoff,
            handled_here: raw.handled_here,
            competent_body_zh: raw.competent_body_zh,
            source: raw.source,
            fields,
            materials,
        })
    }

    fn check_limits(&mut self, source: &Source, raw: &RawItem) {
        let statutory = raw.statutory_limit.get_ref();
        let promised = raw.promised_limit.get_ref();
        const LONGEST: u32 = 3 * 366;
        for (name, limit, span) in [
            ("statutory", statutory, raw.statutory_limit.span()),
            ("promised", promised, raw.promised_limit.span()),
        ] {
            if limit.days > LONGEST {
                self.errors.push(source.error_at(
                    span.start,
                    format!("a {name} limit of {} days is impossible", limit.days),
                ));
            }
        }
        if statutory.unit == promised.unit {
            if promised.days > statutory.days {
                self.errors.push(source.error_at(
                    raw.promised_limit.span().start,
                    format!(
                        "the promised limit ({} days) is longer than the statutory limit ({} days)",
                        promised.days, statutory.days
                    ),
                ));
            }
        } else if statutory.days <= LONGEST && promised.days <= LONGEST {
            if let Some(late) = limits::promise_after_statutory(*promised, *statutory) {
                self.errors.push(source.error_at(
                    raw.promised_limit.span().start,
                    format!(
                        "the promised limit ({}) ends after the statutory limit ({}) in an ordinary week: accepted on a {}, the promise ends {} days later, the law {} days later",
                        limits::describe(*promised),
                        limits::describe(*statutory),
                        late.accepted,
                        late.promised_after,
                        late.statutory_after
                    ),
                ));
            }
        }
        if raw.kind == ItemKind::Promised && promised.days == 0 {
            self.errors.push(source.error_at(
                raw.promised_limit.span().start,
                "a promised item (承诺件) needs a promised limit of at least one day",
            ));
        }
    }

    /// Resolves `use` references and builds the fields (rules compiled, not
    /// yet checked against the scope).
    fn fields(&mut self, source: &Source, raw_fields: &[RawField], owner: &str) -> Vec<Field> {
        let mut fields = Vec::new();
        let mut seen = BTreeSet::new();
        for raw in raw_fields {
            let Some(resolved) = self.resolve_field(source, raw) else {
                continue;
            };
            let Some(id) = resolved.id.clone() else {
                self.errors.push(SourceError::file(
                    &source.path,
                    format!("{owner}: a field has neither id nor use"),
                ));
                continue;
            };
            if !seen.insert(id.get_ref().clone()) {
                self.errors.push(source.error_at(
                    self.place(raw, &id),
                    format!("{owner}: duplicate field `{}`", id.get_ref()),
                ));
                continue;
            }
            if let Some(field) = self.field(source, raw, &resolved, owner) {
                fields.push(field);
            }
        }
        fields
    }

    /// Where to point at for a field: its own id, or its `use`.
    fn place(&self, raw: &RawField, id: &Spanned<String>) -> usize {
        raw.id
            .as_ref()
            .or(raw.use_.as_ref())
            .map_or(id.span().start, |spanned| spanned.span().start)
    }

    fn resolve_field(&mut self, source: &Source, raw: &RawField) -> Option<RawField> {
        let Some(name) = &raw.use_ else {
            return Some(raw.clone());
        };
        let Some((base, _)) = self.library_fields.get(name.get_ref()) else {
            self.errors.push(source.error_at(
                name.span().start,
                format!("unknown library field `{}`", name.get_ref()),
            ));
            return None;
        };
        // The item's own values override the library's; spans of library
        // values are re-pointed at the `use` key, where the item names them.
        let here = |value: &Option<Spanned<String>>| {
            value
                .as_ref()
                .map(|inner| Spanned::new(name.span(), inner.get_ref().clone()))
        };
        let mut base = base.clone();
        base.id = here(&base.id);
        base.field_type = here(&base.field_type);
        base.code_table = here(&base.code_table);
        base.required_when = here(&base.required_when);
        base.relevant = here(&base.relevant);
        base.calculate = here(&base.calculate);
        base.default_from = here(&base.default_from);
        for constraint in &mut base.constraint {
            constraint.rule = Spanned::new(name.span(), constraint.rule.get_ref().clone());
        }
        Some(RawField {
            id: raw.id.clone().or(base.id),
            use_: None,
            label_zh: raw.label_zh.clone().or(base.label_zh),
            label_en: raw.label_en.clone().or(base.label_en),
            field_type: raw.field_type.clone().or(base.field_type),
            code_table: raw.code_table.clone().or(base.code_table),
            required: raw.required.or(base.required),
            required_when: raw.required_when.clone().or(base.required_when),
            constraint: if raw.constraint.is_empty() {
                base.constraint
            } else {
                raw.constraint.clone()
            },
            relevant: raw.relevant.clone().or(base.relevant),
            calculate: raw.calculate.clone().or(base.calculate),
            default_from: raw.default_from.clone().or(base.default_from),
            min_length: raw.min_length.or(base.min_length),
            max_length: raw.max_length.or(base.max_length),
            min_value: raw.min_value.or(base.min_value),
            max_value: raw.max_value.or(base.max_value),
            help_zh: raw.help_zh.clone().or(base.help_zh),
            fields: if raw.fields.is_empty() {
                base.fields
            } else {
                raw.fields.clone()
            },
            min_rows: raw.min_rows.or(base.min_rows),
            max_rows: raw.max_rows.or(base.max_rows),
        })
    }

    fn field(
        &mut self,
        source: &Source,
        original: &RawField,
        raw: &RawField,
        owner: &str,
    ) -> Option<Field> {
        let id = raw.id.clone().expect("checked by the caller");
        let at = self.place(original, &id);
        let name = id.get_ref().clone();
        let owner_field = format!("{owner}, field `{name}`");
        let mut ok = true;
        let (Some(label_zh), Some(label_en)) = (raw.label_zh.clone(), raw.label_en.clone()) else {
            self.errors.push(source.error_at(
                at,
                format!("{owner_field}: label_zh and label_en are required"),
            ));
            return None;
        };
        let Some(type_name) = raw.field_type.clone() else {
            self.errors
                .push(source.error_at(at, format!("{owner_field}: the type is missing")));
            return None;
        };
        let needs_table = matches!(type_name.get_ref().as_str(), "choice" | "multi_choice");
        let table = match (&raw.code_table, needs_table) {
            (Some(table), true) => {
                if !self.code_tables.contains_key(table.get_ref()) {
                    self.errors.push(source.error_at(
                        table.span().start,
                        format!("{owner_field}: unknown code table `{}`", table.get_ref()),
                    ));
                    ok = false;
                }
                table.get_ref().clone()
            }
            (None, true) => {
                self.errors.push(
                    source.error_at(at, format!("{owner_field}: a choice needs a code_table")),
                );
                return None;
            }
            (Some(table), false) => {
                self.errors.push(source.error_at(
                    table.span().start,
                    format!("{owner_field}: only choice fields take a code_table"),
                ));
                String::new()
            }
            (None, false) => String::new(),
        };
        let field_type = match type_name.get_ref().as_str() {
            "text" => FieldType::Text,
            "long_text" => FieldType::LongText,
            "integer" => FieldType::Integer,
            "decimal" => FieldType::Decimal,
            "money" => FieldType::Money,
            "date" => FieldType::Date,
            "yes_no" => FieldType::YesNo,
            "choice" => FieldType::Choice(table),
            "multi_choice" => FieldType::MultiChoice(table),
            "resident_id" => FieldType::ResidentId,
            "credit_code" => FieldType::CreditCode,
            "phone" => FieldType::Phone,
            "address" => FieldType::Address,
            "elicence_reference" => FieldType::ElicenceReference,
            "attachment_reference" => FieldType::AttachmentReference,
            "group" => FieldType::Group,
            other => {
                self.errors.push(source.error_at(
                    type_name.span().start,
                    format!("{owner_field}: unknown field type `{other}`"),
                ));
                return None;
            }
        };
        let children = if field_type == FieldType::Group {
            if raw.fields.is_empty() {
                self.errors.push(
                    source.error_at(at, format!("{owner_field}: a repeat group needs fields")),
                );
                ok = false;
            }
            let children = self.fields(source, &raw.fields, &owner_field);
            if children
                .iter()
                .any(|child| child.field_type == FieldType::Group)
            {
                self.errors
                    .push(source.error_at(at, format!("{owner_field}: groups cannot be nested")));
                ok = false;
            }
            children
        } else {
            if !raw.fields.is_empty() {
                self.errors
                    .push(source.error_at(at, format!("{owner_field}: only groups have fields")));
                ok = false;
            }
            Vec::new()
        };
        if let (Some(min), Some(max)) = (raw.min_rows, raw.max_rows) {
            if min > max {
                self.errors.push(source.error_at(
                    at,
                    format!("{owner_field}: min_rows {min} is more than max_rows {max}"),
                ));
                ok = false;
            }
        }
        if let (Some(min), Some(max)) = (raw.min_length, raw.max_length) {
            if min > max {
                self.errors.push(source.error_at(
                    at,
                    format!("{owner_field}: min_length {min} is more than max_length {max}"),
                ));
                ok = false;
            }
        }
        if let (Some(min), Some(max)) = (raw.min_value, raw.max_value) {
            if min > max {
                self.errors.push(source.error_at(
                    at,
                    format!("{owner_field}: min_value {min} is more than max_value {max}"),
                ));
                ok = false;
            }
        }
        if let Some(key) = &raw.default_from {
            let known = key
                .get_ref()
                .strip_prefix("applicant.")
                .is_some_and(|name| PROFILE_KEYS.iter().any(|(profile, _)| *profile == name));
            if !known {
                self.errors.push(source.error_at(
                    key.span().start,
                    format!(
                        "{owner_field}: default_from `{}` is not an applicant profile key",
                        key.get_ref()
                    ),
                ));
                ok = false;
            }
        }
        let compile = |this: &mut Self, rule: &Spanned<String>, what: &str| -> Option<Expression> {
            match Expression::compile(rule.get_ref()) {
                Ok(expression) => Some(expression),
                Err(error) => {
                    this.errors.push(source.error_at(
                        rule.span().start,
                        format!(
                            "{owner_field}: {what} `{}` does not parse: {error}",
                            rule.get_ref()
                        ),
                    ));
                    None
                }
            }
        };
        let requirement = match (&raw.required, &raw.required_when) {
            (_, Some(rule)) => match compile(self, rule, "required_when") {
                Some(expression) => Requirement::RequiredWhen(expression),
                None => {
                    ok = false;
                    Requirement::Optional
                }
            },
            (Some(true), None) => Requirement::Required,
            _ => Requirement::Optional,
        };
        let relevant = raw.relevant.as_ref().and_then(|rule| {
            let compiled = compile(self, rule, "relevant");
            ok &= compiled.is_some();
            compiled
        });
        let calculate = raw.calculate.as_ref().and_then(|rule| {
            let compiled = compile(self, rule, "calculate");
            ok &= compiled.is_some();
            compiled
        });
        let mut constraints = Vec::new();
        for constraint in &raw.constraint {
            match compile(self, &constraint.rule, "constraint") {
                Some(rule) => constraints.push(Constraint {
                    rule,
                    message_zh: constraint.message_zh.clone(),
                    message_en: constraint.message_en.clone(),
                }),
                None => ok = false,
            }
        }
        ok.then(|| Field {
            id: name,
            label_zh,
            label_en,
            field_type,
            requirement,
            constraints,
            relevant,
            calculate,
            default_from: raw.default_from.as_ref().map(|key| key.get_ref().clone()),
            min_length: raw.min_length,
            max_length: raw.max_length,
            min_value: raw.min_value,
            max_value: raw.max_value,
            help_zh: raw.help_zh.clone(),
            children,
            min_rows: raw.min_rows.unwrap_or(0),
            max_rows: raw.max_rows,
        })
    }

    /// Type-checks every rule of `fields` in `scope`, placing errors at the
    /// rule's text (or at the `use` that brought it in).
    fn check_rules(
        &mut self,
        source: &Source,
        raw_fields: &[RawField],
        fields: &[Field],
        scope: &Scope,
        owner: &str,
    ) {
        for field in fields {
            let raw = raw_fields.iter().find(|raw| {
                raw.id.as_ref().map(|id| id.get_ref()) == Some(&field.id)
                    || raw.use_.as_ref().is_some_and(|name| {
                        self.library_fields
                            .get(name.get_ref())
                            .and_then(|(base, _)| base.id.as_ref())
                            .map(|id| id.get_ref())
                            == Some(&field.id)
                    })
            });
            let at = raw
                .and_then(|raw| raw.id.as_ref().or(raw.use_.as_ref()))
                .map_or(0, |spanned| spanned.span().start);
            let resolved = raw.and_then(|raw| self.resolve_field(source, raw));
            let spot = |rule: Option<&Spanned<String>>| rule.map_or(at, |rule| rule.span().start);
            let check = |this: &mut Self,
                         expression: &Expression,
                         wanted: SampleKind,
                         offset: usize,
                         what: &str| {
                if let Err(error) = scope.check(expression, wanted) {
                    this.errors.push(source.error_at(
                        offset,
                        format!(
                            "{owner}, field `{}`: {what} `{}`: {error}",
                            field.id,
                            expression.source()
                        ),
                    ));
                }
            };
            if let Requirement::RequiredWhen(rule) = &field.requirement {
                check(
                    self,
                    rule,
                    SampleKind::Bool,
                    spot(resolved.as_ref().and_then(|r| r.required_when.as_ref())),
                    "required_when",
                );
            }
            if let Some(rule) = &field.relevant {
                check(
                    self,
                    rule,
                    SampleKind::Bool,
                    spot(resolved.as_ref().and_then(|r| r.relevant.as_ref())),
                    "relevant",
                );
            }
            if let Some(rule) = &field.calculate {
                match field_kind(&field.field_type) {
                    Some(kind) => check(
                        self,
                        rule,
                        kind,
                        spot(resolved.as_ref().and_then(|r| r.calculate.as_ref())),
                        "calculate",
                    ),
                    None => self.errors.push(source.error_at(
                        at,
                        format!(
                            "{owner}, field `{}`: this field type cannot be calculated",
                            field.id
                        ),
                    )),
                }
            }
            for (index, constraint) in field.constraints.iter().enumerate() {
                let offset = spot(
                    resolved
                        .as_ref()
                        .and_then(|r| r.constraint.get(index))
                        .map(|c| &c.rule),
                );
                check(
                    self,
                    &constraint.rule,
                    SampleKind::Bool,
                    offset,
                    "constraint",
                );
            }
            if field.field_type == FieldType::Group {
                let inner = scope_of(fields, Some(&field.children));
                let raw_children = resolved.map(|r| r.fields).unwrap_or_default();
                self.check_rules(
                    source,
                    &raw_children,
                    &field.children,
                    &inner,
                    &format!("{owner}, group `{}`", field.id),
                );
            }
        }
    }

    fn materials(
        &mut self,
        source: &Source,
        raw_materials: &[RawMaterial],
        scope: &Scope,
        item_id: &str,
    ) -> Vec<Material> {
        let mut materials = Vec::new();
        let mut seen = BTreeSet::new();
        for raw in raw_materials {
            let base = match &raw.use_ {
                Some(name) => match self.library_materials.get(name.get_ref()) {
                    Some((base, _)) => Some(base.clone()),
                    None => {
                        self.errors.push(source.error_at(
                            name.span().start,
                            format!(
                                "item `{item_id}`: unknown library material `{}`",
                                name.get_ref()
                            ),
                        ));
                        continue;
                    }
                },
                None => None,
            };
            let base = base.unwrap_or_default();
            let at = raw
                .id
                .as_ref()
                .or(raw.use_.as_ref())
                .map_or(0, |spanned| spanned.span().start);
            let id = raw
                .id
                .as_ref()
                .or(base.id.as_ref())
                .map(|id| id.get_ref().clone());
            let Some(id) = id else {
                self.errors.push(source.error_at(
                    at,
                    format!("item `{item_id}`: a material has neither id nor use"),
                ));
                continue;
            };
            if !seen.insert(id.clone()) {
                self.errors.push(
                    source.error_at(at, format!("item `{item_id}`: duplicate material `{id}`")),
                );
                continue;
            }
            let owner = format!("item `{item_id}`, material `{id}`");
            macro_rules! take {
                ($field:ident) => {
                    match raw.$field.clone().or(base.$field.clone()) {
                        Some(value) => value,
                        None => {
                            self.errors.push(source.error_at(
                                at,
                                format!("{owner}: `{}` is missing", stringify!($field)),
                            ));
                            continue;
                        }
                    }
                };
            }
            let name_zh = take!(name_zh);
            let name_en = take!(name_en);
            let original_or_copy = take!(original_or_copy);
            let form = take!(form);
            let necessity = take!(necessity);
            let material_source = take!(source);
            let standard_zh = take!(standard_zh);
            let supply_within_days = raw.supply_within_days.or(base.supply_within_days);
            if supply_within_days.is_some() && necessity != Necessity::SupplyLater {
                self.errors.push(source.error_at(at, format!("{owner}: supply_within_days is only for materials that may be supplied later")));
            }
            let elicence_type = raw.elicence_type.clone().or(base.elicence_type.clone());
            if let (Some(kind), Some(table)) =
                (&elicence_type, self.code_tables.get("elicence_types"))
            {
                if table.entry(kind.get_ref()).is_none() {
                    self.errors.push(source.error_at(
                        at,
                        format!("{owner}: unknown e-licence type `{}`", kind.get_ref()),
                    ));
                }
            }
            let applies_when = match raw.applies_when.clone().or(base.applies_when.clone()) {
                Some(rule) => match Expression::compile(rule.get_ref()) {
                    Ok(expression) => {
                        if let Err(error) = scope.check(&expression, SampleKind::Bool) {
                            self.errors.push(source.error_at(
                                at,
                                format!("{owner}: applies_when `{}`: {error}", rule.get_ref()),
                            ));
                        }
                        Some(expression)
                    }
                    Err(error) => {
                        self.errors.push(source.error_at(
                            at,
                            format!("{owner}: applies_when does not parse: {error}"),
                        ));
                        None
                    }
                },
                None => None,
            };
            materials.push(Material {
                id,
                name_zh,
                name_en,
                original_or_copy,
                copies: raw.copies.or(base.copies).unwrap_or(1),
                paper_size: raw.paper_size.clone().or(base.paper_size.clone()),
                form,
                necessity,
                source: material_source,
                elicence_type: elicence_type.map(|kind| kind.into_inner()),
                standard_zh,
                basis_zh: raw.basis_zh.clone().or(base.basis_zh.clone()),
                where_to_get_zh: raw.where_to_get_zh.clone().or(base.where_to_get_zh.clone()),
                blank_form: raw.blank_form.clone().or(base.blank_form.clone()),
                sample: raw.sample.clone().or(base.sample.clone()),
                supply_within_days,
                applies_when,
            });
        }
        materials
    }

    fn bundle(
        &mut self,
        source: &Source,
        raw: RawBundle,
        items: &[Item],
        index: &BTreeMap<String, usize>,
    ) -> Option<Bundle> {
        let before = self.errors.len();
        let id = raw.id.get_ref().clone();
        let at_items = raw.items.span().start;
        let mut listed = BTreeSet::new();
        for item in raw.items.get_ref() {
            if !index.contains_key(item) {
                self.errors.push(
                    source.error_at(at_items, format!("bundle `{id}`: unknown item `{item}`")),
                );
            }
            if !listed.insert(item.clone()) {
                self.errors.push(source.error_at(
                    at_items,
                    format!("bundle `{id}`: item `{item}` is listed twice"),
                ));
            }
        }
        if raw.items.get_ref().len() < 2 {
            self.errors.push(source.error_at(
                at_items,
                format!("bundle `{id}`: a bundle joins at least two items"),
            ));
        }
        let item = |item_id: &str| index.get(item_id).map(|position| &items[*position]);
        let shared = |this: &mut Self, entries: &[RawShared], what: &str| -> Vec<SharedElement> {
            let mut out = Vec::new();
            let mut used: BTreeMap<(String, String), String> = BTreeMap::new();
            for entry in entries {
                let at = entry.maps_to.span().start;
                let mut maps_to = Vec::new();
                let mut first_type: Option<FieldType> = None;
                for target in entry.maps_to.get_ref() {
                    let Some((item_id, element_id)) = target.split_once(':') else {
                        this.errors.push(source.error_at(
                            at,
                            format!("bundle `{id}`: `{target}` must be `item-id:{what}-id`"),
                        ));
                        continue;
                    };
                    if !listed.contains(item_id) {
                        this.errors.push(source.error_at(
                            at,
                            format!("bundle `{id}`: `{item_id}` is not one of the bundle's items"),
                        ));
                        continue;
                    }
                    let Some(found_item) = item(item_id) else {
                        continue;
                    };
                    if what == "field" {
                        match found_item.field(element_id) {
                            Some(field) => match &first_type {
                                Some(kind) if *kind != field.field_type => this.errors.push(source.error_at(
                                    at,
                                    format!("bundle `{id}`: shared field `{}` joins fields of different types ({kind:?} and {:?} in `{item_id}`)", entry.id.get_ref(), field.field_type),
                                )),
                                Some(_) => {}
                                None => first_type = Some(field.field_type.clone()),
                            },
                            None => this.errors.push(source.error_at(at, format!("bundle `{id}`: item `{item_id}` has no field `{element_id}`"))),
                        }
                    } else if found_item.material(element_id).is_none() {
                        this.errors.push(source.error_at(
                            at,
                            format!(
                                "bundle `{id}`: item `{item_id}` has no material `{element_id}`"
                            ),
                        ));
                    }
                    if let Some(other) = used.insert(
                        (item_id.to_owned(), element_id.to_owned()),
                        entry.id.get_ref().clone(),
                    ) {
                        this.errors.push(source.error_at(
                            at,
                            format!(
                                "bundle `{id}`: `{target}` is shared by both `{other}` and `{}`",
                                entry.id.get_ref()
                            ),
                        ));
                    }
                    maps_to.push((item_id.to_owned(), element_id.to_owned()));
                }
                if maps_to.len() < 2 {
                    this.errors.push(source.error_at(
                        at,
                        format!(
                            "bundle `{id}`: shared {what} `{}` must map to at least two items",
                            entry.id.get_ref()
                        ),
                    ));
                }
                out.push(SharedElement {
                    id: entry.id.get_ref().clone(),
                    maps_to,
                });
            }
            out
        };
        let shared_fields = shared(self, &raw.shared_field, "field");
        let shared_materials = shared(self, &raw.shared_material, "material");
        if self.errors.len() > before {
            return None;
        }
        Some(Bundle {
            id,
            version: raw.version,
            name_zh: raw.name_zh,
            name_en: raw.name_en,
            category: raw.category,
            description_zh: raw.description_zh,
            items: raw.items.into_inner(),
            shared_fields,
            shared_materials,
            source: raw.source,
        })
    }
}

/// The kind of value a field holds in rules; `None` for groups.
pub(crate) fn field_kind(field_type: &FieldType) -> Option<SampleKind> {
    Some(match field_type {
        FieldType::Integer => SampleKind::Integer,
        FieldType::Decimal | FieldType::Money => SampleKind::Number,
        FieldType::YesNo => SampleKind::Bool,
        FieldType::MultiChoice(_) => SampleKind::TextList,
        FieldType::Address => SampleKind::Address,
        FieldType::Group => return None,
        _ => SampleKind::Text,
    })
}

/// The names rules of `fields` can use (and `row`, inside a group).
fn scope_of(fields: &[Field], row: Option<&[Field]>) -> Scope {
    let mut scope = Scope::default();
    for field in fields {
        match field_kind(&field.field_type) {
            Some(kind) => {
                scope.names.insert(field.id.clone(), kind);
            }
            None => {
                let rows = field
                    .children
                    .iter()
                    .filter_map(|child| {
                        field_kind(&child.field_type).map(|kind| (child.id.clone(), kind))
                    })
                    .collect();
                scope.groups.insert(field.id.clone(), rows);
            }
        }
    }
    scope.row = row.map(|children| {
        children
            .iter()
            .filter_map(|child| field_kind(&child.field_type).map(|kind| (child.id.clone(), kind)))
            .collect()
    });
    scope
}

/// Promised against statutory limits of different units, compared as dates.
///
/// A limit in working days and one in calendar days cannot be compared as
/// counts: 15 working days are 21 calendar days (longer than a statutory 20
/// calendar days, though 15 < 20), 20 working days are 26 to 28 calendar
/// days, and a calendar-day limit that ends on a rest day moves to the next
/// working day. So both are turned into due dates, as
/// `WorkingCalendar::due_date` counts them, for an acceptance on each
/// weekday of ordinary weeks (Saturdays and Sundays the only rest days), and
/// the promise is refused when on any of them it ends after the law.
///
/// Ordinary weeks, not the holidays of some year: near a long holiday
/// almost any pair of different units crosses over (2 working days from the
/// Monday before a Spring Festival end after 7 calendar days), so a check
/// over holiday weeks would refuse every mixed-unit item, and a catalogue
/// must not become valid or invalid when a year's notice is installed. The
/// crossing near holidays is handled where the date is made: the decision
/// never promises a date after the statutory one (`decision::propose`).
/// Same-unit limits need no dates (a longer count is always a later date).
mod limits {
    use std::sync::OnceLock;

    use chrono::{Datelike, NaiveDate, Weekday};

    use crate::calendar::{DayUnit, TimeLimit};

    /// Monday 5 January 2026, the first day of the reference weeks.
    const FIRST: (i32, u32, u32) = (2026, 1, 5);
    /// Days in the table: room for the longest limit the loader allows.
    const SPAN: usize = 4 * 366 + 14;

    /// Ordinary weeks as day indexes from `FIRST`.
    struct Table {
        first: NaiveDate,
        /// Working days on or before each day.
        rank: Vec<usize>,
        /// The index of each working day, in order.
        working_days: Vec<usize>,
    }

    fn table() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| {
            let first = NaiveDate::from_ymd_opt(FIRST.0, FIRST.1, FIRST.2).expect("a date");
            let mut rank = Vec::with_capacity(SPAN);
            let mut working_days = Vec::new();
            for (index, day) in first.iter_days().take(SPAN).enumerate() {
                if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                    working_days.push(index);
                }
                rank.push(working_days.len());
            }
            Table {
                first,
                rank,
                working_days,
            }
        })
    }

    impl Table {
        /// The due day's index of `limit` from the start `start`, as
        /// `WorkingCalendar::due_date` counts it.
        fn due(&self, start: usize, limit: TimeLimit) -> Option<usize> {
            let days = limit.days as usize;
            if days == 0 {
                return Some(start);
            }
            match limit.unit {
                // The `days`-th working day after the start.
                DayUnit::WorkingDays => self.working_days.get(self.rank[start] + days - 1).copied(),
                // The first working day on or after start + days.
                DayUnit::CalendarDays => {
                    let end = start + days;
                    self.working_days.get(*self.rank.get(end - 1)?).copied()
                }
            }
        }

        fn date(&self, index: usize) -> NaiveDate {
            self.first + chrono::Days::new(index as u64)
        }
    }

    /// An acceptance on which the promise ends later than the law.
    pub(super) struct Late {
        pub(super) accepted: Weekday,
        pub(super) promised_after: i64,
        pub(super) statutory_after: i64,
    }

    /// The first weekday of an ordinary week on which `promised` ends after
    /// `statutory`, if any.
    pub(super) fn promise_after_statutory(
        promised: TimeLimit,
        statutory: TimeLimit,
    ) -> Option<Late> {
        let table = table();
        (0..5).find_map(|start| {
            let promised_on = table.due(start, promised)?;
            let statutory_on = table.due(start, statutory)?;
            (promised_on > statutory_on).then(|| Late {
                accepted: table.date(start).weekday(),
                promised_after: (promised_on - start) as i64,
                statutory_after: (statutory_on - start) as i64,
            })
        })
    }

    /// "10 working days" / "15 calendar days".
    pub(super) fn describe(limit: TimeLimit) -> String {
        match limit.unit {
            DayUnit::WorkingDays => format!("{} working days", limit.days),
            DayUnit::CalendarDays => format!("{} calendar days", limit.days),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::calendar::WorkingCalendar;

        fn limit(days: u32, unit: DayUnit) -> TimeLimit {
            TimeLimit { days, unit }
        }

        #[test]
        fn the_table_counts_as_the_calendar_does_in_weeks_without_holidays() {
            // March to mid-April 2026 has no holiday and no adjusted day.
            let calendar = WorkingCalendar::load_dir(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar"),
            )
            .unwrap();
            let table = table();
            let offset =
                (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() - table.first).num_days() as usize;
            for start in 0..5 {
                for days in [0, 1, 5, 7, 10, 15, 20] {
                    for unit in [DayUnit::WorkingDays, DayUnit::CalendarDays] {
                        let limit = limit(days, unit);
                        let accepted = table.date(offset + start);
                        let expected = calendar.due_date(accepted, limit).unwrap().date;
                        let due = table
                            .due(offset + start, limit)
                            .map(|index| table.date(index));
                        assert_eq!(due, Some(expected), "{accepted} {limit:?}");
                    }
                }
            }
        }
    }
}
