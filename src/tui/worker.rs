//! The worker: runs effects against the library on background tasks and
//! sends the results back as actions over a bounded channel. The console's
//! loop never waits for the database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use color_eyre::Report;
use futures_util::FutureExt;
use serde_json::json;
use tokio::sync::mpsc;

use super::action::{Action, AuditRow, DetailData, Effect, Failure, HistoryRow, RollbackFailure};
use super::complete;
use crate::db::Database;
use crate::domain::actor::Actor;
use crate::domain::import::{self, ImportRequest, MapOptions, Progress};
use crate::domain::rollback::{self, RollbackError, RollbackRequest};
use crate::domain::{audit, history};

/// How often import progress is sent to the screen at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Worker {
    db: Database,
    files_dir: PathBuf,
    actor: Actor,
    tx: mpsc::Sender<Action>,
}

impl Worker {
    pub fn new(db: Database, files_dir: PathBuf, tx: mpsc::Sender<Action>) -> Self {
        Self {
            db,
            files_dir,
            actor: Actor::from_environment(),
            tx,
        }
    }

    /// Runs `effect` on its own task (a long import does not delay a page
    /// of history).
    pub fn spawn(&self, effect: Effect) {
        let w = self.clone();
        tokio::spawn(async move { w.run(effect).await });
    }

    /// Runs `effect` to completion and sends its reply. A panic in the
    /// library becomes an error reply, not a frozen console.
    pub async fn run(&self, effect: Effect) {
        let fallback = effect.clone();
        let action = match std::panic::AssertUnwindSafe(self.perform(effect))
            .catch_unwind()
            .await
        {
            Ok(a) => a,
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
        let _ = self.tx.send(action).await;
    }

    async fn perform(&self, effect: Effect) -> Action {
        let db = &self.db;
        match effect {
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
            Effect::LoadAudit { req, before, limit } => {
                let result = audit::list(db, before, limit)
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
                after,
                limit,
            } => {
                let result =
                    rollback::preview_page(db, id, &seller, section, after.as_deref(), limit)
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
                let result = rollback::execute(
                    db,
                    RollbackRequest {
                        import_id: id,
                        mode,
                        expect: Some(expect),
                        actor: self.actor.clone(),
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
            Effect::Import { req, spec } => {
                let request = ImportRequest {
                    path: complete::expand_tilde(&spec.path.to_string_lossy()),
                    seller: spec.seller,
                    profile: spec.profile,
                    options: MapOptions::default(),
                    dry_run: spec.dry_run,
                    skip_invalid: spec.skip_invalid,
                    actor: self.actor.clone(),
                    rejects_dir: self.files_dir.join("rejects"),
                };
                let result = import::run(db, request, Some(self.progress(req)))
                    .await
                    .map(Box::new)
                    .map_err(Failure::from);
                Action::ImportDone { req, result }
            }
            Effect::Ping { req } => {
                let result = db.ping().await.map_err(|e| failure(&e));
                Action::Pong { req, result }
            }
        }
    }

    async fn eligibility(&self, id: i64) -> Result<Result<(), String>, Failure> {
        match rollback::eligibility(&self.db, id).await {
            Ok(_) => Ok(Ok(())),
            Err(RollbackError::Refused(why)) => Ok(Err(why.message().to_string())),
            Err(RollbackError::Failed(e)) => Err(failure(&e)),
        }
    }

    /// Progress from the import's thread: at most five updates a second,
    /// dropped (not queued) when the console is behind.
    fn progress(&self, req: u64) -> import::ProgressFn {
        let tx = self.tx.clone();
        let last = Mutex::new(None::<Instant>);
        Arc::new(move |progress: Progress| {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|l| l.elapsed() < PROGRESS_EVERY) {
                return;
            }
            *last = Some(Instant::now());
            let _ = tx.try_send(Action::ImportProgress { req, progress });
        })
    }
}

/// The reply an effect gets when it could not run at all.
pub fn fail(effect: &Effect, f: Failure) -> Action {
    match effect {
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
        Effect::Import { req, .. } => Action::ImportDone {
            req: *req,
            result: Err(f),
        },
        Effect::Ping { req } => Action::Pong {
            req: *req,
            result: Err(f),
        },
    }
}

/// An error as the console shows it, and whether it means the database
/// connection is gone (then the console reconnects).
pub fn failure(e: &Report) -> Failure {
    Failure::from_report(e)
}
