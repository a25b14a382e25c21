//! The store key's recovery key in the real window: shown once to the
//! administrator after the first start; when the key is lost (the key file
//! an administrator named is deleted) the window says why the store is
//! closed and takes the recovery key, and the store opens again with its
//! accounts.

use onewindow_e2e::{App, Home};

#[tokio::test(flavor = "multi_thread")]
async fn the_recovery_key_shown_once_opens_the_store_after_its_key_is_lost() {
    let home = Home::with_key_file();
    let app = App::start_signed_out(&home, "recovery-first").await;
    app.sign_in_as("admin").await; // first start: makes the accounts
    let key = app.text("[data-testid=recovery-key]").await;
    assert_eq!(key.split('-').count(), 14, "{key}");
    app.screenshot("recovery-key-shown-zh").await;
    app.click("[data-testid=recovery-key-acknowledge]").await;
    app.wait_until_gone("[data-testid=recovery-key-notice]")
        .await;
    app.close().await;

    // Confirmed: never shown again.
    let app = App::start_signed_out(&home, "recovery-confirmed").await;
    app.sign_in_as("admin").await;
    assert_eq!(
        app.script("return document.querySelector('[data-testid=recovery-key-notice]') === null")
            .await,
        serde_json::json!(true)
    );
    app.close().await;

    // The key is lost: the store stays closed and says what to do.
    std::fs::remove_file(home.key_file()).expect("the key file");
    let store_file = home.data_dir().join("cases").join("cases.db");
    let before = std::fs::read(&store_file).expect("the store file");
    let app = App::start_signed_out(&home, "recovery-lost").await;
    app.wait_for("[data-testid=store-recovery]").await;
    assert!(!home.key_file().exists(), "a new key was made");
    assert_eq!(std::fs::read(&store_file).unwrap(), before);
    app.screenshot("recovery-entry-zh").await;

    // A wrong key is refused and changes nothing.
    let input = app.wait_for("[data-testid=store-recovery-key]").await;
    input
        .send_keys("0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000")
        .await
        .unwrap();
    app.click("[data-testid=store-recovery-submit]").await;
    app.wait_for("[data-testid=store-recovery-problem]").await;
    assert!(!home.key_file().exists());

    // The administrator's paper copy: the store opens, the accounts are there.
    input.clear().await.unwrap();
    input.send_keys(&key.to_lowercase()).await.unwrap();
    app.click("[data-testid=store-recovery-submit]").await;
    app.wait_for("[data-testid=session-gate]").await;
    assert!(home.key_file().exists(), "the key is saved again");
    app.sign_in_as("clerk").await;
    app.close().await;
}
