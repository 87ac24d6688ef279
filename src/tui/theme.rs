//! Styles. With `NO_COLOR` every style is colourless: selection shows as
//! REVERSED, headings BOLD, and diffs keep their `-`/`+` markers, so
//! nothing is lost without colour.

use crate::domain::history::ImportState;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    pub const COLOR: Theme = Theme { color: true };
    pub const MONO: Theme = Theme { color: false };

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn plain(&self) -> Style {
        Style::new()
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn title_bar(&self) -> Style {
        self.bar(Color::Blue, Modifier::BOLD)
    }

    pub fn banner(&self) -> Style {
        self.bar(Color::Red, Modifier::REVERSED | Modifier::BOLD)
    }

    /// White on `bg` in colour; without colour, the `mono` modifiers.
    fn bar(&self, bg: Color, mono: Modifier) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(mono)
        }
    }

    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn removed(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn added(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn status(&self, status: ImportState) -> Style {
        match status {
            ImportState::Completed => self.ok(),
            ImportState::Failed => self.error(),
            ImportState::RolledBack => self.warn(),
            ImportState::Running => self.fg(Color::Cyan),
        }
    }

    pub fn border(&self) -> Style {
        self.fg(Color::Gray)
    }

    pub fn button(&self, focused: bool, enabled: bool) -> Style {
        match (focused, enabled) {
            (true, _) => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            (false, true) => self.plain(),
            (false, false) => self.dim(),
        }
    }

    pub fn gauge(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Green).bg(Color::Black)
        } else {
            Style::new()
        }
    }
}
