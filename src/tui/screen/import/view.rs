//! The import form's view: the fields, the progress of a dry run or an
//! import (its phases), the outcome (scrolled, with its buttons), and a
//! refusal of what the dry run pinned.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};

use crate::domain::import::{ImportOutcome, ImportStatus, Phase};
use crate::tui::state::State;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, fit, thousands};
use crate::tui::widgets::{self, Button, labelled};

use super::review::ReviewPages;
use super::{FormField, FormPhase, PROFILES, Running, outcome, profile_name};

const LABEL: usize = 10;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    match &state.form.phase {
        FormPhase::Editing { error } => editing(frame, area, state, error.as_deref()),
        FormPhase::Running(r) => running(frame, area, state, r),
        FormPhase::Reviewed {
            outcome,
            focus,
            scroll,
            pages,
            ..
        } => {
            let buttons = if let Some(input) = &pages.search {
                let label = "Find the SKU beginning with: ";
                let room = (area.width as usize).saturating_sub(text::width(label) + 2);
                Line::from(vec![
                    Span::styled(format!(" {label}"), t.bold()),
                    Span::raw(format!("{}_", input.visible(room).0)),
                ])
            } else if outcome.status == ImportStatus::DryRun {
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
            let shown = Shown {
                outcome,
                done: false,
                scroll: *scroll,
                pages: Some(pages),
            };
            outcome_view(frame, area, state, &shown, buttons);
        }
        FormPhase::Refused { message, focus, .. } => refused(frame, area, state, message, *focus),
        FormPhase::Done { outcome, scroll } => {
            let hint = match outcome.import_id {
                Some(id) => format!(
                    "   Enter opens import #{id} · i starts another import · Esc goes back to the history"
                ),
                None => "   i starts another import · Esc goes back to the history".to_string(),
            };
            let hint = Paragraph::new(text::cut(&hint, area.width as usize)).style(t.dim());
            let shown = Shown {
                outcome,
                done: true,
                scroll: *scroll,
                pages: None,
            };
            outcome_view(frame, area, state, &shown, hint);
        }
    }
}

/// Rows of the outcome shown above its buttons or hint.
pub fn outcome_height(state: &State) -> usize {
    state.body_height().saturating_sub(2)
}

/// Lines of the outcome the form shows (the review or the result).
pub fn outcome_line_count(state: &State) -> usize {
    let (o, done, pages) = match &state.form.phase {
        FormPhase::Reviewed { outcome, pages, .. } => (outcome, false, Some(pages)),
        FormPhase::Done { outcome, .. } => (outcome, true, None),
        _ => return 0,
    };
    outcome::lines(
        o,
        state.width as usize,
        &state.theme,
        done,
        state.hide_times,
        pages,
    )
    .len()
}

/// The outcome the form shows, and from which line.
struct Shown<'a> {
    outcome: &'a ImportOutcome,
    done: bool,
    scroll: usize,
    pages: Option<&'a ReviewPages>,
}

/// The outcome from line `scroll`, and `last` on the body's last row.
fn outcome_view(frame: &mut Frame, area: Rect, state: &State, s: &Shown, last: Paragraph<'static>) {
    let height = outcome_height(state);
    let lines = outcome::lines(
        s.outcome,
        area.width as usize,
        &state.theme,
        s.done,
        state.hide_times,
        s.pages,
    );
    frame.render_widget(
        Paragraph::new(widgets::window(lines, s.scroll, height)),
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
    let y = lines.len();
    lines.push(input_line(FormField::Key, "Key", &f.key, &mut cursor, y));
    let y = lines.len();
    lines.push(input_line(
        FormField::Currency,
        "Currency",
        &f.currency,
        &mut cursor,
        y,
    ));
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
    if let Some(answer) = &f.suggestions.answer {
        // Header names come from the file: untrusted, sanitised.
        let (said, style) = match answer {
            Ok(s) => (format!("From the file: {}", s.note), t.plain()),
            Err(e) => (format!("The file cannot be read yet: {e}"), t.warn()),
        };
        for l in text::wrap(&crate::text::sanitize(&said), w.saturating_sub(4)) {
            lines.push(Line::styled(format!("  {l}"), style));
        }
        lines.push(Line::default());
    }
    for l in text::wrap(
        &format!(
            "A dry run reads the whole file and shows what would change; nothing changes \
             until you confirm. Key: the column that identifies a listing when the \
             profile's own is missing (an Etsy export without SKUs: TITLE); currency: \
             for rows without one (EUR). Profiles: {}.",
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

/// The phases an import goes through, in order (a dry run records nothing).
fn steps(dry_run: bool) -> &'static [Phase] {
    if dry_run {
        &[Phase::Reading, Phase::Loading, Phase::Applying]
    } else {
        &[
            Phase::Reading,
            Phase::Loading,
            Phase::Applying,
            Phase::Recording,
        ]
    }
}

/// A running dry run or import: a gauge of the whole (full only at the
/// end), its steps with the one it is in, the bytes and rows read, and
/// how to cancel it.
fn running(frame: &mut Frame, area: Rect, state: &State, r: &Running) {
    let t = &state.theme;
    let f = &state.form;
    let w = area.width as usize;
    let what = if r.dry_run { "Dry run of" } else { "Importing" };
    let head = format!(
        "{what} {} for seller {}",
        text::fit_left(&f.file.text, w / 2),
        fit(&f.seller.text, 20)
    );
    frame.render_widget(
        Paragraph::new(vec![
            Line::default(),
            Line::styled(
                format!("  {}", text::cut(&head, w.saturating_sub(4))),
                t.bold(),
            ),
        ]),
        area,
    );
    if area.height < 12 {
        return;
    }
    let ratio = r.progress.map_or(0.0, |p| p.fraction(r.dry_run));
    frame.render_widget(
        Gauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{:.0}%", (ratio * 100.0).floor()))
            .gauge_style(t.gauge())
            .use_unicode(!t.ascii),
        Rect::new(area.x + 2, area.y + 3, area.width.saturating_sub(4), 1),
    );

    let now = r.phase();
    let all = steps(r.dry_run);
    let current = all.iter().position(|p| *p == now).unwrap_or(all.len());
    let mut lines = Vec::new();
    for (i, phase) in all.iter().enumerate() {
        let (state_word, detail, style) = if i < current {
            ("done", String::new(), t.dim())
        } else if i == current {
            let detail = match (phase, r.progress) {
                (Phase::Reading, Some(p)) => format!(
                    "{} of {} · {} rows · {} rows/s",
                    text::bytes(p.bytes_read),
                    if p.total_bytes > 0 {
                        text::bytes(p.total_bytes)
                    } else {
                        "?".to_string()
                    },
                    thousands(p.rows_read as i64),
                    thousands(p.rows_per_second() as i64)
                ),
                _ => format!("{} s", r.phase_seconds),
            };
            ("now", detail, t.bold())
        } else {
            ("", String::new(), t.plain())
        };
        let line = format!(
            "  {}. {:<25} {:<5} {}",
            i + 1,
            phase.label(r.dry_run),
            state_word,
            detail
        );
        lines.push(Line::styled(text::cut(&line, w), style));
    }
    lines.push(Line::default());
    let read = r.progress.map(|p| {
        format!(
            "{} rows read in {} s",
            thousands(p.rows_read as i64),
            r.seconds.max(p.elapsed.as_secs())
        )
    });
    lines.push(Line::raw(format!(
        "  {}",
        read.unwrap_or_else(|| format!("starting… {} s", r.seconds))
    )));
    lines.push(Line::default());
    let note = match (r.cancelling, r.dry_run) {
        (true, _) => "Cancelling: the transaction is being rolled back…",
        (false, true) => "A dry run changes nothing. Esc cancels it.",
        (false, false) => "One transaction: it completes or changes nothing. Esc cancels it.",
    };
    lines.push(Line::styled(
        format!("  {}", text::cut(note, w.saturating_sub(4))),
        if r.cancelling { t.warn() } else { t.dim() },
    ));
    frame.render_widget(
        Paragraph::new(lines),
        Rect::new(area.x, area.y + 5, area.width, area.height - 5),
    );
}

/// The import was refused: why, and Back or Dry run again (focused).
fn refused(frame: &mut Frame, area: Rect, state: &State, message: &str, focus: Button) {
    let t = &state.theme;
    let f = &state.form;
    let w = area.width as usize;
    let mut lines = vec![
        Line::default(),
        Line::styled(
            " The import was refused: nothing was changed.",
            t.error().add_modifier(Modifier::BOLD),
        ),
    ];
    for l in text::wrap(&crate::text::sanitize(message), w.saturating_sub(2)) {
        lines.push(Line::raw(format!(" {l}")));
    }
    lines.push(Line::default());
    lines.push(labelled(
        "File",
        &text::fit_left(&f.file.text, w.saturating_sub(14)),
        10,
        w,
        t,
    ));
    lines.push(labelled("Seller", &fit(&f.seller.text, 40), 10, w, t));
    lines.push(Line::default());
    lines.push(Line::styled(
        " What you approved is what runs: review what the file would change now.",
        t.dim(),
    ));
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::raw("   "),
        Span::styled("[ Back ]", t.button(focus == Button::Cancel, true)),
        Span::raw("   "),
        Span::styled(
            "[ Dry run again ]",
            t.button(focus == Button::Confirm, true),
        ),
    ]));
    frame.render_widget(Paragraph::new(lines), area);
}
