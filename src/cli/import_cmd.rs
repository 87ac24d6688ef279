//! `importdesk import FILE --seller S ...`

use std::time::Duration;

use super::args::ImportArgs;
use super::output::{print_json, sanitize};
use super::{CliError, CliResult, Exit};
use crate::db::Database;
use crate::domain::Cancel;
use crate::domain::actor::Actor;
use crate::domain::import::{self, ImportOutcome, ImportRequest, ImportStatus, MapOptions};

/// Longest wait for a cancelled import to roll back and record itself.
pub const CANCEL_GRACE: Duration = Duration::from_secs(5);

pub async fn run(
    db: &Database,
    args: ImportArgs,
    files_dir: std::path::PathBuf,
) -> CliResult<Exit> {
    let req = ImportRequest {
        path: args.file.clone(),
        seller: args.seller.clone(),
        profile: args.profile.0,
        options: MapOptions {
            key_column: args.key.clone(),
            default_currency: args.currency.clone(),
        },
        dry_run: args.dry_run,
        skip_invalid: args.skip_invalid,
        actor: Actor::from_environment(),
        rejects_dir: files_dir.join("rejects"),
        expect: args.expect.clone(),
        cancel: Cancel::new(),
    };
    let (bar, progress) = match super::progress::import_bar(
        args.json,
        args.dry_run,
        std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0),
    ) {
        Some((bar, callback)) => (Some(bar), Some(callback)),
        None => (None, None),
    };
    let result = cancellable(db, req, progress).await?;
    super::progress::finish(bar);
    let outcome = result?;
    if args.json {
        print_json(&outcome)?;
    } else {
        print_outcome(&outcome);
    }
    Ok(match outcome.status {
        ImportStatus::Failed => Exit::ImportRejected,
        _ => Exit::Success,
    })
}

/// Runs the import; SIGTERM, SIGINT or SIGHUP cancel it (its transaction
/// rolls back, the history says cancelled and by which signal).
async fn cancellable(
    db: &Database,
    req: ImportRequest,
    progress: Option<import::ProgressFn>,
) -> CliResult<Result<ImportOutcome, import::ImportError>> {
    let cancel = req.cancel.clone();
    let import = import::run(db, req, progress);
    crate::signals::cancel_on_interrupt(&cancel, CANCEL_GRACE, import)
        .await?
        .ok_or_else(|| CliError::Refused {
            exit: Exit::Error,
            message: "the import did not stop in time; the server rolls its transaction back \
                      when the connection closes"
                .into(),
        })
}

pub fn print_outcome(o: &ImportOutcome) {
    let what = match o.status {
        ImportStatus::Completed => "completed".to_string(),
        ImportStatus::Failed => "REJECTED: nothing was changed".to_string(),
        ImportStatus::DryRun => "dry run: nothing was changed".to_string(),
    };
    let id = o.import_id.map(|i| format!("#{i} ")).unwrap_or_default();
    println!("import {id}{what}");
    println!("  file:    {}", sanitize(&o.file));
    println!("  seller:  {}", sanitize(&o.seller));
    if let Some(p) = &o.profile {
        println!(
            "  profile: {p}{}; key: {}",
            if o.profile_detected {
                " (detected from the header)"
            } else {
                ""
            },
            o.key.as_deref().unwrap_or("?")
        );
    }
    let c = &o.counts;
    let verb = if o.status == ImportStatus::DryRun {
        "would be "
    } else {
        ""
    };
    println!(
        "  rows:    {} read: {} {verb}created, {} {verb}updated, {} unchanged, {} rejected",
        c.rows_read, c.created, c.updated, c.unchanged, c.rejected
    );
    if c.ignored > 0 {
        println!(
            "           {} rows ignored (not listings by the profile's rules)",
            c.ignored
        );
    }
    println!(
        "  time:    {:.2} s ({:.0} rows/s)",
        o.duration_seconds, o.rows_per_second
    );
    if let Some(fp) = &o.plan_fingerprint {
        println!("  plan:    {fp}");
        if o.status == ImportStatus::DryRun {
            println!("           import exactly this: importdesk import ... --expect {fp}");
        }
    }
    if !o.unknown_columns.is_empty() {
        let cols: Vec<String> = o
            .unknown_columns
            .iter()
            .map(|c| sanitize(c).into_owned())
            .collect();
        println!("  unknown columns (not imported): {}", cols.join(", "));
    }
    if let Some(s) = &o.error_summary {
        println!("  {}", sanitize(s));
    }
    if !o.errors.is_empty() {
        println!(
            "  errors ({} shown of {}):",
            o.errors.len().min(20),
            o.error_count
        );
        for e in o.errors.iter().take(20) {
            println!("    {}", sanitize(&e.to_string()));
        }
    }
    if let Some(path) = &o.rejects_file {
        println!(
            "  rejected rows written to {}",
            sanitize(&path.to_string_lossy())
        );
    }
    if let Some(changes) = &o.changes {
        if !changes.is_empty() {
            println!("  first changes:");
        }
        for ch in changes.iter().take(20) {
            println!(
                "    {}: {}",
                sanitize(&ch.sku),
                sanitize(&ch.changes.to_string())
            );
        }
    }
}
