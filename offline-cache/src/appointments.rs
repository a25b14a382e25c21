//! Appointments booked on the province's platform (网上预约) for this hall:
//! the day's list kept in the store (so check-in works offline once
//! fetched), and check-in, which issues an appointment ticket (Y) that is
//! called before walk-ins and carries the booking to the intake ("ask only
//! once": the booked item and the applicant's identity are not asked again).
//!
//! A booking that disappears from the platform's list while still booked is
//! marked cancelled, never deleted; a checked-in booking is never changed by
//! a later list. This module must never send anything to the platform.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::error::CacheError;
use crate::queue::{issue_ticket_in, Ticket};
use crate::store::{CaseStore, StoreMode};

/// One booking as the platform sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    pub booking_number: String,
    pub day: String,
    pub slot: String,
    /// The item's implementation code (实施编码).
    pub implementation_code: String,
    pub name: String,
    pub id_number: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The platform's answer: the day's bookings and who keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingList {
    pub appointments: Vec<Booking>,
    #[serde(default)]
    pub source: Option<String>,
}

/// A booking as the window keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: String,
    pub day: String,
    pub slot: String,
    pub booking_number: String,
    /// The catalogue item booked.
    pub item_id: String,
    pub applicant_name: String,
    pub applicant_identifier: String,
    pub phone: Option<String>,
    pub source: String,
    /// `booked`, `checked_in` or `cancelled`.
    pub state: String,
    pub ticket_number: Option<String>,
}

fn row_to_appointment(row: &rusqlite::Row) -> rusqlite::Result<Appointment> {
    Ok(Appointment {
        id: row.get(0)?,
        day: row.get(1)?,
        slot: row.get(2)?,
        booking_number: row.get(3)?,
        item_id: row.get(4)?,
        applicant_name: row.get(5)?,
        applicant_identifier: row.get(6)?,
        phone: row.get(7)?,
        source: row.get(8)?,
        state: row.get(9)?,
        ticket_number: row.get(10)?,
    })
}

const SELECT: &str = "SELECT a.id, a.day, a.slot, a.booking_number, a.item_id, a.applicant_name, a.applicant_identifier, a.phone, a.source, a.state, t.number
     FROM appointments a LEFT JOIN tickets t ON t.id = a.ticket_id";

/// Saves the platform's list for `day`: new bookings added, booked ones
/// updated, booked ones no longer listed cancelled. `item_of` turns an
/// implementation code into a catalogue item; a booking for an item not in
/// the catalogue is skipped and reported back (never silently dropped).
pub fn save_appointments(
    connection: &mut Connection,
    day: NaiveDate,
    source: &str,
    bookings: &[Booking],
    item_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, CacheError> {
    let day_text = day.format("%Y-%m-%d").to_string();
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut skipped = Vec::new();
    let mut listed = Vec::new();
    for booking in bookings.iter().filter(|booking| booking.day == day_text) {
        let Some(item_id) = item_of(&booking.implementation_code) else {
            skipped.push(format!(
                "{}: item {} is not in this hall's catalogue",
                booking.booking_number, booking.implementation_code
            ));
            continue;
        };
        listed.push(booking.booking_number.clone());
        transaction.execute(
            "INSERT INTO appointments (id, day, slot, booking_number, item_id, applicant_name, applicant_identifier, phone, source, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'booked')
             ON CONFLICT (source, booking_number) DO UPDATE SET
                slot = excluded.slot, item_id = excluded.item_id, applicant_name = excluded.applicant_name,
                applicant_identifier = excluded.applicant_identifier, phone = excluded.phone,
                state = CASE WHEN appointments.state = 'checked_in' THEN 'checked_in' ELSE 'booked' END
             WHERE appointments.state <> 'checked_in'",
            params![
                uuid::Uuid::new_v4().to_string(),
                day_text,
                booking.slot,
                booking.booking_number,
                item_id,
                booking.name,
                booking.id_number,
                booking.phone,
                source,
            ],
        )?;
    }
    // Booked but no longer listed: cancelled on the platform.
    let still_booked: Vec<(String, String)> = {
        let mut statement = transaction.prepare(
            "SELECT id, booking_number FROM appointments WHERE day = ?1 AND source = ?2 AND state = 'booked'",
        )?;
        let rows = statement.query_map(params![day_text, source], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for (id, number) in still_booked {
        if !listed.contains(&number) {
            transaction.execute(
                "UPDATE appointments SET state = 'cancelled' WHERE id = ?1",
                params![id],
            )?;
        }
    }
    transaction.commit()?;
    Ok(skipped)
}

/// The bookings of `day`, by slot.
pub fn appointments_of_day(
    connection: &Connection,
    day: NaiveDate,
) -> Result<Vec<Appointment>, CacheError> {
    let mut statement = connection.prepare_cached(&format!(
        "{SELECT} WHERE a.day = ?1 ORDER BY a.slot, a.booking_number"
    ))?;
    let rows = statement.query_map(
        params![day.format("%Y-%m-%d").to_string()],
        row_to_appointment,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The booking a ticket was issued for, if any.
pub fn appointment_of_ticket(
    connection: &Connection,
    ticket_number: &str,
    day: NaiveDate,
) -> Result<Option<Appointment>, CacheError> {
    Ok(connection
        .query_row(
            &format!("{SELECT} WHERE t.number = ?1 AND t.day = ?2"),
            params![ticket_number, day.format("%Y-%m-%d").to_string()],
            row_to_appointment,
        )
        .optional()?)
}

/// Checks a booking in: issues its appointment ticket, in one transaction
/// with the booking's new state and the audit entry. A booking is checked
/// in once, on its own day.
pub fn check_in(
    connection: &mut Connection,
    id: &str,
    at: DateTime<FixedOffset>,
) -> Result<Ticket, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let booking = transaction
        .query_row(
            &format!("{SELECT} WHERE a.id = ?1"),
            params![id],
            row_to_appointment,
        )
        .optional()?
        .ok_or_else(|| CacheError::BadInput(format!("there is no appointment {id}")))?;
    let refuse = |code: &'static str, zh: String, en: String| CacheError::Refused {
        code,
        message_zh: zh,
        message_en: en,
    };
    match booking.state.as_str() {
        "checked_in" => {
            return Err(refuse(
                "already_checked_in",
                format!(
                    "预约 {} 已签到，排队号 {}。",
                    booking.booking_number,
                    booking.ticket_number.clone().unwrap_or_default()
                ),
                format!(
                    "Booking {} is already checked in (ticket {}).",
                    booking.booking_number,
                    booking.ticket_number.clone().unwrap_or_default()
                ),
            ))
        }
        "cancelled" => {
            return Err(refuse(
                "appointment_cancelled",
                format!(
                    "预约 {} 已在预约平台取消，请按现场取号办理。",
                    booking.booking_number
                ),
                format!(
                    "Booking {} was cancelled on the platform; issue a walk-in ticket instead.",
                    booking.booking_number
                ),
            ))
        }
        _ => {}
    }
    let today = at.date_naive().format("%Y-%m-%d").to_string();
    if booking.day != today {
        return Err(refuse(
            "appointment_other_day",
            format!(
                "预约 {} 是 {} 的预约，不能今天签到。",
                booking.booking_number, booking.day
            ),
            format!(
                "Booking {} is for {}, not today.",
                booking.booking_number, booking.day
            ),
        ));
    }
    let ticket = issue_ticket_in(&transaction, "appointment", at)?;
    transaction.execute(
        "UPDATE appointments SET state = 'checked_in', ticket_id = ?2, checked_in_at = ?3 WHERE id = ?1",
        params![id, ticket.id, at.to_rfc3339()],
    )?;
    audit::append(
        &transaction,
        &at.to_rfc3339(),
        "reception",
        "appointment.checked_in",
        id,
        &json!({ "booking": booking.booking_number, "ticket": ticket.number }),
    )?;
    transaction.commit()?;
    Ok(ticket)
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn save_appointments(
        &self,
        day: NaiveDate,
        source: String,
        bookings: Vec<Booking>,
        item_of: impl Fn(&str) -> Option<String> + Send + 'static,
    ) -> Result<Vec<String>, CacheError> {
        self.write(move |connection| {
            save_appointments(connection, day, &source, &bookings, &item_of)
        })
        .await
    }

    pub async fn appointments_of_day(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<Appointment>, CacheError> {
        self.read(move |connection| appointments_of_day(connection, day))
            .await
    }

    pub async fn appointment_of_ticket(
        &self,
        ticket_number: String,
        day: NaiveDate,
    ) -> Result<Option<Appointment>, CacheError> {
        self.read(move |connection| appointment_of_ticket(connection, &ticket_number, day))
            .await
    }

    pub async fn check_in_appointment(
        &self,
        id: String,
        at: DateTime<FixedOffset>,
    ) -> Result<Ticket, CacheError> {
        self.write(move |connection| check_in(connection, &id, at))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{call_next, issue_ticket};

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn booking(number: &str, code: &str) -> Booking {
        Booking {
            booking_number: number.into(),
            day: "2026-11-27".into(),
            slot: "09:00-09:30".into(),
            implementation_code: code.into(),
            name: "张三".into(),
            id_number: "34052419800101001X".into(),
            phone: None,
        }
    }

    fn item_of(code: &str) -> Option<String> {
        (code == "MKT01").then(|| "market.company-establishment".to_owned())
    }

    #[test]
    fn bookings_are_kept_checked_in_once_called_first_and_cancelled_when_gone() {
        let mut db = Connection::open_in_memory().unwrap();
        crate::schema::migrations().to_latest(&mut db).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let skipped = save_appointments(
            &mut db,
            day,
            "platform",
            &[
                booking("YY1", "MKT01"),
                booking("YY2", "MKT01"),
                booking("YY3", "NOPE"),
            ],
            &item_of,
        )
        .unwrap();
        assert_eq!(
            skipped.len(),
            1,
            "the unknown item is reported: {skipped:?}"
        );
        let listed = appointments_of_day(&db, day).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|booking| booking.state == "booked"));

        // A walk-in came first; the checked-in booking is still called first.
        let walk_in = issue_ticket(&mut db, "economic", at("2026-11-27T09:00:00+08:00")).unwrap();
        let first = &listed[0];
        let ticket = check_in(&mut db, &first.id, at("2026-11-27T09:05:00+08:00")).unwrap();
        assert_eq!(ticket.number, "Y001");
        let again = check_in(&mut db, &first.id, at("2026-11-27T09:06:00+08:00")).unwrap_err();
        assert_eq!(again.code(), "already_checked_in");
        let called = call_next(&mut db, "01", at("2026-11-27T09:10:00+08:00"))
            .unwrap()
            .unwrap();
        assert_eq!(called.number, "Y001", "appointments before walk-ins");
        assert_ne!(called.id, walk_in.id);
        let booked = appointment_of_ticket(&db, "Y001", day).unwrap().unwrap();
        assert_eq!(booked.item_id, "market.company-establishment");
        assert_eq!(booked.ticket_number.as_deref(), Some("Y001"));

        // The next list no longer has YY2 (cancelled on the platform) and
        // has YY1 changed: the checked-in booking stays as it was.
        let mut changed = booking("YY1", "MKT01");
        changed.slot = "16:00-16:30".into();
        save_appointments(&mut db, day, "platform", &[changed], &item_of).unwrap();
        let listed = appointments_of_day(&db, day).unwrap();
        let state = |number: &str| {
            listed
                .iter()
                .find(|booking| booking.booking_number == number)
                .unwrap()
                .clone()
        };
        assert_eq!(state("YY1").state, "checked_in");
        assert_eq!(state("YY1").slot, "09:00-09:30");
        assert_eq!(state("YY2").state, "cancelled");
        let cancelled =
            check_in(&mut db, &state("YY2").id, at("2026-11-27T11:00:00+08:00")).unwrap_err();
        assert_eq!(cancelled.code(), "appointment_cancelled");
    }
}
