//! WooCommerce: the product CSV export (ID, Type, SKU, Name, Published,
//! Short description, Description, Regular price, Sale price, Stock,
//! Categories, Parent, ...). Key: SKU. listing_number: ID.
//!
//! - Price is "Regular price" (the list price); "Sale price" may be limited
//!   to dates the file does not settle, so it is not imported (reported as
//!   an unknown column).
//! - A variable or grouped product without a price is the parent of other
//!   rows, not a listing: `Ignored`. Its variations are listings; a
//!   variation whose Parent is the latest parent (`id:42` or its SKU)
//!   inherits its description and categories when its own are empty (only
//!   the latest parent is remembered: memory does not grow with the file).
//! - Published: 1 -> active, 0 -> inactive (private), -1 -> draft.
//! - The exporter's own escapes are undone: a line break in a description
//!   is written as the two characters `\n` (and a literal `\n` as `\\n`),
//!   and a value starting with `=`, `+`, `-` or `@` gets a `'` in front
//!   (spreadsheet formula protection).

use super::base::{Base, Profile, ProfileSpec};
use super::row::Row;
use super::{Field, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) const PROFILE: ProfileSpec = ProfileSpec {
    name: "woocommerce",
    signature: &[
        "regular price",
        "sale price",
        "in stock?",
        "is featured?",
        "visibility in catalog",
        "short description",
        "tax status",
        "tax class",
        "backorders allowed?",
        "sold individually?",
        "grouped products",
        "upsells",
        "cross-sells",
        "attribute 1 name",
        "low stock amount",
        "allow customer reviews?",
        "date sale price starts",
        "purchase note",
    ],
    expected: "ID, Type, SKU, Name, Published, Regular price, Sale price, Stock, Categories, Parent",
    key_fallback: &[],
    build: |base, options| Ok(Box::new(Woocommerce::new(base, options)?)),
};

const COLUMNS: [(Field, &[&str]); 9] = [
    (Field::Sku, &["sku"]),
    (Field::ListingNumber, &["id"]),
    (Field::Title, &["name"]),
    (Field::Description, &["description", "short description"]),
    (Field::Price, &["regular price"]),
    (Field::Currency, &["currency"]),
    (Field::Quantity, &["stock"]),
    (Field::Status, &["published"]),
    (Field::Category, &["categories"]),
];

struct Parent {
    id: Option<String>,
    sku: Option<String>,
    description: Option<String>,
    category: Option<String>,
}

pub(super) struct Woocommerce {
    base: Base,
    kind: Option<usize>,
    parent: Option<usize>,
    last_parent: Option<Parent>,
}

fn dialect(s: &str) -> Option<&'static str> {
    match s {
        "1" => Some("active"),
        "0" => Some("inactive"),
        "-1" => Some("draft"),
        _ => None,
    }
}

impl Woocommerce {
    pub fn new(mut base: Base, options: &MapOptions) -> Result<Woocommerce, MappingError> {
        base.take_all(&COLUMNS);
        let kind = base.header.take(&["type"]);
        let parent = base.header.take(&["parent"]);
        base.require_sku_key(options, "woocommerce", "the \"SKU\" column")?;
        Ok(Woocommerce {
            base,
            kind,
            parent,
            last_parent: None,
        })
    }
}

/// Drops the `'` WooCommerce puts before a value starting with `=`, `+`,
/// `-` or `@`.
fn unprotect(value: &mut String) {
    let mut chars = value.chars();
    if chars.next() == Some('\'')
        && matches!(chars.next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
    {
        value.remove(0);
    }
}

/// `\n` -> line break, `\\n` -> a literal `\n`: the exporter's escapes.
fn unescape_newlines(s: &str) -> String {
    if !s.contains("\\n") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("\\\\n") {
            out.push_str("\\n");
            rest = r;
        } else if let Some(r) = after.strip_prefix("\\n") {
            out.push('\n');
            rest = r;
        } else {
            out.push('\\');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

fn has_type(types: &str, wanted: &str) -> bool {
    types
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(wanted))
}

impl Profile for Woocommerce {
    fn map(&mut self, fields: &[&str], _line: u64) -> RowOutcome {
        let b = &self.base;
        let mut row = Row::new(fields, &b.header);
        let types = row.get(self.kind).unwrap_or("");
        let is_parent = has_type(types, "variable") || has_type(types, "grouped");
        if is_parent {
            self.last_parent = Some(Parent {
                id: row
                    .get(b.cols.one(Field::ListingNumber))
                    .map(str::to_string),
                sku: row.get(b.cols.one(Field::Sku)).map(str::to_string),
                description: row.first(b.cols.get(Field::Description)).map(|(_, v)| {
                    let mut d = v.to_string();
                    unprotect(&mut d);
                    unescape_newlines(&d)
                }),
                category: row.get(b.cols.one(Field::Category)).map(str::to_string),
            });
            if row.first(b.cols.get(Field::Price)).is_none() {
                return RowOutcome::Ignored {
                    reason: format!(
                        "{} product {:?} has no price of its own: its variations or grouped \
                         products are the listings",
                        types.trim(),
                        row.get(b.cols.one(Field::Sku))
                            .or(row.get(b.cols.one(Field::Title)))
                            .unwrap_or("")
                    ),
                };
            }
        }
        let mut out = ListingRow {
            sku: self.key_of(&mut row),
            ..Default::default()
        };
        row.fill(&mut out, &b.cols, b.currencies(), dialect);
        unprotect(&mut out.sku);
        for text in [&mut out.title, &mut out.category].into_iter().flatten() {
            unprotect(text);
        }
        if let Some(d) = &mut out.description {
            unprotect(d);
            *d = unescape_newlines(d);
        }
        if has_type(types, "variation")
            && let (Some(parent), Some(p)) = (row.get(self.parent), &self.last_parent)
        {
            let matches = p.id.as_deref().is_some_and(|id| {
                parent.strip_prefix("id:").is_some_and(|x| x.trim() == id) || parent == id
            }) || p.sku.as_deref() == Some(parent);
            if matches {
                if out.description.is_none() {
                    out.description = p.description.clone();
                }
                if out.category.is_none() {
                    out.category = p.category.clone();
                }
            }
        }
        row.finish(out)
    }

    fn base(&self) -> &Base {
        &self.base
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;

    const HEADER: &str = "ID,Type,SKU,Name,Published,Is featured?,Visibility in catalog,Short description,Description,In stock?,Stock,Sale price,Regular price,Categories,Tags,Images,Parent,Attribute 1 name,Attribute 1 value(s)";

    #[test]
    fn simple_products_map_with_sku_as_key() {
        let mut m = mapping(HEADER, None, &currency("EUR"));
        assert_eq!(m.kind, ProfileKind::Woocommerce);
        let row = listing(
            &mut m,
            "101,simple,BEANIE-1,Beanie,1,0,visible,Warm.,\"<p>Knitted, 100% wool</p>\",1,12,15,\"1,299.00\",\"Clothing > Accessories\",winter,,,,",
        );
        assert_eq!(
            row,
            ListingRow {
                sku: "BEANIE-1".into(),
                title: Some("Beanie".into()),
                description: Some("<p>Knitted, 100% wool</p>".into()),
                price: Some("1299.00".into()),
                currency: Some("EUR".into()),
                quantity: Some(12),
                status: Some("active".into()),
                category: Some("Clothing > Accessories".into()),
                listing_number: Some("101".into()),
                ..Default::default()
            }
        );
        assert!(m.unknown_columns.iter().any(|c| c == "Sale price"));
        // Short description stands in for an empty description; draft is -1.
        let draft = listing(
            &mut m,
            "102,simple,CAP-1,Cap,-1,0,visible,Short one,,1,,,9,,,,,,",
        );
        assert_eq!(draft.description.as_deref(), Some("Short one"));
        assert_eq!(draft.status.as_deref(), Some("draft"));
        assert_eq!(draft.quantity, None);
        let private = listing(&mut m, "103,simple,CAP-2,Cap,0,0,visible,,,1,,,9,,,,,,");
        assert_eq!(private.status.as_deref(), Some("inactive"));
    }

    #[test]
    fn variable_parents_are_ignored_and_variations_inherit() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let reason = ignored(
            &mut m,
            "200,variable,HOODIE,Hoodie,1,0,visible,,<p>Fleece hoodie</p>,1,,,,Clothing > Hoodies,,,,Color,\"Blue, Red\"",
        );
        assert!(
            reason.contains("variable") && reason.contains("HOODIE"),
            "{reason}"
        );
        let blue = listing(
            &mut m,
            "201,variation,HOODIE-BLU,Hoodie - Blue,1,0,visible,,,1,4,,45,,,,id:200,Color,Blue",
        );
        assert_eq!(blue.sku, "HOODIE-BLU");
        assert_eq!(blue.description.as_deref(), Some("<p>Fleece hoodie</p>"));
        assert_eq!(blue.category.as_deref(), Some("Clothing > Hoodies"));
        assert_eq!(blue.price.as_deref(), Some("45"));
        // A variation of another parent inherits nothing.
        let other = listing(
            &mut m,
            "301,variation,TEE-BLU,Tee - Blue,1,0,visible,,,1,4,,15,,,,id:300,Color,Blue",
        );
        assert_eq!(other.description, None);
        ignored(&mut m, "400,grouped,SET,Set,1,0,visible,,,1,,,,,,,,,");
        // A parent row with a price is a listing after all.
        let priced = listing(&mut m, "500,variable,KIT,Kit,1,0,visible,,,1,,,30,,,,,,");
        assert_eq!(priced.price.as_deref(), Some("30"));
    }

    #[test]
    fn exporter_escapes_are_undone() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let row = listing(
            &mut m,
            "104,simple,'-20-OFF,'=Bargain,1,0,visible,,Line one\\nLine two with a literal \\\\n,1,,,5,,,,,,",
        );
        assert_eq!(row.sku, "-20-OFF");
        assert_eq!(row.title.as_deref(), Some("=Bargain"));
        assert_eq!(
            row.description.as_deref(),
            Some("Line one\nLine two with a literal \\n")
        );
        // An apostrophe before anything else is data.
        let row = listing(
            &mut m,
            "105,simple,'QUOTED,'Tis the season,1,0,visible,,,1,,,5,,,,,,",
        );
        assert_eq!(row.sku, "'QUOTED");
    }

    #[test]
    fn empty_sku_is_rejected_suggesting_key() {
        let mut m = mapping(HEADER, None, &MapOptions::default());
        let e = rejected(
            &mut m,
            "202,variation,,Hoodie - Red,1,0,visible,,,1,4,,45,,,,id:200,Color,Red",
        );
        assert_eq!(e[0].column, Some(3));
        assert!(e[0].reason.contains("--key COLUMN"));
        let mut m = mapping(HEADER, None, &key("ID"));
        let row = listing(
            &mut m,
            "202,variation,,Hoodie - Red,1,0,visible,,,1,4,,45,,,,id:200,Color,Red",
        );
        assert_eq!(row.sku, "202");
    }
}
