//! The scale run: a new seller's import, its rollback preview and its
//! rollback, in front of 0, 1,000,000 and 10,000,000 listings of other
//! sellers and a change log of the same size. Each step should cost about
//! the same whatever the others hold (target: at most 1.3x its time in an
//! empty database).
//!
//! The other sellers' data is made with set-based SQL, not through the
//! importer: sellers of 10,000 listings each (descriptions of 64 characters,
//! so that 10M listings and their log fit in about 8 GB), every one with a completed
//! import in the history and its after-images in the change log, as if
//! importdesk had imported them (the capture triggers are bypassed for
//! that session only, `session_replication_role = replica`). Then VACUUM
//! ANALYZE and a CHECKPOINT, so that no background work runs during a step.

use std::time::Instant;

use crate::child::{Bench, Cluster};
use crate::report::{Report, count, json_of, load_average, log_len, short, slow_statements};
use crate::steps::{PREVIEW_SECONDS, preview};
use crate::{Options, Result, data};

/// Listings per other seller.
const PER_SELLER: u64 = 10_000;
/// Other sellers' listings added per statement.
const BATCH: u64 = 1_000_000;
/// A step at the largest size may take at most this much longer than at 0.
const MAX_GROWTH: f64 = 1.3;
/// Each size is measured this many times (a new seller each time) and the
/// fastest time of each step kept: on a shared machine one run's noise is
/// larger than the effect measured.
const REPEATS: usize = 3;

/// Adds other sellers' listings `from..to` (global row numbers, multiples
/// of [`PER_SELLER`]), each seller with a completed import and its
/// after-images in the change log.
fn grow_sql(from: u64, to: u64) -> String {
    let (first, last) = (from / PER_SELLER, to / PER_SELLER - 1);
    format!(
        "BEGIN;
         SET LOCAL session_replication_role = replica;
         CREATE TEMP TABLE other_imports (seller_id text, import_id bigint) ON COMMIT DROP;
         WITH made AS (
           INSERT INTO import_audit.imports (seller_id, file_name, profile, actor, status,
                  finished_at, rows_read, created, data_txid)
           SELECT 'other-' || lpad(s::text, 6, '0'), 'other.csv', 'native', 'bench', 'completed',
                  clock_timestamp(), {PER_SELLER}, {PER_SELLER}, pg_current_xact_id()
             FROM generate_series({first}, {last}) s
           RETURNING id, seller_id)
         INSERT INTO other_imports SELECT seller_id, id FROM made;
         ANALYZE other_imports;
         INSERT INTO listings (seller_id, sku, title, description, price, currency, quantity,
                status, condition, category, listing_number, end_date)
         SELECT 'other-' || lpad((g / {PER_SELLER})::text, 6, '0'),
                'OTHER-' || lpad((g % {PER_SELLER})::text, 8, '0'),
                'Item ' || g || ', Handmade Ceramic Plant Pot',
                repeat(md5(g::text), 2),
                (g % 100000) / 100.0, 'USD', g % 500, 'active', 'New',
                'Home & Garden > Kitchen', (100000000000 + g)::text,
                '2027-01-01'::timestamptz + (g % 365) * interval '1 day'
           FROM generate_series({from}::bigint, {to}::bigint - 1) g;
         INSERT INTO import_audit.log_listings (audit_stmt_id, audit_op, audit_image,
                audit_import_id, audit_actor, audit_role, audit_txid, audit_at,
                seller_id, sku, title, description, price, currency, quantity, status,
                condition, category, listing_number, end_date, created_at, updated_at)
         SELECT nextval('import_audit.statement_seq'), 'I', 'N', o.import_id, 'bench', session_user,
                pg_current_xact_id(), now(), l.seller_id, l.sku, l.title, l.description,
                l.price, l.currency, l.quantity, l.status, l.condition, l.category,
                l.listing_number, l.end_date, l.created_at, l.updated_at
           FROM other_imports o JOIN listings l ON l.seller_id = o.seller_id;
         UPDATE import_audit.imports i
            SET last_change_id = pg_sequence_last_value('import_audit.change_seq')
           FROM other_imports o WHERE i.id = o.import_id;
         COMMIT;"
    )
}

struct Measured {
    size: u64,
    copy: f64,
    import: f64,
    preview: f64,
    rollback: f64,
}

pub fn run(o: &Options) -> Result<()> {
    let load_before = load_average();
    let cluster = Cluster::start(o, env!("CARGO_BIN_EXE_importdesk"))?;
    let b = &cluster.bench;
    let file = cluster.base.join("seller.csv");
    let unused = cluster.base.join("unused.csv");
    data::generate(o.scale_rows, 0.0, o.seed, &file, &unused)?;
    std::fs::remove_file(&unused)?;
    let server = cluster.describe()?;
    eprintln!(
        "# scale run: {} rows for a new seller; {server}",
        o.scale_rows
    );
    // Whole sellers only.
    let mut sizes: Vec<u64> = o
        .scale_sizes
        .iter()
        .map(|s| s.div_ceil(PER_SELLER) * PER_SELLER)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut report = Report::default();
    let mut results = Vec::new();
    let mut have = 0;
    for size in sizes {
        if size > have {
            let t = Instant::now();
            let mut from = have;
            while from < size {
                let to = (from + BATCH).min(size);
                b.psql(&grow_sql(from, to))?;
                // Recycles the WAL written so far: 10M rows would otherwise
                // keep up to max_wal_size (4 GB) of it on disk.
                b.settle()?;
                from = to;
            }
            b.psql("VACUUM ANALYZE listings")?;
            b.psql("VACUUM ANALYZE import_audit.log_listings")?;
            b.psql("VACUUM ANALYZE import_audit.imports")?;
            have = size;
            eprintln!(
                "# other sellers: {have} listings and change-log rows, made in {:.0} s; {}",
                t.elapsed().as_secs_f64(),
                b.psql(
                    "SELECT 'listings ' || pg_size_pretty(pg_total_relation_size('listings')) \
                     || ', change log ' || pg_size_pretty(pg_total_relation_size('import_audit.log_listings'))"
                )?
            );
        }
        let mut best: Option<Measured> = None;
        for round in 0..REPEATS {
            let m = measure(b, o, &file, size, round, &mut report)?;
            best = Some(match best {
                None => m,
                Some(b) => Measured {
                    size,
                    copy: b.copy.min(m.copy),
                    import: b.import.min(m.import),
                    preview: b.preview.min(m.preview),
                    rollback: b.rollback.min(m.rollback),
                },
            });
        }
        results.extend(best);
    }

    println!();
    println!(
        "importdesk scale run: a new seller's {}-row import, preview and rollback in front of other \
         sellers' listings and change log; {server}; load average {load_before} at the start, {} at the end",
        o.scale_rows,
        load_average()
    );
    println!();
    println!(
        "| other sellers' listings (and log rows) | \\copy s | import s | vs 0 | preview s | vs 0 | rollback s | vs 0 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let Some(first) = results.first() else {
        return report.finish();
    };
    let (i0, p0, r0) = (first.import, first.preview, first.rollback);
    let mut missed = Vec::new();
    for m in &results {
        let growth = |v: f64, at0: f64, what: &str, missed: &mut Vec<String>| {
            let g = v / at0;
            let flag = if g <= MAX_GROWTH { "" } else { " MISSED" };
            if !flag.is_empty() {
                missed.push(format!("{what} at {}", m.size));
            }
            format!("{g:.2}x{flag}")
        };
        println!(
            "| {} | {:.2} | {:.2} | {} | {:.3} | {} | {:.2} | {} |",
            m.size,
            m.copy,
            m.import,
            growth(m.import, i0, "import", &mut missed),
            m.preview,
            growth(m.preview, p0, "preview", &mut missed),
            m.rollback,
            growth(m.rollback, r0, "rollback", &mut missed),
        );
    }
    println!();
    println!(
        "Fastest of {REPEATS} runs per size (a new seller each). Target: every step at most {MAX_GROWTH}x its time \
         with no other sellers; a preview under {PREVIEW_SECONDS} s. \\copy: the same file into an empty table \
         (the machine's speed at that moment)."
    );
    if missed.is_empty() {
        println!("All targets met.");
    } else {
        println!("Missed: {}.", missed.join("; "));
    }
    report.finish()
}

/// Import, preview and rollback of a new seller's file; checks the counts.
fn measure(
    b: &Bench,
    o: &Options,
    file: &std::path::Path,
    size: u64,
    round: usize,
    report: &mut Report,
) -> Result<Measured> {
    let seller = format!("new-seller-{size}-{round}");
    let rows = o.scale_rows as i64;
    let table = format!("scale_copy_{size}_{round}");
    b.psql(&format!(
        "CREATE TABLE {table} (LIKE listings INCLUDING ALL); \
         ALTER TABLE {table} ALTER COLUMN seller_id SET DEFAULT '{seller}'"
    ))?;
    b.settle()?;
    let copy = b.copy(&table, file)?;
    b.psql(&format!("DROP TABLE {table}"))?;
    b.settle()?;
    let log = b.server_log();
    let from = log_len(&log);
    let path = file.to_string_lossy();
    let import = b.run_importdesk(&["import", &path, "--seller", &seller, "--json"])?;
    if !import.ok() {
        return Err(import.describe_failure("scale import").into());
    }
    let j = json_of(&import, "scale import")?;
    if count(&j, &["counts", "created"]) != rows {
        report.problem(format!(
            "scale import at {size}: created {}, expected {rows}",
            count(&j, &["counts", "created"])
        ));
    }
    let (p, line) = preview(b, &seller, "scale", o.preview_timeout, o.scale_rows)?;
    if !p.ok() {
        return Err(p.describe_failure("scale preview").into());
    }
    let pj = json_of(&p, "scale preview")?;
    if count(&pj, &["preview", "counts", "delete"]) != rows {
        report.problem(format!("scale preview at {size}: wrong counts"));
    }
    b.settle()?;
    let rollback =
        b.run_importdesk(&["rollback", "--last", "--seller", &seller, "--yes", "--json"])?;
    if !rollback.ok() {
        return Err(rollback.describe_failure("scale rollback").into());
    }
    let rj = json_of(&rollback, "scale rollback")?;
    if count(&rj, &["deleted"]) != rows {
        report.problem(format!(
            "scale rollback at {size}: deleted {}, expected {rows}",
            count(&rj, &["deleted"])
        ));
    }
    eprintln!(
        "# at {size}: \\copy {:.2} s, import {:.2} s, preview {:.3} s, rollback {:.2} s",
        copy.seconds, import.seconds, line.seconds, rollback.seconds
    );
    let mut slow = slow_statements(&log, from);
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, stmt) in slow
        .iter()
        .filter(|(_, s)| !s.starts_with("CHECKPOINT"))
        .take(5)
    {
        eprintln!("#   {:.2} s `{}`", ms / 1000.0, short(stmt, 100));
    }
    Ok(Measured {
        size,
        copy: copy.seconds,
        import: import.seconds,
        preview: line.seconds,
        rollback: rollback.seconds,
    })
}
