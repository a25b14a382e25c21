//! The `forms` crate's one error type, and the located errors of the
//! catalogue and calendar loaders.
//!
//! A loader error always says which file, and where the text allows it, the
//! line and column, so whoever maintains the catalogue can go straight to
//! the mistake. Messages carry no applicant data.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a source file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    pub message: String,
}

impl SourceError {
    /// A problem with a whole file (or one with no better place).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem at a byte offset in `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_and_column(text, offset);
        SourceError {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, placed where the parser says.
    pub fn from_toml(file: &Path, text: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().to_owned();
        match error.span() {
            Some(span) => SourceError::at(file, text, span.start, message),
            None => SourceError::file(file, message),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(formatter, ":{line}")?;
            if let Some(column) = self.column {
                write!(formatter, ":{column}")?;
            }
        }
        write!(formatter, ": {}", self.message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text
        .char_indices()
        .take_while(|(index, _)| *index < offset)
        .map(|(_, character)| character);
    let mut line = 1;
    let mut column = 1;
    for character in before {
        if character == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Everything that can go wrong in `forms`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormsError {
    /// A catalogue or calendar did not load; every problem is listed.
    #[error("{} problem(s) in the files:\n{}", .0.len(), list(.0))]
    Load(Vec<SourceError>),
    /// A date falls in a year whose working-day calendar is not loaded.
    #[error("no working-day calendar is loaded for {year}, and it cannot be estimated: an administrator loads the State Council's holiday notice for {year} in Settings")]
    CalendarMissing { year: i32 },
}

fn list(errors: &[SourceError]) -> String {
    errors
        .iter()
        .map(|error| format!("  {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl FormsError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            FormsError::Load(_) => "catalog_invalid",
            FormsError::CalendarMissing { .. } => "calendar_missing",
        }
    }

    /// The message in Simplified Chinese, for the clerk or the administrator.
    pub fn message_zh(&self) -> String {
        match self {
            FormsError::Load(errors) => format!(
                "事项目录或日历文件有 {} 处错误，已继续使用上一版：\n{}",
                errors.len(),
                list(errors)
            ),
            FormsError::CalendarMissing { year } => format!(
                "尚未载入 {year} 年工作日历，也无法按法定节假日推算，不能计算承诺办结日期。请管理员在“设置”中载入国务院 {year} 年放假安排文件。"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let text = "a = 1\n名称 = 2\n";
        let offset = text.find('=').unwrap();
        assert_eq!(line_and_column(text, offset), (1, 3));
        let second = text.rfind('=').unwrap();
        assert_eq!(line_and_column(text, second), (2, 4));
    }

    #[test]
    fn displays_file_line_column_and_message() {
        let error = SourceError::at(Path::new("catalog/a.toml"), "x\ny = 1", 2, "bad");
        assert_eq!(error.to_string(), "catalog/a.toml:2:1: bad");
        assert_eq!(
            SourceError::file(Path::new("b.toml"), "missing").to_string(),
            "b.toml: missing"
        );
    }
}
