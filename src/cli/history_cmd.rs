//! `importdesk history`, `show ID` and `audit`.

use color_eyre::eyre::Result;

use super::args::{AuditArgs, AuditCommand, HistoryArgs, ShowArgs};
use super::output::{actor_and_role, print_json, sanitize, truncate};
use super::{CliError, CliResult, Exit};
use crate::db::Database;
use crate::domain::audit;
use crate::domain::history::{self, HistoryFilter, ImportSummary};
use crate::domain::listings::{self, AuditItem};

pub async fn history(db: &Database, args: HistoryArgs) -> Result<Exit> {
    history::recover_abandoned(db).await?;
    let imports = history::list(
        db,
        &HistoryFilter {
            seller: args.seller.clone(),
            limit: args.limit.clamp(1, 10_000),
            ..Default::default()
        },
    )
    .await?;
    if printed_as_json(args.json, &imports)? {
        return Ok(Exit::Success);
    }
    if imports.is_empty() {
        println!("no imports yet");
        return Ok(Exit::Success);
    }
    println!(
        "{:>6}  {:<16}  {:<12}  {:<24}  {:>7} {:>7} {:>7} {:>7}  {:<11}  ACTOR (DATABASE ROLE)",
        "ID", "STARTED (UTC)", "SELLER", "FILE", "CREATED", "UPDATED", "SAME", "REJECT", "STATUS"
    );
    for i in &imports {
        println!(
            "{:>6}  {:<16}  {:<12}  {:<24}  {:>7} {:>7} {:>7} {:>7}  {:<11}  {}",
            i.id,
            i.started_at.format("%Y-%m-%d %H:%M"),
            truncate(&i.seller_id, 12),
            truncate(&file_label(&i.file_name), 24),
            i.created,
            i.updated,
            i.unchanged,
            i.rejected,
            i.shown_status(),
            truncate(&actor_and_role(&i.actor, &i.db_role), 40)
        );
    }
    Ok(Exit::Success)
}

/// Prints `items` as the one JSON document when asked to (the text header,
/// who and which database, is printed before the command runs).
fn printed_as_json(json: bool, items: &impl serde::Serialize) -> Result<bool> {
    if json {
        print_json(items)?;
        return Ok(true);
    }
    Ok(false)
}

/// The file's own name (the path is in `show`).
pub use crate::domain::listings::file_label;

pub async fn show(db: &Database, args: ShowArgs) -> CliResult<Exit> {
    history::recover_abandoned(db).await?;
    let Some(i) = history::get(db, args.id).await? else {
        return Err(CliError::Refused {
            exit: Exit::Error,
            message: format!("there is no import #{}", args.id),
        });
    };
    if args.json {
        print_json(&i)?;
    } else {
        print_import(&i);
    }
    Ok(Exit::Success)
}

pub fn print_import(i: &ImportSummary) {
    println!("import #{} — {}", i.id, i.shown_status());
    println!("  seller:    {}", sanitize(&i.seller_id));
    println!("  file:      {}", sanitize(&i.file_name));
    if let Some(sha) = &i.file_sha256 {
        println!("  sha256:    {}", sanitize(sha));
    }
    if let Some(size) = i.file_size {
        println!("  size:      {size} bytes");
    }
    println!("  profile:   {}", sanitize(&i.profile));
    println!(
        "  by:        {} (database role {})",
        sanitize(&i.actor),
        sanitize(&i.db_role)
    );
    println!(
        "  started:   {}",
        i.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(f) = i.finished_at {
        println!(
            "  finished:  {} ({:.2} s)",
            f.format("%Y-%m-%d %H:%M:%S UTC"),
            i.duration_seconds().unwrap_or(0.0)
        );
    }
    println!(
        "  rows:      {} read: {} created, {} updated, {} unchanged, {} rejected, {} ignored",
        i.rows_read, i.created, i.updated, i.unchanged, i.rejected, i.ignored_rows
    );
    if !i.unknown_columns.is_empty() {
        let cols: Vec<String> = i
            .unknown_columns
            .iter()
            .map(|c| sanitize(c).into_owned())
            .collect();
        println!("  unknown columns: {}", cols.join(", "));
    }
    if let Some(s) = &i.error_summary {
        println!("  summary:   {}", sanitize(s));
    }
    if let Some(errors) = i.errors.as_array().filter(|a| !a.is_empty()) {
        println!("  errors:");
        for e in errors.iter().take(50) {
            let line = e
                .get("line")
                .and_then(|v| v.as_u64())
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            let col = e
                .get("column")
                .and_then(|v| v.as_u64())
                .map(|c| format!("column {c}: "))
                .unwrap_or_default();
            let reason = e.get("reason").and_then(|v| v.as_str()).unwrap_or("");
            println!("    {}{}{}", line, col, sanitize(reason));
        }
    }
    if let Some(at) = i.pruned_at {
        println!(
            "  pruned:    {} (its before-images were deleted: it can no longer be rolled back)",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    if let Some(at) = i.rolled_back_at {
        println!(
            "  rolled back {} by {}: {} restored, {} deleted, {} skipped",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            sanitize(i.rolled_back_by.as_deref().unwrap_or("?")),
            i.rollback_restored.unwrap_or(0),
            i.rollback_deleted.unwrap_or(0),
            i.rollback_skipped.unwrap_or(0)
        );
    }
}

pub async fn audit(db: &Database, args: AuditArgs) -> Result<Exit> {
    if let Some(AuditCommand::Prune {
        completed_before,
        dry_run,
        json,
    }) = args.command
    {
        return prune(db, completed_before, dry_run, json).await;
    }
    let filter = audit::AuditFilter {
        seller: args.seller.clone(),
        sku: args.sku.clone(),
        role: args.role.clone(),
        since: args.since,
        until: args.until,
        ..Default::default()
    };
    let items = listings::audit_feed(db, &filter, args.edits, args.limit.clamp(1, 10_000)).await?;
    let shown = if args.edits {
        printed_as_json(args.json, &items)?
    } else {
        // Without --edits: the audit-log entries as they always were.
        let entries: Vec<&audit::AuditEntry> = items
            .iter()
            .filter_map(|i| match i {
                AuditItem::Entry(e) => Some(e),
                AuditItem::HandEdit(_) => None,
            })
            .collect();
        printed_as_json(args.json, &entries)?
    };
    if shown {
        return Ok(Exit::Success);
    }
    if items.is_empty() {
        println!("no entries");
        return Ok(Exit::Success);
    }
    println!(
        "{:>6}  {:<19}  {:<30}  {:<34}  {:<19}  {:<13}  DETAILS",
        "ID", "AT (UTC)", "ACTOR (DATABASE ROLE)", "ACTION", "SELLER", "IMPORT"
    );
    for item in &items {
        match item {
            AuditItem::Entry(e) => println!(
                "{:>6}  {}  {:<30}  {:<34}  seller {:<12}  import {:>6}  {}",
                e.id,
                e.at.format("%Y-%m-%d %H:%M:%S"),
                truncate(&actor_and_role(&e.actor, &e.db_role), 30),
                truncate(&e.action, 34),
                truncate(e.seller_id.as_deref().unwrap_or("-"), 12),
                e.import_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "-".into()),
                truncate(&e.details.to_string(), 60)
            ),
            AuditItem::HandEdit(c) => println!(
                "{:>6}  {}  {:<30}  {:<34}  seller {:<12}  sku {}: {}",
                format!("#{}", c.change_id),
                c.at.format("%Y-%m-%d %H:%M:%S"),
                truncate(&actor_and_role(&c.actor, &c.db_role), 30),
                "hand edit",
                truncate(&c.seller_id, 12),
                truncate(&c.sku, 24),
                truncate(&edit_summary(c), 80)
            ),
        }
    }
    Ok(Exit::Success)
}

/// `edited by hand by jane (role sue): price 1.00 -> 2.00, quantity 3 -> 4`
fn edit_summary(c: &listings::Change) -> String {
    let fields: Vec<String> = c
        .diff
        .iter()
        .filter(|f| f.field != "updated_at")
        .map(|f| {
            format!(
                "{} {} -> {}",
                f.field,
                f.before.as_deref().unwrap_or("(empty)"),
                f.after.as_deref().unwrap_or("(empty)")
            )
        })
        .collect();
    format!("{}: {}", c.describe(), fields.join(", "))
}

async fn prune(
    db: &Database,
    completed_before: Option<chrono::DateTime<chrono::Utc>>,
    dry_run: bool,
    json: bool,
) -> Result<Exit> {
    let actor = crate::domain::actor::Actor::from_environment().label();
    let bar = super::progress::spinner(
        json,
        if dry_run {
            "finding prunable before-images".into()
        } else {
            "pruning before-images".into()
        },
    );
    let result = audit::prune(db, completed_before, &actor, dry_run).await;
    super::progress::finish(bar);
    let outcome = result?;
    if json {
        print_json(&outcome)?;
        return Ok(Exit::Success);
    }
    let ids = |v: &[i64]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if outcome.is_empty() {
        println!(
            "nothing to prune: no before-images are held by rolled-back imports{}, and no manual edits are older than every rollbackable import",
            match completed_before {
                Some(d) => format!(
                    " or by completed imports that finished before {}",
                    d.format("%Y-%m-%d %H:%M UTC")
                ),
                None => String::new(),
            }
        );
        return Ok(Exit::Success);
    }
    let verb = if dry_run { "would delete" } else { "deleted" };
    println!("rolled-back imports: {}", ids(&outcome.rolled_back_imports));
    println!(
        "retired (no longer rollbackable): {}",
        ids(&outcome.retired_imports)
    );
    println!(
        "{verb} {} change-log rows of those imports and {} rows of manual edits older than any rollbackable import",
        outcome.import_rows_deleted, outcome.manual_edit_rows_deleted
    );
    if dry_run {
        println!("dry run: nothing was deleted");
    }
    Ok(Exit::Success)
}
