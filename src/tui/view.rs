//! Rendering: a pure function of [`State`]. This draws the frame around
//! the screens (title bar, connection banner, status line, footer) and
//! asks the current screen, then the open popups, to draw themselves. Rows
//! are built only for the visible window; every untrusted string goes
//! through [`text::fit`].

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::keys::{self, Ctx};
use super::layout;
use super::state::{Connection, MIN_HEIGHT, MIN_WIDTH, NoticeKind, State};
use super::widgets::text;
use super::{popup, screen};

/// Draws the whole screen.
pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, state);
        return;
    }
    let a = layout::areas(area, state.banner_height());
    title(frame, a.title, state);
    if let Connection::Lost {
        message, seconds, ..
    } = &state.connection
    {
        let text = format!(
            " Database connection lost ({}s ago) — reconnecting; any key retries now. {}",
            seconds,
            crate::text::sanitize(message)
        );
        frame.render_widget(
            Paragraph::new(text::cut(&text, a.banner.width as usize)).style(state.theme.banner()),
            a.banner,
        );
    }
    screen::current(state).render(frame, a.body, state);
    status_line(frame, a.status, state);
    footer(frame, a.footer, state);
    popup::render(frame, area, state);
}

fn title(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let left = format!(" importdesk · {}", screen::current(state).title());
    let who = match &state.identity {
        Some(id) => format!("{} · ", id.badge()),
        None => String::new(),
    };
    let right = format!("{who}db {} ", crate::text::sanitize(&state.db_label));
    let w = area.width as usize;
    // The screen name and who we are matter more than the database name.
    let right = text::cut(&right, w.saturating_sub(text::width(&left) + 1).max(w / 3));
    let left = text::cut(&left, w.saturating_sub(text::width(&right) + 1));
    let gap = w.saturating_sub(text::width(&left) + text::width(&right));
    let line = format!("{left}{}{right}", " ".repeat(gap));
    frame.render_widget(Paragraph::new(line).style(t.title_bar()), area);
}

/// The line above the footer: a notice, the filter being typed, or what the
/// screen wants to say about the selection.
fn status_line(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let w = area.width as usize;
    // A line being typed stays in view; else a notice; else the screen's line.
    let screen = screen::current(state);
    if screen.draw_input_line(frame, area, state) {
        return;
    }
    if let Some(n) = &state.notice {
        let style = match n.kind {
            NoticeKind::Info => t.ok(),
            NoticeKind::Error => t.error(),
        };
        let prefix = match n.kind {
            NoticeKind::Info => "",
            NoticeKind::Error => "Error: ",
        };
        let text = text::fit(&format!("{prefix}{}", n.text), w.saturating_sub(1));
        frame.render_widget(Paragraph::new(format!(" {text}")).style(style), area);
        return;
    }
    frame.render_widget(Paragraph::new(screen.status(state, w)), area);
}

/// The keys that work here, from the key table, as many as fit.
fn footer(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let ctx = state.context();
    let mut spans = Vec::new();
    let hints = keys::footer(ctx);
    // Quit is always shown, last; the others as many as fit, by priority.
    let (quit, others): (Vec<_>, Vec<_>) = hints.into_iter().partition(|(_, n)| *n == "quit");
    let piece = |(key, name): &(&str, &str)| text::width(key) + 1 + text::width(name) + 2;
    let w = area.width as usize;
    let mut used: usize = quit.iter().map(piece).sum();
    let mut shown = Vec::new();
    for hint in others {
        if used + piece(&hint) > w {
            break;
        }
        used += piece(&hint);
        shown.push(hint);
    }
    shown.extend(quit);
    for (key, name) in shown {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, t.key()));
        spans.push(Span::raw(format!(" {name} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn too_small(frame: &mut Frame, area: Rect, state: &State) {
    let msg = format!(
        "The terminal is too small: {}x{}.\n\nimportdesk needs at least {}x{}.\nEnlarge the window, or press q to quit.",
        area.width, area.height, MIN_WIDTH, MIN_HEIGHT
    );
    frame.render_widget(Clear, area);
    let lines = msg.lines().count() as u16;
    let y = area.y + area.height.saturating_sub(lines) / 2;
    let rect = Rect::new(area.x, y, area.width, lines.min(area.height));
    frame.render_widget(
        Paragraph::new(msg)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .style(state.theme.bold()),
        rect,
    );
}

/// The text the footer would show for `ctx` (for docs and tests).
pub fn footer_text(ctx: Ctx) -> String {
    keys::footer(ctx)
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join("  ")
}
