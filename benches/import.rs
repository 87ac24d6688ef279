//! Import and rollback speed, side by side with `psql \copy`, on a private
//! embedded PostgreSQL cluster.
//!
//! ```text
//! cargo bench --bench import                      # 1,000,000 rows, 30% changed
//! cargo bench --bench import -- --rows 20000      # smoke test, seconds
//! cargo bench --bench import -- --rows 1000000 --changed 0.3 --seed 42 --keep
//! ```
//!
//! Steps, all in one run against one fresh cluster (see docs/performance.md):
//! 1. generate `new.csv` (N native-profile rows) and `changed.csv` (the same
//!    rows, a fraction with a changed price, quantity or title), deterministic;
//! 2. baseline: `psql \copy` of each file into an empty table created
//!    `LIKE listings INCLUDING ALL` (same keys and indexes, no triggers);
//! 3. `importdesk import` of `new.csv`, then of `changed.csv` (re-import);
//! 4. `importdesk rollback --last --preview`, then `rollback --last --yes`,
//!    newest import first, for both imports;
//! 5. a Markdown table on stdout: wall time, ratio, rows/s, child peak RSS.
//!
//! Each importdesk step is a separate process (the release binary), so its
//! wall time includes process start-up and connecting; its peak RSS comes from
//! `wait4`. Statements slower than 250 ms are logged by the server
//! (`log_min_duration_statement`) and summarised per step at the end, so the
//! slow phase of an import or rollback can be told.

use std::error::Error;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::libc;
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const SELLER: &str = "bench";
const BENCH_LISTINGS: &str = "listings WHERE seller_id = 'bench'";
const COLUMNS: &str = "sku,title,description,price,currency,quantity,status,condition,category,listing_number,end_date";
/// Statements slower than this (ms) are logged by the server, per step.
const SLOW_STATEMENT_MS: u32 = 250;

// ---------------------------------------------------------------------------
// Options

#[derive(clap::Parser)]
#[command(
    bin_name = "cargo bench --bench import --",
    about = "Import and rollback speed, side by side with psql \\copy"
)]
struct Options {
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
    /// Skip comparing the imported and rolled-back data with what is expected.
    #[arg(long = "no-verify", action = clap::ArgAction::SetFalse)]
    verify: bool,
    /// Give up on a rollback preview after this many seconds.
    #[arg(long, default_value_t = 300)]
    preview_timeout: u64,
    /// Passed by `cargo bench` to `harness = false` targets.
    #[arg(long, hide = true)]
    bench: bool,
}

/// At least one row; `1_000_000` is fine.
fn rows(s: &str) -> std::result::Result<u64, String> {
    match s.replace('_', "").parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
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

// ---------------------------------------------------------------------------
// Deterministic synthetic data

/// SplitMix64: tiny, fast, good enough for test data, and reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n small: the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const BRANDS: &[&str] = &[
    "Acme",
    "Nordlys",
    "Kestrel",
    "Bramble & Co",
    "Vantage",
    "Orchid",
    "Solano",
    "Tidewater",
    "Hearthstone",
    "Lumen",
    "Pioneer",
    "Marlowe",
];
const ADJECTIVES: &[&str] = &[
    "Vintage",
    "Handmade",
    "Wireless",
    "Stainless",
    "Organic",
    "Compact",
    "Leather",
    "Ceramic",
    "Waterproof",
    "Adjustable",
    "Foldable",
    "Classic",
    "Heavy-Duty",
    "Rechargeable",
];
const NOUNS: &[&str] = &[
    "Messenger Bag",
    "Desk Lamp",
    "Coffee Grinder",
    "Headphones",
    "Water Bottle",
    "Chef Knife",
    "Throw Blanket",
    "Phone Case",
    "Plant Pot",
    "Backpack",
    "Wall Clock",
    "Tea Kettle",
    "Camping Chair",
    "Bookshelf Speaker",
];
const COLOURS: &[&str] = &[
    "Black",
    "White",
    "Navy",
    "Olive",
    "Rust",
    "Grey",
    "Sand",
    "Forest Green",
    "Burgundy",
];
const SIZES: &[&str] = &[
    "Small", "Medium", "Large", "XL", "12 inch", "15\"", "1 L", "500 ml",
];
const SENTENCES: &[&str] = &[
    "Carefully packed and shipped within 2 business days.",
    "Made from durable, easy-to-clean materials.",
    "Measures 15\" x 10\" x 4\", weight 1.2 lb.",
    "Comes with the original box, manual and a 12-month warranty.",
    "Gently used, minor scuffs on the base; see photos.",
    "Our \"best seller\" for three years running!",
    "Fits most standard setups, no tools required.",
    "Colour may vary slightly from the photos, depending on your screen.",
    "Dishwasher safe, BPA free, and fully recyclable.",
    "Bundle discount: buy 2, get 10% off.",
    "Returns accepted within 30 days, buyer pays return shipping.",
    "Ships from our warehouse in Portland, OR.",
];
const CONDITIONS: &[&str] = &[
    "New",
    "New",
    "New",
    "Used",
    "Used - Like New",
    "Refurbished",
];
const CATEGORIES: &[&str] = &[
    "Home & Garden > Kitchen",
    "Electronics > Audio",
    "Clothing, Shoes & Accessories > Bags",
    "Sporting Goods > Camping",
    "Home & Garden > Decor",
    "Electronics > Phone Accessories",
    "Books & Media",
];

#[derive(Clone)]
struct Row {
    sku: String,
    title: String,
    description: String,
    price_cents: u64,
    quantity: u64,
    status: &'static str,
    condition: &'static str,
    category: &'static str,
    listing_number: u64,
    end_date: String,
}

/// Row `i` of the file, the same for every run with the same seed.
fn make_row(seed: u64, i: u64) -> Row {
    let mut r = Rng::new(mix(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)));
    let title = format!(
        "{} {} {}, {} {}",
        r.pick(BRANDS),
        r.pick(ADJECTIVES),
        r.pick(NOUNS),
        r.pick(COLOURS),
        r.pick(SIZES)
    );
    let mut description = String::with_capacity(260);
    while description.len() < 170 {
        if !description.is_empty() {
            description.push(' ');
        }
        description.push_str(r.pick(SENTENCES));
    }
    Row {
        sku: format!("BENCH-{i:08}"),
        title,
        description,
        price_cents: 100 + r.below(99_900),
        quantity: r.below(501),
        status: if r.below(5) == 0 { "draft" } else { "active" },
        condition: r.pick(CONDITIONS),
        category: r.pick(CATEGORIES),
        listing_number: 100_000_000_000 + r.below(900_000_000_000),
        end_date: format!(
            "2027-{:02}-{:02}T{:02}:{:02}:00Z",
            1 + r.below(12),
            1 + r.below(28),
            r.below(24),
            r.below(60)
        ),
    }
}

/// Whether row `i` changes in the second file, and how (exactly one field).
fn change(seed: u64, fraction: f64, i: u64, row: &mut Row) -> bool {
    let h = mix(seed.rotate_left(17) ^ 0xA076_1D64_78BD_642F ^ i);
    // Top 53 bits as a uniform fraction in [0, 1).
    if ((h >> 11) as f64 / (1u64 << 53) as f64) >= fraction {
        return false;
    }
    match h % 3 {
        0 => row.price_cents += 100,
        1 => row.quantity = (row.quantity + 1) % 501,
        _ => row.title.push_str(" (2nd edition)"),
    }
    true
}

fn write_field(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

fn write_row(out: &mut impl Write, row: &Row) -> std::io::Result<()> {
    write_field(out, &row.sku)?;
    out.write_all(b",")?;
    write_field(out, &row.title)?;
    out.write_all(b",")?;
    write_field(out, &row.description)?;
    write!(
        out,
        ",{}.{:02},USD,{},{},",
        row.price_cents / 100,
        row.price_cents % 100,
        row.quantity,
        row.status
    )?;
    write_field(out, row.condition)?;
    out.write_all(b",")?;
    write_field(out, row.category)?;
    writeln!(out, ",{},{}", row.listing_number, row.end_date)
}

/// Writes both files; returns how many rows differ in the second.
fn generate(o: &Options, new: &Path, changed: &Path) -> Result<u64> {
    let mut a = BufWriter::with_capacity(1 << 20, File::create(new)?);
    let mut b = BufWriter::with_capacity(1 << 20, File::create(changed)?);
    writeln!(a, "{COLUMNS}")?;
    writeln!(b, "{COLUMNS}")?;
    let mut n_changed = 0;
    for i in 0..o.rows {
        let mut row = make_row(o.seed, i);
        write_row(&mut a, &row)?;
        if change(o.seed, o.changed, i, &mut row) {
            n_changed += 1;
        }
        write_row(&mut b, &row)?;
    }
    a.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    b.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n_changed)
}

// ---------------------------------------------------------------------------
// Child processes: wall time and peak RSS

struct Run {
    seconds: f64,
    max_rss_kb: i64,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == 0
    }
    fn rss_mb(&self) -> f64 {
        self.max_rss_kb as f64 / 1024.0
    }
    fn describe_failure(&self, what: &str) -> String {
        format!(
            "{what} exited with {}:\n{}{}",
            self.code,
            tail(&self.stderr, 20),
            tail(&self.stdout, 20)
        )
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Runs `cmd` to completion with stdout/stderr in files (no pipe to drain),
/// reaping it with `wait4` to get its own peak RSS (not the maximum over all
/// children, which `getrusage(RUSAGE_CHILDREN)` would give).
fn run(mut cmd: Command, scratch: &Path) -> Result<Run> {
    let mut out = tempfile::tempfile_in(scratch)?;
    let mut err = tempfile::tempfile_in(scratch)?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?);
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; both pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4 failed: {e}").into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // The child is reaped: `child` must not be waited for again.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let read_back = |f: &mut File| -> Result<String> {
        f.seek(SeekFrom::Start(0))?;
        let mut s = String::new();
        f.read_to_string(&mut s)?;
        Ok(s)
    };
    Ok(Run {
        seconds,
        // Linux reports ru_maxrss in KiB.
        max_rss_kb: usage.ru_maxrss,
        code,
        stdout: read_back(&mut out)?,
        stderr: read_back(&mut err)?,
    })
}

/// A command with no database selection leaking in from the environment.
fn clean_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "DATABASE_URL" || k.starts_with("PG") || k.starts_with("IMPORTDESK_") {
            cmd.env_remove(&*k);
        }
    }
    cmd
}

struct Bench {
    bin: &'static str,
    data_dir: PathBuf,
    scratch: PathBuf,
    url: String,
}

impl Bench {
    /// `importdesk --data-dir DIR [--database-url URL] ARGS`; `db` commands
    /// get no URL (they manage the embedded cluster of the data dir).
    fn importdesk(&self, url: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = clean_command(self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(args);
        cmd
    }

    fn db(&self, args: &[&str]) -> Result<Run> {
        run(self.importdesk(None, args), &self.scratch)
    }

    fn run_importdesk(&self, args: &[&str]) -> Result<Run> {
        run(self.importdesk(Some(&self.url), args), &self.scratch)
    }

    /// The same, with every statement limited to `seconds` by the server.
    fn run_importdesk_limited(&self, seconds: u64, args: &[&str]) -> Result<Run> {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}options=-c%20statement_timeout%3D{}",
            self.url,
            seconds * 1000
        );
        run(self.importdesk(Some(&url), args), &self.scratch)
    }

    fn psql_command(&self, sql: &str) -> Command {
        let mut cmd = clean_command("psql");
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(&self.url)
            .arg("-c")
            .arg(sql);
        cmd
    }

    /// Runs SQL (or a psql meta-command) and returns its unaligned output.
    fn psql(&self, sql: &str) -> Result<String> {
        let r = run(self.psql_command(sql), &self.scratch)?;
        if !r.ok() {
            return Err(r.describe_failure(&format!("psql -c {sql:?}")).into());
        }
        Ok(r.stdout.trim().to_string())
    }

    /// Timed `\copy` of `file` into `table`.
    fn copy(&self, table: &str, file: &Path) -> Result<Run> {
        let sql = format!(
            "\\copy {table} ({COLUMNS}) FROM '{}' WITH (FORMAT csv, HEADER true)",
            file.display().to_string().replace('\'', "''")
        );
        let r = run(self.psql_command(&sql), &self.scratch)?;
        if !r.ok() {
            return Err(r.describe_failure("psql \\copy").into());
        }
        Ok(r)
    }

    /// Writes pending WAL and dirty pages so each timed step starts alike.
    fn settle(&self) -> Result<()> {
        self.psql("CHECKPOINT")?;
        Ok(())
    }

    /// Order-independent fingerprint of the bench seller's listings (or of a
    /// bench table): row count and a sum of 64-bit row hashes.
    fn fingerprint(&self, from: &str) -> Result<String> {
        self.psql(&format!(
            "SELECT count(*) || ' rows, hash ' || coalesce(sum(hashtextextended(\
             ({COLUMNS})::text, 0)::numeric), 0) FROM {from}"
        ))
    }

    fn server_log(&self) -> PathBuf {
        self.data_dir.join("pg").join("server.log")
    }
}

/// Stops the private cluster and removes its directory, whatever happens.
struct ClusterGuard<'a> {
    bench: &'a Bench,
    root: Option<tempfile::TempDir>,
}

impl Drop for ClusterGuard<'_> {
    fn drop(&mut self) {
        match self.bench.importdesk(None, &["db", "stop"]).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: `importdesk db stop` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run `importdesk db stop`: {e}"),
        }
        if let Some(root) = self.root.take() {
            let path = root.path().to_path_buf();
            if let Err(e) = root.close() {
                eprintln!("warning: cannot remove {}: {e}", path.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Results

struct Line {
    step: String,
    rows: u64,
    file_mb: Option<f64>,
    copy_s: Option<f64>,
    seconds: f64,
    /// Cancelled by statement_timeout: `seconds` is a lower bound.
    timed_out: bool,
    /// (ratio, what it is relative to, target)
    ratio: Option<(f64, &'static str, f64)>,
    rss_mb: f64,
    slow: Vec<(f64, String)>,
}

fn print_table(lines: &[Line]) {
    println!(
        "| step | rows | file MB | \\copy s | importdesk s | ratio | target | rows/s | peak RSS MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in lines {
        let opt = |v: Option<f64>, digits: usize| {
            v.map(|v| format!("{v:.digits$}"))
                .unwrap_or_else(|| "–".into())
        };
        let (ratio, target) = match l.ratio {
            Some((r, of, t)) => (
                format!("{r:.2}x {of}"),
                format!("≤ {t}x{}", if r <= t { "" } else { " MISSED" }),
            ),
            None => ("–".into(), "–".into()),
        };
        let seconds = if l.timed_out {
            format!("> {:.0} (cancelled)", l.seconds)
        } else if l.seconds < 10.0 {
            format!("{:.3}", l.seconds)
        } else {
            format!("{:.2}", l.seconds)
        };
        // Throughput only for the steps that move the rows.
        let rows_per_s = l.ratio.map(|_| l.rows as f64 / l.seconds);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            l.step,
            l.rows,
            opt(l.file_mb, 1),
            opt(l.copy_s, 2),
            seconds,
            ratio,
            target,
            opt(rows_per_s, 0),
            l.rss_mb
        );
    }
}

#[derive(Default)]
struct Report {
    lines: Vec<Line>,
    problems: Vec<String>,
}

impl Report {
    fn problem(&mut self, msg: String) {
        eprintln!("# CHECK FAILED {msg}");
        self.problems.push(msg);
    }

    /// Compares the bench seller's listings with a `\copy` table's fingerprint.
    fn check(&mut self, b: &Bench, what: &str, expected: &Option<String>) -> Result<()> {
        if let Some(expected) = expected {
            let got = b.fingerprint(BENCH_LISTINGS)?;
            if &got == expected {
                eprintln!("# check {what}: listings equal the \\copy table ({got})");
            } else {
                self.problem(format!(
                    "{what}: listings differ from the \\copy table ({got} vs {expected})"
                ));
            }
        }
        Ok(())
    }
}

struct ImportStep<'a> {
    step: String,
    rows: u64,
    file: &'a Path,
    file_mb: f64,
    copy: &'a Run,
    target: f64,
    /// created, updated, unchanged
    expect: (i64, i64, i64),
}

fn import_step(b: &Bench, report: &mut Report, s: ImportStep) -> Result<Run> {
    b.settle()?;
    let log = b.server_log();
    let from = log_len(&log);
    let path = s.file.to_string_lossy();
    let r = b.run_importdesk(&["import", &path, "--seller", SELLER, "--json"])?;
    if !r.ok() {
        return Err(r
            .describe_failure(&format!("importdesk import ({})", s.step))
            .into());
    }
    let j = json_of(&r, &s.step)?;
    let got = (
        count(&j, &["counts", "created"]),
        count(&j, &["counts", "updated"]),
        count(&j, &["counts", "unchanged"]),
    );
    eprintln!(
        "# {}: {:.2} s wall ({:.2} s reported), peak RSS {:.1} MB, import #{} created {} updated {} unchanged {} rejected {}",
        s.step,
        r.seconds,
        j["duration_seconds"].as_f64().unwrap_or(f64::NAN),
        r.rss_mb(),
        j["import_id"],
        got.0,
        got.1,
        got.2,
        count(&j, &["counts", "rejected"])
    );
    if got != s.expect {
        report.problem(format!(
            "{}: counts created/updated/unchanged {got:?}, expected {:?}",
            s.step, s.expect
        ));
    }
    report.lines.push(Line {
        step: s.step,
        rows: s.rows,
        file_mb: Some(s.file_mb),
        copy_s: Some(s.copy.seconds),
        seconds: r.seconds,
        timed_out: false,
        ratio: Some((r.seconds / s.copy.seconds, "\\copy", s.target)),
        rss_mb: r.rss_mb(),
        slow: slow_statements(&log, from),
    });
    Ok(r)
}

/// Durations of the server's slow-statement log lines written since `from`.
fn slow_statements(log: &Path, from: u64) -> Vec<(f64, String)> {
    let Ok(text) = fs::read(log) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    let mut out: Vec<(f64, String)> = Vec::new();
    let mut current: Option<(f64, String)> = None;
    for line in text.lines() {
        if let Some(pos) = line.find("duration: ") {
            if let Some(c) = current.take() {
                out.push(c);
            }
            let rest = &line[pos + "duration: ".len()..];
            let ms: f64 = rest
                .split(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            let stmt = rest
                .split_once(": ")
                .map(|(_, s)| s.to_string())
                .unwrap_or_default();
            current = Some((ms, stmt));
        } else if let Some((_, stmt)) = current.as_mut() {
            // Continuation lines of a multi-line statement start with a tab.
            if line.starts_with('\t') || line.starts_with(' ') {
                stmt.push(' ');
                stmt.push_str(line.trim());
            } else {
                out.push(current.take().expect("checked"));
            }
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// The 1-minute load average: the machine may be shared, say how busy it was.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn log_len(log: &Path) -> u64 {
    fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

fn short(stmt: &str, max: usize) -> String {
    let one_line: String = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn json_of(run: &Run, what: &str) -> Result<Value> {
    serde_json::from_str(run.stdout.trim()).map_err(|e| {
        format!(
            "{what}: stdout is not one JSON document ({e}):\n{}",
            tail(&run.stdout, 10)
        )
        .into()
    })
}

fn count(v: &Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_i64().unwrap_or(-1)
}

// ---------------------------------------------------------------------------

fn main() {
    if let Err(e) = real_main() {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let o = <Options as clap::Parser>::parse();
    let load_before = load_average();
    let bin = env!("CARGO_BIN_EXE_importdesk");

    // As root the cluster runs as `postgres`, which must traverse every folder
    // above it: a 0755 directory under /tmp.
    let root = tempfile::Builder::new()
        .prefix("importdesk-bench-")
        .tempdir_in(&o.tmp)?;
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755))?;
    let base = root.path().to_path_buf();
    let scratch = base.join("scratch");
    fs::create_dir(&scratch)?;
    let mut bench = Bench {
        bin,
        data_dir: base.join("data"),
        scratch,
        url: String::new(),
    };
    eprintln!(
        "# importdesk bench: {} rows, {:.0}% changed, seed {}, in {}",
        o.rows,
        o.changed * 100.0,
        o.seed,
        base.display()
    );

    // 1. Data.
    let new_csv = base.join("new.csv");
    let changed_csv = base.join("changed.csv");
    let t = Instant::now();
    let n_changed = generate(&o, &new_csv, &changed_csv)?;
    let new_mb = fs::metadata(&new_csv)?.len() as f64 / 1e6;
    let changed_mb = fs::metadata(&changed_csv)?.len() as f64 / 1e6;
    eprintln!(
        "# generated {} ({new_mb:.1} MB) and {} ({changed_mb:.1} MB, {n_changed} rows changed) in {:.1} s",
        new_csv.display(),
        changed_csv.display(),
        t.elapsed().as_secs_f64()
    );

    // 2. The private cluster.
    let start = bench.db(&["db", "start"])?;
    if !start.ok() {
        return Err(start.describe_failure("importdesk db start").into());
    }
    let keep_root = if o.keep {
        let _ = root.keep();
        None
    } else {
        Some(root)
    };
    let url_run = bench.db(&["db", "url"])?;
    if !url_run.ok() {
        // Still stop whatever started.
        let _guard = ClusterGuard {
            bench: &bench,
            root: keep_root,
        };
        return Err(url_run.describe_failure("importdesk db url").into());
    }
    bench.url = url_run
        .stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string();
    let guard = ClusterGuard {
        bench: &bench,
        root: keep_root,
    };
    let b = guard.bench;
    eprintln!("# database {}", b.url);
    let m = b.db(&["db", "migrate", "--json"])?;
    if !m.ok() {
        return Err(m.describe_failure("importdesk db migrate").into());
    }
    b.psql(&format!(
        "ALTER SYSTEM SET log_min_duration_statement = {SLOW_STATEMENT_MS}"
    ))?;
    b.psql("SELECT pg_reload_conf()")?;
    let version = b.psql("SHOW server_version")?;
    let settings = b.psql(
        "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) \
         FROM pg_settings WHERE name IN ('shared_buffers','work_mem','maintenance_work_mem',\
         'max_wal_size','fsync','synchronous_commit','wal_level')",
    )?;
    eprintln!("# PostgreSQL {version}: {settings}");

    // 3. Baseline: \copy into empty tables shaped like listings, no triggers.
    for table in ["bench_copy", "bench_copy_changed"] {
        b.psql(&format!(
            "DROP TABLE IF EXISTS {table}; \
             CREATE TABLE {table} (LIKE listings INCLUDING ALL); \
             ALTER TABLE {table} ALTER COLUMN seller_id SET DEFAULT '{SELLER}'"
        ))?;
    }
    b.settle()?;
    let copy_new = b.copy("bench_copy", &new_csv)?;
    eprintln!("# \\copy new.csv: {:.2} s", copy_new.seconds);
    b.settle()?;
    let copy_changed = b.copy("bench_copy_changed", &changed_csv)?;
    eprintln!("# \\copy changed.csv: {:.2} s", copy_changed.seconds);
    let expect_new = if o.verify {
        Some(b.fingerprint("bench_copy")?)
    } else {
        None
    };
    let expect_changed = if o.verify {
        Some(b.fingerprint("bench_copy_changed")?)
    } else {
        None
    };
    let log = b.server_log();
    let mut report = Report::default();

    // 4. importdesk import: all new, then the re-import with changes.
    let rows = o.rows as i64;
    let changed = n_changed as i64;
    let import_new = import_step(
        b,
        &mut report,
        ImportStep {
            step: "import, all new".into(),
            rows: o.rows,
            file: &new_csv,
            file_mb: new_mb,
            copy: &copy_new,
            target: 1.5,
            expect: (rows, 0, 0),
        },
    )?;
    report.check(b, "after the import", &expect_new)?;
    let import_changed = import_step(
        b,
        &mut report,
        ImportStep {
            step: format!("re-import, {:.0}% changed", o.changed * 100.0),
            rows: o.rows,
            file: &changed_csv,
            file_mb: changed_mb,
            copy: &copy_changed,
            target: 1.6,
            expect: (0, changed, rows - changed),
        },
    )?;
    report.check(b, "after the re-import", &expect_changed)?;

    // 5. Rollback, newest import first, each after its preview.
    let mut rollback_available = true;
    let rollbacks = [
        (
            "re-import",
            &import_changed,
            copy_changed.seconds,
            changed_mb,
            (changed, 0),
            &expect_new,
        ),
        (
            "all-new import",
            &import_new,
            copy_new.seconds,
            new_mb,
            (0, rows),
            &None,
        ),
    ];
    for (name, import_run, copy_s, file_mb, (restore, delete), expect_after) in rollbacks {
        if !rollback_available {
            break;
        }
        b.settle()?;
        let from = log_len(&log);
        let p = b.run_importdesk_limited(
            o.preview_timeout,
            &[
                "rollback",
                "--last",
                "--seller",
                SELLER,
                "--preview",
                "--json",
            ],
        )?;
        let step = format!("rollback preview ({name}, counts + first page)");
        let mut line = Line {
            step,
            rows: (restore + delete) as u64,
            file_mb: None,
            copy_s: None,
            seconds: p.seconds,
            timed_out: false,
            ratio: None,
            rss_mb: p.rss_mb(),
            slow: slow_statements(&log, from),
        };
        if p.ok() {
            let pj = json_of(&p, "preview")?;
            eprintln!(
                "# preview of the {name}: {:.3} s wall, peak RSS {:.1} MB, to delete {} restore {} skip {}",
                p.seconds,
                p.rss_mb(),
                count(&pj, &["preview", "counts", "delete"]),
                count(&pj, &["preview", "counts", "restore"]),
                count(&pj, &["preview", "counts", "skip"]),
            );
        } else if p.stderr.contains("statement timeout") {
            eprintln!(
                "# preview of the {name}: cancelled by statement_timeout after {:.1} s wall:\n{}",
                p.seconds,
                tail(&p.stderr, 5)
            );
            report.problem(format!(
                "preview of the {name} took longer than --preview-timeout {} s",
                o.preview_timeout
            ));
            line.timed_out = true;
        } else if p.code == 2 || p.stderr.contains("unrecognized subcommand") {
            println!("rollback not available: {}", tail(&p.stderr, 3).trim());
            rollback_available = false;
            break;
        } else {
            return Err(p
                .describe_failure(&format!("rollback preview of the {name}"))
                .into());
        }
        report.lines.push(line);

        b.settle()?;
        let from = log_len(&log);
        let r = b.run_importdesk(&["rollback", "--last", "--seller", SELLER, "--yes", "--json"])?;
        if !r.ok() {
            return Err(r
                .describe_failure(&format!("rollback of the {name}"))
                .into());
        }
        let rj = json_of(&r, "rollback")?;
        let got = (count(&rj, &["restored"]), count(&rj, &["deleted"]));
        eprintln!(
            "# rollback of the {name}: {:.2} s wall ({:.2} s reported), peak RSS {:.1} MB, restored {} deleted {} skipped {}",
            r.seconds,
            rj["duration_seconds"].as_f64().unwrap_or(f64::NAN),
            r.rss_mb(),
            got.0,
            got.1,
            count(&rj, &["skipped"])
        );
        if got != (restore, delete) {
            let msg = format!(
                "rollback of the {name}: restored/deleted {got:?}, expected {:?}",
                (restore, delete)
            );
            report.problem(msg);
        }
        report.lines.push(Line {
            step: format!("rollback of the {name}"),
            rows: (restore + delete) as u64,
            file_mb: Some(file_mb),
            copy_s: Some(copy_s),
            seconds: r.seconds,
            timed_out: false,
            ratio: Some((r.seconds / import_run.seconds, "import", 0.75)),
            rss_mb: r.rss_mb(),
            slow: slow_statements(&log, from),
        });
        report.check(
            b,
            &format!("after the rollback of the {name}"),
            expect_after,
        )?;
    }
    if rollback_available && o.verify {
        let left = b.psql(&format!("SELECT count(*) FROM {BENCH_LISTINGS}"))?;
        if left != "0" {
            let msg = format!("after both rollbacks {left} listings are left, expected 0");
            report.problem(msg);
        } else {
            eprintln!("# check after both rollbacks: no listing left");
        }
    }

    // 6. Report.
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "importdesk bench: {} rows, {:.0}% changed ({n_changed} rows), seed {}; PostgreSQL {version}; \
         {cpus} CPUs, load average {load_before} at the start, {} at the end",
        o.rows,
        o.changed * 100.0,
        o.seed,
        load_average()
    );
    println!();
    print_table(&report.lines);
    println!();
    println!(
        "Wall time of each child process (start-up and connection included); ratio of an import to the \
         \\copy of the same file, of a rollback to its import's time; rows/s = rows / importdesk s; \
         peak RSS of the importdesk process (wait4)."
    );
    let mut slow_text = String::new();
    for l in &report.lines {
        if l.slow.is_empty() {
            continue;
        }
        let _ = writeln!(slow_text, "- {} ({:.2} s):", l.step, l.seconds);
        let mut slow = l.slow.clone();
        slow.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (ms, stmt) in slow.iter().take(6) {
            let _ = writeln!(slow_text, "  - {:.2} s `{}`", ms / 1000.0, short(stmt, 110));
        }
    }
    if !slow_text.is_empty() {
        println!();
        println!("Statements over {SLOW_STATEMENT_MS} ms (server log), slowest first:");
        println!();
        print!("{slow_text}");
    }
    if !report.problems.is_empty() {
        println!();
        println!("CHECKS FAILED:");
        for p in &report.problems {
            println!("- {p}");
        }
    }
    if o.keep {
        eprintln!(
            "# kept {} (cluster stopped; restart with: {bin} --data-dir {} db start)",
            base.display(),
            b.data_dir.display()
        );
    }
    drop(guard);
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", report.problems.len()).into())
    }
}
