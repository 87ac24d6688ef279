//! The append-only audit log: who did what, when.

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::db::queries::audit as sql;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub db_role: String,
    pub action: String,
    pub seller_id: Option<String>,
    pub import_id: Option<i64>,
    pub details: serde_json::Value,
}

/// The actions importdesk records.
pub mod action {
    pub const IMPORT_STARTED: &str = "import started";
    pub const IMPORT_COMPLETED: &str = "import completed";
    pub const IMPORT_FAILED: &str = "import failed";
    pub const IMPORT_ABANDONED: &str = "import marked failed after a crash";
    pub const ROLLBACK_PREVIEWED: &str = "rollback previewed";
    pub const ROLLBACK_EXECUTED: &str = "rollback executed";
    pub const ROLLBACK_REFUSED: &str = "rollback refused";
    /// Written by the database's prune function.
    pub const BEFORE_IMAGES_PRUNED: &str = "before-images pruned";
}

pub async fn append(
    client: &impl GenericClient,
    actor: &str,
    action: &str,
    seller_id: Option<&str>,
    import_id: Option<i64>,
    details: serde_json::Value,
) -> Result<()> {
    client
        .execute(
            sql::APPEND,
            &[&actor, &action, &seller_id, &import_id, &details],
        )
        .await?;
    Ok(())
}

/// What `prune` deleted (or, on a dry run, would delete).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PruneOutcome {
    /// Imports already rolled back: their before-images and their
    /// rollback's rows are gone.
    pub rolled_back_imports: Vec<i64>,
    /// Completed imports that finished before the cut-off: they can no
    /// longer be rolled back.
    pub retired_imports: Vec<i64>,
    pub import_rows_deleted: i64,
    pub manual_edit_rows_deleted: i64,
    pub dry_run: bool,
}

/// Deletes change-log rows that no rollback can use any more, in one
/// transaction (the database function decides what; the audit log is never
/// touched). With `completed_before`, completed imports that finished
/// before it are retired too. A dry run does the same and rolls back.
pub async fn prune(
    db: &crate::db::Database,
    completed_before: Option<DateTime<Utc>>,
    actor: &str,
    dry_run: bool,
) -> Result<PruneOutcome> {
    let mut client = db.client().await?;
    // The database refuses anyway (EXECUTE is granted to support only); this
    // says why in words.
    let who = crate::domain::identity::current(&**client).await?;
    if !who.support {
        color_eyre::eyre::bail!(
            "only support may prune before-images; you are {}",
            who.describe()
        );
    }
    let tx = client.transaction().await?;
    let row = tx.query_one(sql::PRUNE, &[&completed_before, &actor]).await;
    let row = crate::db::blocking::explain(db, None, row.map_err(Into::into)).await?;
    let mut summary: serde_json::Value = row.get(0);
    summary["dry_run"] = dry_run.into();
    let outcome: PruneOutcome = serde_json::from_value(summary)?;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Newest first; `before` pages back (keyset pagination on id).
pub async fn list(
    client: &impl GenericClient,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = client.query(sql::LIST, &[&before, &limit]).await?;
    Ok(rows.iter().map(entry).collect())
}

/// The entries about one import, newest first.
pub async fn for_import(
    client: &impl GenericClient,
    import_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = client.query(sql::FOR_IMPORT, &[&import_id, &limit]).await?;
    Ok(rows.iter().map(entry).collect())
}

fn entry(r: &tokio_postgres::Row) -> AuditEntry {
    AuditEntry {
        id: r.get(0),
        at: r.get(1),
        actor: r.get(2),
        db_role: r.get(3),
        action: r.get(4),
        seller_id: r.get(5),
        import_id: r.get(6),
        details: r.get(7),
    }
}
