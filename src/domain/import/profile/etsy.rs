//! Etsy: the shop's listing export (TITLE, DESCRIPTION, PRICE,
//! CURRENCY_CODE, QUANTITY, TAGS, MATERIALS, IMAGE1..., VARIATION 1 TYPE...,
//! SKU). Key: SKU.
//!
//! Etsy writes every variation's SKU of a listing into one cell, comma
//! separated; such a row cannot be one listing per key (which price and
//! quantity belong to which SKU?) and is rejected with that reason.

use super::base::{Base, Profile};
use super::row::{Row, no_dialect};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) struct Etsy {
    base: Base,
}

impl Etsy {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Etsy, MappingError> {
        base.take(Field::Sku, &["sku"]);
        base.take(Field::Title, &["title"]);
        base.take(Field::Description, &["description"]);
        base.take(Field::Price, &["price"]);
        base.take(Field::Currency, &["currency code", "currency"]);
        base.take(Field::Quantity, &["quantity"]);
        base.take(Field::Status, &["state", "status"]);
        base.take(Field::ListingNumber, &["listing id", "listing number"]);
        base.take(Field::Category, &["category", "section"]);
        base.resolve_key(options)?;
        if base.key_override.is_none() && base.cols.one(Field::Sku).is_none() {
            return Err(base.no_key_column("etsy", "the \"SKU\" column"));
        }
        Ok(Etsy { base })
    }

    fn key_col(&self) -> Option<usize> {
        self.base.key_override.or(self.base.cols.one(Field::Sku))
    }
}

impl Profile for Etsy {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let key_col = self.key_col();
        let empty = key_col.map(|c| b.empty_words(c)).unwrap_or_default();
        let sku = row.key(&[key_col], &empty);
        let mut out = ListingRow {
            sku,
            ..Default::default()
        };
        if b.key_override.is_none() && out.sku.contains(',') {
            let col = key_col.expect("a SKU column");
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
        row.fill(&mut out, &b.cols, b.currencies(), no_dialect);
        row.finish(out)
    }

    fn key_description(&self) -> String {
        self.base.override_description().unwrap_or_else(|| {
            self.key_col()
                .map(|c| self.base.column_words(c))
                .unwrap_or_default()
        })
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
