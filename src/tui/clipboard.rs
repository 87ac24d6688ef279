//! Copying to the clipboard of the terminal the user sits at, over SSH and
//! tmux: the OSC 52 escape sequence carries the text (base64) to the
//! terminal, which puts it on its clipboard. Nothing is installed on the
//! server and no X display is needed. (tmux passes it on with
//! `set -g set-clipboard on`.)

use base64::Engine;

/// Terminals drop longer OSC 52 payloads (xterm's limit is about 100 kB).
pub const MAX_BYTES: usize = 74_000;

/// The escape sequence that sets the clipboard to `text`; `None` when the
/// text is too long for terminals to take.
pub fn osc52(text: &str) -> Option<String> {
    (text.len() <= MAX_BYTES).then(|| {
        let payload = base64::engine::general_purpose::STANDARD.encode(text);
        format!("\x1b]52;c;{payload}\x07")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_travels_as_base64_in_one_sequence() {
        assert_eq!(
            osc52("/srv/exports/acme.csv").unwrap(),
            "\x1b]52;c;L3Nydi9leHBvcnRzL2FjbWUuY3N2\x07"
        );
        assert!(osc52(&"x".repeat(MAX_BYTES + 1)).is_none());
    }
}
