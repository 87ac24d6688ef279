//! The listings area's guards, for what its tests left unasserted in the
//! 2026-11-30 sample: paging of a seller's listings and of one listing's
//! timeline (a page shorter than its limit is the last one, a full page
//! points at the next), and a restore that meets the listing inserted by
//! someone else meanwhile.

use importdesk::domain::import::run;
use importdesk::domain::listings::{BrowseFilter, BrowseOrder, browse, timeline};

use crate::common::session::{a_backend_waits_on_a_lock, finish, spawn_cli};
use crate::common::{NATIVE_HEADER, TestDb, csv_file, texts};
use crate::import_outcomes::request;

#[tokio::test]
async fn a_page_shorter_than_its_limit_is_the_last_and_a_full_one_points_at_the_next() {
    let t = TestDb::new().await;
    let csv = format!(
        "{NATIVE_HEADER}P-1,Lamp,,1.00,USD,1,active,new,,,\n\
         P-2,Mug,,2.00,USD,1,active,new,,,\n\
         P-3,Bike,,3.00,USD,1,active,new,,,\n"
    );
    let (_dir, path) = csv_file("paging.csv", &csv);
    run(&t.db, request(&path, "pager", false, false), None)
        .await
        .expect("import");

    for order in [BrowseOrder::Sku, BrowseOrder::LastChange] {
        let page = |limit| BrowseFilter {
            seller: "pager".into(),
            search: None,
            status: None,
            order,
            after: None,
            limit,
        };
        let full = browse(&t.db, &page(2)).await.unwrap();
        assert_eq!(full.listings.len(), 2);
        let next = full.next.clone().expect("a full page points at the next");
        let rest = browse(
            &t.db,
            &BrowseFilter {
                after: Some(next),
                ..page(2)
            },
        )
        .await
        .unwrap();
        assert_eq!(rest.listings.len(), 1, "{order:?}");
        assert!(rest.next.is_none(), "{order:?}: the last page points on");
        let all = browse(&t.db, &page(4)).await.unwrap();
        assert_eq!(all.listings.len(), 3);
        assert!(all.next.is_none(), "{order:?}: a short page points on");
    }

    // P-1 has one change, its creation by the import.
    let one = timeline(&t.db, "pager", "P-1", None, 1).await.unwrap();
    assert_eq!(one.changes.len(), 1);
    assert_eq!(one.next_before, Some(one.changes[0].change_id));
    let short = timeline(&t.db, "pager", "P-1", None, 5).await.unwrap();
    assert_eq!(short.changes.len(), 1);
    assert_eq!(short.next_before, None, "a short timeline page points on");
}

#[tokio::test]
async fn a_restore_that_meets_the_listing_inserted_meanwhile_says_it_changed() {
    let t = TestDb::new().await;
    let csv = format!("{NATIVE_HEADER}R-1,Lamp,,1.00,USD,1,active,new,,,\n");
    let (_dir, path) = csv_file("race.csv", &csv);
    run(&t.db, request(&path, "racer", false, false), None)
        .await
        .expect("import");
    let owner = t.client().await;
    owner
        .execute(
            "DELETE FROM listings WHERE seller_id = 'racer' AND sku = 'R-1'",
            &[],
        )
        .await
        .unwrap();
    let deletion = timeline(&t.db, "racer", "R-1", None, 10)
        .await
        .unwrap()
        .changes[0]
        .change_id;

    // Someone inserts R-1 again and has not committed yet: the restore,
    // which planned to recreate it, waits on the key, then meets it.
    owner.batch_execute("BEGIN").await.unwrap();
    owner
        .execute(
            "INSERT INTO listings (seller_id, sku, title) VALUES ('racer', 'R-1', 'Theirs')",
            &[],
        )
        .await
        .unwrap();
    let change = deletion.to_string();
    let restore = spawn_cli(
        &t.url(),
        &[
            "listing",
            "R-1",
            "--seller",
            "racer",
            "--restore-before",
            &change,
            "--yes",
            "--json",
        ],
    );
    assert!(
        a_backend_waits_on_a_lock(&owner).await,
        "the restore never waited for the uncommitted listing"
    );
    owner.batch_execute("COMMIT").await.unwrap();
    let out = finish(restore);
    // Refused (exit 3) as a listing changed since it was planned, not failed
    // with the database's duplicate-key error.
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(r#""refused":"listing_changed""#),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        texts(&t, "SELECT title FROM listings WHERE seller_id = 'racer'").await,
        ["Theirs"]
    );
}
