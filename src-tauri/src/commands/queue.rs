//! The ticket queue at this window: issue, call next, recall, no-show,
//! park, resume, transfer, finish. The rules are `offline_cache::queue`.

use serde::Serialize;
use tauri::State;

use crate::access::require;
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// One ticket as the queue screen shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TicketView {
    pub id: u32,
    pub number: String,
    pub category: String,
    pub state: String,
    pub window: Option<String>,
    pub issued_at: String,
    pub calls: u32,
}

/// The day's queue as this window sees it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueueView {
    pub window: String,
    /// The ticket this window is serving.
    pub current: Option<TicketView>,
    /// Waiting for this window (transferred here first, then in order).
    pub waiting: Vec<TicketView>,
    pub parked: Vec<TicketView>,
    pub done_today: u32,
}

/// What the clerk does with the current ticket.
#[derive(Debug, Clone, Copy, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum QueueAction {
    Recall,
    NoShow,
    Park,
    Resume,
    Finish,
}

fn view(ticket: &offline_cache::queue::Ticket) -> TicketView {
    TicketView {
        id: u32::try_from(ticket.id).unwrap_or(u32::MAX),
        number: ticket.number.clone(),
        category: ticket.category.clone(),
        state: ticket.state.clone(),
        window: ticket.window.clone(),
        issued_at: ticket.issued_at.clone(),
        calls: u32::try_from(ticket.calls).unwrap_or(u32::MAX),
    }
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

async fn queue(state: &AppState) -> Result<QueueView, UiError> {
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let window = state.workstation.window_number.clone();
    let queue = sync
        .store
        .window_queue(window.clone(), now().date_naive())
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(QueueView {
        current: queue.current.as_ref().map(view),
        waiting: queue.waiting.iter().map(view).collect(),
        parked: queue.parked.iter().map(view).collect(),
        done_today: u32::try_from(queue.done).unwrap_or(u32::MAX),
        window,
    })
}

/// The day's queue for this window.
#[tauri::command]
#[specta::specta]
pub async fn queue_today(state: State<'_, AppState>) -> Result<QueueView, UiError> {
    require(&state, "queue_today")?;
    queue(&state).await
}

/// Issues a ticket of `category` (economic, social, construction, appointment).
#[tauri::command]
#[specta::specta]
pub async fn issue_ticket(
    state: State<'_, AppState>,
    category: String,
) -> Result<TicketView, UiError> {
    require(&state, "issue_ticket")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let ticket = sync
        .store
        .issue_ticket(category, now())
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(view(&ticket))
}

/// Calls the next ticket to this window.
#[tauri::command]
#[specta::specta]
pub async fn call_next(state: State<'_, AppState>) -> Result<QueueView, UiError> {
    require(&state, "call_next")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    sync.store
        .call_next(state.workstation.window_number.clone(), now())
        .await
        .map_err(|error| cache_error(&error))?;
    queue(&state).await
}

/// Recall, no-show, park, resume or finish a ticket at this window.
#[tauri::command]
#[specta::specta]
pub async fn ticket_action(
    state: State<'_, AppState>,
    ticket_id: u32,
    action: QueueAction,
) -> Result<QueueView, UiError> {
    require(&state, "ticket_action")?;
    use offline_cache::queue::TicketAction;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    let action = match action {
        QueueAction::Recall => TicketAction::Recall,
        QueueAction::NoShow => TicketAction::NoShow,
        QueueAction::Park => TicketAction::Park,
        QueueAction::Resume => TicketAction::Resume,
        QueueAction::Finish => TicketAction::Finish,
    };
    sync.store
        .ticket_action(
            i64::from(ticket_id),
            action,
            state.workstation.window_number.clone(),
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    queue(&state).await
}

/// Sends the current ticket to another window.
#[tauri::command]
#[specta::specta]
pub async fn transfer_ticket(
    state: State<'_, AppState>,
    ticket_id: u32,
    to_window: String,
) -> Result<QueueView, UiError> {
    require(&state, "transfer_ticket")?;
    let sync = state.sync.as_ref().map_err(Clone::clone)?;
    sync.store
        .transfer_ticket(
            i64::from(ticket_id),
            state.workstation.window_number.clone(),
            to_window,
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    queue(&state).await
}
