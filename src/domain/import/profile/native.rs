//! The native profile: importdesk's own columns, one listing per row.

use super::base::{Base, Profile, ProfileSpec};
use super::header::loose;
use super::row::{Row, no_dialect};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "native",
    signature: &[],
    expected: "sku (required), title, description, price, currency, quantity, status, \
               condition, category, listing_number, end_date",
    key_fallback: &[],
    build: |base, options| Ok(Box::new(Native::new(base, options)?)),
};

/// Spellings accepted besides each field's own column name (matched
/// loosely: case, whitespace and `_` do not matter).
const OTHER_SPELLINGS: [(Field, &[&str]); 4] = [
    (Field::Currency, &["currency code"]),
    (Field::Quantity, &["qty"]),
    (
        Field::ListingNumber,
        &["listingnumber", "listing no", "listing id"],
    ),
    (Field::EndDate, &["enddate"]),
];

pub(super) struct Native {
    base: Base,
}

impl Native {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Native, MappingError> {
        for field in Field::all() {
            let own = loose(field.name());
            let others = OTHER_SPELLINGS
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(&[][..], |(_, s)| *s);
            let aliases: Vec<&str> = std::iter::once(own.as_str())
                .chain(others.iter().copied())
                .collect();
            base.take(field, &aliases);
        }
        base.require_sku_key(options, "native", "a \"sku\" column")?;
        Ok(Native { base })
    }
}

impl Profile for Native {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let mut row = Row::new(fields, &self.base.header);
        let out = ListingRow {
            sku: self.key_of(&mut row),
            ..Default::default()
        };
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

    const HEADER: &str = "sku,title,description,price,currency,quantity,status,condition,category,listing_number,end_date";

    #[test]
    fn every_native_column_maps() {
        let mut m = mapping(HEADER, Some(ProfileKind::Native), &MapOptions::default());
        assert!(m.unknown_columns.is_empty());
        let row = listing(
            &mut m,
            "LAMP-1, Brass lamp ,<b>Warm</b> light 💡,\"$1,234.50\",usd,4,Published,used,Home > Lamps,110087654321,May-24-27",
        );
        assert_eq!(
            row,
            ListingRow {
                sku: "LAMP-1".into(),
                title: Some("Brass lamp".into()),
                description: Some("<b>Warm</b> light 💡".into()),
                price: Some("1234.50".into()),
                currency: Some("USD".into()),
                quantity: Some(4),
                status: Some("active".into()),
                condition: Some("used".into()),
                category: Some("Home > Lamps".into()),
                listing_number: Some("110087654321".into()),
                end_date: Some(utc("2027-05-24T00:00:00Z")),
            }
        );
        assert_eq!(m.key_description(), "the \"sku\" column");
    }

    #[test]
    fn aliases_case_and_whitespace_do_not_matter() {
        let m = mapping(
            " SKU ,Title,Listing  Number,END_DATE,Qty,Currency Code,Colour",
            None,
            &MapOptions::default(),
        );
        assert_eq!(m.kind, ProfileKind::Native);
        assert!(m.detected);
        assert_eq!(m.unknown_columns, vec!["Colour".to_string()]);
        let fields: Vec<Field> = m.columns().iter().map(|(f, _)| *f).collect();
        assert!(fields.contains(&Field::ListingNumber) && fields.contains(&Field::EndDate));
        assert!(fields.contains(&Field::Quantity) && fields.contains(&Field::Currency));
    }

    #[test]
    fn empty_cells_are_absent_values_and_default_currency_applies() {
        let options = MapOptions {
            default_currency: Some("eur".into()),
            ..Default::default()
        };
        let mut m = mapping(HEADER, None, &options);
        let row = listing(&mut m, "A-1,,,5,,,,,,,");
        assert_eq!(row.title, None);
        assert_eq!(row.price.as_deref(), Some("5"));
        assert_eq!(row.currency.as_deref(), Some("EUR"));
        assert_eq!(row.status, None);
    }

    #[test]
    fn every_problem_of_a_row_is_named_with_its_column() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let errors = rejected(&mut m, "A-1,,,-5,dollars,2.5,maybe,,,,someday");
        let cols: Vec<(Option<usize>, Option<&str>)> = errors
            .iter()
            .map(|e| (e.column, e.column_name.as_deref()))
            .collect();
        assert_eq!(
            cols,
            vec![
                (Some(5), Some("currency")),
                (Some(4), Some("price")),
                (Some(6), Some("quantity")),
                (Some(7), Some("status")),
                (Some(11), Some("end_date")),
            ]
        );
        assert!(errors[1].reason.contains("negative"));
    }

    #[test]
    fn over_long_fields_are_refused_with_their_limit() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let line = format!(
            "{},{},{},1,USD,1,active,{},{},{},",
            "S".repeat(201),
            "T".repeat(501),
            "D".repeat(100_001),
            "C".repeat(201),
            "G".repeat(501),
            "L".repeat(101)
        );
        let errors = rejected(&mut m, &line);
        let cols: Vec<usize> = errors.iter().filter_map(|e| e.column).collect();
        assert_eq!(cols, vec![1, 2, 3, 8, 9, 10]);
        assert!(errors.iter().all(|e| e.reason.contains("too long")));
        // Exactly at the limits is fine.
        let line = format!(
            "{},{},{},1,USD,1,active,{},{},{},",
            "S".repeat(200),
            "T".repeat(500),
            "D".repeat(100_000),
            "C".repeat(200),
            "G".repeat(500),
            "L".repeat(100)
        );
        listing(&mut m, &line);
    }

    #[test]
    fn an_empty_key_is_rejected_and_never_invented() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let errors = rejected(&mut m, "  ,Lamp,,1,USD,1,active,,,,");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].column, Some(1));
        assert_eq!(errors[0].column_name.as_deref(), Some("sku"));
        assert!(errors[0].reason.contains("\"sku\""));
        assert!(errors[0].reason.contains("--key COLUMN"));
    }

    #[test]
    fn key_option_makes_any_header_the_key() {
        let options = MapOptions {
            key_column: Some("LISTING_NUMBER".into()),
            ..Default::default()
        };
        let mut m = mapping(HEADER, None, &options);
        let row = listing(&mut m, ",Lamp,,1,USD,1,active,,,1100,");
        assert_eq!(row.sku, "1100");
        assert_eq!(row.listing_number.as_deref(), Some("1100"));
        assert!(m.key_description().contains("--key"));
        // Without a sku column at all, --key is what makes the file usable.
        let mut m = mapping("title,price", Some(ProfileKind::Native), &key("Title"));
        assert_eq!(listing(&mut m, "Lamp,5").sku, "Lamp");
        let errors = rejected(&mut m, ",5");
        assert!(errors[0].reason.contains("\"title\""), "{errors:?}");
    }

    #[test]
    fn a_missing_key_column_or_bad_key_option_fails_the_header() {
        let e = mapping_err(
            "title,price",
            Some(ProfileKind::Native),
            &MapOptions::default(),
        );
        assert!(e.contains("\"sku\"") && e.contains("--key"), "{e}");
        let e = mapping_err(HEADER, None, &key("Colour"));
        assert!(
            e.contains("\"Colour\"") && e.contains("\"sku\", \"title\""),
            "{e}"
        );
        let bad = MapOptions {
            default_currency: Some("dollars".into()),
            ..Default::default()
        };
        assert!(mapping_err(HEADER, None, &bad).contains("--currency"));
    }

    #[test]
    fn damaged_text_is_kept_but_a_damaged_key_is_not() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let row = listing(&mut m, "A-1,Caf\u{FFFD} cr\u{E8}me,,1,USD,1,,,,,");
        assert_eq!(row.title.as_deref(), Some("Caf\u{FFFD} cr\u{E8}me"));
        let errors = rejected(&mut m, "CAF\u{FFFD}-1,Cafe,,1,USD,1,,,,,");
        assert!(errors[0].reason.contains("U+FFFD"));
    }

    /// With `--key`, the key column stands in for the SKU column only: the
    /// file's other columns still feed their fields (an import updates
    /// only the columns a file has).
    #[test]
    fn the_key_option_replaces_only_the_sku_column_among_the_columns() {
        let m = mapping("sku,title,price", None, &key("Title"));
        assert_eq!(
            m.columns(),
            [
                (Field::Sku, "title".to_string()),
                (Field::Title, "title".to_string()),
                (Field::Price, "price".to_string()),
            ]
        );
    }
}
