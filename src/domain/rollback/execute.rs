//! Executing a rollback: one transaction under the seller's lock, with one
//! snapshot for the plan and the changes (no up-front row locks, see
//! docs/rollback.md); the plan re-computed inside it and compared with the
//! one the user confirmed; created listings deleted, before-images restored;
//! the import marked rolled back; one audit-log entry. All or nothing.

use color_eyre::eyre::{Context, eyre};
use serde::Serialize;
use serde_json::json;

use super::plan::{counts_from, eligibility_on};
use super::{ConflictMode, PlanCounts, PlanItem, RollbackError, RollbackRefused};
use crate::db::queries::import::refresh_log_statistics;
use crate::db::queries::rollback::{self as store, PageAt, RollbackReport, SkipSummary};
use crate::db::{Database, LockAttempt, SellerLock, is_serialization_failure};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, action};
use crate::domain::{Cancel, StopCause};

/// How many skipped keys the audit-log entry and the outcome list in full.
const LISTED_SKIPS: i64 = 1000;

/// Attempts when concurrent edits keep invalidating the plan's snapshot.
const MAX_ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub import_id: i64,
    pub mode: ConflictMode,
    /// The fingerprint of the preview the user confirmed.
    pub expect: Option<String>,
    pub actor: Actor,
    /// Cancels the rollback while it runs (the console quitting, a signal):
    /// its transaction rolls back, nothing changes, and the audit log says
    /// what stopped it.
    pub cancel: Cancel,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackOutcome {
    pub import_id: i64,
    pub seller: String,
    pub restored: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub counts: PlanCounts,
    pub fingerprint: String,
    /// The first skipped listings with their reason.
    pub skipped_listings: Vec<PlanItem>,
    pub duration_seconds: f64,
}

/// Rolls back `req.import_id`. A refusal is recorded in the audit log.
pub async fn execute(
    db: &Database,
    req: RollbackRequest,
) -> Result<RollbackOutcome, RollbackError> {
    let started = std::time::Instant::now();
    let mut seller = None;
    let result = execute_locked(db, &req, &mut seller, started).await;
    if let Err(RollbackError::Refused(refused)) = &result {
        record_refusal(db, &req, seller.as_deref(), refused).await;
    }
    result
}

/// Checks eligibility, takes the seller's lock (sets `seller` once the
/// import is known to be eligible) and runs the rollback under it.
async fn execute_locked(
    db: &Database,
    req: &RollbackRequest,
    seller: &mut Option<String>,
    started: std::time::Instant,
) -> Result<RollbackOutcome, RollbackError> {
    let session = db.session().await?;
    let import = eligibility_on(&session, req.import_id).await?;
    *seller = Some(import.seller_id.clone());
    let mut lock = match session.lock_seller(&import.seller_id).await? {
        LockAttempt::Held(lock) => lock,
        LockAttempt::Busy(_) => {
            return Err(RollbackRefused::Busy {
                message: format!(
                    "another import or rollback for seller {} is in progress; try again when it has finished",
                    crate::text::sanitize(&import.seller_id)
                ),
                seller: import.seller_id,
            }
            .into());
        }
    };
    let watch = crate::db::blocking::BlockerWatch::start(db, &*lock).await?;
    // Cancelling drops the attempt wherever it is: its transaction rolls back.
    let stopper = lock.stopper();
    let mut attempt = 1;
    let result = loop {
        let ran = tokio::select! {
            result = run_locked(&mut lock, req, started) => result,
            () = stopper.cancelled(req.cancel.token()) => {
                stopper.stop_server_statement().await;
                record_cancellation(db, req, &import.seller_id).await;
                Err(eyre!("the rollback of import #{} was cancelled; nothing was changed", req.import_id).into())
            }
        };
        match ran {
            // A listing changed by someone else between the plan's snapshot
            // and its DELETE/UPDATE aborts the transaction: plan again.
            Err(RollbackError::Failed(e)) if is_serialization_failure(&e) => {
                if attempt == MAX_ATTEMPTS {
                    break Err(e
                        .wrap_err(format!(
                            "listings of import #{} kept changing while the rollback ran \
                             ({MAX_ATTEMPTS} attempts); nothing was changed — try again",
                            req.import_id
                        ))
                        .into());
                }
                attempt += 1;
                tracing::info!(
                    import = req.import_id,
                    "a listing changed during the rollback; planning again"
                );
            }
            other => break other,
        }
    };
    // A lock timeout names who held the lock.
    let result = match result {
        Err(RollbackError::Failed(e)) => crate::db::blocking::explain(db, Some(&watch), Err(e))
            .await
            .map_err(RollbackError::Failed),
        other => other,
    };
    lock.release().await;
    result
}

async fn record_refusal(
    db: &Database,
    req: &RollbackRequest,
    seller: Option<&str>,
    refused: &RollbackRefused,
) {
    let details =
        serde_json::to_value(refused).unwrap_or_else(|_| json!({ "message": refused.message() }));
    append_on_own_connection(db, req, action::ROLLBACK_REFUSED, seller, details).await;
}

/// The rollback was stopped (its transaction rolled back): `rollback
/// cancelled` in the audit log, with who or what stopped it. Written on a
/// connection of its own: the rollback's session may still be ending the
/// statement the cancellation interrupted.
async fn record_cancellation(db: &Database, req: &RollbackRequest, seller: &str) {
    let cause = req.cancel.cause().unwrap_or(StopCause::Requested);
    let details = json!({
        "cause": cause,
        "message": format!(
            "{}: the rollback was stopped and nothing was changed",
            cause.describe(&req.actor.label())
        ),
    });
    append_on_own_connection(db, req, action::ROLLBACK_CANCELLED, Some(seller), details).await;
}

/// An audit entry about this rollback from a pooled connection (best
/// effort: a failure is logged, the rollback's own result stands).
async fn append_on_own_connection(
    db: &Database,
    req: &RollbackRequest,
    what: &str,
    seller: Option<&str>,
    details: serde_json::Value,
) {
    let recorded = async {
        let client = db.client().await?;
        audit::append(
            &client,
            &req.actor.label(),
            what,
            seller,
            Some(req.import_id),
            details,
        )
        .await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, action = what, "cannot record it in the audit log");
    }
}

async fn run_locked(
    lock: &mut SellerLock,
    req: &RollbackRequest,
    started: std::time::Instant,
) -> Result<RollbackOutcome, RollbackError> {
    let id = req.import_id;
    let seller = lock.seller().to_string();
    let actor = req.actor.label();
    // One snapshot for the plan and the changes: a listing edited after it
    // cannot be deleted or overwritten (the statement fails with a
    // serialization error instead, and the caller plans again). Cheaper than
    // locking every touched row up front, and just as safe.
    let tx = lock.snapshot_transaction().await?;
    // Re-check under the lock: another console may have won the race.
    eligibility_on(&tx, id).await?;
    store::attach(&tx, id, &actor).await?;
    let refs = store::references(&tx).await?;

    // The plan as the preview computes it, from the listings changed after
    // the import. The changes then delete and restore exactly the listings
    // that still equal the import's after-image, each compared as it is
    // changed. If they changed fewer than the plan says, some listing was
    // changed behind the change capture's back: undo, and plan from the
    // full comparison of every listing instead.
    let base = store::plan_base(&tx, id).await?;
    let skips = store::preview_skips(&tx, &refs, id, &base).await?;
    let plan = Plan::new(
        &skips,
        base.created - skips.skipped_created,
        base.updated - skips.skipped_updated,
    );
    plan.check(req)?;
    let skipped_listings = store::page_of_skips(
        &tx,
        &refs,
        &PageAt {
            import_id: id,
            base: &base,
            seek: &store::Seek::After(None),
            limit: LISTED_SKIPS,
        },
    )
    .await?;
    let mut plan = plan.with_skips(skipped_listings);
    plan.check_block(req)?;
    store::savepoint(&tx).await?;
    // A statement can only change fewer listings than planned, never more:
    // one with nothing planned is not run (it found a second's worth of
    // nothing in a 300,000-row log).
    let mut deleted = 0;
    if plan.counts.delete > 0 {
        deleted = store::delete_created(&tx, &refs, &seller, id).await?;
    }
    let mut restored = 0;
    if plan.counts.restore > 0 {
        restored = store::restore_updated_listings(&tx, &refs, &seller, id).await?;
    }
    if deleted != plan.counts.delete || restored != plan.counts.restore {
        tracing::info!(
            import = id,
            "listings changed outside the change capture; comparing every listing"
        );
        store::back_to_savepoint(&tx).await?;
        let full = store::plan_in(&tx, &refs, id).await?;
        plan = Plan::new(&full.skips, full.deletions, full.restores)
            .with_skips(store::skipped_in_plan(&tx, id, LISTED_SKIPS).await?);
        plan.check(req)?;
        plan.check_block(req)?;
        deleted = store::delete_created(&tx, &refs, &seller, id).await?;
        restored = store::restore_updated_listings(&tx, &refs, &seller, id).await?;
    }
    let counts = plan.counts;
    let fingerprint = plan.fingerprint.clone();
    let skipped_listings = plan.skipped;
    // In the plan's snapshot the counts cannot drift; if they did, refuse.
    if deleted != counts.delete || restored != counts.restore {
        return Err(eyre!(
            "the rollback of import #{id} changed {deleted} deletions / {restored} restores instead of \
             the planned {} / {}; it was cancelled and nothing was changed",
            counts.delete,
            counts.restore
        )
        .into());
    }
    let report = RollbackReport {
        actor: &actor,
        restored,
        deleted,
        skipped: counts.skip,
    };
    if !store::mark_rolled_back(&tx, id, &report).await? {
        return Err(
            eyre!("import #{id} changed state during the rollback; nothing was changed").into(),
        );
    }
    let skipped_keys: Vec<serde_json::Value> = skipped_listings
        .iter()
        .map(|s| json!({ "sku": s.sku, "reason": s.reason }))
        .collect();
    audit::append(
        &tx,
        &actor,
        action::ROLLBACK_EXECUTED,
        Some(&seller),
        Some(id),
        json!({
            "restored": restored,
            "deleted": deleted,
            "skipped": counts.skip,
            "mode": req.mode,
            "fingerprint": fingerprint,
            "skipped_keys": skipped_keys,
            "skipped_keys_listed": skipped_keys.len(),
        }),
    )
    .await?;
    // The before-image of each deleted row, both images of each restored one.
    refresh_log_statistics(&tx, deleted + 2 * restored).await?;
    tx.commit()
        .await
        .wrap_err("committing the rollback failed; nothing was changed")?;
    Ok(RollbackOutcome {
        import_id: id,
        seller,
        restored,
        deleted,
        skipped: counts.skip,
        counts,
        fingerprint,
        skipped_listings,
        duration_seconds: started.elapsed().as_secs_f64(),
    })
}

/// A rollback plan inside the executing transaction: counts, fingerprint
/// and the first skipped listings.
struct Plan {
    counts: PlanCounts,
    fingerprint: String,
    skipped: Vec<PlanItem>,
}

impl Plan {
    fn new(skips: &SkipSummary, delete: i64, restore: i64) -> Self {
        let (counts, fingerprint) = counts_from(skips, delete, restore);
        Self {
            counts,
            fingerprint,
            skipped: Vec::new(),
        }
    }

    /// The listed skips, with who changed each listing and when, as the
    /// preview names them.
    fn with_skips(mut self, skipped: Vec<store::SkippedListing>) -> Self {
        self.skipped = skipped.into_iter().map(PlanItem::skipped).collect();
        self
    }

    /// Refuses when the user confirmed another plan (`--expect`).
    fn check(&self, req: &RollbackRequest) -> Result<(), RollbackError> {
        let id = req.import_id;
        match &req.expect {
            Some(expected) if expected != &self.fingerprint => Err(RollbackRefused::PlanChanged {
                import_id: id,
                expected: expected.clone(),
                actual: self.fingerprint.clone(),
                message: format!(
                    "the rollback plan of import #{id} changed since the preview you confirmed \
                     (now: {} to delete, {} to restore, {} to skip); nothing was changed — preview it again. \
                     If the preview still shows the old plan, a listing was changed with the change capture \
                     bypassed: a rollback without --expect skips it",
                    self.counts.delete, self.counts.restore, self.counts.skip
                ),
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// Refuses when listings would be skipped and the user said `block`.
    fn check_block(&self, req: &RollbackRequest) -> Result<(), RollbackError> {
        let id = req.import_id;
        let c = &self.counts;
        if req.mode == ConflictMode::Block && c.skip > 0 {
            return Err(RollbackRefused::Blocked {
                import_id: id,
                total: c.skip,
                message: format!(
                    "rollback of import #{id} blocked: {} listing(s) changed after the import \
                     ({} edited, {} deleted, {} referenced); nothing was changed",
                    c.skip, c.skipped_edited, c.skipped_deleted, c.skipped_referenced
                ),
                conflicts: self.skipped.clone(),
            }
            .into());
        }
        Ok(())
    }
}
