//! The shift handover report (交接班报告) on paper: the open work of a
//! window when a clerk ends the shift (open drafts, gaps still to be
//! supplied, results to issue, parked tickets) and who acknowledged it.
//!
//! A pure function from [`HandoverPrint`] to PDF, like the case documents;
//! it must never read the store or decide what is open (that is
//! `offline_cache::handover`).

use chrono::{DateTime, FixedOffset, Timelike};

use super::compose::{Align, Column, Composer};
use super::{assemble, fonts, Layout, PrintError, Rendered};

/// One open thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverLine {
    pub label: String,
    pub since: String,
}

/// One section of the report: its heading and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverSection {
    pub heading_zh: String,
    pub lines: Vec<HandoverLine>,
}

/// An acknowledgement: who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub name: String,
    pub at: DateTime<FixedOffset>,
}

/// Everything the report prints.
#[derive(Debug, Clone)]
pub struct HandoverPrint {
    pub hall_name_zh: String,
    pub window: String,
    pub from_name: String,
    pub created_at: DateTime<FixedOffset>,
    pub sections: Vec<HandoverSection>,
    pub next_clerk: Option<Acknowledgement>,
    pub supervisor: Option<Acknowledgement>,
    pub practice: bool,
}

fn when(at: DateTime<FixedOffset>) -> String {
    format!(
        "{} {:02}:{:02}",
        at.format("%Y年%-m月%-d日"),
        at.hour(),
        at.minute()
    )
}

/// Makes the report's PDF with the process's shared font.
pub fn render_handover(input: &HandoverPrint, layout: Layout) -> Result<Rendered, PrintError> {
    render_handover_with(fonts::shared()?, input, layout)
}

/// Makes the report's PDF with a given font.
pub fn render_handover_with(
    font: &fonts::DocumentFont,
    input: &HandoverPrint,
    layout: Layout,
) -> Result<Rendered, PrintError> {
    let mut page = Composer::new(font, layout);
    let title = "交接班报告";
    page.running_head(&format!(
        "{} {title}（续）{}号窗口",
        input.hall_name_zh, input.window
    ));
    page.line(&input.hall_name_zh, page.metrics.body, Align::Centre);
    page.title(title);
    page.rule();
    page.field("窗口", &format!("{}号窗口", input.window));
    page.field("交班人", &input.from_name);
    page.field("交班时间", &when(input.created_at));
    let open: usize = input
        .sections
        .iter()
        .map(|section| section.lines.len())
        .sum();
    page.field("未办结事项", &format!("共{open}项"));
    let mut text = vec![
        input.hall_name_zh.clone(),
        input.from_name.clone(),
        title.to_owned(),
    ];
    for section in &input.sections {
        page.heading(&format!(
            "{}（{}）",
            section.heading_zh,
            section.lines.len()
        ));
        text.push(section.heading_zh.clone());
        if section.lines.is_empty() {
            page.paragraph("无", page.metrics.body, 12.0);
            continue;
        }
        let rows: Vec<Vec<String>> = section
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                text.push(line.label.clone());
                vec![
                    (index + 1).to_string(),
                    line.label.clone(),
                    line.since.replace('T', " ").chars().take(16).collect(),
                ]
            })
            .collect();
        page.table(
            &[
                Column {
                    heading: "序号",
                    share: 0.6,
                    align: Align::Centre,
                },
                Column {
                    heading: "事项",
                    share: 4.4,
                    align: Align::Left,
                },
                Column {
                    heading: "起始时间",
                    share: 2.0,
                    align: Align::Centre,
                },
            ],
            &rows,
        );
    }
    page.heading("交接确认");
    for (label, acknowledgement) in [
        ("接班人", &input.next_clerk),
        ("值班负责人", &input.supervisor),
    ] {
        match acknowledgement {
            Some(done) => {
                text.push(done.name.clone());
                page.field(label, &format!("{}（{}确认）", done.name, when(done.at)));
            }
            None => page.signature_lines(&[&format!("{label}（签字）"), "日期"]),
        }
    }
    page.signature_lines(&["交班人（签字）", "日期"]);
    Ok(assemble(
        font,
        page,
        &format!("{title} {}号窗口", input.window),
        &text.join(""),
        false,
        input.practice,
    ))
}
