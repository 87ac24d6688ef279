//! The new-import form: file (Tab completes), seller, profile, option; a
//! dry run shows what would change; then Cancel (default) or Import.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};

use super::text::{self, fit, thousands};
use super::theme::Theme;
use crate::domain::import::{ImportOutcome, ImportStatus, Phase, Progress};
use crate::tui::state::{Button, FormField, FormPhase, PROFILES, State, TextInput, profile_name};

const LABEL: usize = 10;

/// The part of `input` that fits in `room` columns, and the cursor's column
/// in it (the text scrolls to keep the cursor visible).
pub fn visible_input(input: &TextInput, room: usize) -> (String, usize) {
    let safe = crate::text::sanitize(&input.text);
    let chars: Vec<char> = safe.chars().collect();
    let cursor = input.cursor.min(chars.len());
    let w = |cs: &[char]| text::width(&cs.iter().collect::<String>());
    if w(&chars) < room {
        return (safe.into_owned(), w(&chars[..cursor]));
    }
    let mut start = 0;
    while start < cursor && w(&chars[start..cursor]) + 2 > room {
        start += 1;
    }
    let prefix = if start > 0 { "…" } else { "" };
    let rest: String = chars[start..].iter().collect();
    let shown = format!(
        "{prefix}{}",
        text::cut(&rest, room.saturating_sub(prefix.len().min(1)))
    );
    (shown, usize::from(start > 0) + w(&chars[start..cursor]))
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    match &state.form.phase {
        FormPhase::Editing { error } => editing(frame, area, state, error.as_deref()),
        FormPhase::DryRunning {
            progress, seconds, ..
        } => busy(frame, area, state, true, progress.as_ref(), *seconds, 0),
        FormPhase::Importing {
            progress,
            seconds,
            expected_rows,
            ..
        } => busy(
            frame,
            area,
            state,
            false,
            progress.as_ref(),
            *seconds,
            *expected_rows,
        ),
        FormPhase::Reviewed {
            outcome,
            focus,
            scroll,
        } => {
            let can_import = outcome.status == ImportStatus::DryRun;
            let height = area.height.saturating_sub(2) as usize;
            let lines = review_lines(outcome, area.width as usize, &state.theme, false);
            let scroll = (*scroll).min(lines.len().saturating_sub(height));
            let visible: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
            frame.render_widget(
                Paragraph::new(visible),
                Rect::new(area.x, area.y, area.width, height as u16),
            );
            let t = &state.theme;
            let buttons = if can_import {
                let c = &outcome.counts;
                Line::from(vec![
                    Span::raw("   "),
                    Span::styled("[ Cancel ]", t.button(*focus == Button::Cancel, true)),
                    Span::raw("   "),
                    Span::styled(
                        format!(
                            "[ Import: {} new, {} updated ]",
                            thousands(c.created as i64),
                            thousands(c.updated as i64)
                        ),
                        t.button(*focus == Button::Confirm, true),
                    ),
                ])
            } else {
                Line::from(vec![
                    Span::raw("   "),
                    Span::styled("[ Back ]", t.button(true, true)),
                    Span::styled(
                        "   the file would be rejected: fix it, or tick \"skip invalid rows\"",
                        t.dim(),
                    ),
                ])
            };
            frame.render_widget(
                Paragraph::new(buttons),
                Rect::new(
                    area.x,
                    area.y + area.height.saturating_sub(1),
                    area.width,
                    1,
                ),
            );
        }
        FormPhase::Done { outcome, scroll } => {
            let height = area.height.saturating_sub(2) as usize;
            let lines = review_lines(outcome, area.width as usize, &state.theme, true);
            let scroll = (*scroll).min(lines.len().saturating_sub(height));
            let visible: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
            frame.render_widget(
                Paragraph::new(visible),
                Rect::new(area.x, area.y, area.width, height as u16),
            );
            let hint = match outcome.import_id {
                Some(id) => format!(
                    "   Enter opens import #{id} · i starts another import · Esc goes back to the history"
                ),
                None => "   i starts another import · Esc goes back to the history".to_string(),
            };
            frame.render_widget(
                Paragraph::new(text::cut(&hint, area.width as usize)).style(state.theme.dim()),
                Rect::new(
                    area.x,
                    area.y + area.height.saturating_sub(1),
                    area.width,
                    1,
                ),
            );
        }
    }
}

fn editing(frame: &mut Frame, area: Rect, state: &State, error: Option<&str>) {
    let t = &state.theme;
    let f = &state.form;
    let w = area.width as usize;
    let room = w.saturating_sub(LABEL + 6);
    let mut lines = vec![Line::default()];
    let mut cursor = None;
    let label = |field: FormField, name: &str| {
        let focused = f.focus == field;
        Span::styled(
            format!("{} {:<LABEL$}", if focused { "›" } else { " " }, name),
            if focused { t.bold() } else { t.plain() },
        )
    };
    let input_line = |field: FormField,
                      name: &str,
                      input: &TextInput,
                      cursor: &mut Option<(u16, u16)>,
                      y: usize| {
        let (shown, col) = visible_input(input, room);
        let focused = f.focus == field;
        if focused {
            *cursor = Some(((LABEL + 3 + col) as u16, y as u16));
        }
        let pad = room.saturating_sub(text::width(&shown));
        Line::from(vec![
            label(field, name),
            Span::raw("["),
            Span::styled(
                format!(
                    "{shown}{}",
                    if focused {
                        "_".repeat(pad)
                    } else {
                        " ".repeat(pad)
                    }
                ),
                t.plain(),
            ),
            Span::raw("]"),
        ])
    };
    let y = lines.len();
    lines.push(input_line(FormField::File, "File", &f.file, &mut cursor, y));
    if let Some(c) = &f.completion {
        let text = if let Some(note) = &c.note {
            note.clone()
        } else {
            c.candidates.join("  ")
        };
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(LABEL + 3)),
            Span::styled(text::fit(&text, room), t.dim()),
        ]));
    }
    let y = lines.len();
    lines.push(input_line(
        FormField::Seller,
        "Seller",
        &f.seller,
        &mut cursor,
        y,
    ));
    let names: Vec<&str> = PROFILES.iter().map(|p| profile_name(*p)).collect();
    let current = names.get(f.profile).copied().unwrap_or("auto");
    let what = if current == "auto" {
        "detect the layout from the header row"
    } else {
        "use this column layout"
    };
    lines.push(Line::from(vec![
        label(FormField::Profile, "Profile"),
        Span::styled(
            format!("‹ {current} ›"),
            if f.focus == FormField::Profile {
                t.selected()
            } else {
                t.plain()
            },
        ),
        Span::styled(
            format!(
                "  {}",
                text::cut(what, room.saturating_sub(current.len() + 6))
            ),
            t.dim(),
        ),
    ]));
    lines.push(Line::from(vec![
        label(FormField::SkipInvalid, "Options"),
        Span::styled(
            format!("[{}]", if f.skip_invalid { "x" } else { " " }),
            if f.focus == FormField::SkipInvalid {
                t.selected()
            } else {
                t.plain()
            },
        ),
        Span::raw(text::cut(
            " skip invalid rows (import the rest, write a rejects file)",
            room.saturating_sub(3),
        )),
    ]));
    lines.push(Line::from(vec![
        label(FormField::DryRun, ""),
        Span::styled("[ Dry run ]", t.button(f.focus == FormField::DryRun, true)),
    ]));
    lines.push(Line::default());
    if let Some(e) = error {
        for l in text::wrap(
            &format!("Error: {}", crate::text::sanitize(e)),
            w.saturating_sub(4),
        ) {
            lines.push(Line::styled(format!("  {l}"), t.error()));
        }
        lines.push(Line::default());
    }
    for l in text::wrap(
        &format!(
            "A dry run reads the whole file and shows what would change; nothing changes \
             until you confirm. Profiles: {}.",
            names.join(", ")
        ),
        w.saturating_sub(4),
    ) {
        lines.push(Line::styled(format!("  {l}"), t.dim()));
    }
    frame.render_widget(Paragraph::new(lines), area);
    if let Some((x, y)) = cursor
        && y < area.height
    {
        frame.set_cursor_position((area.x + x, area.y + y));
    }
}

fn busy(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    dry_run: bool,
    progress: Option<&Progress>,
    seconds: u64,
    expected_rows: u64,
) {
    let t = &state.theme;
    let f = &state.form;
    let w = area.width as usize;
    let what = if dry_run { "Dry run of" } else { "Importing" };
    let head = format!(
        "{what} {} for seller {}",
        text::fit_left(&f.file.text, w / 2),
        fit(&f.seller.text, 20)
    );
    let (ratio, label) = match progress {
        None => (0.0, format!("starting… {seconds} s")),
        Some(p) => {
            let ratio = match p.phase {
                Phase::Reading if p.total_bytes > 0 => p.bytes_read as f64 / p.total_bytes as f64,
                Phase::Reading if expected_rows > 0 => p.rows_read as f64 / expected_rows as f64,
                Phase::Reading => 0.0,
                Phase::Merging | Phase::Done => 1.0,
            };
            let phase = match p.phase {
                Phase::Reading => "reading",
                Phase::Merging => "merging into listings",
                Phase::Done => "finishing",
            };
            (
                ratio.clamp(0.0, 1.0),
                format!(
                    "{phase}: {} rows · {} rows/s · {} of {} · {} s",
                    thousands(p.rows_read as i64),
                    thousands(p.rows_per_second() as i64),
                    text::bytes(p.bytes_read),
                    text::bytes(p.total_bytes),
                    p.elapsed.as_secs().max(seconds)
                ),
            )
        }
    };
    let lines = vec![
        Line::default(),
        Line::styled(
            format!("  {}", text::cut(&head, w.saturating_sub(4))),
            t.bold(),
        ),
        Line::default(),
    ];
    frame.render_widget(Paragraph::new(lines), area);
    if area.height > 5 {
        let gauge_area = Rect::new(area.x + 2, area.y + 3, area.width.saturating_sub(4), 1);
        frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(format!("{:.0}%", ratio * 100.0))
                .gauge_style(t.gauge())
                .use_unicode(true),
            gauge_area,
        );
        let note = if dry_run {
            "Nothing is changed by a dry run."
        } else {
            "One transaction: quitting now (q) changes nothing."
        };
        let rest = vec![
            Line::raw(format!("  {}", text::cut(&label, w.saturating_sub(4)))),
            Line::default(),
            Line::styled(format!("  {note}"), t.dim()),
        ];
        frame.render_widget(
            Paragraph::new(rest),
            Rect::new(area.x, area.y + 4, area.width, area.height - 4),
        );
    }
}

fn field(label: &str, value: &str, w: usize, t: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {:<LABEL$}", label), t.bold()),
        Span::raw(text::cut(value, w.saturating_sub(LABEL + 2))),
    ])
}

pub fn review_line_count(outcome: &ImportOutcome) -> usize {
    review_lines(outcome, 200, &Theme::MONO, false).len()
}

/// An import's outcome: the dry run's "what would change", or the result.
pub fn review_lines(o: &ImportOutcome, w: usize, t: &Theme, done: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let (head, style) = match o.status {
        ImportStatus::DryRun => ("Dry run: nothing was changed.".to_string(), t.bold()),
        ImportStatus::Completed => (
            format!(
                "Import {}completed.",
                o.import_id.map(|i| format!("#{i} ")).unwrap_or_default()
            ),
            t.ok().add_modifier(ratatui::style::Modifier::BOLD),
        ),
        ImportStatus::Failed => (
            format!(
                "{} rejected: nothing was changed.",
                if done || o.import_id.is_some() {
                    format!(
                        "Import {}",
                        o.import_id.map(|i| format!("#{i}")).unwrap_or_default()
                    )
                } else {
                    "The file would be".to_string()
                }
            ),
            t.error(),
        ),
    };
    out.push(Line::styled(format!(" {head}"), style));
    out.push(field("File", &fit(&o.file, w), w, t));
    out.push(field("Seller", &fit(&o.seller, w), w, t));
    if let Some(p) = &o.profile {
        let mut s = fit(p, 20);
        if o.profile_detected {
            s.push_str(" (detected from the header)");
        }
        if let Some(k) = &o.key {
            s.push_str(&format!(" · key {}", fit(k, 30)));
        }
        out.push(field("Profile", &s, w, t));
    }
    let c = &o.counts;
    let (created, updated) = if o.status == ImportStatus::DryRun {
        ("to create", "to update")
    } else {
        ("created", "updated")
    };
    out.push(field(
        "Rows",
        &format!(
            "{} read: {} {created}, {} {updated}, {} unchanged, {} rejected",
            thousands(c.rows_read as i64),
            thousands(c.created as i64),
            thousands(c.updated as i64),
            thousands(c.unchanged as i64),
            thousands(c.rejected as i64)
        ),
        w,
        t,
    ));
    if c.ignored > 0 {
        out.push(field(
            "Ignored",
            &format!("{} rows (not listings)", thousands(c.ignored as i64)),
            w,
            t,
        ));
    }
    out.push(field(
        "Time",
        &format!(
            "{:.2} s · {} rows/s",
            o.duration_seconds,
            thousands(o.rows_per_second as i64)
        ),
        w,
        t,
    ));
    if !o.unknown_columns.is_empty() {
        let cols: Vec<String> = o.unknown_columns.iter().map(|c| fit(c, 30)).collect();
        out.push(field(
            "Unknown",
            &format!("{} (not imported)", cols.join(", ")),
            w,
            t,
        ));
    }
    if let Some(r) = &o.rejects_file {
        out.push(field(
            "Rejects",
            &text::fit_left(&r.to_string_lossy(), w.saturating_sub(LABEL + 2)),
            w,
            t,
        ));
    }
    if let Some(s) = &o.error_summary {
        for (i, l) in text::wrap(&crate::text::sanitize(s), w.saturating_sub(LABEL + 2))
            .into_iter()
            .enumerate()
        {
            out.push(field(if i == 0 { "Summary" } else { "" }, &l, w, t));
        }
    }
    if !o.errors.is_empty() {
        out.push(Line::default());
        out.push(Line::styled(
            format!(
                " Errors ({} shown of {})",
                o.errors.len(),
                thousands(o.error_count as i64)
            ),
            t.bold(),
        ));
        for e in &o.errors {
            out.push(Line::styled(
                format!(
                    " {}",
                    text::cut(&crate::text::sanitize(&e.to_string()), w.saturating_sub(2))
                ),
                t.error(),
            ));
        }
    }
    if let Some(changes) = o.changes.as_ref().filter(|c| !c.is_empty()) {
        out.push(Line::default());
        out.push(Line::styled(
            format!(
                " Changes to existing listings (first {} of {})",
                changes.len(),
                thousands(c.updated as i64)
            ),
            t.bold(),
        ));
        for ch in changes {
            out.extend(diff_lines(&ch.sku, &ch.changes, w, t));
        }
    }
    out
}

/// `~ SKU` then, per changed field, a `-` line (before) and a `+` line
/// (after), so the diff reads the same without colour.
pub fn diff_lines(sku: &str, diff: &serde_json::Value, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(vec![
        Span::styled("  ~ ", t.warn()),
        Span::styled(fit(sku, w.saturating_sub(5)), t.bold()),
    ])];
    let fw = 14;
    let room = w.saturating_sub(fw + 9);
    if let Some(obj) = diff.as_object() {
        for (field, pair) in obj {
            let before = pair.get(0).map(text::value).unwrap_or_default();
            let after = pair.get(1).map(text::value).unwrap_or_default();
            out.push(Line::from(vec![
                Span::raw(format!("      {} ", text::pad(&fit(field, fw), fw))),
                Span::styled(format!("- {}", fit(&before, room)), t.removed()),
            ]));
            out.push(Line::from(vec![
                Span::raw(format!("      {} ", " ".repeat(fw))),
                Span::styled(format!("+ {}", fit(&after, room)), t.added()),
            ]));
        }
    }
    out
}
