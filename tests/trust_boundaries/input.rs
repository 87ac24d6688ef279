//! Hostile or broken input files and arguments: refused clearly, before
//! anything is written, and quoted only briefly in what is stored.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use crate::common::{NATIVE_HEADER, TestDb, count, csv_file};
use crate::{Invocation, Run};

fn import(t: &TestDb, path: &str, seller: &str, extra: &[&str]) -> Run {
    let mut args = vec!["import", path, "--seller", seller];
    args.extend_from_slice(extra);
    Invocation::on(&t.url(), &args)
        .deadline(Duration::from_secs(60))
        .run()
}

#[tokio::test]
async fn a_repeated_header_name_is_refused_naming_both_columns() {
    let t = TestDb::new().await;
    let (_d, file) = csv_file("dup.csv", "sku,price,title,Price\nD1,1.00,One,2.00\n");
    let run = import(&t, file.to_str().unwrap(), "seller-d", &["--json"]);
    assert_eq!(run.code, Some(4), "{}", run.all());
    let reason = run.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("columns 2 (\"price\") and 4 (\"Price\")"),
        "{reason}"
    );
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
}

#[tokio::test]
async fn only_regular_files_are_read() {
    let t = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.csv");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();

    // A FIFO nobody writes to: no hang.
    let run = import(&t, fifo.to_str().unwrap(), "seller-f", &[]);
    assert_eq!(run.code, Some(4), "it must end, not hang: {}", run.all());
    assert!(
        run.stdout.contains("named pipe (FIFO), not a regular file"),
        "{}",
        run.stdout
    );

    // A FIFO with a writer (and data waiting) is refused the same way.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&fifo)
        .unwrap();
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer
        .write_all(format!("{NATIVE_HEADER}F1,x,,1,USD,1,active,,,,\n").as_bytes())
        .unwrap();
    let run = import(&t, fifo.to_str().unwrap(), "seller-f", &[]);
    assert_eq!(run.code, Some(4), "{}", run.all());
    assert!(run.stdout.contains("not a regular file"), "{}", run.stdout);
    drop((reader, writer));

    for device in ["/dev/zero", "/dev/urandom"] {
        let run = import(&t, device, "seller-f", &[]);
        assert_eq!(run.code, Some(4), "{device}: {}", run.all());
        assert!(
            run.stdout
                .contains("a character device, not a regular file"),
            "{}",
            run.stdout
        );
    }
    assert_eq!(count(&t, "SELECT count(*) FROM listings").await, 0);
}

#[tokio::test]
async fn seller_ids_are_checked_before_any_history_row_is_written() {
    let t = TestDb::new().await;
    let (_d, file) = csv_file(
        "s.csv",
        &format!("{NATIVE_HEADER}S1,One,,1.00,USD,1,active,,,,\n"),
    );
    let path = file.to_str().unwrap();
    let long = "x".repeat(65);
    for (seller, why) in [
        ("", "empty"),
        ("   ", "empty"),
        (long.as_str(), "longer than 64"),
        ("ac\u{1b}[2Jme", "control or invisible"),
        ("ac\u{202e}me", "control or invisible"),
    ] {
        let run = import(&t, path, seller, &[]);
        assert_eq!(run.code, Some(2), "{seller:?}: {}", run.all());
        assert!(run.stderr.contains(why), "{seller:?}: {}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    }
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.imports").await,
        0
    );
    // Surrounding spaces are trimmed, not kept.
    let run = import(&t, path, "  acme  ", &["--json"]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(run.json()["seller"], "acme");
    assert_eq!(
        count(&t, "SELECT count(*) FROM listings WHERE seller_id = 'acme'").await,
        1
    );
}

/// The database's own check of a seller id (behind the CLI's) refuses blanks
/// around it and control characters, and nothing else: V12's trim list
/// held `\v`, which PostgreSQL reads as the letter v, so "vendor" and
/// "dev" could not begin an import.
#[tokio::test]
async fn seller_ids_beginning_or_ending_in_v_are_imported() {
    let t = TestDb::new().await;
    let (_d, file) = csv_file(
        "v.csv",
        &format!("{NATIVE_HEADER}V1,One,,1.00,USD,1,active,,,,\n"),
    );
    for seller in ["vendor", "dev", "v"] {
        let run = import(&t, file.to_str().unwrap(), seller, &[]);
        assert_eq!(run.code, Some(0), "{seller}: {}", run.all());
        let sql = format!("SELECT count(*) FROM listings WHERE seller_id = '{seller}'");
        assert_eq!(count(&t, &sql).await, 1, "{seller}");
    }
    let c = t.client().await;
    for refused in [" vendor", "vendor ", "\u{b}vendor", "ven\tdor", ""] {
        let err = c
            .execute(
                "SELECT import_audit.require_seller_id_shape($1)",
                &[&refused],
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
            "{refused:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_history_quotes_only_a_short_neutralised_prefix_of_the_file() {
    let t = TestDb::new().await;
    let huge = format!("\u{1b}]52;c;{}\u{7}", "9".repeat(200_000));
    let header_bomb = format!("Z{}", "h".repeat(100_000));
    let (_d, file) = csv_file(
        "huge.csv",
        &format!("sku,title,price,{header_bomb}\nH1,One,\"{huge}\",x\nH2,Two,\"{huge}\",y\n"),
    );
    let run = import(&t, file.to_str().unwrap(), "seller-h", &[]);
    assert_eq!(run.code, Some(4), "{}", run.all());
    let row = t
        .client()
        .await
        .query_one(
            "SELECT errors::text, unknown_columns::text, coalesce(error_summary, '')
               FROM import_audit.imports ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    for i in 0..3 {
        let stored: String = row.get(i);
        assert!(
            stored.len() < 2_000,
            "{} bytes stored: {}…",
            stored.len(),
            &stored[..200.min(stored.len())]
        );
        assert!(
            !stored.contains('\u{1b}') && !stored.contains("\\u001b"),
            "{stored}"
        );
    }
    let errors: String = row.get(0);
    assert!(errors.contains("9999"), "the prefix is kept: {errors}");
    assert!(
        run.stdout.len() < 20_000,
        "{} bytes printed",
        run.stdout.len()
    );
}
