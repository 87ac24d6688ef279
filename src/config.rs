//! Configuration files, so a shared server is set up once:
//!
//! - the system file, `/etc/importdesk/config.toml` (an administrator's);
//! - the user file, `$XDG_CONFIG_HOME/importdesk/config.toml`
//!   (`~/.config/importdesk/config.toml` by default).
//!
//! Each may name the database (`database_url = "..."`, or `service = "..."`
//! for a libpq service) and may forbid the embedded private cluster
//! (`embedded = false`). The user file's database wins over the system
//! file's; flags and the environment win over both (`db::target`).

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, bail};
use serde::Deserialize;

/// Where the system file lives.
pub const SYSTEM_CONFIG: &str = "/etc/importdesk/config.toml";
/// Replaces [`SYSTEM_CONFIG`]: for tests and packagers (a test must never
/// read the machine's real file). An empty value means "no system file".
pub const SYSTEM_CONFIG_ENV: &str = "IMPORTDESK_SYSTEM_CONFIG";

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A libpq connection URI or keyword/value string.
    pub database_url: Option<String>,
    /// A service name from a libpq service file.
    pub service: Option<String>,
    /// `false` forbids the embedded private cluster.
    pub embedded: Option<bool>,
}

impl FileConfig {
    /// The connection string this file names, if any (`service = X` is
    /// libpq's `service=X`).
    pub fn conninfo(&self) -> Option<String> {
        match (&self.database_url, &self.service) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(s)) => Some(format!("service='{}'", s.replace('\'', "\\'"))),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub config: FileConfig,
}

/// Both files, as found on this machine (either may be absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub system: Option<LoadedFile>,
    pub user: Option<LoadedFile>,
}

impl Config {
    /// Reads the system and the user file. A file that exists but cannot be
    /// read or parsed is an error naming it: a typo must not silently fall
    /// back to a private database.
    pub fn load() -> Result<Self> {
        Ok(Self {
            system: match system_path() {
                Some(p) => read(&p)?,
                None => None,
            },
            user: match user_path() {
                Some(p) => read(&p)?,
                None => None,
            },
        })
    }

    /// Whether a private cluster may be started, and if not, why.
    pub fn embedded_forbidden_by(&self) -> Option<String> {
        if let Some(sys) = &self.system {
            if sys.config.conninfo().is_some() {
                return Some(format!(
                    "the system configuration {} names this machine's database",
                    sys.path.display()
                ));
            }
            if sys.config.embedded == Some(false) {
                return Some(format!(
                    "the system configuration {} sets embedded = false",
                    sys.path.display()
                ));
            }
        }
        match &self.user {
            Some(u) if u.config.embedded == Some(false) => Some(format!(
                "your configuration {} sets embedded = false",
                u.path.display()
            )),
            _ => None,
        }
    }
}

/// The system file's path: `IMPORTDESK_SYSTEM_CONFIG` when set (empty: none).
pub fn system_path() -> Option<PathBuf> {
    match std::env::var_os(SYSTEM_CONFIG_ENV) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => Some(PathBuf::from(SYSTEM_CONFIG)),
    }
}

/// The user file's path: `$XDG_CONFIG_HOME` (when absolute, as the XDG
/// specification says), else `~/.config`; none without a home.
pub fn user_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| crate::db::target::home_dir().map(|h| h.join(".config")))?;
    Some(base.join("importdesk").join("config.toml"))
}

fn read(path: &Path) -> Result<Option<LoadedFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).wrap_err_with(|| format!("cannot read {}", path.display()));
        }
    };
    let config: FileConfig =
        toml::from_str(&text).map_err(|e| color_eyre::eyre::eyre!("{}: {e}", path.display()))?;
    if config.database_url.is_some() && config.service.is_some() {
        bail!("{}: set database_url or service, not both", path.display());
    }
    Ok(Some(LoadedFile {
        path: path.to_path_buf(),
        config,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_typos() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "database_url = \"postgresql:///shop\"\nembedded = false\n",
        )
        .unwrap();
        let f = read(&p).unwrap().unwrap();
        assert_eq!(f.config.conninfo().as_deref(), Some("postgresql:///shop"));
        assert_eq!(f.config.embedded, Some(false));

        std::fs::write(&p, "databse_url = \"x\"\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("databse_url") && e.contains("c.toml"), "{e}");

        std::fs::write(&p, "database_url = \"x\"\nservice = \"y\"\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("not both"));

        assert_eq!(read(&dir.path().join("absent.toml")).unwrap(), None);
    }

    #[test]
    fn a_system_database_forbids_the_private_cluster() {
        let sys = |c: FileConfig| Config {
            system: Some(LoadedFile {
                path: "/etc/importdesk/config.toml".into(),
                config: c,
            }),
            user: None,
        };
        assert!(Config::default().embedded_forbidden_by().is_none());
        let named = sys(FileConfig {
            service: Some("shop".into()),
            ..Default::default()
        });
        assert!(
            named
                .embedded_forbidden_by()
                .unwrap()
                .contains("names this machine's database")
        );
        let off = sys(FileConfig {
            embedded: Some(false),
            ..Default::default()
        });
        assert!(
            off.embedded_forbidden_by()
                .unwrap()
                .contains("embedded = false")
        );
    }
}
