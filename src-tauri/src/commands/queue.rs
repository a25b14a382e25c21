//! The ticket queue at this window: issue, call next, recall, no-show,
//! park, resume, transfer, finish; and the day's appointments from the
//! booking platform with check-in. The rules are `offline_cache::queue` and
//! `offline_cache::appointments`.

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

/// A booking as the reception and the window show it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppointmentRow {
    pub id: String,
    pub slot: String,
    pub booking_number: String,
    pub item_id: String,
    pub item_name_zh: String,
    pub item_name_en: String,
    pub applicant_name: String,
    /// Masked as on documents (first 6 and last 4 shown): the list is on
    /// screen at the reception.
    pub identifier_masked: String,
    /// `booked`, `checked_in` or `cancelled`.
    pub state: String,
    pub ticket_number: Option<String>,
}

/// The day's appointments and how fresh the list is.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppointmentsView {
    pub rows: Vec<AppointmentRow>,
    /// Why the list could not be refreshed (the stored list is shown).
    pub problem_zh: Option<String>,
    pub problem_en: Option<String>,
    /// Bookings the platform listed for items this hall does not have.
    pub skipped: Vec<String>,
}

/// The day's queue as this window sees it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueueView {
    pub window: String,
    /// The ticket this window is serving.
    pub current: Option<TicketView>,
    /// The booking of the ticket being served, if it is an appointment.
    pub appointment: Option<AppointmentRow>,
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

fn appointment_row(
    state: &AppState,
    booking: offline_cache::appointments::Appointment,
) -> AppointmentRow {
    let catalog = state.catalog();
    let item = catalog
        .as_deref()
        .and_then(|catalog| catalog.item(&booking.item_id));
    AppointmentRow {
        item_name_zh: item.map_or_else(|| booking.item_id.clone(), |item| item.name_zh.clone()),
        item_name_en: item.map_or_else(|| booking.item_id.clone(), |item| item.name_en.clone()),
        identifier_masked: forms::identifiers::mask_identifier(&booking.applicant_identifier),
        id: booking.id,
        slot: booking.slot,
        booking_number: booking.booking_number,
        item_id: booking.item_id,
        applicant_name: booking.applicant_name,
        state: booking.state,
        ticket_number: booking.ticket_number,
    }
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

async fn queue(state: &AppState) -> Result<QueueView, UiError> {
    let sync = state.service()?;
    let window = state.workstation.window_number.clone();
    let queue = sync
        .store
        .window_queue(window.clone(), now().date_naive())
        .await
        .map_err(|error| cache_error(&error))?;
    let appointment = match &queue.current {
        Some(ticket) if ticket.category == "appointment" => sync
            .store
            .appointment_of_ticket(ticket.number.clone(), now().date_naive())
            .await
            .map_err(|error| cache_error(&error))?
            .map(|booking| appointment_row(state, booking)),
        _ => None,
    };
    Ok(QueueView {
        appointment,
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
    let sync = state.service()?;
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
    let sync = state.service()?;
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
    let sync = state.service()?;
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
    let sync = state.service()?;
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

/// The day's appointments for this hall: asks the booking platform for the
/// latest list when `refresh` (keeping it in the store), else the stored
/// list; offline, the stored list with the reason it is not fresh.
#[tauri::command]
#[specta::specta]
pub async fn appointments_today(
    state: State<'_, AppState>,
    refresh: bool,
) -> Result<AppointmentsView, UiError> {
    use offline_cache::sync::AppointmentsFetch;
    require(&state, "appointments_today")?;
    let sync = state.service()?;
    let day = now().date_naive();
    let mut view = AppointmentsView {
        rows: Vec::new(),
        problem_zh: None,
        problem_en: None,
        skipped: Vec::new(),
    };
    if refresh {
        match sync
            .fetch_appointments(&state.workstation.hall_code, day)
            .await
        {
            AppointmentsFetch::Fetched(lists) => {
                for list in lists {
                    let catalog = state.catalog();
                    let skipped = sync
                        .store
                        .save_appointments(
                            day,
                            list.source
                                .clone()
                                .unwrap_or_else(|| "booking-platform".into()),
                            list.appointments,
                            move |code| {
                                catalog.as_deref().and_then(|catalog| {
                                    catalog
                                        .item_by_implementation_code(code)
                                        .map(|item| item.id.clone())
                                })
                            },
                        )
                        .await
                        .map_err(|error| cache_error(&error))?;
                    view.skipped.extend(skipped);
                }
            }
            AppointmentsFetch::Unreachable { detail } => {
                tracing::warn!(%detail, "the booking platform did not answer");
                view.problem_zh = Some("预约平台暂时无法连接，显示的是上次获取的预约名单。".into());
                view.problem_en = Some(format!(
                    "The booking platform cannot be reached ({detail}); this is the list fetched last."
                ));
            }
            AppointmentsFetch::NotOffered => {
                view.problem_zh = Some("所连接的后台未提供网上预约服务。".into());
                view.problem_en =
                    Some("The connected back offices offer no appointment service.".into());
            }
        }
    }
    view.rows = sync
        .store
        .appointments_of_day(day)
        .await
        .map_err(|error| cache_error(&error))?
        .into_iter()
        .map(|booking| appointment_row(&state, booking))
        .collect();
    Ok(view)
}

/// Checks a booking in: its appointment ticket (Y), called before walk-ins.
#[tauri::command]
#[specta::specta]
pub async fn check_in_appointment(
    state: State<'_, AppState>,
    appointment_id: String,
) -> Result<TicketView, UiError> {
    require(&state, "check_in_appointment")?;
    let sync = state.service()?;
    let ticket = sync
        .store
        .check_in_appointment(appointment_id, now())
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(view(&ticket))
}
