//! The fixture files under `fixtures/profiles/`, hand-written from each
//! marketplace's public format, mapped end to end: header, then records with
//! the line each starts on (as the import reader numbers them).

use std::collections::BTreeMap;
use std::path::Path;

use super::test_support::{currency, utc};
use super::*;

struct Mapped {
    mapping: Mapping,
    /// Outcome by the record's first line.
    rows: BTreeMap<u64, RowOutcome>,
}

impl Mapped {
    #[track_caller]
    fn listing(&self, line: u64) -> &ListingRow {
        match &self.rows[&line] {
            RowOutcome::Listing(row) => row,
            other => panic!("line {line}: expected a listing, got {other:?}"),
        }
    }

    #[track_caller]
    fn rejected(&self, line: u64) -> &[FieldError] {
        match &self.rows[&line] {
            RowOutcome::Rejected(errors) => errors,
            other => panic!("line {line}: expected a rejection, got {other:?}"),
        }
    }

    #[track_caller]
    fn ignored(&self, line: u64) -> &str {
        match &self.rows[&line] {
            RowOutcome::Ignored { reason } => reason,
            other => panic!("line {line}: expected an ignored row, got {other:?}"),
        }
    }

    /// (listings, rejected, ignored)
    fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for o in self.rows.values() {
            match o {
                RowOutcome::Listing(_) => c.0 += 1,
                RowOutcome::Rejected(_) => c.1 += 1,
                RowOutcome::Ignored { .. } => c.2 += 1,
            }
        }
        c
    }
}

fn load(name: &str, options: &MapOptions) -> Mapped {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/profiles")
        .join(name);
    let bytes = std::fs::read(&path).expect("fixture");
    // The import reader strips a UTF-8 BOM before the header reaches a profile.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let mut mapping = Mapping::from_headers(&headers, None, options).expect("the header maps");
    let mut rows = BTreeMap::new();
    for record in reader.records() {
        let record = record.expect("valid CSV");
        let line = record.position().expect("a position").line();
        let fields: Vec<&str> = record.iter().collect();
        rows.insert(line, mapping.map_record(&fields, line));
    }
    Mapped { mapping, rows }
}

#[test]
fn native_fixture() {
    let m = load("native.csv", &MapOptions::default());
    assert_eq!(m.mapping.kind, ProfileKind::Native);
    assert!(m.mapping.unknown_columns.is_empty());
    assert_eq!(m.counts(), (6, 3, 0));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "LAMP-001".into(),
            title: Some("Brass desk lamp".into()),
            description: Some("<p>Warm light, <b>solid</b> brass.</p>".into()),
            price: Some("49.99".into()),
            currency: Some("USD".into()),
            quantity: Some(3),
            status: Some("active".into()),
            condition: Some("new".into()),
            category: Some("Home > Lighting".into()),
            listing_number: Some("110012345678".into()),
            end_date: Some(utc("2027-01-31T12:00:00Z")),
        }
    );
    assert_eq!(
        m.listing(3),
        &ListingRow {
            sku: "LAMP-002".into(),
            title: Some("Reading lamp, \"Ivy\" edition".into()),
            description: Some("Adjustable arm.\nSecond line: bulb not included.".into()),
            price: Some("35".into()),
            currency: Some("GBP".into()),
            quantity: Some(1),
            status: Some("active".into()),
            condition: Some("used".into()),
            category: Some("Home > Lighting".into()),
            listing_number: None,
            end_date: Some(utc("2027-05-24T00:00:00Z")),
        }
    );
    let mug = m.listing(5);
    assert_eq!(mug.sku, "MUG-010", "whitespace around the key is trimmed");
    assert_eq!(mug.price.as_deref(), Some("1250.00"));
    assert_eq!(mug.currency.as_deref(), Some("USD"));
    assert_eq!(mug.title.as_deref(), Some("Ceramic mug ☕"));
    let cup = m.listing(6);
    assert_eq!(
        (cup.price.as_deref(), cup.currency.as_deref(), cup.quantity),
        (Some("5.00"), Some("EUR"), Some(0))
    );
    assert_eq!(cup.status.as_deref(), Some("inactive"));
    assert!(
        m.listing(7)
            .description
            .as_deref()
            .unwrap()
            .contains('\u{FFFD}')
    );
    let bike = m.listing(8);
    assert_eq!(bike.price.as_deref(), Some("1200.005"));
    assert_eq!(bike.status.as_deref(), Some("ended"));

    let no_key = m.rejected(9);
    assert_eq!(no_key[0].column, Some(1));
    assert!(no_key[0].reason.contains("--key COLUMN"));
    let ambiguous = m.rejected(10);
    assert_eq!(ambiguous[0].column_name.as_deref(), Some("price"));
    assert!(ambiguous[0].reason.contains("ambiguous"));
    let two = m.rejected(11);
    let cols: Vec<Option<usize>> = two.iter().map(|e| e.column).collect();
    assert_eq!(cols, vec![Some(6), Some(11)], "{two:?}");
}

#[test]
fn ebay_file_exchange_fixture() {
    let m = load("ebay_file_exchange.csv", &MapOptions::default());
    assert_eq!(m.mapping.kind, ProfileKind::Ebay);
    assert_eq!(m.counts(), (5, 1, 0));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "CAM-7".into(),
            title: Some("Vintage 35mm film camera".into()),
            description: None,
            price: Some("149.00".into()),
            currency: Some("USD".into()),
            quantity: Some(1),
            status: None,
            condition: Some("Used".into()),
            category: Some("Film Cameras".into()),
            listing_number: Some("110011112222".into()),
            end_date: Some(utc("2030-05-24T05:19:51Z")),
        }
    );
    let strap = m.listing(4);
    assert_eq!(strap.sku, "110011114444", "no custom label: the item ID");
    assert_eq!(strap.end_date, Some(utc("2020-04-28T02:00:00Z")));
    let tea = m.listing(5);
    assert_eq!(
        (tea.price.as_deref(), tea.currency.as_deref()),
        (Some("5.49"), Some("GBP"))
    );
    let tripod = m.listing(6);
    assert_eq!(
        (tripod.price.as_deref(), tripod.currency.as_deref()),
        (Some("1049.00"), Some("CAD")),
        "a dollar on the Canadian site"
    );
    assert_eq!(
        m.rejected(7)[0].column_name.as_deref(),
        Some("Quantity Available")
    );
    for unknown in ["Private Notes", "Purchases", "Start Date", "Download Date"] {
        assert!(
            m.mapping.unknown_columns.iter().any(|c| c == unknown),
            "{unknown}"
        );
    }
}

#[test]
fn ebay_seller_hub_fixture() {
    let m = load("ebay_seller_hub.csv", &MapOptions::default());
    assert_eq!(m.mapping.kind, ProfileKind::Ebay);
    assert_eq!(m.counts(), (6, 0, 1));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "LAMP-001".into(),
            title: Some("Brass desk lamp, 1950s".into()),
            description: None,
            price: Some("49.99".into()),
            currency: Some("USD".into()),
            quantity: Some(3),
            status: None,
            condition: Some("Used".into()),
            category: Some("Lamps".into()),
            listing_number: Some("225512340001".into()),
            end_date: Some(utc("2034-01-15T17:12:45Z")),
        }
    );
    assert!(m.ignored(3).contains("225512340002"));
    assert_eq!(m.listing(4).sku, "PAINT-RED");
    let blue = m.listing(5);
    assert_eq!(blue.sku, "225512340002/Color=Blue");
    assert_eq!(blue.price.as_deref(), Some("21.99"));
    assert_eq!(
        m.listing(6).price.as_deref(),
        Some("17.50"),
        "an auction's current price"
    );
    let scarf = m.listing(7);
    assert_eq!(scarf.sku, "225512340004");
    assert_eq!(scarf.currency.as_deref(), Some("GBP"));
    let tie = m.listing(8);
    assert_eq!(
        (tie.price.as_deref(), tie.currency.as_deref()),
        (Some("29.00"), Some("EUR"))
    );
}

#[test]
fn etsy_fixture() {
    let m = load("etsy.csv", &MapOptions::default());
    assert_eq!(m.mapping.kind, ProfileKind::Etsy);
    assert_eq!(m.counts(), (4, 2, 0));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "RING-GRN-01".into(),
            title: Some("Green aventurine ring, sterling silver".into()),
            description: Some(
                "Handmade ring with a green aventurine stone 💚\n\nShips in a gift box.".into()
            ),
            price: Some("6.15".into()),
            currency: Some("GBP".into()),
            quantity: Some(3),
            ..Default::default()
        }
    );
    assert_eq!(m.listing(5).sku, "PRINT-FERN-A4");
    let mug = m.listing(6);
    assert_eq!(mug.sku, "MUG-SPECKLE");
    assert_eq!(mug.currency.as_deref(), Some("EUR"));
    assert!(m.rejected(7)[0].reason.contains("several SKUs"));
    assert!(m.rejected(8)[0].reason.contains("--key"));
    assert_eq!(m.listing(9).price.as_deref(), Some("12"));
}

#[test]
fn shopify_fixture() {
    let m = load("shopify.csv", &currency("USD"));
    assert_eq!(m.mapping.kind, ProfileKind::Shopify);
    assert_eq!(m.counts(), (7, 1, 2));
    let first = m.listing(2);
    assert_eq!(
        first,
        &ListingRow {
            sku: "TEE-RED-S".into(),
            title: Some("Organic cotton tee 👕".into()),
            description: Some(
                "<p>Soft, <strong>organic</strong> cotton.</p>\n<ul><li>Pre-shrunk</li></ul>"
                    .into()
            ),
            price: Some("19.99".into()),
            currency: Some("USD".into()),
            quantity: Some(12),
            status: Some("active".into()),
            condition: None,
            category: Some("Apparel & Accessories > Clothing > Shirts & Tops".into()),
            listing_number: None,
            end_date: None,
        }
    );
    let blue_s = m.listing(5);
    assert_eq!(
        blue_s,
        &ListingRow {
            sku: "organic-tee/Blue/S".into(),
            price: Some("21.00".into()),
            quantity: Some(0),
            ..first.clone()
        }
    );
    assert_eq!(m.listing(4).sku, "TEE-RED-M");
    assert_eq!(m.listing(6).sku, "organic-tee/Blue/M");
    assert!(m.ignored(7).contains("image-only"));
    assert!(m.ignored(8).contains("image-only"));
    assert_eq!(m.listing(9).sku, "MUG-SPK");
    let scarf = m.listing(10);
    assert_eq!(scarf.status.as_deref(), Some("draft"));
    assert_eq!(scarf.category.as_deref(), Some("Scarves"));
    assert_eq!(
        m.rejected(11)[0].column_name.as_deref(),
        Some("Variant Inventory Qty")
    );
    assert_eq!(m.listing(12).status.as_deref(), Some("ended"));
}

#[test]
fn woocommerce_fixture() {
    let m = load("woocommerce.csv", &MapOptions::default());
    assert_eq!(m.mapping.kind, ProfileKind::Woocommerce);
    assert_eq!(m.counts(), (5, 1, 2));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "WOO-BEANIE".into(),
            title: Some("Knitted beanie".into()),
            description: Some(
                "<p>Hand-knitted from merino wool.</p>\n<p>One size fits most 🧶</p>".into()
            ),
            price: Some("18".into()),
            currency: None,
            quantity: Some(25),
            status: Some("active".into()),
            condition: None,
            category: Some("Clothing > Accessories".into()),
            listing_number: Some("15".into()),
            end_date: None,
        }
    );
    assert!(m.ignored(3).contains("variable"));
    let blue = m.listing(4);
    assert_eq!(blue.sku, "WOO-HOODIE-BLUE");
    assert_eq!(
        blue.description.as_deref(),
        Some("<p>Brushed fleece, kangaroo pocket.</p>\n<p>Machine wash at 30°C.</p>")
    );
    assert_eq!(
        blue.category.as_deref(),
        Some("Clothing > Hoodies, Clothing")
    );
    assert_eq!(
        (blue.price.as_deref(), blue.quantity),
        (Some("45.00"), Some(4))
    );
    assert_eq!(m.rejected(5)[0].column_name.as_deref(), Some("SKU"));
    assert!(m.ignored(6).contains("grouped"));
    let cap = m.listing(7);
    assert_eq!(cap.status.as_deref(), Some("draft"));
    assert_eq!(
        cap.price.as_deref(),
        Some("18.00"),
        "regular price, not sale"
    );
    let clearance = m.listing(9);
    assert_eq!(clearance.sku, "-50-CLEARANCE");
    assert_eq!(
        clearance.title.as_deref(),
        Some("=Half price clearance bundle")
    );
    assert_eq!(clearance.status.as_deref(), Some("inactive"));
    assert!(m.mapping.unknown_columns.iter().any(|c| c == "Sale price"));
}

#[test]
fn magento_fixture() {
    let m = load("magento.csv", &currency("EUR"));
    assert_eq!(m.mapping.kind, ProfileKind::Magento);
    assert_eq!(m.counts(), (4, 1, 3));
    assert_eq!(
        m.listing(2),
        &ListingRow {
            sku: "24-MB01".into(),
            title: Some("Joust Duffle Bag".into()),
            description: Some(
                "<p>The sporty Joust Duffle Bag can't be beat - not in the gym, not on the \
                 luggage carousel, not anywhere.</p>\n<ul>\n<li>Dual top handles.</li>\n\
                 <li>Adjustable shoulder strap.</li>\n</ul>"
                    .into()
            ),
            price: Some("34.000000".into()),
            currency: Some("EUR".into()),
            quantity: Some(100),
            status: Some("active".into()),
            condition: None,
            category: Some("Default Category/Gear,Default Category/Gear/Bags".into()),
            listing_number: None,
            end_date: None,
        }
    );
    assert!(m.ignored(7).contains("\"de\""));
    let pack = m.listing(8);
    assert_eq!(
        (pack.status.as_deref(), pack.quantity),
        (Some("inactive"), Some(0))
    );
    assert!(m.ignored(9).contains("configurable"));
    assert_eq!(m.listing(10).sku, "MH01-XS-Black");
    assert_eq!(m.rejected(11)[0].column_name.as_deref(), Some("qty"));
    assert!(m.ignored(12).contains("bundle"));
    assert_eq!(
        m.listing(13).title.as_deref(),
        Some("Affirm Water Bottle 💧")
    );
}
