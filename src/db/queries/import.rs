//! SQL of the import: history row, staging table, COPY, duplicate check and
//! the set-based merge into `listings`.

/// Data columns of `listings` an import can write, in staging/COPY order
/// (after `line` and `sku`).
pub const DATA_COLUMNS: [&str; 10] = [
    "title",
    "description",
    "price",
    "currency",
    "quantity",
    "status",
    "condition",
    "category",
    "listing_number",
    "end_date",
];

/// Records the import as `running` (checks the caller may act for the seller).
pub const INSERT_IMPORT: &str = "SELECT import_audit.begin_import($1, $2, $3, $4, $5, $6, $7, $8)";

/// Ties the import to this transaction and tags it: the triggers trust the
/// tag only here.
pub const ATTACH_TRANSACTION: &str = "SELECT import_audit.attach_import($1, $2)";

pub const CREATE_STAGING: &str = "CREATE TEMP TABLE import_staging (
        line           bigint NOT NULL,
        sku            text   NOT NULL,
        title          text,
        description    text,
        price          numeric,
        currency       text,
        quantity       integer,
        status         text,
        condition      text,
        category       text,
        listing_number text,
        end_date       timestamptz
     ) ON COMMIT DROP";

pub const COPY_STAGING: &str =
    "COPY import_staging (line, sku, title, description, price, currency, quantity,
        status, condition, category, listing_number, end_date) FROM STDIN";

/// Temp tables are never auto-analysed; the merge's join plan needs counts.
pub const ANALYZE_STAGING: &str = "ANALYZE import_staging (sku)";

/// Keys that appear on more than one line: (sku, lines), first $1 of them.
pub const DUPLICATE_KEYS: &str = "SELECT sku, array_agg(line ORDER BY line) AS lines
       FROM import_staging
      GROUP BY sku HAVING count(*) > 1
      ORDER BY min(line)
      LIMIT $1";

pub const COUNT_DUPLICATE_ROWS: &str = "SELECT coalesce(sum(n), 0)::bigint FROM (
        SELECT count(*) AS n FROM import_staging GROUP BY sku HAVING count(*) > 1) d";

/// Lines of all duplicated keys (for --skip-invalid: every copy is rejected).
pub const DUPLICATE_LINES: &str = "SELECT s.line, s.sku, d.lines FROM import_staging s
       JOIN (SELECT sku, array_agg(line ORDER BY line) AS lines FROM import_staging
              GROUP BY sku HAVING count(*) > 1) d USING (sku)
      ORDER BY s.line";

pub const DELETE_DUPLICATES: &str = "DELETE FROM import_staging WHERE sku IN (
        SELECT sku FROM import_staging GROUP BY sku HAVING count(*) > 1)";

pub const COUNT_STAGED: &str = "SELECT count(*) FROM import_staging";

/// An empty status or currency keeps the current one on update (status is
/// NOT NULL and means `active` for a new listing; a currency may come from a
/// price symbol on some rows only).
fn staged_value(column: &str) -> String {
    if column == "status" || column == "currency" {
        format!("coalesce(s.{column}, l.{column})")
    } else {
        format!("s.{column}")
    }
}

/// Updates listings whose provided columns really change; returns one row per
/// updated listing (counted by the caller). `$1` is the seller.
pub fn update_changed(columns: &[&str]) -> String {
    let set: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = {}", staged_value(c)))
        .collect();
    let current: Vec<String> = columns.iter().map(|c| format!("l.{c}")).collect();
    let staged: Vec<String> = columns.iter().map(|c| staged_value(c)).collect();
    format!(
        "WITH changed AS (
            UPDATE listings l SET {}, updated_at = now()
              FROM import_staging s
             WHERE l.seller_id = $1 AND l.sku = s.sku
               AND ({}) IS DISTINCT FROM ({})
            RETURNING 1)
         SELECT count(*) FROM changed",
        set.join(", "),
        current.join(", "),
        staged.join(", ")
    )
}

/// True when `listings` has no pages at all. Then the planner (rightly)
/// estimates it empty and may pick a nested loop whose inner side
/// sequentially scans `listings` for every staged row: harmless for an empty
/// table, but the INSERT below fills that very table as it runs, so each scan
/// reads every row inserted so far (quadratic: minutes for 200,000 rows,
/// reproduced after a rollback emptied the table and autovacuum truncated it).
pub const LISTINGS_HAS_NO_PAGES: &str = "SELECT pg_relation_size('public.listings') = 0";
/// For the insert into an empty table: no nested loop (nothing to probe).
pub const NO_NESTED_LOOPS: &str = "SET LOCAL enable_nestloop = off";
pub const DEFAULT_NESTED_LOOPS: &str = "RESET enable_nestloop";

/// Inserts the staged keys the seller does not have yet.
pub fn insert_new(columns: &[&str]) -> String {
    let values: Vec<String> = columns
        .iter()
        .map(|c| {
            if *c == "status" {
                "coalesce(s.status, 'active')".to_string()
            } else {
                format!("s.{c}")
            }
        })
        .collect();
    let list = if columns.is_empty() {
        String::new()
    } else {
        format!(", {}", columns.join(", "))
    };
    let vals = if values.is_empty() {
        String::new()
    } else {
        format!(", {}", values.join(", "))
    };
    format!(
        "WITH created AS (
            INSERT INTO listings (seller_id, sku{list})
            SELECT $1, s.sku{vals}
              FROM import_staging s
             WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.seller_id = $1 AND l.sku = s.sku)
            RETURNING 1)
         SELECT count(*) FROM created"
    )
}

/// What an update would change, field by field (dry run): (sku, {field: [old, new]}).
pub fn preview_changes(columns: &[&str]) -> String {
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| {
            let staged = staged_value(c);
            format!(
                "'{c}', CASE WHEN l.{c} IS DISTINCT FROM {staged} \
                 THEN jsonb_build_array(l.{c}::text, ({staged})::text) END"
            )
        })
        .collect();
    let current: Vec<String> = columns.iter().map(|c| format!("l.{c}")).collect();
    let staged: Vec<String> = columns.iter().map(|c| staged_value(c)).collect();
    format!(
        "SELECT s.sku, jsonb_strip_nulls(jsonb_build_object({}))
           FROM import_staging s
           JOIN listings l ON l.seller_id = $1 AND l.sku = s.sku
          WHERE ({}) IS DISTINCT FROM ({})
          ORDER BY s.sku
          LIMIT $2",
        pairs.join(", "),
        current.join(", "),
        staged.join(", ")
    )
}

pub const COMPLETE_IMPORT: &str =
    "SELECT import_audit.complete_import($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub const FAIL_IMPORT: &str = "SELECT import_audit.fail_import($1, $2, $3, $4, $5, $6, $7, $8)";

/// The running import of a seller, to name it when the seller's lock is taken.
pub const RUNNING_FOR_SELLER: &str = "SELECT id, actor, started_at FROM import_audit.imports
      WHERE seller_id = $1 AND status = 'running' ORDER BY id DESC LIMIT 1";

/// Analyses the change log when this transaction wrote a large share of it
/// (migrations/V6__log_statistics.sql). `$1` rows written to the log.
pub const REFRESH_LOG_STATISTICS: &str = "SELECT import_audit.refresh_log_statistics($1)";
