//! Build script: declares the app's own commands to Tauri's access control,
//! so the capability files can allow exactly these and nothing else.

/// Every command the UI may invoke. A command missing here cannot be allowed
/// by a capability file, and the UI's call to it is refused at run time.
const APP_COMMANDS: &[&str] = &[
    "app_info",
    "session_status",
    "create_first_admin",
    "sign_in",
    "sign_out",
    "lock_session",
    "unlock_session",
    "list_accounts",
    "create_account",
    "set_account_disabled",
    "reset_account_password",
    "search_catalog",
    "item_guide",
    "cases_today",
    "search_cases",
    "case_detail",
    "start_intake",
    "resume_intake",
    "open_intakes",
    "save_intake",
    "discard_intake",
    "check_identifier",
    "look_up_applicant",
    "look_up_licence",
    "commit_intake",
    "results_ready",
    "issue_result",
    "record_rating",
    "sign_off_gaps",
    "supervisor_desk",
    "desk_action",
    "audit_entries",
    "verify_audit_chain",
    "queue_today",
    "issue_ticket",
    "call_next",
    "ticket_action",
    "transfer_ticket",
    "get_preferences",
    "set_language",
    "sync_status",
    "sync_now",
    "retry_quarantined",
    "list_printers",
    "set_printing",
    "preview_test_page",
    "print_test_page",
    "issue_document",
    "print_document",
    "save_document",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(APP_COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build failed: see the message above");
}
