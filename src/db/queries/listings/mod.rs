//! SQL of listings and their history: browsing a seller's listings, one
//! listing's changes from the change log, hand edits, and restoring one
//! listing from its timeline. Rows are decoded here, by column name, into
//! the typed records the domain works with (`domain::listings`).
//!
//! `browse` pages through a seller's listings, `changes` reads one
//! listing's timeline and the hand edits from the change log, `restore`
//! writes a listing's earlier image back. This module holds the listing's
//! values record they all decode.

mod browse;
mod changes;
mod restore;

pub use browse::{BrowseOrder, BrowseQuery, ListingSummary, browse};
pub use changes::{ChangeRow, EditQuery, change, hand_edits, timeline};
pub use restore::{
    CurrentListing, RestoreWrite, current, current_for_update, record_restore, tag_actor,
    write_before_image,
};

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

use super::listing::Field;
use crate::db::Conn;

/// Every column of a listing's values: the fields an import writes (the
/// one field table, `listing.rs`) and the two timestamps. `ListingValues`
/// has a member for each.
fn value_columns() -> impl Iterator<Item = &'static str> {
    Field::data()
        .map(Field::name)
        .chain(["created_at", "updated_at"])
}

/// How a value column is selected so that it decodes as its record type:
/// exact decimals and fixed-width codes as text.
fn decodable(column: &str, expr: &str) -> String {
    match column {
        "price" | "currency" => format!("{expr}::text"),
        _ => expr.to_string(),
    }
}

/// A listing's values (everything but its key), as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListingValues {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Exact decimal text (`19.99`), never a float.
    pub price: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i32>,
    pub status: String,
    pub condition: Option<String>,
    pub category: Option<String>,
    pub listing_number: Option<String>,
    pub end_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ListingValues {
    /// Decodes the columns named `{prefix}title` ...; `None` when the image
    /// is absent (its `created_at`, never NULL in a real row, is NULL).
    fn from_row(r: &Row, prefix: &str) -> Result<Option<Self>> {
        let col = |name: &str| format!("{prefix}{name}");
        let Some(created_at) = r.try_get::<_, Option<DateTime<Utc>>>(col("created_at").as_str())?
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            title: r.try_get(col("title").as_str())?,
            description: r.try_get(col("description").as_str())?,
            price: r.try_get(col("price").as_str())?,
            currency: r.try_get(col("currency").as_str())?,
            quantity: r.try_get(col("quantity").as_str())?,
            status: r.try_get(col("status").as_str())?,
            condition: r.try_get(col("condition").as_str())?,
            category: r.try_get(col("category").as_str())?,
            listing_number: r.try_get(col("listing_number").as_str())?,
            end_date: r.try_get(col("end_date").as_str())?,
            created_at,
            updated_at: r.try_get(col("updated_at").as_str())?,
        }))
    }

    /// Every field with its value as display text (`None` for NULL), in
    /// table order: what diffs compare.
    pub fn fields(&self) -> [(&'static str, Option<String>); 12] {
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%.f UTC").to_string();
        [
            ("title", self.title.clone()),
            ("description", self.description.clone()),
            ("price", self.price.clone()),
            ("currency", self.currency.clone()),
            ("quantity", self.quantity.map(|q| q.to_string())),
            ("status", Some(self.status.clone())),
            ("condition", self.condition.clone()),
            ("category", self.category.clone()),
            ("listing_number", self.listing_number.clone()),
            ("end_date", self.end_date.as_ref().map(time)),
            ("created_at", Some(time(&self.created_at))),
            ("updated_at", Some(time(&self.updated_at))),
        ]
    }
}

/// `alias.column AS prefix_column` for every value column.
fn values_of(alias: &str, prefix: &str) -> String {
    value_columns()
        .map(|c| format!("{} AS {prefix}{c}", decodable(c, &format!("{alias}.{c}"))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the connected role may act for a seller (support, or the
/// seller's own role), and the role's name.
pub struct Access {
    pub allowed: bool,
    pub role: String,
}

pub async fn access(conn: &impl Conn, seller: &str) -> Result<Access> {
    let row = conn
        .pg()
        .query_one(
            "SELECT import_audit.may_act_for($1) AS allowed, session_user::text AS role",
            &[&seller],
        )
        .await?;
    Ok(Access {
        // Unknown (NULL) denies.
        allowed: row.try_get::<_, Option<bool>>("allowed")?.unwrap_or(false),
        role: row.try_get("role")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_record_has_every_value_column_in_order() {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        let v = ListingValues {
            title: None,
            description: None,
            price: None,
            currency: None,
            quantity: None,
            status: "active".into(),
            condition: None,
            category: None,
            listing_number: None,
            end_date: None,
            created_at: t,
            updated_at: t,
        };
        let names: Vec<&str> = v.fields().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, value_columns().collect::<Vec<_>>());
    }
}
