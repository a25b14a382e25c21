//! The `catalog-check` command on the sample catalogue and on a broken copy.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_catalog-check"))
        .arg(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn summarises_a_good_catalogue() {
    let (code, out) = run(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[sample data]"), "{out}");
    assert!(out.contains("41 items, 6 bundles"), "{out}");
}

#[test]
fn lists_every_error_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), "version = \"x\"\nname_zh = \"测试\"\nunknown = 1\n[[system]]\nid = \"s\"\nname_zh = \"s\"\nname_en = \"s\"\ndepartment = \"nowhere\"\n").unwrap();
    let (code, out) = run(dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("catalog.toml:3:1: unknown key `unknown`"),
        "{out}"
    );
    let (code, _) = run(Path::new("/no/such/folder"));
    assert_eq!(code, 1);
    let usage = Command::new(env!("CARGO_BIN_EXE_catalog-check"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
