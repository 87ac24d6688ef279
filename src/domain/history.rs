//! The import history: listing, showing, and recovering imports left
//! `running` by a process that died.

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

use crate::db::Database;
use crate::db::queries::{history as sql, locks};
use crate::domain::audit;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportSummary {
    pub id: i64,
    pub seller_id: String,
    pub file_name: String,
    pub file_sha256: Option<String>,
    pub file_size: Option<i64>,
    pub profile: String,
    pub options: serde_json::Value,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub actor: String,
    pub db_role: String,
    pub os_user: Option<String>,
    pub client_addr: Option<String>,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub ignored_rows: i64,
    pub unknown_columns: Vec<String>,
    pub error_summary: Option<String>,
    pub errors: serde_json::Value,
    pub rolled_back_at: Option<DateTime<Utc>>,
    pub rolled_back_by: Option<String>,
    pub rollback_restored: Option<i64>,
    pub rollback_deleted: Option<i64>,
    pub rollback_skipped: Option<i64>,
    /// When `audit prune` deleted its before-images (it can no longer be
    /// rolled back).
    pub pruned_at: Option<DateTime<Utc>>,
}

impl ImportSummary {
    fn from_row(r: &Row) -> Self {
        Self {
            id: r.get(0),
            seller_id: r.get(1),
            file_name: r.get(2),
            file_sha256: r.get(3),
            file_size: r.get(4),
            profile: r.get(5),
            options: r.get(6),
            status: r.get(7),
            started_at: r.get(8),
            finished_at: r.get(9),
            actor: r.get(10),
            db_role: r.get(11),
            os_user: r.get(12),
            client_addr: r.get(13),
            rows_read: r.get(14),
            created: r.get(15),
            updated: r.get(16),
            unchanged: r.get(17),
            rejected: r.get(18),
            ignored_rows: r.get(19),
            unknown_columns: r.get(20),
            error_summary: r.get(21),
            errors: r.get(22),
            rolled_back_at: r.get(23),
            rolled_back_by: r.get(24),
            rollback_restored: r.get(25),
            rollback_deleted: r.get(26),
            rollback_skipped: r.get(27),
            pruned_at: r.get(28),
        }
    }

    pub fn duration_seconds(&self) -> Option<f64> {
        self.finished_at
            .map(|f| (f - self.started_at).num_milliseconds() as f64 / 1000.0)
    }
}

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub seller: Option<String>,
    pub status: Option<String>,
    pub file_contains: Option<String>,
    /// Keyset pagination: only imports with a smaller id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn list(
    client: &impl GenericClient,
    filter: &HistoryFilter,
) -> Result<Vec<ImportSummary>> {
    let rows = client
        .query(
            &sql::list(),
            &[
                &filter.seller,
                &filter.status,
                &filter.file_contains,
                &filter.before_id,
                &filter.limit,
            ],
        )
        .await?;
    Ok(rows.iter().map(ImportSummary::from_row).collect())
}

pub async fn get(client: &impl GenericClient, id: i64) -> Result<Option<ImportSummary>> {
    Ok(client
        .query_opt(&sql::by_id(), &[&id])
        .await?
        .as_ref()
        .map(ImportSummary::from_row))
}

/// Marks `failed` every `running` import whose seller lock is free: the
/// process that ran it is gone (killed, crashed, lost its connection), and
/// its transaction was rolled back by PostgreSQL, so nothing was changed.
pub async fn recover_abandoned(db: &Database) -> Result<Vec<i64>> {
    let client = db.client().await?;
    let sellers: Vec<String> = client
        .query(sql::SELLERS_WITH_RUNNING, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut recovered = Vec::new();
    for seller in sellers {
        let locked: bool = client
            .query_one(locks::TRY_LOCK_SELLER, &[&seller])
            .await?
            .get(0);
        if !locked {
            continue;
        }
        let result = async {
            let ids: Vec<i64> = client
                .query(sql::FAIL_ABANDONED, &[&seller])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for id in &ids {
                audit::append(
                    &**client,
                    "importdesk",
                    audit::action::IMPORT_ABANDONED,
                    Some(&seller),
                    Some(*id),
                    serde_json::json!({ "reason": "no process held the seller's lock" }),
                )
                .await?;
            }
            Ok::<_, color_eyre::Report>(ids)
        }
        .await;
        client.query_one(locks::UNLOCK_SELLER, &[&seller]).await?;
        recovered.extend(result?);
    }
    Ok(recovered)
}
