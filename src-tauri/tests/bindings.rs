//! The checked-in TypeScript bindings must match the Rust types.
//!
//! To update them after changing a command or event type:
//! `ONEWINDOW_UPDATE_BINDINGS=1 cargo test -p onewindow --test bindings`.

use std::path::Path;

#[test]
fn bindings_are_up_to_date() {
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join(onewindow_lib::BINDINGS_PATH);
    let generated_dir = tempfile::tempdir().unwrap();
    let generated = generated_dir.path().join("bindings.ts");
    onewindow_lib::export_bindings(&generated).expect("bindings export");
    let generated_text = std::fs::read_to_string(&generated).unwrap();

    if std::env::var_os("ONEWINDOW_UPDATE_BINDINGS").is_some() {
        std::fs::write(&checked_in, &generated_text).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        current == generated_text,
        "{} is out of date with the Rust types. Regenerate it with \
         `ONEWINDOW_UPDATE_BINDINGS=1 cargo test -p onewindow --test bindings` and commit it.",
        checked_in.display()
    );
}
