//! The window's local ticket queue for walk-ins: a ticket per category
//! (A economic, B social affairs, C construction, Y appointment check-in),
//! numbered per day, called by a window, recalled, marked no-show, parked
//! and resumed, transferred to another window, finished. Every move is
//! checked here and audited (ids and actions only; a ticket carries no
//! applicant data).

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// One ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub day: String,
    /// `A007`: the category's letter and the day's sequence.
    pub number: String,
    pub category: String,
    /// `waiting`, `called`, `parked`, `no_show`, `done`.
    pub state: String,
    /// The window serving it, or the window it was transferred to.
    pub window: Option<String>,
    pub issued_at: String,
    pub called_at: Option<String>,
    pub calls: i64,
}

/// What a window does with a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    Recall,
    NoShow,
    Park,
    Resume,
    Finish,
}

fn letter(category: &str) -> Result<&'static str, CacheError> {
    match category {
        "economic" => Ok("A"),
        "social" => Ok("B"),
        "construction" => Ok("C"),
        "appointment" => Ok("Y"),
        other => Err(CacheError::BadInput(format!(
            "`{other}` is not a queue category (economic, social, construction, appointment)"
        ))),
    }
}

fn ticket(connection: &Connection, id: i64) -> Result<Ticket, CacheError> {
    connection
        .query_row(
            "SELECT id, day, number, category, state, window, issued_at, called_at, calls FROM tickets WHERE id = ?1",
            params![id],
            row_to_ticket,
        )
        .optional()?
        .ok_or_else(|| CacheError::BadInput(format!("there is no ticket {id}")))
}

fn row_to_ticket(row: &rusqlite::Row) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: row.get(0)?,
        day: row.get(1)?,
        number: row.get(2)?,
        category: row.get(3)?,
        state: row.get(4)?,
        window: row.get(5)?,
        issued_at: row.get(6)?,
        called_at: row.get(7)?,
        calls: row.get(8)?,
    })
}

fn log(
    transaction: &Transaction,
    at: DateTime<FixedOffset>,
    window: &str,
    action: &str,
    ticket: &Ticket,
) -> Result<(), CacheError> {
    audit::append(
        transaction,
        &at.to_rfc3339(),
        &format!("window-{window}"),
        action,
        &format!("ticket:{}", ticket.id),
        &json!({ "number": ticket.number, "day": ticket.day }),
    )
}

/// Issues the next ticket of `category` for the day of `at`.
pub fn issue_ticket(
    connection: &mut Connection,
    category: &str,
    at: DateTime<FixedOffset>,
) -> Result<Ticket, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let issued = issue_ticket_in(&transaction, category, at)?;
    transaction.commit()?;
    Ok(issued)
}

/// Issues a ticket inside the caller's transaction (check-in issues its
/// ticket with the booking's new state).
pub fn issue_ticket_in(
    transaction: &Transaction,
    category: &str,
    at: DateTime<FixedOffset>,
) -> Result<Ticket, CacheError> {
    let letter = letter(category)?;
    let day = at.date_naive().format("%Y-%m-%d").to_string();
    let next: i64 = transaction.query_row(
        "INSERT INTO sequences (kind, period, last) VALUES (?1, ?2, 1) ON CONFLICT (kind, period) DO UPDATE SET last = last + 1 RETURNING last",
        params![format!("ticket:{letter}"), day],
        |row| row.get(0),
    )?;
    let number = format!("{letter}{next:03}");
    transaction.execute(
        "INSERT INTO tickets (day, number, category, state, issued_at) VALUES (?1, ?2, ?3, 'waiting', ?4)",
        params![day, number, category, at.to_rfc3339()],
    )?;
    let issued = ticket(transaction, transaction.last_insert_rowid())?;
    log(transaction, at, "reception", "ticket.issued", &issued)?;
    Ok(issued)
}

/// The ticket `window` is serving (called), if any.
fn current(connection: &Connection, window: &str, day: &str) -> Result<Option<Ticket>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT id, day, number, category, state, window, issued_at, called_at, calls FROM tickets WHERE day = ?1 AND state = 'called' AND window = ?2",
            params![day, window],
            row_to_ticket,
        )
        .optional()?)
}

/// Calls the next ticket to `window`: first those transferred to it, then
/// checked-in appointments, then the longest waiting. A window serves one ticket at a time.
pub fn call_next(
    connection: &mut Connection,
    window: &str,
    at: DateTime<FixedOffset>,
) -> Result<Option<Ticket>, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let day = at.date_naive().format("%Y-%m-%d").to_string();
    if let Some(serving) = current(&transaction, window, &day)? {
        return Err(CacheError::BadInput(format!(
            "window {window} is still serving {}: finish it, park it or mark it no-show first",
            serving.number
        )));
    }
    let next: Option<i64> = transaction
        .query_row(
            "SELECT id FROM tickets WHERE day = ?1 AND state = 'waiting' AND (window IS NULL OR window = ?2)
             ORDER BY (window IS NULL), (category <> 'appointment'), issued_at, id LIMIT 1",
            params![day, window],
            |row| row.get(0),
        )
        .optional()?;
    let Some(id) = next else {
        return Ok(None);
    };
    transaction.execute(
        "UPDATE tickets SET state = 'called', window = ?2, called_at = ?3, first_called_at = coalesce(first_called_at, ?3), calls = calls + 1 WHERE id = ?1",
        params![id, window, at.to_rfc3339()],
    )?;
    let called = ticket(&transaction, id)?;
    log(&transaction, at, window, "ticket.called", &called)?;
    transaction.commit()?;
    Ok(Some(called))
}

/// Recall, no-show, park, resume or finish a ticket at `window`.
pub fn act(
    connection: &mut Connection,
    id: i64,
    action: TicketAction,
    window: &str,
    at: DateTime<FixedOffset>,
) -> Result<Ticket, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = ticket(&transaction, id)?;
    let here = before.window.as_deref() == Some(window);
    let (allowed, next) = match action {
        TicketAction::Recall => (before.state == "called" && here, "called"),
        TicketAction::NoShow => (before.state == "called" && here, "no_show"),
        TicketAction::Park => (before.state == "called" && here, "parked"),
        TicketAction::Resume => (before.state == "parked" && here, "called"),
        TicketAction::Finish => (before.state == "called" && here, "done"),
    };
    if !allowed {
        return Err(CacheError::BadInput(format!(
            "ticket {} is {} at window {}: it cannot be {action:?} at window {window}",
            before.number,
            before.state,
            before.window.as_deref().unwrap_or("-")
        )));
    }
    if action == TicketAction::Resume {
        if let Some(serving) = current(&transaction, window, &before.day)? {
            return Err(CacheError::BadInput(format!(
                "window {window} is serving {}: finish or park it before resuming {}",
                serving.number, before.number
            )));
        }
    }
    let calls_more = i64::from(matches!(
        action,
        TicketAction::Recall | TicketAction::Resume
    ));
    transaction.execute(
        "UPDATE tickets SET state = ?2, calls = calls + ?3, called_at = CASE WHEN ?3 = 1 THEN ?4 ELSE called_at END,
             finished_at = CASE WHEN ?2 IN ('done', 'no_show') THEN ?4 ELSE finished_at END WHERE id = ?1",
        params![id, next, calls_more, at.to_rfc3339()],
    )?;
    let after = ticket(&transaction, id)?;
    log(
        &transaction,
        at,
        window,
        &format!(
            "ticket.{}",
            serde_json::to_value(action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        &after,
    )?;
    transaction.commit()?;
    Ok(after)
}

/// Sends the ticket `window` is serving to `to_window`, where it waits first in line.
pub fn transfer(
    connection: &mut Connection,
    id: i64,
    window: &str,
    to_window: &str,
    at: DateTime<FixedOffset>,
) -> Result<Ticket, CacheError> {
    if to_window.trim().is_empty() || to_window == window {
        return Err(CacheError::BadInput(format!(
            "name another window to transfer to (not {window})"
        )));
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = ticket(&transaction, id)?;
    if before.state != "called" || before.window.as_deref() != Some(window) {
        return Err(CacheError::BadInput(format!(
            "ticket {} is not being served at window {window}",
            before.number
        )));
    }
    transaction.execute(
        "UPDATE tickets SET state = 'waiting', window = ?2 WHERE id = ?1",
        params![id, to_window],
    )?;
    let after = ticket(&transaction, id)?;
    log(&transaction, at, window, "ticket.transferred", &after)?;
    transaction.commit()?;
    Ok(after)
}

/// The day's tickets, in the order they were issued.
pub fn tickets_of_day(connection: &Connection, day: NaiveDate) -> Result<Vec<Ticket>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, day, number, category, state, window, issued_at, called_at, calls FROM tickets WHERE day = ?1 ORDER BY issued_at, id",
    )?;
    let rows = statement.query_map(params![day.format("%Y-%m-%d").to_string()], row_to_ticket)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The day's queue as one window sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowQueue {
    /// The ticket the window is serving.
    pub current: Option<Ticket>,
    /// Waiting for this window: transferred here first, then in order of issue.
    pub waiting: Vec<Ticket>,
    pub parked: Vec<Ticket>,
    pub done: usize,
}

/// The queue of `window` on `day`.
pub fn window_queue(
    connection: &Connection,
    window: &str,
    day: NaiveDate,
) -> Result<WindowQueue, CacheError> {
    let tickets = tickets_of_day(connection, day)?;
    let mine = |ticket: &Ticket| ticket.window.as_deref() == Some(window);
    let mut waiting: Vec<Ticket> = tickets
        .iter()
        .filter(|ticket| ticket.state == "waiting" && (ticket.window.is_none() || mine(ticket)))
        .cloned()
        .collect();
    // Stable: transferred tickets first, then appointments, each group in
    // order of issue (as `call_next` calls them).
    waiting.sort_by_key(|ticket| (ticket.window.is_none(), ticket.category != "appointment"));
    Ok(WindowQueue {
        current: tickets
            .iter()
            .find(|ticket| mine(ticket) && ticket.state == "called")
            .cloned(),
        parked: tickets
            .iter()
            .filter(|ticket| mine(ticket) && ticket.state == "parked")
            .cloned()
            .collect(),
        done: tickets
            .iter()
            .filter(|ticket| mine(ticket) && ticket.state == "done")
            .count(),
        waiting,
    })
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn window_queue(
        &self,
        window: String,
        day: NaiveDate,
    ) -> Result<WindowQueue, CacheError> {
        self.read(move |connection| window_queue(connection, &window, day))
            .await
    }

    pub async fn issue_ticket(
        &self,
        category: String,
        at: DateTime<FixedOffset>,
    ) -> Result<Ticket, CacheError> {
        self.write(move |connection| issue_ticket(connection, &category, at))
            .await
    }

    pub async fn call_next(
        &self,
        window: String,
        at: DateTime<FixedOffset>,
    ) -> Result<Option<Ticket>, CacheError> {
        self.write(move |connection| call_next(connection, &window, at))
            .await
    }

    pub async fn ticket_action(
        &self,
        id: i64,
        action: TicketAction,
        window: String,
        at: DateTime<FixedOffset>,
    ) -> Result<Ticket, CacheError> {
        self.write(move |connection| act(connection, id, action, &window, at))
            .await
    }

    pub async fn transfer_ticket(
        &self,
        id: i64,
        window: String,
        to_window: String,
        at: DateTime<FixedOffset>,
    ) -> Result<Ticket, CacheError> {
        self.write(move |connection| transfer(connection, id, &window, &to_window, at))
            .await
    }

    pub async fn tickets_of_day(&self, day: NaiveDate) -> Result<Vec<Ticket>, CacheError> {
        self.read(move |connection| tickets_of_day(connection, day))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn connection() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        crate::schema::migrations()
            .to_latest(&mut connection)
            .unwrap();
        connection
    }

    #[test]
    fn a_window_sees_tickets_transferred_to_it_first() {
        let mut db = connection();
        let time = |minute: u32| at(&format!("2026-11-27T10:{minute:02}:00+08:00"));
        let waiting = issue_ticket(&mut db, "economic", time(0)).unwrap();
        let moved = issue_ticket(&mut db, "social", time(1)).unwrap();
        let elsewhere = issue_ticket(&mut db, "construction", time(2)).unwrap();
        // Window 02 serves two tickets; one goes to 01, one to 03.
        assert_eq!(
            call_next(&mut db, "02", time(3)).unwrap().unwrap().id,
            waiting.id
        );
        transfer(&mut db, waiting.id, "02", "03", time(4)).unwrap();
        assert_eq!(
            call_next(&mut db, "02", time(5)).unwrap().unwrap().id,
            moved.id
        );
        transfer(&mut db, moved.id, "02", "01", time(6)).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let queue = window_queue(&db, "01", day).unwrap();
        let numbers: Vec<&str> = queue
            .waiting
            .iter()
            .map(|ticket| ticket.number.as_str())
            .collect();
        assert_eq!(numbers, [moved.number.as_str(), elsewhere.number.as_str()]);
        assert!(queue.current.is_none() && queue.parked.is_empty());
    }

    #[test]
    fn tickets_are_numbered_per_category_and_day() {
        let mut db = connection();
        let a1 = issue_ticket(&mut db, "economic", at("2026-11-27T08:30:00+08:00")).unwrap();
        let a2 = issue_ticket(&mut db, "economic", at("2026-11-27T08:31:00+08:00")).unwrap();
        let b1 = issue_ticket(&mut db, "social", at("2026-11-27T08:32:00+08:00")).unwrap();
        let next_day = issue_ticket(&mut db, "economic", at("2026-11-28T08:30:00+08:00")).unwrap();
        assert_eq!(
            [a1.number, a2.number, b1.number, next_day.number],
            ["A001", "A002", "B001", "A001"]
        );
        assert!(issue_ticket(&mut db, "sports", at("2026-11-27T09:00:00+08:00")).is_err());
    }

    #[test]
    fn a_window_calls_recalls_parks_transfers_and_finishes() {
        let mut db = connection();
        let time = |minute: u32| at(&format!("2026-11-27T09:{minute:02}:00+08:00"));
        let first = issue_ticket(&mut db, "economic", time(0)).unwrap();
        let second = issue_ticket(&mut db, "social", time(1)).unwrap();
        let called = call_next(&mut db, "01", time(2)).unwrap().unwrap();
        assert_eq!(called.number, first.number);
        // One ticket at a time.
        assert!(call_next(&mut db, "01", time(3))
            .unwrap_err()
            .to_string()
            .contains("still serving"));
        assert_eq!(
            act(&mut db, first.id, TicketAction::Recall, "01", time(3))
                .unwrap()
                .calls,
            2
        );
        // Another window cannot act on it.
        assert!(act(&mut db, first.id, TicketAction::Finish, "02", time(4)).is_err());
        assert_eq!(
            act(&mut db, first.id, TicketAction::Park, "01", time(4))
                .unwrap()
                .state,
            "parked"
        );
        let other = call_next(&mut db, "01", time(5)).unwrap().unwrap();
        assert_eq!(other.number, second.number);
        // Transferred to window 02, it waits there first in line.
        let third = issue_ticket(&mut db, "economic", time(6)).unwrap();
        transfer(&mut db, second.id, "01", "02", time(7)).unwrap();
        assert_eq!(
            call_next(&mut db, "02", time(8)).unwrap().unwrap().number,
            second.number
        );
        // Window 01 resumes the parked ticket, finishes it, and calls the next.
        act(&mut db, first.id, TicketAction::Resume, "01", time(9)).unwrap();
        assert_eq!(
            act(&mut db, first.id, TicketAction::Finish, "01", time(10))
                .unwrap()
                .state,
            "done"
        );
        assert_eq!(
            call_next(&mut db, "01", time(11)).unwrap().unwrap().number,
            third.number
        );
        assert_eq!(
            act(&mut db, third.id, TicketAction::NoShow, "01", time(12))
                .unwrap()
                .state,
            "no_show"
        );
        assert!(call_next(&mut db, "01", time(13)).unwrap().is_none());
        // A finished ticket cannot be called back.
        assert!(act(&mut db, first.id, TicketAction::Recall, "01", time(14)).is_err());
        let day = tickets_of_day(&db, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()).unwrap();
        assert_eq!(day.len(), 3);
        let seen = window_queue(&db, "01", NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()).unwrap();
        assert_eq!((seen.current, seen.waiting.len(), seen.done), (None, 0, 1));
        let audited: i64 = db
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action LIKE 'ticket.%'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(audited >= 12, "{audited}");
    }
}
