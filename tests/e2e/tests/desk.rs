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
        .obtain(&home.data_dir().join("cases").join("cases.db"))
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

/// The queue watch draws its charts in the real window: a clerk serves two
/// tickets and leaves one waiting; the supervisor's charts have bars and
/// the table beside them has this window's figures.
#[tokio::test(flavor = "multi_thread")]
async fn the_queue_watch_charts_waiting_and_serving_times() {
    let home = Home::new();
    let app = App::start(&home, "queue-watch").await;
    let served = app
        .client
        .execute_async(
            "const done = arguments[0];
             const invoke = window.__TAURI_INTERNALS__.invoke;
             (async () => {
               for (const category of ['economic', 'social', 'construction']) {
                 await invoke('issue_ticket', { category });
               }
               // Waits and serving times of several seconds (0.1 min and more).
               const pause = () => new Promise((resolve) => setTimeout(resolve, 7000));
               await pause();
               for (let served = 0; served < 2; served += 1) {
                 const queue = await invoke('call_next');
                 await pause();
                 await invoke('ticket_action', { ticketId: queue.current.id, action: 'finish' });
               }
               return 'ok';
             })().then(done, (error) => done(JSON.stringify(error)));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(served, serde_json::json!("ok"));
    app.sign_in_as("supervisor").await;
    app.wait_for("[data-testid=view-supervisor]").await;
    app.wait_for("[data-testid=queue-watch][data-loaded=true]")
        .await;
    let row = app.text("[data-testid=queue-row-01]").await;
    assert!(row.contains("01号窗口"), "{row}");
    let cells: Vec<String> = app
        .script(
            "return [...document.querySelectorAll('[data-testid=queue-row-01] td')].map((cell) => cell.textContent);",
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(&cells[..4], ["2", "2", "0", "0"], "{cells:?}");
    let average_wait: f64 = cells[4].parse().unwrap();
    assert!(average_wait >= 0.1, "{cells:?}");
    // Every chart has drawn coloured bars inside its plot area (the legend
    // below it is outside the area and not counted).
    for chart in ["chart-windows", "chart-categories", "chart-hours"] {
        let coloured = app
            .script(&format!(
                "const canvas = document.querySelector('[data-testid={chart}]');
                 const [left, top, right, bottom] = canvas.dataset.plot.split(',').map(Number);
                 const scale = canvas.width / canvas.clientWidth;
                 const pixels = canvas.getContext('2d').getImageData(
                   left * scale, top * scale, (right - left) * scale, (bottom - top) * scale).data;
                 let count = 0;
                 for (let index = 0; index < pixels.length; index += 4) {{
                   const [r, g, b, a] = [pixels[index], pixels[index + 1], pixels[index + 2], pixels[index + 3]];
                   if (a > 200 && (Math.abs(r - g) > 60 || Math.abs(g - b) > 60)) count += 1;
                 }}
                 return count;"
            ))
            .await;
        assert!(
            coloured.as_u64().unwrap_or(0) > 50,
            "{chart}: {coloured} coloured pixels"
        );
    }
    app.script(
        "document.querySelector('[data-testid=queue-watch]').scrollIntoView(); return true;",
    )
    .await;
    app.screenshot("queue-watch-zh").await;
    app.close().await;
}

/// A back office asked for more materials: the clerk finds the case, its
/// detail offers to record what was handed in, and once recorded the case
/// is back in review (the supplement queued for the back office).
#[tokio::test(flavor = "multi_thread")]
async fn the_clerk_records_the_materials_a_back_office_asked_for() {
    let home = Home::with_key_file();
    let app = App::start(&home, "supplement").await; // makes the accounts
    app.close().await;
    let key = offline_cache::KeySource::File(home.key_file())
        .obtain(&home.data_dir().join("cases").join("cases.db"))
        .expect("the key file the app made");
    let case_number = {
        let store = offline_cache::CaseStore::<offline_cache::Production>::open(
            &home.data_dir().join("cases"),
            &key,
            offline_cache::StoreOptions::default(),
        )
        .expect("the store opens with its key");
        let case = store
            .write_blocking(|connection| {
                let intake = offline_cache::sample::intake(
                    "6c1f8a3e-2f4b-4c55-9d1e-7a0b8c9d0e1f",
                    7,
                    chrono::Local::now().fixed_offset(),
                    1,
                    0,
                );
                let case = offline_cache::cases::record_intake(
                    connection,
                    &offline_cache::StoreOptions::default(),
                    &intake,
                )?;
                let system = offline_cache::cases::Actor {
                    user_id: "sync".into(),
                    role: offline_cache::lifecycle::Role::System,
                };
                for event in [
                    offline_cache::lifecycle::Event::BackOfficeReview,
                    offline_cache::lifecycle::Event::RequestSupplement,
                ] {
                    offline_cache::cases::transition(
                        connection,
                        &case.id,
                        event,
                        &system,
                        chrono::Local::now().fixed_offset(),
                        None,
                    )?;
                }
                connection.execute(
                    "UPDATE sub_cases SET state = 'supplement_requested' WHERE case_id = ?1 AND back_office = 'market-registration'",
                    [&case.id],
                )?;
                Ok(case)
            })
            .expect("the case is seeded");
        case.case_number
    };

    let app = App::start_signed_out(&home, "supplement-window").await;
    app.sign_in_as("clerk").await;
    app.press_alt_digit('3').await;
    let search = app.wait_for("[data-testid=case-search]").await;
    search.send_keys(&case_number).await.unwrap();
    app.click("[data-testid=case-row] button").await;
    app.wait_for("[data-testid=supplement-form]").await;
    let note = app.wait_for("[data-testid=supplement-form] input").await;
    note.send_keys("股东会决议原件").await.unwrap();
    app.screenshot("cases-supplement-zh").await;
    app.click("[data-testid=supplement-send]").await;
    app.wait_until_gone("[data-testid=supplement-form]").await;
    let detail = app.text("[data-testid=case-detail] p").await;
    assert!(detail.contains("in_review"), "{detail}");
    app.close().await;
}
