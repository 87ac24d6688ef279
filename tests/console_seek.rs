//! Finding a SKU in a large rollback plan, against a real database: keys go
//! through `update` and the real worker. `/` and `G` ask the database for
//! one page by key, so the console never holds the whole section. 3,000
//! changed listings stand in for the 90,000 of a real catalogue: the
//! queries are the same keyset pages, only the section is shorter.

mod common;

use common::console::{Driver, masked};
use common::{NATIVE_HEADER, TestDb, csv_file, import_json};
use crossterm::event::KeyCode;
use importdesk::tui::action::Action;
use importdesk::tui::popup::rollback::PopupStage;
use importdesk::tui::popup::rollback::plan::{PLAN_PAGE, PlanView};

const LISTINGS: usize = 3000;
const WALLET: &str =
    "Handmade leather wallet with coin pocket and a slot for keys and room for twelve cards";

impl Driver {
    fn plan(&self) -> &PlanView {
        match self.state.popup.as_ref().map(|p| &p.stage) {
            Some(PopupStage::Plan(p)) => p,
            other => panic!("no plan in the popup: {other:?}\n{}", self.screen()),
        }
    }
}

/// `LISTINGS` listings; `version` 2 changes every price, and one title in
/// the middle of a long text.
fn catalogue(version: u32) -> String {
    let mut csv = NATIVE_HEADER.to_string();
    for i in 1..=LISTINGS {
        let title = if i == 2500 && version == 2 {
            WALLET.replace("keys", "coins")
        } else if i == 2500 {
            WALLET.to_string()
        } else {
            format!("Listing {i}")
        };
        let price = format!("{}.{:02}", i, if version == 1 { 0 } else { 50 });
        csv.push_str(&format!(
            "SKU-{i:05},{title},,{price},USD,1,active,new,,,\n"
        ));
    }
    csv
}

/// A console at 80x24 with the rollback popup open on the second import,
/// which changed all `LISTINGS` listings.
async fn plan_of_a_large_import(t: &TestDb) -> Driver {
    let (_d1, v1) = csv_file("v1.csv", &catalogue(1));
    let (_d2, v2) = csv_file("v2.csv", &catalogue(2));
    import_json(t, &v1, "s1", &[], 0);
    import_json(t, &v2, "s1", &[], 0);
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.act(Action::Resize(80, 24)).await;
    d.key(KeyCode::Char('r')).await;
    assert_eq!(d.plan().preview.counts.restore, LISTINGS as i64);
    assert_eq!(d.plan().restore.items.len(), PLAN_PAGE as usize);
    d
}

/// The frame without the line that names when the import ran.
fn stable(screen: &str) -> String {
    masked(screen, "Imported ", "\"│ Imported (time) by (user)\"")
}

#[tokio::test]
async fn slash_finds_a_sku_and_g_goes_to_the_real_end_of_a_large_plan() {
    let t = TestDb::new().await;
    let mut d = plan_of_a_large_import(&t).await;

    // `/` then the beginning of a SKU, Enter: the list starts at it.
    d.key(KeyCode::Char('/')).await;
    assert!(d.screen().contains("Find the SKU beginning with: "));
    d.type_text("SKU-025").await;
    d.key(KeyCode::Enter).await;
    assert_eq!(
        d.shown_skus().first().map(String::as_str),
        Some("SKU-02500")
    );
    assert!(d.screen().contains("found SKU-02500"), "{}", d.screen());
    // The console holds pages around it, not the 2,500 keys before it.
    let loaded = d.plan().restore.items.len();
    assert!(loaded <= 2 * PLAN_PAGE as usize, "{loaded} items loaded");
    // The long title shows where it changed; `t` hides updated_at.
    d.key(KeyCode::Char('t')).await;
    let screen = d.screen();
    assert!(!screen.contains("      updated_at"), "{screen}");
    assert!(
        screen.contains("+ …and a slot for keys and room for twelve cards"),
        "{screen}"
    );
    assert!(
        screen.contains("- …and a slot for coins and room for twelve cards"),
        "{screen}"
    );
    insta::assert_snapshot!("rollback_find_sku", stable(&screen));

    // Scrolling up from there reads the keys before it (three lines each
    // with the timestamps hidden).
    for _ in 0..3 {
        d.key(KeyCode::Up).await;
    }
    assert_eq!(
        d.shown_skus().first().map(String::as_str),
        Some("SKU-02499")
    );

    // `G`: the section's last listing, of all 3,000, not of what was loaded.
    d.key(KeyCode::Char('G')).await;
    assert_eq!(d.shown_skus().last().map(String::as_str), Some("SKU-03000"));
    let plan = d.plan();
    assert!(plan.restore.items.len() <= PLAN_PAGE as usize);
    assert!(plan.restore.cut_above && plan.restore.exhausted);
    // Down at the end stays there.
    d.key(KeyCode::Down).await;
    assert_eq!(d.shown_skus().last().map(String::as_str), Some("SKU-03000"));

    // `g`: back to the first.
    d.key(KeyCode::Char('g')).await;
    assert_eq!(
        d.shown_skus().first().map(String::as_str),
        Some("SKU-00001")
    );
    assert!(!d.plan().restore.cut_above);

    // A SKU that is not there says so; the list stays.
    d.key(KeyCode::Char('/')).await;
    d.type_text("NOPE").await;
    d.key(KeyCode::Enter).await;
    let screen = d.screen();
    assert!(
        screen.contains("no SKU beginning with \"NOPE\" among the 3,000"),
        "{screen}"
    );
    assert_eq!(
        d.shown_skus().first().map(String::as_str),
        Some("SKU-00001")
    );
    // Esc while typing leaves the list and the popup as they were.
    d.key(KeyCode::Char('/')).await;
    d.type_text("SKU-02").await;
    d.key(KeyCode::Esc).await;
    assert!(d.plan().search.is_none());
    assert_eq!(
        d.shown_skus().first().map(String::as_str),
        Some("SKU-00001")
    );
}
