//! Etsy: the shop's listing export (TITLE, DESCRIPTION, PRICE,
//! CURRENCY_CODE, QUANTITY, TAGS, MATERIALS, IMAGE1..., VARIATION 1 TYPE...,
//! SKU). Key: SKU.
//!
//! Etsy writes every variation's SKU of a listing into one cell, comma
//! separated; such a row cannot be one listing per key (which price and
//! quantity belong to which SKU?) and is rejected with that reason.

use super::base::{Base, Profile, ProfileSpec};
use super::row::{Row, no_dialect};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "etsy",
    signature: &[
        "currency code",
        "materials",
        "image1",
        "variation 1 type",
        "variation 1 name",
        "variation 1 values",
        "who made",
        "when made",
        "is supply",
        "tags",
    ],
    expected: "TITLE, DESCRIPTION, PRICE, CURRENCY_CODE, QUANTITY, TAGS, MATERIALS, SKU",
    key_fallback: &["title"],
    build: |base, options| Ok(Box::new(Etsy::new(base, options)?)),
};

const COLUMNS: [(Field, &[&str]); 9] = [
    (Field::Sku, &["sku"]),
    (Field::Title, &["title"]),
    (Field::Description, &["description"]),
    (Field::Price, &["price"]),
    (Field::Currency, &["currency code", "currency"]),
    (Field::Quantity, &["quantity"]),
    (Field::Status, &["state", "status"]),
    (Field::ListingNumber, &["listing id", "listing number"]),
    (Field::Category, &["category", "section"]),
];

pub(super) struct Etsy {
    base: Base,
}

impl Etsy {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Etsy, MappingError> {
        base.take_all(&COLUMNS);
        base.require_sku_key(options, "etsy", "the \"SKU\" column")?;
        Ok(Etsy { base })
    }
}

impl Profile for Etsy {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let out = ListingRow {
            sku: self.key_of(&mut row),
            ..Default::default()
        };
        if b.key_override.is_none() && out.sku.contains(',') {
            let col = self.key_col().expect("a SKU column");
            row.error(
                col,
                format!(
                    "the SKU cell lists several SKUs ({:?}): Etsy writes every variation's SKU \
                     into one cell, and importdesk imports one listing per key, so it cannot \
                     tell which price and quantity belong to which; choose another key column \
                     with --key COLUMN",
                    out.sku
                ),
            );
        }
        self.fill_and_finish(row, out, no_dialect)
    }

    fn base(&self) -> &Base {
        &self.base
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;

    const HEADER: &str = "TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,MATERIALS,IMAGE1,IMAGE2,VARIATION 1 TYPE,VARIATION 1 NAME,VARIATION 1 VALUES,SKU";

    #[test]
    fn listing_export_maps_with_sku_as_key() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        assert_eq!(m.kind, ProfileKind::Etsy);
        assert_eq!(m.key_description(), "the \"SKU\" column");
        let row = listing(
            &mut m,
            "\"Green ring, aventurine\",\"Line one\nLine two 💚\",6.15,gbp,3,\"ring,green\",\"Aventurine,Copper\",https://i.etsystatic.com/1/a.jpg,,,,,RING-GRN",
        );
        assert_eq!(
            row,
            ListingRow {
                sku: "RING-GRN".into(),
                title: Some("Green ring, aventurine".into()),
                description: Some("Line one\nLine two 💚".into()),
                price: Some("6.15".into()),
                currency: Some("GBP".into()),
                quantity: Some(3),
                ..Default::default()
            }
        );
        for unknown in ["TAGS", "MATERIALS", "IMAGE1", "VARIATION 1 VALUES"] {
            assert!(m.unknown_columns.iter().any(|c| c == unknown), "{unknown}");
        }
    }

    #[test]
    fn an_empty_sku_is_rejected_suggesting_key() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let e = rejected(&mut m, "Mug,,12.00,USD,1,,,,,,,,");
        assert_eq!(e[0].column, Some(13));
        assert!(
            e[0].reason.contains("\"SKU\" column is empty"),
            "{}",
            e[0].reason
        );
        assert!(e[0].reason.contains("--key COLUMN"));
        let mut m = mapping(HEADER, None, &key("title"));
        assert_eq!(listing(&mut m, "Mug,,12.00,USD,1,,,,,,,,").sku, "Mug");
    }

    #[test]
    fn several_skus_in_one_cell_are_refused() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let e = rejected(
            &mut m,
            "Yahtzee set,A box.,45,USD,6,,,,,Wood,Wood,\"Walnut,Maple\",\"YZ-WAL,YZ-MAP\"",
        );
        assert!(e[0].reason.contains("several SKUs"), "{e:?}");
    }
}
