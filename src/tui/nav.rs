//! Moving through what a view shows: a selection in a list of which only a
//! window is drawn ([`ListNav`]), and a scroll position in text
//! ([`scroll`]). Both take the view's own length and visible height.

use super::keys::Command;

/// Selection and scroll position of a list of which only a window is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListNav {
    pub selected: usize,
    /// The first visible row.
    pub offset: usize,
}

impl ListNav {
    /// Moves by `delta` rows within `len`, keeping the selection in a window
    /// of `height` rows.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = ListNav::default();
            return;
        }
        let target = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.selected = target as usize;
        self.keep_visible(len, height);
    }

    pub fn to(&mut self, index: usize, len: usize, height: usize) {
        self.selected = index.min(len.saturating_sub(1));
        self.keep_visible(len, height);
    }

    pub fn keep_visible(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        // Never leave empty space below when rows exist to fill it.
        let max_offset = len.saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    /// Applies a movement command; `false` if `cmd` is not one.
    pub fn command(&mut self, cmd: Command, len: usize, height: usize) -> bool {
        let page = height.max(2) as isize - 1;
        match cmd {
            Command::Up => self.step(-1, len, height),
            Command::Down => self.step(1, len, height),
            Command::PageUp => self.step(-page, len, height),
            Command::PageDown => self.step(page, len, height),
            Command::Top => self.to(0, len, height),
            Command::Bottom => self.to(len.saturating_sub(1), len, height),
            _ => return false,
        }
        true
    }
}

/// Scrolls text of `len` lines shown `page` lines at a time; `false` if
/// `cmd` is not a movement.
pub fn scroll(pos: &mut usize, cmd: Command, len: usize, page: usize) -> bool {
    let max = len.saturating_sub(page.max(1));
    let step = page.max(2) - 1;
    *pos = match cmd {
        Command::Up => pos.saturating_sub(1),
        Command::Down => *pos + 1,
        Command::PageUp => pos.saturating_sub(step),
        Command::PageDown => *pos + step,
        Command::Top => 0,
        Command::Bottom => max,
        _ => return false,
    }
    .min(max);
    true
}

/// Keeps a scroll position valid after the text or the window changed.
pub fn clamp(pos: &mut usize, len: usize, page: usize) {
    *pos = (*pos).min(len.saturating_sub(page));
}
