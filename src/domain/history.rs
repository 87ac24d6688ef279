//! The import history: listing, showing, and recovering imports left
//! `running` by a process that died.

use color_eyre::eyre::Result;

use crate::db::queries::history as store;
use crate::db::{Database, LockAttempt};
use crate::domain::audit;

pub use crate::db::queries::history::{HistoryFilter, ImportState, ImportSummary};

/// Imports matching `filter`, newest first.
pub async fn list(db: &Database, filter: &HistoryFilter) -> Result<Vec<ImportSummary>> {
    store::list(&db.client().await?, filter).await
}

pub async fn get(db: &Database, id: i64) -> Result<Option<ImportSummary>> {
    store::get(&db.client().await?, id).await
}

/// Marks `failed` every `running` import whose seller lock is free: the
/// process that ran it is gone (killed, crashed, lost its connection), and
/// its transaction was rolled back by PostgreSQL, so nothing was changed.
pub async fn recover_abandoned(db: &Database) -> Result<Vec<i64>> {
    let sellers = store::sellers_with_running(&db.client().await?).await?;
    let mut recovered = Vec::new();
    if sellers.is_empty() {
        return Ok(recovered);
    }
    let mut session = db.session().await?;
    for seller in sellers {
        let lock = match session.lock_seller(&seller).await? {
            LockAttempt::Held(lock) => lock,
            // Someone is working on it: not abandoned.
            LockAttempt::Busy(s) => {
                session = s;
                continue;
            }
        };
        for id in store::fail_abandoned(&lock, &seller).await? {
            audit::append(
                &lock,
                "importdesk",
                audit::action::IMPORT_ABANDONED,
                Some(&seller),
                Some(id),
                serde_json::json!({ "reason": "no process held the seller's lock" }),
            )
            .await?;
            recovered.push(id);
        }
        session = lock.release().await;
    }
    Ok(recovered)
}

impl ImportSummary {
    /// The status people read: `pruned` for a completed import whose
    /// before-images were pruned (still applied, no longer rollbackable).
    pub fn shown_status(&self) -> &'static str {
        if self.status == ImportState::Completed && self.pruned_at.is_some() {
            "pruned"
        } else {
            self.status.as_str()
        }
    }
}
