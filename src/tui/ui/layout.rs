//! Screen geometry shared by `update` (page sizes, scrolling) and the
//! renderers, so both agree on how many rows are visible.

use ratatui::layout::Rect;

use crate::tui::state::{Connection, PopupStage, State};

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub body: Rect,
    pub status: Rect,
    pub footer: Rect,
}

pub fn banner_height(state: &State) -> u16 {
    u16::from(matches!(state.connection, Connection::Lost { .. }))
}

pub fn areas(area: Rect, state: &State) -> Areas {
    let banner = banner_height(state);
    let h = area.height;
    let body_h = h.saturating_sub(3 + banner);
    let row = |y: u16, height: u16| Rect::new(area.x, area.y + y, area.width, height);
    Areas {
        title: row(0, 1.min(h)),
        banner: row(1, banner),
        body: row(1 + banner, body_h),
        status: row(h.saturating_sub(2), 1),
        footer: row(h.saturating_sub(1), 1),
    }
}

/// Rows of the body (between the title bar and the status line).
pub fn body_height(state: &State) -> usize {
    state.height.saturating_sub(3 + banner_height(state)) as usize
}

/// Table rows visible on the history and audit screens (below the header).
pub fn history_height(state: &State) -> usize {
    body_height(state).saturating_sub(1).max(1)
}

/// The popup covers everything but the title bar and the footer.
pub fn popup_rect(area: Rect) -> Rect {
    Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(2),
    )
}

/// Lines of the rollback plan's details list.
pub fn popup_list_height(state: &State) -> usize {
    let inner = state.height.saturating_sub(4) as usize;
    let large = match state.popup.as_ref().map(|p| &p.stage) {
        Some(PopupStage::Plan(p)) => usize::from(p.is_large()),
        _ => 0,
    };
    // Header (3), tabs (1), conflict mode (1), buttons (1), id to type.
    inner.saturating_sub(6 + large).max(1)
}

/// Lines of the help overlay's list.
pub fn help_height(state: &State) -> usize {
    state.height.saturating_sub(5).max(1) as usize
}
