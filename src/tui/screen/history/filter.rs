//! The history's `/` filter: `seller:X`, `status:X`, the rest matches file
//! names; typed on the status line.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::history::ImportState;
use crate::tui::action::Effect;
use crate::tui::keys::Command;
use crate::tui::nav::ListNav;
use crate::tui::state::{Notice, State};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub seller: Option<String>,
    pub status: Option<ImportState>,
    pub file: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.seller.is_none() && self.status.is_none() && self.file.is_none()
    }

    /// The filter as typed (`seller:acme status:failed oct`).
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.seller {
            parts.push(format!("seller:{s}"));
        }
        if let Some(s) = &self.status {
            parts.push(format!("status:{s}"));
        }
        if let Some(f) = &self.file {
            parts.push(f.clone());
        }
        parts.join(" ")
    }

    /// Parses the filter line; an unknown status is an error.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut file = Vec::new();
        for word in text.split_whitespace() {
            let lower = word.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("seller:") {
                let v = &word[word.len() - v.len()..];
                f.seller = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lower.strip_prefix("status:") {
                if !v.is_empty() {
                    f.status = Some(parse_status(v)?);
                }
            } else if let Some(v) = lower.strip_prefix("file:") {
                let v = &word[word.len() - v.len()..];
                if !v.is_empty() {
                    file.push(v.to_string());
                }
            } else {
                file.push(word.to_string());
            }
        }
        if !file.is_empty() {
            f.file = Some(file.join(" "));
        }
        Ok(f)
    }
}

/// `rolled-back`, `rolled back`, `rolled`, `rb` → `rolled_back`.
pub fn parse_status(s: &str) -> Result<ImportState, String> {
    let s = s.to_ascii_lowercase().replace(['-', ' '], "_");
    if s == "rb" {
        return Ok(ImportState::RolledBack);
    }
    let matches: Vec<ImportState> = ImportState::ALL
        .into_iter()
        .filter(|st| st.as_str().starts_with(&s) || st.as_str().replace('_', "") == s)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!(
            "unknown status {:?}: use completed, failed, rolled_back or running",
            crate::text::sanitize(&s)
        )),
    }
}

/// Shows the history under filter `f`, from the top.
pub fn set(state: &mut State, f: Filter) -> Vec<Effect> {
    state.history.filter = f;
    state.history.list.nav = ListNav::default();
    super::load(state, false)
}

/// A key while the filter is being typed (printable keys are text).
pub fn command(state: &mut State, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let Some(input) = state.history.filter_input.as_mut() else {
        return Vec::new();
    };
    match cmd {
        Command::Apply => match Filter::parse(&input.text) {
            Ok(f) => {
                state.history.filter_input = None;
                state.history.list.reselect = None;
                return set(state, f);
            }
            Err(e) => state.notice = Some(Notice::error(e)),
        },
        Command::Back => state.history.filter_input = None,
        Command::Edit | Command::ClearInput => {
            input.edit(cmd, ev.code);
        }
        _ => {}
    }
    Vec::new()
}

/// The filter being typed, on the status line; `false` when none is.
pub fn draw_input(frame: &mut Frame, area: Rect, state: &State) -> bool {
    let Some(input) = &state.history.filter_input else {
        return false;
    };
    let t = &state.theme;
    let w = area.width as usize;
    let label = "Filter: ";
    let hint = "  (seller:ID status:STATUS words)";
    let room = w.saturating_sub(label.len() + hint.len() + 1);
    let (shown, cursor) = input.visible(room);
    let line = Line::from(vec![
        Span::styled(label, t.bold()),
        Span::raw(shown),
        Span::styled(if w > 60 { hint } else { "" }, t.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
    frame.set_cursor_position((area.x + (label.len() + cursor) as u16, area.y));
    true
}
