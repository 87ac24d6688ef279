//! The popups above the screens, one module each with its state, update
//! and view. From the top: the `?` help (it describes the layer under
//! it), then the rollback popup. This file is the only one that lists them
//! and their order: a new popup is a module here, a field of
//! [`State`], and an arm in each function below.

pub mod help;
pub mod rollback;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Effect;
use super::keys::{Command, Ctx};
use super::state::State;

/// The key context of the topmost popup under the help overlay, if one is
/// open.
pub fn context(state: &State) -> Option<Ctx> {
    state.popup.as_ref().map(|p| p.context())
}

/// A key for the topmost popup; `None` when no popup is open (the screen
/// takes it).
pub fn command(state: &mut State, cmd: Command) -> Option<Vec<Effect>> {
    if state.help.is_some() {
        return Some(help::command(state, cmd));
    }
    if state.popup.is_some() {
        return Some(rollback::command(state, cmd));
    }
    None
}

/// A key a popup takes as text before the key table (the import id a
/// large rollback asks for); `false` if none does.
pub fn typed(state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
    state.context() == Ctx::Popup && rollback::plan::typed(state, ev, plain)
}

/// Draws the open popups, bottom first.
pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    if state.popup.is_some() {
        rollback::view::render(frame, area, state);
    }
    if state.help.is_some() {
        help::render(frame, area, state);
    }
}

/// A popup waits for the database and shows elapsed time.
pub fn busy(state: &State) -> bool {
    state.popup.as_ref().is_some_and(|p| p.is_busy())
}

/// One second passed.
pub fn tick(state: &mut State) {
    if let Some(p) = state.popup.as_mut() {
        p.tick();
    }
}

/// After a resize: keep scroll positions valid.
pub fn relayout(state: &mut State) {
    rollback::plan::relayout(state);
}
