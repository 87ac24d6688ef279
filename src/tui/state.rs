//! Everything the console shows is a function of [`State`]. `update`
//! changes it; `ui::render` draws it; nothing else touches it.

use std::collections::HashMap;

use crate::domain::history::ImportState;
use crate::domain::identity::Identity;
use crate::domain::import::{ImportOutcome, ProfileKind, Progress};
use crate::domain::rollback::{ConflictMode, PlanItem, Preview, RollbackOutcome, Section};

use super::action::{AuditRow, Completion, DetailData, HistoryRow, ReqId};
use super::ui::theme::Theme;

/// The smallest terminal the console lays out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// History and audit rows fetched per request (keyset pagination).
pub const PAGE: i64 = 200;
/// Rollback plan items fetched per request.
pub const PLAN_PAGE: i64 = 100;
/// Rollbacks touching more listings than this ask for the import id.
pub const LARGE_ROLLBACK: i64 = 1000;

/// The profile choices of the import form (`None`: detect from the header),
/// from the profile registry.
pub static PROFILES: std::sync::LazyLock<Vec<Option<ProfileKind>>> =
    std::sync::LazyLock::new(|| {
        std::iter::once(None)
            .chain(ProfileKind::all().iter().copied().map(Some))
            .collect()
    });

pub fn profile_name(p: Option<ProfileKind>) -> &'static str {
    p.map(|k| k.name()).unwrap_or("auto")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    History,
    Detail,
    Audit,
    ImportForm,
}

#[derive(Debug, Clone)]
pub struct State {
    pub screen: Screen,
    /// Where Esc from the detail screen goes back to.
    pub detail_return: Screen,
    pub history: HistoryView,
    pub detail: Option<DetailView>,
    pub audit: AuditView,
    pub form: ImportForm,
    pub popup: Option<RollbackPopup>,
    pub help: Option<HelpView>,
    /// The `/` filter being typed (history screen).
    pub filter_input: Option<TextInput>,
    /// A one-line message shown until the next key.
    pub notice: Option<Notice>,
    pub connection: Connection,
    pub width: u16,
    pub height: u16,
    pub theme: Theme,
    /// Shown in the title bar (the database name, never a password).
    pub db_label: String,
    /// Who the database says we are (role; seller or support), shown in the
    /// title bar. `None` until known.
    pub identity: Option<Identity>,
    pub quit: bool,
    next_req: ReqId,
}

impl State {
    pub fn new(width: u16, height: u16, theme: Theme, db_label: impl Into<String>) -> Self {
        Self {
            screen: Screen::History,
            detail_return: Screen::History,
            history: HistoryView::default(),
            detail: None,
            audit: AuditView::default(),
            form: ImportForm::default(),
            popup: None,
            help: None,
            filter_input: None,
            notice: None,
            connection: Connection::Ok,
            width,
            height,
            theme,
            db_label: db_label.into(),
            identity: None,
            quit: false,
            next_req: 1,
        }
    }

    /// A new request id.
    pub fn req(&mut self) -> ReqId {
        let id = self.next_req;
        self.next_req += 1;
        id
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    /// Something runs that shows elapsed time or needs reconnecting: the
    /// loop then delivers [`super::action::Action::Tick`] once a second.
    pub fn wants_ticks(&self) -> bool {
        matches!(self.connection, Connection::Lost { .. })
            || self.form.is_busy()
            || self.popup.as_ref().is_some_and(|p| p.is_busy())
    }

    pub fn selected_row(&self) -> Option<&HistoryRow> {
        self.history.rows.get(self.history.list.selected)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Ok,
    Lost {
        message: String,
        /// Seconds since the loss was noticed.
        seconds: u64,
        ping: Option<ReqId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            kind: NoticeKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: NoticeKind::Error,
            text: text.into(),
        }
    }
}

/// Selection and scroll position of a list of which only a window is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListNav {
    pub selected: usize,
    /// The first visible row.
    pub offset: usize,
}

impl ListNav {
    /// Moves by `delta` rows within `len`, keeping the selection in a window
    /// of `height` rows.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = ListNav::default();
            return;
        }
        let target = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.selected = target as usize;
        self.keep_visible(len, height);
    }

    pub fn to(&mut self, index: usize, len: usize, height: usize) {
        self.selected = index.min(len.saturating_sub(1));
        self.keep_visible(len, height);
    }

    pub fn keep_visible(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        // Never leave empty space below when rows exist to fill it.
        let max_offset = len.saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }
}

/// The history filter (`/`): `seller:X`, `status:X`, the rest matches file names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub seller: Option<String>,
    pub status: Option<ImportState>,
    pub file: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.seller.is_none() && self.status.is_none() && self.file.is_none()
    }

    /// The filter as typed (`seller:acme status:failed oct`).
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.seller {
            parts.push(format!("seller:{s}"));
        }
        if let Some(s) = &self.status {
            parts.push(format!("status:{s}"));
        }
        if let Some(f) = &self.file {
            parts.push(f.clone());
        }
        parts.join(" ")
    }

    /// Parses the filter line; an unknown status is an error.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut file = Vec::new();
        for word in text.split_whitespace() {
            let lower = word.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("seller:") {
                let v = &word[word.len() - v.len()..];
                f.seller = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lower.strip_prefix("status:") {
                if !v.is_empty() {
                    f.status = Some(parse_status(v)?);
                }
            } else if let Some(v) = lower.strip_prefix("file:") {
                let v = &word[word.len() - v.len()..];
                if !v.is_empty() {
                    file.push(v.to_string());
                }
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
            "unknown status {:?}: use completed, failed, rolled_back or running",
            crate::text::sanitize(&s)
        )),
    }
}

/// The import history table.
#[derive(Debug, Clone, Default)]
pub struct HistoryView {
    pub rows: Vec<HistoryRow>,
    pub list: ListNav,
    pub filter: Filter,
    /// The oldest import has been loaded.
    pub exhausted: bool,
    /// The request in flight, and whether it replaces the rows or appends.
    pub loading: Option<(ReqId, bool)>,
    /// `G` was pressed: keep loading pages until the end, then select it.
    pub seek_end: bool,
    /// Loaded at least once (an empty table means "no imports", not "loading").
    pub loaded: bool,
    /// Rollback eligibility per import id.
    pub eligibility: HashMap<i64, Eligibility>,
    /// After a reload, select this import again.
    pub reselect: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Eligibility {
    Checking(ReqId),
    Eligible,
    Ineligible(String),
}

#[derive(Debug, Clone)]
pub struct DetailView {
    pub id: i64,
    pub data: Option<Box<DetailData>>,
    pub loading: Option<ReqId>,
    /// Set when the import does not exist.
    pub missing: bool,
    pub scroll: usize,
    /// A rollback done in this session (its skipped listings with reasons).
    pub rollback: Option<Box<RollbackOutcome>>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    pub list: ListNav,
    pub exhausted: bool,
    pub loading: Option<(ReqId, bool)>,
    pub loaded: bool,
    pub seek_end: bool,
}

#[derive(Debug, Clone, Default)]
pub struct HelpView {
    pub scroll: usize,
}

/// A one-line text field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

impl TextInput {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.chars().count();
        Self { text, cursor }
    }

    pub fn set(&mut self, text: impl Into<String>) {
        *self = TextInput::new(text);
    }

    fn byte_at(&self, char_index: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_index)
            .map(|(i, _)| i)
            .unwrap_or(self.text.len())
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        *self = TextInput::default();
    }
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

/// Which button has the focus; the harmless one is always the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Button {
    #[default]
    Cancel,
    Confirm,
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

impl ImportForm {
    pub fn is_busy(&self) -> bool {
        matches!(
            self.phase,
            FormPhase::DryRunning { .. } | FormPhase::Importing { .. }
        )
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

#[derive(Debug, Clone)]
pub struct RollbackPopup {
    pub import_id: i64,
    pub stage: PopupStage,
}

impl RollbackPopup {
    pub fn is_busy(&self) -> bool {
        match &self.stage {
            PopupStage::Checking { .. } | PopupStage::Previewing { .. } => true,
            PopupStage::Plan(p) => p.executing.is_some(),
            _ => false,
        }
    }
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

    /// The confirm button works (for a large rollback: the id is typed).
    pub fn can_confirm(&self) -> bool {
        if self.executing.is_some() {
            return false;
        }
        if self.mode == ConflictMode::Block && self.preview.counts.skip > 0 {
            // It would be refused: say so rather than try.
            return false;
        }
        !self.is_large() || self.typed_id.text.trim() == self.preview.import_id.to_string()
    }
}

/// The loaded part of one section of the plan, and its scroll position (in
/// display lines).
#[derive(Debug, Clone, Default)]
pub struct SectionPages {
    pub items: Vec<PlanItem>,
    pub exhausted: bool,
    pub loading: Option<ReqId>,
    pub scroll: usize,
}

impl SectionPages {
    /// Display lines of the loaded items (restored items show one `-`/`+`
    /// pair per changed field).
    pub fn line_count(&self) -> usize {
        self.items.iter().map(item_lines).sum()
    }
}

/// How many lines a plan item takes in the details list.
pub fn item_lines(item: &PlanItem) -> usize {
    match item.action {
        Section::Delete => 1,
        Section::Skip => 2,
        Section::Restore => {
            1 + 2 * item
                .diff
                .as_ref()
                .and_then(|d| d.as_object())
                .map(|o| o.len())
                .unwrap_or(0)
        }
    }
}
