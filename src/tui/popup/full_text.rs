//! `v`: what the screen or popup below shows cut to its cells, in full: a
//! list of labelled values (a path, a hash, an error line, the reason a
//! rollback is unavailable), wrapped and scrolled; `y` copies the selected
//! value to the terminal's clipboard (OSC 52). Each screen and popup says
//! what it has ([`super::super::screen::ScreenModule::full_text`]); the
//! last notice and a lost connection's reason come with every view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::action::Effect;
use crate::tui::clipboard;
use crate::tui::keys::{Command, Ctx};
use crate::tui::layout;
use crate::tui::popup::PopupModule;
use crate::tui::state::{Connection, Notice, State};
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, text};

/// One value: what it is, and the value itself (what `y` copies).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub label: String,
    pub value: String,
}

impl Item {
    /// A value as the database or the file gave it: shown and copied with
    /// control characters neutralised.
    pub fn new(label: impl Into<String>, value: impl AsRef<str>) -> Self {
        Self {
            label: label.into(),
            value: crate::text::sanitize_multiline(value.as_ref()).into_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FullText {
    pub title: String,
    pub items: Vec<Item>,
    pub selected: usize,
    /// The first line shown.
    pub scroll: usize,
}

impl FullText {
    pub fn new(title: impl Into<String>, items: Vec<Item>) -> Self {
        Self {
            title: title.into(),
            items,
            selected: 0,
            scroll: 0,
        }
    }
}

/// The text view.
pub struct FullTextPopup;

impl PopupModule for FullTextPopup {
    fn is_open(&self, state: &State) -> bool {
        state.full_text.is_some()
    }

    fn context(&self, _: &State) -> Ctx {
        Ctx::FullText
    }

    fn command(&self, state: &mut State, cmd: Command) -> Vec<Effect> {
        command(state, cmd);
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        render(frame, area, state)
    }
}

/// Opens the view on what the topmost layer has in full, with the last
/// notice and the lost connection's reason; says so when there is nothing.
pub fn open(state: &mut State, title: String, mut items: Vec<Item>) {
    if let Some(n) = &state.last_notice {
        items.push(Item::new("Last message", &n.text));
    }
    if let Connection::Lost { message, .. } = &state.connection {
        items.push(Item::new("Connection lost", message));
    }
    if items.is_empty() {
        state.notice = Some(Notice::info("nothing here is cut off"));
        return;
    }
    state.full_text = Some(FullText::new(title, items));
}

// ---------------------------------------------------------------- update

/// Lines of the list: the popup less its borders and its position line.
pub fn list_height(state: &State) -> usize {
    layout::inner_height(layout::popup_rect(state.area()))
        .saturating_sub(1)
        .max(1)
}

/// Columns the values wrap at: the popup less borders, padding and indent.
fn value_width(state: &State) -> usize {
    (state.width as usize).saturating_sub(4 + INDENT)
}

const INDENT: usize = 4;

/// Where each item's lines start, and the total, at the terminal's width.
fn extents(state: &State, view: &FullText) -> (Vec<usize>, usize) {
    let w = value_width(state);
    let mut starts = Vec::with_capacity(view.items.len());
    let mut line = 0;
    for item in &view.items {
        starts.push(line);
        line += 1 + text::wrap(&item.value, w).len();
    }
    (starts, line)
}

fn command(state: &mut State, cmd: Command) {
    match cmd {
        Command::Back | Command::FullText | Command::Activate => {
            state.full_text = None;
            return;
        }
        Command::Copy => return copy(state),
        _ => {}
    }
    let height = list_height(state);
    let Some(view) = state.full_text.as_ref() else {
        return;
    };
    let (starts, total) = extents(state, view);
    let n = view.items.len();
    let end_of = |i: usize| starts.get(i + 1).copied().unwrap_or(total);
    let max_scroll = total.saturating_sub(height);
    let Some(view) = state.full_text.as_mut() else {
        return;
    };
    match cmd {
        // Down reads a tall value to its end before moving on.
        Command::Down if end_of(view.selected) > view.scroll + height => view.scroll += 1,
        Command::Down => view.selected = (view.selected + 1).min(n - 1),
        Command::Up if starts[view.selected] < view.scroll => view.scroll -= 1,
        Command::Up => view.selected = view.selected.saturating_sub(1),
        Command::PageDown => view.scroll = (view.scroll + height.max(2) - 1).min(max_scroll),
        Command::PageUp => view.scroll = view.scroll.saturating_sub(height.max(2) - 1),
        Command::Top => {
            view.selected = 0;
            view.scroll = 0;
        }
        Command::Bottom => {
            view.selected = n - 1;
            view.scroll = max_scroll;
        }
        _ => return,
    }
    let (start, end) = (starts[view.selected], end_of(view.selected));
    match cmd {
        // Paging moves the selection to what is in view.
        Command::PageDown | Command::PageUp => {
            view.selected = (0..n).find(|&i| end_of(i) > view.scroll).unwrap_or(n - 1);
        }
        // Moving to a value shows its start (and as much of it as fits).
        Command::Up | Command::Down => {
            if start < view.scroll {
                view.scroll = start;
            } else if end > view.scroll + height {
                view.scroll = start.min(end.saturating_sub(height));
            }
        }
        _ => {}
    }
    view.scroll = view.scroll.min(max_scroll);
}

/// `y`: the selected value to the terminal's clipboard.
fn copy(state: &mut State) {
    let Some(item) = state
        .full_text
        .as_ref()
        .and_then(|v| v.items.get(v.selected))
    else {
        return;
    };
    let label = item.label.clone();
    let value = item.value.clone();
    state.notice = Some(if !state.theme.clipboard {
        Notice::error("this terminal takes no clipboard sequences: select the text to copy it")
    } else if clipboard::osc52(&value).is_none() {
        Notice::error(format!(
            "{label} is too long for the terminal's clipboard ({})",
            text::bytes(value.len() as u64)
        ))
    } else {
        state.clipboard = Some(value);
        Notice::info(format!("copied {label} to the clipboard (OSC 52)"))
    });
}

// ---------------------------------------------------------------- view

fn lines(view: &FullText, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, item) in view.items.iter().enumerate() {
        let selected = i == view.selected;
        out.push(Line::from(vec![
            Span::styled(if selected { "› " } else { "  " }, t.key()),
            Span::styled(
                text::cut(&item.label, w.saturating_sub(2)),
                if selected { t.selected() } else { t.bold() },
            ),
        ]));
        for l in text::wrap(&item.value, w.saturating_sub(INDENT)) {
            out.push(Line::raw(format!("{}{l}", " ".repeat(INDENT))));
        }
    }
    out
}

fn render(frame: &mut Frame, area: Rect, state: &State) {
    let Some(view) = &state.full_text else { return };
    let t = &state.theme;
    let rect = layout::popup_rect(area);
    frame.render_widget(Clear, rect);
    let b = block(format!(" {} (in full) ", text::fit(&view.title, 60)), t);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let w = inner.width as usize;
    let height = list_height(state);
    let all = lines(view, w, t);
    let total = all.len();
    let shown: Vec<Line> = all.into_iter().skip(view.scroll).take(height).collect();
    frame.render_widget(
        Paragraph::new(shown),
        Rect::new(inner.x, inner.y, inner.width, height as u16),
    );
    let pos = format!(
        "value {} of {} · lines {}-{} of {}",
        text::thousands(view.selected as i64 + 1),
        text::thousands(view.items.len() as i64),
        text::thousands(view.scroll as i64 + 1),
        text::thousands((view.scroll + height).min(total) as i64),
        text::thousands(total as i64),
    );
    let hint = "y copies the selected value";
    let gap = w.saturating_sub(text::width(hint) + text::width(&pos));
    frame.render_widget(
        Paragraph::new(text::cut(&format!("{hint}{}{pos}", " ".repeat(gap)), w)).style(t.dim()),
        Rect::new(inner.x, inner.y + height as u16, inner.width, 1),
    );
}
