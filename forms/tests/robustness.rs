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

/// ID-card reader files are written by other programs: whatever bytes
/// arrive, reading gives a card or a coded error, never a panic, and a
/// refused card's message never carries the number it was given.
mod id_card_files {
    use proptest::prelude::*;

    const CARD: &str = r#"{"name":"张三","sex":"男","ethnicity":"汉","birthDate":"1980-01-01","address":"示例路1号","idNumber":"34052419800101001X","issuingAuthority":"郎溪县公安局","validFrom":"20150301","validUntil":"长期"}"#;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_read_or_refuse(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = forms::id_card::read_card(&bytes, today());
        }

        #[test]
        fn edited_cards_read_or_refuse_without_the_number(
            position in 0usize..CARD.len(),
            cut in 0usize..20,
            insert in "[0-9A-Za-z\":,{}\\[\\]=\\n 长期男女]{0,8}",
        ) {
            let mut text = CARD.to_owned();
            let start = (0..=position).rev().find(|index| text.is_char_boundary(*index)).unwrap_or(0);
            let end = (start + cut).min(text.len());
            let end = (end..=text.len()).find(|index| text.is_char_boundary(*index)).unwrap_or(text.len());
            text.replace_range(start..end, &insert);
            if let Err(error) = forms::id_card::read_card(text.as_bytes(), today()) {
                prop_assert!(!error.to_string().contains("3405241980"));
                prop_assert!(!error.message_zh().contains("3405241980"));
                prop_assert!(!error.code().is_empty());
            }
        }
    }
}
