//! Connection settings resolved the way libpq resolves them, remembering
//! where each came from (`importdesk db status` shows it, never the password).
//!
//! For each option the first of these that has it wins:
//! 1. the explicit connection string (`--database-url` or `DATABASE_URL`);
//! 2. the service it names (`service=`), else the one `PGSERVICE` names;
//! 3. the libpq environment variables (`PGHOST`, `PGSSLMODE`, ...);
//! 4. the configuration files' database (user file, else system file), and
//!    the service it names;
//! 5. defaults: the default socket directory, port 5432, the OS user of the
//!    process, `sslmode=prefer`, `application_name=importdesk`.
//!
//! The password, when none of these gives one, comes from the password file.
//! `build` turns the settings into a tokio-postgres configuration, TLS
//! settings and a URI.

mod build;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, eyre};
use serde::Serialize;

use super::conninfo::{self, Options};
use super::pgfiles::{self, PassLookup};

/// The libpq environment variables and the option each sets.
pub const ENV_OPTIONS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGOPTIONS", "options"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGLOADBALANCEHOSTS", "load_balance_hosts"),
];

/// Variables that, set on their own, name a database (rather than only
/// tuning a connection made to one named elsewhere: `PGUSER` alone picks
/// the role for the configured database, not another database).
pub const SELECTING_ENV: &[&str] = &["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE"];

/// A connection string and the name of where it came from.
#[derive(Debug, Clone)]
pub struct Layer {
    pub conninfo: String,
    pub origin: String,
}

/// One resolved option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub value: String,
    /// Where it came from, in words: `--database-url`, `PGHOST`,
    /// `service shop in /etc/postgresql-common/pg_service.conf`, `default`.
    pub origin: String,
}

/// What the process knows of its surroundings: environment and home.
pub struct Context<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<PathBuf>,
    /// The user name libpq would default to (the process's OS user).
    pub os_user: String,
}

impl Context<'_> {
    /// The real process environment (empty values count as unset, as in libpq).
    pub fn process() -> Context<'static> {
        Context {
            env: &|name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            home: super::target::home_dir(),
            os_user: super::target::effective_os_user(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resolved {
    values: BTreeMap<String, Setting>,
    /// Things libpq would warn about (an ignored password file).
    pub warnings: Vec<String>,
}

impl Resolved {
    pub fn get(&self, option: &str) -> Option<&str> {
        self.values.get(option).map(|s| s.value.as_str())
    }

    /// Replaces one option (tests point a target at another database).
    pub fn set(&mut self, option: &str, value: &str, origin: &str) {
        self.values.insert(
            option.to_string(),
            Setting {
                value: value.to_string(),
                origin: origin.to_string(),
            },
        );
    }

    pub fn origin(&self, option: &str) -> Option<&str> {
        self.values.get(option).map(|s| s.origin.as_str())
    }

    /// Every option with its origin; the password's value is never shown.
    pub fn shown(&self) -> Vec<(String, Setting)> {
        self.values
            .iter()
            .map(|(k, s)| {
                let mut s = s.clone();
                if k == "password" {
                    s.value = "(hidden)".into();
                }
                (k.clone(), s)
            })
            .collect()
    }

    pub fn hosts(&self) -> Vec<String> {
        split_list(self.get("host").unwrap_or(""))
    }

    /// True when every host is a Unix-socket directory (no TLS there, as in libpq).
    pub fn socket_only(&self) -> bool {
        self.get("hostaddr").is_none() && self.hosts().iter().all(|h| h.starts_with('/'))
    }
}

const DEFAULT: &str = "default";

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|p| p.trim().to_string()).collect()
}

/// Resolves the settings from an explicit connection string, the files'
/// connection string, the environment and the defaults.
pub fn resolve(explicit: Option<&Layer>, file: Option<&Layer>, cx: &Context) -> Result<Resolved> {
    let mut values: BTreeMap<String, Setting> = BTreeMap::new();
    let put = |values: &mut BTreeMap<String, Setting>, options: &Options, origin: &str| {
        for (k, v) in options {
            values.entry(k.clone()).or_insert_with(|| Setting {
                value: v.clone(),
                origin: origin.to_string(),
            });
        }
    };
    let service_files = pgfiles::service_files(cx.env, cx.home.as_deref());
    let add_service = |values: &mut BTreeMap<String, Setting>, name: &str| -> Result<()> {
        let svc = pgfiles::find_service(name, &service_files)?;
        let origin = format!("service {name} in {}", svc.file.display());
        put(values, &svc.options, &origin);
        Ok(())
    };

    // 1-2: the explicit string and its service, else PGSERVICE's.
    let mut service_done = false;
    if let Some(layer) = explicit {
        let opts = parse_layer(layer)?;
        put(&mut values, &opts, &layer.origin);
        if let Some(name) = values.get("service").map(|s| s.value.clone()) {
            add_service(&mut values, &name)?;
            service_done = true;
        }
    }
    if !service_done && let Some(name) = (cx.env)("PGSERVICE") {
        values.entry("service".into()).or_insert(Setting {
            value: name.clone(),
            origin: "PGSERVICE".into(),
        });
        add_service(&mut values, &name)?;
        service_done = true;
    }
    // 3: the environment.
    for (var, option) in ENV_OPTIONS {
        if let Some(v) = (cx.env)(var) {
            values.entry(option.to_string()).or_insert(Setting {
                value: v,
                origin: var.to_string(),
            });
        }
    }
    // 4: the configuration file's database.
    if explicit.is_none()
        && let Some(layer) = file
    {
        let opts = parse_layer(layer)?;
        let own_service = opts
            .iter()
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.clone());
        put(&mut values, &opts, &layer.origin);
        if let (Some(name), false) = (own_service, service_done) {
            add_service(&mut values, &name)?;
        }
    }
    // 5: defaults.
    fn default(values: &mut BTreeMap<String, Setting>, k: &str, v: String, origin: &str) {
        values.entry(k.to_string()).or_insert(Setting {
            value: v,
            origin: origin.to_string(),
        });
    }
    if !values.contains_key("hostaddr") {
        let port = values
            .get("port")
            .map(|s| s.value.clone())
            .unwrap_or_else(|| "5432".into());
        default(
            &mut values,
            "host",
            default_socket_dir(&port),
            "default (the local server's socket directory)",
        );
    }
    default(&mut values, "port", "5432".into(), DEFAULT);
    default(
        &mut values,
        "user",
        cx.os_user.clone(),
        "default (your operating-system user)",
    );
    let user = values
        .get("user")
        .map(|s| s.value.clone())
        .unwrap_or_default();
    values.entry("dbname".into()).or_insert(Setting {
        value: user,
        origin: "default (the user name)".into(),
    });
    let system_roots = values
        .get("sslrootcert")
        .is_some_and(|s| s.value == "system");
    values.entry("sslmode".into()).or_insert(Setting {
        value: if system_roots {
            "verify-full"
        } else {
            "prefer"
        }
        .into(),
        origin: DEFAULT.into(),
    });
    values.entry("application_name".into()).or_insert(Setting {
        value: "importdesk".into(),
        origin: DEFAULT.into(),
    });

    let mut resolved = Resolved {
        values,
        warnings: Vec::new(),
    };
    resolved.add_password_from_file(cx);
    Ok(resolved)
}

fn parse_layer(layer: &Layer) -> Result<Options> {
    conninfo::parse(&layer.conninfo)
        .map_err(|e| eyre!("the connection string from {}: {e}", layer.origin))
}

impl Resolved {
    fn add_password_from_file(&mut self, cx: &Context) {
        if self.values.contains_key("password") {
            return;
        }
        let Some(file) = pgfiles::password_file(self.get("passfile"), cx.env, cx.home.as_deref())
        else {
            return;
        };
        let host = self.hosts().first().cloned().unwrap_or_default();
        let port = split_list(self.get("port").unwrap_or("5432"))
            .first()
            .cloned()
            .unwrap_or_else(|| "5432".into());
        let db = self.get("dbname").unwrap_or("").to_string();
        let user = self.get("user").unwrap_or("").to_string();
        match pgfiles::lookup_password(&file, &host, &port, &db, &user) {
            PassLookup::Found(p) => {
                self.values.insert(
                    "password".into(),
                    Setting {
                        value: p,
                        origin: format!("password file {}", file.display()),
                    },
                );
            }
            PassLookup::Ignored(why) => self.warnings.push(why),
            PassLookup::NotFound => {}
        }
    }
}

/// libpq's default socket directory (Debian's libpq: /var/run/postgresql;
/// upstream: /tmp): the first that has the server's socket, else the first
/// that exists.
pub fn default_socket_dir(port: &str) -> String {
    let candidates = ["/var/run/postgresql", "/tmp"];
    let port = split_list(port)
        .first()
        .cloned()
        .unwrap_or_else(|| "5432".into());
    candidates
        .iter()
        .find(|d| Path::new(d).join(format!(".s.PGSQL.{port}")).exists())
        .or_else(|| candidates.iter().find(|d| Path::new(d).is_dir()))
        .unwrap_or(&candidates[0])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cx<'a>(env: &'a dyn Fn(&str) -> Option<String>, home: Option<PathBuf>) -> Context<'a> {
        Context {
            env,
            home,
            os_user: "osuser".into(),
        }
    }

    fn layer(s: &str, origin: &str) -> Layer {
        Layer {
            conninfo: s.into(),
            origin: origin.into(),
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn a_url_without_host_uses_the_default_socket_directory_and_os_user_defaults() {
        let env = env_of(&[]);
        let r = resolve(
            Some(&layer(
                "postgresql:///shop?user=shop_owner",
                "--database-url",
            )),
            None,
            &cx(&env, None),
        )
        .unwrap();
        assert!(
            r.get("host").unwrap().starts_with('/'),
            "{:?}",
            r.get("host")
        );
        assert_eq!(r.get("user"), Some("shop_owner"));
        assert_eq!(r.origin("user"), Some("--database-url"));
        let no_user = resolve(
            Some(&layer("postgresql:///shop", "x")),
            None,
            &cx(&env, None),
        )
        .unwrap();
        assert_eq!(no_user.get("user"), Some("osuser"));
        assert_eq!(no_user.get("application_name"), Some("importdesk"));
        assert_eq!(no_user.get("sslmode"), Some("prefer"));
    }

    #[test]
    fn explicit_beats_environment_which_beats_the_files() {
        let env = env_of(&[
            ("PGHOST", "envhost"),
            ("PGAPPNAME", "mine"),
            ("PGSSLMODE", "require"),
        ]);
        let file = layer(
            "postgresql://filehost/filedb?sslmode=verify-full",
            "/etc/x.toml",
        );
        let r = resolve(None, Some(&file), &cx(&env, None)).unwrap();
        assert_eq!(r.get("host"), Some("envhost"));
        assert_eq!(r.origin("host"), Some("PGHOST"));
        assert_eq!(r.get("dbname"), Some("filedb"));
        assert_eq!(r.origin("dbname"), Some("/etc/x.toml"));
        assert_eq!(r.get("sslmode"), Some("require"));
        assert_eq!(r.get("application_name"), Some("mine"));
        let flag = layer("postgresql://flaghost/flagdb", "--database-url");
        let r = resolve(Some(&flag), Some(&file), &cx(&env, None)).unwrap();
        assert_eq!(r.get("host"), Some("flaghost"));
        assert_eq!(r.get("dbname"), Some("flagdb"), "the file is not consulted");
    }

    #[test]
    fn services_and_the_password_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".pg_service.conf"),
            "[shop]\nhost=svchost\ndbname=shop\nuser=svcuser\n",
        )
        .unwrap();
        let pgpass = home.path().join(".pgpass");
        std::fs::write(&pgpass, "svchost:5432:shop:svcuser:pw1\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = env_of(&[]);
        let r = resolve(
            Some(&layer("service=shop", "--database-url")),
            None,
            &cx(&env, Some(home.path().to_path_buf())),
        )
        .unwrap();
        assert_eq!(r.get("host"), Some("svchost"));
        assert!(r.origin("host").unwrap().starts_with("service shop in "));
        assert_eq!(r.get("password"), Some("pw1"));
        assert!(r.origin("password").unwrap().contains(".pgpass"));
        let shown = r.shown();
        let pw = shown.iter().find(|(k, _)| k == "password").unwrap();
        assert_eq!(pw.1.value, "(hidden)");
        assert!(!r.url().contains("pw1"));

        let env = env_of(&[("PGSERVICE", "shop"), ("PGHOST", "envhost")]);
        let r = resolve(None, None, &cx(&env, Some(home.path().to_path_buf()))).unwrap();
        assert_eq!(
            r.get("host"),
            Some("svchost"),
            "a service's values beat the environment, as in libpq"
        );
    }

    #[test]
    fn url_round_trips_through_the_parser() {
        let env = env_of(&[]);
        let r = resolve(
            Some(&layer(
                "postgresql://bob:pw@db.example:6432/shop?sslmode=verify-full&sslrootcert=/x/ca.pem",
                "f",
            )),
            None,
            &cx(&env, None),
        )
        .unwrap();
        assert_eq!(
            r.url(),
            "postgresql://bob@db.example:6432/shop?sslmode=verify-full&sslrootcert=/x/ca.pem"
        );
        let sock = resolve(
            Some(&layer("host='/tmp/my dir' port=5433 dbname=d user=u", "f")),
            None,
            &cx(&env, None),
        )
        .unwrap();
        assert_eq!(
            sock.url(),
            "postgresql:///d?host=/tmp/my%20dir&port=5433&user=u"
        );
    }
}
