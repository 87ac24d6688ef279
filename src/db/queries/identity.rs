pub const CURRENT: &str =
    "SELECT session_user::text, import_audit.current_seller(), import_audit.is_support()";
pub const GRANT_SELLER: &str = "SELECT import_audit.grant_seller($1, $2)";
pub const GRANT_SUPPORT: &str = "SELECT import_audit.grant_support($1)";
