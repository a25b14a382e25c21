//! Entry points for fuzzing the parts that read outside data: the catalogue
//! loader, the data-standard (mapping) files, the mapping engine, the rule
//! expressions, the identifier checks and the ID-card reader's files.
//!
//! Each takes arbitrary bytes and panics only when an invariant breaks:
//! input is either accepted or refused with an error that says what and
//! where, never a crash. The same functions are driven three ways: by
//! proptest in `cargo test` (short), by proptest with
//! `ONEWINDOW_FUZZ_CASES` (long), and by cargo-fuzz's libFuzzer targets in
//! `forms/fuzz` (`./x fuzz`). An input that ever broke one is kept in
//! `forms/fuzz/regressions/<target>/` and replayed by `forms/tests/fuzz.rs`.
//!
//! This module holds no rules of its own and must never be used outside
//! tests and fuzzing (it reads the sample catalogue next to the sources).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::expression::{Expression, SampleKind, Scope};
use crate::standards::{load_standards, Standards, UnifiedIntake};
use crate::{Catalog, FormsError};

/// The targets, by the names their folders and libFuzzer binaries have.
pub const TARGETS: [&str; 6] = [
    "catalog_item",
    "standard_file",
    "mapping",
    "expression",
    "identifiers",
    "id_card",
];

/// Runs the named target on one input (for replaying saved inputs);
/// true when the input was accepted.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "catalog_item" => catalog_item(data),
        "standard_file" => standard_file(data),
        "mapping" => mapping(data),
        "expression" => expression(data),
        "identifiers" => identifiers(data),
        "id_card" => id_card(data),
        other => panic!("no fuzz target named {other}"),
    }
}

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("a valid date")
}

struct World {
    catalog: Catalog,
    standards: Standards,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let catalog = crate::load_catalog(&sources().join("catalog"))
            .unwrap_or_else(|error| panic!("the sample catalogue loads: {error}"));
        let standards = load_standards(&sources().join("standards"), &catalog)
            .unwrap_or_else(|error| panic!("the sample standards load: {error}"));
        World { catalog, standards }
    })
}

fn assert_located(result: Result<(), FormsError>, what: &str) -> bool {
    let accepted = result.is_ok();
    if let Err(error) = result {
        match error {
            FormsError::Load(errors) => {
                assert!(!errors.is_empty(), "{what}: refused without a reason");
                for error in errors {
                    assert!(
                        !error.message.trim().is_empty(),
                        "{what}: an error without a message"
                    );
                    assert!(
                        !error.to_string().trim().is_empty(),
                        "{what}: an error that shows nothing"
                    );
                }
            }
            other => panic!("{what}: not a load error: {other}"),
        }
    }
    accepted
}

/// A catalogue whose one item file is `data`: it loads, or every problem
/// is a located error.
pub fn catalog_item(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_catalogue_base(dir.path());
    std::fs::write(dir.path().join("items/item.toml"), text.as_bytes())
        .expect("the item file is written");
    assert_located(
        crate::load_catalog(dir.path()).map(|_| ()),
        "catalogue loader",
    )
}

fn copy_catalogue_base(target: &Path) {
    let sample = sources().join("catalog");
    std::fs::create_dir_all(target.join("items")).expect("items folder");
    std::fs::create_dir_all(target.join("code-tables")).expect("code-tables folder");
    for file in [
        "catalog.toml",
        "library.toml",
        "code-tables/persons.toml",
        "code-tables/places-and-business.toml",
    ] {
        std::fs::copy(sample.join(file), target.join(file)).expect("a sample file copies");
    }
}

/// The shipped data standards with one file replaced by `data` (the first
/// byte picks which): they load, or every problem is a located error.
pub fn standard_file(data: &[u8]) -> bool {
    let world = world();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut files: Vec<PathBuf> = std::fs::read_dir(sources().join("standards"))
        .expect("the standards folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let replaced = data
        .first()
        .map_or(0, |byte| usize::from(*byte) % files.len());
    for (index, file) in files.iter().enumerate() {
        let name = file.file_name().expect("a file name");
        if index == replaced {
            let text = String::from_utf8_lossy(data.get(1..).unwrap_or_default());
            std::fs::write(dir.path().join(name), text.as_bytes()).expect("written");
        } else {
            std::fs::copy(file, dir.path().join(name)).expect("copied");
        }
    }
    assert_located(
        load_standards(dir.path(), &world.catalog).map(|_| ()),
        "data-standard loader",
    )
}

/// One intake of an item (the first byte picks which) whose values are
/// `data` as a JSON object, or the item's sample values with one field (the
/// second byte) set to `data` as text: it maps to a payload, or every
/// problem names its source and reason.
pub fn mapping(data: &[u8]) -> bool {
    let world = world();
    let items: Vec<_> = world
        .catalog
        .items
        .iter()
        .filter(|item| item.handled_here)
        .collect();
    let item = items[data
        .first()
        .map_or(0, |byte| usize::from(*byte) % items.len())];
    let sample = crate::samples::sample_item(&world.catalog, item, today())
        .unwrap_or_else(|error| panic!("{} has a sample: {error:?}", item.id));
    let rest = data.get(2..).unwrap_or_default();
    let values: Map<String, Value> = match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Object(values)) => values,
        _ => {
            let mut values = sample.values.clone();
            if !item.fields.is_empty() {
                let field = &item.fields
                    [data.get(1).map_or(0, |byte| usize::from(*byte)) % item.fields.len()];
                let text = String::from_utf8_lossy(rest).into_owned();
                let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                values.insert(field.id.clone(), value);
            }
            values
        }
    };
    let intake = UnifiedIntake {
        case: crate::samples::sample_case_facts(1, today()),
        applicant: sample.applicant,
        item_id: item.id.clone(),
        item_version: item.version,
        values,
    };
    let standard = &world.standards.systems[&item.back_office];
    match standard.map(&intake, today()) {
        Ok(payload) => {
            assert!(!payload.body.is_empty(), "{}: an empty payload", item.id);
            true
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "{}: refused without a reason", item.id);
            for error in errors {
                assert!(
                    !error.reason_en.is_empty() && !error.reason_zh.is_empty(),
                    "{}: a mapping error without a reason: {error:?}",
                    item.id
                );
            }
            false
        }
    }
}

/// A rule text: it compiles or is refused; a compiled rule is checked
/// against a scope and evaluated against a context, giving a value or an
/// error, never a crash.
pub fn expression(data: &[u8]) -> bool {
    let source = String::from_utf8_lossy(data);
    let Ok(expression) = Expression::compile(&source) else {
        return false;
    };
    let mut scope = Scope::default();
    scope.names.insert("capital".into(), SampleKind::Number);
    scope.names.insert("employees".into(), SampleKind::Integer);
    scope.names.insert("delegated".into(), SampleKind::Bool);
    scope.names.insert("name".into(), SampleKind::Text);
    let _ = scope.check(&expression, SampleKind::Bool);
    let mut context = crate::expression::new_context();
    context.add_variable_from_value("capital", cel::Value::Float(50000.0));
    context.add_variable_from_value("employees", cel::Value::Int(12));
    context.add_variable_from_value("delegated", cel::Value::Bool(true));
    context.add_variable_from_value("name", cel::Value::String(String::from("示例").into()));
    expression.evaluate(&context).is_ok()
}

/// Any text through every identifier check: an accepted number checks
/// again the same, its mask hides it, a refusal has a code and messages.
pub fn identifiers(data: &[u8]) -> bool {
    use crate::identifiers::*;
    let input = String::from_utf8_lossy(data);
    let mut accepted = false;
    match check_resident_id(&input, today()) {
        Ok(id) => {
            let again = check_resident_id(&id.number, today()).expect("a checked number checks");
            assert_eq!(again.number, id.number);
            assert_ne!(mask_identifier(&id.number), id.number);
            accepted = true;
        }
        Err(error) => refusal(&error),
    }
    if let Err(error) = upgrade_resident_id(&input, today()) {
        refusal(&error);
    }
    match check_credit_code(&input) {
        Ok(code) => {
            let again = check_credit_code(&code.code).expect("a checked code checks");
            assert_eq!(again.code, code.code);
            accepted = true;
        }
        Err(error) => refusal(&error),
    }
    if let Err(error) = check_organisation_code(&input) {
        refusal(&error);
    }
    let _ = mask_identifier(&input);
    accepted
}

fn refusal(error: &crate::identifiers::IdentifierError) {
    assert!(!error.code().is_empty());
    assert!(!error.message_zh().is_empty());
    assert!(!error.to_string().is_empty());
}

/// An ID-card reader file of any bytes: a card, or a coded refusal that
/// never repeats the number it was given.
pub fn id_card(data: &[u8]) -> bool {
    match crate::id_card::read_card(data, today()) {
        Ok(card) => {
            assert_eq!(card.id_number.len(), 18);
            true
        }
        Err(error) => {
            assert!(!error.code().is_empty());
            let text = String::from_utf8_lossy(data);
            // The longest run of ID characters in the input must not come
            // back in the message (a refused card's number is never shown).
            let longest = text
                .split(|c: char| !(c.is_ascii_digit() || c == 'X' || c == 'x'))
                .max_by_key(|run| run.len())
                .unwrap_or_default();
            if longest.len() >= 15 {
                assert!(!error.message_zh().contains(longest));
                assert!(!error.to_string().contains(longest));
            }
            false
        }
    }
}
