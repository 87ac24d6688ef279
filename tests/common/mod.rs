//! Test harness: one real PostgreSQL per `cargo test` run (the embedded
//! cluster code importdesk itself uses, or `IMPORTDESK_TEST_DATABASE_URL`),
//! one fresh database per test cloned from a migrated template.
#![allow(dead_code)]

pub mod console;
pub mod session;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use importdesk::db::cluster::Cluster;
use importdesk::db::target::Source;
use importdesk::db::{Database, Target, migrate, quote_ident};
use tokio::sync::OnceCell;
use tokio_postgres::Config;

/// Server-wide facts shared by every test in this process.
struct Server {
    /// Connects to the server's maintenance database.
    admin: Config,
    admin_url: String,
    cluster: Option<Cluster>,
    template: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);
const TEMPLATE_LOCK: i64 = 0x1D0C_7E57;

/// The embedded test cluster's directory: IMPORTDESK_TEST_DATA_DIR, else a
/// short path under the temp dir that every folder user can reach (so it also
/// works as root, where the server runs as `postgres`).
pub fn test_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMPORTDESK_TEST_DATA_DIR") {
        return PathBuf::from(dir);
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_MANIFEST_DIR").hash(&mut h);
    let uid = nix::unistd::Uid::effective().as_raw();
    std::env::temp_dir().join(format!("importdesk-test-{uid}-{:08x}", h.finish() as u32))
}

async fn server() -> &'static Server {
    SERVER
        .get_or_try_init(|| async {
            let (admin, admin_url, cluster) = match std::env::var("IMPORTDESK_TEST_DATABASE_URL") {
                Ok(url) if !url.is_empty() => {
                    let t = Target::from_url(&url, Source::Flag)?;
                    let mut cfg = t.config.clone();
                    cfg.dbname("postgres");
                    (cfg, t.url, None)
                }
                _ => {
                    let cluster = Cluster::new(test_data_dir())?.with_settings(&[
                        "fsync = off",
                        "synchronous_commit = off",
                        "full_page_writes = off",
                        "max_connections = 300",
                    ]);
                    let c = cluster.clone();
                    tokio::task::spawn_blocking(move || c.ensure_running()).await??;
                    let t = Target::embedded_database(cluster.clone(), "postgres")?;
                    (t.config.clone(), t.url, Some(cluster))
                }
            };
            let template = format!("importdesk_tpl_{}", migrate::fingerprint());
            prepare_template(&admin, &admin_url, &template, cluster.clone()).await?;
            Ok::<_, color_eyre::Report>(Server {
                admin,
                admin_url,
                cluster,
                template,
            })
        })
        .await
        .expect("test database server")
}

async fn prepare_template(
    admin: &Config,
    admin_url: &str,
    template: &str,
    cluster: Option<Cluster>,
) -> color_eyre::Result<()> {
    let client = importdesk::db::connect(admin, admin_url).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK])
        .await?;
    drop_stale_test_databases(&client).await?;
    let ready = client
        .query_opt(
            "SELECT datistemplate FROM pg_database WHERE datname = $1",
            &[&template],
        )
        .await?
        .map(|r| r.get::<_, bool>(0));
    if ready != Some(true) {
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {}",
                quote_ident(template)
            ))
            .await?;
        client
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(template)))
            .await?;
        let db = Database::open(target_for(admin_url, cluster, template)?).await?;
        migrate::migrate(&db).await?;
        db.pool.close();
        client
            .batch_execute(&format!(
                "ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
                quote_ident(template)
            ))
            .await?;
    }
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK])
        .await?;
    Ok(())
}

/// Databases of test processes that no longer run (a crashed or interrupted run).
async fn drop_stale_test_databases(client: &tokio_postgres::Client) -> color_eyre::Result<()> {
    let rows = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'importdesk_t\\_%'",
            &[],
        )
        .await?;
    for row in rows {
        let name: String = row.get(0);
        let pid: Option<i32> = name.split('_').nth(2).and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .await;
        }
    }
    Ok(())
}

fn target_for(
    admin_url: &str,
    cluster: Option<Cluster>,
    dbname: &str,
) -> color_eyre::Result<Target> {
    match cluster {
        Some(c) => Target::embedded_database(c, dbname),
        None => Target::from_url(admin_url, Source::Flag)?.with_dbname(dbname),
    }
}

/// A fresh, migrated database for one test; dropped when the value is dropped.
pub struct TestDb {
    pub db: Database,
    pub name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::create(true).await
    }

    /// A database with nothing in it (template0): what a new installation
    /// starts from.
    pub async fn empty() -> Self {
        Self::create(false).await
    }

    async fn create(migrated: bool) -> Self {
        let server = server().await;
        let template = if migrated {
            server.template.as_str()
        } else {
            "template0"
        };
        let name = format!(
            "importdesk_t_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let client = importdesk::db::connect(&server.admin, &server.admin_url)
            .await
            .expect("admin connection");
        client
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(template)
            ))
            .await
            .expect("create test database");
        let target = target_for(&server.admin_url, server.cluster.clone(), &name).expect("target");
        let db = Database::open(target).await.expect("open test database");
        TestDb { db, name }
    }

    /// The libpq URL of this test's database (for the CLI's --database-url and psql).
    pub fn url(&self) -> String {
        self.db.target.url.clone()
    }

    pub async fn client(&self) -> deadpool_postgres::Object {
        self.db.client().await.expect("client")
    }

    /// Runs the real binary against this database; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> CliRun {
        run_cli(&self.url(), args, None)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.pool.close();
        let Some(server) = SERVER.get() else { return };
        let admin = server.admin.clone();
        let url = server.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async cleanup on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let client = importdesk::db::connect(&admin, &url).await.ok()?;
                client
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote_ident(&name)
                    ))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// The real binary with `args` against `database_url`, in the tests' environment.
pub fn cli_command(database_url: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"));
    cmd.arg("--database-url")
        .arg(database_url)
        .args(args)
        .env_remove("DATABASE_URL")
        // Never the machine's own /etc/importdesk/config.toml.
        .env(importdesk::config::SYSTEM_CONFIG_ENV, "")
        .env("IMPORTDESK_DATA_DIR", test_data_dir().join("files"));
    cmd
}

pub fn run_cli(database_url: &str, args: &[&str], stdin: Option<&str>) -> CliRun {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = cli_command(database_url, args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn importdesk");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("wait importdesk");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes a CSV file into a fresh temp dir (kept alive by the returned guard).
pub fn csv_file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write csv");
    (dir, path)
}

/// Every listing, every column, as text, in key order: equal dumps mean
/// equal tables, field by field.
pub async fn dump_listings(t: &TestDb) -> Vec<String> {
    t.client()
        .await
        .query(
            "SELECT (l.*)::text FROM listings l ORDER BY seller_id, sku",
            &[],
        )
        .await
        .expect("dump listings")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The first column of every row of `sql`, as text.
pub async fn texts(t: &TestDb, sql: &str) -> Vec<String> {
    t.client()
        .await
        .query(sql, &[])
        .await
        .expect(sql)
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn count(t: &TestDb, sql: &str) -> i64 {
    t.client()
        .await
        .query_one(sql, &[])
        .await
        .expect(sql)
        .get(0)
}

/// Runs `importdesk import` and returns its JSON outcome (asserting the exit code).
pub fn import_json(
    t: &TestDb,
    path: &std::path::Path,
    seller: &str,
    extra: &[&str],
    expect_code: i32,
) -> serde_json::Value {
    let mut args = vec![
        "import",
        path.to_str().unwrap(),
        "--seller",
        seller,
        "--json",
    ];
    args.extend_from_slice(extra);
    let run = t.cli(&args);
    assert_eq!(
        run.code, expect_code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run.json()
}

pub const NATIVE_HEADER: &str = "sku,title,description,price,currency,quantity,status,condition,category,listing_number,end_date\n";

/// A login role for one test (roles are cluster-wide: the name carries the
/// test database's), made a seller role for `seller` or, with `None`, a
/// support role through `importdesk db grant-*`. Returns the role's name.
pub async fn login_role(t: &TestDb, name: &str, seller: Option<&str>) -> String {
    let role = format!("{name}_{}", t.name.trim_start_matches("importdesk_t_"));
    t.client()
        .await
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
        ))
        .await
        .expect("create login role");
    let grant = match seller {
        Some(s) => t.cli(&["db", "grant-seller", &role, s]),
        None => t.cli(&["db", "grant-support", &role]),
    };
    assert_eq!(grant.code, 0, "{}{}", grant.stdout, grant.stderr);
    role
}

/// The test database's URL for another login role.
pub fn url_for_role(t: &TestDb, role: &str) -> String {
    let me = t.db.target.config.get_user().unwrap_or("postgres");
    let url = t
        .url()
        .replace(&format!("user={me}"), &format!("user={role}"));
    assert!(url.contains(&format!("user={role}")), "{url}");
    url
}

/// A connection to the test database as another login role.
pub async fn connect_as_role(t: &TestDb, role: &str) -> tokio_postgres::Client {
    let mut cfg = t.db.target.config.clone();
    cfg.user(role);
    importdesk::db::connect(&cfg, role)
        .await
        .expect("connect as role")
}

/// The test's own connections to its database: `admin` and the pool's one
/// (opened here, then returned to the pool and reused), for
/// [`stat_once_others_ended`].
pub async fn our_backends(t: &TestDb, admin: &tokio_postgres::Client) -> Vec<i32> {
    let pool = t.client().await;
    let ours: Vec<i32> = admin
        .query_one(
            "SELECT array_agg(pid) FROM pg_stat_activity WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    drop(pool);
    ours
}

/// A statistics counter (`sql` selects one bigint) once every backend of
/// this database but `ours` has ended: a backend's counts reach the
/// statistics when it exits.
pub async fn stat_once_others_ended(c: &tokio_postgres::Client, ours: &[i32], sql: &str) -> i64 {
    for _ in 0..400 {
        let others: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> ALL ($1)",
                &[&ours],
            )
            .await
            .unwrap()
            .get(0);
        if others == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    c.query_one(sql, &[]).await.unwrap().get(0)
}
