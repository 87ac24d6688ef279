//! The plan's view: header and counts, section tabs with the position,
//! the visible window of the section's lines, the conflict mode, the id
//! to type, the buttons.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::domain::rollback::{ConflictMode, PlanItem, Section};
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::widgets::text::{self, base_name, fit, thousands};
use crate::tui::widgets::{self, Button, block, buttons_line, diff_lines};

use super::{PlanView, SECTIONS, list_height};

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
        state.clock.time_ago(&p.imported_at),
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
    let loaded = pages.line_count(state.hide_times);
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
    // After a jump (`/`, `G`) the loaded lines start at a key further on.
    let pos = if loaded > 0 {
        format!(
            "{}lines {}-{} of {}{}",
            if pages.cut_above { "… " } else { "" },
            pages.scroll + 1,
            (pages.scroll + list_h).min(loaded),
            loaded,
            if pages.exhausted { "" } else { "+" }
        )
    } else {
        String::new()
    };
    // The keys that move through the section, where the footer has no room.
    let keys_hint = "/ find · ";
    let pos = if tabs_w + text::width(keys_hint) + text::width(&pos) < w {
        format!("{keys_hint}{pos}")
    } else {
        pos
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
    let mode = if let Some(input) = &plan.search {
        let label = "Find the SKU beginning with: ";
        Line::from(vec![
            Span::styled(label, t.bold()),
            Span::raw(format!(
                "{}_",
                input.visible(w.saturating_sub(text::width(label) + 1)).0
            )),
        ])
    } else {
        Line::from(vec![
            Span::styled("Conflicts: ", t.bold()),
            Span::raw(format!(
                "{} skip changed listings  {} block: refuse if any changed  ",
                radio(plan.mode == ConflictMode::Skip),
                radio(plan.mode == ConflictMode::Block)
            )),
            Span::styled("m", t.key()),
        ])
    };
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
    let hide = state.hide_times;
    let mut line = 0usize;
    for item in &pages.items {
        let n = item_line_count(item, hide);
        if line + n <= pages.scroll {
            line += n;
            continue;
        }
        let lines = item_lines(item, w, t, hide);
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
fn item_lines(item: &PlanItem, w: usize, t: &Theme, hide_times: bool) -> Vec<Line<'static>> {
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
            hide_times,
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
pub fn item_line_count(item: &PlanItem, hide_times: bool) -> usize {
    match item.action {
        Section::Delete => 1,
        Section::Skip => 2,
        Section::Restore => widgets::diff_line_count(item.diff.as_ref(), hide_times),
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
            item(
                Section::Restore,
                Some(json!({"price": ["1", "2"], "updated_at": [
                    "2026-11-27 02:20:58.776938+00", "2026-11-27 02:20:58.719591+00"
                ]})),
            ),
        ];
        for it in &items {
            for hide in [false, true] {
                assert_eq!(
                    item_line_count(it, hide),
                    item_lines(it, 76, &Theme::MONO, hide).len(),
                    "{it:?}"
                );
            }
        }
    }
}
