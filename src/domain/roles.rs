//! Who may act for which seller: granting and revoking login roles (audited)
//! and listing them. The database enforces it; this module explains refusals.

use color_eyre::eyre::{Result, eyre};
use serde::Serialize;
use tokio_postgres::error::SqlState;

use crate::db::Database;
use crate::db::queries::roles as sql;
use crate::domain::audit;

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
    /// What the role may do, in words (with what is wrong, if anything).
    pub fn may(&self) -> String {
        let seller = self.seller.as_deref().map(crate::text::sanitize);
        match (self.support, self.seller_member, seller) {
            _ if self.can_login.is_none() => {
                "nothing: the role no longer exists (mapping left over)".into()
            }
            (true, _, _) => "support: every seller".into(),
            (false, true, Some(s)) => format!("seller {s}"),
            (false, true, None) => {
                "nothing: member of importdesk_seller but mapped to no seller".into()
            }
            (false, false, Some(s)) => {
                format!("nothing: mapped to seller {s} but not a member of importdesk_seller")
            }
            (false, false, None) if self.admin => "grants and revokes roles (ADMIN OPTION)".into(),
            (false, false, None) => "nothing".into(),
        }
    }
}

pub async fn list(db: &Database) -> Result<Vec<RoleEntry>> {
    let client = db.client().await?;
    let rows = client.query(sql::LIST, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| RoleEntry {
            role: r.get(0),
            support: r.get(1),
            seller_member: r.get(2),
            admin: r.get(3),
            seller: r.get(4),
            can_login: r.get(5),
        })
        .collect())
}

/// `GRANT importdesk_seller` plus the mapping, and an audit entry, in one
/// transaction.
pub async fn grant_seller(db: &Database, role: &str, seller: &str, actor: &str) -> Result<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.execute(sql::GRANT_SELLER, &[&role, &seller])
        .await
        .map_err(|e| explain(e, role, "importdesk_seller"))?;
    audit::append(
        &*tx,
        actor,
        audit::action::SELLER_GRANTED,
        Some(seller),
        None,
        serde_json::json!({ "role": role, "seller": seller }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn grant_support(db: &Database, role: &str, actor: &str) -> Result<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.execute(sql::GRANT_SUPPORT, &[&role])
        .await
        .map_err(|e| explain(e, role, "importdesk_support"))?;
    audit::append(
        &*tx,
        actor,
        audit::action::SUPPORT_GRANTED,
        None,
        None,
        serde_json::json!({ "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Offboarding a seller login; returns the seller it was mapped to.
pub async fn revoke_seller(db: &Database, role: &str, actor: &str) -> Result<Option<String>> {
    let client = db.client().await?;
    let row = client
        .query_one(sql::REVOKE_SELLER, &[&role, &actor])
        .await
        .map_err(|e| explain(e, role, "importdesk_seller"))?;
    Ok(row.get(0))
}

/// Returns whether the role was a support member.
pub async fn revoke_support(db: &Database, role: &str, actor: &str) -> Result<bool> {
    let client = db.client().await?;
    let row = client
        .query_one(sql::REVOKE_SUPPORT, &[&role, &actor])
        .await
        .map_err(|e| explain(e, role, "importdesk_support"))?;
    Ok(row.get(0))
}

/// The database's refusal, with what to do about it.
fn explain(e: tokio_postgres::Error, role: &str, group: &str) -> color_eyre::Report {
    let role = crate::text::sanitize(role);
    let msg = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string());
    let hint = match e.code() {
        Some(c) if *c == SqlState::UNDEFINED_OBJECT => format!(
            "create the login role first (as an administrator: CREATE ROLE \"{role}\" LOGIN;)"
        ),
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE && msg.contains("admin option") => {
            format!(
                "the role running this command needs ADMIN OPTION on {group}; an administrator gives it once: \
                 GRANT {group} TO <owner role> WITH ADMIN OPTION; (see docs/operations.md)"
            )
        }
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
            "only the database owner (the role that ran importdesk db migrate) may grant and revoke roles"
                .to_string()
        }
        _ => String::new(),
    };
    let msg = crate::text::sanitize(&msg);
    if hint.is_empty() {
        eyre!("changing role {role} failed: {msg}")
    } else {
        eyre!("changing role {role} failed: {msg}\n  hint: {hint}")
    }
}
