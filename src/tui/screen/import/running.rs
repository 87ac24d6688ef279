//! A dry run or an import in progress and how it ends: progress, Esc's
//! question and the cancellation, the reply (a review pinned to the plan
//! the dry run showed, a result, a refusal with "Dry run again", a
//! cancellation).

use crate::domain::StopCause;
use crate::domain::import::{ImportOutcome, Phase, Progress};
use crate::tui::action::{Effect, ImportFailure, ImportSpec, ReqId};
use crate::tui::keys::Command;
use crate::tui::popup::confirm::{self, Question};
use crate::tui::state::{Notice, State};
use crate::tui::widgets::Button;

use super::review::ReviewPages;
use super::{FormPhase, PROFILES};
use crate::tui::nav::ListNav;
use crate::tui::screen::history;

/// A dry run or an import in progress.
#[derive(Debug, Clone)]
pub struct Running {
    pub req: ReqId,
    pub dry_run: bool,
    pub progress: Option<Progress>,
    /// Seconds since it started, and since its current phase started.
    pub seconds: u64,
    pub phase_seconds: u64,
    /// The import's transaction is being rolled back after Esc.
    pub cancelling: bool,
}

impl Running {
    fn new(req: ReqId, dry_run: bool) -> Self {
        Self {
            req,
            dry_run,
            progress: None,
            seconds: 0,
            phase_seconds: 0,
            cancelling: false,
        }
    }

    /// The phase it is in (reading until the first report says otherwise).
    pub fn phase(&self) -> Phase {
        self.progress.map_or(Phase::Reading, |p| p.phase)
    }
}

/// The import was refused: Back to the form, or the same dry run again.
pub(super) fn refused_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let FormPhase::Refused { spec, focus, .. } = &mut state.form.phase else {
        return Vec::new();
    };
    match cmd {
        Command::Left | Command::Right => *focus = focus.other(),
        Command::Activate if *focus == Button::Confirm => {
            let spec = ImportSpec {
                dry_run: true,
                expect: None,
                ..spec.clone()
            };
            return run(state, spec);
        }
        Command::Activate | Command::Back => {
            state.form.phase = FormPhase::Editing { error: None };
        }
        _ => {}
    }
    Vec::new()
}

/// While a dry run or import runs: Esc asks whether to cancel it.
pub(super) fn busy_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let FormPhase::Running(r) = &state.form.phase else {
        return Vec::new();
    };
    if cmd == Command::Back {
        if r.cancelling {
            state.notice = Some(Notice::info(
                "cancelling: the transaction is being rolled back",
            ));
        } else {
            let question = Question::CancelImport {
                req: r.req,
                dry_run: r.dry_run,
            };
            confirm::ask(state, question);
        }
    }
    Vec::new()
}

/// The answer "cancel it" to the question Esc asked: the worker cancels
/// request `req` (its reply says how it ended).
pub fn cancel(state: &mut State, req: ReqId) -> Vec<Effect> {
    match state.form.running_mut(req) {
        Some(r) => {
            r.cancelling = true;
            vec![Effect::Cancel {
                req,
                cause: StopCause::Requested,
            }]
        }
        None => {
            state.notice = Some(Notice::info("it had already finished"));
            Vec::new()
        }
    }
}

/// Runs `spec` (a dry run, or the import it pinned).
pub(super) fn run(state: &mut State, spec: ImportSpec) -> Vec<Effect> {
    let req = state.req();
    state.form.phase = FormPhase::Running(Running::new(req, spec.dry_run));
    vec![Effect::Import { req, spec }]
}

/// Progress of the running dry run or import.
pub fn progressed(state: &mut State, req: ReqId, progress: Progress) -> Vec<Effect> {
    if let Some(r) = state.form.running_mut(req) {
        if r.phase() != progress.phase {
            r.phase_seconds = 0;
        }
        r.progress = Some(progress);
    }
    Vec::new()
}

/// Reply to [`Effect::Import`].
pub fn done(
    state: &mut State,
    req: ReqId,
    result: Result<Box<ImportOutcome>, ImportFailure>,
) -> Vec<Effect> {
    let Some(dry_run) = state.form.running_mut(req).map(|r| r.dry_run) else {
        return Vec::new();
    };
    // A question about cancelling it has no object any more.
    if matches!(
        state.confirm.as_ref().map(|c| &c.question),
        Some(Question::CancelImport { req: r, .. }) if *r == req
    ) {
        state.confirm = None;
    }
    match result {
        Ok(outcome) if dry_run => {
            let spec = pinned_spec(state, &outcome);
            let loaded = outcome.changes.as_ref().map_or(0, Vec::len);
            let pages = ReviewPages::new(loaded, outcome.counts.updated);
            state.form.phase = FormPhase::Reviewed {
                outcome,
                spec,
                focus: Button::Cancel,
                scroll: 0,
                pages,
            };
            Vec::new()
        }
        Ok(outcome) => {
            let id = outcome.import_id;
            state.form.phase = FormPhase::Done { outcome, scroll: 0 };
            // The new import is the newest: show it at the top of the history.
            state.history.list.reselect = id;
            state.history.list.nav = ListNav::default();
            state.history.eligibility.clear();
            history::load(state, false)
        }
        Err(ImportFailure::Refused(message)) => {
            let spec = ImportSpec {
                dry_run: true,
                expect: None,
                ..form_spec(state)
            };
            state.form.phase = FormPhase::Refused {
                message,
                spec,
                focus: Button::Confirm,
            };
            history::reload(state)
        }
        Err(ImportFailure::Cancelled(message)) => {
            state.form.phase = FormPhase::Editing { error: None };
            state.notice = Some(Notice::info(message));
            history::reload(state)
        }
        Err(ImportFailure::Failed(f)) => {
            state.form.phase = FormPhase::Editing {
                error: Some(f.message.clone()),
            };
            state.fail(f, false);
            Vec::new()
        }
    }
}

/// What the form ran, as a spec (the fields cannot change while it runs).
fn form_spec(state: &State) -> ImportSpec {
    let form = &state.form;
    ImportSpec {
        path: form.file.text.trim().into(),
        seller: form.seller.text.trim().to_string(),
        profile: PROFILES.get(form.profile).copied().flatten(),
        key_column: super::given(&form.key),
        default_currency: super::given(&form.currency),
        dry_run: false,
        skip_invalid: form.skip_invalid,
        expect: None,
    }
}

/// The import a dry run's outcome stands for: what the form ran, as an
/// import pinned to the plan the dry run showed.
fn pinned_spec(state: &State, outcome: &ImportOutcome) -> ImportSpec {
    ImportSpec {
        dry_run: false,
        expect: outcome.plan_fingerprint.clone(),
        ..form_spec(state)
    }
}
