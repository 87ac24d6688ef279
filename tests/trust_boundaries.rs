//! Trust boundaries on a shared server (issue 11), attacked for real: login
//! roles sending raw SQL, a second Unix user (when the tests run as root),
//! planted links, hostile paths, hostile bytes for the terminal, passwords in
//! URLs, and bad input files. docs/security.md maps each line of the threat
//! model to the test here that proves it.

mod common;

#[path = "trust_boundaries/database.rs"]
mod database;
#[path = "trust_boundaries/input.rs"]
mod input;
#[path = "trust_boundaries/local_users.rs"]
mod local_users;
#[path = "trust_boundaries/terminal.rs"]
mod terminal;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{NATIVE_HEADER, TestDb, csv_file, test_data_dir};

/// A new login role for this test's database (roles are cluster-wide: the
/// name carries the database's).
async fn login_role(t: &TestDb, name: &str) -> String {
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

/// A login role mapped to `seller` or, with `None`, a member of
/// importdesk_seller without any mapping.
pub async fn seller_role(t: &TestDb, name: &str, seller: Option<&str>) -> String {
    let role = login_role(t, name).await;
    let c = t.client().await;
    match seller {
        Some(s) => {
            c.execute("SELECT import_audit.grant_seller($1, $2)", &[&role, &s])
                .await
                .unwrap();
        }
        None => c
            .batch_execute(&format!("GRANT importdesk_seller TO {role}"))
            .await
            .unwrap(),
    }
    role
}

pub async fn support_role(t: &TestDb, name: &str) -> String {
    let role = login_role(t, name).await;
    t.client()
        .await
        .execute("SELECT import_audit.grant_support($1)", &[&role])
        .await
        .unwrap();
    role
}

pub fn url_as(t: &TestDb, role: &str) -> String {
    t.url().replace("user=postgres", &format!("user={role}"))
}

pub async fn connect_as(t: &TestDb, role: &str) -> tokio_postgres::Client {
    let mut cfg = t.db.target.config.clone();
    cfg.user(role);
    importdesk::db::connect(&cfg, role).await.unwrap()
}

/// A native file of `n` listings with SKUs `{prefix}-1`...
pub fn listings_file(prefix: &str, n: usize) -> (tempfile::TempDir, PathBuf) {
    let mut text = String::from(NATIVE_HEADER);
    for i in 1..=n {
        text.push_str(&format!(
            "{prefix}-{i},Item {i},,{i}.00,USD,{i},active,,,,\n"
        ));
    }
    csv_file("listings.csv", &text)
}

/// One run of the real binary.
pub struct Run {
    /// `None` when it was killed at the deadline.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// How to run the binary: arguments, extra environment, a deadline.
pub struct Invocation<'a> {
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    pub cwd: Option<&'a Path>,
    pub deadline: Duration,
    /// Files dir for logs and rejects (IMPORTDESK_DATA_DIR); the shared test one by default.
    pub files_dir: Option<PathBuf>,
}

impl<'a> Invocation<'a> {
    /// `importdesk --database-url URL ARGS...`
    pub fn on(url: &str, args: &[&str]) -> Self {
        let mut all = vec!["--database-url".to_string(), url.to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        Self::bare(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `importdesk ARGS...` with no database chosen (the embedded default).
    pub fn bare(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            cwd: None,
            deadline: Duration::from_secs(120),
            files_dir: Some(test_data_dir().join("files")),
        }
    }

    pub fn env(mut self, key: &'a str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }

    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    pub fn cwd(mut self, dir: &'a Path) -> Self {
        self.cwd = Some(dir);
        self
    }

    pub fn files_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.files_dir = dir;
        self
    }

    /// Runs it; kills it at the deadline (a hang is a failure, not a stuck test).
    pub fn run(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_importdesk"));
        cmd.args(&self.args)
            .env_remove("DATABASE_URL")
            .env_remove("IMPORTDESK_DATA_DIR")
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGUSER")
            .env_remove("PGDATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.files_dir {
            cmd.env("IMPORTDESK_DATA_DIR", dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = self.cwd {
            cmd.current_dir(dir);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn importdesk");
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if started.elapsed() > self.deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            code,
            stdout: out_reader.join().unwrap(),
            stderr: err_reader.join().unwrap(),
            elapsed: started.elapsed(),
        }
    }
}

/// True when the tests run as root (the Unix-user tests need it).
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// A throwaway Unix user, removed again on drop.
pub struct UnixUser {
    pub name: String,
    pub uid: u32,
}

impl UnixUser {
    /// `None` (with the reason printed) when the tests do not run as root or
    /// the machine has no `useradd`.
    pub fn create(tag: &str) -> Option<Self> {
        if !is_root() {
            eprintln!("not root: skipping the part of this test that needs a second Unix user");
            return None;
        }
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "idt{}{}{}",
            tag,
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::SeqCst)
        );
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(&name)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            other => {
                eprintln!("useradd failed ({other:?}): skipping the second-user part of this test");
                return None;
            }
        }
        let uid = nix::unistd::User::from_name(&name).ok()??.uid.as_raw();
        Some(Self { name, uid })
    }

    /// Runs `program args...` as this user (no shell); (success, stdout+stderr).
    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let out = Command::new("runuser")
            .args(["-u", &self.name, "--", program])
            .args(args)
            .current_dir("/")
            .output()
            .expect("runuser");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for UnixUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

/// A folder under /tmp that every user can traverse (like /var/lib), so that
/// only importdesk's own modes keep other users out of what it creates there.
pub fn open_base() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("idtrust")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

pub fn owner_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .uid()
}

/// Imports `file` for `seller` as the database owner; the import id.
pub fn import_as_owner(t: &TestDb, file: &Path, seller: &str) -> i64 {
    let run = Invocation::on(
        &t.url(),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            seller,
            "--json",
        ],
    )
    .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    run.json()["import_id"].as_i64().unwrap()
}
