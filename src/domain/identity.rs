//! Who the connected database role is to importdesk: support (every seller),
//! a seller (its own data only), or neither. Enforced by PostgreSQL
//! (row-level security and checking functions); shown by the CLI and console.

use color_eyre::eyre::{Context, Result};

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

/// The time bounds `db grant-seller` gives a seller role in the database
/// (PostgreSQL intervals such as `10min`; `0` leaves a setting alone).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLimits {
    pub statement_timeout: String,
    pub idle_in_transaction_timeout: String,
}

impl SessionLimits {
    pub fn describe(&self) -> String {
        let show = |v: &str| {
            if v.trim() == "0" {
                "unchanged".to_string()
            } else {
                crate::text::sanitize(v).into_owned()
            }
        };
        format!(
            "statement_timeout {}, idle_in_transaction_session_timeout {}",
            show(&self.statement_timeout),
            show(&self.idle_in_transaction_timeout)
        )
    }
}

pub async fn grant_seller(
    db: &Database,
    role: &str,
    seller: &str,
    limits: &SessionLimits,
) -> Result<()> {
    let seller = crate::domain::seller::validate(seller)?;
    store::grant_seller(
        &db.client().await?,
        role,
        &seller,
        &limits.statement_timeout,
        &limits.idle_in_transaction_timeout,
    )
    .await
    .wrap_err_with(|| {
        format!(
            "cannot make {} a seller role (does the login role exist? Setting its timeouts needs \
             the right to ALTER ROLE; --statement-timeout 0 --idle-in-transaction-timeout 0 \
             leaves them alone)",
            crate::text::sanitize(role)
        )
    })
}

pub async fn grant_support(db: &Database, role: &str) -> Result<()> {
    store::grant_support(&db.client().await?, role)
        .await
        .wrap_err_with(|| format!("cannot make {role} a support role (does the login role exist?)"))
}
