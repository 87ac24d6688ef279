//! Building blocks the screens and popups draw with: text cut to cells,
//! the one-line text field, bordered blocks, buttons, labelled lines and
//! diffs. They take the [`Theme`], never the console's state.

pub mod ascii;
pub mod input;
pub mod text;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::theme::Theme;
use text::fit;

/// Which button has the focus; the harmless one is always the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Button {
    #[default]
    Cancel,
    Confirm,
}

impl Button {
    /// The other one (there are two).
    pub fn other(self) -> Self {
        match self {
            Button::Cancel => Button::Confirm,
            Button::Confirm => Button::Cancel,
        }
    }
}

/// A bordered block with a title, in the theme's border style.
pub fn block<'a>(title: impl Into<Line<'a>>, t: &Theme) -> Block<'a> {
    Block::bordered()
        .title(title)
        .border_style(t.border())
        .padding(Padding::horizontal(1))
}

/// Buttons `(label, focused, enabled)` centred on the last line of `inner`.
pub fn buttons_line(frame: &mut Frame, inner: Rect, buttons: &[(&str, bool, bool)], t: &Theme) {
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

/// ` Label      value`: a bold label padded to `label_w` columns, then the
/// (already safe) value cut to the rest of `w`.
pub fn labelled(label: &str, value: &str, label_w: usize, w: usize, t: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {:<label_w$}", label), t.bold()),
        Span::raw(text::cut(value, w.saturating_sub(label_w + 2))),
    ])
}

/// A labelled value word-wrapped to `w` columns; the label is on the
/// first line only.
pub fn labelled_wrapped(
    label: &str,
    value: &str,
    label_w: usize,
    w: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    text::wrap(value, w.saturating_sub(label_w + 2))
        .into_iter()
        .enumerate()
        .map(|(i, l)| labelled(if i == 0 { label } else { "" }, &l, label_w, w, t))
        .collect()
}

/// A blank line, a bold heading, then one line per error (already safe
/// text), cut to `w` columns.
pub fn error_list(
    heading: String,
    errors: impl IntoIterator<Item = String>,
    w: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut out = vec![Line::default(), Line::styled(heading, t.bold())];
    out.extend(errors.into_iter().map(|e| {
        Line::styled(
            format!(" {}", text::cut(&e, w.saturating_sub(2))),
            t.error(),
        )
    }));
    out
}

/// The `height` lines of `lines` from line `scroll` (clamped so the last
/// page is full).
pub fn window(lines: Vec<Line<'static>>, scroll: usize, height: usize) -> Vec<Line<'static>> {
    let scroll = scroll.min(lines.len().saturating_sub(height));
    lines.into_iter().skip(scroll).take(height).collect()
}

/// A status line: `left`, then `right` (dimmed) against the right edge
/// of `w` columns.
pub fn spread(left: Span<'static>, right: String, w: usize, t: &Theme) -> Line<'static> {
    let gap = w.saturating_sub(left.width() + text::width(&right));
    Line::from(vec![
        left,
        Span::raw(" ".repeat(gap)),
        Span::styled(right, t.dim()),
    ])
}

/// A change that is only a timestamp moving (`updated_at`, or both values
/// times): `t` hides these in diffs, as noise next to a price change.
pub fn is_time_only(field: &str, before: Option<&str>, after: Option<&str>) -> bool {
    let is_time = |v: Option<&str>| {
        v.is_none_or(|v| {
            chrono::DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f%#z").is_ok()
                || chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        })
    };
    field.ends_with("_at") || (is_time(before) && is_time(after) && (before, after) != (None, None))
}

/// The fields of a diff object (`{"field": [before, after]}`) to draw:
/// all, or (`hide_times`) those that are more than a timestamp moving.
fn shown_fields(
    diff: Option<&serde_json::Value>,
    hide_times: bool,
) -> impl Iterator<Item = (&String, String, String)> {
    diff.and_then(|d| d.as_object())
        .into_iter()
        .flatten()
        .filter_map(move |(field, pair)| {
            let side = |i: usize| pair.get(i).filter(|v| !v.is_null()).map(text::value);
            let (before, after) = (side(0), side(1));
            if hide_times && is_time_only(field, before.as_deref(), after.as_deref()) {
                return None;
            }
            let shown = |v: Option<String>| v.unwrap_or_else(|| "(empty)".into());
            Some((field, shown(before), shown(after)))
        })
}

/// `~ SKU` then, per changed field, a `-` line (before) and a `+` line
/// (after), so the diff reads the same without colour. A long value shows
/// the part where the two differ ([`text::diff_window`]); `hide_times`
/// leaves out fields that only moved a timestamp.
pub fn diff_lines(
    sku: &str,
    diff: &serde_json::Value,
    w: usize,
    t: &Theme,
    hide_times: bool,
) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(vec![
        Span::styled("  ~ ", t.warn()),
        Span::styled(fit(sku, w.saturating_sub(5)), t.bold()),
    ])];
    let fw = 14;
    let room = w.saturating_sub(fw + 9);
    for (field, before, after) in shown_fields(Some(diff), hide_times) {
        let safe = |v: &str| crate::text::sanitize(v).into_owned();
        let (before, after) = text::diff_window(&safe(&before), &safe(&after), room);
        out.push(Line::from(vec![
            Span::raw(format!("      {} ", text::pad(&fit(field, fw), fw))),
            Span::styled(format!("- {before}"), t.removed()),
        ]));
        out.push(Line::from(vec![
            Span::raw(format!("      {} ", " ".repeat(fw))),
            Span::styled(format!("+ {after}"), t.added()),
        ]));
    }
    out
}

/// Lines [`diff_lines`] draws for `diff`: the key, then two per field shown.
pub fn diff_line_count(diff: Option<&serde_json::Value>, hide_times: bool) -> usize {
    1 + 2 * shown_fields(diff, hide_times).count()
}
