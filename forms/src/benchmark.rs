//! One row of the benchmark table. Every bench binary of the workspace
//! (and the window measurements of the end-to-end crate) prints its own
//! table and, when `ONEWINDOW_BENCH_ROWS` names a file, also appends each
//! row there as tab-separated values; `./x bench` prints them as one table.
//!
//! For bench binaries only: it must never be called by the app.

use std::io::Write;

/// The environment variable naming the rows file.
pub const ROWS_VARIABLE: &str = "ONEWINDOW_BENCH_ROWS";

/// A count set by an environment variable for a long run (rounds, cases):
/// `default` when unset or empty. A value that is not a whole number stops
/// the run with a message naming the variable: a typo must not quietly run
/// the short suite.
pub fn count_from_environment(variable: &str, default: u64) -> u64 {
    match std::env::var(variable) {
        Ok(text) if !text.trim().is_empty() => text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "{variable}: “{text}” is not a whole number (unset it for the default, {default})"
            )
        }),
        _ => default,
    }
}

/// How a figure did against its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Short,
    /// Reported, no goal.
    Report,
}

impl Verdict {
    pub fn of(pass: Option<bool>) -> Self {
        match pass {
            Some(true) => Verdict::Pass,
            Some(false) => Verdict::Short,
            None => Verdict::Report,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Short => "SHORT",
            Verdict::Report => "-",
        }
    }
}

/// One figure: its value and baseline as shown (with units), the ratio of
/// value to baseline, the goal as text, and the verdict.
pub struct BenchRow<'a> {
    pub group: &'a str,
    pub figure: &'a str,
    pub value: &'a str,
    pub baseline: &'a str,
    pub ratio: Option<f64>,
    pub goal: &'a str,
    pub verdict: Verdict,
}

/// The table a bench binary prints: a header, one line per row (each also
/// recorded with [`record`]), and how many rows fell short of their goal.
#[derive(Debug, Default)]
pub struct Table {
    figures: usize,
    short: usize,
}

impl Table {
    /// Prints the header.
    pub fn start() -> Self {
        println!(
            "\n{:<80} {:>12} {:>12} {:>9} {:>24} {:>6}",
            "figure", "value", "baseline", "ratio", "goal", "result"
        );
        println!("{}", "-".repeat(148));
        Table::default()
    }

    /// Prints and records one row.
    pub fn row(&mut self, row: &BenchRow<'_>) {
        record(row);
        self.figures += 1;
        self.short += usize::from(row.verdict == Verdict::Short);
        let ratio = row
            .ratio
            .map_or("-".to_owned(), |ratio| format!("{ratio:.2}x"));
        println!(
            "{:<80} {:>12} {:>12} {:>9} {:>24} {:>6}",
            row.figure,
            row.value,
            row.baseline,
            ratio,
            row.goal,
            row.verdict.label()
        );
    }

    /// Prints how many rows fell short; returns that number.
    pub fn finish(self) -> usize {
        println!(
            "\n{} figure(s), {} short of their goal",
            self.figures, self.short
        );
        self.short
    }
}

/// Appends the row to the rows file, if one is named. A file that cannot
/// be written is reported on stderr; the bench goes on.
pub fn record(row: &BenchRow<'_>) {
    let Some(path) = std::env::var_os(ROWS_VARIABLE).filter(|value| !value.is_empty()) else {
        return;
    };
    let clean = |text: &str| text.replace(['\t', '\n'], " ");
    let line = format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        clean(row.group),
        clean(row.figure),
        clean(row.value),
        clean(row.baseline),
        row.ratio
            .map_or("-".to_owned(), |ratio| format!("{ratio:.2}x")),
        clean(row.goal),
        row.verdict.label()
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        eprintln!(
            "the benchmark row could not be written to {}: {error}",
            std::path::Path::new(&path).display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_from_the_environment_is_a_whole_number_or_a_clear_stop() {
        // A variable of this test's own: no other test reads it.
        let name = "ONEWINDOW_TEST_COUNT_OF_THE_BENCHMARK_MODULE";
        std::env::remove_var(name);
        assert_eq!(count_from_environment(name, 7), 7);
        std::env::set_var(name, " 12 ");
        assert_eq!(count_from_environment(name, 7), 12);
        std::env::set_var(name, "twelve");
        let refused = std::panic::catch_unwind(|| count_from_environment(name, 7))
            .expect_err("a word is refused");
        let message = refused
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            message.contains(name) && message.contains("twelve"),
            "{message}"
        );
        std::env::remove_var(name);
    }

    #[test]
    fn table_rows_are_counted_and_appended_as_tab_separated_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rows.tsv");
        std::env::set_var(ROWS_VARIABLE, &file);
        let mut table = Table::start();
        for verdict in [Verdict::Pass, Verdict::Short] {
            table.row(&BenchRow {
                group: "forms",
                figure: "search\tp99",
                value: "0.2 ms",
                baseline: "3.1 ms",
                ratio: Some(0.2 / 3.1),
                goal: "< 1 ms",
                verdict,
            });
        }
        assert_eq!(table.finish(), 1, "one row was short of its goal");
        std::env::remove_var(ROWS_VARIABLE);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            "forms\tsearch p99\t0.2 ms\t3.1 ms\t0.06x\t< 1 ms\tpass\nforms\tsearch p99\t0.2 ms\t3.1 ms\t0.06x\t< 1 ms\tSHORT\n"
        );
    }
}
