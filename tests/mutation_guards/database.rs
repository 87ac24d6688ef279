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

/// libpq's rule for `connect_timeout`: below 2 means 2 seconds, 0 or none
/// waits without a bound.
#[test]
fn a_connect_timeout_reaches_the_connection_by_libpqs_rules() {
    for (query, expected) in [
        ("?connect_timeout=10", Some(10)),
        ("?connect_timeout=1", Some(2)),
        ("?connect_timeout=0", None),
        ("", None),
    ] {
        let url = format!("postgresql://importdesk@127.0.0.1:9/none{query}");
        let target = Target::from_url(&url, Source::Flag).unwrap();
        assert_eq!(
            target.config.get_connect_timeout().copied(),
            expected.map(std::time::Duration::from_secs),
            "{url}"
        );
    }
}

/// libpq's files are looked for in the home directory: a service named by
/// `PGSERVICE` in `~/.pg_service.conf` reaches the database.
#[tokio::test]
async fn a_service_in_the_home_directorys_service_file_reaches_the_database() {
    use tokio_postgres::config::Host;
    let t = TestDb::new().await;
    let cfg = &t.db.target.config;
    let host = match &cfg.get_hosts()[0] {
        Host::Unix(path) => path.display().to_string(),
        Host::Tcp(name) => name.clone(),
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".pg_service.conf"),
        format!(
            "[guards]\nhost={host}\nport={}\ndbname={}\nuser={}\n",
            cfg.get_ports()[0],
            cfg.get_dbname().unwrap(),
            cfg.get_user().unwrap()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .arg("history")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .env("IMPORTDESK_DATA_DIR", home.path().join("files"))
        .env("PGSERVICE", "guards")
        .output()
        .unwrap();
    assert_succeeded(&out);
}

/// `importdesk db stop` on a data directory whose cluster looks created,
/// with `IMPORTDESK_CLUSTER_LOCK_WAIT=wait`: its exit code and stderr.
fn stop_with_cluster_lock_wait(data: &std::path::Path, wait: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["--data-dir", data.to_str().unwrap(), "db", "stop"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", data)
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .env("IMPORTDESK_CLUSTER_LOCK_WAIT", wait)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A wait too long for the clock (`1e30` s, or `1e19` s past `Instant`'s
/// range) made the command panic; it and anything not a number of seconds
/// up to a day is refused naming the variable. `db stop` takes the lock
/// only for a created cluster (`pg/PG_VERSION`), and with no server there
/// an accepted wait ends at once: nothing is started either way.
#[test]
fn a_cluster_lock_wait_out_of_range_is_refused_by_name_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("pg")).unwrap();
    std::fs::write(data.join("pg/PG_VERSION"), "15\n").unwrap();
    for bad in ["1e30", "1e19", "86401", "-5", "NaN", "soon"] {
        let (code, stderr) = stop_with_cluster_lock_wait(&data, bad);
        assert_eq!(code, Some(1), "{bad:?}: {stderr}");
        assert!(
            stderr.contains(&format!("IMPORTDESK_CLUSTER_LOCK_WAIT={bad:?}")),
            "{bad:?}: {stderr}"
        );
    }
    for good in ["0", " 2.5 ", "86400", ""] {
        let (code, stderr) = stop_with_cluster_lock_wait(&data, good);
        assert!(
            !stderr.contains("IMPORTDESK_CLUSTER_LOCK_WAIT="),
            "{good:?} refused: {code:?} {stderr}"
        );
    }
}

/// A malformed start timeout is refused naming the variable before
/// anything is created: no data directory, no cluster.
#[test]
fn a_malformed_start_timeout_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for bad in ["1e30", "-1", "2m"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
            .args(["--data-dir", data.to_str().unwrap(), "db", "start"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("IMPORTDESK_SYSTEM_CONFIG", "")
            .env("IMPORTDESK_START_TIMEOUT", bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {stderr}");
        assert!(
            stderr.contains(&format!("IMPORTDESK_START_TIMEOUT={bad:?} is not a wait")),
            "{bad:?}: {stderr}"
        );
        assert!(!data.join("pg").exists(), "{bad:?}: a cluster was made");
    }
}

/// `IMPORTDESK_DATA_DIR` names the folder of importdesk's own files when
/// `--data-dir` does not: a command's log is written there (as root the
/// default would be /var/lib/importdesk).
#[tokio::test]
async fn the_data_directory_named_by_the_environment_gets_the_commands_log() {
    let t = TestDb::new().await;
    let top = tempfile::tempdir().unwrap();
    let files = top.path().join("files");
    let out = crate::common::cli_command(&t.url(), &["history"])
        .env("IMPORTDESK_DATA_DIR", &files)
        .output()
        .unwrap();
    assert_succeeded(&out);
    let log = std::fs::read_to_string(files.join("logs").join("importdesk.log"))
        .unwrap_or_else(|e| panic!("no log in {}: {e}", files.display()));
    assert!(log.contains("importdesk started"), "{log}");
}

/// A database one migration behind is not current: `db status` names the
/// pending migration instead of saying the schema is up to date.
#[tokio::test]
async fn a_database_one_migration_behind_is_not_current() {
    let t = TestDb::new().await;
    let status = importdesk::db::migrate::status(&t.db).await.unwrap();
    assert!(status.is_current(), "{status:?}");
    t.client()
        .await
        .execute(
            "DELETE FROM importdesk_schema_history WHERE version = $1",
            &[&(status.latest_version as i32)],
        )
        .await
        .unwrap();
    let behind = importdesk::db::migrate::status(&t.db).await.unwrap();
    assert_eq!(behind.pending.len(), 1, "{behind:?}");
    assert!(!behind.is_current(), "{behind:?}");

    let run = t.cli(&["db", "status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains(&format!("(pending: {})", behind.pending[0])),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("up to date"), "{}", run.stdout);
}

/// Fails with the command's output unless it exited 0.
#[track_caller]
fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `db status` says where the database was named: `--database-url`, or
/// `DATABASE_URL` in the environment.
#[tokio::test]
async fn db_status_says_where_the_database_was_named() {
    let t = TestDb::new().await;
    let run = t.cli(&["db", "status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("(from --database-url)"),
        "{}",
        run.stdout
    );

    let files = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["db", "status"])
        .env("DATABASE_URL", t.url())
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .env("IMPORTDESK_DATA_DIR", files.path())
        .output()
        .unwrap();
    assert_succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(from DATABASE_URL)"), "{stdout}");
}
