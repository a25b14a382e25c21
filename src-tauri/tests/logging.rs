//! Logging writes a daily file in the log directory, and a panic is logged
//! before the process goes on unwinding. (Its own test binary: the global
//! subscriber can be set once per process.)

#[test]
fn log_file_is_written_and_panics_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let guard =
        onewindow_lib::logging::start(dir.path()).expect("the first start installs logging");
    tracing::info!(case_id = "c-123", "a line for the file");
    let panicked = std::thread::spawn(|| panic!("deliberate test panic")).join();
    assert!(panicked.is_err());
    drop(guard); // flushes the background writer

    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("onewindow.") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("a line for the file") && text.contains("c-123"),
        "{text}"
    );
    assert!(text.contains("deliberate test panic"), "{text}");
    assert!(
        text.contains("tests/logging.rs"),
        "the panic's location is logged: {text}"
    );

    // A second start in the same process keeps the first subscriber.
    assert!(onewindow_lib::logging::start(dir.path()).is_none());
}
