//! Roles and isolation (issue 6) with real PostgreSQL roles: row-level
//! security, the protected audit schema, and what the CLI does for each role.

mod common;

use common::session::{
    RowLock, assert_denied, connect_as, finish, seller_role, spawn_cli, support_role, url_as,
    wait_for_running_import,
};
use common::{NATIVE_HEADER, TestDb, count, csv_file, import_json, texts};

/// Login roles for one test: two sellers and a support engineer.
struct Roles {
    alice: String,
    bob: String,
    sue: String,
}

async fn roles(t: &TestDb) -> Roles {
    let r = Roles {
        alice: seller_role(t, "alice", "seller-a").await,
        bob: seller_role(t, "bob", "seller-b").await,
        sue: support_role(t, "sue").await,
    };
    // Idempotent.
    assert_eq!(
        common::run_cli(&t.url(), &["db", "grant-support", &r.sue], None).code,
        0
    );
    r
}

fn listing_file(prefix: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    csv_file(
        "l.csv",
        &format!(
            "{NATIVE_HEADER}{prefix}-1,One,,1.00,USD,1,active,,,,\n{prefix}-2,Two,,2.00,USD,2,active,,,,\n"
        ),
    )
}

#[tokio::test]
async fn a_seller_sees_and_writes_only_its_own_rows_whatever_sql_it_sends() {
    let t = TestDb::new().await;
    let r = roles(&t).await;
    t.client()
        .await
        .batch_execute(
            "INSERT INTO listings (seller_id, sku, title) VALUES
                ('seller-a', 'A1', 'mine'), ('seller-b', 'B1', 'theirs')",
        )
        .await
        .unwrap();
    let alice = connect_as(&t, &r.alice).await;
    let seen: Vec<String> = alice
        .query("SELECT sku FROM listings ORDER BY sku", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(seen, ["A1"]);
    let updated = alice
        .execute("UPDATE listings SET title = 'hacked' WHERE sku = 'B1'", &[])
        .await
        .unwrap();
    assert_eq!(updated, 0);
    let insert = alice
        .batch_execute("INSERT INTO listings (seller_id, sku) VALUES ('seller-b', 'B2')")
        .await;
    let message = insert
        .as_ref()
        .err()
        .and_then(|e| e.as_db_error())
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("row-level security"), "{message}");
    assert_denied(insert, "an insert for seller-b");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM listings WHERE title = 'hacked' OR sku = 'B2'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn no_seller_or_support_role_can_write_the_audit_schema_or_disable_capture() {
    let t = TestDb::new().await;
    let r = roles(&t).await;
    for role in [&r.alice, &r.sue] {
        let c = connect_as(&t, role).await;
        for sql in [
            "INSERT INTO import_audit.audit_log (actor, action) VALUES ('x', 'forged')",
            "UPDATE import_audit.imports SET status = 'completed'",
            "DELETE FROM import_audit.log_listings",
            "INSERT INTO import_audit.log_listings (audit_stmt_id, audit_op, audit_image, audit_actor, audit_role, audit_txid, audit_at, seller_id, sku) VALUES (1, 'I', 'N', 'x', 'x', '1', now(), 'seller-a', 'x')",
            "ALTER TABLE listings DISABLE TRIGGER importdesk_audit_update",
            "SET session_replication_role = replica",
            "SET ROLE postgres",
            "SELECT import_audit.enable_audit('listings')",
            "INSERT INTO import_audit.seller_accounts VALUES ('x', 'seller-b')",
        ] {
            // A permission error, not just any error (a typo would be one too).
            assert_denied(c.batch_execute(sql).await, &format!("{role}: {sql}"));
        }
    }
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.audit_log WHERE action = 'forged'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_seller_cannot_import_preview_or_roll_back_for_another_seller() {
    let t = TestDb::new().await;
    let r = roles(&t).await;
    let (_d, file) = listing_file("B");
    let bob_import = common::run_cli(
        &url_as(&t, &r.bob),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            "seller-b",
            "--json",
        ],
        None,
    );
    assert_eq!(
        bob_import.code, 0,
        "{}{}",
        bob_import.stdout, bob_import.stderr
    );
    let bob_id = bob_import.json()["import_id"].as_i64().unwrap();

    let alice_url = url_as(&t, &r.alice);
    let for_bob = common::run_cli(
        &alice_url,
        &["import", file.to_str().unwrap(), "--seller", "seller-b"],
        None,
    );
    assert_eq!(for_bob.code, 1);
    assert!(
        for_bob.stderr.contains("may not act for seller"),
        "{}",
        for_bob.stderr
    );

    let history = common::run_cli(&alice_url, &["history", "--json"], None).json();
    assert_eq!(
        history.as_array().unwrap().len(),
        0,
        "alice sees none of bob's imports"
    );
    let text = common::run_cli(&alice_url, &["history"], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout.lines().next().unwrap(),
        format!("as {} (seller seller-a)", r.alice),
        "the header names the identity"
    );
    let prune = common::run_cli(&alice_url, &["audit", "prune"], None);
    assert_eq!(prune.code, 1, "{}", prune.stdout);
    assert!(
        prune.stderr.contains("only support may prune"),
        "{}",
        prune.stderr
    );
    for args in [
        vec!["rollback", &bob_id.to_string(), "--preview"],
        vec!["rollback", &bob_id.to_string(), "--yes"],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let run = common::run_cli(&alice_url, &args, None);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("there is no import #{bob_id}")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM listings WHERE seller_id = 'seller-b'"
        )
        .await,
        2
    );

    // Alice works on her own data.
    let (_d2, own) = listing_file("A");
    let mine = common::run_cli(
        &alice_url,
        &[
            "import",
            own.to_str().unwrap(),
            "--seller",
            "seller-a",
            "--json",
        ],
        None,
    );
    assert_eq!(mine.code, 0, "{}", mine.stderr);
    let status = common::run_cli(&alice_url, &["db", "status", "--json"], None).json();
    assert_eq!(status["identity"]["seller"], "seller-a");
    assert_eq!(status["identity"]["support"], false);
    let mine_id = mine.json()["import_id"].as_i64().unwrap();
    let rb = common::run_cli(
        &alice_url,
        &["rollback", &mine_id.to_string(), "--yes"],
        None,
    );
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM listings WHERE seller_id = 'seller-a'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn support_does_everything_and_the_audit_log_records_the_real_role() {
    let t = TestDb::new().await;
    let r = roles(&t).await;
    let (_d, file) = listing_file("B");
    let sue_url = url_as(&t, &r.sue);
    let run = common::run_cli(
        &sue_url,
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            "seller-b",
            "--json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run.json()["import_id"].as_i64().unwrap();
    let preview = common::run_cli(
        &sue_url,
        &["rollback", &id.to_string(), "--preview", "--json"],
        None,
    );
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let rb = common::run_cli(&sue_url, &["rollback", &id.to_string(), "--yes"], None);
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    let roles: Vec<String> = t
        .client()
        .await
        .query(
            "SELECT DISTINCT db_role FROM import_audit.audit_log WHERE action NOT LIKE '% role granted'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(roles, std::slice::from_ref(&r.sue));
    let imported_by: String = t
        .client()
        .await
        .query_one(
            "SELECT db_role FROM import_audit.imports WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(imported_by, r.sue);
    let status = common::run_cli(&sue_url, &["db", "status", "--json"], None).json();
    assert_eq!(status["identity"]["support"], true);
}

/// The import tag is trusted only inside the running import's own
/// transaction: while alice's import runs (held mid-transaction on a row
/// lock), alice sets the tag to it in another transaction and adds a
/// listing. It stays a manual edit, so rolling the import back keeps it.
#[tokio::test]
async fn a_seller_forging_the_tag_of_a_running_import_is_still_seen_as_a_manual_edit() {
    let t = TestDb::new().await;
    let r = roles(&t).await;
    let (_d, file) = listing_file("A");
    import_json(&t, &file, "seller-a", &[], 0);
    let (_d2, second) = csv_file(
        "second.csv",
        &format!(
            "{NATIVE_HEADER}A-1,One,,9.00,USD,1,active,,,,\nA-3,Three,,3.00,USD,3,active,,,,\n"
        ),
    );
    let lock = RowLock::hold(&t, "seller-a", "A-1").await;
    let import = spawn_cli(
        &url_as(&t, &r.alice),
        &[
            "import",
            second.to_str().unwrap(),
            "--seller",
            "seller-a",
            "--json",
        ],
    );
    let id = wait_for_running_import(&t).await;
    lock.wait_for_waiter().await;
    let mut alice = connect_as(&t, &r.alice).await;
    let tx = alice.transaction().await.unwrap();
    tx.execute(
        "SELECT set_config('importdesk.import_id', $1, true)",
        &[&id.to_string()],
    )
    .await
    .unwrap();
    tx.batch_execute(
        "INSERT INTO listings (seller_id, sku, title) VALUES ('seller-a', 'A-forged', 'hand made');
         UPDATE listings SET price = 99 WHERE sku = 'A-2'",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    lock.release().await;
    let run = finish(import);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["import_id"], id);

    let tags: Vec<(String, Option<i64>)> = t
        .client()
        .await
        .query(
            "SELECT sku, audit_import_id FROM import_audit.log_listings
              WHERE audit_role = $1 AND sku IN ('A-forged', 'A-2')
              ORDER BY audit_change_id",
            &[&r.alice],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        tags,
        [
            ("A-forged".to_string(), None),
            ("A-2".to_string(), None),
            ("A-2".to_string(), None)
        ],
        "alice's edits carry no import id"
    );
    let preview = t
        .cli(&["rollback", &id.to_string(), "--preview", "--json"])
        .json();
    let counts = &preview["preview"]["counts"];
    assert_eq!(
        (&counts["delete"], &counts["restore"]),
        (&1.into(), &1.into()),
        "{counts}"
    );
    let rb = common::run_cli(
        &url_as(&t, &r.alice),
        &["rollback", &id.to_string(), "--yes", "--json"],
        None,
    );
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(rb.json()["deleted"], 1);
    let kept = texts(&t, "SELECT sku FROM listings ORDER BY sku").await;
    assert_eq!(
        kept,
        ["A-1", "A-2", "A-forged"],
        "the hand-made listing is kept"
    );
}
