//! Untrusted text (CSV values, file names, seller ids) on its way to a
//! terminal: control characters and escape sequences are neutralised, so a
//! hostile cell cannot move the cursor, recolour the screen or set the title.

use std::borrow::Cow;

fn is_dangerous(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides can make text read differently than it is.
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn visible(c: char) -> char {
    match c {
        // C0 controls become their Unicode "control picture" (ESC -> ␛).
        '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        '\u{7F}' => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

/// One line of display text: every control character (newlines included) is
/// replaced by a visible stand-in.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_dangerous(c) { visible(c) } else { c })
            .collect(),
    )
}

/// Like [`sanitize`] but keeps line breaks (for multi-line messages).
pub fn sanitize_multiline(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_dangerous(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c != '\n' && is_dangerous(c) {
                    visible(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nname\u{9b}31m";
        let shown = sanitize(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(shown, "evil␛]0;pwned␇␛[2J␍␊name\u{FFFD}31m");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(sanitize("Café ☕ 19,99 €"), Cow::Borrowed(_)));
    }

    #[test]
    fn bidi_overrides_are_replaced() {
        assert_eq!(sanitize("abc\u{202E}fed"), "abc\u{FFFD}fed");
    }

    #[test]
    fn multiline_keeps_newlines_only() {
        assert_eq!(sanitize_multiline("a\nb\u{1b}c"), "a\nb␛c");
    }
}
