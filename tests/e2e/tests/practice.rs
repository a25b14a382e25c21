//! Practice in the real window: a trainer starts a session for a trainee,
//! the banner shows and cannot be closed, the trainee runs two scenarios
//! (begun and finished on the practice screen, the case taken in through
//! the same commands the intake screens use), and the trainer, signed in
//! over the trainee's session, sees both scores and ends practice.

use onewindow_e2e::{App, Home};
use serde_json::{json, Value};

/// Takes a case in for the open scenario: the scenario's applicant, every
/// checklist line received except `missing`, then commits `decision`.
async fn take_in(app: &App, item: &str, missing: &[&str], decision: &str) {
    let outcome = app
        .client
        .execute_async(
            "const [item, missing, decision, done] = arguments;
             const invoke = window.__TAURI_INTERNALS__.invoke;
             (async () => {
               const attempt = await invoke('open_attempt');
               const s = attempt.scenario;
               const session = await invoke('start_intake', { subject: { kind: 'item', id: item }, ticket: null });
               const marks = {};
               for (const line of session.form.checklist) {
                 marks[line.key] = missing.includes(line.key)
                   ? { status: 'missing' }
                   : { status: 'received', original: true, copies: Math.max(line.copies, 1) };
               }
               const draft = {
                 ...session.draft,
                 applicant: { ...session.draft.applicant, identifier: s.applicant_id_number, name: s.applicant_name,
                   phone: s.applicant_phone, address: s.applicant_address, ethnicity: '01', consent: true },
                 marks,
                 step: 'decision',
               };
               await invoke('save_intake', { draft });
               const outcome = await invoke('commit_intake', { draft, confirmed: decision });
               return outcome.decision;
             })().then(done, (error) => done('error: ' + JSON.stringify(error)));",
            vec![json!(item), json!(missing), json!(decision)],
        )
        .await
        .unwrap();
    assert_eq!(outcome, json!(decision), "taking the case in: {outcome}");
}

async fn run_scenario(app: &App, id: &str, item: &str, missing: &[&str], decision: &str) -> u64 {
    app.press_alt_digit('6').await;
    app.click(&format!("[data-testid=scenario-{id}]")).await;
    app.wait_for("[data-testid=scenario-brief]").await;
    take_in(app, item, missing, decision).await;
    app.click("[data-testid=scenario-finish]").await;
    let result = app.wait_for("[data-testid=scenario-result]").await;
    let total: Value = result
        .attr("data-total")
        .await
        .unwrap()
        .map(|text| json!(text.parse::<u64>().unwrap()))
        .unwrap();
    total.as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trainee_runs_two_scenarios_and_the_trainer_sees_both_scores() {
    let home = Home::new();
    let app = App::start_signed_out(&home, "practice").await;
    app.sign_in_as("trainer").await;
    app.press_alt_digit('6').await;
    let field = app.wait_for("[data-testid=practice-trainee]").await;
    field.send_keys("clerk").await.unwrap();
    app.click("[data-testid=practice-start]").await;
    // Practice: the banner, and the sign-in screen for the trainee.
    app.wait_for("[data-testid=mode-banner]").await;
    app.wait_for("[data-testid=gate-login]").await;
    app.screenshot("practice-sign-in-zh").await;

    app.sign_in_as("clerk").await;
    let first = run_scenario(
        &app,
        "social-marriage-not-here",
        "civil-affairs.marriage-registration",
        &[],
        "not_accepted",
    )
    .await;
    app.screenshot("practice-result-zh").await;
    let second = run_scenario(
        &app,
        "economic-food-licence-notice",
        "market.food-business-licence",
        &["layout_and_process"],
        "one_time_notice",
    )
    .await;
    assert!(first >= 90 && second >= 90, "scores {first} and {second}");
    // The banner stays whatever the trainee does.
    app.wait_for("[data-testid=mode-banner]").await;

    // The trainer signs in over the trainee's session and sees both.
    app.sign_in_as("trainer").await;
    app.press_alt_digit('6').await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rows = app
            .script("return document.querySelectorAll('[data-testid=practice-result-row]').length;")
            .await;
        if rows == json!(2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rows: {rows}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let table = app.text("[data-testid=practice-results]").await;
    assert!(
        table.contains(&first.to_string()) && table.contains(&second.to_string()),
        "{table}"
    );
    app.screenshot("practice-trainer-zh").await;
    app.click("[data-testid=practice-end]").await;
    app.wait_until_gone("[data-testid=mode-banner]").await;
    app.close().await;
}
