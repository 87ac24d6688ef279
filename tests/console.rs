//! The console as a function of state: screens rendered with ratatui's
//! TestBackend at 80x24 and snapshotted with insta, and key handling driven
//! through the same `update` function the app uses. No database.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::domain::StopCause;
use importdesk::domain::history::{ImportState, ImportSummary};
use importdesk::domain::import::{
    Counts, FieldChanges, ImportOutcome, ImportStatus, Phase, Progress,
};
use importdesk::domain::rollback::{
    ConflictMode, PlanCounts, PlanItem, Preview, RollbackOutcome, Section, Seek,
};
use importdesk::tui::action::{
    Action, AuditRow, Completion, DetailData, Effect, Failure, HistoryRow, ImportFailure,
    RollbackFailure,
};
use importdesk::tui::clock::Clock;
use importdesk::tui::keys::{self, Ctx};
use importdesk::tui::paged::PAGE;
use importdesk::tui::popup::rollback::plan::PLAN_PAGE;
use importdesk::tui::screen::Screen;
use importdesk::tui::screen::history::Eligibility;
use importdesk::tui::screen::import::{FormField, FormPhase};
use importdesk::tui::state::{Connection, State};
use importdesk::tui::theme::Theme;
use importdesk::tui::update::update;
use importdesk::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use serde_json::json;

// ---------------------------------------------------------------- fixtures

fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 10, day, h, m, 0).unwrap()
}

fn row(id: i64, seller: &str, file: &str, status: &str, counts: [i64; 4]) -> HistoryRow {
    HistoryRow {
        id,
        started_at: at(1 + (id as u32 % 28), 9, id as u32 % 60),
        seller: seller.into(),
        file: file.into(),
        created: counts[0],
        updated: counts[1],
        unchanged: counts[2],
        rejected: counts[3],
        status: status.parse().unwrap(),
        pruned: false,
        actor: "jane (ssh 10.0.0.7)".into(),
        rolled_back_at: (status == "rolled_back").then(|| at(20, 14, 5)),
        rolled_back_by: (status == "rolled_back").then(|| "sam".into()),
    }
}

fn rows() -> Vec<HistoryRow> {
    vec![
        row(
            1042,
            "acme",
            "2-acme-november-prices.csv",
            "completed",
            [15, 45, 15, 0],
        ),
        row(
            1041,
            "initech",
            "6-initech-broken.csv",
            "failed",
            [0, 0, 0, 3],
        ),
        row(
            1040,
            "globex",
            "/home/jane/exports/4-globex-wrong-prices-with-a-very-long-name.csv",
            "rolled_back",
            [0, 70, 0, 0],
        ),
        // A hostile file name and seller: escape sequences must not reach the terminal.
        row(
            1039,
            "evil\u{1b}[31mco",
            "x\u{1b}]0;pwned\u{7}.csv",
            "completed",
            [1_234_567, 12_345, 0, 0],
        ),
        row(
            1038,
            "acme",
            "1-acme-october.csv",
            "completed",
            [150, 0, 0, 0],
        ),
    ]
}

/// An 80x24 colour console whose clock stands still at 2024-10-10 12:00
/// UTC, so times and "N d ago" do not depend on when the test runs.
fn new_state(db: &str) -> State {
    let mut s = State::new(80, 24, Theme::COLOR, db);
    s.clock = Clock::fixed(
        Utc.with_ymd_and_hms(2024, 10, 10, 12, 0, 0).unwrap(),
        FixedOffset::east_opt(0).unwrap(),
    );
    s
}

fn state() -> State {
    let mut s = new_state("importdesk");
    let _ = update(&mut s, Action::Init);
    let req = s.history.list.loading.unwrap().req;
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Ok(rows()),
        },
    );
    s
}

fn summary() -> ImportSummary {
    ImportSummary {
        id: 1041,
        seller_id: "initech".into(),
        file_name: "/srv/exports/6-initech-broken.csv".into(),
        file_sha256: Some("9f2c4e0a51b7d3aa0c7d52e1f4b8a9c0ffee".into()),
        file_size: Some(48_213),
        profile: "native".into(),
        options: json!({"profile_detected": true, "key": "sku"}),
        status: ImportState::Failed,
        started_at: at(14, 9, 31),
        finished_at: Some(at(14, 9, 32)),
        actor: "jane (ssh 10.0.0.7)".into(),
        db_role: "support".into(),
        os_user: Some("jane".into()),
        client_addr: Some("10.0.0.7".into()),
        rows_read: 60,
        created: 0,
        updated: 0,
        unchanged: 0,
        rejected: 3,
        ignored_rows: 0,
        unknown_columns: vec!["internal_note".into()],
        error_summary: Some(
            "3 rows rejected; the import is all-or-nothing, so nothing was changed \
             (use --skip-invalid to import the valid rows)"
                .into(),
        ),
        errors: json!([
            {"line": 12, "column": 4, "column_name": "price", "reason": "not a price: \"12,3.4\""},
            {"line": 31, "column": 1, "column_name": "sku", "reason": "the key is empty"},
            {"line": 58, "column": 7, "column_name": "status", "reason": "unknown status \"\u{1b}[2Jgone\""},
        ]),
        rolled_back_at: None,
        rolled_back_by: None,
        rollback_restored: None,
        rollback_deleted: None,
        rollback_skipped: None,
        pruned_at: None,
    }
}

fn preview(counts: PlanCounts) -> Preview {
    Preview {
        import_id: 1042,
        seller: "acme".into(),
        file_name: "/srv/exports/2-acme-november-prices.csv".into(),
        imported_at: at(14, 9, 31),
        imported_by: "jane (ssh 10.0.0.7)".into(),
        counts,
        fingerprint: "5f1c2a9e0b7d3c11".into(),
    }
}

fn counts() -> PlanCounts {
    PlanCounts {
        delete: 15,
        restore: 45,
        skip: 2,
        skipped_edited: 1,
        skipped_deleted: 1,
        skipped_referenced: 0,
    }
}

fn restore_item(sku: &str, diff: serde_json::Value) -> PlanItem {
    PlanItem {
        sku: sku.into(),
        action: Section::Restore,
        reason: None,
        changed_by: None,
        changed_at: None,
        change: None,
        diff: Some(diff),
    }
}

fn skip_item(sku: &str, reason: &str, by: Option<&str>) -> PlanItem {
    PlanItem {
        sku: sku.into(),
        action: Section::Skip,
        reason: Some(reason.into()),
        changed_by: by.map(str::to_string),
        changed_at: by.map(|_| at(15, 10, 2)),
        change: Some("update".into()),
        diff: None,
    }
}

/// Import 1042 rolled back: `restored` listings restored, 15 deleted, the
/// `skipped` listings kept.
fn rolled_back(restored: i64, skipped: Vec<PlanItem>, fingerprint: String) -> RollbackOutcome {
    RollbackOutcome {
        import_id: 1042,
        seller: "acme".into(),
        restored,
        deleted: 15,
        skipped: skipped.len() as i64,
        counts: counts(),
        fingerprint,
        skipped_listings: skipped,
        duration_seconds: 0.25,
    }
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn press(s: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    let mut effects = Vec::new();
    for a in actions {
        effects.extend(update(s, a));
    }
    effects
}

/// Filters the history to acme's imports with the keys a user would
/// press: the import form then starts with seller acme.
fn filter_to_acme(s: &mut State) {
    let _ = press(s, [key('/')]);
    let _ = press(s, "seller:acme".chars().map(key));
    let _ = press(s, [code(KeyCode::Enter)]);
}

/// Opens the rollback popup on the selected import and answers its
/// requests like the worker would.
fn open_plan(s: &mut State, counts: PlanCounts, restore: Vec<PlanItem>) {
    let e = press(s, [key('r')]);
    let Some(Effect::RollbackCheck { req, .. }) = e.last() else {
        panic!("{e:?}")
    };
    let e = update(
        s,
        Action::RollbackChecked {
            req: *req,
            result: Ok(Ok(())),
        },
    );
    let Some(Effect::RollbackPreview { req, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let e = update(
        s,
        Action::PreviewReady {
            req: *req,
            result: Ok(Ok(preview(counts))),
        },
    );
    let Some(Effect::RollbackPage { req, section, .. }) = e.first() else {
        panic!("{e:?}")
    };
    assert_eq!(*section, Section::Restore);
    let _ = update(
        s,
        Action::PageLoaded {
            req: *req,
            section: Section::Restore,
            result: Ok(restore),
        },
    );
}

fn restore_items() -> Vec<PlanItem> {
    vec![
        restore_item(
            "ACME-0001",
            json!({"price": ["17.99", "19.99"], "quantity": ["3", "5"]}),
        ),
        restore_item(
            "ACME-0002",
            json!({"title": [
                "Road bike helmet, matte black, size L — now with a very long title that cannot fit",
                "Road bike helmet"
            ]}),
        ),
        restore_item(
            "ACME-\u{1b}[2J0003",
            json!({"description": [null, "<b>bold</b>"]}),
        ),
    ]
}

fn render(s: &State) -> String {
    render_terminal(s).backend().to_string()
}

fn render_terminal(s: &State) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    t
}

/// No control character ever reaches a cell.
fn assert_clean(screen: &str) {
    assert!(
        !screen.chars().any(|c| c.is_control() && c != '\n'),
        "control characters on screen:\n{screen}"
    );
}

fn snapshot(name: &str, s: &State) -> String {
    let screen = render(s);
    assert_clean(&screen);
    insta::assert_snapshot!(name, screen);
    screen
}

// ---------------------------------------------------------------- screens

#[test]
fn title_bar_names_the_identity_and_a_seller_imports_for_itself() {
    use importdesk::domain::identity::Identity;
    let mut s = state();
    s.identity = Some(Identity {
        role: "alice\x1b[31m".into(),
        seller: Some("globex".into()),
        support: false,
    });
    let screen = render(&s);
    assert_clean(&screen);
    let title = screen.lines().next().unwrap();
    assert!(
        title.contains("alice␛[31m · seller globex · db importdesk"),
        "{title}"
    );
    // The selected import is acme's, but a seller role may only import for
    // itself: the form starts with its own seller id.
    let _ = update(&mut s, key('i'));
    assert_eq!(s.form.seller.text, "globex");

    let mut s = state();
    s.identity = Some(Identity {
        role: "sue".into(),
        seller: None,
        support: true,
    });
    assert!(
        render(&s)
            .lines()
            .next()
            .unwrap()
            .contains("sue · support · db")
    );
    // Support: never silently the selected row's seller (acme's import is
    // selected); the seller the history is filtered to.
    let _ = update(&mut s, key('i'));
    assert_eq!(s.form.seller.text, "");
    let _ = press(&mut s, [code(KeyCode::Esc), key('/')]);
    let _ = press(&mut s, "seller:initech".chars().map(key));
    let _ = press(&mut s, [code(KeyCode::Enter), key('i')]);
    assert_eq!(s.form.seller.text, "initech");
}

#[test]
fn history_screen() {
    let mut s = state();
    // The selected (newest) import was checked: it can be rolled back.
    let e = update(&mut s, key('j'));
    assert!(e.is_empty(), "{e:?}");
    let _ = update(&mut s, key('k'));
    let id = s.selected_row().unwrap().id;
    let Some(Eligibility::Checking(req)) = s.history.eligibility.get(&id).cloned() else {
        panic!("{:?}", s.history.eligibility)
    };
    let _ = update(
        &mut s,
        Action::EligibilityChecked {
            req,
            id,
            result: Ok(Ok(())),
        },
    );
    let screen = snapshot("history", &s);
    assert!(screen.contains("r rolls back import #1042"));
}

#[test]
fn history_screen_at_120_columns_relays_out() {
    let mut s = state();
    let _ = update(&mut s, Action::Resize(120, 30));
    snapshot("history_120x30", &s);
}

#[test]
fn ineligible_reason_on_the_status_line_and_in_the_popup() {
    let mut s = state();
    let _ = press(&mut s, [key('j')]);
    let screen = render(&s);
    assert!(
        screen.contains("Rollback unavailable: import #1041 failed and changed"),
        "{screen}"
    );
    let e = press(&mut s, [key('r')]);
    let Some(Effect::RollbackCheck { req, id }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(id, 1041);
    let _ = update(
        &mut s,
        Action::RollbackChecked {
            req,
            result: Ok(Err(
                "import #1041 failed and changed nothing: there is nothing to roll back".into(),
            )),
        },
    );
    snapshot("rollback_ineligible", &s);
    // Enter or Esc closes it.
    let _ = update(&mut s, code(KeyCode::Enter));
    assert!(s.popup.is_none());
}

#[test]
fn detail_screen() {
    let mut s = state();
    let _ = press(&mut s, [key('j')]);
    let e = press(&mut s, [code(KeyCode::Enter)]);
    let Some(Effect::LoadDetail { req, id }) = e.first().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(id, 1041);
    assert_eq!(s.screen, Screen::Detail);
    let _ = update(
        &mut s,
        Action::DetailLoaded {
            req,
            result: Ok(Some(Box::new(DetailData {
                import: summary(),
                audit: Vec::new(),
            }))),
        },
    );
    snapshot("detail", &s);
    let _ = update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.screen, Screen::History);
}

#[test]
fn detail_of_a_rolled_back_import_lists_the_skipped_listings() {
    let mut s = state();
    let e = press(&mut s, [key('j'), key('j'), code(KeyCode::Enter)]);
    let Some(Effect::LoadDetail { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let mut import = summary();
    import.id = 1040;
    import.seller_id = "globex".into();
    import.status = ImportState::RolledBack;
    import.rejected = 0;
    import.updated = 70;
    import.errors = json!([]);
    import.error_summary = None;
    import.unknown_columns = vec![];
    import.rolled_back_at = Some(at(20, 14, 5));
    import.rolled_back_by = Some("sam".into());
    import.rollback_restored = Some(68);
    import.rollback_deleted = Some(0);
    import.rollback_skipped = Some(2);
    let entry = importdesk::domain::audit::AuditEntry {
        id: 9,
        at: at(20, 14, 5),
        actor: "sam".into(),
        db_role: "support".into(),
        action: "rollback executed".into(),
        seller_id: Some("globex".into()),
        import_id: Some(1040),
        details: json!({"restored": 68, "deleted": 0, "skipped": 2, "skipped_keys": [
            {"sku": "GLX-0007", "reason": "edited"},
            {"sku": "GLX-0031", "reason": "deleted"},
        ]}),
    };
    let _ = update(
        &mut s,
        Action::DetailLoaded {
            req,
            result: Ok(Some(Box::new(DetailData {
                import,
                audit: vec![entry],
            }))),
        },
    );
    snapshot("detail_rolled_back", &s);
}

#[test]
fn rollback_popup_with_diffs() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let screen = snapshot("rollback_popup_restore", &s);
    assert!(screen.contains("15 to delete · 45 to restore · 2 to skip"));
    assert!(screen.contains("- 17.99") && screen.contains("+ 19.99"));
    // Cancel is the default: Enter closes without an effect.
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(e.is_empty(), "{e:?}");
    assert!(s.popup.is_none());
}

#[test]
fn v_on_the_rollback_popup_shows_its_own_values_in_full() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    press(&mut s, [key('v')]);
    let screen = snapshot("rollback_popup_full_text", &s);
    for whole in [
        "/srv/exports/2-acme-november-prices.csv",
        "5f1c2a9e0b7d3c11",
        "jane (ssh 10.0.0.7)",
        "15 to delete, 45 to restore, 2 to skip",
        "1 edited, 1 deleted, 0",
    ] {
        assert!(screen.contains(whole), "{whole:?} not on\n{screen}");
    }
    // Esc closes the view, not the popup behind it.
    press(&mut s, [code(KeyCode::Esc)]);
    assert!(s.popup.is_some());
    assert!(!render(&s).contains("5f1c2a9e0b7d3c11"));
}

#[test]
fn rollback_popup_skipped_listings() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let e = press(&mut s, [code(KeyCode::Tab)]);
    let Some(Effect::RollbackPage { req, section, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(section, Section::Skip);
    let _ = update(
        &mut s,
        Action::PageLoaded {
            req,
            section,
            result: Ok(vec![
                skip_item("ACME-0003", "edited", Some("jane (support)")),
                skip_item("ACME-0152", "deleted", Some("sam")),
                skip_item("ACME-0200", "edited", None),
            ]),
        },
    );
    let screen = snapshot("rollback_popup_skipped", &s);
    assert!(screen.contains("edited after the import by jane (support)"));
}

#[test]
fn rollback_confirm_passes_the_fingerprint_and_shows_the_result() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::RollbackExecute {
        req,
        id,
        mode,
        expect,
    }) = e.last().cloned()
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (id, mode, expect.as_str()),
        (1042, ConflictMode::Skip, "5f1c2a9e0b7d3c11")
    );
    assert!(s.wants_ticks());
    // Esc cannot interrupt a running rollback.
    let _ = update(&mut s, code(KeyCode::Esc));
    assert!(s.popup.is_some());
    let skipped = vec![
        skip_item("ACME-0003", "edited", None),
        skip_item("ACME-0152", "deleted", None),
    ];
    let outcome = rolled_back(44, skipped, expect);
    let e = update(
        &mut s,
        Action::RollbackDone {
            req,
            result: Ok(Box::new(outcome)),
        },
    );
    assert!(
        e.iter().any(|e| matches!(e, Effect::LoadHistory { .. })),
        "{e:?}"
    );
    assert_eq!(s.history.list.rows[0].status, ImportState::RolledBack);
    snapshot("rollback_done", &s);
    let _ = update(&mut s, code(KeyCode::Enter));
    assert!(s.popup.is_none());
    let screen = render(&s);
    let first = screen.lines().nth(2).unwrap();
    assert!(
        first.contains("1042") && first.contains("rolled back"),
        "{screen}"
    );
}

#[test]
fn a_changed_plan_is_refused_and_previewed_again() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let e = press(&mut s, [code(KeyCode::Left), code(KeyCode::Enter)]);
    let Some(Effect::RollbackExecute { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::RollbackDone {
            req,
            result: Err(RollbackFailure {
                failure: Failure::new(
                    "the rollback plan of import #1042 changed since the preview you confirmed \
                     (now: 15 to delete, 44 to restore, 3 to skip); nothing was changed — preview it again",
                ),
                plan_changed: true,
                conflicts: vec![],
            }),
        },
    );
    snapshot("rollback_plan_changed", &s);
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(e.as_slice(), [Effect::RollbackPreview { id: 1042, .. }]),
        "{e:?}"
    );
}

#[test]
fn a_large_rollback_asks_for_the_import_id() {
    let mut s = state();
    let big = PlanCounts {
        delete: 600,
        restore: 1400,
        skip: 0,
        ..Default::default()
    };
    open_plan(&mut s, big, restore_items());
    // Confirm without the id: refused with an explanation, no effect.
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    assert!(
        e.iter()
            .all(|e| !matches!(e, Effect::RollbackExecute { .. })),
        "{e:?}"
    );
    assert!(
        s.notice
            .as_ref()
            .unwrap()
            .text
            .contains("type the import id (1042)")
    );
    let _ = press(&mut s, "104".chars().map(key));
    snapshot("rollback_large", &s);
    let e = press(&mut s, [key('2'), code(KeyCode::Enter)]);
    assert!(
        matches!(e.last(), Some(Effect::RollbackExecute { id: 1042, .. })),
        "{e:?}"
    );
}

/// The help over a large rollback says how to confirm it (type the import
/// id), and every sentence is there in full at 80x24: wrapped, not cut.
#[test]
fn the_help_over_a_large_rollback_shows_typing_the_id_unclipped() {
    let mut s = state();
    let big = PlanCounts {
        restore: 1400,
        ..Default::default()
    };
    open_plan(&mut s, big, restore_items());
    let _ = press(&mut s, [key('?')]);
    let screen = snapshot("help_rollback_large", &s);
    assert!(screen.contains("type the import id"), "{screen}");
    assert!(!screen.contains('…'), "nothing cut off:\n{screen}");
    // What does not fit scrolls: the last binding is reachable.
    let _ = press(&mut s, [key('G')]);
    assert!(render(&s).contains("quit"), "{}", render(&s));
}

#[test]
fn block_mode_with_conflicts_cannot_be_confirmed() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let e = press(
        &mut s,
        [key('m'), code(KeyCode::Right), code(KeyCode::Enter)],
    );
    assert!(
        e.iter()
            .all(|e| !matches!(e, Effect::RollbackExecute { .. })),
        "{e:?}"
    );
    assert!(s.notice.as_ref().unwrap().text.contains("blocked"));
    let screen = render(&s);
    assert!(
        screen.contains("( ) skip changed listings  (•) block"),
        "{screen}"
    );
}

#[test]
fn import_form() {
    let mut s = state();
    filter_to_acme(&mut s);
    let _ = press(&mut s, [key('i')]);
    assert_eq!(s.screen, Screen::ImportForm);
    // The seller comes from the history's filter; q is a letter here.
    assert_eq!(s.form.seller.text, "acme");
    let _ = press(&mut s, "/srv/exports/q".chars().map(key));
    assert!(!s.quit);
    let e = press(&mut s, [code(KeyCode::Tab)]);
    let Some(Effect::Complete { req, input }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(input, "/srv/exports/q");
    let _ = update(
        &mut s,
        Action::Completed {
            req,
            completion: Completion {
                input,
                replacement: Some("/srv/exports/q4-".into()),
                candidates: vec![
                    "q4-acme.csv".into(),
                    "q4-globex.csv".into(),
                    "q4-old/".into(),
                ],
                note: None,
            },
        },
    );
    assert_eq!(s.form.file.text, "/srv/exports/q4-");
    snapshot("import_form", &s);
}

fn outcome(status: ImportStatus) -> ImportOutcome {
    ImportOutcome {
        import_id: (status != ImportStatus::DryRun).then_some(1043),
        status,
        seller: "acme".into(),
        file: "/srv/exports/q4-acme.csv".into(),
        file_sha256: Some("abc".into()),
        profile: Some("shopify".into()),
        profile_detected: true,
        key: Some("Variant SKU".into()),
        unknown_columns: vec!["Gift Card".into()],
        counts: Counts {
            rows_read: 120,
            created: 20,
            updated: 2,
            unchanged: 98,
            rejected: 0,
            ignored: 4,
        },
        duration_seconds: 0.42,
        rows_per_second: 285.0,
        errors: vec![],
        error_count: 0,
        error_summary: None,
        rejects_file: None,
        changes: (status == ImportStatus::DryRun).then(|| {
            vec![
                FieldChanges {
                    sku: "ACME-0001".into(),
                    changes: json!({"price": ["19.99", "17.99"]}),
                },
                FieldChanges {
                    sku: "ACME-0002".into(),
                    changes: json!({"title": ["Helmet", "Helmet \u{1b}[5m(blinking)"], "status": ["active", "ended"]}),
                },
            ]
        }),
        plan_fingerprint: (status == ImportStatus::DryRun)
            .then(|| "0123456789abcdef-fedcba9876543210".parse().unwrap()),
    }
}

#[test]
fn import_dry_run_then_confirm() {
    let mut s = state();
    filter_to_acme(&mut s);
    let _ = press(&mut s, [key('i')]);
    let _ = press(&mut s, "q4-acme.csv".chars().map(key));
    // Down to the button; Enter runs the dry run.
    let e = press(
        &mut s,
        [
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Enter),
        ],
    );
    let Some(Effect::Import { req, spec }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert!(spec.dry_run);
    assert_eq!(spec.seller, "acme");
    assert_eq!(spec.profile, None);
    assert!(s.wants_ticks());
    let _ = update(
        &mut s,
        Action::ImportProgress {
            req,
            progress: Progress {
                rows_read: 60,
                bytes_read: 5_000,
                total_bytes: 10_000,
                elapsed: std::time::Duration::from_millis(300),
                phase: Phase::Reading,
            },
        },
    );
    snapshot("import_progress", &s);
    let _ = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Ok(Box::new(outcome(ImportStatus::DryRun))),
        },
    );
    snapshot("import_dry_run", &s);
    // Cancel is focused: Enter goes back to the form, nothing imported;
    // the dry run's kept plan is let go.
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(e.as_slice(), [Effect::ReviewClose]), "{e:?}");
    assert!(matches!(s.form.phase, FormPhase::Editing { .. }));
    // Again, and this time confirm.
    let e = update(&mut s, code(KeyCode::Enter));
    let Some(Effect::Import { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Ok(Box::new(outcome(ImportStatus::DryRun))),
        },
    );
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::Import { req, spec }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert!(!spec.dry_run);
    let e = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Ok(Box::new(outcome(ImportStatus::Completed))),
        },
    );
    assert!(
        matches!(e.as_slice(), [Effect::LoadHistory { .. }]),
        "{e:?}"
    );
    snapshot("import_done", &s);
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(e.as_slice(), [Effect::LoadDetail { id: 1043, .. }]),
        "{e:?}"
    );
}

#[test]
fn import_form_requires_file_and_seller() {
    let mut s = state();
    let _ = press(&mut s, [key('i'), code(KeyCode::Down), ctrl('u')]);
    assert_eq!(s.form.seller.text, "");
    // Down to the Dry run button: profile, key, currency, options, button.
    let e = press(
        &mut s,
        (0..5)
            .map(|_| code(KeyCode::Down))
            .chain([code(KeyCode::Enter)]),
    );
    assert!(e.is_empty());
    assert_eq!(s.form.focus, FormField::File);
    assert!(render(&s).contains("Error: enter the path of the CSV file"));
}

#[test]
fn audit_log_screen() {
    let mut s = state();
    let e = press(&mut s, [key('a')]);
    let Some(Effect::LoadAudit {
        req, before: None, ..
    }) = e.last().cloned()
    else {
        panic!("{e:?}")
    };
    let entries = vec![
        AuditRow {
            id: 311,
            at: at(20, 14, 5),
            actor: "sam".into(),
            action: "rollback executed".into(),
            seller: Some("globex".into()),
            import_id: Some(1040),
            summary: "68 restored, 0 deleted, 2 skipped".into(),
            details: json!({"restored": 68, "deleted": 0, "skipped": 2}),
        },
        AuditRow {
            id: 310,
            at: at(20, 14, 4),
            actor: "sam".into(),
            action: "rollback previewed".into(),
            seller: Some("globex".into()),
            import_id: Some(1040),
            summary: "plan: 0 delete, 70 restore, 2 skip".into(),
            details: json!({"delete": 0, "restore": 70, "skip": 2}),
        },
        AuditRow {
            id: 309,
            at: at(14, 9, 32),
            actor: "jane (ssh 10.0.0.7)".into(),
            action: "import failed".into(),
            seller: Some("initech".into()),
            import_id: Some(1041),
            summary: "3 rows rejected".into(),
            details: json!({"rejected": 3}),
        },
    ];
    let _ = update(
        &mut s,
        Action::AuditLoaded {
            req,
            result: Ok(entries.clone()),
        },
    );
    snapshot("audit", &s);

    // `/`: the history's filter grammar, sent to the database as typed.
    let e = press(&mut s, [key('/')]);
    assert!(e.is_empty());
    let e = press(&mut s, "#1040 sam rollback".chars().map(key));
    let Some(Effect::LoadAudit { req, filter, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(filter.import_id, Some(1040));
    assert_eq!(filter.words, ["sam", "rollback"]);
    let _ = update(
        &mut s,
        Action::AuditLoaded {
            req,
            result: Ok(entries[..2].to_vec()),
        },
    );
    let _ = press(&mut s, [code(KeyCode::Enter)]);
    snapshot("audit_filtered", &s);
    let e = press(&mut s, [key('/')]);
    assert!(e.is_empty());
    // `since:2024-1` is not a date yet: nothing is sent, the line says why.
    let _ = press(&mut s, [ctrl('u')]);
    let e = press(&mut s, "#1040 since:2024-1".chars().map(key));
    let sent = e
        .iter()
        .rposition(|e| matches!(e, Effect::LoadAudit { .. }));
    let (e, ok) = e.split_at(sent.unwrap() + 1);
    let Some(Effect::LoadAudit { req, filter, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!((filter.import_id, filter.since), (Some(1040), None));
    assert!(ok.is_empty(), "an invalid filter was sent: {ok:?}");
    let _ = update(
        &mut s,
        Action::AuditLoaded {
            req,
            result: Ok(entries[..2].to_vec()),
        },
    );
    snapshot("audit_filter_invalid", &s);
    let e = press(&mut s, [code(KeyCode::Esc)]);
    let Some(Effect::LoadAudit { filter, .. }) = e.last() else {
        panic!("{e:?}")
    };
    assert_eq!(filter.words, ["sam", "rollback"]);

    let e = press(&mut s, [key('j'), code(KeyCode::Enter)]);
    assert!(
        matches!(e.as_slice(), [Effect::LoadDetail { id: 1040, .. }]),
        "{e:?}"
    );
    let _ = update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.screen, Screen::Audit);
}

#[test]
fn help_overlay() {
    let mut s = state();
    let _ = update(&mut s, key('?'));
    assert_eq!(s.context(), Ctx::Help);
    snapshot("help", &s);
    let _ = update(&mut s, code(KeyCode::Esc));
    assert!(s.help.is_none());
}

#[test]
fn too_small_terminal() {
    let mut s = state();
    let _ = update(&mut s, Action::Resize(60, 20));
    snapshot("too_small", &s);
    assert_eq!(s.context(), Ctx::TooSmall);
    // Only quitting works.
    let _ = update(&mut s, key('i'));
    assert_eq!(s.screen, Screen::History);
    let _ = update(&mut s, key('q'));
    assert!(s.quit);
}

#[test]
fn no_color_is_monochrome_and_keeps_markers() {
    let mut s = state();
    s.theme = Theme::MONO;
    let t = render_terminal(&s);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "a colour under NO_COLOR: {cell:?}"
        );
    }
    // The selection is REVERSED (row 2 is the first table row).
    assert!(buf[(5, 2)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(5, 3)].modifier.contains(Modifier::REVERSED));
    snapshot("history_no_color", &s);

    open_plan(&mut s, counts(), restore_items());
    let t = render_terminal(&s);
    let screen = t.backend().to_string();
    assert!(screen.contains("- 17.99") && screen.contains("+ 19.99"));
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    // Cancel, the focused button, is REVERSED.
    let cancel_row = screen
        .lines()
        .position(|l| l.contains("[ Cancel ]"))
        .unwrap();
    let line = screen.lines().nth(cancel_row).unwrap();
    let col = line
        .char_indices()
        .find(|(i, _)| line[*i..].starts_with("[ Cancel ]"))
        .map(|(i, _)| line[..i].chars().count() - 1) // the leading quote of the view
        .unwrap();
    assert!(
        t.backend().buffer()[(col as u16, cancel_row as u16)]
            .modifier
            .contains(Modifier::REVERSED)
    );
}

#[test]
fn connection_lost_banner_and_reconnect() {
    let mut s = state();
    let e = press(&mut s, [ctrl('r')]);
    let Some(Effect::LoadHistory { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Err(Failure {
                message: "cannot connect to the database: Connection refused".into(),
                connection: true,
            }),
        },
    );
    assert!(s.wants_ticks());
    snapshot("connection_lost", &s);
    // The next key retries at once.
    let e = update(&mut s, key('j'));
    let Some(Effect::Ping { req }) = e.first().cloned() else {
        panic!("{e:?}")
    };
    let e = update(
        &mut s,
        Action::Pong {
            req,
            result: Ok(()),
        },
    );
    assert_eq!(s.connection, Connection::Ok);
    assert!(e.iter().any(|e| matches!(e, Effect::LoadHistory { .. })));
    assert!(!s.wants_ticks());
}

#[test]
fn the_lost_connection_is_retried_every_five_seconds() {
    let mut s = state();
    let e = press(&mut s, [ctrl('r')]);
    let Some(Effect::LoadHistory { req, .. }) = e.last().cloned() else {
        panic!()
    };
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Err(Failure {
                message: "connection closed".into(),
                connection: true,
            }),
        },
    );
    let mut pings = 0;
    for _ in 0..10 {
        for e in update(&mut s, Action::Tick) {
            if let Effect::Ping { req } = e {
                pings += 1;
                let _ = update(
                    &mut s,
                    Action::Pong {
                        req,
                        result: Err(Failure {
                            message: "still down".into(),
                            connection: true,
                        }),
                    },
                );
            }
        }
    }
    assert_eq!(pings, 2);
}

// ---------------------------------------------------------------- keys

#[test]
fn navigation_keys() {
    let mut s = state();
    assert_eq!(s.history.list.nav.selected, 0);
    let _ = press(&mut s, [key('j'), code(KeyCode::Down)]);
    assert_eq!(s.history.list.nav.selected, 2);
    let _ = press(&mut s, [key('k')]);
    assert_eq!(s.history.list.nav.selected, 1);
    let _ = press(&mut s, [key('G')]);
    assert_eq!(s.history.list.nav.selected, 4);
    let _ = press(&mut s, [key('g')]);
    assert_eq!(s.history.list.nav.selected, 0);
    let _ = press(&mut s, [code(KeyCode::PageDown)]);
    assert_eq!(s.history.list.nav.selected, 4);
    let _ = press(&mut s, [code(KeyCode::PageUp)]);
    assert_eq!(s.history.list.nav.selected, 0);
}

#[test]
fn paging_loads_more_with_keyset_and_drops_stale_replies() {
    let mut s = new_state("db");
    let e = update(&mut s, Action::Init);
    let Some(Effect::LoadHistory { req: first, .. }) = e.first().cloned() else {
        panic!()
    };
    // A full page: more may exist.
    let page: Vec<HistoryRow> = (0..PAGE)
        .map(|i| row(10_000 - i, "acme", "f.csv", "completed", [1, 0, 0, 0]))
        .collect();
    let e = update(
        &mut s,
        Action::HistoryLoaded {
            req: first,
            result: Ok(page),
        },
    );
    assert!(e.iter().all(|e| !matches!(e, Effect::LoadHistory { .. })));
    // Paging down towards the end asks for the rows before the last one.
    let mut more = None;
    for _ in 0..12 {
        for e in update(&mut s, code(KeyCode::PageDown)) {
            if let Effect::LoadHistory { req, filter } = e {
                more = Some((req, filter));
            }
        }
    }
    let (req, filter) = more.expect("a next page");
    assert_eq!(filter.before_id, Some(10_000 - PAGE + 1));
    // A stale reply (the first request's id) is dropped.
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req: first,
            result: Ok(vec![]),
        },
    );
    assert_eq!(s.history.list.rows.len(), PAGE as usize);
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Ok(vec![row(1, "acme", "old.csv", "completed", [1, 0, 0, 0])]),
        },
    );
    assert_eq!(s.history.list.rows.len(), PAGE as usize + 1);
    assert!(s.history.list.exhausted);
}

#[test]
fn filter_keys() {
    let mut s = state();
    let _ = update(&mut s, key('/'));
    assert_eq!(s.context(), Ctx::Filter);
    // In the filter, q is a letter...
    let e = press(&mut s, "seller:acme status:rolled q4".chars().map(key));
    assert!(!s.quit);
    snapshot("filter_typing", &s);
    // The list follows as you type: the last request is the whole filter,
    // and Enter keeps it without asking again.
    let Some(Effect::LoadHistory { filter, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert_eq!(filter.seller.as_deref(), Some("acme"));
    assert_eq!(filter.status, Some(ImportState::RolledBack));
    assert_eq!(filter.file_contains.as_deref(), Some("q4"));
    assert_eq!(filter.before_id, None);
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(s.context(), Ctx::History);
    // A bad status is explained, the filter stays open.
    let _ = press(&mut s, [key('/'), ctrl('u')]);
    let _ = press(&mut s, "status:nope".chars().map(key));
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(e.is_empty());
    assert!(s.notice.as_ref().unwrap().text.contains("unknown status"));
    // ...and Ctrl-C quits even while typing.
    let _ = update(&mut s, ctrl('c'));
    assert!(s.quit);
}

#[test]
fn esc_then_key_batched_as_alt_is_both() {
    let mut s = state();
    let _ = update(&mut s, key('?'));
    let e = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT)),
    );
    assert!(s.help.is_none());
    assert_eq!(s.screen, Screen::Audit);
    assert!(matches!(e.as_slice(), [Effect::LoadAudit { .. }]));
}

#[test]
fn q_quits_from_every_screen_that_is_not_typing() {
    let mut s = state();
    let _ = press(&mut s, [key('a')]);
    let _ = update(&mut s, key('q'));
    assert!(s.quit);
    // In the rollback popup q closes the popup (as Esc does), never quits.
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let _ = update(&mut s, key('q'));
    assert!(!s.quit);
    assert!(s.popup.is_none());
    let _ = update(&mut s, key('q'));
    assert!(s.quit);
}

#[test]
fn every_footer_hint_is_a_working_key() {
    for ctx in [
        Ctx::History,
        Ctx::Filter,
        Ctx::Detail,
        Ctx::Audit,
        Ctx::Form,
        Ctx::FormText,
        Ctx::FormReview,
        Ctx::FormBusy,
        Ctx::FormDone,
        Ctx::Popup,
        Ctx::PopupBusy,
        Ctx::PopupResult,
        Ctx::FindSku,
        Ctx::Listings,
        Ctx::ListingsFilter,
        Ctx::Timeline,
        Ctx::Restore,
        Ctx::RestoreBusy,
        Ctx::RestoreResult,
        Ctx::Help,
        Ctx::TooSmall,
    ] {
        let footer = keys::footer(ctx);
        assert!(
            footer.iter().any(|(_, n)| *n == "quit"),
            "{ctx:?}: quit is not in the footer"
        );
        for b in keys::BINDINGS.iter().filter(|b| b.contexts.contains(&ctx)) {
            for k in b.keys {
                let ev = KeyEvent::new(
                    k.code,
                    if k.ctrl {
                        KeyModifiers::CONTROL
                    } else {
                        KeyModifiers::NONE
                    },
                );
                assert!(
                    keys::lookup(ctx, &ev).is_some() || ctx.is_text(),
                    "{ctx:?}: {:?} does nothing",
                    k.code
                );
            }
            assert!(!b.help.is_empty());
        }
    }
    assert_eq!(
        view::footer_text(Ctx::History),
        "↑↓ move  Enter open  / filter  r rollback  i import  a audit  ? help  l listings  q quit"
    );
}

#[test]
fn only_the_visible_window_is_drawn_for_a_long_history() {
    let mut s = new_state("db");
    let e = update(&mut s, Action::Init);
    let Some(Effect::LoadHistory { req, .. }) = e.first().cloned() else {
        panic!()
    };
    let many: Vec<HistoryRow> = (0..100_000)
        .map(|i| row(100_000 - i, "acme", "f.csv", "completed", [1, 0, 0, 0]))
        .collect();
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Ok(many),
        },
    );
    let _ = press(&mut s, (0..500).map(|_| code(KeyCode::PageDown)));
    let started = std::time::Instant::now();
    let screen = render(&s);
    let took = started.elapsed();
    assert!(screen.contains(&format!("{}/100000", s.history.list.nav.selected + 1)));
    // Generous for debug builds; the release frame is far below 5 ms.
    assert!(took.as_millis() < 200, "a frame took {took:?}");
}

#[test]
fn stale_popup_replies_are_dropped() {
    let mut s = state();
    let e = press(&mut s, [key('r')]);
    let Some(Effect::RollbackCheck { req, .. }) = e.last().cloned() else {
        panic!()
    };
    // The user gives up before the answer comes.
    let _ = update(&mut s, code(KeyCode::Esc));
    assert!(s.popup.is_none());
    let e = update(
        &mut s,
        Action::RollbackChecked {
            req,
            result: Ok(Ok(())),
        },
    );
    assert!(e.is_empty() && s.popup.is_none());
}

#[test]
fn the_rollback_popup_pages_through_a_section() {
    let mut s = state();
    let many: Vec<PlanItem> = (0..PLAN_PAGE)
        .map(|i| restore_item(&format!("SKU-{i:05}"), json!({"price": ["1.00", "2.00"]})))
        .collect();
    let big = PlanCounts {
        restore: 250,
        ..Default::default()
    };
    open_plan(&mut s, big, many);
    let mut next = None;
    for _ in 0..30 {
        for e in update(&mut s, code(KeyCode::PageDown)) {
            if let Effect::RollbackPage { seek, req, .. } = e {
                next = Some((seek, req));
            }
        }
    }
    let (seek, _req) = next.expect("the next page is requested");
    assert_eq!(seek, Seek::After(Some("SKU-00099".into())));
}

// ---------------------------------------------------------------- scrolling

/// `G` on a long dry-run review shows its last line: the update scrolls by
/// the lines and the height the view draws (it used to stop two lines
/// short, the view's height being the body less its button line).
#[test]
fn the_dry_run_review_scrolls_to_its_last_line() {
    let mut s = state();
    filter_to_acme(&mut s);
    let _ = press(&mut s, [key('i')]);
    let _ = press(&mut s, "q4-acme.csv".chars().map(key));
    let e = press(&mut s, (0..6).map(|_| code(KeyCode::Down)));
    // Leaving the File field asks for the file's suggestions, once.
    assert!(
        matches!(e.as_slice(), [Effect::Suggest { path, .. }] if path == "q4-acme.csv"),
        "{e:?}"
    );
    let e = update(&mut s, code(KeyCode::Enter));
    let Some(Effect::Import { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let mut review = outcome(ImportStatus::DryRun);
    review.changes = Some(
        (0..30)
            .map(|i| FieldChanges {
                sku: format!("ACME-{i:04}"),
                changes: json!({"price": [format!("{i}.00"), format!("{i}.50")]}),
            })
            .collect(),
    );
    let _ = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Ok(Box::new(review)),
        },
    );
    assert!(!render(&s).contains("+ 29.50"));
    let _ = update(&mut s, key('G'));
    let screen = render(&s);
    assert!(
        screen.contains("- 29.00") && screen.contains("+ 29.50"),
        "{screen}"
    );
    // The buttons stay on the last line.
    assert!(screen.contains("[ Cancel ]"), "{screen}");
}

/// `G` in a rollback result with many skipped listings ends on the last
/// one with the box still full (it used to scroll past, by a length
/// written down apart from the view, leaving the box half empty).
#[test]
fn the_rollback_result_scrolls_by_the_rows_it_draws() {
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::RollbackExecute { req, expect, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let skipped: Vec<PlanItem> = (0..40)
        .map(|i| skip_item(&format!("SKU-{i:04}"), "edited", None))
        .collect();
    let outcome = rolled_back(45, skipped, expect);
    let _ = update(
        &mut s,
        Action::RollbackDone {
            req,
            result: Ok(Box::new(outcome)),
        },
    );
    let shown = |s: &State| {
        render(s)
            .lines()
            .filter(|l| l.contains("SKU-"))
            .map(|l| l.split("SKU-").nth(1).unwrap()[..4].to_string())
            .collect::<Vec<_>>()
    };
    let first = shown(&s);
    assert_eq!(first.first().map(String::as_str), Some("0000"));
    let _ = update(&mut s, key('G'));
    let last = shown(&s);
    assert_eq!(last.last().map(String::as_str), Some("0039"), "{last:?}");
    assert_eq!(last.len(), first.len(), "the box is as full at the end");
    // One more j changes nothing: this is the end; k moves at once.
    let _ = update(&mut s, key('j'));
    assert_eq!(shown(&s), last);
    let _ = update(&mut s, key('k'));
    let up = shown(&s);
    assert_eq!(
        (up.first(), up.last()),
        (
            Some(&format!("{:04}", 40 - last.len() - 1)),
            Some(&"0038".to_string())
        )
    );
}

// ------------------------------------------------- a console you can trust

/// The form after a dry run of q4-acme.csv (its review on screen).
fn reviewed(s: &mut State) {
    let _ = press(s, [key('i')]);
    let _ = press(s, "q4-acme.csv".chars().map(key));
    // The seller field starts empty for support without a filter.
    let _ = press(s, [code(KeyCode::Down), ctrl('u')]);
    let _ = press(s, "acme".chars().map(key));
    let e = press(
        s,
        [KeyCode::Down; 5]
            .map(code)
            .into_iter()
            .chain([code(KeyCode::Enter)]),
    );
    let Some(Effect::Import { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let _ = update(
        s,
        Action::ImportDone {
            req,
            result: Ok(Box::new(outcome(ImportStatus::DryRun))),
        },
    );
}

/// Confirms the reviewed dry run: the import runs (its request returned).
fn importing(s: &mut State) -> u64 {
    reviewed(s);
    let e = press(s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::Import { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    req
}

#[test]
fn the_import_runs_what_the_dry_run_pinned_or_is_refused() {
    let mut s = state();
    reviewed(&mut s);
    let pinned = outcome(ImportStatus::DryRun).plan_fingerprint;
    let e = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Effect::Import { req, spec }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert!(!spec.dry_run);
    assert_eq!(spec.expect, pinned);
    assert_eq!(spec.seller, "acme");
    // The plan changed meanwhile: refused, and the way on is a new dry run.
    let _ = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Err(ImportFailure::Refused(
                "the plan changed since the dry run: it would now create 19, update 3 and \
                 leave 98 unchanged; nothing was imported: dry run again and review it"
                    .into(),
            )),
        },
    );
    assert!(matches!(s.form.phase, FormPhase::Refused { .. }));
    snapshot("import_refused", &s);
    let e = update(&mut s, code(KeyCode::Enter));
    let Some(Effect::Import { spec, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    assert!(spec.dry_run);
    assert_eq!(spec.expect, None);
    assert_eq!(spec.path.to_string_lossy(), "q4-acme.csv");
}

#[test]
fn a_key_that_cannot_act_says_why_on_screen() {
    // Enter on "Roll back" without the typed id: why, over the popup's edge.
    let mut s = state();
    let big = PlanCounts {
        delete: 600,
        restore: 1400,
        ..Default::default()
    };
    open_plan(&mut s, big, restore_items());
    let _ = press(&mut s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let screen = render(&s);
    assert!(
        screen.contains("Error: type the import id (1042)"),
        "{screen}"
    );
    // Block mode with conflicts.
    let mut s = state();
    open_plan(&mut s, counts(), restore_items());
    let _ = press(
        &mut s,
        [key('m'), code(KeyCode::Right), code(KeyCode::Enter)],
    );
    snapshot("rollback_blocked_says_why", &s);
    // ←→ on the form's button (they change the profile and the option).
    let mut s = state();
    let _ = press(&mut s, [key('i')]);
    let _ = press(&mut s, [KeyCode::Down; 6].map(code));
    let _ = update(&mut s, code(KeyCode::Right));
    assert!(render(&s).contains("←→ change the profile or the option"));
}

#[test]
fn progress_reaches_100_only_at_the_end_and_esc_cancels_after_asking() {
    let mut s = state();
    let req = importing(&mut s);
    let phase = |s: &mut State, phase: Phase| {
        let progress = Progress {
            rows_read: 120,
            bytes_read: 10_000,
            total_bytes: 10_000,
            elapsed: std::time::Duration::from_secs(2),
            phase,
        };
        let _ = update(s, Action::ImportProgress { req, progress });
        render(s)
    };
    // The whole file read is not the whole import.
    let mut last = 0;
    for p in [
        Phase::Reading,
        Phase::Loading,
        Phase::Applying,
        Phase::Recording,
    ] {
        let screen = phase(&mut s, p);
        let pct: u32 = screen
            .split('%')
            .next()
            .and_then(|l| l.rsplit(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("no percentage:\n{screen}"));
        assert!(pct < 100 && pct >= last, "{p:?}: {pct}%\n{screen}");
        last = pct;
    }
    snapshot("import_recording", &s);

    // Esc asks (the harmless answer focused); Enter keeps it running.
    let e = update(&mut s, code(KeyCode::Esc));
    assert!(e.is_empty());
    snapshot("import_cancel_question", &s);
    let e = update(&mut s, code(KeyCode::Enter));
    assert!(e.is_empty() && s.confirm.is_none());
    assert!(s.form.is_busy());
    // Esc, then the other button: the worker cancels it.
    let e = press(
        &mut s,
        [
            code(KeyCode::Esc),
            code(KeyCode::Right),
            code(KeyCode::Enter),
        ],
    );
    assert!(
        matches!(e.as_slice(), [Effect::Cancel { req: r, cause: StopCause::Requested }] if *r == req),
        "{e:?}"
    );
    let e = update(
        &mut s,
        Action::ImportDone {
            req,
            result: Err(ImportFailure::Cancelled(
                "the import was cancelled; nothing was changed (the history records import \
                 #1043 as failed: cancelled)"
                    .into(),
            )),
        },
    );
    assert!(
        matches!(e.as_slice(), [Effect::LoadHistory { .. }]),
        "{e:?}"
    );
    assert!(matches!(s.form.phase, FormPhase::Editing { error: None }));
    assert!(render(&s).contains("the import was cancelled; nothing was changed"));
}

#[test]
fn a_hang_up_or_sigterm_quits_at_once_and_cancels_running_work_for_that_cause() {
    for cause in [
        StopCause::HungUp,
        StopCause::Terminated,
        StopCause::Interrupt,
    ] {
        let mut s = state();
        let req = importing(&mut s);
        let e = update(&mut s, Action::Interrupted(cause));
        assert!(s.quit);
        // The history of the cancelled import must say what stopped it,
        // not that the user did.
        assert!(
            matches!(e.as_slice(), [Effect::Cancel { req: r, cause: c }] if *r == req && *c == cause),
            "{e:?}"
        );
    }
    // Nothing running: it just quits.
    let mut s = state();
    let e = update(&mut s, Action::Interrupted(StopCause::HungUp));
    assert!(s.quit && e.is_empty());
}

#[test]
fn q_and_esc_close_layers_and_q_asks_while_work_runs() {
    // q closes the help, it does not quit.
    let mut s = state();
    let _ = press(&mut s, [key('?'), key('q')]);
    assert!(s.help.is_none() && !s.quit);
    // Ctrl-Z suspends; Ctrl-R reloads.
    let _ = update(&mut s, ctrl('z'));
    assert!(s.suspend);
    s.suspend = false;
    let e = update(&mut s, ctrl('r'));
    assert!(
        matches!(e.as_slice(), [Effect::LoadHistory { .. }]),
        "{e:?}"
    );

    // While an import runs, q asks first; Esc and q close the question.
    let mut s = state();
    let req = importing(&mut s);
    let _ = update(&mut s, key('q'));
    assert!(!s.quit);
    snapshot("quit_question", &s);
    let _ = update(&mut s, code(KeyCode::Esc));
    assert!(s.confirm.is_none() && !s.quit);
    let _ = press(&mut s, [key('q'), key('q')]);
    assert!(s.confirm.is_none() && !s.quit);
    // Quit and cancel: the import is cancelled on the way out.
    let e = press(
        &mut s,
        [key('q'), code(KeyCode::Right), code(KeyCode::Enter)],
    );
    assert!(s.quit);
    assert!(
        matches!(e.as_slice(), [Effect::Cancel { req: r, cause: StopCause::Requested }] if *r == req),
        "{e:?}"
    );
}
