//! Column profiles: how a file's header maps to listing fields, and how one
//! CSV record becomes one listing (docs/csv-format.md).
//!
//! CONTRACT used by the import pipeline (`super::pipeline`):
//! - `Mapping::from_headers` is called once with the header row;
//! - `Mapping::map_record` is called for every following record, in file
//!   order, with the record's first physical line number (1-based, the header
//!   is line 1). It may keep state across records (Shopify products span rows)
//!   but memory must not grow with the file.
//! - Values are parsed and validated here (price, quantity, status, currency,
//!   dates, lengths); duplicate keys are detected later, in the database.

mod base;
mod detect;
mod ebay;
mod etsy;
mod header;
mod magento;
mod native;
mod row;
mod shopify;
pub mod values;
mod woocommerce;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod test_support;

use clap::ValueEnum;
use serde::Serialize;

pub use crate::db::queries::listing::Field;

/// The registry of profiles: every kind, in the order `auto` documents
/// them. Its names are `--profile`'s values (clap), the console's choices
/// and the history's `profile` column; what each profile is lives in its
/// module's [`base::ProfileSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// importdesk's own columns
    Native,
    /// eBay Seller Hub reports and File Exchange files
    Ebay,
    /// Etsy listing exports
    Etsy,
    /// Shopify product exports
    Shopify,
    /// WooCommerce product exports
    Woocommerce,
    /// Magento 2 catalog product exports
    Magento,
}

impl ProfileKind {
    /// Every kind (clap's list of values).
    pub fn all() -> &'static [ProfileKind] {
        ProfileKind::value_variants()
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The header of `headers` (as the file writes it) that can key a file
    /// whose own key values are missing, if the profile names one.
    pub fn key_fallback(self, headers: &[String]) -> Option<String> {
        let header = header::Header::new(headers);
        let col = header.find(self.spec().key_fallback)?;
        Some(header.name(col).to_string())
    }

    fn spec(self) -> &'static base::ProfileSpec {
        match self {
            ProfileKind::Native => &native::PROFILE,
            ProfileKind::Ebay => &ebay::PROFILE,
            ProfileKind::Etsy => &etsy::PROFILE,
            ProfileKind::Shopify => &shopify::PROFILE,
            ProfileKind::Woocommerce => &woocommerce::PROFILE,
            ProfileKind::Magento => &magento::PROFILE,
        }
    }
}

/// Options that change how records map (from the command line).
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `--key COLUMN`: this header (matched case- and whitespace-insensitively)
    /// is the listing key instead of the profile's own key.
    pub key_column: Option<String>,
    /// `--currency CODE`: currency for rows without a currency column/value.
    pub default_currency: Option<String>,
}

/// One listing ready for the database. Strings are already trimmed where the
/// profile says so; `price` is an exact decimal in plain notation ("19.99").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListingRow {
    pub sku: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i32>,
    /// One of active, inactive, ended, draft.
    pub status: Option<String>,
    pub condition: Option<String>,
    pub category: Option<String>,
    pub listing_number: Option<String>,
    pub end_date: Option<chrono::DateTime<chrono::Utc>>,
}

impl ListingRow {
    /// The value of `field` as COPY text reads it (`None`: NULL).
    pub fn value(&self, field: Field) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow::{Borrowed, Owned};
        match field {
            Field::Sku => Some(Borrowed(&self.sku)),
            Field::Title => self.title.as_deref().map(Borrowed),
            Field::Description => self.description.as_deref().map(Borrowed),
            Field::Price => self.price.as_deref().map(Borrowed),
            Field::Currency => self.currency.as_deref().map(Borrowed),
            Field::Quantity => self.quantity.map(|q| Owned(q.to_string())),
            Field::Status => self.status.as_deref().map(Borrowed),
            Field::Condition => self.condition.as_deref().map(Borrowed),
            Field::Category => self.category.as_deref().map(Borrowed),
            Field::ListingNumber => self.listing_number.as_deref().map(Borrowed),
            Field::EndDate => self.end_date.map(|d| Owned(d.to_rfc3339())),
        }
    }
}

/// Why one value (or the whole row) was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// 1-based column number in the file, when one column is to blame.
    pub column: Option<usize>,
    /// That column's header as written in the file.
    pub column_name: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
// One value per record, moved straight into the COPY buffer: boxing the
// listing would cost an allocation per row for no gain.
#[allow(clippy::large_enum_variant)]
pub enum RowOutcome {
    Listing(ListingRow),
    /// A row that is not a listing by the profile's rules (a Shopify
    /// image-only row, a WooCommerce variable-product parent). Counted apart.
    Ignored {
        reason: String,
    },
    Rejected(Vec<FieldError>),
}

/// The header could not be mapped at all (no key column, unknown layout...).
#[derive(Debug, Clone, PartialEq)]
pub struct MappingError {
    pub message: String,
}

pub struct Mapping {
    pub kind: ProfileKind,
    /// True when `auto` chose the profile from the header.
    pub detected: bool,
    /// Headers no field of the profile uses, as written in the file.
    pub unknown_columns: Vec<String>,
    profile: Box<dyn base::Profile>,
    columns: Vec<(Field, String)>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("kind", &self.kind)
            .field("detected", &self.detected)
            .field("unknown_columns", &self.unknown_columns)
            .field("columns", &self.columns)
            .finish()
    }
}

impl Mapping {
    /// Chooses the profile (`requested == None` means auto-detect) and maps
    /// the header row.
    pub fn from_headers(
        headers: &[String],
        requested: Option<ProfileKind>,
        options: &MapOptions,
    ) -> Result<Mapping, MappingError> {
        let header = header::Header::new(headers);
        header.refuse_duplicates()?;
        let (kind, detected) = match requested {
            Some(k) => (k, false),
            None => (detect::detect(&header, options)?, true),
        };
        let default_currency = match options.default_currency.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(values::parse_currency(c).map_err(|e| MappingError {
                message: format!("--currency: {e}"),
            })?),
        };
        let base = base::Base::new(header, default_currency);
        let profile = (kind.spec().build)(base, options)?;
        let b = profile.base();
        Ok(Mapping {
            kind,
            detected,
            unknown_columns: b.header.unknown(),
            columns: b.columns(),
            profile,
        })
    }

    /// The profile `auto` picks for this header, as [`Mapping::from_headers`]
    /// picks it.
    pub fn detect(headers: &[String]) -> Result<ProfileKind, MappingError> {
        detect::detect(&header::Header::new(headers), &MapOptions::default())
    }

    /// The column the key is read from (`None`: there is none).
    pub fn key_column(&self) -> Option<usize> {
        self.profile.key_col()
    }

    /// Maps one record (its fields as read, already valid UTF-8).
    pub fn map_record(&mut self, fields: &[&str], line: u64) -> RowOutcome {
        self.profile.map(fields, line)
    }

    /// A short description of the key this mapping uses, for messages
    /// ("custom label (SKU), else item number").
    pub fn key_description(&self) -> String {
        self.profile.key_description()
    }

    /// Which header feeds which listing field (a field may have fallback
    /// columns, listed in order of preference).
    pub fn columns(&self) -> &[(Field, String)] {
        &self.columns
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::ProfileKind;

    #[test]
    fn every_kind_has_its_spec_under_its_clap_name() {
        for kind in ProfileKind::value_variants() {
            let value = kind.to_possible_value().expect("a value");
            assert_eq!(value.get_name(), kind.name());
        }
    }
}
