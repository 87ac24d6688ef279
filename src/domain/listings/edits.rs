//! Hand edits from the change log (changes neither an import nor a rollback
//! made: psql, other applications, single-listing restores), and the audit
//! feed that shows them alongside the audit-log entries.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Change;
use crate::db::Database;
use crate::db::queries::listings::{self as sql, EditQuery};
use crate::domain::audit::{self, AuditEntry, AuditFilter};

/// Hand edits matching `filter`, newest first; `before` (a change number)
/// pages back. Row-level security shows a seller role only its own.
pub async fn hand_edits(
    db: &Database,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> color_eyre::Result<Vec<Change>> {
    let client = db.client().await?;
    let rows = sql::hand_edits(
        &client,
        &EditQuery {
            seller: filter.seller.as_deref(),
            sku: filter.sku.as_deref(),
            role: filter.role.as_deref(),
            since: filter.since,
            until: filter.until,
            before_change: before,
            limit,
        },
    )
    .await?;
    Ok(rows.into_iter().map(Change::from_row).collect())
}

/// One line of the audit feed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditItem {
    /// An audit-log entry (import, rollback, restore, prune...).
    Entry(AuditEntry),
    /// A hand edit from the change log.
    HandEdit(Box<Change>),
}

impl AuditItem {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AuditItem::Entry(e) => e.at,
            AuditItem::HandEdit(c) => c.at,
        }
    }
}

/// The newest `limit` audit-log entries matching `filter`, with the hand
/// edits matching it merged in by time when `with_edits`.
pub async fn audit_feed(
    db: &Database,
    filter: &AuditFilter,
    with_edits: bool,
    limit: i64,
) -> color_eyre::Result<Vec<AuditItem>> {
    let entries = audit::list_filtered(db, filter, None, limit).await?;
    let mut items: Vec<AuditItem> = entries.into_iter().map(AuditItem::Entry).collect();
    if with_edits {
        let edits = hand_edits(db, filter, None, limit).await?;
        items.extend(edits.into_iter().map(|c| AuditItem::HandEdit(Box::new(c))));
        // Stable: equal times keep entries before edits, each newest first.
        items.sort_by_key(|i| std::cmp::Reverse(i.at()));
        items.truncate(limit.max(0) as usize);
    }
    Ok(items)
}
