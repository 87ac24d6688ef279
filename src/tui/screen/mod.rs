//! The screens under the popups, one module each, holding its state, its
//! update (keys already turned into [`Command`]s by the key table, and the
//! worker's replies) and its view, side by side. This file is the only
//! one that lists them: a new screen is a module here, a [`Screen`]
//! variant, and an arm in each function below.

pub mod audit;
pub mod detail;
pub mod history;
pub mod import;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::action::Effect;
use super::keys::{Command, Ctx};
use super::paged;
use super::state::State;
use super::widgets::input::TextInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    History,
    Detail,
    Audit,
    ImportForm,
}

impl Screen {
    /// The name in the title bar.
    pub fn title(self) -> &'static str {
        match self {
            Screen::History => "Import history",
            Screen::Detail => "Import detail",
            Screen::Audit => "Audit log",
            Screen::ImportForm => "New import",
        }
    }
}

/// The key context of the current screen.
pub fn context(state: &State) -> Ctx {
    match state.screen {
        Screen::History => history::context(state),
        Screen::Detail => Ctx::Detail,
        Screen::Audit => Ctx::Audit,
        Screen::ImportForm => import::context(&state.form),
    }
}

/// A key of the current screen, as the key table named it in `ctx`.
pub fn command(state: &mut State, ctx: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    match state.screen {
        Screen::History => history::command(state, cmd, ev),
        Screen::Detail => detail::command(state, cmd),
        Screen::Audit => audit::command(state, cmd),
        Screen::ImportForm => import::command(state, ctx, cmd, ev),
    }
}

/// The text field printable keys go to, in a text context.
pub fn text_input(state: &mut State) -> Option<&mut TextInput> {
    match state.screen {
        Screen::History => state.history.filter_input.as_mut(),
        Screen::ImportForm => state.form.focused_input(),
        Screen::Detail | Screen::Audit => None,
    }
}

/// After the text of the field [`text_input`] returns changed.
pub fn edited(state: &mut State) {
    if state.screen == Screen::ImportForm {
        state.form.edited();
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    match state.screen {
        Screen::History => history::render(frame, area, state),
        Screen::Detail => detail::render(frame, area, state),
        Screen::Audit => audit::render(frame, area, state),
        Screen::ImportForm => import::view::render(frame, area, state),
    }
}

/// Draws a line being typed on the status line (it stays in view over a
/// notice); `false` when the screen is not taking text there.
pub fn draw_input_line(frame: &mut Frame, area: Rect, state: &State) -> bool {
    match state.screen {
        Screen::History => history::filter::draw_input(frame, area, state),
        _ => false,
    }
}

/// What the screen says on the status line (about the selection, the
/// position).
pub fn status(state: &State, w: usize) -> Line<'static> {
    match state.screen {
        Screen::History => history::status(state, w),
        Screen::Detail => detail::status(state, w),
        Screen::Audit => audit::status(state, w),
        Screen::ImportForm => Line::default(),
    }
}

/// After reconnecting: fetch what the current screen shows (the history
/// is always reloaded: other screens return to it).
pub fn reload(state: &mut State) -> Vec<Effect> {
    let mut effects = history::reload(state);
    match state.screen {
        Screen::Detail => effects.extend(detail::reload(state)),
        Screen::Audit => effects.extend(audit::load(state, false)),
        Screen::History | Screen::ImportForm => {}
    }
    effects
}

/// After a resize: keep selections and scroll positions valid.
pub fn relayout(state: &mut State) {
    paged::relayout::<history::Pages>(state);
    paged::relayout::<audit::Pages>(state);
    detail::relayout(state);
}

/// Work in progress that shows elapsed time.
pub fn busy(state: &State) -> bool {
    state.form.is_busy()
}

/// One second passed (only delivered while [`busy`] or reconnecting).
pub fn tick(state: &mut State) {
    state.form.tick();
}
