//! A one-line text field: its text and cursor, and the part of it that
//! fits in a cell.

use crossterm::event::KeyCode;

use super::text;
use crate::tui::keys::Command;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

impl TextInput {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.chars().count();
        Self { text, cursor }
    }

    pub fn set(&mut self, text: impl Into<String>) {
        *self = TextInput::new(text);
    }

    fn byte_at(&self, char_index: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_index)
            .map(|(i, _)| i)
            .unwrap_or(self.text.len())
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        *self = TextInput::default();
    }

    /// Applies an editing key (`Edit` names the key by its code,
    /// `ClearInput` empties the field); returns whether the text changed.
    pub fn edit(&mut self, cmd: Command, code: KeyCode) -> bool {
        if cmd == Command::ClearInput {
            self.clear();
            return true;
        }
        match code {
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            _ => return false,
        }
        matches!(code, KeyCode::Backspace | KeyCode::Delete)
    }

    /// A key typed into a one-line search: a plain character goes in,
    /// Backspace takes one out; `false` for any other key.
    pub fn typed(&mut self, code: KeyCode, plain: bool) -> bool {
        match code {
            KeyCode::Char(c) if plain => self.insert(c),
            KeyCode::Backspace => self.backspace(),
            _ => return false,
        }
        true
    }

    /// The part of the text that fits in `room` columns, and the cursor's
    /// column in it (the text scrolls to keep the cursor visible).
    pub fn visible(&self, room: usize) -> (String, usize) {
        let safe = crate::text::sanitize(&self.text);
        let chars: Vec<char> = safe.chars().collect();
        let cursor = self.cursor.min(chars.len());
        let w = |cs: &[char]| text::width(&cs.iter().collect::<String>());
        if w(&chars) < room {
            return (safe.into_owned(), w(&chars[..cursor]));
        }
        let mut start = 0;
        while start < cursor && w(&chars[start..cursor]) + 2 > room {
            start += 1;
        }
        let prefix = if start > 0 { "…" } else { "" };
        let rest: String = chars[start..].iter().collect();
        let shown = format!(
            "{prefix}{}",
            text::cut(&rest, room.saturating_sub(prefix.len().min(1)))
        );
        (shown, usize::from(start > 0) + w(&chars[start..cursor]))
    }
}
