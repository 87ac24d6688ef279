//! Granting, revoking and listing importdesk's login roles (`importdesk db
//! grant-*`, `revoke-*`, `roles`). Grants and revokes are audited in the same
//! transaction (revokes by the V8 functions themselves).

use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

use crate::db::{Conn, Pooled};

/// `$3`, `$4`: the role's statement and idle-in-transaction timeouts
/// (PostgreSQL intervals as text; `0` leaves a setting alone; V12). False
/// when the caller may not ALTER ROLE (the grant happened all the same).
const GRANT_SELLER: &str = "SELECT import_audit.grant_seller($1, $2, $3::text::interval, \
     $4::text::interval) AS limits_set";
const GRANT_SUPPORT: &str = "SELECT import_audit.grant_support($1)";
const REVOKE_SELLER: &str = "SELECT import_audit.revoke_seller($1, $2) AS seller";
const REVOKE_SUPPORT: &str = "SELECT import_audit.revoke_support($1, $2) AS was_member";

/// Every role that is a member of a group role or mapped to a seller.
const LIST: &str = "
    WITH m AS (
        SELECT r.rolname::text AS role_name, g.rolname::text AS grp, am.admin_option
          FROM pg_auth_members am
          JOIN pg_roles g ON g.oid = am.roleid
          JOIN pg_roles r ON r.oid = am.member
         WHERE g.rolname IN ('importdesk_support', 'importdesk_seller')
    ), names AS (
        SELECT role_name FROM m
        UNION SELECT role_name FROM import_audit.seller_accounts
    )
    SELECT n.role_name AS role,
           coalesce(bool_or(m.grp = 'importdesk_support' AND NOT m.admin_option), false) AS support,
           coalesce(bool_or(m.grp = 'importdesk_seller' AND NOT m.admin_option), false) AS seller_member,
           coalesce(bool_or(m.admin_option), false) AS admin,
           (SELECT a.seller_id FROM import_audit.seller_accounts a WHERE a.role_name = n.role_name) AS seller,
           (SELECT r.rolcanlogin FROM pg_roles r WHERE r.rolname = n.role_name) AS can_login
      FROM names n
      LEFT JOIN m ON m.role_name = n.role_name
     GROUP BY n.role_name
     ORDER BY n.role_name";

/// One role importdesk knows about.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RoleEntry {
    pub role: String,
    pub support: bool,
    pub seller_member: bool,
    /// Holds ADMIN OPTION on a group role: may grant and revoke (the owner).
    pub admin: bool,
    pub seller: Option<String>,
    /// `None` when the mapped role no longer exists.
    pub can_login: Option<bool>,
}

impl RoleEntry {
    fn from_row(r: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            role: r.try_get("role")?,
            support: r.try_get("support")?,
            seller_member: r.try_get("seller_member")?,
            admin: r.try_get("admin")?,
            seller: r.try_get("seller")?,
            can_login: r.try_get("can_login")?,
        })
    }
}

pub async fn list(conn: &impl Conn) -> Result<Vec<RoleEntry>, tokio_postgres::Error> {
    conn.pg()
        .query(LIST, &[])
        .await?
        .iter()
        .map(RoleEntry::from_row)
        .collect()
}

/// `GRANT importdesk_seller` plus the mapping and the role's time bounds
/// (`statement_timeout`, `idle_in_transaction_session_timeout`), and its
/// audit entry. Returns whether the time bounds could be set.
pub async fn grant_seller(
    conn: &mut Pooled,
    role: &str,
    seller: &str,
    limits: [&str; 2],
    actor: &str,
    action: &str,
) -> Result<bool, tokio_postgres::Error> {
    let tx = conn.transaction().await?;
    let limits_set: bool = tx
        .query_one(GRANT_SELLER, &[&role, &seller, &limits[0], &limits[1]])
        .await?
        .try_get("limits_set")?;
    let details = serde_json::json!({
        "role": role,
        "seller": seller,
        "statement_timeout": limits[0],
        "idle_in_transaction_timeout": limits[1],
        "timeouts_set": limits_set,
    });
    tx.execute(
        super::audit::APPEND,
        &[&actor, &action, &Some(seller), &None::<i64>, &details],
    )
    .await?;
    tx.commit().await?;
    Ok(limits_set)
}

pub async fn grant_support(
    conn: &mut Pooled,
    role: &str,
    actor: &str,
    action: &str,
) -> Result<(), tokio_postgres::Error> {
    let tx = conn.transaction().await?;
    tx.execute(GRANT_SUPPORT, &[&role]).await?;
    let details = serde_json::json!({ "role": role });
    tx.execute(
        super::audit::APPEND,
        &[&actor, &action, &None::<&str>, &None::<i64>, &details],
    )
    .await?;
    tx.commit().await
}

/// Returns the seller the role was mapped to.
pub async fn revoke_seller(
    conn: &impl Conn,
    role: &str,
    actor: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    conn.pg()
        .query_one(REVOKE_SELLER, &[&role, &actor])
        .await?
        .try_get("seller")
}

/// Returns whether the role was a support member.
pub async fn revoke_support(
    conn: &impl Conn,
    role: &str,
    actor: &str,
) -> Result<bool, tokio_postgres::Error> {
    conn.pg()
        .query_one(REVOKE_SUPPORT, &[&role, &actor])
        .await?
        .try_get("was_member")
}
