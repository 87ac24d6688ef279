//! The `?` overlay, above everything: the keys that work on the screen or
//! popup under it, from the same table that dispatches them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::action::Effect;
use crate::tui::keys::{self, Command};
use crate::tui::layout;
use crate::tui::nav;
use crate::tui::state::State;
use crate::tui::widgets::{block, text};

#[derive(Debug, Clone, Default)]
pub struct HelpView {
    pub scroll: usize,
}

pub fn open(state: &mut State) {
    state.help = Some(HelpView::default());
}

pub fn command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let (len, page) = (lines(state).len(), height(state));
    if let Some(h) = state.help.as_mut() {
        match cmd {
            Command::Back | Command::Help => state.help = None,
            _ => {
                nav::scroll(&mut h.scroll, cmd, len, page);
            }
        }
    }
    Vec::new()
}

/// The bindings listed: those of the context under the help, each
/// sentence wrapped under its keys (nothing is cut off).
fn lines(state: &State) -> Vec<Line<'static>> {
    let t = &state.theme;
    // The popup's inner width: less the borders and the padding.
    let w = state.width.saturating_sub(4) as usize;
    let kw = 12;
    let mut out = Vec::new();
    for (key, help) in keys::help(state.context_under_help()) {
        for (i, part) in text::wrap(help, w.saturating_sub(kw + 3))
            .into_iter()
            .enumerate()
        {
            let key = if i == 0 { key } else { "" };
            out.push(Line::from(vec![
                Span::styled(format!(" {:<kw$} ", key), t.key()),
                Span::raw(part),
            ]));
        }
    }
    out
}

/// Lines of the list (the popup less its borders and the last line).
fn height(state: &State) -> usize {
    state.height.saturating_sub(5).max(1) as usize
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let ctx = state.context_under_help();
    let rect = layout::popup_rect(area);
    frame.render_widget(Clear, rect);
    let b = block(format!(" Keys: {} ", ctx.title()), t);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let w = inner.width as usize;
    let lines = lines(state);
    let height = height(state);
    let more = lines.len() > height;
    let scroll = state.help.as_ref().map(|h| h.scroll).unwrap_or(0);
    let mut shown = crate::tui::widgets::window(lines, scroll, height);
    shown.resize(height, Line::default());
    let last = if more {
        "More below: ↑↓ or PgDn. Text fields take every printable key; Ctrl-C quits."
    } else {
        "Text fields take every printable key; Ctrl-C always quits. Esc closes this."
    };
    shown.push(Line::styled(text::cut(last, w), t.dim()));
    frame.render_widget(Paragraph::new(shown), inner);
}
