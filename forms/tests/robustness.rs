//! No catalogue file, however broken, makes the loader panic: random edits
//! of a real item file either load or give located errors.

use std::path::Path;

use proptest::prelude::*;

const ITEM: &str = r#"
[[item]]
id = "market.deregistration"
basic_code = "000131127000"
implementation_code = "420102-000131127004-MKT06"
handling_code = "00013112700403"
version = 1
status = "active"
name_zh = "企业简易注销登记"
name_en = "Simplified company deregistration"
category = "economic"
department = "market"
kind = "promised"
statutory_limit = { days = 3, unit = "working_days" }
promised_limit = { days = 1, unit = "working_days" }
legal_basis_zh = ["《市场主体登记管理条例》第三十三条"]
visits = 1
applicant_types = ["legal_person"]
back_office = "market-registration"

[[item.field]]
use = "entity_name"

[[item.field]]
id = "count"
label_zh = "数量"
label_en = "Count"
type = "integer"
required = true
constraint = [{ rule = "count > 0", message_zh = "须大于0", message_en = "Must be positive" }]

[[item.material]]
use = "business_licence"
"#;

fn small_catalogue(item_text: &str) -> tempfile::TempDir {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("items")).unwrap();
    std::fs::create_dir_all(dir.path().join("code-tables")).unwrap();
    for file in [
        "catalog.toml",
        "library.toml",
        "code-tables/persons.toml",
        "code-tables/places-and-business.toml",
    ] {
        std::fs::copy(sample.join(file), dir.path().join(file)).unwrap();
    }
    std::fs::write(dir.path().join("items/item.toml"), item_text).unwrap();
    dir
}

#[test]
fn the_unmodified_item_loads() {
    let dir = small_catalogue(ITEM);
    forms::load_catalog(dir.path()).unwrap_or_else(|error| panic!("{error}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_edits_never_panic(
        edits in proptest::collection::vec((0usize..2000, 0u8..4, "[a-z0-9=\\[\\]{}\",.#_ \\n'<>|&!-]{0,6}"), 1..6)
    ) {
        let mut text: Vec<char> = ITEM.chars().collect();
        for (position, kind, insert) in edits {
            let at = position % (text.len() + 1);
            match kind {
                0 => { text.splice(at..at, insert.chars()); }
                1 => { let end = (at + insert.len().max(1)).min(text.len()); text.drain(at..end); }
                2 => { if at < text.len() { text[at] = insert.chars().next().unwrap_or(' '); } }
                _ => {
                    let lines: Vec<String> = text.iter().collect::<String>().lines().map(str::to_owned).collect();
                    let keep = at % lines.len().max(1);
                    text = lines.iter().enumerate().filter(|(index, _)| *index != keep).map(|(_, line)| format!("{line}\n")).collect::<String>().chars().collect();
                }
            }
        }
        let dir = small_catalogue(&text.into_iter().collect::<String>());
        if let Err(forms::FormsError::Load(errors)) = forms::load_catalog(dir.path()) {
            prop_assert!(!errors.is_empty());
            for error in errors {
                prop_assert!(!error.message.is_empty());
            }
        }
    }
}
