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
