//! Merge: the staging table into `listings`, set-based. Unchanged rows are
//! neither rewritten nor logged; the counts come from the statements.

use color_eyre::eyre::Result;

use super::super::parse::HeaderInfo;
use super::super::{FieldChanges, ImportRequest, KEPT_ERRORS};
use crate::db::Transaction;
use crate::db::queries::import as store;

/// What the merge did (or, in a dry run's transaction, would do).
pub(super) struct Merged {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Dry run only: the first listings that would be updated.
    pub changes: Option<Vec<FieldChanges>>,
}

pub(super) async fn merge(
    tx: &Transaction<'_>,
    req: &ImportRequest,
    header: &HeaderInfo,
    staged: i64,
) -> Result<Merged> {
    let columns = header.columns.as_slice();
    let (created, updated, changes) = if req.dry_run {
        // Counted, not done: a dry run writes nothing, not even in a
        // transaction it rolls back.
        let (created, updated) = store::count_changes(tx, &req.seller, columns).await?;
        let changes = store::preview_changes(tx, &req.seller, columns, KEPT_ERRORS as i64).await?;
        (created, updated, Some(changes))
    } else {
        let updated = store::update_changed(tx, &req.seller, columns).await?;
        let created = store::insert_new(tx, &req.seller, columns).await?;
        (created, updated, None)
    };
    Ok(Merged {
        created: created as u64,
        updated: updated as u64,
        unchanged: (staged - created - updated).max(0) as u64,
        changes,
    })
}
