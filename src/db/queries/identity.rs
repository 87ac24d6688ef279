pub const CURRENT: &str =
    "SELECT session_user::text, import_audit.current_seller(), import_audit.is_support()";
/// `$3`, `$4`: the role's statement and idle-in-transaction timeouts (intervals as text; 0 = unchanged).
pub const GRANT_SELLER: &str =
    "SELECT import_audit.grant_seller($1, $2, $3::text::interval, $4::text::interval)";
pub const GRANT_SUPPORT: &str = "SELECT import_audit.grant_support($1)";
