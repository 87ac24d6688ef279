//! What every profile shares: its entry in the registry ([`ProfileSpec`]),
//! the interface `Mapping` calls ([`Profile`], with the key rule most
//! profiles use as default methods), and [`Base`]: the header, the field
//! columns, `--key` and `--currency`.

use super::header::{Cols, Header};
use super::row::{Currencies, Row, StatusDialect};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

/// One profile of the registry (`ProfileKind::spec`).
pub(super) struct ProfileSpec {
    /// The name `--profile` takes and the history stores.
    pub name: &'static str,
    /// Headers (loose form) that only this layout uses: `auto` picks the
    /// profile with the most of them. Empty for native, the fallback.
    pub signature: &'static [&'static str],
    /// The columns the profile expects, for the "cannot tell" message.
    pub expected: &'static str,
    /// Headers (loose form) that can key a file whose own key column is
    /// missing or empty (an Etsy export without SKUs: its titles): what
    /// the console suggests for `--key`. Empty: nothing to suggest.
    pub key_fallback: &'static [&'static str],
    /// Maps the header (the profile takes its columns from `Base`).
    pub build: BuildProfile,
}

/// A profile's constructor.
pub(super) type BuildProfile = fn(Base, &MapOptions) -> Result<Box<dyn Profile>, MappingError>;

pub(super) trait Profile: Send {
    /// Maps one record (see `Mapping::map_record`).
    fn map(&mut self, fields: &[&str], line: u64) -> RowOutcome;

    fn base(&self) -> &Base;

    /// The key column: `--key`, else the profile's SKU column.
    fn key_col(&self) -> Option<usize> {
        let b = self.base();
        b.key_override.or(b.cols.one(Field::Sku))
    }

    /// The key rule in words, with the file's own header names.
    fn key_description(&self) -> String {
        let b = self.base();
        b.override_description().unwrap_or_else(|| {
            self.key_col()
                .map(|c| b.column_words(c))
                .unwrap_or_default()
        })
    }

    /// The row's key from [`Profile::key_col`]; an empty one rejects the row.
    fn key_of(&self, row: &mut Row<'_>) -> String {
        let col = self.key_col();
        let empty = col.map(|c| self.base().empty_words(c)).unwrap_or_default();
        row.key(&[col], &empty)
    }

    /// Fills every field but the key from the profile's columns; the
    /// listing, or every problem found.
    fn fill_and_finish(
        &self,
        mut row: Row<'_>,
        mut out: ListingRow,
        dialect: StatusDialect,
    ) -> RowOutcome {
        let b = self.base();
        row.fill(&mut out, &b.cols, b.currencies(), dialect);
        row.finish(out)
    }
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

    /// [`Base::take`] for each (field, aliases) of a profile's table.
    pub fn take_all(&mut self, table: &[(Field, &[&str])]) {
        for (field, aliases) in table {
            self.take(*field, aliases);
        }
    }

    /// Resolves `--key`, then requires a key: the `--key` column or the
    /// profile's SKU column (`wanted` says which, for the error).
    pub fn require_sku_key(
        &mut self,
        options: &MapOptions,
        profile: &str,
        wanted: &str,
    ) -> Result<(), MappingError> {
        self.resolve_key(options)?;
        if self.key_override.is_none() && self.cols.one(Field::Sku).is_none() {
            return Err(self.no_key_column(profile, wanted));
        }
        Ok(())
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
