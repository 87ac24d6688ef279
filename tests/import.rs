//! CSV import (issue 3) against a real PostgreSQL, through the real binary.

mod common;

use common::session::wait_for_running_import;
use common::{
    NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json, our_backends,
    stat_once_others_ended,
};

fn sample() -> String {
    format!(
        "{NATIVE_HEADER}\
         LAMP-1,Brass desk lamp,\"Warm light, <b>solid</b> brass\",19.99,USD,3,active,new,Home > Lighting,110012345678,2027-01-31T12:00:00Z\n\
         MUG-2,Mug ☕,,4.5,usd,0,draft,used,Kitchen,,\n\
         BIKE-3,\"Bike \"\"Roadster\"\"\",\"two\nlines\",1200.005,EUR,1,active,,,,\n"
    )
}

#[tokio::test]
async fn a_new_file_creates_every_listing_with_exact_values() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    let out = import_json(&t, &path, "acme", &[], 0);
    assert_eq!(out["status"], "completed");
    assert_eq!(out["counts"]["rows_read"], 3);
    assert_eq!(out["counts"]["created"], 3);
    assert_eq!(out["profile"], "native");
    let id = out["import_id"].as_i64().unwrap();

    let c = t.client().await;
    let row = c
        .query_one(
            "SELECT title, description, price::text, currency, quantity, status, condition, category,
                    listing_number, end_date::text FROM listings WHERE seller_id = 'acme' AND sku = 'LAMP-1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Brass desk lamp");
    assert_eq!(row.get::<_, String>(1), "Warm light, <b>solid</b> brass");
    assert_eq!(row.get::<_, String>(2), "19.99");
    assert_eq!(row.get::<_, String>(3), "USD");
    assert_eq!(row.get::<_, i32>(4), 3);
    assert_eq!(row.get::<_, String>(5), "active");
    assert_eq!(row.get::<_, String>(6), "new");
    assert_eq!(row.get::<_, String>(7), "Home > Lighting");
    assert_eq!(row.get::<_, String>(8), "110012345678");
    assert_eq!(row.get::<_, String>(9), "2027-01-31 12:00:00+00");

    let bike = c
        .query_one(
            "SELECT title, description, price::text FROM listings WHERE sku = 'BIKE-3'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(bike.get::<_, String>(0), "Bike \"Roadster\"");
    assert_eq!(bike.get::<_, String>(1), "two\nlines");
    assert_eq!(
        bike.get::<_, String>(2),
        "1200.005",
        "decimals are kept exactly"
    );
    let mug_currency: String = c
        .query_one("SELECT currency FROM listings WHERE sku = 'MUG-2'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(mug_currency, "USD");

    // History and audit say the same.
    let show = t.cli(&["show", &id.to_string(), "--json"]).json();
    assert_eq!(show["status"], "completed");
    assert_eq!(show["created"], 3);
    assert_eq!(show["file_size"].as_i64().unwrap(), sample().len() as i64);
    assert_eq!(show["file_sha256"].as_str().unwrap().len(), 64);
    let actions: Vec<String> = t
        .cli(&["audit", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["import completed", "import started"]);
    // Every created row was captured, tagged with the import.
    assert_eq!(
        count(
            &t,
            &format!("SELECT count(*) FROM import_audit.log_listings WHERE audit_import_id = {id}")
        )
        .await,
        3
    );
}

#[tokio::test]
async fn reimporting_the_same_file_changes_and_logs_nothing() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    import_json(&t, &path, "acme", &[], 0);
    let before = dump_listings(&t).await;
    let logged = count(&t, "SELECT count(*) FROM import_audit.log_listings").await;

    let out = import_json(&t, &path, "acme", &[], 0);
    assert_eq!(out["counts"]["unchanged"], 3);
    assert_eq!(out["counts"]["created"], 0);
    assert_eq!(out["counts"]["updated"], 0);
    assert_eq!(dump_listings(&t).await, before, "not even updated_at moves");
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.log_listings").await,
        logged
    );
}

#[tokio::test]
async fn a_changed_file_updates_only_changed_rows_and_logs_exact_before_images() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    import_json(&t, &path, "acme", &[], 0);
    let changed = sample().replace("19.99,USD,3", "17.50,USD,2");
    let (_dir2, path2) = csv_file("listings-v2.csv", &changed);
    let out = import_json(&t, &path2, "acme", &[], 0);
    assert_eq!(out["counts"]["updated"], 1);
    assert_eq!(out["counts"]["unchanged"], 2);
    let id = out["import_id"].as_i64().unwrap();
    let c = t.client().await;
    let rows = c
        .query(
            "SELECT sku, audit_image::text, price::text, quantity FROM import_audit.log_listings
              WHERE audit_import_id = $1 ORDER BY audit_image DESC",
            &[&id],
        )
        .await
        .unwrap();
    let seen: Vec<(String, String, String, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        seen,
        [
            ("LAMP-1".into(), "O".into(), "19.99".into(), 3),
            ("LAMP-1".into(), "N".into(), "17.50".into(), 2)
        ]
    );
}

#[tokio::test]
async fn a_rejected_row_rejects_the_whole_import_and_names_line_and_column() {
    let t = TestDb::new().await;
    let csv = format!(
        "{NATIVE_HEADER}OK-1,Fine,,5.00,USD,1,active,,,,\nBAD-2,Broken,,abc,USD,1,active,,,,\n"
    );
    let (_dir, path) = csv_file("bad.csv", &csv);
    let out = import_json(&t, &path, "acme", &[], 4);
    assert_eq!(out["status"], "failed");
    assert_eq!(out["counts"]["rejected"], 1);
    assert_eq!(out["counts"]["rows_read"], 2);
    assert_eq!(out["errors"][0]["line"], 3);
    assert_eq!(out["errors"][0]["column"], 4);
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings").await,
        0,
        "nothing changed"
    );
    let id = out["import_id"].as_i64().unwrap();
    let show = t.cli(&["show", &id.to_string(), "--json"]).json();
    assert_eq!(show["status"], "failed");
    assert!(
        show["error_summary"]
            .as_str()
            .unwrap()
            .contains("nothing was imported")
    );
}

#[tokio::test]
async fn skip_invalid_imports_valid_rows_and_writes_a_rejects_file() {
    let t = TestDb::new().await;
    let csv = format!(
        "{NATIVE_HEADER}OK-1,Fine,,5.00,USD,1,active,,,,\nBAD-2,Broken,,abc,USD,1,active,,,,\n\
         DUP,One,,1,USD,1,active,,,,\nDUP,Two,,2,USD,1,active,,,,\nOK-5,=HYPERLINK(\"x\"),,1,USD,-4,active,,,,\n"
    );
    let (_dir, path) = csv_file("mixed.csv", &csv);
    let out = import_json(&t, &path, "acme", &["--skip-invalid"], 0);
    assert_eq!(out["status"], "completed");
    let counts = &out["counts"];
    assert_eq!(counts["rows_read"], 5);
    assert_eq!(counts["created"], 1);
    assert_eq!(
        counts["rejected"], 4,
        "bad price, negative quantity and both duplicate lines"
    );
    assert_eq!(
        counts["rows_read"].as_u64(),
        Some(
            ["created", "updated", "unchanged", "rejected"]
                .iter()
                .map(|k| counts[k].as_u64().unwrap())
                .sum()
        )
    );
    let rejects = out["rejects_file"].as_str().expect("rejects file");
    let mut reader = csv::Reader::from_path(rejects).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &headers[headers.len() - 3..],
        ["_line", "_column", "_reason"]
    );
    let mut lines: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[11].to_string())
        .collect();
    lines.sort();
    assert_eq!(lines, ["3", "4", "5", "6"]);
    let skus: Vec<String> = t
        .client()
        .await
        .query("SELECT sku FROM listings ORDER BY sku", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(skus, ["OK-1"]);
}

#[tokio::test]
async fn dry_run_reports_per_field_changes_and_changes_nothing() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    import_json(&t, &path, "acme", &[], 0);
    let before = dump_listings(&t).await;
    let history_before = count(&t, "SELECT count(*) FROM import_audit.imports").await;
    // Sequences are not transactional: a dry run that wrote and then rolled
    // back would have moved the change log's position.
    let position = "SELECT last_value FROM import_audit.change_seq";
    let position_before = count(&t, position).await;
    let changed =
        sample().replace("19.99,USD,3", "17.50,USD,2") + "NEW-9,New,,1,USD,1,active,,,,\n";
    let (_dir2, path2) = csv_file("v2.csv", &changed);
    let out = import_json(&t, &path2, "acme", &["--dry-run"], 0);
    assert_eq!(
        count(&t, position).await,
        position_before,
        "a dry run writes nothing"
    );
    assert_eq!(out["status"], "dry_run");
    assert_eq!(out["counts"]["created"], 1);
    assert_eq!(out["counts"]["updated"], 1);
    assert_eq!(out["changes"][0]["sku"], "LAMP-1");
    assert_eq!(
        out["changes"][0]["changes"]["price"],
        serde_json::json!(["19.99", "17.50"])
    );
    assert_eq!(
        out["changes"][0]["changes"]["quantity"],
        serde_json::json!(["3", "2"])
    );
    assert_eq!(dump_listings(&t).await, before);
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.imports").await,
        history_before
    );
}

/// A dry run that would update more listings than it shows lists the first
/// 100 in key order, each with its own changes (the keys come from the
/// counting join, the values from a second look at those keys only).
#[tokio::test]
async fn a_dry_run_shows_the_first_hundred_updates_in_key_order() {
    let t = TestDb::new().await;
    let file = |bump: u32| {
        // Written in reverse key order, so file order is not key order.
        let rows: String = (0..150u32)
            .rev()
            .map(|i| format!("K-{i:03},Item {i},,{}.00,USD,{i},active,,,,\n", i + bump))
            .collect();
        format!("{NATIVE_HEADER}{rows}")
    };
    let (_d1, first) = csv_file("v1.csv", &file(0));
    import_json(&t, &first, "acme", &[], 0);
    // Every even key gets a new price: 75 updates.
    let second: String = file(0)
        .lines()
        .map(|line| match line.strip_prefix("K-") {
            Some(rest) if rest[..3].parse::<u32>().unwrap() % 2 == 0 => {
                line.replacen(".00,USD", ".50,USD", 1) + "\n"
            }
            _ => format!("{line}\n"),
        })
        .collect();
    // ...and 150 more keys, every one an update of its price too.
    let more: String = (150..300u32)
        .map(|i| format!("K-{i:03},Item {i},,{i}.00,USD,{i},active,,,,\n"))
        .collect();
    let (_d0, base) = csv_file("v0.csv", &format!("{NATIVE_HEADER}{more}"));
    import_json(&t, &base, "acme", &[], 0);
    let more_changed = more.replace(".00,USD", ".25,USD");
    // The later keys first: the first 100 updates in file order are not
    // the first 100 in key order.
    let (_d2, path) = csv_file(
        "v2.csv",
        &format!(
            "{NATIVE_HEADER}{more_changed}{}",
            &second[NATIVE_HEADER.len()..]
        ),
    );
    let out = import_json(&t, &path, "acme", &["--dry-run"], 0);
    assert_eq!(out["counts"]["updated"], 75 + 150, "{out}");
    let changes = out["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 100);
    let expected: Vec<String> = (0..150u32)
        .step_by(2)
        .chain(150..300)
        .take(100)
        .map(|i| format!("K-{i:03}"))
        .collect();
    let shown: Vec<&str> = changes.iter().map(|c| c["sku"].as_str().unwrap()).collect();
    assert_eq!(shown, expected);
    assert_eq!(
        changes[0]["changes"],
        serde_json::json!({"price": ["0.00", "0.50"]})
    );
    assert_eq!(
        changes[99]["changes"],
        serde_json::json!({"price": ["174.00", "174.25"]})
    );
}

/// `listings`' statistics are shared by every seller: analysed while they
/// held other sellers' listings only, they say a newly imported seller has
/// (about) no listings. The dry run's preview of the first updates then
/// started from the seller's listings and looked the staged rows up once per
/// listing: it read every listing of the seller a second time, and at 1M
/// listings took 21-43 s instead of milliseconds. It must read about one
/// listing per previewed update, whatever the statistics say.
#[tokio::test]
async fn a_dry_run_previews_by_key_when_statistics_predate_the_sellers_listings() {
    let t = TestDb::new().await;
    let admin = t.db.connect_dedicated().await.unwrap();
    admin
        .batch_execute(
            "ALTER TABLE listings SET (autovacuum_enabled = false);
             INSERT INTO listings (seller_id, sku, title, price, currency, quantity, status)
             SELECT 'others', 'O' || g, 'other ' || g, 1, 'USD', 1, 'active'
               FROM generate_series(1, 3000) g;
             ANALYZE listings;",
        )
        .await
        .unwrap();
    let ours = our_backends(&t, &admin).await;
    let rows = 2000u32;
    let file = |changed: bool| {
        let body: String = (0..rows)
            .map(|i| {
                let cents = if changed && i % 3 == 0 { 50 } else { 0 };
                format!("K-{i:05},Item {i},,{i}.{cents:02},USD,1,active,,,,\n")
            })
            .collect();
        format!("{NATIVE_HEADER}{body}")
    };
    let (_d1, first) = csv_file("first.csv", &file(false));
    import_json(&t, &first, "acme", &[], 0);
    let (_d2, changed) = csv_file("changed.csv", &file(true));
    let stale = count(
        &t,
        "SELECT count(*) FROM pg_stats WHERE tablename = 'listings' AND attname = 'seller_id'
            AND NOT 'acme' = ANY (most_common_vals::text::text[])",
    )
    .await;
    assert_eq!(
        stale, 1,
        "the statistics have seen acme: the test no longer shows the case"
    );

    let listings_read = "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
                           FROM pg_stat_user_tables WHERE relname = 'listings'";
    let before = stat_once_others_ended(&admin, &ours, listings_read).await;
    let out = import_json(&t, &changed, "acme", &["--dry-run"], 0);
    let read = stat_once_others_ended(&admin, &ours, listings_read).await - before;
    let updates = (rows as i64 + 2) / 3;
    assert_eq!(out["counts"]["updated"], updates, "{out}");
    let changes = out["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 100);
    assert_eq!(
        changes[1]["changes"],
        serde_json::json!({"price": ["3.00", "3.50"]})
    );
    // Counting reads each of acme's listings once; the preview, about one
    // per update it shows.
    assert!(
        read < rows as i64 + 10 * 100,
        "the dry run of {rows} rows read {read} listings"
    );
}

/// Two sellers with the same SKUs and different values: each import
/// creates its seller's own listings and never updates the other's.
#[tokio::test]
async fn an_import_only_touches_its_own_seller() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    import_json(&t, &path, "acme", &[], 0);
    let acme = dump_listings(&t).await;
    let theirs = sample()
        .replace("Brass desk lamp", "Globex lamp")
        .replace("19.99,USD,3", "25.00,USD,9")
        .replace("Mug ☕,,4.5", "Globex mug,,6");
    let (_dir2, other) = csv_file("globex.csv", &theirs);
    let out = import_json(&t, &other, "globex", &[], 0);
    assert_eq!(out["counts"]["created"], 3);
    assert_eq!(out["counts"]["updated"], 0);
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 6);
    assert_eq!(
        dump_listings(&t).await[..3],
        acme[..],
        "acme's listings (sorted first) are as acme imported them"
    );
    let globex: Vec<(String, String)> = t
        .client()
        .await
        .query(
            "SELECT title, price::text FROM listings WHERE seller_id = 'globex' ORDER BY sku",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        globex,
        [
            ("Bike \"Roadster\"".to_string(), "1200.005".to_string()),
            ("Globex lamp".to_string(), "25.00".to_string()),
            ("Globex mug".to_string(), "6".to_string())
        ]
    );
    // Importing acme's file again changes nothing of acme's.
    let again = import_json(&t, &path, "acme", &[], 0);
    assert_eq!(again["counts"]["unchanged"], 3);
}

#[tokio::test]
async fn a_missing_file_is_a_clear_error() {
    let t = TestDb::new().await;
    let run = t.cli(&["import", "/nonexistent/listings.csv", "--seller", "acme"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.contains("cannot open the file"),
        "{}",
        run.stdout
    );
}

/// Generates `rows` native rows (for the kill and concurrency tests).
fn big_file(rows: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut s = String::from(NATIVE_HEADER);
    for i in 0..rows {
        s.push_str(&format!(
            "SKU-{i:08},Generated listing number {i},\"A description, with a comma, for row {i}\",{}.{:02},USD,{},active,new,Bench,,\n",
            i % 1000,
            i % 100,
            i % 50
        ));
    }
    csv_file("big.csv", &s)
}

#[tokio::test]
async fn a_killed_import_leaves_no_listing_and_ends_failed() {
    let t = TestDb::new().await;
    let (_dir, path) = big_file(400_000);
    let id = common::session::kill_import_midstream(&t, &path, "acme").await;
    // The server notices the dead client and rolls its transaction back.
    let status = common::session::status_once_settled(&t, id);
    assert_eq!(status, "failed");
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
    assert_eq!(
        count(
            &t,
            &format!("SELECT count(*) FROM import_audit.log_listings WHERE audit_import_id = {id}")
        )
        .await,
        0
    );
}

#[tokio::test]
async fn two_imports_for_one_seller_never_interleave() {
    let t = TestDb::new().await;
    let (_dir, path) = big_file(150_000);
    let first = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args([
            "--database-url",
            &t.url(),
            "import",
            path.to_str().unwrap(),
            "--seller",
            "acme",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_running_import(&t).await;
    let (_dir2, small) = csv_file("small.csv", &sample());
    let second = t.cli(&["import", small.to_str().unwrap(), "--seller", "acme"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(second.stderr.contains("in progress"), "{}", second.stderr);
    // Another seller is not blocked by acme's lock.
    let other = t.cli(&["import", small.to_str().unwrap(), "--seller", "globex"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE seller_id = 'acme'").await,
        150_000
    );
}

#[tokio::test]
async fn a_file_without_a_column_never_clears_that_column() {
    let t = TestDb::new().await;
    let (_dir, path) = csv_file("listings.csv", &sample());
    import_json(&t, &path, "acme", &[], 0);
    let (_dir2, narrow) = csv_file("prices.csv", "sku,price\nLAMP-1,18.00\nMUG-2,4.5\n");
    let out = import_json(&t, &narrow, "acme", &[], 0);
    assert_eq!(out["counts"]["updated"], 1);
    assert_eq!(out["counts"]["unchanged"], 1);
    let row = t
        .client()
        .await
        .query_one(
            "SELECT price::text, description, currency, quantity, status FROM listings WHERE sku = 'LAMP-1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "18.00");
    assert_eq!(row.get::<_, String>(1), "Warm light, <b>solid</b> brass");
    assert_eq!(row.get::<_, String>(2), "USD");
    assert_eq!(row.get::<_, i32>(3), 3);
    assert_eq!(row.get::<_, String>(4), "active");
}

#[tokio::test]
async fn every_profile_fixture_imports() {
    let t = TestDb::new().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profiles");
    for (file, profile) in [
        ("native.csv", "native"),
        ("ebay_file_exchange.csv", "ebay"),
        ("ebay_seller_hub.csv", "ebay"),
        ("etsy.csv", "etsy"),
        ("shopify.csv", "shopify"),
        ("woocommerce.csv", "woocommerce"),
        ("magento.csv", "magento"),
    ] {
        // The fixtures are messy on purpose: some rows are rejected.
        let seller = file.trim_end_matches(".csv");
        let out = import_json(&t, &dir.join(file), seller, &["--skip-invalid"], 0);
        assert_eq!(out["profile"], profile, "{file}");
        assert_eq!(out["profile_detected"], true, "{file}");
        let c = &out["counts"];
        let created = c["created"].as_i64().unwrap();
        assert!(created > 0, "{file}: {out}");
        assert_eq!(
            c["rows_read"].as_i64().unwrap(),
            created + c["rejected"].as_i64().unwrap(),
            "{file}"
        );
        assert_eq!(
            count(
                &t,
                &format!("SELECT count(*) FROM listings WHERE seller_id = '{seller}'")
            )
            .await,
            created,
            "{file}"
        );
    }
}

/// A large import leaves the change log's planner statistics and BRIN
/// summaries current (so the rollback preview plans from the right side at
/// once, not a minute later when autovacuum comes by).
#[tokio::test]
async fn a_large_import_refreshes_the_change_log_statistics() {
    let t = TestDb::new().await;
    let mut csv = String::from(NATIVE_HEADER);
    for i in 0..3000 {
        csv.push_str(&format!("K{i:05},Item {i},,1.00,USD,1,active,,,,\n"));
    }
    let (_d, path) = csv_file("big.csv", &csv);
    import_json(&t, &path, "acme", &[], 0);
    let c = t.client().await;
    let reltuples: f32 = c
        .query_one(
            "SELECT reltuples FROM pg_class WHERE oid = 'import_audit.log_listings'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reltuples, 3000.0, "analysed with the import's rows");
    let unsummarised: i32 = c
        .query_one(
            "SELECT brin_summarize_new_values('import_audit.log_listings_change_brin')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        unsummarised, 0,
        "the import summarised the ranges it filled"
    );
}
