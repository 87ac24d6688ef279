//! The screens under the popups, one module each, holding its state, its
//! update (keys already turned into [`Command`]s by the key table, and the
//! worker's replies) and its view, side by side. Each implements
//! [`ScreenModule`]; [`Screen::module`] is the one place that lists them.

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
    pub const ALL: [Screen; 4] = [
        Screen::History,
        Screen::Detail,
        Screen::Audit,
        Screen::ImportForm,
    ];

    /// The module that shows this screen.
    pub fn module(self) -> &'static dyn ScreenModule {
        match self {
            Screen::History => &history::History,
            Screen::Detail => &detail::Detail,
            Screen::Audit => &audit::Audit,
            Screen::ImportForm => &import::Import,
        }
    }
}

/// What the console asks of a screen. Its state lives in [`State`] (a
/// field named after it); the methods take the whole state because a
/// screen may open another (Enter on an import opens its detail).
pub trait ScreenModule {
    /// The name in the title bar.
    fn title(&self) -> &'static str;

    /// Which bindings of the key table apply (a screen may have several
    /// modes, each its own context).
    fn context(&self, state: &State) -> Ctx;

    /// A key, as the key table named it in `ctx`.
    fn command(&self, state: &mut State, ctx: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect>;

    /// Draws the body (between the title bar and the status line).
    fn render(&self, frame: &mut Frame, area: Rect, state: &State);

    /// What the screen says on the status line (about the selection, the
    /// position).
    fn status(&self, _state: &State, _w: usize) -> Line<'static> {
        Line::default()
    }

    /// The text field printable keys go to, in a text context.
    fn text_input<'a>(&self, _state: &'a mut State) -> Option<&'a mut TextInput> {
        None
    }

    /// After the text of the field [`ScreenModule::text_input`] returned
    /// changed.
    fn edited(&self, _state: &mut State) {}

    /// Draws a line being typed on the status line (it stays in view over
    /// a notice); `false` when the screen is not taking text there.
    fn draw_input_line(&self, _frame: &mut Frame, _area: Rect, _state: &State) -> bool {
        false
    }

    /// Fetches what the screen shows again (after reconnecting).
    fn reload(&self, _state: &mut State) -> Vec<Effect> {
        Vec::new()
    }

    /// After a resize: keep selections and scroll positions valid.
    fn relayout(&self, _state: &mut State) {}

    /// Work in progress that shows elapsed time (the loop then ticks).
    fn busy(&self, _state: &State) -> bool {
        false
    }

    /// One second passed while something was busy.
    fn tick(&self, _state: &mut State) {}
}

/// The module of the screen shown now.
pub fn current(state: &State) -> &'static dyn ScreenModule {
    state.screen.module()
}

/// After reconnecting: fetch what the current screen shows (the history
/// is always reloaded: other screens return to it).
pub fn reload(state: &mut State) -> Vec<Effect> {
    let mut effects = history::reload(state);
    if state.screen != Screen::History {
        effects.extend(current(state).reload(state));
    }
    effects
}

/// After a resize, every screen (not only the one shown).
pub fn relayout(state: &mut State) {
    for s in Screen::ALL {
        s.module().relayout(state);
    }
}

pub fn busy(state: &State) -> bool {
    Screen::ALL.iter().any(|s| s.module().busy(state))
}

pub fn tick(state: &mut State) {
    for s in Screen::ALL {
        s.module().tick(state);
    }
}
