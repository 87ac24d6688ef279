//! Who the connected database role is to importdesk: support (every seller),
//! a seller (its own data only), or neither. Enforced by PostgreSQL
//! (row-level security and checking functions); shown by the CLI and console.

use color_eyre::eyre::Result;

use crate::db::Database;
use crate::db::queries::identity as store;

pub use crate::db::queries::identity::Identity;

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

pub async fn current(db: &Database) -> Result<Identity> {
    store::current(&db.client().await?).await
}
