//! The history row and the outcome: `begin` records the import as running;
//! `complete` commits it; `reject` and `record_error` (the abort path) mark
//! it failed after its transaction is gone, so nothing changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::Report;
use color_eyre::eyre::{Context, Result, eyre};
use serde_json::json;

use super::super::fingerprint::{ImportRefused, PlanFingerprint};
use super::super::parse::{HeaderInfo, ParseSummary};
use super::super::{Counts, ImportOutcome, ImportRequest, ImportStatus, Phase};
use super::Job;
use super::merge::Merged;
use crate::db::queries::import::{self as store, ImportReport, NewImport};
use crate::db::queries::import_review;
use crate::db::{Conn, Database, LockAttempt, SellerLock, Transaction};
use crate::domain::StopCause;
use crate::domain::audit::{self, action};

/// Inserts the history row as `running` and says so in the audit log;
/// returns the import's id.
pub(super) async fn begin(
    conn: &impl Conn,
    req: &ImportRequest,
    header: Option<&HeaderInfo>,
) -> Result<i64> {
    let profile = header.map(|h| h.kind.name()).unwrap_or("unknown");
    let file_name = display_name(&req.path);
    let options = json!({
        "requested_profile": req.profile.map(|p| p.name()),
        "key_column": req.options.key_column,
        "default_currency": req.options.default_currency,
        "skip_invalid": req.skip_invalid,
        "profile_detected": header.map(|h| h.detected),
        "key": header.map(|h| h.key.clone()),
        "expected_plan": req.expect,
    });
    let id = store::begin(
        conn,
        &NewImport {
            seller: &req.seller,
            file_name: &file_name,
            file_size: std::fs::metadata(&req.path).map(|m| m.len() as i64).ok(),
            profile,
            options,
            actor: &req.actor.label(),
            os_user: &req.actor.os_user,
            client_addr: req.actor.client_addr.as_deref(),
        },
    )
    .await?;
    log_event(
        conn,
        req,
        id,
        action::IMPORT_STARTED,
        json!({ "file": file_name, "profile": profile }),
    )
    .await?;
    Ok(id)
}

/// The import is done: the history row becomes `completed` and the
/// transaction commits (a dry run rolls back instead).
pub(super) async fn complete(
    tx: Transaction<'_>,
    job: &Job<'_>,
    header: &HeaderInfo,
    summary: &ParseSummary,
    merged: Merged,
    counts: Counts,
    fingerprint: Option<PlanFingerprint>,
) -> Result<ImportOutcome> {
    let req = job.req;
    let mut outcome = outcome(job, Some(header), summary, counts);
    outcome.changes = merged.changes;
    outcome.plan_fingerprint = fingerprint;
    if req.dry_run {
        outcome.status = ImportStatus::DryRun;
        if job.keep_review {
            // The review's table is the transaction's only write.
            import_review::keep(&tx, &req.seller, &header.columns).await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        job.phase(Phase::Done, counts.rows_read, header.size);
        return Ok(outcome);
    }
    let id = job
        .import_id
        .ok_or_else(|| eyre!("an applied import has an id"))?;
    job.phase(Phase::Recording, counts.rows_read, header.size);
    // An after-image per created row, a before- and after-image per update.
    let log_rows = counts.created + 2 * counts.updated;
    store::refresh_log_statistics(&tx, log_rows as i64).await?;
    store::complete(
        &tx,
        id,
        &ImportReport {
            sha256: summary.sha256.as_deref(),
            counts,
            unknown_columns: &header.unknown_columns,
            errors: serde_json::to_value(&summary.errors)?,
            error_summary: outcome.error_summary.as_deref(),
        },
    )
    .await?;
    log_event(
        &tx,
        req,
        id,
        action::IMPORT_COMPLETED,
        json!({
            "counts": counts,
            "file_sha256": summary.sha256,
            "rejects_file": summary.rejects_file,
            "plan_fingerprint": outcome.plan_fingerprint,
        }),
    )
    .await?;
    tx.commit()
        .await
        .wrap_err("committing the import failed; nothing was changed")?;
    job.phase(Phase::Done, counts.rows_read, header.size);
    outcome.status = ImportStatus::Completed;
    Ok(outcome)
}

/// Rejected by validation or unreadable: nothing changed; the history row
/// (if any) becomes `failed` with the error report.
pub(super) async fn reject(
    conn: &impl Conn,
    job: &Job<'_>,
    header: Option<&HeaderInfo>,
    summary: ParseSummary,
) -> Result<ImportOutcome> {
    let counts = Counts {
        rows_read: summary.rows_read,
        rejected: summary.rejected,
        ignored: summary.ignored,
        ..Counts::default()
    };
    let outcome = outcome(job, header, &summary, counts);
    let report = ImportReport {
        sha256: summary.sha256.as_deref(),
        counts,
        unknown_columns: &outcome.unknown_columns,
        errors: serde_json::to_value(&outcome.errors)?,
        error_summary: outcome.error_summary.as_deref(),
    };
    let details = json!({ "counts": counts, "error_summary": outcome.error_summary });
    mark_failed(conn, job.req, job.import_id, &report, details).await?;
    Ok(outcome)
}

/// An unexpected error ended the import: the history row says so (best
/// effort: the connection may be what failed). False when the row could
/// not be written.
pub(super) async fn record_error(
    conn: &impl Conn,
    job: &Job<'_>,
    header: &HeaderInfo,
    e: &Report,
) -> bool {
    let written = write_error(conn, job.req, job.import_id, &header.unknown_columns, e).await;
    match written {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the import's failure");
            false
        }
    }
}

/// [`record_error`] from a new session, for when the import's connection
/// failed too (a server that closed it, or a protocol error after a refused
/// `COPY`): else the row stays `running` until the next command calls it
/// "interrupted". The row then lists no unknown columns (only the stages
/// knew the header). Call it after releasing the import's lock.
pub(super) async fn record_error_from_new_session(
    db: &Database,
    req: &ImportRequest,
    id: i64,
    e: &Report,
) {
    let written = async {
        let lock = relock(db, &req.seller).await?;
        let written = write_error(&*lock, req, Some(id), &[], e).await;
        lock.release().await;
        written
    }
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot record the import's failure from a new session");
    }
}

/// The seller's lock again; the closed connection's server process may
/// take a moment to end and free it.
async fn relock(db: &Database, seller: &str) -> Result<SellerLock> {
    for _ in 0..50 {
        match db.session().await?.lock_seller(seller).await? {
            LockAttempt::Held(lock) => return Ok(lock),
            LockAttempt::Busy(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Err(eyre!("the seller's lock is still held by another session"))
}

async fn write_error(
    conn: &impl Conn,
    req: &ImportRequest,
    import_id: Option<i64>,
    unknown_columns: &[String],
    e: &Report,
) -> Result<()> {
    let message = format!("{e:#}");
    let summary = format!("the import failed and changed nothing: {message}");
    let report = ImportReport {
        sha256: None,
        counts: Counts::default(),
        unknown_columns,
        errors: json!([]),
        error_summary: Some(&summary),
    };
    let details = json!({ "error": message });
    mark_failed(conn, req, import_id, &report, details).await
}

/// What the dry run pinned no longer holds: the history row says why.
pub(super) async fn record_refusal(
    conn: &impl Conn,
    job: &Job<'_>,
    header: &HeaderInfo,
    refused: &ImportRefused,
) {
    let summary = format!("refused: {}", refused.message());
    let report = ImportReport {
        sha256: None,
        counts: Counts::default(),
        unknown_columns: &header.unknown_columns,
        errors: json!([]),
        error_summary: Some(&summary),
    };
    let details = json!({ "error": refused.reason(), "refused": refused });
    if let Err(e) = mark_failed(conn, job.req, job.import_id, &report, details).await {
        tracing::warn!(error = %e, "cannot record the import's refusal");
    }
}

/// The import was cancelled (its stages are gone, its transaction rolled
/// back): the history row becomes failed, "cancelled", saying who or what
/// stopped it. Tried twice: the cancel request sent to the server may reach
/// this statement instead of the one it was meant for.
pub(super) async fn record_cancelled(conn: &impl Conn, req: &ImportRequest, id: i64) {
    let cause = req.cancel.cause().unwrap_or(StopCause::Requested);
    let summary = format!(
        "{}: the import was stopped and nothing was changed",
        cause.describe(&req.actor.label())
    );
    let report = ImportReport {
        sha256: None,
        counts: Counts::default(),
        unknown_columns: &[],
        errors: json!([]),
        error_summary: Some(&summary),
    };
    for attempt in 1..=2 {
        let details = json!({ "error": "cancelled", "cause": cause });
        match mark_failed(conn, req, Some(id), &report, details).await {
            Ok(()) => return,
            Err(e) if attempt == 1 && crate::db::is_query_cancelled(&e) => continue,
            Err(e) => tracing::warn!(error = %e, "cannot record the import's cancellation"),
        }
    }
}

/// The abort path's one write: the history row `failed`, and `import
/// failed` in the audit log. A dry run has no history row.
async fn mark_failed(
    conn: &impl Conn,
    req: &ImportRequest,
    import_id: Option<i64>,
    report: &ImportReport<'_>,
    details: serde_json::Value,
) -> Result<()> {
    let Some(id) = import_id else {
        return Ok(());
    };
    store::fail(conn, id, report).await?;
    log_event(conn, req, id, action::IMPORT_FAILED, details).await
}

/// One audit-log entry about import `id`, by the request's actor for its seller.
async fn log_event(
    conn: &impl Conn,
    req: &ImportRequest,
    id: i64,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    audit::append(
        conn,
        &req.actor.label(),
        action,
        Some(&req.seller),
        Some(id),
        details,
    )
    .await
}

/// The outcome as the CLI and console show it (status `failed` until the
/// caller knows better).
fn outcome(
    job: &Job<'_>,
    header: Option<&HeaderInfo>,
    summary: &ParseSummary,
    counts: Counts,
) -> ImportOutcome {
    let duration = job.started.elapsed().as_secs_f64();
    let mut errors = summary.errors.clone();
    let mut error_count = summary.error_count;
    if let Some(fe) = &summary.file_error {
        errors.insert(0, fe.clone());
        error_count += 1;
    }
    ImportOutcome {
        import_id: job.import_id,
        status: ImportStatus::Failed,
        seller: job.req.seller.clone(),
        file: display_name(&job.req.path),
        file_sha256: summary.sha256.clone(),
        profile: header.map(|h| h.kind.name().to_string()),
        profile_detected: header.is_some_and(|h| h.detected),
        key: header.map(|h| h.key.clone()),
        unknown_columns: header
            .map(|h| h.unknown_columns.clone())
            .unwrap_or_default(),
        counts,
        duration_seconds: duration,
        rows_per_second: if duration > 0.0 {
            counts.rows_read as f64 / duration
        } else {
            0.0
        },
        errors,
        error_count,
        error_summary: summarise(summary, counts, job.req),
        rejects_file: summary.rejects_file.clone(),
        changes: None,
        plan_fingerprint: None,
    }
}

fn summarise(summary: &ParseSummary, counts: Counts, req: &ImportRequest) -> Option<String> {
    if let Some(fe) = &summary.file_error {
        return Some(format!("the file was not imported: {fe}"));
    }
    if counts.rejected == 0 {
        return None;
    }
    Some(if req.skip_invalid && req.dry_run {
        format!(
            "{} of {} rows would be rejected and skipped; the valid rows would be imported (dry run: nothing was written, no rejects file)",
            counts.rejected, counts.rows_read
        )
    } else if req.skip_invalid {
        format!(
            "{} of {} rows were rejected and skipped; the valid rows were imported",
            counts.rejected, counts.rows_read
        )
    } else {
        format!(
            "{} of {} rows were rejected, so nothing was imported (fix them, or use --skip-invalid to import the valid rows)",
            counts.rejected, counts.rows_read
        )
    })
}

/// The file name as given on the command line (stored and shown; never parsed).
fn display_name(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Where `--skip-invalid` writes this import's rejects CSV.
pub(super) fn rejects_path(req: &ImportRequest) -> PathBuf {
    let stem = req
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    req.rejects_dir.join(format!("{safe}.{stamp}.rejects.csv"))
}
