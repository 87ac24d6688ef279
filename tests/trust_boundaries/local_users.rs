//! Other local users (a real second Unix user when the tests run as root):
//! importdesk's files are private, its cluster lock never hangs a command,
//! no link planted in a data directory is followed, and paths are data,
//! never code.

use std::path::Path;
use std::time::Duration;

use crate::common::{NATIVE_HEADER, TestDb, csv_file};
use crate::{Invocation, UnixUser, is_root, mode_of, open_base, owner_of};

#[tokio::test]
async fn another_local_user_reads_nothing_importdesk_writes() {
    let t = TestDb::new().await;
    let base = open_base();
    let files = base.path().join("files");
    let (_d, file) = csv_file(
        "rejects.csv",
        &format!(
            "{NATIVE_HEADER}R1,Ok,,1.00,USD,1,active,,,,\nR2,Bad price,,abc,USD,1,active,,,,\n"
        ),
    );
    let run = Invocation::on(
        &t.url(),
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            "seller-r",
            "--skip-invalid",
            "--json",
        ],
    )
    .files_dir(Some(files.clone()))
    .run();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let rejects = run.json()["rejects_file"].as_str().unwrap().to_string();
    let rejects = Path::new(&rejects);
    let log = files.join("logs/importdesk.log");
    assert!(log.exists() && rejects.exists());
    for dir in [&files, &files.join("logs"), &files.join("rejects")] {
        assert_eq!(mode_of(dir), 0o700, "{}", dir.display());
    }
    for file in [&log, &rejects.to_path_buf()] {
        assert_eq!(mode_of(file), 0o600, "{}", file.display());
    }

    let Some(mallory) = UnixUser::create("rd") else {
        return;
    };
    for path in [&log, &rejects.to_path_buf()] {
        let (ok, out) = mallory.run("cat", &[path.to_str().unwrap()]);
        assert!(!ok, "{} read {}: {out}", mallory.name, path.display());
        assert!(!out.contains("Bad price"), "{out}");
    }
    let (ok, out) = mallory.run("ls", &[files.to_str().unwrap()]);
    assert!(!ok, "{out}");
}

/// A cluster of its own in a fresh data directory, stopped on drop.
struct OwnCluster {
    data_dir: std::path::PathBuf,
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Invocation::bare(&["--data-dir", self.data_dir.to_str().unwrap(), "db", "stop"])
            .files_dir(None)
            .deadline(Duration::from_secs(90))
            .run();
    }
}

#[tokio::test]
async fn the_embedded_cluster_is_private_placed_where_asked_and_its_lock_is_bounded() {
    let base = open_base();
    // A relative --data-dir (as root the server runs elsewhere as postgres).
    let start = Invocation::bare(&["--data-dir", "rel", "db", "start"])
        .cwd(base.path())
        .files_dir(None)
        .deadline(Duration::from_secs(120))
        .run();
    let data = base.path().join("rel");
    let _cluster = OwnCluster {
        data_dir: data.clone(),
    };
    assert_eq!(start.code, Some(0), "{}", start.all());
    assert!(data.join("pg/PG_VERSION").is_file(), "{}", start.all());
    assert!(
        !data.join("pg/rel").exists(),
        "a relative path was resolved twice"
    );

    let lock = data.join(".cluster.lock");
    assert_eq!(mode_of(&lock), 0o600);
    assert_eq!(mode_of(&data.join("pg")), 0o700);
    assert_eq!(mode_of(&data.join("logs")), 0o700);
    assert_eq!(mode_of(&data.join("logs/importdesk.log")), 0o600);
    if is_root() {
        assert_eq!(mode_of(&data), 0o711, "postgres traverses, nobody lists");
        let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        assert_eq!(owner_of(&data.join("pg")), postgres.uid.as_raw());
    } else {
        assert_eq!(mode_of(&data), 0o700);
    }

    if let Some(mallory) = UnixUser::create("lk") {
        // A shared flock would hang every importdesk command: it cannot even open the file.
        let (ok, out) = mallory.run("flock", &["-n", "-s", lock.to_str().unwrap(), "true"]);
        assert!(!ok, "{} took the cluster lock: {out}", mallory.name);
        let (ok, out) = mallory.run("cat", &[data.join("logs/importdesk.log").to_str().unwrap()]);
        assert!(!ok, "{out}");
        let (ok, out) = mallory.run("ls", &[data.to_str().unwrap()]);
        assert!(!ok, "{out}");
    }

    // Whoever holds the lock (here: this test process), a command waits a
    // bounded time and names it.
    let held = nix::fcntl::Flock::lock(
        std::fs::File::open(&lock).unwrap(),
        nix::fcntl::FlockArg::LockExclusive,
    )
    .unwrap();
    let stop = Invocation::bare(&["--data-dir", data.to_str().unwrap(), "db", "stop"])
        .files_dir(None)
        .env("IMPORTDESK_CLUSTER_LOCK_WAIT", "1")
        .deadline(Duration::from_secs(60))
        .run();
    drop(held);
    assert_eq!(stop.code, Some(1), "it must end, not hang: {}", stop.all());
    assert!(
        stop.stderr
            .contains(&format!("process {}", std::process::id())),
        "{}",
        stop.stderr
    );
    let stop = Invocation::bare(&["--data-dir", data.to_str().unwrap(), "db", "stop"])
        .files_dir(None)
        .deadline(Duration::from_secs(90))
        .run();
    assert_eq!(stop.code, Some(0), "{}", stop.all());
    assert!(stop.stdout.contains("stopped"), "{}", stop.stdout);
}

/// Found by the import benchmark: as root, a command given the embedded
/// cluster's own URL (`--database-url "$(importdesk db url)"`, as `psql`
/// users do) made the data directory 0700 as importdesk's files directory.
/// The server, running as postgres, could then no longer reach its folder
/// inside: its next checkpoint failed ("could not open file
/// global/pg_control: Permission denied") and it restarted, dropping every
/// connection.
#[tokio::test]
async fn a_command_on_the_embedded_clusters_url_leaves_the_server_its_folder() {
    let base = open_base();
    let data = base.path().join("d");
    let dir = data.to_str().unwrap();
    let start = Invocation::bare(&["--data-dir", dir, "db", "start"])
        .files_dir(None)
        .deadline(Duration::from_secs(120))
        .run();
    let _cluster = OwnCluster {
        data_dir: data.clone(),
    };
    assert_eq!(start.code, Some(0), "{}", start.all());
    let url = Invocation::bare(&["--data-dir", dir, "db", "url"])
        .files_dir(None)
        .run();
    assert_eq!(url.code, Some(0), "{}", url.all());
    let url = url.stdout.trim().to_string();
    let mode_before = mode_of(&data);

    let history = Invocation::on(&url, &["--data-dir", dir, "history"])
        .files_dir(None)
        .run();
    assert_eq!(history.code, Some(0), "{}", history.all());
    assert_eq!(
        mode_of(&data),
        mode_before,
        "the data directory's mode changed"
    );
    if is_root() {
        assert_eq!(mode_of(&data), 0o711);
    }
    // The server still reaches its files: a checkpoint succeeds.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute("CHECKPOINT").await.unwrap();
}

#[tokio::test]
async fn as_root_no_link_in_a_data_directory_is_followed() {
    if !is_root() {
        eprintln!("not root: links planted for root are not a threat to a normal user's run");
        return;
    }
    let Some(mallory) = UnixUser::create("ln") else {
        return;
    };
    let t = TestDb::new().await;
    let base = open_base();
    let mine = |name: &str| {
        let p = base.path().join(name);
        std::fs::create_dir(&p).unwrap();
        nix::unistd::chown(&p, Some(nix::unistd::Uid::from_raw(mallory.uid)), None).unwrap();
        p
    };
    let foreign_dir = mine("foreign");
    let foreign_file = foreign_dir.join("precious");
    std::fs::write(&foreign_file, "x").unwrap();
    nix::unistd::chown(
        &foreign_file,
        Some(nix::unistd::Uid::from_raw(mallory.uid)),
        None,
    )
    .unwrap();

    // The server's folder is a link to someone else's folder.
    let d1 = base.path().join("d1");
    std::fs::create_dir(&d1).unwrap();
    std::os::unix::fs::symlink(&foreign_dir, d1.join("pg")).unwrap();
    let run = Invocation::bare(&["--data-dir", d1.to_str().unwrap(), "db", "start"])
        .files_dir(None)
        .deadline(Duration::from_secs(60))
        .run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(
        owner_of(&foreign_dir),
        mallory.uid,
        "chowned through a link"
    );

    // The logs folder, and the log file, are links.
    let d2 = base.path().join("d2");
    std::fs::create_dir(&d2).unwrap();
    std::os::unix::fs::symlink(&foreign_dir, d2.join("logs")).unwrap();
    let d3 = base.path().join("d3");
    std::fs::create_dir_all(d3.join("logs")).unwrap();
    std::os::unix::fs::symlink(&foreign_file, d3.join("logs/importdesk.log")).unwrap();
    for d in [&d2, &d3] {
        let run = Invocation::on(&t.url(), &["history"])
            .files_dir(Some(d.clone()))
            .run();
        assert_eq!(run.code, Some(0), "{}", run.all());
    }
    assert_eq!(std::fs::read_to_string(&foreign_file).unwrap(), "x");
    let entries: Vec<_> = std::fs::read_dir(&foreign_dir).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "nothing was created in the foreign folder"
    );

    // The rejects folder is a link.
    let d4 = base.path().join("d4");
    std::fs::create_dir(&d4).unwrap();
    std::os::unix::fs::symlink(&foreign_dir, d4.join("rejects")).unwrap();
    let (_f, bad) = csv_file(
        "bad.csv",
        &format!("{NATIVE_HEADER}L1,x,,abc,USD,1,active,,,,\nL2,y,,1,USD,1,active,,,,\n"),
    );
    let run = Invocation::on(
        &t.url(),
        &[
            "import",
            bad.to_str().unwrap(),
            "--seller",
            "s",
            "--skip-invalid",
        ],
    )
    .files_dir(Some(d4.clone()))
    .run();
    assert_ne!(run.code, Some(0), "{}", run.all());
    assert!(run.all().contains("symbolic link"), "{}", run.all());
    assert_eq!(std::fs::read_dir(&foreign_dir).unwrap().count(), 1);

    // A data directory that belongs to another user is not taken over.
    let theirs = mine("theirs");
    let run = Invocation::bare(&["--data-dir", theirs.to_str().unwrap(), "db", "start"])
        .files_dir(None)
        .deadline(Duration::from_secs(60))
        .run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("belongs to uid"), "{}", run.stderr);
    assert_eq!(owner_of(&theirs), mallory.uid);
    assert!(!theirs.join("pg").exists());
}

#[tokio::test]
async fn a_data_directory_path_is_data_never_code() {
    let base = open_base();
    let witness = std::env::temp_dir().join(format!("idtrust-pwned-{}", std::process::id()));
    let hostile = format!(
        "{}/q\"; touch {}; \"",
        base.path().display(),
        witness.display()
    );
    for (path, why) in [
        (hostile.clone(), "a quote"),
        (format!("{}/a,b", base.path().display()), "a comma"),
        (format!("{}/a\nb", base.path().display()), "the character"),
        (format!("{}/a\\b", base.path().display()), "a backslash"),
    ] {
        let run = Invocation::bare(&["--data-dir", &path, "db", "start"])
            .files_dir(None)
            .deadline(Duration::from_secs(120))
            .run();
        // (Stops what an old version may have started there.)
        let _cluster = OwnCluster {
            data_dir: path.clone().into(),
        };
        assert_eq!(run.code, Some(1), "{path:?}: {}", run.all());
        assert!(run.stderr.contains(why), "{path:?}: {}", run.stderr);
        assert!(!Path::new(&path).exists(), "{path:?} was created");
    }
    assert!(!witness.exists(), "a path ran a command");
}
