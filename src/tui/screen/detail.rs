//! One import in full: summary, timings, errors with line numbers, and the
//! rollback (availability, or its result with the skipped listings). A
//! scrolled text: its lines are built by [`lines`], which gives the scroll
//! its length too.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::audit::action;
use crate::domain::history::ImportState;
use crate::domain::rollback::RollbackOutcome;
use crate::tui::action::{DetailData, Effect, Failure, ReqId};
use crossterm::event::KeyEvent;

use crate::tui::keys::{Command, Ctx};
use crate::tui::nav;
use crate::tui::popup::rollback::{self, skip_reason};
use crate::tui::state::State;
use crate::tui::widgets::text::{self, fit, thousands};
use crate::tui::widgets::{self, error_list, labelled, labelled_wrapped};

use super::history::{self, Eligibility};
use super::{Screen, ScreenModule, audit, import};

const LABEL: usize = 12;

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
    /// The screen Esc goes back to.
    pub back: Screen,
}

/// The detail screen.
pub struct Detail;

impl ScreenModule for Detail {
    fn title(&self) -> &'static str {
        "Import detail"
    }

    fn context(&self, _: &State) -> Ctx {
        Ctx::Detail
    }

    fn command(&self, state: &mut State, _: Ctx, cmd: Command, _: &KeyEvent) -> Vec<Effect> {
        let (len, page) = (line_count(state), state.body_height());
        if let Some(d) = state.detail.as_mut()
            && nav::scroll(&mut d.scroll, cmd, len, page)
        {
            return Vec::new();
        }
        match cmd {
            Command::Back => {
                if let Some(d) = &state.detail {
                    state.screen = d.back;
                }
                Vec::new()
            }
            Command::Rollback => match state.detail.as_ref() {
                Some(d) => {
                    let id = d.id;
                    rollback::open(state, id)
                }
                None => Vec::new(),
            },
            Command::NewImport => import::open(state),
            Command::AuditLog => audit::open(state),
            Command::Refresh => reload(state),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let lines = lines(state, area.width as usize);
        let scroll = state.detail.as_ref().map(|d| d.scroll).unwrap_or(0);
        let visible = widgets::window(lines, scroll, area.height as usize);
        frame.render_widget(Paragraph::new(visible), area);
    }

    fn status(&self, state: &State, w: usize) -> Line<'static> {
        let Some(d) = &state.detail else {
            return Line::default();
        };
        let total = line_count(state);
        let height = state.body_height();
        let pos = if total > height {
            format!(
                "lines {}-{} of {} ",
                d.scroll.min(total - height) + 1,
                (d.scroll.min(total - height) + height).min(total),
                total
            )
        } else {
            String::new()
        };
        widgets::spread(Span::raw(""), pos, w, &state.theme)
    }

    fn reload(&self, state: &mut State) -> Vec<Effect> {
        reload(state)
    }

    fn relayout(&self, state: &mut State) {
        let (len, page) = (line_count(state), state.body_height());
        if let Some(d) = state.detail.as_mut() {
            nav::clamp(&mut d.scroll, len, page);
        }
    }
}

// ---------------------------------------------------------------- update

/// Shows import `id`, loading it; Esc returns to `from`.
pub fn open(state: &mut State, id: i64, from: Screen) -> Vec<Effect> {
    let req = state.req();
    let rollback = state
        .detail
        .take()
        .filter(|d| d.id == id)
        .and_then(|d| d.rollback);
    state.detail = Some(DetailView {
        id,
        data: None,
        loading: Some(req),
        missing: false,
        scroll: 0,
        rollback,
        back: from,
    });
    state.screen = Screen::Detail;
    vec![Effect::LoadDetail { req, id }]
}

/// Loads the shown import again (and asks again whether it can be rolled
/// back).
pub fn reload(state: &mut State) -> Vec<Effect> {
    let req = state.req();
    match state.detail.as_mut() {
        Some(d) => {
            d.loading = Some(req);
            state.history.eligibility.remove(&d.id);
            vec![Effect::LoadDetail { req, id: d.id }]
        }
        None => Vec::new(),
    }
}

/// Reply to [`Effect::LoadDetail`].
pub fn loaded(
    state: &mut State,
    req: ReqId,
    result: Result<Option<Box<DetailData>>, Failure>,
) -> Vec<Effect> {
    let Some(d) = state.detail.as_mut().filter(|d| d.loading == Some(req)) else {
        return Vec::new();
    };
    d.loading = None;
    match result {
        Ok(Some(data)) => {
            d.data = Some(data);
            d.missing = false;
            let id = d.id;
            return history::check_eligibility(state, id);
        }
        Ok(None) => d.missing = true,
        Err(f) => state.fail(f, true),
    }
    Vec::new()
}

// ---------------------------------------------------------------- view

/// The screen's length in lines, at the terminal's width.
pub fn line_count(state: &State) -> usize {
    lines(state, state.width as usize).len()
}

fn field(label: &str, value: &str, w: usize, state: &State) -> Line<'static> {
    labelled(label, value, LABEL, w, &state.theme)
}

/// Continuation lines of a long message under a label.
fn field_wrapped(label: &str, value: &str, w: usize, state: &State) -> Vec<Line<'static>> {
    labelled_wrapped(label, value, LABEL, w, &state.theme)
}

pub fn lines(state: &State, w: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let Some(d) = &state.detail else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(data) = &d.data else {
        let msg = if d.missing {
            format!("There is no import #{}.", d.id)
        } else {
            format!("Loading import #{}…", d.id)
        };
        out.push(Line::styled(format!(" {msg}"), t.dim()));
        return out;
    };
    let i = &data.import;
    out.push(Line::from(vec![
        Span::styled(format!(" Import #{} — ", i.id), t.bold()),
        Span::styled(
            match i.shown_status() {
                "pruned" => "pruned",
                _ => text::status(i.status),
            },
            t.status(i.status),
        ),
    ]));
    out.push(field("Seller", &fit(&i.seller_id, w), w, state));
    out.push(field("File", &fit(&i.file_name, w), w, state));
    let mut file_facts = Vec::new();
    if let Some(size) = i.file_size {
        file_facts.push(text::bytes(size.max(0) as u64));
    }
    if let Some(sha) = &i.file_sha256 {
        file_facts.push(format!("sha256 {}", fit(sha, 16)));
    }
    if !file_facts.is_empty() {
        out.push(field("Size", &file_facts.join(" · "), w, state));
    }
    let mut profile = fit(&i.profile, 20);
    if i.options.get("profile_detected").and_then(|v| v.as_bool()) == Some(true) {
        profile.push_str(" (detected from the header)");
    }
    if let Some(key) = i.options.get("key").and_then(|v| v.as_str()) {
        profile.push_str(&format!(" · key {}", fit(key, 30)));
    }
    out.push(field("Profile", &profile, w, state));
    out.push(field("Started", &text::time(&i.started_at), w, state));
    if let Some(f) = &i.finished_at {
        let secs = i.duration_seconds().unwrap_or(0.0);
        let rate = if secs > 0.0 {
            format!(" · {:.0} rows/s", i.rows_read as f64 / secs)
        } else {
            String::new()
        };
        out.push(field(
            "Finished",
            &format!("{} · {:.2} s{rate}", text::time(f), secs),
            w,
            state,
        ));
    }
    let mut by = fit(&i.actor, 40);
    by.push_str(&format!(" · db role {}", fit(&i.db_role, 20)));
    out.push(field("By", &by, w, state));
    out.push(field(
        "Rows",
        &format!(
            "{} read: {} created, {} updated, {} unchanged, {} rejected",
            thousands(i.rows_read),
            thousands(i.created),
            thousands(i.updated),
            thousands(i.unchanged),
            thousands(i.rejected)
        ),
        w,
        state,
    ));
    if i.ignored_rows > 0 {
        out.push(field(
            "Ignored",
            &format!(
                "{} rows (not listings by the profile's rules)",
                thousands(i.ignored_rows)
            ),
            w,
            state,
        ));
    }
    if !i.unknown_columns.is_empty() {
        let cols: Vec<String> = i.unknown_columns.iter().map(|c| fit(c, 30)).collect();
        out.push(field(
            "Unknown",
            &format!("{} (not imported)", cols.join(", ")),
            w,
            state,
        ));
    }
    rollback_lines(state, d, w, &mut out);
    if let Some(s) = &i.error_summary {
        out.push(Line::default());
        out.extend(field_wrapped("Result", &crate::text::sanitize(s), w, state));
    }
    if let Some(errors) = i.errors.as_array().filter(|e| !e.is_empty()) {
        let heading = format!(
            " Errors ({} kept, {} rows rejected)",
            errors.len(),
            thousands(i.rejected)
        );
        out.extend(error_list(heading, errors.iter().map(error_text), w, t));
    }
    out
}

/// `line 12, column 4 (price): bad price` from a stored row error.
pub fn error_text(e: &serde_json::Value) -> String {
    let mut s = String::new();
    if let Some(line) = e.get("line").and_then(|v| v.as_u64()) {
        s.push_str(&format!("line {line}"));
        match (
            e.get("column").and_then(|v| v.as_u64()),
            e.get("column_name").and_then(|v| v.as_str()),
        ) {
            (Some(c), Some(n)) => s.push_str(&format!(", column {c} ({})", fit(n, 30))),
            (Some(c), None) => s.push_str(&format!(", column {c}")),
            _ => {}
        }
        s.push_str(": ");
    }
    let reason = e.get("reason").and_then(|v| v.as_str()).unwrap_or("?");
    s.push_str(&crate::text::sanitize(reason));
    s
}

fn rollback_lines(state: &State, d: &DetailView, w: usize, out: &mut Vec<Line<'static>>) {
    let t = &state.theme;
    let Some(data) = &d.data else { return };
    let i = &data.import;
    if i.status == ImportState::RolledBack {
        let mut s = String::from("rolled back");
        if let Some(at) = &i.rolled_back_at {
            s.push_str(&format!(" {}", text::time(at)));
        }
        if let Some(by) = &i.rolled_back_by {
            s.push_str(&format!(" by {}", fit(by, 30)));
        }
        out.push(field("Rollback", &s, w, state));
        out.push(field(
            "",
            &format!(
                "{} restored, {} deleted, {} skipped",
                thousands(i.rollback_restored.unwrap_or(0)),
                thousands(i.rollback_deleted.unwrap_or(0)),
                thousands(i.rollback_skipped.unwrap_or(0))
            ),
            w,
            state,
        ));
        // The skipped listings: from this session's rollback, else from the
        // audit log's entry.
        let mut skipped: Vec<(String, String)> = Vec::new();
        let mut listed_total = None;
        if let Some(o) = &d.rollback {
            skipped = o
                .skipped_listings
                .iter()
                .map(|s| (s.sku.clone(), skip_reason(s.reason.as_deref())))
                .collect();
        } else if let Some(entry) = data
            .audit
            .iter()
            .find(|e| e.action == action::ROLLBACK_EXECUTED)
        {
            if let Some(keys) = entry.details.get("skipped_keys").and_then(|k| k.as_array()) {
                skipped = keys
                    .iter()
                    .map(|k| {
                        (
                            k.get("sku")
                                .and_then(|v| v.as_str())
                                .unwrap_or("?")
                                .to_string(),
                            skip_reason(k.get("reason").and_then(|v| v.as_str())),
                        )
                    })
                    .collect();
            }
            listed_total = entry.details.get("skipped").and_then(|v| v.as_i64());
        }
        if !skipped.is_empty() {
            out.push(Line::default());
            let total = listed_total.unwrap_or(skipped.len() as i64);
            out.push(Line::styled(
                format!(" Skipped by the rollback ({})", thousands(total)),
                t.bold(),
            ));
            let sku_w = 24.min(w / 3);
            for (sku, reason) in skipped {
                out.push(Line::from(vec![
                    Span::styled("   ! ", t.warn()),
                    Span::raw(text::pad(&fit(&sku, sku_w), sku_w)),
                    Span::raw(format!(
                        " {}",
                        text::cut(&reason, w.saturating_sub(sku_w + 6))
                    )),
                ]));
            }
        }
        return;
    }
    let text = match state.history.eligibility.get(&d.id) {
        Some(Eligibility::Eligible) => "available: press r to preview and confirm".to_string(),
        Some(Eligibility::Ineligible(why)) => format!("unavailable: {why}"),
        _ => "checking…".to_string(),
    };
    out.extend(field_wrapped("Rollback", &text, w, state));
}
