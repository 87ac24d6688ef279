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

use super::base::{Base, Profile, ProfileSpec};
use super::row::Row;
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "magento",
    signature: &[
        "store view code",
        "attribute set code",
        "product type",
        "product websites",
        "product online",
        "url key",
        "tax class name",
        "additional attributes",
        "qty",
        "is in stock",
        "special price",
        "base image",
        "configurable variations",
        "visibility",
    ],
    expected: "sku, store_view_code, attribute_set_code, product_type, name, price, qty, \
               product_online, categories",
    key_fallback: &[],
    build: |base, options| Ok(Box::new(Magento::new(base, options)?)),
};

const COLUMNS: [(Field, &[&str]); 8] = [
    (Field::Sku, &["sku"]),
    (Field::Title, &["name"]),
    (Field::Description, &["description", "short description"]),
    (Field::Price, &["price"]),
    (Field::Currency, &["currency"]),
    (Field::Quantity, &["qty"]),
    (Field::Status, &["product online", "status"]),
    (Field::Category, &["categories"]),
];

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
        base.take_all(&COLUMNS);
        let store_view = base.header.take(&["store view code"]);
        let product_type = base.header.take(&["product type"]);
        base.require_sku_key(options, "magento", "the \"sku\" column")?;
        Ok(Magento {
            base,
            store_view,
            product_type,
        })
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
        let out = ListingRow {
            sku: self.key_of(&mut row),
            ..Default::default()
        };
        self.fill_and_finish(row, out, dialect)
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
