//! SQL of the import: the history row, the staging table and its COPY, the
//! duplicate check, and the set-based merge into `listings`.

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Context, Result};
use futures_util::SinkExt;
use serde::Serialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::listing::{self, Field};
use crate::db::{Conn, Transaction};

/// An import's counts. Rows read = created + updated + unchanged + rejected.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Listing records read (every data record except ignored non-listing rows).
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Rows that are not listings by the profile's rules (Shopify image rows...).
    pub ignored: u64,
}

/// What the history row says about an import when it starts.
pub struct NewImport<'a> {
    pub seller: &'a str,
    pub file_name: &'a str,
    pub file_size: Option<i64>,
    pub profile: &'a str,
    pub options: serde_json::Value,
    pub actor: &'a str,
    pub os_user: &'a str,
    pub client_addr: Option<&'a str>,
}

/// What the history row records when an import ends, completed or failed.
pub struct ImportReport<'a> {
    pub sha256: Option<&'a str>,
    pub counts: Counts,
    pub unknown_columns: &'a [String],
    /// The kept row errors, as JSON.
    pub errors: serde_json::Value,
    pub error_summary: Option<&'a str>,
}

/// The import running for a seller, to name it when the seller's lock is taken.
#[derive(Debug, Clone)]
pub struct RunningImport {
    pub id: i64,
    pub actor: String,
    pub started_at: DateTime<Utc>,
}

/// A key that appears on more than one line: one entry per line.
pub struct DuplicateLine {
    pub line: i64,
    pub sku: String,
    /// Every line the key is on, this one included.
    pub lines: Vec<i64>,
}

/// A listing an import would update, with its changed fields as [old, new].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldChanges {
    pub sku: String,
    pub changes: serde_json::Value,
}

/// Records the import as `running` (checks the caller may act for the seller).
const BEGIN_IMPORT: &str = "SELECT import_audit.begin_import($1, $2, $3, $4, $5, $6, $7, $8) AS id";

/// Ties the import to this transaction and tags it: the triggers trust the
/// tag only here.
const ATTACH_TRANSACTION: &str = "SELECT import_audit.attach_import($1, $2)";

/// Temp tables are never auto-analysed; the merge's join plan needs counts.
/// The keys are (nearly) all distinct, which a sample of 3,000 rows shows as
/// well as the default 30,000: at the default the `ANALYZE` read most of a
/// 1M-row staging table's pages (0.29-0.45 s), at 10 about a tenth (36 ms).
const ANALYZE_STAGING: &str = "ALTER TABLE import_staging ALTER COLUMN sku SET STATISTICS 10;
     ANALYZE import_staging (sku)";

const COUNT_DUPLICATE_ROWS: &str = "SELECT coalesce(sum(n), 0)::bigint AS rows FROM (
        SELECT count(*) AS n FROM import_staging GROUP BY sku HAVING count(*) > 1) d";

/// Lines of all duplicated keys (for --skip-invalid: every copy is rejected).
const DUPLICATE_LINES: &str = "SELECT s.line, s.sku, d.lines FROM import_staging s
       JOIN (SELECT sku, array_agg(line ORDER BY line) AS lines FROM import_staging
              GROUP BY sku HAVING count(*) > 1) d USING (sku)
      ORDER BY s.line";

const DELETE_DUPLICATES: &str = "DELETE FROM import_staging WHERE sku IN (
        SELECT sku FROM import_staging GROUP BY sku HAVING count(*) > 1)";

/// The value an update writes: the staged one, or for a field whose empty
/// value keeps the current one, that.
fn staged_value(field: Field) -> String {
    let c = field.name();
    if field.spec().empty_keeps_current {
        format!("coalesce(s.{c}, l.{c})")
    } else {
        format!("s.{c}")
    }
}

/// `(l.a, l.b) IS DISTINCT FROM (s.a, s.b)`: the listing really changes.
pub(super) fn changes_condition(fields: &[Field]) -> String {
    let current: Vec<String> = fields.iter().map(|f| format!("l.{}", f.name())).collect();
    let staged: Vec<String> = fields.iter().map(|f| staged_value(*f)).collect();
    format!(
        "({}) IS DISTINCT FROM ({})",
        current.join(", "),
        staged.join(", ")
    )
}

/// How many keys a statement touched (`rows`) and an order-independent hash
/// of them (`keys_hash`, the sum of their 64-bit hashes): with the counts,
/// what an import's plan fingerprint compares. `FROM` rows with a `sku`.
pub(super) const TOUCHED_KEYS: &str =
    "count(*) AS rows, coalesce(sum(hashtextextended(sku, 0)::numeric), 0)::text AS keys_hash";

/// What a merge statement did: how many listings, and which (hashed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub rows: i64,
    pub keys_hash: String,
}

/// True when `listings` has no pages at all. Then the planner (rightly)
/// estimates it empty and may pick a nested loop whose inner side
/// sequentially scans `listings` for every staged row: harmless for an empty
/// table, but the merge below fills that very table as it runs, so each scan
/// reads every row inserted so far (quadratic: minutes for 200,000 rows,
/// reproduced after a rollback emptied the table and autovacuum truncated it).
const LISTINGS_HAS_NO_PAGES: &str = "SELECT pg_relation_size('public.listings') = 0 AS empty";
/// For the merge into an empty table: no nested loop (nothing to probe).
const NO_NESTED_LOOPS: &str = "SET LOCAL enable_nestloop = off";
const DEFAULT_NESTED_LOOPS: &str = "RESET enable_nestloop";

/// Updates the listings whose provided columns really change and inserts
/// the staged keys the seller does not have yet, in one join of the staging
/// table with the seller's listings. `$1` is the seller. (PostgreSQL 15's
/// MERGE has no RETURNING: what it did is read from the change log,
/// [`IMPORT_CHANGES`].)
fn merge_sql(fields: &[Field]) -> String {
    let list: String = fields.iter().map(|f| format!(", {}", f.name())).collect();
    let values: String = fields
        .iter()
        .map(|f| match f.spec().default_on_insert {
            Some(default) => format!(", coalesce(s.{}, {default})", f.name()),
            None => format!(", s.{}", f.name()),
        })
        .collect();
    let update = if fields.is_empty() {
        String::new()
    } else {
        let set: Vec<String> = fields
            .iter()
            .map(|f| format!("{} = {}", f.name(), staged_value(*f)))
            .collect();
        format!(
            "WHEN MATCHED AND {} THEN UPDATE SET {}, updated_at = now()\n",
            changes_condition(fields),
            set.join(", ")
        )
    };
    format!(
        "MERGE INTO listings l USING import_staging s ON l.seller_id = $1 AND l.sku = s.sku
         {update}WHEN NOT MATCHED THEN INSERT (seller_id, sku{list}) VALUES ($1, s.sku{values})"
    )
}

/// What this transaction's merge created and updated, as the capture
/// trigger logged it under import `$1` (migrations/V13__import_merge.sql):
/// the columns of [`count_changes_sql`].
const IMPORT_CHANGES: &str =
    "SELECT created, created_keys, updated, updated_keys FROM import_audit.import_changes($1)";

/// What the merge would do, without doing it (dry run): staged keys the
/// seller does not have (created) and listings whose provided columns would
/// really change (updated), and the staged rows (`ctid`s, as text) of the
/// first `$2` of those in key order (the preview's). One join, no writes.
/// `$1` is the seller. The subquery compares each row once (`OFFSET 0`
/// keeps the planner from pulling it up and repeating the comparison in
/// every aggregate that reads it); the key hashes are summed as bigint
/// (the sum is a numeric, the same text as [`TOUCHED_KEYS`]'s, which the
/// plan fingerprint compares).
fn count_changes_sql(fields: &[Field]) -> String {
    let changed = if fields.is_empty() {
        "false".to_string()
    } else {
        changes_condition(fields)
    };
    format!(
        "SELECT count(*) FILTER (WHERE c.created) AS created,
                coalesce(sum(c.key_hash) FILTER (WHERE c.created), 0)::text AS created_keys,
                count(*) FILTER (WHERE c.updated) AS updated,
                coalesce(sum(c.key_hash) FILTER (WHERE c.updated), 0)::text AS updated_keys,
                coalesce((array_agg(c.row_id ORDER BY c.sku) FILTER (WHERE c.updated))[:$2::int], '{{}}')
                    AS first_updated
           FROM (SELECT s.sku, s.ctid::text AS row_id, hashtextextended(s.sku, 0) AS key_hash,
                        l.sku IS NULL AS created,
                        l.sku IS NOT NULL AND {changed} AS updated
                   FROM import_staging s
                   LEFT JOIN listings l ON l.seller_id = $1 AND l.sku = s.sku
                 OFFSET 0) c"
    )
}

/// What an update would change, field by field (dry run), for the staged
/// rows `$2` (`ctid`s) that [`count_changes_sql`] found changing: (sku,
/// {field: [old, new]}). Those rows are read by their `ctid` (a TID scan:
/// the staging table has no index, and filtering its keys scanned all of it,
/// 0.3 s at 1M rows), each listing then found by its primary key. The
/// `ctid`s hold: nothing changes the staging table between the two
/// statements, in one transaction no other session sees.
///
/// The listing is a lateral subquery kept apart by `OFFSET 0`, so it can
/// only be probed once per staged row: left to join freely, the planner
/// started from the seller's listings when `listings`' statistics predated
/// them (another seller's listings analysed, then rolled back) and ran the
/// TID scan once per listing: 21-43 s for a 1M-listing seller's dry run
/// instead of a few milliseconds (docs/performance.md, 2026-12-01 late night).
fn preview_changes_sql(fields: &[Field]) -> String {
    format!(
        "SELECT s.sku, {} AS changes
           FROM import_staging s
          CROSS JOIN LATERAL (SELECT * FROM listings l
                               WHERE l.seller_id = $1 AND l.sku = s.sku OFFSET 0) l
          WHERE s.ctid = ANY($2::text[]::tid[])
            AND {}
          ORDER BY s.sku",
        diff_object(fields),
        changes_condition(fields)
    )
}

/// `{field: [old, new]}` of a staged row `s` against its listing `l`, for
/// the fields that change.
pub(super) fn diff_object(fields: &[Field]) -> String {
    let pairs: Vec<String> = fields
        .iter()
        .map(|f| {
            let c = f.name();
            let staged = staged_value(*f);
            format!(
                "'{c}', CASE WHEN l.{c} IS DISTINCT FROM {staged} \
                 THEN jsonb_build_array(l.{c}::text, ({staged})::text) END"
            )
        })
        .collect();
    format!(
        "jsonb_strip_nulls(jsonb_build_object({}))",
        pairs.join(", ")
    )
}

const COMPLETE_IMPORT: &str =
    "SELECT import_audit.complete_import($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const FAIL_IMPORT: &str = "SELECT import_audit.fail_import($1, $2, $3, $4, $5, $6, $7, $8)";

const RUNNING_FOR_SELLER: &str = "SELECT id, actor, started_at FROM import_audit.imports
      WHERE seller_id = $1 AND status = 'running' ORDER BY id DESC LIMIT 1";

/// Analyses the change log when this transaction wrote a large share of it
/// (migrations/V6__log_statistics.sql). `$1` rows written to the log.
const REFRESH_LOG_STATISTICS: &str = "SELECT import_audit.refresh_log_statistics($1)";

pub async fn running_for_seller(conn: &impl Conn, seller: &str) -> Result<Option<RunningImport>> {
    let Some(r) = conn.pg().query_opt(RUNNING_FOR_SELLER, &[&seller]).await? else {
        return Ok(None);
    };
    Ok(Some(RunningImport {
        id: r.try_get("id")?,
        actor: r.try_get("actor")?,
        started_at: r.try_get("started_at")?,
    }))
}

/// Inserts the history row as `running`; returns the import's id.
pub async fn begin(conn: &impl Conn, new: &NewImport<'_>) -> Result<i64> {
    let row = conn
        .pg()
        .query_one(
            BEGIN_IMPORT,
            &[
                &new.seller,
                &new.file_name,
                &new.file_size,
                &new.profile,
                &new.options,
                &new.actor,
                &new.os_user,
                &new.client_addr,
            ],
        )
        .await
        .wrap_err("cannot record the import in the history")?;
    Ok(row.try_get("id")?)
}

/// Memory for the import's joins and the capture's transition tables, in
/// this transaction only (the server's setting is untouched): at the
/// default 4 MB the merge's hash join of a 300,000-row re-import ran in 16
/// batches through temporary files, and its UPDATE took 4.9 s of CPU
/// instead of 2.6 s.
pub const WORK_MEM: &str = "SET LOCAL work_mem = '64MB'";

/// Ties the import to `tx` (the capture triggers tag its rows with it).
pub async fn attach(tx: &Transaction<'_>, import_id: Option<i64>, actor: &str) -> Result<()> {
    tx.pg().batch_execute(WORK_MEM).await?;
    if let Some(id) = import_id {
        tx.pg().query(ATTACH_TRANSACTION, &[&id, &actor]).await?;
    }
    Ok(())
}

/// Creates the staging table in `tx`.
pub async fn create_staging(tx: &Transaction<'_>) -> Result<()> {
    tx.pg().batch_execute(&listing::create_staging()).await?;
    Ok(())
}

/// A COPY in progress (into the staging table, or straight into
/// `listings`); dropped before [`RowCopy::finish`], it is aborted.
pub struct RowCopy {
    sink: std::pin::Pin<Box<tokio_postgres::CopyInSink<bytes::Bytes>>>,
    /// Run once the rows are in (the staging table's statistics).
    then: Option<&'static str>,
}

impl RowCopy {
    pub(super) async fn start(
        tx: &Transaction<'_>,
        copy: &str,
        then: Option<&'static str>,
    ) -> Result<Self> {
        let sink = tx.inner().copy_in(copy).await?;
        Ok(Self {
            sink: Box::pin(sink),
            then,
        })
    }
}

pub async fn copy_into_staging(tx: &Transaction<'_>) -> Result<RowCopy> {
    RowCopy::start(tx, &listing::copy_staging(), Some(ANALYZE_STAGING)).await
}

impl RowCopy {
    /// Sends COPY text rows (see `domain::import::copy_text`).
    pub async fn send(&mut self, rows: String) -> Result<()> {
        self.sink
            .send(bytes::Bytes::from(rows))
            .await
            .wrap_err("sending rows to PostgreSQL failed")
    }

    /// Ends the COPY (and analyses the staging table); returns the rows copied.
    pub async fn finish(mut self, tx: &Transaction<'_>) -> Result<u64> {
        let rows = self
            .sink
            .as_mut()
            .finish()
            .await
            .wrap_err("loading rows into PostgreSQL failed")?;
        if let Some(sql) = self.then {
            tx.pg().batch_execute(sql).await?;
        }
        Ok(rows)
    }
}

async fn count(
    conn: &impl Conn,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<i64> {
    Ok(conn.pg().query_one(sql, params).await?.try_get("rows")?)
}

/// Staged rows whose key is on more than one line.
pub async fn count_duplicate_rows(tx: &Transaction<'_>) -> Result<i64> {
    count(tx, COUNT_DUPLICATE_ROWS, &[]).await
}

pub async fn duplicate_lines(tx: &Transaction<'_>) -> Result<Vec<DuplicateLine>> {
    let rows = tx.pg().query(DUPLICATE_LINES, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(DuplicateLine {
                line: r.try_get("line")?,
                sku: r.try_get("sku")?,
                lines: r.try_get("lines")?,
            })
        })
        .collect()
}

/// Removes every staged copy of a duplicated key (`--skip-invalid`);
/// returns how many rows.
pub async fn delete_duplicates(tx: &Transaction<'_>) -> Result<u64> {
    Ok(tx.pg().execute(DELETE_DUPLICATES, &[]).await?)
}

/// The listings of the staged rows `row_ids` (found by [`count_changes`]) the
/// merge would update, field by field.
pub async fn preview_changes(
    tx: &Transaction<'_>,
    seller: &str,
    fields: &[Field],
    row_ids: &[String],
) -> Result<Vec<FieldChanges>> {
    if row_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .pg()
        .query(&preview_changes_sql(fields), &[&seller, &row_ids])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FieldChanges {
                sku: r.try_get("sku")?,
                changes: r.try_get("changes")?,
            })
        })
        .collect()
}

/// Runs a statement selecting [`TOUCHED_KEYS`].
pub(super) async fn touched(conn: &impl Conn, sql: &str, seller: &str) -> Result<Touched> {
    let row = conn.pg().query_one(sql, &[&seller]).await?;
    Ok(Touched {
        rows: row.try_get("rows")?,
        keys_hash: row.try_get("keys_hash")?,
    })
}

/// What the merge would create and update (dry run), without writing: the
/// same counts and key hashes as [`merge`]; and the staged rows of the
/// first `first` keys it would update (for [`preview_changes`]).
pub async fn count_changes(
    tx: &Transaction<'_>,
    seller: &str,
    fields: &[Field],
    first: i32,
) -> Result<(Touched, Touched, Vec<String>)> {
    let r = tx
        .pg()
        .query_one(&count_changes_sql(fields), &[&seller, &first])
        .await?;
    let (created, updated) = created_and_updated(&r)?;
    Ok((created, updated, r.try_get("first_updated")?))
}

/// (created, updated) from a row of [`count_changes_sql`]'s columns.
fn created_and_updated(r: &tokio_postgres::Row) -> Result<(Touched, Touched)> {
    Ok((
        Touched {
            rows: r.try_get("created")?,
            keys_hash: r.try_get("created_keys")?,
        },
        Touched {
            rows: r.try_get("updated")?,
            keys_hash: r.try_get("updated_keys")?,
        },
    ))
}

/// Merges the staging table into the seller's listings (import
/// `import_id`, attached to `tx`); returns what it created and updated.
pub async fn merge(
    tx: &Transaction<'_>,
    import_id: i64,
    seller: &str,
    fields: &[Field],
) -> Result<(Touched, Touched)> {
    let empty_table: bool = tx
        .pg()
        .query_one(LISTINGS_HAS_NO_PAGES, &[])
        .await?
        .try_get("empty")?;
    if empty_table {
        tx.pg().batch_execute(NO_NESTED_LOOPS).await?;
    }
    tx.pg().execute(&merge_sql(fields), &[&seller]).await?;
    if empty_table {
        tx.pg().batch_execute(DEFAULT_NESTED_LOOPS).await?;
    }
    let r = tx.pg().query_one(IMPORT_CHANGES, &[&import_id]).await?;
    created_and_updated(&r)
}

/// Analyses the change log when this transaction wrote `rows` to it and
/// that is a large share of it.
pub async fn refresh_log_statistics(tx: &Transaction<'_>, rows: i64) -> Result<()> {
    tx.pg().query_one(REFRESH_LOG_STATISTICS, &[&rows]).await?;
    Ok(())
}

/// Marks the import `completed` with its report, in the import's transaction.
pub async fn complete(tx: &Transaction<'_>, id: i64, report: &ImportReport<'_>) -> Result<()> {
    write_report(tx, COMPLETE_IMPORT, id, report, true).await
}

/// Marks the import `failed` with its report (outside the import's
/// transaction, which rolled back).
pub async fn fail(conn: &impl Conn, id: i64, report: &ImportReport<'_>) -> Result<()> {
    write_report(conn, FAIL_IMPORT, id, report, false).await
}

/// Runs `sql` (`complete_import` or `fail_import`) with the report; only an
/// applied import has created, updated and unchanged counts.
async fn write_report(
    conn: &impl Conn,
    sql: &str,
    id: i64,
    report: &ImportReport<'_>,
    applied: bool,
) -> Result<()> {
    let c = &report.counts;
    let [rows, created, updated, unchanged, rejected, ignored] = [
        c.rows_read,
        c.created,
        c.updated,
        c.unchanged,
        c.rejected,
        c.ignored,
    ]
    .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &report.sha256, &rows];
    if applied {
        params.extend([&created as &(dyn ToSql + Sync), &updated, &unchanged]);
    }
    params.extend([
        &rejected as &(dyn ToSql + Sync),
        &ignored,
        &report.unknown_columns,
        &report.errors,
        &report.error_summary,
    ]);
    conn.pg().query(sql, &params).await?;
    Ok(())
}
