//! The rollback popup, from `r` on an import to its result: is it
//! eligible, the plan (counts first, then the details page by page, the
//! conflict mode, Cancel by default; in [`plan`]), the execution, then the
//! result or the refusal (in [`view`]). Every stage waits for the worker
//! with a request id; a reply for a stage that is gone is dropped.

pub mod plan;
pub mod view;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::domain::history::ImportState;
use crate::domain::rollback::{PlanItem, Preview, RollbackOutcome};
use crate::tui::action::{Effect, Failure, ReqId, RollbackFailure};
use crate::tui::keys::{Command, Ctx};
use crate::tui::nav;
use crate::tui::popup::PopupModule;
use crate::tui::popup::full_text::Item;
use crate::tui::screen::detail;
use crate::tui::screen::history::{self, Eligibility};
use crate::tui::state::{Notice, State};
use crate::tui::widgets::text::thousands;
use plan::PlanView;

#[derive(Debug, Clone)]
pub struct RollbackPopup {
    pub import_id: i64,
    pub stage: PopupStage,
}

#[derive(Debug, Clone)]
pub enum PopupStage {
    /// Asking whether the import can be rolled back.
    Checking { req: ReqId },
    /// Why it cannot.
    Ineligible { reason: String },
    /// Computing the plan's counts and fingerprint.
    Previewing { req: ReqId, seconds: u64 },
    /// The plan, for a person to decide on.
    Plan(Box<PlanView>),
    /// Rolled back.
    Done {
        outcome: Box<RollbackOutcome>,
        file: String,
        scroll: usize,
    },
    /// Refused or failed: nothing was changed.
    Refused {
        message: String,
        conflicts: Vec<PlanItem>,
        /// The plan changed: Enter previews again.
        can_retry: bool,
        scroll: usize,
    },
}

/// The rollback popup.
pub struct Rollback;

impl PopupModule for Rollback {
    fn is_open(&self, state: &State) -> bool {
        state.popup.is_some()
    }

    fn context(&self, state: &State) -> Ctx {
        state
            .popup
            .as_ref()
            .map_or(Ctx::PopupResult, RollbackPopup::context)
    }

    fn command(&self, state: &mut State, cmd: Command) -> Vec<Effect> {
        command(state, cmd)
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        view::render(frame, area, state)
    }

    /// The digits of the import id a large rollback asks for.
    fn typed(&self, state: &mut State, ev: &KeyEvent, plain: bool) -> bool {
        matches!(self.context(state), Ctx::Popup | Ctx::FindSku) && plan::typed(state, ev, plain)
    }

    fn busy(&self, state: &State) -> bool {
        state.popup.as_ref().is_some_and(RollbackPopup::is_busy)
    }

    fn tick(&self, state: &mut State) {
        if let Some(p) = state.popup.as_mut() {
            p.tick();
        }
    }

    fn relayout(&self, state: &mut State) {
        plan::relayout(state);
    }

    /// The popup's own values in full: the file's path, the plan's
    /// fingerprint, the counts, and a refusal's or an ineligibility's words.
    fn full_text(&self, state: &State) -> Vec<Item> {
        let Some(p) = state.popup.as_ref() else {
            return Vec::new();
        };
        let mut items = vec![Item::new("Import", p.import_id.to_string())];
        match &p.stage {
            PopupStage::Plan(plan) => {
                let v = &plan.preview;
                let c = v.counts;
                items.extend([
                    Item::new("File", &v.file_name),
                    Item::new("Seller", &v.seller),
                    Item::new(
                        "Imported",
                        format!(
                            "{} by {}",
                            state.clock.time_ago(&v.imported_at),
                            v.imported_by
                        ),
                    ),
                    Item::new(
                        "Plan",
                        format!(
                            "{} to delete, {} to restore, {} to skip ({} edited, {} deleted, {} \
                             referenced after the import)",
                            thousands(c.delete),
                            thousands(c.restore),
                            thousands(c.skip),
                            thousands(c.skipped_edited),
                            thousands(c.skipped_deleted),
                            thousands(c.skipped_referenced)
                        ),
                    ),
                    Item::new("Plan fingerprint", &v.fingerprint),
                ]);
            }
            PopupStage::Ineligible { reason } => items.push(Item::new("Why not", reason)),
            PopupStage::Refused { message, .. } => items.push(Item::new("Refused", message)),
            PopupStage::Done { file, .. } => items.push(Item::new("File", file)),
            _ => {}
        }
        items
    }

    fn running(&self, state: &State) -> Option<(ReqId, String)> {
        let p = state.popup.as_ref()?;
        match &p.stage {
            PopupStage::Plan(plan) => plan
                .executing
                .map(|req| (req, format!("the rollback of import #{}", p.import_id))),
            _ => None,
        }
    }
}

impl RollbackPopup {
    /// Waiting for the database (shows elapsed time; Esc cannot stop an
    /// execution).
    pub fn is_busy(&self) -> bool {
        match &self.stage {
            PopupStage::Checking { .. } | PopupStage::Previewing { .. } => true,
            PopupStage::Plan(p) => p.executing.is_some(),
            _ => false,
        }
    }

    pub fn context(&self) -> Ctx {
        if self.is_busy() {
            Ctx::PopupBusy
        } else if let PopupStage::Plan(plan) = &self.stage {
            if plan.search.is_some() {
                Ctx::FindSku
            } else {
                Ctx::Popup
            }
        } else {
            Ctx::PopupResult
        }
    }

    /// One second more of a preview or an execution.
    pub fn tick(&mut self) {
        match &mut self.stage {
            PopupStage::Previewing { seconds, .. } => *seconds += 1,
            PopupStage::Plan(plan) if plan.executing.is_some() => plan.seconds += 1,
            _ => {}
        }
    }
}

fn refused(message: String) -> PopupStage {
    PopupStage::Refused {
        message,
        conflicts: Vec::new(),
        can_retry: false,
        scroll: 0,
    }
}

/// The skip reason as words.
pub fn skip_reason(reason: Option<&str>) -> String {
    match reason {
        Some("edited") => "edited after the import".into(),
        Some("deleted") => "deleted after the import".into(),
        Some("referenced") => "now referenced by other rows".into(),
        Some(other) => crate::text::sanitize(other).into_owned(),
        None => "changed after the import".into(),
    }
}

// ---------------------------------------------------------------- update

/// Opens the popup on import `id`: first, can it be rolled back?
pub fn open(state: &mut State, id: i64) -> Vec<Effect> {
    let req = state.req();
    state.popup = Some(RollbackPopup {
        import_id: id,
        stage: PopupStage::Checking { req },
    });
    vec![Effect::RollbackCheck { req, id }]
}

/// Computes the plan (again).
fn preview(state: &mut State, id: i64) -> Vec<Effect> {
    let req = state.req();
    if let Some(p) = state.popup.as_mut() {
        p.stage = PopupStage::Previewing { req, seconds: 0 };
    }
    vec![Effect::RollbackPreview { req, id }]
}

/// The import id, if the popup still waits for request `req` (checking
/// or previewing): a reply to anything else is stale.
fn waiting_for(state: &State, req: ReqId) -> Option<i64> {
    let p = state.popup.as_ref()?;
    matches!(
        p.stage,
        PopupStage::Checking { req: r } | PopupStage::Previewing { req: r, .. } if r == req
    )
    .then_some(p.import_id)
}

/// The answer of a check or a preview: its value if import `id` can be
/// rolled back; else the popup says why not, or that the request failed
/// (`what` could not be done).
fn settle<T>(
    state: &mut State,
    id: i64,
    result: Result<Result<T, String>, Failure>,
    what: &str,
) -> Option<T> {
    let stage = match result {
        Ok(Ok(value)) => return Some(value),
        Ok(Err(reason)) => {
            let why = Eligibility::Ineligible(reason.clone());
            state.history.eligibility.insert(id, why);
            PopupStage::Ineligible { reason }
        }
        Err(f) => {
            let stage = refused(format!("{what}: {}", f.message));
            state.fail(f, false);
            stage
        }
    };
    if let Some(p) = state.popup.as_mut() {
        p.stage = stage;
    }
    None
}

/// Reply to [`Effect::RollbackCheck`]: if it can be rolled back, compute
/// the plan.
pub fn checked(
    state: &mut State,
    req: ReqId,
    result: Result<Result<(), String>, Failure>,
) -> Vec<Effect> {
    let Some(id) = waiting_for(state, req) else {
        return Vec::new();
    };
    match settle(state, id, result, "cannot check the import") {
        Some(()) => {
            state.history.eligibility.insert(id, Eligibility::Eligible);
            preview(state, id)
        }
        None => Vec::new(),
    }
}

/// Reply to [`Effect::RollbackPreview`]: the plan, and its first page.
pub fn previewed(
    state: &mut State,
    req: ReqId,
    result: Result<Result<Preview, String>, Failure>,
) -> Vec<Effect> {
    let Some(id) = waiting_for(state, req) else {
        return Vec::new();
    };
    let Some(preview) = settle(state, id, result, "cannot compute the plan") else {
        return Vec::new();
    };
    if let Some(p) = state.popup.as_mut() {
        p.stage = PopupStage::Plan(Box::new(PlanView::new(preview)));
    }
    plan::fill(state)
}

/// Reply to [`Effect::RollbackExecute`]: the result, or why nothing was
/// changed. The history (and the detail screen, if it shows the import)
/// reload either way.
pub fn executed(
    state: &mut State,
    req: ReqId,
    result: Result<Box<RollbackOutcome>, RollbackFailure>,
) -> Vec<Effect> {
    let Some(plan) = plan::plan_mut(state).filter(|p| p.executing == Some(req)) else {
        return Vec::new();
    };
    plan.executing = None;
    let file = plan.preview.file_name.clone();
    let id = plan.preview.import_id;
    state.notice = None;
    state.history.eligibility.clear();
    match result {
        Ok(outcome) => {
            if let Some(row) = state.history.list.rows.iter_mut().find(|r| r.id == id) {
                row.status = ImportState::RolledBack;
            }
            let mut effects = Vec::new();
            if let Some(d) = state.detail.as_mut().filter(|d| d.id == id) {
                d.rollback = Some(outcome.clone());
                effects.extend(detail::reload(state));
            }
            if let Some(p) = state.popup.as_mut() {
                p.stage = PopupStage::Done {
                    outcome,
                    file,
                    scroll: 0,
                };
            }
            effects.extend(history::reload(state));
            effects
        }
        Err(rf) => {
            if let Some(p) = state.popup.as_mut() {
                p.stage = PopupStage::Refused {
                    message: rf.failure.message.clone(),
                    conflicts: rf.conflicts,
                    can_retry: rf.plan_changed,
                    scroll: 0,
                };
            }
            state.fail(rf.failure, false);
            history::reload(state)
        }
    }
}

fn command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let extent = view::result_text(state).map(|r| (r.list.len(), r.list_rows()));
    let Some(popup) = state.popup.as_mut() else {
        return Vec::new();
    };
    let id = popup.import_id;
    match &mut popup.stage {
        PopupStage::Plan(_) => plan::command(state, cmd),
        PopupStage::Checking { .. } | PopupStage::Previewing { .. } => {
            if cmd == Command::Back {
                // The reply, when it comes, is stale and dropped.
                state.popup = None;
            } else {
                state.notice = Some(Notice::info(
                    "still asking the database; Esc closes this and changes nothing",
                ));
            }
            Vec::new()
        }
        PopupStage::Refused {
            can_retry: true, ..
        } if cmd == Command::Activate => preview(state, id),
        PopupStage::Ineligible { .. } | PopupStage::Done { .. } | PopupStage::Refused { .. }
            if matches!(cmd, Command::Back | Command::Activate) =>
        {
            state.popup = None;
            Vec::new()
        }
        PopupStage::Done { scroll, .. } | PopupStage::Refused { scroll, .. } => {
            if let Some((len, page)) = extent {
                nav::scroll(scroll, cmd, len, page);
            }
            Vec::new()
        }
        PopupStage::Ineligible { .. } => Vec::new(),
    }
}
