//! What each document says, in the order it says it. Wording follows the
//! usual forms of government service halls (DOMAIN.md, "Documents the
//! window prints"); every fact comes from the input.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use forms::calendar::DayUnit;
use forms::catalog::{MaterialSource, OriginalOrCopy};
use forms::decision::{DecisionKind, MaterialLine, MaterialStatus};
use forms::identifiers::mask_identifier;

use super::compose::{Align, Column, Composer};
use super::{Delivery, DocumentInput, DocumentKind, Layout, PrintError};

fn date(day: NaiveDate) -> String {
    format!("{}年{}月{}日", day.year(), day.month(), day.day())
}

fn date_time(at: DateTime<FixedOffset>) -> String {
    format!(
        "{} {:02}:{:02}",
        date(at.date_naive()),
        at.hour(),
        at.minute()
    )
}

fn original_or_copy(value: OriginalOrCopy) -> &'static str {
    match value {
        OriginalOrCopy::Original => "原件",
        OriginalOrCopy::Copy => "复印件",
        OriginalOrCopy::OriginalAndCopy => "原件和复印件",
        OriginalOrCopy::OriginalOrCopy => "原件或复印件",
    }
}

fn source(value: MaterialSource) -> &'static str {
    match value {
        MaterialSource::Applicant => "申请人自备",
        MaterialSource::Government => "政府部门核发",
        MaterialSource::Other => "其他",
    }
}

fn status(line: &MaterialLine) -> (String, String) {
    match &line.status {
        MaterialStatus::Received { original, copies } => (
            if *original {
                "已核原件".into()
            } else {
                "已收".into()
            },
            copies.to_string(),
        ),
        MaterialStatus::FromElicence { reference } => {
            (format!("电子证照调用（{reference}）"), "—".into())
        }
        MaterialStatus::Missing => ("未提交".into(), "0".into()),
        MaterialStatus::Deficient { reason_zh } => (format!("不符合要求：{reason_zh}"), "—".into()),
    }
}

fn limit_text(days: u32, unit: DayUnit) -> String {
    match unit {
        DayUnit::WorkingDays => format!("{days}个工作日"),
        DayUnit::CalendarDays => format!("{days}日"),
    }
}

/// Every text a document may print (for the missing-glyph report).
pub fn all_text(input: &DocumentInput) -> String {
    let proposal = &input.proposal;
    let mut text = vec![
        input.hall_name_zh.clone(),
        input.clerk_name.clone(),
        input.applicant_name.clone(),
        input.case_number.clone(),
        input.document_number.clone(),
        proposal.legal_basis_zh.clone(),
    ];
    text.extend(proposal.reasons_zh.iter().cloned());
    text.extend(proposal.competent_bodies_zh.iter().cloned());
    text.extend(proposal.remedies_zh.iter().cloned());
    text.extend(proposal.approved_exception_zh.iter().cloned());
    for item in &proposal.items {
        text.push(item.name_zh.clone());
        text.extend(item.excluded_periods_zh.iter().cloned());
        text.extend(item.legal_basis_zh.iter().cloned());
    }
    for line in proposal
        .materials
        .iter()
        .chain(&proposal.to_supply)
        .chain(&proposal.gaps)
    {
        text.push(line.name_zh.clone());
        text.extend(line.problem_zh.iter().cloned());
        text.push(line.standard_zh.clone());
        text.extend(line.where_to_get_zh.iter().cloned());
    }
    if let Some(issuance) = &input.issuance {
        text.extend(issuance.results_zh.iter().cloned());
        text.push(issuance.received_by.clone());
    }
    if let Some(termination) = &input.termination {
        text.push(termination.reason_zh.clone());
    }
    match &input.delivery {
        Delivery::PickUp { place_zh } => text.push(place_zh.clone()),
        Delivery::Mail {
            address_zh,
            tracking_number,
        } => {
            text.push(address_zh.clone());
            text.extend(tracking_number.iter().cloned());
        }
    }
    text.join("")
}

/// Checks that the decision fits the document asked for.
fn check(input: &DocumentInput) -> Result<(), PrintError> {
    let decision = input.proposal.kind;
    let fits = match input.kind {
        DocumentKind::AcceptanceReceipt => matches!(
            decision,
            DecisionKind::Accept | DecisionKind::AcceptWithGaps
        ),
        DocumentKind::OneTimeNotice => decision == DecisionKind::OneTimeNotice,
        DocumentKind::GapsNotice | DocumentKind::Commitment => {
            decision == DecisionKind::AcceptWithGaps
        }
        DocumentKind::NotAcceptedNotice => decision == DecisionKind::NotAccepted,
        DocumentKind::IssuanceReceipt => input.issuance.is_some(),
        DocumentKind::TerminationNotice => {
            input.termination.is_some()
                && matches!(
                    decision,
                    DecisionKind::Accept | DecisionKind::AcceptWithGaps
                )
        }
    };
    if fits {
        Ok(())
    } else {
        Err(PrintError::NotApplicable {
            kind: input.kind.title_zh().into(),
            detail: format!("the decision is {decision:?}"),
        })
    }
}

pub fn compose(page: &mut Composer, input: &DocumentInput) -> Result<(), PrintError> {
    check(input)?;
    match input.kind {
        DocumentKind::GapsNotice => {
            // Two copies: the applicant's and the file's, each complete.
            for (index, copy) in ["第一联 申请人留存", "第二联 窗口存档"].iter().enumerate()
            {
                if index > 0 {
                    page.new_page();
                }
                one(page, input, Some(copy));
            }
        }
        _ => one(page, input, None),
    }
    Ok(())
}

fn header(page: &mut Composer, input: &DocumentInput, copy_label: Option<&str>) {
    let small = page.metrics.small;
    page.running_head(&format!(
        "{} {}（续）编号：{}",
        input.hall_name_zh,
        input.kind.title_zh(),
        input.document_number
    ));
    page.line(&input.hall_name_zh, page.metrics.body, Align::Centre);
    page.title(input.kind.title_zh());
    page.line(
        &format!("编号：{}", input.document_number),
        small,
        Align::Right,
    );
    if let Some(label) = copy_label {
        page.line(label, small, Align::Right);
    }
    page.rule();
}

fn applicant_block(page: &mut Composer, input: &DocumentInput) {
    page.field("办件编号", &input.case_number);
    page.field("申请人", &input.applicant_name);
    page.field("证件号码", &mask_identifier(&input.applicant_identifier));
    let items: Vec<&str> = input
        .proposal
        .items
        .iter()
        .map(|item| item.name_zh.as_str())
        .collect();
    // A refused item that the hall does not handle has no item line; the
    // reasons name it.
    if !items.is_empty() {
        page.field("申请事项", &items.join("；"));
    }
    page.field(
        "受理窗口",
        &format!("{}号窗口（经办人：{}）", input.window, input.clerk_name),
    );
}

fn materials_table(page: &mut Composer, lines: &[MaterialLine]) {
    let roll = page.layout == Layout::Roll80;
    let rows: Vec<Vec<String>> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let (state, count) = status(line);
            if roll {
                vec![
                    (index + 1).to_string(),
                    line.name_zh.clone(),
                    format!("{}·{count}份", original_or_copy(line.original_or_copy)),
                    state,
                ]
            } else {
                vec![
                    (index + 1).to_string(),
                    line.name_zh.clone(),
                    original_or_copy(line.original_or_copy).into(),
                    count,
                    source(line.source).into(),
                    state,
                ]
            }
        })
        .collect();
    let columns: Vec<Column> = if roll {
        vec![
            Column {
                heading: "序号",
                share: 0.7,
                align: Align::Centre,
            },
            Column {
                heading: "材料名称",
                share: 3.0,
                align: Align::Left,
            },
            Column {
                heading: "形式·份数",
                share: 1.6,
                align: Align::Left,
            },
            Column {
                heading: "状态",
                share: 1.6,
                align: Align::Left,
            },
        ]
    } else {
        vec![
            Column {
                heading: "序号",
                share: 0.6,
                align: Align::Centre,
            },
            Column {
                heading: "材料名称",
                share: 4.0,
                align: Align::Left,
            },
            Column {
                heading: "原件/复印件",
                share: 1.4,
                align: Align::Centre,
            },
            Column {
                heading: "份数",
                share: 0.7,
                align: Align::Centre,
            },
            Column {
                heading: "来源",
                share: 1.4,
                align: Align::Centre,
            },
            Column {
                heading: "状态",
                share: 1.9,
                align: Align::Left,
            },
        ]
    };
    page.table(&columns, &rows);
}

/// Printed beside a date counted through a year whose holiday notice is not
/// loaded yet (`forms::calendar`'s provisional years).
pub const PROVISIONAL_DATE_NOTE: &str = "（按法定节假日推算，以国务院公布的放假安排为准）";

fn time_limits(page: &mut Composer, input: &DocumentInput) {
    for item in &input.proposal.items {
        page.field(
            &format!("{} 承诺时限", item.name_zh),
            &format!(
                "{}，承诺办结日期：{}{}",
                limit_text(item.promised_limit.days, item.promised_limit.unit),
                date(item.due_on),
                if item.due_provisional {
                    PROVISIONAL_DATE_NOTE
                } else {
                    ""
                }
            ),
        );
        if !item.excluded_periods_zh.is_empty() {
            page.paragraph(
                &format!(
                    "下列时间不计入办理时限：{}。",
                    item.excluded_periods_zh.join("；")
                ),
                page.metrics.small,
                0.0,
            );
        }
    }
    if let Some(day) = input.proposal.promised_completion {
        let note = if input.proposal.provisional_dates {
            PROVISIONAL_DATE_NOTE
        } else {
            "（遇法定节假日顺延，按工作日计算）"
        };
        page.field("承诺办结日期", &format!("{}{note}", date(day)));
    }
}

/// How to follow the case: the hall's progress page as a QR code, when the
/// hall configured one, the case number and the phone.
fn progress(page: &mut Composer, input: &DocumentInput) {
    let Some(url) = input.progress_url.as_deref() else {
        let size = page.metrics.small;
        for line in [
            "查询办理进度：拨打咨询电话，或登录政务服务网输入办件编号".to_owned(),
            format!("办件编号：{}", input.case_number),
            format!("咨询电话：{}", input.progress_phone),
            delivery_line(&input.delivery),
        ] {
            page.paragraph(&line, size, 0.0);
        }
        return;
    };
    let roll = page.layout == Layout::Roll80;
    let side = if roll {
        34.0 * 72.0 / 25.4
    } else {
        30.0 * 72.0 / 25.4
    };
    page.ensure(side + 10.0);
    let top = page.y;
    let text_x = if roll { 0.0 } else { side + 8.0 };
    if roll {
        let x = (page.width() - side) / 2.0;
        page.qr(url, x, side);
        page.y = top + side + 2.0;
    }
    let size = page.metrics.small;
    let saved_y = page.y;
    let lines = [
        "查询办理进度：扫描二维码，或登录政务服务网输入办件编号".to_owned(),
        format!("办件编号：{}", input.case_number),
        format!("咨询电话：{}", input.progress_phone),
        delivery_line(&input.delivery),
    ];
    if roll {
        for line in &lines {
            page.paragraph(line, size, 0.0);
        }
    } else {
        page.qr(url, 0.0, side);
        page.y = saved_y + 4.0 * side / 29.0;
        for line in &lines {
            page.paragraph(line, size, text_x);
        }
        page.y = page.y.max(top + side);
    }
}

fn delivery_line(delivery: &Delivery) -> String {
    match delivery {
        Delivery::PickUp { place_zh } => format!("领取方式：窗口领取（{place_zh}）"),
        Delivery::Mail {
            address_zh,
            tracking_number,
        } => format!(
            "领取方式：邮寄送达至 {address_zh}{}",
            tracking_number
                .as_ref()
                .map(|number| format!("，运单号 {number}"))
                .unwrap_or_default()
        ),
    }
}

fn seal_and_signatures(page: &mut Composer, input: &DocumentInput, applicant_signs: bool) {
    let roll = page.layout == Layout::Roll80;
    let seal = if roll { 30.0 } else { 42.0 } * 72.0 / 25.4;
    page.ensure(seal + 40.0);
    page.space(6.0);
    let x = page.width() - seal;
    let top = page.y;
    page.frame(x, seal, seal, "（受理专用章）");
    page.y = top + seal * 0.4;
    let size = page.metrics.body;
    page.paragraph(&input.hall_name_zh, size, 0.0);
    // The document is dated the day of its decision.
    let decided = input
        .termination
        .as_ref()
        .map_or(input.accepted_at, |termination| termination.terminated_at);
    page.paragraph(&date(decided.date_naive()), size, 0.0);
    page.y = top + seal + 4.0;
    if applicant_signs {
        page.signature_lines(&["申请人（签字）", "日期"]);
    }
}

fn one(page: &mut Composer, input: &DocumentInput, copy_label: Option<&str>) {
    let proposal = &input.proposal;
    header(page, input, copy_label);
    applicant_block(page, input);
    match input.kind {
        DocumentKind::AcceptanceReceipt => {
            page.field("受理时间", &date_time(input.accepted_at));
            page.heading("一、收取材料");
            materials_table(page, &proposal.materials);
            page.heading("二、受理决定");
            page.paragraph(
                &if let Some(exception) = &proposal.approved_exception_zh {
                    format!("经审查，您的申请材料未完全齐全，{exception}，决定予以例外受理。")
                } else if proposal.kind == DecisionKind::AcceptWithGaps {
                    "经审查，您的申请主要材料齐全、符合法定形式，次要材料存在容缺，根据容缺受理制度决定予以受理，请在承诺期限内补齐容缺材料。".to_owned()
                } else {
                    "经审查，您提交的申请材料齐全、符合法定形式，决定予以受理。".to_owned()
                },
                page.metrics.body,
                0.0,
            );
            page.field("依据", &proposal.legal_basis_zh);
            page.heading("三、办理时限");
            time_limits(page, input);
            page.heading("四、进度查询与领取");
            progress(page, input);
            seal_and_signatures(page, input, true);
        }
        DocumentKind::OneTimeNotice => {
            page.field("告知时间", &date_time(input.accepted_at));
            page.paragraph(
                "您申请的事项，经审查，申请材料不齐全或者不符合法定形式。现将需要补正的全部内容一次性告知如下，请补正后再行申请：",
                page.metrics.body,
                0.0,
            );
            for (index, line) in proposal.to_supply.iter().enumerate() {
                page.heading(&format!("{}. {}", index + 1, line.name_zh));
                if let Some(problem) = &line.problem_zh {
                    page.field("问题", problem);
                }
                page.field(
                    "要求",
                    &format!(
                        "{}（{}，{}份）",
                        line.standard_zh,
                        original_or_copy(line.original_or_copy),
                        line.copies_required.max(1)
                    ),
                );
                if let Some(basis) = &line.basis_zh {
                    page.field("依据", basis);
                }
                if let Some(place) = &line.where_to_get_zh {
                    page.field("获取途径", place);
                }
            }
            for reason in &proposal.reasons_zh {
                page.paragraph(&format!("说明：{reason}"), page.metrics.small, 0.0);
            }
            page.field("依据", &proposal.legal_basis_zh);
            page.paragraph(
                "补齐上述材料后即予受理，无需再次排队预审。",
                page.metrics.body,
                0.0,
            );
            seal_and_signatures(page, input, true);
        }
        DocumentKind::GapsNotice => {
            page.field("受理时间", &date_time(input.accepted_at));
            page.paragraph(
                "您申请的事项主要申请材料齐全、符合法定形式，次要材料暂缺。根据容缺受理制度，经窗口负责人审核同意，决定予以容缺受理。请在下列期限内补齐材料：",
                page.metrics.body,
                0.0,
            );
            gaps_table(page, input);
            page.paragraph(
                "逾期未补齐的，将按规定终止办理；已作出的决定按承诺书约定处理。",
                page.metrics.body,
                0.0,
            );
            page.field("依据", &proposal.legal_basis_zh);
            time_limits(page, input);
            seal_and_signatures(page, input, true);
        }
        DocumentKind::Commitment => {
            page.paragraph(
                &format!(
                    "本人（单位）{}申请办理上述事项，现就容缺材料郑重承诺：在下列期限内补齐全部容缺材料，所提交材料真实、合法、有效；逾期未补齐或承诺不实的，自愿承担由此产生的法律责任，并同意按规定终止办理、记入信用记录。",
                    input.applicant_name
                ),
                page.metrics.body,
                0.0,
            );
            gaps_table(page, input);
            page.space(8.0);
            page.signature_lines(&["承诺人（签字或盖章）", "日期"]);
            page.signature_lines(&["窗口经办人", "日期"]);
        }
        DocumentKind::NotAcceptedNotice => {
            page.field("告知时间", &date_time(input.accepted_at));
            page.paragraph(
                "您申请的事项，经审查，决定不予受理。理由如下：",
                page.metrics.body,
                0.0,
            );
            for (index, reason) in proposal.reasons_zh.iter().enumerate() {
                page.paragraph(&format!("{}. {reason}", index + 1), page.metrics.body, 12.0);
            }
            if !proposal.competent_bodies_zh.is_empty() {
                page.field("请向以下机关申请", &proposal.competent_bodies_zh.join("；"));
            }
            page.field("依据", &proposal.legal_basis_zh);
            page.field(
                "救济途径",
                proposal.remedies_zh.as_deref().unwrap_or(
                    "如不服本决定，可在收到本通知书之日起六十日内依法申请行政复议，或者在六个月内依法提起行政诉讼。",
                ),
            );
            seal_and_signatures(page, input, true);
        }
        DocumentKind::TerminationNotice => termination(page, input),
        DocumentKind::IssuanceReceipt => {
            if let Some(issuance) = &input.issuance {
                page.field("出件时间", &date_time(issuance.issued_at));
                page.heading("办理结果");
                for (index, result) in issuance.results_zh.iter().enumerate() {
                    page.paragraph(&format!("{}. {result}", index + 1), page.metrics.body, 12.0);
                }
                match &input.delivery {
                    Delivery::PickUp { place_zh } => {
                        page.field("领取方式", &format!("窗口领取（{place_zh}）"))
                    }
                    Delivery::Mail {
                        address_zh,
                        tracking_number,
                    } => {
                        page.field("领取方式", "邮寄送达");
                        page.field("邮寄地址", address_zh);
                        page.field("运单号", tracking_number.as_deref().unwrap_or("（待回填）"));
                    }
                }
                page.field("领取人", &issuance.received_by);
                page.paragraph(
                    "请当场核对办理结果，如有疑问请向窗口咨询。欢迎对本次服务作出评价（好差评）。",
                    page.metrics.body,
                    0.0,
                );
                page.signature_lines(&["领取人（签字）", "日期"]);
                page.signature_lines(&["出件人", "日期"]);
            }
        }
    }
}

fn termination(page: &mut Composer, input: &DocumentInput) {
    let Some(termination) = &input.termination else {
        return;
    };
    let proposal = &input.proposal;
    page.field("受理时间", &date_time(input.accepted_at));
    page.field("终止时间", &date_time(termination.terminated_at));
    page.paragraph(
        &format!(
            "您于{}申请办理的上述事项，经审查，决定终止办理。理由如下：",
            date(input.accepted_at.date_naive())
        ),
        page.metrics.body,
        0.0,
    );
    page.paragraph(&termination.reason_zh, page.metrics.body, 12.0);
    if !proposal.gaps.is_empty() {
        page.paragraph(
            "依据容缺受理制度及您签署的承诺书，下列容缺材料未在期限内补齐：",
            page.metrics.body,
            0.0,
        );
        gaps_table(page, input);
    }
    page.paragraph(
        "如仍需办理，请备齐全部材料后重新提出申请；已提交的材料可到窗口领回。",
        page.metrics.body,
        0.0,
    );
    page.field("依据", &proposal.legal_basis_zh);
    page.field(
        "救济途径",
        proposal.remedies_zh.as_deref().unwrap_or(
            "如不服本决定，可在收到本通知书之日起六十日内依法申请行政复议，或者在六个月内依法提起行政诉讼。",
        ),
    );
    seal_and_signatures(page, input, true);
}

fn gaps_table(page: &mut Composer, input: &DocumentInput) {
    let rows: Vec<Vec<String>> = input
        .proposal
        .gaps
        .iter()
        .enumerate()
        .map(|(index, line)| {
            vec![
                (index + 1).to_string(),
                line.name_zh.clone(),
                original_or_copy(line.original_or_copy).into(),
                line.supply_by.map(date).unwrap_or_else(|| "—".into()),
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
                heading: "容缺材料",
                share: 4.0,
                align: Align::Left,
            },
            Column {
                heading: "形式",
                share: 1.4,
                align: Align::Centre,
            },
            Column {
                heading: "补齐期限",
                share: 1.8,
                align: Align::Centre,
            },
        ],
        &rows,
    );
    if input
        .proposal
        .gaps
        .iter()
        .any(|line| line.supply_by_provisional)
    {
        page.paragraph(
            &format!("补齐期限{PROVISIONAL_DATE_NOTE}。"),
            page.metrics.small,
            0.0,
        );
    }
}
