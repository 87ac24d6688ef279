//! A dry run the console reviews: its planned updates stay queryable, by
//! key, on the dry run's own session for as long as the review is open.
//! Dropping the review ends the session and the table with it. The import
//! that follows is pinned by the plan fingerprint, as any other.

use color_eyre::eyre::Result;

use super::super::{FieldChanges, ImportError, ImportOutcome, ImportRequest, ProgressFn};
use crate::db::queries::import_review;
use crate::db::queries::rollback::Seek;
use crate::db::{Database, Session};

/// The session holding a dry run's planned updates (`dry_run_review`).
pub struct DryRunReview {
    session: Session,
}

impl DryRunReview {
    /// A page of the updates the dry run planned, in key order, with their
    /// field diffs as the dry run computed them.
    pub async fn page(&self, seek: &Seek, limit: i64) -> Result<Vec<FieldChanges>> {
        import_review::page(&self.session, seek, limit).await
    }
}

/// Runs a dry run (`req.dry_run` must be set) and keeps its plan for the
/// review; no review when the file was rejected.
pub async fn run_for_review(
    db: &Database,
    req: ImportRequest,
    progress: Option<ProgressFn>,
) -> Result<(ImportOutcome, Option<DryRunReview>), ImportError> {
    let (outcome, session) = super::run_keeping(db, req, progress, true).await?;
    Ok((outcome, session.map(|session| DryRunReview { session })))
}
