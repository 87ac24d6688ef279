//! The rollback's retry loop: a serialization failure (a listing changed
//! between the plan's snapshot and the rollback's write) plans again, at
//! most three times; any other failure ends the rollback at once. A trigger
//! on `listings` fails the rollback's writes with a chosen SQLSTATE and
//! counts the attempts in a sequence (nextval survives the attempt's
//! rollback).

use std::time::Duration;

use importdesk::domain::actor::Actor;
use importdesk::domain::rollback::{
    ConflictMode, RollbackError, RollbackOutcome, RollbackRequest, execute,
};

use crate::common::{NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json};

const SELLER: &str = "retry";

/// Two imports of `SELLER`; the second updates LAMP-1 and creates MUG-2.
/// Returns the second import's id and the listings as they were before it.
async fn two_imports(t: &TestDb) -> (i64, Vec<String>) {
    let first = format!("{NATIVE_HEADER}LAMP-1,Lamp,Brass,19.99,USD,3,active,new,Home,,\n");
    let (_d1, p1) = csv_file("first.csv", &first);
    import_json(t, &p1, SELLER, &[], 0);
    let before = dump_listings(t).await;
    let second = format!(
        "{NATIVE_HEADER}LAMP-1,Lamp,Brass,24.50,USD,3,active,new,Home,,\n\
         MUG-2,Mug,Blue,4.50,USD,1,active,new,Kitchen,,\n"
    );
    let (_d2, p2) = csv_file("second.csv", &second);
    let out = import_json(t, &p2, SELLER, &[], 0);
    (out["import_id"].as_i64().unwrap(), before)
}

/// From now on the first `failing` statements that write `listings` fail
/// with `sqlstate`; `attempts` counts every write statement tried.
async fn fail_listing_writes(t: &TestDb, sqlstate: &str, failing: i64) {
    t.client()
        .await
        .batch_execute(&format!(
            "CREATE SEQUENCE attempts;
             CREATE FUNCTION fail_listing_write() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF nextval('attempts') <= {failing} THEN
                     RAISE EXCEPTION 'listing write refused by the test' USING ERRCODE = '{sqlstate}';
                 END IF;
                 RETURN NULL;
             END $$;
             CREATE TRIGGER fail_listing_write BEFORE UPDATE OR DELETE ON listings
                 FOR EACH STATEMENT EXECUTE FUNCTION fail_listing_write();"
        ))
        .await
        .unwrap();
}

/// The rollback of `import_id`; a rollback still running after 60 s (a
/// retry loop without end) fails the test.
async fn roll_back(t: &TestDb, import_id: i64) -> Result<RollbackOutcome, RollbackError> {
    let req = RollbackRequest {
        import_id,
        mode: ConflictMode::Skip,
        expect: None,
        actor: Actor {
            os_user: "guard".into(),
            client_addr: None,
        },
        cancel: Default::default(),
    };
    tokio::time::timeout(Duration::from_secs(60), execute(&t.db, req))
        .await
        .expect("the rollback still ran after 60 s: it retries without end")
}

fn failure(result: Result<RollbackOutcome, RollbackError>) -> String {
    match result {
        Err(RollbackError::Failed(e)) => format!("{e:#}"),
        other => panic!("expected a failed rollback, got {other:?}"),
    }
}

async fn attempts(t: &TestDb) -> i64 {
    count(t, "SELECT last_value FROM attempts").await
}

async fn status(t: &TestDb, id: i64) -> String {
    crate::common::texts(
        t,
        &format!("SELECT status::text FROM import_audit.imports WHERE id = {id}"),
    )
    .await
    .remove(0)
}

#[tokio::test]
async fn a_rollback_meeting_a_serialization_failure_plans_again_and_restores() {
    let t = TestDb::new().await;
    let (id, before) = two_imports(&t).await;
    fail_listing_writes(&t, "40001", 1).await;
    let outcome = roll_back(&t, id)
        .await
        .expect("the second attempt succeeds");
    assert_eq!((outcome.restored, outcome.deleted), (1, 1));
    assert_eq!(dump_listings(&t).await, before);
    assert_eq!(status(&t, id).await, "rolled_back");
    // One refused write, then the second attempt's writes.
    assert!(attempts(&t).await >= 2);
}

#[tokio::test]
async fn a_rollback_whose_listings_keep_changing_gives_up_after_three_attempts() {
    let t = TestDb::new().await;
    let (id, _) = two_imports(&t).await;
    let after_import = dump_listings(&t).await;
    fail_listing_writes(&t, "40001", i64::MAX).await;
    let message = failure(roll_back(&t, id).await);
    assert!(
        message.contains("kept changing") && message.contains("(3 attempts)"),
        "{message}"
    );
    // Each attempt stops at its first write.
    assert_eq!(attempts(&t).await, 3);
    assert_eq!(dump_listings(&t).await, after_import);
    assert_eq!(status(&t, id).await, "completed");
}

#[tokio::test]
async fn a_rollback_failing_for_another_reason_is_not_tried_again() {
    let t = TestDb::new().await;
    let (id, _) = two_imports(&t).await;
    let after_import = dump_listings(&t).await;
    // raise_exception: what a trigger or a constraint of the site would say.
    fail_listing_writes(&t, "P0001", i64::MAX).await;
    let message = failure(roll_back(&t, id).await);
    assert!(
        message.contains("listing write refused by the test"),
        "{message}"
    );
    assert!(!message.contains("kept changing"), "{message}");
    assert_eq!(attempts(&t).await, 1);
    assert_eq!(dump_listings(&t).await, after_import);
    assert_eq!(status(&t, id).await, "completed");
}
