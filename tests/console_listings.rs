//! The listings screens of the console: the listings of a seller (`l` from
//! the history), a listing's timeline (Enter, or `listing:X` in the history's
//! filter) and the restore popup. First as a function of state (TestBackend
//! at 80x24, insta snapshots, keys through the app's own `update`), then
//! against a real PostgreSQL with the worker running the effects, as the
//! app does: the restore's values, its audit entry, a stale restore.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::console::Driver;
use common::{NATIVE_HEADER, TestDb, count, csv_file, import_json};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::db::Database;
use importdesk::domain::listings::{
    Change, ChangeAction, ChangeSource, FieldChange, ListingSummary, ListingValues, RestorePreview,
    Timeline, diff,
};
use importdesk::tui::action::{Action, Effect, HistoryRow};
use importdesk::tui::keys::Ctx;
use importdesk::tui::popup::restore::RestoreStage;
use importdesk::tui::screen::Screen;
use importdesk::tui::state::State;
use importdesk::tui::theme::Theme;
use importdesk::tui::update::update;
use importdesk::tui::view;
use importdesk::tui::widgets::Button;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

// ---------------------------------------------------------------- fixtures

fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

fn key(c: char) -> Action {
    code(KeyCode::Char(c))
}

fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn press(s: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(s, a)).collect()
}

fn render(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    t.backend().to_string()
}

fn snapshot(name: &str, s: &State) -> String {
    let screen = render(s);
    assert!(
        !screen.chars().any(|c| c.is_control() && c != '\n'),
        "control characters on screen:\n{screen}"
    );
    insta::assert_snapshot!(name, screen);
    screen
}

fn history_row(id: i64, seller: &str, file: &str) -> HistoryRow {
    HistoryRow {
        id,
        started_at: at(27, 9, id as u32),
        seller: seller.into(),
        file: file.into(),
        created: 2,
        updated: 0,
        unchanged: 0,
        rejected: 0,
        status: "completed".parse().unwrap(),
        pruned: false,
        actor: "jane".into(),
        rolled_back_at: None,
        rolled_back_by: None,
    }
}

/// The history with two imports, acme's newest selected.
fn state() -> State {
    let mut s = State::new(80, 24, Theme::COLOR, "shop");
    let e = update(&mut s, Action::Init);
    let Some(Effect::LoadHistory { req, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req: *req,
            result: Ok(vec![
                history_row(12, "acme", "/srv/second.csv"),
                history_row(11, "globex", "/srv/first.csv"),
            ]),
        },
    );
    s
}

fn summary(sku: &str, title: &str, price: &str, status: &str, day: u32) -> ListingSummary {
    ListingSummary {
        sku: sku.into(),
        title: Some(title.into()),
        price: Some(price.into()),
        currency: Some("USD".into()),
        quantity: Some(3),
        status: status.into(),
        updated_at: at(day, 10, 0),
    }
}

fn values(title: &str, price: &str, day: u32) -> ListingValues {
    ListingValues {
        title: Some(title.into()),
        description: Some("Brass lamp".into()),
        price: Some(price.into()),
        currency: Some("USD".into()),
        quantity: Some(3),
        status: "active".into(),
        condition: Some("new".into()),
        category: Some("Lighting".into()),
        listing_number: Some("111".into()),
        end_date: None,
        created_at: at(20, 8, 0),
        updated_at: at(day, 8, 0),
    }
}

fn change(
    id: i64,
    source: ChangeSource,
    before: Option<ListingValues>,
    after: Option<ListingValues>,
) -> Change {
    let action = match (&before, &after) {
        (None, _) => ChangeAction::Created,
        (Some(_), Some(_)) => ChangeAction::Updated,
        (Some(_), None) => ChangeAction::Deleted,
    };
    Change {
        change_id: id,
        at: after.as_ref().or(before.as_ref()).unwrap().updated_at,
        seller_id: "acme".into(),
        sku: "A".into(),
        action,
        diff: diff(before.as_ref(), after.as_ref()),
        source,
        actor: "jane".into(),
        db_role: "support_jane".into(),
        values: after,
        before,
    }
}

/// Created by import #11, edited by hand, updated by import #12 (newest first).
fn timeline() -> Timeline {
    let v1 = values("Lamp", "19.99", 20);
    let v2 = values("Lamp", "17.50", 21);
    let v3 = values("LAMP!!!", "30.00", 22);
    let import = |import_id, file: &str| ChangeSource::Import {
        import_id,
        file_name: format!("/srv/{file}"),
    };
    Timeline {
        seller_id: "acme".into(),
        sku: "A".into(),
        current: Some(v3.clone()),
        changes: vec![
            change(31, import(12, "second.csv"), Some(v2.clone()), Some(v3)),
            change(20, ChangeSource::Hand, Some(v1.clone()), Some(v2)),
            change(10, import(11, "first.csv"), None, Some(v1)),
        ],
        next_before: None,
    }
}

/// `l` on the history, answered with `rows`.
fn on_listings(rows: Vec<ListingSummary>) -> State {
    let mut s = state();
    let e = press(&mut s, [key('l')]);
    let Some(Effect::LoadListings { req, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::ListingsLoaded {
            req: *req,
            result: Ok(rows),
        },
    );
    s
}

/// `l`, the listings page, Enter, the timeline: the state on the timeline.
fn on_timeline() -> State {
    let mut s = on_listings(vec![
        summary("A", "LAMP!!!", "30.00", "active", 22),
        summary("B", "Mug", "4.50", "draft", 20),
    ]);
    let e = press(&mut s, [code(KeyCode::Enter)]);
    let Some(Effect::LoadTimeline { req, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::TimelineLoaded {
            req: *req,
            result: Ok(Box::new(timeline())),
        },
    );
    s
}

/// Restoring A from before the hand edit (#20): today 30.00, restored 19.99.
fn restore_preview() -> RestorePreview {
    let tl = timeline();
    let current = tl.current.clone().unwrap();
    let hand = tl.changes[1].clone();
    let restored = hand.before.clone().unwrap();
    RestorePreview {
        seller_id: "acme".into(),
        sku: "A".into(),
        diff: diff(Some(&current), Some(&restored))
            .into_iter()
            .filter(|f: &FieldChange| f.field != "updated_at")
            .collect(),
        change: hand,
        current: Some(current),
        restored,
        recreates: false,
        fingerprint: "0123456789abcdef".into(),
    }
}

/// `r` on the selected change, answered with `preview`.
fn open_restore(s: &mut State, preview: RestorePreview) {
    let e = press(s, [key('r')]);
    let Some(Effect::RestorePreview { req, change_id, .. }) = e.first() else {
        panic!("{e:?}")
    };
    assert_eq!(*change_id, preview.change.change_id);
    let _ = update(
        s,
        Action::RestorePreviewed {
            req: *req,
            result: Ok(Box::new(preview)),
        },
    );
}

// ---------------------------------------------------------------- screens

#[test]
fn l_opens_the_selected_imports_seller_and_enter_its_timeline() {
    let mut s = state();
    let e = press(&mut s, [key('l')]);
    let Some(Effect::LoadListings { filter, .. }) = e.first() else {
        panic!("{e:?}")
    };
    assert_eq!(filter.seller, "acme");
    assert_eq!(s.screen, Screen::Listings);

    let mut s = on_timeline();
    snapshot("timeline", &s);
    assert_eq!(s.screen, Screen::Timeline);
    // Esc goes back to the listings (reloaded: a restore may have changed them).
    let e = press(&mut s, [code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::Listings);
    assert!(
        matches!(e.first(), Some(Effect::LoadListings { .. })),
        "{e:?}"
    );
}

#[test]
fn the_listings_screen_filters_and_sorts() {
    let mut s = on_listings(vec![
        summary("A", "LAMP!!!", "30.00", "active", 22),
        summary("B", "Mug", "4.50", "draft", 20),
        summary("C\u{1b}[2J", "Evil \u{7} title", "1.00", "active", 21),
    ]);
    snapshot("listings", &s);

    // `/` then `status:active lamp`: typed on the status line, then applied.
    press(&mut s, [key('/')]);
    assert_eq!(s.context(), Ctx::ListingsFilter);
    press(&mut s, [code(KeyCode::Home)]);
    let mut typed: Vec<Action> = Vec::new();
    for _ in 0.."seller:acme".len() {
        typed.push(code(KeyCode::Delete));
    }
    typed.extend("seller:globex status:Active lamp".chars().map(key));
    press(&mut s, typed);
    let e = press(&mut s, [code(KeyCode::Enter)]);
    let Some(Effect::LoadListings { filter, .. }) = e.first() else {
        panic!("{e:?}")
    };
    assert_eq!(filter.seller, "globex");
    assert_eq!(filter.status.as_deref(), Some("active"));
    assert_eq!(filter.search.as_deref(), Some("lamp"));
    assert!(filter.after.is_none());

    // `s` sorts by last change, from the first page again.
    let e = press(&mut s, [key('s')]);
    let Some(Effect::LoadListings { filter, .. }) = e.first() else {
        panic!("{e:?}")
    };
    assert_eq!(
        filter.order,
        importdesk::domain::listings::BrowseOrder::LastChange
    );
}

#[test]
fn a_full_page_of_listings_asks_for_the_next_after_its_last_sku() {
    let mut s = on_listings(
        (0..importdesk::tui::paged::PAGE)
            .map(|i| summary(&format!("SKU-{i:04}"), "x", "1.00", "active", 20))
            .collect(),
    );
    let e = press(&mut s, [key('G')]);
    let Some(Effect::LoadListings { filter, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let after = filter.after.as_ref().expect("a cursor");
    assert_eq!(after.sku, "SKU-0199");
    assert_eq!(after.updated_at, None, "by SKU the cursor is the SKU alone");
}

#[test]
fn the_timeline_shows_each_changes_diff_and_on_v_its_values() {
    let mut s = on_timeline();
    let screen = render(&s);
    assert!(
        screen.contains("updated by import #12 (second.csv)"),
        "{screen}"
    );
    assert!(
        screen.contains("edited by hand by jane (role support_jane)"),
        "{screen}"
    );
    assert!(
        screen.contains("created by import #11 (first.csv)"),
        "{screen}"
    );
    // The newest change's diff: title and price.
    assert!(
        screen.contains("- 17.50") && screen.contains("+ 30.00"),
        "{screen}"
    );
    press(&mut s, [code(KeyCode::Down), key('v')]);
    let screen = snapshot("timeline_values", &s);
    assert!(screen.contains("values as of change #20"), "{screen}");
    // The values after the hand edit, its changed field marked.
    assert!(screen.contains("~ price          17.50"), "{screen}");
    // `r` on the creation is refused on the spot: nothing before it.
    let e = press(&mut s, [code(KeyCode::Down), key('r')]);
    assert!(e.is_empty() && s.restore.is_none(), "{e:?}");
    assert!(render(&s).contains("created the listing"), "{}", render(&s));
    // A creation's diff has only the new values.
    press(&mut s, [key('v')]);
    let screen = render(&s);
    assert!(screen.contains("title          + Lamp"), "{screen}");
    assert!(!screen.contains("(none)"), "{screen}");
}

#[test]
fn the_restore_popup_defaults_to_cancel_and_confirms_with_the_fingerprint() {
    let mut s = on_timeline();
    press(&mut s, [code(KeyCode::Down)]);
    open_restore(&mut s, restore_preview());
    assert_eq!(s.context(), Ctx::Restore);
    let screen = snapshot("restore_popup", &s);
    assert!(
        screen.contains("- 30.00") && screen.contains("+ 19.99"),
        "{screen}"
    );
    let Some(RestoreStage::Plan { focus, .. }) = s.restore.as_ref().map(|p| &p.stage) else {
        panic!("{screen}")
    };
    assert_eq!(*focus, Button::Cancel);
    // Enter on the default closes it and does nothing.
    let e = press(&mut s, [code(KeyCode::Enter)]);
    assert!(e.is_empty() && s.restore.is_none(), "{e:?}");

    open_restore(&mut s, restore_preview());
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::RestoreExecute {
        seller,
        sku,
        change_id,
        expect,
        ..
    }) = e.first()
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (seller.as_str(), sku.as_str(), *change_id, expect.as_str()),
        ("acme", "A", 20, "0123456789abcdef")
    );
    assert_eq!(s.context(), Ctx::RestoreBusy);
    // Esc cannot abandon a restore that runs.
    press(&mut s, [code(KeyCode::Esc)]);
    assert!(s.restore.is_some());
}

#[test]
fn listing_in_the_history_filter_opens_that_listings_timeline() {
    let mut s = state();
    press(&mut s, [key('/')]);
    press(&mut s, "listing:B".chars().map(key));
    let e = press(&mut s, [code(KeyCode::Enter)]);
    let Some(Effect::LoadTimeline { seller, sku, .. }) = e.first() else {
        panic!("{e:?}")
    };
    // The seller of the selected import.
    assert_eq!((seller.as_str(), sku.as_str()), ("acme", "B"));
    assert_eq!(s.screen, Screen::Timeline);
    assert!(
        s.history.filter.is_empty(),
        "listing:X is not kept as a filter"
    );
    // Esc goes back to the history.
    press(&mut s, [code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::History);
}

#[test]
fn l_is_in_the_help_and_in_a_wide_footer() {
    let mut s = state();
    press(&mut s, [key('?')]);
    assert!(render(&s).contains("a seller's listings (the selected import's, or your own)"));
    press(&mut s, [code(KeyCode::Esc), Action::Resize(120, 30)]);
    assert!(render(&s).contains("l listings"), "{}", render(&s));
}

// ---------------------------------------------------------------- database

impl Driver {
    async fn keys(&mut self, keys: &[KeyCode]) {
        for k in keys {
            self.key(*k).await;
        }
    }

    fn stage(&self) -> &RestoreStage {
        match self.state.restore.as_ref() {
            Some(p) => &p.stage,
            None => panic!("no restore popup\n{}", self.screen()),
        }
    }
}

const FIRST: &str = "A,Lamp,Brass lamp,19.99,USD,3,active,new,Lighting,111,\n\
                     B,Mug,,4.50,USD,0,draft,,Kitchen,,\n";
const SECOND: &str = "A,LAMP!!!,Brass lamp,30.00,USD,3,active,new,Lighting,111,\n\
                      B,Mug,,4.50,USD,0,draft,,Kitchen,,\n";

async fn price_of(t: &TestDb, sku: &str) -> Option<String> {
    t.client()
        .await
        .query_opt(
            "SELECT price::text FROM listings WHERE seller_id = 'acme' AND sku = $1",
            &[&sku],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// Import, hand edit, re-import, then from the history: `l`, Enter on A,
/// the hand edit, `r`, Cancel, then the restore; then a stale one.
#[tokio::test]
async fn restore_one_listing_from_its_timeline_in_the_console() {
    let t = TestDb::new().await;
    let (_d1, p1) = csv_file("first.csv", &format!("{NATIVE_HEADER}{FIRST}"));
    import_json(&t, &p1, "acme", &[], 0);
    t.client()
        .await
        .batch_execute("UPDATE listings SET price = 17.50 WHERE seller_id = 'acme' AND sku = 'A'")
        .await
        .unwrap();
    let (_d2, p2) = csv_file("second.csv", &format!("{NATIVE_HEADER}{SECOND}"));
    import_json(&t, &p2, "acme", &[], 0);

    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.act(key('l')).await;
    assert_eq!(d.state.screen, Screen::Listings);
    let skus: Vec<_> = d
        .state
        .listings
        .list
        .rows
        .iter()
        .map(|r| r.sku.as_str())
        .collect();
    assert_eq!(skus, ["A", "B"], "{}", d.screen());

    d.keys(&[KeyCode::Enter]).await;
    let screen = d.screen();
    let whats: Vec<String> = d
        .state
        .timeline
        .list
        .rows
        .iter()
        .map(|c| c.describe())
        .collect();
    assert_eq!(whats.len(), 3, "{screen}");
    assert!(whats[0].starts_with("updated by import #"), "{whats:?}");
    assert!(whats[1].starts_with("edited by hand by "), "{whats:?}");
    assert!(whats[2].starts_with("created by import #"), "{whats:?}");
    assert!(screen.contains("edited by hand by"), "{screen}");
    let hand = d.state.timeline.list.rows[1].change_id;

    // The hand edit, `r`: the popup previews; Enter on Cancel changes nothing.
    d.keys(&[KeyCode::Down, KeyCode::Char('r')]).await;
    let RestoreStage::Plan { preview, .. } = d.stage() else {
        panic!("{}", d.screen())
    };
    assert_eq!(preview.change.change_id, hand);
    let screen = d.screen();
    assert!(
        screen.contains("- 30.00") && screen.contains("+ 19.99"),
        "{screen}"
    );
    d.keys(&[KeyCode::Enter]).await;
    assert!(d.state.restore.is_none());
    assert_eq!(price_of(&t, "A").await.as_deref(), Some("30.00"));

    // Again, Restore: the values from before the hand edit, audited.
    d.keys(&[KeyCode::Char('r'), KeyCode::Right, KeyCode::Enter])
        .await;
    let RestoreStage::Done(outcome) = d.stage() else {
        panic!("{}", d.screen())
    };
    assert_eq!(outcome.before_change, hand);
    assert!(
        d.screen().contains("Restored A to its values"),
        "{}",
        d.screen()
    );
    assert_eq!(price_of(&t, "A").await.as_deref(), Some("19.99"));
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM import_audit.audit_log
              WHERE action = 'listing restored' AND seller_id = 'acme'
                AND details->>'change' LIKE 'edited by hand by %'"
        )
        .await,
        1
    );
    // Closing reloads the timeline: the restore is its newest change.
    d.keys(&[KeyCode::Enter]).await;
    let newest = d.state.timeline.list.rows[0].describe();
    assert!(
        newest.starts_with(&format!(
            "restored to its values from before change #{hand}"
        )),
        "{newest}"
    );

    // A stale restore: the listing changes after the popup opened.
    d.keys(&[KeyCode::Home, KeyCode::Down, KeyCode::Char('r')])
        .await;
    assert!(
        matches!(d.stage(), RestoreStage::Plan { .. }),
        "{}",
        d.screen()
    );
    t.client()
        .await
        .batch_execute("UPDATE listings SET quantity = 9 WHERE seller_id = 'acme' AND sku = 'A'")
        .await
        .unwrap();
    d.keys(&[KeyCode::Right, KeyCode::Enter]).await;
    let RestoreStage::Refused { stale, .. } = d.stage() else {
        panic!("{}", d.screen())
    };
    assert!(*stale);
    assert!(
        d.screen().contains("changed since the preview"),
        "{}",
        d.screen()
    );
    assert_eq!(price_of(&t, "A").await.as_deref(), Some("19.99"));
    // Enter previews it again, against today's values.
    d.keys(&[KeyCode::Enter]).await;
    assert!(
        matches!(d.stage(), RestoreStage::Plan { .. }),
        "{}",
        d.screen()
    );
}

/// A seller role's console shows its own listings only, whatever it types.
#[tokio::test]
async fn a_seller_roles_console_lists_only_its_own_listings() {
    let t = TestDb::new().await;
    let (_d1, p1) = csv_file("first.csv", &format!("{NATIVE_HEADER}{FIRST}"));
    import_json(&t, &p1, "acme", &[], 0);
    import_json(&t, &p1, "globex", &[], 0);
    let role = common::login_role(&t, "alice", Some("globex")).await;
    let target = importdesk::db::Target::from_url(
        &common::url_for_role(&t, &role),
        importdesk::db::Source::Flag,
    )
    .unwrap();
    let db = Database::open(target).await.unwrap();
    let mut d = Driver::new(&db);
    d.state.identity = importdesk::domain::identity::current(&db).await.ok();
    d.act(Action::Init).await;
    d.act(key('l')).await;
    assert_eq!(d.state.listings.seller.as_deref(), Some("globex"));
    assert_eq!(d.state.listings.list.rows.len(), 2, "{}", d.screen());

    // Asking for acme's: refused, nothing of acme's shown.
    d.act(key('/')).await;
    d.act(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )))
    .await;
    for c in "seller:acme".chars() {
        d.act(key(c)).await;
    }
    d.keys(&[KeyCode::Enter]).await;
    let screen = d.screen();
    assert!(d.state.listings.list.rows.is_empty(), "{screen}");
    assert!(screen.contains("may not act for seller acme"), "{screen}");
}
