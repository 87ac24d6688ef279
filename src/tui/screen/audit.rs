//! The audit log: who did what, when; newest first, paged by keyset like
//! the history, with the history's `/` filter ([`filter`]).

pub mod filter;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::action::{AuditRow, Effect, ReqId};
use crossterm::event::KeyEvent;

use crate::tui::keys::{Command, Ctx};
use crate::tui::nav::ListNav;
use crate::tui::paged::{self, Keyed, PAGE, Paged, PagedList};
use crate::tui::popup::full_text::Item;
use crate::tui::state::{Notice, State};
use crate::tui::widgets;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, fit, pad};

use super::{Screen, ScreenModule, detail, import};

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub list: Paged<AuditRow>,
    pub filter: filter::Filter,
    /// The `/` filter being typed.
    pub filter_input: Option<TextInput>,
    /// The filter when `/` was pressed (Esc puts it back).
    pub filter_before: Option<filter::Filter>,
    /// Why what is typed is not a filter (yet).
    pub filter_error: Option<String>,
}

/// The audit log screen.
pub struct Audit;

impl ScreenModule for Audit {
    fn title(&self) -> &'static str {
        "Audit log"
    }

    fn title_note(&self, state: &State) -> Option<String> {
        let f = &state.audit.filter;
        (!f.is_empty()).then(|| format!("filter: {}", f.to_text()))
    }

    fn context(&self, state: &State) -> Ctx {
        if state.audit.filter_input.is_some() {
            Ctx::AuditFilter
        } else {
            Ctx::Audit
        }
    }

    fn command(&self, state: &mut State, _: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
        if state.audit.filter_input.is_some() {
            return filter::command(state, cmd, ev);
        }
        if let Some(effects) = paged::command::<Pages>(state, cmd) {
            return effects;
        }
        match cmd {
            Command::Open => {
                let row = state.audit.list.selected();
                match row.and_then(|r| r.import_id) {
                    Some(id) => detail::open(state, id, Screen::Audit),
                    None => {
                        if row.is_some() {
                            state.notice = Some(Notice::info("this entry is not about an import"));
                        }
                        Vec::new()
                    }
                }
            }
            Command::Filter => {
                filter::open(state);
                Vec::new()
            }
            Command::Back if !state.audit.filter.is_empty() => {
                filter::set(state, filter::Filter::default())
            }
            Command::Back => {
                state.screen = Screen::History;
                Vec::new()
            }
            Command::NewImport => import::open(state),
            Command::Refresh => open(state),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let t = &state.theme;
        let a = &state.audit.list;
        let w = area.width as usize;
        let idw = a
            .rows
            .first()
            .map(|r| r.id.to_string().len())
            .unwrap_or(2)
            .max(2);
        let when = super::history::when_width(w);
        let actor = if w >= 100 { 14 } else { 10 };
        let act = 18;
        let seller = if w >= 100 { 10 } else { 8 };
        let import = 6;
        let details = w.saturating_sub(idw + when + actor + act + seller + import + 6);
        let mut lines = Vec::with_capacity(area.height as usize);
        lines.push(Line::styled(
            text::cut(
                &format!(
                    "{:>idw$} {} {} {} {} {:>import$} {}",
                    "id",
                    pad("when", when),
                    pad("actor", actor),
                    pad("action", act),
                    pad("seller", seller),
                    "import",
                    "details"
                ),
                w,
            ),
            t.header(),
        ));
        if a.rows.is_empty() {
            lines.push(Line::default());
            let msg = if a.loaded && !state.audit.filter.is_empty() {
                "No entry matches the filter (Esc clears it)."
            } else if a.loaded {
                "The audit log is empty."
            } else {
                "Loading the audit log…"
            };
            lines.push(Line::styled(format!("  {msg}"), t.dim()));
        }
        let height = area.height.saturating_sub(1) as usize;
        for (r, selected) in a.window(height) {
            let action_style = if selected {
                t.plain()
            } else if r.action.contains("refused") || r.action.contains("failed") {
                t.error()
            } else if r.action.contains("rollback") {
                t.warn()
            } else {
                t.plain()
            };
            let line = Line::from(vec![
                Span::raw(format!("{:>idw$} ", r.id)),
                Span::raw(format!("{} ", pad(&state.clock.when(&r.at, when), when))),
                Span::raw(format!("{} ", pad(&fit(&r.actor, actor), actor))),
                Span::styled(pad(&fit(&r.action, act), act), action_style),
                Span::raw(format!(
                    " {} ",
                    pad(&fit(r.seller.as_deref().unwrap_or("-"), seller), seller)
                )),
                Span::raw(format!(
                    "{:>import$} ",
                    r.import_id.map(|i| i.to_string()).unwrap_or("-".into())
                )),
                Span::raw(pad(&fit(&r.summary, details), details)),
            ]);
            lines.push(t.row(line, selected));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// The selected entry's details in full width, and the position.
    fn status(&self, state: &State, w: usize) -> Line<'static> {
        let a = &state.audit.list;
        let Some(r) = a.selected() else {
            return Line::default();
        };
        let pos = a.position();
        let room = w.saturating_sub(text::width(&pos) + 2);
        let msg = format!(
            " {}",
            fit(
                &format!("{} {}: {}", state.clock.time(&r.at), r.action, r.summary),
                room
            )
        );
        widgets::spread(Span::raw(msg), pos, w, &state.theme)
    }

    fn text_input<'a>(&self, state: &'a mut State) -> Option<&'a mut TextInput> {
        state.audit.filter_input.as_mut()
    }

    fn edited(&self, state: &mut State) -> Vec<Effect> {
        filter::edited(state)
    }

    fn draw_input_line(&self, frame: &mut Frame, area: Rect, state: &State) -> bool {
        filter::draw_input(frame, area, state)
    }

    fn reload(&self, state: &mut State) -> Vec<Effect> {
        load(state, false)
    }

    /// The selected entry, its details as recorded.
    fn full_text(&self, state: &State) -> Vec<Item> {
        let Some(r) = state.audit.list.selected() else {
            return Vec::new();
        };
        let mut items = vec![
            Item::new("Entry", r.id.to_string()),
            Item::new("When", state.clock.time_ago(&r.at)),
            Item::new("Who", &r.actor),
            Item::new("Action", &r.action),
        ];
        if let Some(s) = &r.seller {
            items.push(Item::new("Seller", s));
        }
        if let Some(i) = r.import_id {
            items.push(Item::new("Import", i.to_string()));
        }
        items.push(Item::new("Summary", &r.summary));
        if let Some(obj) = r.details.as_object() {
            for (key, value) in obj {
                let value = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                items.push(Item::new(key.replace('_', " "), value));
            }
        }
        items
    }

    fn relayout(&self, state: &mut State) {
        paged::relayout::<Pages>(state);
    }
}

impl Keyed for AuditRow {
    type Key = i64;
    fn key(&self) -> i64 {
        self.id
    }
}

// ---------------------------------------------------------------- loading

/// Shows the audit log from its newest entry.
pub fn open(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Audit;
    state.audit.list.nav = ListNav::default();
    load(state, false)
}

pub struct Pages;

impl PagedList for Pages {
    type Row = AuditRow;

    fn list(state: &mut State) -> &mut Paged<AuditRow> {
        &mut state.audit.list
    }

    fn request(state: &State, req: ReqId, before: Option<i64>) -> Effect {
        Effect::LoadAudit {
            req,
            filter: filter::query(state),
            before,
            limit: PAGE,
        }
    }
}

/// Requests the first page (`append`: the next one).
pub fn load(state: &mut State, append: bool) -> Vec<Effect> {
    paged::load::<Pages>(state, append)
}
