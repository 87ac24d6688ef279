//! The connections the domain holds without knowing the client library: a
//! pooled connection or a dedicated [`Session`], the [`SellerLock`] that a
//! session takes, and [`Transaction`]s. Every typed statement in
//! `db::queries` runs on anything that is [`Conn`].

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use color_eyre::Report;
use color_eyre::eyre::{Context, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{CancelToken, GenericClient};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;

use super::queries::locks;

/// Anything statements run on: a pooled connection, a session, a seller
/// lock's session, a transaction. Only the database layer looks inside.
pub trait Conn: Send + Sync {
    #[doc(hidden)]
    type Pg: GenericClient + Send + Sync;
    #[doc(hidden)]
    fn pg(&self) -> &Self::Pg;
}

/// A connection from the pool.
pub type Pooled = deadpool_postgres::Object;

impl Conn for Pooled {
    type Pg = tokio_postgres::Client;
    fn pg(&self) -> &tokio_postgres::Client {
        self
    }
}

/// A connection of its own, outside the pool: its session state (the
/// seller's lock) lives exactly as long as it does.
pub struct Session {
    client: tokio_postgres::Client,
    stopper: Stopper,
}

impl Conn for Session {
    type Pg = tokio_postgres::Client;
    fn pg(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// What [`Session::lock_seller`] got: the lock, or the session back when
/// another session holds it.
pub enum LockAttempt {
    Held(SellerLock),
    Busy(Session),
}

impl Session {
    pub(super) fn new(client: tokio_postgres::Client, tls: MakeRustlsConnect) -> Self {
        let stopper = Stopper {
            token: client.cancel_token(),
            tls,
            committing: Arc::new(AtomicBool::new(false)),
        };
        Self { client, stopper }
    }

    /// What stops this session's work from outside it (see [`Stopper`]).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// A read-committed transaction (PostgreSQL's default).
    pub async fn transaction(&mut self) -> Result<Transaction<'_>> {
        let committing = self.stopper.committing.clone();
        Ok(Transaction(self.client.transaction().await?, committing))
    }

    /// A repeatable-read transaction: one snapshot for all its statements;
    /// a row changed by someone else after it cannot be overwritten (the
    /// statement fails, see [`is_serialization_failure`]).
    pub async fn snapshot_transaction(&mut self) -> Result<Transaction<'_>> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await?;
        Ok(Transaction(tx, self.stopper.committing.clone()))
    }

    /// Takes the seller's lock without waiting. Held for the session: no
    /// other import or rollback of the seller runs until it is released.
    pub async fn lock_seller(self, seller: &str) -> Result<LockAttempt> {
        let locked: bool = self
            .client
            .query_one(locks::TRY_LOCK_SELLER, &[&seller])
            .await
            .wrap_err("cannot take the seller's lock")?
            .get(0);
        Ok(if locked {
            LockAttempt::Held(SellerLock {
                session: Some(self),
                seller: seller.to_string(),
            })
        } else {
            LockAttempt::Busy(self)
        })
    }
}

/// The seller's lock, holding the session it was taken on (use it through
/// `Deref`). [`SellerLock::release`] gives the session back; a guard dropped
/// on another path (an error, a cancelled task) releases the lock on its own
/// and closes the session, which PostgreSQL takes as a release too.
pub struct SellerLock {
    session: Option<Session>,
    seller: String,
}

impl SellerLock {
    pub fn seller(&self) -> &str {
        &self.seller
    }

    /// Releases the lock and returns the session. A broken connection took
    /// the lock with it: that is a release too.
    pub async fn release(mut self) -> Session {
        let session = self.session.take().expect("a held lock has its session");
        let _ = unlock(&session.client, &self.seller).await;
        session
    }
}

async fn unlock(client: &tokio_postgres::Client, seller: &str) -> Result<()> {
    client.query_one(locks::UNLOCK_SELLER, &[&seller]).await?;
    Ok(())
}

impl Drop for SellerLock {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let seller = std::mem::take(&mut self.seller);
        // Without a runtime the session simply closes, and the lock with it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = unlock(&session.client, &seller).await;
            });
        }
    }
}

impl Deref for SellerLock {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("a held lock has its session")
    }
}

impl DerefMut for SellerLock {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("a held lock has its session")
    }
}

impl Conn for SellerLock {
    type Pg = tokio_postgres::Client;
    fn pg(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// A transaction: dropped without [`Transaction::commit`], it rolls back.
pub struct Transaction<'a>(tokio_postgres::Transaction<'a>, Arc<AtomicBool>);

impl<'a> Transaction<'a> {
    /// Commits. From the moment the COMMIT is sent the session's
    /// [`Stopper::cancelled`] no longer fires: a commit on its way cannot be
    /// called back, so the work finishes instead.
    pub async fn commit(self) -> Result<()> {
        let committing = self.1.clone();
        committing.store(true, Ordering::SeqCst);
        let result = self.0.commit().await;
        committing.store(false, Ordering::SeqCst);
        Ok(result?)
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.0.rollback().await?)
    }

    pub(super) fn inner(&self) -> &tokio_postgres::Transaction<'a> {
        &self.0
    }
}

impl<'a> Conn for Transaction<'a> {
    type Pg = tokio_postgres::Transaction<'a>;
    fn pg(&self) -> &tokio_postgres::Transaction<'a> {
        &self.0
    }
}

/// Stops a session's work from outside it: a cancellation that the work
/// is raced against ([`Stopper::cancelled`]), then PostgreSQL's cancel
/// request for the statement the server is still running
/// ([`Stopper::stop_server_statement`]). Dropping the work's future drops
/// its transaction, which queues a ROLLBACK; without the cancel request
/// that ROLLBACK would wait for the running statement to finish (a long
/// UPDATE, or one waiting for a lock) while its locks stay held.
#[derive(Clone)]
pub struct Stopper {
    token: CancelToken,
    tls: MakeRustlsConnect,
    committing: Arc<AtomicBool>,
}

/// How long a cancel request may take to reach the server.
const CANCEL_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

impl Stopper {
    /// Resolves once `cancel` fires, unless this session's transaction is
    /// committing by then (then never: the work completes).
    pub async fn cancelled(&self, cancel: &CancellationToken) {
        cancel.cancelled().await;
        if self.committing.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    /// Asks the server to cancel the statement this session is running
    /// (nothing happens when it runs none). Best effort, bounded in time.
    pub async fn stop_server_statement(&self) {
        let request = self.token.cancel_query(self.tls.clone());
        match tokio::time::timeout(CANCEL_REQUEST_TIMEOUT, request).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot send the cancel request"),
            Err(_) => tracing::warn!("the cancel request timed out"),
        }
    }
}

/// The statement was cancelled (by [`Stopper::stop_server_statement`]).
pub fn is_query_cancelled(e: &Report) -> bool {
    db_errors(e).any(|pe| pe.code() == Some(&SqlState::QUERY_CANCELED))
}

/// The database error behind `e`, if any.
fn db_errors(e: &Report) -> impl Iterator<Item = &tokio_postgres::Error> {
    e.chain()
        .filter_map(|c| c.downcast_ref::<tokio_postgres::Error>())
}

/// A repeatable-read transaction met a row changed after its snapshot.
pub fn is_serialization_failure(e: &Report) -> bool {
    db_errors(e).any(|pe| pe.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
}

/// A unique key refused a row (for a COPY straight into `listings`: the
/// key is in the table already, or twice in the file).
pub fn is_unique_violation(e: &Report) -> bool {
    db_errors(e).any(|pe| pe.code() == Some(&SqlState::UNIQUE_VIOLATION))
}

/// The error means the connection is gone (server shut down, network lost,
/// pool cannot connect): the console shows a banner and reconnects.
pub fn is_connection_lost(e: &Report) -> bool {
    let pool = e.chain().any(|c| {
        c.downcast_ref::<deadpool_postgres::PoolError>().is_some()
            || c.is::<super::connector::ConnectFailed>()
    });
    pool || db_errors(e).any(|pe| {
        if pe.is_closed() {
            return true;
        }
        if let Some(db) = pe.as_db_error() {
            let code = db.code().code();
            // Connection exception, operator intervention (shutdown).
            return code.starts_with("08") || code.starts_with("57P");
        }
        let text = pe.to_string();
        text.contains("connect") || text.contains("connection")
    })
}
