//! Who the connected role is to importdesk (the checks are PostgreSQL's:
//! row-level security and the functions of migrations/V3__roles_and_security.sql;
//! granting and revoking roles is in `roles`).

use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::db::Conn;

/// The connected database role as importdesk's functions see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Identity {
    pub role: String,
    /// Set when the role is mapped to one seller.
    pub seller: Option<String>,
    pub support: bool,
}

const CURRENT: &str = "SELECT session_user::text AS role, import_audit.current_seller() AS seller,
            import_audit.is_support() AS support";

pub async fn current(conn: &impl Conn) -> Result<Identity> {
    let row = conn.pg().query_one(CURRENT, &[]).await?;
    Ok(Identity {
        role: row.try_get("role")?,
        seller: row.try_get("seller")?,
        support: row.try_get("support")?,
    })
}
