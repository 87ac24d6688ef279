//! The restore popup (`r` on a change in a listing's timeline): the values
//! the listing had before that change, as a field diff against today's,
//! with Cancel as the default; on confirm the restore runs with the
//! preview's fingerprint, so a listing changed since the popup opened is
//! refused (Enter then previews again). A deleted listing is re-created.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::domain::listings::{ChangeAction, RestoreOutcome, RestorePreview};
use crate::tui::action::{Effect, ReqId, RestoreFailure};
use crate::tui::keys::{Command, Ctx};
use crate::tui::layout;
use crate::tui::nav;
use crate::tui::popup::PopupModule;
use crate::tui::screen::timeline::{self, diff_lines};
use crate::tui::state::State;
use crate::tui::widgets::text::{self, fit};
use crate::tui::widgets::{Button, block, buttons_line, labelled};

#[derive(Debug, Clone)]
pub struct RestorePopup {
    pub seller: String,
    pub sku: String,
    /// Restore the values from before this change.
    pub change_id: i64,
    pub stage: RestoreStage,
    /// The first line of the scrolled part shown.
    pub scroll: usize,
}

#[derive(Debug, Clone)]
pub enum RestoreStage {
    Previewing {
        req: ReqId,
    },
    /// The diff, for a person to decide on.
    Plan {
        preview: Box<RestorePreview>,
        focus: Button,
        /// The restore is running.
        executing: Option<ReqId>,
    },
    Done(Box<RestoreOutcome>),
    /// Refused or failed: nothing was changed.
    Refused {
        message: String,
        /// The listing changed since the preview: Enter previews again.
        stale: bool,
    },
}

impl RestorePopup {
    fn busy(&self) -> bool {
        matches!(
            self.stage,
            RestoreStage::Previewing { .. }
                | RestoreStage::Plan {
                    executing: Some(_),
                    ..
                }
        )
    }
}

/// The restore popup.
pub struct Restore;

impl PopupModule for Restore {
    fn is_open(&self, state: &State) -> bool {
        state.restore.is_some()
    }

    fn context(&self, state: &State) -> Ctx {
        match state.restore.as_ref().map(|p| (p.busy(), &p.stage)) {
            Some((true, _)) => Ctx::RestoreBusy,
            Some((false, RestoreStage::Plan { .. })) => Ctx::Restore,
            _ => Ctx::RestoreResult,
        }
    }

    fn command(&self, state: &mut State, cmd: Command) -> Vec<Effect> {
        command(state, cmd)
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        render(frame, area, state)
    }
}

// ---------------------------------------------------------------- update

/// Opens the popup: what restoring the values from before change
/// `change_id` would change.
pub fn open(state: &mut State, seller: String, sku: String, change_id: i64) -> Vec<Effect> {
    let req = state.req();
    state.restore = Some(RestorePopup {
        seller: seller.clone(),
        sku: sku.clone(),
        change_id,
        stage: RestoreStage::Previewing { req },
        scroll: 0,
    });
    vec![Effect::RestorePreview {
        req,
        seller,
        sku,
        change_id,
    }]
}

fn command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let (len, page) = (scrolled_lines(state).len(), scroll_height(state));
    let Some(p) = state.restore.as_mut() else {
        return Vec::new();
    };
    if nav::scroll(&mut p.scroll, cmd, len, page) {
        return Vec::new();
    }
    match (&mut p.stage, cmd) {
        // An execution runs to its end; its result is shown.
        (
            RestoreStage::Plan {
                executing: Some(_), ..
            },
            _,
        ) => Vec::new(),
        (RestoreStage::Plan { focus, .. }, Command::Left | Command::Right) => {
            *focus = focus.other();
            Vec::new()
        }
        (
            RestoreStage::Plan {
                focus: Button::Confirm,
                ..
            },
            Command::Activate,
        ) => execute(state),
        (RestoreStage::Refused { stale: true, .. }, Command::Activate) => {
            let (seller, sku, id) = (p.seller.clone(), p.sku.clone(), p.change_id);
            open(state, seller, sku, id)
        }
        (RestoreStage::Done(_), Command::Activate | Command::Back) => {
            state.restore = None;
            timeline::reload(state)
        }
        (_, Command::Activate | Command::Back) => {
            // Cancel, or a closed refusal; a preview's late reply is dropped.
            state.restore = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Runs the restore the user confirmed, with the preview's fingerprint.
fn execute(state: &mut State) -> Vec<Effect> {
    let req = state.req();
    let Some(p) = state.restore.as_mut() else {
        return Vec::new();
    };
    let RestoreStage::Plan {
        preview, executing, ..
    } = &mut p.stage
    else {
        return Vec::new();
    };
    *executing = Some(req);
    vec![Effect::RestoreExecute {
        req,
        seller: p.seller.clone(),
        sku: p.sku.clone(),
        change_id: p.change_id,
        expect: preview.fingerprint.clone(),
    }]
}

/// Reply to [`Effect::RestorePreview`].
pub fn previewed(
    state: &mut State,
    req: ReqId,
    result: Result<Box<RestorePreview>, RestoreFailure>,
) -> Vec<Effect> {
    let waiting =
        |p: &RestorePopup| matches!(p.stage, RestoreStage::Previewing { req: r } if r == req);
    if !state.restore.as_ref().is_some_and(waiting) {
        return Vec::new();
    }
    let stage = match result {
        Ok(preview) => RestoreStage::Plan {
            preview,
            focus: Button::Cancel,
            executing: None,
        },
        Err(f) => settle(state, f, "cannot preview the restore"),
    };
    show(state, stage)
}

/// Reply to [`Effect::RestoreExecute`].
pub fn executed(
    state: &mut State,
    req: ReqId,
    result: Result<Box<RestoreOutcome>, RestoreFailure>,
) -> Vec<Effect> {
    let waiting = |p: &RestorePopup| matches!(p.stage, RestoreStage::Plan { executing: Some(r), .. } if r == req);
    if !state.restore.as_ref().is_some_and(waiting) {
        return Vec::new();
    }
    let stage = match result {
        Ok(outcome) => RestoreStage::Done(outcome),
        Err(f) => settle(state, f, "the restore failed; nothing was changed"),
    };
    show(state, stage)
}

fn show(state: &mut State, stage: RestoreStage) -> Vec<Effect> {
    if let Some(p) = state.restore.as_mut() {
        p.scroll = 0;
        p.stage = stage;
    }
    Vec::new()
}

/// A refusal in words; a lost connection also shows the banner.
fn settle(state: &mut State, f: RestoreFailure, what: &str) -> RestoreStage {
    let message = if f.failure.connection {
        format!("{what}: {}", f.failure.message)
    } else {
        f.failure.message.clone()
    };
    let stale = f.stale;
    state.fail(f.failure, false);
    RestoreStage::Refused { message, stale }
}

// ---------------------------------------------------------------- view

/// The popup covers the body; its last inner line holds the buttons or a hint.
fn rect(state: &State) -> Rect {
    layout::popup_rect(state.area())
}

/// Lines of the scrolled part (under the fixed head) that fit at once:
/// the note and the buttons take the last three.
fn scroll_height(state: &State) -> usize {
    layout::inner_height(rect(state)).saturating_sub(head_len(state) + 3)
}

/// Above the buttons, while deciding.
const NOTE: &str = " A restore is an edit: a later rollback of an import skips it (or blocks).";

fn head_len(state: &State) -> usize {
    head(state, state.width as usize).len()
}

/// What the popup says before the diff.
fn head(state: &State, w: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let Some(p) = &state.restore else {
        return Vec::new();
    };
    let listing = format!("{} of seller {}", fit(&p.sku, 30), fit(&p.seller, 20));
    let mut out = vec![labelled("Listing", &listing, 9, w, t)];
    match &p.stage {
        RestoreStage::Previewing { .. } => {
            out.push(Line::styled(" Reading the listing's values…", t.dim()));
        }
        RestoreStage::Plan {
            preview, executing, ..
        } => {
            let c = &preview.change;
            out.push(labelled(
                "Change",
                &format!("#{} {}", c.change_id, c.describe()),
                9,
                w,
                t,
            ));
            out.push(labelled("At", &state.clock.time(&c.at), 9, w, t));
            out.push(labelled(
                "Check",
                &format!(
                    "{} (refused if the listing changes first)",
                    preview.fingerprint
                ),
                9,
                w,
                t,
            ));
            out.push(Line::default());
            out.push(Line::styled(
                if preview.recreates {
                    " It is deleted: restoring re-creates it with the values before that change:"
                        .to_string()
                } else {
                    format!(
                        " The values before that change: {} field{} (- today, + restored)",
                        preview.diff.len(),
                        if preview.diff.len() == 1 { "" } else { "s" }
                    )
                },
                t.bold(),
            ));
            if executing.is_some() {
                out.push(Line::styled(" Restoring…", t.warn()));
            }
        }
        RestoreStage::Done(o) => {
            out.push(Line::styled(
                format!(
                    " {} {} to its values from before change #{} (restore #{}).",
                    if o.recreated {
                        "Re-created"
                    } else {
                        "Restored"
                    },
                    fit(&o.sku, 30),
                    o.before_change,
                    o.restore_id
                ),
                t.ok().add_modifier(Modifier::BOLD),
            ));
            out.push(Line::raw(
                " Recorded in the audit log as `listing restored`.",
            ));
            out.push(Line::raw(
                " An import rolled back later skips this listing (or blocks).",
            ));
        }
        RestoreStage::Refused { message, stale } => {
            out.push(Line::styled(" Nothing was changed.", t.bold()));
            for l in text::wrap(message, w.saturating_sub(2)) {
                out.push(Line::styled(format!(" {l}"), t.error()));
            }
            if *stale {
                out.push(Line::raw(" Press Enter to preview it again, Esc to close."));
            }
        }
    }
    out.into_iter()
        .map(|l| {
            let s: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            if text::width(&s) > w {
                Line::styled(text::cut(&s, w), l.style)
            } else {
                l
            }
        })
        .collect()
}

/// The field diff (today -> restored), scrolled when long.
fn scrolled_lines(state: &State) -> Vec<Line<'static>> {
    let w = rect(state).width.saturating_sub(4) as usize;
    match state.restore.as_ref().map(|p| &p.stage) {
        Some(RestoreStage::Plan { preview, .. }) => {
            diff_lines(&preview.diff, recreated(preview.recreates), w, state)
        }
        Some(RestoreStage::Done(o)) => diff_lines(&o.diff, recreated(o.recreated), w, state),
        _ => Vec::new(),
    }
}

/// A re-created listing's diff has only the restored side.
fn recreated(yes: bool) -> Option<ChangeAction> {
    yes.then_some(ChangeAction::Created)
}

fn render(frame: &mut Frame, _area: Rect, state: &State) {
    let Some(p) = &state.restore else {
        return;
    };
    let t = &state.theme;
    let area = rect(state);
    frame.render_widget(Clear, area);
    let b = block(" Restore one listing ", t);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = inner.width as usize;
    let mut lines = head(state, w);
    let page = scroll_height(state);
    lines.extend(scrolled_lines(state).into_iter().skip(p.scroll).take(page));
    frame.render_widget(Paragraph::new(lines), inner);
    match &p.stage {
        RestoreStage::Plan {
            focus, executing, ..
        } => {
            let label = "[ Restore ]";
            let y = inner.y + inner.height.saturating_sub(3);
            frame.render_widget(
                Paragraph::new(text::cut(NOTE, inner.width as usize)).style(t.dim()),
                Rect::new(inner.x, y, inner.width, 1),
            );
            buttons_line(
                frame,
                inner,
                &[
                    ("[ Cancel ]", *focus == Button::Cancel, executing.is_none()),
                    (label, *focus == Button::Confirm, executing.is_none()),
                ],
                t,
            );
        }
        RestoreStage::Done(_) | RestoreStage::Refused { .. } => {
            buttons_line(frame, inner, &[("[ Close ]", true, true)], t);
        }
        RestoreStage::Previewing { .. } => {}
    }
}
