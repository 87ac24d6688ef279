//! The console: import history, import detail, the rollback
//! confirmation popup with its diff preview, the new-import form, the audit
//! log and the help overlay, in ratatui.
//!
//! Elm style: [`update::update`] turns an [`action::Action`] into changes of
//! [`state::State`] plus [`action::Effect`]s, and does no I/O; the
//! [`worker::Worker`] runs effects on background tasks and sends the results
//! back as actions over a bounded channel; [`view::render`] draws the state.
//! Each screen ([`screen`]) and popup ([`popup`]) is one module holding its
//! state, its update and its view; [`keys`] is the one key table.
//! The screen is redrawn only when an action arrives (keys, replies, and a
//! one-second tick only while something is in progress): nothing is written
//! to the terminal while idle.

pub mod action;
pub mod complete;
pub mod keys;
pub mod layout;
pub mod nav;
pub mod paged;
pub mod popup;
pub mod screen;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;
pub mod widgets;
pub mod worker;

use std::io::{IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use crate::db::Database;
use action::Action;
use state::State;
use theme::Theme;

/// Opens the console on `db` until the user quits. `files_dir` is
/// importdesk's data directory (rejects files of imports go to
/// `files_dir/rejects`).
///
/// Async: await it on the runtime's main task (`block_on`), not from a
/// spawned task. The terminal (raw mode, alternate screen, cursor) is
/// restored on every way out: quit, error, SIGTERM/SIGHUP/SIGINT, and
/// panics (the panic report is printed after the terminal is restored).
pub async fn run(db: Database, files_dir: PathBuf) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "the console needs a terminal; from scripts use the commands instead \
             (importdesk history, show, import, rollback, audit; see importdesk --help)"
        );
    }
    // Imports left `running` by a crashed process show as failed.
    if let Err(e) = crate::domain::history::recover_abandoned(&db).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot recover abandoned imports");
    }
    let identity = crate::domain::identity::current(&db).await.ok();
    let mut guard = TerminalGuard::enter().wrap_err("cannot set up the terminal")?;
    let result = event_loop(&mut guard.terminal, db, files_dir, identity).await;
    drop(guard);
    result
}

async fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    db: Database,
    files_dir: PathBuf,
    identity: Option<crate::domain::identity::Identity>,
) -> Result<()> {
    let (tx, mut replies) = mpsc::channel::<Action>(256);
    let worker = worker::Worker::new(db.clone(), files_dir, tx);
    let (key_tx, mut keys) = mpsc::channel::<Action>(64);
    let _input = Input::spawn(key_tx);
    let mut signals = Signals::new()?;

    let size = terminal.size()?;
    let mut state = State::new(
        size.width,
        size.height,
        Theme::from_env(),
        db.target.location(),
    );
    state.identity = identity;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut effects = update::update(&mut state, Action::Init);
    loop {
        for e in effects.drain(..) {
            worker.spawn(e);
        }
        if state.quit {
            return Ok(());
        }
        mark_ui_thread();
        terminal.draw(|f| {
            view::render(f, &state);
            crate::text::neutralise_buffer(f.buffer_mut());
        })?;
        let action = tokio::select! {
            a = keys.recv() => a.ok_or_else(|| eyre!("the terminal input closed"))?,
            Some(a) = replies.recv() => a,
            _ = ticker.tick(), if state.wants_ticks() => Action::Tick,
            _ = signals.recv() => return Ok(()),
        };
        effects = update::update(&mut state, action);
        // Apply whatever else is already waiting before drawing again.
        for _ in 0..64 {
            let next = keys.try_recv().or_else(|_| replies.try_recv());
            match next {
                Ok(a) => {
                    for e in effects.drain(..) {
                        worker.spawn(e);
                    }
                    effects = update::update(&mut state, a);
                    if state.quit {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// Terminal signals: the loop ends normally (and the guard restores the
/// terminal) on SIGTERM, SIGHUP and SIGINT.
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Reads terminal events on a thread of its own (crossterm's reads block)
/// and forwards keys and resizes; stops when dropped.
struct Input {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Input {
    fn spawn(tx: mpsc::Sender<Action>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("importdesk-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match event::poll(Duration::from_millis(200)) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(_) => break,
                    }
                    let action = match event::read() {
                        Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
                        Ok(Event::Resize(w, h)) => Action::Resize(w, h),
                        Ok(_) => continue,
                        Err(_) => break,
                    };
                    if tx.blocking_send(action).is_err() {
                        break;
                    }
                }
            })
            .ok();
        Self { stop, handle }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

// ---------------------------------------------------------------- terminal

/// The terminal is in console mode (raw, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The thread running the console's loop: a panic there ends the console.
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);

fn mark_ui_thread() {
    if let Ok(mut t) = UI_THREAD.lock() {
        *t = Some(std::thread::current().id());
    }
}

fn is_ui_thread() -> bool {
    UI_THREAD
        .lock()
        .map(|t| *t == Some(std::thread::current().id()))
        .unwrap_or(true)
}

/// Leaves console mode (once; safe to call from the panic hook).
fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(
            std::io::stdout(),
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
    }
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    previous_hook: Arc<PanicHook>,
}

impl TerminalGuard {
    fn enter() -> Result<Self> {
        let previous_hook: Arc<PanicHook> = Arc::new(std::panic::take_hook());
        let chained = previous_hook.clone();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) && !is_ui_thread() {
                // A background task: the worker turns it into an error reply
                // shown in the console; the report goes to the log file.
                tracing::error!(panic = %info, "panic in a background task");
                return;
            }
            restore_terminal();
            chained(info);
        }));
        mark_ui_thread();
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = || -> Result<Terminal<CrosstermBackend<Stdout>>> {
            terminal::enable_raw_mode()?;
            execute!(
                std::io::stdout(),
                terminal::EnterAlternateScreen,
                cursor::Hide
            )?;
            let mut t = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
            t.clear()?;
            Ok(t)
        };
        match setup() {
            Ok(terminal) => Ok(Self {
                terminal,
                previous_hook,
            }),
            Err(e) => {
                restore_terminal();
                reinstall(previous_hook);
                Err(e)
            }
        }
    }
}

fn reinstall(previous: Arc<PanicHook>) {
    if !std::thread::panicking() {
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        restore_terminal();
        reinstall(self.previous_hook.clone());
        if let Ok(mut t) = UI_THREAD.lock() {
            *t = None;
        }
    }
}
