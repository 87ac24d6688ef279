//! `prune` is support's twice over: only `importdesk_support` may execute
//! it, and its own first check refuses any caller that is not support.
//! The check is what still holds when EXECUTE is granted too widely (a DBA's
//! `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA import_audit`). Without it such
//! a seller's call would still end in a permission error when `prune`
//! writes its audit entry (only support writes entries without a seller),
//! changing nothing; but it would first walk every seller's lock, and one
//! held by another seller's import turns the refusal into "seller ... has
//! an import or rollback in progress": another seller's name and activity,
//! told to a seller.

use super::priced;
use crate::common::session::{assert_denied, connect_as, seller_role};
use crate::common::{TestDb, csv_file, import_json};

#[tokio::test]
async fn a_sellers_prune_is_refused_before_it_looks_at_other_sellers() {
    let t = TestDb::new().await;
    let alice = seller_role(&t, "alice", "seller-a").await;
    let (_d, file) = csv_file("b.csv", &priced(&[("B-1", "one", "1")]));
    import_json(&t, &file, "seller-b", &[], 0);
    // What an import of seller-b holds while it runs.
    let owner = t.client().await;
    owner
        .batch_execute("SELECT pg_advisory_lock(import_audit.seller_lock_key('seller-b'))")
        .await
        .unwrap();

    // The grant a DBA should not have made.
    owner
        .batch_execute(&format!(
            "GRANT EXECUTE ON FUNCTION import_audit.prune(timestamptz, text) TO \"{alice}\""
        ))
        .await
        .unwrap();

    let a = connect_as(&t, &alice).await;
    let refused = a
        .query("SELECT import_audit.prune(NULL, 'alice')", &[])
        .await;
    let message = format!("{refused:?}");
    assert_denied(refused, "a seller's prune");
    assert!(
        message.contains("only support may prune") && !message.contains("seller-b"),
        "refused as support's, naming nobody else: {message}"
    );
}
