//! TLS with libpq's meaning, against a real cluster with `ssl = on`,
//! certificates made here (a CA, a server certificate for `localhost`, a
//! client certificate) and `hostssl` lines on 127.0.0.1 only.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use importdesk::db::cluster::Cluster;
use importdesk::db::target::Source;
use importdesk::db::{Database, Target};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// ca.crt (trusted), server.crt/key for `localhost`, client.crt/key for
/// `certuser`, other-ca.crt (a CA that signed nothing here).
fn make_pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "importdesk test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "certuser");
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();

    let other_key = KeyPair::generate().unwrap();
    let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other
        .distinguished_name
        .push(DnType::CommonName, "someone else's CA");
    let other_cert = other.self_signed(&other_key).unwrap();

    write(dir, "ca.crt", &ca_cert.pem(), 0o644);
    write(dir, "other-ca.crt", &other_cert.pem(), 0o644);
    write(dir, "server.crt", &server_cert.pem(), 0o644);
    write(dir, "server.key", &server_key.serialize_pem(), 0o600);
    write(dir, "client.crt", &client_cert.pem(), 0o644);
    write(dir, "client.key", &client_key.serialize_pem(), 0o600);
    Pki {
        dir: dir.to_path_buf(),
    }
}

struct Server {
    cluster: Cluster,
    port: u16,
    _dir: tempfile::TempDir,
    pki: Pki,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_server() -> Server {
    let dir = tempfile::Builder::new()
        .prefix("importdesk-tls-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    std::fs::set_permissions(&tls_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pki = make_pki(&tls_dir);
    // The server reads its key as the user it runs as (postgres when root).
    if nix::unistd::Uid::effective().is_root() {
        let pg = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        for f in ["server.key", "server.crt", "ca.crt"] {
            std::os::unix::fs::chown(tls_dir.join(f), Some(pg.uid.as_raw()), None).unwrap();
        }
    }
    let port = free_port();
    let settings = [
        "listen_addresses = '127.0.0.1'".to_string(),
        format!("port = {port}"),
        "ssl = on".to_string(),
        format!("ssl_cert_file = '{}'", pki.path("server.crt")),
        format!("ssl_key_file = '{}'", pki.path("server.key")),
        format!("ssl_ca_file = '{}'", pki.path("ca.crt")),
        "fsync = off".to_string(),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let cluster = Cluster::new(dir.path().to_path_buf())
        .unwrap()
        .with_settings(&settings);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.ensure_running())
        .await
        .unwrap()
        .unwrap();
    let server = Server {
        cluster,
        port,
        _dir: dir,
        pki,
    };
    // Over TCP only TLS, and certuser only with its certificate.
    set_hba(
        &server,
        "local all pwuser scram-sha-256\n\
         local all all trust\n\
         hostssl all certuser 127.0.0.1/32 cert\n\
         hostssl all pwuser 127.0.0.1/32 scram-sha-256\n\
         hostssl all all 127.0.0.1/32 trust\n",
    )
    .await;
    admin(&server)
        .await
        .batch_execute(
            "CREATE ROLE certuser LOGIN; \
             SET password_encryption = 'scram-sha-256'; \
             CREATE ROLE pwuser LOGIN PASSWORD 'pw-secret'",
        )
        .await
        .unwrap();
    server
}

async fn admin(s: &Server) -> tokio_postgres::Client {
    let t = Target::from_url(
        &format!(
            "postgresql:///postgres?host={}&port={}&user=postgres",
            s.cluster.socket_dir().display(),
            s.port
        ),
        Source::Flag,
    )
    .unwrap();
    Database::open(t)
        .await
        .unwrap()
        .connect_dedicated()
        .await
        .unwrap()
}

async fn set_hba(s: &Server, hba: &str) {
    std::fs::write(s.cluster.pgdata().join("pg_hba.conf"), hba).unwrap();
    admin(s)
        .await
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // The postmaster reloads asynchronously.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// Opens the console's listening connection (`LISTEN` notes) with `params`.
async fn listen(s: &Server, params: &str) -> Result<(), String> {
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres?connect_timeout=5&{params}",
        s.port
    );
    let target = Target::from_url(&url, Source::Flag).map_err(|e| format!("{e:#}"))?;
    let db = Database::unconnected(target).map_err(|e| format!("{e:#}"))?;
    let (notes, _rx) = tokio::sync::mpsc::unbounded_channel();
    db.connect_listening(notes)
        .await
        .map(drop)
        .map_err(|e| format!("{e:#}"))
}

/// Connects with `params` appended; Ok(whether the session uses TLS).
async fn connect(s: &Server, host: &str, params: &str) -> Result<bool, String> {
    let url = format!(
        "postgresql://postgres@{host}:{}/postgres?connect_timeout=5&{params}",
        s.port
    );
    let target = Target::from_url(&url, Source::Flag).map_err(|e| format!("{e:#}"))?;
    let db = Database::open(target).await.map_err(|e| format!("{e:#}"))?;
    let client = db.client().await.map_err(|e| format!("{e:#}"))?;
    let row = client
        .query_one(
            "SELECT ssl, (SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid())
               FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    let app: String = row.get(1);
    assert_eq!(
        app, "importdesk",
        "application_name shows in pg_stat_activity"
    );
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmodes_against_a_real_server() {
    let s = start_server().await;
    let ca = s.pki.path("ca.crt");

    assert_eq!(
        connect(
            &s,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}")
        )
        .await,
        Ok(true),
        "verify-full with the right CA and host name"
    );
    let wrong_host = connect(
        &s,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .await
    .unwrap_err();
    assert!(
        wrong_host.contains("does not name this host"),
        "verify-full checks the name: {wrong_host}"
    );
    assert_eq!(
        connect(
            &s,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        )
        .await,
        Ok(true),
        "verify-ca checks the chain only"
    );
    let other = s.pki.path("other-ca.crt");
    let wrong_ca = connect(
        &s,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={other}"),
    )
    .await
    .unwrap_err();
    assert!(
        wrong_ca.contains("not signed by the certificate authority"),
        "{wrong_ca}"
    );
    let no_root = connect(
        &s,
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
    )
    .await
    .unwrap_err();
    assert!(no_root.contains("/nonexistent/ca.crt"), "{no_root}");

    // Without a root certificate, require and prefer encrypt without verifying.
    assert_eq!(connect(&s, "127.0.0.1", "sslmode=require").await, Ok(true));
    assert_eq!(
        connect(&s, "127.0.0.1", "").await,
        Ok(true),
        "prefer is the default"
    );
    let plain = connect(&s, "127.0.0.1", "sslmode=disable")
        .await
        .unwrap_err();
    assert!(
        plain.contains("only accepts this connection over TLS"),
        "disable against a hostssl-only server: {plain}"
    );
    // allow: plain first, then TLS when the server refuses plain.
    assert_eq!(connect(&s, "127.0.0.1", "sslmode=allow").await, Ok(true));
    // The console's listening connection has its own connect path: the
    // same rules (a refused disable is not retried over TLS).
    let plain = listen(&s, "sslmode=disable").await.unwrap_err();
    assert!(
        plain.contains("only accepts this connection over TLS"),
        "{plain}"
    );
    listen(&s, "sslmode=allow")
        .await
        .expect("allow falls back to TLS");

    // A client certificate for a `cert` line.
    let (cert, key) = (s.pki.path("client.crt"), s.pki.path("client.key"));
    let url = |extra: &str| {
        format!(
            "postgresql://certuser@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}{extra}",
            s.port
        )
    };
    let with_cert =
        Target::from_url(&url(&format!("&sslcert={cert}&sslkey={key}")), Source::Flag).unwrap();
    Database::open(with_cert)
        .await
        .expect("the client certificate authenticates certuser");
    let without = Target::from_url(&url("&sslcert=/nonexistent.crt"), Source::Flag).unwrap();
    assert!(Database::open(without).await.is_err());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose =
        Target::from_url(&url(&format!("&sslcert={cert}&sslkey={key}")), Source::Flag).unwrap();
    let e = format!("{:#}", Database::open(loose).await.err().unwrap());
    assert!(e.contains("has group or world access"), "{e}");

    // The same server without TLS: require refuses, prefer goes plain.
    admin(&s)
        .await
        .batch_execute("ALTER SYSTEM SET ssl = off")
        .await
        .unwrap();
    set_hba(&s, "local all all trust\nhost all all 127.0.0.1/32 trust\n").await;
    let refused = connect(&s, "127.0.0.1", "sslmode=require")
        .await
        .unwrap_err();
    assert!(
        refused.contains("does not accept TLS connections"),
        "require against a server without TLS: {refused}"
    );
    assert_eq!(connect(&s, "127.0.0.1", "sslmode=prefer").await, Ok(false));
}

/// The same from the command line, with the settings from PGSSL* variables:
/// `db status` names where each came from.
#[tokio::test]
async fn the_cli_takes_pgssl_variables_and_says_where_settings_came_from() {
    let s = start_server().await;
    let home = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(["db", "status"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .env("PGHOST", "localhost")
        .env("PGPORT", s.port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "postgres")
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", s.pki.path("ca.crt"))
        .env("PGAPPNAME", "nightly-report")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (setting, from) in [
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("application_name", "PGAPPNAME"),
        ("host", "PGHOST"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(setting))
            .unwrap_or_else(|| panic!("{setting} in {stdout}"));
        assert!(line.ends_with(&format!("from {from}")), "{line}");
    }
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("application_name"))
        .unwrap();
    assert!(line.contains("nightly-report"), "{line}");
}

/// The importdesk binary with an empty environment plus `env`.
fn cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_importdesk"));
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("IMPORTDESK_SYSTEM_CONFIG", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A service file names the server (with TLS verified), the password file
/// gives the password; a password file others can read is ignored with a
/// warning, as libpq does.
#[tokio::test]
async fn service_files_and_the_password_file() {
    let s = start_server().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("services.conf"),
        format!(
            "[shop]\nhost=localhost\nport={}\ndbname=postgres\nuser=pwuser\nsslmode=verify-full\nsslrootcert={}\nconnect_timeout=5\n",
            s.port,
            s.pki.path("ca.crt")
        ),
    )
    .unwrap();
    write(
        h,
        "pgpass",
        &format!("localhost:{}:postgres:pwuser:pw-secret\n", s.port),
        0o600,
    );
    let home_s = h.display().to_string();
    let services = h.join("services.conf").display().to_string();
    let pgpass = h.join("pgpass").display().to_string();
    let env = [
        ("HOME", home_s.as_str()),
        ("PGSERVICEFILE", services.as_str()),
        ("PGPASSFILE", pgpass.as_str()),
    ];

    let (ok, stdout, stderr) = cli(&["--database-url", "service=shop", "db", "status"], &env);
    assert!(ok, "{stdout}{stderr}");
    assert!(!stdout.contains("pw-secret"), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {stdout}"))
            .to_string()
    };
    assert!(line("password").contains(&format!("from password file {pgpass}")));
    assert!(line("sslmode").contains(&format!("from service shop in {services}")));
    assert!(line("connect_timeout").contains("5"));

    // PGSERVICE does the same.
    let mut with_service = env.to_vec();
    with_service.push(("PGSERVICE", "shop"));
    let (ok, stdout, stderr) = cli(&["db", "status"], &with_service);
    assert!(ok, "{stdout}{stderr}");

    // A password file others may read is ignored, with libpq's warning.
    std::fs::set_permissions(h.join("pgpass"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, stdout, stderr) = cli(&["db", "status"], &with_service);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("has group or world access"), "{stderr}");
    let hint = "hint: give the password in the password file";
    assert!(stderr.contains(hint), "{stderr}");

    // A wrong password is refused by the server, with the same hint.
    let mut wrong = with_service.clone();
    wrong.push(("PGPASSWORD", "not-the-password"));
    let (ok, stdout, stderr) = cli(&["db", "status"], &wrong);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("password authentication failed") && stderr.contains(hint),
        "{stderr}"
    );

    // Over the Unix socket, a `localhost` line is for libpq's default socket
    // directory only; this server's own directory is named as written.
    // importdesk and psql agree on both.
    let socket_url = format!(
        "postgresql:///postgres?host={}&port={}&user=pwuser",
        s.cluster.socket_dir().display(),
        s.port
    );
    let by_socket = [("HOME", home_s.as_str()), ("PGPASSFILE", pgpass.as_str())];
    let psql_connects = || {
        std::process::Command::new("psql")
            .args(["-X", "-w", "-d", &socket_url, "-c", "SELECT 1"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(by_socket)
            .output()
            .unwrap()
            .status
            .success()
    };
    let line = format!("localhost:{}:postgres:pwuser:pw-secret\n", s.port);
    write(h, "pgpass", &line, 0o600);
    let (ok, stdout, stderr) = cli(&["--database-url", &socket_url, "db", "status"], &by_socket);
    assert!(!ok, "a localhost line used for {socket_url}: {stdout}");
    assert!(stderr.contains("password missing"), "{stderr}");
    assert!(!psql_connects(), "psql used the localhost line");
    let dir = s.cluster.socket_dir().display().to_string();
    let line = format!("{dir}:{}:postgres:pwuser:pw-secret\n", s.port);
    write(h, "pgpass", &line, 0o600);
    let (ok, stdout, stderr) = cli(&["--database-url", &socket_url, "db", "status"], &by_socket);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        psql_connects(),
        "psql did not use the socket directory's line"
    );
}
