//! The server's programs, always run directly (never through a shell) and
//! as `postgres` when importdesk is root: `initdb` with importdesk's
//! settings, `postgres` started in its own session and waited for, `pg_ctl`
//! for status and stop, and the clean-up of a crashed server's pid file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Context, Result, bail};
use nix::fcntl::OFlag;

use super::{Cluster, PORT, SERVER_SETTINGS, START_TIMEOUT_ENV, SUPERUSER};
use crate::private_files;

impl Cluster {
    pub(super) fn init(&self) -> Result<()> {
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

    /// Starts the server, retrying after a crash's leftovers are cleaned,
    /// until it accepts connections or the start timeout has passed.
    pub(super) fn start_locked(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let failure = match self.spawn_server(deadline, timeout)? {
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
    /// `None` once it accepts connections; `Some(why)` if it exited or was
    /// stopped at `deadline` (`timeout` after the first try) without accepting.
    fn spawn_server(&self, deadline: Instant, timeout: Duration) -> Result<Option<String>> {
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
                    "it did not accept connections within {} s ({START_TIMEOUT_ENV} sets the \
                     wait; a crash recovery on a slow disk can need more)",
                    // As given: 0.05 s is not "0 s".
                    (timeout.as_secs_f64() * 100.0).round() / 100.0
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

    pub(super) fn postmaster_pid(&self) -> Option<i32> {
        let text = private_files::read_no_follow(&self.pgdata().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    pub(super) fn pg_ctl(&self, args: &[&str]) -> Result<Output> {
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
pub(super) fn is_live_postgres(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some((comm, state)) = name_and_state(&stat) else {
        return false;
    };
    (comm == "postgres" || comm == "postmaster") && !matches!(state, 'Z' | 'X')
}

/// The process name and state of a `/proc/PID/stat` line: "pid (comm)
/// state ...", where comm may hold spaces and parentheses, so it ends at
/// the last ')'.
fn name_and_state(stat: &str) -> Option<(&str, char)> {
    let close = stat.rfind(')')?;
    let comm = stat
        .find('(')
        .map(|open| &stat[open + 1..close])
        .unwrap_or("");
    let state = stat[close + 1..].trim_start().chars().next().unwrap_or('X');
    Some((comm, state))
}

pub(super) fn output_text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s.trim().to_string()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = private_files::read_no_follow(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_process_name_and_state() {
        assert_eq!(
            name_and_state("4242 (postgres) S 1 4242 4242 0 -1"),
            Some(("postgres", 'S'))
        );
        assert_eq!(
            name_and_state("7 (my (odd) name) Z 1"),
            Some(("my (odd) name", 'Z'))
        );
        assert_eq!(name_and_state("garbage"), None);
    }

    #[test]
    fn this_test_process_is_not_a_live_postgres() {
        assert!(!is_live_postgres(std::process::id() as i32));
        assert!(!is_live_postgres(i32::MAX));
    }

    #[test]
    fn a_programs_output_is_its_stdout_then_stderr_trimmed() {
        use std::os::unix::process::ExitStatusExt;
        // pg_ctl and initdb print their reason on either stream; the error
        // messages quote both.
        let out = Output {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: b"waiting for server to shut down....\n".to_vec(),
            stderr: b"pg_ctl: server does not shut down\n".to_vec(),
        };
        assert_eq!(
            output_text(&out),
            "waiting for server to shut down....\npg_ctl: server does not shut down"
        );
    }
}
