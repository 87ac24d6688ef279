-- importdesk schema, version 5: pruning before-images that can no longer be
-- used (`importdesk audit prune`).
--
-- What can go, in every audited table's change log:
--   * the rows of imports that were rolled back, and the rows their rollbacks
--     wrote: a rolled-back import can never be rolled back again;
--   * with a cut-off date, the rows of completed imports that finished before
--     it: the operator decides those will never be rolled back, and the
--     import is marked (pruned_at) so eligibility says so;
--   * manual edits older than the oldest change of any import that can still
--     be rolled back: a rollback only looks at changes after its import.
-- The audit log (import_audit.audit_log) is never pruned: it is the record.
ALTER TABLE import_audit.imports ADD COLUMN pruned_at timestamptz;

CREATE FUNCTION import_audit.prune(p_completed_before timestamptz, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t          record;
    seller     text;
    keep_from  bigint;
    n          bigint;
    log_rows   bigint := 0;
    edit_rows  bigint := 0;
    rolled     bigint[];
    retired    bigint[];
BEGIN
    IF NOT import_audit.is_support() THEN
        RAISE EXCEPTION 'only support may prune before-images (role %)', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- No import or rollback may run meanwhile for a seller whose data is
    -- pruned: take each seller's lock (the one imports and rollbacks hold).
    FOR seller IN SELECT DISTINCT seller_id FROM import_audit.imports
                   WHERE status IN ('rolled_back', 'completed') ORDER BY seller_id LOOP
        IF NOT pg_try_advisory_xact_lock(x'4944'::int, hashtext(seller)) THEN
            RAISE EXCEPTION 'seller % has an import or rollback in progress; prune later', seller
                USING ERRCODE = 'lock_not_available';
        END IF;
    END LOOP;

    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO rolled
      FROM import_audit.imports WHERE status = 'rolled_back';
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO retired
      FROM import_audit.imports
     WHERE status = 'completed' AND pruned_at IS NULL
       AND p_completed_before IS NOT NULL AND finished_at < p_completed_before;
    UPDATE import_audit.imports SET pruned_at = clock_timestamp() WHERE id = ANY (retired);

    FOR t IN SELECT log_table FROM import_audit.audited_tables ORDER BY log_table LOOP
        EXECUTE format('DELETE FROM import_audit.%I
                         WHERE audit_import_id = ANY ($1) OR audit_rollback_of = ANY ($2)',
                       t.log_table)
           USING rolled || retired, rolled;
        GET DIAGNOSTICS n = ROW_COUNT;
        log_rows := log_rows + n;
    END LOOP;

    -- The oldest change any rollback could still need, across all tables.
    keep_from := NULL;
    FOR t IN SELECT log_table FROM import_audit.audited_tables LOOP
        EXECUTE format('SELECT min(l.audit_change_id) FROM import_audit.%I l
                          JOIN import_audit.imports i ON i.id = l.audit_import_id
                         WHERE i.status = ''completed'' AND i.pruned_at IS NULL', t.log_table)
           INTO n;
        keep_from := least(keep_from, n);
    END LOOP;
    FOR t IN SELECT log_table FROM import_audit.audited_tables ORDER BY log_table LOOP
        EXECUTE format('DELETE FROM import_audit.%I
                         WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL
                           AND ($1::bigint IS NULL OR audit_change_id < $1)', t.log_table)
           USING keep_from;
        GET DIAGNOSTICS n = ROW_COUNT;
        edit_rows := edit_rows + n;
    END LOOP;

    PERFORM import_audit.append_audit(p_actor, 'before-images pruned', NULL, NULL, jsonb_build_object(
        'completed_before', p_completed_before,
        'rolled_back_imports', rolled,
        'retired_imports', retired,
        'import_rows_deleted', log_rows,
        'manual_edit_rows_deleted', edit_rows));
    RETURN jsonb_build_object(
        'rolled_back_imports', to_jsonb(rolled),
        'retired_imports', to_jsonb(retired),
        'import_rows_deleted', log_rows,
        'manual_edit_rows_deleted', edit_rows);
END $$;

REVOKE ALL ON FUNCTION import_audit.prune(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_audit.prune(timestamptz, text) TO importdesk_support;
