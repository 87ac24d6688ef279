//! Who the connected database role is to importdesk: support (every seller),
//! a seller (its own data only), or neither. Enforced by PostgreSQL
//! (row-level security and checking functions); shown by the CLI and console.

use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::db::queries::identity as sql;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Identity {
    pub role: String,
    /// Set when the role is mapped to one seller.
    pub seller: Option<String>,
    pub support: bool,
}

impl Identity {
    /// A short form for a title bar: `jane · support`, `acme_login · seller acme`.
    pub fn badge(&self) -> String {
        let role = crate::text::sanitize(&self.role);
        match (&self.seller, self.support) {
            (_, true) => format!("{role} · support"),
            (Some(s), false) => format!("{role} · seller {}", crate::text::sanitize(s)),
            (None, false) => format!("{role} · no access"),
        }
    }

    /// The seller this identity is limited to (`None` for support).
    pub fn own_seller(&self) -> Option<&str> {
        (!self.support).then_some(self.seller.as_deref()).flatten()
    }

    pub fn describe(&self) -> String {
        let role = crate::text::sanitize(&self.role);
        match (&self.seller, self.support) {
            (_, true) => format!("{role} (support: every seller)"),
            (Some(s), false) => format!("{role} (seller {})", crate::text::sanitize(s)),
            (None, false) => format!("{role} (no importdesk access: not a seller, not support)"),
        }
    }
}

pub async fn current(client: &impl GenericClient) -> Result<Identity> {
    let row = client.query_one(sql::CURRENT, &[]).await?;
    Ok(Identity {
        role: row.get(0),
        seller: row.get(1),
        support: row.get(2),
    })
}
