//! Which database importdesk talks to. The first of these that names one:
//! `--database-url`; `DATABASE_URL`; the libpq variables (`PGHOST`,
//! `PGDATABASE`, `PGSERVICE`, ...); the user configuration file; the system
//! configuration file (`crate::config`). Else the embedded private cluster,
//! unless a configuration file forbids it. Each connection option is then
//! resolved as libpq does (`settings`).

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, bail, eyre};
use tokio_postgres::Config;

use super::cluster::{self, Cluster};
use super::settings::{self, Layer, Resolved};
use super::tls::TlsSettings;
use crate::config::Config as Files;

/// Where the database was named; shown by `db status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    DatabaseUrlEnv,
    LibpqEnv,
    UserConfig(PathBuf),
    SystemConfig(PathBuf),
    Embedded,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Flag => "--database-url".into(),
            Source::DatabaseUrlEnv => "DATABASE_URL".into(),
            Source::LibpqEnv => "libpq environment (PGHOST, PGDATABASE, PGSERVICE, ...)".into(),
            Source::UserConfig(p) => format!("your configuration {}", p.display()),
            Source::SystemConfig(p) => format!("the system configuration {}", p.display()),
            Source::Embedded => "embedded private cluster".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub source: Source,
    pub config: Config,
    /// A libpq URI for the same database, never with the password.
    pub url: String,
    /// Present when the target is the embedded cluster.
    pub cluster: Option<Cluster>,
    /// Every connection option and where it came from (not for the
    /// embedded cluster, whose settings are fixed).
    pub settings: Option<Resolved>,
    /// TLS for a server reached over TCP; `None` for sockets.
    pub tls: Option<TlsSettings>,
    /// Why no private cluster may be started here, when a configuration
    /// file says so (`db start` explains it).
    pub embedded_forbidden: Option<String>,
}

/// The selection inputs, gathered once so tests can build them explicitly.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub database_url_flag: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Target {
    /// Selects the database from flags, the process environment and the
    /// configuration files.
    pub fn select(sel: &Selection) -> Result<Self> {
        let files = Files::load()?;
        Self::select_with(sel, &files, &settings::Context::process())
    }

    pub fn select_with(sel: &Selection, files: &Files, cx: &settings::Context) -> Result<Self> {
        let embedded_forbidden = files.embedded_forbidden_by();
        let explicit = match &sel.database_url_flag {
            Some(url) => Some((
                Layer {
                    conninfo: url.clone(),
                    origin: "--database-url".into(),
                },
                Source::Flag,
            )),
            None => (cx.env)("DATABASE_URL").map(|url| {
                (
                    Layer {
                        conninfo: url,
                        origin: "DATABASE_URL".into(),
                    },
                    Source::DatabaseUrlEnv,
                )
            }),
        };
        let file = [&files.user, &files.system]
            .into_iter()
            .flatten()
            .find_map(|f| {
                let conninfo = f.config.conninfo()?;
                let is_user = files.user.as_ref() == Some(f);
                Some((
                    Layer {
                        conninfo,
                        origin: f.path.display().to_string(),
                    },
                    if is_user {
                        Source::UserConfig(f.path.clone())
                    } else {
                        Source::SystemConfig(f.path.clone())
                    },
                ))
            });
        let env_selects = settings::SELECTING_ENV
            .iter()
            .any(|v| (cx.env)(v).is_some());
        let source = match (&explicit, env_selects, &file) {
            (Some((_, s)), _, _) => s.clone(),
            (None, true, _) => Source::LibpqEnv,
            (None, false, Some((_, s))) => s.clone(),
            (None, false, None) => {
                if let Some(why) = embedded_forbidden {
                    bail!(
                        "no database is configured, and {why}, so importdesk will not start a \
                         private database: name the database with database_url (or service) in \
                         {} or {}, --database-url, DATABASE_URL or PGHOST/PGDATABASE",
                        crate::config::user_path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "~/.config/importdesk/config.toml".into()),
                        crate::config::system_path()
                            .unwrap_or_else(|| crate::config::SYSTEM_CONFIG.into())
                            .display()
                    );
                }
                let dir = match &sel.data_dir {
                    Some(d) => d.clone(),
                    None => default_data_dir()?,
                };
                return Self::embedded(Cluster::new(dir)?);
            }
        };
        let resolved = settings::resolve(
            explicit.as_ref().map(|(l, _)| l),
            file.as_ref().map(|(l, _)| l),
            cx,
        )?;
        let mut target = Self::from_settings(resolved, source, cx.home.as_deref())?;
        target.embedded_forbidden = embedded_forbidden;
        Ok(target)
    }

    /// A target from one connection string alone (plus the environment's
    /// defaults, as libpq would): tests and tools.
    pub fn from_url(url: &str, source: Source) -> Result<Self> {
        let cx = settings::Context::process();
        let layer = Layer {
            conninfo: url.to_string(),
            origin: source.describe(),
        };
        let resolved = settings::resolve(Some(&layer), None, &cx)?;
        Self::from_settings(resolved, source, cx.home.as_deref())
    }

    fn from_settings(resolved: Resolved, source: Source, home: Option<&Path>) -> Result<Self> {
        let config = resolved.pg_config()?;
        let tls = if resolved.socket_only() {
            None
        } else {
            Some(resolved.tls(home)?)
        };
        for warning in &resolved.warnings {
            eprintln!("importdesk: warning: {warning}");
        }
        Ok(Self {
            source,
            // Built without the password; redacted again should one slip in.
            url: super::redact::connection_string(&resolved.url()),
            config,
            cluster: None,
            settings: Some(resolved),
            tls,
            embedded_forbidden: None,
        })
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
            .dbname(dbname)
            .application_name("importdesk");
        let url = format!(
            "postgresql:///{}?host={}&port={}&user={}",
            super::conninfo::encode(dbname),
            super::conninfo::encode(&socket_dir.to_string_lossy()),
            cluster::PORT,
            super::conninfo::encode(cluster::SUPERUSER)
        );
        Ok(Self {
            source: Source::Embedded,
            config,
            url,
            cluster: Some(cluster),
            settings: None,
            tls: None,
            embedded_forbidden: None,
        })
    }

    /// The same server and settings, another database (tests).
    pub fn with_dbname(&self, dbname: &str) -> Result<Self> {
        if let Some(c) = &self.cluster {
            return Self::embedded_database(c.clone(), dbname);
        }
        let mut t = self.clone();
        t.config.dbname(dbname);
        if let Some(s) = &mut t.settings {
            s.set("dbname", dbname, "test");
            t.url = s.url();
        }
        Ok(t)
    }

    pub fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or("")
    }

    /// Which database, in words, for headers and the console's title:
    /// `shop on socket /var/run/postgresql`, `shop on db.example:5432`, or
    /// `private cluster in DIR`.
    pub fn location(&self) -> String {
        if let Some(c) = &self.cluster {
            return format!("private cluster in {}", c.pgdata().display());
        }
        let db = crate::text::sanitize(self.dbname()).into_owned();
        let Some(s) = &self.settings else {
            return db;
        };
        let hosts = s.hosts();
        let ports: Vec<&str> = s.get("port").unwrap_or("5432").split(',').collect();
        let places: Vec<String> = if hosts.is_empty() {
            vec![s.get("hostaddr").unwrap_or("?").to_string()]
        } else {
            hosts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let port = ports.get(i).or(ports.first()).copied().unwrap_or("5432");
                    if h.starts_with('/') {
                        if port == "5432" {
                            format!("socket {h}")
                        } else {
                            format!("socket {h} (port {port})")
                        }
                    } else {
                        format!("{h}:{port}")
                    }
                })
                .collect()
        };
        format!("{db} on {}", crate::text::sanitize(&places.join(", ")))
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
        (None, Some(d)) => (d.to_path_buf(), files_dir_mode(d)),
        (None, None) => {
            let d = default_data_dir()?;
            let mode = files_dir_mode(&d);
            (d, mode)
        }
    };
    let dir = crate::private_files::absolute(&dir)?;
    crate::private_files::check_ancestors(&dir)?;
    crate::private_files::ensure_dir(&dir, mode)
        .wrap_err_with(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

/// The mode of importdesk's files directory `dir` when the database in use
/// is not the embedded one this process starts (a URL, even one pointing at
/// the embedded cluster's socket): private, but a directory that holds an
/// embedded cluster keeps that cluster's mode. As root that is 0711: made
/// 0700, it would lock the running server (user `postgres`) out of its own
/// files, and its next checkpoint would crash it.
fn files_dir_mode(dir: &Path) -> u32 {
    let holds_cluster =
        std::fs::symlink_metadata(dir.join("pg").join("PG_VERSION")).is_ok_and(|m| m.is_file());
    match Cluster::new(dir.to_path_buf()) {
        Ok(cluster) if holds_cluster => cluster.data_dir_mode(),
        _ => crate::private_files::DIR_MODE,
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The person running importdesk: the real uid's account name (never
/// `$USER`, which anyone can set), else the uid as a number.
pub fn os_user() -> String {
    user_name(nix::unistd::Uid::current())
}

/// The account name libpq uses as the default database user (the
/// effective uid's).
pub fn effective_os_user() -> String {
    user_name(nix::unistd::Uid::effective())
}

fn user_name(uid: nix::unistd::Uid) -> String {
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The home directory as libpq finds it: `$HOME`, else the account's.
pub fn home_dir() -> Option<PathBuf> {
    dirs::home_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `location()` of the target `url` names, with no environment.
    fn located(url: &str) -> String {
        let env = |_: &str| None;
        let cx = settings::Context {
            env: &env,
            home: None,
            os_user: "osuser".into(),
        };
        let sel = Selection {
            database_url_flag: Some(url.into()),
            data_dir: None,
        };
        Target::select_with(&sel, &Files::default(), &cx)
            .unwrap()
            .location()
    }

    #[test]
    fn a_socket_is_named_with_its_port_only_when_that_is_not_5432() {
        assert_eq!(located("postgresql://%2Ftmp/shop"), "shop on socket /tmp");
        assert_eq!(
            located("postgresql://%2Ftmp:5432/shop"),
            "shop on socket /tmp"
        );
        assert_eq!(
            located("postgresql://%2Ftmp:5433/shop"),
            "shop on socket /tmp (port 5433)"
        );
        assert_eq!(
            located("postgresql://db.example:6432/shop?sslmode=disable"),
            "shop on db.example:6432"
        );
    }

    /// The account name of `uid`, from `id` (another reader of the
    /// account database than nix), or the number when it has none.
    fn account_name(flags: &str, uid: nix::unistd::Uid) -> String {
        let out = std::process::Command::new("id")
            .arg(flags)
            .output()
            .expect("run id");
        if out.status.success() {
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        } else {
            format!("uid {uid}")
        }
    }

    /// The history records who ran an import by this name.
    #[test]
    fn the_os_user_is_the_account_name_of_the_real_and_effective_uid() {
        assert_eq!(os_user(), account_name("-run", nix::unistd::Uid::current()));
        assert_eq!(
            effective_os_user(),
            account_name("-un", nix::unistd::Uid::effective())
        );
    }

    /// The source of a target named by a configuration file, with no
    /// environment: `db status` says which file named the database.
    fn source_from(files: &Files) -> Source {
        let env = |_: &str| None;
        let cx = settings::Context {
            env: &env,
            home: None,
            os_user: "osuser".into(),
        };
        Target::select_with(&Selection::default(), files, &cx)
            .unwrap()
            .source
    }

    /// A database named in the user's file is said to come from the
    /// user's file, one named only in the system file from the system
    /// file; with both, the user's wins.
    #[test]
    fn a_database_named_in_a_configuration_file_is_said_to_come_from_that_file() {
        let file = |path: &str, db: &str| crate::config::LoadedFile {
            path: PathBuf::from(path),
            config: crate::config::FileConfig {
                database_url: Some(format!("postgresql://%2Ftmp/{db}")),
                ..Default::default()
            },
        };
        let user = file("/home/sue/.config/importdesk/config.toml", "mine");
        let system = file("/etc/importdesk/config.toml", "shared");
        let only_user = Files {
            user: Some(user.clone()),
            system: None,
        };
        assert_eq!(
            source_from(&only_user),
            Source::UserConfig(user.path.clone())
        );
        let only_system = Files {
            user: None,
            system: Some(system.clone()),
        };
        assert_eq!(
            source_from(&only_system),
            Source::SystemConfig(system.path.clone())
        );
        let both = Files {
            user: Some(user.clone()),
            system: Some(system),
        };
        assert_eq!(source_from(&both), Source::UserConfig(user.path));
    }

    /// importdesk's files folder is private (0700) unless it holds an
    /// embedded cluster; then it keeps the mode that cluster needs (0711
    /// as root, so the server's `postgres` user reaches its own files).
    #[test]
    fn the_files_folder_is_private_unless_it_holds_a_private_cluster() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(files_dir_mode(d.path()), 0o700);
        std::fs::create_dir(d.path().join("pg")).unwrap();
        std::fs::write(d.path().join("pg").join("PG_VERSION"), "15\n").unwrap();
        let cluster_mode = Cluster::new(d.path().to_path_buf())
            .unwrap()
            .data_dir_mode();
        assert_eq!(files_dir_mode(d.path()), cluster_mode);
        if nix::unistd::Uid::effective().is_root() {
            assert_eq!(cluster_mode, 0o711);
        }
    }
}
