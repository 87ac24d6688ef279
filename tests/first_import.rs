//! A seller's first import COPYs straight into `listings` (no staging
//! table, no merge): the same listings, capture, counts, rejects and
//! all-or-nothing as the staging path, against a real PostgreSQL through the
//! real binary. Which path ran is read from importdesk's own log.

mod common;

use common::{
    NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json, login_role, test_data_dir,
    url_for_role,
};

const DIRECT: &str = "first import: COPY straight into listings";
const RESTAGED: &str = "a key is in listings already or twice in the file: through staging";

/// A seller name no other test uses (the log file is shared).
fn seller(tag: &str) -> String {
    format!("first-{tag}-{}", std::process::id())
}

/// importdesk's log lines about `seller` that say `what`.
fn logged(seller: &str, what: &str) -> usize {
    let log = test_data_dir().join("files/logs/importdesk.log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let needle = format!("seller={seller}");
    text.lines()
        .filter(|l| l.contains(what) && l.split_whitespace().any(|w| w == needle))
        .count()
}

fn three_rows() -> String {
    format!(
        "{NATIVE_HEADER}\
         LAMP-1,Brass desk lamp,\"Warm light, solid brass\",19.99,USD,3,active,new,Home > Lighting,110012345678,2027-01-31T12:00:00Z\n\
         MUG-2,Mug \\ with a backslash,\"tab\there\",4.5,usd,0,,used,Kitchen,,\n\
         BIKE-3,\"Bike \"\"Roadster\"\"\",\"two\nlines\",1200.005,EUR,1,draft,,,,\n"
    )
}

/// The seller's listings, every imported column, as text.
async fn listings_of(t: &TestDb, seller: &str) -> Vec<Vec<Option<String>>> {
    t.client()
        .await
        .query(
            "SELECT sku, title, description, price::text, currency, quantity::text, status,
                    condition, category, listing_number, end_date::text
               FROM listings WHERE seller_id = $1 ORDER BY sku",
            &[&seller],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (0..11).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect()
}

/// Log rows of an import by (operation, image).
async fn captured(t: &TestDb, id: i64) -> Vec<(String, String, i64)> {
    t.client()
        .await
        .query(
            "SELECT audit_op::text, audit_image::text, count(*) FROM import_audit.log_listings
              WHERE audit_import_id = $1 GROUP BY 1, 2 ORDER BY 1, 2",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn a_first_import_copies_into_listings_beside_another_sellers_same_skus() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &three_rows());
    let (old, new) = (seller("old"), seller("new"));
    // Through the staging path (a seller login role: row-level security
    // applies to it, so it never COPYs into listings).
    let role = login_role(&t, "seller_old", Some(&old)).await;
    let staged = common::run_cli(
        &url_for_role(&t, &role),
        &["import", path.to_str().unwrap(), "--seller", &old, "--json"],
        None,
    );
    assert_eq!(staged.code, 0, "{}", staged.stderr);
    assert_eq!(staged.json()["counts"]["created"], 3);
    assert_eq!(logged(&old, DIRECT), 0, "a seller role stages");
    let old_rows = listings_of(&t, &old).await;

    // The dry run stages; the import it pins COPYs straight into listings
    // and must carry out the same plan (the same keys, hashed alike).
    let plan = import_json(&t, &path, &new, &["--dry-run"], 0)["plan_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let out = import_json(&t, &path, &new, &["--expect", &plan], 0);
    assert_eq!(
        logged(&new, DIRECT),
        1,
        "the new seller's import went direct"
    );
    assert_eq!(out["status"], "completed");
    assert_eq!(out["plan_fingerprint"], plan.as_str());
    let counts = &out["counts"];
    assert_eq!(
        [
            &counts["rows_read"],
            &counts["created"],
            &counts["updated"],
            &counts["unchanged"]
        ],
        [3, 3, 0, 0]
    );

    // The same values as the staging path wrote (status defaulted on
    // MUG-2, escapes and newlines kept), and the other seller untouched.
    assert_eq!(listings_of(&t, &new).await, old_rows);
    assert_eq!(listings_of(&t, &old).await, old_rows);
    assert_eq!(old_rows[2][6].as_deref(), Some("active"));
    assert_eq!(old_rows[2][1].as_deref(), Some("Mug \\ with a backslash"));

    // Captured by the database, row by row, and the history's counts
    // (checked against the capture when it committed) equal the rows.
    let id = out["import_id"].as_i64().unwrap();
    assert_eq!(captured(&t, id).await, [("I".into(), "N".into(), 3)]);
    let show = t.cli(&["show", &id.to_string(), "--json"]).json();
    assert_eq!(
        (show["status"].as_str(), show["created"].as_i64()),
        (Some("completed"), Some(3))
    );

    // A second import of the seller stages and finds nothing to change.
    let again = import_json(&t, &path, &new, &[], 0);
    assert_eq!(again["counts"]["unchanged"], 3);
    assert_eq!(logged(&new, DIRECT), 1);

    // And its rollback removes exactly what the first import created.
    let back = t.cli(&["rollback", "--last", "--seller", &new, "--yes", "--json"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    let back = t.cli(&["rollback", "--last", "--seller", &new, "--yes", "--json"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(back.json()["deleted"], 3);
    assert!(listings_of(&t, &new).await.is_empty());
    assert_eq!(listings_of(&t, &old).await, old_rows);
}

#[tokio::test]
async fn a_first_import_with_skip_invalid_copies_the_valid_rows_and_writes_rejects() {
    let t = TestDb::new().await;
    let s = seller("rejects");
    let csv = format!(
        "{NATIVE_HEADER}OK-1,Fine,,5.00,USD,1,active,,,,\nBAD-2,Broken,,abc,USD,1,active,,,,\n\
         OK-3,Fine too,,6.00,USD,2,,,,,\n"
    );
    let (_dir, path) = csv_file("mixed.csv", &csv);
    let out = import_json(&t, &path, &s, &["--skip-invalid"], 0);
    assert_eq!(logged(&s, DIRECT), 1);
    assert_eq!(logged(&s, RESTAGED), 0);
    let counts = &out["counts"];
    assert_eq!(
        [
            &counts["rows_read"],
            &counts["created"],
            &counts["rejected"]
        ],
        [3, 2, 1]
    );
    let rejects = out["rejects_file"].as_str().expect("a rejects file");
    let lines: Vec<String> = csv::Reader::from_path(rejects)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[11].to_string())
        .collect();
    assert_eq!(lines, ["3"]);
    let skus: Vec<_> = listings_of(&t, &s)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(skus, [Some("OK-1".to_string()), Some("OK-3".to_string())]);
    let id = out["import_id"].as_i64().unwrap();
    assert_eq!(captured(&t, id).await, [("I".into(), "N".into(), 2)]);
}

#[tokio::test]
async fn a_first_import_with_a_rejected_row_changes_nothing() {
    let t = TestDb::new().await;
    let s = seller("all-or-nothing");
    let csv = format!(
        "{NATIVE_HEADER}OK-1,Fine,,5.00,USD,1,active,,,,\nBAD-2,Broken,,abc,USD,1,active,,,,\n"
    );
    let (_dir, path) = csv_file("bad.csv", &csv);
    let before = dump_listings(&t).await;
    let out = import_json(&t, &path, &s, &[], 4);
    assert_eq!(logged(&s, DIRECT), 1);
    assert_eq!(out["status"], "failed");
    assert_eq!(out["counts"]["rejected"], 1);
    assert_eq!(dump_listings(&t).await, before);
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.log_listings").await,
        0
    );
}

#[tokio::test]
async fn a_duplicate_key_in_a_first_import_goes_back_through_staging() {
    let t = TestDb::new().await;
    let s = seller("dups");
    let csv = format!(
        "{NATIVE_HEADER}OK-1,Fine,,5.00,USD,1,active,,,,\nBAD-2,Broken,,abc,USD,1,active,,,,\n\
         DUP,One,,1,USD,1,active,,,,\nDUP,Two,,2,USD,1,active,,,,\n"
    );
    // A stem no earlier run left a rejects file for (the folder is kept).
    let stem = format!("{s}-{}", chrono::Utc::now().timestamp_micros());
    let (dir, path) = csv_file(&format!("{stem}.csv"), &csv);

    // All-or-nothing: rejected, both lines of the key named, nothing written.
    let out = import_json(&t, &path, &s, &[], 4);
    assert_eq!(logged(&s, RESTAGED), 1);
    assert_eq!(out["status"], "failed");
    assert_eq!(out["counts"]["rejected"], 3);
    let reasons = out["errors"].to_string();
    assert!(reasons.contains("also appears on line 5"), "{reasons}");
    assert!(reasons.contains("also appears on line 4"), "{reasons}");
    assert!(listings_of(&t, &s).await.is_empty());
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.log_listings").await,
        0
    );

    // --skip-invalid: the valid row goes in; one rejects file with every
    // rejected line (the direct pass's own file is gone).
    let out = import_json(&t, &path, &s, &["--skip-invalid"], 0);
    assert_eq!(logged(&s, RESTAGED), 2);
    assert_eq!(
        [&out["counts"]["created"], &out["counts"]["rejected"]],
        [1, 3]
    );
    let rejects = std::path::PathBuf::from(out["rejects_file"].as_str().unwrap());
    let mut lines: Vec<String> = csv::Reader::from_path(&rejects)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[11].to_string())
        .collect();
    lines.sort();
    assert_eq!(lines, ["3", "4", "5"]);
    let siblings = std::fs::read_dir(rejects.parent().unwrap())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(&format!("{stem}.")) && name.ends_with(".rejects.csv")
        })
        .count();
    assert_eq!(siblings, 1, "the first pass's rejects file is removed");
    let skus: Vec<_> = listings_of(&t, &s)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(skus, [Some("OK-1".to_string())]);
    drop(dir);
}

#[tokio::test]
async fn a_first_import_killed_midway_leaves_nothing() {
    let t = TestDb::new().await;
    let s = seller("killed");
    let mut csv = String::from(NATIVE_HEADER);
    for i in 0..400_000 {
        csv.push_str(&format!(
            "SKU-{i:08},Generated listing {i},\"A description, with a comma, row {i}\",{}.{:02},USD,{},active,new,Bench,,\n",
            i % 1000,
            i % 100,
            i % 50
        ));
    }
    let (_dir, path) = csv_file("big.csv", &csv);
    let id = common::session::kill_import_midstream(&t, &path, &s).await;
    assert_eq!(logged(&s, DIRECT), 1);
    let status = common::session::status_once_settled(&t, id);
    assert_eq!(status, "failed");
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.log_listings").await,
        0
    );
}
