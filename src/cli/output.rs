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
