//! Tests that fail when a bug that matters is put back (issue 18): each one
//! is named in `tests/mutants/sql.txt` next to the deliberate bugs it must
//! catch, and `tests/mutants/run-sql-mutants` checks that it does.
//!
//! - every listing column, alone, decides whether a rollback keeps an edit
//!   and whether a re-import updates a listing;
//! - two sellers with the same SKUs never touch each other's listings through
//!   import, rollback and prune;
//! - a rollback tag forged while a rollback runs is a manual edit;
//! - every SECURITY DEFINER function refuses a seller acting for another;
//! - only the session holding a seller's lock drives that seller's imports,
//!   and a lock key read from pg_locks gives no right to act for its seller.

#[path = "mutation_guards/access.rs"]
mod access;
mod common;
#[path = "mutation_guards/database.rs"]
mod database;
#[path = "mutation_guards/import_outcomes.rs"]
mod import_outcomes;
#[path = "mutation_guards/listings.rs"]
mod listings;
#[path = "mutation_guards/lookalikes.rs"]
mod lookalikes;
#[path = "mutation_guards/prune_refusal.rs"]
mod prune_refusal;
#[path = "mutation_guards/rollback_retry.rs"]
mod rollback_retry;

use std::collections::{BTreeMap, BTreeSet};

use common::session::{
    RowLock, assert_denied, connect_as, finish, seller_role, spawn_cli, sqlstate, url_as,
    wait_for_running_import,
};
use common::{TestDb, count, csv_file, import_json, texts};
use serde_json::{Value, json};
use tokio_postgres::error::SqlState;

/// Native columns an import writes, in file order, with the values the
/// tests' files give them.
const FILE_COLUMNS: [&str; 10] = [
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
const OLD_VALUES: [&str; 10] = [
    "Old title",
    "Old desc",
    "5.00",
    "EUR",
    "2",
    "draft",
    "used",
    "Old cat",
    "100",
    "2026-06-30T00:00:00Z",
];
const NEW_VALUES: [&str; 10] = [
    "Title",
    "Desc",
    "10.00",
    "USD",
    "1",
    "active",
    "new",
    "Cat",
    "123",
    "2027-01-31T12:00:00Z",
];

/// One native CSV line: `values` in file order, `change` replacing one column.
fn line(sku: &str, values: &[&str; 10], change: Option<(&str, &str)>) -> String {
    let fields: Vec<&str> = FILE_COLUMNS
        .iter()
        .zip(values)
        .map(|(col, value)| match change {
            Some((c, v)) if c == *col => v,
            _ => value,
        })
        .collect();
    format!("{sku},{}\n", fields.join(","))
}

/// Every listing of `seller` as JSON, by SKU.
async fn rows_by_sku(t: &TestDb, seller: &str) -> BTreeMap<String, Value> {
    t.client()
        .await
        .query(
            "SELECT sku, to_jsonb(l) FROM listings l WHERE seller_id = $1",
            &[&seller],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Fails when `listings` has a column (other than `except`) that `covered`
/// leaves out: a new column needs a case in these tests.
async fn assert_covers_every_column(t: &TestDb, covered: &[&str], except: &[&str]) {
    let columns: BTreeSet<String> = t
        .client()
        .await
        .query(
            "SELECT column_name::text FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = 'listings'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .filter(|c: &String| !except.contains(&c.as_str()))
        .collect();
    let covered: BTreeSet<String> = covered.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        columns, covered,
        "listings' columns changed: give every column a case in this test"
    );
}

/// Every column of `listings` but the key: what a hand edit sets it to, and
/// whether it can be edited to NULL.
const EDITS: [(&str, &str, bool); 12] = [
    ("title", "'hand edit'", true),
    ("description", "'hand edit'", true),
    ("price", "12.34", true),
    ("currency", "'GBP'", true),
    ("quantity", "77", true),
    ("status", "'inactive'", false),
    ("condition", "'hand edit'", true),
    ("category", "'hand edit'", true),
    ("listing_number", "'999'", true),
    ("end_date", "'2030-01-01T00:00:00Z'", true),
    ("created_at", "'2001-01-01T00:00:00Z'", false),
    ("updated_at", "'2001-01-01T00:00:00Z'", false),
];

/// Issue 18: a rollback that leaves one column out of its comparison
/// overwrites an edit made to that column alone. Every column is edited
/// alone (to a value, and to NULL) on a listing the import updated and on
/// one it created; the rollback must skip all of them and keep the edits,
/// and still revert the listings nobody touched.
#[tokio::test]
async fn an_edit_to_any_one_column_after_the_import_makes_the_rollback_skip_it() {
    let t = TestDb::new().await;
    let columns: Vec<&str> = EDITS.iter().map(|e| e.0).collect();
    assert_covers_every_column(&t, &columns, &["seller_id", "sku"]).await;
    let mut edits = Vec::new();
    for (column, value, nullable) in EDITS {
        edits.push((format!("{column}-v"), column, value));
        if nullable {
            edits.push((format!("{column}-null"), column, "NULL"));
        }
    }
    let header = common::NATIVE_HEADER;
    let mut first = String::from(header);
    let mut second = String::from(header);
    for name in edits.iter().map(|e| e.0.as_str()).chain(["ctl"]) {
        first += &line(&format!("U-{name}"), &OLD_VALUES, None);
        second += &line(&format!("U-{name}"), &NEW_VALUES, None);
        second += &line(&format!("I-{name}"), &NEW_VALUES, None);
    }
    let (_d1, first) = csv_file("first.csv", &first);
    import_json(&t, &first, "acme", &[], 0);
    let before = rows_by_sku(&t, "acme").await;
    let (_d2, second) = csv_file("second.csv", &second);
    let out = import_json(&t, &second, "acme", &[], 0);
    let n = edits.len() as i64;
    assert_eq!(out["counts"]["updated"], n + 1);
    assert_eq!(out["counts"]["created"], n + 1);
    let id = out["import_id"].as_i64().unwrap().to_string();

    let mut sql = String::new();
    for (name, column, value) in &edits {
        sql += &format!(
            "UPDATE listings SET {column} = {value}
              WHERE seller_id = 'acme' AND sku IN ('U-{name}', 'I-{name}');\n"
        );
    }
    t.client().await.batch_execute(&sql).await.unwrap();
    let edited = rows_by_sku(&t, "acme").await;

    let preview = t.cli(&["rollback", &id, "--preview", "--json"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let preview = preview.json();
    let counts = &preview["preview"]["counts"];
    assert_eq!(
        (&counts["skip"], &counts["skipped_edited"]),
        (&json!(2 * n), &json!(2 * n)),
        "{counts}"
    );
    assert_eq!(
        (&counts["restore"], &counts["delete"]),
        (&json!(1), &json!(1))
    );
    let fingerprint = preview["preview"]["fingerprint"].as_str().unwrap();

    let run = t.cli(&["rollback", &id, "--yes", "--expect", fingerprint, "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = run.json();
    assert_eq!(
        (&out["restored"], &out["deleted"], &out["skipped"]),
        (&json!(1), &json!(1), &json!(2 * n))
    );
    let skipped: BTreeSet<String> = out["skipped_listings"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|s| assert_eq!(s["reason"], "edited", "{s}"))
        .map(|s| s["sku"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = edits
        .iter()
        .flat_map(|(name, _, _)| [format!("U-{name}"), format!("I-{name}")])
        .collect();
    assert_eq!(skipped, expected);

    let after = rows_by_sku(&t, "acme").await;
    for sku in &expected {
        assert_eq!(after[sku], edited[sku], "the edit of {sku} is kept");
    }
    assert_eq!(
        after["U-ctl"], before["U-ctl"],
        "an untouched listing is restored"
    );
    assert!(
        !after.contains_key("I-ctl"),
        "an untouched new listing is deleted"
    );
    assert_eq!(after.len(), expected.len() + 1);
}

/// What a re-import changes, one column at a time, and the SQL value it
/// must leave there.
const CHANGES: [(&str, &str, &str); 10] = [
    ("title", "New title", "'New title'"),
    ("description", "New desc", "'New desc'"),
    ("price", "12.34", "12.34"),
    ("currency", "GBP", "'GBP'"),
    ("quantity", "77", "77"),
    ("status", "inactive", "'inactive'"),
    ("condition", "refurbished", "'refurbished'"),
    ("category", "New cat", "'New cat'"),
    ("listing_number", "999", "'999'"),
    (
        "end_date",
        "2030-01-01T00:00:00Z",
        "'2030-01-01T00:00:00Z'::timestamptz",
    ),
];

/// Issue 18: a merge whose change detection leaves a column out reports a
/// file that changes only that column as unchanged, and does not apply it.
/// Every importable column is changed alone (to a value, and emptied where
/// an empty cell means NULL): the dry run names exactly that column, the
/// import updates the listing with exactly that value, and an unchanged
/// listing is neither rewritten nor logged.
#[tokio::test]
async fn a_reimport_changing_any_one_column_updates_that_listing() {
    let t = TestDb::new().await;
    let columns: Vec<&str> = CHANGES.iter().map(|c| c.0).collect();
    assert_covers_every_column(
        &t,
        &columns,
        &["seller_id", "sku", "created_at", "updated_at"],
    )
    .await;
    assert_eq!(columns, FILE_COLUMNS);
    let mut changes = Vec::new();
    for (column, text, sql) in CHANGES {
        changes.push((format!("R-{column}-v"), column, text, sql));
        // An empty status or currency keeps the current one (docs/csv-format.md).
        if column != "status" && column != "currency" {
            changes.push((format!("R-{column}-null"), column, "", "NULL"));
        }
    }
    let mut first = String::from(common::NATIVE_HEADER);
    let mut second = String::from(common::NATIVE_HEADER);
    for (sku, column, text, _) in &changes {
        first += &line(sku, &NEW_VALUES, None);
        second += &line(sku, &NEW_VALUES, Some((*column, *text)));
    }
    first += &line("R-same", &NEW_VALUES, None);
    second += &line("R-same", &NEW_VALUES, None);
    // Empty status and currency cells keep the current values.
    first += &line("R-keep", &NEW_VALUES, None);
    second += &line("R-keep", &NEW_VALUES, Some(("status", ""))).replace(",USD,", ",,");
    let (_d1, first) = csv_file("first.csv", &first);
    import_json(&t, &first, "acme", &[], 0);
    let before = rows_by_sku(&t, "acme").await;
    let n = changes.len() as i64;

    let (_d2, second) = csv_file("second.csv", &second);
    let dry = import_json(&t, &second, "acme", &["--dry-run"], 0);
    assert_eq!(
        (&dry["counts"]["updated"], &dry["counts"]["unchanged"]),
        (&json!(n), &json!(2)),
        "{dry}"
    );
    let reported: BTreeMap<String, Vec<String>> = dry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let fields = c["changes"].as_object().unwrap().keys().cloned().collect();
            (c["sku"].as_str().unwrap().to_string(), fields)
        })
        .collect();
    let expected: BTreeMap<String, Vec<String>> = changes
        .iter()
        .map(|(sku, column, _, _)| (sku.clone(), vec![column.to_string()]))
        .collect();
    assert_eq!(reported, expected, "the dry run names each changed field");
    assert_eq!(
        rows_by_sku(&t, "acme").await,
        before,
        "a dry run changes nothing"
    );

    let out = import_json(&t, &second, "acme", &[], 0);
    assert_eq!(
        (
            &out["counts"]["updated"],
            &out["counts"]["unchanged"],
            &out["counts"]["created"]
        ),
        (&json!(n), &json!(2), &json!(0))
    );
    let id = out["import_id"].as_i64().unwrap();
    let after = rows_by_sku(&t, "acme").await;
    let c = t.client().await;
    for (sku, column, _, value) in &changes {
        let differs: BTreeSet<&str> = before[sku]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| after[sku][k.as_str()] != **v)
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            differs,
            BTreeSet::from([*column, "updated_at"]),
            "{sku}: only {column} changes (and updated_at says when)"
        );
        let applied: bool = c
            .query_one(
                &format!(
                    "SELECT {column} IS NOT DISTINCT FROM {value} FROM listings
                      WHERE seller_id = 'acme' AND sku = $1"
                ),
                &[sku],
            )
            .await
            .unwrap()
            .get(0);
        assert!(applied, "{sku}: {column} is now {value}: {}", after[sku]);
    }
    assert_eq!(after["R-same"], before["R-same"], "not rewritten");
    assert_eq!(
        after["R-keep"], before["R-keep"],
        "empty status and currency keep theirs"
    );
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) FROM import_audit.log_listings
                  WHERE audit_import_id = {id} AND sku = 'R-same'"
            )
        )
        .await,
        0,
        "an unchanged listing is not logged"
    );
}

/// A narrow file: `sku,title,price` lines.
fn priced(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("sku,title,price\n");
    for (sku, title, price) in rows {
        s += &format!("{sku},{title},{price}\n");
    }
    s
}

fn counts_of(out: &Value) -> (i64, i64, i64) {
    let c = &out["counts"];
    (
        c["created"].as_i64().unwrap(),
        c["updated"].as_i64().unwrap(),
        c["unchanged"].as_i64().unwrap(),
    )
}

fn rollback_counts(run: &common::CliRun) -> (i64, i64, i64) {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = run.json();
    (
        out["restored"].as_i64().unwrap(),
        out["deleted"].as_i64().unwrap(),
        out["skipped"].as_i64().unwrap(),
    )
}

/// Issue 18: one seller's import overwrote another seller's listing with the
/// same SKU and reported success. Two sellers share SKUs with different
/// values; each seller's import, rollback and the prune in between leave the
/// other seller's listings exactly as they were.
#[tokio::test]
async fn sellers_sharing_skus_never_touch_each_other_through_import_rollback_and_prune() {
    let t = TestDb::new().await;
    let (_a1, acme_first) = csv_file(
        "acme1.csv",
        &priced(&[
            ("S1", "acme one", "1.00"),
            ("S2", "acme two", "2.00"),
            ("S3", "acme three", "3.00"),
        ]),
    );
    let (_g1, globex_first) = csv_file(
        "globex1.csv",
        &priced(&[
            ("S1", "globex one", "10.00"),
            ("S2", "globex two", "20.00"),
            ("S3", "globex three", "30.00"),
            ("S4", "globex four", "40.00"),
        ]),
    );
    let acme_first = import_json(&t, &acme_first, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let out = import_json(&t, &globex_first, "globex", &[], 0);
    assert_eq!(counts_of(&out), (4, 0, 0), "acme's S1-S3 are not globex's");
    let acme0 = rows_by_sku(&t, "acme").await;
    let globex0 = rows_by_sku(&t, "globex").await;

    // acme updates S1 and S2, keeps S3, creates S4 (which globex has) and S5.
    let (_a2, acme_second) = csv_file(
        "acme2.csv",
        &priced(&[
            ("S1", "acme one v2", "1.50"),
            ("S2", "acme two v2", "2.00"),
            ("S3", "acme three", "3.00"),
            ("S4", "acme four", "4.00"),
            ("S5", "acme five", "5.00"),
        ]),
    );
    let out = import_json(&t, &acme_second, "acme", &[], 0);
    assert_eq!(counts_of(&out), (2, 2, 1));
    let acme_second = out["import_id"].as_i64().unwrap();
    assert_eq!(rows_by_sku(&t, "globex").await, globex0);
    let acme1 = rows_by_sku(&t, "acme").await;
    let titles: Vec<&str> = acme1
        .values()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "acme one v2",
            "acme two v2",
            "acme three",
            "acme four",
            "acme five"
        ]
    );

    // globex updates S1, creates S5 (which acme has now) and S6.
    let (_g2, globex_second) = csv_file(
        "globex2.csv",
        &priced(&[
            ("S1", "globex one v2", "11.00"),
            ("S5", "globex five", "50.00"),
            ("S6", "globex six", "60.00"),
        ]),
    );
    let out = import_json(&t, &globex_second, "globex", &[], 0);
    assert_eq!(counts_of(&out), (2, 1, 0));
    let globex_second = out["import_id"].as_i64().unwrap();
    assert_eq!(rows_by_sku(&t, "acme").await, acme1);
    let globex1 = rows_by_sku(&t, "globex").await;

    // Rolling back acme's import restores acme's S1, S2 and deletes its S4, S5.
    let run = t.cli(&["rollback", &acme_second.to_string(), "--yes", "--json"]);
    assert_eq!(rollback_counts(&run), (2, 2, 0));
    assert_eq!(rows_by_sku(&t, "acme").await, acme0);
    assert_eq!(rows_by_sku(&t, "globex").await, globex1);

    // A hand edit of globex's S6; then prune the rolled-back import's images.
    t.client()
        .await
        .batch_execute(
            "UPDATE listings SET title = 'hand edit' WHERE seller_id = 'globex' AND sku = 'S6'",
        )
        .await
        .unwrap();
    let prune = t.cli(&["audit", "prune", "--json"]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert_eq!(prune.json()["rolled_back_imports"], json!([acme_second]));
    assert_eq!(
        rows_by_sku(&t, "acme").await,
        acme0,
        "prune changes no listing"
    );

    // globex's import still rolls back exactly, keeping the hand edit.
    let preview = t.cli(&[
        "rollback",
        &globex_second.to_string(),
        "--preview",
        "--json",
    ]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let preview = preview.json();
    assert_eq!(preview["details"]["skip"][0]["sku"], "S6");
    assert!(
        preview["details"]["skip"][0]["changed_by"].is_string(),
        "{preview}"
    );
    let run = t.cli(&["rollback", &globex_second.to_string(), "--yes", "--json"]);
    assert_eq!(rollback_counts(&run), (1, 1, 1));
    let mut globex = globex0.clone();
    globex.insert("S6".into(), rows_by_sku(&t, "globex").await["S6"].clone());
    assert_eq!(globex["S6"]["title"], "hand edit");
    assert_eq!(rows_by_sku(&t, "globex").await, globex);
    assert_eq!(rows_by_sku(&t, "acme").await, acme0);

    // And acme's first import deletes acme's three listings only.
    let run = t.cli(&["rollback", &acme_first.to_string(), "--yes", "--json"]);
    assert_eq!(rollback_counts(&run), (0, 3, 0));
    assert!(rows_by_sku(&t, "acme").await.is_empty());
    assert_eq!(rows_by_sku(&t, "globex").await, globex);
}

/// The rollback's full comparison (its fallback when a listing was changed
/// with the change capture bypassed) joins each after-image to its own
/// seller's listing only: another seller's listing with the same SKU is
/// neither compared nor counted, nor touched.
#[tokio::test]
async fn the_rollbacks_full_comparison_sees_only_the_sellers_own_listings() {
    let t = TestDb::new().await;
    let (_g, globex) = csv_file(
        "globex.csv",
        &priced(&[("S1", "globex one", "10.00"), ("S2", "globex two", "20.00")]),
    );
    import_json(&t, &globex, "globex", &[], 0);
    let globex0 = rows_by_sku(&t, "globex").await;
    let (_a, acme) = csv_file(
        "acme.csv",
        &priced(&[
            ("S1", "acme one", "1.00"),
            ("S2", "acme two", "2.00"),
            ("S3", "acme three", "3.00"),
        ]),
    );
    let acme = import_json(&t, &acme, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    // acme's S3 changed behind the capture's back: the planned DELETE
    // finds one listing fewer than planned, and the rollback compares
    // every listing instead.
    t.client()
        .await
        .batch_execute(
            "BEGIN; SET LOCAL session_replication_role = replica;
             UPDATE listings SET title = 'bypassed' WHERE seller_id = 'acme' AND sku = 'S3';
             COMMIT;",
        )
        .await
        .unwrap();
    let run = t.cli(&["rollback", &acme.to_string(), "--yes", "--json"]);
    assert_eq!(rollback_counts(&run), (0, 2, 1), "{}", run.stdout);
    assert_eq!(run.json()["skipped_listings"][0]["sku"], "S3");
    let acme_left = rows_by_sku(&t, "acme").await;
    assert_eq!(acme_left.keys().collect::<Vec<_>>(), ["S3"]);
    assert_eq!(acme_left["S3"]["title"], "bypassed");
    assert_eq!(rows_by_sku(&t, "globex").await, globex0);
}

/// Issue 18 (capture): the rollback tag is trusted only inside the
/// rollback's own transaction. While a rollback runs, a seller sets the tag
/// to it in another transaction and edits: the edit must stay a manual
/// edit, so the next rollback down the chain still sees it.
#[tokio::test]
async fn a_rollback_tag_forged_while_that_rollback_runs_is_a_manual_edit() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", "acme").await;
    let (_d1, first) = csv_file("first.csv", &priced(&[("A", "a", "1"), ("B", "b", "2")]));
    let first = import_json(&t, &first, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let (_d2, second) = csv_file(
        "second.csv",
        &priced(&[("A", "a v2", "1"), ("C", "c", "3")]),
    );
    let second = import_json(&t, &second, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();

    // The rollback waits, mid-transaction, to delete C.
    let lock = RowLock::hold(&t, "acme", "C").await;
    let rollback = spawn_cli(
        &t.url(),
        &["rollback", &second.to_string(), "--yes", "--json"],
    );
    lock.wait_for_waiter().await;
    let mut c = connect_as(&t, &alice).await;
    let tx = c.transaction().await.unwrap();
    tx.execute(
        "SELECT set_config('importdesk.rollback_of', $1, true)",
        &[&second.to_string()],
    )
    .await
    .unwrap();
    tx.batch_execute(
        "UPDATE listings SET title = 'hand edit' WHERE sku = 'B';
         INSERT INTO listings (seller_id, sku, title) VALUES ('acme', 'HAND', 'hand made')",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    lock.release().await;
    assert_eq!(rollback_counts(&finish(rollback)), (1, 1, 0));

    let tags: Vec<(String, Option<i64>, Option<i64>)> = t
        .client()
        .await
        .query(
            "SELECT sku, audit_import_id, audit_rollback_of FROM import_audit.log_listings
              WHERE audit_role = $1 ORDER BY audit_change_id",
            &[&alice],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        tags,
        [
            ("B".to_string(), None, None),
            ("B".to_string(), None, None),
            ("HAND".to_string(), None, None)
        ],
        "the forged edits are manual edits"
    );
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) FROM import_audit.log_listings WHERE audit_rollback_of = {second}"
            )
        )
        .await,
        3,
        "the rollback's own changes: A restored (two images), C deleted"
    );
    let preview = t.cli(&["rollback", &first.to_string(), "--preview", "--json"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let preview = preview.json();
    assert_eq!(preview["preview"]["counts"]["skip"], 1, "{preview}");
    assert_eq!(preview["details"]["skip"][0]["sku"], "B");
    assert_eq!(preview["details"]["skip"][0]["reason"], "edited");
    assert_eq!(preview["details"]["skip"][0]["changed_by"], alice.as_str());
}

/// Every SECURITY DEFINER function of the schema, and why a seller calling it
/// with another seller's ids cannot act for that seller (the test below
/// calls each one that takes an id).
const DEFINER_FUNCTIONS: [&str; 29] = [
    // Take no seller or import id: they answer for the session itself.
    "current_tag",
    "current_seller",
    "is_support",
    "refresh_log_statistics",
    // Trigger functions: not callable by seller roles at all.
    "capture_log_listings",
    "capture_truncate_log_listings",
    // Called below with seller-b's ids.
    "may_act_for",
    "require_seller",
    "append_audit",
    "begin_import",
    "attach_import",
    "complete_import",
    "import_changes",
    "fail_import",
    "fail_abandoned",
    "attach_rollback",
    "mark_rolled_back",
    "prune",
    "prunable_rolled_back",
    "record_listing_restore",
    // The per-seller lock and who may act for whom.
    "try_lock_seller",
    "unlock_seller",
    "lock_blockers",
    "seller_lock_key",
    "lock_holders",
    "holds_seller_lock",
    "require_seller_lock",
    "role_is_support",
    "role_may_act_for",
];

/// Issue 18: with the seller check removed from the function that attaches
/// a rollback, a seller marked another seller's import rolled back by raw
/// SQL. A seller login role calls every SECURITY DEFINER function with
/// another seller's ids, while that seller's import runs and after it
/// completed: each call is refused as a permission error or changes nothing,
/// and the other seller's import completes untouched.
#[tokio::test]
async fn a_seller_calling_definer_functions_with_another_sellers_ids_changes_nothing() {
    let t = TestDb::new().await;
    let defined: BTreeSet<String> = t
        .client()
        .await
        .query(
            "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let covered: BTreeSet<String> = DEFINER_FUNCTIONS.iter().map(|f| f.to_string()).collect();
    assert!(
        defined.is_subset(&covered),
        "SECURITY DEFINER functions without a case in this test: {:?}",
        defined.difference(&covered).collect::<Vec<_>>()
    );
    let alice = seller_role(&t, "alice", "seller-a").await;
    let bob = seller_role(&t, "bob", "seller-b").await;
    let bob_url = url_as(&t, &bob);
    let (_d1, first) = csv_file(
        "b1.csv",
        &priced(&[("B-1", "one", "1"), ("B-2", "two", "2")]),
    );
    let run = common::run_cli(
        &bob_url,
        &[
            "import",
            first.to_str().unwrap(),
            "--seller",
            "seller-b",
            "--json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bob_first = run.json()["import_id"].as_i64().unwrap();

    // bob's second import waits mid-transaction on B-1.
    let (_d2, second) = csv_file("b2.csv", &priced(&[("B-1", "one v2", "1")]));
    let lock = RowLock::hold(&t, "seller-b", "B-1").await;
    let import = spawn_cli(
        &bob_url,
        &[
            "import",
            second.to_str().unwrap(),
            "--seller",
            "seller-b",
            "--json",
        ],
    );
    let running = wait_for_running_import(&t).await;
    lock.wait_for_waiter().await;

    let a = connect_as(&t, &alice).await;
    // A call that would write bob's import row waits for bob's transaction:
    // time out instead, as an error that is not a refusal.
    a.batch_execute("SET lock_timeout = '2s'").await.unwrap();
    assert_denied(
        a.query(
            "SELECT import_audit.attach_import($1, 'alice')",
            &[&running],
        )
        .await,
        "attach_import of bob's running import",
    );
    assert_denied(
        a.query(
            "SELECT import_audit.fail_import($1, NULL, 0, 0, 0, '{}', '[]', 'failed by alice')",
            &[&running],
        )
        .await,
        "fail_import of bob's running import",
    );
    let completed = a
        .query(
            "SELECT import_audit.complete_import($1, NULL, 0, 0, 0, 0, 0, 0, '{}', '[]', NULL)",
            &[&running],
        )
        .await;
    assert!(
        matches!(
            sqlstate(&completed),
            Some(SqlState::RAISE_EXCEPTION | SqlState::INSUFFICIENT_PRIVILEGE)
        ),
        "complete_import of bob's running import is refused: {completed:?}"
    );
    // What bob's merge wrote is read in bob's own transaction only.
    let changes = a
        .query("SELECT * FROM import_audit.import_changes($1)", &[&running])
        .await;
    assert!(
        matches!(
            sqlstate(&changes),
            Some(SqlState::RAISE_EXCEPTION | SqlState::INSUFFICIENT_PRIVILEGE)
        ),
        "import_changes of bob's running import is refused: {changes:?}"
    );
    match a
        .query("SELECT import_audit.fail_abandoned('seller-b')", &[])
        .await
    {
        Ok(rows) => assert!(rows.is_empty(), "alice marked bob's imports failed"),
        Err(e) => assert_denied::<()>(Err(e), "fail_abandoned('seller-b')"),
    }

    // bob's import holds seller-b's lock: alice can neither take nor free it.
    assert_denied(
        a.query("SELECT import_audit.try_lock_seller('seller-b')", &[])
            .await,
        "try_lock_seller('seller-b') while bob's import holds it",
    );
    let freed: bool = a
        .query_one("SELECT import_audit.unlock_seller('seller-b')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!freed, "alice freed seller-b's lock");
    let owner = t.client().await;
    let holders: i64 = owner
        .query_one(
            "SELECT count(*) FROM import_audit.lock_holders(import_audit.seller_lock_key('seller-b'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(holders, 1, "bob's import still holds seller-b's lock");
    // Her own seller's lock is another lock.
    for (sql, what) in [
        ("SELECT import_audit.try_lock_seller('seller-a')", "takes"),
        ("SELECT import_audit.unlock_seller('seller-a')", "frees"),
    ] {
        let done: bool = a.query_one(sql, &[]).await.unwrap().get(0);
        assert!(
            done,
            "alice {what} seller-a's lock while seller-b's is held"
        );
    }
    // Who keeps bob's import waiting is told to bob, not to alice.
    let waiting: i32 = owner
        .query_one(
            "SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND usename = $1 AND wait_event_type = 'Lock'",
            &[&bob],
        )
        .await
        .unwrap()
        .get(0);
    let blockers: BTreeSet<i32> = owner
        .query("SELECT unnest(pg_blocking_pids($1))", &[&waiting])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!blockers.is_empty());
    let blockers_seen_by = |rows: Vec<tokio_postgres::Row>| -> BTreeSet<i32> {
        rows.iter().map(|r| r.get("pid")).collect()
    };
    let blockers_sql = "SELECT pid FROM import_audit.lock_blockers($1)";
    let by_bob = blockers_seen_by(
        connect_as(&t, &bob)
            .await
            .query(blockers_sql, &[&waiting])
            .await
            .unwrap(),
    );
    assert!(blockers.is_subset(&by_bob), "{blockers:?} {by_bob:?}");
    let by_alice = blockers_seen_by(a.query(blockers_sql, &[&waiting]).await.unwrap());
    assert!(
        blockers.is_disjoint(&by_alice),
        "alice sees who blocks bob's import: {by_alice:?}"
    );
    lock.release().await;
    let run = finish(import);
    assert_eq!(run.code, 0, "bob's import completes: {}", run.stderr);
    assert_eq!(run.json()["import_id"], running);

    // bob's imports are completed now.
    let mut a = a;
    let tx = a.transaction().await.unwrap();
    let attached = tx
        .query(
            "SELECT import_audit.attach_rollback($1, 'alice')",
            &[&running],
        )
        .await;
    if attached.is_ok() {
        // What the attack would go on to do (the assertion below says
        // what was wrong first).
        let _ = tx
            .query(
                "SELECT import_audit.mark_rolled_back($1, 'alice', 0, 0, 0)",
                &[&running],
            )
            .await;
        let _ = tx.commit().await;
    } else {
        tx.rollback().await.unwrap();
    }
    assert_denied(attached, "attach_rollback of bob's import");
    if let Ok(row) = a
        .query_one(
            "SELECT import_audit.mark_rolled_back($1, 'alice', 0, 0, 0)",
            &[&bob_first],
        )
        .await
    {
        assert_eq!(
            row.get::<_, i64>(0),
            0,
            "mark_rolled_back marked bob's import"
        );
    }
    for (sql, what) in [
        (
            "SELECT import_audit.append_audit('alice', 'rollback previewed', 'seller-b', $1, '{}')",
            "append_audit for seller-b",
        ),
        (
            "SELECT import_audit.append_audit('alice', 'rollback previewed', NULL, $1, '{}')",
            "append_audit without a seller",
        ),
    ] {
        assert_denied(a.query(sql, &[&running]).await, what);
    }
    for (sql, what) in [
        (
            "SELECT import_audit.begin_import('seller-b', 'x.csv', 1, 'native', '{}', 'alice', NULL, NULL)",
            "begin_import for seller-b",
        ),
        (
            "SELECT import_audit.require_seller('seller-b')",
            "require_seller('seller-b')",
        ),
        (
            "SELECT import_audit.append_audit('alice', 'rollback refused', NULL, NULL, '{}')",
            "append_audit without a seller or an import",
        ),
        ("SELECT import_audit.prune(NULL, 'alice')", "prune"),
        (
            "SELECT import_audit.prunable_rolled_back()",
            "prunable_rolled_back (every seller's import ids)",
        ),
        (
            "SELECT import_audit.record_listing_restore('seller-b', 'B1', 1, 'alice', '{}')",
            "record_listing_restore of seller-b's listing",
        ),
        (
            "SELECT import_audit.capture_log_listings()",
            "the capture trigger function",
        ),
        (
            "SELECT import_audit.capture_truncate_log_listings()",
            "the truncate capture trigger function",
        ),
        // The lock keys are the owner's: nobody else can compute or read one.
        (
            "SELECT import_audit.seller_lock_key('seller-b')",
            "seller_lock_key('seller-b')",
        ),
        (
            "SELECT * FROM import_audit.seller_locks",
            "the table of lock keys",
        ),
        ("SELECT * FROM import_audit.lock_holders(0)", "lock_holders"),
        (
            "SELECT import_audit.holds_seller_lock('seller-b')",
            "holds_seller_lock('seller-b')",
        ),
        (
            "SELECT import_audit.require_seller_lock('seller-b')",
            "require_seller_lock('seller-b')",
        ),
        ("SELECT import_audit.role_is_support(0)", "role_is_support"),
        (
            "SELECT import_audit.role_may_act_for(
                 (SELECT oid FROM pg_roles WHERE rolname = session_user), 'seller-b')",
            "role_may_act_for(alice, 'seller-b')",
        ),
    ] {
        assert_denied(a.query(sql, &[]).await, what);
    }
    let may: Option<bool> = a
        .query_one("SELECT import_audit.may_act_for('seller-b')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(may, Some(false));

    // What the database holds for seller-b is what bob did, nothing else.
    let c = t.client().await;
    let imports: Vec<(i64, String, String)> = c
        .query(
            "SELECT id, status, db_role FROM import_audit.imports WHERE seller_id = 'seller-b' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        imports,
        [
            (bob_first, "completed".to_string(), bob.clone()),
            (running, "completed".to_string(), bob.clone())
        ]
    );
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) FROM import_audit.audit_log WHERE actor = 'alice' OR db_role = '{alice}'"
            )
        )
        .await,
        0
    );
    assert_eq!(
        texts(
            &t,
            "SELECT title FROM listings WHERE seller_id = 'seller-b' ORDER BY sku"
        )
        .await,
        ["one v2", "two"]
    );
}

/// Only the session holding a seller's lock drives that seller's imports:
/// a second session of the same seller role (which may act for the seller)
/// cannot start an import, attach to or fail the running one, mark it
/// abandoned while it runs, or attach a rollback, and cannot take the lock
/// from importdesk's session.
#[tokio::test]
async fn a_session_without_the_sellers_lock_cannot_start_drive_or_roll_back_an_import() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", "seller-a").await;
    let alice_url = url_as(&t, &alice);
    let import = |path: &std::path::Path| {
        spawn_cli(
            &alice_url,
            &[
                "import",
                path.to_str().unwrap(),
                "--seller",
                "seller-a",
                "--json",
            ],
        )
    };
    let (_d1, first) = csv_file(
        "a1.csv",
        &priced(&[("A-1", "one", "1"), ("A-2", "two", "2")]),
    );
    let run = finish(import(&first));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alice_first = run.json()["import_id"].as_i64().unwrap();

    // alice's second import waits mid-transaction on A-1, holding the lock.
    let (_d2, second) = csv_file("a2.csv", &priced(&[("A-1", "one v2", "1")]));
    let lock = RowLock::hold(&t, "seller-a", "A-1").await;
    let running_import = import(&second);
    let running = wait_for_running_import(&t).await;
    lock.wait_for_waiter().await;

    let mut other = connect_as(&t, &alice).await;
    // Without the lock check, a write to the running import's row would
    // wait for it: time out instead, as an error that is not a refusal.
    other
        .batch_execute("SET lock_timeout = '2s'")
        .await
        .unwrap();
    let taken: bool = other
        .query_one("SELECT import_audit.try_lock_seller('seller-a')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!taken, "a second session took the lock of a running import");
    for (sql, what) in [
        (
            "SELECT import_audit.begin_import('seller-a', 'x.csv', 1, 'native', '{}', 'x', NULL, NULL)",
            "begin_import",
        ),
        (
            "SELECT import_audit.attach_import($1, 'x')",
            "attach_import of the running import",
        ),
        (
            "SELECT import_audit.fail_import($1, NULL, 0, 0, 0, '{}', '[]', 'x')",
            "fail_import of the running import",
        ),
    ] {
        let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] =
            if sql.contains("$1") { &[&running] } else { &[] };
        assert_denied(other.query(sql, params).await, what);
    }
    assert_denied(
        other
            .query("SELECT import_audit.fail_abandoned('seller-a')", &[])
            .await,
        "fail_abandoned while the import runs",
    );
    let completed = other
        .query(
            "SELECT import_audit.complete_import($1, repeat('a', 64), 0, 0, 0, 0, 0, 0, '{}', '[]', NULL)",
            &[&running],
        )
        .await;
    assert_eq!(
        sqlstate(&completed),
        Some(SqlState::RAISE_EXCEPTION),
        "complete_import outside the import's transaction: {completed:?}"
    );
    let tx = other.transaction().await.unwrap();
    let attached = tx
        .query(
            "SELECT import_audit.attach_rollback($1, 'x')",
            &[&alice_first],
        )
        .await;
    tx.rollback().await.unwrap();
    assert_denied(attached, "attach_rollback without the lock");

    lock.release().await;
    let run = finish(running_import);
    assert_eq!(run.code, 0, "alice's import completes: {}", run.stderr);

    // Both listings of the first import differ from what it wrote now (A-1
    // by the second import, A-2 by hand): "all skipped" is the true outcome
    // of a rollback of it, yet without one it is not marked rolled back.
    other
        .batch_execute("UPDATE listings SET title = 'hand edit' WHERE sku = 'A-2'")
        .await
        .unwrap();
    let marked: i64 = other
        .query_one(
            "SELECT import_audit.mark_rolled_back($1, 'x', 0, 0, 2)",
            &[&alice_first],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(marked, 0, "marked rolled back outside a rollback");
    let imports: Vec<(i64, String)> = t
        .client()
        .await
        .query(
            "SELECT id, status FROM import_audit.imports ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        imports,
        [
            (alice_first, "completed".to_string()),
            (running, "completed".to_string())
        ]
    );
    assert_eq!(
        texts(
            &t,
            "SELECT title FROM listings WHERE seller_id = 'seller-a' ORDER BY sku"
        )
        .await,
        ["one v2", "hand edit"]
    );
}

/// The key of a seller's lock shows in pg_locks while it is held. A seller
/// who reads another seller's key there and takes the lock once it is free
/// holds that seller's lock as far as the lock checks can tell: the seller
/// checks alone must still refuse her, on an import its crashed process left
/// running and on a completed one.
#[tokio::test]
async fn a_seller_holding_another_sellers_lock_key_still_cannot_act_for_it() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", "seller-a").await;
    let bob = seller_role(&t, "bob", "seller-b").await;
    let (_d, file) = csv_file("b1.csv", &priced(&[("B-1", "one", "1")]));
    let run = common::run_cli(
        &url_as(&t, &bob),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            "seller-b",
            "--json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let completed = run.json()["import_id"].as_i64().unwrap();

    // bob's importing session starts an import, then dies.
    let b = connect_as(&t, &bob).await;
    let locked: bool = b
        .query_one("SELECT import_audit.try_lock_seller('seller-b')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(locked);
    let abandoned: i64 = b
        .query_one(
            "SELECT import_audit.begin_import('seller-b', 'b2.csv', 1, 'native', '{}', 'bob', NULL, NULL)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let bob_pid: i32 = b
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let mut a = connect_as(&t, &alice).await;
    let key: i64 = a
        .query_one(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
              WHERE locktype = 'advisory' AND objsubid = 1 AND pid = $1",
            &[&bob_pid],
        )
        .await
        .unwrap()
        .get(0);
    drop(b);
    let mut stolen = false;
    for _ in 0..400 {
        stolen = a
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .unwrap()
            .get(0);
        if stolen {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(stolen, "bob's lock was never freed");
    // The premise: the lock checks see alice holding seller-b's lock.
    let holders: Vec<String> = t
        .client()
        .await
        .query(
            "SELECT r.rolname::text FROM import_audit.lock_holders(import_audit.seller_lock_key('seller-b')) h
               JOIN pg_roles r ON r.oid = h.role_oid",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(holders, std::slice::from_ref(&alice));

    a.batch_execute("SET lock_timeout = '2s'").await.unwrap();
    for (sql, id, what) in [
        (
            "SELECT import_audit.attach_import($1, 'alice')",
            abandoned,
            "attach_import of bob's abandoned import",
        ),
        (
            "SELECT import_audit.fail_import($1, NULL, 0, 0, 0, '{}', '[]', 'alice')",
            abandoned,
            "fail_import of bob's abandoned import",
        ),
        (
            "SELECT import_audit.append_audit('alice', 'rollback previewed', 'seller-b', $1, '{}')",
            completed,
            "append_audit for bob's import",
        ),
    ] {
        assert_denied(a.query(sql, &[&id]).await, what);
    }
    for (sql, what) in [
        (
            "SELECT import_audit.fail_abandoned('seller-b')",
            "fail_abandoned('seller-b')",
        ),
        (
            "SELECT import_audit.begin_import('seller-b', 'x.csv', 1, 'native', '{}', 'alice', NULL, NULL)",
            "begin_import for seller-b",
        ),
    ] {
        assert_denied(a.query(sql, &[]).await, what);
    }
    let tx = a.transaction().await.unwrap();
    let attached = tx
        .query(
            "SELECT import_audit.attach_rollback($1, 'alice')",
            &[&completed],
        )
        .await;
    if attached.is_ok() {
        // What the attack would go on to do (the assertion below says
        // what was wrong first).
        let _ = tx
            .query(
                "SELECT import_audit.mark_rolled_back($1, 'alice', 0, 0, 1)",
                &[&completed],
            )
            .await;
        let _ = tx.commit().await;
    } else {
        tx.rollback().await.unwrap();
    }
    assert_denied(attached, "attach_rollback of bob's import");

    let imports: Vec<(i64, String, bool)> = t
        .client()
        .await
        .query(
            "SELECT id, status, data_txid IS NOT NULL FROM import_audit.imports
              WHERE seller_id = 'seller-b' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        imports,
        [
            (completed, "completed".to_string(), true),
            (abandoned, "running".to_string(), false)
        ],
        "bob's imports as bob left them"
    );
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) FROM import_audit.imports WHERE db_role = '{alice}' OR actor = 'alice'"
            )
        )
        .await
            + count(
                &t,
                &format!("SELECT count(*) FROM import_audit.audit_log WHERE db_role = '{alice}'")
            )
            .await,
        0,
        "nothing was written in alice's name"
    );
}

/// A rollback is marked done only together with the changes its own
/// transaction made: claims of restored or deleted listings it did not
/// touch, or of skipped listings nobody changed, are refused.
#[tokio::test]
async fn a_rollback_is_marked_done_only_with_the_changes_its_transaction_made() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", "seller-a").await;
    let (_d, file) = csv_file(
        "a.csv",
        &priced(&[("A-1", "one", "1"), ("A-2", "two", "2")]),
    );
    let id = import_json(&t, &file, "seller-a", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let mut a = connect_as(&t, &alice).await;
    let locked: bool = a
        .query_one("SELECT import_audit.try_lock_seller('seller-a')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(locked);
    // (restored, deleted, skipped): the import created two listings.
    for claim in [
        (0_i64, 2_i64, 0_i64),
        (2, 0, 0),
        (1, 1, 0),
        (0, 0, 2),
        (0, 3, -1),
    ] {
        let tx = a.transaction().await.unwrap();
        tx.execute("SELECT import_audit.attach_rollback($1, 'x')", &[&id])
            .await
            .unwrap();
        let marked = tx
            .query_one(
                "SELECT import_audit.mark_rolled_back($1, 'x', $2, $3, $4)",
                &[&id, &claim.0, &claim.1, &claim.2],
            )
            .await;
        assert_eq!(
            sqlstate(&marked),
            Some(SqlState::CHECK_VIOLATION),
            "claim {claim:?} without deleting anything: {marked:?}"
        );
        tx.rollback().await.unwrap();
    }
    // The deletions made, but claimed as restores: refused too.
    let tx = a.transaction().await.unwrap();
    tx.execute("SELECT import_audit.attach_rollback($1, 'x')", &[&id])
        .await
        .unwrap();
    tx.execute("DELETE FROM listings WHERE seller_id = 'seller-a'", &[])
        .await
        .unwrap();
    let marked = tx
        .query_one(
            "SELECT import_audit.mark_rolled_back($1, 'x', 2, 0, 0)",
            &[&id],
        )
        .await;
    assert_eq!(
        sqlstate(&marked),
        Some(SqlState::CHECK_VIOLATION),
        "deletions claimed as restores: {marked:?}"
    );
    tx.rollback().await.unwrap();
    // The true claim, with the deletions made: accepted.
    let tx = a.transaction().await.unwrap();
    tx.execute("SELECT import_audit.attach_rollback($1, 'x')", &[&id])
        .await
        .unwrap();
    tx.execute("DELETE FROM listings WHERE seller_id = 'seller-a'", &[])
        .await
        .unwrap();
    let marked: i64 = tx
        .query_one(
            "SELECT import_audit.mark_rolled_back($1, 'x', 0, 2, 0)",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(marked, 1);
    tx.commit().await.unwrap();
    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, rollback_restored, rollback_deleted, rollback_skipped
               FROM import_audit.imports WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, Option<i64>>(1),
            row.get::<_, Option<i64>>(2),
            row.get::<_, Option<i64>>(3)
        ),
        ("rolled_back".to_string(), Some(0), Some(2), Some(0))
    );
}

/// A role in importdesk_seller mapped to no seller reads no seller's rows,
/// and no rows without a seller either (support's entries in the audit
/// log): its unknown seller matches nothing, not the NULL of those rows.
#[tokio::test]
async fn a_seller_role_without_a_mapping_reads_nothing() {
    let t = TestDb::new().await;
    let (_d, file) = csv_file("b.csv", &priced(&[("B-1", "one", "1")]));
    import_json(&t, &file, "seller-b", &[], 0);
    let nobody = common::session::login_role(&t, "nomap").await;
    let owner = t.client().await;
    owner
        .batch_execute(&format!(
            "GRANT importdesk_seller TO {nobody};
             INSERT INTO import_audit.audit_log (actor, action, details)
             VALUES ('support', 'before-images pruned', '{{}}')"
        ))
        .await
        .unwrap();
    for table in ["import_audit.audit_log", "import_audit.imports", "listings"] {
        let all = count(&t, &format!("SELECT count(*) FROM {table}")).await;
        assert!(all > 0, "{table} is empty: the test shows nothing");
    }
    assert!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.audit_log WHERE seller_id IS NULL"
        )
        .await
            > 0
    );
    let c = connect_as(&t, &nobody).await;
    for table in [
        "import_audit.audit_log",
        "import_audit.imports",
        "import_audit.log_listings",
        "import_audit.seller_accounts",
        "listings",
    ] {
        let seen: i64 = c
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(seen, 0, "{nobody} reads {seen} rows of {table}");
    }
}

/// `--on-conflict block` refuses only when some listing would be skipped:
/// with nothing changed since the import, it rolls back like the default.
#[tokio::test]
async fn block_mode_rolls_back_an_import_nobody_changed_since() {
    let t = TestDb::new().await;
    let header = common::NATIVE_HEADER;
    let (_d1, first) = csv_file(
        "first.csv",
        &format!("{header}A,Lamp,,19.99,USD,3,active,,,,\n"),
    );
    import_json(&t, &first, "acme", &[], 0);
    let before = common::dump_listings(&t).await;
    let (_d2, second) = csv_file(
        "second.csv",
        &format!("{header}A,Lamp v2,,19.99,USD,3,active,,,,\nB,Desk,,150,USD,2,active,,,,\n"),
    );
    let id = import_json(&t, &second, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let run = t.cli(&[
        "rollback",
        &id.to_string(),
        "--yes",
        "--on-conflict",
        "block",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(common::dump_listings(&t).await, before);
}
