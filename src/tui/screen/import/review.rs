//! Moving through a dry run's planned updates without loading them all:
//! the worker keeps the plan on the dry run's session while the review is
//! open, and the review asks it for pages by key. `/` shows the first SKU
//! beginning with what was typed, `G` the last page and `g` the first,
//! each with one keyset query whatever the plan's size; scrolling past
//! either end of the loaded run of keys loads the page beyond it.

use crossterm::event::KeyEvent;

use crate::domain::import::FieldChanges;
use crate::domain::rollback::Seek;
use crate::tui::action::{Effect, Failure, ReqId};
use crate::tui::keys::Command;
use crate::tui::popup::rollback::plan::seek::PageJob;
use crate::tui::state::{Notice, State};
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::thousands;

use super::{FormPhase, outcome, view};

/// Planned updates fetched per request.
pub const REVIEW_PAGE: i64 = 100;

/// Where the loaded run of planned updates (the outcome's `changes`) sits
/// in the whole plan, and the page in flight.
#[derive(Debug, Clone, Default)]
pub struct ReviewPages {
    /// Updates before the run exist and are not loaded (after `/` or `G`).
    pub cut_above: bool,
    /// The run reaches the last update.
    pub exhausted: bool,
    pub loading: Option<(ReqId, PageJob)>,
    /// `/`: the SKU (or its beginning) being typed.
    pub search: Option<TextInput>,
}

impl ReviewPages {
    /// The first 100 updates came with the dry run's outcome.
    pub fn new(loaded: usize, updated: u64) -> Self {
        Self {
            exhausted: loaded as u64 >= updated,
            ..Self::default()
        }
    }
}

/// The review's pages, when the form shows a review.
fn pages_mut(state: &mut State) -> Option<&mut ReviewPages> {
    match &mut state.form.phase {
        FormPhase::Reviewed { pages, .. } => Some(pages),
        _ => None,
    }
}

/// (lines above the list of updates, all lines) of the review.
fn line_counts(state: &State) -> (usize, usize) {
    let FormPhase::Reviewed { outcome, .. } = &state.form.phase else {
        return (0, 0);
    };
    let w = state.width as usize;
    let head = outcome::head_lines(outcome, w, &state.theme, false).len();
    (head, view::outcome_line_count(state))
}

/// Asks the worker for the page `job` needs.
fn request(state: &mut State, job: PageJob) -> Vec<Effect> {
    let FormPhase::Reviewed { outcome, .. } = &state.form.phase else {
        return Vec::new();
    };
    let run = outcome.changes.as_deref().unwrap_or_default();
    let key = |c: Option<&FieldChanges>| c.map(|c| c.sku.clone());
    let seek = match &job {
        PageJob::Append => Seek::After(key(run.last())),
        PageJob::Prepend => Seek::Before(key(run.first())),
        PageJob::First => Seek::After(None),
        PageJob::Last => Seek::Before(None),
        PageJob::Find(prefix) => Seek::From(prefix.clone()),
    };
    let req = state.req();
    if let Some(pages) = pages_mut(state) {
        pages.loading = Some((req, job));
    }
    vec![Effect::ReviewPage {
        req,
        seek,
        limit: REVIEW_PAGE,
    }]
}

/// The SKU being typed after `/` takes every plain key and Backspace.
pub fn typed(state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
    pages_mut(state)
        .and_then(|p| p.search.as_mut())
        .is_some_and(|input| input.typed(ev.code, plain))
}

/// `/`, `g`, `G`, Enter or Esc while a SKU is typed, and scrolling past
/// the run's ends; `None` for any other command (the caller scrolls).
pub fn command(state: &mut State, cmd: Command) -> Option<Vec<Effect>> {
    let pages = pages_mut(state)?;
    if let Some(input) = &pages.search {
        let prefix = input.text.trim().to_string();
        pages.search = None;
        if cmd == Command::Apply && !prefix.is_empty() {
            return Some(request(state, PageJob::Find(prefix)));
        }
        return Some(Vec::new());
    }
    match cmd {
        Command::Filter => {
            pages.search = Some(TextInput::default());
            Some(Vec::new())
        }
        Command::Top if pages.cut_above => Some(request(state, PageJob::First)),
        Command::Bottom if !pages.exhausted => Some(request(state, PageJob::Last)),
        _ => None,
    }
}

/// After the review scrolled: the page beyond the end it nears, if any.
pub fn scrolled(state: &mut State, cmd: Command) -> Vec<Effect> {
    let page = view::outcome_height(state);
    let (head, len) = line_counts(state);
    let FormPhase::Reviewed { pages, scroll, .. } = &state.form.phase else {
        return Vec::new();
    };
    if pages.loading.is_some() {
        return Vec::new();
    }
    let up = matches!(cmd, Command::Up | Command::PageUp);
    let down = matches!(cmd, Command::Down | Command::PageDown);
    if up && pages.cut_above && *scroll <= head + 2 {
        return request(state, PageJob::Prepend);
    }
    if down && !pages.exhausted && *scroll + 2 * page >= len {
        return request(state, PageJob::Append);
    }
    Vec::new()
}

/// Reply to [`Effect::ReviewPage`]: the page joins or replaces the run.
pub fn loaded(
    state: &mut State,
    req: ReqId,
    result: Result<Vec<FieldChanges>, Failure>,
) -> Vec<Effect> {
    let Some(pages) = pages_mut(state) else {
        return Vec::new();
    };
    let Some((_, job)) = pages.loading.take_if(|(r, _)| *r == req) else {
        return Vec::new();
    };
    match result {
        Ok(items) => arrived(state, job, items),
        Err(f) => state.fail(f, true),
    }
    Vec::new()
}

fn arrived(state: &mut State, job: PageJob, items: Vec<FieldChanges>) {
    let page = view::outcome_height(state);
    let (head, before) = line_counts(state);
    let full = items.len() as i64 >= REVIEW_PAGE;
    let FormPhase::Reviewed {
        outcome,
        pages,
        scroll,
        ..
    } = &mut state.form.phase
    else {
        return;
    };
    let total = outcome.counts.updated;
    let run = outcome.changes.get_or_insert_with(Vec::new);
    let mut notice = None;
    // Where to scroll once the lines are counted again.
    let mut to = None;
    match job {
        PageJob::Append => {
            pages.exhausted = !full;
            run.extend(items);
        }
        PageJob::Prepend => {
            pages.cut_above = full;
            let after = std::mem::replace(run, items);
            run.extend(after);
            to = Some(Scroll::KeepPlace(before, *scroll));
        }
        PageJob::First => {
            *run = items;
            pages.cut_above = false;
            pages.exhausted = !full;
            *scroll = 0;
        }
        PageJob::Last => {
            pages.cut_above = (items.len() as u64) < total;
            *run = items;
            pages.exhausted = true;
            to = Some(Scroll::End);
        }
        PageJob::Find(prefix) => {
            if items.first().is_some_and(|c| c.sku.starts_with(&prefix)) {
                notice = Some(Notice::info(format!(
                    "found {}",
                    crate::text::sanitize(&items[0].sku)
                )));
                // Whether updates come before it is known once the page
                // before is asked for (scrolling up).
                pages.cut_above = true;
                pages.exhausted = !full;
                *run = items;
                // The list's heading on the first row.
                *scroll = head + 1;
            } else {
                notice = Some(Notice::error(format!(
                    "no SKU beginning with \"{}\" among the {} listings to update (SKUs are \
                     compared exactly, capitals too)",
                    crate::text::sanitize(&prefix),
                    thousands(total as i64)
                )));
            }
        }
    }
    let (_, after) = line_counts(state);
    if let FormPhase::Reviewed { scroll, .. } = &mut state.form.phase {
        match to {
            Some(Scroll::End) => *scroll = after.saturating_sub(page),
            Some(Scroll::KeepPlace(before, at)) => *scroll = at + after.saturating_sub(before),
            None => {}
        }
        crate::tui::nav::clamp(scroll, after, page);
    }
    if notice.is_some() {
        state.notice = notice;
    }
}

/// How the scroll position follows a page that replaced or joined the run.
enum Scroll {
    /// The run's last line on the last row.
    End,
    /// The same line as before a page was added above it: (lines before, position).
    KeepPlace(usize, usize),
}
