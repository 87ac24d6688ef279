//! The import form's view: the fields, the progress of a dry run or an
//! import, and the outcome (scrolled, with its buttons).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};

use crate::domain::import::{ImportOutcome, ImportStatus, Phase, Progress};
use crate::tui::state::State;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, fit, thousands};
use crate::tui::widgets::{self, Button};

use super::{FormField, FormPhase, PROFILES, outcome, profile_name};

const LABEL: usize = 10;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
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
            let buttons = if outcome.status == ImportStatus::DryRun {
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
            let buttons = Paragraph::new(buttons);
            outcome_view(frame, area, state, outcome, false, *scroll, buttons);
        }
        FormPhase::Done { outcome, scroll } => {
            let hint = match outcome.import_id {
                Some(id) => format!(
                    "   Enter opens import #{id} · i starts another import · Esc goes back to the history"
                ),
                None => "   i starts another import · Esc goes back to the history".to_string(),
            };
            let hint = Paragraph::new(text::cut(&hint, area.width as usize)).style(t.dim());
            outcome_view(frame, area, state, outcome, true, *scroll, hint);
        }
    }
}

/// Rows of the outcome shown above its buttons or hint.
pub fn outcome_height(state: &State) -> usize {
    state.body_height().saturating_sub(2)
}

/// Lines of the outcome the form shows (the review or the result).
pub fn outcome_line_count(state: &State) -> usize {
    let (o, done) = match &state.form.phase {
        FormPhase::Reviewed { outcome, .. } => (outcome, false),
        FormPhase::Done { outcome, .. } => (outcome, true),
        _ => return 0,
    };
    outcome::lines(o, state.width as usize, &state.theme, done).len()
}

/// The outcome from line `scroll`, and `last` on the body's last row.
fn outcome_view(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    o: &ImportOutcome,
    done: bool,
    scroll: usize,
    last: Paragraph<'static>,
) {
    let height = outcome_height(state);
    let lines = outcome::lines(o, area.width as usize, &state.theme, done);
    frame.render_widget(
        Paragraph::new(widgets::window(lines, scroll, height)),
        Rect::new(area.x, area.y, area.width, height as u16),
    );
    frame.render_widget(
        last,
        Rect::new(
            area.x,
            area.y + area.height.saturating_sub(1),
            area.width,
            1,
        ),
    );
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
        let (shown, col) = input.visible(room);
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
