//! The floors: the least SQL each step's guarantees need, with the capture
//! of SPEC §2 (every changed row logged by the database's statement-level
//! triggers), run by psql in the same cluster before importdesk's steps and
//! in the same state (listings and log empty before the first). A missed
//! target is then read against what the capture itself costs in the same
//! run, on the same machine, with the same load.
//!
//! The floors write the listings of a seller of their own, under two
//! import rows the bench writes itself and tags the statements with (as
//! importdesk does), so the capture logs them as an import's or a
//! rollback's rows and writes the same log indexes:
//! 1. `\copy` of `new.csv` straight into `listings`: the all-new import's
//!    floor (no staging, no comparison, no history);
//! 2. `changed.csv`'s trip to the server (as below) and one join counting
//!    the rows that differ from the listings: the floor of a dry run and of
//!    a re-import that changes nothing (both must at least compare);
//! 3. `changed.csv`'s trip to the server (a `\copy` into a temporary
//!    table: no index, no WAL) and one `UPDATE` of exactly the rows it
//!    changes, picked out beforehand: the re-import's floor, without the
//!    comparison that finds those rows;
//! 4. one `UPDATE` restoring those rows from their before-images in the log:
//!    the re-import's rollback floor (no check for hand edits);
//! 5. one `DELETE` of the seller's listings: the all-new import's rollback
//!    floor (no check for hand edits).
//!
//! Statistics are refreshed before each (untimed), so no floor pays for a
//! plan made on a table the planner still thinks empty. Afterwards the
//! floors' listings, log rows and import rows are removed and both tables
//! rewritten (`VACUUM FULL`), so importdesk's steps start as they would
//! without them.

use crate::child::{Bench, Run, copy_command};
use crate::report::Report;
use crate::{COLUMNS, DataFile, Result};

/// An import row for the floors' statements to be tagged with.
const NEW_IMPORT_ROW: &str = "INSERT INTO import_audit.imports (seller_id, file_name, profile, actor) \
     VALUES ('bench-floor', '{file}', 'native', 'bench: capture floor') RETURNING id";

/// The session settings importdesk's own import and rollback transactions
/// use (`src/db/queries/import.rs` `WORK_MEM`; a large restore's merge
/// joins, `src/db/queries/rollback/execute.rs`): a floor gets no worse plan
/// than the step it bounds.
const WORK_MEM: &str = "SET LOCAL work_mem = '64MB'";
const MERGE_JOINS_ONLY: &str =
    "SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off";

/// Makes the transaction the import's own, so the capture trusts its tag.
const TAG_AS_IMPORT: &str = "UPDATE import_audit.imports SET data_txid = pg_current_xact_id() WHERE id = {id}; \
     SELECT set_config('importdesk.import_id', '{id}', true)";

const TAG_AS_ROLLBACK: &str = "UPDATE import_audit.imports SET rollback_txid = pg_current_xact_id() WHERE id = {id}; \
     SELECT set_config('importdesk.rollback_of', '{id}', true)";

/// The file has no seller column: inside the `\copy`'s transaction only.
const SELLER_DEFAULT: &str =
    "ALTER TABLE listings ALTER COLUMN seller_id SET DEFAULT 'bench-floor'";
const NO_SELLER_DEFAULT: &str = "ALTER TABLE listings ALTER COLUMN seller_id DROP DEFAULT";

/// The rows of the changed file that differ from the first one (untimed).
const PICK_CHANGES: &str = "DROP TABLE IF EXISTS bench_floor_changes; \
     CREATE TABLE bench_floor_changes AS SELECT c.* FROM bench_copy_changed c JOIN bench_copy n ON n.sku = c.sku \
      WHERE ({old_fields}) IS DISTINCT FROM ({new_fields}); \
     ANALYZE bench_floor_changes";
const DROP_CHANGES: &str = "DROP TABLE bench_floor_changes";

/// The changed file on the server, the cheapest way SQL can read it.
const TRIP_TABLE: &str =
    "CREATE TEMP TABLE bench_trip ON COMMIT DROP AS SELECT * FROM listings WITH NO DATA";

/// The file's rows that are new or differ from the listings.
const COUNT_DIFFERENCES: &str = "SELECT count(*) FROM bench_trip t \
       LEFT JOIN listings l ON l.seller_id = 'bench-floor' AND l.sku = t.sku \
      WHERE l.sku IS NULL OR ({old_fields}) IS DISTINCT FROM ({trip_fields})";

/// Those rows written, once each.
const UPDATE_CHANGED: &str = "UPDATE listings l SET ({fields}, updated_at) = ({new_fields}, now()) \
     FROM bench_floor_changes c WHERE l.seller_id = 'bench-floor' AND l.sku = c.sku";

const ANALYZE_LISTINGS: &str = "ANALYZE listings";
const ANALYZE_LOG: &str = "ANALYZE import_audit.log_listings";

/// The rows an import updated, back to their before-images.
const RESTORE_BEFORE_IMAGES: &str = "UPDATE listings l SET ({fields}, updated_at) = ({log_fields}, o.updated_at) \
     FROM import_audit.log_listings o \
     WHERE o.audit_import_id = {id} AND o.audit_image = 'O' AND o.audit_op = 'U' \
       AND l.seller_id = o.seller_id AND l.sku = o.sku";

const DELETE_ALL: &str = "DELETE FROM listings WHERE seller_id = 'bench-floor'";

/// Nothing of the floors left for importdesk's steps to work around.
const REMOVE_FLOORS: &str = "DELETE FROM import_audit.log_listings \
      WHERE audit_import_id IN ({ids}) OR audit_rollback_of IN ({ids}); \
     DELETE FROM import_audit.imports WHERE id IN ({ids})";
const REWRITE_TABLES: &str = "VACUUM FULL listings, import_audit.log_listings";

const LOGGED_FOR_IMPORT: &str = "SELECT count(*) FROM import_audit.log_listings WHERE audit_import_id = {id} AND audit_image = 'N'";
const LOGGED_FOR_ROLLBACK: &str = "SELECT count(*) FROM import_audit.log_listings WHERE audit_rollback_of = {id} AND audit_image = 'O'";

/// One floor: what ran, and its wall time in seconds (psql's start-up included).
pub struct Timed {
    pub what: &'static str,
    pub seconds: f64,
}

pub struct Floors {
    pub import_new: Timed,
    pub compare: Timed,
    pub import_changed: Timed,
    pub rollback_changed: Timed,
    pub rollback_new: Timed,
}

/// Runs the floors on the files (the `\copy` tables `bench_copy` and
/// `bench_copy_changed` must hold them), checking what the capture logged.
pub fn run(
    b: &Bench,
    new: &DataFile,
    changed: &DataFile,
    rows: i64,
    n_changed: i64,
    report: &mut Report,
) -> Result<Floors> {
    let fields: Vec<&str> = COLUMNS.split(',').filter(|c| *c != "sku").collect();
    let list = |prefix: &str| {
        fields
            .iter()
            .map(|f| format!("{prefix}{f}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Listings a run stopped half-way left behind (against a server the
    // benchmark did not start): the floor's `\copy` would meet their keys.
    b.psql(DELETE_ALL)?;
    let new_import = b.psql(&NEW_IMPORT_ROW.replace("{file}", "new.csv"))?;
    let changed_import = b.psql(&NEW_IMPORT_ROW.replace("{file}", "changed.csv"))?;
    eprintln!("# floors: seller bench-floor, imports #{new_import} and #{changed_import}");

    // 1. The all-new import: the file straight into the audited table.
    b.settle()?;
    let tag = TAG_AS_IMPORT.replace("{id}", &new_import);
    let copy = copy_command("listings", &new.path);
    let inserted =
        b.psql_transaction(&[WORK_MEM, SELLER_DEFAULT, &tag, &copy, NO_SELLER_DEFAULT])?;
    let logged = rows_logged(b, LOGGED_FOR_IMPORT, &new_import)?;
    check(report, "captured \\copy", logged, rows);

    // 2. A dry run: the file to the server, compared.
    b.psql(ANALYZE_LISTINGS)?;
    b.settle()?;
    let trip = copy_command("bench_trip", &changed.path);
    let count = COUNT_DIFFERENCES
        .replace("{old_fields}", &list("l."))
        .replace("{trip_fields}", &list("t."));
    let compared = b.psql_transaction(&[WORK_MEM, TRIP_TABLE, &trip, &count])?;
    let differing: i64 = compared.stdout.trim().parse()?;
    if differing != n_changed {
        report.problem(format!(
            "floor comparison: {differing} rows differ, expected {n_changed}"
        ));
    }

    // 3. The re-import: the file to the server, the rows that differ
    //    (known beforehand) written.
    b.psql(
        &PICK_CHANGES
            .replace("{new_fields}", &list("c."))
            .replace("{old_fields}", &list("n.")),
    )?;
    b.settle()?;
    let tag = TAG_AS_IMPORT.replace("{id}", &changed_import);
    let update = UPDATE_CHANGED
        .replace("{fields}", &fields.join(", "))
        .replace("{new_fields}", &list("c."));
    let updated = b.psql_transaction(&[WORK_MEM, TRIP_TABLE, &trip, &tag, &update])?;
    b.psql(DROP_CHANGES)?;
    let logged = rows_logged(b, LOGGED_FOR_IMPORT, &changed_import)?;
    check(report, "captured UPDATE", logged, n_changed);

    // 4. The re-import's rollback: the updated rows from their before-images.
    b.psql(ANALYZE_LOG)?;
    b.settle()?;
    let tag = TAG_AS_ROLLBACK.replace("{id}", &changed_import);
    let restore = RESTORE_BEFORE_IMAGES
        .replace("{fields}", &fields.join(", "))
        .replace("{log_fields}", &list("o."))
        .replace("{id}", &changed_import);
    let restored = b.psql_transaction(&[WORK_MEM, MERGE_JOINS_ONLY, &tag, &restore])?;
    let logged = rows_logged(b, LOGGED_FOR_ROLLBACK, &changed_import)?;
    check(report, "captured restoring UPDATE", logged, n_changed);

    // 5. The all-new import's rollback: every listing it created, deleted.
    b.psql(ANALYZE_LISTINGS)?;
    b.settle()?;
    let tag = TAG_AS_ROLLBACK.replace("{id}", &new_import);
    let deleted = b.psql_transaction(&[WORK_MEM, &tag, DELETE_ALL])?;
    let logged = rows_logged(b, LOGGED_FOR_ROLLBACK, &new_import)?;
    check(report, "captured DELETE", logged, rows);

    b.psql(&REMOVE_FLOORS.replace("{ids}", &format!("{new_import}, {changed_import}")))?;
    b.psql(REWRITE_TABLES)?;
    let timed = |what, run: Run| Timed {
        what,
        seconds: run.seconds,
    };
    let floors = Floors {
        import_new: timed("`\\copy` of the file into `listings`, captured", inserted),
        compare: timed(
            "`\\copy` of the file into a temporary table, then one join counting the rows that differ",
            compared,
        ),
        import_changed: timed(
            "`\\copy` of the file into a temporary table, then one `UPDATE` of the rows that differ (picked out beforehand), captured",
            updated,
        ),
        rollback_changed: timed(
            "one `UPDATE` from the before-images in the log, captured",
            restored,
        ),
        rollback_new: timed("one `DELETE` of the listings, captured", deleted),
    };
    eprintln!(
        "# floors: captured \\copy {:.2} s, trip and comparison {:.2} s, trip and UPDATE {:.2} s, restoring UPDATE {:.2} s, DELETE {:.2} s; removed, tables rewritten",
        floors.import_new.seconds,
        floors.compare.seconds,
        floors.import_changed.seconds,
        floors.rollback_changed.seconds,
        floors.rollback_new.seconds
    );
    Ok(floors)
}

fn rows_logged(b: &Bench, query: &str, id: &str) -> Result<i64> {
    Ok(b.psql(&query.replace("{id}", id))?.parse()?)
}

/// A floor counts only if the capture logged every row it changed.
fn check(report: &mut Report, what: &str, logged: i64, expected: i64) {
    if logged == expected {
        eprintln!("# floor {what}: {logged} rows logged");
    } else {
        report.problem(format!(
            "floor {what}: {logged} rows logged, expected {expected}"
        ));
    }
}
