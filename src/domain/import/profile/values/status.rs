//! Listing statuses and the words marketplaces use for them.

/// Maps a status word to one of active, inactive, ended, draft. The words
/// marketplaces use are accepted (see `docs/csv-format.md`); profiles map
/// their numeric codes before calling this.
pub fn parse_status(s: &str) -> Result<&'static str, String> {
    let norm: String = s
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let status = match norm.as_str() {
        "active" | "live" | "published" | "publish" | "enabled" | "enable" | "listed"
        | "online" | "on sale" | "for sale" | "available" | "open" | "visible" => "active",
        "inactive" | "disabled" | "disable" | "unpublished" | "hidden" | "private" | "paused"
        | "offline" | "unlisted" | "not listed" | "not visible" | "suspended" | "on hold" => {
            "inactive"
        }
        "ended" | "closed" | "archived" | "sold" | "expired" | "completed" | "finished"
        | "unsold" | "deleted" | "removed" | "discontinued" => "ended",
        "draft" | "pending" | "pending review" | "scheduled" | "future" | "not yet listed" => {
            "draft"
        }
        _ => {
            return Err(format!(
                "unknown status {s:?} (expected active, inactive, ended or draft, \
                 or a marketplace word such as published, archived, sold)"
            ));
        }
    };
    Ok(status)
}

/// TRUE/FALSE-style flags ("Published" columns): `Some(true)` for
/// true/yes/1, `Some(false)` for false/no/0.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_their_marketplace_synonyms() {
        for (word, status) in [
            ("active", "active"),
            ("Active", "active"),
            ("PUBLISHED", "active"),
            ("live", "active"),
            ("inactive", "inactive"),
            ("Disabled", "inactive"),
            ("private", "inactive"),
            ("ended", "ended"),
            ("archived", "ended"),
            ("Sold", "ended"),
            ("draft", "draft"),
            ("pending", "draft"),
            ("Pending_Review", "draft"),
        ] {
            assert_eq!(parse_status(word).unwrap(), status, "{word}");
        }
        assert!(
            parse_status("maybe")
                .unwrap_err()
                .contains("unknown status")
        );
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("false"), Some(false));
        assert_eq!(parse_flag("perhaps"), None);
    }
}
