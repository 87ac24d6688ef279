//! The access area's guards (sessions, lock waits), for what the area's tests
//! left unasserted in the 2026-11-30 sample: the lock timeout setting, the
//! lock watch that must stop with its import, and how a database error is
//! classified (lost connection, lock timeout, cancelled, serialization
//! failure, unique key).

use std::time::Duration;

use importdesk::domain::import::run;

use crate::common::session::{login_role, support_role, url_as};
use crate::common::{NATIVE_HEADER, TestDb, cli_command, csv_file, run_cli};
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

/// Options the connection string brings (`options=-c ...`) and importdesk's
/// `lock_timeout` both reach every session: appended, not run together.
#[tokio::test]
async fn a_connection_strings_own_options_and_the_lock_timeout_both_apply() {
    use importdesk::db::{Database, Source, Target};
    let t = TestDb::new().await;
    let url = t.url();
    let options = "options=-c%20statement_timeout%3D7s";
    let url = if url.contains('?') {
        format!("{url}&{options}")
    } else {
        format!("{url}?{options}")
    };
    let db = Database::open(Target::from_url(&url, Source::Flag).unwrap())
        .await
        .expect("connects with both");
    let c = db.client().await.unwrap();
    for (setting, value) in [("statement_timeout", "7s"), ("lock_timeout", "10s")] {
        let shown: String = c
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(shown, value, "{setting}");
    }
}

/// Only a lock timeout is explained with who held the lock: any other
/// error comes back as it was.
#[tokio::test]
async fn only_a_lock_timeout_is_explained_as_a_wait_for_a_lock() {
    use importdesk::db::blocking::explain;
    let t = TestDb::new().await;
    let c = t.client().await;
    for code in ["57014", "55P03", "23505", "40001"] {
        let report = raised(&c, code).await;
        let before = format!("{report:#}");
        let after = explain::<()>(&t.db, None, Err(report)).await.unwrap_err();
        assert_eq!(format!("{after:#}"), before, "SQLSTATE {code}");
    }
    let timeout = raised_saying(&c, "canceling statement due to lock timeout", "55P03").await;
    let e = explain::<()>(&t.db, None, Err(timeout)).await.unwrap_err();
    assert!(
        format!("{e:#}").starts_with("gave up waiting for a lock after "),
        "{e:#}"
    );
}

/// The audit log's actor names the SSH client's address (from `SSH_CLIENT`)
/// when it looks like one: hex digits, dots and colons, at most 64.
#[tokio::test]
async fn an_import_over_ssh_is_recorded_with_the_clients_address() {
    let t = TestDb::new().await;
    let csv = format!("{NATIVE_HEADER}S-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("ssh.csv", &csv);
    let long = "1".repeat(64);
    for (seller, ssh_client) in [
        ("ssh-v4", "203.0.113.9 52000 22".to_string()),
        ("ssh-long", format!("{long} 52000 22")),
        ("ssh-too-long", format!("{long}1 52000 22")),
        ("ssh-odd", "host.example 52000 22".to_string()),
    ] {
        let out = cli_command(
            &t.url(),
            &["import", path.to_str().unwrap(), "--seller", seller],
        )
        .env("SSH_CLIENT", ssh_client)
        .output()
        .unwrap();
        assert!(out.status.success(), "{seller}: {out:?}");
    }
    let c = t.client().await;
    let actor = |seller: &'static str| {
        let c = &c;
        async move {
            let row = c
                .query_one(
                    "SELECT actor FROM import_audit.audit_log
                      WHERE seller_id = $1 AND action = 'import started'",
                    &[&seller],
                )
                .await
                .unwrap();
            row.get::<_, String>(0)
        }
    };
    assert!(actor("ssh-v4").await.ends_with(" (ssh 203.0.113.9)"));
    assert!(actor("ssh-long").await.ends_with(&format!(" (ssh {long})")));
    assert!(!actor("ssh-too-long").await.contains("(ssh"));
    assert!(!actor("ssh-odd").await.contains("(ssh"));
}

/// A grant the database refuses for a reason other than privileges (here a
/// time bound PostgreSQL cannot read) says so, without the hint about who
/// may grant roles, which would send the caller to the wrong fix.
#[tokio::test]
async fn a_grant_refused_for_a_bad_time_bound_gives_no_privilege_hint() {
    use importdesk::domain::roles::{SessionLimits, grant_seller};
    let t = TestDb::new().await;
    let role = crate::common::session::login_role(&t, "bound").await;
    let limits = SessionLimits {
        statement_timeout: "soon".into(),
        idle_in_transaction_timeout: "0".into(),
    };
    let e = grant_seller(&t.db, &role, "acme", &limits, "guard")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("changing role {role} failed: ")) && e.contains("soon"),
        "{e}"
    );
    assert!(!e.contains("hint:"), "{e}");
}

/// Support staff, who may not run the grant functions at all (not the
/// owner, no ADMIN OPTION, no EXECUTE), are told that only the database
/// owner grants roles: ADMIN OPTION alone would not let them, so that hint
/// is not given.
#[tokio::test]
async fn a_role_without_any_right_to_grant_is_told_only_the_owner_may() {
    let t = TestDb::new().await;
    let nobody = support_role(&t, "nogrant").await;
    let target = login_role(&t, "grantee").await;
    for args in [
        vec!["db", "grant-seller", target.as_str(), "acme"],
        vec!["db", "grant-support", target.as_str()],
        vec!["db", "revoke-seller", target.as_str()],
    ] {
        let run = run_cli(&url_as(&t, &nobody), &args, None);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("hint: only the database owner")
                && !run.stderr.contains("ADMIN OPTION"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        crate::common::count(
            &t,
            &format!(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                  WHERE r.rolname = '{target}'"
            )
        )
        .await,
        0,
        "nothing was granted"
    );
}
