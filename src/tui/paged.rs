//! A list loaded page by page with keyset pagination (newest first, the
//! next page is "before the last row's key"), of which only the visible
//! window is drawn: the history and the audit log. The screen owning a
//! [`Paged`] builds the request (its own [`super::action::Effect`]); the
//! bookkeeping (what is in flight, stale replies, the end of the list, `G`
//! loading to the end, keeping the selection) is here, once.

use super::action::ReqId;
use super::keys::Command;
use super::nav::ListNav;

/// Rows fetched per request.
pub const PAGE: i64 = 200;

/// A row with the key its list is ordered and paged by (descending).
pub trait Keyed {
    fn key(&self) -> i64;
}

/// The request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub req: ReqId,
    /// Appends a page (else replaces the rows).
    pub append: bool,
}

#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub nav: ListNav,
    /// The oldest row has been loaded.
    pub exhausted: bool,
    pub loading: Option<Loading>,
    /// `G` was pressed: keep loading pages until the end, then select it.
    pub seek_end: bool,
    /// Loaded at least once (an empty list means "none", not "loading").
    pub loaded: bool,
    /// After the next reload, select the row with this key again.
    pub reselect: Option<i64>,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            nav: ListNav::default(),
            exhausted: false,
            loading: None,
            seek_end: false,
            loaded: false,
            reselect: None,
        }
    }
}

impl<T: Keyed> Paged<T> {
    pub fn selected(&self) -> Option<&T> {
        self.rows.get(self.nav.selected)
    }

    /// Records request `req` as the one in flight; returns the keyset
    /// cursor (rows before this key) when it appends a page.
    pub fn request(&mut self, req: ReqId, append: bool) -> Option<i64> {
        self.loading = Some(Loading { req, append });
        if append {
            self.rows.last().map(Keyed::key)
        } else {
            None
        }
    }

    /// Whether the next page should be requested now: the selection nears
    /// the end of what is loaded (or `G` asked for the end).
    pub fn wants_more(&self, height: usize) -> bool {
        let near_end = self.nav.selected + 2 * height >= self.rows.len();
        self.loading.is_none() && !self.exhausted && self.loaded && (near_end || self.seek_end)
    }

    /// A movement key; `false` if `cmd` is not one.
    pub fn command(&mut self, cmd: Command, height: usize) -> bool {
        if !self.nav.command(cmd, self.rows.len(), height) {
            return false;
        }
        if cmd == Command::Bottom && !self.exhausted {
            self.seek_end = true;
        }
        if cmd == Command::Top {
            self.seek_end = false;
        }
        true
    }

    /// Takes the reply to request `req`: `None` when it is stale (not the
    /// request in flight), else the reply's error if it failed.
    pub fn receive<F>(
        &mut self,
        req: ReqId,
        result: Result<Vec<T>, F>,
        height: usize,
    ) -> Option<Result<(), F>> {
        let loading = self.loading.filter(|l| l.req == req)?;
        self.loading = None;
        let rows = match result {
            Ok(rows) => rows,
            Err(f) => {
                self.seek_end = false;
                return Some(Err(f));
            }
        };
        self.exhausted = (rows.len() as i64) < PAGE;
        self.loaded = true;
        if loading.append {
            self.rows.extend(rows);
        } else {
            self.rows = rows;
            if let Some(key) = self.reselect.take()
                && let Some(i) = self.rows.iter().position(|r| r.key() == key)
            {
                self.nav.selected = i;
            }
        }
        let len = self.rows.len();
        if self.seek_end {
            self.nav.to(len.saturating_sub(1), len, height);
            if self.exhausted {
                self.seek_end = false;
            }
        } else {
            self.nav.to(self.nav.selected, len, height);
        }
        Some(Ok(()))
    }

    /// The rows of a window of `height` rows, each with whether it is the
    /// selected one.
    pub fn window(&self, height: usize) -> impl Iterator<Item = (&T, bool)> {
        let end = (self.nav.offset + height).min(self.rows.len());
        let start = self.nav.offset.min(end);
        self.rows[start..end]
            .iter()
            .enumerate()
            .map(move |(i, row)| (row, start + i == self.nav.selected))
    }

    /// `12/200+ `: the selected row, the rows loaded, `+` while more exist.
    pub fn position(&self) -> String {
        if self.rows.is_empty() {
            return String::new();
        }
        format!(
            "{}/{}{} ",
            self.nav.selected + 1,
            self.rows.len(),
            if self.exhausted { "" } else { "+" }
        )
    }
}
