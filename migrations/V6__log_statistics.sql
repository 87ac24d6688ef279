-- importdesk schema, version 6: planner statistics of the change log kept
-- current after large imports and rollbacks.
--
-- Right after a large import the planner still believes the import has
-- (almost) no rows in the change log (autovacuum analyses it a minute later
-- at best), and plans the rollback preview from the import's side: seconds
-- instead of milliseconds. The import (or rollback) that wrote a large share
-- of the log analyses it before it commits, so the statistics arrive with the
-- rows. Only the columns the rollback queries filter and join on are sampled.
--
-- The same goes for the BRIN indexes on the log (change position, rollback
-- tag): page ranges written since the last VACUUM are not summarised, and an
-- unsummarised range matches every search, so "what changed after import N"
-- would read the whole of the latest import. Every import and rollback
-- summarises the ranges it filled (cheap: pages it has just written).
-- SECURITY DEFINER: seller and support roles do not own the log tables.
CREATE FUNCTION import_audit.refresh_log_statistics(p_rows_written bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t        record;
    brin     regclass;
    analysed boolean := false;
BEGIN
    IF p_rows_written > 0 THEN
        FOR brin IN SELECT i.indexrelid::regclass
                      FROM import_audit.audited_tables a
                      JOIN pg_index i ON i.indrelid = format('import_audit.%I', a.log_table)::regclass
                      JOIN pg_class ic ON ic.oid = i.indexrelid
                      JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'brin' LOOP
            PERFORM brin_summarize_new_values(brin);
        END LOOP;
    END IF;
    FOR t IN SELECT a.log_table, a.key_columns, c.reltuples
               FROM import_audit.audited_tables a
               JOIN pg_class c ON c.oid = format('import_audit.%I', a.log_table)::regclass
              ORDER BY a.log_table LOOP
        -- Same rule of thumb as autovacuum's: a tenth of the table changed.
        IF t.reltuples < 0 OR p_rows_written * 10 >= t.reltuples THEN
            EXECUTE format('ANALYZE import_audit.%I (audit_change_id, audit_import_id, audit_rollback_of, '
                           'audit_image, audit_op, %s)',
                           t.log_table,
                           (SELECT string_agg(format('%I', k), ', ') FROM unnest(t.key_columns) k));
            analysed := true;
        END IF;
    END LOOP;
    RETURN analysed;
END $$;

REVOKE ALL ON FUNCTION import_audit.refresh_log_statistics(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_audit.refresh_log_statistics(bigint) TO importdesk_support, importdesk_seller;
