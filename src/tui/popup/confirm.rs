//! A question before something that cannot be taken back: cancelling the
//! running dry run or import (Esc), quitting while work runs (q, Ctrl-C).
//! The harmless answer has the focus; Esc and q close it, which is that
//! answer too.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::domain::StopCause;
use crate::tui::action::{Effect, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::popup::PopupModule;
use crate::tui::state::State;
use crate::tui::widgets::{Button, block, buttons_line, text};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmPopup {
    pub question: Question,
    pub focus: Button,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Question {
    /// Cancel the running dry run or import of request `req`.
    CancelImport { req: ReqId, dry_run: bool },
    /// Quit although work runs (it is cancelled on the way out).
    Quit,
}

/// Asks `question`, the harmless answer focused.
pub fn ask(state: &mut State, question: Question) {
    state.confirm = Some(ConfirmPopup {
        question,
        focus: Button::Cancel,
    });
}

/// The confirmation popup.
pub struct Confirm;

impl PopupModule for Confirm {
    fn is_open(&self, state: &State) -> bool {
        state.confirm.is_some()
    }

    fn context(&self, _state: &State) -> Ctx {
        Ctx::Confirm
    }

    fn command(&self, state: &mut State, cmd: Command) -> Vec<Effect> {
        let Some(popup) = state.confirm.as_mut() else {
            return Vec::new();
        };
        match cmd {
            Command::Left | Command::Right => popup.focus = popup.focus.other(),
            Command::Back => state.confirm = None,
            Command::Activate if popup.focus == Button::Cancel => state.confirm = None,
            Command::Activate => {
                let question = popup.question.clone();
                state.confirm = None;
                return match question {
                    Question::CancelImport { req, .. } => {
                        crate::tui::screen::import::cancel(state, req)
                    }
                    Question::Quit => crate::tui::update::quit_now(state, StopCause::Requested),
                };
            }
            _ => {}
        }
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let Some(popup) = &state.confirm else { return };
        let t = &state.theme;
        let (title, lines, buttons) = wording(state, &popup.question);
        let w = area.width.saturating_sub(4).min(72);
        let wrapped: Vec<Line> = lines
            .iter()
            .flat_map(|l| text::wrap(l, w.saturating_sub(4) as usize))
            .map(Line::raw)
            .collect();
        let h = (wrapped.len() as u16 + 4).min(area.height.saturating_sub(2));
        let rect = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + area.height.saturating_sub(h) / 2,
            w,
            h,
        );
        frame.render_widget(Clear, rect);
        let b = block(title, t);
        let inner = b.inner(rect);
        frame.render_widget(b, rect);
        frame.render_widget(Paragraph::new(wrapped), inner);
        buttons_line(
            frame,
            inner,
            &[
                (buttons.0, popup.focus == Button::Cancel, true),
                (buttons.1, popup.focus == Button::Confirm, true),
            ],
            t,
        );
    }
}

type Wording = (String, Vec<String>, (&'static str, &'static str));

/// The title, the lines and the two buttons (harmless first) of a question.
fn wording(state: &State, question: &Question) -> Wording {
    match question {
        Question::CancelImport { dry_run: true, .. } => (
            " Cancel the dry run? ".into(),
            vec!["The dry run stops; it has changed nothing and changes nothing.".into()],
            ("[ Keep running ]", "[ Cancel the dry run ]"),
        ),
        Question::CancelImport { dry_run: false, .. } => (
            " Cancel the import? ".into(),
            vec![
                "The import's transaction is rolled back: no listing changes, and the \
                 history records the import as failed (cancelled)."
                    .into(),
            ],
            ("[ Keep running ]", "[ Cancel the import ]"),
        ),
        Question::Quit => {
            let mut lines: Vec<String> = crate::tui::update::running_work(state)
                .into_iter()
                .map(|(_, what)| format!("Running: {what}."))
                .collect();
            lines.push(
                "Quitting cancels it: its transaction is rolled back and nothing changes.".into(),
            );
            (
                " Quit importdesk? ".into(),
                lines,
                ("[ Keep working ]", "[ Quit and cancel ]"),
            )
        }
    }
}
