//! Who may act for which seller: granting and revoking login roles (audited)
//! and listing them. The database enforces it; this module explains refusals.

use color_eyre::eyre::{Result, eyre};
use tokio_postgres::error::SqlState;

use crate::db::Database;
use crate::db::queries::roles as store;
use crate::domain::audit::action;

pub use crate::db::queries::roles::RoleEntry;

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
    Ok(store::list(&db.client().await?).await?)
}

/// The time bounds `db grant-seller` gives a seller role in the database
/// (PostgreSQL intervals such as `10min`; `0` leaves a setting alone).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLimits {
    pub statement_timeout: String,
    pub idle_in_transaction_timeout: String,
}

impl SessionLimits {
    /// What an administrator runs when importdesk may not set them.
    pub fn alter_role_sql(&self, role: &str, database: &str) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        [
            ("statement_timeout", &self.statement_timeout),
            (
                "idle_in_transaction_session_timeout",
                &self.idle_in_transaction_timeout,
            ),
        ]
        .iter()
        .filter(|(_, v)| v.trim() != "0")
        .map(|(name, v)| {
            format!(
                "ALTER ROLE {} IN DATABASE {} SET {name} = '{}';",
                quote(role),
                quote(database),
                v.replace('\'', "''")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
    }

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

/// Makes `role` act for `seller`. Returns whether its time bounds were set
/// (they are not when the caller may not ALTER ROLE; the grant holds).
pub async fn grant_seller(
    db: &Database,
    role: &str,
    seller: &str,
    limits: &SessionLimits,
    actor: &str,
) -> Result<bool> {
    let seller = crate::domain::seller::validate(seller)?;
    store::grant_seller(
        &mut db.client().await?,
        role,
        &seller,
        [
            &limits.statement_timeout,
            &limits.idle_in_transaction_timeout,
        ],
        actor,
        action::SELLER_GRANTED,
    )
    .await
    .map_err(|e| explain(e, role, "importdesk_seller"))
}

pub async fn grant_support(db: &Database, role: &str, actor: &str) -> Result<()> {
    store::grant_support(
        &mut db.client().await?,
        role,
        actor,
        action::SUPPORT_GRANTED,
    )
    .await
    .map_err(|e| explain(e, role, "importdesk_support"))
}

/// Offboarding a seller login; returns the seller it was mapped to.
pub async fn revoke_seller(db: &Database, role: &str, actor: &str) -> Result<Option<String>> {
    store::revoke_seller(&db.client().await?, role, actor)
        .await
        .map_err(|e| explain(e, role, "importdesk_seller"))
}

/// Returns whether the role was a support member.
pub async fn revoke_support(db: &Database, role: &str, actor: &str) -> Result<bool> {
    store::revoke_support(&db.client().await?, role, actor)
        .await
        .map_err(|e| explain(e, role, "importdesk_support"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(support: bool, member: bool, admin: bool, seller: Option<&str>) -> RoleEntry {
        RoleEntry {
            role: "r".into(),
            support,
            seller_member: member,
            admin,
            seller: seller.map(Into::into),
            can_login: Some(true),
        }
    }

    #[test]
    fn what_a_role_may_do_names_what_is_wrong_with_it() {
        let gone = RoleEntry {
            can_login: None,
            ..entry(true, true, false, Some("acme"))
        };
        assert_eq!(
            gone.may(),
            "nothing: the role no longer exists (mapping left over)"
        );
        assert_eq!(
            entry(true, false, false, None).may(),
            "support: every seller"
        );
        assert_eq!(
            entry(true, true, true, Some("acme")).may(),
            "support: every seller"
        );
        assert_eq!(entry(false, true, false, Some("acme")).may(), "seller acme");
        assert_eq!(
            entry(false, true, false, None).may(),
            "nothing: member of importdesk_seller but mapped to no seller"
        );
        assert_eq!(
            entry(false, false, false, Some("acme")).may(),
            "nothing: mapped to seller acme but not a member of importdesk_seller"
        );
        assert_eq!(
            entry(false, false, true, None).may(),
            "grants and revokes roles (ADMIN OPTION)"
        );
        assert_eq!(entry(false, false, false, None).may(), "nothing");
        assert_eq!(
            entry(false, true, false, Some("ac\u{1b}me")).may(),
            "seller ac\u{241b}me"
        );
    }

    #[test]
    fn session_limits_are_described_and_written_as_sql_zero_leaving_a_setting_alone() {
        let limits = SessionLimits {
            statement_timeout: "10min".into(),
            idle_in_transaction_timeout: "0".into(),
        };
        assert_eq!(
            limits.describe(),
            "statement_timeout 10min, idle_in_transaction_session_timeout unchanged"
        );
        assert_eq!(
            limits.alter_role_sql("we\"ird", "db"),
            "ALTER ROLE \"we\"\"ird\" IN DATABASE \"db\" SET statement_timeout = '10min';"
        );
        let both = SessionLimits {
            statement_timeout: " 0 ".into(),
            idle_in_transaction_timeout: "5min'\u{1b}".into(),
        };
        assert_eq!(
            both.describe(),
            "statement_timeout unchanged, idle_in_transaction_session_timeout 5min'\u{241b}"
        );
        assert_eq!(
            both.alter_role_sql("r", "d"),
            "ALTER ROLE \"r\" IN DATABASE \"d\" SET idle_in_transaction_session_timeout = '5min''\u{1b}';"
        );
    }
}
