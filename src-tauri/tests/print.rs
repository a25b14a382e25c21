//! The window's documents, checked as an applicant would get them: the text
//! poppler extracts (`pdftotext`), the embedded font (`pdffonts`), the size,
//! the page images (`pdftoppm`) against reviewed reference images, the QR
//! code decoded from the image, and a real print through CUPS (cups-pdf).
//!
//! `./x test` installs poppler-utils, CUPS and cups-pdf and sets up the
//! `OneWindowPDF` printer. The page images go to `artifacts/print/`; to
//! accept new reference images after a deliberate layout change, run with
//! `ONEWINDOW_UPDATE_REFERENCES=1` and review the PNGs before committing.

use std::path::{Path, PathBuf};
use std::process::Command;

use onewindow_lib::print::{
    fonts, render, sample, DocumentInput, DocumentKind, Layout, PrintError,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("ONEWINDOW_PRINT_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("artifacts/print"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn references() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/print-references")
}

fn input(kind: DocumentKind) -> DocumentInput {
    sample::input(
        &root().join("forms/catalog"),
        &root().join("forms/calendar"),
        kind,
    )
    .unwrap()
}

const APPLICANT_ID: &str = sample::APPLICANT_ID;

fn tool(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} is missing ({error}): install poppler-utils (`./x test` does)")
        });
    assert!(
        output.status.success(),
        "{program} {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn save(name: &str, bytes: &[u8]) -> PathBuf {
    let path = artifacts().join(format!("{name}.pdf"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The text of the PDF, with the layout's spacing collapsed.
fn text_of(path: &Path, pages: Option<(u32, u32)>) -> String {
    let path = path.to_str().unwrap();
    let text = match pages {
        Some((first, last)) => tool(
            "pdftotext",
            &["-f", &first.to_string(), "-l", &last.to_string(), path, "-"],
        ),
        None => tool("pdftotext", &[path, "-"]),
    };
    text.split_whitespace().collect::<Vec<_>>().join("")
}

#[test]
fn every_document_carries_what_the_applicant_must_be_told() {
    for layout in [Layout::A4, Layout::Roll80] {
        for kind in DocumentKind::ALL {
            let input = input(kind);
            let rendered = render(&input, layout).unwrap();
            let name = format!("{}-{layout:?}", kind.slug()).to_lowercase();
            let path = save(&name, &rendered.bytes);
            let text = text_of(&path, None);
            let mut expected = vec![
                kind.title_zh().to_owned(),
                "示例区政务服务中心".into(),
                input.document_number.clone(),
                "SAMPLE01202611270042".into(),
                "张示例".into(),
                "420102********0116".into(),
                if kind == DocumentKind::NotAcceptedNotice {
                    "内地居民结婚登记".into()
                } else {
                    "有限责任公司设立登记".into()
                },
            ];
            expected.extend(match kind {
                DocumentKind::AcceptanceReceipt => vec![
                    "01号窗口".into(),
                    "陈示例".into(),
                    "2026年11月27日10:05".into(),
                    "材料名称".into(),
                    input.proposal.materials[0].name_zh.clone(),
                    "决定予以受理".into(),
                    "承诺办结日期".into(),
                    "2026年11月30日".into(),
                    "依据".into(),
                    "扫描二维码".into(),
                    "窗口领取".into(),
                    "（受理专用章）".into(),
                    "申请人（签字）".into(),
                ],
                DocumentKind::OneTimeNotice => {
                    let mut lines: Vec<String> = input
                        .proposal
                        .to_supply
                        .iter()
                        .map(|line| line.name_zh.clone())
                        .collect();
                    lines.extend([
                        "一次性告知".into(),
                        "补齐上述材料后即予受理".into(),
                        "申请人（签字）".into(),
                    ]);
                    lines
                }
                DocumentKind::GapsNotice => vec![
                    "第一联申请人留存".into(),
                    "第二联窗口存档".into(),
                    input.proposal.gaps[0].name_zh.clone(),
                    "补齐期限".into(),
                    "2026年11月30日".into(),
                ],
                DocumentKind::Commitment => vec![
                    "郑重承诺".into(),
                    input.proposal.gaps[0].name_zh.clone(),
                    "承诺人（签字或盖章）".into(),
                ],
                DocumentKind::NotAcceptedNotice => vec![
                    "决定不予受理".into(),
                    "救济途径".into(),
                    "行政复议".into(),
                    "行政诉讼".into(),
                    input.proposal.competent_bodies_zh[0]
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect(),
                ],
                DocumentKind::TerminationNotice => vec![
                    "决定终止办理".into(),
                    "容缺材料未在承诺期限内补齐。".into(),
                    "终止时间".into(),
                    "2026年12月2日".into(),
                    input.proposal.gaps[0].name_zh.clone(),
                    "救济途径".into(),
                    "（受理专用章）".into(),
                ],
                DocumentKind::IssuanceReceipt => vec![
                    "营业执照正本1份".into(),
                    "邮寄送达".into(),
                    "EMS1234567890CN".into(),
                    "领取人（签字）".into(),
                ],
            });
            for wanted in expected {
                assert!(
                    text.contains(&wanted),
                    "{name}: `{wanted}` missing from:\n{text}"
                );
            }
            assert!(
                !text.contains(APPLICANT_ID),
                "{name}: the full ID number is printed"
            );
            // The CJK font is embedded as a subset (name prefix ABCDEF+).
            let fonts = tool("pdffonts", &[path.to_str().unwrap()]);
            let line = fonts
                .lines()
                .find(|line| line.contains("NotoSansCJK"))
                .unwrap_or_else(|| panic!("{fonts}"));
            let columns: Vec<&str> = line.split_whitespace().collect();
            assert!(
                columns[0].len() > 7 && columns[0].as_bytes()[6] == b'+',
                "{name}: not a subset: {line}"
            );
            assert!(line.contains("yes yes yes"), "{name}: {line}");
            if rendered.pages == 1 {
                assert!(
                    rendered.bytes.len() < 50 * 1024,
                    "{name}: {} bytes",
                    rendered.bytes.len()
                );
            }
        }
    }
}

fn page_image(pdf: &Path, page: u32, name: &str) -> image::GrayImage {
    let prefix = artifacts().join(name);
    tool(
        "pdftoppm",
        &[
            "-r",
            "60",
            "-gray",
            "-png",
            "-singlefile",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    image::open(prefix.with_extension("png"))
        .unwrap()
        .to_luma8()
}

/// Share of pixels that differ by more than a quarter of the grey scale.
fn difference(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    difference_over(a, b, 64)
}

/// Share of pixels that differ by more than `levels` of 255.
fn difference_over(a: &image::GrayImage, b: &image::GrayImage, levels: u8) -> f64 {
    if a.dimensions() != b.dimensions() {
        return 1.0;
    }
    let differing = a
        .pixels()
        .zip(b.pixels())
        .filter(|(x, y)| x.0[0].abs_diff(y.0[0]) > levels)
        .count();
    differing as f64 / f64::from(a.width() * a.height())
}

#[test]
fn pages_match_the_reviewed_reference_images() {
    let update = std::env::var_os("ONEWINDOW_UPDATE_REFERENCES").is_some();
    let mut failures = Vec::new();
    for layout in [Layout::A4, Layout::Roll80] {
        for kind in DocumentKind::ALL {
            let name = format!("{}-{layout:?}", kind.slug()).to_lowercase();
            let rendered = render(&input(kind), layout).unwrap();
            let pdf = save(&format!("{name}-reference"), &rendered.bytes);
            let image = page_image(&pdf, 1, &name);
            let reference_path = references().join(format!("{name}.png"));
            if update {
                std::fs::create_dir_all(references()).unwrap();
                image.save(&reference_path).unwrap();
                continue;
            }
            let reference = image::open(&reference_path)
                .unwrap_or_else(|error| {
                    panic!(
                        "{}: {error}; make it with ONEWINDOW_UPDATE_REFERENCES=1 and review it",
                        reference_path.display()
                    )
                })
                .to_luma8();
            let share = difference(&image, &reference);
            if share > 0.005 {
                failures.push(format!(
                    "{name}: {:.2} % of the pixels differ (see artifacts/print/{name}.png)",
                    share * 100.0
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The content of the one QR code on the first page of `pdf`, read from a
/// 200 dpi image of it (kept as `artifacts/print/<name>.png`).
fn qr_content(pdf: &Path, name: &str) -> String {
    let codes = qr_codes(pdf, name);
    assert_eq!(codes.len(), 1, "{name}: one QR code on the page");
    codes[0].clone()
}

/// Every QR code on the first page of `pdf`.
fn qr_codes(pdf: &Path, name: &str) -> Vec<String> {
    let prefix = artifacts().join(name);
    tool(
        "pdftoppm",
        &[
            "-r",
            "200",
            "-gray",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let image = image::open(prefix.with_extension("png"))
        .unwrap()
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().unwrap().1)
        .collect()
}

#[test]
fn the_qr_code_reads_back_as_the_progress_address() {
    for layout in [Layout::A4, Layout::Roll80] {
        let input = input(DocumentKind::AcceptanceReceipt);
        let name = format!("qr-{layout:?}").to_lowercase();
        let pdf = save(&name, &render(&input, layout).unwrap().bytes);
        assert_eq!(Some(qr_content(&pdf, &name)), input.progress_url, "{name}");
    }
}

/// A hall with no progress page configured gets no QR code (never one that
/// points at somebody else's site), and the phone and case number instead.
#[test]
fn without_a_progress_page_the_receipt_has_no_qr_code() {
    for layout in [Layout::A4, Layout::Roll80] {
        let mut input = input(DocumentKind::AcceptanceReceipt);
        input.progress_url = None;
        let name = format!("no-qr-{layout:?}").to_lowercase();
        let pdf = save(&name, &render(&input, layout).unwrap().bytes);
        assert!(qr_codes(&pdf, &name).is_empty(), "{name}");
        let text = text_of(&pdf, None);
        assert!(text.contains("拨打咨询电话"), "{name}: {text}");
        assert!(text.contains(&input.case_number), "{name}: {text}");
    }
}

#[test]
fn long_material_lists_continue_with_the_table_header_repeated() {
    let mut input = input(DocumentKind::AcceptanceReceipt);
    let first = input.proposal.materials[0].clone();
    input.proposal.materials = (0..200)
        .map(|index| {
            let mut line = first.clone();
            line.name_zh = format!("第{index}号示例材料（含较长的名称以测试自动换行和分页）");
            line
        })
        .collect();
    let rendered = render(&input, Layout::A4).unwrap();
    assert!(rendered.pages >= 5, "{} pages", rendered.pages);
    let path = save("long-list-a4", &rendered.bytes);
    for page in 2..=rendered.pages as u32 {
        let text = text_of(&path, Some((page, page)));
        assert!(
            text.contains("材料名称"),
            "page {page} has no table header:\n{text}"
        );
        assert!(
            text.contains(&format!("第{page}页共{}页", rendered.pages)),
            "page {page}: {text}"
        );
    }
    assert!(text_of(&path, None).contains("第199号示例材料"));
    // The roll is one long page.
    let roll = render(&input, Layout::Roll80).unwrap();
    assert_eq!(roll.pages, 1);
}

#[test]
fn reprints_are_marked_as_copies_and_practice_documents_as_void() {
    for layout in [Layout::A4, Layout::Roll80] {
        let plain = input(DocumentKind::AcceptanceReceipt);
        let mut marked = plain.clone();
        marked.copy = true;
        marked.practice = true;
        let name = format!("copy-practice-{layout:?}").to_lowercase();
        let path = save(&name, &render(&marked, layout).unwrap().bytes);
        let text = text_of(&path, None);
        assert!(text.contains("副本"), "{text}");
        // The watermark is set diagonally, so its letters come out of
        // pdftotext in page order, not in a row: check each is there.
        let plain_text = text_of(
            &save(
                &format!("{name}-plain"),
                &render(&plain, layout).unwrap().bytes,
            ),
            None,
        );
        for character in "练习无效PRACTICEVOID".chars() {
            assert!(
                text.matches(character).count() > plain_text.matches(character).count(),
                "{name}: watermark letter {character} missing"
            );
        }
        // And it is visible across the page (practice alone against plain).
        let mut practice = plain.clone();
        practice.practice = true;
        let path = save(
            &format!("{name}-practice-only"),
            &render(&practice, layout).unwrap().bytes,
        );
        let marked_image = page_image(&path, 1, &format!("{name}-practice-only"));
        let plain_image = page_image(
            &artifacts().join(format!("{name}-plain.pdf")),
            1,
            &format!("{name}-plain"),
        );
        let share = difference_over(&marked_image, &plain_image, 24);
        assert!(
            share > 0.005,
            "{name}: the watermark changes only {:.2} % of the page",
            share * 100.0
        );
    }
}

#[test]
fn characters_no_font_covers_are_printed_as_a_visible_placeholder() {
    let font = fonts::shared().unwrap();
    // Noto Sans CJK SC covers 龘 (U+9F98) but not 𠀀 (U+20000, Extension B).
    assert!(font.covers('龘'));
    assert!(!font.covers('𠀀'));
    let mut input = input(DocumentKind::AcceptanceReceipt);
    input.applicant_name = "龘𠀀".into();
    let rendered = render(&input, Layout::A4).unwrap();
    assert_eq!(rendered.missing_characters, vec!['𠀀']);
    let text = text_of(&save("rare-characters", &rendered.bytes), None);
    assert!(text.contains("龘〓"), "{text}");
}

#[test]
fn a_document_that_does_not_fit_the_decision_is_refused() {
    let mut input = input(DocumentKind::AcceptanceReceipt);
    input.kind = DocumentKind::NotAcceptedNotice;
    let error = render(&input, Layout::A4).unwrap_err();
    assert_eq!(error.code(), "document_not_applicable");
}

#[test]
fn a_missing_font_is_a_clear_error() {
    let error = fonts::DocumentFont::load(PathBuf::from("/nonexistent/font.ttc"), 2)
        .err()
        .unwrap();
    assert!(matches!(error, PrintError::FontUnreadable { .. }));
    let ui = onewindow_lib::error::UiError::from(error);
    assert!(
        ui.message_zh.contains("/nonexistent/font.ttc"),
        "{}",
        ui.message_zh
    );
    assert!(
        ui.message_en.contains("ONEWINDOW_FONT"),
        "{}",
        ui.message_en
    );
}

/// The print path really prints: the job goes through CUPS to the cups-pdf
/// printer `./x test` sets up, and the file it writes holds the receipt.
#[test]
fn a_receipt_prints_through_cups() {
    let printers = onewindow_lib::print::printer::printers();
    assert!(
        printers.iter().any(|name| name == "OneWindowPDF"),
        "no OneWindowPDF printer ({printers:?}): `./x test` installs CUPS and cups-pdf and adds it"
    );
    let input = input(DocumentKind::AcceptanceReceipt);
    let bytes = render(&input, Layout::A4).unwrap().bytes;
    let title = format!("onewindow-test-{}", std::process::id());
    let job = onewindow_lib::print::printer::print(Some("OneWindowPDF"), &title, &bytes).unwrap();
    assert!(job.starts_with("OneWindowPDF-"), "{job}");
    let out_dir = std::env::var_os("ONEWINDOW_CUPS_PDF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join("PDF"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let printed = loop {
        let found = std::fs::read_dir(&out_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().contains(&title))
            });
        if let Some(path) = found {
            // cups-pdf writes the file, then closes it; wait until it parses.
            if Command::new("pdftotext")
                .arg(&path)
                .arg("-")
                .output()
                .is_ok_and(|output| output.status.success())
            {
                break path;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cups-pdf wrote nothing to {} for job {job}",
            out_dir.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    // cups-pdf sets the page again through Ghostscript (its text layer does
    // not survive extraction), so the printed page is checked as an image:
    // one page, and the QR code on it reads back as the case's address.
    let info = tool("pdfinfo", &[printed.to_str().unwrap()]);
    assert!(
        info.lines()
            .any(|line| line.starts_with("Pages:") && line.ends_with(" 1")),
        "{info}"
    );
    assert_eq!(
        Some(qr_content(&printed, "printed-through-cups")),
        input.progress_url
    );
    std::fs::remove_file(printed).unwrap();
    let no_printer = onewindow_lib::print::printer::print(None, &title, &bytes).unwrap_err();
    assert_eq!(no_printer.code(), "no_printer");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Chinese, Latin, digits, punctuation and rare characters (龘 is in
        // the font; 𠀀 and 𪚥 are not and print as 〓).
        proptest::collection::vec(
            prop_oneof![
                Just('中'),
                Just('龘'),
                Just('𠀀'),
                Just('𪚥'),
                Just('A'),
                Just('z'),
                Just('9'),
                Just(' '),
                Just('（'),
                Just('）'),
                Just('，'),
                Just('—'),
                Just('\u{3000}'),
                proptest::char::range('\u{4e00}', '\u{9fa5}'),
            ],
            0..120,
        )
        .prop_map(|characters| characters.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
        #[test]
        fn any_accepted_case_makes_every_document(
            name in text(),
            material_name in text(),
            count in 0usize..200,
            roll in any::<bool>(),
        ) {
            let layout = if roll { Layout::Roll80 } else { Layout::A4 };
            for kind in [DocumentKind::AcceptanceReceipt, DocumentKind::IssuanceReceipt] {
                let mut input = input(kind);
                input.applicant_name = name.clone();
                let first = input.proposal.materials[0].clone();
                input.proposal.materials = (0..count).map(|_| { let mut line = first.clone(); line.name_zh = material_name.clone(); line }).collect();
                let rendered = render(&input, layout).unwrap();
                prop_assert!(rendered.bytes.starts_with(b"%PDF"));
                prop_assert!(rendered.pages >= 1);
            }
        }
    }
}

#[test]
fn a_date_counted_through_a_year_without_a_notice_is_printed_as_provisional() {
    const NOTE: &str = "按法定节假日推算，以国务院公布的放假安排为准";
    for layout in [Layout::A4, Layout::Roll80] {
        // The sample receipt (2026, from its notice) has no note; the same
        // receipt with its date counted into 2027, whose notice is not
        // loaded (as `forms::decision::propose` marks it, see
        // forms/tests/decision.rs), has it beside both dates.
        let mut input = input(DocumentKind::AcceptanceReceipt);
        let name = format!("provisional-{layout:?}").to_lowercase();
        let ordinary = text_of(
            &save(
                &format!("{name}-ordinary"),
                &render(&input, layout).unwrap().bytes,
            ),
            None,
        );
        assert!(!ordinary.contains(NOTE), "{name}: {ordinary}");
        let due = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        input.proposal.items[0].due_on = due;
        input.proposal.items[0].due_provisional = true;
        input.proposal.promised_completion = Some(due);
        input.proposal.provisional_dates = true;
        let text = text_of(&save(&name, &render(&input, layout).unwrap().bytes), None);
        // Beside the item's date and beside the promised completion date.
        assert_eq!(
            text.matches(&format!("承诺办结日期：2027年1月4日（{NOTE}）"))
                .count(),
            2,
            "{name}: {text}"
        );
    }
}
