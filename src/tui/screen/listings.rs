//! One seller's listings (`l` from the history): a table paged by keyset
//! (by SKU, or by last change with `s`), filtered with `/` by seller
//! (support), status and a SKU or title substring. Enter opens the
//! selected listing's timeline.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::listings::{BrowseFilter, BrowseOrder, Cursor, ListingSummary};
use crate::tui::action::{Effect, ReqId};
use crate::tui::keys::{Command, Ctx};
use crate::tui::nav::ListNav;
use crate::tui::paged::{self, Keyed, PAGE, Paged, PagedList};
use crate::tui::state::{Notice, State};
use crate::tui::widgets;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::text::{self, fit, pad};

use super::history::filter::draw_filter_line;
use super::{Screen, ScreenModule, timeline};

#[derive(Debug, Clone, Default)]
pub struct ListingsView {
    /// Whose listings; `None` until support chooses one (`/ seller:ID`).
    pub seller: Option<String>,
    pub filter: ListingsFilter,
    /// Sorted by last change, newest first (else by SKU).
    pub by_change: bool,
    pub list: Paged<ListingSummary>,
    /// The `/` filter being typed.
    pub filter_input: Option<TextInput>,
}

/// What the `/` line narrows the listings to (besides the seller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingsFilter {
    pub status: Option<String>,
    /// A substring of the SKU or the title.
    pub search: Option<String>,
}

/// The `/` line: `seller:ID status:STATUS words`.
fn parse(text: &str) -> (Option<String>, ListingsFilter) {
    let mut seller = None;
    let mut f = ListingsFilter::default();
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        let value = |prefix: &str| {
            lower
                .strip_prefix(prefix)
                .map(|v| word[word.len() - v.len()..].to_string())
        };
        if let Some(v) = value("seller:") {
            seller = (!v.is_empty()).then_some(v);
        } else if let Some(v) = value("status:") {
            f.status = (!v.is_empty()).then(|| v.to_ascii_lowercase());
        } else {
            words.push(word);
        }
    }
    f.search = (!words.is_empty()).then(|| words.join(" "));
    (seller, f)
}

impl ListingsView {
    /// The filter line as typed.
    fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.seller {
            parts.push(format!("seller:{s}"));
        }
        if let Some(s) = &self.filter.status {
            parts.push(format!("status:{s}"));
        }
        parts.extend(self.filter.search.clone());
        parts.join(" ")
    }

    /// Another seller: nothing of the last one stays on screen, even if
    /// its listings cannot be loaded.
    fn show_seller(&mut self, seller: Option<String>) {
        self.seller = seller;
        self.list = Paged::default();
    }

    fn order(&self) -> BrowseOrder {
        if self.by_change {
            BrowseOrder::LastChange
        } else {
            BrowseOrder::Sku
        }
    }
}

impl Keyed for ListingSummary {
    /// The keyset of both orders: the last change, then the SKU.
    type Key = (DateTime<Utc>, String);

    fn key(&self) -> Self::Key {
        (self.updated_at, self.sku.clone())
    }
}

/// The listings screen.
pub struct Listings;

impl ScreenModule for Listings {
    fn title(&self) -> &'static str {
        "Listings"
    }

    fn context(&self, state: &State) -> Ctx {
        if state.listings.filter_input.is_some() {
            Ctx::ListingsFilter
        } else {
            Ctx::Listings
        }
    }

    fn command(&self, state: &mut State, _: Ctx, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
        if state.listings.filter_input.is_some() {
            return filter_command(state, cmd, ev);
        }
        if let Some(effects) = paged::command::<Pages>(state, cmd) {
            return effects;
        }
        let l = &mut state.listings;
        match cmd {
            Command::Open => match (&l.seller, l.list.selected()) {
                (Some(seller), Some(row)) => {
                    let (seller, sku) = (seller.clone(), row.sku.clone());
                    timeline::open(state, seller, sku, Screen::Listings)
                }
                _ => Vec::new(),
            },
            Command::Filter => {
                l.filter_input = Some(TextInput::new(l.to_text()));
                Vec::new()
            }
            Command::Sort => {
                l.by_change = !l.by_change;
                reload(state, false)
            }
            Command::Back => {
                state.screen = Screen::History;
                Vec::new()
            }
            Command::Refresh => reload(state, true),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, state: &State) {
        let t = &state.theme;
        let l = &state.listings;
        let w = area.width as usize;
        let c = Columns::new(w);
        let mut lines = Vec::with_capacity(area.height as usize);
        let header = format!(
            "{} {} {:>pw$} {} {:>5} {} {}",
            pad("sku", c.sku),
            pad("title", c.title),
            "price",
            "cur",
            "qty",
            pad("status", c.status),
            "last change",
            pw = c.price,
        );
        lines.push(Line::styled(text::cut(&header, w), t.header()));
        let empty = match (&l.seller, l.list.loaded) {
            (None, _) => Some("Choose a seller: press / and type seller:ID.".to_string()),
            (Some(_), _) if !l.list.rows.is_empty() => None,
            (Some(_), false) => Some("Loading the listings…".to_string()),
            (Some(s), true) if l.filter == ListingsFilter::default() => {
                Some(format!("Seller {} has no listings.", fit(s, 30)))
            }
            (Some(_), true) => Some(format!(
                "No listings match {}. Press / to change the filter.",
                fit(&l.to_text(), 40)
            )),
        };
        if let Some(msg) = empty {
            lines.push(Line::default());
            lines.push(Line::styled(format!("  {msg}"), t.dim()));
        }
        for (row, selected) in l.list.window(Pages::height(state)) {
            let line = Line::from(vec![
                Span::raw(format!("{} ", pad(&fit(&row.sku, c.sku), c.sku))),
                Span::raw(format!(
                    "{} ",
                    pad(&fit(row.title.as_deref().unwrap_or(""), c.title), c.title)
                )),
                Span::raw(format!(
                    "{:>pw$} {} {:>5} ",
                    fit(row.price.as_deref().unwrap_or("-"), c.price),
                    pad(&fit(row.currency.as_deref().unwrap_or(""), 3), 3),
                    row.quantity.map(|q| q.to_string()).unwrap_or("-".into()),
                    pw = c.price,
                )),
                Span::raw(format!("{} ", pad(&fit(&row.status, c.status), c.status))),
                Span::raw(pad(&state.clock.when(&row.updated_at, c.when), c.when)),
            ]);
            lines.push(t.row(line, selected));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// Whose listings, the order and the filter, and the position.
    fn status(&self, state: &State, w: usize) -> Line<'static> {
        let l = &state.listings;
        let pos = l.list.position();
        let room = w.saturating_sub(text::width(&pos) + 2);
        let Some(seller) = &l.seller else {
            return Line::default();
        };
        let mut msg = format!(
            "seller {} · by {}",
            crate::text::sanitize(seller),
            if l.by_change { "last change" } else { "SKU" }
        );
        if l.filter != ListingsFilter::default() {
            msg.push_str(&format!(
                " · filter {}",
                crate::text::sanitize(&l.to_text())
            ));
        }
        widgets::spread(
            Span::raw(format!(" {}", text::cut(&msg, room))),
            pos,
            w,
            &state.theme,
        )
    }

    fn text_input<'a>(&self, state: &'a mut State) -> Option<&'a mut TextInput> {
        state.listings.filter_input.as_mut()
    }

    fn draw_input_line(&self, frame: &mut Frame, area: Rect, state: &State) -> bool {
        let Some(input) = &state.listings.filter_input else {
            return false;
        };
        draw_filter_line(
            frame,
            area,
            input,
            "  (seller:ID status:STATUS sku-or-title)",
            state.theme.dim(),
            &state.theme,
        );
        true
    }

    fn reload(&self, state: &mut State) -> Vec<Effect> {
        reload(state, true)
    }

    fn relayout(&self, state: &mut State) {
        paged::relayout::<Pages>(state);
    }
}

/// Column widths for a terminal `w` columns wide.
struct Columns {
    sku: usize,
    title: usize,
    price: usize,
    status: usize,
    when: usize,
}

impl Columns {
    fn new(w: usize) -> Self {
        let wide = w >= 110;
        let sku = if w >= 100 { 20 } else { 14 };
        let price = 10;
        let status = 8;
        let when = if wide { 16 } else { 11 };
        // Separators, the currency (3) and the quantity (5).
        let fixed = sku + price + 3 + 5 + status + when + 6;
        Self {
            sku,
            title: w.saturating_sub(fixed).max(5),
            price,
            status,
            when,
        }
    }
}

// ---------------------------------------------------------------- update

/// Opens the listings of `seller` (`None`: support has to choose one).
pub fn open(state: &mut State, seller: Option<String>) -> Vec<Effect> {
    state.screen = Screen::Listings;
    let l = &mut state.listings;
    if l.seller != seller {
        l.filter = ListingsFilter::default();
        l.show_seller(seller);
    }
    reload(state, false)
}

/// `l` from the history: a seller role's own listings; for support, those
/// of the selected import's seller (or of the history's seller filter).
pub fn open_from_history(state: &mut State) -> Vec<Effect> {
    let own = state
        .identity
        .as_ref()
        .and_then(|i| i.own_seller())
        .map(str::to_string);
    let seller = own
        .or_else(|| state.history.filter.seller.clone())
        .or_else(|| state.selected_row().map(|r| r.seller.clone()));
    open(state, seller)
}

/// Loads the first page again (`keep`: select the same listing after).
pub fn reload(state: &mut State, keep: bool) -> Vec<Effect> {
    let l = &mut state.listings;
    l.list.reselect = if keep {
        l.list.selected().map(Keyed::key)
    } else {
        l.list.nav = ListNav::default();
        None
    };
    if l.seller.is_none() {
        l.list = Paged::default();
        return Vec::new();
    }
    paged::load::<Pages>(state, false)
}

pub struct Pages;

impl PagedList for Pages {
    type Row = ListingSummary;

    fn list(state: &mut State) -> &mut Paged<ListingSummary> {
        &mut state.listings.list
    }

    fn request(state: &State, req: ReqId, after: Option<(DateTime<Utc>, String)>) -> Effect {
        let l = &state.listings;
        let order = l.order();
        Effect::LoadListings {
            req,
            filter: BrowseFilter {
                seller: l.seller.clone().unwrap_or_default(),
                search: l.filter.search.clone(),
                status: l.filter.status.clone(),
                order,
                after: after.map(|(updated_at, sku)| Cursor {
                    updated_at: (order == BrowseOrder::LastChange).then_some(updated_at),
                    sku,
                }),
                limit: PAGE,
            },
        }
    }
}

/// A key while the filter is being typed (printable keys are text).
fn filter_command(state: &mut State, cmd: Command, ev: &KeyEvent) -> Vec<Effect> {
    let l = &mut state.listings;
    let Some(input) = l.filter_input.as_mut() else {
        return Vec::new();
    };
    match cmd {
        Command::Apply => {
            let (seller, filter) = parse(&input.text);
            l.filter_input = None;
            let Some(seller) = seller.or_else(|| l.seller.clone()) else {
                state.notice = Some(Notice::error("choose a seller: seller:ID"));
                return Vec::new();
            };
            if l.seller.as_ref() != Some(&seller) {
                l.show_seller(Some(seller));
            }
            l.filter = filter;
            return reload(state, false);
        }
        Command::Back => l.filter_input = None,
        Command::Edit | Command::ClearInput => {
            input.edit(cmd, ev.code);
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_line_reads_seller_status_and_words() {
        let (seller, f) = parse("Seller:AcMe STATUS:Active brass lamp");
        assert_eq!(seller.as_deref(), Some("AcMe"));
        assert_eq!(f.status.as_deref(), Some("active"));
        assert_eq!(f.search.as_deref(), Some("brass lamp"));
        assert_eq!(parse(""), (None, ListingsFilter::default()));
    }
}
