//! What every profile shares: the header, the field columns, `--key`,
//! `--currency`, and the interface `Mapping` calls.

use super::header::{Cols, Header};
use super::row::Currencies;
use super::{Field, MapOptions, MappingError, RowOutcome};

pub(super) trait Profile: Send {
    /// Maps one record (see `Mapping::map_record`).
    fn map(&mut self, fields: &[&str], line: u64) -> RowOutcome;
    /// The key rule in words, with the file's own header names.
    fn key_description(&self) -> String;
    fn base(&self) -> &Base;
}

pub(super) struct Base {
    pub header: Header,
    pub cols: Cols,
    /// `--key COLUMN`, when given.
    pub key_override: Option<usize>,
    /// `--currency`, validated.
    pub default_currency: Option<String>,
    /// A currency the whole file states (eBay's Action header).
    pub file_currency: Option<String>,
}

impl Base {
    pub fn new(header: Header, default_currency: Option<String>) -> Base {
        Base {
            header,
            cols: Cols::default(),
            key_override: None,
            default_currency,
            file_currency: None,
        }
    }

    /// Maps `field` to the columns matching `aliases` (first = preferred).
    pub fn take(&mut self, field: Field, aliases: &[&str]) {
        self.cols.take(&mut self.header, field, aliases);
    }

    /// Resolves `--key`. Called after the profile took its columns, so the
    /// key column can also feed a field (`--key Title` keeps the title).
    pub fn resolve_key(&mut self, options: &MapOptions) -> Result<(), MappingError> {
        if let Some(k) = options.key_column.as_deref() {
            self.key_override = Some(self.header.key_column(k)?);
        }
        Ok(())
    }

    pub fn currencies(&self) -> Currencies<'_> {
        Currencies {
            file: self.file_currency.as_deref(),
            default: self.default_currency.as_deref(),
        }
    }

    /// "the "SKU" column" for messages.
    pub fn column_words(&self, col: usize) -> String {
        format!("the {:?} column", self.header.name(col))
    }

    /// "the "SKU" column is empty".
    pub fn empty_words(&self, col: usize) -> String {
        format!("{} is empty", self.column_words(col))
    }

    /// The key description when `--key` is given.
    pub fn override_description(&self) -> Option<String> {
        self.key_override
            .map(|c| format!("{} (chosen with --key)", self.column_words(c)))
    }

    /// The error for a profile whose key columns are missing.
    pub fn no_key_column(&self, profile: &str, wanted: &str) -> MappingError {
        MappingError {
            message: format!(
                "the {profile} profile takes its key from {wanted}, and this file has no such \
                 column; choose the key column with --key COLUMN (any header). The file's \
                 columns are: {}",
                self.header.listing()
            ),
        }
    }

    pub fn columns(&self) -> Vec<(Field, String)> {
        let mut out = self.cols.describe(&self.header);
        if let Some(c) = self.key_override {
            out.retain(|(f, _)| *f != Field::Sku);
            out.insert(0, (Field::Sku, self.header.name(c).to_string()));
        }
        out
    }
}
