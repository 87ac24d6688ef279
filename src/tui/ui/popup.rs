//! The rollback confirmation popup: names the import, counts first, then
//! the plan's details page by page (per-field diffs with `-`/`+`, skipped
//! listings with their reason), the conflict mode, and Cancel (default) /
//! Roll back. Also: why a rollback is unavailable, the result, a refusal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::form::diff_lines;
use super::text::{self, fit, thousands};
use super::{block, layout};
use crate::domain::rollback::{ConflictMode, Section};
use crate::tui::state::{Button, PlanView, PopupStage, State, item_lines};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let Some(popup) = &state.popup else { return };
    let t = &state.theme;
    let id = popup.import_id;
    match &popup.stage {
        PopupStage::Checking { .. } => message(
            frame,
            area,
            state,
            &format!(" Roll back import #{id} "),
            &[Line::raw(format!(
                "Checking whether import #{id} can be rolled back…"
            ))],
            "Esc cancels",
        ),
        PopupStage::Previewing { seconds, .. } => message(
            frame,
            area,
            state,
            &format!(" Roll back import #{id} "),
            &[
                Line::raw(format!(
                    "Computing the rollback plan of import #{id}… {seconds} s"
                )),
                Line::styled("Nothing is locked while you look at it.", t.dim()),
            ],
            "Esc cancels",
        ),
        PopupStage::Ineligible { reason } => {
            let mut lines = vec![Line::styled(
                format!("Import #{id} cannot be rolled back:"),
                t.bold(),
            )];
            lines.extend(
                text::wrap(reason, 64)
                    .into_iter()
                    .map(|l| Line::styled(l, t.warn())),
            );
            message(
                frame,
                area,
                state,
                &format!(" Roll back import #{id} "),
                &lines,
                "[ Close ]",
            )
        }
        PopupStage::Refused {
            message: msg,
            conflicts,
            can_retry,
            scroll,
        } => {
            let w = area.width.saturating_sub(4) as usize;
            let rect = fitted(area, text::wrap(msg, w).len() + 3 + conflicts.len());
            frame.render_widget(Clear, rect);
            let b = block(format!(" Rollback of import #{id} refused "), state);
            let inner = b.inner(rect);
            frame.render_widget(b, rect);
            let mut lines: Vec<Line> = text::wrap(&crate::text::sanitize(msg), w)
                .into_iter()
                .map(|l| Line::styled(l, t.error()))
                .collect();
            if !msg.to_lowercase().contains("nothing was changed") {
                lines.push(Line::styled("Nothing was changed.", t.bold()));
            }
            if !conflicts.is_empty() {
                lines.push(Line::default());
                lines.push(Line::styled(
                    "Listings changed after the import:".to_string(),
                    t.bold(),
                ));
                for c in conflicts.iter().skip(*scroll) {
                    lines.push(Line::from(vec![
                        Span::styled("  ! ", t.warn()),
                        Span::raw(fit(&c.sku, 30)),
                        Span::raw(format!(
                            "  {}",
                            super::detail::skip_reason(c.reason.as_deref())
                        )),
                    ]));
                }
            }
            let body = Rect::new(
                inner.x,
                inner.y,
                inner.width,
                inner.height.saturating_sub(1),
            );
            frame.render_widget(Paragraph::new(lines), body);
            let button = if *can_retry {
                "[ Preview again ]"
            } else {
                "[ Close ]"
            };
            buttons_line(frame, inner, &[(button, true, true)], state);
        }
        PopupStage::Done {
            outcome,
            file,
            scroll,
        } => {
            let extra = if outcome.skipped_listings.is_empty() {
                0
            } else {
                outcome.skipped_listings.len() + 2
            };
            let rect = fitted(area, 4 + extra);
            frame.render_widget(Clear, rect);
            let b = block(format!(" Import #{id} rolled back "), state);
            let inner = b.inner(rect);
            frame.render_widget(b, rect);
            let w = inner.width as usize;
            let changed = outcome.restored + outcome.deleted;
            let rate = if outcome.duration_seconds > 0.0 {
                format!(
                    " ({} listings/s)",
                    thousands((changed as f64 / outcome.duration_seconds) as i64)
                )
            } else {
                String::new()
            };
            let mut lines = vec![
                Line::raw(fit(
                    &format!("File {} · seller {}", base_name(file), outcome.seller),
                    w,
                )),
                Line::styled(
                    text::cut(
                        &format!(
                            "{} restored · {} deleted · {} skipped · {:.2} s{rate}",
                            thousands(outcome.restored),
                            thousands(outcome.deleted),
                            thousands(outcome.skipped),
                            outcome.duration_seconds
                        ),
                        w,
                    ),
                    t.ok().add_modifier(ratatui::style::Modifier::BOLD),
                ),
                Line::raw("The import is now marked rolled back in the history."),
            ];
            if !outcome.skipped_listings.is_empty() {
                lines.push(Line::default());
                lines.push(Line::styled(
                    format!(
                        "Skipped listings, kept as they are now ({}{}):",
                        thousands(outcome.skipped),
                        if (outcome.skipped_listings.len() as i64) < outcome.skipped {
                            "; all are in the audit log"
                        } else {
                            ""
                        }
                    ),
                    t.bold(),
                ));
                let sku_w = 24.min(w / 3);
                for s in outcome.skipped_listings.iter().skip(*scroll) {
                    lines.push(Line::from(vec![
                        Span::styled("  ! ", t.warn()),
                        Span::raw(text::pad(&fit(&s.sku, sku_w), sku_w)),
                        Span::raw(format!(
                            "  {}",
                            text::cut(
                                &super::detail::skip_reason(s.reason.as_deref()),
                                w.saturating_sub(sku_w + 6)
                            )
                        )),
                    ]));
                }
            }
            let body = Rect::new(
                inner.x,
                inner.y,
                inner.width,
                inner.height.saturating_sub(1),
            );
            frame.render_widget(Paragraph::new(lines), body);
            buttons_line(frame, inner, &[("[ Close ]", true, true)], state);
        }
        PopupStage::Plan(plan) => plan_view(frame, area, state, plan),
    }
}

/// The last component of a path (the history stores the name as given).
pub fn base_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// A rect of `lines` content lines (plus borders and a button line) at the
/// top of the popup area, or all of it when that is not enough.
fn fitted(area: Rect, lines: usize) -> Rect {
    let full = layout::popup_rect(area);
    let h = (lines as u16 + 3).min(full.height);
    Rect::new(full.x, full.y, full.width, h)
}

/// A small centred box with a few lines and a hint or button at the bottom.
fn message(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    title: &str,
    lines: &[Line],
    bottom: &str,
) {
    let w = area.width.saturating_sub(4).min(70);
    let h = (lines.len() as u16 + 4).min(area.height.saturating_sub(2));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let b = block(title.to_string(), state);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    frame.render_widget(Paragraph::new(lines.to_vec()), inner);
    let button = bottom.starts_with('[');
    if button {
        buttons_line(frame, inner, &[(bottom, true, true)], state);
    } else {
        let y = inner.y + inner.height.saturating_sub(1);
        frame.render_widget(
            Paragraph::new(bottom.to_string()).style(state.theme.dim()),
            Rect::new(inner.x, y, inner.width, 1),
        );
    }
}

/// Buttons centred on the last line of `inner`.
fn buttons_line(frame: &mut Frame, inner: Rect, buttons: &[(&str, bool, bool)], state: &State) {
    let t = &state.theme;
    let total: usize = buttons.iter().map(|(b, _, _)| text::width(b) + 3).sum();
    let mut spans = vec![Span::raw(
        " ".repeat((inner.width as usize).saturating_sub(total) / 2),
    )];
    for (label, focused, enabled) in buttons {
        spans.push(Span::styled(
            label.to_string(),
            t.button(*focused, *enabled),
        ));
        spans.push(Span::raw("   "));
    }
    let y = inner.y + inner.height.saturating_sub(1);
    frame.render_widget(
        Paragraph::new(Line::from(spans)),
        Rect::new(inner.x, y, inner.width, 1),
    );
}

fn plan_view(frame: &mut Frame, area: Rect, state: &State, plan: &PlanView) {
    let t = &state.theme;
    let p = &plan.preview;
    let rect = layout::popup_rect(area);
    frame.render_widget(Clear, rect);
    let b = block(format!(" Roll back import #{}? ", p.import_id), state);
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
    let list_h = layout::popup_list_height(state);
    let pages = plan.pages(plan.tab);
    let loaded = pages.line_count();
    let mut spans = Vec::new();
    for s in [Section::Delete, Section::Restore, Section::Skip] {
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
            state,
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
        let n = item_lines(item);
        if line + n <= pages.scroll {
            line += n;
            continue;
        }
        let lines = match item.action {
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
        };
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
