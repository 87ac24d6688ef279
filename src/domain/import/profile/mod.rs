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

impl Field {
    /// The native column name of this field.
    pub fn name(self) -> &'static str {
        match self {
            Field::Sku => "sku",
            Field::Title => "title",
            Field::Description => "description",
            Field::Price => "price",
            Field::Currency => "currency",
            Field::Quantity => "quantity",
            Field::Status => "status",
            Field::Condition => "condition",
            Field::Category => "category",
            Field::ListingNumber => "listing_number",
            Field::EndDate => "end_date",
        }
    }
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

    /// Every profile, in the order `auto` documents them.
    pub const ALL: [ProfileKind; 6] = [
        ProfileKind::Native,
        ProfileKind::Ebay,
        ProfileKind::Etsy,
        ProfileKind::Shopify,
        ProfileKind::Woocommerce,
        ProfileKind::Magento,
    ];

    /// The profile called `name` (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<ProfileKind> {
        let name = name.trim().to_ascii_lowercase();
        ProfileKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The profile names accepted by `--profile`, plus `auto`.
pub fn profile_names() -> &'static [&'static str] {
    &[
        "auto",
        "native",
        "ebay",
        "etsy",
        "shopify",
        "woocommerce",
        "magento",
    ]
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
        let profile: Box<dyn base::Profile> = match kind {
            ProfileKind::Native => Box::new(native::Native::new(base, options)?),
            ProfileKind::Ebay => Box::new(ebay::Ebay::new(base, options)?),
            ProfileKind::Etsy => Box::new(etsy::Etsy::new(base, options)?),
            ProfileKind::Shopify => Box::new(shopify::Shopify::new(base, options)?),
            ProfileKind::Woocommerce => Box::new(woocommerce::Woocommerce::new(base, options)?),
            ProfileKind::Magento => Box::new(magento::Magento::new(base, options)?),
        };
        let b = profile.base();
        Ok(Mapping {
            kind,
            detected,
            unknown_columns: b.header.unknown(),
            columns: b.columns(),
            profile,
        })
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
