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
//!
//! Everything importdesk creates here is private (folders 0700, files 0600;
//! as root the data directory is 0711 so that `postgres` can reach its own
//! folder, which nobody else can read). No link inside the data directory is
//! ever followed, the path is made absolute first and must be one that
//! `postgresql.conf` holds safely, and no shell ever sees it: the server is
//! started directly, not through `pg_ctl start` (which runs `sh -c`).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Context, Result, bail, eyre};
use nix::fcntl::{Flock, FlockArg};

use crate::private_files;
use nix::fcntl::OFlag;
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
/// How long a command waits for another process's start or stop of the
/// cluster (`IMPORTDESK_CLUSTER_LOCK_WAIT`, seconds) before naming it.
const CLUSTER_LOCK_WAIT_ENV: &str = "IMPORTDESK_CLUSTER_LOCK_WAIT";
const DEFAULT_CLUSTER_LOCK_WAIT: Duration = Duration::from_secs(120);
/// How long a starting server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

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
        let data_dir = private_files::absolute(&data_dir)?;
        check_config_safe(&data_dir)?;
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
        fs::symlink_metadata(self.pgdata().join("PG_VERSION")).is_ok_and(|m| m.is_file())
    }

    /// The data directory's mode: private, but as root traversable so that
    /// `postgres` reaches its own (0700) folder inside.
    pub fn data_dir_mode(&self) -> u32 {
        if self.run_as.is_some() {
            0o711
        } else {
            private_files::DIR_MODE
        }
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
        private_files::check_ancestors(&self.data_dir)?;
        private_files::ensure_dir(&self.data_dir, self.data_dir_mode()).wrap_err_with(|| {
            format!(
                "cannot create the data directory {} (choose another with --data-dir)",
                self.data_dir.display()
            )
        })?;
        if let Some(user) = &self.run_as {
            check_reachable_by(&self.data_dir, user)?;
        }
        let pgdata = self.pgdata();
        match fs::symlink_metadata(&pgdata) {
            Err(_) => fs::create_dir(&pgdata)
                .wrap_err_with(|| format!("cannot create {}", pgdata.display()))?,
            Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => bail!(
                "{} is not a folder but {}: importdesk never follows links in its data \
                 directory. Remove it (or choose another --data-dir).",
                pgdata.display(),
                if meta.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "a file"
                }
            ),
            Ok(_) => {}
        }
        // Change the folder through a descriptor opened without following
        // links: what is chowned is the folder just checked, nothing else.
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC).bits())
            .open(&pgdata)
            .wrap_err_with(|| format!("cannot open {}", pgdata.display()))?;
        let meta = dir.metadata()?;
        let owner = self
            .run_as
            .as_ref()
            .map(|u| u.uid.as_raw())
            .unwrap_or_else(|| Uid::effective().as_raw());
        if meta.uid() != owner {
            if meta.uid() != Uid::effective().as_raw() {
                bail!(
                    "{} belongs to uid {}: importdesk does not take over another user's folder. \
                     Remove it (or choose another --data-dir).",
                    pgdata.display(),
                    meta.uid()
                );
            }
            if let Some(user) = &self.run_as {
                nix::unistd::fchown(&dir, Some(user.uid), Some(user.gid))
                    .wrap_err_with(|| format!("cannot give {} to postgres", pgdata.display()))?;
            }
        }
        if meta.mode() & 0o7777 != 0o700 {
            dir.set_permissions(fs::Permissions::from_mode(0o700))
                .wrap_err_with(|| format!("cannot set permissions on {}", pgdata.display()))?;
        }
        Ok(())
    }

    /// The exclusive lock serialising start and stop. Waits a bounded time
    /// for another process, then names it instead of hanging.
    fn lock(&self) -> Result<Flock<File>> {
        let path = self.data_dir.join(".cluster.lock");
        let mut file = private_files::open_lock_file(&path)?;
        let wait = std::env::var(CLUSTER_LOCK_WAIT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_CLUSTER_LOCK_WAIT);
        let deadline = Instant::now() + wait;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(lock),
                Err((back, nix::errno::Errno::EWOULDBLOCK)) => file = back,
                Err((_, errno)) => bail!("cannot lock {}: {errno}", path.display()),
            }
            if Instant::now() >= deadline {
                let holder = match private_files::flock_holder(&file) {
                    Some((pid, comm, uid)) => format!(
                        "process {pid} ({comm}{})",
                        uid.map(|u| format!(", uid {u}")).unwrap_or_default()
                    ),
                    None => "another process (it could not be identified)".to_string(),
                };
                bail!(
                    "the embedded database in {} is being started or stopped by {holder}: \
                     waited {:.0} s for it ({} sets the wait). If that process hangs, end it and \
                     try again.",
                    self.data_dir.display(),
                    wait.as_secs_f64(),
                    CLUSTER_LOCK_WAIT_ENV
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
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
        // The folder belongs to postgres when run as root: no link followed.
        let conf_path = pgdata.join("postgresql.conf");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
            .open(&conf_path)
            .wrap_err_with(|| format!("cannot open {}", conf_path.display()))?;
        file.write_all(conf.as_bytes())?;
        Ok(())
    }

    fn start_locked(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let failure = match self.spawn_server()? {
                None => return Ok(()),
                Some(failure) => failure,
            };
            // After a crash (killed postmaster) a stale postmaster.pid or orphaned
            // backends may remain for a moment; clean what is provably stale and retry.
            let removed = self.remove_stale_pid_file()?;
            if Instant::now() > deadline {
                bail!(
                    "the embedded PostgreSQL in {} did not start: {failure}\nServer log ({}):\n{}",
                    self.pgdata().display(),
                    self.server_log().display(),
                    tail(&self.server_log(), 15)
                );
            }
            if !removed {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }

    /// Starts `postgres -D <pgdata>` directly (no shell: the path is an
    /// argument, never code), in its own session so that a hang-up of the
    /// terminal does not stop it, with its output appended to the server log.
    /// `None` once it accepts connections; `Some(why)` if it exited.
    fn spawn_server(&self) -> Result<Option<String>> {
        let log_path = self.server_log();
        let log = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
            .open(&log_path)
            .wrap_err_with(|| format!("cannot open the server log {}", log_path.display()))?;
        if let Some(user) = &self.run_as
            && log.metadata()?.uid() != user.uid.as_raw()
        {
            nix::unistd::fchown(&log, Some(user.uid), Some(user.gid))?;
        }
        let mut cmd = self.server_command("postgres");
        cmd.arg("-D")
            .arg(self.pgdata())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: setsid is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = cmd
            .spawn()
            .wrap_err_with(|| format!("cannot run {}", self.bindir.join("postgres").display()))?;
        let pid = child.id() as i32;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(Some(format!("the server exited ({status})")));
            }
            if self.postmaster_ready(pid) {
                // Reap it when it ends, so it never lingers as a zombie.
                std::thread::spawn(move || child.wait());
                return Ok(None);
            }
            if Instant::now() > deadline {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
                let _ = child.wait();
                return Ok(Some(format!(
                    "it did not accept connections within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// postmaster.pid names `pid` and says `ready` (its 8th line).
    fn postmaster_ready(&self, pid: i32) -> bool {
        let Ok(text) = private_files::read_no_follow(&self.pgdata().join("postmaster.pid")) else {
            return false;
        };
        let lines: Vec<&str> = text.lines().collect();
        lines.first().and_then(|l| l.trim().parse::<i32>().ok()) == Some(pid)
            && lines.get(7).is_some_and(|l| l.trim() == "ready")
    }

    /// Removes `postmaster.pid` when the process it names is gone or is not a
    /// PostgreSQL server (the pid was reused after a crash).
    fn remove_stale_pid_file(&self) -> Result<bool> {
        let pid_file = self.pgdata().join("postmaster.pid");
        let Ok(text) = private_files::read_no_follow(&pid_file) else {
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
        let text = private_files::read_no_follow(&self.pgdata().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output> {
        let pgdata = self.pgdata().to_string_lossy().into_owned();
        let mut full = vec!["-D", pgdata.as_str()];
        full.extend_from_slice(args);
        self.run_server_tool("pg_ctl", &full)
    }

    fn run_server_tool(&self, tool: &str, args: &[&str]) -> Result<Output> {
        self.server_command(tool)
            .args(args)
            .output()
            .wrap_err_with(|| format!("cannot run {}", self.bindir.join(tool).display()))
    }

    /// A server program run directly (never through a shell), as `postgres` when root.
    fn server_command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(tool));
        cmd.env_remove("PGDATA")
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
        cmd
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

/// Refuses a data directory `postgresql.conf` cannot hold safely: the socket
/// folder is a comma-separated, quote-aware list there (a comma or quote
/// would split or end it), and a backslash or line break would be read as
/// an escape or a new setting.
fn check_config_safe(data_dir: &Path) -> Result<()> {
    let Some(text) = data_dir.to_str() else {
        bail!(
            "the data directory {} is not valid UTF-8: PostgreSQL's configuration cannot name it. \
             Choose another with --data-dir.",
            data_dir.display()
        );
    };
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, '\'' | '"' | '\\' | ',') || crate::text::is_dangerous(*c))
    {
        bail!(
            "the data directory \"{}\" contains {}, which PostgreSQL's configuration cannot hold \
             safely (quotes, backslashes, commas and control characters are refused). \
             Choose another with --data-dir.",
            crate::text::sanitize(text),
            match bad {
                ',' => "a comma".to_string(),
                '\'' | '"' => "a quote".to_string(),
                '\\' => "a backslash".to_string(),
                c => format!(
                    "the character {}",
                    crate::text::short_quote(&c.to_string(), 1)
                ),
            }
        );
    }
    Ok(())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = private_files::read_no_follow(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
