//! `importdesk db (migrate | status | start | stop | url)`.

use color_eyre::eyre::{Result, bail};
use serde_json::json;

use super::Exit;
use super::args::DbCommand;
use super::output::print_json;
use crate::db::{Database, Target, migrate};

pub async fn run(target: Target, cmd: DbCommand) -> Result<Exit> {
    match cmd {
        DbCommand::Url => {
            // Start the embedded cluster so the URL works right away in psql.
            if target.cluster.is_some() {
                Database::open(target.clone()).await?;
            }
            println!("{}", target.url);
        }
        DbCommand::Start => {
            let Some(cluster) = target.cluster.clone() else {
                bail!(
                    "the database is not the embedded cluster (it comes from {}); \
                     importdesk does not start external servers",
                    target.source.describe()
                );
            };
            Database::open(target.clone()).await?;
            println!(
                "embedded PostgreSQL running in {}",
                cluster.pgdata().display()
            );
            println!("connect with: psql \"{}\"", target.url);
        }
        DbCommand::Stop => {
            let Some(cluster) = target.cluster.clone() else {
                bail!(
                    "the database is not the embedded cluster (it comes from {}); \
                     importdesk does not stop external servers",
                    target.source.describe()
                );
            };
            let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await??;
            println!(
                "{}",
                if stopped {
                    "embedded PostgreSQL stopped"
                } else {
                    "embedded PostgreSQL was not running"
                }
            );
        }
        DbCommand::GrantSeller {
            role,
            seller,
            statement_timeout,
            idle_in_transaction_timeout,
        } => {
            let db = crate::cli::open_migrated(target).await?;
            let limits = crate::domain::identity::SessionLimits {
                statement_timeout,
                idle_in_transaction_timeout,
            };
            crate::domain::identity::grant_seller(&db, &role, &seller, &limits).await?;
            println!(
                "role {} now acts for seller {} ({})",
                crate::text::sanitize(&role),
                crate::text::sanitize(&seller),
                limits.describe()
            );
        }
        DbCommand::GrantSupport { role } => {
            let db = crate::cli::open_migrated(target).await?;
            crate::domain::identity::grant_support(&db, &role).await?;
            println!(
                "role {} now acts as support (every seller)",
                crate::text::sanitize(&role)
            );
        }
        DbCommand::Migrate { json } => {
            let db = Database::open(target).await?;
            let applied = migrate::migrate(&db).await?;
            let status = migrate::status(&db).await?;
            if json {
                print_json(&json!({ "applied_now": applied, "status": status }))?;
            } else if applied.is_empty() {
                println!(
                    "database is up to date (version {})",
                    status.applied_version.unwrap_or(0)
                );
            } else {
                for name in &applied {
                    println!("applied {name}");
                }
                println!(
                    "database is at version {}",
                    status.applied_version.unwrap_or(0)
                );
            }
        }
        DbCommand::Status { json } => {
            let running = match &target.cluster {
                Some(c) => {
                    let c = c.clone();
                    Some(tokio::task::spawn_blocking(move || c.is_running()).await??)
                }
                None => None,
            };
            // Status must not start a stopped cluster: only look when it runs.
            let (migrations, identity) = if running == Some(false) {
                (None, None)
            } else {
                let db = Database::open(target.clone()).await?;
                let status = migrate::status(&db).await?;
                let identity = if status.is_current() {
                    Some(crate::domain::identity::current(&db).await?)
                } else {
                    None
                };
                (Some(status), identity)
            };
            if json {
                print_json(&json!({
                    "source": target.source.describe(),
                    "url": target.url,
                    "data_dir": target.cluster.as_ref().map(|c| c.data_dir().display().to_string()),
                    "running": running,
                    "migrations": migrations,
                    "identity": identity,
                }))?;
            } else {
                println!("database:   {} ({})", target.url, target.source.describe());
                if let Some(c) = &target.cluster {
                    println!("cluster:    {}", c.pgdata().display());
                    println!(
                        "server:     {}",
                        if running == Some(true) {
                            "running"
                        } else {
                            "stopped"
                        }
                    );
                }
                match migrations {
                    Some(m) => {
                        println!(
                            "schema:     version {} of {}{}",
                            m.applied_version.unwrap_or(0),
                            m.latest_version,
                            if m.is_current() {
                                " (up to date)".to_string()
                            } else {
                                format!(" (pending: {})", m.pending.join(", "))
                            }
                        );
                    }
                    None => println!("schema:     unknown while the server is stopped"),
                }
                if let Some(id) = identity {
                    println!("identity:   {}", id.describe());
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// What `demo` prints until the console exists: where the data is and how much.
pub async fn print_overview(db: &Database) -> Result<()> {
    let client = db.client().await?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM listings), (SELECT count(*) FROM import_audit.imports), \
                    (SELECT count(DISTINCT seller_id) FROM listings)",
            &[],
        )
        .await?;
    let (listings, imports, sellers): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    println!("importdesk database: {}", db.target.url);
    println!("listings: {listings} from {sellers} sellers; imports: {imports}");
    println!("inspect it with: psql \"{}\"", db.target.url);
    Ok(())
}
