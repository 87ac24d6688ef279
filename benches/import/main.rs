//! Import and rollback speed, side by side with `psql \copy`, on a private
//! embedded PostgreSQL cluster.
//!
//! ```text
//! cargo bench --bench import                      # 1,000,000 rows, 30% changed
//! cargo bench --bench import -- --rows 20000      # smoke test, seconds
//! cargo bench --bench import -- --scale           # cost against other sellers' data
//! ```
//!
//! The main run, in one fresh cluster (see docs/performance.md):
//! 1. generate `new.csv` (N native-profile rows) and `changed.csv` (the same
//!    rows, a fraction with a changed price, quantity or title), deterministic;
//! 2. baseline: `psql \copy` of each file into an empty table created
//!    `LIKE listings INCLUDING ALL` (same keys and indexes, no triggers);
//! 3. the floors (`floors.rs`): the least SQL each step's guarantees need,
//!    with the capture, timed from the same empty tables, then removed;
//! 4. `importdesk import` of `new.csv`; a dry run of `changed.csv`; the
//!    re-import of `changed.csv`; the same file again (nothing changed);
//! 5. rollback preview and rollback, newest import first, of all three (the
//!    last preview is the one down a chain of rolled-back imports);
//! 6. a Markdown table on stdout: wall time, ratio, target, rows/s, child
//!    peak RSS; each floor next to its step; the verdict; then the
//!    statements the server logged as slow, per step.
//!
//! The scale run (`--scale`, see `scale.rs`) measures a new seller's import,
//! preview and rollback in front of 0, 1M and 10M other sellers' listings.
//!
//! Each importdesk step is a separate process (the release binary), so its
//! wall time includes process start-up and connecting; its peak RSS comes from
//! `wait4`.

mod child;
mod data;
mod floors;
mod report;
mod scale;
mod steps;

use std::error::Error;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use child::Cluster;
use report::{Report, load_average};
use steps::{ImportStep, RollbackStep};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const SELLER: &str = "bench";
const BENCH_LISTINGS: &str = "listings WHERE seller_id = 'bench'";
const COLUMNS: &str = "sku,title,description,price,currency,quantity,status,condition,category,listing_number,end_date";
const ROLLBACK_OF_CHANGED: &str = "re-import";
const ROLLBACK_OF_NEW: &str = "all-new import, down the chain";
/// Statements slower than this (ms) are logged by the server, per step.
const SLOW_STATEMENT_MS: u32 = 250;

#[derive(clap::Parser)]
#[command(
    bin_name = "cargo bench --bench import --",
    about = "Import and rollback speed, side by side with psql \\copy"
)]
pub struct Options {
    /// Rows in each generated file.
    #[arg(long, default_value_t = 1_000_000, value_parser = rows)]
    rows: u64,
    /// Fraction of the rows the re-import changes.
    #[arg(long, default_value_t = 0.3, value_parser = fraction)]
    changed: f64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the cluster and the files go.
    #[arg(long, default_value = "/tmp")]
    tmp: PathBuf,
    /// Keep the cluster and the files afterwards.
    #[arg(long)]
    keep: bool,
    /// Run against this server instead of a private cluster: importdesk
    /// migrates its database and changes no server setting (no slow
    /// statements listed then: the bench cannot read that server's log).
    /// The bench drops and refills its own tables and the `bench` seller's
    /// listings there: give it a database made for it.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Skip comparing the imported and rolled-back data with what is expected.
    #[arg(long = "no-verify", action = clap::ArgAction::SetFalse)]
    verify: bool,
    /// Give up on a rollback preview after this many seconds.
    #[arg(long, default_value_t = 300)]
    preview_timeout: u64,
    /// Run the scale run instead: a new seller's import, preview and
    /// rollback in front of other sellers' listings and change log.
    #[arg(long)]
    scale: bool,
    /// Rows of the new seller's file in the scale run.
    #[arg(long, default_value_t = 100_000, value_parser = rows)]
    scale_rows: u64,
    /// Other sellers' listings (and change-log rows) to measure in front of.
    #[arg(long, value_delimiter = ',', default_value = "0,1000000,10000000", value_parser = counts)]
    scale_sizes: Vec<u64>,
    /// Passed by `cargo bench` to `harness = false` targets.
    #[arg(long, hide = true)]
    bench: bool,
}

/// At least one row; `1_000_000` is fine.
fn rows(s: &str) -> std::result::Result<u64, String> {
    match counts(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn counts(s: &str) -> std::result::Result<u64, String> {
    s.replace('_', "").parse::<u64>().map_err(|e| e.to_string())
}

fn fraction(s: &str) -> std::result::Result<f64, String> {
    let f: f64 = s
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err("a fraction between 0 and 1".into())
    }
}

fn main() {
    let o = <Options as clap::Parser>::parse();
    let result = if o.scale {
        scale::run(&o)
    } else {
        main_run(&o)
    };
    if let Err(e) = result {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// A generated file and its size.
pub struct DataFile {
    path: PathBuf,
    mb: f64,
}

impl DataFile {
    fn new(path: PathBuf) -> Result<Self> {
        let mb = fs::metadata(&path)?.len() as f64 / 1e6;
        Ok(Self { path, mb })
    }
}

fn main_run(o: &Options) -> Result<()> {
    let load_before = load_average();
    let cluster = Cluster::start(o, env!("CARGO_BIN_EXE_importdesk"))?;
    let b = &cluster.bench;
    eprintln!(
        "# importdesk bench: {} rows, {:.0}% changed, seed {}, in {}",
        o.rows,
        o.changed * 100.0,
        o.seed,
        cluster.base.display()
    );

    // 1. Data.
    let t = Instant::now();
    let (new_path, changed_path) = (
        cluster.base.join("new.csv"),
        cluster.base.join("changed.csv"),
    );
    let n_changed = data::generate(o.rows, o.changed, o.seed, &new_path, &changed_path)?;
    let new = DataFile::new(new_path)?;
    let changed = DataFile::new(changed_path)?;
    eprintln!(
        "# generated new.csv ({:.1} MB) and changed.csv ({:.1} MB, {n_changed} rows changed) in {:.1} s",
        new.mb,
        changed.mb,
        t.elapsed().as_secs_f64()
    );
    let server = cluster.describe()?;
    eprintln!("# {server}");

    // 2. Baseline: \copy into empty tables shaped like listings, no triggers.
    // A first, untimed \copy makes the server create its WAL segments, which
    // later steps reuse: no step pays for that.
    for table in ["bench_warmup", "bench_copy", "bench_copy_changed"] {
        b.psql(&format!(
            "DROP TABLE IF EXISTS {table}; \
             CREATE TABLE {table} (LIKE listings INCLUDING ALL); \
             ALTER TABLE {table} ALTER COLUMN seller_id SET DEFAULT '{SELLER}'"
        ))?;
    }
    b.copy("bench_warmup", &new.path)?;
    b.psql("DROP TABLE bench_warmup")?;
    b.settle()?;
    let copy_new = b.copy("bench_copy", &new.path)?;
    eprintln!("# \\copy new.csv: {:.2} s", copy_new.seconds);
    b.settle()?;
    let copy_changed = b.copy("bench_copy_changed", &changed.path)?;
    eprintln!("# \\copy changed.csv: {:.2} s", copy_changed.seconds);
    let expect_new = o.verify.then(|| b.fingerprint("bench_copy")).transpose()?;
    let expect_changed = o
        .verify
        .then(|| b.fingerprint("bench_copy_changed"))
        .transpose()?;
    let mut report = Report::default();

    // The floors, in the state importdesk's steps start from.
    let floors = floors::run(
        b,
        &new,
        &changed,
        o.rows as i64,
        n_changed as i64,
        &mut report,
    )?;

    // 3. Imports.
    let rows = o.rows as i64;
    let n_changed = n_changed as i64;
    let pct = o.changed * 100.0;
    let step_import_new = "import, all new".to_string();
    let step_import_changed = format!("re-import, {pct:.0}% changed");
    let import_new = ImportStep {
        step: step_import_new.clone(),
        file: &new,
        copy: &copy_new,
        target: 1.5,
        dry_run: false,
        expect: (rows, 0, 0),
    }
    .run(b, &mut report)?;
    report.check(b, "after the import", &expect_new)?;
    let step_dry_run = format!("dry run of the re-import, {pct:.0}% changed");
    let step_import_same = "re-import, nothing changed".to_string();
    ImportStep {
        step: step_dry_run.clone(),
        file: &changed,
        copy: &copy_changed,
        target: 1.0,
        dry_run: true,
        expect: (0, n_changed, rows - n_changed),
    }
    .run(b, &mut report)?;
    report.check(b, "after the dry run", &expect_new)?;
    let import_changed = ImportStep {
        step: step_import_changed.clone(),
        file: &changed,
        copy: &copy_changed,
        target: 1.6,
        dry_run: false,
        expect: (0, n_changed, rows - n_changed),
    }
    .run(b, &mut report)?;
    report.check(b, "after the re-import", &expect_changed)?;
    let import_same = ImportStep {
        step: step_import_same.clone(),
        file: &changed,
        copy: &copy_changed,
        target: 1.0,
        dry_run: false,
        expect: (0, 0, rows),
    }
    .run(b, &mut report)?;
    report.check(b, "after the unchanged re-import", &expect_changed)?;

    // 4. Rollback, newest import first, each after its preview.
    let rollbacks = [
        RollbackStep {
            name: "unchanged re-import",
            import: &import_same,
            expect: (0, 0),
            after: &expect_changed,
        },
        RollbackStep {
            name: ROLLBACK_OF_CHANGED,
            import: &import_changed,
            expect: (n_changed, 0),
            after: &expect_new,
        },
        RollbackStep {
            name: ROLLBACK_OF_NEW,
            import: &import_new,
            expect: (0, rows),
            after: &None,
        },
    ];
    for step in rollbacks {
        step.run(b, o.preview_timeout, &mut report)?;
    }
    if o.verify {
        let left = b.psql(&format!("SELECT count(*) FROM {BENCH_LISTINGS}"))?;
        if left != "0" {
            report.problem(format!(
                "after every rollback {left} listings are left, expected 0"
            ));
        } else {
            eprintln!("# check after every rollback: no listing left");
        }
    }

    // 5. Each floor next to the step it bounds.
    for (step, floor, reference) in [
        (&step_import_new, &floors.import_new, copy_new.seconds),
        (&step_dry_run, &floors.compare, copy_changed.seconds),
        (&step_import_same, &floors.compare, copy_changed.seconds),
        (
            &step_import_changed,
            &floors.import_changed,
            copy_changed.seconds,
        ),
        (
            &steps::rollback_line(ROLLBACK_OF_CHANGED),
            &floors.rollback_changed,
            import_changed.seconds,
        ),
        (
            &steps::rollback_line(ROLLBACK_OF_NEW),
            &floors.rollback_new,
            import_new.seconds,
        ),
    ] {
        report.floor(step, floor.what, floor.seconds, reference);
    }

    // 6. Report.
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "importdesk bench: {} rows, {pct:.0}% changed ({n_changed} rows), seed {}; {server}; \
         {cpus} CPUs, load average {load_before} at the start, {} at the end",
        o.rows,
        o.seed,
        load_average()
    );
    println!();
    report::print_table(&report.lines);
    println!();
    println!(
        "Wall time of each child process (start-up and connection included); ratio of an import to the \
         \\copy of the same file, of a rollback to its import's time; rows/s = rows / importdesk s; \
         peak RSS of the importdesk process (wait4), target < {} MB.",
        report::MAX_RSS_MB
    );
    println!();
    report.print_floors();
    println!();
    report.print_verdict();
    report::print_slow(&report.lines);
    report.finish()
}
