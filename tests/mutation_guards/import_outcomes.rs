//! What an import reports besides the listings: the progress phases it goes
//! through, and the counts of a file it rejects.

use std::path::Path;
use std::sync::{Arc, Mutex};

use importdesk::domain::actor::Actor;
use importdesk::domain::import::profile::MapOptions;
use importdesk::domain::import::{
    ImportError, ImportOutcome, ImportRequest, ImportStatus, Phase, Progress, ProgressFn, run,
};

use crate::common::{NATIVE_HEADER, TestDb, count, csv_file, import_json};

pub(crate) fn request(
    path: &Path,
    seller: &str,
    dry_run: bool,
    skip_invalid: bool,
) -> ImportRequest {
    ImportRequest {
        path: path.to_path_buf(),
        seller: seller.into(),
        profile: None,
        options: MapOptions::default(),
        dry_run,
        skip_invalid,
        actor: Actor {
            os_user: "guard".into(),
            client_addr: None,
        },
        rejects_dir: path.parent().unwrap().join("rejects"),
        expect: None,
        cancel: Default::default(),
    }
}

/// Runs the import and returns its outcome and every progress report.
async fn import_watched(t: &TestDb, req: ImportRequest) -> (ImportOutcome, Vec<Progress>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let progress: ProgressFn = Arc::new(move |p| sink.lock().unwrap().push(p));
    let outcome = run(&t.db, req, Some(progress)).await.expect("import");
    let seen = seen.lock().unwrap().clone();
    (outcome, seen)
}

/// The phases after reading, each once, in the order reported.
fn phases_after_reading(seen: &[Progress]) -> Vec<Phase> {
    let mut phases: Vec<Phase> = seen
        .iter()
        .map(|p| p.phase)
        .filter(|p| *p != Phase::Reading)
        .collect();
    phases.dedup();
    phases
}

#[tokio::test]
async fn an_import_reports_each_phase_in_order_and_ends_with_every_row_read() {
    let t = TestDb::new().await;
    let csv = format!(
        "{NATIVE_HEADER}A-1,Lamp,,1.00,USD,1,active,new,,,\n\
         A-2,Mug,,2.00,USD,1,active,new,,,\n\
         A-3,Bike,,3.00,USD,1,active,new,,,\n"
    );
    let (_dir, path) = csv_file("phases.csv", &csv);
    let size = std::fs::metadata(&path).unwrap().len();
    for (dry_run, expected) in [
        (true, vec![Phase::Loading, Phase::Applying, Phase::Done]),
        (
            false,
            vec![
                Phase::Loading,
                Phase::Applying,
                Phase::Recording,
                Phase::Done,
            ],
        ),
    ] {
        let (outcome, seen) = import_watched(&t, request(&path, "phases", dry_run, false)).await;
        assert_eq!(outcome.counts.rows_read, 3);
        assert_eq!(phases_after_reading(&seen), expected, "dry run {dry_run}");
        let last = seen.last().unwrap();
        assert_eq!(
            (last.rows_read, last.bytes_read, last.total_bytes),
            (3, size, size),
            "dry run {dry_run}"
        );
    }
}

#[tokio::test]
async fn a_rejected_import_still_counts_the_rows_that_are_not_listings() {
    let t = TestDb::new().await;
    // The Magento fixture holds store-view rows and priceless parents
    // (ignored) and a few invalid rows (rejected).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profiles/magento.csv");
    let (dir, path) = csv_file("magento.csv", &std::fs::read_to_string(fixture).unwrap());
    let (checked, _) = import_watched(&t, request(&path, "ignored", true, true)).await;
    assert_eq!(checked.status, ImportStatus::DryRun);
    assert!(checked.counts.ignored > 0 && checked.counts.rejected > 0);
    let (rejected, _) = import_watched(&t, request(&path, "ignored", false, false)).await;
    assert_eq!(rejected.status, ImportStatus::Failed);
    assert_eq!(rejected.counts.ignored, checked.counts.ignored);
    assert_eq!(rejected.counts.rejected, checked.counts.rejected);
    // Its speed is the rows read over its duration, as a completed one's.
    assert!(rejected.duration_seconds > 0.0);
    let speed = rejected.counts.rows_read as f64 / rejected.duration_seconds;
    assert!(
        (rejected.rows_per_second - speed).abs() < 1e-6 * speed,
        "{} rows/s, expected {speed}",
        rejected.rows_per_second
    );
    drop(dir);
}

/// A large first import whose duplicate key comes first: PostgreSQL refuses
/// the COPY while rows are still being sent (tokio-postgres reports it when
/// the COPY ends); the import goes through staging, which names both lines.
#[tokio::test]
async fn a_large_first_import_with_an_early_duplicate_goes_back_through_staging() {
    let t = TestDb::new().await;
    let mut csv = format!(
        "{NATIVE_HEADER}DUP,One,,1.00,USD,1,active,new,,,\n\
         DUP,Two,,2.00,USD,1,active,new,,,\n"
    );
    for i in 0..50_000 {
        csv.push_str(&format!(
            "SKU-{i},Item number {i},,1.00,USD,1,active,new,,,\n"
        ));
    }
    let (_dir, path) = csv_file("streamed.csv", &csv);
    let (outcome, _) = import_watched(&t, request(&path, "streamed", false, false)).await;
    assert_eq!(outcome.status, ImportStatus::Failed);
    assert_eq!(outcome.counts.rows_read, 50_002);
    assert_eq!(outcome.counts.rejected, 2);
    let reasons = serde_json::to_string(&outcome.errors).unwrap();
    assert!(reasons.contains("also appears on line 3"), "{reasons}");
    assert!(reasons.contains("also appears on line 2"), "{reasons}");
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
}

/// Only a key already taken sends a first import through staging: any
/// other refusal of its COPY (here a site's trigger) fails the import at
/// once, without a second pass meeting the same refusal.
#[tokio::test]
async fn a_first_import_refused_for_another_reason_fails_without_a_second_pass() {
    let t = TestDb::new().await;
    t.client()
        .await
        .batch_execute(
            "CREATE SEQUENCE inserts;
             CREATE FUNCTION refuse_listing() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 PERFORM nextval('inserts');
                 RAISE EXCEPTION 'listing refused by the site';
             END $$;
             CREATE TRIGGER refuse_listing BEFORE INSERT ON listings
                 FOR EACH STATEMENT EXECUTE FUNCTION refuse_listing();",
        )
        .await
        .unwrap();
    let csv = format!("{NATIVE_HEADER}A-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("refused.csv", &csv);
    let e = match run(&t.db, request(&path, "refused", false, false), None).await {
        Err(ImportError::Failed(e)) => format!("{e:#}"),
        other => panic!("expected a failed import, got {other:?}"),
    };
    assert!(e.contains("listing refused by the site"), "{e}");
    assert_eq!(count(&t, "SELECT last_value FROM inserts").await, 1);
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
    // The refusal closes the connection (the trigger fires before the server
    // reads a row): the history row is still recorded failed, with the
    // reason, not left running for the next command to call "interrupted".
    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, error_summary FROM import_audit.imports WHERE seller_id = 'refused'",
            &[],
        )
        .await
        .unwrap();
    let (status, summary): (String, Option<String>) = (row.get(0), row.get(1));
    let summary = summary.unwrap_or_default();
    assert_eq!(status, "failed", "{summary}");
    assert!(
        summary.starts_with("the import failed and changed nothing: ")
            && summary.contains("listing refused by the site"),
        "{summary}"
    );
}

/// `--skip-invalid` on a re-import whose file repeats a key: both lines of
/// the key go to the rejects file and out of the count of staged rows, so
/// the rows left over are counted unchanged, each once.
#[tokio::test]
async fn a_skipped_duplicate_key_leaves_the_other_rows_counted_unchanged() {
    let t = TestDb::new().await;
    let rows = "A-1,Lamp,,1.00,USD,1,active,new,,,\n\
                A-2,Mug,,2.00,USD,1,active,new,,,\n\
                A-3,Bike,,3.00,USD,1,active,new,,,\n";
    let (_d1, first) = csv_file("first.csv", &format!("{NATIVE_HEADER}{rows}"));
    let (outcome, _) = import_watched(&t, request(&first, "dups", false, false)).await;
    assert_eq!(outcome.counts.created, 3);
    let again = format!(
        "{NATIVE_HEADER}{rows}D-1,Twice,,4.00,USD,1,active,new,,,\n\
         D-1,Twice,,4.00,USD,1,active,new,,,\n"
    );
    let (_d2, second) = csv_file("second.csv", &again);
    let (outcome, _) = import_watched(&t, request(&second, "dups", false, true)).await;
    assert_eq!(outcome.status, ImportStatus::Completed);
    let c = outcome.counts;
    assert_eq!(
        (c.rows_read, c.created, c.updated, c.unchanged, c.rejected),
        (5, 0, 0, 3, 2)
    );
}

#[tokio::test]
async fn show_gives_an_imports_duration_in_seconds() {
    let t = TestDb::new().await;
    let csv = format!("{NATIVE_HEADER}A-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("timed.csv", &csv);
    let (outcome, _) = import_watched(&t, request(&path, "timed", false, false)).await;
    let id = outcome.import_id.unwrap();
    t.client()
        .await
        .execute(
            "UPDATE import_audit.imports SET started_at = finished_at - interval '2.5 s'
              WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let show = t.cli(&["show", &id.to_string()]);
    assert!(show.stdout.contains("(2.50 s)"), "{}", show.stdout);
}

/// The import's own audit entries, newest first and only its own (the
/// console's detail screen shows them).
#[tokio::test]
async fn an_imports_audit_entries_are_its_own_newest_first() {
    use importdesk::domain::audit::{self, action};
    let t = TestDb::new().await;
    let csv = format!("{NATIVE_HEADER}A-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("own.csv", &csv);
    let (first, _) = import_watched(&t, request(&path, "own-a", false, false)).await;
    let (second, _) = import_watched(&t, request(&path, "own-b", false, false)).await;
    let (first, second) = (first.import_id.unwrap(), second.import_id.unwrap());
    for (id, seller) in [(first, "own-a"), (second, "own-b")] {
        let entries = audit::for_import(&t.db, id, 20).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [action::IMPORT_COMPLETED, action::IMPORT_STARTED],
            "import {id}"
        );
        assert!(
            entries
                .iter()
                .all(|e| e.import_id == Some(id) && e.seller_id.as_deref() == Some(seller)),
            "{entries:?}"
        );
    }
    assert_eq!(audit::for_import(&t.db, first, 1).await.unwrap().len(), 1);
}

/// A re-import the server refuses midway (a site's trigger on `listings`)
/// is recorded failed by its own session, once: written again from a new
/// session, the audit log would hold two "failed" entries for it.
#[tokio::test]
async fn a_refused_reimport_is_recorded_failed_once() {
    use importdesk::domain::audit::{self, action};
    let t = TestDb::new().await;
    let row = |title: &str| format!("{NATIVE_HEADER}A-1,{title},,1.00,USD,1,active,new,,,\n");
    let (_d1, first) = csv_file("first.csv", &row("Lamp"));
    let (outcome, _) = import_watched(&t, request(&first, "twice", false, false)).await;
    assert_eq!(outcome.counts.created, 1);
    t.client()
        .await
        .batch_execute(
            "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 RAISE EXCEPTION 'change refused by the site';
             END $$;
             CREATE TRIGGER refuse_change BEFORE INSERT OR UPDATE OR DELETE ON listings
                 FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();",
        )
        .await
        .unwrap();
    let (_d2, second) = csv_file("second.csv", &row("Brass lamp"));
    let e = match run(&t.db, request(&second, "twice", false, false), None).await {
        Err(ImportError::Failed(e)) => format!("{e:#}"),
        other => panic!("expected a failed import, got {other:?}"),
    };
    assert!(e.contains("change refused by the site"), "{e}");
    let row = t
        .client()
        .await
        .query_one(
            "SELECT id, status, error_summary FROM import_audit.imports
              WHERE seller_id = 'twice' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (id, status, summary): (i64, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(status, "failed");
    assert!(
        summary
            .unwrap_or_default()
            .contains("change refused by the site"),
        "import {id}"
    );
    let actions: Vec<String> = audit::for_import(&t.db, id, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, [action::IMPORT_FAILED, action::IMPORT_STARTED]);
}

/// The change log's planner statistics are refreshed by an import that
/// wrote a tenth of the log or more, an update counting as two log rows
/// (its before- and after-image): 3000 listings created, then 200 of them
/// updated (400 log rows, over a tenth of 3000; counted as 202, or as
/// 200, they would not be).
#[tokio::test]
async fn a_reimport_updating_a_tenth_of_the_log_refreshes_its_statistics() {
    let t = TestDb::new().await;
    let mut first = String::from(NATIVE_HEADER);
    let mut second = String::from(NATIVE_HEADER);
    for i in 0..3000 {
        first.push_str(&format!("K{i:05},Item {i},,1.00,USD,1,active,,,,\n"));
        if i < 200 {
            second.push_str(&format!("K{i:05},Item {i},,2.00,USD,1,active,,,,\n"));
        }
    }
    let reltuples = async || -> f32 {
        t.client()
            .await
            .query_one(
                "SELECT reltuples FROM pg_class WHERE oid = 'import_audit.log_listings'::regclass",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    let (_d1, first) = csv_file("first.csv", &first);
    let out = import_json(&t, &first, "acme", &[], 0);
    assert_eq!(out["counts"]["created"], 3000);
    assert_eq!(reltuples().await, 3000.0, "analysed with the first import");
    let (_d2, second) = csv_file("second.csv", &second);
    let out = import_json(&t, &second, "acme", &[], 0);
    assert_eq!(out["counts"]["updated"], 200);
    assert_eq!(
        reltuples().await,
        3400.0,
        "analysed again: 400 log rows are over a tenth of 3000"
    );
}

/// A real import that skipped invalid rows says so in the past tense, in
/// its outcome and in its history row: not the dry run's "would be".
#[tokio::test]
async fn an_applied_import_skipping_a_row_says_it_was_skipped_not_would_be() {
    let t = TestDb::new().await;
    let csv = format!(
        "{NATIVE_HEADER}K-1,Lamp,,1.00,USD,1,active,new,,,\nK-2,Mug,,oops,USD,1,active,new,,,\n"
    );
    let (_dir, path) = csv_file("skip.csv", &csv);
    let (outcome, _) = import_watched(&t, request(&path, "skipper", false, true)).await;
    let said = "1 of 2 rows were rejected and skipped; the valid rows were imported";
    assert_eq!(outcome.error_summary.as_deref(), Some(said));
    let stored: Option<String> = t
        .client()
        .await
        .query_one(
            "SELECT error_summary FROM import_audit.imports WHERE seller_id = 'skipper'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored.as_deref(), Some(said));
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM listings WHERE seller_id = 'skipper'"
        )
        .await,
        1
    );
}
