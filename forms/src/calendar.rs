//! Working days: per-year calendar files of public holidays and adjusted
//! working weekends (调休), and due dates computed from them.
//!
//! Counting follows the Civil Code (arts. 201 and 203): the day of
//! acceptance is not counted; N working days end on the N-th working day
//! after it; N calendar days end N days later, moved to the next working
//! day when that day is a rest day. A date in a year with no calendar
//! loaded is an error, never a guess. This module reads only the calendar
//! files it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::error::{FormsError, SourceError};

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    WorkingDays,
    CalendarDays,
}

/// A time limit: a count of days in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeLimit {
    pub days: u32,
    pub unit: DayUnit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[allow(dead_code)]
    source: String,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    name_zh: String,
    #[allow(dead_code)]
    name_en: String,
    from: toml::value::Datetime,
    to: toml::value::Datetime,
    #[serde(default)]
    working_weekends: Vec<toml::value::Datetime>,
}

/// One year's rest days and adjusted working days.
#[derive(Debug, Clone, Default)]
struct YearCalendar {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

/// The working-day calendars of the years loaded.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    years: BTreeMap<i32, YearCalendar>,
}

fn toml_date(value: &toml::value::Datetime) -> Option<NaiveDate> {
    let date = value.date?;
    if value.time.is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
}

impl WorkingCalendar {
    /// Loads every `*.toml` file in `dir`; returns every problem at once.
    pub fn load_dir(dir: &Path) -> Result<Self, FormsError> {
        let mut calendar = WorkingCalendar::default();
        let mut errors = Vec::new();
        let mut paths: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect(),
            Err(error) => {
                return Err(FormsError::Load(vec![SourceError::file(
                    dir,
                    format!("cannot read the calendar folder: {error}"),
                )]))
            }
        };
        paths.sort();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Err(mut file_errors) = calendar.add_year_text(&path, &text) {
                        errors.append(&mut file_errors);
                    }
                }
                Err(error) => errors.push(SourceError::file(&path, error.to_string())),
            }
        }
        if errors.is_empty() {
            Ok(calendar)
        } else {
            Err(FormsError::Load(errors))
        }
    }

    /// Adds one year from the text of a calendar file.
    pub fn add_year_text(&mut self, path: &Path, text: &str) -> Result<(), Vec<SourceError>> {
        let file: YearFile = toml::from_str(text)
            .map_err(|error| vec![SourceError::from_toml(path, text, &error)])?;
        let mut errors = Vec::new();
        let mut year = YearCalendar::default();
        for holiday in &file.holiday {
            let (Some(from), Some(to)) = (toml_date(&holiday.from), toml_date(&holiday.to)) else {
                errors.push(SourceError::file(
                    path,
                    format!("{}: from and to must be plain dates", holiday.name_zh),
                ));
                continue;
            };
            if from > to || from.year() != file.year || to.year() != file.year {
                errors.push(SourceError::file(
                    path,
                    format!(
                        "{}: {from} to {to} is not a range inside {}",
                        holiday.name_zh, file.year
                    ),
                ));
                continue;
            }
            year.holidays
                .extend(from.iter_days().take_while(|day| *day <= to));
            for value in &holiday.working_weekends {
                match toml_date(value) {
                    Some(day) if is_weekend(day) && day.year() == file.year => {
                        year.working_weekends.insert(day);
                    }
                    _ => errors.push(SourceError::file(
                        path,
                        format!(
                            "{}: adjusted working day {value} must be a Saturday or Sunday of {}",
                            holiday.name_zh, file.year
                        ),
                    )),
                }
            }
        }
        if self.years.contains_key(&file.year) {
            errors.push(SourceError::file(
                path,
                format!("the year {} is defined twice", file.year),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.years.insert(file.year, year);
        Ok(())
    }

    /// The years loaded, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, FormsError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or(FormsError::CalendarMissing { year: date.year() })?;
        if year.holidays.contains(&date) {
            return Ok(false);
        }
        Ok(!is_weekend(date) || year.working_weekends.contains(&date))
    }

    /// The date `limit` after an acceptance on `accepted`. Zero days is the
    /// acceptance day itself (an immediate item).
    pub fn due_date(&self, accepted: NaiveDate, limit: TimeLimit) -> Result<NaiveDate, FormsError> {
        match limit.unit {
            DayUnit::WorkingDays => self.add_working_days(accepted, limit.days),
            DayUnit::CalendarDays => {
                let mut day = accepted + chrono::Days::new(limit.days.into());
                while limit.days > 0 && !self.is_working_day(day)? {
                    day = day.succ_opt().expect("dates stay in range");
                }
                Ok(day)
            }
        }
    }

    /// The `days`-th working day after `start` (`start` itself not counted).
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> Result<NaiveDate, FormsError> {
        let mut day = start;
        let mut counted = 0;
        while counted < days {
            day = day.succ_opt().expect("dates stay in range");
            if self.is_working_day(day)? {
                counted += 1;
            }
        }
        Ok(day)
    }

    /// Working days strictly after `from` up to and including `to` (0 when
    /// `to` is not after `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<u32, FormsError> {
        let mut count = 0;
        for day in from.iter_days().skip(1).take_while(|day| *day <= to) {
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> WorkingCalendar {
        WorkingCalendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar"))
            .expect("the shipped calendars load")
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn working(days: u32) -> TimeLimit {
        TimeLimit {
            days,
            unit: DayUnit::WorkingDays,
        }
    }

    #[test]
    fn holidays_and_adjusted_weekends_of_2026() {
        let calendar = shipped();
        assert!(
            !calendar.is_working_day(date("2026-02-16")).unwrap(),
            "Spring Festival Monday"
        );
        assert!(
            calendar.is_working_day(date("2026-02-14")).unwrap(),
            "adjusted working Saturday"
        );
        assert!(
            calendar.is_working_day(date("2026-09-20")).unwrap(),
            "adjusted working Sunday"
        );
        assert!(
            !calendar.is_working_day(date("2026-11-28")).unwrap(),
            "an ordinary Saturday"
        );
        assert!(
            calendar.is_working_day(date("2026-11-27")).unwrap(),
            "an ordinary Friday"
        );
        assert!(!calendar.is_working_day(date("2026-10-07")).unwrap());
        assert!(calendar.is_working_day(date("2026-10-08")).unwrap());
    }

    #[test]
    fn working_days_skip_the_spring_festival_and_count_the_adjusted_saturday() {
        let calendar = shipped();
        // Accepted Friday 13 Feb: Sat 14 Feb is a working day (1), then the
        // holiday runs to Mon 23 Feb; Tue 24 is the 2nd working day.
        assert_eq!(
            calendar.due_date(date("2026-02-13"), working(1)).unwrap(),
            date("2026-02-14")
        );
        assert_eq!(
            calendar.due_date(date("2026-02-13"), working(2)).unwrap(),
            date("2026-02-24")
        );
        // 20 working days from 28 Sep crosses National Day and the adjusted 10 Oct.
        assert_eq!(
            calendar.due_date(date("2026-09-28"), working(20)).unwrap(),
            date("2026-10-30")
        );
        assert_eq!(
            calendar.due_date(date("2026-03-02"), working(0)).unwrap(),
            date("2026-03-02")
        );
    }

    #[test]
    fn calendar_days_end_on_a_working_day() {
        let calendar = shipped();
        let fifteen = TimeLimit {
            days: 15,
            unit: DayUnit::CalendarDays,
        };
        // 16 Sep + 15 days = 1 Oct (holiday) → moved to Thu 8 Oct.
        assert_eq!(
            calendar.due_date(date("2026-09-16"), fifteen).unwrap(),
            date("2026-10-08")
        );
        assert_eq!(
            calendar.due_date(date("2026-03-02"), fifteen).unwrap(),
            date("2026-03-17")
        );
    }

    #[test]
    fn dates_beyond_the_loaded_years_are_a_clear_error() {
        let calendar = shipped();
        let error = calendar
            .due_date(date("2026-12-21"), working(10))
            .unwrap_err();
        assert!(
            matches!(error, FormsError::CalendarMissing { year: 2027 }),
            "{error:?}"
        );
        assert!(error.to_string().contains("2027"));
        assert_eq!(
            calendar
                .working_days_between(date("2026-05-01"), date("2026-05-11"))
                .unwrap(),
            5
        );
    }

    #[test]
    fn bad_calendar_files_report_every_problem() {
        let mut calendar = WorkingCalendar::default();
        let text = r#"
year = 2030
source = "test"
[[holiday]]
name_zh = "甲"
name_en = "A"
from = 2030-05-05
to = 2030-05-01
[[holiday]]
name_zh = "乙"
name_en = "B"
from = 2030-06-01
to = 2030-06-02
working_weekends = [2030-06-05]
"#;
        let errors = calendar
            .add_year_text(Path::new("2030.toml"), text)
            .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let unknown = calendar
            .add_year_text(
                Path::new("x.toml"),
                "year = 2031\nsource = \"s\"\nholidays = []\n",
            )
            .unwrap_err();
        assert_eq!(unknown[0].line, Some(3), "{unknown:?}");
        assert!(unknown[0].message.contains("holidays"), "{unknown:?}");
    }
}
