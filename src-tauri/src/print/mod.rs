//! The documents the window hands to the applicant: 受理回执, 一次性告知书,
//! 容缺受理通知书 (two copies), 承诺书, 不予受理通知书, 出件回执 and
//! 终止办理通知书, in A4
//! or on an 80 mm roll, set in a subset of the CJK font.
//!
//! [`render`] is a pure function from a [`DocumentInput`] (the case, the
//! decision proposal from `forms::decision`, the document number) to PDF
//! bytes; it is tested without a window. [`printer`] sends bytes to a CUPS
//! printer. This module must never decide anything: every fact printed
//! comes from the input, and applicant ID numbers are always masked.

pub mod compose;
mod documents;
pub mod fonts;
pub mod printer;
pub mod report;
pub mod sample;

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use forms::decision::DecisionProposal;
use printpdf::{PdfDocument, PdfFontHandle, PdfSaveOptions};
use serde::{Deserialize, Serialize};

use crate::error::UiError;

/// What can go wrong while making or printing a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("no Chinese font was found (tried {})", tried.join(", "))]
    FontNotFound { tried: Vec<String> },
    #[error("the font {path} cannot be used: {detail}")]
    FontUnreadable { path: PathBuf, detail: String },
    #[error("no printer is configured")]
    NoPrinter,
    #[error("printer {printer} refused the document: {detail}")]
    PrinterRefused { printer: String, detail: String },
    #[error("the document does not fit the {kind} it is printed as: {detail}")]
    NotApplicable { kind: String, detail: String },
}

impl PrintError {
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::FontNotFound { .. } => "font_not_found",
            PrintError::FontUnreadable { .. } => "font_unreadable",
            PrintError::NoPrinter => "no_printer",
            PrintError::PrinterRefused { .. } => "printer_refused",
            PrintError::NotApplicable { .. } => "document_not_applicable",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            PrintError::FontNotFound { tried } => format!(
                "找不到中文字体，无法生成文书（已查找：{}）。请安装 fonts-noto-cjk，或用 ONEWINDOW_FONT 指定字体文件。",
                tried.join("、")
            ),
            PrintError::FontUnreadable { path, detail } => format!(
                "字体文件 {} 无法使用（{detail}）。请检查 ONEWINDOW_FONT 或重新安装 fonts-noto-cjk。",
                path.display()
            ),
            PrintError::NoPrinter => "尚未选择打印机。请在“设置”中选择打印机，或先保存为文件。".into(),
            PrintError::PrinterRefused { printer, detail } => format!(
                "打印机“{printer}”未接受打印任务（{detail}）。请检查打印机是否开机、有纸，或改用其他打印机。"
            ),
            PrintError::NotApplicable { kind, detail } => format!("该办件不能出具{kind}：{detail}"),
        }
    }
}

impl From<PrintError> for UiError {
    fn from(error: PrintError) -> Self {
        tracing::warn!(code = error.code(), %error, "document or printing failed");
        let message_en = match &error {
            PrintError::FontNotFound { .. } | PrintError::FontUnreadable { .. } => {
                format!("{error}. Install fonts-noto-cjk, or name a font file with ONEWINDOW_FONT.")
            }
            PrintError::NoPrinter => {
                "No printer is chosen. Choose one in Settings, or save the document to a file."
                    .into()
            }
            PrintError::PrinterRefused { .. } => {
                format!("{error}. Check that the printer is on and has paper, or choose another printer.")
            }
            PrintError::NotApplicable { .. } => format!("{error}."),
        };
        UiError {
            code: error.code().to_owned(),
            message_zh: error.message_zh(),
            message_en,
        }
    }
}

/// The documents of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 受理回执.
    AcceptanceReceipt,
    /// 一次性告知书.
    OneTimeNotice,
    /// 容缺受理通知书, two copies (applicant's and the file's).
    GapsNotice,
    /// 承诺书: the applicant's commitment to supply the gaps.
    Commitment,
    /// 不予受理通知书.
    NotAcceptedNotice,
    /// 出件回执.
    IssuanceReceipt,
    /// 终止办理通知书: a case ended because its gaps were not supplied in
    /// time (or for another reason the supervisor wrote).
    TerminationNotice,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 7] = [
        DocumentKind::AcceptanceReceipt,
        DocumentKind::OneTimeNotice,
        DocumentKind::GapsNotice,
        DocumentKind::Commitment,
        DocumentKind::NotAcceptedNotice,
        DocumentKind::IssuanceReceipt,
        DocumentKind::TerminationNotice,
    ];

    /// The title printed on the document.
    pub fn title_zh(self) -> &'static str {
        match self {
            DocumentKind::AcceptanceReceipt => "受理回执",
            DocumentKind::OneTimeNotice => "一次性告知书",
            DocumentKind::GapsNotice => "容缺受理通知书",
            DocumentKind::Commitment => "承诺书",
            DocumentKind::NotAcceptedNotice => "不予受理通知书",
            DocumentKind::IssuanceReceipt => "出件回执",
            DocumentKind::TerminationNotice => "终止办理通知书",
        }
    }

    /// The kind's word in the document number (受, 告, 容, 诺, 不, 出, 终).
    pub fn number_word(self) -> &'static str {
        match self {
            DocumentKind::AcceptanceReceipt => "受",
            DocumentKind::OneTimeNotice => "告",
            DocumentKind::GapsNotice => "容",
            DocumentKind::Commitment => "诺",
            DocumentKind::NotAcceptedNotice => "不",
            DocumentKind::IssuanceReceipt => "出",
            DocumentKind::TerminationNotice => "终",
        }
    }

    /// The kind a stored slug names.
    pub fn from_slug(slug: &str) -> Option<DocumentKind> {
        DocumentKind::ALL
            .into_iter()
            .find(|kind| kind.slug() == slug)
    }

    /// A short stable name, for files and the store.
    pub fn slug(self) -> &'static str {
        match self {
            DocumentKind::AcceptanceReceipt => "acceptance-receipt",
            DocumentKind::OneTimeNotice => "one-time-notice",
            DocumentKind::GapsNotice => "gaps-notice",
            DocumentKind::Commitment => "commitment",
            DocumentKind::NotAcceptedNotice => "not-accepted-notice",
            DocumentKind::IssuanceReceipt => "issuance-receipt",
            DocumentKind::TerminationNotice => "termination-notice",
        }
    }
}

/// Paper.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    #[default]
    A4,
    /// An 80 mm thermal roll (72 mm printable).
    Roll80,
}

/// How the result reaches the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Delivery {
    /// Picked up at the hall's results window.
    PickUp { place_zh: String },
    /// Mailed (EMS), with the tracking number once known.
    Mail {
        address_zh: String,
        tracking_number: Option<String>,
    },
}

/// What the issuance receipt records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuance {
    /// The result handed over (e.g. 营业执照正本1份、副本1份).
    pub results_zh: Vec<String>,
    pub issued_at: DateTime<FixedOffset>,
    /// Who received it (the applicant or an agent), as they signed.
    pub received_by: String,
}

/// Why and when a case was ended (the termination notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    pub terminated_at: DateTime<FixedOffset>,
    /// The supervisor's reason, as written on the desk.
    pub reason_zh: String,
}

/// Everything one document prints.
#[derive(Debug, Clone)]
pub struct DocumentInput {
    pub kind: DocumentKind,
    pub hall_name_zh: String,
    pub window: String,
    pub clerk_name: String,
    pub document_number: String,
    pub case_number: String,
    pub applicant_name: String,
    /// The full ID number or credit code; printed masked.
    pub applicant_identifier: String,
    pub accepted_at: DateTime<FixedOffset>,
    pub proposal: DecisionProposal,
    /// Where the applicant checks progress (the QR code's content).
    /// The hall's progress page for this case (the QR code); `None`: the
    /// hall has none configured, and no QR code is printed.
    pub progress_url: Option<String>,
    pub progress_phone: String,
    pub delivery: Delivery,
    pub issuance: Option<Issuance>,
    /// The termination notice's facts.
    pub termination: Option<Termination>,
    /// A reprint: marked 副本.
    pub copy: bool,
    /// Practice mode: watermarked 练习 — 无效.
    pub practice: bool,
}

/// A made document.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Characters the font could not draw (printed as 〓).
    pub missing_characters: Vec<char>,
}

/// Makes the PDF of one document with the process's shared font.
pub fn render(input: &DocumentInput, layout: Layout) -> Result<Rendered, PrintError> {
    render_with(fonts::shared()?, input, layout)
}

/// Makes the PDF of one document with a given font.
pub fn render_with(
    font: &fonts::DocumentFont,
    input: &DocumentInput,
    layout: Layout,
) -> Result<Rendered, PrintError> {
    let mut composer = compose::Composer::new(font, layout);
    documents::compose(&mut composer, input)?;
    Ok(assemble(
        font,
        composer,
        &format!("{} {}", input.kind.title_zh(), input.document_number),
        &documents::all_text(input),
        input.copy,
        input.practice,
    ))
}

/// Turns composed pages into the PDF (subset font, page marks) and reports
/// the characters of `text` the font cannot draw.
fn assemble(
    font: &fonts::DocumentFont,
    composer: compose::Composer<'_>,
    title: &str,
    text: &str,
    copy: bool,
    practice: bool,
) -> Rendered {
    let pages = composer.page_count();
    let mut document = PdfDocument::new(title);
    let handle = PdfFontHandle::External(document.add_font(&font.font));
    let pdf_pages = composer.finish(&handle, copy, practice);
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let bytes = document
        .with_pages(pdf_pages)
        .save(&options, &mut Vec::new());
    let mut missing: Vec<char> = text
        .chars()
        .filter(|character| !font.covers(*character))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        tracing::warn!(
            count = missing.len(),
            "characters without a glyph were printed as 〓"
        );
    }
    Rendered {
        bytes,
        pages,
        missing_characters: missing,
    }
}
