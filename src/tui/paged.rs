//! A list loaded page by page with keyset pagination (newest first, the
//! next page is "before the last row's key"), of which only the visible
//! window is drawn: the history and the audit log. A screen with such a
//! list implements [`PagedList`] (where its [`Paged`] is, and the request
//! for a page); the bookkeeping (what is in flight, stale replies, the end
//! of the list, `G` loading to the end, keeping the selection) is here,
//! once.

use super::action::{Effect, Failure, ReqId};
use super::keys::Command;
use super::nav::ListNav;
use super::state::State;

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

/// A screen's paged list: where it is in the state, and how to ask for a
/// page of it.
pub trait PagedList {
    type Row: Keyed;

    fn list(state: &mut State) -> &mut Paged<Self::Row>;

    /// The request for the first page (`before` is `None`) or for the rows
    /// before key `before`.
    fn request(state: &State, req: ReqId, before: Option<i64>) -> Effect;

    /// After rows arrived or the selection moved.
    fn moved(_state: &mut State) -> Vec<Effect> {
        Vec::new()
    }
}

/// Rows of a table below its header line (the body less one).
pub fn table_height(state: &State) -> usize {
    state.body_height().saturating_sub(1).max(1)
}

/// Requests the first page (`append`: the next one).
pub fn load<L: PagedList>(state: &mut State, append: bool) -> Vec<Effect> {
    let req = state.req();
    let before = L::list(state).request(req, append);
    vec![L::request(state, req, before)]
}

/// Loads the next page when the selection nears the end of what is loaded.
pub fn more<L: PagedList>(state: &mut State) -> Vec<Effect> {
    let height = table_height(state);
    if L::list(state).wants_more(height) {
        load::<L>(state, true)
    } else {
        Vec::new()
    }
}

/// A movement key (then maybe the next page); `None` if `cmd` is not one.
pub fn command<L: PagedList>(state: &mut State, cmd: Command) -> Option<Vec<Effect>> {
    let height = table_height(state);
    if !L::list(state).command(cmd, height) {
        return None;
    }
    let mut effects = more::<L>(state);
    effects.extend(L::moved(state));
    Some(effects)
}

/// The reply to a page request. A failure shows as a notice or the
/// connection banner.
pub fn loaded<L: PagedList>(
    state: &mut State,
    req: ReqId,
    result: Result<Vec<L::Row>, Failure>,
) -> Vec<Effect> {
    let height = table_height(state);
    match L::list(state).receive(req, result, height) {
        None => Vec::new(),
        Some(Err(f)) => {
            state.fail(f, true);
            Vec::new()
        }
        Some(Ok(())) => {
            let mut effects = more::<L>(state);
            effects.extend(L::moved(state));
            effects
        }
    }
}

/// After a resize: keep the selection visible in the new window.
pub fn relayout<L: PagedList>(state: &mut State) {
    let height = table_height(state);
    let list = L::list(state);
    list.nav.keep_visible(list.rows.len(), height);
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for i64 {
        fn key(&self) -> i64 {
            *self
        }
    }

    /// Rows `from` down to `from - n + 1` (newest first).
    fn rows(from: i64, n: i64) -> Vec<i64> {
        (0..n).map(|i| from - i).collect()
    }

    #[test]
    fn pages_append_by_keyset_and_stale_replies_are_dropped() {
        let mut list = Paged::<i64>::default();
        assert_eq!(list.request(1, false), None);
        assert!(matches!(
            list.receive(1, Ok::<_, ()>(rows(1000, PAGE)), 10),
            Some(Ok(()))
        ));
        assert!(!list.exhausted && list.loaded);
        // The next page is "before the last row's key".
        assert_eq!(list.request(2, true), Some(1000 - PAGE + 1));
        // A reply to another request changes nothing.
        assert!(list.receive(1, Ok::<_, ()>(rows(5, 5)), 10).is_none());
        assert_eq!(list.rows.len(), PAGE as usize);
        assert!(matches!(
            list.receive(2, Ok::<_, ()>(rows(800, 3)), 10),
            Some(Ok(()))
        ));
        assert_eq!(list.rows.len(), PAGE as usize + 3);
        assert!(list.exhausted, "a short page is the last");
        assert!(!list.wants_more(10));
    }

    #[test]
    fn bottom_loads_to_the_end_then_selects_it() {
        let mut list = Paged::<i64>::default();
        list.request(1, false);
        list.receive(1, Ok::<_, ()>(rows(1000, PAGE)), 10);
        assert!(list.command(Command::Bottom, 10));
        assert!(list.seek_end && list.wants_more(10));
        list.request(2, true);
        list.receive(2, Ok::<_, ()>(rows(800, 2)), 10);
        assert_eq!(list.nav.selected, PAGE as usize + 1);
        assert_eq!(list.selected(), Some(&799));
        assert!(!list.seek_end);
        // A failed page ends the seek too.
        let mut list = Paged::<i64>::default();
        list.request(1, false);
        list.receive(1, Ok::<_, ()>(rows(1000, PAGE)), 10);
        list.command(Command::Bottom, 10);
        list.request(2, true);
        assert!(matches!(
            list.receive(2, Err::<Vec<i64>, _>("down"), 10),
            Some(Err("down"))
        ));
        assert!(!list.seek_end && list.loading.is_none());
    }

    #[test]
    fn a_reload_selects_the_same_row_again() {
        let mut list = Paged::<i64>::default();
        list.request(1, false);
        list.receive(1, Ok::<_, ()>(rows(50, 50)), 10);
        list.command(Command::Down, 10);
        list.command(Command::Down, 10);
        list.reselect = list.selected().copied();
        list.request(2, false);
        // Two new rows arrived on top meanwhile.
        list.receive(2, Ok::<_, ()>(rows(52, 52)), 10);
        assert_eq!(list.selected(), Some(&48));
        assert_eq!(list.position(), "5/52 ");
        let window: Vec<_> = list.window(3).collect();
        assert_eq!(window, vec![(&52, false), (&51, false), (&50, false)]);
    }
}
