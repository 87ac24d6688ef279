//! Shopify: the product export, in its classic form (Handle, Title, Body
//! (HTML), Option1 Value, Variant SKU, Variant Price, Variant Inventory Qty,
//! Image Src, Published, Status) and its 2024 form (URL handle, Description,
//! SKU, Price, Inventory quantity, Product image URL, Published on online
//! store, Status).
//!
//! One product spans several consecutive rows sharing a handle: the first
//! carries the product (title, description, category, status) and its first
//! variant; the next rows carry more variants, or only an image. Every
//! variant is a listing and inherits the product's fields; image-only rows
//! are not listings (`Ignored`). Only the current product is remembered, so
//! memory does not grow with the file; rows of one product must be
//! consecutive, as Shopify writes them.
//!
//! Key: the variant SKU, else the handle plus the option values
//! (`tee-shirt/Red/M`; just the handle for a product without options, whose
//! only option value is Shopify's "Default Title").
//!
//! Status: the Status column (active, draft, archived -> ended, unlisted ->
//! active); when it is empty, Published (TRUE -> active, FALSE -> inactive).

use super::base::{Base, Profile, ProfileSpec};
use super::row::Row;
use super::values::{self, MAX_CATEGORY, MAX_DESCRIPTION, MAX_TITLE};
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "shopify",
    signature: &[
        "handle",
        "url handle",
        "body (html)",
        "variant sku",
        "variant price",
        "variant inventory qty",
        "variant inventory tracker",
        "variant compare at price",
        "variant grams",
        "option1 name",
        "option1 value",
        "image src",
        "product image url",
        "published on online store",
        "compare-at price",
        "inventory quantity",
        "gift card",
        "vendor",
        "seo title",
    ],
    expected: "Handle, Title, Body (HTML), Option1 Value, Variant SKU, Variant Price, Variant \
               Inventory Qty, Image Src (or the newer URL handle, SKU, Price, Inventory quantity)",
    key_fallback: &[],
    build: |base, options| Ok(Box::new(Shopify::new(base, options)?)),
};

/// Product-level fields of the current product (its first row).
struct Product {
    handle: String,
    line: u64,
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    status: Option<String>,
    /// The first row was rejected for one of these fields.
    broken: bool,
}

pub(super) struct Shopify {
    base: Base,
    handle: Option<usize>,
    published: Vec<usize>,
    options: Vec<usize>,
    /// Variant columns not imported but telling a variant row from an
    /// image-only row.
    variant_marks: Vec<usize>,
    current: Option<Product>,
}

fn dialect(s: &str) -> Option<&'static str> {
    // "Unlisted": active, reachable by its link only.
    s.eq_ignore_ascii_case("unlisted").then_some("active")
}

impl Shopify {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Shopify, MappingError> {
        let handle = base.header.take(&["handle", "url handle"]);
        base.take(Field::Sku, &["variant sku", "sku"]);
        base.take(Field::Title, &["title"]);
        base.take(
            Field::Description,
            &["body (html)", "body html", "description"],
        );
        base.take(Field::Price, &["variant price", "price"]);
        base.take(
            Field::Quantity,
            &["variant inventory qty", "inventory quantity"],
        );
        base.take(
            Field::Category,
            &["product category", "type", "product type"],
        );
        base.take(Field::Status, &["status"]);
        let published = base
            .header
            .take_all(&["published", "published on online store"]);
        let option_cols: Vec<usize> = ["option1 value", "option2 value", "option3 value"]
            .iter()
            .filter_map(|a| base.header.take(&[a]))
            .collect();
        let variant_marks = [
            "variant compare at price",
            "compare-at price",
            "variant barcode",
            "barcode",
            "variant grams",
            "weight value (grams)",
        ]
        .iter()
        .filter_map(|a| base.header.find(&[a]))
        .collect();
        base.resolve_key(options)?;
        if base.key_override.is_none() && handle.is_none() && base.cols.one(Field::Sku).is_none() {
            return Err(base.no_key_column(
                "shopify",
                "\"Variant SKU\", else \"Handle\" plus the option values",
            ));
        }
        Ok(Shopify {
            base,
            handle,
            published,
            options: option_cols,
            variant_marks,
            current: None,
        })
    }

    fn status(&self, row: &mut Row) -> Option<String> {
        let status_cols = self.base.cols.get(Field::Status);
        if row.first(status_cols).is_some() {
            return row.status(status_cols, dialect);
        }
        let (col, v) = row.first(&self.published)?;
        match values::parse_flag(v) {
            Some(true) => Some("active".into()),
            Some(false) => Some("inactive".into()),
            None => {
                row.error(col, format!("{v:?} is not TRUE or FALSE"));
                None
            }
        }
    }

    fn sku_col(&self) -> Option<usize> {
        self.base.cols.one(Field::Sku)
    }
}

impl Profile for Shopify {
    fn map(&mut self, fields: &[&str], line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let handle = row.get(self.handle);
        let title_cols = b.cols.get(Field::Title);
        let variant_data = [
            self.options.as_slice(),
            b.cols.get(Field::Sku),
            b.cols.get(Field::Price),
            b.cols.get(Field::Quantity),
            self.variant_marks.as_slice(),
        ]
        .iter()
        .any(|cols| row.first(cols).is_some());
        if row.first(title_cols).is_none() && !variant_data {
            return RowOutcome::Ignored {
                reason: format!(
                    "image-only row of product {:?}: not a listing",
                    handle.unwrap_or("")
                ),
            };
        }

        // Product-level fields: this row's own, else the product's.
        let title = row.text(title_cols, MAX_TITLE);
        let description = row.text(b.cols.get(Field::Description), MAX_DESCRIPTION);
        let category = row.text(b.cols.get(Field::Category), MAX_CATEGORY);
        let status = self.status(&mut row);
        let own_errors = !row.errors.is_empty();
        let same_product = matches!((&self.current, handle), (Some(p), Some(h)) if p.handle == h);
        let mut out = ListingRow::default();
        if same_product {
            let p = self.current.as_ref().expect("the current product");
            if p.broken {
                row.row_error(format!(
                    "the first row of product {:?} (line {}) was rejected, and this variant \
                     inherits its title, description and status",
                    p.handle, p.line
                ));
            }
            out.title = title.or_else(|| p.title.clone());
            out.description = description.or_else(|| p.description.clone());
            out.category = category.or_else(|| p.category.clone());
            out.status = status.or_else(|| p.status.clone());
        } else {
            let product = Product {
                handle: handle.unwrap_or("").to_string(),
                line,
                title: title.clone(),
                description: description.clone(),
                category: category.clone(),
                status: status.clone(),
                broken: own_errors,
            };
            self.current = handle.is_some().then_some(product);
            out.title = title;
            out.description = description;
            out.category = category;
            out.status = status;
        }

        // Variant fields and the key.
        out.sku = if let Some(k) = b.key_override {
            row.key(&[Some(k)], &b.empty_words(k))
        } else if let Some(k) = row.key_from(self.sku_col()) {
            k
        } else if let (Some(h), Some(hcol)) = (handle, self.handle) {
            let opts: Vec<&str> = self
                .options
                .iter()
                .filter_map(|&c| row.get(Some(c)))
                .collect();
            let default_only = matches!(opts[..], [o] if o.eq_ignore_ascii_case("Default Title"));
            let key = if opts.is_empty() || default_only {
                h.to_string()
            } else {
                format!("{h}/{}", opts.join("/"))
            };
            if let Err(e) = values::check_key(&key) {
                row.error(hcol, e);
            }
            key
        } else {
            let names: Vec<String> = [self.sku_col(), self.handle]
                .iter()
                .flatten()
                .map(|&c| format!("{:?}", b.header.name(c)))
                .collect();
            let verb = if names.len() > 1 { "are" } else { "is" };
            row.key(
                &[self.sku_col(), self.handle],
                &format!("{} {verb} empty", names.join(" and ")),
            )
        };
        let (price, currency) =
            row.price_and_currency(b.cols.get(Field::Price), &[], b.currencies());
        out.price = price;
        out.currency = currency;
        out.quantity = row.quantity(b.cols.get(Field::Quantity));
        row.finish(out)
    }

    fn key_description(&self) -> String {
        self.base.override_description().unwrap_or_else(|| {
            let h = &self.base.header;
            match (self.sku_col(), self.handle) {
                (Some(s), Some(hd)) => format!(
                    "{:?}, else {:?} plus the option values",
                    h.name(s),
                    h.name(hd)
                ),
                (Some(s), None) => format!("{:?}", h.name(s)),
                (None, Some(hd)) => format!("{:?} plus the option values", h.name(hd)),
                (None, None) => String::new(),
            }
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

    const CLASSIC: &str = "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Grams,Variant Inventory Qty,Variant Price,Variant Compare At Price,Image Src,Image Position,Status";

    #[test]
    fn variants_inherit_the_product_and_image_rows_are_ignored() {
        let mut m = mapping(CLASSIC, None, &currency("usd"));
        assert_eq!(m.kind, ProfileKind::Shopify);
        assert_eq!(
            m.key_description(),
            "\"Variant SKU\", else \"Handle\" plus the option values"
        );
        let first = listing(
            &mut m,
            "tee-shirt,Organic tee 👕,\"<p>Soft, <b>organic</b> cotton</p>\",Acme,Apparel > Shirts,Shirts,\"tee, cotton\",TRUE,Color,Red,Size,S,TEE-RED-S,200,5,19.99,,https://cdn.example/tee-1.jpg,1,active",
        );
        assert_eq!(
            first,
            ListingRow {
                sku: "TEE-RED-S".into(),
                title: Some("Organic tee 👕".into()),
                description: Some("<p>Soft, <b>organic</b> cotton</p>".into()),
                price: Some("19.99".into()),
                currency: Some("USD".into()),
                quantity: Some(5),
                status: Some("active".into()),
                category: Some("Apparel > Shirts".into()),
                ..Default::default()
            }
        );
        let second = listing(&mut m, "tee-shirt,,,,,,,,,Red,,M,,200,0,21.00,,,,");
        assert_eq!(second.sku, "tee-shirt/Red/M", "no SKU: handle plus options");
        assert_eq!(second.title, first.title);
        assert_eq!(second.description, first.description);
        assert_eq!(second.category, first.category);
        assert_eq!(second.status.as_deref(), Some("active"));
        assert_eq!(second.price.as_deref(), Some("21.00"));
        assert_eq!(second.quantity, Some(0));
        let reason = ignored(
            &mut m,
            "tee-shirt,,,,,,,,,,,,,,,,,https://cdn.example/tee-2.jpg,2,",
        );
        assert!(reason.contains("image-only") && reason.contains("tee-shirt"));
        // The next product starts fresh: nothing leaks from the tee.
        let mug = listing(
            &mut m,
            "mug,Mug,,Acme,,Kitchen,,FALSE,Title,Default Title,,,,350,3,8.50,,,,",
        );
        assert_eq!(
            mug.sku, "mug",
            "a product without options is keyed by its handle"
        );
        assert_eq!(mug.category.as_deref(), Some("Kitchen"), "Type as fallback");
        assert_eq!(mug.description, None);
        assert_eq!(mug.status.as_deref(), Some("inactive"), "Published FALSE");
    }

    #[test]
    fn status_words_and_published_flags() {
        let mut m = mapping(CLASSIC, None, &MapOptions::default());
        for (status, published, want) in [
            ("draft", "TRUE", "draft"),
            ("archived", "TRUE", "ended"),
            ("unlisted", "", "active"),
            ("", "TRUE", "active"),
            ("", "false", "inactive"),
        ] {
            let row = listing(
                &mut m,
                &format!(
                    "p-{status}{published},P,,,,,,{published},,,,,SKU-{status}{published},,1,1,,,,{status}"
                ),
            );
            assert_eq!(row.status.as_deref(), Some(want), "{status}/{published}");
        }
        let e = rejected(&mut m, "p-bad,P,,,,,,maybe,,,,,SKU-X,,1,1,,,,");
        assert_eq!(e[0].column_name.as_deref(), Some("Published"));
    }

    #[test]
    fn a_rejected_product_row_rejects_its_variants() {
        let mut m = mapping(CLASSIC, None, &MapOptions::default());
        let long = "T".repeat(501);
        let e = rejected(
            &mut m,
            &format!("lamp,{long},,,,,,TRUE,Color,Red,,,LAMP-R,,1,10,,,,active"),
        );
        assert_eq!(e[0].column_name.as_deref(), Some("Title"));
        let e = rejected(&mut m, "lamp,,,,,,,,,Blue,,,LAMP-B,,1,10,,,,");
        assert!(e[0].reason.contains("line 2"), "{e:?}");
    }

    #[test]
    fn a_variant_without_sku_or_handle_is_rejected() {
        let mut m = mapping(CLASSIC, None, &MapOptions::default());
        let e = rejected(&mut m, ",Lamp,,,,,,TRUE,,,,,,,1,10,,,,active");
        assert!(
            e[0].reason
                .contains("\"Variant SKU\" and \"Handle\" are empty"),
            "{e:?}"
        );
        assert!(e[0].reason.contains("--key"));
    }

    #[test]
    fn negative_inventory_is_rejected() {
        let mut m = mapping(CLASSIC, None, &MapOptions::default());
        let e = rejected(&mut m, "cap,Cap,,,,,,TRUE,,,,,CAP-1,,-2,10,,,,active");
        assert_eq!(e[0].column_name.as_deref(), Some("Variant Inventory Qty"));
        assert!(e[0].reason.contains("negative"));
    }

    #[test]
    fn the_2024_header_dialect() {
        let mut m = mapping(
            "Title,URL handle,Description,Vendor,Product category,Type,Tags,Published on online store,Status,SKU,Barcode,Option1 name,Option1 value,Option2 name,Option2 value,Price,Compare-at price,Inventory quantity,Product image URL,Image position",
            None,
            &MapOptions::default(),
        );
        assert_eq!(m.kind, ProfileKind::Shopify);
        let row = listing(
            &mut m,
            "Wool hat,wool-hat,<p>Warm</p>,Acme,Apparel > Hats,Hats,,TRUE,Active,HAT-GRY,,Color,Grey,,,$24.00,,7,https://cdn.example/hat.jpg,1",
        );
        assert_eq!(row.sku, "HAT-GRY");
        assert_eq!(row.price.as_deref(), Some("24.00"));
        assert_eq!(row.currency.as_deref(), Some("USD"));
        assert_eq!(row.quantity, Some(7));
        let next = listing(&mut m, ",wool-hat,,,,,,,,,,,Navy,,,24.00,,2,,");
        assert_eq!(next.sku, "wool-hat/Navy");
        assert_eq!(next.title.as_deref(), Some("Wool hat"));
        ignored(
            &mut m,
            ",wool-hat,,,,,,,,,,,,,,,,,https://cdn.example/hat-2.jpg,2",
        );
    }

    #[test]
    fn key_option_applies_to_variants() {
        let mut m = mapping(CLASSIC, None, &key("Variant Grams"));
        let row = listing(
            &mut m,
            "tee,Tee,,,,,,TRUE,Size,S,,,TEE-S,200,1,10,,,,active",
        );
        assert_eq!(row.sku, "200");
        ignored(&mut m, "tee,,,,,,,,,,,,,,,,,https://cdn.example/x.jpg,2,");
    }

    /// A file with a SKU column and no handle column names that one
    /// column when a row has no key.
    #[test]
    fn a_row_without_a_key_names_the_one_key_column_the_file_has() {
        let mut m = mapping(
            "Title,Variant SKU,Variant Price",
            Some(ProfileKind::Shopify),
            &MapOptions::default(),
        );
        let errors = rejected(&mut m, "Tee,,5");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .reason
                .contains("no key: \"Variant SKU\" is empty."),
            "{}",
            errors[0].reason
        );
    }
}
