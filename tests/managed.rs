//! What a managed PostgreSQL allows: the database's owner is an ordinary
//! login role (no superuser, no CREATEROLE) holding ADMIN OPTION on the two
//! group roles. It migrates an empty database, grants a seller, and an
//! import and its rollback work.

mod common;

use common::{NATIVE_HEADER, TestDb, csv_file};

#[tokio::test]
async fn a_plain_owner_migrates_imports_and_rolls_back() {
    let t = TestDb::empty().await;
    let suffix = t.name.trim_start_matches("importdesk_t_");
    let owner = format!("owner_{suffix}");
    let seller = format!("seller_{suffix}");
    // What the managed service's administrator does once (docs/operations.md).
    t.client()
        .await
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {owner}; DROP ROLE IF EXISTS {seller};
             CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB;
             CREATE ROLE {seller} LOGIN;
             ALTER DATABASE {db} OWNER TO {owner};
             DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_support') THEN
                 CREATE ROLE importdesk_support NOLOGIN; END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_seller') THEN
                 CREATE ROLE importdesk_seller NOLOGIN; END IF;
             END $$;
             GRANT importdesk_support, importdesk_seller TO {owner} WITH ADMIN OPTION;",
            db = t.name
        ))
        .await
        .unwrap();
    let as_owner = t.url().replace("user=postgres", &format!("user={owner}"));
    let as_seller = t.url().replace("user=postgres", &format!("user={seller}"));
    let cli = |url: &str, args: &[&str]| {
        let run = common::run_cli(url, args, None);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        run
    };
    let migrated = cli(&as_owner, &["db", "migrate"]);
    assert!(
        migrated.stdout.contains("applied V1__schema"),
        "{}",
        migrated.stdout
    );
    cli(&as_owner, &["db", "grant-seller", &seller, "acme"]);

    let (_d, first) = csv_file(
        "a.csv",
        &format!("{NATIVE_HEADER}k,Old,,1.00,USD,1,active,,,,\n"),
    );
    let (_d2, second) = csv_file(
        "b.csv",
        &format!("{NATIVE_HEADER}k,New,,2.00,USD,1,active,,,,\n"),
    );
    cli(
        &as_owner,
        &["import", first.to_str().unwrap(), "--seller", "acme"],
    );
    cli(
        &as_seller,
        &["import", second.to_str().unwrap(), "--seller", "acme"],
    );
    let rolled = cli(
        &as_owner,
        &["rollback", "--last", "--seller", "acme", "--yes", "--json"],
    );
    assert_eq!(rolled.json()["restored"], 1, "{}", rolled.stdout);
    let title: String = t
        .client()
        .await
        .query_one("SELECT title FROM listings WHERE sku = 'k'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "Old");
    let owner_is_plain: (bool, bool) = {
        let r = t
            .client()
            .await
            .query_one(
                "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1",
                &[&owner],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(owner_is_plain, (false, false));
}
