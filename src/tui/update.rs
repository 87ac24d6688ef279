//! `update(&mut State, Action) -> Vec<Effect>`: the console's only logic,
//! routed to the screen or popup it concerns (each module holds its own
//! update). It does no I/O: database work and file-system lookups are
//! returned as effects for the worker, whose replies come back as actions.
//! What is here is what no single screen owns: keys before the key table
//! (Alt, text), quitting (asking first while work runs), suspending, help,
//! the lost connection, the clock, resizes, the end of the terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::domain::StopCause;

use super::action::{Action, Effect, Failure, ReqId};
use super::keys::{self, Command, Ctx};
use super::paged;
use super::popup::confirm::{self, Question};
use super::popup::{self, full_text, help, restore, rollback};
use super::screen::{self, Screen, audit, detail, history, import, listings, timeline};
use super::state::{Connection, Notice, State};

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Init => history::load(state, false),
        Action::Key(ev) => on_key(state, ev),
        Action::Resize(w, h) => {
            state.width = w;
            state.height = h;
            screen::relayout(state);
            popup::relayout(state);
            Vec::new()
        }
        Action::Tick => on_tick(state),
        Action::Changed => on_changed(state),
        Action::HistoryLoaded { req, result } => {
            paged::loaded::<history::Pages>(state, req, result)
        }
        Action::EligibilityChecked { req, id, result } => {
            history::eligibility_checked(state, req, id, result)
        }
        Action::DetailLoaded { req, result } => detail::loaded(state, req, result),
        Action::AuditLoaded { req, result } => paged::loaded::<audit::Pages>(state, req, result),
        Action::RollbackChecked { req, result } => rollback::checked(state, req, result),
        Action::PreviewReady { req, result } => rollback::previewed(state, req, result),
        Action::PageLoaded {
            req,
            section,
            result,
        } => rollback::plan::page_loaded(state, req, section, result),
        Action::RollbackDone { req, result } => rollback::executed(state, req, result),
        Action::Completed { req, completion } => import::completed(state, req, completion),
        Action::Suggested { req, result } => import::suggested(state, req, result),
        Action::ImportProgress { req, progress } => import::progressed(state, req, progress),
        Action::ImportDone { req, result } => import::done(state, req, result),
        Action::ReviewPageLoaded { req, result } => import::review::loaded(state, req, result),
        Action::Pong { req, result } => on_pong(state, req, result),
        Action::ListingsLoaded { req, result } => {
            paged::loaded::<listings::Pages>(state, req, result)
        }
        Action::TimelineLoaded { req, result } => timeline::loaded(state, req, result),
        Action::RestorePreviewed { req, result } => restore::previewed(state, req, result),
        Action::Restored { req, result } => restore::executed(state, req, result),
        // A hang-up, SIGTERM, the end of input: no one is there to ask.
        Action::Interrupted(cause) => quit_now(state, cause),
    }
}

/// Work that changes data and still runs (an import, a rollback): its
/// request and what it is.
pub fn running_work(state: &State) -> Vec<(ReqId, String)> {
    let mut work = screen::running(state);
    work.extend(popup::running(state));
    work
}

/// Quits at once, cancelling the work that runs (its transaction rolls
/// back; the loop waits a moment for that before it exits), for `cause`.
pub fn quit_now(state: &mut State, cause: StopCause) -> Vec<Effect> {
    state.quit = true;
    running_work(state)
        .into_iter()
        .map(|(req, _)| Effect::Cancel { req, cause })
        .collect()
}

/// `q` on a screen, `Ctrl-C` anywhere: quit, asking first while work runs
/// (a second `Ctrl-C` in that question quits).
fn quit(state: &mut State) -> Vec<Effect> {
    let asked = state
        .confirm
        .as_ref()
        .is_some_and(|c| c.question == Question::Quit);
    if asked || running_work(state).is_empty() {
        state.confirm = None;
        return quit_now(state, StopCause::Requested);
    }
    state.help = None;
    confirm::ask(state, Question::Quit);
    Vec::new()
}

fn on_key(state: &mut State, ev: KeyEvent) -> Vec<Effect> {
    if ev.kind == KeyEventKind::Release {
        return Vec::new();
    }
    // No binding uses Alt: "Alt-x" is Esc and x arriving together (a quick
    // Esc, or an SSH link batching them), so it is handled as both.
    if ev.modifiers.contains(KeyModifiers::ALT) && ev.code != KeyCode::Esc {
        let mut effects = on_key(state, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        let mut rest = ev;
        rest.modifiers.remove(KeyModifiers::ALT);
        effects.extend(on_key(state, rest));
        return effects;
    }
    state.last_notice = state.notice.take();
    let mut effects = Vec::new();
    // A lost connection is retried on the next key (and every few seconds).
    if matches!(state.connection, Connection::Lost { ping: None, .. }) {
        effects.push(ping(state));
    }
    let ctx = state.context();
    let plain = !ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if ctx.is_text()
        && plain
        && let KeyCode::Char(c) = ev.code
    {
        let screen = screen::current(state);
        if let Some(input) = screen.text_input(state) {
            input.insert(c);
        }
        effects.extend(screen.edited(state));
        return effects;
    }
    if popup::typed(state, &ev, plain) || import::review::typed(state, &ev, plain) {
        return effects;
    }
    let Some(cmd) = keys::lookup(ctx, &ev) else {
        return effects;
    };
    effects.extend(command(state, ctx, cmd, &ev));
    effects
}

fn command(state: &mut State, ctx: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    match cmd {
        Command::Quit => return quit(state),
        Command::Suspend => {
            state.suspend = true;
            return Vec::new();
        }
        Command::Help if ctx != Ctx::Help => {
            help::open(state);
            return Vec::new();
        }
        Command::HideTimes => {
            state.hide_times = !state.hide_times;
            rollback::plan::keep_top_item(state, !state.hide_times);
            screen::relayout(state);
            popup::relayout(state);
            let now = if state.hide_times { "hidden" } else { "shown" };
            state.notice = Some(Notice::info(format!(
                "changes that only move a timestamp (updated_at) are {now} in diffs; t again"
            )));
            return Vec::new();
        }
        Command::FullText if ctx != Ctx::FullText && ctx != Ctx::Help && ctx != Ctx::TooSmall => {
            let items = match popup::top(state) {
                Some(p) => p.full_text(state),
                None => screen::current(state).full_text(state),
            };
            full_text::open(state, ctx.title().to_string(), items);
            return Vec::new();
        }
        _ => {}
    }
    if ctx == Ctx::TooSmall {
        return Vec::new();
    }
    match popup::command(state, cmd) {
        Some(effects) => effects,
        None => screen::current(state).command(state, ctx, cmd, ev),
    }
}

/// Asks the database whether it answers again.
fn ping(state: &mut State) -> Effect {
    let req = state.req();
    if let Connection::Lost { ping, .. } = &mut state.connection {
        *ping = Some(req);
    }
    Effect::Ping { req }
}

fn on_pong(state: &mut State, req: ReqId, result: Result<(), Failure>) -> Vec<Effect> {
    let Connection::Lost { ping, message, .. } = &mut state.connection else {
        return Vec::new();
    };
    if *ping != Some(req) {
        return Vec::new();
    }
    match result {
        Ok(()) => {
            state.connection = Connection::Ok;
            state.notice = Some(Notice::info("reconnected to the database"));
            screen::reload(state)
        }
        Err(f) => {
            *ping = None;
            *message = f.message;
            Vec::new()
        }
    }
}

/// Another session changed the history or the audit log: the history
/// (keeping the selection) and the screen shown reload.
fn on_changed(state: &mut State) -> Vec<Effect> {
    let mut effects = history::reload(state);
    if matches!(state.screen, Screen::Detail | Screen::Audit) {
        effects.extend(screen::current(state).reload(state));
    }
    effects
}

fn on_tick(state: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Connection::Lost { seconds, ping, .. } = &mut state.connection {
        *seconds += 1;
        if ping.is_none() && seconds.is_multiple_of(5) {
            effects.push(self::ping(state));
        }
    }
    screen::tick(state);
    popup::tick(state);
    effects
}
