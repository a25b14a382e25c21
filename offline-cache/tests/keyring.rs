//! The store key in a real Secret Service: a private D-Bus session with an
//! unlocked gnome-keyring (both installed by `./x test`), a temporary home,
//! and the exerciser making, reading back and using the key.

use std::process::Command;

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[test]
fn the_key_is_kept_in_a_real_secret_service() {
    for program in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(
            on_path(program),
            "{program} is missing: install dbus-daemon and gnome-keyring (`./x test` does)"
        );
    }
    let home = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let script = format!(
        "echo onewindow-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 && exec '{}' '{}' - keyring",
        env!("CARGO_BIN_EXE_store-exerciser"),
        data.path().display()
    );
    let output = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("keyring-ok secret-service"),
        "stdout: {out}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains("same-key"), "{out}");
    assert!(out.contains("store-ok"), "{out}");
    // The key is not on disk in clear next to the store.
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("cases.db"), "unexpected file {name}");
    }
}
