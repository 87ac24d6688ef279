//! The audit log: who did what, when; newest first, paged by keyset.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{self, fit, pad};
use crate::tui::state::State;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let a = &state.audit;
    let w = area.width as usize;
    let idw = a
        .rows
        .first()
        .map(|r| r.id.to_string().len())
        .unwrap_or(2)
        .max(2);
    let wide = w >= 110;
    let when = if wide { 16 } else { 11 };
    let actor = if w >= 100 { 14 } else { 10 };
    let act = 18;
    let seller = if w >= 100 { 10 } else { 8 };
    let import = 6;
    let details = w.saturating_sub(idw + when + actor + act + seller + import + 6);
    let mut lines = Vec::with_capacity(area.height as usize);
    lines.push(Line::styled(
        text::cut(
            &format!(
                "{:>idw$} {} {} {} {} {:>import$} {}",
                "id",
                pad("when", when),
                pad("actor", actor),
                pad("action", act),
                pad("seller", seller),
                "import",
                "details"
            ),
            w,
        ),
        t.header(),
    ));
    if a.rows.is_empty() {
        lines.push(Line::default());
        let msg = if a.loaded {
            "The audit log is empty."
        } else {
            "Loading the audit log…"
        };
        lines.push(Line::styled(format!("  {msg}"), t.dim()));
    }
    let height = area.height.saturating_sub(1) as usize;
    let end = (a.list.offset + height).min(a.rows.len());
    for (i, r) in a.rows[a.list.offset.min(end)..end].iter().enumerate() {
        let selected = a.list.offset + i == a.list.selected;
        let action_style = if selected {
            t.plain()
        } else if r.action.contains("refused") || r.action.contains("failed") {
            t.error()
        } else if r.action.contains("rollback") {
            t.warn()
        } else {
            t.plain()
        };
        let line = Line::from(vec![
            Span::raw(format!("{:>idw$} ", r.id)),
            Span::raw(format!("{} ", pad(&text::when(&r.at, wide), when))),
            Span::raw(format!("{} ", pad(&fit(&r.actor, actor), actor))),
            Span::styled(pad(&fit(&r.action, act), act), action_style),
            Span::raw(format!(
                " {} ",
                pad(&fit(r.seller.as_deref().unwrap_or("-"), seller), seller)
            )),
            Span::raw(format!(
                "{:>import$} ",
                r.import_id.map(|i| i.to_string()).unwrap_or("-".into())
            )),
            Span::raw(pad(&fit(&r.summary, details), details)),
        ]);
        lines.push(if selected {
            line.style(t.selected())
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The selected entry's details in full width, and the position.
pub fn status(state: &State, w: usize) -> Line<'static> {
    let a = &state.audit;
    let Some(r) = a.rows.get(a.list.selected) else {
        return Line::default();
    };
    let pos = format!(
        "{}/{}{} ",
        a.list.selected + 1,
        a.rows.len(),
        if a.exhausted { "" } else { "+" }
    );
    let room = w.saturating_sub(text::width(&pos) + 2);
    let msg = format!(
        " {}",
        fit(
            &format!("{} {}: {}", text::time(&r.at), r.action, r.summary),
            room
        )
    );
    let gap = w.saturating_sub(text::width(&msg) + text::width(&pos));
    Line::from(vec![
        Span::raw(msg),
        Span::raw(" ".repeat(gap)),
        Span::styled(pos, state.theme.dim()),
    ])
}
