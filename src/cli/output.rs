//! Printing results: plain text for people, one JSON document for scripts.

pub use crate::text::{sanitize, sanitize_multiline};

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl serde::Serialize) -> color_eyre::eyre::Result<()> {
    println!(
        "{}",
        terminal_safe_json(&serde_json::to_string_pretty(value)?)
    );
    Ok(())
}

/// The same JSON document with every character the neutraliser flags
/// written as a `\uXXXX` escape: equal data for a parser, nothing but
/// visible text for a terminal. (serde_json escapes only U+0000-001F; a raw
/// newline here is the pretty printer's, between tokens.)
pub fn terminal_safe_json(json: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && crate::text::is_dangerous(c);
    if !json.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Cuts `s` to at most `width` characters, ending with an ellipsis when cut.
pub fn truncate(s: &str, width: usize) -> String {
    let clean = sanitize(s);
    if clean.chars().count() <= width {
        return clean.into_owned();
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The header of every text output: who the database says we are and which
/// database this is (a seller knows why only its own imports show; anyone
/// sees at once when a private cluster answered instead of the shared one).
pub async fn print_header(db: &crate::db::Database) -> color_eyre::eyre::Result<()> {
    let who = crate::domain::identity::current(db).await?;
    println!("as {}", who.describe());
    println!("database: {}", db.target.location());
    Ok(())
}

/// `actor (database role)`, neutralised for the terminal.
pub fn actor_and_role(actor: &str, role: &str) -> String {
    sanitize(&crate::domain::actor::with_role(actor, role)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_a_terminal_escapes_what_serde_leaves_raw() {
        let doc = serde_json::json!({ "action": "x\u{9b}2J\u{202e}\u{7f}\u{e0041}" });
        let text = serde_json::to_string(&doc).unwrap();
        let safe = terminal_safe_json(&text);
        assert_eq!(safe, r#"{"action":"x\u009b2J\u202e\u007f\udb40\udc41"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, doc);
    }
}
