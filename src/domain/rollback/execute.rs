//! Executing a rollback: one transaction under the seller's lock; row locks;
//! the plan re-computed inside the transaction and compared with the one the
//! user confirmed; created listings deleted, before-images restored; the
//! import marked rolled back; one audit-log entry. All or nothing.

use color_eyre::eyre::{Context, Result};
use serde::Serialize;
use serde_json::json;

use super::plan::{counts_from, eligibility, plan_base, referenced_condition, skipped_item};
use super::{ConflictMode, PlanCounts, PlanItem, RollbackRefused};
use crate::db::Database;
use crate::db::queries::{locks, rollback as sql};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, action};

/// How many skipped keys the audit-log entry and the outcome list in full.
const LISTED_SKIPS: i64 = 1000;

/// Attempts when concurrent edits keep invalidating the plan's snapshot.
const MAX_ATTEMPTS: usize = 3;

fn is_serialization_failure<T>(result: &Result<T>) -> bool {
    result.as_ref().err().is_some_and(|e| {
        e.chain().any(|c| {
            c.downcast_ref::<tokio_postgres::Error>()
                .and_then(|e| e.code())
                .is_some_and(|code| {
                    *code == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                })
        })
    })
}

#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub import_id: i64,
    pub mode: ConflictMode,
    /// The fingerprint of the preview the user confirmed.
    pub expect: Option<String>,
    pub actor: Actor,
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

pub async fn execute(db: &Database, req: RollbackRequest) -> Result<RollbackOutcome> {
    let started = std::time::Instant::now();
    let mut client = db.connect_dedicated().await?;
    let seller = {
        match eligibility(&client, req.import_id).await? {
            Ok(import) => import.seller_id,
            Err(why) => {
                let refused = RollbackRefused::Ineligible {
                    message: why.to_string(),
                    detail: why,
                };
                record_refusal(&client, &req, None, &refused).await;
                return Err(refused.into());
            }
        }
    };
    let locked: bool = client
        .query_one(locks::TRY_LOCK_SELLER, &[&seller])
        .await?
        .get(0);
    if !locked {
        let refused = RollbackRefused::Busy {
            message: format!(
                "another import or rollback for seller {} is in progress; try again when it has finished",
                crate::text::sanitize(&seller)
            ),
            seller: seller.clone(),
        };
        record_refusal(&client, &req, Some(&seller), &refused).await;
        return Err(refused.into());
    }
    let watch = crate::db::blocking::BlockerWatch::start(db, &client).await?;
    let mut result = run_locked(&mut client, &req, &seller, started).await;
    // A listing changed by someone else between the plan's snapshot and its
    // DELETE/UPDATE aborts the transaction (repeatable read): plan again.
    for _ in 1..MAX_ATTEMPTS {
        if !is_serialization_failure(&result) {
            break;
        }
        tracing::info!(
            import = req.import_id,
            "a listing changed during the rollback; planning again"
        );
        result = run_locked(&mut client, &req, &seller, started).await;
    }
    if is_serialization_failure(&result) {
        result = result.wrap_err(format!(
            "listings of import #{} kept changing while the rollback ran ({MAX_ATTEMPTS} attempts); \
             nothing was changed — try again",
            req.import_id
        ));
    }
    let result = crate::db::blocking::explain(db, Some(&watch), result).await;
    let _ = client.query_one(locks::UNLOCK_SELLER, &[&seller]).await;
    if let Err(e) = &result
        && let Some(refused) = e.downcast_ref::<RollbackRefused>()
    {
        record_refusal(&client, &req, Some(&seller), refused).await;
    }
    result
}

async fn record_refusal(
    client: &tokio_postgres::Client,
    req: &RollbackRequest,
    seller: Option<&str>,
    refused: &RollbackRefused,
) {
    let _ = audit::append(
        client,
        &req.actor.label(),
        action::ROLLBACK_REFUSED,
        seller,
        Some(req.import_id),
        serde_json::to_value(refused).unwrap_or_else(|_| json!({ "message": refused.message() })),
    )
    .await;
}

async fn run_locked(
    client: &mut tokio_postgres::Client,
    req: &RollbackRequest,
    seller: &str,
    started: std::time::Instant,
) -> Result<RollbackOutcome> {
    let id = req.import_id;
    // One snapshot for the plan and the changes: a listing edited after it
    // cannot be deleted or overwritten (the statement fails with a
    // serialization error instead, and the caller plans again). Cheaper than
    // locking every touched row up front, and just as safe.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await?;
    // Re-check under the lock: another console may have won the race.
    if let Err(why) = eligibility(&tx, id).await? {
        return Err(RollbackRefused::Ineligible {
            message: why.to_string(),
            detail: why,
        }
        .into());
    }
    tx.query(sql::ATTACH_ROLLBACK, &[&id, &req.actor.label()])
        .await?;
    let referenced = referenced_condition(&tx).await?;
    tx.execute(&sql::create_plan(&referenced), &[&id]).await?;
    tx.batch_execute("ANALYZE rollback_plan").await?;
    let actions = tx.query_one(sql::PLAN_ACTIONS, &[]).await?;
    let row = tx
        .query_one(&sql::skip_summary(sql::PLAN_SOURCE), &[])
        .await?;
    let (counts, fingerprint) = counts_from(&row, actions.get(0), actions.get(1));

    if let Some(expected) = &req.expect
        && expected != &fingerprint
    {
        return Err(RollbackRefused::PlanChanged {
            import_id: id,
            expected: expected.clone(),
            actual: fingerprint.clone(),
            message: format!(
                "the rollback plan of import #{id} changed since the preview you confirmed \
                 (now: {} to delete, {} to restore, {} to skip); nothing was changed — preview it again. \
                 If the preview still shows the old plan, a listing was changed with the change capture \
                 bypassed: a rollback without --expect skips it",
                counts.delete, counts.restore, counts.skip
            ),
        }
        .into());
    }

    // Who changed each skipped listing and when, as the preview names them.
    let base = plan_base(&tx, id).await?;
    let skipped_rows = tx
        .query(
            &sql::skipped_in_plan(),
            &[&LISTED_SKIPS, &base.last_change_id, &seller],
        )
        .await?;
    let skipped_listings: Vec<PlanItem> = skipped_rows.iter().map(skipped_item).collect();

    if req.mode == ConflictMode::Block && counts.skip > 0 {
        return Err(RollbackRefused::Blocked {
            import_id: id,
            total: counts.skip,
            message: format!(
                "rollback of import #{id} blocked: {} listing(s) changed after the import \
                 ({} edited, {} deleted, {} referenced); nothing was changed",
                counts.skip,
                counts.skipped_edited,
                counts.skipped_deleted,
                counts.skipped_referenced
            ),
            conflicts: skipped_listings,
        }
        .into());
    }

    let deleted: i64 = tx.query_one(sql::DELETE_CREATED, &[&seller]).await?.get(0);
    let restored: i64 = tx
        .query_one(&sql::restore_updated(), &[&seller, &id])
        .await?
        .get(0);
    // With the rows locked the plan cannot drift; if it did, refuse.
    if deleted != counts.delete || restored != counts.restore {
        color_eyre::eyre::bail!(
            "the rollback of import #{id} changed {deleted} deletions / {restored} restores instead of \
             the planned {} / {}; it was cancelled and nothing was changed",
            counts.delete,
            counts.restore
        );
    }
    let marked: i64 = tx
        .query_one(
            sql::MARK_ROLLED_BACK,
            &[&id, &req.actor.label(), &restored, &deleted, &counts.skip],
        )
        .await?
        .get(0);
    if marked != 1 {
        color_eyre::eyre::bail!(
            "import #{id} changed state during the rollback; nothing was changed"
        );
    }
    let skipped_keys: Vec<serde_json::Value> = skipped_listings
        .iter()
        .map(|s| json!({ "sku": s.sku, "reason": s.reason }))
        .collect();
    audit::append(
        &tx,
        &req.actor.label(),
        action::ROLLBACK_EXECUTED,
        Some(seller),
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
    tx.query_one(
        crate::db::queries::import::REFRESH_LOG_STATISTICS,
        &[&(deleted + 2 * restored)],
    )
    .await?;
    tx.commit()
        .await
        .wrap_err("committing the rollback failed; nothing was changed")?;
    Ok(RollbackOutcome {
        import_id: id,
        seller: seller.to_string(),
        restored,
        deleted,
        skipped: counts.skip,
        counts,
        fingerprint,
        skipped_listings,
        duration_seconds: started.elapsed().as_secs_f64(),
    })
}
