//! The per-seller lock: a session-level advisory lock held for the whole of
//! an import or rollback, so two of them for one seller never interleave, and
//! so a `running` import whose lock is free is known to have crashed.

/// First key of importdesk's advisory locks ("ID").
pub const LOCK_CLASS: i32 = 0x4944;

pub const TRY_LOCK_SELLER: &str = "SELECT pg_try_advisory_lock($1, hashtext($2))";
pub const UNLOCK_SELLER: &str = "SELECT pg_advisory_unlock($1, hashtext($2))";
