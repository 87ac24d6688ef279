/// Columns of an import summary, in the order `history::ImportSummary::from_row` reads them.
pub const IMPORT_COLUMNS: &str =
    "id, seller_id, file_name, file_sha256, file_size, profile, options, status,
     started_at, finished_at, actor, db_role, os_user, client_addr,
     rows_read, created, updated, unchanged, rejected, ignored_rows, unknown_columns,
     error_summary, errors, rolled_back_at, rolled_back_by,
     rollback_restored, rollback_deleted, rollback_skipped, pruned_at";

pub fn list() -> String {
    format!(
        "SELECT {IMPORT_COLUMNS} FROM import_audit.imports
          WHERE ($1::text IS NULL OR seller_id = $1)
            AND ($2::text IS NULL OR status = $2)
            AND ($3::text IS NULL OR strpos(lower(file_name), lower($3)) > 0)
            AND ($4::bigint IS NULL OR id < $4)
          ORDER BY id DESC
          LIMIT $5"
    )
}

pub fn by_id() -> String {
    format!("SELECT {IMPORT_COLUMNS} FROM import_audit.imports WHERE id = $1")
}

/// Sellers that have an import marked `running` (candidates for crash recovery).
pub const SELLERS_WITH_RUNNING: &str =
    "SELECT DISTINCT seller_id FROM import_audit.imports WHERE status = 'running'";

/// Marks a seller's `running` imports failed; only called while holding the
/// seller's lock, which proves no process is still working on them.
pub const FAIL_ABANDONED: &str = "SELECT import_audit.fail_abandoned($1)";
