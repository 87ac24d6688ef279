//! Versioned migrations embedded in the binary (`migrations/V*__*.sql`),
//! applied by refinery in one transaction, serialised between processes by an
//! advisory lock, then `import_audit.sync_audit()` brings the log tables in
//! line with the audited tables' current columns.

use color_eyre::eyre::{Context, Result};
use serde::Serialize;

use super::Database;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Advisory lock key held while migrating ("importdesk migrate").
const MIGRATION_LOCK: i64 = 0x1D0C_0001;
const HISTORY_TABLE: &str = "importdesk_schema_history";

#[derive(Debug, Serialize)]
pub struct MigrationStatus {
    pub applied_version: Option<i64>,
    pub applied_name: Option<String>,
    pub latest_version: i64,
    pub pending: Vec<String>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

fn runner() -> refinery::Runner {
    let mut runner = embedded::migrations::runner()
        .set_grouped(true)
        .set_abort_divergent(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    runner
}

/// Applies pending migrations; returns the names of those applied now.
pub async fn migrate(db: &Database) -> Result<Vec<String>> {
    let mut client = db.connect_dedicated().await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = async {
        let report = runner()
            .run_async(&mut client)
            .await
            .wrap_err("applying migrations failed (nothing was changed)")?;
        client
            .batch_execute("SELECT import_audit.sync_audit()")
            .await
            .wrap_err("synchronising the audit log tables failed")?;
        Ok::<_, color_eyre::Report>(
            report
                .applied_migrations()
                .iter()
                .map(|m| format!("V{}__{}", m.version(), m.name()))
                .collect(),
        )
    }
    .await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

pub async fn status(db: &Database) -> Result<MigrationStatus> {
    let mut client = db.connect_dedicated().await?;
    let runner = runner();
    // A database nobody migrated yet has no history table: that is an
    // answer ("not migrated"), not an error.
    let applied = if history_exists(&client).await? {
        runner
            .get_applied_migrations_async(&mut client)
            .await
            .wrap_err("reading the migration history failed")?
    } else {
        Vec::new()
    };
    let last = applied.iter().max_by_key(|m| m.version());
    let all = runner.get_migrations();
    let latest_version = all.iter().map(|m| m.version() as i64).max().unwrap_or(0);
    let pending = all
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version() == m.version()))
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect();
    Ok(MigrationStatus {
        applied_version: last.map(|m| m.version() as i64),
        applied_name: last.map(|m| m.name().to_string()),
        latest_version,
        pending,
    })
}

/// True when the database already has every embedded migration. Reads the
/// history table directly, so roles that may not create tables (sellers,
/// support) can check it too.
pub async fn is_current(db: &Database) -> Result<bool> {
    let client = db.client().await?;
    // Two statements: a query naming a missing table fails when it is
    // parsed, whatever a CASE around it would have chosen.
    if !history_exists(&**client).await? {
        return Ok(false);
    }
    let applied: Option<i64> = client
        .query_one(
            &format!("SELECT max(version)::bigint FROM public.{HISTORY_TABLE}"),
            &[],
        )
        .await?
        .get(0);
    let latest = runner()
        .get_migrations()
        .iter()
        .map(|m| m.version() as i64)
        .max()
        .unwrap_or(0);
    Ok(applied.is_some_and(|v| v >= latest))
}

async fn history_exists(client: &impl tokio_postgres::GenericClient) -> Result<bool> {
    Ok(client
        .query_one(
            &format!("SELECT to_regclass('public.{HISTORY_TABLE}') IS NOT NULL"),
            &[],
        )
        .await?
        .get(0))
}

/// A fingerprint of the embedded migrations, so a test template database
/// built from older migrations is never reused.
pub fn fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for m in runner().get_migrations() {
        hasher.update(m.version().to_string());
        hasher.update(m.name());
        hasher.update(m.checksum().to_le_bytes());
    }
    hex::encode(&hasher.finalize()[..6])
}

#[cfg(test)]
mod tests {
    /// Versions that have shipped: a database may be at any of them.
    /// refinery refuses to apply a file numbered below a database's current
    /// version ("missing version"), so a new migration must be numbered
    /// above the highest shipped one; V7 was never shipped and stays unused.
    const SHIPPED: &[u32] = &[1, 2, 3, 4, 5, 6, 8];

    #[test]
    fn new_migrations_are_numbered_above_every_shipped_one() {
        let highest = *SHIPPED.iter().max().unwrap();
        for m in super::embedded::migrations::runner().get_migrations() {
            let v = m.version() as u32;
            assert!(
                SHIPPED.contains(&v) || v > highest,
                "V{v}__{} would be refused on a database at V{highest}: number it above {highest}",
                m.name()
            );
        }
        for v in SHIPPED {
            assert!(
                super::embedded::migrations::runner()
                    .get_migrations()
                    .iter()
                    .any(|m| m.version() as u32 == *v),
                "shipped migration V{v} is gone from migrations/"
            );
        }
    }

    #[test]
    fn the_migrations_fingerprint_is_twelve_hex_digits_and_stable() {
        let fp = super::fingerprint();
        assert_eq!(fp.len(), 12, "{fp:?}");
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp:?}");
        assert_eq!(fp, super::fingerprint());
    }
}
