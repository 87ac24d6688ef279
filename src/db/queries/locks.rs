//! The per-seller lock: a session-level advisory lock held for the whole of
//! an import or rollback, so two of them for one seller never interleave, and
//! so a `running` import whose lock is free is known to have crashed.
//!
//! Taken only through importdesk's database functions
//! (migrations/V12__trust_boundaries.sql): the key is random per seller and
//! readable by the schema owner only, a role may lock only a seller it may
//! act for, and a session holding the key without that right is stepped
//! around. `$1` is the seller id.

pub const TRY_LOCK_SELLER: &str = "SELECT import_audit.try_lock_seller($1)";
pub const UNLOCK_SELLER: &str = "SELECT import_audit.unlock_seller($1)";
