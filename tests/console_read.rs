//! Reading the console: what is cut off opens in full (`v`) and copies
//! over the terminal (`y`, OSC 52); any terminal (ASCII for `TERM=dumb`,
//! wide and combined characters in their cells). Keys go through the same
//! `update` the app runs; screens are drawn on ratatui's TestBackend at
//! 80x24. No database.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::domain::history::{ImportState, ImportSummary};
use importdesk::tui::action::{Action, AuditRow, DetailData, Effect, HistoryRow};
use importdesk::tui::clipboard;
use importdesk::tui::clock::Clock;
use importdesk::tui::screen::Screen;
use importdesk::tui::screen::history::Eligibility;
use importdesk::tui::state::State;
use importdesk::tui::theme::Theme;
use importdesk::tui::update::update;
use importdesk::tui::view;
use importdesk::tui::widgets::text::width;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

const LONG_PATH: &str = "/home/jane/exports/marketplaces/etsy/2024/october/\
                         4-globex-wrong-prices-after-the-supplier-changed-the-currency.csv";
const SHA: &str = "9f2c4e0a51b7d3aa0c7d52e1f4b8a9c0ffee00112233445566778899aabbccdd";
const REASON: &str = "import #1040 is not globex's newest import: #1044 (bulk-price-update.csv) \
                      came after it and must be rolled back first";

fn at(day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 10, day, h, 0, 0).unwrap()
}

fn row(id: i64, seller: &str, file: &str) -> HistoryRow {
    HistoryRow {
        id,
        started_at: at(1 + (id as u32 % 9), 9),
        seller: seller.into(),
        file: file.into(),
        created: 1_234,
        updated: 56_789,
        unchanged: 0,
        rejected: 0,
        status: ImportState::Completed,
        pruned: false,
        actor: "jane (ssh 10.0.0.7)".into(),
        rolled_back_at: None,
        rolled_back_by: None,
    }
}

fn console(theme: Theme, rows: Vec<HistoryRow>) -> State {
    let mut s = State::new(80, 24, theme, "importdesk");
    s.clock = Clock::fixed(at(10, 12), FixedOffset::east_opt(0).unwrap());
    let _ = update(&mut s, Action::Init);
    let req = s.history.list.loading.unwrap().req;
    let _ = update(
        &mut s,
        Action::HistoryLoaded {
            req,
            result: Ok(rows),
        },
    );
    s
}

/// Seller and file names from every script: CJK, a ZWJ family, a flag,
/// skin tones, a combining accent.
fn wide_rows() -> Vec<HistoryRow> {
    vec![
        row(1044, "globex", "bulk-price-update.csv"),
        row(1043, "東京ショップ", "商品一覧_十月.csv"),
        row(1042, "famille👨‍👩‍👧‍👦", "🇯🇵🇫🇷-flags.csv"),
        row(1041, "hände👋🏽", "cafe\u{301}-menu-👍🏿.csv"),
        row(1040, "globex", LONG_PATH),
    ]
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
    actions.into_iter().flat_map(|a| update(s, a)).collect()
}

fn render(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    t.backend().to_string()
}

/// The screen's text with the view's wrapping undone: lines joined, the
/// frame and indent gone.
fn unwrapped(screen: &str) -> String {
    screen
        .lines()
        .map(|l| {
            l.trim_matches('"')
                .trim_matches(|c| c == '│' || c == '|' || c == ' ')
        })
        .collect()
}

/// The labelled values the `v` view holds.
fn values(s: &State) -> Vec<(String, String)> {
    let view = s.full_text.as_ref().expect("the full-text view is open");
    view.items
        .iter()
        .map(|i| (i.label.clone(), i.value.clone()))
        .collect()
}

fn value<'a>(items: &'a [(String, String)], label: &str) -> &'a str {
    items
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {label:?} in {items:?}"))
}

// ---------------------------------------------------------------- in full

#[test]
fn a_cut_file_name_and_the_status_line_reason_open_in_full_and_copy() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('G')]);
    s.history
        .eligibility
        .insert(1040, Eligibility::Ineligible(REASON.into()));
    let list = render(&s);
    assert!(!list.contains(LONG_PATH), "the list cuts the path:\n{list}");
    assert!(!list.contains("rolled back first"), "{list}");

    let _ = press(&mut s, [key('v')]);
    let items = values(&s);
    assert_eq!(value(&items, "File"), LONG_PATH);
    assert_eq!(
        value(&items, "Rollback"),
        format!("Rollback unavailable: {REASON}")
    );
    let screen = render(&s);
    insta::assert_snapshot!("in_full_history", screen);
    let joined = unwrapped(&screen).replace(' ', "");
    assert!(joined.contains(LONG_PATH), "{screen}");
    assert!(joined.contains(&REASON.replace(' ', "")), "{screen}");

    // `y` copies the selected value: move to the file, copy it.
    let _ = press(&mut s, [key('j'), key('y')]);
    assert_eq!(s.clipboard.as_deref(), Some(LONG_PATH));
    let notice = s.notice.as_ref().unwrap().text.clone();
    assert_eq!(notice, "copied File to the clipboard (OSC 52)");
    // What the loop writes to the terminal.
    assert!(
        clipboard::osc52(LONG_PATH)
            .unwrap()
            .starts_with("\x1b]52;c;L2hvbWUvamFuZS9")
    );

    // Esc, `v` and Enter close it; the list is as it was.
    let _ = press(&mut s, [code(KeyCode::Esc)]);
    assert!(s.full_text.is_none());
    assert_eq!(s.screen, Screen::History);
    let _ = press(&mut s, [key('v'), key('v')]);
    assert!(s.full_text.is_none());
}

#[test]
fn a_long_value_scrolls_to_its_end_and_down_moves_on_after_it() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('G')]);
    let long = (1..=40)
        .map(|n| format!("reason-{n}"))
        .collect::<Vec<_>>()
        .join(" ")
        .repeat(4);
    s.history
        .eligibility
        .insert(1040, Eligibility::Ineligible(long.clone()));
    let _ = press(&mut s, [key('v')]);
    // The last value (the rollback reason) is taller than the view: G shows
    // its last line.
    let _ = press(&mut s, [key('G')]);
    let screen = render(&s);
    assert!(screen.contains("reason-40"), "{screen}");
    let view = s.full_text.as_ref().unwrap();
    assert_eq!(view.selected, view.items.len() - 1);
    // g back to the top, then j walks value by value.
    let _ = press(&mut s, [key('g'), key('j'), key('j')]);
    assert_eq!(s.full_text.as_ref().unwrap().selected, 2);
    assert_eq!(s.full_text.as_ref().unwrap().scroll, 0);
}

#[test]
fn a_terminal_without_escape_sequences_is_told_to_select_instead() {
    let mut s = console(Theme::ASCII, wide_rows());
    let _ = press(&mut s, [key('G'), key('v'), key('j'), key('y')]);
    assert_eq!(s.clipboard, None);
    assert!(
        s.notice.as_ref().unwrap().text.contains("select the text"),
        "{:?}",
        s.notice
    );
    // Nothing to copy that terminals would take: said, not sent.
    assert!(clipboard::osc52(&"x".repeat(clipboard::MAX_BYTES + 1)).is_none());
}

fn summary() -> ImportSummary {
    let errors = (1..=3)
        .map(|n| {
            json!({
                "line": 10 * n,
                "column": 4,
                "column_name": "price",
                "reason": format!(
                    "bad price {n}: \"12,50 EUR\" is not a number (use a dot as the decimal \
                     separator and put the currency in its own column)"
                ),
            })
        })
        .collect::<Vec<_>>();
    ImportSummary {
        id: 1040,
        seller_id: "globex".into(),
        file_name: LONG_PATH.into(),
        file_sha256: Some(SHA.into()),
        file_size: Some(48_213),
        profile: "etsy".into(),
        options: json!({"profile_detected": true, "key": "listing_id"}),
        status: ImportState::Failed,
        started_at: at(9, 9),
        finished_at: Some(at(9, 9)),
        actor: "jane (ssh 10.0.0.7)".into(),
        db_role: "importdesk_support".into(),
        os_user: Some("jane".into()),
        client_addr: None,
        rows_read: 3,
        created: 0,
        updated: 0,
        unchanged: 0,
        rejected: 3,
        ignored_rows: 0,
        unknown_columns: Vec::new(),
        error_summary: Some("3 rows were rejected; nothing was imported".into()),
        errors: json!(errors),
        rolled_back_at: None,
        rolled_back_by: None,
        rollback_restored: None,
        rollback_deleted: None,
        rollback_skipped: None,
        pruned_at: None,
    }
}

#[test]
fn the_detail_gives_the_whole_hash_path_and_error_lines() {
    let mut s = console(Theme::COLOR, wide_rows());
    let e = press(&mut s, [key('G'), code(KeyCode::Enter)]);
    let Some(req) = e.iter().find_map(|e| match e {
        Effect::LoadDetail { req, id: 1040 } => Some(*req),
        _ => None,
    }) else {
        panic!("{e:?}")
    };
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
    let detail = render(&s);
    assert!(!detail.contains(SHA), "the detail cuts the hash:\n{detail}");
    let _ = press(&mut s, [key('v')]);
    let items = values(&s);
    assert_eq!(value(&items, "sha256"), SHA);
    assert_eq!(value(&items, "File"), LONG_PATH);
    let errors: Vec<&str> = items
        .iter()
        .filter(|(l, _)| l == "Error")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(errors.len(), 3);
    assert!(
        errors[2].starts_with("line 30, column 4 (price): bad price 3")
            && errors[2].ends_with("put the currency in its own column)"),
        "{errors:?}"
    );
    // Copy the fingerprint: Import, Seller, File, sha256.
    let _ = press(&mut s, [key('j'), key('j'), key('j'), key('y')]);
    assert_eq!(s.clipboard.as_deref(), Some(SHA));
    insta::assert_snapshot!("in_full_detail", render(&s));
}

#[test]
fn audit_details_open_in_full() {
    let mut s = console(Theme::COLOR, wide_rows());
    let e = press(&mut s, [key('a')]);
    let Some(Effect::LoadAudit { req, .. }) = e.last().cloned() else {
        panic!("{e:?}")
    };
    let fingerprint = "sha256:0c7d52e1f4b8a9c0ffee9f2c4e0a51b7d3aa00112233445566778899aabbccdd";
    let _ = update(
        &mut s,
        Action::AuditLoaded {
            req,
            result: Ok(vec![AuditRow {
                id: 311,
                at: at(9, 14),
                actor: "sam".into(),
                action: "rollback executed".into(),
                seller: Some("globex".into()),
                import_id: Some(1040),
                summary: "68 restored, 0 deleted, 2 skipped".into(),
                details: json!({"plan_fingerprint": fingerprint, "restored": 68}),
            }]),
        },
    );
    let _ = press(&mut s, [key('v')]);
    let items = values(&s);
    assert_eq!(value(&items, "plan fingerprint"), fingerprint);
    assert_eq!(value(&items, "restored"), "68");
    assert_eq!(value(&items, "When"), "2024-10-09 14:00:00 UTC (22 h ago)");
}

#[test]
fn a_message_the_next_key_took_away_is_in_the_view() {
    let mut s = console(Theme::COLOR, wide_rows());
    // `y` outside the view is not bound: use an error notice the screen sets.
    s.notice = Some(importdesk::tui::state::Notice::error(format!(
        "could not open {LONG_PATH}: permission denied"
    )));
    let _ = press(&mut s, [key('v')]);
    let items = values(&s);
    assert_eq!(
        value(&items, "Last message"),
        format!("could not open {LONG_PATH}: permission denied")
    );
}

// ---------------------------------------------------------------- any terminal

#[test]
fn term_dumb_and_vt100_and_latin1_locales_get_ascii_without_colour() {
    for (term, locale) in [
        (Some("dumb"), Some("en_US.UTF-8")),
        (Some("vt100"), Some("C.UTF-8")),
        (Some("xterm-256color"), Some("de_DE.ISO-8859-1")),
    ] {
        let t = Theme::detect(term, locale, false);
        assert!(t.ascii, "{term:?} {locale:?}");
    }
    assert!(!Theme::detect(Some("xterm-256color"), Some("en_US.UTF-8"), false).ascii);
}

#[test]
fn term_dumb_draws_only_ascii_in_the_same_cells() {
    let mut s = console(Theme::ASCII, wide_rows());
    let _ = press(&mut s, [key('j')]);
    let screen = render(&s);
    insta::assert_snapshot!("history_term_dumb", screen);
    assert!(screen.is_ascii(), "{screen}");
    for line in screen.lines() {
        assert_eq!(line.trim_matches('"').len(), 80, "{line}");
    }
    // The help overlay too: borders, arrows.
    let _ = press(&mut s, [key('?')]);
    let help = render(&s);
    insta::assert_snapshot!("help_term_dumb", help);
    assert!(help.is_ascii(), "{help}");
    assert!(help.contains("+--"), "{help}");
}

#[test]
fn wide_and_combined_characters_never_shift_a_column() {
    let s = console(Theme::COLOR, wide_rows());
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| view::render(f, &s)).unwrap();
    insta::assert_snapshot!("history_wide_characters", t.backend().to_string());
    let buf = t.backend().buffer();
    // Every row of the list: `completed` starts in the same cell, whatever
    // the names before it hold.
    let column_of = |y: u16| {
        (0..70u16)
            .find(|&x| {
                (0..9u16)
                    .map(|i| buf[(x + i, y)].symbol())
                    .collect::<String>()
                    == "completed"
            })
            .unwrap_or_else(|| panic!("row {y}: no status"))
    };
    let columns: Vec<u16> = (2..7).map(column_of).collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{columns:?}");
    // A wide character fills its cell and the next; nothing is drawn over
    // the second half (a ghost).
    for y in 2..7u16 {
        let mut x = 0u16;
        let mut cells = 0;
        while x < 80 {
            let w = width(buf[(x, y)].symbol()).max(1) as u16;
            cells += w;
            x += w;
        }
        assert_eq!(cells, 80, "row {y}");
    }
}

// ---------------------------------------------------------------- finding

fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
    press(s, text.chars().map(key))
}

/// The filter of the last history request among `effects`.
fn last_filter(effects: &[Effect]) -> importdesk::domain::history::HistoryFilter {
    effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::LoadHistory { filter, .. } => Some(filter.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no history request in {effects:?}"))
}

#[test]
fn the_list_follows_each_key_and_the_header_shows_the_filter() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('/')]);
    let e = type_text(&mut s, "failed");
    assert_eq!(last_filter(&e).status, Some(ImportState::Failed));
    // Words as the list writes them: `rolled back` is a status.
    let _ = press(&mut s, [ctrl('u')]);
    let e = type_text(&mut s, "rolled back");
    let f = last_filter(&e);
    assert_eq!(f.status, Some(ImportState::RolledBack));
    assert_eq!(f.file_contains, None);
    let _ = press(&mut s, [code(KeyCode::Enter)]);
    let title = render(&s).lines().next().unwrap().to_string();
    assert!(
        title.contains("Import history · filter: status:rolled_back"),
        "{title}"
    );
    // Esc while typing puts back the filter there was.
    let _ = press(&mut s, [key('/'), ctrl('u')]);
    let e = type_text(&mut s, "seller:acme");
    assert_eq!(last_filter(&e).seller.as_deref(), Some("acme"));
    let e = press(&mut s, [code(KeyCode::Esc)]);
    let f = last_filter(&e);
    assert_eq!((f.seller, f.status), (None, Some(ImportState::RolledBack)));
    // Esc on the list clears it; the header says nothing more.
    let _ = press(&mut s, [code(KeyCode::Esc)]);
    assert!(!render(&s).lines().next().unwrap().contains("filter:"));
}

#[test]
fn since_takes_a_local_date() {
    let mut s = console(Theme::COLOR, wide_rows());
    s.clock.zone = FixedOffset::east_opt(3600);
    let _ = press(&mut s, [key('/')]);
    let e = type_text(&mut s, "since:2026-11-01 globex");
    let f = last_filter(&e);
    assert_eq!(
        f.since,
        Some(Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap())
    );
    assert_eq!(f.file_contains.as_deref(), Some("globex"));
}

#[test]
fn sku_filters_the_history_to_the_imports_that_touched_that_listing() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('/')]);
    let e = type_text(&mut s, "seller:acme sku:ACME-0003");
    let f = last_filter(&e);
    assert_eq!(
        (f.seller.as_deref(), f.touched_sku.as_deref()),
        (Some("acme"), Some("ACME-0003"))
    );
    let _ = press(&mut s, [code(KeyCode::Enter)]);
    // A filter, kept and shown; not the listing's timeline.
    assert_eq!(s.screen, Screen::History);
    let title = render(&s).lines().next().unwrap().to_string();
    assert!(
        title.contains("filter: seller:acme sku:ACME-0003"),
        "{title}"
    );
}

#[test]
fn an_invalid_filter_says_why_and_keeps_the_list() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('/')]);
    for (typed, why) in [
        ("since:2026-13-01", "2026-13-01 is not a date (YYYY-MM-DD)"),
        ("state:failed", "unknown filter word \"state:\""),
        ("status:nope", "unknown status \"nope\""),
        ("#4x", "\"#4x\" is not an import number"),
    ] {
        let _ = press(&mut s, [ctrl('u')]);
        let (head, last) = typed.split_at(typed.len() - 1);
        let _ = type_text(&mut s, head);
        let e = type_text(&mut s, last);
        let screen = render(&s);
        let status_line = screen.lines().nth(22).unwrap();
        assert!(
            status_line.contains(why.split(':').next().unwrap()),
            "{typed}: {status_line}"
        );
        assert_eq!(
            s.history
                .filter_error
                .as_deref()
                .map(|e| e.starts_with(why)),
            Some(true),
            "{typed}"
        );
        // No request for what cannot be a filter; Enter explains too.
        assert!(
            !e.iter().any(|e| matches!(e, Effect::LoadHistory { .. })),
            "{typed}: {e:?}"
        );
        let _ = press(&mut s, [code(KeyCode::Enter)]);
        assert!(s.notice.as_ref().unwrap().text.starts_with(why), "{typed}");
        assert!(s.history.filter_input.is_some());
    }
    insta::assert_snapshot!("filter_invalid", render(&s));
}

#[test]
fn hash_and_a_number_opens_that_import() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('/')]);
    let e = type_text(&mut s, "#1041");
    assert!(
        !e.iter().any(|e| matches!(e, Effect::LoadHistory { .. })),
        "{e:?}"
    );
    let e = press(&mut s, [code(KeyCode::Enter)]);
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::LoadDetail { id: 1041, .. })),
        "{e:?}"
    );
    assert_eq!(s.screen, Screen::Detail);
    assert!(s.history.filter_input.is_none());
    // Esc comes back to the list, its filter untouched.
    let _ = press(&mut s, [code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::History);
    assert!(s.history.filter.is_empty());
}

// ---------------------------------------------------------------- the form

#[test]
fn a_seller_role_choosing_another_seller_gets_a_sentence() {
    use importdesk::domain::identity::Identity;
    let mut s = console(Theme::COLOR, wide_rows());
    s.identity = Some(Identity {
        role: "globex_login".into(),
        seller: Some("globex".into()),
        support: false,
    });
    let _ = press(&mut s, [key('i')]);
    assert_eq!(s.form.seller.text, "globex");
    let _ = type_text(&mut s, "/srv/exports/acme.csv");
    let _ = press(&mut s, [code(KeyCode::Down), ctrl('u')]);
    let _ = type_text(&mut s, "acme");
    let e = press(
        &mut s,
        (0..5)
            .map(|_| code(KeyCode::Down))
            .chain([code(KeyCode::Enter)]),
    );
    assert!(
        !e.iter().any(|e| matches!(e, Effect::Import { .. })),
        "{e:?}"
    );
    let screen = render(&s);
    assert!(
        screen.contains("this login imports for seller globex only"),
        "{screen}"
    );
    assert!(!screen.contains("row-level security"), "{screen}");
}

// ---------------------------------------------------------------- live

#[test]
fn a_change_elsewhere_reloads_the_history_and_the_screen_shown() {
    let mut s = console(Theme::COLOR, wide_rows());
    let _ = press(&mut s, [key('j')]);
    let e = update(&mut s, Action::Changed);
    assert!(
        matches!(e.as_slice(), [Effect::LoadHistory { .. }]),
        "{e:?}"
    );
    // The selection is kept across the reload.
    assert_eq!(s.history.list.reselect, Some(1043));
    let _ = press(&mut s, [code(KeyCode::Enter)]);
    let e = update(&mut s, Action::Changed);
    assert!(
        e.iter().any(|e| matches!(e, Effect::LoadHistory { .. }))
            && e.iter()
                .any(|e| matches!(e, Effect::LoadDetail { id: 1043, .. })),
        "{e:?}"
    );
    let _ = press(&mut s, [code(KeyCode::Esc), key('a')]);
    let e = update(&mut s, Action::Changed);
    assert!(
        e.iter().any(|e| matches!(e, Effect::LoadAudit { .. })),
        "{e:?}"
    );
}
