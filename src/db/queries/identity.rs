pub const CURRENT: &str =
    "SELECT session_user::text, import_audit.current_seller(), import_audit.is_support()";
