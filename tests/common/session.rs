//! Other people's sessions: login roles mapped to sellers sending raw SQL,
//! and imports or rollbacks of the real binary held in the middle of their
//! transaction (so another session can act while they run).

use std::process::{Child, Stdio};
use std::time::Duration;

use tokio_postgres::error::SqlState;

use super::{TestDb, run_cli};

/// A login role for this test (role names are cluster-wide, so the name
/// carries the test database's).
pub async fn login_role(t: &TestDb, name: &str) -> String {
    let role = format!("{name}_{}", t.name.trim_start_matches("importdesk_t_"));
    t.client()
        .await
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
        ))
        .await
        .unwrap();
    role
}

/// A login role that acts for `seller` (`importdesk db grant-seller`).
pub async fn seller_role(t: &TestDb, name: &str, seller: &str) -> String {
    let role = login_role(t, name).await;
    let run = run_cli(&t.url(), &["db", "grant-seller", &role, seller], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    role
}

/// A login role of support staff (`importdesk db grant-support`).
pub async fn support_role(t: &TestDb, name: &str) -> String {
    let role = login_role(t, name).await;
    let run = run_cli(&t.url(), &["db", "grant-support", &role], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    role
}

/// This test's database URL, connecting as `role`.
pub fn url_as(t: &TestDb, role: &str) -> String {
    t.url().replace("user=postgres", &format!("user={role}"))
}

/// A raw SQL session as `role`: what a seller with psql can do.
pub async fn connect_as(t: &TestDb, role: &str) -> tokio_postgres::Client {
    let mut cfg = t.db.target.config.clone();
    cfg.user(role);
    let (client, connection) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect as {role}: {e}"));
    tokio::spawn(connection);
    client
}

/// The SQLSTATE of a failed statement (None when it succeeded or the error
/// did not come from the server).
pub fn sqlstate<T>(result: &Result<T, tokio_postgres::Error>) -> Option<SqlState> {
    result.as_ref().err().and_then(|e| e.code()).cloned()
}

/// Asserts that the statement was refused as a permission error (42501),
/// not by any other error (a typo, a lock timeout).
#[track_caller]
pub fn assert_denied<T: std::fmt::Debug>(result: Result<T, tokio_postgres::Error>, what: &str) {
    let code = sqlstate(&result);
    assert_eq!(
        code,
        Some(SqlState::INSUFFICIENT_PRIVILEGE),
        "{what}: expected a permission error, got {result:?}"
    );
}

/// Waits (up to 30 s: a loaded machine) until a session of this database
/// waits for a lock.
pub async fn a_backend_waits_on_a_lock(c: &deadpool_postgres::Object) -> bool {
    for _ in 0..1200 {
        // Inside a transaction (a RowLock's) pg_stat_activity is read once
        // and kept: clear that snapshot to see sessions that wait since.
        c.execute("SELECT pg_stat_clear_snapshot()", &[])
            .await
            .unwrap();
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// Waits (up to 30 s) for an import marked `running`; returns its id.
pub async fn wait_for_running_import(t: &TestDb) -> i64 {
    let c = t.client().await;
    for _ in 0..1200 {
        if let Some(r) = c
            .query_opt(
                "SELECT id FROM import_audit.imports WHERE status = 'running'",
                &[],
            )
            .await
            .unwrap()
        {
            return r.get(0);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no import started");
}

/// The import's status once it is no longer `running` (the server rolls
/// back a killed client's transaction when it notices), or `running` after
/// ten seconds.
pub fn status_once_settled(t: &TestDb, id: i64) -> String {
    let mut status = String::new();
    for _ in 0..200 {
        status = t.cli(&["show", &id.to_string(), "--json"]).json()["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status != "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    status
}

/// Starts `importdesk import FILE --seller SELLER`, waits until its import
/// is running, lets its COPY get going and kills the process mid-stream;
/// returns the import's id.
pub async fn kill_import_midstream(t: &TestDb, file: &std::path::Path, seller: &str) -> i64 {
    let mut child = super::cli_command(
        &t.url(),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            seller,
            "--json",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn importdesk");
    let id = wait_for_running_import(t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    id
}

/// Starts `importdesk ARGS` against `url` without waiting for it.
pub fn spawn_cli(url: &str, args: &[&str]) -> Child {
    super::cli_command(url, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn importdesk")
}

/// Waits for a spawned importdesk; returns (exit code, stdout, stderr).
pub fn finish(child: Child) -> super::CliRun {
    let out = child.wait_with_output().expect("wait importdesk");
    super::CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A listing held `FOR UPDATE` by an open transaction of the database
/// owner: an import or rollback that writes it waits, mid-transaction,
/// until `release`.
pub struct RowLock {
    client: deadpool_postgres::Object,
}

impl RowLock {
    pub async fn hold(t: &TestDb, seller: &str, sku: &str) -> Self {
        let client = t.client().await;
        client.batch_execute("BEGIN").await.unwrap();
        let n = client
            .execute(
                "SELECT 1 FROM listings WHERE seller_id = $1 AND sku = $2 FOR UPDATE",
                &[&seller, &sku],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "no listing {seller}/{sku} to hold");
        RowLock { client }
    }

    /// Waits until someone waits for this lock (or any lock of the database).
    pub async fn wait_for_waiter(&self) {
        assert!(
            a_backend_waits_on_a_lock(&self.client).await,
            "nothing waits for the held listing"
        );
    }

    pub async fn release(self) {
        self.client.batch_execute("ROLLBACK").await.unwrap();
    }
}
