//! The audit log's `/` filter, in the history's grammar: `seller:ID`,
//! `actor:NAME` (the OS user or the database role), `since:YYYY-MM-DD`,
//! `#42` (that import's entries), and words that must each appear in what
//! an entry says (its action, actor, seller or details: `rollback`,
//! `refused`, `jane`). Typed on the status line; the list follows each key
//! and is filtered in the database (row-level security still decides which
//! entries a role sees at all).

use chrono::NaiveDate;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::domain::audit::AuditFilter;
use crate::tui::action::Effect;
use crate::tui::keys::Command;
use crate::tui::nav::ListNav;
use crate::tui::screen::history::filter::{draw_filter_line, parse_date};
use crate::tui::state::{Notice, State};
use crate::tui::widgets::input::TextInput;

/// What the audit filter line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub seller: Option<String>,
    pub actor: Option<String>,
    /// Entries written on this local day or later.
    pub since: Option<NaiveDate>,
    /// `#42`: the entries about import 42.
    pub import: Option<i64>,
    /// Each must appear in the entry (any case).
    pub words: Vec<String>,
}

/// The words the filter line takes, for the hint and the errors.
pub const SYNTAX: &str = "seller:ID actor:NAME since:YYYY-MM-DD #ID and words";

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The filter as typed (`seller:acme #4 rollback`).
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.seller {
            parts.push(format!("seller:{s}"));
        }
        if let Some(a) = &self.actor {
            parts.push(format!("actor:{a}"));
        }
        if let Some(d) = &self.since {
            parts.push(format!("since:{d}"));
        }
        if let Some(i) = self.import {
            parts.push(format!("#{i}"));
        }
        parts.extend(self.words.iter().cloned());
        parts.join(" ")
    }

    /// Parses the filter line; a bad date, a `#` without a number or an
    /// unknown `word:` is an error that says why.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        for word in text.split_whitespace() {
            let lower = word.to_ascii_lowercase();
            let value = |prefix: &str| {
                let v = &word[prefix.len()..];
                (!v.is_empty()).then(|| v.to_string())
            };
            if lower.starts_with("seller:") {
                f.seller = value("seller:");
            } else if lower.starts_with("actor:") {
                f.actor = value("actor:");
            } else if let Some(v) = lower.strip_prefix("since:") {
                f.since = if v.is_empty() {
                    None
                } else {
                    Some(parse_date(v)?)
                };
            } else if let Some(id) = word.strip_prefix('#') {
                match id.parse::<i64>() {
                    Ok(id) if id > 0 => f.import = Some(id),
                    _ if id.is_empty() => {}
                    _ => {
                        return Err(format!(
                            "{:?} is not an import number: type # and its digits, e.g. #42",
                            crate::text::sanitize(word)
                        ));
                    }
                }
            } else if let Some((key, _)) = lower.split_once(':')
                && !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphabetic())
            {
                return Err(format!(
                    "unknown filter word {:?}: use {SYNTAX}",
                    crate::text::sanitize(&format!("{key}:"))
                ));
            } else {
                f.words.push(word.to_string());
            }
        }
        Ok(f)
    }
}

/// What the database is asked for under `f` (`since` from the local day's
/// start).
pub fn query(state: &State) -> AuditFilter {
    let f = &state.audit.filter;
    AuditFilter {
        seller: f.seller.clone(),
        actor: f.actor.clone(),
        since: f.since.map(|d| state.clock.start_of_day(d)),
        import_id: f.import,
        words: f.words.clone(),
        ..Default::default()
    }
}

/// Shows the audit log under filter `f`, from the top.
pub fn set(state: &mut State, f: Filter) -> Vec<Effect> {
    state.audit.filter = f;
    state.audit.list.nav = ListNav::default();
    state.audit.list.reselect = None;
    super::load(state, false)
}

/// Opens the filter line on the filter shown now.
pub fn open(state: &mut State) {
    let a = &mut state.audit;
    a.filter_input = Some(TextInput::new(a.filter.to_text()));
    a.filter_before = Some(a.filter.clone());
    a.filter_error = None;
}

fn close(state: &mut State) {
    let a = &mut state.audit;
    a.filter_input = None;
    a.filter_before = None;
    a.filter_error = None;
}

/// A key while the filter is being typed. Enter keeps the filter, Esc puts
/// back the one there was.
pub fn command(state: &mut State, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let Some(input) = state.audit.filter_input.as_mut() else {
        return Vec::new();
    };
    match cmd {
        Command::Apply => match Filter::parse(&input.text) {
            Ok(f) => {
                close(state);
                if f != state.audit.filter {
                    return set(state, f);
                }
            }
            Err(e) => state.notice = Some(Notice::error(e)),
        },
        Command::Back => {
            let before = state.audit.filter_before.take().unwrap_or_default();
            close(state);
            if before != state.audit.filter {
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

/// The list under what is typed so far; what cannot be a filter says why
/// on the filter line, and the list stays as it is.
pub fn edited(state: &mut State) -> Vec<Effect> {
    let Some(text) = state.audit.filter_input.as_ref().map(|i| i.text.clone()) else {
        return Vec::new();
    };
    match Filter::parse(&text) {
        Ok(f) => {
            state.audit.filter_error = None;
            if f == state.audit.filter {
                return Vec::new();
            }
            set(state, f)
        }
        Err(e) => {
            state.audit.filter_error = Some(e);
            Vec::new()
        }
    }
}

/// The filter being typed, on the status line; `false` when none is.
pub fn draw_input(frame: &mut Frame, area: Rect, state: &State) -> bool {
    let Some(input) = &state.audit.filter_input else {
        return false;
    };
    let t = &state.theme;
    let (hint, style) = match &state.audit.filter_error {
        Some(e) => (format!("  {e}"), t.error()),
        None => (format!("  ({SYNTAX})"), t.dim()),
    };
    draw_filter_line(frame, area, input, &hint, style, t);
    true
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn the_words_read_as_the_screen_says_them() {
        let f =
            Filter::parse("seller:acme Actor:Jane since:2026-11-01 #42 rollback REFUSED").unwrap();
        assert_eq!(f.seller.as_deref(), Some("acme"));
        assert_eq!(f.actor.as_deref(), Some("Jane"));
        assert_eq!(f.since.unwrap().to_string(), "2026-11-01");
        assert_eq!(f.import, Some(42));
        assert_eq!(f.words, ["rollback", "REFUSED"]);
        assert_eq!(Filter::parse(&f.to_text()).unwrap(), f);
    }

    #[test]
    fn what_cannot_be_a_filter_says_why() {
        let bad_date = Filter::parse("since:2026-13-01").unwrap_err();
        assert!(bad_date.contains("is not a date"), "{bad_date}");
        let bad_id = Filter::parse("#4x").unwrap_err();
        assert!(bad_id.contains("is not an import number"), "{bad_id}");
        let unknown = Filter::parse("status:failed").unwrap_err();
        assert!(
            unknown.contains("unknown filter word \"status:\""),
            "{unknown}"
        );
        // Half typed: nothing yet, not an error.
        assert_eq!(Filter::parse("# since: seller:"), Ok(Filter::default()));
    }
}
