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
    // The key is not on disk in clear next to the store: only the store
    // and the key wrapped by the recovery key are there.
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name.starts_with("cases.db") || name == "cases.key-recovery",
            "unexpected file {name}"
        );
    }
}

/// Runs the exerciser in `mode` on `data`, inside a private D-Bus session
/// with gnome-keyring (its keyrings kept under `home`) when `with_keyring`,
/// else with no session bus at all (the Secret Service is down).
fn exerciser(
    home: &std::path::Path,
    data: &std::path::Path,
    mode: &str,
    with_keyring: bool,
) -> String {
    let runtime = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_store-exerciser");
    let mut command = if with_keyring {
        let script = format!(
            "echo onewindow-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 && exec '{binary}' '{}' - {mode}",
            data.display()
        );
        let mut command = Command::new("dbus-run-session");
        command.args(["--", "sh", "-c", &script]);
        command.env_remove("DBUS_SESSION_BUS_ADDRESS");
        command
    } else {
        let mut command = Command::new(binary);
        command.args([&data.display().to_string(), "-", mode]);
        command.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", runtime.path().display()),
        );
        command
    };
    let output = command
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("XDG_DATA_HOME", home.join("data"))
        .output()
        .unwrap();
    format!(
        "{}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_secret_service_that_is_down_at_one_start_makes_no_new_key() {
    for program in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(on_path(program), "{program} is missing");
    }
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // First start: the key is made and the store created.
    let first = exerciser(home.path(), data.path(), "keyring", true);
    assert!(first.contains("store-ok"), "{first}");
    // One start with the Secret Service down: an error, no key anywhere.
    let down = exerciser(home.path(), data.path(), "keyring-down", false);
    assert!(down.contains("obtain-failed keyring_unavailable"), "{down}");
    assert!(down.contains("no-kernel-entry"), "{down}");
    // Back up: the real key is still the one, and the store opens with it.
    let again = exerciser(home.path(), data.path(), "keyring", true);
    assert!(again.contains("same-key"), "{again}");
    assert!(again.contains("store-ok"), "{again}");
}
