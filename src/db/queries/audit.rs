/// Appends through the checking function: the audit log is not writable directly.
pub const APPEND: &str = "SELECT import_audit.append_audit($1, $2, $3, $4, $5)";

pub const LIST: &str = "SELECT id, at, actor, db_role, action, seller_id, import_id, details
       FROM import_audit.audit_log
      WHERE ($1::bigint IS NULL OR id < $1)
      ORDER BY id DESC
      LIMIT $2";

/// One import's entries, newest first (the rollback result with its skipped keys).
pub const FOR_IMPORT: &str = "SELECT id, at, actor, db_role, action, seller_id, import_id, details
       FROM import_audit.audit_log
      WHERE import_id = $1
      ORDER BY id DESC
      LIMIT $2";

/// Deletes before-images no rollback can use any more (support only; see
/// migrations/V5__audit_prune.sql). `$1` completed-before cut-off or NULL,
/// `$2` actor. Returns a JSON summary.
pub const PRUNE: &str = "SELECT import_audit.prune($1, $2)";

/// Rolled-back imports that still hold change-log rows (migration V8): the
/// ones a prune really deletes something for.
pub const PRUNABLE_ROLLED_BACK: &str = "SELECT import_audit.prunable_rolled_back()";
