//! The async side of an import, in named stages, under the seller's lock:
//!
//! 1. `begin`: the history row is inserted as `running` and committed (a
//!    crash leaves evidence);
//! 2. [`stage`]: one transaction, tagged with the import; the parser's COPY
//!    text streams into a temporary staging table, or, for a seller with no
//!    listings, straight into `listings` (then steps 3 and 4 are the table's
//!    unique key and the COPY's count; a key the table holds sends the
//!    import back through staging);
//! 3. [`check`]: duplicate keys (found in SQL), rejected rows, an empty file;
//!    the file a dry run pinned (`expect`);
//! 4. [`merge`]: update what really changed, insert what is new; the plan a
//!    dry run pinned;
//! 5. [`finish`]: the history row becomes `completed`, commit; or, on any
//!    rejection, refusal or error, the transaction is dropped (nothing
//!    changed) and the history row becomes `failed` with the report: one
//!    abort path. A cancellation drops the stages wherever they are.

mod check;
mod finish;
mod merge;
mod review;
mod stage;

pub use review::{DryRunReview, run_for_review};

use stage::Staged;

use std::time::Instant;

use color_eyre::eyre::{Context, Result};
use tokio::sync::mpsc;

use super::copy_text::CopyTarget;
use super::fingerprint::{ImportRefused, PlanFacts, PlanFingerprint};
use super::parse::{Event, HeaderInfo, ParseRequest, ParseSummary, parse_file};
use super::{
    Counts, ImportError, ImportOutcome, ImportRequest, ImportStatus, Phase, Progress, ProgressFn,
};
use crate::db::queries::{history as history_store, import as store, import_direct};
use crate::db::{Database, LockAttempt, SellerLock, Session};

/// Runs one import. `Ok` carries completed, failed-by-validation and dry-run
/// outcomes alike; `Err` is a refusal, a cancellation or an unexpected
/// failure, after which nothing has changed either.
pub async fn run(
    db: &Database,
    req: ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome, ImportError> {
    run_keeping(db, req, progress, false)
        .await
        .map(|(outcome, _)| outcome)
}

/// [`run`]; with `keep_review`, a dry run that completes keeps its planned
/// updates in a temporary table of its session, which is returned (the
/// seller's lock released).
async fn run_keeping(
    db: &Database,
    req: ImportRequest,
    progress: Option<ProgressFn>,
    keep_review: bool,
) -> Result<(ImportOutcome, Option<Session>), ImportError> {
    // Checked before anything (a history row) is written for it.
    let mut req = req;
    req.seller =
        crate::domain::seller::validate(&req.seller).map_err(ImportError::InvalidSeller)?;
    let mut lock = match db.session().await?.lock_seller(&req.seller).await? {
        LockAttempt::Held(lock) => lock,
        LockAttempt::Busy(session) => {
            let running = store::running_for_seller(&session, &req.seller)
                .await?
                .map(|r| {
                    format!(
                        "import #{} by {} since {}",
                        r.id,
                        crate::text::sanitize(&r.actor),
                        r.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                    )
                });
            return Err(ImportError::SellerBusy {
                seller: req.seller,
                running,
            });
        }
    };
    // Holding the seller's lock proves no other process works on its imports:
    // any still marked running were abandoned by a crash.
    history_store::fail_abandoned(&lock, &req.seller).await?;
    let watch = crate::db::blocking::BlockerWatch::start(db, &*lock).await?;
    // Cancelling drops the stages wherever they are (waiting for the file,
    // streaming, in a statement): their transaction rolls back.
    let stopper = lock.stopper();
    let mut started = None;
    let mut unrecorded = false;
    let ran = tokio::select! {
        result = run_locked(&mut lock, &req, progress, keep_review, &mut started, &mut unrecorded) => Some(result),
        () = stopper.cancelled(req.cancel.token()) => None,
    };
    let result = match ran {
        Some(result) => result,
        None => {
            stopper.stop_server_statement().await;
            if let Some(id) = started {
                finish::record_cancelled(&lock, &req, id).await;
            }
            Err(ImportError::Cancelled { import_id: started })
        }
    };
    // A lock timeout names who held the lock.
    let result = match result {
        Err(ImportError::Failed(e)) => {
            crate::db::blocking::explain::<ImportOutcome>(db, Some(&watch), Err(e))
                .await
                .map_err(ImportError::Failed)
        }
        other => other,
    };
    let session = lock.release().await;
    // The import's connection failed before the history row said why.
    if let (Err(ImportError::Failed(e)), Some(id), true) = (&result, started, unrecorded) {
        finish::record_error_from_new_session(db, &req, id, e).await;
    }
    let outcome = result?;
    let kept = keep_review && outcome.status == ImportStatus::DryRun;
    Ok((outcome, kept.then_some(session)))
}

/// One import as the stages see it.
struct Job<'a> {
    req: &'a ImportRequest,
    started: Instant,
    /// `None` for a dry run (it leaves no history row).
    import_id: Option<i64>,
    progress: Option<ProgressFn>,
    /// Where the parser's rows go.
    target: CopyTarget,
    /// A dry run keeps its planned updates for the console's review.
    keep_review: bool,
}

impl Job<'_> {
    /// Tells the progress callback a phase began (after reading: all
    /// `rows` of the file's `size` bytes are read).
    fn phase(&self, phase: Phase, rows: u64, size: u64) {
        if let Some(p) = &self.progress {
            p(Progress {
                rows_read: rows,
                bytes_read: size,
                total_bytes: size,
                elapsed: self.started.elapsed(),
                phase,
            });
        }
    }
}

/// Where the stages ended: done, the file is rejected, or what the dry run
/// pinned is refused (in both cases the transaction is gone and nothing
/// changed).
enum Flow {
    Done(ImportOutcome),
    Rejected(ParseSummary),
    Refused(ImportRefused),
    /// A first import's COPY met a key the table holds: read the file again
    /// into staging.
    Restage(ParseSummary),
}

/// The import once the lock is held; sets `started` to the history row's
/// id as soon as there is one (a cancellation records it as cancelled), and
/// `unrecorded` when an error's record was lost with the connection.
async fn run_locked(
    lock: &mut SellerLock,
    req: &ImportRequest,
    progress: Option<ProgressFn>,
    keep_review: bool,
    started_id: &mut Option<i64>,
    unrecorded: &mut bool,
) -> Result<ImportOutcome, ImportError> {
    let started = Instant::now();
    // A seller's first import goes straight into `listings` (a dry run
    // writes nothing, so it stages).
    let target = if !req.dry_run && import_direct::is_first_import(&*lock, &req.seller).await? {
        CopyTarget::Listings {
            seller: req.seller.clone(),
        }
    } else {
        CopyTarget::Staging
    };
    if target != CopyTarget::Staging {
        tracing::info!(seller = %req.seller, "first import: COPY straight into listings");
    }
    let mut job = Job {
        req,
        started,
        import_id: None,
        progress,
        target,
        keep_review: keep_review && req.dry_run,
    };
    loop {
        let (tx, mut events) = mpsc::channel::<Event>(4);
        let parse_req = ParseRequest {
            path: req.path.clone(),
            profile: req.profile,
            options: req.options.clone(),
            skip_invalid: req.skip_invalid,
            dry_run: req.dry_run,
            rejects_path: finish::rejects_path(req),
            target: job.target.clone(),
        };
        let parser_progress = job.progress.clone();
        let parser = tokio::task::spawn_blocking(move || {
            parse_file(parse_req, tx, parser_progress, started)
        });

        let header = match events.recv().await {
            Some(Event::Header(h)) => Some(h),
            Some(Event::Chunk(_)) => unreachable!("the parser sends the header first"),
            // The file could not be opened or its header not mapped.
            None => None,
        };
        if !req.dry_run && job.import_id.is_none() {
            let id = finish::begin(lock, req, header.as_ref()).await?;
            job.import_id = Some(id);
            *started_id = Some(id);
        }
        let Some(header) = header else {
            let summary = parser.await.wrap_err("the CSV parser thread failed")?;
            return Ok(finish::reject(lock, &job, None, summary).await?);
        };
        return match stages(lock, &job, &header, &mut events, parser).await {
            Ok(Flow::Done(outcome)) => Ok(outcome),
            Ok(Flow::Restage(summary)) => {
                // Read again into the staging table; this pass's rejects
                // file (the next one has another name) goes.
                if let Some(path) = &summary.rejects_file {
                    let _ = std::fs::remove_file(path);
                }
                tracing::info!(
                    seller = %req.seller,
                    "a key is in listings already or twice in the file: through staging"
                );
                job.target = CopyTarget::Staging;
                continue;
            }
            Ok(Flow::Rejected(summary)) => {
                Ok(finish::reject(lock, &job, Some(&header), summary).await?)
            }
            Ok(Flow::Refused(refused)) => {
                finish::record_refusal(lock, &job, &header, &refused).await;
                Err(ImportError::Refused(refused))
            }
            Err(e) => {
                *unrecorded = !finish::record_error(lock, &job, &header, &e).await;
                Err(e.into())
            }
        };
    }
}

/// Stage, check, merge and finish in one transaction; returning before
/// `finish` drops the transaction, so nothing is changed.
async fn stages(
    lock: &mut SellerLock,
    job: &Job<'_>,
    header: &HeaderInfo,
    events: &mut mpsc::Receiver<Event>,
    parser: tokio::task::JoinHandle<ParseSummary>,
) -> Result<Flow> {
    let tx = lock.transaction().await?;
    store::attach(&tx, job.import_id, &job.req.actor.label()).await?;
    let direct = matches!(job.target, CopyTarget::Listings { .. });
    if !direct {
        store::create_staging(&tx).await?;
    }
    let (mut summary, mut staged) = match stage::copy(&tx, events, parser, job, header.size).await?
    {
        Staged::Rows(summary, staged) => (summary, staged),
        Staged::KeyTaken(summary) => return Ok(Flow::Restage(summary)),
    };
    if let (Some(expect), Some(sha)) = (&job.req.expect, &summary.sha256)
        && let Err(refused) = expect.check_file(sha)
    {
        return Ok(Flow::Refused(refused));
    }
    if summary.file_error.is_some() {
        return Ok(Flow::Rejected(summary));
    }
    // A first import's COPY had the table's unique key check for duplicates.
    if !direct {
        check::duplicates(&tx, job.req, &mut summary, &mut staged).await?;
    }
    if check::rejects_file(job.req, &mut summary) {
        return Ok(Flow::Rejected(summary));
    }
    job.phase(Phase::Applying, summary.rows_read, header.size);
    let merged = if direct {
        merge::copied(&tx, job.req, staged).await?
    } else {
        merge::merge(&tx, job.req, job.import_id, header, staged).await?
    };
    let counts = Counts {
        rows_read: summary.rows_read,
        created: merged.created,
        updated: merged.updated,
        unchanged: merged.unchanged,
        rejected: summary.rejected,
        ignored: summary.ignored,
    };
    let fingerprint = plan_fingerprint(job.req, header, &summary, &merged, counts);
    if let (Some(expect), Some(now)) = (&job.req.expect, &fingerprint)
        && let Err(refused) = expect.check_plan(now, &counts)
    {
        return Ok(Flow::Refused(refused));
    }
    let outcome = finish::complete(tx, job, header, &summary, merged, counts, fingerprint).await?;
    Ok(Flow::Done(outcome))
}

/// The plan the merge carried out (or, in a dry run, would carry out).
fn plan_fingerprint(
    req: &ImportRequest,
    header: &HeaderInfo,
    summary: &ParseSummary,
    merged: &merge::Merged,
    counts: Counts,
) -> Option<PlanFingerprint> {
    let sha = summary.sha256.as_deref()?;
    let facts = PlanFacts {
        seller: &req.seller,
        profile: header.kind.name(),
        key: &header.key,
        skip_invalid: req.skip_invalid,
        columns: header.columns.iter().map(|f| f.name()).collect(),
        counts,
        created_keys: &merged.created_keys,
        updated_keys: &merged.updated_keys,
    };
    Some(PlanFingerprint::new(sha, &facts))
}
