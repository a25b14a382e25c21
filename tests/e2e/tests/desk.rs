//! The supervisor's desk in the real window: the audit log's "verify
//! chain" finds an entry the test changed in the store while the app was
//! closed.

use onewindow_e2e::{App, Home};

#[tokio::test(flavor = "multi_thread")]
async fn verify_chain_points_at_an_entry_changed_in_the_store() {
    let home = Home::with_key_file();
    let app = App::start(&home, "desk").await; // makes the accounts (audited)
    app.sign_in_as("supervisor").await;
    app.wait_for("[data-testid=view-supervisor]").await;
    app.click("[data-testid=audit-verify]").await;
    app.wait_for("[data-testid=audit-check][data-intact=true]")
        .await;
    app.screenshot("supervisor-desk-zh").await;
    app.close().await;

    // Someone edits the third audit entry in the store file directly
    // (dropping the trigger that refuses updates first).
    let key = offline_cache::KeySource::File(home.key_file())
        .obtain()
        .expect("the key file the app made");
    {
        let store = offline_cache::CaseStore::<offline_cache::Production>::open(
            &home.data_dir().join("cases"),
            &key,
            offline_cache::StoreOptions::default(),
        )
        .expect("the store opens with its key");
        store
            .write_blocking(|connection| {
                connection.execute_batch(
                    "DROP TRIGGER audit_log_no_update;
                     UPDATE audit_log SET detail = '{\"role\":\"admin\"}' WHERE seq = 3;",
                )?;
                Ok(())
            })
            .expect("the test's edit lands");
    }

    let app = App::start_signed_out(&home, "desk-tampered").await;
    app.sign_in_as("supervisor").await;
    app.wait_for("[data-testid=view-supervisor]").await;
    app.click("[data-testid=audit-verify]").await;
    app.wait_for("[data-testid=audit-check][data-intact=false][data-broken-seq='3']")
        .await;
    let text = app.text("[data-testid=audit-check]").await;
    assert!(text.contains("第 3 条"), "{text}");
    app.screenshot("supervisor-audit-broken-zh").await;
    app.close().await;
}
