//! ASCII for terminals that show nothing else (`TERM=dumb`, `vt100`, a
//! locale that is not UTF-8). The finished frame is mapped cell by cell, so
//! every widget is covered at once: borders become `+-|`, arrows `^v<>`, a
//! cut marked `…` ends in `...`, and what has no ASCII form (CJK, emoji,
//! accented letters in the data) becomes `?`, one per cell, so nothing
//! moves.

use ratatui::buffer::{Buffer, CellWidth};

/// Maps every cell of `buf` to ASCII.
pub fn downgrade(buf: &mut Buffer) {
    let width = buf.area.width as usize;
    if width == 0 {
        return;
    }
    for row in buf.content.chunks_mut(width) {
        downgrade_row(row);
    }
}

fn downgrade_row(row: &mut [ratatui::buffer::Cell]) {
    let mut cut_marks = Vec::new();
    let mut x = 0;
    while x < row.len() {
        let symbol = row[x].symbol();
        if symbol.is_ascii() {
            x += 1;
            continue;
        }
        if symbol == "…" {
            cut_marks.push(x);
            row[x].set_symbol(".");
            x += 1;
            continue;
        }
        let cells = usize::from(symbol.cell_width().max(1));
        let replacement = replacement(symbol);
        // A wide character covers the next cell too: `?` in both.
        for cell in row.iter_mut().skip(x).take(cells) {
            cell.set_symbol(replacement);
        }
        x += cells;
    }
    for x in cut_marks {
        widen_cut_mark(row, x);
    }
}

/// `…` is one cell, `...` three: the two dots more take the places of the
/// two characters next to it, on the side the text is (a path cut at its
/// start reads `...le.csv`, a name cut at its end `acme-nove...`).
fn widen_cut_mark(row: &mut [ratatui::buffer::Cell], x: usize) {
    let is_text = |row: &[ratatui::buffer::Cell], i: usize| {
        row.get(i)
            .is_some_and(|c| c.symbol() != " " && c.symbol() != ".")
    };
    let leading = x == 0 || !is_text(row, x - 1);
    let around: Vec<usize> = if leading {
        vec![x + 1, x + 2]
    } else {
        vec![x - 1, x.saturating_sub(2)]
    };
    for i in around {
        if i == x || !is_text(row, i) {
            break;
        }
        row[i].set_symbol(".");
    }
}

/// The ASCII stand-in for one non-ASCII symbol.
fn replacement(symbol: &str) -> &'static str {
    let mut chars = symbol.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return "?";
    };
    match c {
        '─' | '━' | '═' | '┄' | '┅' | '╌' | '╍' | '—' | '–' | '·' | '‐' | '−' => {
            "-"
        }
        '│' | '┃' | '║' | '┆' | '┇' | '╎' | '╏' | '⋮' => "|",
        '\u{250C}'..='\u{254B}' | '╭' | '╮' | '╯' | '╰' | '╔' | '╗' | '╚' | '╝' => {
            "+"
        }
        '\u{2580}'..='\u{259F}' => "#",
        '↑' | '▲' => "^",
        '↓' | '▼' => "v",
        '←' | '‹' | '«' => "<",
        '→' | '›' | '»' => ">",
        '•' | '●' => "*",
        '✓' | '✔' => "x",
        // Control pictures (`␛` for ESC): caret notation's caret.
        '\u{2400}'..='\u{2426}' => "^",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn row_text(buf: &Buffer) -> String {
        buf.content.iter().map(|c| c.symbol()).collect()
    }

    fn downgraded(s: &str, width: u16) -> String {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
        buf.set_string(0, 0, s, ratatui::style::Style::new());
        downgrade(&mut buf);
        row_text(&buf)
    }

    #[test]
    fn borders_arrows_and_cuts_become_ascii() {
        assert_eq!(downgraded("┌ Keys ─┐", 9), "+ Keys -+");
        assert_eq!(downgraded(" ↑↓ move  ←→ button", 19), " ^v move  <> button");
        assert_eq!(downgraded("acme-novem… x", 13), "acme-nov... x");
        assert_eq!(downgraded(" …/file.csv", 11), " ...ile.csv");
        assert_eq!(downgraded("(•) skip", 8), "(*) skip");
        assert_eq!(downgraded("a␛[2Jb", 6), "a^[2Jb");
    }

    #[test]
    fn wide_and_combined_characters_keep_their_cells() {
        // 日 is two cells: `??`; a flag, a family (ZWJ) and a thumb with a
        // skin tone are one grapheme of two cells each.
        assert_eq!(downgraded("日本|", 5), "????|");
        assert_eq!(downgraded("🇫🇷|👨‍👩‍👧|👍🏽|", 9), "??|??|??|");
        assert_eq!(downgraded("café|", 5), "caf?|");
    }
}
