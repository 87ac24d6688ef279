//! Child processes (importdesk, psql) timed from spawn to exit, with their
//! own peak RSS; the private cluster they talk to.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::libc;

use crate::{COLUMNS, Options, Result, SLOW_STATEMENT_MS};

pub struct Run {
    pub seconds: f64,
    pub max_rss_kb: i64,
    /// The child's own CPU time (user + system): how much of the wall time
    /// the client spent working, the rest being waits on the server.
    pub cpu_seconds: f64,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    pub fn rss_mb(&self) -> f64 {
        self.max_rss_kb as f64 / 1024.0
    }
    pub fn describe_failure(&self, what: &str) -> String {
        format!(
            "{what} exited with {}:\n{}{}",
            self.code,
            tail(&self.stderr, 20),
            tail(&self.stdout, 20)
        )
    }
}

pub fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Runs `cmd` to completion with stdout/stderr in files (no pipe to drain),
/// reaping it with `wait4` to get its own peak RSS (not the maximum over all
/// children, which `getrusage(RUSAGE_CHILDREN)` would give).
pub fn run(mut cmd: Command, scratch: &Path) -> Result<Run> {
    let mut out = tempfile::tempfile_in(scratch)?;
    let mut err = tempfile::tempfile_in(scratch)?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?);
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; both pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4 failed: {e}").into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // The child is reaped: `child` must not be waited for again.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let read_back = |f: &mut File| -> Result<String> {
        f.seek(SeekFrom::Start(0))?;
        let mut s = String::new();
        f.read_to_string(&mut s)?;
        Ok(s)
    };
    Ok(Run {
        seconds,
        // Linux reports ru_maxrss in KiB.
        max_rss_kb: usage.ru_maxrss,
        cpu_seconds: timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime),
        code,
        stdout: read_back(&mut out)?,
        stderr: read_back(&mut err)?,
    })
}

fn timeval_seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// psql's `\copy` of a generated file into `table` (its columns named).
pub fn copy_command(table: &str, file: &Path) -> String {
    format!(
        "\\copy {table} ({COLUMNS}) FROM '{}' WITH (FORMAT csv, HEADER true)",
        file.display().to_string().replace('\'', "''")
    )
}

/// A command with no database selection leaking in from the environment.
pub fn clean_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "DATABASE_URL" || k.starts_with("PG") || k.starts_with("IMPORTDESK_") {
            cmd.env_remove(&*k);
        }
    }
    cmd
}

pub struct Bench {
    pub bin: &'static str,
    pub data_dir: PathBuf,
    pub scratch: PathBuf,
    pub url: String,
}

impl Bench {
    /// `importdesk --data-dir DIR [--database-url URL] ARGS`; `db` commands
    /// get no URL (they manage the embedded cluster of the data dir).
    pub fn importdesk(&self, url: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = clean_command(self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(args);
        cmd
    }

    pub fn db(&self, args: &[&str]) -> Result<Run> {
        run(self.importdesk(None, args), &self.scratch)
    }

    pub fn run_importdesk(&self, args: &[&str]) -> Result<Run> {
        run(self.importdesk(Some(&self.url), args), &self.scratch)
    }

    /// The same, with every statement limited to `seconds` by the server.
    pub fn run_importdesk_limited(&self, seconds: u64, args: &[&str]) -> Result<Run> {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}options=-c%20statement_timeout%3D{}",
            self.url,
            seconds * 1000
        );
        run(self.importdesk(Some(&url), args), &self.scratch)
    }

    pub fn psql_command(&self, sql: &str) -> Command {
        self.psql_commands(&[sql])
    }

    /// psql running each of `commands` (SQL, or one meta-command such as
    /// `\copy`) in order; with `-1` they make one transaction.
    fn psql_commands(&self, commands: &[&str]) -> Command {
        let mut cmd = clean_command("psql");
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(&self.url);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        cmd
    }

    /// Timed: `commands` in one transaction (`psql -1`).
    pub fn psql_transaction(&self, commands: &[&str]) -> Result<Run> {
        let mut cmd = self.psql_commands(commands);
        cmd.arg("-1");
        let r = run(cmd, &self.scratch)?;
        if !r.ok() {
            return Err(r
                .describe_failure(&format!("psql -1 -c {commands:?}"))
                .into());
        }
        Ok(r)
    }

    /// Runs SQL (or a psql meta-command) and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> Result<String> {
        let r = run(self.psql_command(sql), &self.scratch)?;
        if !r.ok() {
            return Err(r.describe_failure(&format!("psql -c {sql:?}")).into());
        }
        Ok(r.stdout.trim().to_string())
    }

    /// Timed `\copy` of `file` into `table`.
    pub fn copy(&self, table: &str, file: &Path) -> Result<Run> {
        let r = run(self.psql_command(&copy_command(table, file)), &self.scratch)?;
        if !r.ok() {
            return Err(r.describe_failure("psql \\copy").into());
        }
        Ok(r)
    }

    /// Writes pending WAL and dirty pages so each timed step starts alike.
    pub fn settle(&self) -> Result<()> {
        self.psql("CHECKPOINT")?;
        Ok(())
    }

    /// Order-independent fingerprint of the bench seller's listings (or of a
    /// bench table): row count and a sum of 64-bit row hashes.
    pub fn fingerprint(&self, from: &str) -> Result<String> {
        self.psql(&format!(
            "SELECT count(*) || ' rows, hash ' || coalesce(sum(hashtextextended(\
             ({COLUMNS})::text, 0)::numeric), 0) FROM {from}"
        ))
    }

    pub fn server_log(&self) -> PathBuf {
        self.data_dir.join("pg").join("server.log")
    }
}

/// A private cluster in a fresh temporary directory (mode 0755: as root the
/// server runs as `postgres`, which must reach it), migrated, with slow
/// statements logged; or, with `--database-url`, a server the bench did not
/// start, migrated and otherwise left as it is. Dropped, it stops the
/// private cluster and removes the directory (unless kept).
pub struct Cluster {
    pub bench: Bench,
    pub base: PathBuf,
    root: Option<tempfile::TempDir>,
    external: bool,
}

impl Cluster {
    pub fn start(o: &Options, bin: &'static str) -> Result<Cluster> {
        let root = tempfile::Builder::new()
            .prefix("importdesk-bench-")
            .tempdir_in(&o.tmp)?;
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755))?;
        let base = root.path().to_path_buf();
        let scratch = base.join("scratch");
        fs::create_dir(&scratch)?;
        let mut cluster = Cluster {
            bench: Bench {
                bin,
                data_dir: base.join("data"),
                scratch,
                url: String::new(),
            },
            base,
            root: if o.keep {
                let _ = root.keep();
                None
            } else {
                Some(root)
            },
            external: o.database_url.is_some(),
        };
        let b = &mut cluster.bench;
        if let Some(url) = &o.database_url {
            b.url = url.clone();
            eprintln!(
                "# database {url} (external: no server setting changed, no slow statements listed)"
            );
            let m = b.run_importdesk(&["db", "migrate", "--json"])?;
            if !m.ok() {
                return Err(m.describe_failure("importdesk db migrate").into());
            }
            return Ok(cluster);
        }
        let start = b.db(&["db", "start"])?;
        if !start.ok() {
            return Err(start.describe_failure("importdesk db start").into());
        }
        let url = b.db(&["db", "url"])?;
        if !url.ok() {
            return Err(url.describe_failure("importdesk db url").into());
        }
        b.url = url
            .stdout
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_string();
        eprintln!("# database {}", b.url);
        let m = b.db(&["db", "migrate", "--json"])?;
        if !m.ok() {
            return Err(m.describe_failure("importdesk db migrate").into());
        }
        b.psql(&format!(
            "ALTER SYSTEM SET log_min_duration_statement = {SLOW_STATEMENT_MS}"
        ))?;
        // Every temporary file (a spilled sort, hash or transition table)
        // with its size and statement, for reading the kept log (`--keep`).
        b.psql("ALTER SYSTEM SET log_temp_files = 0")?;
        b.psql("SELECT pg_reload_conf()")?;
        Ok(cluster)
    }

    /// The server's version and the settings that matter for the numbers.
    pub fn describe(&self) -> Result<String> {
        let b = &self.bench;
        let version = b.psql("SHOW server_version")?;
        let settings = b.psql(
            "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) \
             FROM pg_settings WHERE name IN ('shared_buffers','wal_buffers','work_mem',\
             'maintenance_work_mem','max_wal_size','fsync','synchronous_commit','wal_level')",
        )?;
        Ok(format!("PostgreSQL {version} ({settings})"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // An external server is not ours to stop.
        if !self.external {
            match self.bench.importdesk(None, &["db", "stop"]).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!(
                    "warning: `importdesk db stop` failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("warning: cannot run `importdesk db stop`: {e}"),
            }
        }
        match self.root.take() {
            Some(root) => {
                let path = root.path().to_path_buf();
                if let Err(e) = root.close() {
                    eprintln!("warning: cannot remove {}: {e}", path.display());
                }
            }
            None if self.external => eprintln!("# kept {} (files)", self.base.display()),
            None => eprintln!(
                "# kept {} (cluster stopped; restart with: {} --data-dir {} db start)",
                self.base.display(),
                self.bench.bin,
                self.bench.data_dir.display()
            ),
        }
    }
}
