//! Long lists in the real window: a store of 10,000 cases, 9,000 of them
//! today's at this window (a day's case numbers go to 9,999),
//! a 1,100-item catalogue and a form with 100 repeat rows, measured against
//! a small window (20 cases, a one-item catalogue, one row) in the same run.
//!
//! What it checks: the cases list is virtualised (9,000 rows, only the
//! rows in view are mounted, the last case is reachable by scrolling), the
//! searches find what they should, a draft with 100 rows reopens with every
//! row. What it measures (printed as a table and written to
//! `artifacts/e2e/long-lists.txt`, no time is asserted): opening the Cases
//! screen, scrolling it, searching cases and the catalogue, reopening the
//! draft, and a keystroke in the last row (to paint, and to saved and
//! checked). Times are taken in the page (`performance.now`, two animation
//! frames after the change), so WebDriver's own latency is not in them.

use std::path::Path;

use onewindow_e2e::{App, Home};
use serde_json::{json, Value};

/// Helpers every measuring script starts with: wait for a condition frame
/// by frame, then two more frames (the change is painted).
const HELPERS: &str = "
const until = (test) => new Promise((resolve, reject) => {
  const started = performance.now();
  const step = () => {
    if (test()) { resolve(); }
    else if (performance.now() - started > 30000) { reject(new Error('timed out')); }
    else { requestAnimationFrame(step); }
  };
  step();
});
const painted = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
";

/// Runs `body` (which sets `t0`, acts and awaits) and returns the
/// milliseconds it reports.
async fn measure(app: &App, body: &str) -> f64 {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         {HELPERS}
         (async () => {{ {body} }})().then(done, (error) => done('error: ' + error.message));"
    );
    let answer = app.client.execute_async(&script, vec![]).await.unwrap();
    answer
        .as_f64()
        .unwrap_or_else(|| panic!("measurement failed: {answer}\n{body}"))
}

struct Figures {
    open_cases: f64,
    rows_mounted: f64,
    scroll_frame_p95: f64,
    case_search: f64,
    catalog_search: f64,
    open_draft: f64,
    keystroke_paint: f64,
    keystroke_saved: f64,
}

fn forms_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms")
}

/// A window with `cases` cases today, a catalogue of `items` generated items
/// plus the large form, and a draft of that form with `rows` rows.
async fn measure_window(
    label: &str,
    earlier: u64,
    cases: u64,
    items: usize,
    rows: usize,
) -> Figures {
    let catalog = tempfile::tempdir().unwrap();
    let sample = forms_root().join("catalog");
    let values = forms::generator::write_large_form(&sample, catalog.path(), 20, rows).unwrap();
    if items > 0 {
        forms::generator::write_catalog(&sample, catalog.path(), items, 42).unwrap();
    }
    // The sample catalogue's own items and bundles too (the back-office
    // standards name them).
    for entry in std::fs::read_dir(sample.join("items")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            catalog
                .path()
                .join("items")
                .join(format!("sample-{}", entry.file_name().to_string_lossy())),
        )
        .unwrap();
    }
    std::fs::create_dir_all(catalog.path().join("bundles")).unwrap();
    std::fs::copy(
        sample.join("bundles/bundles.toml"),
        catalog.path().join("bundles/bundles.toml"),
    )
    .unwrap();
    let home = Home::with_key_file().with_catalog(catalog.path().to_path_buf());
    // First start: the store and the accounts.
    App::start(&home, &format!("{label}-setup"))
        .await
        .close()
        .await;

    // The day's cases, written straight into the store (kept at the window:
    // nothing to sync).
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
        let now = chrono::Local::now().fixed_offset();
        // Today's cases between midnight and now, a second apart at most
        // (shortly after midnight they are closer), so all are today's.
        let since_midnight = now
            .time()
            .signed_duration_since(chrono::NaiveTime::MIN)
            .num_milliseconds();
        let spacing = (since_midnight / (cases as i64 + 1)).clamp(0, 1_000);
        store
            .write_blocking(move |connection| {
                // `earlier` cases yesterday, then `cases` today.
                for number in 0..earlier + cases {
                    let at = if number < earlier {
                        now - chrono::Duration::days(1)
                    } else {
                        now - chrono::Duration::milliseconds(
                            (earlier + cases - number) as i64 * spacing,
                        )
                    };
                    let mut intake = offline_cache::sample::intake(
                        &format!("00000000-0000-4000-8000-{number:012}"),
                        number,
                        at,
                        3,
                        2,
                    );
                    intake.dispatch_now = false;
                    offline_cache::cases::record_intake(
                        connection,
                        &offline_cache::StoreOptions::default(),
                        &intake,
                    )?;
                }
                Ok(())
            })
            .expect("the cases are written");
    }

    let app = App::start(&home, label).await;
    // The draft with its rows, saved through the commands as the form would.
    let saved = app
        .client
        .execute_async(
            "const [values, done] = arguments;
             const invoke = window.__TAURI_INTERNALS__.invoke;
             (async () => {
               const session = await invoke('start_intake', { subject: { kind: 'item', id: 'generated.large-form' }, ticket: null });
               const draft = { ...session.draft, values, step: 'form' };
               await invoke('save_intake', { draft });
               return 'ok';
             })().then(done, (error) => done(JSON.stringify(error)));",
            vec![Value::Object(values.clone())],
        )
        .await
        .unwrap();
    assert_eq!(saved, json!("ok"));

    let open_cases = measure(
        &app,
        &format!(
            "const t0 = performance.now();
             window.dispatchEvent(new KeyboardEvent('keydown', {{ code: 'Digit3', key: '3', altKey: true, bubbles: true }}));
             await until(() => document.querySelector('[data-testid=case-rows][data-count=\"{cases}\"]') && document.querySelector('[data-testid=case-row]'));
             await painted();
             return performance.now() - t0;"
        ),
    )
    .await;
    let rows_mounted = app
        .script("return document.querySelectorAll('[data-testid=case-row]').length;")
        .await
        .as_f64()
        .unwrap();
    // Scroll to the end, half a viewport per frame; the frame intervals.
    let scrolled = app
        .client
        .execute_async(
            &format!(
                "const done = arguments[0];
                 {HELPERS}
                 (async () => {{
                   const viewport = document.querySelector('[data-testid=case-rows]');
                   const gaps = [];
                   let last = performance.now();
                   for (let frame = 0; frame < 240 && viewport.scrollTop + viewport.clientHeight < viewport.scrollHeight - 1; frame += 1) {{
                     viewport.scrollTop += viewport.clientHeight / 2;
                     await new Promise((resolve) => requestAnimationFrame(resolve));
                     const now = performance.now();
                     gaps.push(now - last);
                     last = now;
                   }}
                   for (let frame = 0; frame < 10; frame += 1) {{
                     await new Promise((resolve) => requestAnimationFrame(resolve));
                     const now = performance.now();
                     gaps.push(now - last);
                     last = now;
                   }}
                   await painted();
                   gaps.sort((a, b) => a - b);
                   const rows = [...document.querySelectorAll('[data-testid=case-row] strong')].map((cell) => cell.textContent);
                   return {{ p95: gaps[Math.floor(gaps.length * 0.95)], frames: gaps.length, rows }};
                 }})().then(done, (error) => done('error: ' + error.message));"
            ),
            vec![],
        )
        .await
        .unwrap();
    let scroll_frame_p95 = scrolled["p95"].as_f64().unwrap();
    app.screenshot(&format!("long-lists-cases-{label}")).await;
    // The oldest case (listed last) is reachable.
    let oldest = app
        .script(&format!(
            "return document.querySelector('[data-testid=case-rows]').dataset.count === '{cases}';"
        ))
        .await;
    assert_eq!(oldest, json!(true));
    assert!(
        !scrolled["rows"].as_array().unwrap().is_empty(),
        "rows are mounted at the end of the list: {scrolled}"
    );

    let case_search = measure(
        &app,
        &format!(
            "const input = document.querySelector('[data-testid=case-search]');
             const t0 = performance.now();
             input.value = '测试申请人1';
             input.dispatchEvent(new Event('input', {{ bubbles: true }}));
             await until(() => document.querySelector('[data-testid=case-rows]').dataset.count !== '{cases}');
             await painted();
             return performance.now() - t0;"
        ),
    )
    .await;
    let found = app
        .script("return Number(document.querySelector('[data-testid=case-rows]').dataset.count);")
        .await;
    assert!(
        (1..=50).contains(&found.as_u64().unwrap()),
        "the name search finds at most 50: {found}"
    );

    app.press_alt_digit('2').await;
    app.wait_for("[data-testid=catalog-search]").await;
    let catalog_search = measure(
        &app,
        "const input = document.querySelector('[data-testid=catalog-search]');
         const t0 = performance.now();
         input.value = '大表单';
         input.dispatchEvent(new Event('input', { bubbles: true }));
         await until(() => document.querySelector('[data-testid=\"hit-generated.large-form\"]'));
         await painted();
         return performance.now() - t0;",
    )
    .await;

    let last = rows - 1;
    let open_draft = measure(
        &app,
        &format!(
            "const t0 = performance.now();
             document.querySelector('[data-testid=open-drafts] [data-testid=resume-draft]').click();
             await until(() => document.getElementById('field-rows_{last}__name'));
             await painted();
             return performance.now() - t0;"
        ),
    )
    .await;
    app.wait_for("[data-testid=intake-flow][data-dirty=false]")
        .await;
    let keystroke = app
        .client
        .execute_async(
            &format!(
                "const done = arguments[0];
                 {HELPERS}
                 (async () => {{
                   const input = document.getElementById('field-rows_{last}__name');
                   input.focus();
                   const t0 = performance.now();
                   input.value = input.value + '甲';
                   input.dispatchEvent(new Event('input', {{ bubbles: true }}));
                   await painted();
                   const paint = performance.now() - t0;
                   await until(() => document.querySelector('[data-testid=intake-flow][data-dirty=true]'));
                   await until(() => document.querySelector('[data-testid=intake-flow][data-dirty=false]'));
                   await painted();
                   return {{ paint, saved: performance.now() - t0 }};
                 }})().then(done, (error) => done('error: ' + error.message));"
            ),
            vec![],
        )
        .await
        .unwrap();
    let rows_shown = app
        .script("return document.querySelectorAll('[id^=field-rows_][id$=__name]').length;")
        .await;
    assert_eq!(rows_shown, json!(rows), "every row of the draft is shown");
    app.screenshot(&format!("long-lists-{label}")).await;
    app.close().await;
    Figures {
        open_cases,
        rows_mounted,
        scroll_frame_p95,
        case_search,
        catalog_search,
        open_draft,
        keystroke_paint: keystroke["paint"].as_f64().unwrap(),
        keystroke_saved: keystroke["saved"].as_f64().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn long_lists_stay_smooth() {
    let small = measure_window("small", 0, 20, 0, 1).await;
    let large = measure_window("large", 1_000, 9_000, 1_100, 100).await;
    assert!(
        large.rows_mounted < 200.0,
        "the cases list mounts only the rows in view: {} of 9,000",
        large.rows_mounted
    );
    let mut table = String::from(
        "Long lists: a busy window against a small one, same run (ms unless said)\n\
         figure                               | small: 20 cases, 42 items, 1 row | large: 10,000 cases (9,000 today), 1,142 items, 100 rows | ratio\n\
         -------------------------------------+----------------------------------+----------------------------------------------------------+------\n",
    );
    let mut line = |name: &str, small: f64, large: f64| {
        let unit = if name.contains("(count)") { "" } else { " ms" };
        forms::benchmark::record(&forms::benchmark::BenchRow {
            group: "long lists (debug build)",
            figure: &format!("{name} (baseline: the small window)"),
            value: &format!("{large:.1}{unit}"),
            baseline: &format!("{small:.1}{unit}"),
            ratio: (small > 0.0).then(|| large / small),
            goal: "report",
            verdict: forms::benchmark::Verdict::Report,
        });
        table.push_str(&format!(
            "{name:<37}| {small:>32.1} | {large:>56.1} | {:>5.2}\n",
            if small > 0.0 { large / small } else { f64::NAN }
        ));
    };
    line("open the Cases screen", small.open_cases, large.open_cases);
    line(
        "case rows mounted (count)",
        small.rows_mounted,
        large.rows_mounted,
    );
    line(
        "scroll to the end: frame p95",
        small.scroll_frame_p95,
        large.scroll_frame_p95,
    );
    line(
        "case search '测试申请人1'",
        small.case_search,
        large.case_search,
    );
    line(
        "catalogue search '大表单'",
        small.catalog_search,
        large.catalog_search,
    );
    line(
        "reopen the draft (form shown)",
        small.open_draft,
        large.open_draft,
    );
    line(
        "keystroke in the last row: painted",
        small.keystroke_paint,
        large.keystroke_paint,
    );
    line(
        "keystroke: saved and checked (250 ms pause incl.)",
        small.keystroke_saved,
        large.keystroke_saved,
    );
    println!("{table}");
    std::fs::write(
        onewindow_e2e::artifacts_dir().join("long-lists.txt"),
        &table,
    )
    .unwrap();
}
