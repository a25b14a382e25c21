//! The supervisor's desk: sign-offs waiting, the handoff review (approve or
//! send back with a reason), cases to terminate, time limits and gap
//! deadlines near or past, results waiting too long; and the audit viewer
//! with its "verify chain". The watch lists are `offline_cache::desk`; the
//! moves are lifecycle transitions, checked there for the role.

use serde::{Deserialize, Serialize};
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::commands::cases::{row, CaseRow};
use crate::commands::printing::DocumentView;
use crate::error::UiError;
use crate::state::AppState;

/// A case on a watch list.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct WatchRow {
    pub case: CaseRow,
    pub date: String,
    /// Negative: past the date.
    pub days_left: i32,
}

/// The desk.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeskView {
    pub sign_offs: Vec<CaseRow>,
    pub handoff_reviews: Vec<CaseRow>,
    pub time_limits: Vec<WatchRow>,
    pub gaps_due: Vec<WatchRow>,
    pub results_waiting: Vec<WatchRow>,
    /// Overrides and reopenings waiting for a supervisor.
    pub requests: Vec<crate::commands::sign_offs::SignOffRequestView>,
}

/// What the supervisor does with a case on the desk.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DeskAction {
    /// Sign off the gaps (the case then goes on).
    SignOff,
    /// The handoff review: send it to the back office.
    ApproveHandoff,
    /// The handoff review: back to the window, with the reason.
    SendBack,
    /// End the case (gaps not supplied in time), with the reason.
    Terminate,
}

/// What a desk action did: the case's new state and, on termination, the
/// 终止办理通知书 issued with it (for the preview and the print).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeskOutcome {
    pub state: String,
    pub document: Option<DocumentView>,
}

/// An audit entry for the viewer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AuditRow {
    pub seq: u32,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The audit viewer's filters.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct AuditQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
}

/// The outcome of "verify chain".
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AuditCheck {
    pub intact: bool,
    /// Entries checked (all of them when intact).
    pub entries: u32,
    /// The first entry that does not check out.
    pub broken_seq: Option<u32>,
    pub reason_en: Option<String>,
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn watch(state: &AppState, watched: Vec<offline_cache::desk::Watched>) -> Vec<WatchRow> {
    watched
        .into_iter()
        .map(|watched| WatchRow {
            case: row(state, watched.case),
            date: watched.date,
            days_left: i32::try_from(watched.days_left).unwrap_or(i32::MIN),
        })
        .collect()
}

/// The desk as of now.
#[tauri::command]
#[specta::specta]
pub async fn supervisor_desk(state: State<'_, AppState>) -> Result<DeskView, UiError> {
    require(&state, "supervisor_desk")?;
    let sync = state.service()?;
    let desk = sync
        .store
        .desk(now().date_naive(), offline_cache::desk::Horizons::default())
        .await
        .map_err(|error| cache_error(&error))?;
    let requests = sync
        .store
        .waiting_requests()
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(DeskView {
        requests: crate::commands::sign_offs::views(&state, requests).await?,
        sign_offs: desk
            .sign_offs
            .into_iter()
            .map(|case| row(&state, case))
            .collect(),
        handoff_reviews: desk
            .handoff_reviews
            .into_iter()
            .map(|case| row(&state, case))
            .collect(),
        time_limits: watch(&state, desk.time_limits),
        gaps_due: watch(&state, desk.gaps_due),
        results_waiting: watch(&state, desk.results_waiting),
    })
}

/// Acts on a case from the desk; a reason is needed to send back or
/// terminate. Terminating issues the termination notice (which prints the
/// reason) at once.
#[tauri::command]
#[specta::specta]
pub async fn desk_action(
    state: State<'_, AppState>,
    case_id: String,
    action: DeskAction,
    reason: Option<String>,
) -> Result<DeskOutcome, UiError> {
    use offline_cache::lifecycle::Event;
    let supervisor = require(&state, "desk_action")?;
    let sync = state.service()?;
    let reason = reason
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let event = match action {
        DeskAction::SignOff => {
            let moved = crate::commands::intake::sign_off(&state, &case_id, supervisor).await?;
            return Ok(DeskOutcome {
                state: moved,
                document: None,
            });
        }
        DeskAction::ApproveHandoff => Event::ApproveHandoff,
        DeskAction::SendBack => Event::SendBack,
        DeskAction::Terminate => Event::Terminate,
    };
    if matches!(action, DeskAction::SendBack | DeskAction::Terminate) && reason.is_none() {
        return Err(UiError {
            code: "reason_required".into(),
            message_zh: "退回或终止办理须写明原因。".into(),
            message_en: "Sending back or terminating needs a reason.".into(),
        });
    }
    let moved = sync
        .store
        .transition(&case_id, event, supervisor, now(), reason)
        .await
        .map_err(|error| cache_error(&error))?;
    sync.wake();
    let document = match action {
        DeskAction::Terminate => Some(
            crate::commands::printing::issue(
                &state,
                &case_id,
                crate::print::DocumentKind::TerminationNotice,
            )
            .await?,
        ),
        _ => None,
    };
    Ok(DeskOutcome {
        state: moved.as_str().into(),
        document,
    })
}

/// Audit entries matching the filters, newest first (at most 500).
#[tauri::command]
#[specta::specta]
pub async fn audit_entries(
    state: State<'_, AppState>,
    query: AuditQuery,
) -> Result<Vec<AuditRow>, UiError> {
    require(&state, "audit_entries")?;
    let sync = state.service()?;
    let entries = sync
        .store
        .audit_entries(offline_cache::desk::AuditFilter {
            from: query.from,
            to: query.to,
            actor: query.actor,
            action: query.action,
            subject: query.subject,
            limit: 500,
        })
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(entries
        .into_iter()
        .map(|entry| AuditRow {
            seq: u32::try_from(entry.seq).unwrap_or(u32::MAX),
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            detail: entry.detail,
        })
        .collect())
}

/// Walks the whole audit chain and points at the first broken link.
#[tauri::command]
#[specta::specta]
pub async fn verify_audit_chain(state: State<'_, AppState>) -> Result<AuditCheck, UiError> {
    require(&state, "verify_audit_chain")?;
    let sync = state.service()?;
    let store = sync.store.clone();
    let outcome = tauri::async_runtime::spawn_blocking(move || store.verify_audit())
        .await
        .map_err(|error| UiError {
            code: "verify_failed".into(),
            message_zh: "核验审计链时出错，请重试。".into(),
            message_en: format!("Verifying the audit chain failed ({error}); try again."),
        })?
        .map_err(|error| cache_error(&error))?;
    Ok(match outcome {
        Ok(count) => AuditCheck {
            intact: true,
            entries: u32::try_from(count).unwrap_or(u32::MAX),
            broken_seq: None,
            reason_en: None,
        },
        Err(broken) => AuditCheck {
            intact: false,
            entries: u32::try_from(broken.seq - 1).unwrap_or(0),
            broken_seq: Some(u32::try_from(broken.seq).unwrap_or(u32::MAX)),
            reason_en: Some(broken.reason),
        },
    })
}
