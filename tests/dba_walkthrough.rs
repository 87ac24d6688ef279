//! docs/operations.md's set-up, walked as written: real Unix users, a
//! cluster with peer authentication and the documented pg_hba.conf order, a
//! non-superuser owner who migrates and grants roles with ADMIN OPTION, and
//! a support person and two sellers who each do their job through the
//! system configuration file. Needs root (to create Unix users and run
//! commands as them); skipped with a message otherwise.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::unistd::{Uid, User};

const OWNER: &str = "idk_owner";
const SUPPORT: &str = "idk_sue";
const ALICE: &str = "idk_alice";
const BOB: &str = "idk_bob";

struct Server {
    base: PathBuf,
    bindir: PathBuf,
    postgres: User,
}

impl Server {
    fn pgdata(&self) -> PathBuf {
        self.base.join("pgdata")
    }
    fn socket(&self) -> PathBuf {
        self.base.join("sock")
    }
    fn as_postgres(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.bindir.join(tool));
        cmd.args(args)
            .uid(self.postgres.uid.as_raw())
            .gid(self.postgres.gid.as_raw())
            .current_dir(&self.base)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null());
        cmd.output().expect(tool)
    }
    /// Runs a script as `sudo -u postgres psql -f` would (each statement
    /// on its own, as in the docs).
    fn psql_as_postgres(&self, db: &str, sql: &str) -> Output {
        let sock = self.socket().display().to_string();
        let script = self.base.join("script.sql");
        std::fs::write(&script, sql).unwrap();
        chmod(&script, 0o644);
        let script = script.display().to_string();
        self.as_postgres(
            "psql",
            &[
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &sock,
                "-d",
                db,
                "-f",
                &script,
            ],
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.pgdata().display().to_string();
        let _ = self.as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The Unix account, created once (kept for later runs: creating and
/// removing accounts while other tests run would be unkind).
fn unix_user(name: &str) -> User {
    if let Some(u) = User::from_name(name).unwrap() {
        return u;
    }
    let out = Command::new("useradd")
        .args(["--no-create-home", "--shell", "/usr/sbin/nologin", name])
        .output()
        .expect("useradd");
    // Another test process may have created it meanwhile.
    if !out.status.success() && User::from_name(name).unwrap().is_none() {
        panic!("useradd {name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    User::from_name(name).unwrap().unwrap()
}

fn start_server() -> Server {
    let bindir = importdesk::db::cluster::find_server_bindir().unwrap();
    let postgres = User::from_name("postgres").unwrap().expect("postgres user");
    let base = tempfile::Builder::new()
        .prefix("importdesk-dba-")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    chmod(&base, 0o755);
    let server = Server {
        base,
        bindir,
        postgres,
    };
    let sock = server.socket();
    std::fs::create_dir(&sock).unwrap();
    chmod(&sock, 0o1777);
    let pgdata = server.pgdata();
    std::fs::create_dir(&pgdata).unwrap();
    chmod(&pgdata, 0o700);
    std::os::unix::fs::chown(
        &pgdata,
        Some(server.postgres.uid.as_raw()),
        Some(server.postgres.gid.as_raw()),
    )
    .unwrap();
    let data = pgdata.display().to_string();
    ok(
        &server.as_postgres(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth-local=peer",
                "--auth-host=reject",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        ),
        "initdb",
    );
    // docs/operations.md: the importdesk line after the postgres line, before
    // the catch-all (placed first it would lock the superuser out of shop).
    std::fs::write(
        server.pgdata().join("pg_hba.conf"),
        "# TYPE  DATABASE  USER      METHOD\n\
         local   all       postgres  peer\n\
         local   shop      all       peer map=importdesk\n\
         local   all       all       peer\n",
    )
    .unwrap();
    let ident: String = [OWNER, SUPPORT, ALICE, BOB]
        .iter()
        .map(|u| format!("importdesk    {u}    {u}\n"))
        .collect();
    std::fs::write(
        server.pgdata().join("pg_ident.conf"),
        format!("# MAPNAME     SYSTEM-USERNAME  PG-USERNAME\n{ident}"),
    )
    .unwrap();
    let opts = format!("-c listen_addresses='' -k {} -c fsync=off", sock.display());
    let log = server.base.join("server.log").display().to_string();
    std::fs::write(&log, "").unwrap();
    std::os::unix::fs::chown(&log, Some(server.postgres.uid.as_raw()), None).unwrap();
    ok(
        &server.as_postgres(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        ),
        "pg_ctl start",
    );
    server
}

/// importdesk as one Unix user: only what cron or a login shell without a
/// profile would give it, plus the system configuration file.
struct Person<'a> {
    user: User,
    server: &'a Server,
}

impl Person<'_> {
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let home = self.server.base.join("home").join(&self.user.name);
        let mut cmd = Command::new(self.server.base.join("bin/importdesk"));
        cmd.args(args)
            .uid(self.user.uid.as_raw())
            .gid(self.user.gid.as_raw())
            .current_dir(&home)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env(
                "IMPORTDESK_SYSTEM_CONFIG",
                self.server.base.join("etc/importdesk/config.toml"),
            )
            .stdin(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("importdesk")
    }
}

fn csv(server: &Server, name: &str, rows: &str) -> String {
    let p = server.base.join("files").join(name);
    std::fs::write(
        &p,
        format!("sku,title,description,price,currency,quantity,status,condition,category,listing_number,end_date\n{rows}"),
    )
    .unwrap();
    chmod(&p, 0o644);
    p.display().to_string()
}

#[test]
fn the_documented_shared_server_set_up_works_as_written() {
    if !Uid::effective().is_root() {
        eprintln!(
            "skipped: the DBA walkthrough creates Unix users and runs commands as them; run the tests as root"
        );
        return;
    }
    let server = start_server();
    let people: Vec<User> = [OWNER, SUPPORT, ALICE, BOB]
        .iter()
        .map(|n| unix_user(n))
        .collect();
    for dir in ["bin", "files", "etc/importdesk", "home"] {
        std::fs::create_dir_all(server.base.join(dir)).unwrap();
    }
    for d in ["bin", "files", "etc", "etc/importdesk", "home"] {
        chmod(&server.base.join(d), 0o755);
    }
    for u in &people {
        let home = server.base.join("home").join(&u.name);
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(u.uid.as_raw()), Some(u.gid.as_raw())).unwrap();
    }
    let bin = server.base.join("bin/importdesk");
    std::fs::copy(env!("CARGO_BIN_EXE_importdesk"), &bin).unwrap();
    chmod(&bin, 0o755);

    // Step 1 (as postgres): the owner, the database, the group roles with
    // ADMIN OPTION for the owner, the people's login roles.
    ok(
        &server.psql_as_postgres(
            "postgres",
            &format!(
                "CREATE ROLE {OWNER} LOGIN;
                 CREATE DATABASE shop OWNER {OWNER};
                 DO $$ BEGIN
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_support') THEN
                     CREATE ROLE importdesk_support NOLOGIN; END IF;
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_seller') THEN
                     CREATE ROLE importdesk_seller NOLOGIN; END IF;
                 END $$;
                 GRANT importdesk_support, importdesk_seller TO {OWNER} WITH ADMIN OPTION;
                 CREATE ROLE {SUPPORT} LOGIN; CREATE ROLE {ALICE} LOGIN; CREATE ROLE {BOB} LOGIN;"
            ),
        ),
        "create roles and database",
    );
    // Step 3: the system configuration names the database.
    let config = server.base.join("etc/importdesk/config.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"postgresql:///shop?host={}\"\n",
            server.socket().display()
        ),
    )
    .unwrap();
    chmod(&config, 0o644);

    let person = |name: &str| Person {
        user: User::from_name(name).unwrap().unwrap(),
        server: &server,
    };
    let (owner, sue, alice, bob) = (person(OWNER), person(SUPPORT), person(ALICE), person(BOB));

    // The owner is not a superuser and has no CREATEROLE.
    let attrs = ok(
        &server.psql_as_postgres(
            "postgres",
            &format!("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = '{OWNER}'"),
        ),
        "owner attributes",
    );
    assert!(attrs.contains(" f        | f"), "{attrs}");

    // `db status` before migrating says so instead of failing.
    let status = ok(&owner.run(&["db", "status"], &[]), "db status");
    assert!(status.contains("schema:     not migrated"), "{status}");
    assert!(status.contains("database:   shop on socket"), "{status}");

    // Step 4 (as the owner): migrate, grant.
    let migrated = ok(&owner.run(&["db", "migrate"], &[]), "db migrate");
    assert!(migrated.contains("applied V1__schema"), "{migrated}");
    ok(
        &owner.run(&["db", "grant-support", SUPPORT], &[]),
        "grant-support",
    );
    ok(
        &owner.run(&["db", "grant-seller", ALICE, "acme"], &[]),
        "grant-seller alice",
    );
    ok(
        &owner.run(&["db", "grant-seller", BOB, "bobs"], &[]),
        "grant-seller bob",
    );
    let roles = ok(&owner.run(&["db", "roles"], &[]), "db roles");
    assert!(
        roles.contains(ALICE) && roles.contains("seller acme"),
        "{roles}"
    );
    assert!(roles.contains("support: every seller"), "{roles}");

    // Alice imports for her seller (with a lying $USER: the actor is still her).
    let first = csv(
        &server,
        "a1.csv",
        "A-1,One,,1.00,USD,1,active,,,,\nA-2,Two,,2.00,USD,2,active,,,,\n",
    );
    let out = ok(
        &alice.run(
            &["import", &first, "--seller", "acme"],
            &[("USER", SUPPORT)],
        ),
        "alice imports",
    );
    assert!(
        out.starts_with(&format!(
            "as {ALICE} (seller acme)\ndatabase: shop on socket"
        )),
        "{out}"
    );
    let second = csv(
        &server,
        "a2.csv",
        "A-1,One changed,,1.50,USD,1,active,,,,\n",
    );
    ok(
        &alice.run(&["import", &second, "--seller", "acme"], &[]),
        "alice imports again",
    );
    // Not for another seller, and she sees only her own history.
    let other = alice.run(&["import", &first, "--seller", "bobs"], &[]);
    assert!(!other.status.success(), "alice may not import for bobs");
    let bob_file = csv(&server, "b.csv", "B-1,Bob's,,3.00,USD,1,active,,,,\n");
    ok(
        &bob.run(&["import", &bob_file, "--seller", "bobs"], &[]),
        "bob imports",
    );
    let history = ok(&alice.run(&["history", "--json"], &[]), "alice history");
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["seller_id"] == "acme")
    );
    assert_eq!(
        history[0]["actor"], ALICE,
        "the actor comes from the uid, not $USER"
    );
    assert_eq!(history[0]["db_role"], ALICE);

    // Sue (support) sees everyone, previews and rolls back alice's last import.
    let all = ok(&sue.run(&["history", "--json"], &[]), "sue history");
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
    let rollback = ok(
        &sue.run(&["rollback", "--last", "--seller", "acme", "--yes"], &[]),
        "sue rolls back",
    );
    assert!(rollback.contains("rolled back"), "{rollback}");
    let title = ok(
        &server.psql_as_postgres("shop", "SELECT title FROM listings WHERE sku = 'A-1'"),
        "read back",
    );
    assert!(title.contains(" One\n"), "{title}");
    // Retention, as support.
    let prune = ok(&sue.run(&["audit", "prune"], &[]), "sue prunes");
    assert!(prune.contains("deleted"), "{prune}");
    // A seller may not prune.
    assert!(!alice.run(&["audit", "prune"], &[]).status.success());

    // Offboarding bob: he can no longer import.
    ok(
        &owner.run(&["db", "revoke-seller", BOB], &[]),
        "revoke-seller bob",
    );
    assert!(
        !bob.run(&["import", &bob_file, "--seller", "bobs"], &[])
            .status
            .success()
    );

    // The pg_hba.conf order keeps the superuser in.
    ok(
        &server.psql_as_postgres("shop", "SELECT 1"),
        "postgres still reaches shop",
    );
    // The system file names the database: no private cluster, and db start says why.
    let start = alice.run(&["db", "start"], &[]);
    assert!(!start.status.success());
    let why = String::from_utf8_lossy(&start.stderr);
    assert!(why.contains("names this machine's database"), "{why}");
    assert!(
        !server
            .base
            .join("home")
            .join(ALICE)
            .join(".local/share/importdesk/pg")
            .exists()
    );
}
