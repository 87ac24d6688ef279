//! `importdesk rollback (ID | --last --seller S) [--preview] [--yes] [--on-conflict skip|block] [--expect PLAN] [--json]`

use std::io::{BufRead, IsTerminal, Write};

use color_eyre::eyre::Result;
use serde_json::json;

use super::args::RollbackArgs;
use super::output::{print_json, sanitize};
use super::{CliError, CliResult, Exit};
use crate::db::Database;
use crate::domain::Cancel;
use crate::domain::actor::Actor;
use crate::domain::audit::{self, action};
use crate::domain::rollback::{
    self, Ineligible, PlanItem, Preview, RollbackError, RollbackOutcome, RollbackRequest, Section,
};

const PREVIEW_ROWS: i64 = 20;

pub async fn run(db: &Database, args: RollbackArgs) -> CliResult<Exit> {
    crate::domain::history::recover_abandoned(db).await?;
    let actor = Actor::from_environment();
    let import_id = match (args.id, &args.seller) {
        (Some(id), _) => id,
        (None, Some(seller)) => match rollback::last_applied(db, seller).await? {
            Some(id) => id,
            None => {
                return Err(RollbackError::from(Ineligible::NothingApplied {
                    seller: seller.clone(),
                })
                .into());
            }
        },
        (None, None) => unreachable!("clap requires an id or --last --seller"),
    };
    let mode = args.on_conflict;

    // With --yes the plan is computed once, by the execution itself.
    let preview = if args.preview || !args.yes {
        Some(rollback::preview(db, import_id).await?)
    } else {
        None
    };
    if let (true, Some(preview)) = (args.preview, &preview) {
        audit::append(
            &db.client().await?,
            &actor.label(),
            action::ROLLBACK_PREVIEWED,
            Some(&preview.seller),
            Some(import_id),
            json!({ "counts": preview.counts, "fingerprint": preview.fingerprint }),
        )
        .await?;
        let pages = first_pages(db, preview).await?;
        if args.json {
            print_json(&json!({ "preview": preview, "details": pages }))?;
        } else {
            print_preview(preview, &pages);
            println!(
                "\nto execute exactly this plan: importdesk rollback {import_id} --yes --expect {}",
                preview.fingerprint
            );
        }
        return Ok(Exit::Success);
    }

    let mut expect = args.expect.clone();
    if let (false, Some(preview)) = (args.yes, &preview) {
        if !std::io::stdin().is_terminal() || args.json {
            return Err(CliError::Refused {
                exit: Exit::RollbackRefused,
                message:
                    "refusing to roll back without confirmation: there is no terminal to ask on; \
                          review with --preview, then pass --yes (and --expect PLAN)"
                        .into(),
            });
        }
        let pages = first_pages(db, preview).await?;
        print_preview(preview, &pages);
        if !confirm(preview)? {
            println!("cancelled; nothing was changed");
            return Ok(Exit::Success);
        }
        expect = Some(preview.fingerprint.clone());
    }

    let bar = super::progress::spinner(args.json, format!("rolling back import #{import_id}"));
    let cancel = Cancel::new();
    let request = RollbackRequest {
        import_id,
        mode,
        expect,
        actor,
        cancel: cancel.clone(),
    };
    // SIGTERM, SIGINT or SIGHUP cancel it: its transaction rolls back.
    let result = crate::signals::cancel_on_interrupt(
        &cancel,
        super::import_cmd::CANCEL_GRACE,
        rollback::execute(db, request),
    )
    .await?;
    super::progress::finish(bar);
    let outcome = result.ok_or_else(|| CliError::Refused {
        exit: Exit::Error,
        message: "the rollback did not stop in time; the server rolls its transaction back \
                  when the connection closes"
            .into(),
    })??;
    if args.json {
        print_json(&outcome)?;
    } else {
        print_outcome(&outcome);
    }
    Ok(Exit::Success)
}

#[derive(serde::Serialize)]
struct FirstPages {
    delete: Vec<PlanItem>,
    restore: Vec<PlanItem>,
    skip: Vec<PlanItem>,
}

async fn first_pages(db: &Database, p: &Preview) -> Result<FirstPages> {
    // An empty section is not queried: there is nothing to page through.
    let page = |section, count: i64| async move {
        if count == 0 {
            return Ok(Vec::new());
        }
        rollback::preview_page(
            db,
            p.import_id,
            &p.seller,
            section,
            &rollback::Seek::After(None),
            PREVIEW_ROWS,
        )
        .await
    };
    Ok(FirstPages {
        delete: page(Section::Delete, p.counts.delete).await?,
        restore: page(Section::Restore, p.counts.restore).await?,
        skip: page(Section::Skip, p.counts.skip).await?,
    })
}

fn print_preview(p: &Preview, pages: &FirstPages) {
    let c = &p.counts;
    println!(
        "rollback of import #{} ({}), seller {}, imported {} by {}",
        p.import_id,
        sanitize(&p.file_name),
        sanitize(&p.seller),
        p.imported_at.format("%Y-%m-%d %H:%M:%S UTC"),
        sanitize(&p.imported_by)
    );
    println!(
        "  {} to delete (created by the import), {} to restore, {} to skip",
        c.delete, c.restore, c.skip
    );
    if c.skip > 0 {
        println!(
            "  skipped: {} edited after the import, {} deleted after the import, {} referenced by other rows",
            c.skipped_edited, c.skipped_deleted, c.skipped_referenced
        );
    }
    let shown = |n: usize, total: i64| {
        if (n as i64) < total {
            format!(" (first {n} of {total})")
        } else {
            String::new()
        }
    };
    if !pages.delete.is_empty() {
        println!("\n  delete{}:", shown(pages.delete.len(), c.delete));
        for d in &pages.delete {
            println!("    - {}", sanitize(&d.sku));
        }
    }
    if !pages.restore.is_empty() {
        println!(
            "\n  restore (current -> restored){}:",
            shown(pages.restore.len(), c.restore)
        );
        for r in &pages.restore {
            println!("    ~ {}", sanitize(&r.sku));
            if let Some(diff) = r.diff.as_ref().and_then(|d| d.as_object()) {
                for (field, pair) in diff {
                    println!(
                        "        {field}: - {}  + {}",
                        sanitize(&value_text(&pair[0])),
                        sanitize(&value_text(&pair[1]))
                    );
                }
            }
        }
    }
    if !pages.skip.is_empty() {
        println!("\n  skip{}:", shown(pages.skip.len(), c.skip));
        for s in &pages.skip {
            println!("    ! {}: {}", sanitize(&s.sku), s.explain());
        }
    }
    println!("\n  plan fingerprint: {}", p.fingerprint);
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(empty)".into(),
        serde_json::Value::String(s) => {
            let mut t: String = s.chars().take(60).collect();
            if s.chars().count() > 60 {
                t.push('…');
            }
            t
        }
        other => other.to_string(),
    }
}

/// Asks on the terminal; a large rollback needs the import id typed.
fn confirm(p: &Preview) -> Result<bool> {
    let total = p.counts.delete + p.counts.restore;
    let mut out = std::io::stdout();
    if total > 1000 {
        write!(
            out,
            "\nThis changes {total} listings. Type the import id ({}) to confirm: ",
            p.import_id
        )?;
    } else {
        write!(out, "\nRoll back? [y/N] ")?;
    }
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim();
    Ok(if total > 1000 {
        answer == p.import_id.to_string()
    } else {
        matches!(answer, "y" | "Y" | "yes")
    })
}

fn print_outcome(o: &RollbackOutcome) {
    println!(
        "import #{} rolled back: {} restored, {} deleted, {} skipped ({:.2} s)",
        o.import_id, o.restored, o.deleted, o.skipped, o.duration_seconds
    );
    for s in o.skipped_listings.iter().take(50) {
        println!("  skipped {}: {}", sanitize(&s.sku), s.explain());
    }
    if o.skipped as usize > o.skipped_listings.len().min(50) {
        println!("  (all skipped keys are in the audit log: importdesk audit)");
    }
}
