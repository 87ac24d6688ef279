//! Rollback (issue 4) against a real PostgreSQL, through the real binary.

mod common;

use common::session::a_backend_waits_on_a_lock;
use common::{
    NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json, our_backends,
    stat_once_others_ended,
};

/// A seller with three listings, as a first import leaves them.
fn base() -> String {
    format!(
        "{NATIVE_HEADER}\
         A,Lamp,Brass lamp,19.99,USD,3,active,new,Lighting,111,2027-01-31T12:00:00Z\n\
         B,Mug,,4.50,USD,0,draft,,Kitchen,,\n\
         C,Chair,Oak,89.00,EUR,1,active,used,,222,\n"
    )
}

/// The bad import: changes A and B (including a NULL -> value and a value -> NULL),
/// keeps C, creates D and E.
fn bad() -> String {
    format!(
        "{NATIVE_HEADER}\
         A,LAMP!!!,,0.01,USD,999,ended,new,Lighting,111,\n\
         B,Mug,Stoneware,4.50,USD,0,active,,Kitchen,,\n\
         C,Chair,Oak,89.00,EUR,1,active,used,,222,\n\
         D,New desk,,150,USD,2,active,,,,\n\
         E,New shelf,,30,USD,5,active,,,,\n"
    )
}

async fn seeded() -> (TestDb, Vec<tempfile::TempDir>, i64, Vec<String>) {
    let t = TestDb::new().await;
    let (d1, p1) = csv_file("base.csv", &base());
    import_json(&t, &p1, "acme", &[], 0);
    let before = dump_listings(&t).await;
    let (d2, p2) = csv_file("bad.csv", &bad());
    let out = import_json(&t, &p2, "acme", &[], 0);
    assert_eq!(out["counts"]["created"], 2);
    assert_eq!(out["counts"]["updated"], 2);
    (t, vec![d1, d2], out["import_id"].as_i64().unwrap(), before)
}

fn rollback(t: &TestDb, args: &[&str]) -> common::CliRun {
    let mut all = vec!["rollback"];
    all.extend_from_slice(args);
    t.cli(&all)
}

/// Starts `importdesk rollback ID --yes [extra]` without waiting for it.
fn spawn_rollback(t: &TestDb, id: i64, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args([
            "--database-url",
            &t.url(),
            "rollback",
            &id.to_string(),
            "--yes",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn rollback_restores_every_listing_field_by_field_and_deletes_created_ones() {
    let (t, _dirs, id, before) = seeded().await;
    let run = rollback(&t, &[&id.to_string(), "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = run.json();
    assert_eq!(
        (
            out["restored"].as_i64(),
            out["deleted"].as_i64(),
            out["skipped"].as_i64()
        ),
        (Some(2), Some(2), Some(0))
    );
    assert_eq!(
        dump_listings(&t).await,
        before,
        "every column, timestamps and decimals included"
    );

    let show = t.cli(&["show", &id.to_string(), "--json"]).json();
    assert_eq!(show["status"], "rolled_back");
    assert_eq!(show["rollback_restored"], 2);
    assert_eq!(show["rollback_deleted"], 2);
    assert_eq!(show["rollback_skipped"], 0);
    let audit = t.cli(&["audit", "--json"]).json();
    assert_eq!(audit[0]["action"], "rollback executed");
    assert_eq!(audit[0]["details"]["restored"], 2);
    assert_eq!(audit[0]["details"]["deleted"], 2);
    // The rollback's own changes are captured, tagged as the rollback of the import.
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) FROM import_audit.log_listings WHERE audit_rollback_of = {id}"
            )
        )
        .await,
        2 + 2 * 2
    );
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.log_listings WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL").await,
        0,
        "nothing looks like a manual edit"
    );
    // Rolled back already: refused with the reason.
    let again = rollback(&t, &[&id.to_string(), "--yes"]);
    assert_eq!(again.code, 3);
    assert!(
        again.stderr.contains("already rolled back"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn two_imports_rolled_back_newest_first_restore_the_state_before_both() {
    let (t, _dirs, first, before) = seeded().await;
    let third = bad()
        .replace("LAMP!!!", "Lamp v3")
        .replace("New shelf", "Shelf v3")
        + "F,Fresh,,1,USD,1,active,,,,\n";
    let (_d3, p3) = csv_file("third.csv", &third);
    let second = import_json(&t, &p3, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();

    let older = rollback(&t, &[&first.to_string(), "--yes"]);
    assert_eq!(older.code, 3, "an older import is refused");
    assert!(
        older
            .stderr
            .contains(&format!("import #{second} is applied")),
        "{}",
        older.stderr
    );

    assert_eq!(
        rollback(&t, &["--last", "--seller", "acme", "--yes"]).code,
        0
    );
    assert_eq!(
        rollback(&t, &["--last", "--seller", "acme", "--yes"]).code,
        0
    );
    assert_eq!(dump_listings(&t).await, before);
    // The base import is the only one left applied.
    let history = t.cli(&["history", "--json"]).json();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["rolled_back", "rolled_back", "completed"]);
}

#[tokio::test]
async fn an_edited_listing_is_skipped_and_keeps_the_edit() {
    let (t, _dirs, id, before) = seeded().await;
    t.client()
        .await
        .batch_execute("UPDATE listings SET price = 7.77 WHERE sku = 'A'")
        .await
        .unwrap();

    let preview = rollback(&t, &[&id.to_string(), "--preview", "--json"]).json();
    assert_eq!(preview["preview"]["counts"]["skip"], 1);
    assert_eq!(preview["preview"]["counts"]["skipped_edited"], 1);
    assert_eq!(preview["details"]["skip"][0]["sku"], "A");
    assert_eq!(preview["details"]["skip"][0]["reason"], "edited");
    assert!(preview["details"]["skip"][0]["changed_by"].is_string());
    // Restored listings show current -> restored per field.
    assert_eq!(preview["details"]["restore"][0]["sku"], "B");
    assert_eq!(
        preview["details"]["restore"][0]["diff"]["description"],
        serde_json::json!(["Stoneware", null])
    );
    assert_eq!(
        preview["details"]["restore"][0]["diff"]["status"],
        serde_json::json!(["active", "draft"])
    );

    let out = rollback(&t, &[&id.to_string(), "--yes", "--json"]).json();
    assert_eq!(out["skipped"], 1);
    assert_eq!(out["skipped_listings"][0]["sku"], "A");
    let price: String = t
        .client()
        .await
        .query_one("SELECT price::text FROM listings WHERE sku = 'A'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(price, "7.77", "the manual edit is kept");
    let now = dump_listings(&t).await;
    assert_eq!(now[1..], before[1..], "everything else is back");
    let audit = t.cli(&["audit", "--json"]).json();
    assert_eq!(audit[0]["details"]["skipped_keys"][0]["sku"], "A");
}

#[tokio::test]
async fn block_mode_refuses_and_changes_nothing_when_a_listing_was_edited() {
    let (t, _dirs, id, _before) = seeded().await;
    t.client()
        .await
        .batch_execute("UPDATE listings SET title = 'hand edit' WHERE sku = 'D'")
        .await
        .unwrap();
    let after_edit = dump_listings(&t).await;
    let run = rollback(
        &t,
        &[&id.to_string(), "--yes", "--on-conflict", "block", "--json"],
    );
    assert_eq!(run.code, 3);
    let out = run.json();
    assert_eq!(out["refused"], "blocked");
    assert_eq!(out["conflicts"][0]["sku"], "D");
    assert_eq!(dump_listings(&t).await, after_edit);
    assert_eq!(
        t.cli(&["show", &id.to_string(), "--json"]).json()["status"],
        "completed"
    );
    let audit = t.cli(&["audit", "--json"]).json();
    assert_eq!(audit[0]["action"], "rollback refused");
}

#[tokio::test]
async fn a_listing_deleted_after_the_import_is_reported_not_resurrected() {
    let (t, _dirs, id, _before) = seeded().await;
    t.client()
        .await
        .batch_execute("DELETE FROM listings WHERE sku IN ('A', 'E')")
        .await
        .unwrap();
    let out = rollback(&t, &[&id.to_string(), "--yes", "--json"]).json();
    assert_eq!(out["skipped"], 2);
    assert_eq!(out["counts"]["skipped_deleted"], 2);
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE sku IN ('A', 'E')").await,
        0
    );
    assert_eq!(out["restored"], 1);
    assert_eq!(out["deleted"], 1);
}

#[tokio::test]
async fn a_created_listing_referenced_by_another_table_is_skipped() {
    let (t, _dirs, id, _before) = seeded().await;
    t.client()
        .await
        .batch_execute(
            "CREATE TABLE orders (id int PRIMARY KEY, seller_id text, sku text,
             FOREIGN KEY (seller_id, sku) REFERENCES listings ON DELETE CASCADE);
         INSERT INTO orders VALUES (1, 'acme', 'D');",
        )
        .await
        .unwrap();
    let out = rollback(&t, &[&id.to_string(), "--yes", "--json"]).json();
    assert_eq!(out["counts"]["skipped_referenced"], 1);
    assert_eq!(out["deleted"], 1, "E is deleted, D is kept");
    assert_eq!(
        count(&t, "SELECT count(*) FROM orders WHERE sku = 'D'").await,
        1,
        "no cascade"
    );
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE sku = 'D'").await,
        1
    );
}

#[tokio::test]
async fn a_changed_plan_is_refused() {
    let (t, _dirs, id, _before) = seeded().await;
    let preview = rollback(&t, &[&id.to_string(), "--preview", "--json"]).json();
    let fingerprint = preview["preview"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    t.client()
        .await
        .batch_execute("UPDATE listings SET quantity = 1 WHERE sku = 'E'")
        .await
        .unwrap();
    let before = dump_listings(&t).await;
    let run = rollback(
        &t,
        &[&id.to_string(), "--yes", "--expect", &fingerprint, "--json"],
    );
    assert_eq!(run.code, 3);
    assert_eq!(run.json()["refused"], "plan_changed");
    assert_eq!(dump_listings(&t).await, before);
    // The fingerprint of an unchanged plan is accepted.
    let fresh = rollback(&t, &[&id.to_string(), "--preview", "--json"]).json();
    let fp = fresh["preview"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(fp, fingerprint);
    assert_eq!(
        rollback(&t, &[&id.to_string(), "--yes", "--expect", &fp]).code,
        0
    );
}

#[tokio::test]
async fn without_yes_and_without_a_terminal_rollback_refuses() {
    let (t, _dirs, id, before) = seeded().await;
    let run = rollback(&t, &[&id.to_string()]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("without confirmation"),
        "{}",
        run.stderr
    );
    assert_ne!(
        dump_listings(&t).await,
        before,
        "the import is still applied"
    );
}

#[tokio::test]
async fn two_concurrent_rollbacks_exactly_one_succeeds() {
    let (t, _dirs, id, before) = seeded().await;
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
            .args([
                "--database-url",
                &t.url(),
                "rollback",
                &id.to_string(),
                "--yes",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    assert_eq!(
        codes,
        [0, 3],
        "a: {}\nb: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(dump_listings(&t).await, before);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.audit_log WHERE action = 'rollback executed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_rollback_whose_backend_is_terminated_changes_nothing_and_can_be_retried() {
    let (t, _dirs, id, before) = seeded().await;
    let applied = dump_listings(&t).await;
    // Hold a row lock so the rollback waits inside its transaction.
    let mut blocker = t.db.connect_dedicated().await.unwrap();
    let tx = blocker.transaction().await.unwrap();
    tx.batch_execute("SELECT 1 FROM listings WHERE sku = 'A' FOR UPDATE")
        .await
        .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args([
            "--database-url",
            &t.url(),
            "rollback",
            &id.to_string(),
            "--yes",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let c = t.client().await;
    let mut terminated = false;
    for _ in 0..400 {
        let n: i64 = c
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            terminated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(terminated, "the rollback never waited on the row lock");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tx.rollback().await.unwrap();
    assert_eq!(dump_listings(&t).await, applied, "nothing changed");
    assert_eq!(
        t.cli(&["show", &id.to_string(), "--json"]).json()["status"],
        "completed"
    );
    let retry = rollback(&t, &[&id.to_string(), "--yes"]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(dump_listings(&t).await, before);
}

/// On a terminal, without --yes, the CLI shows the preview and asks; Enter
/// alone (the default) cancels, `y` confirms.
#[tokio::test]
async fn on_a_terminal_rollback_shows_the_preview_and_asks() {
    let (t, _dirs, id, before) = seeded().await;
    let command = format!(
        "{} --database-url '{}' rollback {id}",
        env!("CARGO_BIN_EXE_importdesk"),
        t.url()
    );
    let in_pty = |answer: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, screen) = in_pty("\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("2 to delete (created by the import), 2 to restore, 0 to skip"),
        "{screen}"
    );
    assert!(screen.contains("Roll back? [y/N]"), "{screen}");
    assert!(
        screen.contains("cancelled; nothing was changed"),
        "{screen}"
    );
    assert_ne!(dump_listings(&t).await, before);

    let (code, screen) = in_pty("y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!(
            "import #{id} rolled back: 2 restored, 2 deleted, 0 skipped"
        )),
        "{screen}"
    );
    assert_eq!(dump_listings(&t).await, before);
}

/// An edit made with the capture triggers bypassed is invisible to the fast
/// preview, but the rollback compares every listing inside its transaction:
/// a confirmed plan is refused as changed, and a plain rollback skips it.
#[tokio::test]
async fn an_edit_behind_the_triggers_back_is_never_overwritten() {
    let (t, _dirs, id, _before) = seeded().await;
    let preview = rollback(&t, &[&id.to_string(), "--preview", "--json"]).json();
    let fingerprint = preview["preview"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    t.client()
        .await
        .batch_execute(
            "BEGIN; SET LOCAL session_replication_role = replica;
             UPDATE listings SET title = 'bypassed' WHERE sku = 'A'; COMMIT;",
        )
        .await
        .unwrap();
    let run = rollback(
        &t,
        &[&id.to_string(), "--yes", "--expect", &fingerprint, "--json"],
    );
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(run.json()["refused"], "plan_changed");
    let out = rollback(&t, &[&id.to_string(), "--yes", "--json"]).json();
    assert_eq!(out["skipped"], 1);
    assert_eq!(out["skipped_listings"][0]["sku"], "A");
    let title: String = t
        .client()
        .await
        .query_one("SELECT title FROM listings WHERE sku = 'A'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "bypassed");
}

#[tokio::test]
async fn killing_importdesk_mid_rollback_changes_nothing() {
    let (t, _dirs, id, before) = seeded().await;
    let applied = dump_listings(&t).await;
    let mut blocker = t.db.connect_dedicated().await.unwrap();
    let tx = blocker.transaction().await.unwrap();
    tx.batch_execute("SELECT 1 FROM listings WHERE sku = 'B' FOR UPDATE")
        .await
        .unwrap();
    let mut child = spawn_rollback(&t, id, &[]);
    let c = t.client().await;
    let waiting = a_backend_waits_on_a_lock(&c).await;
    assert!(waiting, "the rollback never reached the row locks");
    child.kill().unwrap();
    child.wait().unwrap();
    tx.rollback().await.unwrap();
    // The server ends the orphaned transaction; nothing it did survives.
    for _ in 0..200 {
        let busy: i64 = c
            .query_one(
                "SELECT (SELECT count(*) FROM pg_stat_activity
                          WHERE datname = current_database()
                            AND (state = 'idle in transaction' OR wait_event_type = 'Lock'))
                      + (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                          WHERE l.locktype = 'advisory' AND d.datname = current_database())",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if busy == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(dump_listings(&t).await, applied);
    assert_eq!(
        t.cli(&["show", &id.to_string(), "--json"]).json()["status"],
        "completed"
    );
    let retry = rollback(&t, &[&id.to_string(), "--yes"]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(dump_listings(&t).await, before);
}

/// Rolls back the seeded import while a hand edit of `sku` commits: the
/// edit holds the listing's row lock until the rollback waits for it. The
/// rollback's outcome and the listing's title afterwards.
async fn rollback_meeting_an_edit_of(sku: &str) -> (serde_json::Value, String) {
    let (t, _dirs, id, _before) = seeded().await;
    let mut editor = t.db.connect_dedicated().await.unwrap();
    let tx = editor.transaction().await.unwrap();
    tx.execute(
        "UPDATE listings SET title = 'edited meanwhile' WHERE sku = $1",
        &[&sku],
    )
    .await
    .unwrap();
    let child = spawn_rollback(&t, id, &["--json"]);
    let c = t.client().await;
    let waiting = a_backend_waits_on_a_lock(&c).await;
    assert!(waiting, "the rollback never waited for the edited listing");
    tx.commit().await.unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let title: String = c
        .query_one("SELECT title FROM listings WHERE sku = $1", &[&sku])
        .await
        .unwrap()
        .get(0);
    (outcome, title)
}

/// A hand edit that commits while the rollback waits for that listing: the
/// rollback's snapshot is stale, so it plans again and skips the edited
/// listing instead of overwriting it.
#[tokio::test]
async fn an_edit_committed_during_the_rollback_is_never_overwritten() {
    let (outcome, title) = rollback_meeting_an_edit_of("A").await;
    assert_eq!(outcome["skipped"], 1, "{outcome}");
    assert_eq!(outcome["skipped_listings"][0]["sku"], "A");
    assert_eq!(outcome["restored"], 1);
    assert_eq!(outcome["deleted"], 2);
    assert_eq!(title, "edited meanwhile");
}

/// The same for a listing the import created, which the rollback reaches by
/// its row address (two created of five listings: the probe path): the
/// edited listing is skipped, not deleted.
#[tokio::test]
async fn a_created_listing_edited_during_the_rollback_is_never_deleted() {
    let (outcome, title) = rollback_meeting_an_edit_of("D").await;
    assert_eq!(outcome["skipped"], 1, "{outcome}");
    assert_eq!(outcome["skipped_listings"][0]["sku"], "D");
    assert_eq!(outcome["restored"], 2);
    assert_eq!(outcome["deleted"], 1);
    assert_eq!(title, "edited meanwhile");
}

#[tokio::test]
async fn the_preview_after_rolling_back_a_newer_import_matches_the_execution() {
    let (t, _dirs, first, _before) = seeded().await;
    let edit = |sql: &'static str| {
        let t = &t;
        async move { t.client().await.batch_execute(sql).await.unwrap() }
    };
    edit("UPDATE listings SET title = 'hand edit' WHERE sku = 'D'").await;
    let third = bad()
        .replace("LAMP!!!", "Lamp v3")
        .replace("New shelf", "Shelf v3")
        + "F,Fresh,,1,USD,1,active,,,,\n";
    let (_d3, p3) = csv_file("third.csv", &third);
    let second = import_json(&t, &p3, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    edit("UPDATE listings SET quantity = 42 WHERE sku = 'E'").await;
    let run = rollback(&t, &[&second.to_string(), "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let undone = run.json();
    assert_eq!(
        (&undone["restored"], &undone["deleted"], &undone["skipped"]),
        (&2.into(), &1.into(), &1.into()),
        "A and D (back to the hand edit) restored, F deleted, E skipped: {undone}"
    );

    let preview = rollback(&t, &[&first.to_string(), "--preview", "--json"]).json();
    let counts = &preview["preview"]["counts"];
    assert_eq!(
        (&counts["delete"], &counts["restore"], &counts["skip"]),
        (&0.into(), &2.into(), &2.into()),
        "{preview}"
    );
    let skipped: Vec<&str> = preview["details"]["skip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["D", "E"]);
    let fingerprint = preview["preview"]["fingerprint"].as_str().unwrap();
    let run = rollback(
        &t,
        &[
            &first.to_string(),
            "--yes",
            "--expect",
            fingerprint,
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["skipped"], 2);
}

/// `n` native rows `{prefix}0..`, titled `{title} i`.
fn numbered_rows(prefix: &str, title: &str, range: std::ops::Range<usize>) -> String {
    let mut csv = String::from(NATIVE_HEADER);
    for i in range {
        csv.push_str(&format!(
            "{prefix}{i:06},{title} {i},,10.00,USD,1,active,,,,\n"
        ));
    }
    csv
}

/// Entries read from the change log's by-import b-tree so far.
async fn by_import_index_reads(c: &tokio_postgres::Client, ours: &[i32]) -> i64 {
    stat_once_others_ended(
        c,
        ours,
        "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'log_listings_by_import'",
    )
    .await
}

/// Right after a large re-import into a large change log, the planner's
/// statistics know neither the import's rows (the import analyses the log
/// only when it wrote a tenth of it) nor the seller's listings (autovacuum
/// has not come by). The restore then expected one after-image and one
/// before-image and read every before-image once per after-image: at 1M
/// listings a rollback ran for 14 minutes. Each image must be read about
/// once, whatever the statistics say: with many restores (merge joins) and
/// with few restores of a larger seller (probes by key).
#[tokio::test]
async fn a_rollback_reads_each_image_once_when_statistics_have_not_seen_the_import() {
    let t = TestDb::new().await;
    let admin = t.db.connect_dedicated().await.unwrap();
    admin
        .batch_execute(
            "ALTER TABLE listings SET (autovacuum_enabled = false);
             ALTER TABLE import_audit.log_listings SET (autovacuum_enabled = false);
             INSERT INTO listings (seller_id, sku, title, price, currency, quantity, status)
             SELECT 'others', 'K' || g, 'other ' || g, 1, 'USD', 1, 'active'
               FROM generate_series(1, 130000) g;
             ANALYZE listings; ANALYZE import_audit.log_listings;",
        )
        .await
        .unwrap();
    let ours = our_backends(&t, &admin).await;
    let rows = 2000;
    // Many: every listing of seller "many" updated (the merge joins).
    let (_d1, first) = csv_file("first.csv", &numbered_rows("M", "first", 0..rows));
    import_json(&t, &first, "many", &[], 0);
    let (_d2, changed) = csv_file("changed.csv", &numbered_rows("M", "changed", 0..rows));
    let many = import_json(&t, &changed, "many", &[], 0);
    assert_eq!(many["counts"]["updated"], rows);
    // Few: a sixth of seller "few"'s listings updated (the probes).
    let (_d3, large) = csv_file("large.csv", &numbered_rows("F", "first", 0..6 * rows));
    import_json(&t, &large, "few", &[], 0);
    let (_d4, part) = csv_file("part.csv", &numbered_rows("F", "changed", 0..rows));
    let few = import_json(&t, &part, "few", &[], 0);
    assert_eq!(few["counts"]["updated"], rows);
    let analysed: i64 = count(
        &t,
        "SELECT count(*) FROM pg_stat_user_tables
          WHERE relname IN ('listings', 'log_listings') AND analyze_count + autoanalyze_count > 1",
    )
    .await;
    assert_eq!(
        analysed, 0,
        "the statistics were refreshed: the test no longer shows the case"
    );

    let rolled_back = |outcome: &serde_json::Value, what: &str| {
        let id = outcome["import_id"].as_i64().unwrap().to_string();
        let run = t.cli(&["rollback", &id, "--yes", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.json()[what], rows, "{}", run.stdout);
    };
    for (seller, outcome) in [("many", &many), ("few", &few)] {
        let before = by_import_index_reads(&admin, &ours).await;
        rolled_back(outcome, "restored");
        let read = by_import_index_reads(&admin, &ours).await - before;
        assert!(
            read < 10 * rows as i64,
            "the rollback of {seller}'s {rows} updates read {read} entries of the by-import index"
        );
        // Each listing has its own title back (`first N` for sku `?00000N`).
        let not_restored = count(
            &t,
            &format!(
                "SELECT count(*) FROM listings WHERE seller_id = '{seller}'
                    AND title <> 'first ' || substr(sku, 2)::int"
            ),
        )
        .await;
        assert_eq!(not_restored, 0, "{seller}");
    }
    // A seventh of seller "few"'s listings created, then deleted (probes).
    let (_d5, more) = csv_file("more.csv", &numbered_rows("F", "more", 6 * rows..7 * rows));
    let created = import_json(&t, &more, "few", &[], 0);
    assert_eq!(created["counts"]["created"], rows);
    let before = by_import_index_reads(&admin, &ours).await;
    rolled_back(&created, "deleted");
    let read = by_import_index_reads(&admin, &ours).await - before;
    assert!(
        read < 10 * rows as i64,
        "the rollback of few's {rows} creations read {read} entries of the by-import index"
    );
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE seller_id = 'few'").await,
        6 * rows as i64
    );
}
