//! Waiting for locks. importdesk's sessions never wait without a bound: they
//! run with `lock_timeout` (`IMPORTDESK_LOCK_TIMEOUT`, default 10 s), and when
//! a statement gives up, the error names who held the lock (role, program,
//! since when), so a seller holding `LOCK TABLE listings` in psql stalls
//! nobody silently.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Report, Result, bail};
use serde::Serialize;
use tokio_postgres::{Config, GenericClient};

use super::Database;

pub const LOCK_TIMEOUT_ENV: &str = "IMPORTDESK_LOCK_TIMEOUT";
pub const DEFAULT_LOCK_TIMEOUT: &str = "10s";

/// Sessions keeping `$1` (a backend pid of the caller's role, or 0) from a lock.
const BLOCKERS: &str = "SELECT pid, role, application, state, since, locks
       FROM import_audit.lock_blockers($1)";

/// How often a watched session's blockers are sampled while it runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(400);

/// The `lock_timeout` of importdesk's sessions, as PostgreSQL reads it:
/// digits and an optional unit (`ms`, `s`, `min`), never 0 (0 means wait forever).
pub fn lock_timeout() -> Result<String> {
    let raw = std::env::var(LOCK_TIMEOUT_ENV).unwrap_or_default();
    let value: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if value.is_empty() {
        return Ok(DEFAULT_LOCK_TIMEOUT.to_string());
    }
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    let number: u64 = digits.parse().unwrap_or(0);
    if number == 0 || !["", "ms", "s", "min"].contains(&unit) {
        bail!(
            "{LOCK_TIMEOUT_ENV}={raw:?} is not a lock timeout: write a positive number with \
             ms, s or min (e.g. 10s); importdesk never waits for a lock without a bound"
        );
    }
    Ok(value)
}

/// Adds `lock_timeout` to the session options every connection of `config` starts with.
pub fn apply_lock_timeout(config: &mut Config) -> Result<()> {
    let timeout = lock_timeout()?;
    let mut options = config.get_options().unwrap_or_default().to_string();
    if !options.is_empty() {
        options.push(' ');
    }
    options.push_str(&format!("-c lock_timeout={timeout}"));
    config.options(&options);
    Ok(())
}

/// A session that holds a lock importdesk waited for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub role: String,
    pub application: Option<String>,
    pub state: Option<String>,
    /// When its transaction (or, outside one, its session) started.
    pub since: Option<DateTime<Utc>>,
    /// Table locks strong enough to stop writes, e.g. `AccessExclusiveLock on listings`.
    pub locks: Option<String>,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::text::sanitize;
        write!(f, "pid {} (role {}", self.pid, clean(&self.role))?;
        if let Some(app) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", {}", clean(app))?;
        }
        if let Some(state) = &self.state {
            write!(f, ", {}", clean(state))?;
        }
        match self.since {
            Some(at) => write!(f, ", since {}", at.format("%Y-%m-%d %H:%M:%S UTC"))?,
            None => write!(f, ", since an unknown time")?,
        }
        if let Some(locks) = self.locks.as_deref().filter(|l| !l.is_empty()) {
            write!(f, ", holding {}", clean(locks))?;
        }
        f.write_str(")")
    }
}

/// A statement gave up waiting for a lock: who held it.
#[derive(Debug, Clone, Serialize)]
pub struct LockWaitTimedOut {
    pub timeout: String,
    pub blockers: Vec<Blocker>,
}

impl std::fmt::Display for LockWaitTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gave up waiting for a lock after {}", self.timeout)?;
        if self.blockers.is_empty() {
            write!(f, " (the session holding it had ended when we looked)")?;
        } else {
            let names: Vec<String> = self.blockers.iter().map(|b| b.to_string()).collect();
            write!(f, "; held by {}", names.join("; "))?;
        }
        write!(
            f,
            "; nothing was changed. Try again once that session ends (a database \
             administrator can end it with pg_terminate_backend)"
        )
    }
}

impl std::error::Error for LockWaitTimedOut {}

/// True when `report` comes from a statement cancelled by `lock_timeout`.
pub fn is_lock_timeout(report: &Report) -> bool {
    report.chain().any(|cause| {
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.as_db_error())
            .is_some_and(|db| {
                *db.code() == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE
                    && db.message().contains("lock timeout")
            })
    })
}

async fn blockers_of(db: &Database, pid: i32) -> Result<Vec<Blocker>> {
    let client = db.client().await?;
    let rows = client.query(BLOCKERS, &[&pid]).await?;
    Ok(rows
        .iter()
        .map(|r| Blocker {
            pid: r.get("pid"),
            role: r.get::<_, Option<String>>("role").unwrap_or_default(),
            application: r.get("application"),
            state: r.get("state"),
            since: r.get("since"),
            locks: r.get("locks"),
        })
        .collect())
}

/// Names the blockers of a statement that gave up waiting: those `watch`
/// saw while it waited, else whoever holds a table lock that stops writes now.
pub async fn explain<T>(
    db: &Database,
    watch: Option<&BlockerWatch>,
    result: Result<T>,
) -> Result<T> {
    let report = match result {
        Err(report) if is_lock_timeout(&report) => report,
        other => return other,
    };
    let mut blockers = watch.map(|w| w.seen()).unwrap_or_default();
    if blockers.is_empty() {
        blockers = blockers_of(db, 0).await.unwrap_or_default();
    }
    let timeout = lock_timeout().unwrap_or_else(|_| DEFAULT_LOCK_TIMEOUT.into());
    Err(report.wrap_err(LockWaitTimedOut { timeout, blockers }))
}

/// Samples, while a long piece of work runs on one session, who that session
/// waits for (`pg_blocking_pids`), so a lock timeout can name them even
/// after they moved on. Stops when dropped.
pub struct BlockerWatch {
    seen: Arc<Mutex<Vec<Blocker>>>,
    task: tokio::task::JoinHandle<()>,
}

impl BlockerWatch {
    pub async fn start(db: &Database, watched: &impl super::Conn) -> Result<Self> {
        let pid: i32 = watched
            .pg()
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (db, store) = (db.clone(), seen.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(SAMPLE_EVERY).await;
                if let Ok(now) = blockers_of(&db, pid).await
                    && !now.is_empty()
                    && let Ok(mut seen) = store.lock()
                {
                    *seen = now;
                }
            }
        });
        Ok(Self { seen, task })
    }

    pub fn seen(&self) -> Vec<Blocker> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for BlockerWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocker_is_named_with_role_program_and_time() {
        let b = Blocker {
            pid: 42,
            role: "alice\u{1b}[2J".into(),
            application: Some("psql".into()),
            state: Some("idle in transaction".into()),
            since: DateTime::parse_from_rfc3339("2024-05-01T12:00:01Z")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
            locks: Some("AccessExclusiveLock on listings".into()),
        };
        assert_eq!(
            b.to_string(),
            "pid 42 (role alice␛[2J, psql, idle in transaction, since 2024-05-01 12:00:01 UTC, \
             holding AccessExclusiveLock on listings)"
        );
    }
}
