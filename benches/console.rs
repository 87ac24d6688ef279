//! Console responsiveness: key press to rendered frame, and the render time
//! of one frame, on a history of 100,000 imports and the rollback preview of
//! a 1,000,000-row import.
//!
//! ```text
//! cargo bench --bench console                              # 1,000,000-row import
//! IMPORTDESK_SPEED_ROWS=100000 cargo bench --bench console # quicker set-up
//! ```
//!
//! Each key goes through the app's own `update` function and is drawn with
//! ratatui's `TestBackend` at 80x24: "key to frame" is update + render, which
//! is what the user waits for (database pages are fetched by the worker in
//! the background and arrive as a later frame). The background database work
//! each key caused is then run here, awaited, and reported apart, so a slow
//! page shows too. Uses the test harness's private PostgreSQL cluster (see
//! docs/testing.md). Targets (issue 5): p95 key to frame under 50 ms, one
//! frame under 5 ms.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::{NATIVE_HEADER, TestDb, csv_file};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::db::Database;
use importdesk::domain::actor::Actor;
use importdesk::domain::import::{self, ImportRequest, MapOptions};
use importdesk::tui::action::{Action, Effect};
use importdesk::tui::state::State;
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
    terminal: Terminal<TestBackend>,
    background: std::collections::BTreeMap<&'static str, Vec<Duration>>,
}

impl Driver {
    fn new(db: &Database) -> Self {
        let (tx, rx) = mpsc::channel(256);
        Self {
            state: State::new(80, 24, Theme::COLOR, "speed"),
            worker: Worker::new(db.clone(), std::env::temp_dir(), tx),
            rx,
            terminal: Terminal::new(TestBackend::new(80, 24)).unwrap(),
            background: Default::default(),
        }
    }

    /// One key: the time from the key to the rendered frame (update and
    /// render; the effects run in the background in the app), then the
    /// effects are run here and their time reported apart.
    async fn key(&mut self, code: KeyCode) -> Duration {
        let started = Instant::now();
        let effects = update(
            &mut self.state,
            Action::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        );
        let state = &self.state;
        self.terminal.draw(|f| view::render(f, state)).unwrap();
        let took = started.elapsed();
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            let what = match &e {
                Effect::LoadHistory { .. } => "history page (200 imports, keyset)",
                Effect::CheckEligibility { .. } => "eligibility of the selected import",
                Effect::RollbackPage { .. } => "preview page (100 listings)",
                Effect::RollbackCheck { .. } => "rollback: eligibility",
                Effect::RollbackPreview { .. } => "rollback: plan counts + fingerprint",
                _ => "other",
            };
            let started = Instant::now();
            self.worker.run(e).await;
            self.background
                .entry(what)
                .or_default()
                .push(started.elapsed());
            while let Ok(a) = self.rx.try_recv() {
                queue.extend(update(&mut self.state, a));
            }
        }
        // The frame with the data that arrived.
        let state = &self.state;
        self.terminal.draw(|f| view::render(f, state)).unwrap();
        took
    }

    async fn settle(&mut self, action: Action) {
        let mut queue: VecDeque<Effect> = update(&mut self.state, action).into();
        while let Some(e) = queue.pop_front() {
            self.worker.run(e).await;
            while let Ok(a) = self.rx.try_recv() {
                queue.extend(update(&mut self.state, a));
            }
        }
    }
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{what:<48} n={:<5} p50={:>8.3} ms  p95={:>8.3} ms  max={:>8.3} ms",
        times.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(key_to_frame());
}

async fn key_to_frame() {
    let t = TestDb::new().await;
    let rows: i64 = std::env::var("IMPORTDESK_SPEED_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);

    // The big import: `rows` listings, then a second import updating them all.
    let mut first = String::from(NATIVE_HEADER);
    let mut second = String::from(NATIVE_HEADER);
    for i in 0..rows {
        first.push_str(&format!("S{i:08},Listing {i},,1.00,USD,1,active,new,,,\n"));
        second.push_str(&format!(
            "S{i:08},Listing {i} v2,,1.50,USD,1,active,new,,,\n"
        ));
    }
    let (_d1, f1) = csv_file("big-1.csv", &first);
    let (_d2, f2) = csv_file("big-2.csv", &second);
    drop((first, second));
    for f in [&f1, &f2] {
        let started = Instant::now();
        let o = import::run(
            &t.db,
            ImportRequest {
                path: f.clone(),
                seller: "big".into(),
                profile: None,
                options: MapOptions::default(),
                dry_run: false,
                skip_invalid: false,
                actor: Actor::from_environment(),
                rejects_dir: std::env::temp_dir(),
            },
            None,
        )
        .await
        .unwrap();
        println!(
            "set-up: imported {} rows in {:.1} s",
            o.counts.rows_read,
            started.elapsed().as_secs_f64()
        );
    }
    // 100,000 imports in the history (rows of other sellers, made directly).
    t.client()
        .await
        .batch_execute(
            "INSERT INTO import_audit.imports
                 (seller_id, file_name, profile, status, actor, finished_at, rows_read, created)
             SELECT 'seller-' || (g % 50), 'file-' || g || '.csv', 'native', 'completed',
                    'speed', clock_timestamp(), 10, 10
               FROM generate_series(1, 100000) g",
        )
        .await
        .unwrap();

    let mut d = Driver::new(&t.db);
    d.settle(Action::Init).await;
    assert!(d.state.history.list.rows.len() >= 200);

    // One frame.
    let mut frames = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        let state = &d.state;
        d.terminal.draw(|f| view::render(f, state)).unwrap();
        frames.push(started.elapsed());
    }
    report("render one frame (history, 80x24)", frames);

    let mut times = Vec::new();
    for _ in 0..2000 {
        times.push(d.key(KeyCode::Down).await);
    }
    report("history: j (scroll one row)", times);
    let mut times = Vec::new();
    for _ in 0..2000 {
        times.push(d.key(KeyCode::PageDown).await);
    }
    report("history: PgDn (keyset pages of 200 as needed)", times);
    println!(
        "  history rows loaded after paging: {}",
        d.state.history.list.rows.len()
    );
    let mut times = Vec::new();
    for _ in 0..200 {
        times.push(d.key(KeyCode::PageUp).await);
    }
    report("history: PgUp", times);

    // The rollback preview of the big import (the newest of seller "big").
    d.settle(Action::Key(KeyEvent::new(
        KeyCode::Char('/'),
        KeyModifiers::NONE,
    )))
    .await;
    for c in "seller:big".chars() {
        d.settle(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
        .await;
    }
    d.settle(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )))
    .await;
    let started = Instant::now();
    let _ = d.key(KeyCode::Char('r')).await;
    println!(
        "preview of a {rows}-row import: r to the plan's first page on screen: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    for _ in 0..2000 {
        times.push(d.key(KeyCode::PageDown).await);
    }
    report("preview: PgDn through the restore section", times);
    let mut times = Vec::new();
    for _ in 0..2000 {
        times.push(d.key(KeyCode::Down).await);
    }
    report("preview: j", times);
    let mut times = Vec::new();
    for _ in 0..30 {
        times.push(d.key(KeyCode::Tab).await);
    }
    report("preview: Tab (switch section, first page)", times);
    println!("background database work (replies arrive after the frame):");
    for (what, times) in std::mem::take(&mut d.background) {
        report(&format!("  {what}"), times);
    }
}
