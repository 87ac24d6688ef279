//! Listings and their history (issue 14) against a real PostgreSQL, through
//! the real binary and with real login roles: the timeline, restoring one
//! listing, a restore meeting a later rollback, hand edits in the audit,
//! browsing, and seller isolation.

mod common;

use common::{NATIVE_HEADER, TestDb, count, csv_file, import_json};
use serde_json::Value;

/// Two listings, as a first import leaves them.
fn first() -> String {
    format!(
        "{NATIVE_HEADER}\
         A,Lamp,Brass lamp,19.99,USD,3,active,new,Lighting,111,2027-01-31T12:00:00Z\n\
         B,Mug,,4.50,USD,0,draft,,Kitchen,,\n"
    )
}

/// The second import: changes A's title and price, keeps B.
fn second() -> String {
    format!(
        "{NATIVE_HEADER}\
         A,LAMP!!!,Brass lamp,30.00,USD,3,active,new,Lighting,111,2027-01-31T12:00:00Z\n\
         B,Mug,,4.50,USD,0,draft,,Kitchen,,\n"
    )
}

struct Seeded {
    t: TestDb,
    _files: Vec<tempfile::TempDir>,
    first_id: i64,
    second_id: i64,
}

/// Imports `first` then `second` for seller acme; `between` runs in between.
async fn seeded(between: &str) -> Seeded {
    let t = TestDb::new().await;
    let (d1, p1) = csv_file("first.csv", &first());
    let first_id = import_json(&t, &p1, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    if !between.is_empty() {
        t.client().await.batch_execute(between).await.unwrap();
    }
    let (d2, p2) = csv_file("second.csv", &second());
    let out = import_json(&t, &p2, "acme", &[], 0);
    Seeded {
        t,
        _files: vec![d1, d2],
        first_id,
        second_id: out["import_id"].as_i64().unwrap(),
    }
}

fn timeline(t: &TestDb, sku: &str) -> Value {
    let run = t.cli(&["listing", sku, "--seller", "acme", "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.json()
}

fn changes(tl: &Value) -> &Vec<Value> {
    tl["changes"].as_array().unwrap()
}

/// field -> [before, after] of a change's diff.
fn diff_of(change: &Value) -> std::collections::BTreeMap<String, (Value, Value)> {
    change["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                (f["before"].clone(), f["after"].clone()),
            )
        })
        .collect()
}

fn pair(before: &str, after: &str) -> (Value, Value) {
    (Value::from(before), Value::from(after))
}

async fn session_role(t: &TestDb) -> String {
    t.client()
        .await
        .query_one("SELECT session_user::text", &[])
        .await
        .unwrap()
        .get(0)
}

/// The number of the newest change to a listing (its main row is the newest row).
async fn newest_change(t: &TestDb, seller: &str, sku: &str) -> i64 {
    t.client()
        .await
        .query_one(
            "SELECT max(audit_change_id) FROM import_audit.log_listings
              WHERE seller_id = $1 AND sku = $2",
            &[&seller, &sku],
        )
        .await
        .unwrap()
        .get(0)
}

/// Calls the database's restore check for listing A of `seller` directly, as
/// a client could; returns the error it must raise.
async fn refused_restore_claim(
    conn: &impl tokio_postgres::GenericClient,
    seller: &str,
    change: i64,
) -> String {
    let err = conn
        .query(
            "SELECT import_audit.record_listing_restore($1, 'A', $2, 'alice', '{}')",
            &[&seller, &change],
        )
        .await
        .expect_err("the database refuses the claim");
    err.as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_else(|| err.to_string())
}

async fn listing_text(t: &TestDb, seller: &str, sku: &str) -> Option<String> {
    t.client()
        .await
        .query_opt(
            "SELECT (l.*)::text FROM listings l WHERE seller_id = $1 AND sku = $2",
            &[&seller, &sku],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// The listing's columns without `updated_at`, as text.
async fn values_without_updated_at(t: &TestDb, sku: &str) -> String {
    t.client()
        .await
        .query_one(
            "SELECT (to_jsonb(l) - 'updated_at')::text FROM listings l
              WHERE seller_id = 'acme' AND sku = $1",
            &[&sku],
        )
        .await
        .unwrap()
        .get(0)
}

const HAND_EDIT_A: &str = "
    SELECT set_config('importdesk.actor', 'jane', false);
    UPDATE listings SET price = 25.00 WHERE seller_id = 'acme' AND sku = 'A';
    SELECT set_config('importdesk.actor', '', false);";

#[tokio::test]
async fn the_timeline_tells_import_hand_edit_reimport_and_rollback_apart() {
    let s = seeded(HAND_EDIT_A).await;
    let t = &s.t;
    let rb = t.cli(&["rollback", &s.second_id.to_string(), "--yes", "--json"]);
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(rb.json()["restored"], 1);

    let tl = timeline(t, "A");
    assert_eq!(
        tl["current"]["price"], "25.00",
        "the rollback restored the hand edit"
    );
    let c = changes(&tl);
    assert_eq!(c.len(), 4, "{tl:#}");
    let ids: Vec<i64> = c.iter().map(|x| x["change_id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    // Newest: the rollback of the second import restored A.
    assert_eq!(c[0]["action"], "updated");
    assert_eq!(c[0]["source"]["by"], "rollback");
    assert_eq!(c[0]["source"]["import_id"], s.second_id);
    assert_eq!(diff_of(&c[0])["price"], pair("30.00", "25.00"));
    assert_eq!(diff_of(&c[0])["title"], pair("LAMP!!!", "Lamp"));
    assert_eq!(c[0]["values"]["price"], "25.00");

    // The re-import.
    assert_eq!(c[1]["source"]["by"], "import");
    assert_eq!(c[1]["source"]["import_id"], s.second_id);
    assert!(
        c[1]["source"]["file_name"]
            .as_str()
            .unwrap()
            .ends_with("second.csv")
    );
    assert_eq!(diff_of(&c[1])["price"], pair("25.00", "30.00"));
    assert_eq!(c[1]["values"]["title"], "LAMP!!!");
    assert_eq!(c[1]["before"]["price"], "25.00");

    // The hand edit, with the role PostgreSQL recorded and the actor it was given.
    let role = session_role(t).await;
    assert_eq!(c[2]["source"]["by"], "hand");
    assert_eq!(c[2]["actor"], "jane");
    assert_eq!(c[2]["db_role"], role.as_str());
    let edit = diff_of(&c[2]);
    assert_eq!(edit["price"], pair("19.99", "25.00"));
    assert_eq!(edit.len(), 1, "only the price changed: {edit:?}");
    assert_eq!(c[2]["values"]["price"], "25.00");
    assert_eq!(c[2]["values"]["title"], "Lamp");

    // The creation.
    assert_eq!(c[3]["action"], "created");
    assert_eq!(c[3]["source"]["import_id"], s.first_id);
    assert_eq!(c[3]["before"], Value::Null);
    let created = diff_of(&c[3]);
    assert_eq!(created["price"], (Value::Null, Value::from("19.99")));
    assert_eq!(created["end_date"].1, "2027-01-31 12:00:00 UTC");
    assert!(!created.contains_key("updated_at"));

    // B: the second import left it alone, the rollback too.
    let b = timeline(t, "B");
    assert_eq!(changes(&b).len(), 1);
    assert_eq!(changes(&b)[0]["source"]["import_id"], s.first_id);

    // The same in words.
    let text = t.cli(&["listing", "A", "--seller", "acme"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for line in [
        format!(
            "restored by the rollback of import #{} (second.csv)",
            s.second_id
        ),
        format!("updated by import #{} (second.csv)", s.second_id),
        format!("edited by hand by jane (role {role})"),
        format!("created by import #{} (first.csv)", s.first_id),
        "price           19.99 -> 25.00".to_string(),
    ] {
        assert!(
            text.stdout.contains(&line),
            "{line:?} missing in:\n{}",
            text.stdout
        );
    }

    // Paging: two at a time, then the rest.
    let page = t
        .cli(&["listing", "A", "--seller", "acme", "--limit", "2", "--json"])
        .json();
    assert_eq!(changes(&page).len(), 2);
    let next = page["next_before"].as_i64().unwrap();
    assert_eq!(next, ids[1]);
    let rest = t
        .cli(&[
            "listing",
            "A",
            "--seller",
            "acme",
            "--before",
            &next.to_string(),
            "--json",
        ])
        .json();
    let rest_ids: Vec<i64> = changes(&rest)
        .iter()
        .map(|x| x["change_id"].as_i64().unwrap())
        .collect();
    assert_eq!(rest_ids, ids[2..]);

    let none = t.cli(&["listing", "NOPE", "--seller", "acme"]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr.contains("has no listing NOPE"),
        "{}",
        none.stderr
    );
}

/// A rollback's change is restorable like any other: its before-image is
/// the old row its statement logged among the rollback's rows (V15 keeps
/// them apart from the hand edits).
#[tokio::test]
async fn a_listing_is_restored_to_before_a_rollbacks_change() {
    let s = seeded(HAND_EDIT_A).await;
    let t = &s.t;
    let rb = t.cli(&["rollback", &s.second_id.to_string(), "--yes", "--json"]);
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    let by_rollback = changes(&timeline(t, "A"))[0].clone();
    assert_eq!(by_rollback["source"]["by"], "rollback");
    let change = by_rollback["change_id"].as_i64().unwrap();

    let preview = restore(t, "A", change, &["--preview", "--json"]);
    assert_eq!(preview.code, 0, "{}{}", preview.stdout, preview.stderr);
    let p = preview.json()["preview"].clone();
    assert_eq!(diff_of(&p)["price"], pair("25.00", "30.00"));
    let fp = p["fingerprint"].as_str().unwrap().to_string();
    let run = restore(t, "A", change, &["--yes", "--expect", &fp, "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let row = t
        .client()
        .await
        .query_one(
            "SELECT title, price::text FROM listings WHERE seller_id = 'acme' AND sku = 'A'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("LAMP!!!".to_string(), "30.00".to_string()),
        "the values the re-import wrote, which the rollback had undone"
    );
}

fn restore(t: &TestDb, sku: &str, change: i64, extra: &[&str]) -> common::CliRun {
    let change = change.to_string();
    let mut args = vec![
        "listing",
        sku,
        "--seller",
        "acme",
        "--restore-before",
        &change,
    ];
    args.extend_from_slice(extra);
    t.cli(&args)
}

#[tokio::test]
async fn a_restore_writes_the_old_values_as_an_audited_edit_the_triggers_capture() {
    let s = seeded("").await;
    let t = &s.t;
    let reimport = changes(&timeline(t, "A"))[0].clone();
    assert_eq!(reimport["source"]["import_id"], s.second_id);
    let change = reimport["change_id"].as_i64().unwrap();
    let log_rows = count(t, "SELECT count(*) FROM import_audit.log_listings").await;

    let preview = restore(t, "A", change, &["--preview", "--json"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let p = preview.json()["preview"].clone();
    assert_eq!(p["recreates"], false);
    let d = diff_of(&p);
    assert_eq!(d["price"], pair("30.00", "19.99"));
    assert_eq!(d["title"], pair("LAMP!!!", "Lamp"));
    assert_eq!(d.len(), 2, "{d:?}");
    let fp = p["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(
        count(t, "SELECT count(*) FROM import_audit.log_listings").await,
        log_rows,
        "the preview changes nothing"
    );

    let text = restore(t, "A", change, &["--preview"]);
    assert!(
        text.stdout.contains("price           30.00 -> 19.99"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("--yes --expect {fp}")),
        "{}",
        text.stdout
    );

    let run = restore(t, "A", change, &["--yes", "--expect", &fp, "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = run.json();
    assert_eq!(out["recreated"], false);
    let restore_id = out["restore_id"].as_i64().unwrap();

    // Values: those before the re-import, field by field; updated_at is the restore's.
    let c = t.client().await;
    let row = c
        .query_one(
            "SELECT title, price::text, (l.updated_at > i.finished_at) AS newer
               FROM listings l, import_audit.imports i
              WHERE l.seller_id = 'acme' AND l.sku = 'A' AND i.id = $1",
            &[&s.second_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Lamp");
    assert_eq!(row.get::<_, String>(1), "19.99");
    assert!(
        row.get::<_, bool>(2),
        "a restore is a new edit: updated_at moves on"
    );

    // Captured by the triggers as an edit (no import, no rollback tag) in the
    // restore's transaction, by the real role.
    let role = session_role(t).await;
    let captured = c
        .query(
            "SELECT l.audit_image::text, l.audit_role, l.price::text
               FROM import_audit.log_listings l
               JOIN import_audit.listing_restores r ON r.txid = l.audit_txid
              WHERE r.id = $1 AND l.audit_import_id IS NULL AND l.audit_rollback_of IS NULL
              ORDER BY l.audit_change_id",
            &[&restore_id],
        )
        .await
        .unwrap();
    let captured: Vec<(String, String, String)> = captured
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        captured,
        [
            ("O".to_string(), role.clone(), "30.00".to_string()),
            ("N".to_string(), role.clone(), "19.99".to_string())
        ]
    );

    // The audit-log entry names the change it came from.
    let audit = t.cli(&["audit", "--json"]).json();
    let entry = &audit[0];
    assert_eq!(entry["action"], "listing restored");
    assert_eq!(entry["seller_id"], "acme");
    assert_eq!(entry["db_role"], role.as_str());
    assert_eq!(entry["details"]["sku"], "A");
    assert_eq!(entry["details"]["before_change"], change);
    assert_eq!(entry["details"]["restore_id"], restore_id);
    assert_eq!(
        entry["details"]["change"],
        format!("updated by import #{} (second.csv)", s.second_id)
    );

    // The timeline says what happened.
    let tl = timeline(t, "A");
    assert_eq!(changes(&tl)[0]["source"]["by"], "restore");
    assert_eq!(changes(&tl)[0]["source"]["before_change"], change);

    // Once more is refused: it already has those values.
    let again = restore(t, "A", change, &["--yes", "--json"]);
    assert_eq!(again.code, 3, "{}", again.stdout);
    assert_eq!(again.json()["refused"], "already_those_values");
}

#[tokio::test]
async fn a_restore_of_a_listing_changed_since_the_preview_is_refused() {
    let s = seeded("").await;
    let t = &s.t;
    let change = changes(&timeline(t, "A"))[0]["change_id"].as_i64().unwrap();
    let p = restore(t, "A", change, &["--preview", "--json"]).json();
    let fp = p["preview"]["fingerprint"].as_str().unwrap().to_string();

    t.client()
        .await
        .batch_execute("UPDATE listings SET quantity = 7 WHERE seller_id = 'acme' AND sku = 'A'")
        .await
        .unwrap();
    let before = listing_text(t, "acme", "A").await;
    let run = restore(t, "A", change, &["--yes", "--expect", &fp, "--json"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let out = run.json();
    assert_eq!(out["refused"], "listing_changed");
    assert_eq!(out["expected"], fp.as_str());
    assert_ne!(out["actual"], fp.as_str());
    assert_eq!(
        listing_text(t, "acme", "A").await,
        before,
        "nothing changed"
    );
    assert_eq!(
        count(t, "SELECT count(*) FROM import_audit.listing_restores").await,
        0
    );
    assert_eq!(
        count(
            t,
            "SELECT count(*) FROM import_audit.audit_log WHERE action = 'listing restored'"
        )
        .await,
        0
    );
    let text = restore(t, "A", change, &["--yes", "--expect", &fp]);
    assert_eq!(text.code, 3);
    assert!(
        text.stderr
            .contains("changed since the preview you confirmed"),
        "{}",
        text.stderr
    );

    // Without a terminal and without --yes it asks nobody and refuses.
    let unconfirmed = restore(t, "A", change, &[]);
    assert_eq!(unconfirmed.code, 3);
    assert!(
        unconfirmed.stderr.contains("without confirmation"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(listing_text(t, "acme", "A").await, before);
}

#[tokio::test]
async fn a_deleted_listing_is_created_again_from_before_its_deletion() {
    let s = seeded("").await;
    let t = &s.t;
    let alive = values_without_updated_at(t, "A").await;
    t.client()
        .await
        .batch_execute("DELETE FROM listings WHERE seller_id = 'acme' AND sku = 'A'")
        .await
        .unwrap();
    let tl = timeline(t, "A");
    assert_eq!(tl["current"], Value::Null);
    let deletion = &changes(&tl)[0];
    assert_eq!(deletion["action"], "deleted");
    assert_eq!(deletion["source"]["by"], "hand");
    assert_eq!(deletion["values"], Value::Null);
    assert_eq!(
        diff_of(deletion)["price"],
        (Value::from("30.00"), Value::Null)
    );
    let change = deletion["change_id"].as_i64().unwrap();

    let p = restore(t, "A", change, &["--preview", "--json"]).json();
    assert_eq!(p["preview"]["recreates"], true);
    let run = restore(t, "A", change, &["--yes", "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["recreated"], true);
    assert_eq!(
        values_without_updated_at(t, "A").await,
        alive,
        "every column as before the deletion, created_at included"
    );
    let top = changes(&timeline(t, "A"))[0].clone();
    assert_eq!(top["action"], "created");
    assert_eq!(top["source"]["before_change"], change);

    // Before its creation there was nothing to restore.
    let creation = changes(&timeline(t, "B"))[0]["change_id"].as_i64().unwrap();
    let refused = restore(t, "B", creation, &["--yes", "--json"]);
    assert_eq!(refused.code, 3);
    assert_eq!(refused.json()["refused"], "nothing_before");
    // A number that is not one of this listing's changes.
    let wrong = restore(t, "B", change, &["--yes"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("has no change"), "{}", wrong.stderr);
}

#[tokio::test]
async fn a_rollback_after_a_restore_skips_the_restored_listing_and_says_so() {
    let s = seeded("").await;
    let t = &s.t;
    // A hand edit after the re-import, undone from A's timeline: A gets the
    // values the re-import gave it back, but as a new edit.
    t.client()
        .await
        .batch_execute("UPDATE listings SET quantity = 9 WHERE seller_id = 'acme' AND sku = 'A'")
        .await
        .unwrap();
    let edit = changes(&timeline(t, "A"))[0].clone();
    assert_eq!(edit["source"]["by"], "hand");
    let change = edit["change_id"].as_i64().unwrap();
    let run = restore(t, "A", change, &["--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let restored = listing_text(t, "acme", "A").await;

    let id = s.second_id.to_string();
    let preview = t.cli(&["rollback", &id, "--preview"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview
            .stdout
            .contains("! A: restored from its timeline after the import by"),
        "{}",
        preview.stdout
    );
    let blocked = t.cli(&["rollback", &id, "--yes", "--on-conflict", "block", "--json"]);
    assert_eq!(blocked.code, 3);
    let conflicts = &blocked.json()["conflicts"];
    assert_eq!(conflicts[0]["sku"], "A");
    assert_eq!(conflicts[0]["change"], "restore");

    let done = t.cli(&["rollback", &id, "--yes"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(
        done.stdout
            .contains("skipped A: restored from its timeline after the import"),
        "{}",
        done.stdout
    );
    assert_eq!(
        listing_text(t, "acme", "A").await,
        restored,
        "the restore stands"
    );
}

#[tokio::test]
async fn a_restore_is_refused_while_an_import_or_rollback_of_the_seller_runs() {
    let s = seeded("").await;
    let t = &s.t;
    let change = changes(&timeline(t, "A"))[0]["change_id"].as_i64().unwrap();
    // What an import or rollback of the seller holds for its whole run.
    let session = t.db.session().await.unwrap();
    let importdesk::db::LockAttempt::Held(holder) = session.lock_seller("acme").await.unwrap()
    else {
        panic!("the lock of acme is taken")
    };
    let run = restore(t, "A", change, &["--yes", "--json"]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(run.json()["refused"], "busy");
    drop(holder.release().await);
    assert_eq!(restore(t, "A", change, &["--yes"]).code, 0);
}

#[tokio::test]
async fn hand_edits_show_in_the_audit_by_seller_sku_role_and_date() {
    let s = seeded(HAND_EDIT_A).await;
    let t = &s.t;
    let sue = common::login_role(t, "sue", None).await;
    let sue_client = common::connect_as_role(t, &sue).await;
    sue_client
        .batch_execute("UPDATE listings SET quantity = 9 WHERE seller_id = 'acme' AND sku = 'B'")
        .await
        .unwrap();
    let me = session_role(t).await;

    let all = t.cli(&["audit", "--edits", "--json"]).json();
    let edits: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "hand_edit")
        .collect();
    assert_eq!(edits.len(), 2, "{all:#}");
    assert_eq!(edits[0]["sku"], "B", "newest first");
    assert_eq!(edits[0]["db_role"], sue.as_str());
    assert!(
        all.as_array().unwrap().iter().any(|i| i["kind"] == "entry"),
        "alongside the audit-log entries"
    );

    let by_sku = t.cli(&["audit", "--edits", "--sku", "A", "--json"]).json();
    let by_sku = by_sku.as_array().unwrap();
    assert_eq!(by_sku.len(), 1, "{by_sku:#?}");
    assert_eq!(by_sku[0]["actor"], "jane");
    assert_eq!(diff_of(&by_sku[0])["price"], pair("19.99", "25.00"));

    let by_role = t
        .cli(&["audit", "--edits", "--role", &sue, "--json"])
        .json();
    let by_role = by_role.as_array().unwrap();
    assert_eq!(by_role.len(), 1);
    assert_eq!(by_role[0]["sku"], "B");
    let mine = t.cli(&["audit", "--edits", "--role", &me, "--json"]).json();
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|i| i["db_role"] == me.as_str())
    );

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let later = t
        .cli(&["audit", "--edits", "--since", &tomorrow, "--json"])
        .json();
    assert_eq!(later.as_array().unwrap().len(), 0);
    let earlier = t
        .cli(&[
            "audit", "--edits", "--until", &tomorrow, "--seller", "nobody", "--json",
        ])
        .json();
    assert_eq!(earlier.as_array().unwrap().len(), 0);

    let text = t.cli(&["audit", "--edits", "--sku", "B"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("hand edit"), "{}", text.stdout);
    assert!(text.stdout.contains("quantity 0 -> 9"), "{}", text.stdout);
    // Without --edits the audit log is what it always was.
    let plain = t.cli(&["audit", "--json"]).json();
    assert!(
        plain
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("kind").is_none())
    );
}

#[tokio::test]
async fn listings_are_paged_filtered_and_sorted() {
    let t = TestDb::new().await;
    let (_d, p) = csv_file(
        "five.csv",
        &format!(
            "{NATIVE_HEADER}\
             K1,Brass lamp,,1.00,USD,1,active,,,,\n\
             K2,Oak chair,,2.00,USD,2,draft,,,,\n\
             K3,Desk LAMP,,3.00,USD,3,active,,,,\n\
             K4,Mug,,4.00,USD,4,ended,,,,\n\
             K5,Shelf,,5.00,USD,5,active,,,,\n"
        ),
    );
    import_json(&t, &p, "acme", &[], 0);
    import_json(&t, &p, "other", &[], 0);
    let skus = |v: &Value| -> Vec<String> {
        v["listings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["sku"].as_str().unwrap().to_string())
            .collect()
    };
    let page1 = t
        .cli(&["listings", "--seller", "acme", "--limit", "2", "--json"])
        .json();
    assert_eq!(skus(&page1), ["K1", "K2"]);
    assert_eq!(page1["listings"][0]["price"], "1.00");
    let next = page1["next"].as_str().unwrap().to_string();
    let page2 = t
        .cli(&[
            "listings", "--seller", "acme", "--limit", "2", "--after", &next, "--json",
        ])
        .json();
    assert_eq!(skus(&page2), ["K3", "K4"]);
    let page3 = t
        .cli(&[
            "listings", "--seller", "acme", "--limit", "2", "--after", "K4", "--json",
        ])
        .json();
    assert_eq!(skus(&page3), ["K5"]);
    assert_eq!(page3["next"], Value::Null);

    let lamps = t
        .cli(&["listings", "--seller", "acme", "--search", "lamp", "--json"])
        .json();
    assert_eq!(skus(&lamps), ["K1", "K3"], "title, any case");
    let by_sku = t
        .cli(&["listings", "--seller", "acme", "--search", "k4", "--json"])
        .json();
    assert_eq!(skus(&by_sku), ["K4"]);
    let drafts = t
        .cli(&[
            "listings", "--seller", "acme", "--status", "draft", "--json",
        ])
        .json();
    assert_eq!(skus(&drafts), ["K2"]);

    // By last change, newest first: K2 then K4 edited later, in that order.
    t.client()
        .await
        .batch_execute(
            "UPDATE listings SET updated_at = now() + interval '1 hour' WHERE seller_id = 'acme' AND sku = 'K2';
             UPDATE listings SET updated_at = now() + interval '2 hours' WHERE seller_id = 'acme' AND sku = 'K4';",
        )
        .await
        .unwrap();
    let recent = t
        .cli(&[
            "listings", "--seller", "acme", "--sort", "changed", "--limit", "3", "--json",
        ])
        .json();
    let first3 = skus(&recent);
    assert_eq!(first3[..2], ["K4", "K2"]);
    let next = recent["next"].as_str().unwrap().to_string();
    let rest = t
        .cli(&[
            "listings", "--seller", "acme", "--sort", "changed", "--after", &next, "--json",
        ])
        .json();
    let mut all: Vec<String> = first3.into_iter().chain(skus(&rest)).collect();
    assert_eq!(all.len(), 5, "every listing once: {all:?}");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5);

    let bad = t.cli(&[
        "listings", "--seller", "acme", "--sort", "changed", "--after", "K1",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let text = t.cli(&["listings", "--seller", "acme", "--limit", "2"]);
    assert!(
        text.stdout.contains("next page: --after K2"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("Brass lamp"), "{}", text.stdout);
}

#[tokio::test]
async fn sellers_see_and_restore_only_their_own_listings() {
    let t = TestDb::new().await;
    let alice = common::login_role(&t, "alice", Some("seller-a")).await;
    let (_d, p) = csv_file("mine.csv", &first());
    import_json(&t, &p, "seller-a", &[], 0);
    import_json(&t, &p, "seller-b", &[], 0);
    let c = t.client().await;
    c.batch_execute(
        "UPDATE listings SET price = 1.00 WHERE sku = 'A';
         DELETE FROM listings WHERE seller_id = 'seller-b' AND sku = 'B';",
    )
    .await
    .unwrap();
    let b_edit = newest_change(&t, "seller-b", "A").await;
    let b_delete = newest_change(&t, "seller-b", "B").await;

    // Raw SQL as alice: nothing of seller-b is visible, nothing restorable.
    let raw = common::connect_as_role(&t, &alice).await;
    let seen: i64 = raw
        .query_one(
            "SELECT count(*) FROM import_audit.log_listings WHERE seller_id <> 'seller-a'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0);
    let own: i64 = raw
        .query_one("SELECT count(*) FROM import_audit.log_listings", &[])
        .await
        .unwrap()
        .get(0);
    assert!(own > 0);
    let written = raw
        .execute(
            "UPDATE listings l SET price = b.price FROM import_audit.log_listings b
              WHERE l.seller_id = 'seller-b' AND b.audit_change_id = $1",
            &[&b_edit],
        )
        .await
        .unwrap();
    assert_eq!(written, 0);
    let forged = refused_restore_claim(&raw, "seller-b", b_edit).await;
    assert!(forged.contains("may not act for seller"), "{forged}");
    // Nor can she claim a restore of her own listing that she did not make.
    let own_edit = newest_change(&t, "seller-a", "A").await;
    let claimed = refused_restore_claim(&raw, "seller-a", own_edit).await;
    assert!(claimed.contains("did not change listing"), "{claimed}");
    // Nor one she made with other values than the change's before-image.
    let mut raw = raw;
    let tx = raw.transaction().await.unwrap();
    tx.batch_execute("UPDATE listings SET price = 2.00 WHERE sku = 'A'")
        .await
        .unwrap();
    let wrong = refused_restore_claim(&tx, "seller-a", own_edit).await;
    assert!(wrong.contains("does not hold the values"), "{wrong}");
    drop(tx);
    // Support restores seller-b's deleted listing: alice sees none of it.
    let support = common::login_role(&t, "sue", None).await;
    let sue_url = common::url_for_role(&t, &support);
    let recreated = common::run_cli(
        &sue_url,
        &[
            "listing",
            "B",
            "--seller",
            "seller-b",
            "--restore-before",
            &b_delete.to_string(),
            "--yes",
        ],
        None,
    );
    assert_eq!(
        recreated.code, 0,
        "{}{}",
        recreated.stdout, recreated.stderr
    );
    let seller_b_before = common::dump_listings(&t).await;
    for sql in [
        "SELECT count(*) FROM import_audit.listing_restores",
        "SELECT count(*) FROM import_audit.audit_log WHERE seller_id = 'seller-b'",
        "SELECT count(*) FROM listings WHERE seller_id = 'seller-b'",
    ] {
        let n: i64 = raw.query_one(sql, &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{sql}");
    }
    let insert = raw
        .batch_execute(
            "INSERT INTO import_audit.listing_restores (seller_id, sku, before_change, txid, actor)
             VALUES ('seller-a', 'A', 1, '1', 'alice')",
        )
        .await;
    assert!(
        insert.is_err(),
        "listing_restores is written only by the checking function"
    );

    // Through the commands.
    let url = common::url_for_role(&t, &alice);
    let cli = |args: &[&str]| common::run_cli(&url, args, None);
    for args in [
        vec!["listings", "--seller", "seller-b"],
        vec!["listing", "A", "--seller", "seller-b"],
        vec![
            "listing",
            "A",
            "--seller",
            "seller-b",
            "--restore-before",
            &b_edit.to_string(),
            "--yes",
        ],
        vec![
            "listing",
            "B",
            "--seller",
            "seller-b",
            "--restore-before",
            &b_delete.to_string(),
            "--yes",
        ],
    ] {
        let run = cli(&args);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains(&format!("role {alice} may not act for seller seller-b")),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        common::dump_listings(&t).await,
        seller_b_before,
        "nothing changed"
    );
    let edits = cli(&["audit", "--edits", "--json"]);
    assert_eq!(edits.code, 0, "{}", edits.stderr);
    let edits = edits.json();
    assert!(
        edits
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "hand_edit")
            .all(|i| i["seller_id"] == "seller-a"),
        "{edits:#}"
    );

    let mine = cli(&["listings", "--seller", "seller-a", "--json"]);
    assert_eq!(mine.code, 0, "{}", mine.stderr);
    assert_eq!(mine.json()["listings"].as_array().unwrap().len(), 2);
    let run = cli(&[
        "listing",
        "A",
        "--seller",
        "seller-a",
        "--restore-before",
        &own_edit.to_string(),
        "--yes",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let role: String = c
        .query_one(
            "SELECT db_role FROM import_audit.audit_log
              WHERE action = 'listing restored' AND seller_id = 'seller-a'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, alice, "the audit log records the real role");
    let theirs = common::run_cli(
        &sue_url,
        &["listing", "B", "--seller", "seller-b", "--json"],
        None,
    );
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    let theirs = theirs.json();
    assert_eq!(
        theirs["current"]["title"], "Mug",
        "support sees and restores every seller"
    );
    assert_eq!(theirs["changes"][0]["source"]["by"], "restore");
    assert_eq!(theirs["changes"][0]["db_role"], support.as_str());
}

/// The imports whose change log says they created or updated `sku`, newest
/// first (the console's `sku:X` history filter).
async fn touched(t: &TestDb, sku: &str, seller: Option<&str>) -> Vec<i64> {
    let filter = importdesk::domain::history::HistoryFilter {
        touched_sku: Some(sku.to_string()),
        seller: seller.map(str::to_string),
        limit: 50,
        ..Default::default()
    };
    importdesk::domain::history::list(&t.db, &filter)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect()
}

#[tokio::test]
async fn the_history_filtered_by_sku_lists_the_imports_that_touched_that_listing() {
    // acme: the first import creates A and B, the second updates A and
    // leaves B as it was; zeta imports the same SKUs as its own listings.
    let s = seeded("").await;
    let (_d3, p3) = csv_file("other.csv", &first());
    let other_id = import_json(&s.t, &p3, "zeta", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        touched(&s.t, "A", Some("acme")).await,
        vec![s.second_id, s.first_id]
    );
    // Unchanged by the second import: not touched by it.
    assert_eq!(touched(&s.t, "B", Some("acme")).await, vec![s.first_id]);
    assert_eq!(
        touched(&s.t, "A", None).await,
        vec![other_id, s.second_id, s.first_id]
    );
    assert_eq!(touched(&s.t, "B", Some("zeta")).await, vec![other_id]);
    assert!(touched(&s.t, "Z", None).await.is_empty());
    // SKUs are compared exactly, as the table keys them.
    assert!(touched(&s.t, "a", None).await.is_empty());
}
