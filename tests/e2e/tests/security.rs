//! The web view's limits in the real window: the page cannot load remote
//! content (the CSP refuses remote scripts, images, styles and requests)
//! and cannot call commands outside the app's own (Tauri's capability
//! refuses plugin commands the app did not declare).

use onewindow_e2e::{App, Home};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_page_cannot_load_remote_content_or_call_foreign_commands() {
    let home = Home::new();
    let app = App::start(&home, "security").await;
    let outcome = app
        .client
        .execute_async(
            "const done = arguments[0];
             (async () => {
               const violations = [];
               document.addEventListener('securitypolicyviolation', (event) => violations.push(event.violatedDirective));
               const outcome = {};
               try {
                 await fetch('https://example.com/');
                 outcome.fetch = 'loaded';
               } catch (error) {
                 outcome.fetch = 'refused';
               }
               const image = document.createElement('img');
               const imageDone = new Promise((resolve) => {
                 image.onload = () => resolve('loaded');
                 image.onerror = () => resolve('refused');
               });
               image.src = 'https://example.com/logo.png';
               document.body.append(image);
               outcome.image = await imageDone;
               const script = document.createElement('script');
               const scriptDone = new Promise((resolve) => {
                 script.onload = () => resolve('loaded');
                 script.onerror = () => resolve('refused');
               });
               script.src = 'https://example.com/x.js';
               document.head.append(script);
               outcome.script = await scriptDone;
               try {
                 eval('1 + 1');
                 outcome.eval = 'ran';
               } catch (error) {
                 outcome.eval = 'refused';
               }
               const invoke = window.__TAURI_INTERNALS__.invoke;
               for (const command of ['plugin:shell|open', 'plugin:fs|read_file', 'no_such_command']) {
                 try {
                   await invoke(command, { path: '/etc/passwd' });
                   outcome[command] = 'ran';
                 } catch (error) {
                   outcome[command] = 'refused';
                 }
               }
               await new Promise((resolve) => setTimeout(resolve, 200));
               outcome.violations = violations.length;
               return outcome;
             })().then(done, (error) => done('error: ' + error));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(outcome["fetch"], json!("refused"), "{outcome}");
    assert_eq!(outcome["image"], json!("refused"), "{outcome}");
    assert_eq!(outcome["script"], json!("refused"), "{outcome}");
    assert_eq!(outcome["eval"], json!("refused"), "{outcome}");
    for command in [
        "plugin:shell|open",
        "plugin:fs|read_file",
        "no_such_command",
    ] {
        assert_eq!(outcome[command], json!("refused"), "{command}: {outcome}");
    }
    assert!(
        outcome["violations"].as_u64().unwrap_or(0) >= 3,
        "the CSP reported its refusals: {outcome}"
    );
    app.close().await;
}
