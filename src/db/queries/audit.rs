//! The append-only audit log (`import_audit.audit_log`) and the pruning of
//! before-images.

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::GenericClient;
use tokio_postgres::Row;

use crate::db::{Conn, Pooled};

/// One entry of the audit log.
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

impl AuditEntry {
    fn from_row(r: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            db_role: r.try_get("db_role")?,
            action: r.try_get("action")?,
            seller_id: r.try_get("seller_id")?,
            import_id: r.try_get("import_id")?,
            details: r.try_get("details")?,
        })
    }
}

/// Appends through the checking function: the audit log is not writable directly.
pub(super) const APPEND: &str = "SELECT import_audit.append_audit($1, $2, $3, $4, $5)";

/// One import's entries, newest first (the rollback result with its skipped keys).
const FOR_IMPORT: &str = "SELECT id, at, actor, db_role, action, seller_id, import_id, details
       FROM import_audit.audit_log
      WHERE import_id = $1
      ORDER BY id DESC
      LIMIT $2";

/// Entries matching a filter, newest first (NULL means any): `$1` seller,
/// `$2` database role, `$3` since, `$4` until (exclusive), `$5` a listing's
/// SKU named in the details (single-listing restores), `$6` only ids below,
/// `$7` page size, `$8` text in the actor or the database role, `$9` one
/// import's entries, `$10` words that must each appear (any case) in the
/// action, actor, role, seller or details. Text is compared with `strpos`,
/// so `%` and `_` are plain characters. Row-level security decides which
/// rows the role sees at all (a seller role: its own seller's).
const LIST_FILTERED: &str = "SELECT id, at, actor, db_role, action, seller_id, import_id, details
       FROM import_audit.audit_log
      WHERE ($1::text IS NULL OR seller_id = $1)
        AND ($2::text IS NULL OR db_role = $2)
        AND ($3::timestamptz IS NULL OR at >= $3)
        AND ($4::timestamptz IS NULL OR at < $4)
        AND ($5::text IS NULL OR details->>'sku' = $5)
        AND ($6::bigint IS NULL OR id < $6)
        AND ($8::text IS NULL OR strpos(lower(actor || ' ' || db_role), lower($8)) > 0)
        AND ($9::bigint IS NULL OR import_id = $9)
        AND NOT EXISTS (
            SELECT 1 FROM unnest($10::text[]) AS w(word)
             WHERE strpos(lower(concat_ws(' ', action, actor, db_role, seller_id, details::text)),
                          lower(w.word)) = 0)
      ORDER BY id DESC
      LIMIT $7";

/// Deletes before-images no rollback can use any more (support only; see
/// migrations/V5__audit_prune.sql). `$1` completed-before cut-off or NULL,
/// `$2` actor. Returns a JSON summary.
const PRUNE: &str = "SELECT import_audit.prune($1, $2) AS summary";

/// Rolled-back imports that still hold change-log rows (migration V8): the
/// ones a prune really deletes something for.
const PRUNABLE_ROLLED_BACK: &str = "SELECT import_audit.prunable_rolled_back() AS ids";

/// Appends one entry on `conn` (inside its transaction, if it is one).
pub async fn append(
    conn: &impl Conn,
    actor: &str,
    action: &str,
    seller_id: Option<&str>,
    import_id: Option<i64>,
    details: serde_json::Value,
) -> Result<()> {
    conn.pg()
        .execute(APPEND, &[&actor, &action, &seller_id, &import_id, &details])
        .await?;
    Ok(())
}

fn entries(rows: &[Row]) -> Result<Vec<AuditEntry>> {
    Ok(rows
        .iter()
        .map(AuditEntry::from_row)
        .collect::<Result<_, _>>()?)
}

/// What `list_filtered` selects; `None` means any.
pub struct EntryQuery<'a> {
    pub seller: Option<&'a str>,
    pub role: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub sku: Option<&'a str>,
    /// Text in the actor or the database role (any case).
    pub actor: Option<&'a str>,
    /// One import's entries.
    pub import_id: Option<i64>,
    /// Each must appear somewhere in the entry (any case).
    pub words: &'a [String],
    /// Keyset pagination: only entries with a smaller id.
    pub before: Option<i64>,
    pub limit: i64,
}

pub async fn list_filtered(conn: &impl Conn, q: &EntryQuery<'_>) -> Result<Vec<AuditEntry>> {
    entries(
        &conn
            .pg()
            .query(
                LIST_FILTERED,
                &[
                    &q.seller,
                    &q.role,
                    &q.since,
                    &q.until,
                    &q.sku,
                    &q.before,
                    &q.limit,
                    &q.actor,
                    &q.import_id,
                    &q.words,
                ],
            )
            .await?,
    )
}

pub async fn for_import(conn: &impl Conn, import_id: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    entries(&conn.pg().query(FOR_IMPORT, &[&import_id, &limit]).await?)
}

/// Runs the database's prune in one transaction, committed, or rolled back
/// for a dry run; returns its JSON summary.
pub async fn prune(
    conn: &mut Pooled,
    completed_before: Option<DateTime<Utc>>,
    actor: &str,
    dry_run: bool,
) -> Result<serde_json::Value> {
    let tx = conn.transaction().await?;
    let holding: Vec<i64> = tx
        .query_one(PRUNABLE_ROLLED_BACK, &[])
        .await?
        .try_get("ids")?;
    let mut summary: serde_json::Value = tx
        .query_one(PRUNE, &[&completed_before, &actor])
        .await?
        .try_get("summary")?;
    // Imports pruned before stay `rolled_back`: name only those whose rows
    // went now.
    if let Some(ids) = summary["rolled_back_imports"].as_array_mut() {
        ids.retain(|id| id.as_i64().is_some_and(|id| holding.contains(&id)));
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(summary)
}
