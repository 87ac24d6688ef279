//! The access area's guards (roles, sessions, lock waits): what the area's
//! own tests left unasserted in the 2026-11-30 sample.

use crate::common::{TestDb, cli_command};

/// Runs `importdesk history` with `IMPORTDESK_LOCK_TIMEOUT=value`.
fn history_with_lock_timeout(t: &TestDb, value: &str) -> (Option<i32>, String) {
    let out = cli_command(&t.url(), &["history"])
        .env("IMPORTDESK_LOCK_TIMEOUT", value)
        .output()
        .expect("run importdesk");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_lock_timeout_that_is_zero_or_has_no_known_unit_is_refused() {
    let t = TestDb::new().await;
    // 0 would mean "wait forever"; a unit PostgreSQL does not know would
    // fail at connection time with PostgreSQL's own words, not ours.
    for bad in ["0", "0s", "00min", "10x", "5 hours", "soon"] {
        let (code, stderr) = history_with_lock_timeout(&t, bad);
        assert_eq!(code, Some(1), "{bad:?} accepted: {stderr}");
        assert!(
            stderr.contains("IMPORTDESK_LOCK_TIMEOUT=") && stderr.contains("is not a lock timeout"),
            "{bad:?}: {stderr}"
        );
    }
    for good in ["250ms", " 2 s ", "1min", "7"] {
        let (code, stderr) = history_with_lock_timeout(&t, good);
        assert_eq!(code, Some(0), "{good:?} refused: {stderr}");
    }
}
