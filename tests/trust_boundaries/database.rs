//! Seller and support login roles sending raw SQL: authorisation denies on
//! doubt, the history holds facts, no seller can stall another.

use std::time::Duration;

use crate::common::{TestDb, count};
use crate::{
    Invocation, connect_as, import_as_owner, listings_file, seller_role, support_role, url_as,
};

fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

#[tokio::test]
async fn a_seller_role_without_a_mapping_acts_for_nobody() {
    let t = TestDb::new().await;
    let (_d, file) = listings_file("B", 2);
    let bob_import = import_as_owner(&t, &file, "seller-b");
    let nobody = seller_role(&t, "nomap", None).await;
    let c = connect_as(&t, &nobody).await;

    let may: Option<bool> = c
        .query_one("SELECT import_audit.may_act_for('seller-b')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(may, Some(false), "an unknown answer must be a no");
    let attacks = [
        "SELECT import_audit.append_audit('x', 'import started', 'seller-b', NULL, '{}')"
            .to_string(),
        "SELECT import_audit.begin_import('seller-b', 'f.csv', 1, 'native', '{}', 'x', NULL, NULL)"
            .to_string(),
        "SELECT import_audit.fail_abandoned('seller-b')".to_string(),
        format!("SELECT import_audit.fail_import({bob_import}, NULL, 0, 0, 0, '{{}}', '[]', 'x')"),
        // Marking seller-b's import rolled back without changing anything.
        format!(
            "BEGIN; SELECT import_audit.attach_rollback({bob_import}, 'x');
             SELECT import_audit.mark_rolled_back({bob_import}, 'x', 0, 0, 2); COMMIT"
        ),
    ];
    for sql in &attacks {
        let result = c.batch_execute(sql).await;
        assert!(result.is_err(), "{nobody} could run: {sql}");
        let _ = c.batch_execute("ROLLBACK").await;
    }
    let seen = c
        .query_one("SELECT count(*) FROM import_audit.imports", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(seen, 0, "it sees no seller's history");

    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.imports WHERE seller_id = 'seller-b'"
        )
        .await,
        1,
        "no running import was created for seller-b"
    );
    assert_eq!(
        count(
            &t,
            &format!("SELECT count(*) FROM import_audit.audit_log WHERE db_role = '{nobody}'")
        )
        .await,
        0,
        "no audit entry was written for seller-b"
    );
    let status = Invocation::on(&t.url(), &["show", &bob_import.to_string(), "--json"]).run();
    assert_eq!(status.json()["status"], "completed");
}

/// Attaches import `id` to a transaction, inserts one listing under its tag
/// and completes it claiming `created` listings and checksum `sha`;
/// commits when the database accepts the claim.
async fn import_one_listing(
    c: &mut tokio_postgres::Client,
    id: i64,
    sha: &str,
    created: i64,
) -> Result<(), tokio_postgres::Error> {
    let tx = c.transaction().await?;
    tx.execute("SELECT import_audit.attach_import($1, 'x')", &[&id])
        .await?;
    tx.execute(
        "INSERT INTO listings (seller_id, sku, title) VALUES ('seller-a', 'Z1', 'z')",
        &[],
    )
    .await?;
    tx.execute(
        "SELECT import_audit.complete_import($1, $2, $3, $3, 0, 0, 0, 0, '{}', '[]', NULL)",
        &[&id, &sha, &created],
    )
    .await?;
    tx.commit().await
}

#[tokio::test]
async fn the_history_holds_facts_the_database_checked_not_claims() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let mut c = connect_as(&t, &alice).await;
    let begin = "SELECT import_audit.begin_import('seller-a', 'f.csv', 10, 'native', '{}', 'x', NULL, NULL)";

    // Without the seller's lock there is no running import.
    let err = c.query_one(begin, &[]).await.unwrap_err();
    assert!(db_message(&err).contains("lock"), "{}", db_message(&err));

    let locked: bool = c
        .query_one("SELECT import_audit.try_lock_seller('seller-a')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(locked);
    let id: i64 = c.query_one(begin, &[]).await.unwrap().get(0);
    let sha = "a".repeat(64);

    // Counts that are not what the transaction wrote.
    let err = import_one_listing(&mut c, id, &sha, 1000)
        .await
        .unwrap_err();
    assert!(db_message(&err).contains("wrote"), "{}", db_message(&err));
    // A checksum that is not 64 hex digits (here: a screen clear).
    let err = import_one_listing(&mut c, id, "\u{1b}[2J", 1)
        .await
        .unwrap_err();
    assert!(db_message(&err).contains("sha256"), "{}", db_message(&err));
    // The facts pass.
    import_one_listing(&mut c, id, &sha, 1).await.unwrap();

    // Audit actions come from a closed set; state-changing ones must be true.
    for (action, what) in [
        ("\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J", "unknown audit action"),
        ("rollback executed", "not rolled back"),
        ("import completed", "not completed by this transaction"),
    ] {
        let err = c
            .execute(
                "SELECT import_audit.append_audit('x', $1, 'seller-a', $2, '{}')",
                &[&action, &id],
            )
            .await
            .unwrap_err();
        assert!(db_message(&err).contains(what), "{}", db_message(&err));
    }

    // Marking it rolled back without the rollback's changes.
    let tx = c.transaction().await.unwrap();
    tx.execute("SELECT import_audit.attach_rollback($1, 'x')", &[&id])
        .await
        .unwrap();
    let marked = tx
        .query_one(
            "SELECT import_audit.mark_rolled_back($1, 'x', 0, 0, 1)",
            &[&id],
        )
        .await;
    assert!(marked.is_err(), "{marked:?}");
    drop(tx);
    c.execute("SELECT import_audit.unlock_seller('seller-a')", &[])
        .await
        .unwrap();

    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, created, file_sha256 FROM import_audit.imports WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, i64>(1), 1);
    assert_eq!(row.get::<_, String>(2), sha);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.audit_log WHERE action !~ '^[a-z -]+$'"
        )
        .await,
        0
    );
    // So it can still be rolled back, for real.
    let rb = Invocation::on(&url_as(&t, &alice), &["rollback", &id.to_string(), "--yes"]).run();
    assert_eq!(rb.code, Some(0), "{}", rb.all());
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE sku = 'Z1'").await,
        0
    );
}

#[tokio::test]
async fn a_seller_sees_only_its_own_mapping() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let _bob = seller_role(&t, "bob", Some("seller-b")).await;
    let sue = support_role(&t, "sue").await;
    let rows: Vec<(String, String)> = connect_as(&t, &alice)
        .await
        .query(
            "SELECT role_name, seller_id FROM import_audit.seller_accounts",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [(alice.clone(), "seller-a".to_string())]);
    let all: i64 = connect_as(&t, &sue)
        .await
        .query_one("SELECT count(*) FROM import_audit.seller_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert!(all >= 2, "support sees every mapping ({all})");
}

#[tokio::test]
async fn the_database_role_is_always_shown_beside_a_label() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let (_d, file) = listings_file("A", 2);
    // Alice imports herself: the label is her OS user, the role is hers.
    let run = Invocation::on(
        &url_as(&t, &alice),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            "seller-a",
            "--json",
        ],
    )
    .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let id = run.json()["import_id"].as_i64().unwrap();
    // Then edits a listing claiming to be someone else.
    let c = connect_as(&t, &alice).await;
    c.batch_execute(
        "SET importdesk.actor = 'support-jane'; UPDATE listings SET title = 'mine' WHERE sku = 'A-1'",
    )
    .await
    .unwrap();

    // The audit log and the history name her role beside her OS user.
    let audit = Invocation::on(&t.url(), &["audit"]).run();
    assert_eq!(audit.code, Some(0), "{}", audit.all());
    assert!(
        audit.stdout.contains(&format!("({alice})")),
        "{}",
        audit.stdout
    );
    let history = Invocation::on(&t.url(), &["history"]).run();
    assert!(
        history.stdout.contains(&format!("({alice})")),
        "{}",
        history.stdout
    );
    let preview = Invocation::on(&t.url(), &["rollback", &id.to_string(), "--preview"]).run();
    assert!(
        preview.stdout.contains(&format!(
            "edited after the import by support-jane ({alice})"
        )),
        "{}",
        preview.stdout
    );
    let stored: String = t
        .client()
        .await
        .query_one(
            "SELECT db_role FROM import_audit.audit_log WHERE import_id = $1 LIMIT 1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, alice);
}

/// A rollback's execution report names who changed a skipped listing and
/// when, as its preview does.
#[tokio::test]
async fn a_rollbacks_skipped_listings_name_who_changed_them_and_when() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let (_d, file) = listings_file("A", 3);
    let id = import_as_owner(&t, &file, "seller-a");
    connect_as(&t, &alice)
        .await
        .batch_execute("UPDATE listings SET title = 'by hand' WHERE sku = 'A-2'")
        .await
        .unwrap();
    let rb = Invocation::on(&t.url(), &["rollback", &id.to_string(), "--yes", "--json"]).run();
    assert_eq!(rb.code, Some(0), "{}", rb.all());
    let skipped = &rb.json()["skipped_listings"][0];
    assert_eq!(skipped["sku"], "A-2");
    assert_eq!(skipped["changed_by"], alice.as_str());
    assert!(skipped["changed_at"].is_string(), "{skipped}");

    let (_d2, file2) = listings_file("A", 3);
    let id2 = import_as_owner(&t, &file2, "seller-a");
    connect_as(&t, &alice)
        .await
        .batch_execute("DELETE FROM listings WHERE sku = 'A-3'")
        .await
        .unwrap();
    let text = Invocation::on(&t.url(), &["rollback", &id2.to_string(), "--yes"]).run();
    assert_eq!(text.code, Some(0), "{}", text.all());
    assert!(
        text.stdout.contains(&format!(
            "skipped A-3: deleted after the import by {alice} at "
        )),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("not through importdesk"),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn a_seller_holding_a_table_lock_stalls_nobody_silently() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let bob = seller_role(&t, "bob", Some("seller-b")).await;
    let mut holder = connect_as(&t, &alice).await;
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE listings IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let (_d, file) = listings_file("B", 3);
    let import = |deadline| {
        Invocation::on(
            &url_as(&t, &bob),
            &["import", file.to_str().unwrap(), "--seller", "seller-b"],
        )
        .env("IMPORTDESK_LOCK_TIMEOUT", "2s")
        .deadline(deadline)
        .run()
    };
    let blocked = import(Duration::from_secs(60));
    assert_eq!(
        blocked.code,
        Some(1),
        "it must end, not hang: {}",
        blocked.all()
    );
    assert!(
        blocked.elapsed < Duration::from_secs(30),
        "{:?}",
        blocked.elapsed
    );
    for part in [
        "gave up waiting for a lock after 2s",
        &format!("role {alice}"),
        "since ",
        "AccessExclusiveLock on public.listings",
        "nothing was changed",
    ] {
        assert!(
            blocked.stderr.contains(part),
            "{part:?} in {}",
            blocked.stderr
        );
    }
    // Support's prune is bounded the same way.
    let sue = support_role(&t, "sue").await;
    let prune = Invocation::on(&url_as(&t, &sue), &["audit", "prune"])
        .env("IMPORTDESK_LOCK_TIMEOUT", "1s")
        .deadline(Duration::from_secs(60))
        .run();
    assert!(prune.code.is_some(), "prune hung");

    tx.commit().await.unwrap();
    let after = import(Duration::from_secs(60));
    assert_eq!(after.code, Some(0), "{}", after.all());
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM listings WHERE seller_id = 'seller-b'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_seller_cannot_hold_another_sellers_lock() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", Some("seller-a")).await;
    let bob = seller_role(&t, "bob", Some("seller-b")).await;
    let bob_url = url_as(&t, &bob);
    let (_d, file) = listings_file("B", 2);
    let import = || {
        Invocation::on(
            &bob_url,
            &["import", file.to_str().unwrap(), "--seller", "seller-b"],
        )
        .deadline(Duration::from_secs(60))
        .run()
    };
    let alice_c = connect_as(&t, &alice).await;

    // The old public key is no lock any more.
    alice_c
        .batch_execute("SELECT pg_advisory_lock(x'4944'::int, hashtext('seller-b'))")
        .await
        .unwrap();
    let run = import();
    assert_eq!(run.code, Some(0), "{}", run.all());

    // Nor can she ask importdesk's functions for it, or read the keys.
    let err = alice_c
        .query_one("SELECT import_audit.try_lock_seller('seller-b')", &[])
        .await
        .unwrap_err();
    assert!(db_message(&err).contains("may not act for seller"));
    assert!(
        alice_c
            .query("SELECT * FROM import_audit.seller_locks", &[])
            .await
            .is_err()
    );

    // She reads bob's key from pg_locks while his session holds it...
    let bob_c = connect_as(&t, &bob).await;
    let bob_pid: i32 = bob_c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        bob_c
            .query_one("SELECT import_audit.try_lock_seller('seller-b')", &[])
            .await
            .unwrap()
            .get::<_, bool>(0)
    );
    let key: i64 = alice_c
        .query_one(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
              WHERE locktype = 'advisory' AND objsubid = 1 AND pid = $1",
            &[&bob_pid],
        )
        .await
        .unwrap()
        .get(0);
    bob_c
        .execute("SELECT import_audit.unlock_seller('seller-b')", &[])
        .await
        .unwrap();
    // ...and holds it once he let go: bob's imports go on regardless.
    alice_c
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await
        .unwrap();
    let run = import();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let still_held: bool = alice_c
        .query_one(
            "SELECT count(*) = 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
                AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1",
            &[&key],
        )
        .await
        .unwrap()
        .get(0);
    assert!(still_held, "the test must keep holding the stolen key");
}

#[tokio::test]
async fn grant_seller_bounds_statements_and_idle_transactions() {
    let t = TestDb::new().await;
    let suffix = t.name.trim_start_matches("importdesk_t_").to_string();
    let (dflt, tight) = (format!("dflt_{suffix}"), format!("tight_{suffix}"));
    let c = t.client().await;
    for role in [&dflt, &tight] {
        c.batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
        ))
        .await
        .unwrap();
    }
    let run = Invocation::on(&t.url(), &["db", "grant-seller", &dflt, "seller-d"]).run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout.contains("statement_timeout 10min"),
        "{}",
        run.stdout
    );
    let run = Invocation::on(
        &t.url(),
        &[
            "db",
            "grant-seller",
            &tight,
            "seller-t",
            "--statement-timeout",
            "1s",
            "--idle-in-transaction-timeout",
            "1s",
        ],
    )
    .run();
    assert_eq!(run.code, Some(0), "{}", run.all());

    let shown = |c: tokio_postgres::Client, name: &'static str| async move {
        c.query_one(&format!("SHOW {name}"), &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    assert_eq!(
        shown(connect_as(&t, &dflt).await, "statement_timeout").await,
        "10min"
    );
    assert_eq!(
        shown(
            connect_as(&t, &dflt).await,
            "idle_in_transaction_session_timeout"
        )
        .await,
        "5min"
    );

    let limited = connect_as(&t, &tight).await;
    let err = limited
        .batch_execute("SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    assert!(
        db_message(&err).contains("statement timeout"),
        "{}",
        db_message(&err)
    );
    let mut idle = connect_as(&t, &tight).await;
    let tx = idle.transaction().await.unwrap();
    tx.batch_execute("SELECT 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        tx.batch_execute("SELECT 1").await.is_err(),
        "an idle transaction must have been ended by the server"
    );
}
