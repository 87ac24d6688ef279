//! Who the connected role is to importdesk, and making roles sellers or
//! support (the checks are PostgreSQL's: row-level security and the
//! functions of migrations/V3__roles_and_security.sql).

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
/// `$3`, `$4`: the role's statement and idle-in-transaction timeouts
/// (PostgreSQL intervals as text; `0` leaves a setting alone).
const GRANT_SELLER: &str =
    "SELECT import_audit.grant_seller($1, $2, $3::text::interval, $4::text::interval)";
const GRANT_SUPPORT: &str = "SELECT import_audit.grant_support($1)";

pub async fn current(conn: &impl Conn) -> Result<Identity> {
    let row = conn.pg().query_one(CURRENT, &[]).await?;
    Ok(Identity {
        role: row.try_get("role")?,
        seller: row.try_get("seller")?,
        support: row.try_get("support")?,
    })
}

pub async fn grant_seller(
    conn: &impl Conn,
    role: &str,
    seller: &str,
    statement_timeout: &str,
    idle_in_transaction_timeout: &str,
) -> Result<()> {
    conn.pg()
        .execute(
            GRANT_SELLER,
            &[
                &role,
                &seller,
                &statement_timeout,
                &idle_in_transaction_timeout,
            ],
        )
        .await?;
    Ok(())
}

pub async fn grant_support(conn: &impl Conn, role: &str) -> Result<()> {
    conn.pg().execute(GRANT_SUPPORT, &[&role]).await?;
    Ok(())
}
