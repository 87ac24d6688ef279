//! The async side of an import: seller lock, history row, one transaction
//! with COPY into staging, duplicate check, set-based merge, summary.

use std::path::Path;
use std::time::Instant;

use color_eyre::eyre::{Context, Result, eyre};
use futures_util::SinkExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::parse::{Event, HeaderInfo, ParseRequest, ParseSummary, parse_file};
use super::{
    Counts, FieldChanges, ImportOutcome, ImportRefused, ImportRequest, ImportStatus, KEPT_ERRORS,
    Phase, Progress, ProgressFn, RowError, rejects,
};
use crate::db::Database;
use crate::db::queries::{history as history_sql, import as sql, locks};
use crate::domain::audit::{self, action};

/// Runs one import. `Ok` carries completed, failed-by-validation and dry-run
/// outcomes alike; `Err` is a refusal ([`ImportRefused`]) or an unexpected
/// failure, after which nothing has changed either.
pub async fn run(
    db: &Database,
    req: ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome> {
    // Checked before anything (a history row) is written for it.
    let mut req = req;
    req.seller = crate::domain::seller::validate(&req.seller)?;
    let mut client = db.connect_dedicated().await?;
    let locked: bool = client
        .query_one(locks::TRY_LOCK_SELLER, &[&req.seller])
        .await?
        .get(0);
    if !locked {
        let running = client
            .query_opt(sql::RUNNING_FOR_SELLER, &[&req.seller])
            .await?
            .map(|r| {
                let started: chrono::DateTime<chrono::Utc> = r.get(2);
                format!(
                    "import #{} by {} since {}",
                    r.get::<_, i64>(0),
                    crate::text::sanitize(&r.get::<_, String>(1)),
                    started.format("%Y-%m-%d %H:%M:%S UTC")
                )
            });
        return Err(ImportRefused::SellerBusy {
            seller: req.seller.clone(),
            running,
        }
        .into());
    }
    // Holding the seller's lock proves no other process works on its imports:
    // any still marked running were abandoned by a crash.
    client
        .query(history_sql::FAIL_ABANDONED, &[&req.seller])
        .await?;
    let watch = crate::db::blocking::BlockerWatch::start(db, &client).await?;
    let result = run_locked(&mut client, &req, progress).await;
    let result = crate::db::blocking::explain(db, Some(&watch), result).await;
    // If the connection broke, the lock went with it.
    let _ = client.query_one(locks::UNLOCK_SELLER, &[&req.seller]).await;
    result
}

struct Context_<'a> {
    req: &'a ImportRequest,
    started: Instant,
    import_id: Option<i64>,
}

async fn run_locked(
    client: &mut Client,
    req: &ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome> {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Event>(4);
    let parse_req = ParseRequest {
        path: req.path.clone(),
        profile: req.profile,
        options: req.options.clone(),
        skip_invalid: req.skip_invalid,
        rejects_path: rejects_path(req),
    };
    let parser_progress = progress.clone();
    let parser =
        tokio::task::spawn_blocking(move || parse_file(parse_req, tx, parser_progress, started));

    let header = match rx.recv().await {
        Some(Event::Header(h)) => h,
        Some(Event::Chunk(_)) => unreachable!("the parser sends the header first"),
        None => {
            // The file could not be opened or its header not mapped.
            let summary = parser.await.wrap_err("the CSV parser thread failed")?;
            let mut ctx = Context_ {
                req,
                started,
                import_id: None,
            };
            if !req.dry_run {
                ctx.import_id = Some(insert_import_row(client, req, None).await?);
            }
            return fail(client, &mut ctx, None, summary).await;
        }
    };

    let mut ctx = Context_ {
        req,
        started,
        import_id: None,
    };
    if !req.dry_run {
        ctx.import_id = Some(insert_import_row(client, req, Some(&header)).await?);
    }

    match load_and_merge(client, &mut ctx, &header, &mut rx, parser, progress).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // The transaction is gone; record why on the history row.
            if let Some(id) = ctx.import_id {
                let message = format!("{e:#}");
                let _ = client
                    .query(
                        sql::FAIL_IMPORT,
                        &[
                            &id,
                            &None::<String>,
                            &0i64,
                            &0i64,
                            &0i64,
                            &header.unknown_columns,
                            &json!([]),
                            &format!("the import failed and changed nothing: {message}"),
                        ],
                    )
                    .await;
                let _ = audit::append(
                    &*client,
                    &req.actor.label(),
                    action::IMPORT_FAILED,
                    Some(&req.seller),
                    Some(id),
                    json!({ "error": message }),
                )
                .await;
            }
            Err(e)
        }
    }
}

async fn insert_import_row(
    client: &Client,
    req: &ImportRequest,
    header: Option<&HeaderInfo>,
) -> Result<i64> {
    let profile = header.map(|h| h.kind.name()).unwrap_or("unknown");
    let size = std::fs::metadata(&req.path).map(|m| m.len() as i64).ok();
    let options = json!({
        "requested_profile": req.profile.map(|p| p.name()),
        "key_column": req.options.key_column,
        "default_currency": req.options.default_currency,
        "skip_invalid": req.skip_invalid,
        "profile_detected": header.map(|h| h.detected),
        "key": header.map(|h| h.key.clone()),
    });
    let id: i64 = client
        .query_one(
            sql::INSERT_IMPORT,
            &[
                &req.seller,
                &display_name(&req.path),
                &size,
                &profile,
                &options,
                &req.actor.label(),
                &req.actor.os_user,
                &req.actor.client_addr,
            ],
        )
        .await
        .wrap_err("cannot record the import in the history")?
        .get(0);
    audit::append(
        client,
        &req.actor.label(),
        action::IMPORT_STARTED,
        Some(&req.seller),
        Some(id),
        json!({ "file": display_name(&req.path), "profile": profile }),
    )
    .await?;
    Ok(id)
}

async fn load_and_merge(
    client: &mut Client,
    ctx: &mut Context_<'_>,
    header: &HeaderInfo,
    rx: &mut mpsc::Receiver<Event>,
    parser: tokio::task::JoinHandle<ParseSummary>,
    progress: Option<ProgressFn>,
) -> Result<ImportOutcome> {
    let req = ctx.req;
    let tx = client.transaction().await?;
    if let Some(id) = ctx.import_id {
        tx.query(sql::ATTACH_TRANSACTION, &[&id, &req.actor.label()])
            .await?;
    }
    tx.batch_execute(sql::CREATE_STAGING).await?;

    // Boxed so an early return can drop it: dropping the sink aborts the COPY.
    let mut sink = Box::pin(tx.copy_in::<_, bytes::Bytes>(sql::COPY_STAGING).await?);
    while let Some(event) = rx.recv().await {
        if let Event::Chunk(text) = event {
            sink.send(bytes::Bytes::from(text))
                .await
                .wrap_err("sending rows to PostgreSQL failed")?;
        }
    }
    let mut summary = parser.await.wrap_err("the CSV parser thread failed")?;
    if summary.file_error.is_some() {
        drop(sink);
        drop(tx);
        return fail(client, ctx, Some(header), summary).await;
    }
    let staged_rows = sink
        .as_mut()
        .finish()
        .await
        .wrap_err("loading rows into PostgreSQL failed")?;
    tx.batch_execute(sql::ANALYZE_STAGING).await?;

    // Duplicate keys inside the file: both (all) lines are named.
    let duplicate_rows: i64 = tx.query_one(sql::COUNT_DUPLICATE_ROWS, &[]).await?.get(0);
    if duplicate_rows > 0 {
        let rows = tx.query(sql::DUPLICATE_LINES, &[]).await?;
        let mut dup_lines = Vec::with_capacity(rows.len());
        for r in &rows {
            let line: i64 = r.get(0);
            let sku: String = r.get(1);
            let lines: Vec<i64> = r.get(2);
            let others: Vec<String> = lines
                .iter()
                .filter(|l| **l != line)
                .map(|l| l.to_string())
                .collect();
            let reason = crate::text::shorten_quoted(
                &format!(
                    "duplicate key {:?}: it also appears on line {}",
                    sku,
                    others.join(", ")
                ),
                40,
            );
            dup_lines.push((line as u64, reason));
        }
        let mut dup_errors: Vec<RowError> = dup_lines
            .iter()
            .map(|(line, reason)| RowError {
                line: Some(*line),
                column: None,
                column_name: None,
                reason: reason.clone(),
            })
            .collect();
        summary.rejected += duplicate_rows as u64;
        summary.error_count += duplicate_rows as u64;
        summary.errors.append(&mut dup_errors);
        summary.errors.sort_by_key(|e| e.line);
        summary.errors.truncate(KEPT_ERRORS);
        if req.skip_invalid {
            tx.execute(sql::DELETE_DUPLICATES, &[]).await?;
            let path = match &summary.rejects_file {
                Some(p) => p.clone(),
                None => {
                    let w = rejects::RejectsWriter::create(
                        rejects_path(req),
                        summary.delimiter,
                        &summary.headers,
                    )?;
                    w.finish()?
                }
            };
            rejects::append_lines(&path, &req.path, &dup_lines)?;
            summary.rejects_file = Some(path);
        }
    }

    if summary.rejected > 0 && !req.skip_invalid {
        drop(sink);
        drop(tx);
        return fail(client, ctx, Some(header), summary).await;
    }
    if summary.rows_read == 0 {
        summary.file_error = Some(RowError {
            line: None,
            column: None,
            column_name: None,
            reason: if summary.ignored > 0 {
                format!(
                    "the file has no listing rows ({} rows are not listings)",
                    summary.ignored
                )
            } else {
                "the file has a header but no listing rows".to_string()
            },
        });
        drop(sink);
        drop(tx);
        return fail(client, ctx, Some(header), summary).await;
    }

    let staged: i64 = tx.query_one(sql::COUNT_STAGED, &[]).await?.get(0);
    debug_assert!(staged as u64 <= staged_rows);
    let columns = header.columns.as_slice();
    let changes = if req.dry_run {
        let rows = tx
            .query(
                &sql::preview_changes(columns),
                &[&req.seller, &(KEPT_ERRORS as i64)],
            )
            .await?;
        Some(
            rows.iter()
                .map(|r| FieldChanges {
                    sku: r.get(0),
                    changes: r.get(1),
                })
                .collect(),
        )
    } else {
        None
    };
    let updated: i64 = if columns.is_empty() {
        0
    } else {
        tx.query_one(&sql::update_changed(columns), &[&req.seller])
            .await?
            .get(0)
    };
    let empty_table: bool = tx.query_one(sql::LISTINGS_HAS_NO_PAGES, &[]).await?.get(0);
    if empty_table {
        tx.batch_execute(sql::NO_NESTED_LOOPS).await?;
    }
    let created: i64 = tx
        .query_one(&sql::insert_new(columns), &[&req.seller])
        .await?
        .get(0);
    if empty_table {
        tx.batch_execute(sql::DEFAULT_NESTED_LOOPS).await?;
    }
    let counts = Counts {
        rows_read: summary.rows_read,
        created: created as u64,
        updated: updated as u64,
        unchanged: (staged - created - updated).max(0) as u64,
        rejected: summary.rejected,
        ignored: summary.ignored,
    };
    let duration = ctx.started.elapsed();
    let mut outcome = outcome_base(ctx, Some(header), &summary, counts);
    outcome.changes = changes;
    if req.dry_run {
        outcome.status = ImportStatus::DryRun;
        tx.rollback().await?;
        return Ok(outcome);
    }
    let id = ctx
        .import_id
        .ok_or_else(|| eyre!("an applied import has an id"))?;
    // An after-image per created row, a before- and after-image per update.
    let log_rows = created + 2 * updated;
    tx.query_one(sql::REFRESH_LOG_STATISTICS, &[&log_rows])
        .await?;
    tx.query(
        sql::COMPLETE_IMPORT,
        &[
            &id,
            &summary.sha256,
            &(counts.rows_read as i64),
            &(counts.created as i64),
            &(counts.updated as i64),
            &(counts.unchanged as i64),
            &(counts.rejected as i64),
            &(counts.ignored as i64),
            &header.unknown_columns,
            &serde_json::to_value(&summary.errors)?,
            &outcome.error_summary,
        ],
    )
    .await?;
    audit::append(
        &tx,
        &req.actor.label(),
        action::IMPORT_COMPLETED,
        Some(&req.seller),
        Some(id),
        json!({
            "counts": counts,
            "file_sha256": summary.sha256,
            "rejects_file": summary.rejects_file,
        }),
    )
    .await?;
    tx.commit()
        .await
        .wrap_err("committing the import failed; nothing was changed")?;
    if let Some(p) = &progress {
        p(Progress {
            rows_read: counts.rows_read,
            bytes_read: header.size,
            total_bytes: header.size,
            elapsed: duration,
            phase: Phase::Done,
        });
    }
    outcome.status = ImportStatus::Completed;
    Ok(outcome)
}

/// Rejected by validation or unreadable: nothing changed; the history row
/// (if any) becomes `failed` with the error report.
async fn fail(
    client: &Client,
    ctx: &mut Context_<'_>,
    header: Option<&HeaderInfo>,
    summary: ParseSummary,
) -> Result<ImportOutcome> {
    let counts = Counts {
        rows_read: summary.rows_read,
        rejected: summary.rejected,
        ignored: summary.ignored,
        ..Counts::default()
    };
    let mut outcome = outcome_base(ctx, header, &summary, counts);
    outcome.status = ImportStatus::Failed;
    if let Some(id) = ctx.import_id {
        client
            .query(
                sql::FAIL_IMPORT,
                &[
                    &id,
                    &summary.sha256,
                    &(counts.rows_read as i64),
                    &(counts.rejected as i64),
                    &(counts.ignored as i64),
                    &outcome.unknown_columns,
                    &serde_json::to_value(&outcome.errors)?,
                    &outcome.error_summary,
                ],
            )
            .await?;
        audit::append(
            client,
            &ctx.req.actor.label(),
            action::IMPORT_FAILED,
            Some(&ctx.req.seller),
            Some(id),
            json!({ "counts": counts, "error_summary": outcome.error_summary }),
        )
        .await?;
    }
    Ok(outcome)
}

fn outcome_base(
    ctx: &Context_<'_>,
    header: Option<&HeaderInfo>,
    summary: &ParseSummary,
    counts: Counts,
) -> ImportOutcome {
    let duration = ctx.started.elapsed().as_secs_f64();
    let mut errors = summary.errors.clone();
    let mut error_count = summary.error_count;
    if let Some(fe) = &summary.file_error {
        errors.insert(0, fe.clone());
        error_count += 1;
    }
    let error_summary = summarise(summary, counts, ctx.req.skip_invalid);
    ImportOutcome {
        import_id: ctx.import_id,
        status: ImportStatus::Failed,
        seller: ctx.req.seller.clone(),
        file: display_name(&ctx.req.path),
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
        error_summary,
        rejects_file: summary.rejects_file.clone(),
        changes: None,
    }
}

fn summarise(summary: &ParseSummary, counts: Counts, skip_invalid: bool) -> Option<String> {
    if let Some(fe) = &summary.file_error {
        return Some(format!("the file was not imported: {fe}"));
    }
    if counts.rejected == 0 {
        return None;
    }
    Some(if skip_invalid {
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

fn rejects_path(req: &ImportRequest) -> std::path::PathBuf {
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
