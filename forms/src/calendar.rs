//! Working days: per-year calendar files of public holidays and adjusted
//! working weekends (调休), and due dates computed from them.
//!
//! Counting follows the Civil Code (arts. 201 and 203): the day of
//! acceptance is not counted; N working days end on the N-th working day
//! after it; N calendar days end N days later, moved to the next working
//! day when that day is a rest day.
//!
//! A year with an official file (`forms/calendar/<year>.toml`, from the
//! State Council's holiday notice) is always used as written. A holiday in
//! a notice may run across the year end (the notice for 2024 gave 元旦 as
//! 30 Dec 2023 to 1 Jan 2024): its days count in both years.
//!
//! A year without an official file, from 2025 (when the 2024 amendment of
//! 《全国年节及纪念日放假办法》, 国务院令第795号, came into force) to 2100, is
//! **provisional**: its rest days are the weekends and the statutory
//! holidays of that 办法 (art. 2: 元旦 1 day, 春节 4 days from 除夕, 清明 1,
//! 劳动节 2, 端午 1, 中秋 1, 国庆 3), with a statutory day that falls on a
//! Saturday or Sunday, or on another holiday, made up on the next weekdays
//! (art. 6, 补假). No 调休 is guessed. Lunar dates come from ICU4X's Chinese
//! calendar (`icu_calendar`, which follows the Purple Mountain and Hong Kong
//! observatories to 2100), the Qingming solar term from `tyme4rs`; nothing
//! here is a hand-written table. Every due date says whether a day it
//! counted came from a provisional year, so the decision and the receipt can
//! say the date is an estimate. Outside those years a date is an error,
//! never a guess. This module reads only the calendar files it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{FormsError, SourceError};

/// The first year computed from the statutory holidays when no file is
/// loaded: the 2024 amendment (国务院令第795号) is in force from 2025-01-01,
/// and earlier years had other holidays.
pub const PROVISIONAL_FROM: i32 = 2025;
/// The last such year: ICU4X's Chinese calendar is the observatories'
/// published data up to 2100 and a simplified calculation after it.
pub const PROVISIONAL_UNTIL: i32 = 2100;

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

/// A computed date, and whether any day counted to reach it lay in a
/// provisional year (no official calendar file: the statutory holidays
/// only, the State Council's arrangement not yet known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DueDate {
    pub date: NaiveDate,
    pub provisional: bool,
}

/// One statutory holiday of a provisional year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatutoryHoliday {
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// The statutory days (art. 2), in order.
    pub days: Vec<NaiveDate>,
    /// Weekdays given in place of statutory days that fell on a weekend or
    /// on another holiday (art. 6, 补假).
    pub make_up_days: Vec<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: Spanned<i32>,
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
    from: Spanned<toml::value::Datetime>,
    to: Spanned<toml::value::Datetime>,
    #[serde(default)]
    working_weekends: Vec<Spanned<toml::value::Datetime>>,
}

/// The working-day calendars of the years loaded, and the provisional
/// years computed when asked for.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    /// The years with an official file.
    years: BTreeSet<i32>,
    /// Rest days of the official files, with the year of the file.
    holidays: BTreeMap<NaiveDate, i32>,
    /// Adjusted working Saturdays and Sundays of the official files.
    working_weekends: BTreeMap<NaiveDate, i32>,
    /// The rest days (besides weekends) of each provisional year, computed
    /// once on first use (`None`: the dates could not be computed, and the
    /// year is missing).
    provisional: Box<[OnceLock<Option<BTreeSet<NaiveDate>>>]>,
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        WorkingCalendar {
            years: BTreeSet::new(),
            holidays: BTreeMap::new(),
            working_weekends: BTreeMap::new(),
            provisional: (PROVISIONAL_FROM..=PROVISIONAL_UNTIL)
                .map(|_| OnceLock::new())
                .collect(),
        }
    }
}

fn toml_date(value: &toml::value::Datetime) -> Option<NaiveDate> {
    let date = value.date?;
    if value.time.is_some() || value.offset.is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
}

/// The longest holiday a notice gives (the Spring Festival's 8 or 9 days,
/// with room to spare): a longer range is a typing mistake.
const LONGEST_HOLIDAY: i64 = 15;

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

    /// The calendar of `folder` (the shipped or configured one) together with
    /// the years an administrator loaded into `loaded` (a folder of the
    /// app's own data, since an installed app's folders are read-only). A
    /// year `folder` already has is left out of `loaded` (the configured
    /// file wins) and returned, so the caller can say so; `loaded` may not
    /// exist yet. Every problem of either folder is reported at once.
    pub fn load_with_loaded(
        folder: &Path,
        loaded: &Path,
    ) -> Result<(Self, Vec<std::path::PathBuf>), FormsError> {
        let mut calendar = Self::load_dir(folder)?;
        if !loaded.is_dir() {
            return Ok((calendar, Vec::new()));
        }
        #[derive(Deserialize)]
        struct YearOnly {
            year: i32,
        }
        let mut paths: Vec<_> = std::fs::read_dir(loaded)
            .map_err(|error| {
                FormsError::Load(vec![SourceError::file(
                    loaded,
                    format!("cannot read the folder of loaded calendars: {error}"),
                )])
            })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        let mut errors = Vec::new();
        let mut left_out = Vec::new();
        for path in paths {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    errors.push(SourceError::file(&path, error.to_string()));
                    continue;
                }
            };
            if let Ok(YearOnly { year }) = toml::from_str::<YearOnly>(&text) {
                if calendar.years.contains(&year) {
                    left_out.push(path);
                    continue;
                }
            }
            if let Err(mut file_errors) = calendar.add_year_text(&path, &text) {
                errors.append(&mut file_errors);
            }
        }
        if errors.is_empty() {
            Ok((calendar, left_out))
        } else {
            Err(FormsError::Load(errors))
        }
    }

    /// Adds one year from the text of a calendar file. A holiday may run
    /// into the year before or after (never further), as long as it has a
    /// day in the file's year; so may its adjusted working weekends. Nothing
    /// is added when the file has a problem.
    pub fn add_year_text(&mut self, path: &Path, text: &str) -> Result<(), Vec<SourceError>> {
        let file: YearFile = toml::from_str(text)
            .map_err(|error| vec![SourceError::from_toml(path, text, &error)])?;
        let at = |offset: usize, message: String| SourceError::at(path, text, offset, message);
        let year = *file.year.get_ref();
        // A typo (2207, or a number past chrono's dates) is refused at its
        // line, never kept as a year's notice.
        if !(2000..=2100).contains(&year) {
            return Err(vec![at(
                file.year.span().start,
                format!("{year} is not a year this calendar can hold: use 2000 to 2100"),
            )]);
        }
        let near = |day: NaiveDate| (year - 1..=year + 1).contains(&day.year());
        let mut errors = Vec::new();
        let mut holidays = BTreeSet::new();
        let mut working = BTreeSet::new();
        for holiday in &file.holiday {
            let (Some(from), Some(to)) = (
                toml_date(holiday.from.get_ref()),
                toml_date(holiday.to.get_ref()),
            ) else {
                errors.push(at(
                    holiday.from.span().start,
                    format!("{}: from and to must be plain dates", holiday.name_zh),
                ));
                continue;
            };
            let in_year = from.year() <= year && to.year() >= year;
            if from > to
                || !near(from)
                || !near(to)
                || !in_year
                || (to - from).num_days() >= LONGEST_HOLIDAY
            {
                errors.push(at(
                    holiday.from.span().start,
                    format!(
                        "{}: {from} to {to} is not a holiday of {year} (at most {LONGEST_HOLIDAY} days, with a day in {year})",
                        holiday.name_zh
                    ),
                ));
                continue;
            }
            holidays.extend(from.iter_days().take_while(|day| *day <= to));
            for value in &holiday.working_weekends {
                match toml_date(value.get_ref()) {
                    Some(day) if is_weekend(day) && near(day) => {
                        working.insert(day);
                    }
                    _ => errors.push(at(
                        value.span().start,
                        format!(
                            "{}: adjusted working day {} must be a Saturday or Sunday of {year} or next to it",
                            holiday.name_zh,
                            value.get_ref()
                        ),
                    )),
                }
            }
        }
        for day in holidays.intersection(&working) {
            errors.push(SourceError::file(
                path,
                format!("{day} is both a holiday and an adjusted working day"),
            ));
        }
        for day in &holidays {
            if let Some(other) = self.working_weekends.get(day) {
                errors.push(SourceError::file(
                    path,
                    format!("{day} is a holiday here but a working day in the file for {other}"),
                ));
            }
        }
        for day in &working {
            if let Some(other) = self.holidays.get(day) {
                errors.push(SourceError::file(
                    path,
                    format!("{day} is a working day here but a holiday in the file for {other}"),
                ));
            }
        }
        if self.years.contains(&year) {
            errors.push(at(
                file.year.span().start,
                format!("the year {year} is defined twice"),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.years.insert(year);
        self.holidays
            .extend(holidays.into_iter().map(|day| (day, year)));
        self.working_weekends
            .extend(working.into_iter().map(|day| (day, year)));
        Ok(())
    }

    /// The years with an official file, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The year whose holiday notice the administrator should load, on
    /// `today`: this year when it has no file, and from 1 October (the State
    /// Council publishes next year's arrangement in November or December)
    /// next year when it has none. `None` when nothing is missing.
    pub fn missing_notice(&self, today: NaiveDate) -> Option<i32> {
        let year = today.year();
        if !self.years.contains(&year) {
            Some(year)
        } else if today.month() >= 10 && !self.years.contains(&(year + 1)) {
            Some(year + 1)
        } else {
            None
        }
    }

    /// Checks the text of a year's file against the years loaded (the same
    /// year twice, a day that is a holiday in one file and a working day in
    /// another) without changing anything, and returns the year it is for.
    /// `path` names the file in the problems reported.
    pub fn check_year_text(&self, path: &Path, text: &str) -> Result<i32, Vec<SourceError>> {
        let mut trial = self.clone();
        trial.add_year_text(path, text)?;
        trial
            .years
            .difference(&self.years)
            .next()
            .copied()
            .ok_or_else(|| vec![SourceError::file(path, "the file adds no year")])
    }

    /// Whether `year` has no official file but is computed from the
    /// statutory holidays.
    pub fn is_provisional(&self, year: i32) -> bool {
        !self.years.contains(&year) && (PROVISIONAL_FROM..=PROVISIONAL_UNTIL).contains(&year)
    }

    /// Whether `date` is a working day, and whether that came from a
    /// provisional year.
    /// A day of a neighbouring year's notice counts only when its own year
    /// is loaded or provisional.
    fn day(&self, date: NaiveDate) -> Result<(bool, bool), FormsError> {
        let year = date.year();
        let missing = FormsError::CalendarMissing { year };
        let provisional = !self.years.contains(&year);
        if provisional && !self.is_provisional(year) {
            return Err(missing);
        }
        if self.holidays.contains_key(&date) {
            return Ok((false, provisional));
        }
        if self.working_weekends.contains_key(&date) {
            return Ok((true, provisional));
        }
        if !provisional {
            return Ok((!is_weekend(date), false));
        }
        let rest = usize::try_from(year - PROVISIONAL_FROM)
            .ok()
            .and_then(|index| self.provisional.get(index))
            .and_then(|slot| slot.get_or_init(|| provisional_rest_days(year)).as_ref())
            .ok_or(missing)?;
        Ok((!is_weekend(date) && !rest.contains(&date), true))
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, FormsError> {
        self.day(date).map(|(working, _)| working)
    }

    /// The date `limit` after an acceptance on `accepted`. Zero days is the
    /// acceptance day itself (an immediate item). Provisional when a day
    /// whose working status decided the date lay in a provisional year.
    pub fn due_date(&self, accepted: NaiveDate, limit: TimeLimit) -> Result<DueDate, FormsError> {
        match limit.unit {
            DayUnit::WorkingDays => self.add_working_days(accepted, limit.days),
            DayUnit::CalendarDays => {
                let mut date = accepted + chrono::Days::new(limit.days.into());
                let mut provisional = false;
                if limit.days > 0 {
                    loop {
                        let (working, from_provisional) = self.day(date)?;
                        provisional |= from_provisional;
                        if working {
                            break;
                        }
                        date = date.succ_opt().expect("dates stay in range");
                    }
                }
                Ok(DueDate { date, provisional })
            }
        }
    }

    /// The `days`-th working day after `start` (`start` itself not counted).
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> Result<DueDate, FormsError> {
        let mut date = start;
        let mut counted = 0;
        let mut provisional = false;
        while counted < days {
            date = date.succ_opt().expect("dates stay in range");
            let (working, from_provisional) = self.day(date)?;
            provisional |= from_provisional;
            if working {
                counted += 1;
            }
        }
        Ok(DueDate { date, provisional })
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

/// The Gregorian date of a day of the Chinese calendar (`month` a common,
/// not a leap, month), by ICU4X.
fn lunar(year: i32, month: u8, day: u8) -> Option<NaiveDate> {
    use icu_calendar::{types::Month, Date, Iso};
    let date = Date::try_new_chinese_traditional(year, Month::new(month), day).ok()?;
    let iso = date.to_calendar(Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        iso.month().ordinal.into(),
        iso.day_of_month().0.into(),
    )
}

/// The day of the Qingming solar term (the sun at 15° ecliptic longitude,
/// Beijing time), by `tyme4rs`.
fn qingming(year: i32) -> Option<NaiveDate> {
    let term = tyme4rs::tyme::solar::SolarTerm::from_name(year.try_into().ok()?, "清明");
    let day = term.get_solar_day();
    let date = NaiveDate::from_ymd_opt(
        year,
        u32::try_from(day.get_month()).ok()?,
        u32::try_from(day.get_day()).ok()?,
    )?;
    // The term falls on 4, 5 or 6 April; anything else is not this year's.
    (date.month() == 4).then_some(date)
}

/// The statutory holidays of `year` under the 2024 amendment of
/// 《全国年节及纪念日放假办法》, with their make-up days; `None` outside the
/// provisional years or where a date cannot be computed.
pub fn statutory_holidays(year: i32) -> Option<Vec<StatutoryHoliday>> {
    if !(PROVISIONAL_FROM..=PROVISIONAL_UNTIL).contains(&year) {
        return None;
    }
    let ymd = |month, day| NaiveDate::from_ymd_opt(year, month, day);
    let run = |first: NaiveDate, count: u64| -> Vec<NaiveDate> {
        first.iter_days().take(count as usize).collect()
    };
    let new_year_eve = lunar(year, 1, 1)?.pred_opt()?;
    let mut holidays = vec![
        ("元旦", "New Year's Day", run(ymd(1, 1)?, 1)),
        ("春节", "Spring Festival", run(new_year_eve, 4)),
        ("清明节", "Qingming Festival", run(qingming(year)?, 1)),
        ("劳动节", "Labour Day", run(ymd(5, 1)?, 2)),
        ("端午节", "Dragon Boat Festival", run(lunar(year, 5, 5)?, 1)),
        ("中秋节", "Mid-Autumn Festival", run(lunar(year, 8, 15)?, 1)),
        ("国庆节", "National Day", run(ymd(10, 1)?, 3)),
    ];
    holidays.sort_by_key(|(_, _, days)| days[0]);
    let statutory: BTreeSet<NaiveDate> = holidays
        .iter()
        .flat_map(|(_, _, days)| days.clone())
        .collect();
    let mut taken = BTreeSet::new();
    let mut result = Vec::new();
    for (name_zh, name_en, days) in holidays {
        let mut owed = 0;
        for day in &days {
            if is_weekend(*day) || !taken.insert(*day) {
                owed += 1;
            }
        }
        let mut make_up_days = Vec::new();
        let mut day = *days.last()?;
        while make_up_days.len() < owed {
            day = day.succ_opt()?;
            if !is_weekend(day) && !taken.contains(&day) && !statutory.contains(&day) {
                taken.insert(day);
                make_up_days.push(day);
            }
        }
        result.push(StatutoryHoliday {
            name_zh,
            name_en,
            days,
            make_up_days,
        });
    }
    Some(result)
}

/// The rest days besides weekends of a provisional year (statutory days and
/// their make-up days).
fn provisional_rest_days(year: i32) -> Option<BTreeSet<NaiveDate>> {
    Some(
        statutory_holidays(year)?
            .into_iter()
            .flat_map(|holiday| holiday.days.into_iter().chain(holiday.make_up_days))
            .collect(),
    )
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

    fn official(text: &str) -> DueDate {
        DueDate {
            date: date(text),
            provisional: false,
        }
    }

    fn provisional(text: &str) -> DueDate {
        DueDate {
            date: date(text),
            provisional: true,
        }
    }

    fn working(days: u32) -> TimeLimit {
        TimeLimit {
            days,
            unit: DayUnit::WorkingDays,
        }
    }

    /// A year a calendar cannot hold (a typo) is refused at its line.
    #[test]
    fn a_year_out_of_range_is_refused_at_its_line() {
        for year in ["2207", "2147483647"] {
            let text = format!("year = {year}\nsource = \"通知\"\n");
            let problems = WorkingCalendar::default()
                .add_year_text(Path::new("typo.toml"), &text)
                .unwrap_err();
            assert!(
                problems[0].to_string().contains("typo.toml:1"),
                "{}",
                problems[0]
            );
        }
    }

    /// Years an administrator loaded into the app's own folder count with
    /// the shipped ones; a year the shipped folder has wins and is named.
    #[test]
    fn loaded_years_count_beside_the_shipped_ones() {
        let shipped_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar");
        let loaded = tempfile::tempdir().unwrap();
        let none =
            WorkingCalendar::load_with_loaded(&shipped_dir, &loaded.path().join("absent")).unwrap();
        assert!(none.1.is_empty());
        assert!(none.0.is_provisional(2027));
        std::fs::write(
            loaded.path().join("2027.toml"),
            "year = 2027\nsource = \"国务院办公厅通知\"\n\n[[holiday]]\nname_zh = \"元旦\"\nname_en = \"New Year's Day\"\nfrom = 2027-01-01\nto = 2027-01-03\n",
        )
        .unwrap();
        std::fs::copy(
            shipped_dir.join("2026.toml"),
            loaded.path().join("again-2026.toml"),
        )
        .unwrap();
        let (calendar, left_out) =
            WorkingCalendar::load_with_loaded(&shipped_dir, loaded.path()).unwrap();
        assert!(!calendar.is_provisional(2027));
        assert_eq!(left_out, [loaded.path().join("again-2026.toml")]);
        std::fs::write(loaded.path().join("2028.toml"), "year = 2028\nsource = 1\n").unwrap();
        let problems = WorkingCalendar::load_with_loaded(&shipped_dir, loaded.path()).unwrap_err();
        assert!(problems.to_string().contains("2028.toml"), "{problems}");
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
            official("2026-02-14")
        );
        assert_eq!(
            calendar.due_date(date("2026-02-13"), working(2)).unwrap(),
            official("2026-02-24")
        );
        // 20 working days from 28 Sep crosses National Day and the adjusted 10 Oct.
        assert_eq!(
            calendar.due_date(date("2026-09-28"), working(20)).unwrap(),
            official("2026-10-30")
        );
        assert_eq!(
            calendar.due_date(date("2026-03-02"), working(0)).unwrap(),
            official("2026-03-02")
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
            official("2026-10-08")
        );
        assert_eq!(
            calendar.due_date(date("2026-03-02"), fifteen).unwrap(),
            official("2026-03-17")
        );
        // 25 Dec + 15 days = Sat 9 Jan 2027, a provisional year → Mon 11 Jan.
        assert_eq!(
            calendar.due_date(date("2026-12-25"), fifteen).unwrap(),
            provisional("2027-01-11")
        );
    }

    #[test]
    fn dates_beyond_the_provisional_years_are_a_clear_error() {
        let calendar = shipped();
        for (day, year) in [("2100-12-30", 2101), ("2024-12-30", 2024)] {
            let error = calendar.due_date(date(day), working(10)).unwrap_err();
            assert!(
                matches!(error, FormsError::CalendarMissing { year: missing } if missing == year),
                "{error:?}"
            );
            assert!(error.to_string().contains(&year.to_string()));
        }
        assert_eq!(
            calendar
                .working_days_between(date("2026-05-01"), date("2026-05-11"))
                .unwrap(),
            5
        );
    }

    #[test]
    fn twenty_working_days_from_4_december_2026_end_on_4_january_2027() {
        let calendar = shipped();
        // After Fri 4 Dec: 7–11 Dec (5), 14–18 (10), 21–25 (15), 28–31 (19);
        // Fri 1 Jan 2027 is 元旦; Mon 4 Jan is the 20th working day, counted
        // in 2027, for which no notice is loaded.
        assert_eq!(
            calendar.due_date(date("2026-12-04"), working(20)).unwrap(),
            provisional("2027-01-04")
        );
        // 10 working days from 21 Dec: 22–25 (4), 28–31 (8), 4–5 Jan (10).
        assert_eq!(
            calendar.due_date(date("2026-12-21"), working(10)).unwrap(),
            provisional("2027-01-05")
        );
        // Ending on 31 Dec: every day counted is 2026's.
        assert_eq!(
            calendar.due_date(date("2026-12-04"), working(19)).unwrap(),
            official("2026-12-31")
        );
    }

    #[test]
    fn the_provisional_2027_has_the_spring_festival_from_new_years_eve_and_qingming() {
        let calendar = shipped();
        assert!(calendar.is_provisional(2027));
        assert!(!calendar.is_provisional(2026));
        // 2027's lunar New Year (正月初一) is Sat 6 Feb: 除夕 Fri 5 Feb to 初三
        // Mon 8 Feb; Sat 6 and Sun 7 are made up on Tue 9 and Wed 10 (art. 6).
        for day in [
            "2027-02-05",
            "2027-02-06",
            "2027-02-07",
            "2027-02-08",
            "2027-02-09",
            "2027-02-10",
        ] {
            assert!(!calendar.is_working_day(date(day)).unwrap(), "{day}");
        }
        assert!(calendar.is_working_day(date("2027-02-04")).unwrap());
        assert!(calendar.is_working_day(date("2027-02-11")).unwrap());
        assert!(
            !calendar.is_working_day(date("2027-04-05")).unwrap(),
            "清明"
        );
        assert!(calendar.is_working_day(date("2027-04-06")).unwrap());

        let holidays = statutory_holidays(2027).unwrap();
        let found = |name: &str| {
            let holiday = holidays
                .iter()
                .find(|holiday| holiday.name_zh == name)
                .unwrap();
            let text =
                |days: &[NaiveDate]| days.iter().map(|day| day.to_string()).collect::<Vec<_>>();
            (text(&holiday.days), text(&holiday.make_up_days))
        };
        let dates = |days: &[&str]| days.iter().map(|day| day.to_string()).collect::<Vec<_>>();
        assert_eq!(
            found("春节"),
            (
                dates(&["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"]),
                dates(&["2027-02-09", "2027-02-10"])
            )
        );
        assert_eq!(found("元旦"), (dates(&["2027-01-01"]), vec![]));
        assert_eq!(found("清明节"), (dates(&["2027-04-05"]), vec![]));
        assert_eq!(
            found("劳动节"),
            (
                dates(&["2027-05-01", "2027-05-02"]),
                dates(&["2027-05-03", "2027-05-04"])
            )
        );
        assert_eq!(found("端午节"), (dates(&["2027-06-09"]), vec![]));
        assert_eq!(found("中秋节"), (dates(&["2027-09-15"]), vec![]));
        assert_eq!(
            found("国庆节"),
            (
                dates(&["2027-10-01", "2027-10-02", "2027-10-03"]),
                dates(&["2027-10-04", "2027-10-05"])
            )
        );
    }

    #[test]
    fn every_statutory_day_of_2026_is_a_rest_day_of_the_official_2026_notice() {
        // The notice arranges the statutory days (and 调休 around them); the
        // computed days must all be among its rest days, 补假 included
        // (清明 Sun 5 Apr → Mon 6 Apr).
        let calendar = shipped();
        let holidays = statutory_holidays(2026).unwrap();
        assert_eq!(holidays.len(), 7);
        for holiday in &holidays {
            for day in holiday.days.iter().chain(&holiday.make_up_days) {
                assert!(
                    !calendar.is_working_day(*day).unwrap(),
                    "{} {day}",
                    holiday.name_zh
                );
            }
        }
        let spring = &holidays.iter().find(|h| h.name_zh == "春节").unwrap().days;
        assert_eq!(spring[0], date("2026-02-16"), "除夕 2026");
    }

    #[test]
    fn every_provisional_year_computes_and_the_two_crates_agree_on_the_new_year() {
        use tyme4rs::tyme::lunar::LunarDay;
        for year in PROVISIONAL_FROM..=PROVISIONAL_UNTIL {
            let holidays = statutory_holidays(year).unwrap_or_else(|| panic!("{year}"));
            let days: usize = holidays.iter().map(|holiday| holiday.days.len()).sum();
            assert_eq!(days, 13, "{year}: 13 statutory days");
            let rest = provisional_rest_days(year).unwrap();
            let weekend_or_shared = holidays
                .iter()
                .map(|holiday| holiday.make_up_days.len())
                .sum::<usize>();
            // Every statutory day is a weekday off, or made up by one.
            let weekdays_off = rest.iter().filter(|day| !is_weekend(**day)).count();
            assert_eq!(weekdays_off, 13, "{year}: {weekend_or_shared} made up");
            let icu = lunar(year, 1, 1).unwrap();
            let tyme = LunarDay::from_ymd(year as isize, 1, 1).get_solar_day();
            assert_eq!(
                (icu.month() as usize, icu.day() as usize),
                (tyme.get_month(), tyme.get_day()),
                "{year}"
            );
        }
    }

    #[test]
    fn an_official_file_wins_over_the_provisional_year() {
        let mut calendar = shipped();
        let text = r#"
year = 2027
source = "test"
[[holiday]]
name_zh = "元旦"
name_en = "New Year's Day"
from = 2027-01-01
to = 2027-01-03
working_weekends = [2027-01-09]
"#;
        calendar
            .add_year_text(Path::new("2027.toml"), text)
            .unwrap();
        assert!(!calendar.is_provisional(2027));
        assert!(calendar.is_working_day(date("2027-01-09")).unwrap());
        // The file knows no Spring Festival: with a file, the file is the truth.
        assert!(calendar.is_working_day(date("2027-02-08")).unwrap());
        assert_eq!(
            calendar.due_date(date("2026-12-04"), working(20)).unwrap(),
            official("2027-01-04")
        );
    }

    #[test]
    fn a_holiday_across_the_year_end_loads_and_counts_in_both_years() {
        // The notice for 2024 gave 元旦 as 30 Dec 2023 to 1 Jan 2024.
        let text = r#"
year = 2024
source = "国务院办公厅关于2024年部分节假日安排的通知"
[[holiday]]
name_zh = "元旦"
name_en = "New Year's Day"
from = 2023-12-30
to = 2024-01-01
"#;
        let mut calendar = WorkingCalendar::default();
        calendar
            .add_year_text(Path::new("2024.toml"), text)
            .expect("a holiday across the year end loads");
        assert!(!calendar.is_working_day(date("2024-01-01")).unwrap());
        assert!(calendar.is_working_day(date("2024-01-02")).unwrap());
        // 2023 has no file (and is before the provisional years): its days
        // are still unknown, the spilled ones too.
        assert!(matches!(
            calendar.is_working_day(date("2023-12-30")),
            Err(FormsError::CalendarMissing { year: 2023 })
        ));
        let mut with_2023 = calendar.clone();
        with_2023
            .add_year_text(Path::new("2023.toml"), "year = 2023\nsource = \"s\"\n")
            .unwrap();
        assert!(!with_2023.is_working_day(date("2023-12-30")).unwrap());
        assert!(with_2023.is_working_day(date("2023-12-29")).unwrap());
        // A range that does not touch the file's year is still refused, at its line.
        let far = calendar
            .add_year_text(
                Path::new("2025.toml"),
                "year = 2025\nsource = \"s\"\n[[holiday]]\nname_zh = \"甲\"\nname_en = \"A\"\nfrom = 2024-12-30\nto = 2024-12-31\n",
            )
            .unwrap_err();
        assert_eq!(far[0].line, Some(6), "{far:?}");
    }

    #[test]
    fn the_administrator_is_told_from_1_october_that_next_years_notice_is_missing() {
        let calendar = shipped();
        assert_eq!(calendar.missing_notice(date("2026-09-30")), None);
        assert_eq!(calendar.missing_notice(date("2026-10-01")), Some(2027));
        assert_eq!(calendar.missing_notice(date("2026-12-04")), Some(2027));
        // Running into a year with no notice at all: that year.
        assert_eq!(calendar.missing_notice(date("2027-03-01")), Some(2027));
        let mut with_2027 = calendar.clone();
        let text = "year = 2027\nsource = \"s\"\n";
        assert_eq!(
            calendar.check_year_text(Path::new("2027.toml"), text),
            Ok(2027)
        );
        with_2027
            .add_year_text(Path::new("2027.toml"), text)
            .unwrap();
        assert_eq!(with_2027.missing_notice(date("2026-12-04")), None);
        // Checking changes nothing, and a year loaded twice is refused.
        assert_eq!(calendar.missing_notice(date("2026-12-04")), Some(2027));
        let twice = with_2027
            .check_year_text(Path::new("2027.toml"), text)
            .unwrap_err();
        assert!(twice[0].message.contains("defined twice"), "{twice:?}");
        assert_eq!(twice[0].line, Some(1));
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
