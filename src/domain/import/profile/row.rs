//! One record on its way to a listing: reads cells, parses them with
//! `values`, and collects every problem with its column.

use chrono::{DateTime, Utc};

use super::header::{Cols, Header};
use super::values::{self, CurrencyHint};
use super::{Field, FieldError, ListingRow, RowOutcome};

/// Currencies that apply beyond one cell: the file's or the row's own
/// (eBay's Action header or listing site) and `--currency`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Currencies<'c> {
    pub file: Option<&'c str>,
    pub default: Option<&'c str>,
}

/// A profile's own status codes (numeric flags...), tried before the
/// common words of [`values::parse_status`].
pub(super) type StatusDialect = fn(&str) -> Option<&'static str>;

pub(super) fn no_dialect(_: &str) -> Option<&'static str> {
    None
}

pub(super) struct Row<'a> {
    fields: &'a [&'a str],
    header: &'a Header,
    pub errors: Vec<FieldError>,
}

impl<'a> Row<'a> {
    pub fn new(fields: &'a [&'a str], header: &'a Header) -> Row<'a> {
        Row {
            fields,
            header,
            errors: Vec::new(),
        }
    }

    /// The trimmed cell, `None` when absent or empty.
    pub fn get(&self, col: Option<usize>) -> Option<&'a str> {
        col.and_then(|c| self.fields.get(c))
            .and_then(|v| values::clean(v))
    }

    /// The first non-empty cell among `cols`, with its column.
    pub fn first(&self, cols: &[usize]) -> Option<(usize, &'a str)> {
        cols.iter().find_map(|&c| self.get(Some(c)).map(|v| (c, v)))
    }

    pub fn error(&mut self, col: usize, reason: impl Into<String>) {
        self.errors.push(FieldError {
            column: Some(col + 1),
            column_name: Some(self.header.name(col).to_string()),
            reason: reason.into(),
        });
    }

    /// A problem with the row as a whole (no single column to blame).
    pub fn row_error(&mut self, reason: impl Into<String>) {
        self.errors.push(FieldError {
            column: None,
            column_name: None,
            reason: reason.into(),
        });
    }

    pub fn text(&mut self, cols: &[usize], limit: usize) -> Option<String> {
        let (col, v) = self.first(cols)?;
        match values::check_text(v, limit) {
            Ok(()) => Some(v.to_string()),
            Err(e) => {
                self.error(col, e);
                None
            }
        }
    }

    pub fn quantity(&mut self, cols: &[usize]) -> Option<i32> {
        let (col, v) = self.first(cols)?;
        values::parse_quantity(v)
            .map_err(|e| self.error(col, e))
            .ok()
    }

    pub fn date(&mut self, cols: &[usize]) -> Option<DateTime<Utc>> {
        let (col, v) = self.first(cols)?;
        values::parse_date(v).map_err(|e| self.error(col, e)).ok()
    }

    pub fn status(&mut self, cols: &[usize], dialect: StatusDialect) -> Option<String> {
        let (col, v) = self.first(cols)?;
        if let Some(s) = dialect(v) {
            return Some(s.to_string());
        }
        match values::parse_status(v) {
            Ok(s) => Some(s.to_string()),
            Err(e) => {
                self.error(col, e);
                None
            }
        }
    }

    /// Price and currency together: the currency may come from the price
    /// cell, and the two must agree.
    pub fn price_and_currency(
        &mut self,
        price_cols: &[usize],
        currency_cols: &[usize],
        currencies: Currencies<'_>,
    ) -> (Option<String>, Option<String>) {
        let mut column_currency = None;
        let mut currency_ok = true;
        if let Some((col, v)) = self.first(currency_cols) {
            match values::parse_currency(v) {
                Ok(c) => column_currency = Some(c),
                Err(e) => {
                    self.error(col, e);
                    currency_ok = false;
                }
            }
        }
        let mut amount = None;
        let mut hint: Option<CurrencyHint> = None;
        let mut price_col = None;
        if let Some((col, v)) = self.first(price_cols) {
            price_col = Some(col);
            match values::parse_price(v) {
                Ok(p) => {
                    amount = Some(p.amount);
                    hint = p.currency;
                }
                Err(e) => self.error(col, e),
            }
        }
        if !currency_ok {
            return (amount, None);
        }
        match values::resolve_currency(
            column_currency.as_deref(),
            hint.as_ref(),
            currencies.file,
            currencies.default,
        ) {
            Ok(c) => (amount, c),
            Err(e) => {
                match price_col {
                    Some(col) => self.error(col, e),
                    None => self.row_error(e),
                }
                (amount, None)
            }
        }
    }

    /// Fills every field but the key from the profile's columns.
    pub fn fill(
        &mut self,
        out: &mut ListingRow,
        cols: &Cols,
        currencies: Currencies<'_>,
        dialect: StatusDialect,
    ) {
        out.title = self.text(cols.get(Field::Title), values::MAX_TITLE);
        out.description = self.text(cols.get(Field::Description), values::MAX_DESCRIPTION);
        let (price, currency) = self.price_and_currency(
            cols.get(Field::Price),
            cols.get(Field::Currency),
            currencies,
        );
        out.price = price;
        out.currency = currency;
        out.quantity = self.quantity(cols.get(Field::Quantity));
        out.status = self.status(cols.get(Field::Status), dialect);
        out.condition = self.text(cols.get(Field::Condition), values::MAX_CONDITION);
        out.category = self.text(cols.get(Field::Category), values::MAX_CATEGORY);
        out.listing_number = self.text(cols.get(Field::ListingNumber), values::MAX_LISTING_NUMBER);
        out.end_date = self.date(cols.get(Field::EndDate));
    }

    /// The key from `col`, checked; `None` (and no error) when the cell is
    /// empty, so a profile can fall back to another column.
    pub fn key_from(&mut self, col: Option<usize>) -> Option<String> {
        let col = col?;
        let v = self.get(Some(col))?;
        match values::check_key(v) {
            Ok(()) => Some(v.to_string()),
            Err(e) => {
                self.error(col, e);
                // A bad key is still a key: do not fall back to another column.
                Some(String::new())
            }
        }
    }

    /// The key from the first of `cols` with a value; when all are empty,
    /// the row is rejected with `empty` ("the "SKU" column is empty") and ""
    /// is returned.
    pub fn key(&mut self, cols: &[Option<usize>], empty: &str) -> String {
        for &c in cols {
            if let Some(k) = self.key_from(c) {
                return k;
            }
        }
        self.missing_key(cols.iter().flatten().next().copied(), empty);
        String::new()
    }

    /// A row without a key: named, never given an invented one.
    pub fn missing_key(&mut self, col: Option<usize>, empty: &str) {
        let reason = format!(
            "no key: {empty}. importdesk never invents a key: fill it in, \
             or choose the key column with --key COLUMN"
        );
        match col {
            Some(c) => self.error(c, reason),
            None => self.row_error(reason),
        }
    }

    /// The outcome: the listing, or every problem found.
    pub fn finish(self, row: ListingRow) -> RowOutcome {
        if self.errors.is_empty() {
            RowOutcome::Listing(row)
        } else {
            RowOutcome::Rejected(self.errors)
        }
    }
}
