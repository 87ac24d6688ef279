//! The history's `/` filter: `seller:X`, `status:X` (or the status as the
//! list shows it), `since:YYYY-MM-DD`, `sku:X` (imports that created or
//! updated that listing), the rest matches file names; `#42` opens import
//! 42, `listing:X` (with `seller:ID` for support) opens that listing's
//! timeline. Typed on the status line; the list follows each key.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use chrono::NaiveDate;

use crate::domain::history::ImportState;
use crate::tui::action::Effect;
use crate::tui::keys::Command;
use crate::tui::nav::ListNav;
use crate::tui::screen::{Screen, detail};
use crate::tui::state::{Notice, State};
use crate::tui::theme::Theme;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub seller: Option<String>,
    pub status: Option<ImportState>,
    /// Imports started on this local day or later.
    pub since: Option<NaiveDate>,
    pub file: Option<String>,
    /// `sku:X`: only imports that created or updated that listing.
    pub sku: Option<String>,
    /// `listing:X`: open the listing's timeline (never kept as a filter).
    pub timeline: Option<String>,
}

/// What the filter line asks for: a filter, (`#42`) one import, or
/// (`listing:X`) one listing's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Filter(Filter),
    Import(i64),
    Listing { seller: Option<String>, sku: String },
}

/// The words the filter line takes, for the hint and the errors.
pub const SYNTAX: &str =
    "seller:ID status:STATUS since:YYYY-MM-DD sku:SKU words, #ID or listing:SKU";

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The filter as typed (`seller:acme status:failed since:2026-11-01 oct`).
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.seller {
            parts.push(format!("seller:{s}"));
        }
        if let Some(s) = &self.status {
            parts.push(format!("status:{s}"));
        }
        if let Some(d) = &self.since {
            parts.push(format!("since:{d}"));
        }
        if let Some(k) = &self.sku {
            parts.push(format!("sku:{k}"));
        }
        if let Some(f) = &self.file {
            parts.push(f.clone());
        }
        parts.join(" ")
    }

    /// Parses the filter line. A status is written as the screen shows it
    /// (`rolled back`, alone or after `status:`); an unknown status, a bad
    /// date or an unknown `word:` is an error that says why.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut file = Vec::new();
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            i += 1;
            let lower = word.to_ascii_lowercase();
            // `rolled back`, as the list says it: one status in two words.
            let next_is_back = words.get(i).is_some_and(|w| w.eq_ignore_ascii_case("back"));
            if let Some(v) = lower.strip_prefix("seller:") {
                let v = &word[word.len() - v.len()..];
                f.seller = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lower.strip_prefix("status:") {
                if v == "rolled" && next_is_back {
                    i += 1;
                    f.status = Some(ImportState::RolledBack);
                } else if !v.is_empty() {
                    f.status = Some(parse_status(v)?);
                }
            } else if let Some(v) = lower.strip_prefix("sku:") {
                let v = &word[word.len() - v.len()..];
                f.sku = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lower.strip_prefix("listing:") {
                let v = &word[word.len() - v.len()..];
                f.timeline = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lower.strip_prefix("since:") {
                if !v.is_empty() {
                    f.since = Some(parse_date(v)?);
                }
            } else if let Some(v) = lower.strip_prefix("file:") {
                let v = &word[word.len() - v.len()..];
                if !v.is_empty() {
                    file.push(v.to_string());
                }
            } else if lower == "rolled" && next_is_back {
                i += 1;
                f.status = Some(ImportState::RolledBack);
            } else if let Some(status) = ImportState::ALL.into_iter().find(|s| s.as_str() == lower)
            {
                f.status = Some(status);
            } else if let Some((key, _)) = lower.split_once(':')
                && !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphabetic())
            {
                return Err(format!(
                    "unknown filter word {:?}: use {SYNTAX} (file:WORD for a file name with a colon)",
                    crate::text::sanitize(&format!("{key}:"))
                ));
            } else if word.starts_with('#') {
                return Err("#ID jumps to one import: type it alone, e.g. #42".to_string());
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

impl Query {
    pub fn parse(text: &str) -> Result<Query, String> {
        match text.trim().strip_prefix('#') {
            Some(id) => match id.parse::<i64>() {
                Ok(id) if id > 0 => Ok(Query::Import(id)),
                _ => Err(format!(
                    "{:?} is not an import number: type # and its digits, e.g. #42",
                    crate::text::sanitize(text.trim())
                )),
            },
            None => Filter::parse(text).map(|mut f| match f.timeline.take() {
                Some(sku) => Query::Listing {
                    seller: f.seller,
                    sku,
                },
                None => Query::Filter(f),
            }),
        }
    }
}

/// `2026-11-01`.
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{} is not a date (YYYY-MM-DD)", crate::text::sanitize(s)))
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
            "unknown status {:?}: use completed, failed, rolled back or running",
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

/// Opens the filter line on the filter shown now.
pub fn open(state: &mut State) {
    let h = &mut state.history;
    h.filter_input = Some(TextInput::new(h.filter.to_text()));
    h.filter_before = Some(h.filter.clone());
    h.filter_error = None;
}

/// A key while the filter is being typed (printable keys are text). The
/// list follows as you type; Enter keeps the filter (or opens `#ID`), Esc
/// puts back the one there was.
pub fn command(state: &mut State, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let Some(input) = state.history.filter_input.as_mut() else {
        return Vec::new();
    };
    match cmd {
        Command::Apply => match Query::parse(&input.text) {
            Ok(query) => {
                close(state);
                state.history.list.reselect = None;
                return match query {
                    Query::Import(id) => detail::open(state, id, Screen::History),
                    Query::Listing { seller, sku } => {
                        crate::tui::screen::timeline::open_sku(state, seller, sku)
                    }
                    Query::Filter(f) if f == state.history.filter => Vec::new(),
                    Query::Filter(f) => set(state, f),
                };
            }
            Err(e) => state.notice = Some(Notice::error(e)),
        },
        Command::Back => {
            let before = state.history.filter_before.take().unwrap_or_default();
            close(state);
            if before != state.history.filter {
                return set(state, before);
            }
        }
        Command::Edit | Command::ClearInput => {
            input.edit(cmd, ev.code);
            return edited(state);
        }
        _ => {}
    }
    Vec::new()
}

fn close(state: &mut State) {
    let h = &mut state.history;
    h.filter_input = None;
    h.filter_before = None;
    h.filter_error = None;
}

/// The list under what is typed so far; what cannot be a filter yet says
/// why on the filter line, and the list stays as it is.
pub fn edited(state: &mut State) -> Vec<Effect> {
    let Some(text) = state.history.filter_input.as_ref().map(|i| i.text.clone()) else {
        return Vec::new();
    };
    match Query::parse(&text) {
        Ok(Query::Filter(f)) => {
            state.history.filter_error = None;
            if f == state.history.filter {
                return Vec::new();
            }
            state.history.list.reselect = None;
            set(state, f)
        }
        Ok(Query::Import(_) | Query::Listing { .. }) => {
            state.history.filter_error = None;
            Vec::new()
        }
        // `#` alone, or `since:2026-1` half typed: not worth a red line.
        Err(_) if text.trim() == "#" => Vec::new(),
        Err(e) => {
            state.history.filter_error = Some(e);
            Vec::new()
        }
    }
}

/// The filter being typed, on the status line; `false` when none is.
pub fn draw_input(frame: &mut Frame, area: Rect, state: &State) -> bool {
    let Some(input) = &state.history.filter_input else {
        return false;
    };
    let t = &state.theme;
    let (hint, hint_style) = match &state.history.filter_error {
        Some(e) => (format!("  {e}"), t.error()),
        None => (
            "  (seller:ID status: since:DATE sku:SKU words, #ID, listing:SKU)".to_string(),
            t.dim(),
        ),
    };
    draw_filter_line(frame, area, input, &hint, hint_style, t);
    true
}

/// `Filter: TEXT  (hint)` with the cursor in the text; the text typed gets
/// at least half the line, the hint what is left.
pub fn draw_filter_line(
    frame: &mut Frame,
    area: Rect,
    input: &TextInput,
    hint: &str,
    hint_style: Style,
    t: &Theme,
) {
    let w = area.width as usize;
    let label = "Filter: ";
    // The text typed gets at least half the line; the hint what is left.
    let room = (w / 2).max(w.saturating_sub(label.len() + text::width(hint) + 1));
    let (shown, cursor) = input.visible(room.min(w.saturating_sub(label.len() + 1)));
    let hint_room = w.saturating_sub(label.len() + text::width(&shown));
    let line = Line::from(vec![
        Span::styled(label, t.bold()),
        Span::raw(shown),
        Span::styled(text::fit(hint, hint_room), hint_style),
    ]);
    frame.render_widget(Paragraph::new(line), area);
    frame.set_cursor_position((area.x + (label.len() + cursor) as u16, area.y));
}
