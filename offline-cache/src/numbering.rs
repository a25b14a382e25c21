//! Case and document numbers: readable, unique and never reused. A rule is
//! a pattern with `{hall}`, `{yyyymmdd}`, `{yyyy}`, `{agency}`, `{kind}` and
//! `{seq:N}` (a zero-padded sequence); the sequence restarts each period
//! (day for `{yyyymmdd}`, year for `{yyyy}`) and lives in the `sequences`
//! table, which only ever counts up, in the same transaction as the record
//! that uses the number.

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::CacheError;

/// A numbering rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberingRule {
    pattern: String,
    width: usize,
    daily: bool,
}

impl NumberingRule {
    /// The default case number: hall code + yyyymmdd + 4-digit daily sequence.
    pub fn default_case_numbers() -> Self {
        NumberingRule::new("{hall}{yyyymmdd}{seq:4}").expect("the default rule is valid")
    }

    /// The default document number: agency short name + kind + [year] + sequence.
    pub fn default_document_numbers() -> Self {
        NumberingRule::new("{agency}{kind}〔{yyyy}〕{seq:5}号").expect("the default rule is valid")
    }

    pub fn new(pattern: &str) -> Result<Self, CacheError> {
        let start = pattern.find("{seq:").ok_or_else(|| {
            CacheError::BadInput(format!("the numbering rule `{pattern}` has no {{seq:N}}"))
        })?;
        let end = pattern[start..]
            .find('}')
            .map(|offset| start + offset)
            .ok_or_else(|| {
                CacheError::BadInput(format!(
                    "the numbering rule `{pattern}` has an unclosed {{seq:"
                ))
            })?;
        let width: usize = pattern[start + 5..end].parse().map_err(|_| {
            CacheError::BadInput(format!("the width in `{pattern}` is not a number"))
        })?;
        if !(1..=9).contains(&width) {
            return Err(CacheError::BadInput(format!(
                "the sequence width in `{pattern}` must be 1 to 9"
            )));
        }
        let daily = pattern.contains("{yyyymmdd}");
        if !daily && !pattern.contains("{yyyy}") {
            return Err(CacheError::BadInput(format!("the numbering rule `{pattern}` needs {{yyyymmdd}} or {{yyyy}} so numbers stay unique")));
        }
        Ok(NumberingRule {
            pattern: pattern.to_owned(),
            width,
            daily,
        })
    }

    /// Takes the next number of `kind` for `day` inside `transaction`.
    pub fn next(
        &self,
        transaction: &Transaction,
        kind: &str,
        day: NaiveDate,
        hall: &str,
        agency: &str,
        kind_text: &str,
    ) -> Result<String, CacheError> {
        let period = if self.daily {
            day.format("%Y%m%d").to_string()
        } else {
            day.format("%Y").to_string()
        };
        let last: Option<i64> = transaction
            .query_row("UPDATE sequences SET last = last + 1 WHERE kind = ?1 AND period = ?2 RETURNING last", params![kind, period], |row| row.get(0))
            .optional()?;
        let sequence = match last {
            Some(value) => value,
            None => {
                crate::store::exec(
                    transaction,
                    "INSERT INTO sequences (kind, period, last) VALUES (?1, ?2, 1)",
                    params![kind, period],
                )?;
                1
            }
        };
        if sequence >= 10_i64.pow(self.width as u32) {
            return Err(CacheError::BadInput(format!(
                "more than {} `{kind}` numbers in one period: widen the rule",
                10_i64.pow(self.width as u32) - 1
            )));
        }
        let sequence_text = format!("{sequence:0width$}", width = self.width);
        let text = self
            .pattern
            .replace("{hall}", hall)
            .replace("{agency}", agency)
            .replace("{kind}", kind_text)
            .replace("{yyyymmdd}", &day.format("%Y%m%d").to_string())
            .replace("{yyyy}", &day.format("%Y").to_string())
            .replace(&format!("{{seq:{}}}", self.width), &sequence_text);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_must_keep_numbers_unique() {
        assert!(NumberingRule::new("{hall}{seq:4}").is_err());
        assert!(NumberingRule::new("{hall}{yyyymmdd}").is_err());
        assert!(NumberingRule::new("{yyyy}{seq:0}").is_err());
        assert!(NumberingRule::new("{yyyy}-{seq:6}").is_ok());
    }
}
