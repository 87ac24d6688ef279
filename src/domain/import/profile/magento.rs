//! Magento 2 (Adobe Commerce): the catalog product export (sku,
//! store_view_code, attribute_set_code, product_type, categories, name,
//! description, short_description, product_online, price, qty, ...).
//! Key: sku.
//!
//! - Rows with a store_view_code hold one store view's overrides of a
//!   product whose default row (empty store_view_code) is also in the file:
//!   they are not listings (`Ignored`).
//! - A configurable, bundle or grouped product without a price is a parent
//!   whose simple products are the listings: `Ignored`.
//! - product_online: 1 -> active; 2 (how the export writes "disabled") or 0
//!   -> inactive. qty is written with decimals ("100.0000"): whole values
//!   are accepted.

use super::base::{Base, Profile};
use super::row::Row;
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) struct Magento {
    base: Base,
    store_view: Option<usize>,
    product_type: Option<usize>,
}

fn dialect(s: &str) -> Option<&'static str> {
    match s {
        "1" => Some("active"),
        "2" | "0" => Some("inactive"),
        _ => None,
    }
}

impl Magento {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Magento, MappingError> {
        base.take(Field::Sku, &["sku"]);
        base.take(Field::Title, &["name"]);
        base.take(Field::Description, &["description", "short description"]);
        base.take(Field::Price, &["price"]);
        base.take(Field::Currency, &["currency"]);
        base.take(Field::Quantity, &["qty"]);
        base.take(Field::Status, &["product online", "status"]);
        base.take(Field::Category, &["categories"]);
        let store_view = base.header.take(&["store view code"]);
        let product_type = base.header.take(&["product type"]);
        base.resolve_key(options)?;
        if base.key_override.is_none() && base.cols.one(Field::Sku).is_none() {
            return Err(base.no_key_column("magento", "the \"sku\" column"));
        }
        Ok(Magento {
            base,
            store_view,
            product_type,
        })
    }

    fn key_col(&self) -> Option<usize> {
        self.base.key_override.or(self.base.cols.one(Field::Sku))
    }
}

impl Profile for Magento {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let sku = row.get(b.cols.one(Field::Sku)).unwrap_or("");
        if let Some(view) = row.get(self.store_view) {
            return RowOutcome::Ignored {
                reason: format!(
                    "store view {view:?} overrides of {sku:?}: the product's default row is the \
                     listing"
                ),
            };
        }
        if let Some(t) = row.get(self.product_type)
            && ["configurable", "bundle", "grouped"]
                .iter()
                .any(|p| t.eq_ignore_ascii_case(p))
            && row.first(b.cols.get(Field::Price)).is_none()
        {
            return RowOutcome::Ignored {
                reason: format!(
                    "{t} product {sku:?} has no price of its own: its simple products are the \
                     listings"
                ),
            };
        }
        let key_col = self.key_col();
        let empty = key_col.map(|c| b.empty_words(c)).unwrap_or_default();
        let sku = row.key(&[key_col], &empty);
        let mut out = ListingRow {
            sku,
            ..Default::default()
        };
        row.fill(&mut out, &b.cols, b.currencies(), dialect);
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

    const HEADER: &str = "sku,store_view_code,attribute_set_code,product_type,categories,product_websites,name,description,short_description,weight,product_online,visibility,price,special_price,url_key,qty,is_in_stock,configurable_variations";

    #[test]
    fn default_rows_map_and_store_view_rows_are_ignored() {
        let mut m = mapping(HEADER, None, &currency("EUR"));
        assert_eq!(m.kind, ProfileKind::Magento);
        assert_eq!(m.key_description(), "the \"sku\" column");
        let row = listing(
            &mut m,
            "24-MB01,,Bag,simple,\"Default Category/Gear,Default Category/Gear/Bags\",base,Joust Duffle Bag,\"<p>The sporty Joust Duffle Bag can't be beat.</p>\",,1.000000,1,\"Catalog, Search\",34.000000,,joust-duffle-bag,100.0000,1,",
        );
        assert_eq!(
            row,
            ListingRow {
                sku: "24-MB01".into(),
                title: Some("Joust Duffle Bag".into()),
                description: Some("<p>The sporty Joust Duffle Bag can't be beat.</p>".into()),
                price: Some("34.000000".into()),
                currency: Some("EUR".into()),
                quantity: Some(100),
                status: Some("active".into()),
                category: Some("Default Category/Gear,Default Category/Gear/Bags".into()),
                ..Default::default()
            }
        );
        let reason = ignored(
            &mut m,
            "24-MB01,de,Bag,simple,,base,Joust Reisetasche,,,,,,,,,,,",
        );
        assert!(
            reason.contains("\"de\"") && reason.contains("24-MB01"),
            "{reason}"
        );
        let disabled = listing(
            &mut m,
            "24-MB02,,Bag,simple,,base,Bag,,,,2,,10.000000,,,0.0000,0,",
        );
        assert_eq!(disabled.status.as_deref(), Some("inactive"));
        assert_eq!(disabled.quantity, Some(0));
    }

    #[test]
    fn configurable_parents_without_price_are_ignored() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        ignored(
            &mut m,
            "MH01,,Top,configurable,,base,Chaz Hoodie,,,,1,,,,,,,\"sku=MH01-XS-Black,size=XS\"",
        );
        let child = listing(
            &mut m,
            "MH01-XS-Black,,Top,simple,,base,Chaz Hoodie-XS-Black,,,,1,Not Visible Individually,52.000000,,,100.0000,1,",
        );
        assert_eq!(child.sku, "MH01-XS-Black");
        let e = rejected(&mut m, ",,Top,simple,,base,Nameless,,,,1,,5,,,1,1,");
        assert!(e[0].reason.contains("\"sku\" column is empty"), "{e:?}");
        let e = rejected(&mut m, "MH02,,Top,simple,,base,Half,,,,1,,5,,,2.5,1,");
        assert_eq!(e[0].column_name.as_deref(), Some("qty"));
    }
}
