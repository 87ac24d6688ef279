//! Reading a CSV file as a stream of records with line numbers: UTF-8 with or
//! without BOM, comma/semicolon/tab detected from the header, quoted fields
//! with delimiters, quotes and newlines, CRLF. Memory is bounded: a record
//! larger than [`MAX_RECORD_BYTES`] (an unterminated quote, binary garbage) is
//! an error, not an allocation.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use sha2::{Digest, Sha256};

/// Largest record accepted (all fields together).
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// Most columns accepted in a header.
pub const MAX_COLUMNS: usize = 2_000;

/// A problem with the file itself (not with one value): the import stops.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileError {
    pub line: Option<u64>,
    pub column: Option<usize>,
    pub byte_offset: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

fn file_error(line: Option<u64>, column: Option<usize>, message: impl Into<String>) -> FileError {
    FileError {
        line,
        column,
        byte_offset: None,
        message: message.into(),
    }
}

/// Counts and hashes the bytes the CSV parser consumes, and refuses to feed
/// one record more than [`MAX_RECORD_BYTES`].
struct MeteredReader<R> {
    inner: R,
    hasher: Sha256,
    consumed: Rc<Cell<u64>>,
    record_start: Rc<Cell<u64>>,
}

impl<R: Read> Read for MeteredReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let consumed = self.consumed.get();
        if consumed - self.record_start.get() > MAX_RECORD_BYTES {
            return Err(io::Error::other(RecordTooLarge));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.consumed.set(consumed + n as u64);
        Ok(n)
    }
}

#[derive(Debug)]
struct RecordTooLarge;

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record too large")
    }
}

impl std::error::Error for RecordTooLarge {}

fn record_too_large(line: u64) -> FileError {
    file_error(
        Some(line),
        None,
        format!(
            "the record starting here is larger than {} MiB: \
             is a quote left open, or is this not a CSV file?",
            MAX_RECORD_BYTES / 1024 / 1024
        ),
    )
}

/// One data record: its fields (valid UTF-8) and the line it starts on.
pub struct Record {
    pub line: u64,
    pub fields: csv::StringRecord,
}

pub struct CsvFile {
    reader: csv::Reader<MeteredReader<BufReader<File>>>,
    consumed: Rc<Cell<u64>>,
    record_start: Rc<Cell<u64>>,
    pub headers: Vec<String>,
    pub delimiter: u8,
    pub size: u64,
    raw: csv::ByteRecord,
    /// The csv crate counts a CRLF record's line break at the start of the
    /// next record, so every data record of a CRLF file reads one line low.
    crlf_line_shift: u64,
    done: bool,
}

impl CsvFile {
    /// Opens `path`, detects the delimiter and reads the header row.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let file = open_regular(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size == 0 {
            return Err(file_error(
                None,
                None,
                "the file is empty: expected a header row and at least one listing",
            ));
        }
        let mut buffered = BufReader::with_capacity(256 * 1024, file);
        let head = buffered.fill_buf().map_err(io_error)?;
        let delimiter = detect_delimiter(head);
        let crlf_line_shift = u64::from(first_line_ends_with_crlf(head));
        let consumed = Rc::new(Cell::new(0));
        let record_start = Rc::new(Cell::new(0));
        let metered = MeteredReader {
            inner: buffered,
            hasher: Sha256::new(),
            consumed: consumed.clone(),
            record_start: record_start.clone(),
        };
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(metered);
        let mut file = Self {
            reader,
            consumed,
            record_start,
            headers: Vec::new(),
            delimiter,
            size,
            raw: csv::ByteRecord::new(),
            crlf_line_shift,
            done: false,
        };
        file.read_header()?;
        Ok(file)
    }

    fn read_header(&mut self) -> Result<(), FileError> {
        if !self.read_raw()? {
            return Err(file_error(Some(1), None, "the file has no header row"));
        }
        if self.raw.len() > MAX_COLUMNS {
            return Err(file_error(
                Some(1),
                None,
                format!(
                    "the header has {} columns; at most {MAX_COLUMNS} are supported",
                    self.raw.len()
                ),
            ));
        }
        let record = self.to_utf8(1)?;
        let mut headers: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
        // The csv crate strips a UTF-8 BOM; strip a stray one left inside quotes.
        if let Some(first) = headers.first_mut()
            && let Some(rest) = first.strip_prefix('\u{feff}')
        {
            *first = rest.trim().to_string();
        }
        if headers.iter().all(|h| h.is_empty()) {
            return Err(file_error(Some(1), None, "the header row is empty"));
        }
        self.headers = headers;
        Ok(())
    }

    /// Bytes of the file consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.consumed.get()
    }

    /// The next data record, `None` at the end of the file. A record with the
    /// wrong number of fields is returned as is: the caller reports it.
    pub fn next_record(&mut self) -> Result<Option<Record>, FileError> {
        if self.done || !self.read_raw()? {
            self.done = true;
            return Ok(None);
        }
        let line = self.raw.position().map(|p| p.line()).unwrap_or(0) + self.crlf_line_shift;
        // A blank line at the end of a file is not a record.
        if self.raw.len() == 1 && self.raw[0].is_empty() {
            return self.next_record();
        }
        let fields = self.to_utf8(line)?;
        Ok(Some(Record { line, fields }))
    }

    /// The SHA-256 of the whole file; reads what the parser has not (call at the end).
    pub fn finish_sha256(mut self) -> Result<String, FileError> {
        let metered = self.reader.get_mut();
        io::copy(&mut metered.inner, &mut io::sink()).map_err(io_error)?;
        let digest = metered.hasher.clone().finalize();
        Ok(hex::encode(digest))
    }

    fn read_raw(&mut self) -> Result<bool, FileError> {
        let shift = if self.headers.is_empty() {
            0
        } else {
            self.crlf_line_shift
        };
        let start_line = self.reader.position().line() + shift;
        let start_byte = self.reader.position().byte();
        self.record_start.set(self.consumed.get());
        match self.reader.read_byte_record(&mut self.raw) {
            // The metered reader stops a record somewhere past the limit
            // (it counts what the parser buffered, up to 256 KiB ahead);
            // the limit itself is the record's own bytes, line break included.
            Ok(true) if self.reader.position().byte() - start_byte > MAX_RECORD_BYTES => {
                Err(record_too_large(start_line))
            }
            Ok(more) => Ok(more),
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind()
                    && io
                        .get_ref()
                        .is_some_and(|inner| inner.is::<RecordTooLarge>())
                {
                    return Err(record_too_large(start_line));
                }
                Err(file_error(
                    Some(start_line),
                    None,
                    format!("cannot read the file: {e}"),
                ))
            }
        }
    }

    fn to_utf8(&self, line: u64) -> Result<csv::StringRecord, FileError> {
        // The usual case checks the bytes once; a record that fails is
        // gone through field by field for the first one to blame.
        if let Ok(record) = csv::StringRecord::from_byte_record(self.raw.clone())
            && !record.iter().any(|field| field.contains('\0'))
        {
            return Ok(record);
        }
        for (i, field) in self.raw.iter().enumerate() {
            if let Err(e) = std::str::from_utf8(field) {
                let offset = self.raw.position().map(|p| p.byte()).unwrap_or(0);
                return Err(FileError {
                    line: Some(line),
                    column: Some(i + 1),
                    byte_offset: Some(offset),
                    message: format!(
                        "the file is not valid UTF-8 (bad byte 0x{:02X} in this field, \
                         record starting at byte {offset}). Save it as UTF-8, or convert it, \
                         e.g. iconv -f WINDOWS-1252 -t UTF-8 file.csv > file-utf8.csv",
                        field[e.valid_up_to()]
                    ),
                });
            }
            if field.contains(&0) {
                return Err(file_error(
                    Some(line),
                    Some(i + 1),
                    "the field contains a NUL byte: this looks like a binary file, not CSV",
                ));
            }
        }
        // Not reached (the csv crate checks UTF-8 field by field too), but
        // an error is better than a panic if it ever is.
        Err(file_error(
            Some(line),
            None,
            "the record is not valid UTF-8",
        ))
    }
}

/// Opens `path` only if it is a regular file. Opened non-blocking and
/// checked on the descriptor: a FIFO without a writer would block the open
/// itself, and a FIFO, /dev/zero or /dev/urandom has no size to read to.
fn open_regular(path: &Path) -> Result<File, FileError> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
        .open(path)
        .map_err(|e| file_error(None, None, format!("cannot open the file: {e}")))?;
    let kind = file.metadata().map_err(io_error)?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_dir() {
        Some("a folder")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        return Err(file_error(
            None,
            None,
            format!(
                "this is {what}, not a regular file: importdesk imports only regular files \
                 (save the data to a file first)"
            ),
        ));
    }
    // Reads of a regular file never block anyway; clear the flag for clarity.
    fcntl(&file, FcntlArg::F_SETFL(OFlag::empty())).map_err(|e| io_error(e.into()))?;
    Ok(file)
}

fn io_error(e: io::Error) -> FileError {
    file_error(None, None, format!("cannot read the file: {e}"))
}

fn first_line_ends_with_crlf(head: &[u8]) -> bool {
    let mut in_quotes = false;
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => return i > 0 && head[i - 1] == b'\r',
            _ => {}
        }
    }
    false
}

/// The delimiter is the most frequent of `,` `;` TAB outside quotes on the
/// first line (comma on a tie).
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in head {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    candidates[best]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    type Rows = Vec<(u64, Vec<String>)>;

    fn read_all(bytes: &[u8]) -> Result<(Vec<String>, Rows), FileError> {
        let f = file_with(bytes);
        let mut csv = CsvFile::open(f.path())?;
        let mut rows = Vec::new();
        while let Some(r) = csv.next_record()? {
            rows.push((r.line, r.fields.iter().map(String::from).collect()));
        }
        Ok((csv.headers.clone(), rows))
    }

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter(b"sku,title;x\n"), b',');
        assert_eq!(detect_delimiter(b"sku;title;price\n1,5;a"), b';');
        assert_eq!(detect_delimiter(b"sku\ttitle\tprice\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(detect_delimiter(b"sku\n"), b',');
        // Only the header line counts: decimal commas in the data do not.
        assert_eq!(
            detect_delimiter(b"sku;title;price\nA;Lamp, brass, old;1,50\nB;x,y,z;2,5\n"),
            b';'
        );
    }

    #[test]
    fn bom_semicolons_crlf_and_multiline_quotes() {
        let (headers, rows) =
            read_all(b"\xEF\xBB\xBFsku;title\r\nA;\"two\r\nlines; \"\"quoted\"\"\"\r\nB;x\r\n")
                .unwrap();
        assert_eq!(headers, ["sku", "title"]);
        assert_eq!(
            rows[0],
            (2, vec!["A".into(), "two\r\nlines; \"quoted\"".into()])
        );
        assert_eq!(rows[1], (4, vec!["B".into(), "x".into()]));
        let (_, rows) = read_all(b"sku,title\r\nA,x\r\nB,\"y\r\nz\"\r\nC,w\r\n").unwrap();
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 3, 5]);
    }

    #[test]
    fn empty_file_and_non_utf8_are_clear_errors() {
        let err = read_all(b"").unwrap_err();
        assert!(err.message.contains("empty"), "{err}");
        let err = read_all(b"sku,title\nA,caf\xE9\n").unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(2)));
        assert!(
            err.message.contains("0xE9") && err.message.contains("iconv"),
            "{err}"
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        for path in ["/dev/zero", "/dev/null", "/tmp"] {
            let err = CsvFile::open(Path::new(path)).err().expect(path);
            assert!(err.message.contains("not a regular file"), "{path}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No writer: opening must not block.
        let err = CsvFile::open(&fifo).err().unwrap();
        assert!(err.message.contains("named pipe"), "{err}");
    }

    #[test]
    fn an_unterminated_quote_in_a_huge_file_is_bounded() {
        let mut data = b"sku,title\nA,\"open quote\n".to_vec();
        data.extend(std::iter::repeat_n(
            b'x',
            (MAX_RECORD_BYTES + 1024 * 1024) as usize,
        ));
        let err = read_all(&data).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("quote left open"), "{err}");
    }

    #[test]
    fn a_record_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        // "A," + the title + "\n": the record's bytes, line break included.
        let record = |bytes: u64| {
            let mut data = b"sku,title\n".to_vec();
            data.extend_from_slice(b"A,");
            data.extend(std::iter::repeat_n(b'x', (bytes - 3) as usize));
            data.extend_from_slice(b"\nB,short\n");
            data
        };
        let (_, read) = read_all(&record(MAX_RECORD_BYTES)).expect("a record of the limit is read");
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].1[1].len() as u64, MAX_RECORD_BYTES - 3);
        // Not `expect_err`: a failure must not print the 16 MiB it read.
        let Err(err) = read_all(&record(MAX_RECORD_BYTES + 1)) else {
            panic!("a record one byte over the limit was read");
        };
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("larger than 16 MiB"), "{err}");
    }

    #[test]
    fn sha256_covers_the_whole_file() {
        let f = file_with(b"sku\nA\n");
        let csv = CsvFile::open(f.path()).unwrap();
        assert_eq!(
            csv.finish_sha256().unwrap(),
            hex::encode(Sha256::digest(b"sku\nA\n"))
        );
    }

    #[test]
    fn a_file_far_larger_than_the_record_limit_reads_when_its_records_are_small() {
        // The limit is per record: 9 MiB of short rows is over half of it,
        // so a check that added the record's start to the bytes read would
        // refuse it.
        let row = "A-0000000,Lamp with a long enough title,1.00\n";
        let rows = (9 * 1024 * 1024) / row.len() + 1;
        let mut bytes = b"sku,title,price\n".to_vec();
        for _ in 0..rows {
            bytes.extend_from_slice(row.as_bytes());
        }
        assert!(bytes.len() as u64 > MAX_RECORD_BYTES / 2);
        let (_, read) = read_all(&bytes).unwrap();
        assert_eq!(read.len(), rows);
    }

    #[test]
    fn blank_lines_at_the_end_of_a_file_are_not_records() {
        for bytes in [
            &b"sku,title\nA,Lamp\n\n"[..],
            b"sku,title\r\nA,Lamp\r\n\r\n",
            b"sku,title\nA,Lamp\n\n\n",
        ] {
            let (_, rows) = read_all(bytes).unwrap();
            assert_eq!(
                rows,
                vec![(2, vec!["A".to_string(), "Lamp".to_string()])],
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_quoted_header_spanning_lines_is_read_to_its_end_for_the_delimiter() {
        assert_eq!(detect_delimiter(b"\"sku\nid\";title;price\n"), b';');
        assert_eq!(detect_delimiter(b"\"sku\r\nid\"\ttitle\tprice\r\n"), b'\t');
    }

    #[test]
    fn a_nul_byte_is_reported_in_its_own_column() {
        let e = read_all(b"sku,title,price\nA,La\0mp,1\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(2)), "{e:?}");
    }

    #[test]
    fn a_record_of_several_mebibytes_under_the_limit_is_read_whole() {
        // The limit is checked when the parser refills its 256 KiB buffer:
        // an 8 MiB field takes 32 refills, so a limit below the record's
        // size refuses it, one of 16 MiB does not.
        let big = "x".repeat(8 * 1024 * 1024);
        let (_, rows) = read_all(format!("sku,title\nA,{big}\nB,y\n").as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1[1].len(), big.len());
        assert_eq!(rows[1], (3, vec!["B".to_string(), "y".to_string()]));
    }

    #[test]
    fn a_file_error_names_its_line_and_column_when_it_knows_them() {
        let at = |line, column| file_error(line, column, "bad").to_string();
        assert_eq!(at(Some(2), Some(3)), "line 2, column 3: bad");
        assert_eq!(at(Some(2), None), "line 2: bad");
        assert_eq!(at(None, None), "bad");
    }

    #[test]
    fn the_bytes_read_reach_the_files_size_at_its_end() {
        // The console's progress bar is the share of the file's bytes read.
        let bytes = b"sku,title\nA,Lamp\nB,Mug\n";
        let f = file_with(bytes);
        let mut csv = CsvFile::open(f.path()).unwrap();
        while csv.next_record().unwrap().is_some() {}
        assert_eq!(csv.bytes_read(), bytes.len() as u64);
        assert_eq!(csv.size, bytes.len() as u64);
    }

    #[test]
    fn delimiters_inside_a_quoted_header_field_are_not_counted() {
        assert_eq!(detect_delimiter(b"\"a\tb\tc\",d\n"), b',');
        assert_eq!(detect_delimiter(b"\"a,b,c\";d\n"), b';');
        assert_eq!(detect_delimiter(b"\"a;b;c\"\td\n"), b'\t');
    }

    /// A bare line feed inside a quoted header field of a CRLF file: the
    /// header line's own ending, after the closing quote, says the file is
    /// CRLF, and the records' line numbers follow from it.
    #[test]
    fn a_line_feed_inside_a_quoted_header_field_does_not_hide_the_files_crlf() {
        let (headers, rows) = read_all(b"\"sku\nid\",title\r\nA,x\r\nB,y\r\n").unwrap();
        assert_eq!(headers, ["sku\nid", "title"]);
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [3, 4]);
    }

    /// One record may be fed the limit and one read more (to see where it
    /// ends); the read after that is refused, and the next record counts
    /// afresh. The reads here divide the limit, so a check that refused at
    /// the limit itself, or only exactly there, would show.
    #[test]
    fn the_metered_reader_refuses_a_read_only_once_a_record_is_past_the_limit() {
        let consumed = Rc::new(Cell::new(0));
        let record_start = Rc::new(Cell::new(0));
        let mut metered = MeteredReader {
            inner: io::repeat(b'x'),
            hasher: Sha256::new(),
            consumed: consumed.clone(),
            record_start: record_start.clone(),
        };
        let mut buf = vec![0; 64 * 1024];
        while consumed.get() < MAX_RECORD_BYTES {
            let n = metered
                .read(&mut buf)
                .expect("a record under the limit is fed");
            assert_eq!(n, buf.len());
        }
        assert_eq!(consumed.get(), MAX_RECORD_BYTES);
        assert_eq!(
            metered.read(&mut buf).unwrap(),
            buf.len(),
            "one read at the limit"
        );
        let e = metered.read(&mut buf).unwrap_err();
        assert!(
            e.get_ref()
                .is_some_and(|inner| inner.is::<RecordTooLarge>()),
            "{e}"
        );
        assert_eq!(consumed.get(), MAX_RECORD_BYTES + buf.len() as u64);
        record_start.set(consumed.get());
        assert!(metered.read(&mut buf).is_ok(), "a new record is fed");
    }

    #[test]
    fn a_header_of_more_columns_than_supported_is_refused() {
        let header = |columns: usize| {
            let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
            format!("{}\n", names.join(","))
        };
        let (headers, _) = read_all(header(MAX_COLUMNS).as_bytes()).unwrap();
        assert_eq!(headers.len(), MAX_COLUMNS);
        let e = read_all(header(MAX_COLUMNS + 1).as_bytes()).err().unwrap();
        assert_eq!(e.line, Some(1));
        assert!(
            e.message
                .contains("the header has 2001 columns; at most 2000 are supported"),
            "{e}"
        );
    }

    /// Only a line of one empty field is passed over: a one-column file's
    /// rows are records, and so is a row whose first field (its key) is
    /// empty, which the profile then refuses for it.
    #[test]
    fn a_row_with_an_empty_first_field_or_a_single_field_is_a_record() {
        let (_, rows) = read_all(b"sku,title\n,Lamp\nA,x\n").unwrap();
        assert_eq!(
            rows,
            vec![
                (2, vec![String::new(), "Lamp".to_string()]),
                (3, vec!["A".to_string(), "x".to_string()]),
            ]
        );
        let (_, rows) = read_all(b"sku\nA\nB\n").unwrap();
        assert_eq!(
            rows,
            vec![(2, vec!["A".to_string()]), (3, vec!["B".to_string()])]
        );
    }

    /// A CRLF file's records read one line low in the csv crate: an error
    /// about a record names the line it starts on all the same.
    #[test]
    fn a_record_too_large_in_a_crlf_file_names_the_line_it_starts_on() {
        let mut data = b"sku,title\r\nA,x\r\nB,\"open quote\r\n".to_vec();
        data.extend(std::iter::repeat_n(
            b'x',
            (MAX_RECORD_BYTES + 1024) as usize,
        ));
        let Err(err) = read_all(&data) else {
            panic!("an open quote over the limit was read");
        };
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("quote left open"), "{err}");
    }

    /// A file that starts with a line break: its first line is empty (LF,
    /// nothing before it to look at), and the header is the next line.
    #[test]
    fn a_file_starting_with_a_line_break_has_an_empty_lf_first_line() {
        assert!(!first_line_ends_with_crlf(b"\nsku,title\r\n"));
        assert!(first_line_ends_with_crlf(b"\r\nsku,title\r\n"));
        let (headers, rows) = read_all(b"\nsku,title\nA,x\n").unwrap();
        assert_eq!(headers, ["sku", "title"]);
        assert_eq!(rows, vec![(3, vec!["A".to_string(), "x".to_string()])]);
    }
}
