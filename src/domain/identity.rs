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

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: &str, seller: Option<&str>, support: bool) -> Identity {
        Identity {
            role: role.into(),
            seller: seller.map(Into::into),
            support,
        }
    }

    #[test]
    fn an_identity_is_named_with_its_role_and_what_it_may_do() {
        let sue = who("sue", None, true);
        assert_eq!(sue.badge(), "sue · support");
        assert_eq!(sue.describe(), "sue (support: every seller)");
        assert_eq!(sue.own_seller(), None);

        // Support wins over a mapping left over from a seller role.
        let both = who("ann", Some("acme"), true);
        assert_eq!(both.badge(), "ann · support");
        assert_eq!(both.own_seller(), None);

        let alice = who("alice", Some("acme"), false);
        assert_eq!(alice.badge(), "alice · seller acme");
        assert_eq!(alice.describe(), "alice (seller acme)");
        assert_eq!(alice.own_seller(), Some("acme"));

        let nobody = who("bob", None, false);
        assert_eq!(nobody.badge(), "bob · no access");
        assert_eq!(
            nobody.describe(),
            "bob (no importdesk access: not a seller, not support)"
        );
        assert_eq!(nobody.own_seller(), None);
    }

    #[test]
    fn a_role_or_seller_name_reaches_the_title_bar_neutralised() {
        let hostile = who("eve\u{1b}[2J", Some("acme\nfake"), false);
        assert_eq!(hostile.badge(), "eve\u{241b}[2J · seller acme\u{240a}fake");
        assert_eq!(
            hostile.describe(),
            "eve\u{241b}[2J (seller acme\u{240a}fake)"
        );
    }
}
