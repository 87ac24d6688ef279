//! The one neutraliser for untrusted text on its way to a terminal (CSV
//! values, file names, seller ids, anything a database role can store):
//! nothing reaches the screen that is not shown as visible text.
//!
//! - C0 controls (ESC, CR, LF, BEL...) become their Unicode control pictures
//!   (`␛`, `␍`, `␊`, `␇`), DEL becomes `␡`;
//! - every other character that is invisible or changes how text around it
//!   reads is shown by its code point, `<U+202E>`: C1 controls (`U+009B` is a
//!   one-byte CSI on some terminals), bidirectional controls (U+202A-202E,
//!   U+2066-2069, LRM, RLM, ALM), zero-width characters (U+200B-200D,
//!   U+2060, a stray BOM U+FEFF), line and paragraph separators (U+2028,
//!   U+2029), the other invisible format characters (soft hyphen, tag
//!   characters U+E0000-E007F...) and invisible fillers.
//!
//! Emoji joined by U+200D therefore show as their parts; that is the price of
//! never drawing text whose reading order or content is hidden.

use std::borrow::Cow;

/// Invisible or reordering characters, beyond the control characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}' | '\u{08E2}'
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'       // Mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}'       // zero-width space/joiners, LRM, RLM
        | '\u{2028}' | '\u{2029}'       // line and paragraph separators
        | '\u{202A}'..='\u{202E}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{206F}'       // bidi isolates, deprecated format characters
        | '\u{FEFF}'                    // BOM / zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}'     // tag characters
    )
}

/// Would `c` act on the terminal, or hide from the reader, if drawn as is?
pub fn is_dangerous(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// True when `s` needs no neutralising.
pub fn is_plain(s: &str) -> bool {
    !s.chars().any(is_dangerous)
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}')),
        '\u{7F}' => out.push('\u{2421}'),
        _ => out.push_str(&format!("<U+{:04X}>", c as u32)),
    }
}

fn neutralise(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_dangerous(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_dangerous(c) && !keep(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of display text: every dangerous character (newlines included)
/// is replaced by a visible stand-in.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    neutralise(s, |_| false)
}

/// Like [`sanitize`] but keeps line breaks (for multi-line messages).
pub fn sanitize_multiline(s: &str) -> Cow<'_, str> {
    neutralise(s, |c| c == '\n')
}

/// At most `max` characters of `s`, neutralised, `…` marking a cut: how a
/// message quotes untrusted text (a file's bytes, an argument).
pub fn short_quote(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if is_dangerous(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `message` with every double-quoted passage (as Rust's `{:?}` writes them,
/// `\"` inside) cut to `max` characters: a message stored in the history
/// quotes at most a short prefix of a value from the file. The result is
/// neutralised.
pub fn shorten_quoted(message: &str, max: usize) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            push_checked(&mut out, c);
            continue;
        }
        // A quoted passage: copy up to `max` of its characters, skip the rest.
        out.push('"');
        let mut escaped = false;
        let mut closed = false;
        for (kept, q) in chars.by_ref().enumerate() {
            if !escaped && q == '"' {
                closed = true;
                break;
            }
            escaped = !escaped && q == '\\';
            if kept < max {
                push_checked(&mut out, q);
            } else if kept == max {
                out.push('…');
            }
        }
        if closed {
            out.push('"');
        }
    }
    out
}

fn push_checked(out: &mut String, c: char) {
    if is_dangerous(c) {
        push_visible(out, c);
    } else {
        out.push(c);
    }
}

/// The console's last line of defence, run on every frame before it is
/// written: a cell whose symbol still carries a dangerous character (one
/// that rode along inside a grapheme) keeps only its visible characters.
/// Text is neutralised (made visible) where it is drawn; this only makes
/// sure nothing slips through.
pub fn neutralise_buffer(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        let symbol = cell.symbol();
        if symbol.chars().any(is_dangerous) {
            let kept: String = symbol.chars().filter(|c| !is_dangerous(*c)).collect();
            cell.set_symbol(if kept.is_empty() { "?" } else { &kept });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nname\u{9b}31m";
        let shown = sanitize(hostile);
        assert!(!shown.chars().any(is_dangerous), "{shown:?}");
        assert_eq!(shown, "evil␛]0;pwned␇␛[2J␍␊name<U+009B>31m");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(sanitize("Café ☕ 19,99 € 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn invisible_and_reordering_characters_are_made_visible() {
        for (c, shown) in [
            ('\u{202A}', "<U+202A>"),
            ('\u{202E}', "<U+202E>"),
            ('\u{2066}', "<U+2066>"),
            ('\u{2069}', "<U+2069>"),
            ('\u{200E}', "<U+200E>"),
            ('\u{200F}', "<U+200F>"),
            ('\u{200B}', "<U+200B>"),
            ('\u{200D}', "<U+200D>"),
            ('\u{2028}', "<U+2028>"),
            ('\u{2029}', "<U+2029>"),
            ('\u{FEFF}', "<U+FEFF>"),
            ('\u{E0041}', "<U+E0041>"),
        ] {
            assert_eq!(sanitize(&format!("a{c}b")), format!("a{shown}b"));
        }
    }

    #[test]
    fn multiline_keeps_newlines_only() {
        assert_eq!(sanitize_multiline("a\nb\u{1b}c\u{2028}"), "a\nb␛c<U+2028>");
    }

    #[test]
    fn quotes_are_short_and_neutral() {
        assert_eq!(short_quote("abcdef", 3), "abc…");
        assert_eq!(short_quote("a\u{1b}b", 10), "a␛b");
        let long = format!("{:?} is not a number", "9".repeat(10_000));
        let short = shorten_quoted(&long, 20);
        assert_eq!(short, format!("\"{}…\" is not a number", "9".repeat(20)));
        assert_eq!(
            shorten_quoted(r#"the key "a\"b" is bad"#, 40),
            r#"the key "a\"b" is bad"#
        );
        assert_eq!(shorten_quoted("raw \u{1b}[2J", 5), "raw ␛[2J");
    }

    #[test]
    fn a_cut_quote_ends_at_its_unescaped_closing_quote() {
        // The text after a cut passage is kept, and `\"` inside does not
        // close it: a cut past the escape is where the end must be found.
        assert_eq!(shorten_quoted(r#""abc" tail"#, 2), r#""ab…" tail"#);
        assert_eq!(
            shorten_quoted(r#"k "a\"bcdef" tail "xyz""#, 3),
            r#"k "a\"…" tail "xyz""#
        );
    }

    #[test]
    fn delete_has_a_picture_of_its_own() {
        assert_eq!(sanitize("a\u{7f}b"), "a␡b");
    }

    #[test]
    fn a_frame_never_carries_a_dangerous_character() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
        buf[(0, 0)].set_symbol("a\u{200D}");
        buf[(1, 0)].set_symbol("\u{E0041}");
        neutralise_buffer(&mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(1, 0)].symbol(), "?");
    }
}
