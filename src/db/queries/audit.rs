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

/// Entries matching a filter, newest first: `$1` seller, `$2` database role,
/// `$3` since, `$4` until (exclusive), `$5` a listing's SKU named in the
/// details (single-listing restores), `$6` only ids below, `$7` page size.
/// NULL means any.
pub const LIST_FILTERED: &str =
    "SELECT id, at, actor, db_role, action, seller_id, import_id, details
       FROM import_audit.audit_log
      WHERE ($1::text IS NULL OR seller_id = $1)
        AND ($2::text IS NULL OR db_role = $2)
        AND ($3::timestamptz IS NULL OR at >= $3)
        AND ($4::timestamptz IS NULL OR at < $4)
        AND ($5::text IS NULL OR details->>'sku' = $5)
        AND ($6::bigint IS NULL OR id < $6)
      ORDER BY id DESC
      LIMIT $7";
