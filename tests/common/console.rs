//! The console without a terminal: `update` and the real worker against a
//! test database, every effect run to completion as the app's loop would.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::db::Database;
use importdesk::tui::action::{Action, Effect};
use importdesk::tui::state::State;
use importdesk::tui::theme::Theme;
use importdesk::tui::update::update;
use importdesk::tui::view;
use importdesk::tui::worker::Worker;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

pub struct Driver {
    pub state: State,
    worker: Worker,
    rx: mpsc::Receiver<Action>,
    /// importdesk's data directory for this console (rejects go there).
    pub files: tempfile::TempDir,
}

impl Driver {
    /// A 100x30 console without colour on `db`.
    pub fn new(db: &Database) -> Self {
        let (tx, rx) = mpsc::channel(256);
        let files = tempfile::tempdir().unwrap();
        Self {
            state: State::new(100, 30, Theme::MONO, "test"),
            worker: Worker::new(db.clone(), files.path().to_path_buf(), tx),
            rx,
            files,
        }
    }

    /// Applies `action`, then runs every effect (and the effects of their
    /// replies) to completion.
    pub async fn act(&mut self, action: Action) {
        let mut queue: VecDeque<Effect> = update(&mut self.state, action).into();
        while let Some(effect) = queue.pop_front() {
            self.worker.run(effect).await;
            while let Ok(reply) = self.rx.try_recv() {
                queue.extend(update(&mut self.state, reply));
            }
        }
    }

    pub async fn key(&mut self, code: KeyCode) {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .await;
    }

    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    /// The SKUs a list of diffs (`~ SKU` lines) shows, top to bottom.
    pub fn shown_skus(&self) -> Vec<String> {
        self.screen()
            .lines()
            .filter_map(|l| l.split("~ ").nth(1))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    /// The frame as text, one quoted line per row.
    pub fn screen(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(self.state.width, self.state.height)).unwrap();
        t.draw(|f| view::render(f, &self.state)).unwrap();
        t.backend().to_string()
    }
}

/// `screen` with each row containing `marker` replaced by `shown` (a time
/// or a duration that differs between runs).
pub fn masked(screen: &str, marker: &str, shown: &str) -> String {
    screen
        .lines()
        .map(|l| if l.contains(marker) { shown } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}
