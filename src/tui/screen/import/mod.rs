//! The new-import form: its state and update. File (Tab completes),
//! seller, profile, option; a dry run shows what would change and pins it
//! (the file's bytes and the plan); then Cancel (default) or Import, which
//! runs exactly that or is refused ("dry run again"). A running dry run or
//! import shows its phases and can be cancelled (Esc, after a question).
//! The view is in [`view`], the outcome's lines (the review and the
//! result) in [`outcome`], the running dry run or import and how it ends
//! in `running.rs`.

pub mod outcome;
pub mod review;
mod running;
mod suggest;
pub mod view;

pub use running::{Running, cancel, done, progressed};
use running::{busy_command, refused_command, run};
pub use suggest::{Suggestions, suggested};

use std::sync::LazyLock;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::domain::import::{ImportOutcome, ImportStatus, ProfileKind};
use crate::tui::action::{Completion, Effect, ImportSpec, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::nav;
use crate::tui::state::{Notice, State};
use crate::tui::widgets::Button;
use crate::tui::widgets::input::TextInput;

use super::{Screen, ScreenModule, detail};

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
    /// `--key`: the column that identifies a listing.
    Key,
    /// `--currency`: for rows without one.
    Currency,
    SkipInvalid,
    DryRun,
}

impl FormField {
    pub const ALL: [FormField; 7] = [
        FormField::File,
        FormField::Seller,
        FormField::Profile,
        FormField::Key,
        FormField::Currency,
        FormField::SkipInvalid,
        FormField::DryRun,
    ];

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FormField::File | FormField::Seller | FormField::Key | FormField::Currency
        )
    }
}

#[derive(Debug, Clone)]
pub struct ImportForm {
    pub file: TextInput,
    pub seller: TextInput,
    /// Index into [`PROFILES`].
    pub profile: usize,
    /// The key column (empty: the profile's own).
    pub key: TextInput,
    /// The default currency (empty: none).
    pub currency: TextInput,
    pub skip_invalid: bool,
    pub focus: FormField,
    pub completion: Option<Completion>,
    pub completing: Option<ReqId>,
    /// What the chosen file's header suggests (the Key field).
    pub suggestions: Suggestions,
    pub phase: FormPhase,
}

impl Default for ImportForm {
    fn default() -> Self {
        Self {
            file: TextInput::default(),
            seller: TextInput::default(),
            profile: 0,
            key: TextInput::default(),
            currency: TextInput::default(),
            skip_invalid: false,
            focus: FormField::File,
            completion: None,
            completing: None,
            suggestions: Suggestions::default(),
            phase: FormPhase::Editing { error: None },
        }
    }
}

#[derive(Debug, Clone)]
pub enum FormPhase {
    Editing {
        error: Option<String>,
    },
    /// A dry run or an import runs.
    Running(Running),
    /// The dry run's result: what would change; Cancel or Import. `spec`
    /// is what the dry run ran: the import runs that, pinned by the
    /// outcome's plan fingerprint.
    Reviewed {
        outcome: Box<ImportOutcome>,
        spec: ImportSpec,
        focus: Button,
        scroll: usize,
        /// Where the loaded updates are in the plan (`/`, `g`, `G`).
        pages: review::ReviewPages,
    },
    /// The import was refused: the file or the plan changed since the dry
    /// run. Back, or (default) Dry run again.
    Refused {
        message: String,
        spec: ImportSpec,
        focus: Button,
    },
    Done {
        outcome: Box<ImportOutcome>,
        scroll: usize,
    },
}

impl ImportForm {
    pub fn is_busy(&self) -> bool {
        matches!(self.phase, FormPhase::Running(_))
    }

    /// The dry run or import in progress, if it is request `req`.
    fn running_mut(&mut self, req: ReqId) -> Option<&mut Running> {
        match &mut self.phase {
            FormPhase::Running(r) if r.req == req => Some(r),
            _ => None,
        }
    }

    /// The text field with the focus, if the focus is on one.
    pub fn focused_input(&mut self) -> Option<&mut TextInput> {
        match self.focus {
            FormField::File => Some(&mut self.file),
            FormField::Seller => Some(&mut self.seller),
            FormField::Key => Some(&mut self.key),
            FormField::Currency => Some(&mut self.currency),
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
        if let FormPhase::Running(r) = &mut self.phase {
            r.seconds += 1;
            r.phase_seconds += 1;
        }
    }

    fn move_focus(&mut self, delta: isize) {
        let all = FormField::ALL;
        let i = all.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = all.len() as isize;
        self.focus = all[((i + delta).rem_euclid(n)) as usize];
    }

    /// Back to an empty file field after an import finished; the options
    /// go back to their defaults (the next file is another file).
    fn reset_after_done(&mut self) {
        self.phase = FormPhase::Editing { error: None };
        self.file.clear();
        self.completion = None;
        self.focus = FormField::File;
        self.profile = 0;
        self.key.clear();
        self.currency.clear();
        self.skip_invalid = false;
        self.suggestions = Suggestions::default();
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
            Ctx::Form | Ctx::FormText => {
                let mut effects = editing_command(state, cmd, ev);
                effects.extend(suggest::ask(state));
                effects
            }
            Ctx::FormReview | Ctx::FindSku => review_command(state, cmd),
            Ctx::FormRefused => refused_command(state, cmd),
            Ctx::FormBusy => busy_command(state, cmd),
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

    fn edited(&self, state: &mut State) -> Vec<Effect> {
        state.form.edited();
        Vec::new()
    }

    fn busy(&self, state: &State) -> bool {
        state.form.is_busy()
    }

    fn tick(&self, state: &mut State) {
        state.form.tick();
    }

    fn running(&self, state: &State) -> Option<(ReqId, String)> {
        let FormPhase::Running(r) = &state.form.phase else {
            return None;
        };
        let file = crate::text::sanitize(state.form.file.text.trim()).into_owned();
        let what = if r.dry_run {
            format!("the dry run of {file}")
        } else {
            format!("the import of {file}")
        };
        Some((r.req, what))
    }
}

fn context(form: &ImportForm) -> Ctx {
    match &form.phase {
        FormPhase::Editing { .. } if form.focus.is_text() => Ctx::FormText,
        FormPhase::Editing { .. } => Ctx::Form,
        FormPhase::Running(_) => Ctx::FormBusy,
        FormPhase::Reviewed { pages, .. } if pages.search.is_some() => Ctx::FindSku,
        FormPhase::Reviewed { .. } => Ctx::FormReview,
        FormPhase::Refused { .. } => Ctx::FormRefused,
        FormPhase::Done { .. } => Ctx::FormDone,
    }
}

// ---------------------------------------------------------------- update

/// Shows the form, the seller filled in when it is known.
pub fn open(state: &mut State) -> Vec<Effect> {
    let form = &mut state.form;
    if matches!(form.phase, FormPhase::Done { .. }) {
        form.reset_after_done();
    }
    if form.seller.text.is_empty() {
        // A seller can only import for itself; support gets the seller the
        // history is filtered to, never silently the selected row's.
        let own = state.identity.as_ref().and_then(|i| i.own_seller());
        let seller = own
            .map(str::to_string)
            .or_else(|| state.history.filter.seller.clone());
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
        Command::Left | Command::Right => {
            state.notice = Some(Notice::info(
                "←→ change the profile or the option; Enter on the button runs the dry run",
            ));
        }
        _ => {}
    }
    Vec::new()
}

fn review_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    if let Some(effects) = review::command(state, cmd) {
        return effects;
    }
    let len = view::outcome_line_count(state);
    let page = view::outcome_height(state);
    let FormPhase::Reviewed {
        outcome,
        spec,
        focus,
        scroll,
        ..
    } = &mut state.form.phase
    else {
        return Vec::new();
    };
    let can_import = outcome.status == ImportStatus::DryRun;
    match cmd {
        Command::Left | Command::Right if can_import => *focus = focus.other(),
        Command::Left | Command::Right => {
            state.notice = Some(Notice::info(
                "the file would be rejected: there is nothing to import (Enter goes back)",
            ));
        }
        Command::Activate if *focus == Button::Confirm && can_import => {
            // Exactly what the dry run ran, pinned to what it showed.
            if spec.expect.is_none() {
                state.notice = Some(Notice::error(
                    "the dry run has no plan to pin: dry run again",
                ));
                return Vec::new();
            }
            let spec = spec.clone();
            return run(state, spec);
        }
        Command::Activate | Command::Back => {
            state.form.phase = FormPhase::Editing { error: None };
            // The dry run's plan, kept for the review, can go.
            return vec![Effect::ReviewClose];
        }
        _ => {
            if nav::scroll(scroll, cmd, len, page) {
                return review::scrolled(state, cmd);
            }
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
            None => {
                state.notice = Some(Notice::info("this import has no history entry to open"));
                Vec::new()
            }
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

/// Starts a dry run of what the form says, if the file and seller are
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
    let own = state.identity.as_ref().and_then(|i| i.own_seller());
    let error = error.map(str::to_string).or_else(|| {
        own.filter(|own| *own != seller).map(|own| {
            format!(
                "this login imports for seller {own} only: {} belongs to another seller \
                 (support staff import for any seller)",
                crate::text::sanitize(&seller)
            )
        })
    });
    let form = &mut state.form;
    if let Some(e) = error {
        if own.is_some() {
            form.focus = FormField::Seller;
        }
        form.phase = FormPhase::Editing { error: Some(e) };
        return Vec::new();
    }
    let profile = PROFILES.get(form.profile).copied().flatten();
    let spec = ImportSpec {
        path: path.into(),
        seller,
        profile,
        key_column: given(&form.key),
        default_currency: given(&form.currency),
        dry_run,
        skip_invalid: form.skip_invalid,
        expect: None,
    };
    run(state, spec)
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

/// An optional field's value: `None` when left empty.
fn given(input: &TextInput) -> Option<String> {
    Some(input.text.trim().to_string()).filter(|s| !s.is_empty())
}
