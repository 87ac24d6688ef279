//! The rejects CSV of `--skip-invalid`: the original records, unchanged, plus
//! `_line`, `_column` and `_reason`, so a seller can fix them and re-import
//! the file as it is (the importer reports the three extra columns as unknown
//! and ignores them).

use std::fs::File;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result};

use super::reader::CsvFile;

pub const EXTRA_COLUMNS: [&str; 3] = ["_line", "_column", "_reason"];

pub struct RejectsWriter {
    writer: csv::Writer<File>,
    pub path: PathBuf,
}

/// A spreadsheet would run a cell starting with = + - @ as a formula: our own
/// columns (reasons quote user values) are neutralised with a leading quote.
pub fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

impl RejectsWriter {
    pub fn create(path: PathBuf, delimiter: u8, headers: &[String]) -> Result<Self> {
        // Rejected rows are a seller's data: a private folder and file, no links followed.
        if let Some(dir) = path.parent() {
            crate::private_files::ensure_dir(dir, crate::private_files::DIR_MODE)?;
        }
        let file = crate::private_files::create_new(&path)
            .wrap_err_with(|| format!("cannot create the rejects file {}", path.display()))?;
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(file);
        let mut header: Vec<&str> = headers.iter().map(String::as_str).collect();
        header.extend(EXTRA_COLUMNS);
        writer.write_record(&header)?;
        Ok(Self { writer, path })
    }

    pub fn write(
        &mut self,
        fields: &csv::StringRecord,
        line: u64,
        column: Option<usize>,
        reason: &str,
    ) -> Result<()> {
        let mut record: Vec<String> = fields.iter().map(str::to_string).collect();
        record.push(line.to_string());
        record.push(column.map(|c| c.to_string()).unwrap_or_default());
        record.push(neutralise_formula(reason));
        self.writer.write_record(&record)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<PathBuf> {
        self.writer.flush()?;
        Ok(self.path)
    }
}

/// Appends the records on `lines` (sorted) of `source` to an existing rejects
/// file, each with its reason (duplicate keys are only known after loading).
pub fn append_lines(rejects: &Path, source: &Path, lines: &[(u64, String)]) -> Result<()> {
    let mut csv = CsvFile::open(source).map_err(|e| color_eyre::eyre::eyre!("{e}"))?;
    let file = crate::private_files::open_append(rejects)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(csv.delimiter)
        .from_writer(file);
    let mut wanted = lines.iter().peekable();
    while let Some((line, reason)) = wanted.peek() {
        let Some(record) = csv
            .next_record()
            .map_err(|e| color_eyre::eyre::eyre!("{e}"))?
        else {
            break;
        };
        if record.line < *line {
            continue;
        }
        if record.line == *line {
            let mut out: Vec<String> = record.fields.iter().map(str::to_string).collect();
            out.push(line.to_string());
            out.push(String::new());
            out.push(neutralise_formula(reason));
            writer.write_record(&out)?;
        }
        wanted.next();
    }
    writer.flush()?;
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise_formula(s), format!("'{s}"), "{s:?}");
        }
        for s in ["price \"=1\" is not a price", "", "5 - 3"] {
            assert_eq!(neutralise_formula(s), s);
        }
    }
}
