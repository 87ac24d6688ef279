//! Foundation (issue 2): migrations, change capture, the append-only audit
//! log and the embedded cluster's life cycle, against a real PostgreSQL.

mod common;

use common::TestDb;
use importdesk::db::cluster::Cluster;
use importdesk::db::{Database, Target, migrate};

#[tokio::test]
async fn migrations_apply_twice_and_report_status() {
    let t = TestDb::new().await;
    // The template was migrated; a second run applies nothing.
    let applied = migrate::migrate(&t.db).await.unwrap();
    assert!(applied.is_empty(), "second migrate applied {applied:?}");
    let status = migrate::status(&t.db).await.unwrap();
    assert!(status.is_current());
    assert_eq!(status.applied_version, Some(status.latest_version));
    assert!(status.latest_version >= 2);

    let run = t.cli(&["db", "migrate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("up to date"), "{}", run.stdout);
}

/// A new installation: every command that needs the schema migrates an
/// empty database on first use (the README's first command relies on it).
#[tokio::test]
async fn commands_migrate_an_empty_database_on_first_use() {
    let t = TestDb::empty().await;
    let history = t.cli(&["history", "--json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert_eq!(history.json(), serde_json::json!([]));
    let status = t.cli(&["db", "status", "--json"]).json();
    assert_eq!(
        status["migrations"]["pending"],
        serde_json::json!([]),
        "{status}"
    );
    // Without a terminal the console says so (exit 2), after migrating.
    let demo = t.cli(&["demo"]);
    assert_eq!(demo.code, 2, "{}", demo.stderr);
    assert!(demo.stderr.contains("needs a terminal"), "{}", demo.stderr);
}

#[tokio::test]
async fn manual_changes_are_captured_with_before_images() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.batch_execute(
        "INSERT INTO listings (seller_id, sku, title, price, quantity) VALUES
             ('s1', 'A-1', 'Lamp', 19.99, 3), ('s1', 'B-2', 'Desk', 120.50, 1);
         UPDATE listings SET price = 17.00, title = NULL WHERE sku = 'A-1';
         DELETE FROM listings WHERE sku = 'B-2';",
    )
    .await
    .unwrap();

    let rows = c
        .query(
            "SELECT operation, primary_key->>'sku', before_image, after_image, import_id, rollback_of
               FROM import_audit.row_changes ORDER BY change_id",
            &[],
        )
        .await
        .unwrap();
    let ops: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        ops,
        [
            ("INSERT".into(), "A-1".into()),
            ("INSERT".into(), "B-2".into()),
            ("UPDATE".into(), "A-1".into()),
            ("DELETE".into(), "B-2".into())
        ]
    );
    for r in &rows {
        assert_eq!(
            r.get::<_, Option<i64>>(4),
            None,
            "manual edits carry no import id"
        );
        assert_eq!(r.get::<_, Option<i64>>(5), None);
    }
    let update_before: serde_json::Value = rows[2].get(2);
    let update_after: serde_json::Value = rows[2].get(3);
    assert_eq!(update_before["price"], serde_json::json!(19.99));
    assert_eq!(update_before["title"], "Lamp");
    assert_eq!(update_after["price"], serde_json::json!(17.00));
    assert_eq!(update_after["title"], serde_json::Value::Null);
    let delete_before: serde_json::Value = rows[3].get(2);
    assert_eq!(delete_before["title"], "Desk");
    assert_eq!(rows[3].get::<_, Option<serde_json::Value>>(3), None);

    // Exact decimals in the typed log: no float round trip.
    let price: String = c
        .query_one(
            "SELECT price::text FROM import_audit.log_listings WHERE sku = 'B-2' AND audit_op = 'D'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(price, "120.50");
}

#[tokio::test]
async fn a_statement_of_a_running_import_is_tagged_with_its_id() {
    let t = TestDb::new().await;
    let mut c = t.client().await;
    let import_id: i64 = c
        .query_one(
            "INSERT INTO import_audit.imports (seller_id, file_name, profile, actor)
             VALUES ('s1', 'a.csv', 'native', 'tester') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let tx = c.transaction().await.unwrap();
    tx.execute(
        "UPDATE import_audit.imports SET data_txid = pg_current_xact_id() WHERE id = $1",
        &[&import_id],
    )
    .await
    .unwrap();
    tx.execute(
        "SELECT set_config('importdesk.import_id', $1, true)",
        &[&import_id.to_string()],
    )
    .await
    .unwrap();
    tx.execute("SELECT set_config('importdesk.actor', 'alice', true)", &[])
        .await
        .unwrap();
    tx.batch_execute("INSERT INTO listings (seller_id, sku, title) VALUES ('s1', 'X', 'tagged')")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let row = c
        .query_one(
            "SELECT audit_import_id, audit_actor, audit_op::text FROM import_audit.log_listings WHERE sku = 'X'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i64>>(0), Some(import_id));
    assert_eq!(row.get::<_, String>(1), "alice");
    assert_eq!(row.get::<_, String>(2), "I");
}

/// The tag is trusted only inside the import's own transaction: while an
/// import is running (its transaction open and attached), another
/// transaction claiming its id is a manual edit. (A completed import would
/// be refused by its status alone.)
#[tokio::test]
async fn a_forged_import_tag_is_recorded_as_a_manual_edit() {
    let t = TestDb::new().await;
    let mut importer = t.client().await;
    let import_id: i64 = importer
        .query_one(
            "INSERT INTO import_audit.imports (seller_id, file_name, profile, actor)
             VALUES ('s1', 'a.csv', 'native', 'tester') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // As importdesk does: the seller's lock first, on the importing session.
    let locked: bool = importer
        .query_one("SELECT import_audit.try_lock_seller('s1')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(locked, "the importing session takes the seller's lock");
    let import = importer.transaction().await.unwrap();
    import
        .execute(
            "SELECT import_audit.attach_import($1, 'tester')",
            &[&import_id],
        )
        .await
        .unwrap();
    import
        .batch_execute("INSERT INTO listings (seller_id, sku) VALUES ('s1', 'imported')")
        .await
        .unwrap();

    let mut c = t.client().await;
    let tx = c.transaction().await.unwrap();
    tx.execute(
        "SELECT set_config('importdesk.import_id', $1, true)",
        &[&import_id.to_string()],
    )
    .await
    .unwrap();
    tx.batch_execute("INSERT INTO listings (seller_id, sku) VALUES ('s1', 'forged')")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    import.commit().await.unwrap();

    let tags: Vec<(String, Option<i64>)> = c
        .query(
            "SELECT sku, audit_import_id FROM import_audit.log_listings ORDER BY sku",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        tags,
        [
            ("forged".to_string(), None),
            ("imported".to_string(), Some(import_id))
        ]
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only_in_the_database() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.execute(
        "INSERT INTO import_audit.audit_log (actor, action) VALUES ('tester', 'import started')",
        &[],
    )
    .await
    .unwrap();
    for sql in [
        "UPDATE import_audit.audit_log SET actor = 'someone else'",
        "DELETE FROM import_audit.audit_log",
        "DELETE FROM import_audit.audit_log WHERE false",
        "TRUNCATE import_audit.audit_log",
    ] {
        let err = c.batch_execute(sql).await.expect_err(sql);
        let msg = err
            .as_db_error()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM import_audit.audit_log WHERE actor = 'tester'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn truncate_of_an_audited_table_logs_every_row() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.batch_execute(
        "INSERT INTO listings (seller_id, sku) VALUES ('s1', 'a'), ('s1', 'b'), ('s2', 'c');
         TRUNCATE listings;",
    )
    .await
    .unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM import_audit.log_listings WHERE audit_op = 'T'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test]
async fn any_table_with_a_primary_key_can_be_audited_and_its_log_follows_new_columns() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.batch_execute(
        "CREATE TABLE shipping_rules (id int PRIMARY KEY, region text, fee numeric);
         SELECT import_audit.enable_audit('shipping_rules');
         INSERT INTO shipping_rules VALUES (1, 'EU', 4.90);
         ALTER TABLE shipping_rules ADD COLUMN carrier text;
         SELECT import_audit.sync_audit();
         UPDATE shipping_rules SET carrier = 'DHL' WHERE id = 1;",
    )
    .await
    .unwrap();
    let after: serde_json::Value = c
        .query_one(
            "SELECT after_image FROM import_audit.row_changes
              WHERE table_name = 'public.shipping_rules' AND operation = 'UPDATE'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(after["carrier"], "DHL");
    assert_eq!(after["region"], "EU");

    let err = c
        .batch_execute("CREATE TABLE no_key (a int); SELECT import_audit.enable_audit('no_key');")
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("no primary key")
    );
}

/// The embedded cluster life cycle, in a cluster of its own (not the shared one).
#[tokio::test]
async fn embedded_cluster_survives_stop_start_and_a_killed_postmaster() {
    let dir = tempfile::Builder::new()
        .prefix("idk-life-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    // As root the server runs as postgres, which must traverse the folder.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cluster = Cluster::new(dir.path().to_path_buf())
        .unwrap()
        .with_settings(&["fsync = off"]);

    let db = Database::open(Target::embedded(cluster.clone()).unwrap())
        .await
        .unwrap();
    migrate::migrate(&db).await.unwrap();
    db.client()
        .await
        .unwrap()
        .batch_execute("INSERT INTO listings (seller_id, sku, title) VALUES ('s', 'k', 'kept')")
        .await
        .unwrap();
    db.pool.close();

    // Clean stop and start.
    let c = cluster.clone();
    assert!(
        tokio::task::spawn_blocking(move || c.stop())
            .await
            .unwrap()
            .unwrap()
    );
    assert!(!cluster.is_running().unwrap());
    let db = Database::open(Target::embedded(cluster.clone()).unwrap())
        .await
        .unwrap();
    db.pool.close();

    // Kill the postmaster: the pid file stays behind.
    let pid_text = std::fs::read_to_string(cluster.pgdata().join("postmaster.pid")).unwrap();
    let pid: i32 = pid_text.lines().next().unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..100 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(cluster.pgdata().join("postmaster.pid").exists());

    let db = Database::open(Target::embedded(cluster.clone()).unwrap())
        .await
        .unwrap();
    let title: String = db
        .client()
        .await
        .unwrap()
        .query_one("SELECT title FROM listings WHERE sku = 'k'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "kept");
    db.pool.close();
    let c = cluster.clone();
    assert!(
        tokio::task::spawn_blocking(move || c.stop())
            .await
            .unwrap()
            .unwrap()
    );

    // After a crash the pid in postmaster.pid can be reused by another
    // program: PostgreSQL then refuses to start ("lock file already
    // exists"); importdesk sees the pid is not a server, removes the file
    // and starts again.
    let mut other_program = std::process::Command::new("sleep");
    other_program.arg("120");
    if let Some(owner) = server_user() {
        // Only a process the server may signal counts as alive to it.
        std::os::unix::process::CommandExt::uid(&mut other_program, owner.as_raw());
    }
    let mut other_program = other_program.spawn().unwrap();
    let pid_file = cluster.pgdata().join("postmaster.pid");
    std::fs::write(
        &pid_file,
        format!("{}\n{}\n", other_program.id(), cluster.pgdata().display()),
    )
    .unwrap();
    if let Some(owner) = server_user() {
        std::os::unix::fs::chown(&pid_file, Some(owner.as_raw()), None).unwrap();
    }
    let started = Database::open(Target::embedded(cluster.clone()).unwrap()).await;
    let still_running = other_program.try_wait().unwrap().is_none();
    let _ = other_program.kill();
    let _ = other_program.wait();
    let db = started.expect("a start retried after removing a pid file naming another program");
    assert!(still_running, "the other program was left alone");
    let new_pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_ne!(
        new_pid.lines().next(),
        Some(other_program.id().to_string().as_str())
    );
    db.pool.close();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop())
        .await
        .unwrap()
        .unwrap();
}

/// The user the embedded server runs as when the tests run as root.
fn server_user() -> Option<nix::unistd::Uid> {
    nix::unistd::Uid::effective().is_root().then(|| {
        nix::unistd::User::from_name("postgres")
            .unwrap()
            .expect("a postgres system user")
            .uid
    })
}

/// A `postgres` that runs but never accepts connections (a hung start, a
/// recovery longer than the wait) is stopped after `IMPORTDESK_START_TIMEOUT`
/// and the start fails saying so, instead of waiting forever.
#[test]
fn a_server_that_never_accepts_connections_is_given_up_after_the_start_timeout() {
    let dir = tempfile::Builder::new()
        .prefix("idk-hung-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let bindir =
        server_tools_with_postgres(dir.path(), "echo hung postgres $$ >&2\nexec sleep 300");
    let data_dir = dir.path().join("data");
    let out = db_start_within_two_seconds(&bindir, &data_dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("did not start: it did not accept connections within 2 s")
            && err.contains("IMPORTDESK_START_TIMEOUT"),
        "{err}"
    );
    // Each try wrote its pid to the server log; none is left running.
    let log = std::fs::read_to_string(data_dir.join("pg/server.log")).unwrap();
    let pids: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("hung postgres "))
        .collect();
    assert!(!pids.is_empty(), "{log}");
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "try {pid} still runs"
        );
    }
}

/// A `postgres` that exits at once (a bad setting, a full disk) is tried
/// again until the start timeout with a pause between tries: a handful of
/// failed starts in the server log in 2 s, not one every 50 ms.
#[test]
fn a_server_that_exits_at_once_is_tried_again_after_a_pause_until_the_start_timeout() {
    let dir = tempfile::Builder::new()
        .prefix("idk-exits-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let bindir = server_tools_with_postgres(dir.path(), "echo failed postgres >&2\nexit 1");
    let data_dir = dir.path().join("data");
    let out = db_start_within_two_seconds(&bindir, &data_dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("did not start"), "{err}");
    let log = std::fs::read_to_string(data_dir.join("pg/server.log")).unwrap();
    let tries = log.lines().filter(|l| *l == "failed postgres").count();
    // One try per 0.3 s or more: 7 at most in 2 s.
    assert!((2..=10).contains(&tries), "{tries} tries in 2 s:\n{log}");
}

/// A folder of server tools: the real `initdb` and `pg_ctl`, and a
/// `postgres` that answers initdb's version question with the real one and
/// runs `start` (shell) for a server start. Readable by `postgres` under
/// root.
fn server_tools_with_postgres(dir: &std::path::Path, start: &str) -> std::path::PathBuf {
    let world_readable = |path: &std::path::Path| {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap()
    };
    world_readable(dir);
    let real = importdesk::db::cluster::find_server_bindir().unwrap();
    let bindir = dir.join("bin");
    std::fs::create_dir(&bindir).unwrap();
    world_readable(&bindir);
    for tool in ["initdb", "pg_ctl"] {
        std::os::unix::fs::symlink(real.join(tool), bindir.join(tool)).unwrap();
    }
    let postgres = bindir.join("postgres");
    std::fs::write(
        &postgres,
        format!(
            "#!/bin/sh\ncase \"$1\" in -V|--version) exec '{}' \"$@\";; esac\n{start}\n",
            real.join("postgres").display()
        ),
    )
    .unwrap();
    world_readable(&postgres);
    bindir
}

/// `importdesk db start` of a new cluster in `data_dir` with the server
/// tools in `bindir` and a start timeout of 2 s.
fn db_start_within_two_seconds(
    bindir: &std::path::Path,
    data_dir: &std::path::Path,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["--data-dir", data_dir.to_str().unwrap(), "db", "start"])
        .env("IMPORTDESK_PG_BINDIR", bindir)
        .env("IMPORTDESK_START_TIMEOUT", "2")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .output()
        .unwrap()
}

#[test]
fn db_url_opens_the_same_database_in_psql() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestDb::new());
    let run = t.cli(&["db", "url"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let url = run.stdout.trim().to_string();
    let psql = std::process::Command::new("psql")
        .arg(&url)
        .args(["-XAtc", "SELECT current_database()"])
        .output()
        .expect("psql is installed");
    assert!(
        psql.status.success(),
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&psql.stdout).trim(), t.name);
    drop(t);
}

#[test]
fn usage_errors_exit_2() {
    let run = common::run_cli("postgresql:///unused", &["rollback"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn missing_server_binaries_give_an_actionable_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "db", "start"])
        .env("IMPORTDESK_PG_BINDIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("IMPORTDESK_PG_BINDIR") && err.contains("has no initdb"),
        "{err}"
    );
}

#[test]
fn an_unusable_data_directory_is_named() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["--data-dir", file.path().to_str().unwrap(), "db", "start"])
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot create the data directory"), "{err}");
    assert!(err.contains(file.path().to_str().unwrap()), "{err}");
}
