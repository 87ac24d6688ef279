//! The parser thread: file -> records -> listings -> COPY text chunks.
//! Runs on a blocking thread; talks to the async side through a bounded
//! channel, so a slow database slows the reader instead of filling memory.

use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::time::Instant;

use tokio::sync::mpsc;

use super::copy_text::{self, CopyTarget};
use super::profile::{Field, MapOptions, Mapping, ProfileKind, RowOutcome};
use super::reader::{CsvFile, FileError};
use super::rejects::RejectsWriter;
use super::{KEPT_ERRORS, Phase, Progress, ProgressFn, RowError};

/// Keys remembered (as 64-bit hashes, about 16 bytes each) to tell that a
/// file has no duplicate keys without asking the database; a larger file
/// leaves the question to the database.
const REMEMBERED_KEYS: usize = 2_000_000;

/// The hashes of the keys seen so far, up to [`REMEMBERED_KEYS`].
struct SeenKeys {
    limit: usize,
    hashes: HashedSet,
    state: std::hash::RandomState,
    overflowed: bool,
}

/// A set of values that are already keyed hashes (SipHash with a random
/// key, so a file cannot be made to collide): the set uses them as they
/// are instead of hashing them a second time.
type HashedSet = std::collections::HashSet<u64, BuildHasherDefault<AlreadyHashed>>;

#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64s go into the set; anything else is folded in anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl SeenKeys {
    fn new() -> Self {
        Self::with_limit(REMEMBERED_KEYS)
    }

    fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            hashes: HashedSet::default(),
            state: std::hash::RandomState::new(),
            overflowed: false,
        }
    }

    /// False when `key` may have been seen before (or there were too many
    /// keys to tell).
    fn first_time(&mut self, key: &str) -> bool {
        use std::hash::BuildHasher;
        if self.overflowed {
            return false;
        }
        if self.hashes.len() >= self.limit {
            self.overflowed = true;
            self.hashes = HashedSet::default();
            return false;
        }
        self.hashes.insert(self.state.hash_one(key))
    }
}

/// COPY data is sent in chunks of about this size.
const CHUNK_BYTES: usize = 512 * 1024;
const PROGRESS_EVERY: u64 = 20_000;

pub(super) struct ParseRequest {
    pub path: PathBuf,
    pub profile: Option<ProfileKind>,
    pub options: MapOptions,
    pub skip_invalid: bool,
    /// A dry run writes no rejects file.
    pub dry_run: bool,
    pub rejects_path: PathBuf,
    /// The table the COPY text is for (its columns differ).
    pub target: CopyTarget,
}

pub(super) struct HeaderInfo {
    pub kind: ProfileKind,
    pub detected: bool,
    pub key: String,
    pub unknown_columns: Vec<String>,
    pub size: u64,
    /// The listing fields this file provides: an update never clears a
    /// column the file does not have.
    pub columns: Vec<Field>,
}

pub(super) enum Event {
    Header(HeaderInfo),
    Chunk(String),
}

#[derive(Default)]
pub(super) struct ParseSummary {
    pub rows_read: u64,
    pub rejected: u64,
    pub ignored: u64,
    pub errors: Vec<RowError>,
    pub error_count: u64,
    /// A problem with the whole file: the import cannot go on.
    pub file_error: Option<RowError>,
    pub sha256: Option<String>,
    pub rejects_file: Option<PathBuf>,
    pub delimiter: u8,
    pub headers: Vec<String>,
    /// The receiver went away (the import was aborted).
    pub aborted: bool,
    /// A key may be on more than one line (the database finds which).
    pub maybe_duplicates: bool,
}

impl ParseSummary {
    fn record_error(&mut self, error: RowError) {
        self.error_count += 1;
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(for_history(error));
        }
    }
}

/// How much of a value from the file a stored message may quote.
const QUOTED_CHARS: usize = 40;

/// A message as the history stores it: every value it quotes from the file
/// cut to a short prefix, and neutralised.
pub(super) fn for_history(error: RowError) -> RowError {
    RowError {
        column_name: error
            .column_name
            .map(|n| crate::text::short_quote(&n, QUOTED_CHARS)),
        reason: crate::text::shorten_quoted(&error.reason, QUOTED_CHARS),
        ..error
    }
}

fn from_file_error(e: FileError) -> RowError {
    for_history(RowError {
        line: e.line,
        column: e.column,
        column_name: None,
        reason: e.message,
    })
}

pub(super) fn parse_file(
    req: ParseRequest,
    tx: mpsc::Sender<Event>,
    progress: Option<ProgressFn>,
    started: Instant,
) -> ParseSummary {
    let mut summary = ParseSummary::default();
    let mut csv = match CsvFile::open(&req.path) {
        Ok(csv) => csv,
        Err(e) => {
            summary.file_error = Some(from_file_error(e));
            return summary;
        }
    };
    summary.delimiter = csv.delimiter;
    summary.headers = csv.headers.clone();
    let mut mapping = match Mapping::from_headers(&csv.headers, req.profile, &req.options) {
        Ok(m) => m,
        Err(e) => {
            summary.file_error = Some(for_history(RowError {
                line: Some(1),
                column: None,
                column_name: None,
                reason: e.message,
            }));
            return summary;
        }
    };
    let header = HeaderInfo {
        kind: mapping.kind,
        detected: mapping.detected,
        key: mapping.key_description(),
        unknown_columns: mapping
            .unknown_columns
            .iter()
            .map(|c| crate::text::short_quote(c, 2 * QUOTED_CHARS))
            .collect(),
        size: csv.size,
        columns: provided_columns(&mapping),
    };
    if tx.blocking_send(Event::Header(header)).is_err() {
        summary.aborted = true;
        return summary;
    }

    let mut rejects = None;
    let mut seen = SeenKeys::new();
    let width = csv.headers.len();
    let mut chunk = String::with_capacity(CHUNK_BYTES + 64 * 1024);
    let total_bytes = csv.size;
    let report = |rows: u64, bytes: u64| {
        if let Some(p) = &progress {
            p(Progress {
                rows_read: rows,
                bytes_read: bytes,
                total_bytes,
                elapsed: started.elapsed(),
                phase: Phase::Reading,
            });
        }
    };

    loop {
        let record = match csv.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                summary.file_error = Some(from_file_error(e));
                return summary;
            }
        };
        let fields: Vec<&str> = record.fields.iter().collect();
        let outcome = if fields.len() != width && !only_empty_beyond(&fields, width) {
            RowOutcome::Rejected(vec![super::profile::FieldError {
                column: None,
                column_name: None,
                reason: ragged_reason(&fields, width),
            }])
        } else {
            mapping.map_record(&fields[..fields.len().min(width)], record.line)
        };
        match outcome {
            RowOutcome::Listing(row) => {
                summary.rows_read += 1;
                if !seen.first_time(&row.sku) {
                    summary.maybe_duplicates = true;
                }
                match &req.target {
                    CopyTarget::Staging => copy_text::push_row(&mut chunk, record.line, &row),
                    CopyTarget::Listings { seller } => {
                        copy_text::push_listing(&mut chunk, seller, &row)
                    }
                }
                if chunk.len() >= CHUNK_BYTES {
                    let full = std::mem::replace(
                        &mut chunk,
                        String::with_capacity(CHUNK_BYTES + 64 * 1024),
                    );
                    if tx.blocking_send(Event::Chunk(full)).is_err() {
                        summary.aborted = true;
                        return summary;
                    }
                }
            }
            RowOutcome::Ignored { .. } => summary.ignored += 1,
            RowOutcome::Rejected(problems) => {
                summary.rows_read += 1;
                summary.rejected += 1;
                for p in &problems {
                    summary.record_error(RowError {
                        line: Some(record.line),
                        column: p.column,
                        column_name: p.column_name.clone(),
                        reason: p.reason.clone(),
                    });
                }
                if req.skip_invalid && !req.dry_run {
                    if rejects.is_none() {
                        match RejectsWriter::create(
                            req.rejects_path.clone(),
                            csv.delimiter,
                            &csv.headers,
                        ) {
                            Ok(w) => rejects = Some(w),
                            Err(e) => {
                                summary.file_error = Some(RowError {
                                    line: None,
                                    column: None,
                                    column_name: None,
                                    reason: format!("{e:#}"),
                                });
                                return summary;
                            }
                        }
                    }
                    let reason = problems
                        .iter()
                        .map(|p| p.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    let column = problems.first().and_then(|p| p.column);
                    if let Some(w) = rejects.as_mut()
                        && let Err(e) = w.write(&record.fields, record.line, column, &reason)
                    {
                        summary.file_error = Some(RowError {
                            line: None,
                            column: None,
                            column_name: None,
                            reason: format!("cannot write the rejects file: {e:#}"),
                        });
                        return summary;
                    }
                }
            }
        }
        let seen = summary.rows_read + summary.ignored;
        if seen % PROGRESS_EVERY == 0 {
            report(summary.rows_read, csv.bytes_read());
        }
    }
    if !chunk.is_empty() && tx.blocking_send(Event::Chunk(chunk)).is_err() {
        summary.aborted = true;
        return summary;
    }
    report(summary.rows_read, csv.bytes_read());
    if let Some(w) = rejects {
        match w.finish() {
            Ok(path) => summary.rejects_file = Some(path),
            Err(e) => {
                summary.file_error = Some(RowError {
                    line: None,
                    column: None,
                    column_name: None,
                    reason: format!("cannot write the rejects file: {e:#}"),
                })
            }
        }
    }
    match csv.finish_sha256() {
        Ok(sha) => summary.sha256 = Some(sha),
        Err(e) => summary.file_error = Some(from_file_error(e)),
    }
    summary
}

/// Currency is always offered: it may come from a price's symbol or
/// `--currency`, and an absent one never clears the current value.
fn provided_columns(mapping: &Mapping) -> Vec<Field> {
    Field::data()
        .filter(|f| *f == Field::Currency || mapping.columns().iter().any(|(c, _)| c == f))
        .collect()
}

/// Some exports end every row with a delimiter: extra empty fields are fine.
fn only_empty_beyond(fields: &[&str], width: usize) -> bool {
    fields.len() > width && fields[width..].iter().all(|f| f.trim().is_empty())
}

fn ragged_reason(fields: &[&str], width: usize) -> String {
    let mut reason = format!(
        "the row has {} fields but the header has {width}",
        fields.len()
    );
    if fields.len() < width && fields.iter().any(|f| f.contains('\n')) {
        reason.push_str(" (a quoted field spans several lines: is a closing quote missing?)");
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_fields_past_the_header_are_forgiven() {
        assert!(only_empty_beyond(&["a", "b", "", " "], 2));
        assert!(!only_empty_beyond(&["a", "b", "x"], 2));
        // A short row is not forgiven (and not sliced past its end).
        assert!(!only_empty_beyond(&["a"], 2));
    }

    #[test]
    fn a_key_seen_twice_or_too_many_keys_may_be_duplicates() {
        let mut seen = SeenKeys::with_limit(3);
        assert!(seen.first_time("A"));
        assert!(seen.first_time("B"));
        assert!(!seen.first_time("A"), "seen before");
        assert!(seen.first_time("C"));
        // Past the limit nothing can be told any more: the database checks.
        assert!(!seen.first_time("D"));
        assert!(!seen.first_time("E"));
    }
    /// Runs the parser over `csv` (a dry run into staging): the header it
    /// sends, the COPY text of its chunks, and its summary.
    fn parse(csv: &str) -> (HeaderInfo, Vec<String>, ParseSummary) {
        parse_with(csv, None, None)
    }

    /// [`parse`] with a profile chosen and a progress callback.
    fn parse_with(
        csv: &str,
        profile: Option<ProfileKind>,
        progress: Option<ProgressFn>,
    ) -> (HeaderInfo, Vec<String>, ParseSummary) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listings.csv");
        std::fs::write(&path, csv).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let req = ParseRequest {
            path,
            profile,
            options: MapOptions::default(),
            skip_invalid: false,
            dry_run: true,
            rejects_path: dir.path().join("rejects.csv"),
            target: CopyTarget::Staging,
        };
        // Read while the parser runs: a parser sending more chunks than the
        // channel holds must not wait forever.
        let parser = std::thread::spawn(move || parse_file(req, tx, progress, Instant::now()));
        let (mut header, mut chunks) = (None, Vec::new());
        while let Some(event) = rx.blocking_recv() {
            match event {
                Event::Header(h) => header = Some(h),
                Event::Chunk(c) => chunks.push(c),
            }
        }
        let summary = parser.join().expect("the parser ends");
        (header.expect("the header is sent"), chunks, summary)
    }

    #[test]
    fn a_file_smaller_than_a_chunk_is_sent_whole_with_its_counts() {
        let (_, chunks, summary) =
            parse("sku,title,price\nA-1,Lamp,1.00\nA-2,Mug,oops\nA-3,Bike,3.00\n");
        // One COPY message for the whole file (not one per row), sent at
        // the end though it is far from full.
        assert_eq!(chunks.len(), 1, "{chunks:?}");
        let copy = &chunks[0];
        assert!(copy.contains("A-1") && copy.contains("A-3"), "{copy:?}");
        assert!(!copy.contains("A-2"), "{copy:?}");
        assert_eq!((summary.rows_read, summary.rejected), (3, 1));
        assert_eq!(summary.error_count, 1);
    }

    /// A file offers the columns it maps, and currency always (from a
    /// price's symbol or `--currency`); a column it lacks is not offered,
    /// so the import leaves that value as it is.
    #[test]
    fn a_file_offers_the_columns_it_maps_and_currency_always() {
        let (header, _, _) = parse("sku,title,price\nA-1,Lamp,1.00\n");
        assert_eq!(
            header.columns,
            [Field::Title, Field::Price, Field::Currency],
            "{:?}",
            header.columns
        );
    }

    #[test]
    fn an_unknown_columns_name_is_cut_to_twice_a_quoted_value() {
        let long = "n".repeat(100);
        let (header, _, _) = parse(&format!("sku,{long},title\nA-1,x,Lamp\n"));
        assert_eq!(header.unknown_columns, [format!("{}…", &long[..80])]);
    }

    #[test]
    fn a_ragged_row_says_how_many_fields_it_has_and_suspects_an_open_quote() {
        assert_eq!(
            ragged_reason(&["a", "b", "c"], 2),
            "the row has 3 fields but the header has 2"
        );
        assert_eq!(
            ragged_reason(&["a", "b\nc"], 3),
            "the row has 2 fields but the header has 3 \
             (a quoted field spans several lines: is a closing quote missing?)"
        );
        // A short row without a line break in it is only short.
        assert_eq!(
            ragged_reason(&["a"], 2),
            "the row has 1 fields but the header has 2"
        );
    }

    #[test]
    fn a_stored_error_quotes_at_most_forty_characters_of_a_column_name_or_value() {
        let (name, value) = ("c".repeat(100), "9".repeat(100));
        let stored = for_history(RowError {
            line: Some(2),
            column: Some(1),
            column_name: Some(name.clone()),
            reason: format!("{value:?} is not a price"),
        });
        assert_eq!(stored.column_name, Some(format!("{}…", &name[..40])));
        assert!(
            stored.reason.contains(&value[..40]) && !stored.reason.contains(&value[..41]),
            "{}",
            stored.reason
        );
    }

    /// Only an applied import that skips invalid rows writes a rejects
    /// file: not a dry run, and not an import its invalid rows refuse.
    #[test]
    fn only_an_applied_import_skipping_invalid_rows_writes_rejects() {
        for (skip_invalid, dry_run, written) in [
            (true, false, true),
            (true, true, false),
            (false, false, false),
            (false, true, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("listings.csv");
            std::fs::write(&path, "sku,title,price\nA-1,Lamp,1.00\nA-2,Mug,oops\n").unwrap();
            let (tx, _rx) = mpsc::channel(64);
            let req = ParseRequest {
                path,
                profile: None,
                options: MapOptions::default(),
                skip_invalid,
                dry_run,
                rejects_path: dir.path().join("rejects.csv"),
                target: CopyTarget::Staging,
            };
            let summary = parse_file(req, tx, None, Instant::now());
            let case = format!("skip_invalid {skip_invalid}, dry_run {dry_run}");
            assert_eq!(summary.rejected, 1, "{case}");
            assert_eq!(summary.rejects_file.is_some(), written, "{case}");
            let files = std::fs::read_dir(dir.path()).unwrap().count();
            assert_eq!(
                files,
                if written { 2 } else { 1 },
                "{case}: files in the folder"
            );
        }
    }

    /// The keys are SipHash values already: the set's hasher takes each as
    /// it is (hashing it again costs time; a constant would make every key
    /// collide, and each lookup a walk through all of them).
    #[test]
    fn an_already_hashed_key_is_its_own_hash() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<AlreadyHashed>::default();
        for n in [0, 1, 42, u64::MAX] {
            assert_eq!(build.hash_one(n), n);
        }
    }

    #[test]
    fn a_few_hundred_rows_are_sent_as_one_chunk() {
        let mut csv = String::from("sku,title,price\n");
        for i in 0..600 {
            csv.push_str(&format!("A-{i},Lamp with a long enough title,1.00\n"));
        }
        let (_, chunks, summary) = parse(&csv);
        assert_eq!(summary.rows_read, 600);
        assert_eq!(chunks.len(), 1, "{} chunks", chunks.len());
        assert!(chunks[0].len() > 32 * 1024, "{}", chunks[0].len());
    }

    /// The history keeps the first [`KEPT_ERRORS`] errors and counts all.
    #[test]
    fn the_first_errors_are_kept_and_every_one_is_counted() {
        let mut csv = String::from("sku,title,price\n");
        for i in 0..KEPT_ERRORS + 5 {
            csv.push_str(&format!("A-{i},Lamp,oops\n"));
        }
        let (_, _, summary) = parse(&csv);
        assert_eq!(summary.error_count, KEPT_ERRORS as u64 + 5);
        assert_eq!(summary.errors.len(), KEPT_ERRORS);
        assert_eq!(summary.errors[0].line, Some(2));
        assert_eq!(
            summary.errors[KEPT_ERRORS - 1].line,
            Some(KEPT_ERRORS as u64 + 1)
        );
    }

    /// Empty fields past the header are forgiven; a row with fewer fields,
    /// or with a value past the header, is refused for its shape.
    #[test]
    fn a_row_of_another_width_is_refused_unless_only_empty_fields_overhang() {
        let (_, chunks, summary) =
            parse("sku,title,price\nA-1,Lamp,1.00,,\nA-2,Mug\nA-3,Bike,3.00,x\n");
        assert_eq!((summary.rows_read, summary.rejected), (3, 2));
        assert!(chunks.concat().contains("A-1"), "{chunks:?}");
        let reasons: Vec<_> = summary
            .errors
            .iter()
            .map(|e| (e.line, e.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (Some(3), "the row has 2 fields but the header has 3"),
                (Some(4), "the row has 4 fields but the header has 3"),
            ]
        );
    }

    /// A key may be a duplicate (the database looks) only when one was
    /// seen twice.
    #[test]
    fn only_a_key_seen_twice_may_be_a_duplicate() {
        let (_, _, summary) = parse("sku,title\nA-1,Lamp\nA-2,Mug\n");
        assert!(!summary.maybe_duplicates);
        let (_, _, summary) = parse("sku,title\nA-1,Lamp\nA-2,Mug\nA-1,Bike\n");
        assert!(summary.maybe_duplicates);
    }

    /// Progress is reported every [`PROGRESS_EVERY`] records seen, ignored
    /// ones included, and once at the end; ignored rows are counted apart.
    #[test]
    fn progress_is_reported_every_so_many_records_and_at_the_end() {
        let mut csv = String::from("Item number,Title,Variation details,Custom label (SKU)\n");
        // A multi-variation listing's summary row (ignored), then its variations.
        csv.push_str("1,Paint,Color=Red;Blue,\n");
        for i in 0..PROGRESS_EVERY {
            csv.push_str(&format!("1,Paint,Color=C{i},P-{i}\n"));
        }
        let reported = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let progress: ProgressFn = {
            let reported = reported.clone();
            std::sync::Arc::new(move |p: Progress| reported.lock().unwrap().push(p.rows_read))
        };
        let (_, _, summary) = parse_with(&csv, Some(ProfileKind::Ebay), Some(progress));
        assert_eq!((summary.rows_read, summary.ignored), (PROGRESS_EVERY, 1));
        // The record seen 20,000th is the 19,999th listing.
        assert_eq!(
            *reported.lock().unwrap(),
            [PROGRESS_EVERY - 1, PROGRESS_EVERY]
        );
    }
}
