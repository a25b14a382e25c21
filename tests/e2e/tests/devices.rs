//! Hall devices in the real window, with files written by another process
//! (`sh`) into the folders the app watches: an ID-card reader's file fills
//! the applicant (and is deleted), a bad card is refused with a clear
//! message, a scan lands on the selected material as a thumbnail, and the
//! catalogue folder is reloaded when it changes — a broken edit is refused
//! (the last good catalogue stays), a good one is taken.

use std::path::Path;
use std::process::Command;

use onewindow_e2e::{App, Home};

fn sh(script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh runs");
    assert!(status.success(), "{script}");
}

const CARD: &str = r#"{"name":"张三","sex":"男","ethnicity":"汉","birthDate":"1980-01-01","address":"安徽省宣城市郎溪县示例路1号","idNumber":"34052419800101001X","issuingAuthority":"郎溪县公安局","validFrom":"20150301","validUntil":"长期","photoFile":"zp.png"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_card_fills_the_applicant_and_a_scan_lands_on_the_selected_material() {
    let home = Home::new();
    let app = App::start(&home, "devices").await;
    app.start_company_intake().await;
    let cards = home.data_dir().join("inbox/id-card");
    let scans = home.data_dir().join("inbox/capture");

    // The reader tool's own files are made outside the app's folders.
    let staging_dir = tempfile::tempdir().unwrap();
    let staging = staging_dir.path().to_path_buf();
    // A card with a bad check character: refused, said clearly.
    let bad = CARD.replace("34052419800101001X", "340524198001010011");
    std::fs::write(staging.join("bad.json"), &bad).unwrap();
    sh(&format!(
        "cat '{0}/bad.json' > '{1}/bad.json'",
        staging.display(),
        cards.display()
    ));
    let problem = app.wait_for("[data-testid=id-card-problem]").await;
    assert!(problem.text().await.unwrap().contains("校验码"));

    // The reader writes the photo and the card file.
    let mut photo = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(51, 63, image::Rgb([90, 120, 200]))
        .write_to(&mut photo, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(staging.join("zp.png"), photo.get_ref()).unwrap();
    std::fs::write(staging.join("card.json"), CARD).unwrap();
    sh(&format!(
        "cp '{0}/zp.png' '{1}/zp.png' && cp '{0}/card.json' '{1}/card.json'",
        staging.display(),
        cards.display()
    ));
    app.wait_for("[data-testid=id-card] img").await;
    let identifier = app
        .wait_for("[data-testid=applicant-identifier]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(identifier.as_deref(), Some("34052419800101001X"));
    let name = app
        .wait_for("[data-testid=applicant-name]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("张三"));
    let ethnicity = app
        .wait_for("[data-testid=applicant-ethnicity]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(ethnicity.as_deref(), Some("01"), "汉 → GB/T 3304 code 01");
    assert!(
        std::fs::read_dir(&cards).unwrap().next().is_none(),
        "the card file and its photo are deleted after reading"
    );
    app.screenshot("id-card-read-zh").await;

    // To the materials: select the address proof, then the scanner writes.
    app.click("[data-testid=step-materials]").await;
    app.wait_for("[data-testid=materials-step]").await;
    // Selecting a line: focus in it (keyboard or mouse).
    app.script("document.querySelector('[data-testid=material-status-address_proof]').focus(); return true;")
        .await;
    app.wait_for("[data-testid=material-address_proof].selected")
        .await;
    let mut scan = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 420, image::Rgb([240, 240, 230]))
        .write_to(&mut scan, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(staging.join("page-1.png"), scan.get_ref()).unwrap();
    // A slow scanner: half, a pause, the rest, one open file.
    sh(&format!(
        "( head -c 300 '{0}/page-1.png'; sleep 1; tail -c +301 '{0}/page-1.png' ) > '{1}/page-1.png'",
        staging.display(),
        scans.display()
    ));
    app.wait_for("[data-testid=scans-address_proof] img").await;
    assert!(!scans.join("page-1.png").exists(), "imported and removed");
    app.screenshot("scan-on-material-zh").await;
    app.close().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_catalogue_edit_is_refused_and_a_good_one_is_taken() {
    let catalog = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms/catalog"),
        catalog.path(),
    );
    let home = Home::new().with_catalog(catalog.path().to_path_buf());
    let app = App::start_signed_out(&home, "catalogue-reload").await;
    app.sign_in_as("supervisor").await;
    let market = catalog.path().join("items/market.toml");
    let good = std::fs::read_to_string(&market).unwrap();
    let version_file = catalog.path().join("catalog.toml");
    let header = std::fs::read_to_string(&version_file).unwrap();

    // An editor saves a broken file: refused, the last good one stays.
    sh(&format!(
        "printf '[[item]]\\nid = \"broken\\n' >> '{}'",
        market.display()
    ));
    let notice = app
        .wait_for("[data-testid=catalog-notice].bad")
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.contains("未启用"), "{notice}");
    app.press_alt_digit('7').await;
    app.wait_for("[data-testid=catalog-problems] li").await;
    app.screenshot("catalogue-refused-zh").await;

    // The fix, with a new version number: taken.
    let next_header = header.replacen("2026.11-sample.1", "2026.11-sample.2", 1);
    assert_ne!(
        next_header, header,
        "the sample catalogue's version is in catalog.toml"
    );
    std::fs::write(catalog.path().join("market.fixed"), &good).unwrap();
    std::fs::write(catalog.path().join("catalog.next"), &next_header).unwrap();
    sh(&format!(
        "cat '{0}/market.fixed' > '{1}' && cat '{0}/catalog.next' > '{2}' && rm '{0}/market.fixed' '{0}/catalog.next'",
        catalog.path().display(),
        market.display(),
        version_file.display()
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app
        .text("[data-testid=catalog-notice]")
        .await
        .contains("已更新，现用版本 2026.11-sample.2")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the good catalogue was not taken"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.wait_for_text("[data-testid=about-catalog-version]", "2026.11-sample.2")
        .await;
    app.screenshot("catalogue-reloaded-zh").await;
    app.close().await;
}
