//! The import history: a table, newest first, drawn only for the visible
//! window; more pages load (keyset) as the selection nears the end.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{self, compact, fit, pad};
use crate::domain::history::ImportState;
use crate::tui::action::HistoryRow;
use crate::tui::state::{Eligibility, State};

/// Column widths for a terminal `w` columns wide (one space between columns).
pub struct Columns {
    pub id: usize,
    pub when: usize,
    pub seller: usize,
    pub file: usize,
    pub count: usize,
    pub status: usize,
    pub actor: usize,
    pub wide: bool,
}

pub fn columns(w: usize, max_id: i64) -> Columns {
    let id = max_id.max(1).to_string().len().max(2);
    let wide = w >= 110;
    let when = if wide { 16 } else { 11 };
    let seller = if w >= 100 { 10 } else { 8 };
    let count = if w >= 100 { 5 } else { 4 };
    let status = 11;
    let mut actor = if w >= 100 { 12 } else { 7 };
    let fixed = id + when + seller + 4 * count + status + actor + 9;
    let mut file = w.saturating_sub(fixed);
    // Share generous widths between the file name and the actor.
    if file > 40 {
        let extra = (file - 40) / 3;
        actor += extra;
        file -= extra;
    }
    Columns {
        id,
        when,
        seller,
        file,
        count,
        status,
        actor,
        wide,
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let h = &state.history;
    let w = area.width as usize;
    let max_id = h.rows.first().map(|r| r.id).unwrap_or(1);
    let c = columns(w, max_id);
    let mut lines = Vec::with_capacity(area.height as usize);
    let header = format!(
        "{:>iw$} {} {} {} {:>cw$} {:>cw$} {:>cw$} {:>cw$} {} {}",
        "id",
        pad("when", c.when),
        pad("seller", c.seller),
        pad("file", c.file),
        "new",
        "upd",
        "same",
        "rej",
        pad("status", c.status),
        pad("actor", c.actor),
        iw = c.id,
        cw = c.count,
    );
    lines.push(Line::styled(text::cut(&header, w), t.header()));
    let height = area.height.saturating_sub(1) as usize;
    if h.rows.is_empty() {
        let msg = if !h.loaded {
            "Loading the import history…".to_string()
        } else if h.filter.is_empty() {
            "No imports yet. Press i to import a CSV file.".to_string()
        } else {
            format!(
                "No imports match the filter {}. Press / to change it, Esc to clear it.",
                fit(&h.filter.to_text(), 40)
            )
        };
        lines.push(Line::default());
        lines.push(Line::styled(format!("  {msg}"), t.dim()));
    }
    let end = (h.list.offset + height).min(h.rows.len());
    for (i, row) in h.rows[h.list.offset.min(end)..end].iter().enumerate() {
        let selected = h.list.offset + i == h.list.selected;
        lines.push(row_line(row, &c, state, selected));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn row_line(row: &HistoryRow, c: &Columns, state: &State, selected: bool) -> Line<'static> {
    let t = &state.theme;
    let file = std::path::Path::new(&row.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| row.file.clone());
    let num = |n: i64| format!("{:>w$}", compact(n), w = c.count);
    let status_style = if selected {
        Style::new()
    } else {
        t.status(row.status)
    };
    let spans = vec![
        Span::raw(format!("{:>w$} ", row.id, w = c.id)),
        Span::raw(format!(
            "{} ",
            pad(&text::when(&row.started_at, c.wide), c.when)
        )),
        Span::raw(format!("{} ", pad(&fit(&row.seller, c.seller), c.seller))),
        Span::raw(format!("{} ", pad(&fit(&file, c.file), c.file))),
        Span::raw(format!(
            "{} {} {} {} ",
            num(row.created),
            num(row.updated),
            num(row.unchanged),
            num(row.rejected)
        )),
        Span::styled(
            pad(
                if row.pruned && row.status == ImportState::Completed {
                    "pruned"
                } else {
                    text::status(row.status)
                },
                c.status,
            ),
            status_style,
        ),
        Span::raw(format!(" {}", pad(&fit(&row.actor, c.actor), c.actor))),
    ];
    let line = Line::from(spans);
    if selected {
        line.style(t.selected())
    } else {
        line
    }
}

/// The status line: can the selected import be rolled back, and where in
/// the list we are.
pub fn status(state: &State, w: usize) -> Line<'static> {
    let t = &state.theme;
    let h = &state.history;
    let pos = if h.rows.is_empty() {
        String::new()
    } else {
        format!(
            "{}/{}{} ",
            h.list.selected + 1,
            h.rows.len(),
            if h.exhausted { "" } else { "+" }
        )
    };
    let room = w.saturating_sub(text::width(&pos) + 2);
    let (msg, style) = match state.selected_row() {
        None => (String::new(), t.plain()),
        Some(row) => match h.eligibility.get(&row.id) {
            Some(Eligibility::Eligible) => (
                format!("r rolls back import #{} (the seller's newest)", row.id),
                t.ok(),
            ),
            Some(Eligibility::Ineligible(why)) => {
                (format!("Rollback unavailable: {why}"), t.warn())
            }
            Some(Eligibility::Checking(_)) => (String::new(), t.dim()),
            None => (String::new(), t.plain()),
        },
    };
    let msg = format!(" {}", fit(&msg, room));
    let gap = w.saturating_sub(text::width(&msg) + text::width(&pos));
    Line::from(vec![
        Span::styled(msg, style),
        Span::raw(" ".repeat(gap)),
        Span::styled(pos, t.dim()),
    ])
}
