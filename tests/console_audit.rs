//! The audit log's `/` filter against a real database: keys through the
//! console's own `update` and worker, the list filtered in SQL as typed,
//! what row-level security lets a seller role see, and hostile text.

mod common;

use common::console::Driver;
use common::{NATIVE_HEADER, TestDb, count, csv_file, dump_listings, import_json};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use importdesk::db::Database;
use importdesk::tui::action::Action;
use importdesk::tui::screen::Screen;

const V1: &str = "A1,Alpha,,1.00,USD,1,active,new,,,\nA2,Beta,,2.00,USD,2,active,new,,,\n";
const V2: &str = "A1,Alpha v2,,1.50,USD,1,active,new,,,\nA2,Beta,,2.00,USD,2,active,new,,,\n";

/// acme: two imports, the second rolled back; globex: one import.
/// Returns (acme's rolled-back import, globex's import).
async fn three_imports(t: &TestDb) -> (i64, i64) {
    let (_d1, v1) = csv_file("v1.csv", &format!("{NATIVE_HEADER}{V1}"));
    let (_d2, v2) = csv_file("v2.csv", &format!("{NATIVE_HEADER}{V2}"));
    import_json(t, &v1, "acme", &[], 0);
    let globex = import_json(t, &v1, "globex", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let second = import_json(t, &v2, "acme", &[], 0)["import_id"]
        .as_i64()
        .unwrap();
    let run = t.cli(&["rollback", &second.to_string(), "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (second, globex)
}

fn ctrl_u() -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL))
}

impl Driver {
    /// The ids of the audit entries shown.
    fn audit_ids(&self) -> Vec<i64> {
        self.state.audit.list.rows.iter().map(|r| r.id).collect()
    }

    async fn retype(&mut self, text: &str) {
        self.act(ctrl_u()).await;
        self.type_text(text).await;
    }
}

async fn ids(t: &TestDb, condition: &str) -> Vec<i64> {
    t.client()
        .await
        .query(
            &format!("SELECT id FROM import_audit.audit_log WHERE {condition} ORDER BY id DESC"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn the_audit_filter_follows_as_you_type_and_is_answered_by_the_database() {
    let t = TestDb::new().await;
    let (rolled_back, globex) = three_imports(&t).await;
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('a')).await;
    assert_eq!(d.state.screen, Screen::Audit);
    let all = ids(&t, "true").await;
    assert_eq!(d.audit_ids(), all);

    // Words as the screen writes the action; no Enter: the list follows.
    d.key(KeyCode::Char('/')).await;
    d.type_text("rollback executed").await;
    let executed = ids(&t, "action = 'rollback executed'").await;
    assert_eq!(executed.len(), 1);
    assert_eq!(d.audit_ids(), executed);

    // `#ID`: that import's entries.
    d.retype(&format!("#{rolled_back}")).await;
    let of_import = ids(&t, &format!("import_id = {rolled_back}")).await;
    assert!(of_import.len() >= 3, "{of_import:?}");
    assert_eq!(d.audit_ids(), of_import);

    // seller:, kept with Enter and shown in the title bar.
    d.retype("seller:globex import").await;
    let of_globex = ids(&t, "seller_id = 'globex' AND action LIKE 'import%'").await;
    assert!(!of_globex.is_empty());
    assert!(
        d.state
            .audit
            .list
            .rows
            .iter()
            .all(|r| r.import_id == Some(globex))
    );
    assert_eq!(d.audit_ids(), of_globex);
    d.key(KeyCode::Enter).await;
    let screen = d.screen();
    assert!(
        screen.contains("Audit log · filter: seller:globex import"),
        "{screen}"
    );

    // since: the local day; tomorrow has nothing yet.
    let today = chrono::Local::now().date_naive();
    d.key(KeyCode::Char('/')).await;
    d.retype(&format!("since:{today}")).await;
    assert_eq!(d.audit_ids(), all);
    d.retype(&format!("since:{}", today.succ_opt().unwrap()))
        .await;
    assert_eq!(d.audit_ids(), Vec::<i64>::new());
    assert!(d.screen().contains("No entry matches the filter"));

    // actor: the OS user or the database role that acted.
    let role: String = t
        .client()
        .await
        .query_one("SELECT db_role FROM import_audit.audit_log LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    d.retype(&format!("actor:{}", role.to_uppercase())).await;
    assert_eq!(d.audit_ids(), all);
    d.retype("actor:nobody-at-all").await;
    assert_eq!(d.audit_ids(), Vec::<i64>::new());

    // What cannot be a filter says why; the list stays as it was.
    d.retype("rollback").await;
    let shown = d.audit_ids();
    assert_eq!(shown, ids(&t, "action LIKE 'rollback%'").await);
    d.type_text(" since:2026-13-01").await;
    assert_eq!(d.audit_ids(), shown);
    let screen = d.screen();
    assert!(
        screen.contains("2026-13-01 is not a date (YYYY-MM-DD)"),
        "{screen}"
    );
    d.retype("rollback #x").await;
    assert!(
        d.screen().contains("is not an import number"),
        "{}",
        d.screen()
    );
    assert_eq!(d.audit_ids(), shown);
    d.retype("rollback status:failed").await;
    assert!(d.screen().contains("unknown filter word"), "{}", d.screen());

    // Esc while typing puts back the kept filter; Esc on the list clears
    // it, Esc again goes back to the history.
    d.key(KeyCode::Esc).await;
    assert_eq!(d.audit_ids(), of_globex);
    d.key(KeyCode::Esc).await;
    assert_eq!(d.audit_ids(), all);
    assert!(!d.screen().contains("filter:"));
    d.key(KeyCode::Esc).await;
    assert_eq!(d.state.screen, Screen::History);
}

/// Quotes, SQL, LIKE wildcards and escape sequences are text to look for:
/// nothing matches, nothing changes, nothing reaches the terminal raw.
#[tokio::test]
async fn a_hostile_audit_filter_changes_nothing() {
    let t = TestDb::new().await;
    three_imports(&t).await;
    let listings = dump_listings(&t).await;
    let entries = count(&t, "SELECT count(*) FROM import_audit.audit_log").await;
    let mut d = Driver::new(&t.db);
    d.act(Action::Init).await;
    d.key(KeyCode::Char('a')).await;
    d.key(KeyCode::Char('/')).await;
    for hostile in [
        "'); DELETE FROM listings; --",
        "x' OR '1'='1",
        "%",
        // `v_.csv` as a LIKE pattern would match the file v1.csv.
        "v_.csv",
        "seller:%",
        "actor:%",
        "\u{1b}[2J\u{1b}]52;c;aGk=\u{7}",
    ] {
        d.retype(hostile).await;
        assert_eq!(d.audit_ids(), Vec::<i64>::new(), "{hostile:?} matched");
        let screen = d.screen();
        assert!(
            !screen.chars().any(|c| c.is_control() && c != '\n'),
            "{hostile:?} reached the screen raw:\n{screen}"
        );
    }
    d.key(KeyCode::Enter).await;
    assert_eq!(dump_listings(&t).await, listings);
    assert_eq!(
        count(&t, "SELECT count(*) FROM import_audit.audit_log").await,
        entries
    );
}

/// A seller role's console: the filter narrows what row-level security
/// lets it see, never widens it.
#[tokio::test]
async fn a_seller_roles_audit_filter_sees_only_its_own_seller() {
    let t = TestDb::new().await;
    let (rolled_back, globex) = three_imports(&t).await;
    let role = common::login_role(&t, "alice", Some("globex")).await;
    let target = importdesk::db::Target::from_url(
        &common::url_for_role(&t, &role),
        importdesk::db::Source::Flag,
    )
    .unwrap();
    let db = Database::open(target).await.unwrap();
    let mut d = Driver::new(&db);
    d.state.identity = importdesk::domain::identity::current(&db).await.ok();
    d.act(Action::Init).await;
    d.key(KeyCode::Char('a')).await;
    let own = ids(&t, "seller_id = 'globex'").await;
    assert!(!own.is_empty());
    assert_eq!(d.audit_ids(), own);
    d.key(KeyCode::Char('/')).await;
    d.type_text("seller:acme").await;
    assert_eq!(d.audit_ids(), Vec::<i64>::new());
    d.retype(&format!("#{rolled_back}")).await;
    assert_eq!(d.audit_ids(), Vec::<i64>::new());
    d.retype(&format!("#{globex}")).await;
    assert_eq!(
        d.audit_ids(),
        ids(&t, &format!("import_id = {globex}")).await
    );
}
