//! The embedded default database: a private PostgreSQL cluster made with the
//! machine's own `initdb`/`pg_ctl`, reached only through a Unix socket inside
//! its own directory (no TCP port, so parallel runs never clash).
//!
//! Layout under the importdesk data directory:
//! ```text
//! <data-dir>/            importdesk's files (logs, rejects), owned by the caller
//! <data-dir>/pg/         the cluster (PGDATA) and its socket; owned by `postgres` when run as root
//! <data-dir>/.cluster.lock  serialises start/stop between processes
//! ```

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Context, Result, bail, eyre};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User};

/// The superuser created by `initdb` inside the private cluster.
pub const SUPERUSER: &str = "postgres";
/// The application database inside the private cluster.
pub const DATABASE: &str = "importdesk";
/// The socket's port number; it only names the socket file, no TCP is opened.
pub const PORT: u16 = 5432;
/// The private server's own settings (it serves one user on one machine;
/// fsync and synchronous_commit stay as PostgreSQL has them). A million-row
/// import writes over a gigabyte of WAL (listings, change log, indexes): with
/// the default max_wal_size of 1 GB it forced checkpoints halfway, and
/// every page touched after one was logged whole again. 256 MB of shared
/// buffers (wal_buffers follows: 8 MB) keep the import's backend from
/// writing out dirty pages itself. Both are ordinary single-server values;
/// disk use for WAL can reach max_wal_size.
const SERVER_SETTINGS: &[&str] = &["shared_buffers = 256MB", "max_wal_size = 4GB"];

/// Longest Unix socket path the kernel accepts (sun_path is 108 bytes).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, Clone)]
pub struct Cluster {
    data_dir: PathBuf,
    bindir: PathBuf,
    /// Set when importdesk runs as root: PostgreSQL refuses root, so the
    /// server runs as this system user.
    run_as: Option<User>,
    /// Extra `postgresql.conf` lines (the test harness turns fsync off).
    extra_settings: Vec<String>,
}

impl Cluster {
    /// A cluster description for `data_dir`; nothing is created yet.
    pub fn new(data_dir: PathBuf) -> Result<Self> {
        let bindir = find_server_bindir()?;
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .wrap_err("looking up the postgres system user")?
                .ok_or_else(|| {
                    eyre!(
                        "importdesk runs as root and PostgreSQL refuses to run as root, \
                         but there is no `postgres` system user to run the embedded server.\n\
                         Install the PostgreSQL server package (apt-get install postgresql), \
                         run importdesk as a normal user, or set DATABASE_URL."
                    )
                })?;
            Some(user)
        } else {
            None
        };
        Ok(Self {
            data_dir,
            bindir,
            run_as,
            extra_settings: Vec::new(),
        })
    }

    pub fn with_settings(mut self, settings: &[&str]) -> Self {
        self.extra_settings = settings.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// PGDATA, which is also the socket directory.
    pub fn pgdata(&self) -> PathBuf {
        self.data_dir.join("pg")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.pgdata()
    }

    pub fn server_log(&self) -> PathBuf {
        self.pgdata().join("server.log")
    }

    pub fn is_initialised(&self) -> bool {
        self.pgdata().join("PG_VERSION").exists()
    }

    /// Creates the cluster if needed and starts it if it is not running.
    /// Safe to call from many processes at once.
    pub fn ensure_running(&self) -> Result<()> {
        self.prepare_data_dir()?;
        let _lock = self.lock()?;
        if !self.is_initialised() {
            self.init()?;
        }
        if !self.is_running()? {
            self.start_locked()?;
        }
        Ok(())
    }

    pub fn stop(&self) -> Result<bool> {
        if !self.is_initialised() {
            return Ok(false);
        }
        let _lock = self.lock()?;
        if !self.is_running()? {
            return Ok(false);
        }
        let out = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"])?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed for {}:\n{}",
                self.pgdata().display(),
                output_text(&out)
            );
        }
        Ok(true)
    }

    pub fn is_running(&self) -> Result<bool> {
        if !self.is_initialised() {
            return Ok(false);
        }
        let out = self.pg_ctl(&["status"])?;
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        match out.status.code() {
            // A killed postmaster nobody reaped (no init in a container) still
            // looks alive to pg_ctl: it is not.
            Some(0) => Ok(self.postmaster_pid().is_some_and(is_live_postgres)),
            Some(3) => Ok(false),
            _ => bail!(
                "cannot read the state of the database cluster in {}:\n{}",
                self.pgdata().display(),
                output_text(&out)
            ),
        }
    }

    fn prepare_data_dir(&self) -> Result<()> {
        let socket = self.socket_dir().join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the data directory path is too long for a Unix socket ({} bytes, at most {}): {}\n\
                 Choose a shorter one with --data-dir.",
                socket.as_os_str().len(),
                MAX_SOCKET_PATH,
                socket.display()
            );
        }
        fs::create_dir_all(&self.data_dir).wrap_err_with(|| {
            format!(
                "cannot create the data directory {} (choose another with --data-dir)",
                self.data_dir.display()
            )
        })?;
        if let Some(user) = &self.run_as {
            check_reachable_by(&self.data_dir, user)?;
        }
        let pgdata = self.pgdata();
        if !pgdata.exists() {
            fs::create_dir(&pgdata)
                .wrap_err_with(|| format!("cannot create {}", pgdata.display()))?;
        }
        if let Some(user) = &self.run_as {
            let meta = fs::metadata(&pgdata)?;
            if meta.uid() != user.uid.as_raw() {
                nix::unistd::chown(&pgdata, Some(user.uid), Some(user.gid))
                    .wrap_err_with(|| format!("cannot give {} to postgres", pgdata.display()))?;
            }
        }
        fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o700))
            .wrap_err_with(|| format!("cannot set permissions on {}", pgdata.display()))?;
        Ok(())
    }

    fn lock(&self) -> Result<Flock<File>> {
        let path = self.data_dir.join(".cluster.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .wrap_err_with(|| format!("cannot open the lock file {}", path.display()))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| eyre!("cannot lock {}: {errno}", path.display()))
    }

    fn init(&self) -> Result<()> {
        let pgdata = self.pgdata();
        // A half-made cluster from an interrupted initdb: initdb needs an empty directory.
        if fs::read_dir(&pgdata)?.next().is_some() {
            bail!(
                "{} holds files but no PG_VERSION: an earlier initdb was interrupted or the \
                 directory is not a PostgreSQL cluster. Remove it (or choose another --data-dir) \
                 and run again.",
                pgdata.display()
            );
        }
        let pgdata_str = pgdata.to_string_lossy().into_owned();
        let out = self.run_server_tool(
            "initdb",
            &[
                "-D",
                &pgdata_str,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
        )?;
        if !out.status.success() {
            bail!(
                "initdb failed for {}:\n{}",
                pgdata.display(),
                output_text(&out)
            );
        }
        let mut conf = String::from("\n# --- importdesk private cluster ---\n");
        conf.push_str("listen_addresses = ''\n");
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            pgdata_str.replace('\'', "''")
        ));
        conf.push_str(&format!("port = {PORT}\n"));
        for line in SERVER_SETTINGS
            .iter()
            .copied()
            .chain(self.extra_settings.iter().map(String::as_str))
        {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = pgdata.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf_path)?;
        text.push_str(&conf);
        fs::write(&conf_path, text)?;
        Ok(())
    }

    fn start_locked(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.server_log().to_string_lossy().into_owned();
            let out = self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log])?;
            if out.status.success() {
                return Ok(());
            }
            // After a crash (killed postmaster) a stale postmaster.pid or orphaned
            // backends may remain for a moment; clean what is provably stale and retry.
            let removed = self.remove_stale_pid_file()?;
            if Instant::now() > deadline {
                bail!(
                    "the embedded PostgreSQL in {} did not start:\n{}\nServer log ({}):\n{}",
                    self.pgdata().display(),
                    output_text(&out),
                    self.server_log().display(),
                    tail(&self.server_log(), 15)
                );
            }
            if !removed {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }

    /// Removes `postmaster.pid` when the process it names is gone or is not a
    /// PostgreSQL server (the pid was reused after a crash).
    fn remove_stale_pid_file(&self) -> Result<bool> {
        let pid_file = self.pgdata().join("postmaster.pid");
        let Ok(text) = fs::read_to_string(&pid_file) else {
            return Ok(false);
        };
        let Some(pid) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok())
        else {
            fs::remove_file(&pid_file)?;
            return Ok(true);
        };
        if is_live_postgres(pid) {
            return Ok(false);
        }
        tracing::warn!(
            pid,
            "removing stale postmaster.pid left by a crashed server"
        );
        fs::remove_file(&pid_file)?;
        Ok(true)
    }

    fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.pgdata().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output> {
        let pgdata = self.pgdata().to_string_lossy().into_owned();
        let mut full = vec!["-D", pgdata.as_str()];
        full.extend_from_slice(args);
        self.run_server_tool("pg_ctl", &full)
    }

    fn run_server_tool(&self, tool: &str, args: &[&str]) -> Result<Output> {
        let path = self.bindir.join(tool);
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .env_remove("PGDATA")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null());
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw())
                .gid(user.gid.as_raw())
                .env("HOME", &user.dir)
                .env("USER", &user.name)
                // The server must not inherit a cwd it cannot read.
                .current_dir(self.pgdata());
        }
        cmd.output()
            .wrap_err_with(|| format!("cannot run {}", path.display()))
    }
}

/// True when `pid` is a running (not zombie) PostgreSQL process.
fn is_live_postgres(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) state ..."; comm may contain spaces, so split at the last ')'.
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let comm = stat
        .find('(')
        .map(|open| &stat[open + 1..close])
        .unwrap_or("");
    let state = stat[close + 1..].trim_start().chars().next().unwrap_or('X');
    (comm == "postgres" || comm == "postmaster") && !matches!(state, 'Z' | 'X')
}

/// As root, the server runs as `postgres`, which must be able to traverse every
/// folder above the cluster (a clone under /root is not reachable).
fn check_reachable_by(dir: &Path, user: &User) -> Result<()> {
    let dir = dir.canonicalize()?;
    for ancestor in dir.ancestors() {
        let meta = fs::metadata(ancestor)?;
        let mode = meta.mode();
        let ok = if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            bail!(
                "importdesk runs as root, so its PostgreSQL runs as the `postgres` user, \
                 which cannot reach {} (mode {:o}).\n\
                 Choose a data directory it can reach, e.g. --data-dir /var/lib/importdesk, \
                 or run importdesk as a normal user.",
                ancestor.display(),
                mode & 0o7777
            );
        }
    }
    Ok(())
}

/// Finds `initdb` and `pg_ctl`: `IMPORTDESK_PG_BINDIR`, then `PATH`, then
/// `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_server_bindir() -> Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("IMPORTDESK_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if has_tools(&dir) {
            return Ok(dir);
        }
        bail!(
            "IMPORTDESK_PG_BINDIR={} has no initdb and pg_ctl",
            dir.display()
        );
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                // Resolve symlinks so `postgres` is found beside the real binaries.
                let real = dir.join("pg_ctl").canonicalize()?;
                return Ok(real.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    if let Some((_, dir)) = candidates.pop() {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH, via pg_config, \
         or under /usr/lib/postgresql/*/bin.\n\
         Install the server (Debian/Ubuntu: apt-get install postgresql), \
         point IMPORTDESK_PG_BINDIR at its bin directory, \
         or use an existing server with --database-url / DATABASE_URL / PGHOST."
    )
}

fn output_text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s.trim().to_string()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
