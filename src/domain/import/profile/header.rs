//! Header matching: case- and whitespace-insensitive, with each profile's
//! aliases; tracks which columns a profile uses so the rest can be reported.

use super::{Field, MappingError};
use crate::db::queries::listing::FIELDS;

/// Trimmed, inner whitespace collapsed, lowercase: how `--key` matches.
pub(super) fn norm(h: &str) -> String {
    h.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// [`norm`], plus `_` read as a space and File Exchange's leading `*`
/// (required-field marker) dropped: how profile aliases match, so that
/// `listing_number`, `Listing Number` and `LISTING NUMBER` are one column.
pub(super) fn loose(h: &str) -> String {
    let n = norm(&h.replace('_', " "));
    n.strip_prefix('*')
        .map(str::trim_start)
        .unwrap_or(&n)
        .to_string()
}

/// At most this many header names are quoted in an error message.
const LISTED: usize = 30;

pub(super) struct Header {
    names: Vec<String>,
    loose: Vec<String>,
    used: Vec<bool>,
}

impl Header {
    pub fn new(headers: &[String]) -> Header {
        Header {
            names: headers.to_vec(),
            loose: headers.iter().map(|h| loose(h)).collect(),
            used: vec![false; headers.len()],
        }
    }

    /// The header as written in the file.
    pub fn name(&self, col: usize) -> &str {
        &self.names[col]
    }

    /// Does any column match one of these (loose) aliases?
    pub fn has_any(&self, aliases: &[&str]) -> bool {
        self.loose.iter().any(|h| aliases.contains(&h.as_str()))
    }

    /// Does any column's loose name satisfy `pred`?
    pub fn any(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.loose.iter().any(|h| pred(h))
    }

    /// The first column matching one of the aliases, used or not; does not
    /// mark it (for columns read only to classify rows).
    pub fn find(&self, aliases: &[&str]) -> Option<usize> {
        aliases
            .iter()
            .find_map(|a| self.loose.iter().position(|h| h == a))
    }

    /// The first not yet used column matching the first alias that matches
    /// any; marks it used.
    pub fn take(&mut self, aliases: &[&str]) -> Option<usize> {
        for alias in aliases {
            if let Some(i) =
                (0..self.loose.len()).find(|&i| !self.used[i] && self.loose[i] == *alias)
            {
                self.used[i] = true;
                return Some(i);
            }
        }
        None
    }

    /// Every not yet used column matching one of the aliases, in alias order
    /// (the first is preferred, the others are fallbacks); marks them used.
    pub fn take_all(&mut self, aliases: &[&str]) -> Vec<usize> {
        let mut cols = Vec::new();
        while let Some(i) = self.take(aliases) {
            cols.push(i);
        }
        cols.sort_by_key(|&i| aliases.iter().position(|a| *a == self.loose[i]));
        cols
    }

    /// The first column whose loose name satisfies `pred`; marks it used.
    pub fn take_where(&mut self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        let i = (0..self.loose.len()).find(|&i| !self.used[i] && pred(&self.loose[i]))?;
        self.used[i] = true;
        Some(i)
    }

    /// `--key COLUMN`: the header matching `requested` case- and
    /// whitespace-insensitively (then also with `_` as a space).
    pub fn key_column(&mut self, requested: &str) -> Result<usize, MappingError> {
        let wanted = norm(requested);
        let found = self
            .names
            .iter()
            .position(|h| norm(h) == wanted)
            .or_else(|| {
                let wanted = loose(requested);
                self.loose.iter().position(|h| *h == wanted)
            });
        match found {
            Some(i) if !wanted.is_empty() => {
                self.used[i] = true;
                Ok(i)
            }
            _ => Err(MappingError {
                message: format!(
                    "--key {requested:?}: the file has no such column; its columns are: {}",
                    self.listing()
                ),
            }),
        }
    }

    /// Headers no field uses, as written in the file.
    /// The first two columns with the same name as profiles match names
    /// (case, spaces, `_` and a leading `*` aside): which of them holds the
    /// value would be a guess. No profile gives repeated names a meaning.
    pub fn duplicate(&self) -> Option<(usize, usize)> {
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, name) in self.loose.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some(&earlier) = first.get(name.as_str()) {
                return Some((earlier, i));
            }
            first.insert(name, i);
        }
        None
    }

    /// Refuses a header that names one column twice, naming both.
    pub fn refuse_duplicates(&self) -> Result<(), MappingError> {
        match self.duplicate() {
            None => Ok(()),
            Some((a, b)) => Err(MappingError {
                message: format!(
                    "columns {} (\"{}\") and {} (\"{}\") have the same name, so which one holds \
                     the value is ambiguous: rename or remove one of them",
                    a + 1,
                    crate::text::short_quote(&self.names[a], 60),
                    b + 1,
                    crate::text::short_quote(&self.names[b], 60)
                ),
            }),
        }
    }

    pub fn unknown(&self) -> Vec<String> {
        (0..self.names.len())
            .filter(|&i| !self.used[i])
            .map(|i| self.names[i].clone())
            .collect()
    }

    /// The header for messages: quoted names, the first [`LISTED`] of them.
    pub fn listing(&self) -> String {
        let mut out = self
            .names
            .iter()
            .take(LISTED)
            .map(|h| format!("{h:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.names.len() > LISTED {
            out.push_str(&format!(" and {} more", self.names.len() - LISTED));
        }
        if self.names.is_empty() {
            out.push_str("(none)");
        }
        out
    }
}

/// Which columns feed each listing field; more than one column means
/// fallbacks, the first non-empty value wins.
#[derive(Default)]
pub(super) struct Cols([Vec<usize>; FIELDS.len()]);

impl Cols {
    /// Adds the columns matching `aliases` to `field`.
    pub fn take(&mut self, header: &mut Header, field: Field, aliases: &[&str]) {
        let cols = header.take_all(aliases);
        self.0[field as usize].extend(cols);
    }

    pub fn add(&mut self, field: Field, col: usize) {
        self.0[field as usize].push(col);
    }

    pub fn get(&self, field: Field) -> &[usize] {
        &self.0[field as usize]
    }

    pub fn one(&self, field: Field) -> Option<usize> {
        self.0[field as usize].first().copied()
    }

    /// (field, header) pairs, for `Mapping::columns`.
    pub fn describe(&self, header: &Header) -> Vec<(Field, String)> {
        Field::all()
            .flat_map(|f| {
                self.get(f)
                    .iter()
                    .map(move |&c| (f, header.name(c).to_string()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Header {
        Header::new(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn names_match_ignoring_case_and_whitespace() {
        assert_eq!(norm("  Custom   label (SKU) "), "custom label (sku)");
        assert_eq!(loose("listing_number"), "listing number");
        assert_eq!(loose("*StartPrice"), "startprice");
        assert_eq!(loose("LISTING\tNUMBER"), "listing number");
        let mut h = header(&["SKU", " Title ", "Price", "price"]);
        assert_eq!(h.take(&["title"]), Some(1));
        assert_eq!(h.take_all(&["price"]), vec![2, 3]);
        assert_eq!(h.take(&["title"]), None, "a column is used once");
        assert_eq!(h.unknown(), vec!["SKU".to_string()]);
    }

    #[test]
    fn a_repeated_column_name_is_refused_naming_both() {
        let h = header(&["sku", "price", "Title", " PRICE "]);
        assert_eq!(h.duplicate(), Some((1, 3)));
        let e = h.refuse_duplicates().unwrap_err().message;
        assert!(
            e.contains("columns 2 (\"price\") and 4 (\" PRICE \")"),
            "{e}"
        );
        assert_eq!(header(&["sku", "", ""]).duplicate(), None);
    }

    #[test]
    fn fallback_columns_follow_the_alias_order() {
        let mut h = header(&["Start price", "Current price"]);
        assert_eq!(h.take_all(&["current price", "start price"]), vec![1, 0]);
    }

    #[test]
    fn key_column_is_any_header() {
        let mut h = header(&["Item  Number", "Title"]);
        assert_eq!(h.key_column("item number").unwrap(), 0);
        assert_eq!(h.key_column(" TITLE").unwrap(), 1);
        let e = h.key_column("sku").unwrap_err().message;
        assert!(
            e.contains("\"sku\"") && e.contains("\"Item  Number\", \"Title\""),
            "{e}"
        );
    }

    #[test]
    fn long_headers_are_listed_briefly() {
        let names: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let h = Header::new(&names);
        assert!(h.listing().ends_with("and 70 more"));
    }

    /// A header of exactly as many names as are listed is quoted whole,
    /// with no "and 0 more"; one name more is counted.
    #[test]
    fn a_header_of_exactly_the_listed_length_is_quoted_whole() {
        let names: Vec<String> = (0..LISTED).map(|i| format!("c{i}")).collect();
        let listing = Header::new(&names).listing();
        assert!(listing.ends_with("\"c29\""), "{listing}");
        assert!(!listing.contains("more"), "{listing}");
        let names: Vec<String> = (0..=LISTED).map(|i| format!("c{i}")).collect();
        let listing = Header::new(&names).listing();
        assert!(listing.ends_with("\"c29\" and 1 more"), "{listing}");
    }

    /// An empty `--key` names no column, not a column whose header is empty.
    #[test]
    fn an_empty_key_option_matches_no_column_not_an_unnamed_one() {
        let mut h = header(&["sku", "", "Title"]);
        for requested in ["", "  "] {
            let e = h.key_column(requested).unwrap_err().message;
            assert!(e.contains("the file has no such column"), "{e}");
        }
        assert_eq!(h.unknown(), ["sku", "", "Title"], "no column taken");
    }
}
