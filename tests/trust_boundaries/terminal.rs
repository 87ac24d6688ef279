//! Nothing stored in the database reaches a terminal raw, whichever command
//! or screen shows it; passwords in database URLs are never shown or logged.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{TestDb, test_data_dir};
use crate::{Invocation, import_as_owner, listings_file};

/// What a hostile role could have stored before the database refused it
/// (rows written by an older version stay as they are).
const OSC52_AND_CLEAR: &str = "\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J";
const HIDDEN: &str = "ok\u{202e}gnp.exe\u{200b}\u{2066}\u{feff}\u{2028}\u{9b}31m";

/// Characters of `text` (line breaks aside) that act on a terminal or hide
/// from the reader: the test's own list, not importdesk's.
fn raw_dangerous(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            c != '\n'
                && (c.is_control()
                    || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
                        | '\u{2060}'..='\u{2069}' | '\u{FEFF}'))
        })
        .collect()
}

async fn store_hostile_rows(t: &TestDb) -> i64 {
    let (_d, file) = listings_file("H", 1);
    let id = import_as_owner(t, &file, "seller-h");
    let c = t.client().await;
    // The owner writes what a seller role could store on an unprotected
    // database; the closed set of actions is widened for that.
    c.batch_execute(&format!(
        "DO $$ BEGIN
           IF to_regclass('import_audit.audit_actions') IS NOT NULL THEN
             INSERT INTO import_audit.audit_actions VALUES ($h${OSC52_AND_CLEAR}$h$);
           END IF;
         END $$;"
    ))
    .await
    .unwrap();
    c.execute(
        "INSERT INTO import_audit.audit_log (actor, db_role, action, seller_id, import_id, details)
         VALUES ($1, $2, $3, $4, $5, jsonb_build_object('note', $1::text))",
        &[&HIDDEN, &HIDDEN, &OSC52_AND_CLEAR, &HIDDEN, &id],
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE import_audit.imports SET file_sha256 = $1, file_name = $2, actor = $2,
                rolled_back_by = $2
          WHERE id = $3",
        &[&OSC52_AND_CLEAR, &HIDDEN, &id],
    )
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn nothing_stored_reaches_the_terminal_raw_from_the_cli() {
    let t = TestDb::new().await;
    let id = store_hostile_rows(&t).await;
    for args in [
        vec!["audit"],
        vec!["history"],
        vec!["show", &id.to_string()],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let run = Invocation::on(&t.url(), &args).run();
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.all());
        assert_eq!(raw_dangerous(&run.all()), [], "{args:?}:\n{}", run.all());
        assert!(run.stdout.contains("<U+202E>"), "{args:?}:\n{}", run.stdout);
    }
    let show = Invocation::on(&t.url(), &["show", &id.to_string()]).run();
    assert!(
        show.stdout.contains("␛]52;c;cHduZWQ=␇␛[2J"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("<U+200B><U+2066><U+FEFF><U+2028><U+009B>31m")
    );

    // JSON for scripts: the same data, escaped so a terminal shows text.
    for args in [
        vec!["audit", "--json"],
        vec!["show", &id.to_string(), "--json"],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let run = Invocation::on(&t.url(), &args).run();
        assert_eq!(raw_dangerous(&run.stdout), [], "{args:?}:\n{}", run.stdout);
        let doc = run.json();
        let text = doc.to_string();
        assert!(text.contains("gnp.exe"), "{text}");
    }
    let audit = Invocation::on(&t.url(), &["audit", "--json"]).run().json();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == OSC52_AND_CLEAR && e["actor"] == HIDDEN)
    );

    // Errors: an ineligible rollback quotes who rolled it back.
    t.client()
        .await
        .execute(
            "UPDATE import_audit.imports SET status = 'rolled_back', rolled_back_at = now()
              WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let refused = Invocation::on(&t.url(), &["rollback", &id.to_string(), "--yes"]).run();
    assert_eq!(refused.code, Some(3), "{}", refused.all());
    assert!(refused.stderr.contains("<U+202E>"), "{}", refused.stderr);
    assert_eq!(raw_dangerous(&refused.all()), [], "{}", refused.all());
}

#[tokio::test]
async fn nothing_stored_reaches_the_terminal_raw_from_the_console() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the console part");
        return;
    }
    let t = TestDb::new().await;
    store_hostile_rows(&t).await;
    let socket = format!("idtrust-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .output()
            .expect("tmux")
    };
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    // The console starts a moment later, once tmux accepts clipboard writes
    // (so that an OSC 52 reaching the terminal would leave a buffer).
    let script = format!(
        "sleep 1; env -u DATABASE_URL IMPORTDESK_DATA_DIR={} TERM=xterm-256color {} --database-url {}; sleep 60",
        quote(&test_data_dir().join("files").to_string_lossy()),
        quote(env!("CARGO_BIN_EXE_importdesk")),
        quote(&t.url()),
    );
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "30",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    tmux(&["set-option", "-g", "set-clipboard", "on"]);
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what:?} on the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // The history shows the hostile file name made visible...
    let history = wait_for("<U+202E>");
    // ...and the audit log its action, as visible characters.
    tmux(&["send-keys", "-t", "t", "a"]);
    let audit = wait_for("␛]52");
    assert!(history.contains("gnp.exe"), "{history}");
    assert!(
        audit.contains("action") && audit.contains("details"),
        "{audit}"
    );
    let buffers = String::from_utf8_lossy(&tmux(&["list-buffers"]).stdout).into_owned();
    assert!(
        buffers.trim().is_empty(),
        "an OSC 52 reached the terminal: {buffers}"
    );
    tmux(&["kill-server"]);
}

#[tokio::test]
async fn passwords_in_database_urls_are_never_shown_or_logged() {
    let t = TestDb::new().await;
    let files = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-Pw";
    // The embedded cluster trusts its socket, so any password connects.
    let with_param = format!("{}&password={secret}", t.url());
    let with_userinfo = t.url().replacen(
        "postgresql://",
        &format!("postgresql://postgres:pa@{secret}@"),
        1,
    );
    // Badly percent-encoded: an error must not quote it either.
    let broken = t.url().replacen(
        "postgresql://",
        &format!("postgresql://postgres:{secret}%zz@"),
        1,
    );
    let broken_param = format!("{}&password={secret}%zz", t.url());
    for url in [with_param, with_userinfo, broken, broken_param] {
        for args in [
            vec!["db", "status"],
            vec!["db", "status", "--json"],
            vec!["db", "url"],
        ] {
            let run = Invocation::on(&url, &args)
                .files_dir(Some(files.path().to_path_buf()))
                .run();
            assert!(!run.all().contains(secret), "{url} {args:?}: {}", run.all());
            assert!(!run.all().contains("pa@"), "{url} {args:?}: {}", run.all());
        }
    }
    let log = std::fs::read_to_string(files.path().join("logs/importdesk.log")).unwrap();
    assert!(log.contains("importdesk started"), "{log}");
    assert!(!log.contains(secret), "{log}");
}
