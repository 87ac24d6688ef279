//! The new-import form: its state and update. File (Tab completes),
//! seller, profile, option; a dry run shows what would change; then Cancel
//! (default) or Import. The view is in [`view`], the outcome's lines (the
//! review and the result) in [`outcome`].

pub mod outcome;
pub mod view;

use std::sync::LazyLock;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::domain::import::{ImportOutcome, ImportStatus, ProfileKind, Progress};
use crate::tui::action::{Completion, Effect, Failure, ImportSpec, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::nav;
use crate::tui::nav::ListNav;
use crate::tui::state::State;
use crate::tui::widgets::Button;
use crate::tui::widgets::input::TextInput;

use super::{Screen, ScreenModule, detail, history};

/// The profile choices of the form (`None`: detect from the header),
/// from the profile registry.
pub static PROFILES: LazyLock<Vec<Option<ProfileKind>>> = LazyLock::new(|| {
    std::iter::once(None)
        .chain(ProfileKind::all().iter().copied().map(Some))
        .collect()
});

pub fn profile_name(p: Option<ProfileKind>) -> &'static str {
    p.map(|k| k.name()).unwrap_or("auto")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    File,
    Seller,
    Profile,
    SkipInvalid,
    DryRun,
}

impl FormField {
    pub const ALL: [FormField; 5] = [
        FormField::File,
        FormField::Seller,
        FormField::Profile,
        FormField::SkipInvalid,
        FormField::DryRun,
    ];

    pub fn is_text(self) -> bool {
        matches!(self, FormField::File | FormField::Seller)
    }
}

#[derive(Debug, Clone)]
pub struct ImportForm {
    pub file: TextInput,
    pub seller: TextInput,
    /// Index into [`PROFILES`].
    pub profile: usize,
    pub skip_invalid: bool,
    pub focus: FormField,
    pub completion: Option<Completion>,
    pub completing: Option<ReqId>,
    pub phase: FormPhase,
}

impl Default for ImportForm {
    fn default() -> Self {
        Self {
            file: TextInput::default(),
            seller: TextInput::default(),
            profile: 0,
            skip_invalid: false,
            focus: FormField::File,
            completion: None,
            completing: None,
            phase: FormPhase::Editing { error: None },
        }
    }
}

#[derive(Debug, Clone)]
pub enum FormPhase {
    Editing {
        error: Option<String>,
    },
    DryRunning {
        req: ReqId,
        progress: Option<Progress>,
        seconds: u64,
    },
    /// The dry run's result: what would change; Cancel or Import.
    Reviewed {
        outcome: Box<ImportOutcome>,
        focus: Button,
        scroll: usize,
    },
    Importing {
        req: ReqId,
        progress: Option<Progress>,
        seconds: u64,
        /// The dry run's counts, for the gauge's total.
        expected_rows: u64,
    },
    Done {
        outcome: Box<ImportOutcome>,
        scroll: usize,
    },
}

impl ImportForm {
    pub fn is_busy(&self) -> bool {
        matches!(
            self.phase,
            FormPhase::DryRunning { .. } | FormPhase::Importing { .. }
        )
    }

    /// The text field with the focus, if the focus is on one.
    pub fn focused_input(&mut self) -> Option<&mut TextInput> {
        match self.focus {
            FormField::File => Some(&mut self.file),
            FormField::Seller => Some(&mut self.seller),
            _ => None,
        }
    }

    /// After the text of a field changed: a completion or an error no
    /// longer applies.
    pub fn edited(&mut self) {
        if self.focus == FormField::File {
            self.completion = None;
            self.completing = None;
        }
        if let FormPhase::Editing { error } = &mut self.phase {
            *error = None;
        }
    }

    /// One second more of a running dry run or import.
    pub fn tick(&mut self) {
        if let FormPhase::DryRunning { seconds, .. } | FormPhase::Importing { seconds, .. } =
            &mut self.phase
        {
            *seconds += 1
        }
    }

    fn move_focus(&mut self, delta: isize) {
        let all = FormField::ALL;
        let i = all.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = all.len() as isize;
        self.focus = all[((i + delta).rem_euclid(n)) as usize];
    }

    /// Back to an empty file field after an import finished.
    fn reset_after_done(&mut self) {
        self.phase = FormPhase::Editing { error: None };
        self.file.clear();
        self.completion = None;
        self.focus = FormField::File;
    }
}

/// The import form screen.
pub struct Import;

impl ScreenModule for Import {
    fn title(&self) -> &'static str {
        "New import"
    }

    fn context(&self, state: &State) -> Ctx {
        context(&state.form)
    }

    fn command(&self, state: &mut State, ctx: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
        match ctx {
            Ctx::Form | Ctx::FormText => editing_command(state, cmd, ev),
            Ctx::FormReview => review_command(state, cmd),
            Ctx::FormDone => done_command(state, cmd),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        view::render(frame, area, state)
    }

    fn text_input<'a>(&self, state: &'a mut State) -> Option<&'a mut TextInput> {
        state.form.focused_input()
    }

    fn edited(&self, state: &mut State) {
        state.form.edited();
    }

    fn busy(&self, state: &State) -> bool {
        state.form.is_busy()
    }

    fn tick(&self, state: &mut State) {
        state.form.tick();
    }
}

fn context(form: &ImportForm) -> Ctx {
    match &form.phase {
        FormPhase::Editing { .. } if form.focus.is_text() => Ctx::FormText,
        FormPhase::Editing { .. } => Ctx::Form,
        FormPhase::DryRunning { .. } | FormPhase::Importing { .. } => Ctx::FormBusy,
        FormPhase::Reviewed { .. } => Ctx::FormReview,
        FormPhase::Done { .. } => Ctx::FormDone,
    }
}

// ---------------------------------------------------------------- update

/// Shows the form, the seller filled in when it is known.
pub fn open(state: &mut State) -> Vec<Effect> {
    let form = &mut state.form;
    if matches!(form.phase, FormPhase::Done { .. }) {
        form.phase = FormPhase::Editing { error: None };
        form.file.clear();
        form.focus = FormField::File;
    }
    if form.seller.text.is_empty() {
        // A seller can only import for itself; support gets the seller in view.
        let own = state.identity.as_ref().and_then(|i| i.own_seller());
        let seller = own
            .map(str::to_string)
            .or_else(|| state.history.filter.seller.clone())
            .or_else(|| state.selected_row().map(|r| r.seller.clone()));
        if let Some(s) = seller {
            state.form.seller.set(s);
        }
    }
    state.screen = Screen::ImportForm;
    Vec::new()
}

fn editing_command(state: &mut State, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let form = &mut state.form;
    match cmd {
        Command::NextField => form.move_focus(1),
        Command::PrevField => form.move_focus(-1),
        Command::Complete if form.focus == FormField::File => {
            let req = state.req();
            state.form.completing = Some(req);
            return vec![Effect::Complete {
                req,
                input: state.form.file.text.clone(),
            }];
        }
        Command::Complete => form.move_focus(1),
        Command::Left | Command::Right if form.focus == FormField::Profile => {
            let n = PROFILES.len();
            form.profile = if cmd == Command::Left {
                (form.profile + n - 1) % n
            } else {
                (form.profile + 1) % n
            };
        }
        Command::Left | Command::Right if form.focus == FormField::SkipInvalid => {
            form.skip_invalid = !form.skip_invalid;
        }
        Command::Toggle => match form.focus {
            FormField::SkipInvalid => form.skip_invalid = !form.skip_invalid,
            FormField::Profile => form.profile = (form.profile + 1) % PROFILES.len(),
            FormField::DryRun => return start(state, true),
            _ => {}
        },
        Command::Activate => match form.focus {
            FormField::DryRun => return start(state, true),
            _ => form.move_focus(1),
        },
        Command::Edit | Command::ClearInput => {
            if let Some(input) = form.focused_input()
                && input.edit(cmd, ev.code)
            {
                form.edited();
            }
        }
        Command::Back => state.screen = Screen::History,
        _ => {}
    }
    Vec::new()
}

fn review_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let len = view::outcome_line_count(state);
    let page = view::outcome_height(state);
    let FormPhase::Reviewed {
        outcome,
        focus,
        scroll,
    } = &mut state.form.phase
    else {
        return Vec::new();
    };
    let can_import = outcome.status == ImportStatus::DryRun;
    match cmd {
        Command::Left | Command::Right if can_import => *focus = focus.other(),
        Command::Activate if *focus == Button::Confirm && can_import => {
            return start(state, false);
        }
        Command::Activate | Command::Back => {
            state.form.phase = FormPhase::Editing { error: None };
        }
        _ => {
            nav::scroll(scroll, cmd, len, page);
        }
    }
    Vec::new()
}

fn done_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let len = view::outcome_line_count(state);
    let page = view::outcome_height(state);
    let FormPhase::Done { outcome, scroll } = &mut state.form.phase else {
        return Vec::new();
    };
    match cmd {
        Command::Open => match outcome.import_id {
            Some(id) => {
                state.form.reset_after_done();
                detail::open(state, id, Screen::History)
            }
            None => Vec::new(),
        },
        Command::Back => {
            state.form.reset_after_done();
            state.screen = Screen::History;
            Vec::new()
        }
        Command::NewImport => {
            state.form.reset_after_done();
            Vec::new()
        }
        _ => {
            nav::scroll(scroll, cmd, len, page);
            Vec::new()
        }
    }
}

/// Starts a dry run, or the import after one, if the file and seller are
/// filled in.
fn start(state: &mut State, dry_run: bool) -> Vec<Effect> {
    let form = &mut state.form;
    let path = form.file.text.trim().to_string();
    let seller = form.seller.text.trim().to_string();
    let error = if path.is_empty() {
        form.focus = FormField::File;
        Some("enter the path of the CSV file (Tab completes)")
    } else if seller.is_empty() {
        form.focus = FormField::Seller;
        Some("enter the seller id")
    } else {
        None
    };
    if let Some(e) = error {
        form.phase = FormPhase::Editing {
            error: Some(e.to_string()),
        };
        return Vec::new();
    }
    let expected_rows = match &form.phase {
        FormPhase::Reviewed { outcome, .. } => outcome.counts.rows_read,
        _ => 0,
    };
    let profile = PROFILES.get(form.profile).copied().flatten();
    let spec = ImportSpec {
        path: path.into(),
        seller,
        profile,
        dry_run,
        skip_invalid: form.skip_invalid,
    };
    let req = state.req();
    state.form.phase = if dry_run {
        FormPhase::DryRunning {
            req,
            progress: None,
            seconds: 0,
        }
    } else {
        FormPhase::Importing {
            req,
            progress: None,
            seconds: 0,
            expected_rows,
        }
    };
    vec![Effect::Import { req, spec }]
}

/// Reply to [`Effect::Complete`].
pub fn completed(state: &mut State, req: ReqId, completion: Completion) -> Vec<Effect> {
    let form = &mut state.form;
    if form.completing != Some(req) {
        return Vec::new();
    }
    form.completing = None;
    if form.file.text != completion.input {
        return Vec::new();
    }
    if let Some(r) = &completion.replacement {
        form.file.set(r.clone());
    }
    form.completion =
        (completion.candidates.len() > 1 || completion.note.is_some()).then_some(completion);
    Vec::new()
}

/// Progress of the running dry run or import.
pub fn progressed(state: &mut State, req: ReqId, progress: Progress) -> Vec<Effect> {
    match &mut state.form.phase {
        FormPhase::DryRunning {
            req: r,
            progress: p,
            ..
        }
        | FormPhase::Importing {
            req: r,
            progress: p,
            ..
        } if *r == req => *p = Some(progress),
        _ => {}
    }
    Vec::new()
}

/// Reply to [`Effect::Import`].
pub fn done(
    state: &mut State,
    req: ReqId,
    result: Result<Box<ImportOutcome>, Failure>,
) -> Vec<Effect> {
    let (dry_run, matches) = match &state.form.phase {
        FormPhase::DryRunning { req: r, .. } => (true, *r == req),
        FormPhase::Importing { req: r, .. } => (false, *r == req),
        _ => (false, false),
    };
    if !matches {
        return Vec::new();
    }
    match result {
        Ok(outcome) if dry_run => {
            state.form.phase = FormPhase::Reviewed {
                outcome,
                focus: Button::Cancel,
                scroll: 0,
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
        Err(f) => {
            state.form.phase = FormPhase::Editing {
                error: Some(f.message.clone()),
            };
            state.fail(f, false);
            Vec::new()
        }
    }
}
