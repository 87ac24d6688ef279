//! Check: what the parser could not see alone (duplicate keys across the
//! file), and whether the file as a whole is rejected.

use color_eyre::eyre::Result;

use super::super::parse::ParseSummary;
use super::super::{ImportRequest, KEPT_ERRORS, RowError, rejects};
use super::finish::rejects_path;
use crate::db::Transaction;
use crate::db::queries::import as store;

/// Duplicate keys inside the file, found in SQL when the parser saw a key
/// twice (or too many keys to remember), so that client memory stays
/// bounded whatever the number of keys: every line of a duplicated key is
/// rejected and named. With `--skip-invalid` they leave the staging table
/// and go to the rejects file (and `staged` counts them out).
pub(super) async fn duplicates(
    tx: &Transaction<'_>,
    req: &ImportRequest,
    summary: &mut ParseSummary,
    staged: &mut i64,
) -> Result<()> {
    // The parser remembers the keys it saw: with none seen twice there is
    // nothing for the database to look for.
    if !summary.maybe_duplicates {
        return Ok(());
    }
    let duplicate_rows = store::count_duplicate_rows(tx).await?;
    if duplicate_rows == 0 {
        return Ok(());
    }
    let dup_lines: Vec<(u64, String)> = store::duplicate_lines(tx)
        .await?
        .into_iter()
        .map(|d| {
            let others: Vec<String> = d
                .lines
                .iter()
                .filter(|l| **l != d.line)
                .map(|l| l.to_string())
                .collect();
            // Stored in the history: the key quoted briefly, neutralised.
            let reason = crate::text::shorten_quoted(
                &format!(
                    "duplicate key {:?}: it also appears on line {}",
                    d.sku,
                    others.join(", ")
                ),
                40,
            );
            (d.line as u64, reason)
        })
        .collect();
    summary.rejected += duplicate_rows as u64;
    summary.error_count += duplicate_rows as u64;
    summary
        .errors
        .extend(dup_lines.iter().map(|(line, reason)| RowError {
            line: Some(*line),
            column: None,
            column_name: None,
            reason: reason.clone(),
        }));
    summary.errors.sort_by_key(|e| e.line);
    summary.errors.truncate(KEPT_ERRORS);
    if req.skip_invalid {
        *staged -= store::delete_duplicates(tx).await? as i64;
        let path = match &summary.rejects_file {
            Some(p) => p.clone(),
            None => rejects::RejectsWriter::create(
                rejects_path(req),
                summary.delimiter,
                &summary.headers,
            )?
            .finish()?,
        };
        rejects::append_lines(&path, &req.path, &dup_lines)?;
        summary.rejects_file = Some(path);
    }
    Ok(())
}

/// True when the file is rejected as a whole: rejected rows without
/// `--skip-invalid` (all-or-nothing), or no listing rows at all (then
/// `file_error` says so).
pub(super) fn rejects_file(req: &ImportRequest, summary: &mut ParseSummary) -> bool {
    if summary.rejected > 0 && !req.skip_invalid {
        return true;
    }
    if summary.rows_read == 0 {
        summary.file_error = Some(RowError {
            line: None,
            column: None,
            column_name: None,
            reason: if summary.ignored > 0 {
                format!(
                    "the file has no listing rows ({} rows are not listings)",
                    summary.ignored
                )
            } else {
                "the file has a header but no listing rows".to_string()
            },
        });
        return true;
    }
    false
}
