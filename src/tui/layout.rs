//! Screen geometry: the rows of the frame and the popup area. Pure
//! functions of the terminal's size, so the update side (page sizes,
//! scroll limits) and the views compute the same numbers from the same
//! code. A view that scrolls publishes its own visible height from these.

use ratatui::layout::Rect;

pub struct Areas {
    pub title: Rect,
    pub banner: Rect,
    pub body: Rect,
    pub status: Rect,
    pub footer: Rect,
}

/// The frame's rows: title bar, the connection banner (`banner` rows, 0
/// or 1), the body, the status line and the footer.
pub fn areas(area: Rect, banner: u16) -> Areas {
    let h = area.height;
    let row = |y: u16, height: u16| Rect::new(area.x, area.y + y, area.width, height);
    Areas {
        title: row(0, 1.min(h)),
        banner: row(1, banner),
        body: row(1 + banner, body_height(h, banner)),
        status: row(h.saturating_sub(2), 1),
        footer: row(h.saturating_sub(1), 1),
    }
}

/// Rows of the body (between the title bar and the status line).
pub fn body_height(height: u16, banner: u16) -> u16 {
    height.saturating_sub(3 + banner)
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

/// `rect` without its top and bottom border (what [`crate::tui::widgets::block`]
/// leaves for the content).
pub fn inner_height(rect: Rect) -> usize {
    rect.height.saturating_sub(2) as usize
}
