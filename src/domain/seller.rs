//! Seller ids, checked before anything is written for them: not empty after
//! trimming, at most 64 characters, no control or invisible characters (the
//! database checks the same in `import_audit.begin_import`).

/// The longest seller id (the `listings.seller_id` constraint).
pub const MAX_SELLER_CHARS: usize = 64;

/// Why a seller id was refused (exit 2 in the CLI: it is a bad argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSeller {
    pub message: String,
}

impl std::fmt::Display for InvalidSeller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidSeller {}

/// The seller id to use for `raw`: trimmed, or refused with the reason.
pub fn validate(raw: &str) -> Result<String, InvalidSeller> {
    let id = raw.trim();
    let refuse = |why: &str| {
        Err(InvalidSeller {
            message: format!(
                "invalid seller id \"{}\": {why}",
                crate::text::short_quote(raw, 40)
            ),
        })
    };
    if id.is_empty() {
        return refuse("it is empty");
    }
    if id.chars().count() > MAX_SELLER_CHARS {
        return refuse(&format!("it is longer than {MAX_SELLER_CHARS} characters"));
    }
    if !crate::text::is_plain(id) {
        return refuse("it contains control or invisible characters");
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_checked() {
        assert_eq!(validate("  acme ").unwrap(), "acme");
        assert!(validate("").unwrap_err().message.contains("empty"));
        assert!(validate("   ").unwrap_err().message.contains("empty"));
        assert_eq!(validate(&"x".repeat(64)).unwrap().len(), 64);
        assert!(
            validate(&"x".repeat(65))
                .unwrap_err()
                .message
                .contains("64")
        );
        let bad = validate("ac\u{1b}[2Jme").unwrap_err().message;
        assert!(bad.contains("control") && !bad.contains('\u{1b}'), "{bad}");
        assert!(validate("ac\u{202e}me").is_err());
    }
}
