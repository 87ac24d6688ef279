//! From resolved settings to what connects: the tokio-postgres
//! configuration, the TLS settings and a libpq URI for `db url`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::{Result, bail, eyre};

use super::{DEFAULT, Resolved, split_list};
use crate::db::conninfo;
use crate::db::tls::{RootCert, SslMode, TlsSettings};

impl Resolved {
    pub fn ssl_mode(&self) -> Result<SslMode> {
        SslMode::parse(self.get("sslmode").unwrap_or("prefer"))
    }

    pub fn tls(&self, home: Option<&Path>) -> Result<TlsSettings> {
        let pg_dir = home.map(|h| h.join(".postgresql"));
        let default_in = |name: &str| pg_dir.as_ref().map(|d| d.join(name));
        let root = match self.get("sslrootcert") {
            Some("system") => Some(RootCert::System),
            Some(p) => Some(RootCert::File(PathBuf::from(p))),
            None => default_in("root.crt").map(RootCert::File),
        };
        Ok(TlsSettings {
            mode: self.ssl_mode()?,
            root_explicit: self.get("sslrootcert").is_some(),
            root,
            cert: self
                .get("sslcert")
                .map(PathBuf::from)
                .or_else(|| default_in("postgresql.crt")),
            key: self
                .get("sslkey")
                .map(PathBuf::from)
                .or_else(|| default_in("postgresql.key")),
        })
    }

    /// The tokio-postgres configuration for these settings.
    pub fn pg_config(&self) -> Result<tokio_postgres::Config> {
        use tokio_postgres::config::{ChannelBinding, LoadBalanceHosts, TargetSessionAttrs};
        let mut c = tokio_postgres::Config::new();
        for h in self.hosts() {
            if h.starts_with('/') {
                c.host_path(&h);
            } else {
                c.host(&h);
            }
        }
        if let Some(addrs) = self.get("hostaddr") {
            for a in split_list(addrs) {
                let ip = a
                    .parse()
                    .map_err(|_| eyre!("hostaddr \"{a}\" is not an IP address"))?;
                c.hostaddr(ip);
            }
        }
        for p in split_list(self.get("port").unwrap_or("5432")) {
            let port = if p.is_empty() {
                5432
            } else {
                p.parse()
                    .map_err(|_| eyre!("invalid port number \"{p}\""))?
            };
            c.port(port);
        }
        if let Some(u) = self.get("user") {
            c.user(u);
        }
        if let Some(p) = self.get("password") {
            c.password(p);
        }
        if let Some(d) = self.get("dbname") {
            c.dbname(d);
        }
        if let Some(o) = self.get("options") {
            c.options(o);
        }
        if let Some(a) = self.get("application_name") {
            c.application_name(a);
        }
        if let Some(t) = self.connect_timeout()? {
            c.connect_timeout(t);
        }
        if let Some(k) = self.get("keepalives") {
            c.keepalives(k != "0");
        }
        if let Some(k) = self.get("keepalives_idle") {
            let secs: u64 = k
                .parse()
                .map_err(|_| eyre!("invalid keepalives_idle \"{k}\""))?;
            c.keepalives_idle(Duration::from_secs(secs));
        }
        if let Some(t) = self.get("target_session_attrs") {
            c.target_session_attrs(match t {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                other => bail!("unsupported target_session_attrs \"{other}\""),
            });
        }
        if let Some(b) = self.get("channel_binding") {
            c.channel_binding(match b {
                "disable" => ChannelBinding::Disable,
                "prefer" => ChannelBinding::Prefer,
                "require" => ChannelBinding::Require,
                other => bail!("invalid channel_binding \"{other}\""),
            });
        }
        if let Some(l) = self.get("load_balance_hosts") {
            c.load_balance_hosts(match l {
                "disable" => LoadBalanceHosts::Disable,
                "random" => LoadBalanceHosts::Random,
                other => bail!("invalid load_balance_hosts \"{other}\""),
            });
        }
        let mode = self.ssl_mode()?;
        c.ssl_mode(if self.socket_only() {
            tokio_postgres::config::SslMode::Disable
        } else {
            mode.first_attempt()
        });
        Ok(c)
    }

    /// libpq's rule: 0 or unset waits forever, values below 2 mean 2 seconds.
    fn connect_timeout(&self) -> Result<Option<Duration>> {
        let Some(t) = self.get("connect_timeout") else {
            return Ok(None);
        };
        let secs: i64 = t
            .trim()
            .parse()
            .map_err(|_| eyre!("invalid connect_timeout \"{t}\""))?;
        Ok((secs > 0).then(|| Duration::from_secs(secs.max(2) as u64)))
    }

    /// A libpq URI for the same database, without the password:
    /// `psql "$(importdesk db url)"` reaches it (with the password from
    /// the same password file, service or environment).
    pub fn url(&self) -> String {
        let hosts = self.hosts();
        let mut params: Vec<(String, String)> = Vec::new();
        let mut authority = String::new();
        let db = self.get("dbname").unwrap_or("");
        if hosts.iter().all(|h| h.starts_with('/')) {
            if !hosts.is_empty() {
                params.push(("host".into(), hosts.join(",")));
            }
            if let Some(p) = self.get("port") {
                params.push(("port".into(), p.into()));
            }
            if let Some(u) = self.get("user") {
                params.push(("user".into(), u.into()));
            }
        } else {
            if let Some(u) = self.get("user") {
                authority.push_str(&conninfo::encode(u));
                authority.push('@');
            }
            let ports = split_list(self.get("port").unwrap_or(""));
            let parts: Vec<String> = hosts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let h = if h.contains(':') {
                        format!("[{h}]")
                    } else {
                        conninfo::encode(h)
                    };
                    match ports.get(i).or(ports.first()).filter(|p| !p.is_empty()) {
                        Some(p) => format!("{h}:{p}"),
                        None => h,
                    }
                })
                .collect();
            authority.push_str(&parts.join(","));
        }
        for opt in [
            "hostaddr",
            "sslmode",
            "sslrootcert",
            "sslcert",
            "sslkey",
            "connect_timeout",
            "target_session_attrs",
        ] {
            if let Some(v) = self.get(opt) {
                if opt == "sslmode" && self.origin(opt) == Some(DEFAULT) {
                    continue;
                }
                params.push((opt.into(), v.into()));
            }
        }
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", conninfo::encode(v)))
            .collect();
        let mut url = format!("postgresql://{authority}/{}", conninfo::encode(db));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }
}
