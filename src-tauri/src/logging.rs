//! Logging: a daily-rotated file in the log directory plus stderr.
//!
//! The level comes from `ONEWINDOW_LOG` (an `EnvFilter` directive such as
//! `info` or `onewindow_lib=debug`), `info` when unset. A panic hook writes
//! the panic to the log before the process ends. Logs carry case ids and
//! codes, never applicant data: no names, ID numbers, phones or addresses.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// The environment variable that sets the log level.
pub const LEVEL_VARIABLE: &str = "ONEWINDOW_LOG";

/// The prefix of every log file: `onewindow.2026-11-27.log`.
pub const FILE_PREFIX: &str = "onewindow";

/// How many lines may wait for the file writer.
const QUEUED_LINES: usize = 2_048;

/// How many daily files to keep.
const DAYS_KEPT: usize = 30;

/// Keeps the background log writer alive; dropping it flushes the file.
pub struct LogGuard {
    _file_writer: WorkerGuard,
}

/// Starts logging to `log_dir` and stderr and installs the panic hook.
///
/// If a global subscriber is already set (tests start several apps in one
/// process) the first one stays and this returns `None`.
pub fn start(log_dir: &Path) -> Option<LogGuard> {
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(DAYS_KEPT)
        .build(log_dir);
    let appender = match appender {
        Ok(appender) => appender,
        Err(error) => {
            eprintln!(
                "onewindow: cannot log to {}: {error}; logging to stderr only",
                log_dir.display()
            );
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(fmt::layer().with_writer(std::io::stderr))
                .try_init();
            install_panic_hook();
            return None;
        }
    };
    // A short queue: its slots are allocated and touched up front (the
    // default, 128,000 lines, holds 4 MiB of the app's memory for good),
    // and the app logs a few lines a minute. When it is full the writer
    // waits rather than drop a line.
    let (file_writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(false)
        .finish(appender);
    let installed = tracing_subscriber::registry()
        .with(filter())
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(file_writer))
        .try_init()
        .is_ok();
    if !installed {
        return None;
    }
    install_panic_hook();
    Some(LogGuard {
        _file_writer: guard,
    })
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env(LEVEL_VARIABLE).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs every panic (with its location) before the default hook runs.
fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|location| format!("{}:{}", location.file(), location.line()))
            .unwrap_or_else(|| "unknown location".to_owned());
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-text panic payload".to_owned());
        tracing::error!(%location, %message, "panic: the app is stopping");
        default_hook(info);
    }));
}
