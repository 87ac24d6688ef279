//! A rollback's delete and restore name the seller in their condition and
//! compare the whole listing row, `seller_id` included, with the import's
//! after-image. Either guard alone keeps another seller's listing out, so
//! dropping one is an equivalent mutant; these tests catch a statement
//! that drops the seller from both: another seller holds a listing equal to
//! the import's after-image in every column but the seller (timestamps
//! included, copied by hand), and the rollback leaves it as it was.

use serde_json::Value;

use super::{priced, rollback_counts, rows_by_sku};
use crate::common::{TestDb, csv_file, import_json};

/// Copies `from`'s listings `skus` to `to`, every column but the seller as
/// it is (what no import could make: its timestamps are its own).
async fn copy_listings(t: &TestDb, from: &str, to: &str, skus: &[&str]) {
    let skus: Vec<String> = skus.iter().map(|s| s.to_string()).collect();
    let copied = t
        .client()
        .await
        .execute(
            "INSERT INTO listings (seller_id, sku, title, description, price, currency, quantity,
                                   status, condition, category, listing_number, end_date,
                                   created_at, updated_at)
             SELECT $2, sku, title, description, price, currency, quantity, status, condition,
                    category, listing_number, end_date, created_at, updated_at
               FROM listings WHERE seller_id = $1 AND sku = ANY($3)",
            &[&from, &to, &skus],
        )
        .await
        .unwrap();
    assert_eq!(copied as usize, skus.len());
}

/// acme's second import updates S1 and creates S3; globex then holds
/// lookalikes of both (acme's after-images but for the seller). Rolling
/// back acme's import restores acme's S1, deletes acme's S3, and leaves
/// globex's two listings exactly as they were.
#[tokio::test]
async fn a_rollback_leaves_another_sellers_lookalike_of_its_after_images() {
    let t = TestDb::new().await;
    let (_d1, first) = csv_file(
        "acme1.csv",
        &priced(&[("S1", "lamp", "1.00"), ("S2", "mug", "2.00")]),
    );
    import_json(&t, &first, "acme", &[], 0);
    let acme_before = rows_by_sku(&t, "acme").await;
    let (_d2, second) = csv_file(
        "acme2.csv",
        &priced(&[
            ("S1", "lamp v2", "1.50"),
            ("S2", "mug", "2.00"),
            ("S3", "vase", "3.00"),
        ]),
    );
    let second = import_json(&t, &second, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();

    copy_listings(&t, "acme", "globex", &["S1", "S3"]).await;
    let globex = rows_by_sku(&t, "globex").await;
    let acme_after = rows_by_sku(&t, "acme").await;
    for sku in ["S1", "S3"] {
        let mut lookalike = globex[sku].clone();
        lookalike["seller_id"] = Value::from("acme");
        assert_eq!(lookalike, acme_after[sku], "{sku} differs only by seller");
    }

    let run = t.cli(&["rollback", &second.to_string(), "--yes", "--json"]);
    assert_eq!(
        rollback_counts(&run),
        (1, 1, 0),
        "acme's S1 restored, S3 deleted"
    );
    assert_eq!(rows_by_sku(&t, "acme").await, acme_before);
    assert_eq!(
        rows_by_sku(&t, "globex").await,
        globex,
        "globex's lookalikes are not acme's listings"
    );
}

/// acme's first import creates all of acme's listings (the deletion's merge
/// joins, where the seller's listings are read in key order); globex then
/// holds lookalikes of both. Rolling it back deletes acme's two and leaves
/// globex's.
#[tokio::test]
async fn rolling_back_a_first_import_leaves_another_sellers_lookalikes() {
    let t = TestDb::new().await;
    let (_d1, first) = csv_file(
        "acme1.csv",
        &priced(&[("S1", "lamp", "1.00"), ("S2", "mug", "2.00")]),
    );
    let first = import_json(&t, &first, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    copy_listings(&t, "acme", "globex", &["S1", "S2"]).await;
    let globex = rows_by_sku(&t, "globex").await;
    assert_eq!(globex.len(), 2);

    let run = t.cli(&["rollback", &first.to_string(), "--yes", "--json"]);
    assert_eq!(rollback_counts(&run), (0, 2, 0), "acme's S1 and S2 deleted");
    assert!(rows_by_sku(&t, "acme").await.is_empty());
    assert_eq!(
        rows_by_sku(&t, "globex").await,
        globex,
        "globex's lookalikes are not acme's listings"
    );
}
