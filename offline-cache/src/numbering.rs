//! Case and document numbers: readable, unique across every window of a
//! hall without any network, and never reused.
//!
//! A rule is a pattern with `{hall}`, `{window}`, `{agency}`, `{kind}`,
//! `{yyyymmdd}` or `{yyyy}`, and one sequence: `{seq:N}` (zero-padded to N
//! digits, for case numbers) or `{seq}` (no padding, as GB/T 9704 writes a
//! document number's sequence: 〔2026〕1号, never 00001号). The sequence
//! restarts each period (day for `{yyyymmdd}`, year for `{yyyy}`) and lives
//! in the `sequences` table, which only ever counts up, in the same
//! transaction as the record that uses the number.
//!
//! Every workstation counts on its own, so a rule must carry `{window}`:
//! two windows of one hall then never issue the same number, even while
//! the hall's network is down. (Two workstations configured with the same
//! window number would clash; the configuration names each window once.)
//! A rule with an unknown placeholder is refused, never printed as typed.

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::CacheError;

/// The placeholders a rule may use, besides the sequence.
const PLACEHOLDERS: [&str; 6] = [
    "{hall}",
    "{window}",
    "{agency}",
    "{kind}",
    "{yyyymmdd}",
    "{yyyy}",
];

/// A numbering rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberingRule {
    pattern: String,
    /// The sequence placeholder as written (`{seq:4}` or `{seq}`).
    sequence: String,
    /// Zero-padded to this many digits; `None`: no padding.
    width: Option<usize>,
    daily: bool,
}

/// What a number is made of besides its date and sequence.
#[derive(Debug, Clone, Copy)]
pub struct NumberParts<'a> {
    pub hall: &'a str,
    pub window: &'a str,
    /// The agency short name (机关代字) on document numbers.
    pub agency: &'a str,
    /// The document kind's character (受, 告, 容, 不, ...); empty for cases.
    pub kind_text: &'a str,
}

fn invalid(pattern: &str, zh: String, en: String) -> CacheError {
    CacheError::Refused {
        code: "numbering_rule_invalid",
        message_zh: format!("编号规则“{pattern}”有误：{zh}"),
        message_en: format!("The numbering rule “{pattern}” is not valid: {en}"),
    }
}

/// The largest sequence an unpadded `{seq}` may reach in one period.
const UNPADDED_LIMIT: i64 = 999_999_999;

impl NumberingRule {
    /// The default case number: hall code + window + yyyymmdd + 4-digit
    /// daily sequence (e.g. `420102032026120400017`).
    pub fn default_case_numbers() -> Self {
        NumberingRule::new("{hall}{window}{yyyymmdd}{seq:4}").expect("the default rule is valid")
    }

    /// The default document number (GB/T 9704 发文字号): agency short name
    /// and window (the 机关代字) + kind + 〔year〕 + sequence without padding
    /// + 号, e.g. `江岸政务03受〔2026〕1号`.
    pub fn default_document_numbers() -> Self {
        NumberingRule::new("{agency}{window}{kind}〔{yyyy}〕{seq}号")
            .expect("the default rule is valid")
    }

    pub fn new(pattern: &str) -> Result<Self, CacheError> {
        let starts: Vec<usize> = pattern.match_indices("{seq").map(|(at, _)| at).collect();
        let start = match starts.as_slice() {
            [] => {
                return Err(invalid(
                    pattern,
                    "缺少序号 {seq} 或 {seq:N}".into(),
                    "it has no sequence, {seq} or {seq:N}".into(),
                ))
            }
            [one] => *one,
            _ => {
                return Err(invalid(
                    pattern,
                    "只能有一个序号".into(),
                    "it has more than one sequence".into(),
                ))
            }
        };
        let end = pattern[start..]
            .find('}')
            .map(|offset| start + offset)
            .ok_or_else(|| {
                invalid(
                    pattern,
                    "序号的花括号没有闭合".into(),
                    "the sequence's brace is not closed".into(),
                )
            })?;
        let sequence = &pattern[start..=end];
        let width = match sequence {
            "{seq}" => None,
            _ => {
                let digits = sequence
                    .strip_prefix("{seq:")
                    .and_then(|rest| rest.strip_suffix('}'))
                    .unwrap_or("");
                let width: usize = digits.parse().map_err(|_| {
                    invalid(
                        pattern,
                        format!("序号位数“{digits}”不是数字"),
                        format!("the sequence width “{digits}” is not a number"),
                    )
                })?;
                if !(1..=9).contains(&width) {
                    return Err(invalid(
                        pattern,
                        "序号位数应为 1 到 9".into(),
                        "the sequence width must be 1 to 9".into(),
                    ));
                }
                Some(width)
            }
        };
        let daily = pattern.contains("{yyyymmdd}");
        if !daily && !pattern.contains("{yyyy}") {
            return Err(invalid(
                pattern,
                "须含 {yyyymmdd} 或 {yyyy}，编号才不会重复".into(),
                "it needs {yyyymmdd} or {yyyy} so numbers stay unique".into(),
            ));
        }
        if !pattern.contains("{window}") {
            return Err(invalid(
                pattern,
                "须含窗口号 {window}：各窗口各自编号，不含窗口号时两个窗口会出现相同编号".into(),
                "it needs the window, {window}: every window counts on its own, so without it two windows issue the same number".into(),
            ));
        }
        // Window numbers differ in length, so an unpadded sequence right
        // beside the window would read the same for two windows (window 1's
        // number 12 and window 11's number 2 are both "112").
        if width.is_none()
            && (pattern.contains("{window}{seq}") || pattern.contains("{seq}{window}"))
        {
            return Err(invalid(
                pattern,
                "不补零的序号 {seq} 不能紧挨窗口号 {window}（窗口 1 的第 12 号与窗口 11 的第 2 号会相同），请在两者之间加字符或改用 {seq:N}".into(),
                "an unpadded {seq} must not stand right beside {window} (window 1's number 12 and window 11's number 2 would read the same): put a character between them, or use {seq:N}".into(),
            ));
        }
        let mut rest = pattern.replace(sequence, "");
        for placeholder in PLACEHOLDERS {
            rest = rest.replace(placeholder, "");
        }
        if let Some(at) = rest.find('{') {
            let unknown: String = rest[at..].chars().take_while(|c| *c != '}').collect();
            return Err(invalid(
                pattern,
                format!("不认识“{unknown}}}”；可用 {{hall}} {{window}} {{agency}} {{kind}} {{yyyymmdd}} {{yyyy}} {{seq}} {{seq:N}}"),
                format!("“{unknown}}}” is unknown; use {{hall}} {{window}} {{agency}} {{kind}} {{yyyymmdd}} {{yyyy}} {{seq}} {{seq:N}}"),
            ));
        }
        if rest.contains('}') {
            return Err(invalid(
                pattern,
                "有多余的“}”".into(),
                "it has a stray “}”".into(),
            ));
        }
        Ok(NumberingRule {
            pattern: pattern.to_owned(),
            sequence: sequence.to_owned(),
            width,
            daily,
        })
    }

    /// Whether two days share a sequence (the same day for a daily rule,
    /// the same year for a yearly one): a number reserved on one is valid
    /// on the other.
    pub fn same_period(&self, one: NaiveDate, other: NaiveDate) -> bool {
        if self.daily {
            one == other
        } else {
            one.format("%Y").to_string() == other.format("%Y").to_string()
        }
    }

    /// The rule as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The same rule with `prefix` in front (practice numbers: `LX…`).
    pub fn prefixed(&self, prefix: &str) -> Self {
        NumberingRule {
            pattern: format!("{prefix}{}", self.pattern),
            ..self.clone()
        }
    }

    /// Takes the next number of `kind` for `day` inside `transaction`.
    pub fn next(
        &self,
        transaction: &Transaction,
        kind: &str,
        day: NaiveDate,
        parts: &NumberParts<'_>,
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
        let limit = match self.width {
            Some(width) => 10_i64.pow(width as u32) - 1,
            None => UNPADDED_LIMIT,
        };
        if sequence > limit {
            return Err(CacheError::Refused {
                code: "numbering_exhausted",
                message_zh: format!("本期编号已用完（最多 {limit} 个），请系统管理员在配置中加宽编号规则“{}”的序号位数", self.pattern),
                message_en: format!("This period's numbers are used up (at most {limit}); ask your administrator to widen the sequence of the rule “{}” in the configuration", self.pattern),
            });
        }
        let sequence_text = match self.width {
            Some(width) => format!("{sequence:0width$}"),
            None => sequence.to_string(),
        };
        Ok(self
            .pattern
            .replace("{hall}", parts.hall)
            .replace("{window}", parts.window)
            .replace("{agency}", parts.agency)
            .replace("{kind}", parts.kind_text)
            .replace("{yyyymmdd}", &day.format("%Y%m%d").to_string())
            .replace("{yyyy}", &day.format("%Y").to_string())
            .replace(&self.sequence, &sequence_text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_must_keep_numbers_unique() {
        assert!(NumberingRule::new("{hall}{window}{seq:4}").is_err());
        assert!(NumberingRule::new("{hall}{window}{yyyymmdd}").is_err());
        assert!(NumberingRule::new("{window}{yyyy}{seq:0}").is_err());
        assert!(NumberingRule::new("{window}{yyyy}{seq:10}").is_err());
        assert!(NumberingRule::new("{window}{yyyy}-{seq:6}").is_ok());
        // Without the window two workstations of a hall count the same numbers.
        for beside in ["{yyyy}{window}{seq}号", "{yyyy}{seq}{window}"] {
            assert_eq!(
                NumberingRule::new(beside).unwrap_err().code(),
                "numbering_rule_invalid",
                "{beside}"
            );
        }
        assert!(NumberingRule::new("{yyyy}{window}-{seq}号").is_ok());
        assert!(NumberingRule::new("{yyyy}{window}{seq:4}").is_ok());
        let error = NumberingRule::new("{hall}{yyyymmdd}{seq:4}").unwrap_err();
        assert_eq!(error.code(), "numbering_rule_invalid");
        assert!(error.to_string().contains("{window}"), "{error}");
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused() {
        for pattern in [
            "{hall}{windw}{yyyy}{seq}",
            "{window}{yyyy}{seq}{seq:4}",
            "{window}{yyyy}{seq}}",
            "{window}{yyyy}{seq:4",
        ] {
            let error = NumberingRule::new(pattern).unwrap_err();
            assert_eq!(error.code(), "numbering_rule_invalid", "{pattern}");
        }
    }

    fn numbers(rule: &NumberingRule, parts: NumberParts<'_>, count: usize) -> Vec<String> {
        let mut connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE sequences (kind TEXT, period TEXT, last INTEGER, PRIMARY KEY (kind, period))")
            .unwrap();
        let transaction = connection.transaction().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        (0..count)
            .map(|_| {
                rule.next(&transaction, "document:receipt", day, &parts)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn document_numbers_have_no_padding_zeros() {
        let parts = NumberParts {
            hall: "420102",
            window: "03",
            agency: "江岸政务",
            kind_text: "受",
        };
        let issued = numbers(&NumberingRule::default_document_numbers(), parts, 12);
        assert_eq!(issued[0], "江岸政务03受〔2026〕1号");
        assert_eq!(issued[11], "江岸政务03受〔2026〕12号");
        let cases = numbers(&NumberingRule::default_case_numbers(), parts, 1);
        assert_eq!(cases[0], "42010203202612040001");
    }

    #[test]
    fn a_full_period_is_a_clear_refusal() {
        let rule = NumberingRule::new("{window}{yyyy}{seq:1}").unwrap();
        let mut connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE sequences (kind TEXT, period TEXT, last INTEGER, PRIMARY KEY (kind, period))")
            .unwrap();
        let transaction = connection.transaction().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let parts = NumberParts {
            hall: "H",
            window: "1",
            agency: "",
            kind_text: "",
        };
        for _ in 0..9 {
            rule.next(&transaction, "case", day, &parts).unwrap();
        }
        let error = rule.next(&transaction, "case", day, &parts).unwrap_err();
        assert_eq!(error.code(), "numbering_exhausted");
    }
}
