//! `update(&mut State, Action) -> Vec<Effect>`: the console's only logic.
//! It does no I/O: database work and file-system lookups are returned as
//! effects for the worker, whose replies come back as actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::domain::history::HistoryFilter;
use crate::domain::history::ImportState;
use crate::domain::import::ImportStatus;
use crate::domain::rollback::{ConflictMode, Ineligible, Section};

use super::action::{Action, Effect, Failure, HistoryRow, ImportSpec, ReqId, RollbackFailure};
use super::keys::{self, Command, Ctx};
use super::state::*;
use super::ui::layout;

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Init => load_history(state, false),
        Action::Key(ev) => on_key(state, ev),
        Action::Resize(w, h) => {
            state.width = w;
            state.height = h;
            relayout(state);
            Vec::new()
        }
        Action::Tick => on_tick(state),
        Action::HistoryLoaded { req, result } => on_history(state, req, result),
        Action::EligibilityChecked { req, id, result } => {
            let entry = state.history.eligibility.get(&id);
            if entry != Some(&Eligibility::Checking(req)) {
                return Vec::new();
            }
            match result {
                Ok(Ok(())) => {
                    state.history.eligibility.insert(id, Eligibility::Eligible);
                }
                Ok(Err(reason)) => {
                    state
                        .history
                        .eligibility
                        .insert(id, Eligibility::Ineligible(reason));
                }
                Err(f) => {
                    state.history.eligibility.remove(&id);
                    failure(state, f, false);
                }
            }
            Vec::new()
        }
        Action::DetailLoaded { req, result } => {
            let Some(d) = state.detail.as_mut().filter(|d| d.loading == Some(req)) else {
                return Vec::new();
            };
            d.loading = None;
            match result {
                Ok(Some(data)) => {
                    d.data = Some(data);
                    d.missing = false;
                    let id = d.id;
                    return check_eligibility(state, id);
                }
                Ok(None) => d.missing = true,
                Err(f) => failure(state, f, true),
            }
            Vec::new()
        }
        Action::AuditLoaded { req, result } => on_audit(state, req, result),
        Action::RollbackChecked { req, result } => {
            let Some(p) = state.popup.as_mut() else {
                return Vec::new();
            };
            if !matches!(p.stage, PopupStage::Checking { req: r } if r == req) {
                return Vec::new();
            }
            let id = p.import_id;
            match result {
                Ok(Ok(())) => {
                    state.history.eligibility.insert(id, Eligibility::Eligible);
                    let req = state.req();
                    if let Some(p) = state.popup.as_mut() {
                        p.stage = PopupStage::Previewing { req, seconds: 0 };
                    }
                    vec![Effect::RollbackPreview { req, id }]
                }
                Ok(Err(reason)) => {
                    state
                        .history
                        .eligibility
                        .insert(id, Eligibility::Ineligible(reason.clone()));
                    p.stage = PopupStage::Ineligible { reason };
                    Vec::new()
                }
                Err(f) => {
                    p.stage = refused(format!("cannot check the import: {}", f.message));
                    failure(state, f, false);
                    Vec::new()
                }
            }
        }
        Action::PreviewReady { req, result } => {
            let Some(p) = state.popup.as_mut() else {
                return Vec::new();
            };
            if !matches!(p.stage, PopupStage::Previewing { req: r, .. } if r == req) {
                return Vec::new();
            }
            match result {
                Ok(Ok(preview)) => {
                    p.stage = PopupStage::Plan(Box::new(PlanView::new(preview)));
                    let req = state.req();
                    plan_fill(state, req)
                }
                Ok(Err(reason)) => {
                    p.stage = PopupStage::Ineligible { reason };
                    Vec::new()
                }
                Err(f) => {
                    p.stage = refused(format!("cannot compute the plan: {}", f.message));
                    failure(state, f, false);
                    Vec::new()
                }
            }
        }
        Action::PageLoaded {
            req,
            section,
            result,
        } => {
            let Some(plan) = plan_mut(state) else {
                return Vec::new();
            };
            let pages = plan.pages_mut(section);
            if pages.loading != Some(req) {
                return Vec::new();
            }
            pages.loading = None;
            match result {
                Ok(items) => {
                    pages.exhausted = (items.len() as i64) < PLAN_PAGE;
                    pages.items.extend(items);
                    let req = state.req();
                    plan_fill(state, req)
                }
                Err(f) => {
                    failure(state, f, true);
                    Vec::new()
                }
            }
        }
        Action::RollbackDone { req, result } => on_rollback_done(state, req, result),
        Action::Completed { req, completion } => {
            let form = &mut state.form;
            if form.completing != Some(req) {
                return Vec::new();
            }
            form.completing = None;
            if form.file.text != completion.input {
                return Vec::new();
            }
            if let Some(r) = &completion.replacement {
                form.file.set(r.clone());
            }
            form.completion = (completion.candidates.len() > 1 || completion.note.is_some())
                .then_some(completion);
            Vec::new()
        }
        Action::ImportProgress { req, progress } => {
            match &mut state.form.phase {
                FormPhase::DryRunning {
                    req: r,
                    progress: p,
                    ..
                }
                | FormPhase::Importing {
                    req: r,
                    progress: p,
                    ..
                } if *r == req => *p = Some(progress),
                _ => {}
            }
            Vec::new()
        }
        Action::ImportDone { req, result } => on_import_done(state, req, result),
        Action::Pong { req, result } => {
            let Connection::Lost { ping, .. } = &mut state.connection else {
                return Vec::new();
            };
            if *ping != Some(req) {
                return Vec::new();
            }
            match result {
                Ok(()) => {
                    state.connection = Connection::Ok;
                    state.notice = Some(Notice::info("reconnected to the database"));
                    reload_screen(state)
                }
                Err(f) => {
                    *ping = None;
                    if let Connection::Lost { message, .. } = &mut state.connection {
                        *message = f.message;
                    }
                    Vec::new()
                }
            }
        }
    }
}

/// Which bindings apply now.
pub fn context(state: &State) -> Ctx {
    if state.too_small() {
        return Ctx::TooSmall;
    }
    if state.help.is_some() {
        return Ctx::Help;
    }
    help_context(state)
}

/// The context under the help overlay (the one it describes).
pub fn help_context(state: &State) -> Ctx {
    if let Some(p) = &state.popup {
        return match &p.stage {
            PopupStage::Checking { .. } | PopupStage::Previewing { .. } => Ctx::PopupBusy,
            PopupStage::Plan(plan) if plan.executing.is_some() => Ctx::PopupBusy,
            PopupStage::Plan(_) => Ctx::Popup,
            _ => Ctx::PopupResult,
        };
    }
    if state.filter_input.is_some() {
        return Ctx::Filter;
    }
    match state.screen {
        Screen::History => Ctx::History,
        Screen::Detail => Ctx::Detail,
        Screen::Audit => Ctx::Audit,
        Screen::ImportForm => match &state.form.phase {
            FormPhase::Editing { .. } if state.form.focus.is_text() => Ctx::FormText,
            FormPhase::Editing { .. } => Ctx::Form,
            FormPhase::DryRunning { .. } | FormPhase::Importing { .. } => Ctx::FormBusy,
            FormPhase::Reviewed { .. } => Ctx::FormReview,
            FormPhase::Done { .. } => Ctx::FormDone,
        },
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
        let req = state.req();
        if let Connection::Lost { ping, .. } = &mut state.connection {
            *ping = Some(req);
        }
        effects.push(Effect::Ping { req });
    }
    let ctx = context(state);
    let plain = !ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if ctx.is_text()
        && plain
        && let KeyCode::Char(c) = ev.code
    {
        if let Some(input) = text_input(state) {
            input.insert(c);
        }
        edited(state);
        return effects;
    }
    if ctx == Ctx::Popup
        && let Some(plan) = plan_mut(state)
        && plan.is_large()
    {
        match ev.code {
            KeyCode::Char(c) if plain && c.is_ascii_digit() => {
                plan.typed_id.insert(c);
                return effects;
            }
            KeyCode::Backspace => {
                plan.typed_id.backspace();
                return effects;
            }
            _ => {}
        }
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
            state.help = Some(HelpView::default());
            return Vec::new();
        }
        _ => {}
    }
    match ctx {
        Ctx::TooSmall => Vec::new(),
        Ctx::Help => {
            let lines = keys::help(help_context(state)).len() + 4;
            let page = layout::help_height(state);
            if let Some(h) = state.help.as_mut() {
                match cmd {
                    Command::Back | Command::Help => state.help = None,
                    _ => scroll(&mut h.scroll, cmd, lines, page),
                }
            }
            Vec::new()
        }
        Ctx::Popup | Ctx::PopupBusy | Ctx::PopupResult => popup_command(state, cmd),
        Ctx::Filter => {
            match cmd {
                Command::Apply => {
                    let text = state
                        .filter_input
                        .as_ref()
                        .map(|i| i.text.clone())
                        .unwrap_or_default();
                    match Filter::parse(&text) {
                        Ok(f) => {
                            state.filter_input = None;
                            state.history.filter = f;
                            state.history.list = ListNav::default();
                            state.history.reselect = None;
                            return load_history(state, false);
                        }
                        Err(e) => state.notice = Some(Notice::error(e)),
                    }
                }
                Command::Back => state.filter_input = None,
                Command::Edit | Command::ClearInput => edit_text(state, cmd, ev),
                _ => {}
            }
            Vec::new()
        }
        Ctx::History => history_command(state, cmd),
        Ctx::Detail => detail_command(state, cmd),
        Ctx::Audit => audit_command(state, cmd),
        Ctx::Form | Ctx::FormText | Ctx::FormReview | Ctx::FormBusy | Ctx::FormDone => {
            form_command(state, ctx, cmd, ev)
        }
    }
}

fn scroll(pos: &mut usize, cmd: Command, len: usize, page: usize) {
    let max = len.saturating_sub(page.max(1));
    let page = page.max(2) - 1;
    *pos = match cmd {
        Command::Up => pos.saturating_sub(1),
        Command::Down => *pos + 1,
        Command::PageUp => pos.saturating_sub(page),
        Command::PageDown => *pos + page,
        Command::Top => 0,
        Command::Bottom => max,
        _ => *pos,
    }
    .min(max);
}

fn nav(list: &mut ListNav, cmd: Command, len: usize, height: usize) -> bool {
    let page = height.max(2) as isize - 1;
    match cmd {
        Command::Up => list.step(-1, len, height),
        Command::Down => list.step(1, len, height),
        Command::PageUp => list.step(-page, len, height),
        Command::PageDown => list.step(page, len, height),
        Command::Top => list.to(0, len, height),
        Command::Bottom => list.to(len.saturating_sub(1), len, height),
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------- history

fn history_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let height = layout::history_height(state);
    let len = state.history.rows.len();
    if nav(&mut state.history.list, cmd, len, height) {
        let mut effects = Vec::new();
        if cmd == Command::Bottom && !state.history.exhausted {
            state.history.seek_end = true;
        }
        if cmd == Command::Top {
            state.history.seek_end = false;
        }
        effects.extend(history_more(state));
        effects.extend(check_selected(state));
        return effects;
    }
    match cmd {
        Command::Open => match state.selected_row() {
            Some(row) => {
                let id = row.id;
                open_detail(state, id, Screen::History)
            }
            None => Vec::new(),
        },
        Command::Filter => {
            state.filter_input = Some(TextInput::new(state.history.filter.to_text()));
            Vec::new()
        }
        Command::Back if !state.history.filter.is_empty() => {
            state.history.filter = Filter::default();
            state.history.list = ListNav::default();
            load_history(state, false)
        }
        Command::NewImport => open_form(state),
        Command::Rollback => match state.selected_row() {
            Some(row) => {
                let id = row.id;
                open_rollback(state, id)
            }
            None => {
                state.notice = Some(Notice::error("no import selected"));
                Vec::new()
            }
        },
        Command::AuditLog => open_audit(state),
        Command::Refresh => reload_history(state),
        _ => Vec::new(),
    }
}

/// Reloads the history from the top, keeping the selected import selected.
fn reload_history(state: &mut State) -> Vec<Effect> {
    state.history.reselect = state.selected_row().map(|r| r.id);
    state.history.eligibility.clear();
    load_history(state, false)
}

fn load_history(state: &mut State, append: bool) -> Vec<Effect> {
    let req = state.req();
    let h = &mut state.history;
    let before_id = if append {
        h.rows.last().map(|r| r.id)
    } else {
        None
    };
    h.loading = Some((req, append));
    vec![Effect::LoadHistory {
        req,
        filter: HistoryFilter {
            seller: h.filter.seller.clone(),
            status: h.filter.status,
            file_contains: h.filter.file.clone(),
            before_id,
            limit: PAGE,
        },
    }]
}

/// Loads the next page when the selection nears the end of what is loaded.
fn history_more(state: &mut State) -> Vec<Effect> {
    let h = &state.history;
    let height = layout::history_height(state);
    let near_end = h.list.selected + 2 * height >= h.rows.len();
    if h.loading.is_none() && !h.exhausted && h.loaded && (near_end || h.seek_end) {
        load_history(state, true)
    } else {
        Vec::new()
    }
}

fn on_history(
    state: &mut State,
    req: ReqId,
    result: Result<Vec<HistoryRow>, Failure>,
) -> Vec<Effect> {
    let Some((expected, append)) = state.history.loading else {
        return Vec::new();
    };
    if expected != req {
        return Vec::new();
    }
    let height = layout::history_height(state);
    let h = &mut state.history;
    h.loading = None;
    let rows = match result {
        Ok(rows) => rows,
        Err(f) => {
            h.seek_end = false;
            failure(state, f, true);
            return Vec::new();
        }
    };
    h.exhausted = (rows.len() as i64) < PAGE;
    h.loaded = true;
    if append {
        h.rows.extend(rows);
    } else {
        h.rows = rows;
        if let Some(id) = h.reselect.take()
            && let Some(i) = h.rows.iter().position(|r| r.id == id)
        {
            h.list.selected = i;
        }
    }
    let len = h.rows.len();
    if h.seek_end {
        h.list.to(len.saturating_sub(1), len, height);
        if h.exhausted {
            h.seek_end = false;
        }
    } else {
        h.list.to(h.list.selected, len, height);
    }
    let mut effects = history_more(state);
    effects.extend(check_selected(state));
    effects
}

/// The reason an import cannot be rolled back, when its row alone says so.
pub fn local_ineligibility(row: &HistoryRow) -> Option<String> {
    let id = row.id;
    let why = match row.status {
        ImportState::Running => Ineligible::StillRunning { id },
        ImportState::Failed => Ineligible::Failed { id },
        ImportState::RolledBack => Ineligible::AlreadyRolledBack {
            id,
            at: row.rolled_back_at,
            by: row.rolled_back_by.clone(),
        },
        ImportState::Completed => return None,
    };
    Some(why.to_string())
}

/// Asks whether the selected import can be rolled back (once per import).
fn check_selected(state: &mut State) -> Vec<Effect> {
    match state.selected_row() {
        Some(row) => {
            let id = row.id;
            check_eligibility(state, id)
        }
        None => Vec::new(),
    }
}

fn check_eligibility(state: &mut State, id: i64) -> Vec<Effect> {
    if state.history.eligibility.contains_key(&id) {
        return Vec::new();
    }
    let local = state
        .history
        .rows
        .iter()
        .find(|r| r.id == id)
        .map(local_ineligibility)
        .or_else(|| {
            let d = state.detail.as_ref()?.data.as_ref()?;
            Some(local_ineligibility(&HistoryRow::from(&d.import)))
        });
    if let Some(Some(reason)) = local {
        state
            .history
            .eligibility
            .insert(id, Eligibility::Ineligible(reason));
        return Vec::new();
    }
    let req = state.req();
    state
        .history
        .eligibility
        .insert(id, Eligibility::Checking(req));
    vec![Effect::CheckEligibility { req, id }]
}

// ---------------------------------------------------------------- detail

fn open_detail(state: &mut State, id: i64, from: Screen) -> Vec<Effect> {
    let req = state.req();
    let rollback = state
        .detail
        .take()
        .filter(|d| d.id == id)
        .and_then(|d| d.rollback);
    state.detail = Some(DetailView {
        id,
        data: None,
        loading: Some(req),
        missing: false,
        scroll: 0,
        rollback,
    });
    state.screen = Screen::Detail;
    state.detail_return = from;
    vec![Effect::LoadDetail { req, id }]
}

fn reload_detail(state: &mut State) -> Vec<Effect> {
    let req = state.req();
    match state.detail.as_mut() {
        Some(d) => {
            d.loading = Some(req);
            state.history.eligibility.remove(&d.id);
            vec![Effect::LoadDetail { req, id: d.id }]
        }
        None => Vec::new(),
    }
}

fn detail_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let page = layout::body_height(state);
    let lines = super::ui::detail::line_count(state);
    if let Some(d) = state.detail.as_mut()
        && matches!(
            cmd,
            Command::Up
                | Command::Down
                | Command::PageUp
                | Command::PageDown
                | Command::Top
                | Command::Bottom
        )
    {
        scroll(&mut d.scroll, cmd, lines, page);
        return Vec::new();
    }
    match cmd {
        Command::Back => {
            state.screen = state.detail_return;
            Vec::new()
        }
        Command::Rollback => match state.detail.as_ref() {
            Some(d) => {
                let id = d.id;
                open_rollback(state, id)
            }
            None => Vec::new(),
        },
        Command::NewImport => open_form(state),
        Command::AuditLog => open_audit(state),
        Command::Refresh => reload_detail(state),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------- audit

fn open_audit(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Audit;
    state.audit.list = ListNav::default();
    load_audit(state, false)
}

fn load_audit(state: &mut State, append: bool) -> Vec<Effect> {
    let req = state.req();
    let a = &mut state.audit;
    a.loading = Some((req, append));
    let before = if append {
        a.rows.last().map(|r| r.id)
    } else {
        None
    };
    vec![Effect::LoadAudit {
        req,
        before,
        limit: PAGE,
    }]
}

fn on_audit(
    state: &mut State,
    req: ReqId,
    result: Result<Vec<super::action::AuditRow>, Failure>,
) -> Vec<Effect> {
    let Some((expected, append)) = state.audit.loading else {
        return Vec::new();
    };
    if expected != req {
        return Vec::new();
    }
    let height = layout::history_height(state);
    let a = &mut state.audit;
    a.loading = None;
    match result {
        Ok(rows) => {
            a.exhausted = (rows.len() as i64) < PAGE;
            a.loaded = true;
            if append {
                a.rows.extend(rows);
            } else {
                a.rows = rows;
            }
            let len = a.rows.len();
            if a.seek_end {
                a.list.to(len.saturating_sub(1), len, height);
                if a.exhausted {
                    a.seek_end = false;
                }
            } else {
                a.list.to(a.list.selected, len, height);
            }
            audit_more(state)
        }
        Err(f) => {
            a.seek_end = false;
            failure(state, f, true);
            Vec::new()
        }
    }
}

fn audit_more(state: &mut State) -> Vec<Effect> {
    let a = &state.audit;
    let height = layout::history_height(state);
    let near_end = a.list.selected + 2 * height >= a.rows.len();
    if a.loading.is_none() && !a.exhausted && a.loaded && (near_end || a.seek_end) {
        load_audit(state, true)
    } else {
        Vec::new()
    }
}

fn audit_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let height = layout::history_height(state);
    let len = state.audit.rows.len();
    if nav(&mut state.audit.list, cmd, len, height) {
        if cmd == Command::Bottom && !state.audit.exhausted {
            state.audit.seek_end = true;
        }
        if cmd == Command::Top {
            state.audit.seek_end = false;
        }
        return audit_more(state);
    }
    match cmd {
        Command::Open => {
            let row = state.audit.rows.get(state.audit.list.selected);
            match row.and_then(|r| r.import_id) {
                Some(id) => open_detail(state, id, Screen::Audit),
                None => {
                    if row.is_some() {
                        state.notice = Some(Notice::info("this entry is not about an import"));
                    }
                    Vec::new()
                }
            }
        }
        Command::Back => {
            state.screen = Screen::History;
            Vec::new()
        }
        Command::NewImport => open_form(state),
        Command::Refresh => open_audit(state),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------- import form

fn open_form(state: &mut State) -> Vec<Effect> {
    let form = &mut state.form;
    if matches!(form.phase, FormPhase::Done { .. }) {
        form.phase = FormPhase::Editing { error: None };
        form.file.clear();
        form.focus = FormField::File;
    }
    if form.seller.text.is_empty() {
        // A seller can only import for itself; support gets the seller in view.
        let own = state.identity.as_ref().and_then(|i| i.own_seller());
        let seller = own
            .map(str::to_string)
            .or_else(|| state.history.filter.seller.clone())
            .or_else(|| state.selected_row().map(|r| r.seller.clone()));
        if let Some(s) = seller {
            state.form.seller.set(s);
        }
    }
    state.screen = Screen::ImportForm;
    Vec::new()
}

fn text_input(state: &mut State) -> Option<&mut TextInput> {
    if let Some(i) = state.filter_input.as_mut() {
        return Some(i);
    }
    if state.screen == Screen::ImportForm {
        return match state.form.focus {
            FormField::File => Some(&mut state.form.file),
            FormField::Seller => Some(&mut state.form.seller),
            _ => None,
        };
    }
    None
}

/// After the text of a field changed.
fn edited(state: &mut State) {
    if state.screen == Screen::ImportForm && state.form.focus == FormField::File {
        state.form.completion = None;
        state.form.completing = None;
    }
    if let FormPhase::Editing { error } = &mut state.form.phase {
        *error = None;
    }
}

fn edit_text(state: &mut State, cmd: Command, ev: &KeyEvent) {
    let Some(input) = text_input(state) else {
        return;
    };
    if cmd == Command::ClearInput {
        input.clear();
    } else {
        match ev.code {
            KeyCode::Left => input.left(),
            KeyCode::Right => input.right(),
            KeyCode::Home => input.home(),
            KeyCode::End => input.end(),
            KeyCode::Backspace => input.backspace(),
            KeyCode::Delete => input.delete(),
            _ => return,
        }
    }
    if matches!(ev.code, KeyCode::Backspace | KeyCode::Delete) || cmd == Command::ClearInput {
        edited(state);
    }
}

fn move_field(form: &mut ImportForm, delta: isize) {
    let all = FormField::ALL;
    let i = all.iter().position(|f| *f == form.focus).unwrap_or(0) as isize;
    let n = all.len() as isize;
    form.focus = all[((i + delta).rem_euclid(n)) as usize];
}

fn form_command(state: &mut State, ctx: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let page = layout::body_height(state);
    match ctx {
        Ctx::Form | Ctx::FormText => {
            let form = &mut state.form;
            match cmd {
                Command::NextField => move_field(form, 1),
                Command::PrevField => move_field(form, -1),
                Command::Complete if form.focus == FormField::File => {
                    let req = state.req();
                    state.form.completing = Some(req);
                    return vec![Effect::Complete {
                        req,
                        input: state.form.file.text.clone(),
                    }];
                }
                Command::Complete => move_field(form, 1),
                Command::Left | Command::Right if form.focus == FormField::Profile => {
                    let n = PROFILES.len();
                    form.profile = if cmd == Command::Left {
                        (form.profile + n - 1) % n
                    } else {
                        (form.profile + 1) % n
                    };
                }
                Command::Left | Command::Right if form.focus == FormField::SkipInvalid => {
                    form.skip_invalid = !form.skip_invalid;
                }
                Command::Toggle => match form.focus {
                    FormField::SkipInvalid => form.skip_invalid = !form.skip_invalid,
                    FormField::Profile => form.profile = (form.profile + 1) % PROFILES.len(),
                    FormField::DryRun => return start_import(state, true),
                    _ => {}
                },
                Command::Activate => match form.focus {
                    FormField::DryRun => return start_import(state, true),
                    _ => move_field(form, 1),
                },
                Command::Edit | Command::ClearInput => edit_text(state, cmd, ev),
                Command::Back => state.screen = Screen::History,
                _ => {}
            }
            Vec::new()
        }
        Ctx::FormReview => {
            let FormPhase::Reviewed {
                outcome,
                focus,
                scroll: pos,
            } = &mut state.form.phase
            else {
                return Vec::new();
            };
            let can_import = outcome.status == ImportStatus::DryRun;
            match cmd {
                Command::Left | Command::Right if can_import => {
                    *focus = match focus {
                        Button::Cancel => Button::Confirm,
                        Button::Confirm => Button::Cancel,
                    };
                }
                Command::Activate if *focus == Button::Confirm && can_import => {
                    return start_import(state, false);
                }
                Command::Activate | Command::Back => {
                    state.form.phase = FormPhase::Editing { error: None };
                }
                _ => {
                    let len = super::ui::form::review_line_count(outcome);
                    scroll(pos, cmd, len, page);
                }
            }
            Vec::new()
        }
        Ctx::FormDone => {
            let FormPhase::Done {
                outcome,
                scroll: pos,
            } = &mut state.form.phase
            else {
                return Vec::new();
            };
            match cmd {
                Command::Open => match outcome.import_id {
                    Some(id) => {
                        reset_form_after_done(state);
                        open_detail(state, id, Screen::History)
                    }
                    None => Vec::new(),
                },
                Command::Back => {
                    reset_form_after_done(state);
                    state.screen = Screen::History;
                    Vec::new()
                }
                Command::NewImport => {
                    reset_form_after_done(state);
                    Vec::new()
                }
                _ => {
                    let len = super::ui::form::review_line_count(outcome);
                    scroll(pos, cmd, len, page);
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    }
}

fn reset_form_after_done(state: &mut State) {
    let form = &mut state.form;
    form.phase = FormPhase::Editing { error: None };
    form.file.clear();
    form.completion = None;
    form.focus = FormField::File;
}

fn start_import(state: &mut State, dry_run: bool) -> Vec<Effect> {
    let form = &mut state.form;
    let path = form.file.text.trim().to_string();
    let seller = form.seller.text.trim().to_string();
    let error = if path.is_empty() {
        form.focus = FormField::File;
        Some("enter the path of the CSV file (Tab completes)")
    } else if seller.is_empty() {
        form.focus = FormField::Seller;
        Some("enter the seller id")
    } else {
        None
    };
    if let Some(e) = error {
        form.phase = FormPhase::Editing {
            error: Some(e.to_string()),
        };
        return Vec::new();
    }
    let expected_rows = match &form.phase {
        FormPhase::Reviewed { outcome, .. } => outcome.counts.rows_read,
        _ => 0,
    };
    let profile = PROFILES.get(form.profile).copied().flatten();
    let spec = ImportSpec {
        path: path.into(),
        seller,
        profile,
        dry_run,
        skip_invalid: form.skip_invalid,
    };
    let req = state.req();
    state.form.phase = if dry_run {
        FormPhase::DryRunning {
            req,
            progress: None,
            seconds: 0,
        }
    } else {
        FormPhase::Importing {
            req,
            progress: None,
            seconds: 0,
            expected_rows,
        }
    };
    vec![Effect::Import { req, spec }]
}

fn on_import_done(
    state: &mut State,
    req: ReqId,
    result: Result<Box<crate::domain::import::ImportOutcome>, Failure>,
) -> Vec<Effect> {
    let (dry_run, matches) = match &state.form.phase {
        FormPhase::DryRunning { req: r, .. } => (true, *r == req),
        FormPhase::Importing { req: r, .. } => (false, *r == req),
        _ => (false, false),
    };
    if !matches {
        return Vec::new();
    }
    match result {
        Ok(outcome) if dry_run => {
            state.form.phase = FormPhase::Reviewed {
                outcome,
                focus: Button::Cancel,
                scroll: 0,
            };
            Vec::new()
        }
        Ok(outcome) => {
            let id = outcome.import_id;
            state.form.phase = FormPhase::Done { outcome, scroll: 0 };
            // The new import is the newest: show it at the top of the history.
            state.history.reselect = id;
            state.history.list = ListNav::default();
            state.history.eligibility.clear();
            load_history(state, false)
        }
        Err(f) => {
            state.form.phase = FormPhase::Editing {
                error: Some(f.message.clone()),
            };
            failure(state, f, false);
            Vec::new()
        }
    }
}

// ---------------------------------------------------------------- rollback

fn open_rollback(state: &mut State, id: i64) -> Vec<Effect> {
    let req = state.req();
    state.popup = Some(RollbackPopup {
        import_id: id,
        stage: PopupStage::Checking { req },
    });
    vec![Effect::RollbackCheck { req, id }]
}

fn refused(message: String) -> PopupStage {
    PopupStage::Refused {
        message,
        conflicts: Vec::new(),
        can_retry: false,
        scroll: 0,
    }
}

fn plan_mut(state: &mut State) -> Option<&mut PlanView> {
    match &mut state.popup.as_mut()?.stage {
        PopupStage::Plan(p) => Some(p),
        _ => None,
    }
}

/// Loads the next page of the visible section when its loaded lines do not
/// reach past the window (plus one window of read-ahead).
fn plan_fill(state: &mut State, req: ReqId) -> Vec<Effect> {
    let height = layout::popup_list_height(state);
    let id = state.popup.as_ref().map(|p| p.import_id).unwrap_or(0);
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    let section = plan.tab;
    let seller = plan.preview.seller.clone();
    let total = plan.count(section);
    let pages = plan.pages_mut(section);
    if pages.loading.is_some() || pages.exhausted || (pages.items.len() as i64) >= total {
        if (pages.items.len() as i64) >= total {
            pages.exhausted = true;
        }
        return Vec::new();
    }
    if pages.line_count() >= pages.scroll + 2 * height {
        return Vec::new();
    }
    pages.loading = Some(req);
    vec![Effect::RollbackPage {
        req,
        id,
        seller,
        section,
        after: pages.items.last().map(|i| i.sku.clone()),
        limit: PLAN_PAGE,
    }]
}

fn popup_command(state: &mut State, cmd: Command) -> Vec<Effect> {
    let height = layout::popup_list_height(state);
    let Some(popup) = state.popup.as_mut() else {
        return Vec::new();
    };
    match &mut popup.stage {
        PopupStage::Checking { .. } | PopupStage::Previewing { .. } => {
            if cmd == Command::Back {
                // The reply, when it comes, is stale and dropped.
                state.popup = None;
            }
            Vec::new()
        }
        PopupStage::Ineligible { .. } => {
            if matches!(cmd, Command::Back | Command::Activate) {
                state.popup = None;
            }
            Vec::new()
        }
        PopupStage::Done {
            scroll: pos,
            outcome,
            ..
        } => {
            match cmd {
                Command::Back | Command::Activate => state.popup = None,
                _ => scroll(pos, cmd, outcome.skipped_listings.len() + 6, height),
            }
            Vec::new()
        }
        PopupStage::Refused {
            can_retry,
            scroll: pos,
            conflicts,
            ..
        } => match cmd {
            Command::Activate if *can_retry => {
                let id = popup.import_id;
                let req = state.req();
                if let Some(p) = state.popup.as_mut() {
                    p.stage = PopupStage::Previewing { req, seconds: 0 };
                }
                vec![Effect::RollbackPreview { req, id }]
            }
            Command::Back | Command::Activate => {
                state.popup = None;
                Vec::new()
            }
            _ => {
                let len = conflicts.len() * 2 + 4;
                scroll(pos, cmd, len, height);
                Vec::new()
            }
        },
        PopupStage::Plan(plan) => {
            if plan.executing.is_some() {
                if cmd == Command::Back {
                    state.notice = Some(Notice::info(
                        "the rollback is running; it finishes or changes nothing",
                    ));
                }
                return Vec::new();
            }
            match cmd {
                Command::Up
                | Command::Down
                | Command::PageUp
                | Command::PageDown
                | Command::Top
                | Command::Bottom => {
                    let pages = plan.pages_mut(plan.tab);
                    let len = pages.line_count();
                    scroll(&mut pages.scroll, cmd, len, height);
                }
                Command::NextTab | Command::PrevTab => {
                    let order = [Section::Delete, Section::Restore, Section::Skip];
                    let i = order.iter().position(|s| *s == plan.tab).unwrap_or(0);
                    let j = if cmd == Command::NextTab {
                        (i + 1) % 3
                    } else {
                        (i + 2) % 3
                    };
                    plan.tab = order[j];
                }
                Command::Left | Command::Right => {
                    plan.focus = match plan.focus {
                        Button::Cancel => Button::Confirm,
                        Button::Confirm => Button::Cancel,
                    };
                }
                Command::ToggleMode => {
                    plan.mode = match plan.mode {
                        ConflictMode::Skip => ConflictMode::Block,
                        ConflictMode::Block => ConflictMode::Skip,
                    };
                }
                Command::Back => {
                    state.popup = None;
                    return Vec::new();
                }
                Command::Activate => match plan.focus {
                    Button::Cancel => {
                        state.popup = None;
                        return Vec::new();
                    }
                    Button::Confirm => {
                        if !plan.can_confirm() {
                            let msg = if plan.mode == ConflictMode::Block
                                && plan.preview.counts.skip > 0
                            {
                                format!(
                                    "blocked: {} listing(s) changed after the import; press m to skip them instead",
                                    plan.preview.counts.skip
                                )
                            } else {
                                format!(
                                    "type the import id ({}) to confirm a rollback of {} listings",
                                    plan.preview.import_id,
                                    plan.changes()
                                )
                            };
                            state.notice = Some(Notice::error(msg));
                            return Vec::new();
                        }
                        let req = state.req();
                        let Some(plan) = plan_mut(state) else {
                            return Vec::new();
                        };
                        plan.executing = Some(req);
                        plan.seconds = 0;
                        return vec![Effect::RollbackExecute {
                            req,
                            id: plan.preview.import_id,
                            mode: plan.mode,
                            expect: plan.preview.fingerprint.clone(),
                        }];
                    }
                },
                _ => {}
            }
            let req = state.req();
            plan_fill(state, req)
        }
    }
}

fn on_rollback_done(
    state: &mut State,
    req: ReqId,
    result: Result<Box<crate::domain::rollback::RollbackOutcome>, RollbackFailure>,
) -> Vec<Effect> {
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    if plan.executing != Some(req) {
        return Vec::new();
    }
    plan.executing = None;
    state.notice = None;
    let Some(plan) = plan_mut(state) else {
        return Vec::new();
    };
    let file = plan.preview.file_name.clone();
    let id = plan.preview.import_id;
    state.history.eligibility.clear();
    match result {
        Ok(outcome) => {
            if let Some(row) = state.history.rows.iter_mut().find(|r| r.id == id) {
                row.status = ImportState::RolledBack;
            }
            let mut effects = Vec::new();
            if let Some(d) = state.detail.as_mut().filter(|d| d.id == id) {
                d.rollback = Some(outcome.clone());
                effects.extend(reload_detail(state));
            }
            if let Some(p) = state.popup.as_mut() {
                p.stage = PopupStage::Done {
                    outcome,
                    file,
                    scroll: 0,
                };
            }
            effects.extend(reload_history(state));
            effects
        }
        Err(rf) => {
            if let Some(p) = state.popup.as_mut() {
                p.stage = PopupStage::Refused {
                    message: rf.failure.message.clone(),
                    conflicts: rf.conflicts,
                    can_retry: rf.plan_changed,
                    scroll: 0,
                };
            }
            failure(state, rf.failure, false);
            reload_history(state)
        }
    }
}

// ---------------------------------------------------------------- plumbing

/// A failed request: a lost connection shows the banner (and is retried);
/// other errors show as a notice when `notice` is set.
fn failure(state: &mut State, f: Failure, notice: bool) {
    if f.connection {
        match &mut state.connection {
            Connection::Lost { message, .. } => *message = f.message,
            c => {
                *c = Connection::Lost {
                    message: f.message,
                    seconds: 0,
                    ping: None,
                }
            }
        }
    } else if notice {
        state.notice = Some(Notice::error(f.message));
    }
}

fn on_tick(state: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Connection::Lost { seconds, ping, .. } = &mut state.connection {
        *seconds += 1;
        if ping.is_none() && seconds.is_multiple_of(5) {
            let req = state.req();
            if let Connection::Lost { ping, .. } = &mut state.connection {
                *ping = Some(req);
            }
            effects.push(Effect::Ping { req });
        }
    }
    match &mut state.form.phase {
        FormPhase::DryRunning { seconds, .. } | FormPhase::Importing { seconds, .. } => {
            *seconds += 1
        }
        _ => {}
    }
    if let Some(p) = state.popup.as_mut() {
        match &mut p.stage {
            PopupStage::Previewing { seconds, .. } => *seconds += 1,
            PopupStage::Plan(plan) if plan.executing.is_some() => plan.seconds += 1,
            _ => {}
        }
    }
    effects
}

/// After reconnecting: fetch what the current screen shows.
fn reload_screen(state: &mut State) -> Vec<Effect> {
    let mut effects = reload_history(state);
    match state.screen {
        Screen::Detail => effects.extend(reload_detail(state)),
        Screen::Audit => effects.extend(load_audit(state, false)),
        _ => {}
    }
    effects
}

/// After a resize: keep selections visible in the new window.
fn relayout(state: &mut State) {
    let height = layout::history_height(state);
    let len = state.history.rows.len();
    state.history.list.keep_visible(len, height);
    let len = state.audit.rows.len();
    state.audit.list.keep_visible(len, height);
    let list = layout::popup_list_height(state);
    if let Some(plan) = plan_mut(state) {
        for s in [Section::Delete, Section::Restore, Section::Skip] {
            let pages = plan.pages_mut(s);
            pages.scroll = pages.scroll.min(pages.line_count().saturating_sub(list));
        }
    }
    let lines = super::ui::detail::line_count(state);
    let page = layout::body_height(state);
    if let Some(d) = state.detail.as_mut() {
        d.scroll = d.scroll.min(lines.saturating_sub(page));
    }
}
