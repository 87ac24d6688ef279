//! The seller's lock as the database layer hands it out: one holder at a
//! time, per seller; `release` frees it at once; a guard dropped on an error
//! path frees it by itself.

mod common;

use std::time::{Duration, Instant};

use common::TestDb;
use importdesk::db::{Database, LockAttempt, SellerLock, Session};

async fn held(db: &Database, seller: &str) -> SellerLock {
    match db
        .session()
        .await
        .unwrap()
        .lock_seller(seller)
        .await
        .unwrap()
    {
        LockAttempt::Held(lock) => lock,
        LockAttempt::Busy(_) => panic!("the lock of {seller} is taken"),
    }
}

async fn busy(db: &Database, seller: &str) -> Session {
    match db
        .session()
        .await
        .unwrap()
        .lock_seller(seller)
        .await
        .unwrap()
    {
        LockAttempt::Held(_) => panic!("the lock of {seller} is free"),
        LockAttempt::Busy(session) => session,
    }
}

#[tokio::test]
async fn one_holder_per_seller_and_release_frees_it_at_once() {
    let t = TestDb::new().await;
    let lock = held(&t.db, "acme").await;
    assert_eq!(lock.seller(), "acme");
    let other = busy(&t.db, "acme").await;
    // Another seller is not held up.
    let globex = held(&t.db, "globex").await;
    let session = lock.release().await;
    match other.lock_seller("acme").await.unwrap() {
        LockAttempt::Held(lock) => drop(lock.release().await),
        LockAttempt::Busy(_) => panic!("release did not free the lock"),
    }
    // The released session can take it again.
    assert!(matches!(
        session.lock_seller("acme").await.unwrap(),
        LockAttempt::Held(_)
    ));
    drop(globex);
}

#[tokio::test]
async fn a_dropped_guard_frees_the_lock_by_itself() {
    let t = TestDb::new().await;
    let lock = held(&t.db, "acme").await;
    let mut waiting = busy(&t.db, "acme").await;
    // As on an error path: the guard goes without `release`.
    drop(lock);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match waiting.lock_seller("acme").await.unwrap() {
            LockAttempt::Held(_) => break,
            LockAttempt::Busy(s) => waiting = s,
        }
        assert!(Instant::now() < until, "the dropped guard kept the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
