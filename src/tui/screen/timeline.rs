//! One listing's timeline (Enter on a listing, or `listing:X` in the history's
//! filter): every captured change to it, newest first and paged by change
//! number, above a pane with the selected change's field diff or, with
//! `v`, the listing's values as of it. `r` restores the values from before
//! the selected change (the restore popup previews first).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::listings::{Change, ChangeAction, FieldChange, ListingValues, Timeline};
use crate::tui::action::{Effect, Failure, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::nav::ListNav;
use crate::tui::paged::{self, Keyed, PAGE, Paged, PagedList};
use crate::tui::popup::restore;
use crate::tui::state::{Notice, State};
use crate::tui::widgets;
use crate::tui::widgets::text::{self, fit, pad};

use super::{Screen, ScreenModule, listings};

/// Rows of the change pane at most (a listing has ten value fields and
/// its last change time).
const PANE: usize = 11;

#[derive(Debug, Clone, Default)]
pub struct TimelineView {
    pub seller: String,
    pub sku: String,
    /// The listing now; `None` when it is deleted (or not loaded yet).
    pub current: Option<ListingValues>,
    pub list: Paged<Change>,
    /// The pane shows the listing's values as of the selected change (else
    /// the change's field diff).
    pub values: bool,
    /// Why the timeline could not be loaded (no such listing, not allowed).
    pub error: Option<String>,
    /// The screen Esc goes back to.
    pub back: Option<Screen>,
}

impl Keyed for Change {
    type Key = i64;

    fn key(&self) -> i64 {
        self.change_id
    }
}

/// Rows of the body: the listing's line, the table header, the changes,
/// the pane's title, the pane.
struct Split {
    changes: usize,
    pane: usize,
}

fn split(body: usize) -> Split {
    let pane = PANE.min(body.saturating_sub(6));
    Split {
        changes: body.saturating_sub(3 + pane).max(1),
        pane,
    }
}

/// The listing's timeline screen.
pub struct TimelineScreen;

impl ScreenModule for TimelineScreen {
    fn title(&self) -> &'static str {
        "Listing timeline"
    }

    fn context(&self, _: &State) -> Ctx {
        Ctx::Timeline
    }

    fn command(&self, state: &mut State, _: Ctx, cmd: Command, _: &KeyEvent) -> Vec<Effect> {
        if let Some(effects) = paged::command::<Pages>(state, cmd) {
            return effects;
        }
        let tl = &mut state.timeline;
        match cmd {
            Command::ToggleValues => {
                tl.values = !tl.values;
                Vec::new()
            }
            Command::Restore => match tl.list.selected() {
                Some(change) if change.before.is_none() => {
                    state.notice = Some(Notice::error(format!(
                        "change #{} created the listing: it had no values before it",
                        change.change_id
                    )));
                    Vec::new()
                }
                Some(change) => {
                    let (seller, sku, id) = (tl.seller.clone(), tl.sku.clone(), change.change_id);
                    restore::open(state, seller, sku, id)
                }
                None => Vec::new(),
            },
            Command::Back => {
                state.screen = tl.back.unwrap_or(Screen::History);
                if state.screen == Screen::Listings {
                    // A restore may have changed the listing.
                    return listings::reload(state, true);
                }
                Vec::new()
            }
            Command::Refresh => reload(state),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let t = &state.theme;
        let tl = &state.timeline;
        let w = area.width as usize;
        let s = split(area.height as usize);
        let mut lines = vec![Line::from(vec![
            Span::styled(format!(" {} ", fit(&tl.sku, 24)), t.bold()),
            Span::raw(fit(
                &format!("of {} · now: {}", tl.seller, now_summary(tl)),
                w.saturating_sub(text::width(&tl.sku).min(24) + 2),
            )),
        ])];
        lines.push(Line::styled(
            text::cut(&format!("{:>7} {} what", "change", pad("when", 11)), w),
            t.header(),
        ));
        if let Some(e) = &tl.error {
            lines.push(Line::default());
            lines.push(Line::styled(
                format!("  {}", fit(e, w.saturating_sub(2))),
                t.error(),
            ));
        } else if tl.list.rows.is_empty() {
            let msg = if tl.list.loaded {
                "No recorded change to this listing."
            } else {
                "Loading the listing's changes…"
            };
            lines.push(Line::default());
            lines.push(Line::styled(format!("  {msg}"), t.dim()));
        }
        for (c, selected) in tl.list.window(s.changes) {
            let what = c.describe();
            let line = Line::from(vec![
                Span::raw(format!("{:>7} ", format!("#{}", c.change_id))),
                Span::raw(format!("{} ", pad(&state.clock.when(&c.at, 11), 11))),
                Span::raw(pad(
                    &text::cut(&what, w.saturating_sub(20)),
                    w.saturating_sub(20),
                )),
            ]);
            lines.push(t.row(line, selected));
        }
        lines.resize(2 + s.changes, Line::default());
        if let Some(c) = tl.list.selected() {
            let title = if tl.values {
                format!(
                    "── values as of change #{} ({}) · v: its diff ",
                    c.change_id,
                    state.clock.time(&c.at)
                )
            } else {
                format!(
                    "── change #{} ({}) · v: values as of it ",
                    c.change_id,
                    state.clock.time(&c.at)
                )
            };
            let rule = w.saturating_sub(text::width(&title));
            lines.push(Line::styled(
                text::cut(&format!("{title}{}", "─".repeat(rule)), w),
                t.border(),
            ));
            let pane = if tl.values {
                values_lines(c, w, state)
            } else {
                diff_lines(&c.diff, Some(c.action), w, state)
            };
            lines.extend(pane.into_iter().take(s.pane));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// What `r` would do with the selected change, and the position.
    fn status(&self, state: &State, w: usize) -> Line<'static> {
        let tl = &state.timeline;
        let pos = tl.list.position();
        let room = w.saturating_sub(text::width(&pos) + 2);
        let Some(c) = tl.list.selected() else {
            return Line::default();
        };
        let (msg, style) = if c.before.is_none() {
            (
                format!("change #{} created the listing", c.change_id),
                state.theme.dim(),
            )
        } else {
            (
                format!(
                    "r restores the values it had before change #{}",
                    c.change_id
                ),
                state.theme.ok(),
            )
        };
        widgets::spread(
            Span::styled(format!(" {}", text::cut(&msg, room)), style),
            pos,
            w,
            &state.theme,
        )
    }

    fn reload(&self, state: &mut State) -> Vec<Effect> {
        reload(state)
    }

    fn relayout(&self, state: &mut State) {
        paged::relayout::<Pages>(state);
    }
}

/// `Lamp · 19.99 USD · qty 3 · active`, or `deleted`.
fn now_summary(tl: &TimelineView) -> String {
    match &tl.current {
        None if tl.list.loaded => "deleted".into(),
        None => String::new(),
        Some(v) => [
            v.title.clone(),
            v.price
                .as_ref()
                .map(|p| format!("{p} {}", v.currency.as_deref().unwrap_or(""))),
            v.quantity.map(|q| format!("qty {q}")),
            Some(v.status.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    }
}

/// One line per field: `price   - 19.99   + 30.00` (the markers keep the
/// diff readable without colour). A creation (`whole`) shows only the `+`
/// side, a deletion only the `-` side.
pub fn diff_lines(
    diff: &[FieldChange],
    whole: Option<ChangeAction>,
    w: usize,
    state: &State,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let fw = 14;
    let room = w.saturating_sub(fw + 9) / 2;
    diff.iter()
        .filter(|f| {
            !(state.hide_times
                && crate::tui::widgets::is_time_only(
                    f.field,
                    f.before.as_deref(),
                    f.after.as_deref(),
                ))
        })
        .map(|f| {
            let side = |v: &Option<String>| {
                v.as_deref()
                    .map_or("(none)".into(), |v| crate::text::sanitize(v).into_owned())
            };
            // Both sides cut around where they first differ.
            let (before, after) = text::diff_window(&side(&f.before), &side(&f.after), room);
            let field = Span::raw(format!("  {} ", pad(f.field, fw)));
            let removed = format!("- {before}");
            let added = Span::styled(format!("+ {after}"), t.added());
            match whole {
                Some(ChangeAction::Created) => Line::from(vec![field, added]),
                Some(ChangeAction::Deleted) => {
                    Line::from(vec![field, Span::styled(removed, t.removed())])
                }
                _ => Line::from(vec![
                    field,
                    Span::styled(pad(&removed, room + 2), t.removed()),
                    Span::raw(" "),
                    added,
                ]),
            }
        })
        .collect()
}

/// The listing's values after change `c` (fields it changed marked `~`).
fn values_lines(c: &Change, w: usize, state: &State) -> Vec<Line<'static>> {
    let t = &state.theme;
    let Some(values) = &c.values else {
        return vec![Line::styled(
            "  The listing did not exist after this change (deleted).",
            t.dim(),
        )];
    };
    let fw = 14;
    values
        .fields()
        .into_iter()
        .filter(|(field, _)| *field != "created_at")
        .map(|(field, v)| {
            let changed =
                c.action == ChangeAction::Updated && c.diff.iter().any(|f| f.field == field);
            Line::from(vec![
                Span::styled(if changed { "~ " } else { "  " }, t.warn()),
                Span::raw(format!("{} ", pad(field, fw))),
                Span::raw(fit(v.as_deref().unwrap_or(""), w.saturating_sub(fw + 4))),
            ])
        })
        .collect()
}

// ---------------------------------------------------------------- update

/// Opens the timeline of listing `sku` of `seller`; Esc goes back to `back`.
pub fn open(state: &mut State, seller: String, sku: String, back: Screen) -> Vec<Effect> {
    state.timeline = TimelineView {
        seller,
        sku,
        back: Some(back),
        ..TimelineView::default()
    };
    state.screen = Screen::Timeline;
    paged::load::<Pages>(state, false)
}

/// `listing:X` in the history's filter: the seller is the one typed with it, a
/// seller role's own, or the selected import's.
pub fn open_sku(state: &mut State, seller: Option<String>, sku: String) -> Vec<Effect> {
    let own = state
        .identity
        .as_ref()
        .and_then(|i| i.own_seller())
        .map(str::to_string);
    let seller = seller
        .or(own)
        .or_else(|| state.history.filter.seller.clone())
        .or_else(|| state.selected_row().map(|r| r.seller.clone()));
    match seller {
        Some(seller) => open(state, seller, sku, Screen::History),
        None => {
            state.notice = Some(Notice::error("listing:X needs a seller: add seller:ID"));
            Vec::new()
        }
    }
}

/// Loads the newest changes again (after a restore), keeping the selection
/// on the same change.
pub fn reload(state: &mut State) -> Vec<Effect> {
    let tl = &mut state.timeline;
    tl.list.reselect = tl.list.selected().map(Keyed::key);
    tl.error = None;
    paged::load::<Pages>(state, false)
}

pub struct Pages;

impl PagedList for Pages {
    type Row = Change;

    fn list(state: &mut State) -> &mut Paged<Change> {
        &mut state.timeline.list
    }

    fn request(state: &State, req: ReqId, before: Option<i64>) -> Effect {
        Effect::LoadTimeline {
            req,
            seller: state.timeline.seller.clone(),
            sku: state.timeline.sku.clone(),
            before,
            limit: PAGE,
        }
    }

    fn height(state: &State) -> usize {
        split(state.body_height()).changes
    }
}

/// Reply to [`Effect::LoadTimeline`].
pub fn loaded(
    state: &mut State,
    req: ReqId,
    result: Result<Box<Timeline>, Failure>,
) -> Vec<Effect> {
    let tl = &mut state.timeline;
    let Some(loading) = tl.list.loading.filter(|l| l.req == req) else {
        return Vec::new();
    };
    let result = match result {
        Ok(page) => {
            let page = *page;
            if !loading.append {
                tl.current = page.current;
            }
            Ok(page.changes)
        }
        Err(f) => {
            if !f.connection {
                tl.error = Some(f.message.clone());
            }
            if !loading.append {
                tl.list.nav = ListNav::default();
            }
            Err(f)
        }
    };
    paged::loaded::<Pages>(state, req, result)
}
