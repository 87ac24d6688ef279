//! The worker: runs effects against the library on background tasks and
//! sends the results back as actions over a bounded channel. The console's
//! loop never waits for the database. Imports and rollbacks it runs can be
//! cancelled (Esc, quitting): their transaction rolls back.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use color_eyre::Report;
use futures_util::FutureExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::action::{
    Action, AuditRow, DetailData, Effect, Failure, HistoryRow, ImportFailure, ReqId,
    RestoreFailure, RollbackFailure,
};
use super::complete;
use crate::db::Database;
use crate::domain::actor::Actor;
use crate::domain::import::{self, DryRunReview, ImportRequest, MapOptions, Phase, Progress};
use crate::domain::listings::{self, ListingsError, RestoreRequest};
use crate::domain::rollback::{self, RollbackError, RollbackRequest};
use crate::domain::{Cancel, StopCause};
use crate::domain::{audit, history};

/// How often import progress is sent to the screen at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Worker {
    db: Database,
    files_dir: PathBuf,
    actor: Actor,
    tx: mpsc::Sender<Action>,
    /// The cancellation of each running import and rollback, by request.
    running: Arc<Mutex<HashMap<ReqId, Cancel>>>,
    tasks: TaskTracker,
    /// The dry run under review, its plan on a session of its own; one at
    /// most: a new dry run, an import or closing the review drops it.
    review: Arc<tokio::sync::Mutex<Option<DryRunReview>>>,
}

impl Worker {
    pub fn new(db: Database, files_dir: PathBuf, tx: mpsc::Sender<Action>) -> Self {
        Self {
            db,
            files_dir,
            actor: Actor::from_environment(),
            tx,
            running: Arc::default(),
            tasks: TaskTracker::new(),
            review: Arc::default(),
        }
    }

    /// Runs `effect` on its own task (a long import does not delay a page
    /// of history); a cancellation takes effect at once.
    pub fn spawn(&self, effect: Effect) {
        if let Effect::Cancel { req, cause } = effect {
            self.cancel(req, cause);
            return;
        }
        let w = self.clone();
        self.tasks.spawn(async move { w.run(effect).await });
    }

    /// Cancels the import or rollback of request `req`, if it runs.
    pub fn cancel(&self, req: ReqId, cause: StopCause) {
        if let Some(cancel) = self.lock_running().get(&req) {
            cancel.cancel(cause);
        }
    }

    /// On the way out: cancels every running import and rollback and waits
    /// for the tasks to end (rolled back, recorded), `grace` at most.
    pub async fn shutdown(&self, cause: StopCause, grace: Duration) {
        for cancel in self.lock_running().values() {
            cancel.cancel(cause);
        }
        self.tasks.close();
        let _ = tokio::time::timeout(grace, self.tasks.wait()).await;
        self.review.lock().await.take();
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<ReqId, Cancel>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A cancellation for request `req`, registered while it runs.
    fn cancellable(&self, req: ReqId) -> Registered {
        let cancel = Cancel::new();
        self.lock_running().insert(req, cancel.clone());
        Registered {
            cancel,
            req,
            running: self.running.clone(),
        }
    }

    /// Runs `effect` to completion and sends its reply. A panic in the
    /// library becomes an error reply, not a frozen console.
    pub async fn run(&self, effect: Effect) {
        let fallback = effect.clone();
        let reply = match std::panic::AssertUnwindSafe(self.perform(effect))
            .catch_unwind()
            .await
        {
            Ok(reply) => reply,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(panic = %what, "a console task panicked");
                fail(
                    &fallback,
                    Failure::new(format!("internal error (see the log): {what}")),
                )
            }
        };
        if let Some(action) = reply {
            let _ = self.tx.send(action).await;
        }
    }

    /// The reply to `effect` (`None`: it has none of its own).
    async fn perform(&self, effect: Effect) -> Option<Action> {
        let db = &self.db;
        Some(match effect {
            Effect::LoadHistory { req, filter } => {
                let result = history::list(db, &filter)
                    .await
                    .map(|rows| rows.iter().map(HistoryRow::from).collect())
                    .map_err(|e| failure(&e));
                Action::HistoryLoaded { req, result }
            }
            Effect::CheckEligibility { req, id } => Action::EligibilityChecked {
                req,
                id,
                result: self.eligibility(id).await,
            },
            Effect::LoadDetail { req, id } => {
                let result = async {
                    let Some(import) = history::get(db, id).await? else {
                        return Ok(None);
                    };
                    let audit = audit::for_import(db, id, 20).await?;
                    Ok::<_, Report>(Some(Box::new(DetailData { import, audit })))
                }
                .await
                .map_err(|e| failure(&e));
                Action::DetailLoaded { req, result }
            }
            Effect::LoadAudit {
                req,
                filter,
                before,
                limit,
            } => {
                let result = audit::list_filtered(db, &filter, before, limit)
                    .await
                    .map(|rows| rows.iter().map(AuditRow::from).collect())
                    .map_err(|e| failure(&e));
                Action::AuditLoaded { req, result }
            }
            Effect::RollbackCheck { req, id } => Action::RollbackChecked {
                req,
                result: self.eligibility(id).await,
            },
            Effect::RollbackPreview { req, id } => {
                let result = async {
                    let preview = match rollback::preview(db, id).await {
                        Ok(p) => p,
                        Err(RollbackError::Refused(why)) => {
                            return Ok(Err(why.message().to_string()));
                        }
                        Err(RollbackError::Failed(e)) => return Err(e),
                    };
                    // Recorded like `rollback --preview`; not fatal if refused.
                    let client = db.client().await?;
                    if let Err(e) = audit::append(
                        &client,
                        &self.actor.label(),
                        audit::action::ROLLBACK_PREVIEWED,
                        Some(&preview.seller),
                        Some(id),
                        json!({
                            "counts": preview.counts,
                            "fingerprint": preview.fingerprint,
                            "via": "console",
                        }),
                    )
                    .await
                    {
                        tracing::warn!(error = %e, "cannot record the rollback preview");
                    }
                    Ok::<_, Report>(Ok(preview))
                }
                .await
                .map_err(|e| failure(&e));
                Action::PreviewReady { req, result }
            }
            Effect::RollbackPage {
                req,
                id,
                seller,
                section,
                seek,
                limit,
            } => {
                let result = rollback::preview_page(db, id, &seller, section, &seek, limit)
                    .await
                    .map_err(|e| failure(&e));
                Action::PageLoaded {
                    req,
                    section,
                    result,
                }
            }
            Effect::RollbackExecute {
                req,
                id,
                mode,
                expect,
            } => {
                let registered = self.cancellable(req);
                let result = rollback::execute(
                    db,
                    RollbackRequest {
                        import_id: id,
                        mode,
                        expect: Some(expect),
                        actor: self.actor.clone(),
                        cancel: registered.cancel.clone(),
                    },
                )
                .await
                .map(Box::new)
                .map_err(RollbackFailure::from);
                Action::RollbackDone { req, result }
            }
            Effect::Complete { req, input } => {
                let completion = tokio::task::spawn_blocking(move || complete::complete(&input))
                    .await
                    .unwrap_or_default();
                Action::Completed { req, completion }
            }
            Effect::Suggest { req, path, profile } => {
                let path = complete::expand_tilde(&path);
                let result = tokio::task::spawn_blocking(move || {
                    crate::domain::import::suggest::suggest(&path, profile)
                })
                .await
                .unwrap_or_else(|e| Err(format!("cannot read the file: {e}")));
                Action::Suggested { req, result }
            }
            Effect::Import { req, spec } => {
                // The review before it ends (its session with it).
                self.review.lock().await.take();
                let registered = self.cancellable(req);
                let request = ImportRequest {
                    path: complete::expand_tilde(&spec.path.to_string_lossy()),
                    seller: spec.seller,
                    profile: spec.profile,
                    options: MapOptions {
                        key_column: spec.key_column,
                        default_currency: spec.default_currency,
                    },
                    dry_run: spec.dry_run,
                    skip_invalid: spec.skip_invalid,
                    actor: self.actor.clone(),
                    rejects_dir: self.files_dir.join("rejects"),
                    expect: spec.expect,
                    cancel: registered.cancel.clone(),
                };
                let progress = Some(self.progress(req));
                let result = if request.dry_run {
                    match import::run_for_review(db, request, progress).await {
                        Ok((outcome, review)) => {
                            *self.review.lock().await = review;
                            Ok(outcome)
                        }
                        Err(e) => Err(e),
                    }
                } else {
                    import::run(db, request, progress).await
                };
                let result = result.map(Box::new).map_err(ImportFailure::from);
                Action::ImportDone { req, result }
            }
            Effect::ReviewPage { req, seek, limit } => {
                let review = self.review.lock().await;
                let result = match review.as_ref() {
                    Some(review) => review.page(&seek, limit).await.map_err(|e| failure(&e)),
                    None => Err(Failure::new(
                        "the dry run's review is closed: dry run again",
                    )),
                };
                Action::ReviewPageLoaded { req, result }
            }
            Effect::ReviewClose => {
                self.review.lock().await.take();
                return None;
            }
            Effect::Cancel { req, cause } => {
                self.cancel(req, cause);
                // The reply is that of the work it cancelled.
                return None;
            }
            Effect::Ping { req } => {
                let result = db.ping().await.map_err(|e| failure(&e));
                Action::Pong { req, result }
            }
            Effect::LoadListings { req, filter } => {
                let result = listings::browse(db, &filter)
                    .await
                    .map(|page| page.listings)
                    .map_err(|e| listings_failure(&e));
                Action::ListingsLoaded { req, result }
            }
            Effect::LoadTimeline {
                req,
                seller,
                sku,
                before,
                limit,
            } => {
                let result = listings::timeline(db, &seller, &sku, before, limit)
                    .await
                    .map(Box::new)
                    .map_err(|e| listings_failure(&e));
                Action::TimelineLoaded { req, result }
            }
            Effect::RestorePreview {
                req,
                seller,
                sku,
                change_id,
            } => {
                let result = listings::preview_restore(db, &seller, &sku, change_id)
                    .await
                    .map(Box::new)
                    .map_err(RestoreFailure::from);
                Action::RestorePreviewed { req, result }
            }
            Effect::RestoreExecute {
                req,
                seller,
                sku,
                change_id,
                expect,
            } => {
                let request = RestoreRequest {
                    seller,
                    sku,
                    before_change: change_id,
                    expect: Some(expect),
                    actor: self.actor.clone(),
                };
                let result = listings::restore(db, request)
                    .await
                    .map(Box::new)
                    .map_err(RestoreFailure::from);
                Action::Restored { req, result }
            }
        })
    }

    async fn eligibility(&self, id: i64) -> Result<Result<(), String>, Failure> {
        match rollback::eligibility(&self.db, id).await {
            Ok(_) => Ok(Ok(())),
            Err(RollbackError::Refused(why)) => Ok(Err(why.message().to_string())),
            Err(RollbackError::Failed(e)) => Err(failure(&e)),
        }
    }

    /// Progress from the import: at most five updates a second, dropped
    /// (not queued) when the console is behind; a new phase always goes
    /// through.
    fn progress(&self, req: u64) -> import::ProgressFn {
        let tx = self.tx.clone();
        let last = Mutex::new(None::<(Instant, Phase)>);
        Arc::new(move |progress: Progress| {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last
                .is_some_and(|(at, phase)| phase == progress.phase && at.elapsed() < PROGRESS_EVERY)
            {
                return;
            }
            *last = Some((Instant::now(), progress.phase));
            let _ = tx.try_send(Action::ImportProgress { req, progress });
        })
    }
}

/// A running request's cancellation, forgotten when the request ends.
struct Registered {
    cancel: Cancel,
    req: ReqId,
    running: Arc<Mutex<HashMap<ReqId, Cancel>>>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(&self.req);
    }
}

/// The reply an effect gets when it could not run at all.
pub fn fail(effect: &Effect, f: Failure) -> Option<Action> {
    Some(match effect {
        Effect::LoadHistory { req, .. } => Action::HistoryLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::CheckEligibility { req, id } => Action::EligibilityChecked {
            req: *req,
            id: *id,
            result: Err(f),
        },
        Effect::LoadDetail { req, .. } => Action::DetailLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::LoadAudit { req, .. } => Action::AuditLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::RollbackCheck { req, .. } => Action::RollbackChecked {
            req: *req,
            result: Err(f),
        },
        Effect::RollbackPreview { req, .. } => Action::PreviewReady {
            req: *req,
            result: Err(f),
        },
        Effect::RollbackPage { req, section, .. } => Action::PageLoaded {
            req: *req,
            section: *section,
            result: Err(f),
        },
        Effect::RollbackExecute { req, .. } => Action::RollbackDone {
            req: *req,
            result: Err(f.into()),
        },
        Effect::Complete { req, input } => Action::Completed {
            req: *req,
            completion: super::action::Completion {
                input: input.clone(),
                note: Some(f.message),
                ..Default::default()
            },
        },
        Effect::Suggest { req, .. } => Action::Suggested {
            req: *req,
            result: Err(f.message),
        },
        Effect::Import { req, .. } => Action::ImportDone {
            req: *req,
            result: Err(ImportFailure::Failed(f)),
        },
        Effect::ReviewPage { req, .. } => Action::ReviewPageLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::ReviewClose => return None,
        // A cancellation has no reply of its own.
        Effect::Cancel { .. } => return None,
        Effect::Ping { req } => Action::Pong {
            req: *req,
            result: Err(f),
        },
        Effect::LoadListings { req, .. } => Action::ListingsLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::LoadTimeline { req, .. } => Action::TimelineLoaded {
            req: *req,
            result: Err(f),
        },
        Effect::RestorePreview { req, .. } => Action::RestorePreviewed {
            req: *req,
            result: Err(f.into()),
        },
        Effect::RestoreExecute { req, .. } => Action::Restored {
            req: *req,
            result: Err(f.into()),
        },
    })
}

/// A listings error as the console shows it: a refusal in words, a
/// database failure like any other.
fn listings_failure(e: &ListingsError) -> Failure {
    match e {
        ListingsError::Failed(report) => failure(report),
        refusal => Failure::new(refusal.to_string()),
    }
}

/// An error as the console shows it, and whether it means the database
/// connection is gone (then the console reconnects).
pub fn failure(e: &Report) -> Failure {
    Failure::from_report(e)
}
