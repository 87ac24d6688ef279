//! Finding a SKU in a large dry run's review, against a real database:
//! keys go through `update` and the real worker. The dry run keeps its
//! planned updates on its own session while the review is open, and `/`,
//! `G` and `g` ask it for one page by key, so the console never holds the
//! whole plan. 3,000 listings of which 2,572 change stand in for the
//! 90,000 of a real catalogue: the queries are the same keyset pages.

mod common;

use common::console::{Driver, masked};
use common::{NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json};
use crossterm::event::KeyCode;
use importdesk::tui::action::Action;
use importdesk::tui::screen::import::FormPhase;
use importdesk::tui::screen::import::review::{REVIEW_PAGE, ReviewPages};

const LISTINGS: usize = 3000;
/// Every seventh listing keeps its price in the second file.
const UPDATED: u64 = 3000 - 3000 / 7;

impl Driver {
    fn review(&self) -> (&ReviewPages, usize) {
        match &self.state.form.phase {
            FormPhase::Reviewed { pages, outcome, .. } => {
                (pages, outcome.changes.as_ref().map_or(0, Vec::len))
            }
            other => panic!("no review: {other:?}\n{}", self.screen()),
        }
    }

    fn first_shown(&self) -> String {
        self.shown_skus().first().cloned().unwrap_or_default()
    }

    fn last_shown(&self) -> String {
        self.shown_skus().last().cloned().unwrap_or_default()
    }

    /// `/`, the SKU or its beginning, Enter.
    async fn find(&mut self, prefix: &str) {
        self.key(KeyCode::Char('/')).await;
        self.type_text(prefix).await;
        self.key(KeyCode::Enter).await;
    }
}

/// `LISTINGS` listings; `version` 2 changes every price but every
/// seventh.
fn catalogue(version: u32) -> String {
    let mut csv = NATIVE_HEADER.to_string();
    for i in 1..=LISTINGS {
        let cents = if version == 2 && i % 7 != 0 { 50 } else { 0 };
        csv.push_str(&format!(
            "SKU-{i:05},Listing {i},,{i}.{cents:02},USD,1,active,new,,,\n"
        ));
    }
    csv
}

/// What a dry run must leave alone: the listings, the change log, the
/// history.
async fn written(t: &TestDb) -> (Vec<String>, i64, i64) {
    (
        dump_listings(t).await,
        count(t, "SELECT count(*) FROM import_audit.log_listings").await,
        count(t, "SELECT count(*) FROM import_audit.imports").await,
    )
}

/// A console at 80x24 reviewing the dry run of `file` for seller s1.
async fn review_of(t: &TestDb, file: &std::path::Path) -> Driver {
    let mut d = Driver::new(&t.db);
    dry_run(&mut d, file, "s1").await;
    d
}

/// Runs the dry run of `file` from the form, typing `seller` into the
/// seller field.
async fn dry_run(d: &mut Driver, file: &std::path::Path, seller: &str) {
    d.act(Action::Resize(80, 24)).await;
    d.act(Action::Init).await;
    d.key(KeyCode::Char('i')).await;
    d.type_text(file.to_str().unwrap()).await;
    d.key(KeyCode::Down).await;
    d.type_text(seller).await;
    for _ in 0..5 {
        d.key(KeyCode::Down).await;
    }
    d.key(KeyCode::Enter).await;
}

async fn price(t: &TestDb, sku: &str) -> Vec<String> {
    let sql = format!("SELECT price::text FROM listings WHERE seller_id = 's1' AND sku = '{sku}'");
    common::texts(t, &sql).await
}

/// The frame without the line that says how long the dry run took.
fn stable(screen: &str) -> String {
    masked(screen, " Time      ", "\" Time      (how long)\"")
}

/// The two catalogues, the first imported for each of `sellers`.
struct Catalogues {
    _dirs: [tempfile::TempDir; 2],
    v2: std::path::PathBuf,
}

fn imported(t: &TestDb, sellers: &[&str]) -> Catalogues {
    let (d1, v1) = csv_file("v1.csv", &catalogue(1));
    let (d2, v2) = csv_file("v2.csv", &catalogue(2));
    for seller in sellers {
        import_json(t, &v1, seller, &[], 0);
    }
    Catalogues {
        _dirs: [d1, d2],
        v2,
    }
}

#[tokio::test]
async fn slash_finds_a_sku_and_g_goes_to_the_real_end_of_a_large_dry_run() {
    let t = TestDb::new().await;
    let files = imported(&t, &["s1"]);
    let before = written(&t).await;
    let mut d = review_of(&t, &files.v2).await;
    let FormPhase::Reviewed { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}\n{}", d.state.form.phase, d.screen())
    };
    assert_eq!(outcome.counts.updated, UPDATED, "{}", d.screen());
    assert_eq!(d.review().1, REVIEW_PAGE as usize);
    assert!(!d.review().0.exhausted && !d.review().0.cut_above);
    // The dry run wrote nothing, and its plan is its own session's: another
    // session cannot read it.
    assert_eq!(written(&t).await, before);
    let other = t.client().await;
    let err = other
        .query("SELECT count(*) FROM dry_run_review", &[])
        .await
        .expect_err("another session read the review's table");
    let message = err.as_db_error().map(|e| e.message().to_string());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("does not exist")),
        "{err:?}"
    );

    // The help lists the keys, the footer `/`.
    assert!(d.screen().contains("/ find"), "{}", d.screen());
    d.key(KeyCode::Char('?')).await;
    let help = d.screen();
    assert!(
        help.contains("find a SKU (or its beginning) among the updates; g and G: the"),
        "{help}"
    );
    d.key(KeyCode::Char('?')).await;

    // `/` then the beginning of a SKU, Enter: the list starts at it.
    d.key(KeyCode::Char('/')).await;
    assert!(d.screen().contains("Find the SKU beginning with: "));
    d.type_text("SKU-025").await;
    d.key(KeyCode::Enter).await;
    assert_eq!(d.first_shown(), "SKU-02500", "{}", d.screen());
    assert!(d.screen().contains("found SKU-02500"), "{}", d.screen());
    // The console holds a page around it, not the 2,000 updates before it.
    assert!(d.review().1 <= REVIEW_PAGE as usize);
    insta::assert_snapshot!("review_find_sku", stable(&d.screen()));

    // Scrolling up reads the updates before it (2,499 keeps its price).
    d.key(KeyCode::Up).await;
    assert_eq!(d.first_shown(), "SKU-02498", "{}", d.screen());
    assert!(d.review().1 <= 2 * REVIEW_PAGE as usize);
    // `t` still toggles the timestamps.
    d.key(KeyCode::Char('t')).await;
    assert!(d.screen().contains("are hidden in diffs"), "{}", d.screen());

    // `G`: the last update of all 2,572, not of what was loaded.
    d.key(KeyCode::Char('G')).await;
    assert_eq!(d.last_shown(), "SKU-03000", "{}", d.screen());
    let (pages, loaded) = d.review();
    assert!(loaded <= REVIEW_PAGE as usize);
    assert!(pages.cut_above && pages.exhausted);
    // Down at the end stays there.
    d.key(KeyCode::Down).await;
    assert_eq!(d.last_shown(), "SKU-03000");

    // `g`: back to the first.
    d.key(KeyCode::Char('g')).await;
    assert_eq!(d.first_shown(), "SKU-00001", "{}", d.screen());
    assert!(!d.review().0.cut_above);

    // A SKU that is not there says so; the list stays.
    d.find("NOPE").await;
    let screen = d.screen();
    assert!(
        screen.contains("no SKU beginning with \"NOPE\" among the 2,572"),
        "{screen}"
    );
    assert_eq!(d.first_shown(), "SKU-00001");
    // Esc while typing leaves the list and the review as they were.
    d.key(KeyCode::Char('/')).await;
    d.type_text("SKU-02").await;
    d.key(KeyCode::Esc).await;
    assert!(d.review().0.search.is_none());
    assert_eq!(d.first_shown(), "SKU-00001");
    // Scrolling down past the first 100 (SKU-00001 to SKU-00116) loads the
    // next page, from the key after the last loaded.
    for _ in 0..40 {
        if d.shown_skus().iter().any(|s| s.as_str() == "SKU-00117") {
            break;
        }
        d.key(KeyCode::PageDown).await;
    }
    assert!(
        d.shown_skus().contains(&"SKU-00117".to_string()),
        "{}",
        d.screen()
    );
    let FormPhase::Reviewed { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}", d.state.form.phase)
    };
    let run: Vec<&str> = outcome
        .changes
        .iter()
        .flatten()
        .map(|c| c.sku.as_str())
        .collect();
    assert_eq!(run.len(), 2 * REVIEW_PAGE as usize);
    assert!(run.windows(2).all(|w| w[0] < w[1]), "{run:?}");
    assert_eq!(written(&t).await, before);

    // The import runs the reviewed plan.
    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    let FormPhase::Done { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}\n{}", d.state.form.phase, d.screen())
    };
    assert_eq!(outcome.counts.updated, UPDATED);
    assert_eq!(price(&t, "SKU-03000").await, ["3000.50"]);
    assert_eq!(price(&t, "SKU-02499").await, ["2499.00"]);
    // Its session (and the review's table) is gone: the connection that
    // served the pages closes (asynchronously: a moment at most).
    let mut held = 1;
    for _ in 0..50 {
        held = count(
            &t,
            "SELECT count(*) FROM pg_stat_activity \
              WHERE query LIKE 'SELECT sku, changes FROM dry_run_review%'",
        )
        .await;
        if held == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(held, 0, "the review's session is still connected");
}

/// The review holds no lock: a listing can change while it is open, and
/// the import after it is then refused (what the dry run showed is no
/// longer what would happen); nothing changes.
#[tokio::test]
async fn the_import_after_a_review_is_refused_when_the_listings_changed() {
    let t = TestDb::new().await;
    let files = imported(&t, &["s1"]);
    let mut d = review_of(&t, &files.v2).await;
    assert_eq!(d.review().1, REVIEW_PAGE as usize, "{}", d.screen());
    // SKU-00007 kept its price in the file; now it would change.
    t.client()
        .await
        .execute(
            "UPDATE listings SET price = 1 WHERE seller_id = 's1' AND sku = 'SKU-00007'",
            &[],
        )
        .await
        .unwrap();
    let before = written(&t).await;
    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    assert!(
        matches!(d.state.form.phase, FormPhase::Refused { .. }),
        "{:?}\n{}",
        d.state.form.phase,
        d.screen()
    );
    let (listings, log, _) = written(&t).await;
    assert_eq!((listings, log), (before.0, before.1));
}

/// A seller role reviews its own dry run: the review's table and pages are
/// its own session's, under its row-level security (another seller holds
/// the same SKUs).
#[tokio::test]
async fn a_seller_role_pages_through_its_own_dry_run() {
    let t = TestDb::new().await;
    let files = imported(&t, &["s1", "s2"]);
    let role = common::login_role(&t, "alice", Some("s1")).await;
    let target = importdesk::db::Target::from_url(
        &common::url_for_role(&t, &role),
        importdesk::db::Source::Flag,
    )
    .unwrap();
    let db = importdesk::db::Database::open(target).await.unwrap();
    let before = written(&t).await;
    let mut d = Driver::new(&db);
    d.state.identity = importdesk::domain::identity::current(&db).await.ok();
    // The seller field starts with the role's own seller.
    dry_run(&mut d, &files.v2, "").await;
    let FormPhase::Reviewed { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}\n{}", d.state.form.phase, d.screen())
    };
    assert_eq!(
        (outcome.seller.as_str(), outcome.counts.updated),
        ("s1", UPDATED)
    );
    d.key(KeyCode::Char('G')).await;
    assert_eq!(d.last_shown(), "SKU-03000", "{}", d.screen());
    d.find("SKU-01000").await;
    assert_eq!(d.first_shown(), "SKU-01000", "{}", d.screen());
    assert_eq!(d.review().1, REVIEW_PAGE as usize);
    assert_eq!(written(&t).await, before);
}
