-- importdesk schema, version 4: what makes the preview of a large rollback
-- open at once.
--
-- last_change_id: the change-log position when the import committed. Every
-- later change to one of its listings has a larger id, so "what changed after
-- the import" is the tail of the log (found through the BRIN index on
-- audit_change_id), not a comparison of every listing the import touched.
ALTER TABLE import_audit.imports ADD COLUMN last_change_id bigint;

-- (The import's rows in key order come from the b-tree that
-- import_audit.enable_audit creates on every log table.)

CREATE OR REPLACE FUNCTION import_audit.complete_import(p_id bigint, p_sha text, p_rows bigint, p_created bigint,
        p_updated bigint, p_unchanged bigint, p_rejected bigint, p_ignored bigint,
        p_unknown text[], p_errors jsonb, p_summary text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE import_audit.imports
       SET status = 'completed', finished_at = clock_timestamp(), file_sha256 = p_sha,
           rows_read = p_rows, created = p_created, updated = p_updated, unchanged = p_unchanged,
           rejected = p_rejected, ignored_rows = p_ignored, unknown_columns = p_unknown,
           errors = p_errors, error_summary = p_summary,
           last_change_id = pg_sequence_last_value('import_audit.change_seq')
     WHERE id = p_id AND status = 'running' AND data_txid = pg_current_xact_id();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import % is not running in this transaction', p_id;
    END IF;
END $$;
