//! The rollback plan, for a person to decide on: the import, the counts,
//! the details of one section (delete / restore / skip) loaded a page at a
//! time as the list scrolls, the conflict mode, the import id to type for
//! a large rollback, and Cancel (default) / Roll back. Its state and
//! update are here, its view in [`view`].

pub mod seek;
pub mod view;

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::rollback::{ConflictMode, PlanItem, Preview, Section};
use crate::tui::action::{Effect, Failure, ReqId};
use crate::tui::keys::Command;
use crate::tui::nav;
use crate::tui::state::{Notice, State};
use crate::tui::widgets::Button;
use crate::tui::widgets::input::TextInput;

use super::PopupStage;

/// Plan items fetched per request.
pub const PLAN_PAGE: i64 = 100;
/// Rollbacks touching more listings than this ask for the import id.
pub const LARGE_ROLLBACK: i64 = 1000;

const SECTIONS: [Section; 3] = [Section::Delete, Section::Restore, Section::Skip];

#[derive(Debug, Clone)]
pub struct PlanView {
    pub preview: Preview,
    pub tab: Section,
    pub delete: SectionPages,
    pub restore: SectionPages,
    pub skip: SectionPages,
    pub mode: ConflictMode,
    pub focus: Button,
    /// For large rollbacks: the import id typed to confirm.
    pub typed_id: TextInput,
    /// `/`: the SKU (or its beginning) being typed, to find in the section.
    pub search: Option<TextInput>,
    pub executing: Option<ReqId>,
    pub seconds: u64,
}

impl PlanView {
    pub fn new(preview: Preview) -> Self {
        let c = preview.counts;
        let tab = if c.restore > 0 {
            Section::Restore
        } else if c.delete > 0 {
            Section::Delete
        } else if c.skip > 0 {
            Section::Skip
        } else {
            Section::Restore
        };
        Self {
            preview,
            tab,
            delete: SectionPages::default(),
            restore: SectionPages::default(),
            skip: SectionPages::default(),
            mode: ConflictMode::Skip,
            focus: Button::Cancel,
            typed_id: TextInput::default(),
            search: None,
            executing: None,
            seconds: 0,
        }
    }

    pub fn pages(&self, s: Section) -> &SectionPages {
        match s {
            Section::Delete => &self.delete,
            Section::Restore => &self.restore,
            Section::Skip => &self.skip,
        }
    }

    pub fn pages_mut(&mut self, s: Section) -> &mut SectionPages {
        match s {
            Section::Delete => &mut self.delete,
            Section::Restore => &mut self.restore,
            Section::Skip => &mut self.skip,
        }
    }

    pub fn count(&self, s: Section) -> i64 {
        let c = self.preview.counts;
        match s {
            Section::Delete => c.delete,
            Section::Restore => c.restore,
            Section::Skip => c.skip,
        }
    }

    /// Listings the rollback changes (deleted + restored).
    pub fn changes(&self) -> i64 {
        self.preview.counts.delete + self.preview.counts.restore
    }

    pub fn is_large(&self) -> bool {
        self.changes() > LARGE_ROLLBACK
    }

    /// Block mode with conflicts: it would be refused, so it is not tried.
    fn blocked(&self) -> bool {
        self.mode == ConflictMode::Block && self.preview.counts.skip > 0
    }

    /// The confirm button works (for a large rollback: the id is typed).
    pub fn can_confirm(&self) -> bool {
        if self.executing.is_some() || self.blocked() {
            return false;
        }
        !self.is_large() || self.typed_id.text.trim() == self.preview.import_id.to_string()
    }
}

/// The loaded part of one section of the plan (a run of consecutive keys),
/// and its scroll position (in display lines).
#[derive(Debug, Clone, Default)]
pub struct SectionPages {
    pub items: Vec<PlanItem>,
    /// The run reaches the section's last key.
    pub exhausted: bool,
    /// Keys before the run exist and are not loaded (after `/` or `G`).
    pub cut_above: bool,
    /// The page in flight, and what it does to the run.
    pub loading: Option<(ReqId, seek::PageJob)>,
    pub scroll: usize,
    /// [`SectionPages::line_count`]'s last answer, for the run and the `t`
    /// setting it was counted for: every key asks, and counting walks
    /// every loaded diff.
    counted: std::cell::RefCell<Option<(RunId, usize)>>,
}

/// What a line count depends on: `t`, and which run is loaded (a run is
/// consecutive keys, so its length and its ends name it).
type RunId = (bool, usize, Option<String>, Option<String>);

impl SectionPages {
    /// Display lines of the loaded items, as [`view::render`] draws them
    /// (`hide_times`: without fields that only moved a timestamp).
    pub fn line_count(&self, hide_times: bool) -> usize {
        let run: RunId = (
            hide_times,
            self.items.len(),
            self.items.first().map(|i| i.sku.clone()),
            self.items.last().map(|i| i.sku.clone()),
        );
        if let Some((id, n)) = &*self.counted.borrow()
            && *id == run
        {
            return *n;
        }
        let n = self
            .items
            .iter()
            .map(|i| view::item_line_count(i, hide_times))
            .sum();
        *self.counted.borrow_mut() = Some((run, n));
        n
    }
}

// ---------------------------------------------------------------- update

pub fn plan_mut(state: &mut State) -> Option<&mut PlanView> {
    match &mut state.popup.as_mut()?.stage {
        PopupStage::Plan(p) => Some(p),
        _ => None,
    }
}

/// Lines of the details list: the popup less its borders, the header (3),
/// the tabs, the conflict mode, the buttons, and the id to type.
pub fn list_height(state: &State) -> usize {
    let inner = state.height.saturating_sub(4) as usize;
    let large = match state.popup.as_ref().map(|p| &p.stage) {
        Some(PopupStage::Plan(p)) => usize::from(p.is_large()),
        _ => 0,
    };
    inner.saturating_sub(6 + large).max(1)
}

/// Loads the next page of the visible section when its loaded lines do not
/// reach past the window (plus one window of read-ahead).
pub fn fill(state: &mut State) -> Vec<Effect> {
    let height = list_height(state);
    let hide = state.hide_times;
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    let (section, total) = (plan.tab, plan.count(plan.tab));
    let pages = plan.pages_mut(section);
    if !pages.cut_above && (pages.items.len() as i64) >= total {
        pages.exhausted = true;
    }
    let job = if pages.loading.is_some() {
        return Vec::new();
    } else if pages.cut_above && pages.scroll < height {
        seek::PageJob::Prepend
    } else if pages.exhausted || pages.line_count(hide) >= pages.scroll + 2 * height {
        return Vec::new();
    } else {
        seek::PageJob::Append
    };
    seek::request(state, job)
}

/// Reply to [`Effect::RollbackPage`].
pub fn page_loaded(
    state: &mut State,
    req: ReqId,
    section: Section,
    result: Result<Vec<PlanItem>, Failure>,
) -> Vec<Effect> {
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    let pages = plan.pages_mut(section);
    let Some((_, job)) = pages.loading.take_if(|(r, _)| *r == req) else {
        return Vec::new();
    };
    match result {
        Ok(items) => {
            seek::arrived(state, section, job, items);
            fill(state)
        }
        Err(f) => {
            state.fail(f, true);
            Vec::new()
        }
    }
}

/// Digits (and Backspace) go to the import id a large rollback asks for;
/// `false` for any other key.
pub fn typed(state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
    if seek::typed(state, ev, plain) {
        return true;
    }
    let Some(plan) = plan_mut(state).filter(|p| p.is_large()) else {
        return false;
    };
    match ev.code {
        KeyCode::Char(c) if plain && c.is_ascii_digit() => plan.typed_id.insert(c),
        KeyCode::Backspace => plan.typed_id.backspace(),
        _ => return false,
    }
    true
}

pub fn command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let height = list_height(state);
    let hide = state.hide_times;
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    if plan.executing.is_some() {
        state.notice = Some(Notice::info(
            "the rollback is running: it completes or changes nothing (quitting cancels it)",
        ));
        return Vec::new();
    }
    if let Some(effects) = seek::command(state, cmd) {
        return effects;
    }
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    match cmd {
        Command::NextTab | Command::PrevTab => {
            let i = SECTIONS.iter().position(|s| *s == plan.tab).unwrap_or(0);
            let step = if cmd == Command::NextTab { 1 } else { 2 };
            plan.tab = SECTIONS[(i + step) % 3];
        }
        Command::Left | Command::Right => plan.focus = plan.focus.other(),
        Command::ToggleMode => {
            plan.mode = match plan.mode {
                ConflictMode::Skip => ConflictMode::Block,
                ConflictMode::Block => ConflictMode::Skip,
            };
        }
        Command::Back => {
            state.popup = None;
            return Vec::new();
        }
        Command::Activate => return activate(state),
        _ => {
            let pages = plan.pages_mut(plan.tab);
            let len = pages.line_count(hide);
            nav::scroll(&mut pages.scroll, cmd, len, height);
        }
    }
    fill(state)
}

/// Enter: Cancel closes; Roll back executes the plan previewed (its
/// fingerprint), or says why it cannot.
fn activate(state: &mut State) -> Vec<Effect> {
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    if plan.focus == Button::Cancel {
        state.popup = None;
        return Vec::new();
    }
    if !plan.can_confirm() {
        let msg = if plan.blocked() {
            format!(
                "blocked: {} listing(s) changed after the import; press m to skip them instead",
                plan.preview.counts.skip
            )
        } else {
            format!(
                "type the import id ({}) to confirm a rollback of {} listings",
                plan.preview.import_id,
                plan.changes()
            )
        };
        state.notice = Some(Notice::error(msg));
        return Vec::new();
    }
    let req = state.req();
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    plan.executing = Some(req);
    plan.seconds = 0;
    vec![Effect::RollbackExecute {
        req,
        id: plan.preview.import_id,
        mode: plan.mode,
        expect: plan.preview.fingerprint.clone(),
    }]
}

/// After a resize: keep each section's scroll position valid.
pub fn relayout(state: &mut State) {
    let height = list_height(state);
    let hide = state.hide_times;
    if let Some(plan) = plan_mut(state) {
        for s in SECTIONS {
            let pages = plan.pages_mut(s);
            let len = pages.line_count(hide);
            nav::clamp(&mut pages.scroll, len, height);
        }
    }
}

/// After `t` (hiding timestamps was `hid`): the item at the top of each
/// section's window stays at the top, though its lines changed.
pub fn keep_top_item(state: &mut State, hid: bool) {
    let now = state.hide_times;
    let Some(plan) = plan_mut(state) else {
        return;
    };
    for s in SECTIONS {
        let pages = plan.pages_mut(s);
        let (mut before, mut after) = (0, 0);
        for item in &pages.items {
            let n = view::item_line_count(item, hid);
            if before + n > pages.scroll {
                break;
            }
            before += n;
            after += view::item_line_count(item, now);
        }
        pages.scroll = after;
    }
}
