//! Which database importdesk talks to: `--database-url`, then
//! `DATABASE_URL`, then the libpq `PG*` variables, else the embedded cluster.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, eyre};
use tokio_postgres::Config;

use super::cluster::{self, Cluster};

/// Where the connection settings came from; shown by `db status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    DatabaseUrlEnv,
    LibpqEnv,
    Embedded,
}

impl Source {
    pub fn describe(&self) -> &'static str {
        match self {
            Source::Flag => "--database-url",
            Source::DatabaseUrlEnv => "DATABASE_URL",
            Source::LibpqEnv => "libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE)",
            Source::Embedded => "embedded private cluster",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub source: Source,
    pub config: Config,
    /// A libpq URI for the same database, without the password.
    pub url: String,
    /// Present when the target is the embedded cluster.
    pub cluster: Option<Cluster>,
}

/// The selection inputs, gathered once so tests can build them explicitly.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub database_url_flag: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Target {
    pub fn select(sel: &Selection) -> Result<Self> {
        if let Some(url) = &sel.database_url_flag {
            return Self::from_url(url, Source::Flag);
        }
        if let Some(url) = non_empty_env("DATABASE_URL") {
            return Self::from_url(&url, Source::DatabaseUrlEnv);
        }
        if ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE"]
            .iter()
            .any(|v| non_empty_env(v).is_some())
        {
            return Ok(Self::from_libpq_env());
        }
        let dir = match &sel.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir()?,
        };
        Self::embedded(Cluster::new(dir)?)
    }

    pub fn from_url(url: &str, source: Source) -> Result<Self> {
        let config: Config = url
            .parse()
            .map_err(|e| eyre!("invalid database URL from {}: {e}", source.describe()))?;
        Ok(Self {
            source,
            url: super::redact::connection_string(url),
            config,
            cluster: None,
        })
    }

    fn from_libpq_env() -> Self {
        let mut config = Config::new();
        let host = non_empty_env("PGHOST").unwrap_or_else(|| "/var/run/postgresql".into());
        let port = non_empty_env("PGPORT")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(5432);
        let user = non_empty_env("PGUSER").unwrap_or_else(os_user);
        let dbname = non_empty_env("PGDATABASE").unwrap_or_else(|| user.clone());
        for h in host.split(',') {
            if h.starts_with('/') {
                config.host_path(h);
            } else {
                config.host(h);
            }
        }
        config.port(port).user(&user).dbname(&dbname);
        if let Some(pw) = non_empty_env("PGPASSWORD") {
            config.password(pw);
        }
        if let Some(app) = non_empty_env("PGAPPNAME") {
            config.application_name(&app);
        }
        let url = build_url(&host, port, &user, &dbname);
        Self {
            source: Source::LibpqEnv,
            config,
            url,
            cluster: None,
        }
    }

    pub fn embedded(cluster: Cluster) -> Result<Self> {
        Self::embedded_database(cluster, cluster::DATABASE)
    }

    /// The embedded cluster, connecting to `dbname` (tests use one database each).
    pub fn embedded_database(cluster: Cluster, dbname: &str) -> Result<Self> {
        let socket_dir = cluster.socket_dir();
        let mut config = Config::new();
        config
            .host_path(&socket_dir)
            .port(cluster::PORT)
            .user(cluster::SUPERUSER)
            .dbname(dbname);
        let url = build_url(
            &socket_dir.to_string_lossy(),
            cluster::PORT,
            cluster::SUPERUSER,
            dbname,
        );
        Ok(Self {
            source: Source::Embedded,
            config,
            url,
            cluster: Some(cluster),
        })
    }

    /// Starts the embedded cluster when it is the target; a no-op otherwise.
    pub fn ensure_server(&self) -> Result<()> {
        if let Some(cluster) = &self.cluster {
            cluster.ensure_running()?;
        }
        Ok(())
    }

    pub fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or("")
    }
}

/// Importdesk's own files (logs, rejects, the embedded cluster). As root the
/// default is /var/lib/importdesk, because the `postgres` user running the
/// cluster cannot reach anything under /root.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = non_empty_env("IMPORTDESK_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if nix::unistd::Uid::effective().is_root() {
        return Ok(PathBuf::from("/var/lib/importdesk"));
    }
    let base = dirs::data_dir()
        .ok_or_else(|| eyre!("no home data directory is known; pass --data-dir DIR"))?;
    Ok(base.join("importdesk"))
}

/// The data directory for importdesk's own files when the database is not
/// embedded (logs, rejects).
pub fn files_dir(target: &Target, explicit: Option<&Path>) -> Result<PathBuf> {
    let (dir, mode) = match (&target.cluster, explicit) {
        (Some(c), _) => (c.data_dir().to_path_buf(), c.data_dir_mode()),
        (None, Some(d)) => (d.to_path_buf(), crate::private_files::DIR_MODE),
        (None, None) => (default_data_dir()?, crate::private_files::DIR_MODE),
    };
    let dir = crate::private_files::absolute(&dir)?;
    crate::private_files::check_ancestors(&dir)?;
    crate::private_files::ensure_dir(&dir, mode)
        .wrap_err_with(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn os_user() -> String {
    non_empty_env("USER")
        .or_else(|| non_empty_env("LOGNAME"))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::current())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A libpq URI: `postgresql:///DB?host=/socket/dir&port=P&user=U` for sockets.
fn build_url(host: &str, port: u16, user: &str, dbname: &str) -> String {
    format!(
        "postgresql:///{}?host={}&port={}&user={}",
        encode(dbname),
        encode(host),
        port,
        encode(user)
    )
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_url_is_percent_encoded_where_needed() {
        assert_eq!(
            build_url("/tmp/my dir/pg", 5432, "postgres", "importdesk"),
            "postgresql:///importdesk?host=/tmp/my%20dir/pg&port=5432&user=postgres"
        );
    }
}
