//! The async side of an import, in named stages, under the seller's lock:
//!
//! 1. `begin`: the history row is inserted as `running` and committed (a
//!    crash leaves evidence);
//! 2. [`stage`]: one transaction, tagged with the import; the parser's COPY
//!    text streams into a temporary staging table;
//! 3. [`check`]: duplicate keys (found in SQL), rejected rows, an empty file;
//! 4. [`merge`]: update what really changed, insert what is new;
//! 5. [`finish`]: the history row becomes `completed`, commit; or, on any
//!    rejection or error, the transaction is dropped (nothing changed) and
//!    the history row becomes `failed` with the report: one abort path.

mod check;
mod finish;
mod merge;
mod stage;

use std::time::Instant;

use color_eyre::eyre::{Context, Result};
use tokio::sync::mpsc;

use super::parse::{Event, HeaderInfo, ParseRequest, ParseSummary, parse_file};
use super::{ImportError, ImportOutcome, ImportRequest, ProgressFn};
use crate::db::queries::{history as history_store, import as store};
use crate::db::{Database, LockAttempt, SellerLock};

/// Runs one import. `Ok` carries completed, failed-by-validation and dry-run
/// outcomes alike; `Err` is a refusal or an unexpected failure, after which
/// nothing has changed either.
pub async fn run(
    db: &Database,
    req: ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome, ImportError> {
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
    let result = run_locked(&mut lock, &req, progress).await;
    // A lock timeout names who held the lock.
    let result = crate::db::blocking::explain(db, Some(&watch), result).await;
    lock.release().await;
    Ok(result?)
}

/// One import as the stages see it.
struct Job<'a> {
    req: &'a ImportRequest,
    started: Instant,
    /// `None` for a dry run (it leaves no history row).
    import_id: Option<i64>,
}

/// Where the stages ended: done, or the file is rejected (the transaction
/// is gone and nothing changed).
enum Flow {
    Done(ImportOutcome),
    Rejected(ParseSummary),
}

async fn run_locked(
    lock: &mut SellerLock,
    req: &ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome> {
    let started = Instant::now();
    let (tx, mut events) = mpsc::channel::<Event>(4);
    let parse_req = ParseRequest {
        path: req.path.clone(),
        profile: req.profile,
        options: req.options.clone(),
        skip_invalid: req.skip_invalid,
        rejects_path: finish::rejects_path(req),
    };
    let parser_progress = progress.clone();
    let parser =
        tokio::task::spawn_blocking(move || parse_file(parse_req, tx, parser_progress, started));

    let header = match events.recv().await {
        Some(Event::Header(h)) => Some(h),
        Some(Event::Chunk(_)) => unreachable!("the parser sends the header first"),
        // The file could not be opened or its header not mapped.
        None => None,
    };
    let mut job = Job {
        req,
        started,
        import_id: None,
    };
    if !req.dry_run {
        job.import_id = Some(finish::begin(lock, req, header.as_ref()).await?);
    }
    let Some(header) = header else {
        let summary = parser.await.wrap_err("the CSV parser thread failed")?;
        return finish::reject(lock, &job, None, summary).await;
    };
    match stages(lock, &job, &header, &mut events, parser, progress).await {
        Ok(Flow::Done(outcome)) => Ok(outcome),
        Ok(Flow::Rejected(summary)) => finish::reject(lock, &job, Some(&header), summary).await,
        Err(e) => {
            finish::record_error(lock, &job, &header, &e).await;
            Err(e)
        }
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
    progress: Option<ProgressFn>,
) -> Result<Flow> {
    let tx = lock.transaction().await?;
    store::prepare_staging(&tx, job.import_id, &job.req.actor.label()).await?;
    let (mut summary, mut staged) = stage::copy(&tx, events, parser).await?;
    if summary.file_error.is_some() {
        return Ok(Flow::Rejected(summary));
    }
    check::duplicates(&tx, job.req, &mut summary, &mut staged).await?;
    if check::rejects_file(job.req, &mut summary) {
        return Ok(Flow::Rejected(summary));
    }
    let merged = merge::merge(&tx, job.req, header, staged).await?;
    let outcome = finish::complete(tx, job, header, &summary, merged, progress).await?;
    Ok(Flow::Done(outcome))
}
