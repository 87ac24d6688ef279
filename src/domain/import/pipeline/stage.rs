//! Stage: the parser's COPY text into the staging table.

use color_eyre::eyre::{Context, Result};
use tokio::sync::mpsc;

use super::super::parse::{Event, ParseSummary};
use crate::db::Transaction;
use crate::db::queries::import as store;

/// Streams every chunk the parser sends into the staging table; returns the
/// parser's summary and the rows staged. When the parser found the file unreadable
/// (`file_error`), the COPY is aborted and the transaction is unusable: the
/// caller must reject the file.
pub(super) async fn copy(
    tx: &Transaction<'_>,
    events: &mut mpsc::Receiver<Event>,
    parser: tokio::task::JoinHandle<ParseSummary>,
) -> Result<(ParseSummary, i64)> {
    let mut copy = store::copy_into_staging(tx).await?;
    while let Some(event) = events.recv().await {
        if let Event::Chunk(text) = event {
            copy.send(text).await?;
        }
    }
    let summary = parser.await.wrap_err("the CSV parser thread failed")?;
    let mut staged = 0;
    if summary.file_error.is_none() {
        staged = copy.finish(tx).await? as i64;
    }
    Ok((summary, staged))
}
