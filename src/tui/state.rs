//! Everything the console shows is a function of [`State`]: the screens'
//! and popups' own states (each defined in its module), plus what the
//! whole console shares (notice, connection, size, theme, identity).
//! `update` changes it; `view::render` draws it; nothing else touches it.

use ratatui::layout::Rect;

use crate::domain::identity::Identity;

use super::action::{Failure, HistoryRow, ReqId};
use super::clock::Clock;
use super::keys::Ctx;
use super::layout;
use super::popup::{
    self, confirm::ConfirmPopup, full_text::FullText, help::HelpView, restore::RestorePopup,
    rollback::RollbackPopup,
};
use super::screen::audit::AuditView;
use super::screen::detail::DetailView;
use super::screen::history::HistoryView;
use super::screen::import::ImportForm;
use super::screen::listings::ListingsView;
use super::screen::timeline::TimelineView;
use super::screen::{self, Screen};
use super::theme::Theme;

/// The smallest terminal the console lays out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

#[derive(Debug, Clone)]
pub struct State {
    pub screen: Screen,
    pub history: HistoryView,
    pub detail: Option<DetailView>,
    pub audit: AuditView,
    pub form: ImportForm,
    pub listings: ListingsView,
    pub timeline: TimelineView,
    /// The rollback popup.
    pub popup: Option<RollbackPopup>,
    /// The single-listing restore popup.
    pub restore: Option<RestorePopup>,
    /// A question before something that cannot be taken back (above the
    /// rollback popup).
    pub confirm: Option<ConfirmPopup>,
    /// `v`: what is cut off, in full.
    pub full_text: Option<FullText>,
    /// The `?` overlay, above everything.
    pub help: Option<HelpView>,
    /// A one-line message shown until the next key.
    pub notice: Option<Notice>,
    /// The notice the last key took away (`v` shows it in full).
    pub last_notice: Option<Notice>,
    /// Text for the terminal's clipboard: the loop sends it (OSC 52) after
    /// the update that set it.
    pub clipboard: Option<String>,
    pub connection: Connection,
    pub width: u16,
    pub height: u16,
    pub theme: Theme,
    /// The time now and the zone times are shown in.
    pub clock: Clock,
    /// `t`: diffs leave out fields whose change is only a timestamp
    /// (`updated_at`).
    pub hide_times: bool,
    /// Shown in the title bar (the database name, never a password).
    pub db_label: String,
    /// Who the database says we are (role; seller or support), shown in the
    /// title bar. `None` until known.
    pub identity: Option<Identity>,
    pub quit: bool,
    /// Ctrl-Z: the loop hands the terminal back to the shell and stops
    /// the process until `fg`, then clears this.
    pub suspend: bool,
    next_req: ReqId,
}

impl State {
    pub fn new(width: u16, height: u16, theme: Theme, db_label: impl Into<String>) -> Self {
        Self {
            screen: Screen::History,
            history: HistoryView::default(),
            detail: None,
            audit: AuditView::default(),
            form: ImportForm::default(),
            listings: ListingsView::default(),
            timeline: TimelineView::default(),
            popup: None,
            restore: None,
            confirm: None,
            full_text: None,
            help: None,
            notice: None,
            last_notice: None,
            clipboard: None,
            connection: Connection::Ok,
            width,
            height,
            theme,
            clock: Clock::system(),
            hide_times: false,
            db_label: db_label.into(),
            identity: None,
            quit: false,
            suspend: false,
            next_req: 1,
        }
    }

    /// A new request id.
    pub fn req(&mut self) -> ReqId {
        let id = self.next_req;
        self.next_req += 1;
        id
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    /// Which bindings of the key table apply now.
    pub fn context(&self) -> Ctx {
        if self.too_small() {
            return Ctx::TooSmall;
        }
        if self.help.is_some() {
            return Ctx::Help;
        }
        self.context_under_help()
    }

    /// The context under the help overlay (the one it describes): the
    /// topmost popup's, else the screen's.
    pub fn context_under_help(&self) -> Ctx {
        match popup::top(self) {
            Some(p) => p.context(self),
            None => screen::current(self).context(self),
        }
    }

    /// Something runs that shows elapsed time or needs reconnecting: the
    /// loop then delivers [`super::action::Action::Tick`] once a second.
    pub fn wants_ticks(&self) -> bool {
        matches!(self.connection, Connection::Lost { .. })
            || screen::busy(self)
            || popup::busy(self)
    }

    pub fn selected_row(&self) -> Option<&HistoryRow> {
        self.history.list.selected()
    }

    /// The whole frame (the terminal's size).
    pub fn area(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Rows of the connection banner (shown while the connection is lost).
    pub fn banner_height(&self) -> u16 {
        u16::from(matches!(self.connection, Connection::Lost { .. }))
    }

    /// Rows of the screens' body.
    pub fn body_height(&self) -> usize {
        layout::body_height(self.height, self.banner_height()) as usize
    }

    /// A failed request: a lost connection shows the banner (and is
    /// retried); other errors show as a notice when `notice` is set.
    pub fn fail(&mut self, f: Failure, notice: bool) {
        if f.connection {
            match &mut self.connection {
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
            self.notice = Some(Notice::error(f.message));
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Ok,
    Lost {
        message: String,
        /// Seconds since the loss was noticed.
        seconds: u64,
        ping: Option<ReqId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            kind: NoticeKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: NoticeKind::Error,
            text: text.into(),
        }
    }
}
