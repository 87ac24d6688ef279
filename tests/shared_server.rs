//! A shared server set up once (issue 17): configuration files and their
//! precedence, no silent private database, identity from the real uid, the
//! role lifecycle, what support and sellers read in psql, pruning and
//! backups. The real binary against real databases.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{CliRun, NATIVE_HEADER, TestDb, csv_file, import_json};

/// The binary with an empty environment (like cron: `env -i PATH=...`) plus
/// `env`; no `--database-url` unless the args carry one.
fn run_bare(args: &[&str], env: &[(&str, &str)]) -> CliRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_importdesk"));
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("IMPORTDESK_DATA_DIR", common::test_data_dir().join("files"))
        // Never the machine's own configuration files (a test may give its own).
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .env("XDG_CONFIG_HOME", "/nonexistent/importdesk-test-xdg")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run importdesk");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }
}

fn toml_url(url: &str) -> String {
    format!("database_url = \"{url}\"\n")
}

#[tokio::test]
async fn the_system_file_names_the_database_and_no_private_cluster_is_started() {
    let t = TestDb::new().await;
    let f = Files::new();
    let system = f.write("etc/config.toml", &toml_url(&t.url()));
    let data_dir = f.path("data");
    let env = [
        ("IMPORTDESK_SYSTEM_CONFIG", system.as_str()),
        ("XDG_CONFIG_HOME", &f.path("xdg")),
        ("HOME", &f.path("home")),
        ("IMPORTDESK_DATA_DIR", data_dir.as_str()),
    ];
    let history = run_bare(&["history"], &env);
    assert_eq!(history.code, 0, "{}{}", history.stdout, history.stderr);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines[0], "as postgres (support: every seller)");
    assert!(
        lines[1].starts_with(&format!("database: {} on socket ", t.name)),
        "the header names the database and where it is: {}",
        history.stdout
    );

    let start = run_bare(&["db", "start"], &env);
    assert_eq!(start.code, 1, "{}", start.stdout);
    assert!(
        start.stderr.contains(
            "no private cluster is started on this machine because the system configuration"
        ),
        "{}",
        start.stderr
    );
    let status = run_bare(&["db", "status", "--json"], &env).json();
    assert_eq!(
        status["source"],
        format!("the system configuration {system}")
    );
    assert!(
        !Path::new(&data_dir).join("pg").exists(),
        "no private cluster was made"
    );
}

#[tokio::test]
async fn embedded_false_refuses_to_start_a_private_cluster_when_nothing_is_named() {
    let f = Files::new();
    let system = f.write("etc/config.toml", "embedded = false\n");
    let data_dir = f.path("data");
    let run = run_bare(
        &["audit", "prune"],
        &[
            ("IMPORTDESK_SYSTEM_CONFIG", system.as_str()),
            ("HOME", &f.path("home")),
            ("IMPORTDESK_DATA_DIR", data_dir.as_str()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("will not start a private database")
            && run.stderr.contains("embedded = false"),
        "{}",
        run.stderr
    );
    assert!(!Path::new(&data_dir).join("pg").exists());

    // A typo in a configuration file is an error naming it, not a fallback.
    let typo = f.write("etc/typo.toml", "databse_url = \"postgresql:///x\"\n");
    let run = run_bare(
        &["history"],
        &[
            ("IMPORTDESK_SYSTEM_CONFIG", typo.as_str()),
            ("HOME", &f.path("home")),
            ("IMPORTDESK_DATA_DIR", data_dir.as_str()),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("typo.toml") && run.stderr.contains("databse_url"),
        "{}",
        run.stderr
    );
}

/// Flags, then the environment, then the user file, then the system file:
/// each names a different real database, and the data shows which answered.
#[tokio::test]
async fn precedence_flag_environment_user_file_system_file() {
    let dbs = [
        TestDb::new().await,
        TestDb::new().await,
        TestDb::new().await,
        TestDb::new().await,
    ];
    for (i, t) in dbs.iter().enumerate() {
        let (_d, csv) = csv_file(
            "l.csv",
            &format!("{NATIVE_HEADER}only-{i},T,,1.00,USD,1,active,,,,\n"),
        );
        import_json(t, &csv, &format!("seller-{i}"), &[], 0);
    }
    let [flag, env_db, user, system] = &dbs;
    let f = Files::new();
    let system_file = f.write("etc/config.toml", &toml_url(&system.url()));
    f.write("xdg/importdesk/config.toml", &toml_url(&user.url()));
    let socket = env_db.db.target.config.get_hosts()[0].clone();
    let socket = match socket {
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        tokio_postgres::config::Host::Tcp(h) => h,
    };
    let (xdg, home) = (f.path("xdg"), f.path("home"));
    let seller_seen = |extra: &[&str], env: &[(&str, &str)]| -> String {
        let mut args = extra.to_vec();
        args.extend(["history", "--json"]);
        let mut all = vec![
            ("IMPORTDESK_SYSTEM_CONFIG", system_file.as_str()),
            ("XDG_CONFIG_HOME", xdg.as_str()),
            ("HOME", home.as_str()),
        ];
        all.extend_from_slice(env);
        // PGUSER: the cluster's superuser, whoever runs the tests.
        all.push(("PGUSER", "postgres"));
        let run = run_bare(&args, &all);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        run.json()[0]["seller_id"].as_str().unwrap().to_string()
    };
    let flag_url = flag.url();
    assert_eq!(
        seller_seen(
            &["--database-url", &flag_url],
            &[("PGDATABASE", &env_db.name), ("PGHOST", &socket)]
        ),
        "seller-0",
        "the flag wins"
    );
    assert_eq!(
        seller_seen(&[], &[("PGDATABASE", &env_db.name), ("PGHOST", &socket)]),
        "seller-1",
        "then the environment"
    );
    // PGUSER alone names no database: the user file's (with its host) is used.
    assert_eq!(seller_seen(&[], &[]), "seller-2", "then the user file");
    std::fs::remove_file(f.path("xdg/importdesk/config.toml")).unwrap();
    assert_eq!(seller_seen(&[], &[]), "seller-3", "then the system file");
}

#[tokio::test]
async fn the_os_user_comes_from_the_real_uid_not_from_user() {
    let t = TestDb::new().await;
    let (_d, csv) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,T,,1.00,USD,1,active,,,,\n"),
    );
    let url = t.url();
    let run = run_bare(
        &[
            "--database-url",
            &url,
            "import",
            csv.to_str().unwrap(),
            "--seller",
            "acme",
            "--json",
        ],
        &[("USER", "supp1"), ("LOGNAME", "supp1")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let me = nix::unistd::User::from_uid(nix::unistd::Uid::current())
        .unwrap()
        .unwrap()
        .name;
    let history = t.cli(&["history", "--json"]).json();
    assert_eq!(history[0]["os_user"], me.as_str());
    assert_eq!(history[0]["actor"], me.as_str());
    let text = t.cli(&["history"]);
    assert!(
        text.stdout.contains(&format!("{me} (postgres)")) || me == "postgres",
        "the database role stands next to the actor: {}",
        text.stdout
    );
}

#[tokio::test]
async fn status_on_an_empty_database_says_not_migrated() {
    let t = TestDb::empty().await;
    let run = t.cli(&["db", "status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("schema:     not migrated"),
        "{}",
        run.stdout
    );
    let json = t.cli(&["db", "status", "--json"]).json();
    assert_eq!(json["migrated"], false);
    // Where each setting came from, never the password.
    let with_password = format!("{}&password=hunter2", t.url());
    let run = common::run_cli(&with_password, &["db", "status"], None);
    assert!(run.stdout.contains("from --database-url"), "{}", run.stdout);
    assert!(
        run.stdout.contains("password") && !run.stdout.contains("hunter2"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn audit_text_has_a_header_and_says_when_empty() {
    let t = TestDb::new().await;
    let run = t.cli(&["audit"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("as postgres"), "{}", run.stdout);
    assert!(lines[1].starts_with("database: "), "{}", run.stdout);
    assert_eq!(lines[2], "no entries");
}

/// Login roles for one test (cluster-wide: names carry the test db's).
async fn login_roles(t: &TestDb, names: &[&str]) -> Vec<String> {
    let suffix = t.name.trim_start_matches("importdesk_t_");
    let c = t.client().await;
    let mut out = Vec::new();
    for n in names {
        let role = format!("{n}_{suffix}");
        c.batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
        ))
        .await
        .unwrap();
        out.push(role);
    }
    out
}

fn url_as(t: &TestDb, role: &str) -> String {
    t.url().replace("user=postgres", &format!("user={role}"))
}

#[tokio::test]
async fn revoke_and_roles_are_audited_and_take_effect() {
    let t = TestDb::new().await;
    let r = login_roles(&t, &["sel", "sup", "stray"]).await;
    let (sel, sup, stray) = (&r[0], &r[1], &r[2]);
    assert_eq!(t.cli(&["db", "grant-seller", sel, "acme"]).code, 0);
    assert_eq!(t.cli(&["db", "grant-support", sup]).code, 0);
    t.client()
        .await
        .batch_execute(&format!("GRANT importdesk_seller TO {stray}"))
        .await
        .unwrap();

    let roles = t.cli(&["db", "roles"]);
    assert_eq!(roles.code, 0, "{}", roles.stderr);
    let line = |role: &str| {
        roles
            .stdout
            .lines()
            .find(|l| l.starts_with(role))
            .unwrap_or_else(|| panic!("{role} in {}", roles.stdout))
            .to_string()
    };
    assert!(line(sel).contains("seller acme"));
    assert!(line(sup).contains("support: every seller"));
    assert!(line(stray).contains("mapped to no seller"));

    let (_d, csv) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,T,,1.00,USD,1,active,,,,\n"),
    );
    let import = |role: &str| {
        common::run_cli(
            &url_as(&t, role),
            &[
                "import",
                csv.to_str().unwrap(),
                "--seller",
                "acme",
                "--json",
            ],
            None,
        )
    };
    assert_eq!(import(sel).code, 0, "{}", import(sel).stderr);

    let revoke = t.cli(&["db", "revoke-seller", sel]);
    assert_eq!(revoke.code, 0, "{}", revoke.stderr);
    assert!(revoke.stdout.contains("no longer acts for seller acme"));
    let refused = import(sel);
    assert_ne!(refused.code, 0, "a revoked seller cannot import");
    let revoke = t.cli(&["db", "revoke-support", sup]);
    assert_eq!(revoke.code, 0, "{}", revoke.stderr);
    let prune = common::run_cli(&url_as(&t, sup), &["audit", "prune"], None);
    assert_eq!(prune.code, 1, "a revoked support role cannot prune");

    let audit = t.cli(&["audit", "--json"]).json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "seller role granted",
        "support role granted",
        "seller role revoked",
        "support role revoked",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let missing = t.cli(&["db", "revoke-seller", "no_such_role_xyz"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn a_non_owner_without_admin_option_gets_the_right_hint() {
    let t = TestDb::new().await;
    let r = login_roles(&t, &["owner2", "target2"]).await;
    // An owner-like role without ADMIN OPTION on the group roles: the
    // function itself is executable by it once granted.
    let c = t.client().await;
    c.batch_execute(&format!(
        "GRANT EXECUTE ON FUNCTION import_audit.grant_seller(text, text) TO {0};
         GRANT EXECUTE ON FUNCTION import_audit.grant_seller(text, text, interval, interval) TO {0};
         GRANT EXECUTE ON FUNCTION import_audit.require_seller_id_shape(text) TO {0};
         GRANT USAGE ON SCHEMA import_audit TO {0};
         GRANT INSERT, UPDATE ON import_audit.seller_accounts TO {0};
         GRANT importdesk_support TO {0}",
        r[0]
    ))
    .await
    .unwrap();
    let run = common::run_cli(
        &url_as(&t, &r[0]),
        &["db", "grant-seller", &r[1], "acme"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("WITH ADMIN OPTION"),
        "the hint names the least-privilege fix: {}",
        run.stderr
    );
    // With ADMIN OPTION it works.
    c.batch_execute(&format!(
        "GRANT importdesk_seller TO {} WITH ADMIN OPTION",
        r[0]
    ))
    .await
    .unwrap();
    let run = common::run_cli(
        &url_as(&t, &r[0]),
        &["db", "grant-seller", &r[1], "acme"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[tokio::test]
async fn row_changes_is_readable_by_support_and_by_sellers_only_for_their_rows() {
    let t = TestDb::new().await;
    let r = login_roles(&t, &["rca", "rcs"]).await;
    assert_eq!(t.cli(&["db", "grant-seller", &r[0], "seller-a"]).code, 0);
    assert_eq!(t.cli(&["db", "grant-support", &r[1]]).code, 0);
    for seller in ["seller-a", "seller-b"] {
        let (_d, csv) = csv_file(
            "l.csv",
            &format!("{NATIVE_HEADER}{seller}-1,T,,1.00,USD,1,active,,,,\n"),
        );
        import_json(&t, &csv, seller, &[], 0);
    }
    assert_eq!(sellers_in_row_changes(&t, &r[0]).await, vec!["seller-a"]);
    assert_eq!(
        sellers_in_row_changes(&t, &r[1]).await,
        vec!["seller-a", "seller-b"]
    );
}

async fn sellers_in_row_changes(t: &TestDb, role: &str) -> Vec<String> {
    let mut cfg = t.db.target.config.clone();
    cfg.user(role);
    let c = importdesk::db::connect(&cfg, role).await.unwrap();
    let rows = c
        .query(
            "SELECT DISTINCT primary_key->>'seller_id' FROM import_audit.row_changes ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

#[tokio::test]
async fn pruned_imports_show_as_pruned_and_an_empty_prune_says_so() {
    let t = TestDb::new().await;
    let (_d, csv) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,T,,1.00,USD,1,active,,,,\n"),
    );
    let first = import_json(&t, &csv, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let (_d2, csv2) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,T2,,1.00,USD,1,active,,,,\n"),
    );
    let second = import_json(&t, &csv2, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let rb = t.cli(&["rollback", &second.to_string(), "--yes"]);
    assert_eq!(rb.code, 0, "{}", rb.stderr);

    let prune = t.cli(&["audit", "prune", "--completed-before", "2999-01-01"]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(
        prune.stdout.contains(&format!("#{second}")),
        "{}",
        prune.stdout
    );
    assert!(
        prune.stdout.contains(&format!("#{first}")),
        "{}",
        prune.stdout
    );

    let history = t.cli(&["history"]);
    let row = history
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{first} ")))
        .unwrap();
    assert!(row.contains("pruned"), "{}", history.stdout);
    assert!(!row.contains("completed"), "{row}");
    let show = t.cli(&["show", &first.to_string()]);
    assert!(show.stdout.contains("— pruned"), "{}", show.stdout);

    let again = t.cli(&["audit", "prune", "--completed-before", "2999-01-01"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to prune"),
        "{}",
        again.stdout
    );
    assert!(
        !again.stdout.contains(&format!("#{second}")),
        "old imports are not listed again: {}",
        again.stdout
    );
    let json = t.cli(&["audit", "prune", "--json"]).json();
    assert_eq!(json["rolled_back_imports"], serde_json::json!([]));
}

/// A cron job: empty environment, full path, the database from the system
/// file; an unreachable database fails loudly.
#[tokio::test]
async fn a_cron_style_prune_reaches_the_configured_database_or_fails_loudly() {
    let t = TestDb::new().await;
    let f = Files::new();
    let good = f.write("good.toml", &toml_url(&t.url()));
    let run = run_bare(
        &["audit", "prune", "--completed-before", "2000-01-01"],
        &[("IMPORTDESK_SYSTEM_CONFIG", good.as_str())],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("database: {}", t.name)),
        "{}",
        run.stdout
    );

    let bad = f.write(
        "bad.toml",
        "database_url = \"postgresql:///nowhere?host=/nonexistent-socket-dir&connect_timeout=2\"\n",
    );
    let run = run_bare(
        &["audit", "prune"],
        &[("IMPORTDESK_SYSTEM_CONFIG", bad.as_str())],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("cannot connect to the database nowhere on socket /nonexistent-socket-dir"),
        "{}",
        run.stderr
    );
}

/// The documented backup: the roles, then the database with pg_dump, and a
/// restore into a fresh database where importdesk (and a rollback) works.
#[tokio::test]
async fn dump_and_restore_into_a_fresh_database() {
    let t = TestDb::new().await;
    let (_d, csv) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,Old,,1.00,USD,1,active,,,,\n"),
    );
    import_json(&t, &csv, "acme", &[], 0);
    let (_d2, csv2) = csv_file(
        "l.csv",
        &format!("{NATIVE_HEADER}k,New,,1.00,USD,1,active,,,,\n"),
    );
    let second = import_json(&t, &csv2, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("shop.dump");
    let bindir = importdesk::db::cluster::find_server_bindir().unwrap();
    let url = t.url();
    let roles = Command::new(bindir.join("pg_dumpall"))
        .args(["--roles-only", "-d", &url])
        .output()
        .unwrap();
    assert!(
        roles.status.success(),
        "{}",
        String::from_utf8_lossy(&roles.stderr)
    );
    let roles = String::from_utf8_lossy(&roles.stdout);
    assert!(roles.contains("CREATE ROLE importdesk_seller"), "{roles}");

    let out = Command::new(bindir.join("pg_dump"))
        .args(["-Fc", "-f", dump.to_str().unwrap(), &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored = TestDb::empty().await;
    let out = Command::new(bindir.join("pg_restore"))
        .args([
            "--exit-on-error",
            "-d",
            &restored.url(),
            dump.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = restored.cli(&["db", "status", "--json"]).json();
    assert_eq!(status["migrations"]["pending"], serde_json::json!([]));
    let rb = restored.cli(&["rollback", &second.to_string(), "--yes", "--json"]);
    assert_eq!(rb.code, 0, "{}{}", rb.stdout, rb.stderr);
    let title: String = restored
        .client()
        .await
        .query_one("SELECT title FROM listings WHERE sku = 'k'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "Old", "the before-images came through the backup");
}
