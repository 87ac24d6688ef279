//! What a dry run showed, pinned: the file's bytes (its SHA-256) and the
//! plan (the counts plus an order-independent hash of key -> action, like
//! a rollback's fingerprint). The import that follows passes it back
//! (`import --expect`, the console's confirm button) and is refused, with
//! nothing changed, when either differs: what a person reviewed is what runs.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Counts;

/// Hex digits of each half of a fingerprint.
const HALF: usize = 16;

/// A plan fingerprint as `import --dry-run` prints it: `FILE-PLAN`, 16 hex
/// digits each (the file's SHA-256, then the plan's digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFingerprint {
    file: String,
    plan: String,
}

impl fmt::Display for PlanFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.file, self.plan)
    }
}

impl Serialize for PlanFingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for PlanFingerprint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let hex = |part: &str| part.len() == HALF && part.bytes().all(|b| b.is_ascii_hexdigit());
        match s.trim().split_once('-') {
            Some((file, plan)) if hex(file) && hex(plan) => Ok(Self {
                file: file.to_ascii_lowercase(),
                plan: plan.to_ascii_lowercase(),
            }),
            _ => Err(format!(
                "not a plan fingerprint: expected {HALF} hex digits, '-', {HALF} hex digits \
                 (as `importdesk import --dry-run` prints it)"
            )),
        }
    }
}

/// What the plan's digest covers besides the counts: the request's shape
/// (seller, profile, key, options, the columns the file provides) and the
/// keys each action touches.
pub(super) struct PlanFacts<'a> {
    pub seller: &'a str,
    pub profile: &'a str,
    pub key: &'a str,
    pub skip_invalid: bool,
    pub columns: Vec<&'a str>,
    pub counts: Counts,
    /// Order-independent hashes of the created and the updated keys.
    pub created_keys: &'a str,
    pub updated_keys: &'a str,
}

impl PlanFingerprint {
    /// The fingerprint of a file (its SHA-256 in hex) and a plan.
    pub(super) fn new(file_sha256: &str, facts: &PlanFacts<'_>) -> Self {
        let c = &facts.counts;
        // JSON: every value unambiguously delimited (a seller may hold '|').
        let text = serde_json::json!([
            1,
            facts.seller,
            facts.profile,
            facts.key,
            facts.skip_invalid,
            facts.columns,
            [
                c.rows_read,
                c.created,
                c.updated,
                c.unchanged,
                c.rejected,
                c.ignored
            ],
            facts.created_keys,
            facts.updated_keys,
        ])
        .to_string();
        Self {
            file: file_sha256.chars().take(HALF).collect(),
            plan: hex::encode(&Sha256::digest(text.as_bytes())[..HALF / 2]),
        }
    }

    /// The file read now (`sha256`) is the file the dry run read.
    pub(super) fn check_file(&self, sha256: &str) -> Result<(), ImportRefused> {
        if sha256.starts_with(&self.file) {
            return Ok(());
        }
        Err(ImportRefused::FileChanged {
            expected: self.to_string(),
            message: format!(
                "the file changed since the dry run (its SHA-256 began {}, now {}); \
                 nothing was imported: dry run again and review what it would change",
                self.file,
                &sha256[..sha256.len().min(HALF)]
            ),
        })
    }

    /// The plan made now is the plan the dry run showed.
    pub(super) fn check_plan(
        &self,
        now: &PlanFingerprint,
        c: &Counts,
    ) -> Result<(), ImportRefused> {
        if self.plan == now.plan {
            return Ok(());
        }
        Err(ImportRefused::PlanChanged {
            expected: self.to_string(),
            actual: now.to_string(),
            counts: *c,
            message: format!(
                "the plan changed since the dry run: the seller's listings (or the import's \
                 options) changed meanwhile, and it would now create {}, update {} and leave {} \
                 unchanged; nothing was imported: dry run again and review it",
                c.created, c.updated, c.unchanged
            ),
        })
    }
}

/// Why an import did not run what was reviewed. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ImportRefused {
    /// The file's bytes differ from those the dry run read.
    FileChanged { expected: String, message: String },
    /// Same file, but the import would now do something else.
    PlanChanged {
        expected: String,
        actual: String,
        counts: Counts,
        message: String,
    },
}

impl ImportRefused {
    pub fn message(&self) -> &str {
        match self {
            ImportRefused::FileChanged { message, .. }
            | ImportRefused::PlanChanged { message, .. } => message,
        }
    }

    /// For the history and the audit log: which check refused.
    pub fn reason(&self) -> &'static str {
        match self {
            ImportRefused::FileChanged { .. } => "file_changed",
            ImportRefused::PlanChanged { .. } => "plan_changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(created: &'a str) -> PlanFacts<'a> {
        PlanFacts {
            seller: "acme",
            profile: "native",
            key: "the \"sku\" column",
            skip_invalid: false,
            columns: vec!["title", "price"],
            counts: Counts {
                rows_read: 3,
                created: 2,
                updated: 1,
                ..Counts::default()
            },
            created_keys: created,
            updated_keys: "42",
        }
    }

    #[test]
    fn printed_and_parsed_back() {
        let fp = PlanFingerprint::new(&"ab".repeat(32), &facts("7"));
        let text = fp.to_string();
        assert_eq!(text.len(), 33);
        assert_eq!(text.parse::<PlanFingerprint>().unwrap(), fp);
        assert_eq!(text.to_uppercase().parse::<PlanFingerprint>().unwrap(), fp);
        for bad in [
            "",
            "abc",
            &text[..32],
            &text.replace('-', ""),
            &text.replace('a', "g"),
        ] {
            assert!(bad.parse::<PlanFingerprint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_changed_key_set_or_file_is_refused() {
        let sha = "ab".repeat(32);
        let pinned = PlanFingerprint::new(&sha, &facts("7"));
        assert!(pinned.check_file(&sha).is_ok());
        let other = "cd".repeat(32);
        let refused = pinned.check_file(&other).unwrap_err();
        assert_eq!(refused.reason(), "file_changed");
        assert!(
            refused
                .message()
                .contains("the file changed since the dry run")
        );

        let same = PlanFingerprint::new(&sha, &facts("7"));
        assert!(pinned.check_plan(&same, &facts("7").counts).is_ok());
        let moved = PlanFingerprint::new(&sha, &facts("8"));
        let refused = pinned.check_plan(&moved, &facts("8").counts).unwrap_err();
        assert_eq!(refused.reason(), "plan_changed");
        assert!(refused.message().contains("create 2, update 1"));
    }
}
