//! Granting, revoking and listing importdesk's login roles (`importdesk db
//! grant-*`, `revoke-*`, `roles`).

pub const GRANT_SELLER: &str = "SELECT import_audit.grant_seller($1, $2)";
pub const GRANT_SUPPORT: &str = "SELECT import_audit.grant_support($1)";
pub const REVOKE_SELLER: &str = "SELECT import_audit.revoke_seller($1, $2)";
pub const REVOKE_SUPPORT: &str = "SELECT import_audit.revoke_support($1, $2)";

/// Every role that is a member of a group role or mapped to a seller:
/// role, support member, seller member, admin option on a group role,
/// mapped seller, can log in.
pub const LIST: &str = "
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
    SELECT n.role_name,
           coalesce(bool_or(m.grp = 'importdesk_support' AND NOT m.admin_option), false),
           coalesce(bool_or(m.grp = 'importdesk_seller' AND NOT m.admin_option), false),
           coalesce(bool_or(m.admin_option), false),
           (SELECT a.seller_id FROM import_audit.seller_accounts a WHERE a.role_name = n.role_name),
           (SELECT r.rolcanlogin FROM pg_roles r WHERE r.rolname = n.role_name)
      FROM names n
      LEFT JOIN m ON m.role_name = n.role_name
     GROUP BY n.role_name
     ORDER BY n.role_name";
