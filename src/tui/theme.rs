//! Styles, and what the terminal can show. With `NO_COLOR`, or on a
//! terminal without colours (`TERM=dumb`, `vt100`...), every style is
//! colourless: selection shows as REVERSED, headings BOLD, and diffs keep
//! their `-`/`+` markers, so nothing is lost without colour. On such a
//! terminal, or under a locale that is not UTF-8, the frame is drawn in
//! ASCII ([`super::widgets::ascii`]).

use crate::domain::history::ImportState;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    /// Draw only ASCII: borders, ellipsis, arrows, and `?` for what the
    /// terminal cannot show.
    pub ascii: bool,
    /// The terminal understands escape sequences it does not draw (OSC 52,
    /// the clipboard); a `dumb` one would print them.
    pub clipboard: bool,
}

/// `TERM` values of terminals without colour or without Unicode: the
/// crossterm backend writes every colour as a 256-colour code, which they
/// print as garbage.
const LIMITED_TERMS: &[&str] = &["dumb", "vt52", "vt100", "vt102", "vt220", "vt320", "ansi"];

impl Theme {
    /// From the environment: `NO_COLOR` (no-color.org), `TERM` and the
    /// locale (`LC_ALL`, else `LC_CTYPE`, else `LANG`).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let locale = var("LC_ALL")
            .or_else(|| var("LC_CTYPE"))
            .or_else(|| var("LANG"));
        Self::detect(
            var("TERM").as_deref(),
            locale.as_deref(),
            var("NO_COLOR").is_some(),
        )
    }

    /// `term` and `locale` as the environment gives them (`None`: unset).
    /// No locale at all is the C locale, which is ASCII.
    pub fn detect(term: Option<&str>, locale: Option<&str>, no_color: bool) -> Self {
        let limited = match term {
            None => true,
            Some(t) => {
                let base = t.split('-').next().unwrap_or(t);
                LIMITED_TERMS.contains(&t) || LIMITED_TERMS.contains(&base)
            }
        };
        let utf8 = locale.is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
        Self {
            color: !no_color && !limited,
            ascii: limited || !utf8,
            clipboard: !limited,
        }
    }

    pub const COLOR: Theme = Theme {
        color: true,
        ascii: false,
        clipboard: true,
    };
    pub const MONO: Theme = Theme {
        color: false,
        ascii: false,
        ..Theme::COLOR
    };
    /// `TERM=dumb`: no colour, ASCII only, no escape sequences beyond
    /// drawing.
    pub const ASCII: Theme = Theme {
        color: false,
        ascii: true,
        clipboard: false,
    };

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

    /// A list's row, in the selection's style when it is the selected one.
    pub fn row<'a>(&self, line: Line<'a>, selected: bool) -> Line<'a> {
        if selected {
            line.style(self.selected())
        } else {
            line
        }
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

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn limited_terminals_and_other_locales_get_ascii_without_colour() {
        let utf8 = Some("C.UTF-8");
        assert_eq!(
            Theme::detect(Some("xterm-256color"), utf8, false),
            Theme::COLOR
        );
        assert_eq!(
            Theme::detect(Some("xterm-256color"), utf8, true),
            Theme::MONO
        );
        for term in ["dumb", "vt100", "vt220-am", "ansi"] {
            assert_eq!(
                Theme::detect(Some(term), utf8, false),
                Theme::ASCII,
                "{term}"
            );
        }
        assert_eq!(Theme::detect(None, utf8, false), Theme::ASCII);
        // A colour terminal under a locale that is not UTF-8: ASCII glyphs,
        // colours as usual.
        for locale in [None, Some("C"), Some("POSIX"), Some("de_DE.ISO-8859-1")] {
            let t = Theme::detect(Some("xterm-256color"), locale, false);
            assert!(t.ascii && t.color, "{locale:?}");
        }
        assert!(!Theme::detect(Some("screen"), Some("en_US.utf8"), false).ascii);
    }
}
