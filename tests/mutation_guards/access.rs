//! The access area's guards (sessions, lock waits), for what the area's tests
//! left unasserted in the 2026-11-30 sample: the lock timeout setting, the
//! lock watch that must stop with its import, and how a database error is
//! classified (lost connection, lock timeout, cancelled, serialization
//! failure, unique key).

use std::time::Duration;

use importdesk::domain::import::run;

use crate::common::{NATIVE_HEADER, TestDb, cli_command, csv_file};
use crate::import_outcomes::request;

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

/// Backends of this database, other than the caller's, whose latest query
/// sampled lock blockers and started after `since` (epoch seconds, the
/// server's clock).
async fn blocker_samples_since(c: &tokio_postgres::Client, since: f64) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND query LIKE '%lock_blockers(%'
            AND extract(epoch FROM query_start)::float8 > $1",
        &[&since],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn an_imports_lock_watch_stops_sampling_when_the_import_ends() {
    let t = TestDb::new().await;
    let csv = format!("{NATIVE_HEADER}W-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("watched.csv", &csv);
    run(&t.db, request(&path, "watched", false, false), None)
        .await
        .expect("import");
    let c = t.client().await;
    let ended: f64 = c
        .query_one("SELECT extract(epoch FROM clock_timestamp())::float8", &[])
        .await
        .unwrap()
        .get(0);
    // The watch samples every 400 ms: a watch left running (the console
    // lives for hours) would have sampled three times by now.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        blocker_samples_since(&c, ended).await,
        0,
        "the import's lock watch still samples pg_blocking_pids after the import ended"
    );
}

/// The server's error for a statement raising SQLSTATE `code`, as importdesk
/// sees it: wrapped in a report with context, as the domain wraps it.
async fn raised(c: &tokio_postgres::Client, code: &str) -> color_eyre::Report {
    raised_saying(c, "raised", code).await
}

/// An error with SQLSTATE `code` and the message `message`.
async fn raised_saying(
    c: &tokio_postgres::Client,
    message: &str,
    code: &str,
) -> color_eyre::Report {
    let e = c
        .batch_execute(&format!(
            "DO $$ BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = '{code}'; END $$"
        ))
        .await
        .unwrap_err();
    color_eyre::Report::new(e).wrap_err("while doing something")
}

#[tokio::test]
async fn each_database_error_is_classified_by_its_own_sqlstate_only() {
    use importdesk::db::blocking::is_lock_timeout;
    use importdesk::db::{
        is_connection_lost, is_query_cancelled, is_serialization_failure, is_unique_violation,
    };
    type Check = fn(&color_eyre::Report) -> bool;
    let t = TestDb::new().await;
    let c = t.client().await;
    let checks: [(&str, Check); 4] = [
        ("57014", is_query_cancelled),
        ("40001", is_serialization_failure),
        ("23505", is_unique_violation),
        ("57P01", is_connection_lost),
    ];
    for (code, _) in checks {
        let report = raised(&c, code).await;
        for (own, check) in checks {
            assert_eq!(
                check(&report),
                own == code,
                "SQLSTATE {code} against the check for {own}: {report:?}"
            );
        }
    }
    // lock_timeout's cancellation, not statement_timeout's nor a lock
    // refused for another reason (NOWAIT).
    const LOCK_TIMEOUT: &str = "canceling statement due to lock timeout";
    assert!(is_lock_timeout(
        &raised_saying(&c, LOCK_TIMEOUT, "55P03").await
    ));
    assert!(!is_lock_timeout(&raised(&c, "55P03").await));
    assert!(!is_lock_timeout(
        &raised_saying(&c, LOCK_TIMEOUT, "57014").await
    ));
    // A connection exception (08...) is lost too; a syntax error is not.
    assert!(is_connection_lost(&raised(&c, "08006").await));
    let typo = c.batch_execute("SELEC 1").await.unwrap_err();
    assert!(!is_connection_lost(&color_eyre::Report::new(typo)));
}

#[tokio::test]
async fn a_connection_the_server_ended_is_lost() {
    let t = TestDb::new().await;
    let c = t.client().await;
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let admin = t.client().await;
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let mut report = None;
    for _ in 0..100 {
        match c.batch_execute("SELECT 1").await {
            Err(e) => {
                report = Some(color_eyre::Report::new(e));
                break;
            }
            Ok(()) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let report = report.expect("the terminated session kept answering");
    assert!(importdesk::db::is_connection_lost(&report), "{report:?}");
}
