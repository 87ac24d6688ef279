//! The bad-input corpus (`fixtures/bad/README.md`): every case gets its
//! documented outcome, never a panic, and a rejected file changes nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{TestDb, count, csv_file};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bad")
        .join(name)
}

/// Imports `path`; asserts the exit code and that the first error mentions
/// every `needles`; for rejections, asserts nothing changed and history says failed.
async fn check(
    t: &TestDb,
    path: &Path,
    code: i32,
    needles: &[&str],
    line: Option<u64>,
) -> serde_json::Value {
    let run = t.cli(&[
        "import",
        path.to_str().unwrap(),
        "--seller",
        "acme",
        "--json",
    ]);
    assert_eq!(
        run.code,
        code,
        "{}: {}\n{}",
        path.display(),
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let out = run.json();
    if code == 4 {
        let first = &out["errors"][0];
        let reason = first["reason"].as_str().unwrap_or_default();
        for needle in needles {
            assert!(
                reason.contains(needle),
                "{}: {reason:?} lacks {needle:?}",
                path.display()
            );
        }
        if let Some(line) = line {
            assert_eq!(
                first["line"].as_u64(),
                Some(line),
                "{}: {first}",
                path.display()
            );
        }
        assert_eq!(out["status"], "failed");
        assert_eq!(count(t, "SELECT count(*) FROM listings").await, 0);
        assert_eq!(
            count(t, "SELECT count(*) FROM import_audit.log_listings").await,
            0
        );
        let id = out["import_id"]
            .as_i64()
            .expect("a failed import has a history entry");
        let show = t.cli(&["show", &id.to_string(), "--json"]).json();
        assert_eq!(show["status"], "failed");
    }
    out
}

#[tokio::test]
async fn rejected_files_name_the_problem_and_change_nothing() {
    let t = TestDb::new().await;
    check(&t, &corpus("empty.csv"), 4, &["the file is empty"], None).await;
    check(
        &t,
        &corpus("header_only.csv"),
        4,
        &["no listing rows"],
        None,
    )
    .await;
    check(
        &t,
        &corpus("ragged_rows.csv"),
        4,
        &["the row has 3 fields but the header has 11"],
        Some(3),
    )
    .await;
    check(
        &t,
        &corpus("unterminated_quote.csv"),
        4,
        &["closing quote missing"],
        Some(3),
    )
    .await;
    let latin = check(
        &t,
        &corpus("latin1.csv"),
        4,
        &["not valid UTF-8", "0xE9", "iconv"],
        Some(2),
    )
    .await;
    assert_eq!(latin["errors"][0]["column"], 2);
    let dup = check(
        &t,
        &corpus("duplicate_keys.csv"),
        4,
        &["duplicate key \"A-1\"", "line 4"],
        Some(2),
    )
    .await;
    assert!(
        dup["errors"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );
    let garbage = check(&t, &corpus("binary_garbage.bin"), 4, &[], None).await;
    let reason = garbage["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("UTF-8") || reason.contains("NUL") || reason.contains("columns"),
        "{reason}"
    );
    assert!(garbage["errors"][0]["line"].is_u64());
}

#[tokio::test]
async fn a_one_megabyte_field_is_rejected_by_its_limit() {
    let t = TestDb::new().await;
    let csv = format!(
        "{}A-1,Lamp,{},19.99,USD,1,active,,,,\n",
        common::NATIVE_HEADER,
        "x".repeat(1024 * 1024)
    );
    let (_dir, path) = csv_file("huge_field.csv", &csv);
    let out = check(&t, &path, 4, &[], Some(2)).await;
    assert_eq!(out["errors"][0]["column"], 3);
}

#[tokio::test]
async fn a_million_columns_header_is_refused_quickly() {
    let t = TestDb::new().await;
    let header: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let csv = format!("{}\n{}\n", header.join(","), vec!["1"; 1_000_000].join(","));
    let (_dir, path) = csv_file("wide.csv", &csv);
    check(&t, &path, 4, &["1000000 columns", "at most"], Some(1)).await;
}

#[tokio::test]
async fn bom_semicolons_and_crlf_import_cleanly() {
    let t = TestDb::new().await;
    let out = check(&t, &corpus("bom_semicolons.csv"), 0, &[], None).await;
    assert_eq!(out["counts"]["created"], 2);
    let title: String = t
        .client()
        .await
        .query_one(
            "SELECT title || '|' || description FROM listings WHERE sku = 'A-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "Lamp, brass|Says \"hi\"; twice");
}

#[tokio::test]
async fn formula_payloads_are_stored_as_data() {
    let t = TestDb::new().await;
    let out = check(&t, &corpus("formula_payload.csv"), 0, &[], None).await;
    assert_eq!(out["counts"]["created"], 2);
    let title: String = t
        .client()
        .await
        .query_one("SELECT title FROM listings WHERE sku = 'A-1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "=HYPERLINK(\"http://evil.example\",\"click\")");
}

#[tokio::test]
async fn escape_sequences_are_stored_verbatim_but_never_printed_raw() {
    let t = TestDb::new().await;
    check(&t, &corpus("escape_payload.csv"), 0, &[], None).await;
    let title: String = t
        .client()
        .await
        .query_one("SELECT title FROM listings WHERE sku = 'A-1'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(title.contains('\u{1b}'));
    // A hostile file name and hostile values, printed for a person.
    let (_dir, path) = csv_file(
        "evil\u{1b}[2Jname.csv",
        &std::fs::read_to_string(corpus("escape_payload.csv"))
            .unwrap()
            .replace("A-1", "A-2"),
    );
    let run = t.cli(&[
        "import",
        path.to_str().unwrap(),
        "--seller",
        "acme",
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("evil␛[2Jname.csv"), "{}", run.stdout);
    // Imported for real, the hostile name is in the history: shown, neutralised.
    let run = t.cli(&["import", path.to_str().unwrap(), "--seller", "acme"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    let history = t.cli(&["history"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(!history.stdout.contains('\u{1b}'), "{:?}", history.stdout);
    assert!(
        history.stdout.contains("evil␛[2Jname.csv"),
        "{}",
        history.stdout
    );
}
