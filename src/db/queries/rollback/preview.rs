//! The rollback's preview, which locks nothing: the skip summary and the
//! pages of skipped, deleted and restored listings in key order.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::plan::{
    References, candidates, restored_columns, skip_summary, skipped_with_latest_change,
};
use super::{PlanBase, SkipSummary, SkippedListing};
use crate::db::Conn;

/// Where a page of the plan starts, by key (`$4`): the console's `/` (the
/// first key from a prefix) and `G` (the last page) seek without reading
/// the rows in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    /// The keys after this one (`None`: from the first).
    After(Option<String>),
    /// This key and the ones after it.
    From(String),
    /// The keys before this one (`None`: the last page), still returned in
    /// key order.
    Before(Option<String>),
}

impl Seek {
    /// The page's condition on `column` and its order (the key is `$4`).
    fn sql(&self, column: &str) -> String {
        self.bound(column, "$4")
    }

    /// The page's condition on `column`, the key being parameter `param`,
    /// and its order.
    pub(crate) fn bound(&self, column: &str, param: &str) -> String {
        match self {
            Seek::After(_) => {
                format!("({param}::text IS NULL OR {column} > {param}) ORDER BY {column}")
            }
            Seek::From(_) => format!("{column} >= {param}::text ORDER BY {column}"),
            Seek::Before(_) => {
                format!("({param}::text IS NULL OR {column} < {param}) ORDER BY {column} DESC")
            }
        }
    }

    pub(crate) fn key(&self) -> Option<&str> {
        match self {
            Seek::After(k) | Seek::Before(k) => k.as_deref(),
            Seek::From(k) => Some(k),
        }
    }
}

/// A page of skipped listings in key order from `$4` (see [`Seek`]), `$5`
/// rows, with the latest hand edit after the import (who, when, what).
/// `$1..$3` as in `candidates`.
fn page_skipped(referenced: &str, seek: &Seek) -> String {
    format!(
        "{skipped} AND {bound}
          LIMIT $5",
        skipped = skipped_with_latest_change(&format!("({})", candidates(referenced)), "$3", "$2"),
        bound = seek.sql("p.sku")
    )
}

/// A page of listings to delete (`$6` = 'I') or restore (`$6` = 'U') in key
/// order from `$4` (see [`Seek`]), `$5` rows, with for restores the per-field
/// diff current -> restored. Walks the import's rows through its key-ordered index.
fn page_reverted(referenced: &str, seek: &Seek) -> String {
    let diff_pairs: Vec<String> = restored_columns()
        .iter()
        .map(|c| {
            format!(
                "'{c}', CASE WHEN l.{c} IS DISTINCT FROM b.{c} \
                 THEN jsonb_build_array(l.{c}::text, b.{c}::text) END"
            )
        })
        .collect();
    format!(
        "SELECT a.sku,
                CASE WHEN a.audit_op = 'U' THEN jsonb_strip_nulls(jsonb_build_object({diff})) END AS diff
           FROM import_audit.log_listings a
           LEFT JOIN LATERAL (
                SELECT * FROM listings l
                 WHERE a.audit_op = 'U' AND l.seller_id = $2 AND l.sku = a.sku LIMIT 1) l ON true
           LEFT JOIN LATERAL (
                SELECT * FROM import_audit.log_listings b
                 WHERE a.audit_op = 'U' AND b.audit_import_id = $1 AND b.audit_image = 'O'
                   AND b.audit_op = 'U' AND b.seller_id = $2 AND b.sku = a.sku LIMIT 1) b ON true
          WHERE a.audit_import_id = $1 AND a.audit_image = 'N' AND a.seller_id = $2
            AND a.audit_op = $6::text::\"char\"
            AND NOT EXISTS (SELECT 1 FROM ({candidates}) c WHERE c.action = 'skip' AND c.sku = a.sku)
            AND {bound}
          LIMIT $5",
        diff = diff_pairs.join(", "),
        candidates = candidates(referenced),
        bound = seek.sql("a.sku")
    )
}

/// The skip summary of the plan, computed from the listings changed after
/// the import only (see `candidates`): a preview that locks nothing.
pub async fn preview_skips(
    conn: &impl Conn,
    refs: &References,
    import_id: i64,
    base: &PlanBase,
) -> Result<SkipSummary> {
    let r = conn
        .pg()
        .query_one(
            &skip_summary(&candidates(&refs.0)),
            &[&import_id, &base.seller, &base.last_change_id],
        )
        .await?;
    Ok(SkipSummary::from_row(&r)?)
}

/// A listing the rollback deletes or restores; restores carry the
/// per-field diff current -> restored.
pub struct RevertedListing {
    pub sku: String,
    pub diff: Option<serde_json::Value>,
}

/// Where a page of the plan starts and how long it is.
pub struct PageAt<'a> {
    pub import_id: i64,
    pub base: &'a PlanBase,
    pub seek: &'a Seek,
    pub limit: i64,
}

impl<'a> PageAt<'a> {
    fn params(&'a self, key: &'a Option<&'a str>) -> [&'a (dyn ToSql + Sync); 5] {
        [
            &self.import_id,
            &self.base.seller,
            &self.base.last_change_id,
            key,
            &self.limit,
        ]
    }

    /// Rows as the query returned them, in key order.
    fn in_key_order<T>(&self, mut rows: Vec<T>) -> Vec<T> {
        if matches!(self.seek, Seek::Before(_)) {
            rows.reverse();
        }
        rows
    }
}

/// A page of skipped listings in key order.
pub async fn page_of_skips(
    conn: &impl Conn,
    refs: &References,
    at: &PageAt<'_>,
) -> Result<Vec<SkippedListing>> {
    let key = at.seek.key();
    let rows = conn
        .pg()
        .query(&page_skipped(&refs.0, at.seek), &at.params(&key))
        .await?;
    let rows = rows
        .iter()
        .map(SkippedListing::from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(at.in_key_order(rows))
}

/// A page of the listings the import created (`created`: deleted by the
/// rollback) or updated (restored), in key order.
pub async fn page_of_reverts(
    conn: &impl Conn,
    refs: &References,
    at: &PageAt<'_>,
    created: bool,
) -> Result<Vec<RevertedListing>> {
    let op = if created { "I" } else { "U" };
    let key = at.seek.key();
    let mut params = at.params(&key).to_vec();
    params.push(&op);
    let rows = conn
        .pg()
        .query(&page_reverted(&refs.0, at.seek), &params)
        .await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(RevertedListing {
                sku: r.try_get("sku")?,
                diff: r.try_get("diff")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(at.in_key_order(rows))
}
