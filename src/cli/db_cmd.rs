//! `importdesk db (migrate | status | start | stop | url | grant-* | revoke-* | roles)`.

use color_eyre::eyre::{Result, bail};
use serde_json::json;

use super::Exit;
use super::args::DbCommand;
use super::output::{print_json, sanitize};
use crate::db::{Database, Target, migrate};
use crate::domain::actor::Actor;
use crate::domain::roles::{self, SessionLimits};

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
                bail!("{}", not_embedded(&target, "start"));
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
                bail!("{}", not_embedded(&target, "stop"));
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
            let limits = SessionLimits {
                statement_timeout,
                idle_in_transaction_timeout,
            };
            let limits_set = roles::grant_seller(&db, &role, &seller, &limits, &actor()).await?;
            println!("database: {}", db.target.location());
            if limits_set {
                println!(
                    "role {} now acts for seller {} ({})",
                    sanitize(&role),
                    sanitize(&seller),
                    limits.describe()
                );
            } else {
                println!(
                    "role {} now acts for seller {}",
                    sanitize(&role),
                    sanitize(&seller)
                );
                eprintln!(
                    "note: its time bounds were not set: that needs the right to ALTER ROLE. \
                     An administrator runs: {}",
                    sanitize(&limits.alter_role_sql(&role, db.target.dbname()))
                );
            }
        }
        DbCommand::GrantSupport { role } => {
            let db = crate::cli::open_migrated(target).await?;
            roles::grant_support(&db, &role, &actor()).await?;
            println!("database: {}", db.target.location());
            println!(
                "role {} now acts as support (every seller)",
                sanitize(&role)
            );
        }
        DbCommand::RevokeSeller { role } => {
            let db = crate::cli::open_migrated(target).await?;
            let seller = roles::revoke_seller(&db, &role, &actor()).await?;
            println!("database: {}", db.target.location());
            match seller {
                Some(s) => println!(
                    "role {} no longer acts for seller {}",
                    sanitize(&role),
                    sanitize(&s)
                ),
                None => println!(
                    "role {} is not a seller role (nothing to revoke beyond membership)",
                    sanitize(&role)
                ),
            }
        }
        DbCommand::RevokeSupport { role } => {
            let db = crate::cli::open_migrated(target).await?;
            let was = roles::revoke_support(&db, &role, &actor()).await?;
            println!("database: {}", db.target.location());
            if was {
                println!("role {} no longer acts as support", sanitize(&role));
            } else {
                println!("role {} was not a support role", sanitize(&role));
            }
        }
        DbCommand::Roles { json } => {
            let db = crate::cli::open_migrated(target).await?;
            let entries = roles::list(&db).await?;
            if json {
                let docs: Vec<_> = entries
                    .iter()
                    .map(|e| json!({ "entry": e, "may": e.may() }))
                    .collect();
                print_json(&docs)?;
            } else {
                println!("database: {}", db.target.location());
                if entries.is_empty() {
                    println!(
                        "no support or seller roles yet (importdesk db grant-seller ROLE SELLER)"
                    );
                }
                for e in &entries {
                    println!(
                        "{:<24}  {}{}",
                        super::output::truncate(&e.role, 24),
                        e.may(),
                        if e.can_login == Some(false) {
                            " (cannot log in)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        DbCommand::Migrate { json } => {
            let db = Database::open(target).await?;
            let applied = migrate::migrate(&db).await?;
            let status = migrate::status(&db).await?;
            if json {
                print_json(&json!({ "applied_now": applied, "status": status }))?;
            } else {
                println!("database: {}", db.target.location());
                if applied.is_empty() {
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
        }
        DbCommand::Status { json } => status(target, json).await?,
    }
    Ok(Exit::Success)
}

fn actor() -> String {
    Actor::from_environment().label()
}

/// Why `db start`/`db stop` do nothing here.
fn not_embedded(target: &Target, verb: &str) -> String {
    let mut text = format!(
        "the database is not a private cluster: it is {} (from {}); importdesk does not {verb} \
         external servers",
        target.location(),
        target.source.describe()
    );
    if let Some(why) = &target.embedded_forbidden {
        text.push_str(&format!(
            ", and no private cluster is started on this machine because {why}"
        ));
    }
    text
}

async fn status(target: Target, json: bool) -> Result<()> {
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
    let settings = target
        .settings
        .as_ref()
        .map(|s| s.shown())
        .unwrap_or_default();
    if json {
        let settings: serde_json::Map<String, serde_json::Value> = settings
            .iter()
            .map(|(k, s)| (k.clone(), json!({ "value": s.value, "from": s.origin })))
            .collect();
        print_json(&json!({
            "source": target.source.describe(),
            "location": target.location(),
            "url": target.url,
            "settings": settings,
            "tls": target.tls.as_ref().map(|t| format!("{:?}", t.mode)),
            "embedded_forbidden": target.embedded_forbidden,
            "data_dir": target.cluster.as_ref().map(|c| c.data_dir().display().to_string()),
            "running": running,
            "migrated": migrations.as_ref().map(|m| m.applied_version.is_some()),
            "migrations": migrations,
            "identity": identity,
        }))?;
        return Ok(());
    }
    println!(
        "database:   {} (from {})",
        target.location(),
        target.source.describe()
    );
    println!("url:        {}", target.url);
    if !settings.is_empty() {
        println!("settings:");
        for (k, s) in &settings {
            println!(
                "  {:<18} {:<40} from {}",
                k,
                sanitize(&s.value),
                sanitize(&s.origin)
            );
        }
    }
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
        Some(m) if m.applied_version.is_none() => {
            println!("schema:     not migrated (run `importdesk db migrate` as the database owner)")
        }
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
    Ok(())
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
    println!("importdesk database: {}", db.target.location());
    println!("listings: {listings} from {sellers} sellers; imports: {imports}");
    println!("inspect it with: psql \"{}\"", db.target.url);
    Ok(())
}
