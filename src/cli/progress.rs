//! Progress on stderr for long CLI work (indicatif): a bar with rows/s and
//! the phase for imports, a spinner with the elapsed time for rollbacks and
//! prunes. Nothing when stderr is not a terminal or under `--json`; plain
//! (no colour) with `NO_COLOR`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// An import's bar (bytes of the file read, of `file_size` when known) and
/// the callback that feeds it.
pub fn import_bar(json: bool, file_size: u64) -> Option<(ProgressBar, import::ProgressFn)> {
    if !enabled(json) {
        return None;
    }
    let bar = new_bar(0);
    let template = if no_color() {
        "{msg:10} [{bar:30}] {bytes}/{total_bytes} {prefix}"
    } else {
        "{msg:10.bold} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {prefix}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let feed = bar.clone();
    let callback: import::ProgressFn = std::sync::Arc::new(move |p: import::Progress| {
        feed.set_length(p.total_bytes.max(file_size).max(p.bytes_read));
        feed.set_position(p.bytes_read);
        feed.set_message(match p.phase {
            import::Phase::Reading => "reading",
            import::Phase::Merging => "merging",
            import::Phase::Done => "done",
        });
        feed.set_prefix(format!(
            "{} rows, {:.0} rows/s",
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
