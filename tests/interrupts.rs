//! The CLI's import, interrupted and pinned, from the outside: the real
//! binary gets SIGTERM while its import waits on the server (for a row
//! another session locked) and must end promptly by that signal with
//! nothing changed and the history saying what stopped it (SIGTERM, Ctrl-C,
//! a hung-up terminal: not "cancelled by" the user); a rollback stopped the
//! same way changes nothing and leaves `rollback cancelled` in the audit
//! log; `import --dry-run`
//! prints a plan fingerprint that `import --expect` holds the import to.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{NATIVE_HEADER, TestDb, csv_file, dump_listings, import_json, test_data_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Starts `importdesk import FILE --seller SELLER --json` in the background.
fn spawn_import(t: &TestDb, file: &Path, seller: &str) -> Child {
    spawn_cli(
        t,
        &[
            "import",
            file.to_str().unwrap(),
            "--seller",
            seller,
            "--json",
        ],
    )
}

/// Starts `importdesk ARGS` on the test database in the background.
fn spawn_cli(t: &TestDb, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .arg("--database-url")
        .arg(t.url())
        .args(args)
        .env_remove("DATABASE_URL")
        .env(importdesk::config::SYSTEM_CONFIG_ENV, "")
        .env("IMPORTDESK_DATA_DIR", test_data_dir().join("files"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn importdesk")
}

/// Waits until some session of the test database waits for a lock.
async fn wait_for_a_lock_wait(t: &TestDb, what: &str) {
    let c = t.client().await;
    assert!(
        common::session::a_backend_waits_on_a_lock(&c).await,
        "{what} never waited"
    );
}

/// Waits for `child` to end, `limit` at most; panics (killing it) if not.
fn wait_ended(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("importdesk did not end within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The newest history row of `seller`: (status, error_summary).
async fn newest_import(t: &TestDb, seller: &str) -> Option<(String, Option<String>)> {
    t.client()
        .await
        .query_opt(
            "SELECT status, error_summary FROM import_audit.imports
              WHERE seller_id = $1 ORDER BY id DESC LIMIT 1",
            &[&seller],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1)))
}

/// Waits until the seller's newest import is `running` (it holds the lock).
async fn wait_running(t: &TestDb, seller: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while newest_import(t, seller).await.map(|(s, _)| s).as_deref() != Some("running") {
        assert!(Instant::now() < deadline, "the import never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows(prices: &[(&str, &str)]) -> String {
    let mut csv = NATIVE_HEADER.to_string();
    for (sku, price) in prices {
        csv.push_str(&format!("{sku},Item {sku},,{price},USD,1,active,new,,,\n"));
    }
    csv
}

/// The import stopped by `sig` left everything as it was, ended by that
/// signal, and its history row says what stopped it (`says`).
async fn assert_cancelled(
    t: &TestDb,
    seller: &str,
    before: &[String],
    status: ExitStatus,
    sig: Signal,
    says: &str,
) {
    assert_eq!(status.signal(), Some(sig as i32), "{status:?}");
    assert_eq!(dump_listings(t).await, before, "listings changed");
    let (state, summary) = newest_import(t, seller).await.unwrap();
    assert_eq!(state, "failed");
    let summary = summary.unwrap();
    assert!(
        summary.contains(says) && summary.contains("nothing was changed"),
        "{summary}"
    );
    // The seller's lock is free again: the next import runs.
    let (_d, again) = csv_file("again.csv", &rows(&[("A1", "9.00")]));
    let o = import_json(t, &again, seller, &[], 0);
    assert_eq!(o["status"], "completed");
}

#[tokio::test]
async fn sigterm_while_an_import_waits_for_a_locked_row() {
    interrupt_a_waiting_import(Signal::SIGTERM, "cancelled by SIGTERM").await;
}

#[tokio::test]
async fn a_hang_up_while_an_import_waits_is_recorded_as_one() {
    interrupt_a_waiting_import(Signal::SIGHUP, "the terminal of").await;
}

#[tokio::test]
async fn ctrl_c_while_an_import_waits_is_recorded_as_ctrl_c() {
    interrupt_a_waiting_import(Signal::SIGINT, "cancelled with Ctrl-C (SIGINT)").await;
}

/// An import waiting on the server for a row another session holds gets
/// `sig`: it ends promptly by that signal, changes nothing, and its history
/// row contains `says`.
async fn interrupt_a_waiting_import(sig: Signal, says: &str) {
    let t = TestDb::new().await;
    let (_d, first) = csv_file("first.csv", &rows(&[("A1", "1.00"), ("A2", "2.00")]));
    import_json(&t, &first, "sig", &[], 0);
    let before = dump_listings(&t).await;

    // Another session holds A1: the import's UPDATE waits on the server.
    let mut holder = t.client().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM listings WHERE seller_id = 'sig' AND sku = 'A1' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    let (_d2, second) = csv_file("second.csv", &rows(&[("A1", "1.50"), ("A3", "3.00")]));
    let mut child = spawn_import(&t, &second, "sig");
    wait_running(&t, "sig").await;
    // Wait until it really waits for the row lock.
    wait_for_a_lock_wait(&t, "the import").await;

    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    // It ends while the row is still held: the server cancelled its UPDATE.
    let status = wait_ended(&mut child, Duration::from_secs(3));
    hold.rollback().await.unwrap();
    assert_cancelled(&t, "sig", &before, status, sig, says).await;
}

#[tokio::test]
async fn sigterm_while_a_rollback_waits_changes_nothing_and_is_audited() {
    let t = TestDb::new().await;
    let (_d, first) = csv_file("first.csv", &rows(&[("R1", "1.00"), ("R2", "2.00")]));
    import_json(&t, &first, "rb", &[], 0);
    let (_d2, second) = csv_file("second.csv", &rows(&[("R1", "1.50"), ("R3", "3.00")]));
    let id = import_json(&t, &second, "rb", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let before = dump_listings(&t).await;

    // Another session holds R1: the rollback's restoring UPDATE waits.
    let mut holder = t.client().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM listings WHERE seller_id = 'rb' AND sku = 'R1' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    let mut child = spawn_cli(&t, &["rollback", &id.to_string(), "--yes", "--json"]);
    wait_for_a_lock_wait(&t, "the rollback").await;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_ended(&mut child, Duration::from_secs(3));
    hold.rollback().await.unwrap();

    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32), "{status:?}");
    assert_eq!(dump_listings(&t).await, before, "listings changed");
    let client = t.client().await;
    let state: String = client
        .query_one(
            "SELECT status FROM import_audit.imports WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "completed", "the import is still applied");
    // The audit log says a rollback was stopped, and by what.
    let (action, details): (String, serde_json::Value) = {
        let r = client
            .query_one(
                "SELECT action, details FROM import_audit.audit_log
                  WHERE import_id = $1 ORDER BY id DESC LIMIT 1",
                &[&id],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(action, "rollback cancelled");
    assert_eq!(details["cause"], "terminated", "{details}");
    let summary = details["message"].as_str().unwrap();
    assert!(summary.contains("cancelled by SIGTERM"), "{summary}");
    // The rollback runs once nobody holds the row.
    let done = t.cli(&["rollback", &id.to_string(), "--yes", "--json"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
}

#[tokio::test]
async fn expect_holds_the_import_to_the_dry_run() {
    let t = TestDb::new().await;
    let (_d, first) = csv_file("first.csv", &rows(&[("P1", "1.00"), ("P2", "2.00")]));
    import_json(&t, &first, "pin", &[], 0);
    let (_d2, second) = csv_file("second.csv", &rows(&[("P1", "1.50"), ("P3", "3.00")]));
    let file = second.to_str().unwrap();

    // The dry run prints its fingerprint, in words and in JSON.
    let dry = t.cli(&["import", file, "--seller", "pin", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let plan = import_json(&t, &second, "pin", &["--dry-run"], 0)["plan_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        dry.stdout.contains(&format!("--expect {plan}")),
        "{}",
        dry.stdout
    );

    // Someone changes what the plan would do (P3 now exists): refused, exit 3.
    t.client()
        .await
        .execute(
            "INSERT INTO listings (seller_id, sku, title, price, currency, quantity, status, condition)
             VALUES ('pin', 'P3', 'Hand made', 3.00, 'USD', 1, 'active', 'new')",
            &[],
        )
        .await
        .unwrap();
    let before = dump_listings(&t).await;
    let refused = t.cli(&["import", file, "--seller", "pin", "--expect", &plan]);
    assert_eq!(refused.code, 3, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the plan changed since the dry run"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("dry run again"),
        "{}",
        refused.stderr
    );
    assert_eq!(dump_listings(&t).await, before);
    let (state, summary) = newest_import(&t, "pin").await.unwrap();
    assert_eq!(state, "failed");
    assert!(summary.unwrap().contains("refused"));

    // A new dry run pins the plan as it is now; that import runs.
    let plan = import_json(&t, &second, "pin", &["--dry-run"], 0)["plan_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let done = import_json(&t, &second, "pin", &["--expect", &plan], 0);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["plan_fingerprint"], plan.as_str());

    // The file changed since the dry run: refused, exit 3, nothing changed.
    let plan = import_json(&t, &second, "pin", &["--dry-run"], 0)["plan_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&second, rows(&[("P1", "1.75")])).unwrap();
    let before = dump_listings(&t).await;
    let refused = t.cli(&["import", file, "--seller", "pin", "--expect", &plan]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the file changed since the dry run")
    );
    assert_eq!(dump_listings(&t).await, before);
}
