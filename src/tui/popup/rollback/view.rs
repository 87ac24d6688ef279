//! The rollback popup's view outside the plan: waiting boxes, why a
//! rollback is unavailable, the result, a refusal. The result and the
//! refusal are a fixed head and a list that scrolls ([`ResultText`]); the
//! update scrolls by the same numbers this draws with.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::domain::rollback::{PlanItem, RollbackOutcome};
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::widgets::text::{self, base_name, fit, thousands};
use crate::tui::widgets::{block, buttons_line};

use super::{PopupStage, plan, skip_reason};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let Some(popup) = &state.popup else { return };
    let t = &state.theme;
    let id = popup.import_id;
    let title = format!(" Roll back import #{id} ");
    match &popup.stage {
        PopupStage::Checking { .. } => message(
            frame,
            area,
            t,
            &title,
            &[Line::raw(format!(
                "Checking whether import #{id} can be rolled back…"
            ))],
            "Esc cancels",
        ),
        PopupStage::Previewing { seconds, .. } => message(
            frame,
            area,
            t,
            &title,
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
            message(frame, area, t, &title, &lines, "[ Close ]")
        }
        PopupStage::Plan(p) => plan::view::render(frame, area, state, p),
        PopupStage::Refused { .. } | PopupStage::Done { .. } => {
            if let Some(r) = result_text(state) {
                r.render(frame, t);
            }
        }
    }
}

/// A result or a refusal: a titled box at the top of the popup area with
/// lines that stay, a list that scrolls, and one button.
pub struct ResultText {
    pub title: String,
    pub head: Vec<Line<'static>>,
    pub list: Vec<Line<'static>>,
    pub scroll: usize,
    pub button: &'static str,
    pub rect: Rect,
}

impl ResultText {
    /// Rows the list has: the box less its borders, the head and the
    /// button line.
    pub fn list_rows(&self) -> usize {
        layout::inner_height(self.rect).saturating_sub(1 + self.head.len())
    }

    fn render(self, frame: &mut Frame, t: &Theme) {
        frame.render_widget(Clear, self.rect);
        let b = block(self.title.clone(), t);
        let inner = b.inner(self.rect);
        frame.render_widget(b, self.rect);
        let scroll = self
            .scroll
            .min(self.list.len().saturating_sub(self.list_rows()));
        let mut lines = self.head;
        lines.extend(self.list.into_iter().skip(scroll));
        let body = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(1),
        );
        frame.render_widget(Paragraph::new(lines), body);
        buttons_line(frame, inner, &[(self.button, true, true)], t);
    }
}

/// The popup's result or refusal as drawn at the terminal's size; `None`
/// in other stages.
pub fn result_text(state: &State) -> Option<ResultText> {
    let popup = state.popup.as_ref()?;
    let area = state.area();
    let t = &state.theme;
    let id = popup.import_id;
    // The box spans the width: its text has it less borders and padding.
    let w = area.width.saturating_sub(4) as usize;
    match &popup.stage {
        PopupStage::Refused {
            message,
            conflicts,
            can_retry,
            scroll,
        } => {
            let (head, list) = refused_lines(message, conflicts, w, t);
            let rows = text::wrap(message, w).len() + 3 + conflicts.len();
            Some(ResultText {
                title: format!(" Rollback of import #{id} refused "),
                head,
                list,
                scroll: *scroll,
                button: if *can_retry {
                    "[ Preview again ]"
                } else {
                    "[ Close ]"
                },
                rect: fitted(area, rows),
            })
        }
        PopupStage::Done {
            outcome,
            file,
            scroll,
        } => {
            let (head, list) = done_lines(outcome, file, w, t);
            let rows = head.len() + list.len() + 1;
            Some(ResultText {
                title: format!(" Import #{id} rolled back "),
                head,
                list,
                scroll: *scroll,
                button: "[ Close ]",
                rect: fitted(area, rows),
            })
        }
        _ => None,
    }
}

type HeadAndList = (Vec<Line<'static>>, Vec<Line<'static>>);

/// Why nothing was changed, then the conflicting listings.
fn refused_lines(msg: &str, conflicts: &[PlanItem], w: usize, t: &Theme) -> HeadAndList {
    let mut head: Vec<Line> = text::wrap(&crate::text::sanitize(msg), w)
        .into_iter()
        .map(|l| Line::styled(l, t.error()))
        .collect();
    if !msg.to_lowercase().contains("nothing was changed") {
        head.push(Line::styled("Nothing was changed.", t.bold()));
    }
    let mut list = Vec::new();
    if !conflicts.is_empty() {
        head.push(Line::default());
        head.push(Line::styled(
            "Listings changed after the import:".to_string(),
            t.bold(),
        ));
        for c in conflicts {
            list.push(Line::from(vec![
                Span::styled("  ! ", t.warn()),
                Span::raw(fit(&c.sku, 30)),
                Span::raw(format!("  {}", skip_reason(c.reason.as_deref()))),
            ]));
        }
    }
    (head, list)
}

/// What was restored, deleted and skipped, then the skipped listings.
fn done_lines(outcome: &RollbackOutcome, file: &str, w: usize, t: &Theme) -> HeadAndList {
    let changed = outcome.restored + outcome.deleted;
    let rate = if outcome.duration_seconds > 0.0 {
        format!(
            " ({} listings/s)",
            thousands((changed as f64 / outcome.duration_seconds) as i64)
        )
    } else {
        String::new()
    };
    let mut head = vec![
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
            t.ok().add_modifier(Modifier::BOLD),
        ),
        Line::raw("The import is now marked rolled back in the history."),
    ];
    let mut list = Vec::new();
    if !outcome.skipped_listings.is_empty() {
        head.push(Line::default());
        head.push(Line::styled(
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
        for s in &outcome.skipped_listings {
            list.push(Line::from(vec![
                Span::styled("  ! ", t.warn()),
                Span::raw(text::pad(&fit(&s.sku, sku_w), sku_w)),
                Span::raw(format!(
                    "  {}",
                    text::cut(
                        &skip_reason(s.reason.as_deref()),
                        w.saturating_sub(sku_w + 6)
                    )
                )),
            ]));
        }
    }
    (head, list)
}

/// A rect of `lines` content lines (plus borders and a button line) at the
/// top of the popup area, or all of it when that is not enough.
fn fitted(area: Rect, lines: usize) -> Rect {
    let full = layout::popup_rect(area);
    let h = (lines as u16 + 3).min(full.height);
    Rect::new(full.x, full.y, full.width, h)
}

/// A small centred box with a few lines and a hint or button at the bottom.
fn message(frame: &mut Frame, area: Rect, t: &Theme, title: &str, lines: &[Line], bottom: &str) {
    let w = area.width.saturating_sub(4).min(70);
    let h = (lines.len() as u16 + 4).min(area.height.saturating_sub(2));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let b = block(title.to_string(), t);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    frame.render_widget(Paragraph::new(lines.to_vec()), inner);
    if bottom.starts_with('[') {
        buttons_line(frame, inner, &[(bottom, true, true)], t);
    } else {
        let y = inner.y + inner.height.saturating_sub(1);
        frame.render_widget(
            Paragraph::new(bottom.to_string()).style(t.dim()),
            Rect::new(inner.x, y, inner.width, 1),
        );
    }
}
