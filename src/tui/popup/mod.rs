//! The popups above the screens, one module each with its state, update
//! and view. Each implements [`PopupModule`]; [`POPUPS`] is the one place
//! that lists them and their order. The `?` help is above them all and
//! apart: it describes the layer under it.

pub mod help;
pub mod rollback;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Effect;
use super::keys::{Command, Ctx};
use super::state::State;

/// The popups, top first.
pub const POPUPS: [&dyn PopupModule; 1] = [&rollback::Rollback];

/// What the console asks of a popup. Its state lives in [`State`] (an
/// `Option` field: open or not).
pub trait PopupModule {
    fn is_open(&self, state: &State) -> bool;

    /// Which bindings of the key table apply while it is on top.
    fn context(&self, state: &State) -> Ctx;

    /// A key, while it is on top.
    fn command(&self, state: &mut State, cmd: Command) -> Vec<Effect>;

    /// Draws it over `area` (the whole frame).
    fn render(&self, frame: &mut Frame, area: Rect, state: &State);

    /// A key it takes as text before the key table, while on top (`plain`:
    /// no Ctrl or Alt); `false` if it does not.
    fn typed(&self, _state: &mut State, _ev: &KeyEvent, _plain: bool) -> bool {
        false
    }

    /// Waits for the database and shows elapsed time (the loop then ticks).
    fn busy(&self, _state: &State) -> bool {
        false
    }

    /// One second passed while something was busy.
    fn tick(&self, _state: &mut State) {}

    /// After a resize: keep scroll positions valid.
    fn relayout(&self, _state: &mut State) {}
}

/// The topmost open popup (under the help), if any.
pub fn top(state: &State) -> Option<&'static dyn PopupModule> {
    POPUPS.into_iter().find(|p| p.is_open(state))
}

/// A key for the help or the topmost popup; `None` when none is open (the
/// screen takes it).
pub fn command(state: &mut State, cmd: Command) -> Option<Vec<Effect>> {
    if state.help.is_some() {
        return Some(help::command(state, cmd));
    }
    top(state).map(|p| p.command(state, cmd))
}

/// A key the topmost popup takes as text before the key table.
pub fn typed(state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
    !state.too_small()
        && state.help.is_none()
        && top(state).is_some_and(|p| p.typed(state, ev, plain))
}

/// Draws the open popups, bottom first, then the help.
pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    for p in POPUPS.iter().rev().filter(|p| p.is_open(state)) {
        p.render(frame, area, state);
    }
    if state.help.is_some() {
        help::render(frame, area, state);
    }
}

pub fn busy(state: &State) -> bool {
    POPUPS.iter().any(|p| p.busy(state))
}

pub fn tick(state: &mut State) {
    for p in POPUPS {
        p.tick(state);
    }
}

pub fn relayout(state: &mut State) {
    for p in POPUPS {
        p.relayout(state);
    }
}
