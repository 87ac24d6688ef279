//! Logs go to a file under the data directory, never to the terminal (the
//! console owns the screen). `IMPORTDESK_LOG` sets the filter (default `info`).
//! The folder is 0700 and the file 0600, never reached through a link.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts file logging; keep the guard alive until exit so lines are flushed.
pub fn init(dir: &Path) -> Option<WorkerGuard> {
    let log_dir = dir.join("logs");
    crate::private_files::ensure_dir(&log_dir, crate::private_files::DIR_MODE).ok()?;
    let file = crate::private_files::open_append(&log_dir.join("importdesk.log")).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter =
        EnvFilter::try_from_env("IMPORTDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
