//! `update(&mut State, Action) -> Vec<Effect>`: the console's only logic,
//! routed to the screen or popup it concerns (each module holds its own
//! update). It does no I/O: database work and file-system lookups are
//! returned as effects for the worker, whose replies come back as actions.
//! What is here is what no single screen owns: keys before the key table
//! (Alt, text), quitting, help, the lost connection, the clock, resizes.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Effect, Failure, ReqId};
use super::keys::{self, Command, Ctx};
use super::paged;
use super::popup::{self, help, rollback};
use super::screen::{self, audit, detail, history, import};
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
        Action::ImportProgress { req, progress } => import::progressed(state, req, progress),
        Action::ImportDone { req, result } => import::done(state, req, result),
        Action::Pong { req, result } => on_pong(state, req, result),
    }
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
    state.notice = None;
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
        screen.edited(state);
        return effects;
    }
    if popup::typed(state, &ev, plain) {
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
        Command::Quit => {
            state.quit = true;
            return Vec::new();
        }
        Command::Help if ctx != Ctx::Help => {
            help::open(state);
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
