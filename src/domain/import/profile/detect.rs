//! `auto`: which profile a header belongs to.
//!
//! Each marketplace has headers no other layout uses; the profile with the
//! most of them (at least two) wins. Without a marketplace match, a header
//! with a `sku` column (or any header with `--key`) is native.

use super::header::Header;
use super::{MapOptions, MappingError, ProfileKind};

/// At least this many distinctive headers pick a marketplace profile.
const THRESHOLD: usize = 2;

/// How many of `kind`'s distinctive headers `header` has.
pub(super) fn score(header: &Header, signature: &[&str]) -> usize {
    let mut n = signature.iter().filter(|s| header.has_any(&[s])).count();
    // eBay File Exchange's "*Action(SiteID=US|...|Currency=USD)" column.
    if signature.contains(&"item number") && header.any(|h| h.starts_with("action(")) {
        n += THRESHOLD;
    }
    n
}

pub(super) fn detect(header: &Header, options: &MapOptions) -> Result<ProfileKind, MappingError> {
    let scores: Vec<(ProfileKind, usize)> = ProfileKind::all()
        .iter()
        .filter(|kind| !kind.spec().signature.is_empty())
        .map(|kind| (*kind, score(header, kind.spec().signature)))
        .collect();
    let best = scores.iter().map(|&(_, s)| s).max().unwrap_or(0);
    if best >= THRESHOLD {
        let winners: Vec<ProfileKind> = scores
            .iter()
            .filter(|&&(_, s)| s == best)
            .map(|&(k, _)| k)
            .collect();
        if let [kind] = winners[..] {
            return Ok(kind);
        }
        return Err(MappingError {
            message: format!(
                "the header fits several profiles ({}) equally well; choose one with --profile",
                winners
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if header.has_any(&["sku"]) || options.key_column.is_some() {
        return Ok(ProfileKind::Native);
    }
    let expected = ProfileKind::all()
        .iter()
        .map(|kind| format!("{}: {}", kind.name(), kind.spec().expected))
        .collect::<Vec<_>>()
        .join("; ");
    Err(MappingError {
        message: format!(
            "cannot tell from the header which kind of file this is. Expected columns by \
             profile: {expected}. The file's columns are: {}. Choose the profile with \
             --profile P, and the key with --key COLUMN",
            header.listing()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;

    fn detected(header: &str) -> ProfileKind {
        let m = mapping(header, None, &MapOptions::default());
        assert!(m.detected);
        m.kind
    }

    #[test]
    fn each_export_is_recognised_from_its_header() {
        assert_eq!(
            detected("sku,title,price,currency,quantity"),
            ProfileKind::Native
        );
        assert_eq!(
            detected(
                "Item number,Title,Variation details,Custom label (SKU),Available quantity,Format,Currency,Start price,Current price"
            ),
            ProfileKind::Ebay
        );
        assert_eq!(
            detected("Item ID,Custom Label,Quantity Available,Price,Item Title,End Date"),
            ProfileKind::Ebay
        );
        assert_eq!(
            detected(
                "*Action(SiteID=US|Country=US|Currency=USD|Version=1193),CustomLabel,*Title,*StartPrice,*Quantity"
            ),
            ProfileKind::Ebay
        );
        assert_eq!(
            detected("TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,SKU"),
            ProfileKind::Etsy
        );
        assert_eq!(
            detected(
                "Handle,Title,Body (HTML),Vendor,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src"
            ),
            ProfileKind::Shopify
        );
        assert_eq!(
            detected(
                "Title,URL handle,Description,Vendor,SKU,Option1 name,Option1 value,Price,Inventory quantity"
            ),
            ProfileKind::Shopify
        );
        assert_eq!(
            detected(
                "ID,Type,SKU,Name,Published,Is featured?,Regular price,Sale price,Stock,Categories,Parent"
            ),
            ProfileKind::Woocommerce
        );
        assert_eq!(
            detected(
                "sku,store_view_code,attribute_set_code,product_type,name,price,qty,product_online"
            ),
            ProfileKind::Magento
        );
    }

    #[test]
    fn an_unknown_header_names_what_each_profile_expects() {
        let e = mapping_err("colour,size,weight", None, &MapOptions::default());
        for needle in [
            "native: sku",
            "ebay:",
            "Custom label (SKU)",
            "etsy:",
            "shopify:",
            "Variant SKU",
            "woocommerce:",
            "Regular price",
            "magento:",
            "\"colour\", \"size\", \"weight\"",
            "--profile",
            "--key",
        ] {
            assert!(e.contains(needle), "{needle:?} missing from {e}");
        }
    }

    #[test]
    fn key_option_makes_an_unknown_header_native() {
        let mut m = mapping("colour,size", None, &key("colour"));
        assert_eq!(m.kind, ProfileKind::Native);
        assert_eq!(listing(&mut m, "red,M").sku, "red");
        assert_eq!(m.unknown_columns, vec!["size".to_string()]);
    }

    #[test]
    fn file_exchanges_action_column_alone_makes_a_header_ebay() {
        // No other eBay header: "SKU" alone would be native.
        let m = mapping(
            "*Action(SiteID=US|Country=US|Currency=USD|Version=1193),SKU,*Title",
            None,
            &MapOptions::default(),
        );
        assert!(m.detected);
        assert_eq!(m.kind, ProfileKind::Ebay);
    }
}
