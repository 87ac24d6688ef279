//! Printing results: plain text for people, one JSON document for scripts.

pub use crate::text::{sanitize, sanitize_multiline};

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl serde::Serialize) -> color_eyre::eyre::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
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
