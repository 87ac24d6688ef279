//! Restoring one listing to the values it had before a change.
//!
//! The preview compares those values with today's and fingerprints the
//! listing as it is now; the restore writes them as an ordinary edit with
//! the caller's own rights (row-level security applies), captured by the
//! same triggers as any edit, in one transaction that also has the database
//! check and record it (`listing restored` in the audit log). A listing that
//! changed since the preview is refused; a deleted one is inserted again.
//!
//! For an import rolled back later, the restore is an edit made after the
//! import like any other: the listing no longer equals the import's
//! after-image (its `updated_at` is the restore's time), so the rollback
//! skips it (or, in block mode, refuses) and says it was restored.

use serde::Serialize;
use serde_json::json;

use super::{Change, FieldChange, ListingValues, ListingsError, check_access, diff};
use color_eyre::eyre::WrapErr;

use crate::db::queries::listings::{self as sql, RestoreWrite};
use crate::db::{Conn, Database, LockAttempt, SellerLock};
use crate::domain::actor::Actor;
use crate::text::sanitize;

/// Why a restore was not done. Every variant but `Failed` is a refusal:
/// nothing was changed.
#[derive(Debug)]
pub enum RestoreError {
    NotAllowed {
        role: String,
        seller: String,
    },
    /// The listing has no change with that number.
    ChangeNotFound {
        seller: String,
        sku: String,
        change_id: i64,
    },
    /// The change created the listing: it had no values before it.
    NothingBefore {
        sku: String,
        change_id: i64,
    },
    /// The listing already holds those values.
    AlreadyThoseValues {
        sku: String,
        change_id: i64,
    },
    /// The listing changed since the preview the user confirmed.
    Stale {
        sku: String,
        expected: String,
        actual: String,
    },
    /// An import or rollback for the seller is running.
    Busy {
        seller: String,
    },
    Failed(color_eyre::Report),
}

impl RestoreError {
    /// A machine-readable name for `--json`.
    pub fn reason(&self) -> &'static str {
        match self {
            RestoreError::NotAllowed { .. } => "not_allowed",
            RestoreError::ChangeNotFound { .. } => "change_not_found",
            RestoreError::NothingBefore { .. } => "nothing_before",
            RestoreError::AlreadyThoseValues { .. } => "already_those_values",
            RestoreError::Stale { .. } => "listing_changed",
            RestoreError::Busy { .. } => "busy",
            RestoreError::Failed(_) => "error",
        }
    }
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::NotAllowed { role, seller } => write!(
                f,
                "role {} may not act for seller {}",
                sanitize(role),
                sanitize(seller)
            ),
            RestoreError::ChangeNotFound {
                seller,
                sku,
                change_id,
            } => write!(
                f,
                "listing {} of seller {} has no change #{change_id} (see its timeline: importdesk listing SKU --seller S)",
                sanitize(sku),
                sanitize(seller)
            ),
            RestoreError::NothingBefore { sku, change_id } => write!(
                f,
                "change #{change_id} created listing {}: it had no values before it; nothing was changed",
                sanitize(sku)
            ),
            RestoreError::AlreadyThoseValues { sku, change_id } => write!(
                f,
                "listing {} already has the values it had before change #{change_id}; nothing was changed",
                sanitize(sku)
            ),
            RestoreError::Stale { sku, .. } => write!(
                f,
                "listing {} changed since the preview you confirmed; nothing was changed — preview it again",
                sanitize(sku)
            ),
            RestoreError::Busy { seller } => write!(
                f,
                "an import or rollback for seller {} is in progress; try again when it has finished",
                sanitize(seller)
            ),
            RestoreError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for RestoreError {}

impl From<color_eyre::Report> for RestoreError {
    fn from(e: color_eyre::Report) -> Self {
        RestoreError::Failed(e)
    }
}

impl From<ListingsError> for RestoreError {
    fn from(e: ListingsError) -> Self {
        match e {
            ListingsError::NotAllowed { role, seller } => RestoreError::NotAllowed { role, seller },
            ListingsError::NotFound { seller, sku } => RestoreError::ChangeNotFound {
                seller,
                sku,
                change_id: 0,
            },
            ListingsError::Failed(e) => RestoreError::Failed(e),
        }
    }
}

/// What a restore would do.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePreview {
    pub seller_id: String,
    pub sku: String,
    /// The change whose before-values are restored.
    pub change: Change,
    /// The listing now; `None` when it was deleted (the restore re-creates it).
    pub current: Option<ListingValues>,
    /// The values the restore writes (`updated_at` becomes the restore's time).
    pub restored: ListingValues,
    /// Today's value -> the restored one, for the fields that differ.
    pub diff: Vec<FieldChange>,
    pub recreates: bool,
    /// Pass back to `restore` (`--expect`): a listing changed since is refused.
    pub fingerprint: String,
}

#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub seller: String,
    pub sku: String,
    /// Restore the values the listing had before this change.
    pub before_change: i64,
    /// The fingerprint of the preview the user confirmed.
    pub expect: Option<String>,
    pub actor: Actor,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub seller_id: String,
    pub sku: String,
    pub before_change: i64,
    /// The restore's id (import_audit.listing_restores).
    pub restore_id: i64,
    pub recreated: bool,
    pub diff: Vec<FieldChange>,
    pub fingerprint: String,
}

/// The listing's state and the change: a hash of every column now (or
/// "absent") and the change's number.
fn fingerprint(seller: &str, sku: &str, change_id: i64, state: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{seller}\0{sku}\0{change_id}\0{}",
        state.unwrap_or("absent")
    );
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// The plan, read on `client` (locking the listing's row when `lock`).
async fn plan(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    change_id: i64,
    lock: bool,
) -> Result<RestorePreview, RestoreError> {
    let change = sql::change(conn, seller, sku, change_id)
        .await?
        .map(Change::from_row)
        .ok_or_else(|| RestoreError::ChangeNotFound {
            seller: seller.to_string(),
            sku: sku.to_string(),
            change_id,
        })?;
    let Some(restored) = change.before.clone() else {
        return Err(RestoreError::NothingBefore {
            sku: sku.to_string(),
            change_id,
        });
    };
    let current = if lock {
        sql::current_for_update(conn, seller, sku).await?
    } else {
        sql::current(conn, seller, sku).await?
    };
    let fingerprint = fingerprint(
        seller,
        sku,
        change_id,
        current.as_ref().map(|c| c.state_hash.as_str()),
    );
    let current = current.map(|c| c.values);
    let changes: Vec<FieldChange> = match &current {
        Some(now) => diff(Some(now), Some(&restored))
            .into_iter()
            .filter(|f| f.field != "updated_at")
            .collect(),
        None => diff(None, Some(&restored)),
    };
    if current.is_some() && changes.is_empty() {
        return Err(RestoreError::AlreadyThoseValues {
            sku: sku.to_string(),
            change_id,
        });
    }
    Ok(RestorePreview {
        seller_id: seller.to_string(),
        sku: sku.to_string(),
        recreates: current.is_none(),
        change,
        current,
        restored,
        diff: changes,
        fingerprint,
    })
}

/// What restoring the listing's values from before `change_id` would
/// change. Reads only; holds nothing while a person reads it.
pub async fn preview_restore(
    db: &Database,
    seller: &str,
    sku: &str,
    change_id: i64,
) -> Result<RestorePreview, RestoreError> {
    let client = db.client().await?;
    check_access(&client, seller).await?;
    plan(&client, seller, sku, change_id, false).await
}

/// Restores the listing's values from before `req.before_change`, in one
/// transaction: all or nothing.
pub async fn restore(db: &Database, req: RestoreRequest) -> Result<RestoreOutcome, RestoreError> {
    let session = db.session().await?;
    check_access(&session, &req.seller).await?;
    // No import or rollback of the seller's listings meanwhile (they hold
    // this lock for their whole run), and none starts before it is done.
    let mut lock = match session.lock_seller(&req.seller).await? {
        LockAttempt::Held(lock) => lock,
        LockAttempt::Busy(_) => {
            return Err(RestoreError::Busy {
                seller: req.seller.clone(),
            });
        }
    };
    let result = restore_locked(&mut lock, &req).await;
    lock.release().await;
    result
}

async fn restore_locked(
    lock: &mut SellerLock,
    req: &RestoreRequest,
) -> Result<RestoreOutcome, RestoreError> {
    let tx = lock.transaction().await?;
    sql::tag_actor(&tx, &req.actor.label()).await?;
    let plan = plan(&tx, &req.seller, &req.sku, req.before_change, true).await?;
    let stale = || RestoreError::Stale {
        sku: req.sku.clone(),
        expected: req.expect.clone().unwrap_or_default(),
        actual: plan.fingerprint.clone(),
    };
    if req.expect.as_ref().is_some_and(|e| e != &plan.fingerprint) {
        return Err(stale());
    }
    let write = sql::write_before_image(
        &tx,
        &req.seller,
        &req.sku,
        req.before_change,
        !plan.recreates,
    )
    .await?;
    if write == RestoreWrite::Conflict {
        // Inserted or deleted by someone else since the plan was read.
        return Err(stale());
    }
    let details = json!({
        "change": plan.change.describe(),
        "change_action": plan.change.action,
        "recreated": plan.recreates,
        "fields": plan.diff,
        "fingerprint": plan.fingerprint,
    });
    let restore_id = sql::record_restore(
        &tx,
        &req.seller,
        &req.sku,
        req.before_change,
        &req.actor.label(),
        &details,
    )
    .await?;
    tx.commit()
        .await
        .wrap_err("committing the restore failed; nothing was changed")?;
    Ok(RestoreOutcome {
        seller_id: req.seller.clone(),
        sku: req.sku.clone(),
        before_change: req.before_change,
        restore_id,
        recreated: plan.recreates,
        diff: plan.diff,
        fingerprint: plan.fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_the_listing_state_and_the_change() {
        let base = fingerprint("s", "A", 7, Some("h1"));
        assert_eq!(base.len(), 16);
        assert_ne!(base, fingerprint("s", "A", 7, Some("h2")));
        assert_ne!(base, fingerprint("s", "A", 8, Some("h1")));
        assert_ne!(base, fingerprint("s", "A", 7, None));
        assert_ne!(base, fingerprint("t", "A", 7, Some("h1")));
        assert_eq!(base, fingerprint("s", "A", 7, Some("h1")));
    }
}
