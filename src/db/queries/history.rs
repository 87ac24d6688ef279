//! The import history (`import_audit.imports`): its record, its states, and
//! the statements that list, read and recover imports.

use std::error::Error;

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::db::Conn;

/// Where an import stands (the `status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Working now, or abandoned by a process that died (then marked failed
    /// by the next command that takes the seller's lock).
    Running,
    /// Applied: its changes are in `listings`.
    Completed,
    /// Rejected or interrupted: it changed nothing.
    Failed,
    /// Applied, then undone by a rollback.
    RolledBack,
}

impl ImportState {
    pub const ALL: [ImportState; 4] = [
        ImportState::Completed,
        ImportState::Failed,
        ImportState::RolledBack,
        ImportState::Running,
    ];

    /// The word stored in the database and printed by `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Completed => "completed",
            ImportState::Failed => "failed",
            ImportState::RolledBack => "rolled_back",
        }
    }
}

impl std::fmt::Display for ImportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ImportState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ImportState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown import state {s:?}"))
    }
}

impl<'a> FromSql<'a> for ImportState {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(<&str as FromSql>::from_sql(ty, raw)?.parse()?)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}

impl ToSql for ImportState {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.as_str().to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// One import's row in the history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportSummary {
    pub id: i64,
    pub seller_id: String,
    pub file_name: String,
    pub file_sha256: Option<String>,
    pub file_size: Option<i64>,
    pub profile: String,
    pub options: serde_json::Value,
    pub status: ImportState,
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
    fn from_row(r: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            seller_id: r.try_get("seller_id")?,
            file_name: r.try_get("file_name")?,
            file_sha256: r.try_get("file_sha256")?,
            file_size: r.try_get("file_size")?,
            profile: r.try_get("profile")?,
            options: r.try_get("options")?,
            status: r.try_get("status")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            actor: r.try_get("actor")?,
            db_role: r.try_get("db_role")?,
            os_user: r.try_get("os_user")?,
            client_addr: r.try_get("client_addr")?,
            rows_read: r.try_get("rows_read")?,
            created: r.try_get("created")?,
            updated: r.try_get("updated")?,
            unchanged: r.try_get("unchanged")?,
            rejected: r.try_get("rejected")?,
            ignored_rows: r.try_get("ignored_rows")?,
            unknown_columns: r.try_get("unknown_columns")?,
            error_summary: r.try_get("error_summary")?,
            errors: r.try_get("errors")?,
            rolled_back_at: r.try_get("rolled_back_at")?,
            rolled_back_by: r.try_get("rolled_back_by")?,
            rollback_restored: r.try_get("rollback_restored")?,
            rollback_deleted: r.try_get("rollback_deleted")?,
            rollback_skipped: r.try_get("rollback_skipped")?,
            pruned_at: r.try_get("pruned_at")?,
        })
    }

    pub fn duration_seconds(&self) -> Option<f64> {
        self.finished_at
            .map(|f| (f - self.started_at).num_milliseconds() as f64 / 1000.0)
    }
}

/// Which imports [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub seller: Option<String>,
    pub status: Option<ImportState>,
    pub file_contains: Option<String>,
    /// Only imports started at this moment or later.
    pub since: Option<DateTime<Utc>>,
    /// Only imports that touched the listing with this SKU (created or
    /// updated it), as their change log still says: a pruned import's log
    /// is gone, so it no longer matches.
    pub touched_sku: Option<String>,
    /// Keyset pagination: only imports with a smaller id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The columns [`ImportSummary`] is read from (by name).
const IMPORT_COLUMNS: &str =
    "id, seller_id, file_name, file_sha256, file_size, profile, options, status,
     started_at, finished_at, actor, db_role, os_user, client_addr,
     rows_read, created, updated, unchanged, rejected, ignored_rows, unknown_columns,
     error_summary, errors, rolled_back_at, rolled_back_by,
     rollback_restored, rollback_deleted, rollback_skipped, pruned_at";

fn list_sql() -> String {
    format!(
        "SELECT {IMPORT_COLUMNS} FROM import_audit.imports
          WHERE ($1::text IS NULL OR seller_id = $1)
            AND ($2::text IS NULL OR status = $2)
            AND ($3::text IS NULL OR strpos(lower(file_name), lower($3)) > 0)
            AND ($4::bigint IS NULL OR id < $4)
            AND ($6::timestamptz IS NULL OR started_at >= $6)
            AND ($7::text IS NULL OR EXISTS (
                SELECT 1 FROM import_audit.log_listings l
                 WHERE l.audit_import_id = imports.id AND l.audit_image = 'N'
                   AND l.audit_op IN ('I', 'U')
                   AND l.seller_id = imports.seller_id AND l.sku = $7))
          ORDER BY id DESC
          LIMIT $5"
    )
}

fn by_id_sql() -> String {
    format!("SELECT {IMPORT_COLUMNS} FROM import_audit.imports WHERE id = $1")
}

/// Sellers that have an import marked `running` (candidates for crash recovery).
const SELLERS_WITH_RUNNING: &str =
    "SELECT DISTINCT seller_id FROM import_audit.imports WHERE status = 'running'";

/// Marks a seller's `running` imports failed; only called while holding the
/// seller's lock, which proves no process is still working on them.
const FAIL_ABANDONED: &str = "SELECT import_audit.fail_abandoned($1) AS id";

/// Newest first.
pub async fn list(conn: &impl Conn, filter: &HistoryFilter) -> Result<Vec<ImportSummary>> {
    let rows = conn
        .pg()
        .query(
            &list_sql(),
            &[
                &filter.seller,
                &filter.status,
                &filter.file_contains,
                &filter.before_id,
                &filter.limit,
                &filter.since,
                &filter.touched_sku,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(ImportSummary::from_row)
        .collect::<Result<_, _>>()?)
}

pub async fn get(conn: &impl Conn, id: i64) -> Result<Option<ImportSummary>> {
    let row = conn.pg().query_opt(&by_id_sql(), &[&id]).await?;
    Ok(row.as_ref().map(ImportSummary::from_row).transpose()?)
}

pub async fn sellers_with_running(conn: &impl Conn) -> Result<Vec<String>> {
    let rows = conn.pg().query(SELLERS_WITH_RUNNING, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("seller_id"))
        .collect::<Result<_, _>>()?)
}

/// Marks the seller's `running` imports failed (the caller holds the
/// seller's lock); returns their ids.
pub async fn fail_abandoned(conn: &impl Conn, seller: &str) -> Result<Vec<i64>> {
    let rows = conn.pg().query(FAIL_ABANDONED, &[&seller]).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?)
}
