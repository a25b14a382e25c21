//! The fuzz targets of `forms::fuzzing`, driven by proptest: a short run in
//! `cargo test`, a long one with `ONEWINDOW_FUZZ_CASES=<cases per target>`
//! (`./x fuzz`). Inputs are made from the real files with random edits, so
//! most of them reach past the first parse. Every input that ever broke a
//! target is kept in `forms/fuzz/regressions/<target>/` and replayed here.

use std::path::Path;

use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = u32::try_from(forms::benchmark::count_from_environment(
        "ONEWINDOW_FUZZ_CASES",
        u64::from(default),
    ))
    .expect("ONEWINDOW_FUZZ_CASES fits in 32 bits");
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sample(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// `text` with random insertions, deletions and replacements.
fn edit(text: &str, edits: &[(usize, u8, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (position, kind, insert) in edits {
        let at = position % (chars.len() + 1);
        match kind % 3 {
            0 => {
                chars.splice(at..at, insert.chars());
            }
            1 => {
                let end = (at + insert.chars().count().max(1)).min(chars.len());
                chars.drain(at..end);
            }
            _ => {
                if at < chars.len() {
                    chars[at] = insert.chars().next().unwrap_or(' ');
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, String)>> {
    proptest::collection::vec(
        (
            0usize..20_000,
            any::<u8>(),
            "[a-z0-9_=\\[\\]{}\",.#' \\n<>|&!()-]{0,8}",
        ),
        0..6,
    )
}

#[test]
fn the_unedited_inputs_are_accepted() {
    // The edits start from inputs that pass, so they reach past the parse.
    let item = sample("catalog/items/market.toml");
    assert!(forms::fuzzing::catalog_item(item.as_bytes()));
    let mut standard = vec![0u8];
    standard.extend(sample("standards/construction-approval.toml").into_bytes());
    assert!(forms::fuzzing::standard_file(&standard));
    assert!(forms::fuzzing::mapping(&[0, 0]));
    assert!(forms::fuzzing::expression(
        b"capital >= 30000.0 && delegated"
    ));
    assert!(forms::fuzzing::identifiers(b"34052419800101001X"));
    assert!(forms::fuzzing::id_card(
        r#"{"name":"张三","sex":"男","ethnicity":"汉","birthDate":"1980-01-01","address":"示例路1号","idNumber":"34052419800101001X","issuingAuthority":"郎溪县公安局","validFrom":"20150301","validUntil":"长期"}"#.as_bytes()
    ));
}

#[test]
fn saved_inputs_that_once_broke_a_target_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for target in forms::fuzzing::TARGETS {
        let folder = root.join(target);
        assert!(folder.is_dir(), "{} is missing", folder.display());
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".gitkeep") {
                continue;
            }
            forms::fuzzing::run(target, &std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    println!("{replayed} saved inputs replayed");
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn catalogue_item_files(edits in edits()) {
        let item = sample("catalog/items/market.toml");
        forms::fuzzing::catalog_item(edit(&item, &edits).as_bytes());
    }

    #[test]
    fn data_standard_files(which in any::<u8>(), edits in edits()) {
        let mut files: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("standards"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        let text = std::fs::read_to_string(&files[usize::from(which) % files.len()]).unwrap();
        let mut data = vec![which];
        data.extend(edit(&text, &edits).into_bytes());
        forms::fuzzing::standard_file(&data);
    }

    #[test]
    fn mapping_of_any_values(
        item in any::<u8>(),
        field in any::<u8>(),
        value in prop_oneof![
            "\\PC{0,24}",
            "-?[0-9]{1,20}(\\.[0-9]{0,6})?",
            Just("null".to_owned()),
            Just("[]".to_owned()),
            Just("{\"region_code\":\"999999\",\"detail\":\"\"}".to_owned()),
            Just("true".to_owned()),
            Just("1e400".to_owned()),
        ],
    ) {
        let mut data = vec![item, field];
        data.extend(value.into_bytes());
        forms::fuzzing::mapping(&data);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn rule_expressions(source in "[a-z0-9_ ><=!&|+*/%().,'\"\\[\\]?:-]{0,48}") {
        forms::fuzzing::expression(source.as_bytes());
    }

    #[test]
    fn identifiers_of_any_text(input in prop_oneof!["\\PC{0,24}", "[0-9A-Z]{8,20}", "[0-9]{17}[0-9Xx]"]) {
        forms::fuzzing::identifiers(input.as_bytes());
    }

    #[test]
    fn id_card_files_of_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        forms::fuzzing::id_card(&bytes);
    }
}
