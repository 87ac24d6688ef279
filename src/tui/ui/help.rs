//! The `?` overlay: the keys that work on the screen under it, from the
//! same table that dispatches them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::text;
use super::{block, layout};
use crate::tui::keys;
use crate::tui::state::State;
use crate::tui::update::help_context;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let ctx = help_context(state);
    let rect = layout::popup_rect(area);
    frame.render_widget(Clear, rect);
    let b = block(format!(" Keys: {} ", ctx.title()), state);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let w = inner.width as usize;
    let kw = 12;
    let mut lines = Vec::new();
    for (key, help) in keys::help(ctx) {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<kw$} ", key), t.key()),
            Span::raw(text::cut(help, w.saturating_sub(kw + 3))),
        ]));
    }
    let height = layout::help_height(state);
    let scroll = state
        .help
        .as_ref()
        .map(|h| h.scroll)
        .unwrap_or(0)
        .min(lines.len().saturating_sub(height));
    let mut shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    while shown.len() < height {
        shown.push(Line::default());
    }
    shown.push(Line::styled(
        text::cut(
            "Text fields take every printable key; Ctrl-C always quits. Esc closes this.",
            w,
        ),
        t.dim(),
    ));
    frame.render_widget(Paragraph::new(shown), inner);
}
