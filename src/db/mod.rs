//! The database layer: which server, the embedded cluster, the connection
//! pool, sessions and the seller's lock (`session`), the migrations, and
//! every statement the domain runs with its typed records (`queries`).

pub mod blocking;
pub mod cluster;
pub mod connector;
pub mod conninfo;
pub mod migrate;
pub mod pgfiles;
pub mod queries;
pub mod redact;
mod session;
pub mod settings;
pub mod target;
pub mod tls;

use color_eyre::eyre::{Context, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use connector::Connector;
pub use session::{
    Conn, LockAttempt, Pooled, SellerLock, Session, Stopper, Transaction, is_connection_lost,
    is_query_cancelled, is_serialization_failure, is_unique_violation,
};
pub use target::{Selection, Source, Target};

/// An open database: where it is and a pool of connections to it.
#[derive(Clone)]
pub struct Database {
    pub target: Target,
    pub pool: Pool,
    connector: Connector,
}

impl Database {
    /// Connects to the target, starting (and creating) the embedded cluster
    /// and its database first when that is the target.
    pub async fn open(mut target: Target) -> Result<Self> {
        // No session of importdesk waits for a lock without a bound.
        blocking::apply_lock_timeout(&mut target.config)?;
        if let Some(cluster) = target.cluster.clone() {
            tokio::task::spawn_blocking(move || cluster.ensure_running())
                .await
                .wrap_err("the cluster start-up task failed")??;
            create_embedded_database(&target).await?;
        }
        let db = Self::unconnected(target)?;
        // Fail here, with the target named, rather than at first use.
        let _ = db.client().await?;
        Ok(db)
    }

    /// The pool for a target, without connecting yet (a test of a server
    /// that is not there).
    pub fn unconnected(mut target: Target) -> Result<Self> {
        target.config = with_session_settings(&target.config);
        let connector = Connector::new(&target)?;
        let manager = Manager::from_connect(
            target.config.clone(),
            connector.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .build()
            .wrap_err("cannot build the connection pool")?;
        Ok(Self {
            target,
            pool,
            connector,
        })
    }

    pub async fn client(&self) -> Result<Pooled> {
        self.pool.get().await.map_err(|e| {
            connector::ConnectFailed(match e {
                deadpool_postgres::PoolError::Backend(pg) => format!(
                    "{} (database from {})",
                    self.connector.explain(&pg),
                    self.target.source.describe()
                ),
                other => format!(
                    "cannot connect to the database {}: {other}",
                    self.target.location()
                ),
            })
            .into()
        })
    }

    /// Checks that the database answers (the console's reconnect probe).
    pub async fn ping(&self) -> Result<()> {
        self.client().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    /// A connection outside the pool, for work that must own its session
    /// (migrations; tests that hold locks or transactions of their own).
    /// A connection of its own whose notifications go to `notes`
    /// (`LISTEN` on it).
    pub async fn connect_listening(
        &self,
        notes: tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>,
    ) -> Result<tokio_postgres::Client> {
        self.connector.connect_listening(notes).await
    }

    pub async fn connect_dedicated(&self) -> Result<tokio_postgres::Client> {
        self.connector.connect().await
    }

    /// A [`Session`] of its own, for imports and rollbacks: they hold the
    /// seller's lock for as long as they run.
    pub async fn session(&self) -> Result<Session> {
        Ok(Session::new(
            self.connect_dedicated().await?,
            self.connector.tls(),
        ))
    }
}

/// importdesk's own session settings, sent with every connection (they
/// change nothing on the server): no JIT compilation. importdesk's
/// statements are either key probes, where compiling costs more than the
/// whole query (0.1 s of a 0.04 s rollback preview), or bulk statements,
/// where it measured no gain.
fn with_session_settings(config: &tokio_postgres::Config) -> tokio_postgres::Config {
    let mut config = config.clone();
    let options = match config.get_options() {
        Some(o) if !o.trim().is_empty() => format!("{o} -c jit=off"),
        _ => "-c jit=off".to_string(),
    };
    config.options(&options);
    config
}

pub async fn connect(config: &tokio_postgres::Config, url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .wrap_err_with(|| format!("cannot connect to the database {url}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection closed with an error");
        }
    });
    Ok(client)
}

async fn create_embedded_database(target: &Target) -> Result<()> {
    let mut admin = target.config.clone();
    admin.dbname("postgres");
    let client = connect(&admin, &target.url).await?;
    let name = target.dbname();
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let sql = format!("CREATE DATABASE {}", quote_ident(name));
        if let Err(e) = client.batch_execute(&sql).await {
            // Another process may have created it a moment ago.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                return Err(e).wrap_err_with(|| format!("cannot create database {name}"));
            }
        }
    }
    Ok(())
}

/// Quotes an SQL identifier (for the few statements that cannot take parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
