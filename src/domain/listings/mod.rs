//! Listings and their history: a seller's listings (keyset pages, filters),
//! one listing's timeline from the change log (every import, rollback and
//! hand edit that touched it, with field diffs and the values as of each
//! change), restoring one listing to its values before a change, and the
//! hand edits for the audit screen.
//!
//! Access is the database's business: row-level security shows a seller
//! role only its own listings and changes; `access` here only turns "sees
//! nothing" into a clear refusal for another seller's id.

mod browse;
mod edits;
mod restore;
mod timeline;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::db::queries::listings::{BrowseOrder, ListingSummary, ListingValues};
pub use browse::{BrowseFilter, Cursor, ListingsPage, browse};
pub use edits::{AuditItem, audit_feed, hand_edits};
pub use restore::{
    RestoreError, RestoreOutcome, RestorePreview, RestoreRequest, preview_restore, restore,
};
pub use timeline::{Timeline, change, timeline};

use crate::db::Conn;
use crate::db::queries::listings::{self as sql, ChangeRow};
use crate::text::sanitize;

/// Why listings or a timeline could not be shown.
#[derive(Debug)]
pub enum ListingsError {
    /// The connected role may not act for this seller.
    NotAllowed { role: String, seller: String },
    /// No such listing now, and no captured change to it either.
    NotFound { seller: String, sku: String },
    /// The database failed (connection, query): not a refusal.
    Failed(color_eyre::Report),
}

impl std::fmt::Display for ListingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListingsError::NotAllowed { role, seller } => write!(
                f,
                "role {} may not act for seller {}",
                sanitize(role),
                sanitize(seller)
            ),
            ListingsError::NotFound { seller, sku } => write!(
                f,
                "seller {} has no listing {} and no recorded change to one",
                sanitize(seller),
                sanitize(sku)
            ),
            ListingsError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ListingsError {}

impl From<color_eyre::Report> for ListingsError {
    fn from(e: color_eyre::Report) -> Self {
        ListingsError::Failed(e)
    }
}

/// `Err(NotAllowed)` unless the connected role may act for `seller`.
async fn check_access(conn: &impl Conn, seller: &str) -> Result<(), ListingsError> {
    let access = sql::access(conn, seller).await?;
    if access.allowed {
        Ok(())
    } else {
        Err(ListingsError::NotAllowed {
            role: access.role,
            seller: seller.to_string(),
        })
    }
}

/// What a change did to the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    Created,
    Updated,
    Deleted,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ChangeSource {
    Import {
        import_id: i64,
        file_name: String,
    },
    /// The rollback of import `import_id`.
    Rollback {
        import_id: i64,
        file_name: String,
    },
    /// importdesk's single-listing restore (a hand edit the database
    /// checked): the listing got its values from before `before_change`.
    Restore {
        before_change: i64,
    },
    /// Any other edit: psql, another application, a script.
    Hand,
}

/// One field that a change (or a restore) changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One change to one listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The change's number (its main row in the change log).
    pub change_id: i64,
    pub at: DateTime<Utc>,
    pub seller_id: String,
    pub sku: String,
    pub action: ChangeAction,
    pub source: ChangeSource,
    /// The OS user importdesk recorded, or the database role for edits
    /// made outside importdesk.
    pub actor: String,
    /// The database role that made the change (recorded by PostgreSQL).
    pub db_role: String,
    /// Changed fields; for a creation or deletion every field with a value
    /// (timestamps left out).
    pub diff: Vec<FieldChange>,
    /// The listing as of this change (after it); `None` when it deleted it.
    pub values: Option<ListingValues>,
    /// The listing just before it: what "restore before this change" writes.
    pub before: Option<ListingValues>,
}

impl Change {
    fn from_row(row: ChangeRow) -> Self {
        let action = match (&row.before, &row.after) {
            (None, _) => ChangeAction::Created,
            (Some(_), Some(_)) => ChangeAction::Updated,
            (Some(_), None) => ChangeAction::Deleted,
        };
        let file = || row.file_name.clone().unwrap_or_default();
        let source = match (row.import_id, row.rollback_of, row.restored_before) {
            (Some(import_id), _, _) => ChangeSource::Import {
                import_id,
                file_name: file(),
            },
            (None, Some(import_id), _) => ChangeSource::Rollback {
                import_id,
                file_name: file(),
            },
            (None, None, Some(before_change)) => ChangeSource::Restore { before_change },
            (None, None, None) => ChangeSource::Hand,
        };
        Self {
            change_id: row.change_id,
            at: row.at,
            diff: diff(row.before.as_ref(), row.after.as_ref()),
            seller_id: row.seller_id,
            sku: row.sku,
            action,
            source,
            actor: row.actor,
            db_role: row.db_role,
            values: row.after,
            before: row.before,
        }
    }

    /// What happened, in words: `updated by import #3 (october.csv)`,
    /// `edited by hand by jane (role support_jane)`.
    pub fn describe(&self) -> String {
        let who = if self.actor == self.db_role {
            sanitize(&self.db_role).into_owned()
        } else {
            format!(
                "{} (role {})",
                sanitize(&self.actor),
                sanitize(&self.db_role)
            )
        };
        match (&self.source, self.action) {
            (
                ChangeSource::Import {
                    import_id,
                    file_name,
                },
                action,
            ) => format!(
                "{} by import #{import_id} ({})",
                match action {
                    ChangeAction::Created => "created",
                    ChangeAction::Updated => "updated",
                    ChangeAction::Deleted => "deleted",
                },
                sanitize(&file_label(file_name))
            ),
            (
                ChangeSource::Rollback {
                    import_id,
                    file_name,
                },
                action,
            ) => format!(
                "{} by the rollback of import #{import_id} ({})",
                match action {
                    ChangeAction::Created => "re-created",
                    ChangeAction::Updated => "restored",
                    ChangeAction::Deleted => "deleted",
                },
                sanitize(&file_label(file_name))
            ),
            (ChangeSource::Restore { before_change }, ChangeAction::Created) => {
                format!("re-created with its values from before change #{before_change} by {who}")
            }
            (ChangeSource::Restore { before_change }, _) => {
                format!("restored to its values from before change #{before_change} by {who}")
            }
            (ChangeSource::Hand, ChangeAction::Created) => format!("created by hand by {who}"),
            (ChangeSource::Hand, ChangeAction::Updated) => format!("edited by hand by {who}"),
            (ChangeSource::Hand, ChangeAction::Deleted) => format!("deleted by hand by {who}"),
        }
    }
}

/// A file's own name (history rows keep the full path).
pub fn file_label(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Timestamps are left out of a creation's or deletion's field list (they
/// say nothing the change's own time does not).
const TIMESTAMPS: [&str; 2] = ["created_at", "updated_at"];

/// Field by field, `before` -> `after`: differing fields for an update;
/// every field with a value for a creation or a deletion.
pub fn diff(before: Option<&ListingValues>, after: Option<&ListingValues>) -> Vec<FieldChange> {
    match (before, after) {
        (Some(b), Some(a)) => b
            .fields()
            .into_iter()
            .zip(a.fields())
            .filter(|((_, old), (_, new))| old != new)
            .map(|((field, old), (_, new))| FieldChange {
                field,
                before: old,
                after: new,
            })
            .collect(),
        (None, Some(a)) => a
            .fields()
            .into_iter()
            .filter(|(field, v)| v.is_some() && !TIMESTAMPS.contains(field))
            .map(|(field, new)| FieldChange {
                field,
                before: None,
                after: new,
            })
            .collect(),
        (Some(b), None) => b
            .fields()
            .into_iter()
            .filter(|(field, v)| v.is_some() && !TIMESTAMPS.contains(field))
            .map(|(field, old)| FieldChange {
                field,
                before: old,
                after: None,
            })
            .collect(),
        (None, None) => Vec::new(),
    }
}
