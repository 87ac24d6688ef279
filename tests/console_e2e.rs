//! End to end: the real binary, no subcommand, in tmux (a real terminal,
//! 100x30) against the test database: open, select the newest import, `r`,
//! see the counts, confirm, see the history row marked rolled back, quit,
//! and find the terminal restored (normal screen, cooked mode). And a
//! console you can trust: a dry run pins its plan (a changed plan is
//! refused, "Dry run again"), Esc cancels a running import, q closes the
//! help without quitting, and killing the tmux session (a hang-up) ends
//! the process within a second.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{NATIVE_HEADER, TestDb, csv_file, import_json, test_data_dir};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.cmd(&["send-keys", "-t", "e2e", k]);
            assert!(out.status.success(), "{out:?}");
            // One key at a time: Esc followed at once by a letter would read
            // as one Alt chord (which the console also handles, but the
            // test should type like a person).
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Types `text` literally (no key names).
    fn type_text(&self, text: &str) {
        let out = self.cmd(&["send-keys", "-t", "e2e", "-l", text]);
        assert!(out.status.success(), "{out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    fn screen(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "e2e"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn display(&self, format: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "e2e", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[tokio::test]
async fn roll_back_the_newest_import_in_a_real_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the end-to-end console test");
        return;
    }
    let t = TestDb::new().await;
    let (_d1, v1) = csv_file(
        "e2e-first.csv",
        &format!(
            "{NATIVE_HEADER}E1,One,,1.00,USD,1,active,new,,,\nE2,Two,,2.00,USD,2,active,new,,,\n"
        ),
    );
    let (_d2, v2) = csv_file(
        "e2e-second.csv",
        &format!(
            "{NATIVE_HEADER}E1,One,,1.25,USD,1,active,new,,,\nE2,Two,,2.00,USD,2,active,new,,,\nE3,Three,,3.00,USD,3,active,new,,,\n"
        ),
    );
    import_json(&t, &v1, "e2e", &[], 0);
    let newest = import_json(&t, &v2, "e2e", &[], 0)["import_id"]
        .as_i64()
        .unwrap();

    let tmux = Tmux {
        socket: format!("importdesk-e2e-{}", std::process::id()),
    };
    let script = format!(
        "env -u DATABASE_URL IMPORTDESK_DATA_DIR={files} TERM=xterm-256color {bin} --database-url {url}; \
         echo EXITED:$?; stty -a; sleep 120",
        files = shell_quote(&test_data_dir().join("files").to_string_lossy()),
        bin = shell_quote(env!("CARGO_BIN_EXE_importdesk")),
        url = shell_quote(&t.url()),
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");

    // Open: the history, newest first and selected.
    let screen = tmux.wait_for("the history", |s| s.contains("e2e-second.csv"));
    assert!(screen.contains("Import history"), "{screen}");
    // The test database's owner is support (sees every seller).
    assert!(screen.contains("· support · db"), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "not on the alternate screen"
    );
    let first_row = screen
        .lines()
        .find(|l| l.contains("e2e-"))
        .unwrap()
        .to_string();
    assert!(first_row.contains(&newest.to_string()) && first_row.contains("e2e-second.csv"));

    // Idle, the console writes nothing to the terminal (no redraw timer).
    let log = tempfile::NamedTempFile::new().unwrap();
    let pipe = format!("cat >> {}", shell_quote(&log.path().to_string_lossy()));
    assert!(
        tmux.cmd(&["pipe-pane", "-o", "-t", "e2e", &pipe])
            .status
            .success()
    );
    std::thread::sleep(Duration::from_millis(2500));
    let idle = std::fs::metadata(log.path()).unwrap().len();
    assert_eq!(idle, 0, "{idle} bytes written while idle");
    // A key does redraw (so the pipe works).
    tmux.keys(&["j", "k"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(std::fs::metadata(log.path()).unwrap().len() > 0);
    let _ = tmux.cmd(&["pipe-pane", "-t", "e2e"]);

    // r: the popup with the counts.
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("the rollback plan", |s| {
        s.contains("to delete") && s.contains("+ 1.00")
    });
    assert!(
        screen.contains("1 to delete · 1 to restore · 0 to skip"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Roll back import #{newest}?")),
        "{screen}"
    );
    assert!(
        screen.contains("- 1.25") && screen.contains("+ 1.00"),
        "{screen}"
    );

    // Confirm (Cancel is the default: move to the button first).
    tmux.keys(&["Right", "Enter"]);
    let screen = tmux.wait_for("the result", |s| s.contains("rolled back"));
    assert!(
        screen.contains("1 restored · 1 deleted · 0 skipped"),
        "{screen}"
    );
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the history row marked rolled back", |s| {
        s.lines()
            .any(|l| l.contains("e2e-second.csv") && l.contains("rolled back"))
            && !s.contains("[ Close ]")
    });
    let older = screen
        .lines()
        .find(|l| l.contains("e2e-first.csv"))
        .unwrap();
    assert!(older.contains("completed"), "{screen}");

    // Quit: the terminal is restored.
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    // Raw mode is off: canonical input and echo are back.
    let words: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "{screen}"
    );
    // Nothing of the console leaked onto the normal screen.
    assert!(!screen.contains("Import history"), "{screen}");

    let rows = t
        .client()
        .await
        .query_one(
            "SELECT status FROM import_audit.imports WHERE id = $1",
            &[&newest],
        )
        .await
        .unwrap();
    assert_eq!(rows.get::<_, String>(0), "rolled_back");
}

/// Whether process `pid` still exists (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test]
async fn pinned_dry_run_esc_cancel_q_closes_and_hang_up_ends_it() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the end-to-end console test");
        return;
    }
    let t = TestDb::new().await;
    let row = |sku: &str, price: &str| format!("{sku},Item {sku},,{price},USD,1,active,new,,,\n");
    let (_d1, v1) = csv_file(
        "cx-first.csv",
        &format!("{NATIVE_HEADER}{}{}", row("C1", "1.00"), row("C2", "2.00")),
    );
    let (_d2, v2) = csv_file(
        "cx-second.csv",
        &format!("{NATIVE_HEADER}{}{}", row("C1", "1.50"), row("C3", "3.00")),
    );
    import_json(&t, &v1, "cx", &[], 0);

    let tmux = Tmux {
        socket: format!("importdesk-e2e-trust-{}", std::process::id()),
    };
    // exec: the pane's process is importdesk itself.
    let script = format!(
        "exec env -u DATABASE_URL IMPORTDESK_DATA_DIR={files} IMPORTDESK_LOCK_TIMEOUT=60s \
         TERM=xterm-256color {bin} --database-url {url}",
        files = shell_quote(&test_data_dir().join("files").to_string_lossy()),
        bin = shell_quote(env!("CARGO_BIN_EXE_importdesk")),
        url = shell_quote(&t.url()),
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "80",
        "-y",
        "24",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    let pid: i32 = tmux.display("#{pane_pid}").parse().unwrap();
    tmux.wait_for("the history", |s| s.contains("cx-first.csv"));

    // q closes the help; it does not quit.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("Keys: Import history"));
    tmux.keys(&["q"]);
    tmux.wait_for("the help closed", |s| {
        !s.contains("Keys:") && s.contains("cx-first.csv")
    });
    assert!(alive(pid), "q in the help quit the console");

    // A dry run of the second file for seller cx.
    tmux.keys(&["i"]);
    tmux.wait_for("the form", |s| s.contains("New import"));
    tmux.type_text(&v2.to_string_lossy());
    tmux.keys(&["Down", "C-u"]);
    tmux.type_text("cx");
    tmux.keys(&["Down", "Down", "Down", "Down", "Down", "Enter"]);
    tmux.wait_for("the dry run's review", |s| {
        s.contains("1 to create, 1 to update") && s.contains("[ Import: 1 new, 1 updated ]")
    });
    // Meanwhile someone creates C3 by hand: the reviewed plan no longer holds.
    let client = t.client().await;
    client
        .execute(
            "INSERT INTO listings (seller_id, sku, title, price, currency, quantity, status, condition)
             VALUES ('cx', 'C3', 'By hand', 3.00, 'USD', 1, 'active', 'new')",
            &[],
        )
        .await
        .unwrap();
    let before = common::dump_listings(&t).await;
    tmux.keys(&["Right", "Enter"]);
    let screen = tmux.wait_for("the refusal", |s| s.contains("[ Dry run again ]"));
    assert!(
        screen.contains("The import was refused: nothing was changed"),
        "{screen}"
    );
    assert!(
        screen.contains("the plan changed since the dry run"),
        "{screen}"
    );
    assert_eq!(common::dump_listings(&t).await, before);
    // Dry run again (focused): the plan as it is now.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the new review", |s| {
        s.contains("[ Import: 0 new, 2 updated ]")
    });

    // The import waits for a row someone holds: Esc, confirm, cancelled.
    let mut holder = t.client().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM listings WHERE seller_id = 'cx' AND sku = 'C1' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    tmux.keys(&["Right", "Enter"]);
    tmux.wait_for("the import running", |s| s.contains("Esc cancel"));
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("the question", |s| s.contains("Cancel the import?"));
    assert!(screen.contains("[ Keep running ]"), "{screen}");
    tmux.keys(&["Right", "Enter"]);
    let screen = tmux.wait_for("the cancellation", |s| {
        s.contains("the import was cancelled; nothing was changed")
    });
    assert!(!screen.contains("Cancel the import?"), "{screen}");
    assert_eq!(common::dump_listings(&t).await, before);
    let (status, summary) = newest_cx(&client).await;
    assert_eq!(status, "failed");
    let summary = summary.unwrap();
    // Esc and its question: the user cancelled it.
    assert!(summary.starts_with("cancelled by "), "{summary}");
    assert!(!summary.contains("hung up"), "{summary}");

    // The same import again, the row still held: the focus is still on the
    // dry run's button. Then the terminal hangs up while it waits.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the review again", |s| {
        s.contains("[ Import: 0 new, 2 updated ]")
    });
    tmux.keys(&["Right", "Enter"]);
    tmux.wait_for("the import running again", |s| s.contains("Esc cancel"));
    let running = newest_cx(&client).await;
    assert_eq!(running.0, "running", "{running:?}");

    // A hang-up: the tmux session is killed; the console is gone within a second.
    assert!(alive(pid));
    assert!(tmux.cmd(&["kill-session", "-t", "e2e"]).status.success());
    let killed = Instant::now();
    while alive(pid) && killed.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = killed.elapsed();
    if alive(pid) {
        // Leave no orphan spinning on a dead terminal.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("importdesk {pid} still runs 3 s after the hang-up");
    }
    assert!(
        took < Duration::from_secs(1),
        "importdesk took {took:?} to end"
    );
    hold.rollback().await.unwrap();
    assert_eq!(common::dump_listings(&t).await, before);
    // Nobody pressed a key: the history says the terminal hung up, not that
    // the user cancelled.
    let (status, summary) = newest_cx(&client).await;
    assert_eq!(status, "failed");
    let summary = summary.unwrap();
    assert!(summary.contains("hung up"), "{summary}");
    assert!(!summary.starts_with("cancelled by "), "{summary}");
}

/// Seller cx's newest history row: (status, error_summary).
async fn newest_cx(client: &tokio_postgres::Client) -> (String, Option<String>) {
    let r = client
        .query_one(
            "SELECT status, error_summary FROM import_audit.imports
              WHERE seller_id = 'cx' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn sigterm_ends_the_console_at_once_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the end-to-end console test");
        return;
    }
    let t = TestDb::new().await;
    let (_d, v1) = csv_file(
        "term-first.csv",
        &format!("{NATIVE_HEADER}T1,One,,1.00,USD,1,active,new,,,\n"),
    );
    import_json(&t, &v1, "term", &[], 0);
    let tmux = Tmux {
        socket: format!("importdesk-e2e-term-{}", std::process::id()),
    };
    let script = format!(
        "env -u DATABASE_URL IMPORTDESK_DATA_DIR={files} TERM=xterm-256color {bin} --database-url {url}; \
         echo EXITED:$?; stty -a; sleep 120",
        files = shell_quote(&test_data_dir().join("files").to_string_lossy()),
        bin = shell_quote(env!("CARGO_BIN_EXE_importdesk")),
        url = shell_quote(&t.url()),
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "80",
        "-y",
        "24",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    tmux.wait_for("the history", |s| s.contains("term-first.csv"));
    let shell = tmux.display("#{pane_pid}");
    let child = Command::new("pgrep")
        .args(["-P", &shell, "-x", "importdesk"])
        .output()
        .unwrap();
    let pid: i32 = String::from_utf8_lossy(&child.stdout)
        .trim()
        .parse()
        .expect("the console's pid");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let sent = Instant::now();
    tmux.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    // `stty -a` prints after the exit line: wait for its local flags.
    let screen = tmux.wait_for("stty's output", |s| s.contains("icanon"));
    // Ended by SIGTERM (the shell reports 128 + 15), the terminal restored.
    assert!(screen.contains("EXITED:143"), "{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    let words: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "{screen}"
    );
}

/// Live: another process imports, then rolls back; the console shows each
/// within a second without a key press (the database notifies as it
/// commits; the console listens on a connection of its own).
#[tokio::test]
async fn another_process_imports_and_the_screen_shows_it_without_a_key() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the end-to-end console test");
        return;
    }
    let t = TestDb::new().await;
    let rows = "L1,One,,1.00,USD,1,active,new,,,\nL2,Two,,2.00,USD,2,active,new,,,\n";
    let (_d1, v1) = csv_file("live-first.csv", &format!("{NATIVE_HEADER}{rows}"));
    let (_d2, v2) = csv_file(
        "live-second.csv",
        &format!("{NATIVE_HEADER}L1,One,,1.50,USD,1,active,new,,,\n"),
    );
    import_json(&t, &v1, "live", &[], 0);

    let tmux = Tmux {
        socket: format!("importdesk-live-{}", std::process::id()),
    };
    let script = format!(
        "env -u DATABASE_URL IMPORTDESK_DATA_DIR={files} TERM=xterm-256color {bin} --database-url {url}; \
         echo EXITED:$?; sleep 120",
        files = shell_quote(&test_data_dir().join("files").to_string_lossy()),
        bin = shell_quote(env!("CARGO_BIN_EXE_importdesk")),
        url = shell_quote(&t.url()),
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "80",
        "-y",
        "24",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    tmux.wait_for("the history", |s| s.contains("live-first.csv"));
    // Let the listener connect (it starts with the console).
    std::thread::sleep(Duration::from_millis(500));

    let within_a_second = |what: &str, check: &dyn Fn(&str) -> bool| {
        let since = Instant::now();
        loop {
            let screen = tmux.screen();
            if check(&screen) {
                return since.elapsed();
            }
            if since.elapsed() > Duration::from_secs(1) {
                panic!("{what} not on screen a second later:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let second = import_json(&t, &v2, "live", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let took = within_a_second("the other process's import", &|s| {
        s.contains("live-second.csv")
    });
    eprintln!("import shown {took:?} after the other process finished");

    let run = t.cli(&["rollback", &second.to_string(), "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    within_a_second("the other process's rollback", &|s| {
        s.lines()
            .any(|l| l.contains("live-second.csv") && l.contains("rolled back"))
    });

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "{screen}");
}

#[tokio::test]
async fn ctrl_z_suspends_and_fg_brings_the_console_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the end-to-end console test");
        return;
    }
    let t = TestDb::new().await;
    let (_d, v1) = csv_file(
        "tstp-first.csv",
        &format!("{NATIVE_HEADER}Z1,One,,1.00,USD,1,active,new,,,\n"),
    );
    import_json(&t, &v1, "tstp", &[], 0);
    let tmux = Tmux {
        socket: format!("importdesk-e2e-tstp-{}", std::process::id()),
    };
    // An interactive shell with job control, as a person has.
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "80",
        "-y",
        "24",
        "env PS1='$ ' bash --norc --noprofile -i",
    ]);
    assert!(out.status.success(), "{out:?}");
    tmux.wait_for("the prompt", |s| s.lines().any(|l| l.trim_end() == "$"));
    tmux.type_text(&format!(
        "env -u DATABASE_URL IMPORTDESK_DATA_DIR={files} TERM=xterm-256color {bin} --database-url {url}",
        files = shell_quote(&test_data_dir().join("files").to_string_lossy()),
        bin = shell_quote(env!("CARGO_BIN_EXE_importdesk")),
        url = shell_quote(&t.url()),
    ));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the history", |s| s.contains("tstp-first.csv"));

    tmux.keys(&["C-z"]);
    let screen = tmux.wait_for("the shell", |s| s.contains("Stopped"));
    assert_eq!(tmux.display("#{alternate_on}"), "0", "{screen}");
    tmux.type_text("fg");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the console, redrawn", |s| {
        s.contains("tstp-first.csv") && s.contains("Import history")
    });
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    // It still answers keys.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("Keys: Import history"));
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.display("#{alternate_on}") != "0" {
        assert!(Instant::now() < deadline, "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    tmux.type_text("echo EXITED:$?");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the exit", |s| s.contains("EXITED:0"));
    assert!(!screen.contains("Import history"), "{screen}");
}
