//! eBay: the Seller Hub active listings report ("Item number", "Custom label
//! (SKU)", "Available quantity", "Current price"...) and File Exchange files
//! (the active listings download: "Item ID", "Custom Label", "Quantity
//! Available", "Price"...; and the upload template: "*Action(...)",
//! "CustomLabel", "*Title", "*StartPrice"...).
//!
//! Key: the custom label (SKU), else the item number. A multi-variation
//! listing appears as a summary row (its "Variation details" name several
//! values: `Color=Red;Blue`), ignored, followed by one row per variation;
//! a variation without a custom label is keyed by item number and variation
//! (`110012345678/Color=Red`), as the item number alone is shared.

use super::base::{Base, Profile, ProfileSpec};
use super::header::loose;
use super::row::{Currencies, Row, no_dialect};
use super::values::{self, MAX_CONDITION};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "ebay",
    signature: &[
        "item number",
        "item id",
        "itemid",
        "custom label (sku)",
        "custom label",
        "customlabel",
        "available quantity",
        "quantity available",
        "current price",
        "start price",
        "startprice",
        "ebay category 1 name",
        "category leaf name",
        "listing site",
        "site listed",
        "variation details",
        "sold quantity",
        "item title",
        "conditionid",
    ],
    expected: "Item number, Title, Custom label (SKU), Available quantity, Current price, End date \
               (Seller Hub report) or Item ID, Custom Label, Quantity Available, Price, Item Title \
               (File Exchange download)",
    key_fallback: &[],
    build: |base, options| Ok(Box::new(Ebay::new(base, options)?)),
};

const CUSTOM_LABEL: &[&str] = &["custom label (sku)", "custom label", "customlabel", "sku"];
const ITEM_NUMBER: &[&str] = &["item number", "item id", "itemid"];

pub(super) struct Ebay {
    base: Base,
    label: Option<usize>,
    item: Option<usize>,
    variation: Option<usize>,
    site: Option<usize>,
}

impl Ebay {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Ebay, MappingError> {
        let label = base.header.take(CUSTOM_LABEL);
        let item = base.header.take(ITEM_NUMBER);
        if let Some(i) = item {
            base.cols.add(Field::ListingNumber, i);
        }
        if let Some(l) = label {
            base.cols.add(Field::Sku, l);
        }
        base.take(Field::Title, &["title", "item title"]);
        base.take(Field::Description, &["description"]);
        base.take(
            Field::Price,
            &[
                "current price",
                "start price",
                "startprice",
                "price",
                "buy it now price",
                "buyitnowprice",
            ],
        );
        base.take(Field::Currency, &["currency"]);
        base.take(
            Field::Quantity,
            &["available quantity", "quantity available", "quantity"],
        );
        base.take(Field::Status, &["status", "listing status"]);
        base.take(
            Field::Condition,
            &["condition", "condition name", "conditionid", "condition id"],
        );
        base.take(
            Field::Category,
            &[
                "ebay category 1 name",
                "category leaf name",
                "category name",
                "primary category name",
                "category",
            ],
        );
        base.take(Field::EndDate, &["end date", "end time", "enddate"]);
        let variation = base.header.take(&["variation details"]);
        let site = base.header.take(&["listing site", "site listed", "site"]);
        // "*Action(SiteID=US|Country=US|Currency=USD|Version=1193)".
        if let Some(col) = base.header.take_where(|h| h.starts_with("action(")) {
            base.file_currency = action_currency(base.header.name(col));
        }
        base.resolve_key(options)?;
        if base.key_override.is_none() && label.is_none() && item.is_none() {
            return Err(base.no_key_column(
                "ebay",
                "\"Custom label (SKU)\" (or \"Custom Label\"), else \"Item number\" (or \"Item ID\")",
            ));
        }
        Ok(Ebay {
            base,
            label,
            item,
            variation,
            site,
        })
    }

    fn key_words(&self) -> String {
        let h = &self.base.header;
        match (self.label, self.item) {
            (Some(l), Some(i)) => format!("{:?}, else {:?}", h.name(l), h.name(i)),
            (Some(c), None) | (None, Some(c)) => format!("{:?}", h.name(c)),
            (None, None) => String::new(),
        }
    }
}

impl Profile for Ebay {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let variation = row.get(self.variation);
        let item = row.get(self.item);
        if let Some(v) = variation
            && v.contains(';')
        {
            return RowOutcome::Ignored {
                reason: format!(
                    "summary row of multi-variation listing {}: its variations follow as rows of \
                     their own",
                    item.unwrap_or("(no item number)")
                ),
            };
        }
        let sku = if let Some(k) = b.key_override {
            row.key(&[Some(k)], &b.empty_words(k))
        } else if let Some(k) = row.key_from(self.label) {
            k
        } else if let (Some(item), Some(v)) = (item, variation) {
            let key = format!("{item}/{v}");
            if let Err(e) = values::check_key(&key) {
                row.error(self.item.expect("an item number"), e);
            }
            key
        } else {
            let empty = match (self.label, self.item) {
                (Some(_), Some(_)) => {
                    format!("{} are empty", self.key_words().replace(", else", " and"))
                }
                _ => format!("{} is empty", self.key_words()),
            };
            row.key(&[self.label, self.item], &empty)
        };
        let mut out = ListingRow {
            sku,
            ..Default::default()
        };
        let site_currency = row.get(self.site).and_then(site_currency);
        let currencies = Currencies {
            file: site_currency.or(b.file_currency.as_deref()),
            default: b.default_currency.as_deref(),
        };
        row.fill(&mut out, &b.cols, currencies, no_dialect);
        if let Some(c) = &out.condition
            && let Some(name) = condition_name(c)
        {
            debug_assert!(name.len() <= MAX_CONDITION);
            out.condition = Some(name.to_string());
        }
        row.finish(out)
    }

    fn key_description(&self) -> String {
        self.base
            .override_description()
            .unwrap_or_else(|| self.key_words())
    }

    fn base(&self) -> &Base {
        &self.base
    }
}

/// "Currency=USD" inside File Exchange's Action header.
fn action_currency(header: &str) -> Option<String> {
    let l = loose(header);
    let at = l.find("currency=")? + "currency=".len();
    let code: String = l[at..].chars().take(3).collect();
    values::parse_currency(&code).ok()
}

/// The currency of an eBay site, as the reports name sites.
fn site_currency(site: &str) -> Option<&'static str> {
    let s = site.trim().to_ascii_lowercase().replace('_', " ");
    let s = s.strip_prefix("ebay ").unwrap_or(&s);
    Some(match s {
        "us" | "motors" | "united states" => "USD",
        "uk" | "gb" | "united kingdom" => "GBP",
        "de" | "germany" | "fr" | "france" | "it" | "italy" | "es" | "spain" | "ie" | "ireland"
        | "at" | "austria" | "nl" | "netherlands" | "be" | "belgium" | "belgium (french)"
        | "belgium (dutch)" | "befr" | "benl" => "EUR",
        "au" | "australia" => "AUD",
        "ca" | "canada" | "canada (french)" | "cafr" => "CAD",
        "ch" | "switzerland" => "CHF",
        "hk" | "hong kong" => "HKD",
        "sg" | "singapore" => "SGD",
        "pl" | "poland" => "PLN",
        "my" | "malaysia" => "MYR",
        "ph" | "philippines" => "PHP",
        "in" | "india" => "INR",
        _ => return None,
    })
}

/// eBay's numeric condition IDs (File Exchange's ConditionID) as words.
fn condition_name(value: &str) -> Option<&'static str> {
    Some(match value {
        "1000" => "New",
        "1500" => "New other (see details)",
        "1750" => "New with defects",
        "2000" => "Certified - Refurbished",
        "2010" => "Excellent - Refurbished",
        "2020" => "Very Good - Refurbished",
        "2030" => "Good - Refurbished",
        "2500" => "Seller refurbished",
        "2750" => "Like New",
        "2990" => "Pre-owned - Excellent",
        "3000" => "Used",
        "3010" => "Pre-owned - Fair",
        "4000" => "Very Good",
        "5000" => "Good",
        "6000" => "Acceptable",
        "7000" => "For parts or not working",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;

    const SELLER_HUB: &str = "Item number,Title,Variation details,Custom label (SKU),Available quantity,Format,Currency,Start price,Auction Buy It Now price,Reserve price,Current price,Sold quantity,Watchers,Bids,Start date,End date,eBay category 1 name,eBay category 1 number,Condition,Listing site";

    const FILE_EXCHANGE: &str = "Item ID,Custom Label,Product ID Type,Product ID Value,Quantity Available,Purchases,Bids,Price,Start Date,End Date,Condition,Type,Item Title,Category Leaf Name,Category Number,Private Notes,Site Listed,Download Date";

    #[test]
    fn seller_hub_report_maps_with_custom_label_as_key() {
        let mut m = mapping(SELLER_HUB, None, &MapOptions::default());
        assert_eq!(m.kind, ProfileKind::Ebay);
        assert_eq!(
            m.key_description(),
            "\"Custom label (SKU)\", else \"Item number\""
        );
        let row = listing(
            &mut m,
            "\"110012345678\",Brass desk lamp,,LAMP-1,\"3\",FIXED_PRICE,USD,24.99,,,19.99,\"2\",5,,Mar-01-24 09:00:00 PST,Jun-30-26 16:00:01 PDT,Lamps,112581,Used,US",
        );
        assert_eq!(
            row,
            ListingRow {
                sku: "LAMP-1".into(),
                title: Some("Brass desk lamp".into()),
                description: None,
                price: Some("19.99".into()),
                currency: Some("USD".into()),
                quantity: Some(3),
                status: None,
                condition: Some("Used".into()),
                category: Some("Lamps".into()),
                listing_number: Some("110012345678".into()),
                end_date: Some(utc("2026-06-30T23:00:01Z")),
            }
        );
        for unknown in ["Format", "Start date", "Watchers", "eBay category 1 number"] {
            assert!(m.unknown_columns.iter().any(|c| c == unknown), "{unknown}");
        }
        assert!(!m.unknown_columns.iter().any(|c| c == "Current price"));
    }

    #[test]
    fn item_number_is_the_key_without_custom_label() {
        let mut m = mapping(SELLER_HUB, None, &MapOptions::default());
        let row = listing(
            &mut m,
            "110012345679,Mug,,,1,FIXED_PRICE,GBP,5,,,,0,,,,,Kitchen,1,New,UK",
        );
        assert_eq!(row.sku, "110012345679");
        // No current price: the start price is used.
        assert_eq!(row.price.as_deref(), Some("5"));
        assert_eq!(row.currency.as_deref(), Some("GBP"));
    }

    #[test]
    fn both_keys_empty_is_rejected_naming_both_columns() {
        let mut m = mapping(SELLER_HUB, None, &MapOptions::default());
        let errors = rejected(&mut m, ",Mug,,,1,FIXED_PRICE,USD,5,,,,0,,,,,,,,");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .reason
                .contains("\"Custom label (SKU)\" and \"Item number\" are empty"),
            "{}",
            errors[0].reason
        );
        assert!(errors[0].reason.contains("--key COLUMN"));
    }

    #[test]
    fn variation_summary_rows_are_ignored_and_variations_keyed() {
        let mut m = mapping(SELLER_HUB, None, &MapOptions::default());
        let reason = ignored(
            &mut m,
            "318000000001,\"Paint, 15ml\",Color=Red;Blue,,4,FIXED_PRICE,USD,19.99,,,19.99,1,,,,,Paint,1,New,US",
        );
        assert!(reason.contains("318000000001"), "{reason}");
        let red = listing(
            &mut m,
            "318000000001,\"Paint, 15ml\",Color=Red,PAINT-RED,2,FIXED_PRICE,USD,19.99,,,19.99,1,,,,,Paint,1,New,US",
        );
        assert_eq!(red.sku, "PAINT-RED");
        let blue = listing(
            &mut m,
            "318000000001,\"Paint, 15ml\",Color=Blue,,2,FIXED_PRICE,USD,21.99,,,21.99,0,,,,,Paint,1,New,US",
        );
        assert_eq!(blue.sku, "318000000001/Color=Blue");
        assert_eq!(blue.listing_number.as_deref(), Some("318000000001"));
    }

    #[test]
    fn file_exchange_download_with_symbols_and_ebay_dates() {
        let mut m = mapping(FILE_EXCHANGE, None, &MapOptions::default());
        assert_eq!(m.kind, ProfileKind::Ebay);
        let row = listing(
            &mut m,
            "110011112222,CAM-7,UPC,012345678905,1,0,0,$149.00,Apr-23-20 22:19:51 PDT,May-24-30,3000,FixedPrice,Vintage camera,Film Cameras,15230,,US,Apr-24-20",
        );
        assert_eq!(row.sku, "CAM-7");
        assert_eq!(row.price.as_deref(), Some("149.00"));
        assert_eq!(row.currency.as_deref(), Some("USD"));
        assert_eq!(row.condition.as_deref(), Some("Used"), "condition ID 3000");
        assert_eq!(row.title.as_deref(), Some("Vintage camera"));
        assert_eq!(row.category.as_deref(), Some("Film Cameras"));
        assert_eq!(row.end_date, Some(utc("2030-05-24T00:00:00Z")));
        // A pound sign on a UK listing; a dollar on a Canadian one is CAD.
        let uk = listing(
            &mut m,
            "110011113333,TEA-1,,,2,0,0,£5,,,New,FixedPrice,Tea,Tea,1,,UK,",
        );
        assert_eq!(uk.currency.as_deref(), Some("GBP"));
        let ca = listing(
            &mut m,
            "110011114444,TEA-2,,,2,0,0,$5,,,New,FixedPrice,Tea,Tea,1,,Canada,",
        );
        assert_eq!(ca.currency.as_deref(), Some("CAD"));
        // A currency written in the price wins over the listing site.
        let gbp = listing(
            &mut m,
            "110011115555,TEA-3,,,2,0,0,£5,,,New,FixedPrice,Tea,Tea,1,,US,",
        );
        assert_eq!(gbp.currency.as_deref(), Some("GBP"));
    }

    #[test]
    fn file_exchange_template_takes_currency_from_the_action_header() {
        let mut m = mapping(
            "*Action(SiteID=UK|Country=GB|Currency=GBP|Version=1193|CC=UTF-8),CustomLabel,*Category,*Title,*ConditionID,*StartPrice,*Quantity,*Description,ItemID",
            None,
            &MapOptions::default(),
        );
        assert_eq!(m.kind, ProfileKind::Ebay);
        assert!(!m.unknown_columns.iter().any(|c| c.contains("Action")));
        let row = listing(
            &mut m,
            "Revise,TEA-9,11450,Teapot,1500,12.50,4,\"<p>Bone china, <i>boxed</i></p>\",110099998888",
        );
        assert_eq!(row.sku, "TEA-9");
        assert_eq!(row.currency.as_deref(), Some("GBP"));
        assert_eq!(row.condition.as_deref(), Some("New other (see details)"));
        assert_eq!(row.category.as_deref(), Some("11450"));
        assert_eq!(
            row.description.as_deref(),
            Some("<p>Bone china, <i>boxed</i></p>")
        );
        assert_eq!(row.listing_number.as_deref(), Some("110099998888"));
    }

    #[test]
    fn key_option_and_missing_key_columns() {
        let mut m = mapping(SELLER_HUB, Some(ProfileKind::Ebay), &key("Title"));
        let row = listing(
            &mut m,
            "110012345678,Brass desk lamp,,LAMP-1,3,FIXED_PRICE,USD,,,,19.99,,,,,,,,,",
        );
        assert_eq!(row.sku, "Brass desk lamp");
        assert_eq!(row.title.as_deref(), Some("Brass desk lamp"));
        let e = mapping_err(
            "Title,Price",
            Some(ProfileKind::Ebay),
            &MapOptions::default(),
        );
        assert!(
            e.contains("Custom label (SKU)") && e.contains("--key"),
            "{e}"
        );
    }

    /// One site of each currency and every condition ID: a missing arm
    /// would leave those listings without a currency or a condition.
    #[test]
    fn every_site_has_its_currency_and_every_condition_id_its_name() {
        for (site, currency) in [
            ("eBay Motors", "USD"),
            ("UK", "GBP"),
            ("ebay_germany", "EUR"),
            ("Australia", "AUD"),
            ("Canada (French)", "CAD"),
            ("CH", "CHF"),
            ("Hong Kong", "HKD"),
            ("SG", "SGD"),
            ("Poland", "PLN"),
            ("MY", "MYR"),
            ("Philippines", "PHP"),
            ("India", "INR"),
        ] {
            assert_eq!(super::site_currency(site), Some(currency), "{site}");
        }
        assert_eq!(super::site_currency("Atlantis"), None);
        for (id, name) in [
            ("1000", "New"),
            ("1500", "New other (see details)"),
            ("1750", "New with defects"),
            ("2000", "Certified - Refurbished"),
            ("2010", "Excellent - Refurbished"),
            ("2020", "Very Good - Refurbished"),
            ("2030", "Good - Refurbished"),
            ("2500", "Seller refurbished"),
            ("2750", "Like New"),
            ("2990", "Pre-owned - Excellent"),
            ("3000", "Used"),
            ("3010", "Pre-owned - Fair"),
            ("4000", "Very Good"),
            ("5000", "Good"),
            ("6000", "Acceptable"),
            ("7000", "For parts or not working"),
        ] {
            assert_eq!(super::condition_name(id), Some(name), "{id}");
        }
        assert_eq!(super::condition_name("9999"), None);
    }
}
