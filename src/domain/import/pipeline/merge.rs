//! Merge: the staging table into `listings`, set-based. Unchanged rows are
//! neither rewritten nor logged; the counts come from the change log the
//! merge wrote (a dry run's from the join it counts).

use color_eyre::eyre::{Result, bail};

use super::super::parse::HeaderInfo;
use super::super::{FieldChanges, ImportRequest, KEPT_ERRORS};
use crate::db::Transaction;
use crate::db::queries::{import as store, import_direct};

/// What the merge did (or, in a dry run's transaction, would do).
pub(super) struct Merged {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Dry run only: the first listings that would be updated.
    pub changes: Option<Vec<FieldChanges>>,
    /// Order-independent hashes of the created and the updated keys (the
    /// plan fingerprint's key -> action part).
    pub created_keys: String,
    pub updated_keys: String,
}

pub(super) async fn merge(
    tx: &Transaction<'_>,
    req: &ImportRequest,
    import_id: Option<i64>,
    header: &HeaderInfo,
    staged: i64,
) -> Result<Merged> {
    let columns = header.columns.as_slice();
    let (created, updated, changes) = if req.dry_run {
        // Counted, not done: a dry run writes nothing, not even in a
        // transaction it rolls back.
        let (created, updated, first_rows) =
            store::count_changes(tx, &req.seller, columns, KEPT_ERRORS as i32).await?;
        let changes = store::preview_changes(tx, &req.seller, columns, &first_rows).await?;
        (created, updated, Some(changes))
    } else {
        let Some(import_id) = import_id else {
            bail!("an import that writes has a history row");
        };
        let (created, updated) = store::merge(tx, import_id, &req.seller, columns).await?;
        (created, updated, None)
    };
    Ok(Merged {
        created: created.rows as u64,
        updated: updated.rows as u64,
        unchanged: (staged - created.rows - updated.rows).max(0) as u64,
        changes,
        created_keys: created.keys_hash,
        updated_keys: updated.keys_hash,
    })
}

/// A first import's COPY into `listings` created every row it copied (the
/// unique key refused any other outcome); which, hashed as the merge
/// hashes the keys it creates.
pub(super) async fn copied(tx: &Transaction<'_>, req: &ImportRequest, rows: i64) -> Result<Merged> {
    let created = import_direct::seller_keys(tx, &req.seller).await?;
    if created.rows != rows {
        // Another session gave the seller listings meanwhile: the counts
        // would not be this import's alone.
        bail!(
            "seller {:?} got {} other listings while the import ran; nothing was changed, run it again",
            req.seller,
            created.rows - rows
        );
    }
    Ok(Merged {
        created: rows as u64,
        updated: 0,
        unchanged: 0,
        changes: None,
        created_keys: created.keys_hash,
        updated_keys: "0".into(),
    })
}
