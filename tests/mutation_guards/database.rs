//! The cluster and connection areas' guards, for what their tests left
//! unasserted in the 2026-11-30 sample.

use importdesk::db::{Database, Source, Target};

use crate::common::TestDb;

/// The console's reconnect probe: a banner goes away only when it answers.
#[tokio::test]
async fn ping_answers_only_when_the_server_does() {
    let t = TestDb::new().await;
    t.db.ping().await.expect("a running server answers");
    let nowhere = Target::from_url(
        "postgresql://importdesk@127.0.0.1:9/none?connect_timeout=2",
        Source::Flag,
    )
    .unwrap();
    let gone = Database::unconnected(nowhere).unwrap();
    assert!(
        gone.ping().await.is_err(),
        "a server that is not there answered"
    );
}
