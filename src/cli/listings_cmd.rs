//! `importdesk listings --seller S [--search TEXT] [--status ST] [--sort sku|changed]`
//! and `importdesk listing SKU --seller S [--restore-before CHANGE [--preview | --yes] [--expect PLAN]]`.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::json;

use super::args::{ListingArgs, ListingsArgs, SortArg};
use super::output::{print_json, sanitize, truncate};
use super::{CliError, CliResult, Exit};
use crate::db::Database;
use crate::domain::actor::Actor;
use crate::domain::listings::{
    self, BrowseFilter, BrowseOrder, Change, Cursor, FieldChange, ListingValues, RestoreOutcome,
    RestorePreview, RestoreRequest, Timeline,
};

pub async fn listings(db: &Database, args: ListingsArgs) -> CliResult<Exit> {
    let order = match args.sort {
        SortArg::Sku => BrowseOrder::Sku,
        SortArg::Changed => BrowseOrder::LastChange,
    };
    let after = match &args.after {
        None => None,
        Some(text) => Some(Cursor::parse(text, order).ok_or_else(|| CliError::Refused {
            exit: Exit::Usage,
            message: format!(
                "--after {}: not a position of this order (pass the `next` value of the previous page)",
                sanitize(text)
            ),
        })?),
    };
    let page = listings::browse(
        db,
        &BrowseFilter {
            seller: args.seller.clone(),
            search: args.search.clone(),
            status: args.status.map(|s| s.as_str().to_string()),
            order,
            after,
            limit: args.limit.clamp(1, 10_000),
        },
    )
    .await?;
    if args.json {
        print_json(&page)?;
        return Ok(Exit::Success);
    }
    if page.listings.is_empty() {
        println!("seller {}: no listings match", sanitize(&args.seller));
        return Ok(Exit::Success);
    }
    println!(
        "{:<24}  {:<30}  {:>14}  {:>6}  {:<8}  LAST CHANGE (UTC)",
        "SKU", "TITLE", "PRICE", "QTY", "STATUS"
    );
    for l in &page.listings {
        let price = match (&l.price, &l.currency) {
            (Some(p), Some(c)) => format!("{p} {c}"),
            (Some(p), None) => p.clone(),
            _ => String::new(),
        };
        println!(
            "{:<24}  {:<30}  {:>14}  {:>6}  {:<8}  {}",
            truncate(&l.sku, 24),
            truncate(l.title.as_deref().unwrap_or(""), 30),
            truncate(&price, 14),
            l.quantity.map(|q| q.to_string()).unwrap_or_default(),
            l.status,
            l.updated_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    if let Some(next) = &page.next {
        println!("next page: --after {}", sanitize(&next.to_string()));
    }
    Ok(Exit::Success)
}

pub async fn listing(db: &Database, args: ListingArgs) -> CliResult<Exit> {
    match args.restore_before {
        Some(change) => restore(db, &args, change).await,
        None => timeline(db, &args).await,
    }
}

async fn timeline(db: &Database, args: &ListingArgs) -> CliResult<Exit> {
    let t = listings::timeline(
        db,
        &args.seller,
        &args.sku,
        args.before,
        args.limit.clamp(1, 10_000),
    )
    .await?;
    if args.json {
        print_json(&t)?;
        return Ok(Exit::Success);
    }
    print_timeline(&t);
    Ok(Exit::Success)
}

fn value_text(v: Option<&str>) -> String {
    match v {
        None => "(empty)".into(),
        Some(s) => {
            let mut t: String = s.chars().take(60).collect();
            if s.chars().count() > 60 {
                t.push('…');
            }
            sanitize(&t).into_owned()
        }
    }
}

fn print_fields(diff: &[FieldChange]) {
    for f in diff {
        match (&f.before, &f.after) {
            (Some(_), Some(_)) | (None, None) => println!(
                "        {:<15} {} -> {}",
                f.field,
                value_text(f.before.as_deref()),
                value_text(f.after.as_deref())
            ),
            (None, Some(v)) => println!("        {:<15} + {}", f.field, value_text(Some(v))),
            (Some(v), None) => println!("        {:<15} - {}", f.field, value_text(Some(v))),
        }
    }
}

fn describe_values(v: &ListingValues) -> String {
    let mut parts = vec![v.status.clone()];
    if let Some(p) = &v.price {
        parts.push(
            format!("{p} {}", v.currency.as_deref().unwrap_or(""))
                .trim()
                .to_string(),
        );
    }
    if let Some(q) = v.quantity {
        parts.push(format!("quantity {q}"));
    }
    if let Some(t) = &v.title {
        parts.push(format!("\"{}\"", value_text(Some(t))));
    }
    parts.join(" · ")
}

fn print_change(c: &Change) {
    println!(
        "#{:<8} {}  {}",
        c.change_id,
        c.at.format("%Y-%m-%d %H:%M:%S UTC"),
        c.describe()
    );
    print_fields(&c.diff);
}

fn print_timeline(t: &Timeline) {
    let name = format!(
        "listing {} of seller {}",
        sanitize(&t.sku),
        sanitize(&t.seller_id)
    );
    match &t.current {
        Some(v) => println!("{name}: {}", describe_values(v)),
        None => {
            println!("{name}: deleted (restore it from before its deletion to create it again)")
        }
    }
    if t.changes.is_empty() {
        println!("no recorded changes");
        return;
    }
    println!("changes, newest first:");
    for c in &t.changes {
        print_change(c);
    }
    if let Some(before) = t.next_before {
        println!("older changes: --before {before}");
    }
    println!(
        "\nto restore the values from before a change: importdesk listing {} --seller {} --restore-before CHANGE --preview",
        sanitize(&t.sku),
        sanitize(&t.seller_id)
    );
}

async fn restore(db: &Database, args: &ListingArgs, change: i64) -> CliResult<Exit> {
    // With --yes the plan is read once, inside the restore's transaction.
    let preview = if args.preview || !args.yes {
        Some(listings::preview_restore(db, &args.seller, &args.sku, change).await?)
    } else {
        None
    };
    let mut expect = args.expect.clone();
    if let Some(p) = &preview {
        if args.preview {
            if args.json {
                print_json(&json!({ "preview": p }))?;
            } else {
                print_preview(p);
                println!(
                    "\nto execute exactly this: importdesk listing {} --seller {} --restore-before {change} --yes --expect {}",
                    sanitize(&p.sku),
                    sanitize(&p.seller_id),
                    p.fingerprint
                );
            }
            return Ok(Exit::Success);
        }
        if !std::io::stdin().is_terminal() || args.json {
            return Err(CliError::Refused {
                exit: Exit::RollbackRefused,
                message:
                    "refusing to restore without confirmation: there is no terminal to ask on; \
                          review with --preview, then pass --yes (and --expect PLAN)"
                        .into(),
            });
        }
        print_preview(p);
        if !confirm()? {
            println!("cancelled; nothing was changed");
            return Ok(Exit::Success);
        }
        expect = Some(p.fingerprint.clone());
    }
    let outcome = listings::restore(
        db,
        RestoreRequest {
            seller: args.seller.clone(),
            sku: args.sku.clone(),
            before_change: change,
            expect,
            actor: Actor::from_environment(),
        },
    )
    .await?;
    if args.json {
        print_json(&outcome)?;
    } else {
        print_outcome(&outcome);
    }
    Ok(Exit::Success)
}

fn print_preview(p: &RestorePreview) {
    println!(
        "restore listing {} of seller {} to its values from before change #{}",
        sanitize(&p.sku),
        sanitize(&p.seller_id),
        p.change.change_id
    );
    println!(
        "  that change: {} at {}",
        p.change.describe(),
        p.change.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if p.recreates {
        println!("  the listing is deleted now: it is created again with these values");
    } else {
        println!("  now -> restored:");
    }
    print_fields(&p.diff);
    println!("  plan fingerprint: {}", p.fingerprint);
}

fn confirm() -> color_eyre::Result<bool> {
    let mut out = std::io::stdout();
    write!(out, "\nRestore? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_outcome(o: &RestoreOutcome) {
    println!(
        "listing {} of seller {} {} with its values from before change #{} ({} field(s)); restore #{} is in the audit log",
        sanitize(&o.sku),
        sanitize(&o.seller_id),
        if o.recreated {
            "created again"
        } else {
            "restored"
        },
        o.before_change,
        o.diff.len(),
        o.restore_id
    );
}
