//! Moving through a section of the plan without reading it all: `/` finds
//! the first SKU that begins with what was typed, `G` shows the section's
//! last page and `g` its first, each with one keyset query whatever the
//! section's size (90,000 restores take no longer than 90). The loaded
//! part is then a run of consecutive keys; scrolling up from its top loads
//! the page before it.

use crossterm::event::KeyEvent;

use crate::domain::rollback::{PlanItem, Section, Seek};
use crate::tui::action::Effect;
use crate::tui::keys::Command;
use crate::tui::state::{Notice, State};
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::thousands;

use super::super::PopupStage;
use super::{PLAN_PAGE, list_height, plan_mut, view};

/// What a page in flight does to the loaded run of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageJob {
    /// The keys after the run (scrolling down).
    Append,
    /// The keys before the run (scrolling up after a jump).
    Prepend,
    /// `g`: the section's first page, in place of the run.
    First,
    /// `G`: the section's last page, in place of the run.
    Last,
    /// `/`: the first key beginning with this text, in place of the run
    /// if there is one.
    Find(String),
}

/// Asks for the page `job` needs in the shown section.
pub fn request(state: &mut State, job: PageJob) -> Vec<Effect> {
    let Some(popup) = state.popup.as_ref() else {
        return Vec::new();
    };
    let id = popup.import_id;
    let PopupStage::Plan(plan) = &popup.stage else {
        return Vec::new();
    };
    let section = plan.tab;
    let pages = plan.pages(section);
    let key = |item: Option<&PlanItem>| item.map(|i| i.sku.clone());
    let seek = match &job {
        PageJob::Append => Seek::After(key(pages.items.last())),
        PageJob::Prepend => Seek::Before(key(pages.items.first())),
        PageJob::First => Seek::After(None),
        PageJob::Last => Seek::Before(None),
        PageJob::Find(prefix) => Seek::From(prefix.clone()),
    };
    let seller = plan.preview.seller.clone();
    let req = state.req();
    if let Some(plan) = plan_mut(state) {
        plan.pages_mut(section).loading = Some((req, job));
    }
    vec![Effect::RollbackPage {
        req,
        id,
        seller,
        section,
        seek,
        limit: PLAN_PAGE,
    }]
}

/// The section's name as its tab shows it, in the words of a sentence.
fn section_words(section: Section) -> &'static str {
    match section {
        Section::Delete => "to delete",
        Section::Restore => "to restore",
        Section::Skip => "skipped",
    }
}

/// A page arrived for `section`: it joins or replaces the run as `job` says.
pub fn arrived(state: &mut State, section: Section, job: PageJob, items: Vec<PlanItem>) {
    let height = list_height(state);
    let hide = state.hide_times;
    let Some(plan) = plan_mut(state) else {
        return;
    };
    let total = plan.count(section);
    let pages = plan.pages_mut(section);
    let full = items.len() as i64 >= PLAN_PAGE;
    let mut notice = None;
    match job {
        PageJob::Append => {
            pages.exhausted = !full;
            pages.items.extend(items);
        }
        PageJob::Prepend => {
            let added: usize = items.iter().map(|i| view::item_line_count(i, hide)).sum();
            pages.cut_above = full;
            pages.scroll += added;
            let run = std::mem::replace(&mut pages.items, items);
            pages.items.extend(run);
        }
        PageJob::First => {
            pages.items = items;
            pages.cut_above = false;
            pages.exhausted = !full;
            pages.scroll = 0;
        }
        PageJob::Last => {
            pages.cut_above = (items.len() as i64) < total;
            pages.items = items;
            pages.exhausted = true;
            pages.scroll = pages.line_count(hide).saturating_sub(height);
        }
        PageJob::Find(prefix) => {
            if items.first().is_some_and(|i| i.sku.starts_with(&prefix)) {
                notice = Some(Notice::info(format!("found {}", items[0].sku)));
                // Whether keys come before it is known once the page
                // before is asked for (scrolling up, or at once).
                pages.cut_above = true;
                pages.exhausted = !full;
                pages.items = items;
                pages.scroll = 0;
            } else {
                notice = Some(Notice::error(format!(
                    "no SKU beginning with \"{}\" among the {} listings {} (SKUs are compared \
                     exactly, capitals too)",
                    crate::text::sanitize(&prefix),
                    thousands(total),
                    section_words(section)
                )));
            }
        }
    }
    if notice.is_some() {
        state.notice = notice;
    }
}

/// The SKU being typed after `/` takes every plain key and Backspace.
pub fn typed(state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
    plan_mut(state)
        .and_then(|p| p.search.as_mut())
        .is_some_and(|input| input.typed(ev.code, plain))
}

/// `/`, `g`, `G`, and Enter or Esc while a SKU is typed; `None` for any
/// other command.
pub fn command(state: &mut State, cmd: Command) -> Option<Vec<Effect>> {
    let plan = plan_mut(state)?;
    if let Some(input) = &plan.search {
        let prefix = input.text.trim().to_string();
        match cmd {
            Command::Apply => {
                plan.search = None;
                if prefix.is_empty() {
                    return Some(Vec::new());
                }
                return Some(request(state, PageJob::Find(prefix)));
            }
            Command::Back => plan.search = None,
            _ => {}
        }
        return Some(Vec::new());
    }
    let pages = plan.pages(plan.tab);
    match cmd {
        Command::Filter => {
            plan.search = Some(TextInput::default());
            Some(Vec::new())
        }
        Command::Top if pages.cut_above => Some(request(state, PageJob::First)),
        Command::Bottom if !pages.exhausted => Some(request(state, PageJob::Last)),
        _ => None,
    }
}
