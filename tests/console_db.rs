//! The console against a real database: the worker runs the effects that
//! `update` returns (import with dry run, rollback preview and pages,
//! execution, refusals, detail, audit log), exactly as the app does, only
//! without a terminal.

mod common;

use std::collections::VecDeque;

use common::{NATIVE_HEADER, TestDb, csv_file, dump_listings, import_json};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::db::Database;
use importdesk::domain::history::ImportState;
use importdesk::tui::action::{Action, Effect};
use importdesk::tui::popup::rollback::PopupStage;
use importdesk::tui::popup::rollback::plan::PlanView;
use importdesk::tui::screen::Screen;
use importdesk::tui::screen::import::FormPhase;
use importdesk::tui::state::{Connection, State};
use importdesk::tui::theme::Theme;
use importdesk::tui::update::update;
use importdesk::tui::view;
use importdesk::tui::worker::Worker;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

struct Driver {
    state: State,
    worker: Worker,
    rx: mpsc::Receiver<Action>,
    _files: tempfile::TempDir,
}

impl Driver {
    fn new(db: &Database) -> Self {
        let (tx, rx) = mpsc::channel(256);
        let files = tempfile::tempdir().unwrap();
        Self {
            state: State::new(100, 30, Theme::MONO, "test"),
            worker: Worker::new(db.clone(), files.path().to_path_buf(), tx),
            rx,
            _files: files,
        }
    }

    /// Applies `action`, then runs every effect (and the effects of their
    /// replies) to completion.
    async fn act(&mut self, action: Action) {
        let mut queue: VecDeque<Effect> = update(&mut self.state, action).into();
        while let Some(effect) = queue.pop_front() {
            self.worker.run(effect).await;
            while let Ok(reply) = self.rx.try_recv() {
                queue.extend(update(&mut self.state, reply));
            }
        }
    }

    async fn key(&mut self, code: KeyCode) {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .await;
    }

    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    fn screen(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(self.state.width, self.state.height)).unwrap();
        t.draw(|f| view::render(f, &self.state)).unwrap();
        t.backend().to_string()
    }

    fn plan(&self) -> &PlanView {
        match self.state.popup.as_ref().map(|p| &p.stage) {
            Some(PopupStage::Plan(p)) => p,
            other => panic!("no plan in the popup: {other:?}\n{}", self.screen()),
        }
    }
}

const V1: &str = "A1,Alpha,,1.00,USD,1,active,new,,,\n\
                  A2,Beta,,2.00,USD,2,active,new,,,\n\
                  A3,Gamma,,3.00,USD,3,active,new,,,\n";
/// Changes A1's price and title, leaves A2 and A3, creates A4.
const V2: &str = "A1,Alpha v2,,1.50,USD,1,active,new,,,\n\
                  A2,Beta,,2.00,USD,2,active,new,,,\n\
                  A3,Gamma,,3.00,USD,3,active,new,,,\n\
                  A4,Delta,,4.00,USD,4,active,new,,,\n";

#[tokio::test]
async fn import_with_dry_run_then_rollback_from_the_popup() {
    let t = TestDb::new().await;
    let (_d1, v1) = csv_file("v1.csv", &format!("{NATIVE_HEADER}{V1}"));
    import_json(&t, &v1, "s1", &[], 0);
    let before = dump_listings(&t).await;

    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    assert_eq!(d.state.history.list.rows.len(), 1);
    assert!(d.screen().contains("v1.csv"));

    // New import: the seller comes from the selected row.
    let (_d2, v2) = csv_file("v2.csv", &format!("{NATIVE_HEADER}{V2}"));
    d.key(KeyCode::Char('i')).await;
    assert_eq!(d.state.form.seller.text, "s1");
    d.type_text(v2.to_str().unwrap()).await;
    for _ in 0..4 {
        d.key(KeyCode::Down).await;
    }
    d.key(KeyCode::Enter).await;
    let FormPhase::Reviewed { outcome, .. } = &d.state.form.phase else {
        panic!(
            "no dry run result: {:?}\n{}",
            d.state.form.phase,
            d.screen()
        )
    };
    assert_eq!((outcome.counts.created, outcome.counts.updated), (1, 1));
    let screen = d.screen();
    assert!(
        screen.contains("1 to create, 1 to update, 2 unchanged"),
        "{screen}"
    );
    assert!(
        screen.contains("- 1.00") && screen.contains("+ 1.50"),
        "{screen}"
    );
    // The dry run changed nothing.
    assert_eq!(dump_listings(&t).await, before);

    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    let FormPhase::Done { outcome, .. } = &d.state.form.phase else {
        panic!("{:?}", d.state.form.phase)
    };
    let new_id = outcome.import_id.unwrap();
    assert_eq!(d.state.history.list.rows[0].id, new_id);
    assert_eq!(d.state.history.list.rows[0].status, ImportState::Completed);

    // Back to the history; the new import is selected; roll it back.
    d.key(KeyCode::Esc).await;
    assert_eq!(d.state.selected_row().unwrap().id, new_id);
    d.key(KeyCode::Char('r')).await;
    let plan = d.plan();
    assert_eq!(
        (
            plan.preview.counts.delete,
            plan.preview.counts.restore,
            plan.preview.counts.skip
        ),
        (1, 1, 0)
    );
    assert_eq!(plan.restore.items.len(), 1);
    let screen = d.screen();
    assert!(
        screen.contains("1 to delete · 1 to restore · 0 to skip"),
        "{screen}"
    );
    assert!(
        screen.contains("- 1.50") && screen.contains("+ 1.00"),
        "{screen}"
    );
    assert!(
        screen.contains("- Alpha v2") && screen.contains("+ Alpha"),
        "{screen}"
    );
    // The delete tab pages in on demand.
    d.key(KeyCode::BackTab).await;
    assert_eq!(d.plan().delete.items[0].sku, "A4");
    assert!(d.screen().contains("- A4"));

    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    let Some(PopupStage::Done { outcome, .. }) = d.state.popup.as_ref().map(|p| &p.stage) else {
        panic!("{}", d.screen())
    };
    assert_eq!(
        (outcome.restored, outcome.deleted, outcome.skipped),
        (1, 1, 0)
    );
    assert!(d.screen().contains("1 restored · 1 deleted · 0 skipped"));
    d.key(KeyCode::Enter).await;
    assert_eq!(d.state.history.list.rows[0].status, ImportState::RolledBack);
    let screen = d.screen();
    let row = screen
        .lines()
        .find(|l| l.contains("v2.csv"))
        .expect("the row");
    assert!(row.contains("rolled back"), "{screen}");
    assert_eq!(dump_listings(&t).await, before);
}

#[tokio::test]
async fn a_plan_changed_after_the_preview_is_refused_and_previewed_again() {
    let t = TestDb::new().await;
    let (_d1, v1) = csv_file("v1.csv", &format!("{NATIVE_HEADER}{V1}"));
    let (_d2, v2) = csv_file("v2.csv", &format!("{NATIVE_HEADER}{V2}"));
    import_json(&t, &v1, "s1", &[], 0);
    import_json(&t, &v2, "s1", &[], 0);

    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('r')).await;
    assert_eq!(d.plan().preview.counts.skip, 0);
    // Someone edits A1 while the popup is open: nothing is locked meanwhile.
    t.client()
        .await
        .batch_execute("UPDATE listings SET title = 'edited by hand' WHERE sku = 'A1'")
        .await
        .unwrap();
    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    let Some(PopupStage::Refused {
        message, can_retry, ..
    }) = d.state.popup.as_ref().map(|p| &p.stage)
    else {
        panic!("{}", d.screen())
    };
    assert!(*can_retry);
    assert!(message.contains("changed since the preview"), "{message}");
    assert!(d.screen().contains("[ Preview again ]"));
    // The import is still applied.
    assert_eq!(d.state.history.list.rows[0].status, ImportState::Completed);

    d.key(KeyCode::Enter).await;
    let plan = d.plan();
    assert_eq!(
        (plan.preview.counts.restore, plan.preview.counts.skip),
        (0, 1)
    );
    d.key(KeyCode::Tab).await;
    d.key(KeyCode::Tab).await;
    assert_eq!(d.plan().tab, importdesk::domain::rollback::Section::Skip);
    assert!(d.screen().contains("! A1"), "{}", d.screen());

    // Block mode refuses to confirm while listings would be skipped.
    d.key(KeyCode::Char('m')).await;
    d.key(KeyCode::Right).await;
    d.key(KeyCode::Enter).await;
    assert!(matches!(
        d.state.popup.as_ref().map(|p| &p.stage),
        Some(PopupStage::Plan(_))
    ));
    // Skip mode rolls back the rest.
    d.key(KeyCode::Char('m')).await;
    d.key(KeyCode::Enter).await;
    let Some(PopupStage::Done { outcome, .. }) = d.state.popup.as_ref().map(|p| &p.stage) else {
        panic!("{}", d.screen())
    };
    assert_eq!((outcome.deleted, outcome.skipped), (1, 1));
    assert_eq!(outcome.skipped_listings[0].sku, "A1");

    // The detail of the rolled-back import lists the skipped listing.
    d.key(KeyCode::Enter).await;
    d.key(KeyCode::Enter).await;
    assert_eq!(d.state.screen, Screen::Detail);
    let screen = d.screen();
    assert!(screen.contains("Skipped by the rollback (1)"), "{screen}");
    assert!(screen.contains("A1") && screen.contains("edited after the import"));

    // And the audit log has the story.
    d.key(KeyCode::Char('a')).await;
    let actions: Vec<&str> = d
        .state
        .audit
        .list
        .rows
        .iter()
        .map(|r| r.action.as_str())
        .collect();
    assert!(actions.contains(&"rollback executed"), "{actions:?}");
    assert!(actions.contains(&"rollback refused"), "{actions:?}");
    assert!(actions.contains(&"rollback previewed"), "{actions:?}");
}

#[tokio::test]
async fn an_older_import_says_why_it_cannot_be_rolled_back() {
    let t = TestDb::new().await;
    let (_d1, v1) = csv_file("v1.csv", &format!("{NATIVE_HEADER}{V1}"));
    let (_d2, v2) = csv_file("v2.csv", &format!("{NATIVE_HEADER}{V2}"));
    let first = import_json(&t, &v1, "s1", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    import_json(&t, &v2, "s1", &[], 0);

    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('j')).await;
    assert_eq!(d.state.selected_row().unwrap().id, first);
    // The status line says it before anyone presses r.
    let screen = d.screen();
    assert!(
        screen.contains("Rollback unavailable: import #"),
        "{screen}"
    );
    d.key(KeyCode::Char('r')).await;
    let Some(PopupStage::Ineligible { reason }) = d.state.popup.as_ref().map(|p| &p.stage) else {
        panic!("{}", d.screen())
    };
    assert!(
        reason.contains("not the seller's newest applied import"),
        "{reason}"
    );
    assert!(d.screen().contains("cannot be rolled back"));
}

#[tokio::test]
async fn history_filter_and_keyset_pages_from_the_database() {
    let t = TestDb::new().await;
    let (_d1, v1) = csv_file("v1.csv", &format!("{NATIVE_HEADER}{V1}"));
    let (_d2, v2) = csv_file("other.csv", &format!("{NATIVE_HEADER}{V2}"));
    import_json(&t, &v1, "s1", &[], 0);
    import_json(&t, &v2, "s2", &[], 0);
    import_json(&t, &v1, "s2", &[], 0);

    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    assert_eq!(d.state.history.list.rows.len(), 3);
    d.key(KeyCode::Char('/')).await;
    d.type_text("seller:s2 other").await;
    d.key(KeyCode::Enter).await;
    let rows = &d.state.history.list.rows;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].seller.as_str(), rows[0].file.contains("other")),
        ("s2", true)
    );
    // Esc clears the filter.
    d.key(KeyCode::Esc).await;
    assert_eq!(d.state.history.list.rows.len(), 3);
}

#[tokio::test]
async fn path_completion_in_the_form() {
    let t = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("listings-oct.csv"), "").unwrap();
    std::fs::write(dir.path().join("listings-nov.csv"), "").unwrap();
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('i')).await;
    d.type_text(&format!("{}/li", dir.path().display())).await;
    d.key(KeyCode::Tab).await;
    assert_eq!(
        d.state.form.file.text,
        format!("{}/listings-", dir.path().display())
    );
    assert!(d.screen().contains("listings-nov.csv  listings-oct.csv"));
    d.type_text("o").await;
    d.key(KeyCode::Tab).await;
    assert_eq!(
        d.state.form.file.text,
        format!("{}/listings-oct.csv", dir.path().display())
    );
}

#[tokio::test]
async fn a_rejected_file_shows_its_errors_with_line_numbers() {
    let t = TestDb::new().await;
    let (_d, bad) = csv_file(
        "bad.csv",
        &format!(
            "{NATIVE_HEADER}A1,Alpha,,1.00,USD,1,active,new,,,\nA2,Beta,,notaprice,USD,2,active,new,,,\n"
        ),
    );
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('i')).await;
    d.type_text(bad.to_str().unwrap()).await;
    d.key(KeyCode::Down).await;
    d.type_text("s9").await;
    for _ in 0..3 {
        d.key(KeyCode::Down).await;
    }
    d.key(KeyCode::Enter).await;
    let screen = d.screen();
    assert!(screen.contains("rejected: nothing was changed"), "{screen}");
    assert!(screen.contains("line 3"), "{screen}");
    assert!(screen.contains("[ Back ]"), "{screen}");
}

#[tokio::test]
async fn a_lost_database_shows_the_banner() {
    // A server that is not there: every request fails to connect.
    let target = importdesk::db::Target::from_url(
        "postgresql://importdesk@127.0.0.1:9/none?connect_timeout=2",
        importdesk::db::Source::Flag,
    )
    .unwrap();
    let db = Database::unconnected(target).unwrap();
    let mut d = Driver::new(&db);
    d.act(Action::Init).await;
    assert!(matches!(d.state.connection, Connection::Lost { .. }));
    assert!(d.screen().contains("Database connection lost"));
    // A key retries; still down, still the banner (and no panic).
    d.key(KeyCode::Char('j')).await;
    assert!(matches!(
        d.state.connection,
        Connection::Lost { ping: None, .. }
    ));
}
