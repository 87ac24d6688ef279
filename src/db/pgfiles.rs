//! libpq's two files: the connection service file (`pg_service.conf`) and
//! the password file (`.pgpass`), read the way libpq reads them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, bail};

use super::conninfo::{KNOWN_OPTIONS, Options};

/// Where a service was found, and its options.
#[derive(Debug, Clone)]
pub struct Service {
    pub file: PathBuf,
    pub options: Options,
}

/// The service files to search, in libpq's order: `PGSERVICEFILE` or
/// `~/.pg_service.conf`, then the system one (`PGSYSCONFDIR/pg_service.conf`,
/// Debian's libpq looks in /etc/postgresql-common).
pub fn service_files(env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    match env("PGSERVICEFILE") {
        Some(f) => files.push(PathBuf::from(f)),
        None => {
            if let Some(h) = home {
                files.push(h.join(".pg_service.conf"));
            }
        }
    }
    let sysconf = env("PGSYSCONFDIR").unwrap_or_else(|| "/etc/postgresql-common".into());
    files.push(Path::new(&sysconf).join("pg_service.conf"));
    files
}

/// Finds `[name]` in the first file that has it.
pub fn find_service(name: &str, files: &[PathBuf]) -> Result<Service> {
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(e).wrap_err_with(|| format!("cannot read {}", file.display()));
            }
        };
        if let Some(options) = service_section(&text, name, file)? {
            return Ok(Service {
                file: file.clone(),
                options,
            });
        }
    }
    let searched: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    bail!(
        "definition of service \"{name}\" not found (searched {})",
        searched.join(", ")
    )
}

fn service_section(text: &str, name: &str, file: &Path) -> Result<Option<Options>> {
    let mut in_section = false;
    let mut found = None::<Options>;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if found.is_some() {
                break;
            }
            in_section = section == name;
            if in_section {
                found = Some(Options::new());
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!(
                "syntax error in service file {}, line {}",
                file.display(),
                n + 1
            );
        };
        let k = k.trim();
        if k == "service" {
            bail!(
                "nested service specifications are not supported ({}, line {})",
                file.display(),
                n + 1
            );
        }
        if !KNOWN_OPTIONS.contains(&k) {
            bail!(
                "invalid connection option \"{k}\" in service file {}, line {}",
                file.display(),
                n + 1
            );
        }
        if let Some(opts) = found.as_mut() {
            opts.push((k.to_string(), v.trim().to_string()));
        }
    }
    Ok(found)
}

/// The password file: `passfile` option, else `PGPASSFILE`, else `~/.pgpass`.
pub fn password_file(
    passfile_option: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    passfile_option
        .map(PathBuf::from)
        .or_else(|| env("PGPASSFILE").map(PathBuf::from))
        .or_else(|| home.map(|h| h.join(".pgpass")))
}

/// What looking up a password gave: a password, nothing, or a file ignored
/// because its permissions are too loose (libpq warns and goes on).
#[derive(Debug, PartialEq, Eq)]
pub enum PassLookup {
    Found(String),
    NotFound,
    Ignored(String),
}

/// The socket directory a `.pgpass` line names `localhost`: libpq's
/// compiled-in default (Debian's, the libpq psql uses here). Any other
/// socket directory is matched as written, as libpq does.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// Looks up `host:port:db:user` as libpq does: the first matching line
/// wins, a field of just `*` matches anything (`\*` is a literal `*`), no
/// host or the default socket directory matches `localhost`.
pub fn lookup_password(file: &Path, host: &str, port: &str, db: &str, user: &str) -> PassLookup {
    let Ok(meta) = std::fs::metadata(file) else {
        return PassLookup::NotFound;
    };
    if !meta.is_file() {
        return PassLookup::Ignored(format!(
            "password file \"{}\" is not a plain file",
            file.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return PassLookup::Ignored(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            file.display()
        ));
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return PassLookup::NotFound;
    };
    let host = if host.is_empty() || host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        host
    };
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[0].matches(host)
            && fields[1].matches(port)
            && fields[2].matches(db)
            && fields[3].matches(user)
        {
            // The password ends at its first unescaped `:`, as libpq
            // reads it (anything after is ignored).
            return PassLookup::Found(fields[4].text.clone());
        }
    }
    PassLookup::NotFound
}

/// One `:`-separated field of a `.pgpass` line, its escapes undone.
#[derive(Default)]
struct PgpassField {
    text: String,
    escaped: bool,
}

impl PgpassField {
    /// libpq's wildcard is the field written as a bare `*`; `\*` is a
    /// literal star.
    fn matches(&self, value: &str) -> bool {
        (self.text == "*" && !self.escaped) || self.text == value
    }
}

/// Splits on unescaped `:`; `\:` and `\\` stand for `:` and `\`; a
/// backslash that ends the line is kept, as libpq keeps it.
fn split_pgpass_line(line: &str) -> Vec<PgpassField> {
    let mut fields = vec![PgpassField::default()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("one field");
        match c {
            '\\' => {
                field.escaped = true;
                field.text.push(chars.next().unwrap_or('\\'));
            }
            ':' => fields.push(PgpassField::default()),
            _ => field.text.push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn pgpass_first_match_wins_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pgpass",
            "# comment\ndb.example:5432:shop:bob:first\n*:*:*:bob:p\\:w\\\\x\nlocalhost:5432:*:sue:sock\n",
            0o600,
        );
        assert_eq!(
            lookup_password(&f, "db.example", "5432", "shop", "bob"),
            PassLookup::Found("first".into())
        );
        assert_eq!(
            lookup_password(&f, "other", "1", "x", "bob"),
            PassLookup::Found("p:w\\x".into())
        );
        assert_eq!(
            lookup_password(&f, "/var/run/postgresql", "5432", "shop", "sue"),
            PassLookup::Found("sock".into())
        );
        assert_eq!(
            lookup_password(&f, "db.example", "5432", "shop", "nobody"),
            PassLookup::NotFound
        );
    }

    #[test]
    fn pgpass_readable_by_others_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "pgpass", "*:*:*:*:secret\n", 0o644);
        match lookup_password(&f, "h", "5432", "d", "u") {
            PassLookup::Ignored(why) => assert!(why.contains("group or world access"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn service_found_in_first_file_that_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.conf", "[other]\nhost=x\n", 0o644);
        let b = write(
            dir.path(),
            "b.conf",
            "# shop\n[shop]\nhost = /var/run/postgresql\ndbname=shop\n[next]\nhost=y\n",
            0o644,
        );
        let s = find_service("shop", &[a.clone(), b.clone()]).unwrap();
        assert_eq!(s.file, b);
        assert_eq!(
            s.options,
            vec![
                ("host".to_string(), "/var/run/postgresql".to_string()),
                ("dbname".to_string(), "shop".to_string())
            ]
        );
        let e = find_service("missing", &[a]).unwrap_err();
        assert!(e.to_string().contains("\"missing\" not found"), "{e}");
    }

    /// A line of fewer than five fields is no entry: skipped, as libpq
    /// skips it, and never read past its end.
    #[test]
    fn pgpass_lines_of_fewer_than_five_fields_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pgpass",
            "db.example:5432\n*:*:*:bob\n*:*:*:bob:right\n",
            0o600,
        );
        assert_eq!(
            lookup_password(&f, "db.example", "5432", "shop", "bob"),
            PassLookup::Found("right".into())
        );
    }

    /// libpq's password is the fifth field up to its first unescaped `:`
    /// (`\:` stands for a `:` in it); anything after is ignored, so the
    /// password sent is the one psql sends.
    #[test]
    fn a_pgpass_password_ends_at_its_first_unescaped_colon() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pgpass",
            "*:*:*:bob:pw:ignored\n*:*:*:sue:p\\:w:x\\:y\n",
            0o600,
        );
        assert_eq!(
            lookup_password(&f, "db.example", "5432", "shop", "bob"),
            PassLookup::Found("pw".into())
        );
        assert_eq!(
            lookup_password(&f, "db.example", "5432", "shop", "sue"),
            PassLookup::Found("p:w".into())
        );
    }

    /// Blank lines and comments inside a service's section are skipped, as
    /// libpq skips them, not read as options.
    #[test]
    fn comments_and_blank_lines_inside_a_service_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pg_service.conf",
            "[shop]\n# the shop's socket\n\n   \nhost=/var/run/postgresql\n  # port=6432\ndbname=shop\n",
            0o644,
        );
        let s = find_service("shop", &[f]).unwrap();
        assert_eq!(
            s.options,
            vec![
                ("host".to_string(), "/var/run/postgresql".to_string()),
                ("dbname".to_string(), "shop".to_string())
            ]
        );
    }

    /// libpq calls only its default socket directory `localhost`; a line
    /// for another socket directory names it (psql 15 here: a `localhost`
    /// line gives no password for `host=/tmp/pw`, a `/tmp/pw` line does).
    #[test]
    fn a_socket_directory_is_matched_as_written_and_only_the_default_one_as_localhost() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pgpass",
            "localhost:5432:*:sue:local\n/srv/pg\\:1:5432:*:sue:in-srv\n",
            0o600,
        );
        for host in ["", "/var/run/postgresql", "localhost"] {
            assert_eq!(
                lookup_password(&f, host, "5432", "shop", "sue"),
                PassLookup::Found("local".into()),
                "{host}"
            );
        }
        assert_eq!(
            lookup_password(&f, "/srv/pg:1", "5432", "shop", "sue"),
            PassLookup::Found("in-srv".into())
        );
        for host in ["/tmp", "/srv/pg", "@abstract"] {
            assert_eq!(
                lookup_password(&f, host, "5432", "shop", "sue"),
                PassLookup::NotFound,
                "{host}"
            );
        }
    }

    /// Only a bare `*` is a wildcard: libpq reads `\*` as a star to match
    /// (a database named `*`). A backslash ending the password stays.
    #[test]
    fn an_escaped_star_matches_only_a_star() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "pgpass",
            "*:*:\\*:bob:star\n*:*:*:bob:any\\\n",
            0o600,
        );
        assert_eq!(
            lookup_password(&f, "h", "5432", "*", "bob"),
            PassLookup::Found("star".into())
        );
        assert_eq!(
            lookup_password(&f, "h", "5432", "shop", "bob"),
            PassLookup::Found("any\\".into())
        );
    }

    /// A service file that does not exist is skipped (libpq skips it too);
    /// one that exists but cannot be read is an error naming it, not
    /// silently passed over (a folder in its place: the tests may run as
    /// root, who reads any file).
    #[test]
    fn a_missing_service_file_is_skipped_and_an_unreadable_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such.conf");
        let b = write(dir.path(), "b.conf", "[shop]\ndbname=shop\n", 0o644);
        let s = find_service("shop", &[missing, b.clone()]).unwrap();
        assert_eq!(s.file, b);
        let folder = dir.path().join("folder.conf");
        std::fs::create_dir(&folder).unwrap();
        let e = find_service("shop", &[folder.clone(), b]).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("cannot read {}", folder.display())),
            "{e}"
        );
    }
}
