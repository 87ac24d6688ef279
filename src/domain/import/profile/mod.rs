//! Column profiles: how a file's header maps to listing fields, and how one
//! CSV record becomes one listing (SPEC §3).
//!
//! CONTRACT used by the import pipeline (`super::pipeline`):
//! - `Mapping::from_headers` is called once with the header row;
//! - `Mapping::map_record` is called for every following record, in file
//!   order, with the record's first physical line number (1-based, the header
//!   is line 1). It may keep state across records (Shopify products span rows)
//!   but memory must not grow with the file.
//! - Values are parsed and validated here (price, quantity, status, currency,
//!   dates, lengths); duplicate keys are detected later, in the database.

mod interim_native;

use serde::Serialize;

/// A listing field of the native layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Sku,
    Title,
    Description,
    Price,
    Currency,
    Quantity,
    Status,
    Condition,
    Category,
    ListingNumber,
    EndDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    Native,
    Ebay,
    Etsy,
    Shopify,
    Woocommerce,
    Magento,
}

impl ProfileKind {
    pub fn name(self) -> &'static str {
        match self {
            ProfileKind::Native => "native",
            ProfileKind::Ebay => "ebay",
            ProfileKind::Etsy => "etsy",
            ProfileKind::Shopify => "shopify",
            ProfileKind::Woocommerce => "woocommerce",
            ProfileKind::Magento => "magento",
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
    // private state added by the implementation
    interim: interim_native::Native,
}

impl Mapping {
    /// Chooses the profile (`requested == None` means auto-detect) and maps
    /// the header row.
    pub fn from_headers(
        headers: &[String],
        requested: Option<ProfileKind>,
        options: &MapOptions,
    ) -> Result<Mapping, MappingError> {
        let _ = requested;
        let (interim, unknown_columns) = interim_native::from_headers(headers, options)?;
        Ok(Mapping {
            kind: ProfileKind::Native,
            detected: true,
            unknown_columns,
            interim,
        })
    }

    /// Maps one record (its fields as read, already valid UTF-8).
    pub fn map_record(&mut self, fields: &[&str], line: u64) -> RowOutcome {
        let _ = line;
        self.interim.map(fields)
    }

    /// A short description of the key this mapping uses, for messages
    /// ("custom label (SKU), else item number").
    pub fn key_description(&self) -> String {
        format!("the {} column", self.interim.key_name())
    }
}
