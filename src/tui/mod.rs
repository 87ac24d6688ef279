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
pub mod basic_colors;
pub mod clipboard;
pub mod clock;
pub mod complete;
pub mod keys;
pub mod layout;
pub mod live;
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

use color_eyre::eyre::{Result, WrapErr, bail};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use crate::db::Database;
use crate::domain::StopCause;
use action::Action;
use basic_colors::BasicColors;
use state::State;
use theme::Theme;

/// Opens the console on `db` until the user quits. `files_dir` is
/// importdesk's data directory (rejects files of imports go to
/// `files_dir/rejects`).
///
/// Async: await it on the runtime's main task (`block_on`), not from a
/// spawned task. A hang-up of the terminal, the end of its input, SIGTERM,
/// SIGHUP or SIGINT end it within a second: running work is cancelled (its
/// transaction rolls back, its lock is released). The terminal (raw mode,
/// alternate screen, cursor) is restored on every way out, panics
/// included (the panic report is printed after the terminal is restored).
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

/// How long quitting waits for cancelled work to roll back and record
/// itself: the console ends within a second of a hang-up or SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(700);

async fn event_loop(
    terminal: &mut Terminal<Backend>,
    db: Database,
    files_dir: PathBuf,
    identity: Option<crate::domain::identity::Identity>,
) -> Result<()> {
    let (tx, replies) = mpsc::channel::<Action>(256);
    let _live = live::spawn(db.clone(), tx.clone());
    let worker = worker::Worker::new(db.clone(), files_dir, tx);
    let (key_tx, keys) = mpsc::channel::<Action>(64);
    let input = Input::spawn(key_tx);
    let size = terminal.size()?;
    let mut state = State::new(
        size.width,
        size.height,
        Theme::from_env(),
        db.target.dbname().to_string(),
    );
    state.identity = identity;
    let result = run_loop(terminal, &worker, &mut state, keys, replies).await;
    // Whatever ended the loop, running work is cancelled: its transaction
    // rolls back, its seller's lock is released. A loop that failed lost its
    // terminal; work the loop cancelled keeps the cause it gave.
    input.stop.store(true, Ordering::Relaxed);
    let cause = match result {
        Ok(()) => StopCause::Requested,
        Err(_) => StopCause::HungUp,
    };
    worker.shutdown(cause, SHUTDOWN_GRACE).await;
    input.join();
    result
}

async fn run_loop(
    terminal: &mut Terminal<Backend>,
    worker: &worker::Worker,
    state: &mut State,
    mut keys: mpsc::Receiver<Action>,
    mut replies: mpsc::Receiver<Action>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupts = crate::signals::Interrupts::new()?;
    let mut resized = signal(SignalKind::window_change())?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut effects = update::update(state, Action::Init);
    loop {
        for e in effects.drain(..) {
            worker.spawn(e);
        }
        if state.quit {
            return Ok(());
        }
        if state.suspend {
            state.suspend = false;
            suspend(terminal)?;
            let (w, h) = terminal::size()?;
            effects = update::update(state, Action::Resize(w, h));
            continue;
        }
        mark_ui_thread();
        state.clock.now = chrono::Utc::now();
        let drawn = terminal.draw(|f| {
            view::render(f, state);
            crate::text::neutralise_buffer(f.buffer_mut());
        });
        if drawn.is_err() {
            // Nothing to draw on (the terminal hung up): no one to ask.
            effects = update::update(state, Action::Interrupted(StopCause::HungUp));
            continue;
        }
        if let Some(sequence) = state.clipboard.take().and_then(|t| clipboard::osc52(&t)) {
            use std::io::Write;
            let out = terminal.backend_mut();
            if out
                .write_all(sequence.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                effects = update::update(state, Action::Interrupted(StopCause::HungUp));
                continue;
            }
        }
        let action = tokio::select! {
            // The input thread ends when the terminal hangs up.
            a = keys.recv() => a.unwrap_or(Action::Interrupted(StopCause::HungUp)),
            Some(a) = replies.recv() => a,
            _ = ticker.tick(), if state.wants_ticks() => Action::Tick,
            sig = interrupts.recv() => Action::Interrupted(StopCause::of_signal(sig)),
            _ = resized.recv() => match terminal::size() {
                Ok((w, h)) => Action::Resize(w, h),
                Err(_) => Action::Interrupted(StopCause::HungUp),
            },
        };
        effects = update::update(state, action);
        // Apply whatever else is already waiting before drawing again.
        for _ in 0..64 {
            if state.quit || state.suspend {
                break;
            }
            let next = keys.try_recv().or_else(|_| replies.try_recv());
            match next {
                Ok(a) => {
                    for e in effects.drain(..) {
                        worker.spawn(e);
                    }
                    effects = update::update(state, a);
                }
                Err(_) => break,
            }
        }
    }
}

/// Ctrl-Z: gives the terminal back to the shell, stops the process until
/// `fg`, then takes the terminal again and redraws it whole.
fn suspend(terminal: &mut Terminal<Backend>) -> Result<()> {
    restore_terminal();
    // Stops the process here (SIGTSTP's default action) until SIGCONT.
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP)?;
    enter_console_mode()?;
    terminal.clear()?;
    Ok(())
}

/// Reads terminal events on a thread of its own (crossterm's reads block)
/// and forwards keys and resizes. It waits for input with poll(2) itself
/// and lets crossterm read only what is there: on a hung-up terminal
/// crossterm's reader spins forever at 100% CPU (read(2) returns 0 or EIO
/// and it retries; crossterm issue #793), whereas poll(2) reports the
/// hang-up, and the thread ends, which ends the console.
struct Input {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// How long the input thread waits for input before checking whether to stop.
const INPUT_POLL: u16 = 200;

impl Input {
    fn spawn(tx: mpsc::Sender<Action>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("importdesk-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match wait_for_input() {
                        Waited::Nothing => continue,
                        Waited::Gone => break,
                        Waited::Input => {}
                    }
                    if !forward_events(&tx) {
                        break;
                    }
                }
            })
            .ok();
        Self { stop, handle }
    }

    /// Stops the thread; waits for it at most as long as one wait for
    /// input lasts (a thread stuck in crossterm on a dead terminal is left
    /// to end with the process).
    fn join(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let deadline =
                std::time::Instant::now() + Duration::from_millis(u64::from(INPUT_POLL) + 50);
            while !h.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

enum Waited {
    Nothing,
    Input,
    /// The terminal hung up or the input is closed.
    Gone,
}

/// Waits up to [`INPUT_POLL`] ms for input on the terminal (stdin).
fn wait_for_input() -> Waited {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(INPUT_POLL)) {
        Ok(0) => Waited::Nothing,
        Ok(_) => {
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                Waited::Gone
            } else {
                Waited::Input
            }
        }
        Err(nix::errno::Errno::EINTR) => Waited::Nothing,
        Err(_) => Waited::Gone,
    }
}

/// Hands every event crossterm can read now to the loop; `false` when the
/// loop is gone or the terminal cannot be read.
fn forward_events(tx: &mpsc::Sender<Action>) -> bool {
    loop {
        match event::poll(Duration::ZERO) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(_) => return false,
        }
        let action = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
            Ok(Event::Resize(w, h)) => Action::Resize(w, h),
            Ok(_) => continue,
            Err(_) => return false,
        };
        if tx.blocking_send(action).is_err() {
            return false;
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
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

/// Enters console mode: raw, alternate screen, no cursor.
fn enter_console_mode() -> Result<()> {
    ACTIVE.store(true, Ordering::SeqCst);
    terminal::enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        cursor::Hide
    )?;
    Ok(())
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

/// The terminal as the console draws on it: through [`BasicColors`].
type Backend = CrosstermBackend<BasicColors<Stdout>>;

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

struct TerminalGuard {
    terminal: Terminal<Backend>,
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
        let setup = || -> Result<Terminal<Backend>> {
            enter_console_mode()?;
            let mut t = Terminal::new(CrosstermBackend::new(BasicColors::new(std::io::stdout())))?;
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
