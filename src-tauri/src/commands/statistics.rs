//! Statistics for a date range and their export (CSV, XLSX) to the
//! exports folder; the follow-up of bad ratings. The counting is
//! `offline_cache::statistics`; this file names things for people and
//! writes the files.

use serde::{Deserialize, Serialize};
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// A count with its label in both languages.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Count {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub count: u32,
}

/// The statistics as the screen and the exports show them.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct StatisticsView {
    pub from: String,
    pub to: String,
    pub cases: u32,
    pub by_category: Vec<Count>,
    pub by_item: Vec<Count>,
    pub decisions: Vec<Count>,
    pub accepted: u32,
    pub on_the_spot: u32,
    pub one_visit: u32,
    pub issued: u32,
    pub average_hours_to_issue: Option<f64>,
    /// Level 5 … 1.
    pub ratings: Vec<Count>,
    pub bad_ratings_open: u32,
    pub bad_ratings_done: u32,
}

/// An export's file format.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// A bad rating waiting for its follow-up.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct FollowUpRow {
    pub rating_id: u32,
    pub case_id: String,
    pub case_number: String,
    pub level: u8,
    pub reasons: Vec<String>,
    pub comment: Option<String>,
    pub rated_at: String,
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn date(text: &str, what_zh: &str, what_en: &str) -> Result<chrono::NaiveDate, UiError> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| UiError {
        code: "date".into(),
        message_zh: format!("{what_zh}“{text}”不是有效日期（格式：2026-11-27）。"),
        message_en: format!("The {what_en} `{text}` is not a date (use 2026-11-27)."),
    })
}

const DECISIONS: [(&str, &str, &str); 4] = [
    ("accept", "予以受理", "Accepted"),
    ("accept_with_gaps", "容缺受理", "Accepted with gaps"),
    ("issue_notice", "一次性告知", "One-time notice"),
    ("refuse", "不予受理", "Not accepted"),
];

const CATEGORIES: [(&str, &str, &str); 3] = [
    ("economic", "经济发展类", "Economic"),
    ("social", "社会事务类", "Social affairs"),
    ("construction", "建设项目类", "Construction"),
];

const LEVELS: [(u8, &str, &str); 5] = [
    (5, "非常满意", "Very satisfied"),
    (4, "满意", "Satisfied"),
    (3, "基本满意", "Fairly satisfied"),
    (2, "不满意", "Dissatisfied"),
    (1, "非常不满意", "Very dissatisfied"),
];

async fn compute(state: &AppState, from: &str, to: &str) -> Result<StatisticsView, UiError> {
    let from = date(from, "起始日期", "start date")?;
    let to = date(to, "截止日期", "end date")?;
    let sync = state.service()?;
    let stats = sync
        .store
        .statistics(from, to)
        .await
        .map_err(|error| cache_error(&error))?;
    let labelled = |table: &[(&str, &str, &str)],
                    counts: &std::collections::BTreeMap<String, i64>| {
        table
            .iter()
            .map(|(key, zh, en)| Count {
                key: (*key).into(),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                count: count(counts.get(*key).copied().unwrap_or(0)),
            })
            .collect::<Vec<_>>()
    };
    let catalog = state.catalog();
    let catalog = catalog.as_deref();
    let mut by_item: Vec<Count> = stats
        .by_item
        .iter()
        .map(|(id, cases)| {
            let (name_zh, name_en) = catalog.and_then(|catalog| catalog.item(id)).map_or_else(
                || (id.clone(), id.clone()),
                |item| (item.name_zh.clone(), item.name_en.clone()),
            );
            Count {
                key: id.clone(),
                name_zh,
                name_en,
                count: count(*cases),
            }
        })
        .collect();
    by_item.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    Ok(StatisticsView {
        from: stats.from.clone(),
        to: stats.to.clone(),
        cases: count(stats.cases),
        by_category: labelled(&CATEGORIES, &stats.by_category),
        by_item,
        decisions: labelled(&DECISIONS, &stats.decisions),
        accepted: count(stats.accepted),
        on_the_spot: count(stats.on_the_spot),
        one_visit: count(stats.one_visit),
        issued: count(stats.issued),
        average_hours_to_issue: stats.average_hours_to_issue,
        ratings: LEVELS
            .iter()
            .map(|(level, zh, en)| Count {
                key: level.to_string(),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                count: count(stats.ratings.get(level).copied().unwrap_or(0)),
            })
            .collect(),
        bad_ratings_open: count(stats.bad_ratings_open),
        bad_ratings_done: count(stats.bad_ratings_done),
    })
}

/// The statistics of cases taken in from `from` to `to` (`YYYY-MM-DD`).
#[tauri::command]
#[specta::specta]
pub async fn statistics(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> Result<StatisticsView, UiError> {
    require(&state, "statistics")?;
    compute(&state, &from, &to).await
}

/// The rows of an export: (section, item, value), in zh-CN.
fn export_rows(view: &StatisticsView) -> Vec<[String; 3]> {
    let mut rows = vec![
        [
            "范围".to_owned(),
            "起止".to_owned(),
            format!("{} 至 {}", view.from, view.to),
        ],
        ["概况".into(), "办件数".into(), view.cases.to_string()],
        [
            "概况".into(),
            "受理（含容缺）".into(),
            view.accepted.to_string(),
        ],
        [
            "概况".into(),
            "马上办（当日承诺办结）".into(),
            view.on_the_spot.to_string(),
        ],
        [
            "概况".into(),
            "一次办（无先行告知）".into(),
            view.one_visit.to_string(),
        ],
        ["概况".into(), "已出件".into(), view.issued.to_string()],
        [
            "概况".into(),
            "受理至出件平均小时".into(),
            view.average_hours_to_issue
                .map_or_else(String::new, |hours| format!("{hours:.1}")),
        ],
        [
            "差评".into(),
            "待回访".into(),
            view.bad_ratings_open.to_string(),
        ],
        [
            "差评".into(),
            "已回访".into(),
            view.bad_ratings_done.to_string(),
        ],
    ];
    for (section, counts) in [
        ("类别", &view.by_category),
        ("受理决定", &view.decisions),
        ("评价", &view.ratings),
        ("事项", &view.by_item),
    ] {
        for entry in counts {
            rows.push([
                section.into(),
                entry.name_zh.clone(),
                entry.count.to_string(),
            ]);
        }
    }
    rows
}

/// One sheet, 统计: the rows under a header, numbers as numbers. Text is
/// written as text cells (`write_string`), which a spreadsheet shows and
/// never evaluates, so no cell needs neutralising here.
fn xlsx_bytes(rows: &[[String; 3]]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    {
        let sheet = book.add_worksheet();
        sheet.set_name("统计")?;
        for (column, title) in (0u16..).zip(["分类", "项目", "数值"]) {
            sheet.write_string(0, column, title)?;
        }
        for (line, row) in (1u32..).zip(rows) {
            sheet.write_string(line, 0, &row[0])?;
            sheet.write_string(line, 1, &row[1])?;
            match row[2].parse::<f64>() {
                Ok(number) => sheet.write_number(line, 2, number)?,
                Err(_) => sheet.write_string(line, 2, &row[2])?,
            };
        }
        sheet.set_column_width(1, 28)?;
    }
    book.save_to_buffer()
}

/// A CSV file of `header` and `rows`, every cell through
/// [`offline_cache::exports::neutralise_cell`] (no cell starts a formula).
pub(crate) fn csv_bytes<Row, Cell>(
    header: &[&str],
    rows: impl IntoIterator<Item = Row>,
) -> Result<Vec<u8>, csv::Error>
where
    Row: IntoIterator<Item = Cell>,
    Cell: AsRef<str>,
{
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(
        header
            .iter()
            .map(|cell| offline_cache::exports::neutralise_cell(cell).into_owned()),
    )?;
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|cell| offline_cache::exports::neutralise_cell(cell.as_ref()).into_owned())
            .collect();
        writer.write_record(&cells)?;
    }
    writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))
}

fn write_error(path: &std::path::Path, detail: impl std::fmt::Display) -> UiError {
    UiError {
        code: "export_failed".into(),
        message_zh: format!(
            "无法写入导出文件 {}，请检查磁盘空间和权限。",
            path.display()
        ),
        message_en: format!(
            "The export {} could not be written ({detail}); check the disk.",
            path.display()
        ),
    }
}

/// Writes the statistics to `exports/` as CSV or XLSX; returns the path.
#[tauri::command]
#[specta::specta]
pub async fn export_statistics(
    state: State<'_, AppState>,
    from: String,
    to: String,
    format: ExportFormat,
) -> Result<String, UiError> {
    require(&state, "export_statistics")?;
    let view = compute(&state, &from, &to).await?;
    let folder = state.paths.data_dir.join("exports");
    let rows = export_rows(&view);
    let name = format!("statistics-{}-{}", view.from, view.to);
    let (path, bytes) = match format {
        ExportFormat::Csv => {
            let path = folder.join(format!("{name}.csv"));
            let bytes = csv_bytes(&["分类", "项目", "数值"], &rows)
                .map_err(|error| write_error(&path, error))?;
            (path, bytes)
        }
        ExportFormat::Xlsx => {
            let path = folder.join(format!("{name}.xlsx"));
            let bytes = xlsx_bytes(&rows).map_err(|error| write_error(&path, error))?;
            (path, bytes)
        }
    };
    // Whole or not at all, and readable by this account only.
    offline_cache::exports::write_private(&path, &bytes)
        .map_err(|error| write_error(&path, error))?;
    Ok(path.display().to_string())
}

/// Bad ratings whose follow-up is open, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn open_follow_ups(state: State<'_, AppState>) -> Result<Vec<FollowUpRow>, UiError> {
    require(&state, "open_follow_ups")?;
    let sync = state.service()?;
    let open = sync
        .store
        .open_follow_ups()
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(open
        .into_iter()
        .map(|rating| FollowUpRow {
            rating_id: u32::try_from(rating.id).unwrap_or(u32::MAX),
            case_id: rating.case_id,
            case_number: rating.case_number,
            level: rating.level,
            reasons: rating.reasons,
            comment: rating.comment,
            rated_at: rating.rated_at,
        })
        .collect())
}

/// Closes a bad rating's follow-up with what was done (supervisors).
#[tauri::command]
#[specta::specta]
pub async fn close_follow_up(
    state: State<'_, AppState>,
    rating_id: u32,
    note: String,
) -> Result<(), UiError> {
    let supervisor = require(&state, "close_follow_up")?;
    let sync = state.service()?;
    sync.store
        .close_follow_up(
            i64::from(rating_id),
            note,
            supervisor,
            chrono::Local::now().fixed_offset(),
        )
        .await
        .map_err(|error| cache_error(&error))
}

/// One window's or category's queue figures (minutes, one decimal).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueueGroupView {
    pub key: String,
    pub tickets: u32,
    pub served: u32,
    pub no_shows: u32,
    pub waiting_now: u32,
    pub average_wait_minutes: Option<f64>,
    pub longest_wait_minutes: Option<f64>,
    pub average_serve_minutes: Option<f64>,
}

/// Tickets issued and first called in one hour.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct HourCountView {
    pub hour: u32,
    pub issued: u32,
    pub called: u32,
}

/// The queue watch over a range of days.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueueWatchView {
    pub windows: Vec<QueueGroupView>,
    pub categories: Vec<QueueGroupView>,
    pub hours: Vec<HourCountView>,
}

fn group_view(group: offline_cache::queue_watch::QueueGroup) -> QueueGroupView {
    let tenth = |value: Option<f64>| value.map(|minutes| (minutes * 10.0).round() / 10.0);
    QueueGroupView {
        key: group.key,
        tickets: group.tickets,
        served: group.served,
        no_shows: group.no_shows,
        waiting_now: group.waiting_now,
        average_wait_minutes: tenth(group.average_wait_minutes),
        longest_wait_minutes: tenth(group.longest_wait_minutes),
        average_serve_minutes: tenth(group.average_serve_minutes),
    }
}

/// Waiting and serving times per window and category for a range of days
/// (`YYYY-MM-DD`, inclusive), with tickets per hour, as of now.
#[tauri::command]
#[specta::specta]
pub async fn queue_watch(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> Result<QueueWatchView, UiError> {
    require(&state, "queue_watch")?;
    let from = date(&from, "起始日期", "start date")?;
    let to = date(&to, "截止日期", "end date")?;
    let sync = state.service()?;
    let watch = sync
        .store
        .queue_watch(from, to, chrono::Local::now().fixed_offset())
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(QueueWatchView {
        windows: watch.windows.into_iter().map(group_view).collect(),
        categories: watch.categories.into_iter().map(group_view).collect(),
        hours: watch
            .hours
            .into_iter()
            .map(|hour| HourCountView {
                hour: hour.hour,
                issued: hour.issued,
                called: hour.called,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<[String; 3]> {
        vec![
            [
                "事项".into(),
                "=HYPERLINK(\"http://evil.example/\",\"点我\")".into(),
                "3".into(),
            ],
            ["评价".into(), "@SUM(A1)".into(), "-1".into()],
            ["类别".into(), "经济".into(), "12".into()],
        ]
    }

    #[test]
    fn a_csv_cell_that_would_be_a_formula_comes_out_as_text() {
        let bytes = csv_bytes(&["分类", "项目", "数值"], rows()).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let read: Vec<Vec<String>> = reader
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(read[0][1], "'=HYPERLINK(\"http://evil.example/\",\"点我\")");
        assert_eq!(read[1][1], "'@SUM(A1)");
        assert_eq!(read[1][2], "'-1");
        assert_eq!(read[2], ["类别", "经济", "12"]);
    }

    #[test]
    fn xlsx_text_is_a_string_cell_never_a_formula() {
        let bytes = xlsx_bytes(&rows()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(!sheet.contains("<f>"), "no formula in the sheet: {sheet}");
        let mut strings = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("xl/sharedStrings.xml").unwrap(),
            &mut strings,
        )
        .unwrap();
        assert!(strings.contains("=HYPERLINK("), "{strings}");
    }
}
