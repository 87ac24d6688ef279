//! Stage: the parser's COPY text into the staging table, or, for a seller's
//! first import, straight into `listings`.

use color_eyre::eyre::{Context, Result};
use tokio::sync::mpsc;

use super::super::Phase;
use super::super::copy_text::CopyTarget;
use super::super::parse::{Event, ParseSummary};
use super::Job;
use crate::db::queries::{import as store, import_direct};
use crate::db::{Transaction, is_unique_violation};

/// What the COPY did.
pub(super) enum Staged {
    /// Every row the parser sent is in; how many.
    Rows(ParseSummary, i64),
    /// A first import's COPY met a key `listings` holds already (or twice
    /// in the file): the transaction is unusable, the file read to its end;
    /// the import goes again through staging, which names duplicates.
    KeyTaken(ParseSummary),
}

/// Streams every chunk the parser sends into the COPY's table; returns the
/// parser's summary and the rows copied. When the parser found the file
/// unreadable (`file_error`), the COPY is aborted and the transaction is
/// unusable: the caller must reject the file.
pub(super) async fn copy(
    tx: &Transaction<'_>,
    events: &mut mpsc::Receiver<Event>,
    parser: tokio::task::JoinHandle<ParseSummary>,
    job: &Job<'_>,
    size: u64,
) -> Result<Staged> {
    let direct = matches!(job.target, CopyTarget::Listings { .. });
    let mut copy = if direct {
        import_direct::copy_into_listings(tx).await?
    } else {
        store::copy_into_staging(tx).await?
    };
    let mut refused = None;
    while let Some(event) = events.recv().await {
        if let Event::Chunk(text) = event
            && refused.is_none()
            && let Err(e) = copy.send(text).await
        {
            if !(direct && is_unique_violation(&e)) {
                return Err(e);
            }
            // Read on: the summary (and a rejects file to discard) comes
            // from the whole file.
            refused = Some(e);
        }
    }
    let summary = parser.await.wrap_err("the CSV parser thread failed")?;
    job.phase(Phase::Loading, summary.rows_read, size);
    if summary.file_error.is_some() {
        return Ok(Staged::Rows(summary, 0));
    }
    if refused.is_some() {
        return Ok(Staged::KeyTaken(summary));
    }
    match copy.finish(tx).await {
        Ok(rows) => Ok(Staged::Rows(summary, rows as i64)),
        Err(e) if direct && is_unique_violation(&e) => Ok(Staged::KeyTaken(summary)),
        Err(e) => Err(e),
    }
}
