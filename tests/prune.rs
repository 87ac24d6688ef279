//! `importdesk audit prune` against a real PostgreSQL: only before-images no
//! rollback can use go; rollbacks that are still possible work exactly as
//! before; the audit log is never touched.

mod common;

use common::{NATIVE_HEADER, TestDb, count, csv_file, import_json};

fn file(rows: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    csv_file("listings.csv", &format!("{NATIVE_HEADER}{rows}"))
}

async fn log_rows(t: &TestDb, import: i64) -> i64 {
    count(
        t,
        &format!(
            "SELECT count(*) FROM import_audit.log_listings
              WHERE audit_import_id = {import} OR audit_rollback_of = {import}"
        ),
    )
    .await
}

async fn manual_rows(t: &TestDb) -> i64 {
    count(
        t,
        "SELECT count(*) FROM import_audit.log_listings
          WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL",
    )
    .await
}

#[tokio::test]
async fn prune_deletes_only_before_images_no_rollback_can_use() {
    let t = TestDb::new().await;
    let (_d1, first) = file(
        "A,Lamp,,10,USD,1,active,,,,\nB,Mug,,5,USD,1,active,,,,\nC,Chair,,80,USD,1,active,,,,\n",
    );
    let first = import_json(&t, &first, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    // A hand edit after the first import: a later rollback of it must still
    // name who edited A.
    t.client()
        .await
        .batch_execute("UPDATE listings SET price = 11 WHERE sku = 'A'")
        .await
        .unwrap();
    let (_d2, second) = file("B,Mug,,6,USD,1,active,,,,\nD,Desk,,150,USD,1,active,,,,\n");
    let second = import_json(&t, &second, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let run = t.cli(&["rollback", &second.to_string(), "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_d3, third) = file("C,Chair,,85,USD,1,active,,,,\n");
    let third = import_json(&t, &third, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    assert!(log_rows(&t, second).await > 0);
    let kept_first = log_rows(&t, first).await;
    let kept_third = log_rows(&t, third).await;
    let audit_entries = count(&t, "SELECT count(*) FROM import_audit.audit_log").await;

    // A dry run says what would go and deletes nothing.
    let dry = t.cli(&["audit", "prune", "--dry-run", "--json"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let dry = dry.json();
    assert_eq!(dry["rolled_back_imports"], serde_json::json!([second]));
    assert_eq!(dry["retired_imports"], serde_json::json!([]));
    assert_eq!(dry["dry_run"], true);
    let would = dry["import_rows_deleted"].as_i64().unwrap();
    assert_eq!(would, log_rows(&t, second).await);
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.audit_log").await,
        audit_entries,
        "a dry run writes nothing"
    );

    let run = t.cli(&["audit", "prune", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.json();
    assert_eq!(out["import_rows_deleted"].as_i64(), Some(would));
    assert_eq!(
        out["manual_edit_rows_deleted"], 0,
        "the hand edit is newer than the first import"
    );
    assert_eq!(log_rows(&t, second).await, 0);
    assert_eq!(log_rows(&t, first).await, kept_first);
    assert_eq!(log_rows(&t, third).await, kept_third);
    assert_eq!(manual_rows(&t).await, 2, "before and after image of A");
    let audit = t.cli(&["audit", "--json"]).json();
    assert_eq!(audit[0]["action"], "before-images pruned");
    assert_eq!(
        audit[0]["details"]["rolled_back_imports"],
        serde_json::json!([second])
    );
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.audit_log").await,
        audit_entries + 1,
        "the audit log only grows"
    );

    // Rollbacks still possible work as before: the third, then the first,
    // which skips A (edited by hand) and says who edited it.
    let run = t.cli(&["rollback", &third.to_string(), "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        count(
            &t,
            "SELECT (price * 100)::bigint FROM listings WHERE sku = 'C'"
        )
        .await,
        8000
    );
    let preview = t.cli(&["rollback", &first.to_string(), "--preview", "--json"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let preview = preview.json();
    assert_eq!(preview["preview"]["counts"]["delete"], 2);
    assert_eq!(preview["preview"]["counts"]["skip"], 1);
    assert_eq!(preview["details"]["skip"][0]["sku"], "A");
    assert!(
        preview["details"]["skip"][0]["changed_by"].is_string(),
        "the hand edit is still attributed: {preview}"
    );
    let run = t.cli(&["rollback", &first.to_string(), "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["skipped"], 1);
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE seller_id = 'acme'").await,
        1,
        "only the hand-edited A is left"
    );
}

#[tokio::test]
async fn completed_imports_before_a_cutoff_are_retired_and_refuse_rollback() {
    let t = TestDb::new().await;
    let (_d1, f) = file("A,Lamp,,10,USD,1,active,,,,\n");
    let id = import_json(&t, &f, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    t.client()
        .await
        .batch_execute("UPDATE listings SET price = 12 WHERE sku = 'A'")
        .await
        .unwrap();

    // A cut-off before the import retires nothing.
    let run = t.cli(&[
        "audit",
        "prune",
        "--completed-before",
        "2000-01-01",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["retired_imports"], serde_json::json!([]));
    assert!(log_rows(&t, id).await > 0);

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let run = t.cli(&["audit", "prune", "--completed-before", &tomorrow, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.json();
    assert_eq!(out["retired_imports"], serde_json::json!([id]));
    assert_eq!(
        out["manual_edit_rows_deleted"], 2,
        "no import can be rolled back: no hand edit is needed any more"
    );
    assert_eq!(log_rows(&t, id).await, 0);
    assert_eq!(manual_rows(&t).await, 0);

    let run = t.cli(&["rollback", &id.to_string(), "--yes"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("its before-images were pruned"),
        "{}",
        run.stderr
    );
    let show = t.cli(&["show", &id.to_string()]);
    assert!(show.stdout.contains("pruned:"), "{}", show.stdout);
    assert_eq!(
        count(
            &t,
            "SELECT (price * 100)::bigint FROM listings WHERE sku = 'A'"
        )
        .await,
        1200,
        "nothing was changed by the refused rollback"
    );

    let bad = t.cli(&["audit", "prune", "--completed-before", "next week"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
