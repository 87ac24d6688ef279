//! libpq connection strings, in both of libpq's forms: the URI
//! (`postgresql://user@host:5432/db?sslmode=require`) and keyword/value
//! pairs (`host=/var/run/postgresql dbname=shop`). Parsing only: which value
//! wins is decided in `settings`.

use color_eyre::eyre::{Result, bail, eyre};

/// The connection options importdesk understands, with libpq's names.
pub const KNOWN_OPTIONS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "options",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "channel_binding",
    "load_balance_hosts",
];

/// Options libpq accepts that change nothing for importdesk; accepted so a
/// string that works in psql works here too.
const IGNORED_OPTIONS: &[&str] = &[
    "client_encoding",
    "gssencmode",
    "sslcompression",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "krbsrvname",
    "gsslib",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// Parsed `key = value` options, in the order written.
pub type Options = Vec<(String, String)>;

/// True when `s` looks like a URI rather than keyword/value pairs.
pub fn is_uri(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// Parses either form; unknown option names are an error (a typo should not
/// silently connect somewhere else).
pub fn parse(s: &str) -> Result<Options> {
    let options = if is_uri(s) {
        parse_uri(s)?
    } else {
        parse_keywords(s)?
    };
    let mut kept = Vec::with_capacity(options.len());
    for (k, v) in options {
        if KNOWN_OPTIONS.contains(&k.as_str()) {
            kept.push((k, v));
        } else if !IGNORED_OPTIONS.contains(&k.as_str()) {
            bail!("invalid connection option \"{k}\"");
        }
    }
    Ok(kept)
}

fn parse_uri(s: &str) -> Result<Options> {
    let rest = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
        .ok_or_else(|| eyre!("a connection URI starts with postgresql://"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], Some(&before_query[i + 1..])),
        None => (before_query, None),
    };
    let mut out = Options::new();
    // The user info ends at the last '@' (a password may not contain an
    // unencoded one, but be lenient as libpq is).
    let hostspec = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                out.push(("user".into(), decode(user)?));
            }
            if let Some(p) = password {
                // An error must not quote the password.
                let p = decode(p).map_err(|_| eyre!("invalid percent-encoding in the password"))?;
                out.push(("password".into(), p));
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    if !hostspec.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostspec.split(',') {
            let (host, port) = split_host_port(part)?;
            hosts.push(decode(host)?);
            ports.push(port.map(decode).transpose()?.unwrap_or_default());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            out.push(("host".into(), hosts.join(",")));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            out.push(("port".into(), ports.join(",")));
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.push(("dbname".into(), decode(db)?));
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| eyre!("missing \"=\" after \"{pair}\" in the URI's query"))?;
            let k = decode(k)?;
            // libpq accepts ssl=true as sslmode=require (JDBC's spelling).
            if k == "ssl" && v == "true" {
                out.push(("sslmode".into(), "require".into()));
                continue;
            }
            let v = if k.contains("password") {
                decode(v).map_err(|_| eyre!("invalid percent-encoding in the {k} parameter"))?
            } else {
                decode(v)?
            };
            out.push((k, v));
        }
    }
    Ok(out)
}

/// `host:port`, `[v6]:port`, `host`, `:port`.
fn split_host_port(part: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = part.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| eyre!("unterminated IPv6 address in \"{part}\""))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(p))),
            None if after.is_empty() => Ok((host, None)),
            None => bail!("unexpected \"{after}\" after the IPv6 address"),
        };
    }
    Ok(match part.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (part, None),
    })
}

fn decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| eyre!("invalid percent-encoding in \"{s}\""))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| eyre!("invalid percent-encoding in \"{s}\""))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| eyre!("percent-encoded value in \"{s}\" is not UTF-8"))
}

/// `key=value key2 = 'quoted value'` with `\'` and `\\` escapes in quotes.
fn parse_keywords(s: &str) -> Result<Options> {
    let mut out = Options::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            bail!("missing \"=\" after \"{key}\" in the connection string");
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(
                        chars
                            .next()
                            .ok_or_else(|| eyre!("unterminated quoted value for \"{key}\""))?,
                    ),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => bail!("unterminated quoted value for \"{key}\""),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

/// Percent-encodes a URI component (everything but unreserved characters and
/// the separators that are safe in a socket path).
pub fn encode(s: &str) -> String {
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

    fn get<'a>(o: &'a Options, k: &str) -> Option<&'a str> {
        o.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn uri_without_host_names_only_the_database_and_user() {
        let o = parse("postgresql:///shop?user=shop_owner").unwrap();
        assert_eq!(get(&o, "dbname"), Some("shop"));
        assert_eq!(get(&o, "user"), Some("shop_owner"));
        assert_eq!(get(&o, "host"), None);
    }

    #[test]
    fn uri_with_everything() {
        let o = parse(
            "postgres://bob:s%40cret@db.example:6432,[::1]:7000/my%20db?sslmode=verify-full&application_name=x",
        )
        .unwrap();
        assert_eq!(get(&o, "user"), Some("bob"));
        assert_eq!(get(&o, "password"), Some("s@cret"));
        assert_eq!(get(&o, "host"), Some("db.example,::1"));
        assert_eq!(get(&o, "port"), Some("6432,7000"));
        assert_eq!(get(&o, "dbname"), Some("my db"));
        assert_eq!(get(&o, "sslmode"), Some("verify-full"));
    }

    #[test]
    fn socket_path_as_encoded_host() {
        let o = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/shop").unwrap();
        assert_eq!(get(&o, "host"), Some("/var/run/postgresql"));
    }

    #[test]
    fn keyword_value_pairs_with_quotes() {
        let o = parse("host=/tmp dbname = 'my \\'db\\'' user=x").unwrap();
        assert_eq!(get(&o, "host"), Some("/tmp"));
        assert_eq!(get(&o, "dbname"), Some("my 'db'"));
        assert_eq!(get(&o, "user"), Some("x"));
    }

    #[test]
    fn unknown_options_are_refused_and_harmless_ones_ignored() {
        let e = parse("postgresql:///x?sslmod=require").unwrap_err();
        assert!(e.to_string().contains("sslmod"), "{e}");
        let o = parse("host=/tmp client_encoding=UTF8").unwrap();
        assert_eq!(o.len(), 1);
    }

    /// libpq's one special query parameter: `ssl=true` (JDBC's spelling)
    /// is `sslmode=require`; `ssl` with any other value is no option libpq
    /// knows, so it is refused like one.
    #[test]
    fn ssl_true_means_sslmode_require_and_no_other_ssl_value_is_accepted() {
        let o = parse("postgresql://db.example/shop?ssl=true").unwrap();
        assert_eq!(get(&o, "sslmode"), Some("require"));
        assert_eq!(get(&o, "ssl"), None);
        for other in ["ssl=false", "ssl=1", "ssl=TRUE", "ssl="] {
            let e = parse(&format!("postgresql://db.example/shop?{other}")).unwrap_err();
            assert!(e.to_string().contains("\"ssl\""), "{other}: {e}");
        }
    }

    /// A bracketed IPv6 address may come without a port (libpq's
    /// `postgresql://[::1]/shop`); anything else after the bracket is refused.
    #[test]
    fn an_ipv6_address_without_a_port_is_a_host_alone() {
        let o = parse("postgresql://[::1]/shop").unwrap();
        assert_eq!(get(&o, "host"), Some("::1"));
        assert_eq!(get(&o, "port"), None);
        let o = parse("postgresql://[2001:db8::2],db.example:6432/shop").unwrap();
        assert_eq!(get(&o, "host"), Some("2001:db8::2,db.example"));
        assert_eq!(get(&o, "port"), Some(",6432"));
        let e = parse("postgresql://[::1]x/shop").unwrap_err();
        assert!(
            e.to_string()
                .contains("unexpected \"x\" after the IPv6 address"),
            "{e}"
        );
    }
}
