//! The supervisor's queue watch: waiting and serving times per window and
//! per category over a range of days, the tickets still waiting now, and
//! the tickets issued and called per hour (for the charts).
//!
//! Waiting time is from the ticket's issue to its first call; serving time
//! from the first call to done or no-show (a parked stretch counts as
//! serving: the applicant is still in the window's hands). A ticket still
//! waiting counts toward the longest wait with the time waited so far.
//! This module only reads; it must never move a ticket.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Timelike};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::error::CacheError;
use crate::store::{CaseStore, StoreMode};

/// The times of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTimes {
    pub category: String,
    pub window: Option<String>,
    pub state: String,
    pub issued_at: DateTime<FixedOffset>,
    pub first_called_at: Option<DateTime<FixedOffset>>,
    pub finished_at: Option<DateTime<FixedOffset>>,
}

/// The figures of one window or one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueGroup {
    /// The window number or the category.
    pub key: String,
    pub tickets: u32,
    pub served: u32,
    pub no_shows: u32,
    pub waiting_now: u32,
    pub average_wait_minutes: Option<f64>,
    pub longest_wait_minutes: Option<f64>,
    pub average_serve_minutes: Option<f64>,
}

/// Tickets issued and first called in one hour of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: u32,
    pub issued: u32,
    pub called: u32,
}

/// The queue watch over a range of days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueWatch {
    pub windows: Vec<QueueGroup>,
    pub categories: Vec<QueueGroup>,
    pub hours: Vec<HourCount>,
}

fn minutes(from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / 60.0
}

#[derive(Default)]
struct Tally {
    tickets: u32,
    served: u32,
    no_shows: u32,
    waiting_now: u32,
    waits: Vec<f64>,
    longest: Option<f64>,
    serves: Vec<f64>,
}

impl Tally {
    fn add(&mut self, ticket: &TicketTimes, now: DateTime<FixedOffset>) {
        self.tickets += 1;
        match ticket.state.as_str() {
            "done" => self.served += 1,
            "no_show" => self.no_shows += 1,
            "waiting" => self.waiting_now += 1,
            _ => {}
        }
        let waited = match ticket.first_called_at {
            Some(called) => {
                let waited = minutes(ticket.issued_at, called);
                self.waits.push(waited);
                if let (Some(finished), "done") = (ticket.finished_at, ticket.state.as_str()) {
                    self.serves.push(minutes(called, finished));
                }
                Some(waited)
            }
            None if ticket.state == "waiting" => Some(minutes(ticket.issued_at, now)),
            None => None,
        };
        if let Some(waited) = waited {
            self.longest = Some(self.longest.map_or(waited, |longest| longest.max(waited)));
        }
    }

    fn group(self, key: String) -> QueueGroup {
        let average = |values: &[f64]| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        QueueGroup {
            key,
            tickets: self.tickets,
            served: self.served,
            no_shows: self.no_shows,
            waiting_now: self.waiting_now,
            average_wait_minutes: average(&self.waits),
            longest_wait_minutes: self.longest,
            average_serve_minutes: average(&self.serves),
        }
    }
}

/// The figures of `tickets` as of `now`.
pub fn figures(tickets: &[TicketTimes], now: DateTime<FixedOffset>) -> QueueWatch {
    let mut windows: BTreeMap<String, Tally> = BTreeMap::new();
    let mut categories: BTreeMap<String, Tally> = BTreeMap::new();
    let mut hours: BTreeMap<u32, HourCount> = BTreeMap::new();
    for ticket in tickets {
        // A waiting ticket with no window belongs to no window yet.
        if let Some(window) = &ticket.window {
            windows.entry(window.clone()).or_default().add(ticket, now);
        }
        categories
            .entry(ticket.category.clone())
            .or_default()
            .add(ticket, now);
        let hour = ticket.issued_at.hour();
        hours
            .entry(hour)
            .or_insert(HourCount {
                hour,
                issued: 0,
                called: 0,
            })
            .issued += 1;
        if let Some(called) = ticket.first_called_at {
            let hour = called.hour();
            hours
                .entry(hour)
                .or_insert(HourCount {
                    hour,
                    issued: 0,
                    called: 0,
                })
                .called += 1;
        }
    }
    QueueWatch {
        windows: windows
            .into_iter()
            .map(|(key, tally)| tally.group(key))
            .collect(),
        categories: categories
            .into_iter()
            .map(|(key, tally)| tally.group(key))
            .collect(),
        hours: hours.into_values().collect(),
    }
}

fn time(text: Option<String>) -> Option<DateTime<FixedOffset>> {
    text.and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
}

/// The tickets of the days `from` to `to` (inclusive).
pub fn ticket_times(
    connection: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<TicketTimes>, CacheError> {
    let mut statement = connection.prepare_cached(
        "SELECT category, window, state, issued_at, first_called_at, finished_at FROM tickets WHERE day BETWEEN ?1 AND ?2 ORDER BY issued_at, id",
    )?;
    let rows = statement.query_map(
        params![
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string()
        ],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        },
    )?;
    let mut tickets = Vec::new();
    for row in rows {
        let (category, window, state, issued_at, first_called_at, finished_at) = row?;
        let issued_at = DateTime::parse_from_rfc3339(&issued_at).map_err(|error| {
            CacheError::Database(format!(
                "a ticket's issue time `{issued_at}` is unreadable: {error}"
            ))
        })?;
        tickets.push(TicketTimes {
            category,
            window,
            state,
            issued_at,
            first_called_at: time(first_called_at),
            finished_at: time(finished_at),
        });
    }
    Ok(tickets)
}

impl<M: StoreMode> CaseStore<M> {
    /// The queue watch for the days `from` to `to`, as of `now`.
    pub async fn queue_watch(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<QueueWatch, CacheError> {
        if to < from {
            return Err(CacheError::BadInput(format!(
                "the range ends ({to}) before it starts ({from})"
            )));
        }
        self.read(move |connection| Ok(figures(&ticket_times(connection, from, to)?, now)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{act, call_next, issue_ticket, TicketAction};

    fn at(minute: u32) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(&format!(
            "2026-11-27T{:02}:{:02}:00+08:00",
            9 + minute / 60,
            minute % 60
        ))
        .unwrap()
    }

    #[test]
    fn waits_and_serving_times_are_counted_per_window_and_category() {
        let mut db = Connection::open_in_memory().unwrap();
        crate::schema::migrations().to_latest(&mut db).unwrap();
        let a1 = issue_ticket(&mut db, "economic", at(0)).unwrap();
        let a2 = issue_ticket(&mut db, "economic", at(5)).unwrap();
        let b1 = issue_ticket(&mut db, "social", at(10)).unwrap();
        let _waiting = issue_ticket(&mut db, "social", at(70)).unwrap();
        // Window 01: A001 waits 10 min, served 20 (recalled once: still the
        // first call counts for the wait).
        assert_eq!(call_next(&mut db, "01", at(10)).unwrap().unwrap().id, a1.id);
        act(&mut db, a1.id, TicketAction::Recall, "01", at(12)).unwrap();
        act(&mut db, a1.id, TicketAction::Finish, "01", at(30)).unwrap();
        // Window 02: A002 waits 15 min and does not come.
        assert_eq!(call_next(&mut db, "02", at(20)).unwrap().unwrap().id, a2.id);
        act(&mut db, a2.id, TicketAction::NoShow, "02", at(22)).unwrap();
        // Window 02: B001 waits 30 min, served 40.
        assert_eq!(call_next(&mut db, "02", at(40)).unwrap().unwrap().id, b1.id);
        act(&mut db, b1.id, TicketAction::Finish, "02", at(80)).unwrap();

        let day = at(0).date_naive();
        let watch = figures(&ticket_times(&db, day, day).unwrap(), at(90));
        let window = |key: &str| watch.windows.iter().find(|group| group.key == key).unwrap();
        let category = |key: &str| {
            watch
                .categories
                .iter()
                .find(|group| group.key == key)
                .unwrap()
        };
        assert_eq!(window("01").served, 1);
        assert_eq!(window("01").average_wait_minutes, Some(10.0));
        assert_eq!(window("01").average_serve_minutes, Some(20.0));
        assert_eq!(window("02").no_shows, 1);
        assert_eq!(window("02").average_wait_minutes, Some(22.5));
        assert_eq!(window("02").average_serve_minutes, Some(40.0));
        assert_eq!(category("economic").average_wait_minutes, Some(12.5));
        // The social ticket still waiting has waited 20 minutes so far; the
        // longest social wait is B001's 30.
        assert_eq!(category("social").waiting_now, 1);
        assert_eq!(category("social").longest_wait_minutes, Some(30.0));
        assert_eq!(watch.windows.len(), 2, "a waiting ticket has no window");
        let nine = watch.hours.iter().find(|hour| hour.hour == 9).unwrap();
        assert_eq!((nine.issued, nine.called), (3, 3));
        let ten = watch.hours.iter().find(|hour| hour.hour == 10).unwrap();
        assert_eq!((ten.issued, ten.called), (1, 0));
    }
}
