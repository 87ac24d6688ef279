//! `importdesk demo`: when the database has no imports yet, loads the demo
//! data from `fixtures/demo` through the real importer and rollback, so the
//! console opens on a realistic history: three sellers, a few hundred
//! listings, a rolled-back import, a rejected one, and manual edits made
//! after an import (which its rollback will skip).

use std::path::Path;

use color_eyre::eyre::{Result, bail};

use crate::db::Database;
use crate::domain::actor::Actor;
use crate::domain::import::{self, ImportRequest, ImportStatus, MapOptions};
use crate::domain::rollback::{self, ConflictMode, RollbackRequest};

/// The demo files, embedded so the demo works wherever the binary is.
const FILES: [(&str, &str, &[u8]); 6] = [
    (
        "acme",
        "1-acme-october.csv",
        include_bytes!("../fixtures/demo/1-acme-october.csv"),
    ),
    (
        "acme",
        "2-acme-november-prices.csv",
        include_bytes!("../fixtures/demo/2-acme-november-prices.csv"),
    ),
    (
        "globex",
        "3-globex-catalog.csv",
        include_bytes!("../fixtures/demo/3-globex-catalog.csv"),
    ),
    (
        "globex",
        "4-globex-wrong-prices.csv",
        include_bytes!("../fixtures/demo/4-globex-wrong-prices.csv"),
    ),
    (
        "initech",
        "5-initech-catalog.csv",
        include_bytes!("../fixtures/demo/5-initech-catalog.csv"),
    ),
    (
        "initech",
        "6-initech-broken.csv",
        include_bytes!("../fixtures/demo/6-initech-broken.csv"),
    ),
];

/// Manual edits made "by support" after acme's November import.
const MANUAL_EDITS: &str = "
    SELECT set_config('importdesk.actor', 'jane (support)', false);
    UPDATE listings SET price = 12.34, title = title || ' (price matched)'
     WHERE seller_id = 'acme' AND sku IN ('ACME-0003', 'ACME-0152');
    SELECT set_config('importdesk.actor', '', false);";

/// Loads the demo data when there is no import yet; returns whether it did.
pub async fn load_if_empty(db: &Database, files_dir: &Path) -> Result<bool> {
    let client = db.client().await?;
    let imports: i64 = client
        .query_one("SELECT count(*) FROM import_audit.imports", &[])
        .await?
        .get(0);
    if imports > 0 {
        return Ok(false);
    }
    let dir = files_dir.join("demo");
    std::fs::create_dir_all(&dir)?;
    let actor = Actor {
        os_user: "demo".into(),
        client_addr: None,
    };
    let mut ids = Vec::new();
    for (seller, name, bytes) in FILES {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        let outcome = import::run(
            db,
            ImportRequest {
                path,
                seller: seller.into(),
                profile: None,
                options: MapOptions::default(),
                dry_run: false,
                skip_invalid: false,
                actor: actor.clone(),
                rejects_dir: files_dir.join("rejects"),
                expect: None,
                cancel: Default::default(),
            },
            None,
        )
        .await?;
        let expected_failure = name.contains("broken");
        if (outcome.status == ImportStatus::Failed) != expected_failure {
            bail!(
                "demo import of {name} ended {:?}: {:?}",
                outcome.status,
                outcome.errors
            );
        }
        ids.push(outcome.import_id.unwrap_or_default());
        if name.starts_with("2-") {
            client.batch_execute(MANUAL_EDITS).await?;
        }
        if name.starts_with("4-") {
            rollback::execute(
                db,
                RollbackRequest {
                    import_id: outcome.import_id.unwrap_or_default(),
                    mode: ConflictMode::Skip,
                    expect: None,
                    actor: actor.clone(),
                    cancel: Default::default(),
                },
            )
            .await?;
        }
    }
    Ok(true)
}
