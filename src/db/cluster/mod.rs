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
//!
//! `data_dir` prepares and checks the folders, `server` runs `initdb`,
//! `postgres` and `pg_ctl`, `bindir` finds them on the machine.

mod bindir;
mod data_dir;
mod server;

pub use bindir::find_server_bindir;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Context, Result, bail, eyre};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User};

use crate::private_files;
use data_dir::check_config_safe;
use server::{is_live_postgres, output_text};

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
/// How long a start may take, retries after a crash included, before the
/// server is stopped and the command fails (`IMPORTDESK_START_TIMEOUT`,
/// seconds): crash recovery on a slow disk can need more than the default.
const START_TIMEOUT_ENV: &str = "IMPORTDESK_START_TIMEOUT";
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest wait either variable accepts: a bound, and a deadline the
/// clock can hold.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

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
        // A bad value is refused before anything is created or started.
        let start_timeout = wait_from_env(START_TIMEOUT_ENV, DEFAULT_START_TIMEOUT)?;
        self.prepare_data_dir()?;
        let _lock = self.lock()?;
        if !self.is_initialised() {
            self.init()?;
        }
        if !self.is_running()? {
            self.start_locked(start_timeout)?;
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

    /// The exclusive lock serialising start and stop. Waits a bounded time
    /// for another process, then names it instead of hanging.
    fn lock(&self) -> Result<Flock<File>> {
        let path = self.data_dir.join(".cluster.lock");
        let mut file = private_files::open_lock_file(&path)?;
        let wait = wait_from_env(CLUSTER_LOCK_WAIT_ENV, DEFAULT_CLUSTER_LOCK_WAIT)?;
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
}

/// The wait the variable `name` asks for, `default` when it is unset.
fn wait_from_env(name: &str, default: Duration) -> Result<Duration> {
    parse_wait(name, std::env::var(name).ok().as_deref(), default)
}

/// A wait written in a variable (`raw`, when set): seconds, fractions
/// allowed, at most a day. Anything else is refused naming the variable: a
/// typo used to wait the default silently, and a value too large for the
/// clock (`1e30`) made the command panic.
fn parse_wait(name: &str, raw: Option<&str>, default: Duration) -> Result<Duration> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|wait| *wait <= MAX_WAIT)
        .ok_or_else(|| {
            eyre!(
                "{name}={raw:?} is not a wait: write a number of seconds from 0 to {} (e.g. {})",
                MAX_WAIT.as_secs(),
                default.as_secs()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_seconds_up_to_a_day_and_anything_else_is_refused() {
        let wait = |raw| {
            parse_wait(CLUSTER_LOCK_WAIT_ENV, raw, DEFAULT_CLUSTER_LOCK_WAIT)
                .map_err(|e| e.to_string())
        };
        assert_eq!(wait(None), Ok(DEFAULT_CLUSTER_LOCK_WAIT));
        assert_eq!(wait(Some(" ")), Ok(DEFAULT_CLUSTER_LOCK_WAIT));
        assert_eq!(wait(Some("0")), Ok(Duration::ZERO));
        assert_eq!(wait(Some(" 2.5 ")), Ok(Duration::from_millis(2500)));
        assert_eq!(wait(Some("86400")), Ok(MAX_WAIT));
        // Past a day, past what Instant can add (1e19 s), past Duration
        // (1e30 s), negative, not a number.
        for bad in ["86400.5", "1e19", "1e30", "inf", "-1", "NaN", "2m", "soon"] {
            let e = wait(Some(bad)).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "IMPORTDESK_CLUSTER_LOCK_WAIT={bad:?} is not a wait"
                )),
                "{bad}: {e}"
            );
        }
    }
}
