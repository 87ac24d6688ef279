//! Progress on stderr for long CLI work (indicatif): a bar with rows/s and
//! the phase for imports, a spinner with the elapsed time for rollbacks and
//! prunes. Nothing when stderr is not a terminal or under `--json`; plain
//! (no colour) with `NO_COLOR`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::domain::import;

/// Whether to draw at all.
pub fn enabled(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn new_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(5));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Steps of an import's bar (it shows the share of the whole import).
const IMPORT_STEPS: u64 = 1000;

/// An import's bar and the callback that feeds it: the share of the whole
/// import done (reading by bytes of `file_size`, then phase by phase; full
/// only once it is done), the phase, bytes and rows read, rows/s.
pub fn import_bar(
    json: bool,
    dry_run: bool,
    file_size: u64,
) -> Option<(ProgressBar, import::ProgressFn)> {
    if !enabled(json) {
        return None;
    }
    let bar = new_bar(IMPORT_STEPS);
    let template = if no_color() {
        "{msg:23} [{bar:30}] {percent:>3}% {prefix}"
    } else {
        "{msg:23.bold} [{bar:30.cyan/blue}] {percent:>3}% {prefix}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let feed = bar.clone();
    let callback: import::ProgressFn = std::sync::Arc::new(move |p: import::Progress| {
        feed.set_position((p.fraction(dry_run) * IMPORT_STEPS as f64) as u64);
        feed.set_message(p.phase.label(dry_run));
        let total = p.total_bytes.max(file_size).max(p.bytes_read);
        feed.set_prefix(format!(
            "{}/{} {} rows, {:.0} rows/s",
            HumanBytes(p.bytes_read),
            HumanBytes(total),
            p.rows_read,
            p.rows_per_second()
        ));
    });
    Some((bar, callback))
}

/// A spinner for work without a measurable length (rollback, prune).
pub fn spinner(json: bool, message: String) -> Option<ProgressBar> {
    if !enabled(json) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(5));
    let template = if no_color() {
        "{spinner} {msg} ({elapsed})"
    } else {
        "{spinner.cyan} {msg} ({elapsed})"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .tick_chars("|/-\\ "),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Clears the bar, leaving the terminal as it was.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}
