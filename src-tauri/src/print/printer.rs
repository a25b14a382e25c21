//! Printing through CUPS: the printers this machine knows (`lpstat`), and
//! sending a PDF to one of them (`lp`, the document on standard input).
//! It never guesses a printer: without one chosen it is an error the clerk
//! can act on.

use std::io::Write;
use std::process::{Command, Stdio};

use super::PrintError;

/// The CUPS printers (queue names), or an empty list when CUPS is absent.
pub fn printers() -> Vec<String> {
    let Ok(output) = Command::new("lpstat").arg("-e").output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Sends `pdf` to `printer` as a job titled `title`; returns the CUPS job id.
pub fn print(printer: Option<&str>, title: &str, pdf: &[u8]) -> Result<String, PrintError> {
    let printer = printer
        .filter(|name| !name.trim().is_empty())
        .ok_or(PrintError::NoPrinter)?;
    let refused = |detail: String| PrintError::PrinterRefused {
        printer: printer.to_owned(),
        detail,
    };
    let mut child = Command::new("lp")
        .args(["-d", printer, "-t", title, "-o", "fit-to-page", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            refused(format!(
                "`lp` could not start ({error}); is CUPS installed?"
            ))
        })?;
    child
        .stdin
        .take()
        .ok_or_else(|| refused("no pipe to `lp`".into()))?
        .write_all(pdf)
        .map_err(|error| refused(error.to_string()))?;
    let output = child
        .wait_with_output()
        .map_err(|error| refused(error.to_string()))?;
    if !output.status.success() {
        return Err(refused(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    // "request id is PRINTER-12 (1 file(s))"
    let answer = String::from_utf8_lossy(&output.stdout);
    Ok(answer
        .split_whitespace()
        .nth(3)
        .unwrap_or_default()
        .to_owned())
}
