//! Listings and their history at scale: the first page of a seller with
//! 1,000,000 listings, and the timeline of a listing with 1,000 changes in a
//! change log of 10,000,000 rows.
//!
//! ```text
//! cargo bench --bench listings                                   # 1M listings, 10M log rows
//! cargo bench --bench listings -- --listings 100000 --changes 100 --per-import 450   # quicker
//! ```
//!
//! The data set is made with set-based SQL, not through the importer (that
//! would take hours): `listings` filled with the capture triggers disabled,
//! and the change log written directly as the importer and the triggers
//! would have written it: import #1 created every listing (one new row
//! each), then `changes - 1` imports each updated `per-import` listings (an
//! old and a new row each), every one of them updating the measured listing
//! too, plus hand edits up to the log size. Change ids, statement ids and
//! times grow in that order, as they do for real.
//!
//! Timed: the domain functions the CLI and the console call
//! (`domain::listings::{browse, timeline, preview_restore}`), from the
//! caller's side (pool checkout, access check, queries, decoding), each
//! repeated; the first run is reported apart. Uses the test harness's
//! private PostgreSQL cluster (docs/testing.md). Targets (issue 14): first
//! page < 100 ms, timeline < 100 ms.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::TestDb;
use importdesk::domain::listings::{self, BrowseFilter, BrowseOrder};

const USAGE: &str = "usage: cargo bench --bench listings -- [--listings N] [--changes N] \
                     [--per-import N] [--log-rows N] [--repeat N]";

struct Options {
    listings: i64,
    /// Changes to the measured listing (its creation included).
    changes: i64,
    /// Listings each import updates.
    per_import: i64,
    /// Change-log rows in all (hand edits fill up to it).
    log_rows: i64,
    repeat: usize,
}

fn options() -> Options {
    let mut o = Options {
        listings: 1_000_000,
        changes: 1_000,
        per_import: 4_500,
        log_rows: 10_000_000,
        repeat: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> i64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number\n{USAGE}"))
        };
        match a.as_str() {
            "--listings" => o.listings = value("--listings"),
            "--changes" => o.changes = value("--changes"),
            "--per-import" => o.per_import = value("--per-import"),
            "--log-rows" => o.log_rows = value("--log-rows"),
            "--repeat" => o.repeat = value("--repeat") as usize,
            // `cargo bench` passes --bench to harness = false targets.
            "--bench" => {}
            other => panic!("unknown argument {other}\n{USAGE}"),
        }
    }
    assert!(
        o.per_import < o.listings,
        "--per-import must be below --listings"
    );
    o
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(options()));
}

/// The measured listing: updated by every import.
const TARGET: &str = "SKU-00000001";

/// Builds the data set; returns the number of change-log rows written.
async fn build(t: &TestDb, o: &Options) -> i64 {
    let c = t.client().await;
    let step = |what: &str, started: Instant| {
        eprintln!("# {what}: {:.1} s", started.elapsed().as_secs_f64());
    };
    let started = Instant::now();
    c.batch_execute("ALTER TABLE listings DISABLE TRIGGER USER")
        .await
        .unwrap();
    c.execute(
        "INSERT INTO listings (seller_id, sku, title, description, price, currency, quantity,
                               status, condition, category, listing_number, created_at, updated_at)
         SELECT 'big', 'SKU-' || lpad(g::text, 8, '0'), 'Listing ' || g || ', brass, blue',
                'A description of listing ' || g, (g % 500) + 0.99, 'USD', g % 50,
                CASE WHEN g % 10 = 0 THEN 'draft' ELSE 'active' END, 'new', 'Home',
                (100000000000 + g)::text,
                timestamptz '2026-01-01' , timestamptz '2026-01-01' + g * interval '1 second'
           FROM generate_series(1, $1::bigint) g",
        &[&o.listings],
    )
    .await
    .unwrap();
    c.batch_execute("ALTER TABLE listings ENABLE TRIGGER USER")
        .await
        .unwrap();
    step("listings", started);

    // The history: import #1 created them all, imports 2..=changes updated some.
    let imports = o.changes;
    c.execute(
        "INSERT INTO import_audit.imports (seller_id, file_name, profile, status, actor,
                                           started_at, finished_at, rows_read, created, updated)
         SELECT 'big', 'bench-' || g || '.csv', 'native', 'completed', 'bench',
                timestamptz '2026-01-01' + g * interval '1 hour',
                timestamptz '2026-01-01' + g * interval '1 hour' + interval '1 minute',
                CASE WHEN g = 1 THEN $1::bigint ELSE $2::bigint END,
                CASE WHEN g = 1 THEN $1::bigint ELSE 0 END,
                CASE WHEN g = 1 THEN 0 ELSE $2::bigint END
           FROM generate_series(1, $3::bigint) g",
        &[&o.listings, &o.per_import, &imports],
    )
    .await
    .unwrap();

    let started = Instant::now();
    const COLUMNS: &str = "audit_change_id, audit_stmt_id, audit_op, audit_image, audit_import_id,
        audit_actor, audit_role, audit_txid, audit_at, seller_id, sku, title, description, price,
        currency, quantity, status, condition, category, listing_number, created_at, updated_at";
    // Import #1: one new row per listing (change ids 1..=listings).
    c.execute(
        &format!(
            "INSERT INTO import_audit.log_listings ({COLUMNS})
             SELECT g, 1, 'I', 'N', 1, 'bench', 'bench', '1', timestamptz '2026-01-01 01:00',
                    'big', 'SKU-' || lpad(g::text, 8, '0'), 'Listing ' || g, 'first', 1.00, 'USD', 1,
                    'active', 'new', 'Home', NULL, timestamptz '2026-01-01', timestamptz '2026-01-01'
               FROM generate_series(1, $1::bigint) g"
        ),
        &[&o.listings],
    )
    .await
    .unwrap();
    step("change log: import #1", started);
    // Imports 2..=changes: import k updates `per_import` listings starting at
    // a different place each time, and the target; old rows, then new rows.
    let started = Instant::now();
    c.execute(
        &format!(
            "INSERT INTO import_audit.log_listings ({COLUMNS})
             SELECT $1::bigint + (k - 2) * 2 * $2::bigint + (img = 'N')::int * $2::bigint + j,
                    k, 'U', img, k, 'bench', 'bench', k::text::xid8,
                    timestamptz '2026-01-01' + k * interval '1 hour',
                    'big', sku, 'Listing v' || (k - (img = 'O')::int), 'update', (k % 500) + 0.99,
                    'USD', k % 50, 'active', 'new', 'Home', NULL, timestamptz '2026-01-01',
                    timestamptz '2026-01-01' + (k - (img = 'O')::int) * interval '1 hour'
               FROM generate_series(2, $3::bigint) k
              CROSS JOIN generate_series(0, $2::bigint - 1) j
              CROSS JOIN LATERAL (SELECT CASE WHEN j = 0 THEN 1
                                              ELSE 2 + ((k * 7919 + j) % ($4::bigint - 1)) END AS n) pick
              CROSS JOIN LATERAL (SELECT 'SKU-' || lpad(pick.n::text, 8, '0') AS sku) key
              CROSS JOIN (VALUES ('O'::\"char\"), ('N'::\"char\")) images(img)
              ORDER BY 1"
        ),
        &[&o.listings, &o.per_import, &imports, &o.listings],
    )
    .await
    .unwrap();
    step("change log: the updating imports", started);
    let written: i64 = c
        .query_one("SELECT count(*) FROM import_audit.log_listings", &[])
        .await
        .unwrap()
        .get(0);
    // Hand edits of other listings up to the log size (an old and a new row each).
    let started = Instant::now();
    let edits = ((o.log_rows - written) / 2).max(0);
    let next_id: i64 = c
        .query_one(
            "SELECT max(audit_change_id) + 1 FROM import_audit.log_listings",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    c.execute(
        &format!(
            "INSERT INTO import_audit.log_listings ({COLUMNS})
             SELECT $1::bigint + e * 2 + (img = 'N')::int, $2::bigint + e, 'U', img, NULL, 'jane',
                    'support_jane', ($2::bigint + e)::text::xid8,
                    timestamptz '2026-03-01' + e * interval '1 second',
                    'big', 'SKU-' || lpad((2 + e % ($4::bigint - 1))::text, 8, '0'), 'Edited by hand',
                    'hand', 9.99, 'USD', 1, 'active', 'new', 'Home', NULL,
                    timestamptz '2026-01-01', timestamptz '2026-03-01'
               FROM generate_series(0, $3::bigint - 1) e
              CROSS JOIN (VALUES ('O'::\"char\"), ('N'::\"char\")) images(img)
              ORDER BY e, img DESC"
        ),
        &[&next_id, &(imports + 1), &edits, &o.listings],
    )
    .await
    .unwrap();
    step("change log: hand edits", started);
    let started = Instant::now();
    for sql in [
        "SELECT setval('import_audit.change_seq', (SELECT max(audit_change_id) FROM import_audit.log_listings))",
        "SELECT setval('import_audit.statement_seq', (SELECT max(audit_stmt_id) FROM import_audit.log_listings))",
        // One statement each: VACUUM refuses to run inside a transaction block.
        "VACUUM ANALYZE listings",
        "VACUUM ANALYZE import_audit.log_listings",
        "VACUUM ANALYZE import_audit.imports",
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    step("vacuum analyze", started);
    c.query_one("SELECT count(*) FROM import_audit.log_listings", &[])
        .await
        .unwrap()
        .get(0)
}

struct Row {
    what: &'static str,
    first: Duration,
    times: Vec<Duration>,
    target_ms: Option<f64>,
    note: String,
}

fn print_table(rows: &[Row]) {
    println!("| what | first run ms | p50 ms | p95 ms | max ms | target | result |");
    println!("|---|---:|---:|---:|---:|---|---|");
    for r in rows {
        let mut t = r.times.clone();
        t.sort();
        let pct = |p: f64| t[((t.len() as f64 * p) as usize).min(t.len() - 1)].as_secs_f64() * 1e3;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let target = r
            .target_ms
            .map(|ms| format!("< {ms} ms"))
            .unwrap_or_default();
        let verdict = match r.target_ms {
            Some(limit) if pct(0.95) < limit => "met".to_string(),
            Some(_) => "MISSED".to_string(),
            None => String::new(),
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {target} | {verdict} {} |",
            r.what,
            ms(r.first),
            pct(0.5),
            pct(0.95),
            ms(*t.last().unwrap()),
            r.note
        );
    }
}

/// Runs `f` once (the first run) and then `repeat` times.
async fn measure<F, Fut, T>(repeat: usize, mut f: F) -> (Duration, Vec<Duration>, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let started = Instant::now();
    let out = f().await;
    let first = started.elapsed();
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        let _ = f().await;
        times.push(started.elapsed());
    }
    (first, times, out)
}

async fn run(o: Options) {
    let t = TestDb::new().await;
    let started = Instant::now();
    let log_rows = build(&t, &o).await;
    eprintln!(
        "# data set: {} listings of seller big, {log_rows} change-log rows, {} changes to {TARGET} ({:.0} s)",
        o.listings,
        o.changes,
        started.elapsed().as_secs_f64()
    );
    let db = &t.db;
    let browse = |order, search: Option<&str>, status: Option<&str>| BrowseFilter {
        seller: "big".into(),
        search: search.map(str::to_string),
        status: status.map(str::to_string),
        order,
        after: None,
        limit: 50,
    };
    let mut rows = Vec::new();
    let one_sku = format!("sku-{:08}", o.listings / 2);
    for (what, filter, target) in [
        (
            "listings: first page (50) by SKU",
            browse(BrowseOrder::Sku, None, None),
            Some(100.0),
        ),
        (
            // No index by last change (its cost to imports: docs/performance.md).
            "listings: first page (50) by last change",
            browse(BrowseOrder::LastChange, None, None),
            None,
        ),
        (
            "listings: first page, status draft",
            browse(BrowseOrder::Sku, None, Some("draft")),
            None,
        ),
        (
            "listings: search a title word in every listing",
            browse(BrowseOrder::Sku, Some("BRASS"), None),
            None,
        ),
        (
            "listings: search a SKU that matches one listing",
            browse(BrowseOrder::Sku, Some(&one_sku), None),
            None,
        ),
    ] {
        let (first, times, page) = measure(o.repeat, || listings::browse(db, &filter)).await;
        let page = page.unwrap();
        rows.push(Row {
            what,
            first,
            times,
            target_ms: target,
            note: format!("({} rows)", page.listings.len()),
        });
    }
    // The next page after the first by SKU: keyset, as cheap as the first.
    let first_page = listings::browse(db, &browse(BrowseOrder::Sku, None, None))
        .await
        .unwrap();
    assert_eq!(first_page.listings[0].sku, TARGET, "SKU order");
    let mut second = browse(BrowseOrder::Sku, None, None);
    second.after = first_page.next.clone();
    let (first, times, page) = measure(o.repeat, || listings::browse(db, &second)).await;
    assert_eq!(page.unwrap().listings.len(), 50);
    rows.push(Row {
        what: "listings: next page (keyset)",
        first,
        times,
        target_ms: None,
        note: String::new(),
    });

    let (first, times, tl) =
        measure(o.repeat, || listings::timeline(db, "big", TARGET, None, 50)).await;
    let tl = tl.unwrap();
    assert_eq!(tl.changes.len(), 50.min(o.changes as usize));
    rows.push(Row {
        what: "timeline: first page (50 changes)",
        first,
        times,
        target_ms: Some(100.0),
        note: format!("(of {} changes)", o.changes),
    });
    let (first, times, full) = measure(o.repeat, || {
        listings::timeline(db, "big", TARGET, None, o.changes + 10)
    })
    .await;
    let full = full.unwrap();
    assert_eq!(
        full.changes.len() as i64,
        o.changes,
        "every change of {TARGET}, once"
    );
    assert!(
        full.changes
            .windows(2)
            .all(|w| w[0].change_id > w[1].change_id)
    );
    rows.push(Row {
        what: "timeline: all changes at once",
        first,
        times,
        target_ms: Some(100.0),
        note: format!("({} changes)", full.changes.len()),
    });
    let middle = full.changes[full.changes.len() / 2].change_id;
    let (first, times, preview) = measure(o.repeat, || {
        listings::preview_restore(db, "big", TARGET, middle)
    })
    .await;
    let preview = preview.unwrap();
    rows.push(Row {
        what: "restore preview (a change in the middle)",
        first,
        times,
        target_ms: None,
        note: format!("({} fields differ)", preview.diff.len()),
    });
    let any = importdesk::domain::audit::AuditFilter::default();
    let (first, times, edits) =
        measure(o.repeat, || listings::hand_edits(db, &any, None, 50)).await;
    rows.push(Row {
        what: "audit: newest 50 hand edits",
        first,
        times,
        target_ms: None,
        note: format!("({} edits)", edits.unwrap().len()),
    });

    println!(
        "\n{} listings for one seller, {log_rows} change-log rows, {} changes to the measured listing; \
         {} runs each after a first one\n",
        o.listings, o.changes, o.repeat
    );
    print_table(&rows);
}
