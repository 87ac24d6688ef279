//! The rollback plan, for a person to decide on: the import, the counts,
//! the details of one section (delete / restore / skip) loaded a page at a
//! time as the list scrolls, the conflict mode, the import id to type for
//! a large rollback, and Cancel (default) / Roll back.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::domain::rollback::{ConflictMode, PlanItem, Preview, Section};
use crate::tui::action::{Effect, Failure, ReqId};
use crate::tui::keys::Command;
use crate::tui::layout;
use crate::tui::nav;
use crate::tui::state::{Notice, State};
use crate::tui::theme::Theme;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, base_name, fit, thousands};
use crate::tui::widgets::{self, Button, block, buttons_line, diff_lines};

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
    /// Display lines of the loaded items, as [`render`] draws them.
    pub fn line_count(&self) -> usize {
        self.items.iter().map(item_line_count).sum()
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
    let Some(popup) = state.popup.as_mut() else {
        return Vec::new();
    };
    let id = popup.import_id;
    let PopupStage::Plan(plan) = &mut popup.stage else {
        return Vec::new();
    };
    let (section, total) = (plan.tab, plan.count(plan.tab));
    let pages = plan.pages_mut(section);
    if (pages.items.len() as i64) >= total {
        pages.exhausted = true;
    }
    if pages.loading.is_some() || pages.exhausted || pages.line_count() >= pages.scroll + 2 * height
    {
        return Vec::new();
    }
    let after = pages.items.last().map(|i| i.sku.clone());
    let seller = plan.preview.seller.clone();
    let req = state.req();
    if let Some(plan) = plan_mut(state) {
        plan.pages_mut(section).loading = Some(req);
    }
    vec![Effect::RollbackPage {
        req,
        id,
        seller,
        section,
        after,
        limit: PLAN_PAGE,
    }]
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
    if pages.loading != Some(req) {
        return Vec::new();
    }
    pages.loading = None;
    match result {
        Ok(items) => {
            pages.exhausted = (items.len() as i64) < PLAN_PAGE;
            pages.items.extend(items);
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
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    if plan.executing.is_some() {
        if cmd == Command::Back {
            state.notice = Some(Notice::info(
                "the rollback is running; it finishes or changes nothing",
            ));
        }
        return Vec::new();
    }
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
            let len = pages.line_count();
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
    if let Some(plan) = plan_mut(state) {
        for s in SECTIONS {
            let pages = plan.pages_mut(s);
            let len = pages.line_count();
            nav::clamp(&mut pages.scroll, len, height);
        }
    }
}

// ---------------------------------------------------------------- view

pub fn render(frame: &mut Frame, area: Rect, state: &State, plan: &PlanView) {
    let t = &state.theme;
    let p = &plan.preview;
    let rect = layout::popup_rect(area);
    frame.render_widget(Clear, rect);
    let b = block(format!(" Roll back import #{}? ", p.import_id), t);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let w = inner.width as usize;
    let row = |y: u16| Rect::new(inner.x, inner.y + y, inner.width, 1);
    let c = p.counts;

    let file = format!("File {} · seller {}", base_name(&p.file_name), p.seller);
    frame.render_widget(Paragraph::new(fit(&file, w)), row(0));
    let who = format!(
        "Imported {} by {}",
        text::time(&p.imported_at),
        p.imported_by
    );
    frame.render_widget(Paragraph::new(fit(&who, w)), row(1));
    let mut skipped = Vec::new();
    if c.skipped_edited > 0 {
        skipped.push(format!("{} edited", thousands(c.skipped_edited)));
    }
    if c.skipped_deleted > 0 {
        skipped.push(format!("{} deleted", thousands(c.skipped_deleted)));
    }
    if c.skipped_referenced > 0 {
        skipped.push(format!("{} referenced", thousands(c.skipped_referenced)));
    }
    let counts = format!(
        "{} to delete · {} to restore · {} to skip{}",
        thousands(c.delete),
        thousands(c.restore),
        thousands(c.skip),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        }
    );
    frame.render_widget(
        Paragraph::new(text::cut(&counts, w)).style(t.bold()),
        row(2),
    );

    // Tabs, and where the list is.
    let list_h = list_height(state);
    let pages = plan.pages(plan.tab);
    let loaded = pages.line_count();
    let mut spans = Vec::new();
    for s in SECTIONS {
        let name = match s {
            Section::Delete => "Delete",
            Section::Restore => "Restore",
            Section::Skip => "Skip",
        };
        let label = format!(" {name} {} ", thousands(plan.count(s)));
        spans.push(Span::styled(
            label,
            if s == plan.tab {
                t.selected()
            } else {
                t.plain()
            },
        ));
        spans.push(Span::raw(" "));
    }
    let tabs_w: usize = spans.iter().map(|s| s.width()).sum();
    let pos = if loaded > 0 {
        format!(
            "lines {}-{} of {}{}",
            pages.scroll + 1,
            (pages.scroll + list_h).min(loaded),
            loaded,
            if pages.exhausted { "" } else { "+" }
        )
    } else {
        String::new()
    };
    let gap = w.saturating_sub(tabs_w + text::width(&pos));
    spans.push(Span::raw(" ".repeat(gap)));
    spans.push(Span::styled(
        text::cut(&pos, w.saturating_sub(tabs_w)),
        t.dim(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), row(3));

    // The details: only the visible window's lines are built.
    let list_area = Rect::new(inner.x, inner.y + 4, inner.width, list_h as u16);
    frame.render_widget(
        Paragraph::new(plan_lines(plan, list_h, w, state)),
        list_area,
    );

    // Conflict mode, the id to type, the buttons.
    let mut y = 4 + list_h as u16;
    let radio = |on: bool| if on { "(•)" } else { "( )" };
    let mode = Line::from(vec![
        Span::styled("Conflicts: ", t.bold()),
        Span::raw(format!(
            "{} skip changed listings  {} block: refuse if any changed  ",
            radio(plan.mode == ConflictMode::Skip),
            radio(plan.mode == ConflictMode::Block)
        )),
        Span::styled("m", t.key()),
    ]);
    frame.render_widget(Paragraph::new(mode), row(y));
    y += 1;
    if plan.is_large() {
        let typed = &plan.typed_id.text;
        let ok = typed.trim() == p.import_id.to_string();
        let line = Line::from(vec![
            Span::styled(
                format!(
                    "This changes {} listings. Type the import id ({}) to confirm: ",
                    thousands(plan.changes()),
                    p.import_id
                ),
                t.warn(),
            ),
            Span::styled(format!("{typed}_"), if ok { t.ok() } else { t.bold() }),
        ]);
        frame.render_widget(Paragraph::new(line), row(y));
    }
    if plan.executing.is_some() {
        let line = format!(
            "Rolling back {} listings… {} s (one transaction: it completes or changes nothing)",
            thousands(plan.changes()),
            plan.seconds
        );
        frame.render_widget(
            Paragraph::new(text::cut(&line, w)).style(t.bold()),
            row(inner.height.saturating_sub(1)),
        );
    } else {
        let confirm = format!("[ Roll back {} listings ]", thousands(plan.changes()));
        buttons_line(
            frame,
            inner,
            &[
                ("[ Cancel ]", plan.focus == Button::Cancel, true),
                (&confirm, plan.focus == Button::Confirm, plan.can_confirm()),
            ],
            t,
        );
    }
}

/// The visible lines of the current section, from line `scroll`.
fn plan_lines(plan: &PlanView, height: usize, w: usize, state: &State) -> Vec<Line<'static>> {
    let t = &state.theme;
    let pages = plan.pages(plan.tab);
    let mut out = Vec::with_capacity(height);
    if pages.items.is_empty() {
        let msg = if pages.loading.is_some() {
            "loading…"
        } else {
            match plan.tab {
                Section::Delete => {
                    "Nothing to delete: the import created no listing that can be removed."
                }
                Section::Restore => "Nothing to restore.",
                Section::Skip => "Nothing is skipped: no listing changed after the import.",
            }
        };
        out.push(Line::styled(format!("  {msg}"), t.dim()));
        return out;
    }
    let mut line = 0usize;
    for item in &pages.items {
        let n = item_line_count(item);
        if line + n <= pages.scroll {
            line += n;
            continue;
        }
        let lines = item_lines(item, w, t);
        for (i, l) in lines.into_iter().enumerate() {
            if line + i >= pages.scroll && out.len() < height {
                out.push(l);
            }
        }
        line += n;
        if out.len() >= height {
            break;
        }
    }
    if out.len() < height && pages.loading.is_some() {
        out.push(Line::styled("  loading…", t.dim()));
    }
    out
}

/// The lines of one plan item: a deleted key, a restored key with its
/// diff, or a skipped key with why. [`item_line_count`] counts them.
fn item_lines(item: &PlanItem, w: usize, t: &Theme) -> Vec<Line<'static>> {
    match item.action {
        Section::Delete => vec![Line::from(vec![
            Span::styled("  - ", t.removed()),
            Span::raw(fit(&item.sku, w.saturating_sub(30))),
            Span::styled("  created by the import: deleted", t.dim()),
        ])],
        Section::Restore => diff_lines(
            &item.sku,
            item.diff.as_ref().unwrap_or(&serde_json::Value::Null),
            w,
            t,
        ),
        Section::Skip => vec![
            Line::from(vec![
                Span::styled("  ! ", t.warn()),
                Span::raw(fit(&item.sku, w.saturating_sub(5))),
            ]),
            Line::styled(
                format!("      {}", text::cut(&item.explain(), w.saturating_sub(6))),
                t.dim(),
            ),
        ],
    }
}

/// How many lines [`item_lines`] draws for `item`, without drawing them.
pub fn item_line_count(item: &PlanItem) -> usize {
    match item.action {
        Section::Delete => 1,
        Section::Skip => 2,
        Section::Restore => widgets::diff_line_count(item.diff.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(action: Section, diff: Option<serde_json::Value>) -> PlanItem {
        PlanItem {
            sku: "SKU-1".into(),
            action,
            reason: Some("edited".into()),
            changed_by: Some("sam".into()),
            changed_at: None,
            change: Some("update".into()),
            diff,
        }
    }

    /// The scroll length is counted without drawing: the count must be
    /// what the view draws, for every kind of item.
    #[test]
    fn item_line_count_is_what_item_lines_draws() {
        let items = [
            item(Section::Delete, None),
            item(Section::Skip, None),
            item(Section::Restore, None),
            item(Section::Restore, Some(json!({}))),
            item(Section::Restore, Some(json!({"price": ["1", "2"]}))),
            item(
                Section::Restore,
                Some(json!({"price": ["1", "2"], "title": [null, "x"], "quantity": [1, 2]})),
            ),
        ];
        for it in &items {
            assert_eq!(
                item_line_count(it),
                item_lines(it, 76, &Theme::MONO).len(),
                "{it:?}"
            );
        }
    }
}
