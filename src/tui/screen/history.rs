//! The import history: a table, newest first, paged by keyset and drawn
//! only for the visible window; the `/` filter ([`filter`]); whether the
//! selected import can be rolled back (asked once per import, shown on the
//! status line, the detail screen and by `r`).

pub mod filter;

use std::collections::HashMap;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::history::{HistoryFilter, ImportState};
use crate::domain::rollback::Ineligible;
use crate::tui::action::{Effect, Failure, HistoryRow, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::paged::{self, Keyed, PAGE, Paged, PagedList};
use crate::tui::popup::full_text::Item;
use crate::tui::popup::rollback;
use crate::tui::state::{Notice, State};
use crate::tui::widgets;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, compact, fit, pad, thousands};

use super::{Screen, ScreenModule, audit, detail, import, listings};
use filter::Filter;

#[derive(Debug, Clone, Default)]
pub struct HistoryView {
    pub list: Paged<HistoryRow>,
    pub filter: Filter,
    /// The `/` filter being typed.
    pub filter_input: Option<TextInput>,
    /// The filter when `/` was pressed (Esc puts it back).
    pub filter_before: Option<Filter>,
    /// Why what is typed is not a filter (yet).
    pub filter_error: Option<String>,
    /// Rollback eligibility per import id.
    pub eligibility: HashMap<i64, Eligibility>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Eligibility {
    Checking(ReqId),
    Eligible,
    Ineligible(String),
}

impl Keyed for HistoryRow {
    type Key = i64;
    fn key(&self) -> i64 {
        self.id
    }
}

/// The history screen.
pub struct History;

impl ScreenModule for History {
    fn title(&self) -> &'static str {
        "Import history"
    }

    fn title_note(&self, state: &State) -> Option<String> {
        let f = &state.history.filter;
        (!f.is_empty()).then(|| format!("filter: {}", f.to_text()))
    }

    fn context(&self, state: &State) -> Ctx {
        if state.history.filter_input.is_some() {
            Ctx::Filter
        } else {
            Ctx::History
        }
    }

    fn command(&self, state: &mut State, _: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
        if state.history.filter_input.is_some() {
            return filter::command(state, cmd, ev);
        }
        if let Some(effects) = paged::command::<Pages>(state, cmd) {
            return effects;
        }
        match cmd {
            Command::Open => match state.selected_row() {
                Some(row) => {
                    let id = row.id;
                    detail::open(state, id, Screen::History)
                }
                None => Vec::new(),
            },
            Command::Filter => {
                filter::open(state);
                Vec::new()
            }
            Command::Back if !state.history.filter.is_empty() => {
                filter::set(state, Filter::default())
            }
            Command::NewImport => import::open(state),
            Command::Rollback => match state.selected_row() {
                Some(row) => {
                    let id = row.id;
                    rollback::open(state, id)
                }
                None => {
                    state.notice = Some(Notice::error("no import selected"));
                    Vec::new()
                }
            },
            Command::AuditLog => audit::open(state),
            Command::Listings => listings::open_from_history(state),
            Command::Refresh => reload(state),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let t = &state.theme;
        let h = &state.history;
        let w = area.width as usize;
        let max_id = h.list.rows.first().map(|r| r.id).unwrap_or(1);
        let c = columns(w, max_id);
        let mut lines = Vec::with_capacity(area.height as usize);
        let header = format!(
            "{:>iw$} {} {} {} {:>cw$} {:>cw$} {:>cw$} {:>cw$} {} {}",
            "id",
            pad("when", c.when),
            pad("seller", c.seller),
            pad("file", c.file),
            "new",
            "upd",
            "same",
            "rej",
            pad("status", c.status),
            pad("actor", c.actor),
            iw = c.id,
            cw = c.count,
        );
        lines.push(Line::styled(text::cut(&header, w), t.header()));
        if h.list.rows.is_empty() {
            let msg = if !h.list.loaded {
                "Loading the import history…".to_string()
            } else if h.filter.is_empty() {
                "No imports yet. Press i to import a CSV file.".to_string()
            } else {
                format!(
                    "No imports match the filter {}. Press / to change it, Esc to clear it.",
                    fit(&h.filter.to_text(), 40)
                )
            };
            lines.push(Line::default());
            lines.push(Line::styled(format!("  {msg}"), t.dim()));
        }
        let height = area.height.saturating_sub(1) as usize;
        for (row, selected) in h.list.window(height) {
            lines.push(row_line(row, &c, state, selected));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// The status line: can the selected import be rolled back, and where in
    /// the list we are.
    fn status(&self, state: &State, w: usize) -> Line<'static> {
        let t = &state.theme;
        let h = &state.history;
        let pos = h.list.position();
        let room = w.saturating_sub(text::width(&pos) + 2);
        let row = state.selected_row();
        let msg = row.and_then(|r| status_text(state, r)).unwrap_or_default();
        let style = match row.and_then(|r| h.eligibility.get(&r.id)) {
            Some(Eligibility::Eligible) => t.ok(),
            Some(Eligibility::Ineligible(_)) => t.warn(),
            _ => t.plain(),
        };
        let msg = format!(" {}", fit(&msg, room));
        widgets::spread(Span::styled(msg, style), pos, w, t)
    }

    fn text_input<'a>(&self, state: &'a mut State) -> Option<&'a mut TextInput> {
        state.history.filter_input.as_mut()
    }

    fn edited(&self, state: &mut State) -> Vec<Effect> {
        filter::edited(state)
    }

    fn draw_input_line(&self, frame: &mut Frame, area: Rect, state: &State) -> bool {
        filter::draw_input(frame, area, state)
    }

    fn reload(&self, state: &mut State) -> Vec<Effect> {
        reload(state)
    }

    fn relayout(&self, state: &mut State) {
        paged::relayout::<Pages>(state);
    }

    /// The selected import, and the status line's reason, in full.
    fn full_text(&self, state: &State) -> Vec<Item> {
        let Some(row) = state.selected_row() else {
            return Vec::new();
        };
        let mut status = text::status(row.status).to_string();
        if let Some(at) = &row.rolled_back_at {
            status.push_str(&format!(" at {}", state.clock.time(at)));
        }
        if let Some(by) = &row.rolled_back_by {
            status.push_str(&format!(" by {by}"));
        }
        let mut items = vec![
            Item::new("Import", row.id.to_string()),
            Item::new("File", &row.file),
            Item::new("Seller", &row.seller),
            Item::new("Started", state.clock.time_ago(&row.started_at)),
            Item::new("Status", status),
            Item::new(
                "Rows",
                format!(
                    "{} created, {} updated, {} unchanged, {} rejected",
                    thousands(row.created),
                    thousands(row.updated),
                    thousands(row.unchanged),
                    thousands(row.rejected)
                ),
            ),
            Item::new("By", &row.actor),
        ];
        if let Some(line) = status_text(state, row) {
            items.push(Item::new("Rollback", line));
        }
        items
    }
}

/// What the status line says about `row`'s rollback, uncut.
fn status_text(state: &State, row: &HistoryRow) -> Option<String> {
    match state.history.eligibility.get(&row.id)? {
        Eligibility::Eligible => Some(format!(
            "r rolls back import #{} (the seller's newest)",
            row.id
        )),
        Eligibility::Ineligible(why) => Some(format!("Rollback unavailable: {why}")),
        Eligibility::Checking(_) => None,
    }
}

// ---------------------------------------------------------------- update

/// Reloads the history from the top, keeping the selected import selected.
pub fn reload(state: &mut State) -> Vec<Effect> {
    state.history.list.reselect = state.selected_row().map(|r| r.id);
    state.history.eligibility.clear();
    load(state, false)
}

pub struct Pages;

impl PagedList for Pages {
    type Row = HistoryRow;

    fn list(state: &mut State) -> &mut Paged<HistoryRow> {
        &mut state.history.list
    }

    fn request(state: &State, req: ReqId, before_id: Option<i64>) -> Effect {
        let f = &state.history.filter;
        Effect::LoadHistory {
            req,
            filter: HistoryFilter {
                seller: f.seller.clone(),
                status: f.status,
                file_contains: f.file.clone(),
                since: f.since.map(|d| state.clock.start_of_day(d)),
                touched_sku: f.sku.clone(),
                before_id,
                limit: PAGE,
            },
        }
    }

    /// Asks whether the selected import can be rolled back.
    fn moved(state: &mut State) -> Vec<Effect> {
        check_selected(state)
    }
}

/// Requests the first page (`append`: the next one).
pub fn load(state: &mut State, append: bool) -> Vec<Effect> {
    paged::load::<Pages>(state, append)
}

/// The reason an import cannot be rolled back, when its row alone says so.
pub fn local_ineligibility(row: &HistoryRow) -> Option<String> {
    let id = row.id;
    let why = match row.status {
        ImportState::Running => Ineligible::StillRunning { id },
        ImportState::Failed => Ineligible::Failed { id },
        ImportState::RolledBack => Ineligible::AlreadyRolledBack {
            id,
            at: row.rolled_back_at,
            by: row.rolled_back_by.clone(),
        },
        ImportState::Completed => return None,
    };
    Some(why.to_string())
}

/// Asks whether the selected import can be rolled back (once per import).
fn check_selected(state: &mut State) -> Vec<Effect> {
    match state.selected_row() {
        Some(row) => {
            let id = row.id;
            check_eligibility(state, id)
        }
        None => Vec::new(),
    }
}

/// Asks whether import `id` can be rolled back, unless known (or its row
/// alone says it cannot).
pub fn check_eligibility(state: &mut State, id: i64) -> Vec<Effect> {
    if state.history.eligibility.contains_key(&id) {
        return Vec::new();
    }
    let local = state
        .history
        .list
        .rows
        .iter()
        .find(|r| r.id == id)
        .map(local_ineligibility)
        .or_else(|| {
            let d = state.detail.as_ref()?.data.as_ref()?;
            Some(local_ineligibility(&HistoryRow::from(&d.import)))
        });
    if let Some(Some(reason)) = local {
        state
            .history
            .eligibility
            .insert(id, Eligibility::Ineligible(reason));
        return Vec::new();
    }
    let req = state.req();
    state
        .history
        .eligibility
        .insert(id, Eligibility::Checking(req));
    vec![Effect::CheckEligibility { req, id }]
}

/// Reply to [`Effect::CheckEligibility`].
pub fn eligibility_checked(
    state: &mut State,
    req: ReqId,
    id: i64,
    result: Result<Result<(), String>, Failure>,
) -> Vec<Effect> {
    let eligibility = &mut state.history.eligibility;
    if eligibility.get(&id) != Some(&Eligibility::Checking(req)) {
        return Vec::new();
    }
    match result {
        Ok(Ok(())) => {
            eligibility.insert(id, Eligibility::Eligible);
        }
        Ok(Err(reason)) => {
            eligibility.insert(id, Eligibility::Ineligible(reason));
        }
        Err(f) => {
            eligibility.remove(&id);
            state.fail(f, false);
        }
    }
    Vec::new()
}

// ---------------------------------------------------------------- view

/// Column widths for a terminal `w` columns wide (one space between columns).
pub struct Columns {
    pub id: usize,
    pub when: usize,
    pub seller: usize,
    pub file: usize,
    pub count: usize,
    pub status: usize,
    pub actor: usize,
}

pub fn columns(w: usize, max_id: i64) -> Columns {
    let id = max_id.max(1).to_string().len().max(2);
    let when = when_width(w);
    let seller = if w >= 100 { 10 } else { 8 };
    let count = if w >= 100 { 5 } else { 4 };
    let status = 11;
    let mut actor = if w >= 100 { 12 } else { 7 };
    let fixed = id + when + seller + 4 * count + status + actor + 9;
    let mut file = w.saturating_sub(fixed);
    // Share generous widths between the file name and the actor.
    if file > 40 {
        let extra = (file - 40) / 3;
        actor += extra;
        file -= extra;
    }
    Columns {
        id,
        when,
        seller,
        file,
        count,
        status,
        actor,
    }
}

/// The time column of a list `w` columns wide: how long ago (or the date);
/// from 120 columns, the local date and time too.
pub fn when_width(w: usize) -> usize {
    if w >= 120 { 28 } else { 11 }
}

fn row_line(row: &HistoryRow, c: &Columns, state: &State, selected: bool) -> Line<'static> {
    let t = &state.theme;
    let file = text::base_name(&row.file);
    let num = |n: i64| format!("{:>w$}", compact(n), w = c.count);
    let status_style = if selected {
        Style::new()
    } else {
        t.status(row.status)
    };
    let spans = vec![
        Span::raw(format!("{:>w$} ", row.id, w = c.id)),
        Span::raw(format!(
            "{} ",
            pad(&state.clock.when(&row.started_at, c.when), c.when)
        )),
        Span::raw(format!("{} ", pad(&fit(&row.seller, c.seller), c.seller))),
        Span::raw(format!("{} ", pad(&fit(&file, c.file), c.file))),
        Span::raw(format!(
            "{} {} {} {} ",
            num(row.created),
            num(row.updated),
            num(row.unchanged),
            num(row.rejected)
        )),
        Span::styled(
            pad(
                if row.pruned && row.status == ImportState::Completed {
                    "pruned"
                } else {
                    text::status(row.status)
                },
                c.status,
            ),
            status_style,
        ),
        Span::raw(format!(" {}", pad(&fit(&row.actor, c.actor), c.actor))),
    ];
    t.row(Line::from(spans), selected)
}
