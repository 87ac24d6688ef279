//! The import form against a real database: what the chosen file's header
//! suggests fills the form (keys through `update` and the real worker).

mod common;

use common::console::Driver;
use common::{TestDb, csv_file};
use crossterm::event::KeyCode;
use importdesk::tui::action::Action;
use importdesk::tui::screen::import::FormPhase;

/// An Etsy export without SKUs: choosing the file fills the Key field with
/// the column the Etsy profile names (TITLE), and the import runs from the
/// console without typing a key.
#[tokio::test]
async fn an_etsy_export_imports_from_the_form_with_the_suggested_key() {
    let t = TestDb::new().await;
    let etsy = "TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,MATERIALS,SKU\n\
                Green ring,Handmade,6.15,EUR,3,ring,silver,\n\
                Blue ring,Handmade,7.50,EUR,1,ring,gold,\n";
    let (_d, file) = csv_file("EtsyListingsDownload.csv", etsy);
    let mut d = Driver::new(&t.db);
    d.act(Action::Resize(80, 24)).await;
    d.act(Action::Init).await;
    d.key(KeyCode::Char('i')).await;
    d.type_text(file.to_str().unwrap()).await;
    // Leaving the File field reads its header.
    d.key(KeyCode::Down).await;
    assert_eq!(d.state.form.key.text, "TITLE");
    let screen = d.screen();
    assert!(screen.contains("Key       [TITLE"), "{screen}");
    // The whole note is on screen at 80 columns (it wraps).
    let said: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains("From the file: etsy layout (detected from the header); its \"SKU\" column is empty in the first rows: key \"TITLE\" suggested"),
        "{screen}"
    );
    d.type_text("s1").await;
    for _ in 0..5 {
        d.key(KeyCode::Down).await;
    }
    d.key(KeyCode::Enter).await;
    let FormPhase::Reviewed { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}\n{}", d.state.form.phase, d.screen())
    };
    assert_eq!(
        (outcome.counts.created, outcome.counts.rejected),
        (2, 0),
        "{}",
        d.screen()
    );
    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    assert!(
        matches!(d.state.form.phase, FormPhase::Done { .. }),
        "{}",
        d.screen()
    );
    let rows: Vec<(String, String, String, String, i32)> = t
        .client()
        .await
        .query(
            "SELECT seller_id, sku, price::text, currency, quantity FROM listings ORDER BY sku",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "s1".into(),
                "Blue ring".into(),
                "7.50".into(),
                "EUR".into(),
                1
            ),
            (
                "s1".into(),
                "Green ring".into(),
                "6.15".into(),
                "EUR".into(),
                3
            ),
        ]
    );
}

/// A key the user typed is theirs: choosing another file does not replace
/// it; an emptied field follows the next suggestion.
#[tokio::test]
async fn a_typed_key_is_never_overwritten_by_a_suggestion() {
    let t = TestDb::new().await;
    let etsy = "TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,MATERIALS,SKU\n\
                Green ring,Handmade,6.15,EUR,3,ring,silver,\n";
    let (_d, file) = csv_file("etsy.csv", etsy);
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('i')).await;
    d.type_text(file.to_str().unwrap()).await;
    d.key(KeyCode::Down).await;
    assert_eq!(d.state.form.key.text, "TITLE");
    // Overwrite it: Seller, Profile, Key.
    d.key(KeyCode::Down).await;
    d.key(KeyCode::Down).await;
    for _ in 0.."TITLE".len() {
        d.key(KeyCode::Backspace).await;
    }
    d.type_text("DESCRIPTION").await;
    // Another profile asks again; the typed key stays.
    d.key(KeyCode::Up).await;
    d.key(KeyCode::Right).await;
    let asked = d.state.form.suggestions.asked_for.clone().unwrap();
    assert_eq!(asked.1.map(|p| p.name()), Some("native"));
    assert_eq!(d.state.form.key.text, "DESCRIPTION");
}
