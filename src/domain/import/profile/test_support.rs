//! Helpers for the profile tests: CSV text in, outcomes out.

use super::{FieldError, ListingRow, MapOptions, Mapping, ProfileKind, RowOutcome};

/// Splits one CSV line (quotes honoured) into fields.
pub fn split(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let record = reader
        .records()
        .next()
        .expect("one record")
        .expect("valid CSV");
    record.iter().map(str::to_string).collect()
}

pub fn mapping(header: &str, requested: Option<ProfileKind>, options: &MapOptions) -> Mapping {
    Mapping::from_headers(&split(header), requested, options).expect("the header maps")
}

pub fn mapping_err(header: &str, requested: Option<ProfileKind>, options: &MapOptions) -> String {
    Mapping::from_headers(&split(header), requested, options)
        .expect_err("the header is refused")
        .message
}

pub fn outcome(m: &mut Mapping, line: &str) -> RowOutcome {
    let fields = split(line);
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    m.map_record(&refs, 2)
}

#[track_caller]
pub fn listing(m: &mut Mapping, line: &str) -> ListingRow {
    match outcome(m, line) {
        RowOutcome::Listing(row) => row,
        other => panic!("expected a listing from {line:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn rejected(m: &mut Mapping, line: &str) -> Vec<FieldError> {
    match outcome(m, line) {
        RowOutcome::Rejected(errors) => errors,
        other => panic!("expected a rejection of {line:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn ignored(m: &mut Mapping, line: &str) -> String {
    match outcome(m, line) {
        RowOutcome::Ignored { reason } => reason,
        other => panic!("expected {line:?} to be ignored, got {other:?}"),
    }
}

pub fn key(column: &str) -> MapOptions {
    MapOptions {
        key_column: Some(column.into()),
        ..Default::default()
    }
}

pub fn currency(code: &str) -> MapOptions {
    MapOptions {
        default_currency: Some(code.into()),
        ..Default::default()
    }
}

pub fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("test date")
        .with_timezone(&chrono::Utc)
}
