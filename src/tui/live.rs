//! Live screens. A connection of the console's own `LISTEN`s on the channel
//! the database notifies as it commits a change to the history or the
//! audit log (migrations/V10__live_refresh.sql); each burst of notifications
//! becomes one [`Action::Changed`], and the screens shown reload. Nothing
//! is polled: the task sleeps until PostgreSQL sends something, and only
//! waits to reconnect when the connection is gone.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::action::Action;
use crate::db::Database;

/// The channel V10's triggers notify.
pub const CHANNEL: &str = "importdesk_changes";

/// Notifications this close together are one change (an import writes the
/// history and the audit log in separate statements).
const FOLD: Duration = Duration::from_millis(100);

/// The wait before listening again on a new connection.
const RETRY: Duration = Duration::from_secs(3);

/// The listening task; it stops when dropped.
pub struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts listening; changes are sent to `tx` as [`Action::Changed`].
pub fn spawn(db: Database, tx: mpsc::Sender<Action>) -> Listener {
    Listener(tokio::spawn(async move {
        let mut first = true;
        loop {
            let (notes_tx, mut notes) = mpsc::unbounded_channel();
            match db.connect_listening(notes_tx).await {
                Ok(client) => match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        // Changes made while nobody listened: reload once.
                        if !first && tx.send(Action::Changed).await.is_err() {
                            return;
                        }
                        first = false;
                        while notes.recv().await.is_some() {
                            tokio::time::sleep(FOLD).await;
                            while notes.try_recv().is_ok() {}
                            if tx.send(Action::Changed).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes"),
                },
                Err(e) => tracing::debug!(error = %format!("{e:#}"), "cannot connect to listen"),
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(RETRY).await;
        }
    }))
}
