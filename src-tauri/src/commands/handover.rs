//! Shift handover at this window: the leaving clerk records the open work
//! and signs out; the next clerk and a supervisor acknowledge it (the
//! next clerk's acknowledgement moves the drafts). The rules are
//! `offline_cache::handover`.

use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// One open thing of a handover.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct OpenWorkRow {
    pub id: String,
    pub label: String,
    pub since: String,
}

/// A handover as the window shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct HandoverView {
    pub id: String,
    pub window: String,
    pub from_user: String,
    pub from_name: String,
    pub created_at: String,
    pub drafts: Vec<OpenWorkRow>,
    pub pending_gaps: Vec<OpenWorkRow>,
    pub results_to_issue: Vec<OpenWorkRow>,
    pub parked_tickets: Vec<OpenWorkRow>,
    pub clerk_acknowledged: bool,
    pub supervisor_acknowledged: bool,
}

fn rows(work: Vec<offline_cache::handover::OpenWork>) -> Vec<OpenWorkRow> {
    work.into_iter()
        .map(|work| OpenWorkRow {
            id: work.id,
            label: work.label,
            since: work.since,
        })
        .collect()
}

async fn view(
    state: &AppState,
    handover: offline_cache::handover::Handover,
) -> Result<HandoverView, UiError> {
    let sync = state.service()?;
    let from_name = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .find(|user| user.id == handover.from_user)
        .map_or_else(|| handover.from_user.clone(), |user| user.display_name);
    Ok(HandoverView {
        clerk_acknowledged: handover.to_acknowledged_at.is_some(),
        supervisor_acknowledged: handover.supervisor_acknowledged_at.is_some(),
        id: handover.id,
        window: handover.window,
        from_user: handover.from_user,
        from_name,
        created_at: handover.created_at,
        drafts: rows(handover.report.drafts),
        pending_gaps: rows(handover.report.pending_gaps),
        results_to_issue: rows(handover.report.results_to_issue),
        parked_tickets: rows(handover.report.parked_tickets),
    })
}

/// The signed-in clerk ends the shift: records the open work of this window.
#[tauri::command]
#[specta::specta]
pub async fn prepare_handover(state: State<'_, AppState>) -> Result<HandoverView, UiError> {
    let clerk = require(&state, "prepare_handover")?;
    let sync = state.service()?;
    let handover = sync
        .store
        .prepare_handover(
            state.workstation.window_number.clone(),
            clerk,
            chrono::Local::now().fixed_offset(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    view(&state, handover).await
}

/// This window's handover still waiting for an acknowledgement, if any.
#[tauri::command]
#[specta::specta]
pub async fn pending_handover(state: State<'_, AppState>) -> Result<Option<HandoverView>, UiError> {
    require(&state, "pending_handover")?;
    let sync = state.service()?;
    let pending = sync
        .store
        .pending_handover(state.workstation.window_number.clone())
        .await
        .map_err(|error| cache_error(&error))?;
    match pending {
        Some(handover) => Ok(Some(view(&state, handover).await?)),
        None => Ok(None),
    }
}

/// The next clerk or a supervisor acknowledges the handover.
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_handover(
    state: State<'_, AppState>,
    handover_id: String,
) -> Result<HandoverView, UiError> {
    let actor = require(&state, "acknowledge_handover")?;
    let sync = state.service()?;
    let handover = sync
        .store
        .acknowledge_handover(handover_id, actor, chrono::Local::now().fixed_offset())
        .await
        .map_err(|error| cache_error(&error))?;
    view(&state, handover).await
}

/// The handover report as printed, and the job it became.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct HandoverPrintout {
    pub printer: String,
    pub job_id: String,
    /// The report's PDF, base64-encoded (for a preview).
    pub pdf_base64: String,
}

/// Prints a handover report (交接班报告) on the chosen printer and paper;
/// the print is audited.
#[tauri::command]
#[specta::specta]
pub async fn print_handover_report(
    state: State<'_, AppState>,
    handover_id: String,
) -> Result<HandoverPrintout, UiError> {
    use crate::print::report::{Acknowledgement, HandoverLine, HandoverPrint, HandoverSection};
    let actor = require(&state, "print_handover_report")?;
    let sync = state.service()?;
    let chosen = crate::commands::printing::preferences(&state);
    let printer_name = chosen
        .printer
        .clone()
        .ok_or(crate::print::PrintError::NoPrinter)?;
    let handover = sync
        .store
        .handover(handover_id)
        .await
        .map_err(|error| cache_error(&error))?;
    let users = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?;
    let name_of = |id: &str| {
        users
            .iter()
            .find(|user| user.id == id)
            .map_or_else(|| id.to_owned(), |user| user.display_name.clone())
    };
    let time = |text: &str| chrono::DateTime::parse_from_rfc3339(text).ok();
    let acknowledgement = |who: &Option<String>, at: &Option<String>| {
        who.as_deref()
            .zip(at.as_deref().and_then(time))
            .map(|(who, at)| Acknowledgement {
                name: name_of(who),
                at,
            })
    };
    let section = |heading_zh: &str, work: &[offline_cache::handover::OpenWork]| HandoverSection {
        heading_zh: heading_zh.into(),
        lines: work
            .iter()
            .map(|work| HandoverLine {
                label: work.label.clone(),
                since: work.since.clone(),
            })
            .collect(),
    };
    let report = &handover.report;
    let input = HandoverPrint {
        hall_name_zh: state.workstation.hall_name_zh.clone(),
        window: handover.window.clone(),
        from_name: name_of(&handover.from_user),
        created_at: time(&handover.created_at)
            .unwrap_or_else(|| chrono::Local::now().fixed_offset()),
        sections: vec![
            section("未完成的受理", &report.drafts),
            section("待签批的容缺受理", &report.pending_gaps),
            section("待出件的结果", &report.results_to_issue),
            section("挂起的号", &report.parked_tickets),
        ],
        next_clerk: acknowledgement(&handover.to_user, &handover.to_acknowledged_at),
        supervisor: acknowledgement(&handover.supervisor, &handover.supervisor_acknowledged_at),
        practice: state.mode() == crate::state::Mode::Practice,
    };
    let rendered = crate::print::report::render_handover(&input, chosen.paper)?;
    let job_id = crate::print::printer::print(
        Some(&printer_name),
        &format!("交接班报告 {}", handover.id),
        &rendered.bytes,
    )?;
    sync.store
        .record_handover_print(
            handover.id.clone(),
            actor,
            chrono::Local::now().fixed_offset(),
            printer_name.clone(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(HandoverPrintout {
        printer: printer_name,
        job_id,
        pdf_base64: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &rendered.bytes,
        ),
    })
}
