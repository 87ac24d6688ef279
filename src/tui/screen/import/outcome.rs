//! An import's outcome as lines: the dry run's "what would change" and
//! the result, with counts, errors and the changes to existing listings.

use ratatui::text::Line;

use crate::domain::import::{ImportOutcome, ImportStatus};
use crate::tui::theme::Theme;

use super::review::ReviewPages;
use crate::tui::widgets::text::{self, fit, thousands};
use crate::tui::widgets::{diff_lines, error_list, labelled, labelled_wrapped};

const LABEL: usize = 10;

fn field(label: &str, value: &str, w: usize, t: &Theme) -> Line<'static> {
    labelled(label, value, LABEL, w, t)
}

/// An import's outcome: the dry run's "what would change" (with where
/// its loaded updates are in the plan, `pages`), or the result.
pub fn lines(
    o: &ImportOutcome,
    w: usize,
    t: &Theme,
    done: bool,
    hide_times: bool,
    pages: Option<&ReviewPages>,
) -> Vec<Line<'static>> {
    let mut out = head_lines(o, w, t, done);
    let Some(changes) = o.changes.as_ref().filter(|c| !c.is_empty()) else {
        return out;
    };
    let cut_above = pages.is_some_and(|p| p.cut_above);
    let cut_below = pages.is_some_and(|p| !p.exhausted);
    out.push(Line::default());
    let which = if cut_above { "" } else { "first " };
    out.push(Line::styled(
        format!(
            " Changes to existing listings ({which}{} of {})",
            thousands(changes.len() as i64),
            thousands(o.counts.updated as i64)
        ),
        t.bold(),
    ));
    if cut_above {
        out.push(Line::styled(
            "   … earlier updates: ↑ loads them, g shows the first",
            t.dim(),
        ));
    }
    for ch in changes {
        out.extend(diff_lines(&ch.sku, &ch.changes, w, t, hide_times));
    }
    if cut_below {
        out.push(Line::styled(
            "   … more updates: ↓ loads them, G shows the last",
            t.dim(),
        ));
    }
    out
}

/// The outcome's lines above the changes to existing listings.
pub fn head_lines(o: &ImportOutcome, w: usize, t: &Theme, done: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let (head, style) = match o.status {
        ImportStatus::DryRun => ("Dry run: nothing was changed.".to_string(), t.bold()),
        ImportStatus::Completed => (
            format!(
                "Import {}completed.",
                o.import_id.map(|i| format!("#{i} ")).unwrap_or_default()
            ),
            t.ok().add_modifier(ratatui::style::Modifier::BOLD),
        ),
        ImportStatus::Failed => (
            format!(
                "{} rejected: nothing was changed.",
                if done || o.import_id.is_some() {
                    format!(
                        "Import {}",
                        o.import_id.map(|i| format!("#{i}")).unwrap_or_default()
                    )
                } else {
                    "The file would be".to_string()
                }
            ),
            t.error(),
        ),
    };
    out.push(Line::styled(format!(" {head}"), style));
    out.push(field("File", &fit(&o.file, w), w, t));
    out.push(field("Seller", &fit(&o.seller, w), w, t));
    if let Some(p) = &o.profile {
        let mut s = fit(p, 20);
        if o.profile_detected {
            s.push_str(" (detected from the header)");
        }
        if let Some(k) = &o.key {
            s.push_str(&format!(" · key {}", fit(k, 30)));
        }
        out.push(field("Profile", &s, w, t));
    }
    let c = &o.counts;
    let (created, updated) = if o.status == ImportStatus::DryRun {
        ("to create", "to update")
    } else {
        ("created", "updated")
    };
    out.push(field(
        "Rows",
        &format!(
            "{} read: {} {created}, {} {updated}, {} unchanged, {} rejected",
            thousands(c.rows_read as i64),
            thousands(c.created as i64),
            thousands(c.updated as i64),
            thousands(c.unchanged as i64),
            thousands(c.rejected as i64)
        ),
        w,
        t,
    ));
    if c.ignored > 0 {
        out.push(field(
            "Ignored",
            &format!("{} rows (not listings)", thousands(c.ignored as i64)),
            w,
            t,
        ));
    }
    out.push(field(
        "Time",
        &format!(
            "{:.2} s · {} rows/s",
            o.duration_seconds,
            thousands(o.rows_per_second as i64)
        ),
        w,
        t,
    ));
    if !o.unknown_columns.is_empty() {
        let cols: Vec<String> = o.unknown_columns.iter().map(|c| fit(c, 30)).collect();
        out.push(field(
            "Unknown",
            &format!("{} (not imported)", cols.join(", ")),
            w,
            t,
        ));
    }
    if let Some(r) = &o.rejects_file {
        out.push(field(
            "Rejects",
            &text::fit_left(&r.to_string_lossy(), w.saturating_sub(LABEL + 2)),
            w,
            t,
        ));
    }
    if let Some(s) = &o.error_summary {
        let summary = crate::text::sanitize(s);
        out.extend(labelled_wrapped("Summary", &summary, LABEL, w, t));
    }
    if !o.errors.is_empty() {
        let heading = format!(
            " Errors ({} shown of {})",
            o.errors.len(),
            thousands(o.error_count as i64)
        );
        let errors = o
            .errors
            .iter()
            .map(|e| crate::text::sanitize(&e.to_string()).into_owned());
        out.extend(error_list(heading, errors, w, t));
    }
    out
}
