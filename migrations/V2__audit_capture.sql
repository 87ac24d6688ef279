-- importdesk schema, version 2: generic, set-based change capture.
--
-- import_audit.enable_audit(table) puts any table with a primary key under
-- audit: it creates a typed log table import_audit.log_<table> (the audited
-- table's own columns plus audit_* metadata), a capture function generated
-- for that table, and statement-level triggers with transition tables, so a
-- million-row import costs one INSERT ... SELECT per statement, not a
-- function call per row. Re-running it (import_audit.sync_audit()) adds
-- columns that a later migration added to the audited table.
--
-- Images: an INSERT logs the new row ('N'), an UPDATE the old ('O') and the
-- new ('N') rows with the same audit_stmt_id, a DELETE or TRUNCATE the old
-- row ('O'). The new image lets a rollback notice edits made behind the
-- triggers' back: the current row no longer equals it.

CREATE SEQUENCE import_audit.change_seq AS bigint;
CREATE SEQUENCE import_audit.statement_seq AS bigint;

CREATE TABLE import_audit.audited_tables (
    table_schema text        NOT NULL,
    table_name   text        NOT NULL,
    log_table    text        NOT NULL UNIQUE,
    key_columns  text[]      NOT NULL,
    enabled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_schema, table_name)
);

CREATE TYPE import_audit.change_tag AS (import_id bigint, rollback_of bigint, actor text);

-- Which import (or rollback) the current statement belongs to. The importer
-- says so with SET LOCAL importdesk.import_id / importdesk.rollback_of; the
-- claim is trusted only inside the transaction recorded on the import
-- (data_txid / rollback_txid), so a manual edit cannot pose as an import.
CREATE FUNCTION import_audit.current_tag() RETURNS import_audit.change_tag
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    claimed_import   text := current_setting('importdesk.import_id', true);
    claimed_rollback text := current_setting('importdesk.rollback_of', true);
    tag              import_audit.change_tag;
BEGIN
    tag.actor := coalesce(nullif(current_setting('importdesk.actor', true), ''), session_user::text);
    IF claimed_import ~ '^[0-9]{1,18}$' THEN
        SELECT i.id INTO tag.import_id
          FROM import_audit.imports i
         WHERE i.id = claimed_import::bigint
           AND i.status = 'running'
           AND i.data_txid = pg_current_xact_id();
    END IF;
    IF claimed_rollback ~ '^[0-9]{1,18}$' THEN
        SELECT i.id INTO tag.rollback_of
          FROM import_audit.imports i
         WHERE i.id = claimed_rollback::bigint
           AND i.rollback_txid = pg_current_xact_id();
    END IF;
    RETURN tag;
END $$;

CREATE FUNCTION import_audit.log_table_name(tschema text, tname text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN tschema = 'public' THEN 'log_' || tname ELSE 'log_' || tschema || '_' || tname END
$$;

CREATE FUNCTION import_audit.enable_audit(target regclass) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tschema   text;
    tname     text;
    log_name  text;
    fn_name   text;
    trunc_fn  text;
    keys      text[];
    col       record;
    cols      text;
    meta_cols constant text :=
        'audit_stmt_id, audit_op, audit_image, audit_import_id, audit_rollback_of, '
        'audit_actor, audit_role, audit_txid, audit_at';
    meta_vals constant text :=
        'stmt, %L, %L, tag.import_id, tag.rollback_of, tag.actor, session_user, pg_current_xact_id(), at';
BEGIN
    SELECT n.nspname, c.relname INTO tschema, tname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = target;
    SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
      INTO keys
      FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = target AND i.indisprimary;
    IF keys IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key: only tables with a primary key can be audited', target;
    END IF;

    log_name := import_audit.log_table_name(tschema, tname);
    fn_name  := 'capture_' || log_name;
    trunc_fn := 'capture_truncate_' || log_name;

    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS import_audit.%I (
             audit_change_id   bigint      NOT NULL DEFAULT nextval(''import_audit.change_seq''),
             audit_stmt_id     bigint      NOT NULL,
             audit_op          "char"      NOT NULL,
             audit_image       "char"      NOT NULL,
             audit_import_id   bigint,
             audit_rollback_of bigint,
             audit_actor       text        NOT NULL,
             audit_role        text        NOT NULL,
             audit_txid        xid8        NOT NULL,
             audit_at          timestamptz NOT NULL)', log_name);

    -- The log follows the audited table's catalog definition.
    FOR col IN
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ
          FROM pg_attribute a
         WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum
    LOOP
        EXECUTE format('ALTER TABLE import_audit.%I ADD COLUMN IF NOT EXISTS %I %s',
                       log_name, col.attname, col.typ);
    END LOOP;

    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped;

    -- Change ids grow with insertion order, so a block-range index finds the
    -- changes after an import at almost no cost to bulk inserts. One b-tree
    -- gives an import's rows per image and operation in key order (rollback
    -- preview pages, per-key image lookups); a second b-tree per key alone
    -- made captures markedly slower (docs/architecture.md).
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON import_audit.%I (audit_import_id, audit_image, audit_op, %s) WHERE audit_import_id IS NOT NULL',
                   log_name || '_by_import', log_name,
                   (SELECT string_agg(quote_ident(k), ', ') FROM unnest(keys) k));
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON import_audit.%I USING brin (audit_change_id)',
                   log_name || '_change_brin', log_name);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON import_audit.%I USING brin (audit_rollback_of)',
                   log_name || '_rollback_brin', log_name);

    EXECUTE format($fn$
        CREATE OR REPLACE FUNCTION import_audit.%1$I() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        DECLARE
            tag  import_audit.change_tag := import_audit.current_tag();
            stmt bigint := nextval('import_audit.statement_seq');
            at   timestamptz := clock_timestamp();
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO import_audit.%2$I (%3$s, %4$s) SELECT %5$s, %4$s FROM new_rows;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO import_audit.%2$I (%3$s, %4$s) SELECT %6$s, %4$s FROM old_rows;
                INSERT INTO import_audit.%2$I (%3$s, %4$s) SELECT %7$s, %4$s FROM new_rows;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO import_audit.%2$I (%3$s, %4$s) SELECT %8$s, %4$s FROM old_rows;
            END IF;
            RETURN NULL;
        END $body$ $fn$,
        fn_name, log_name, meta_cols, cols,
        format(meta_vals, 'I', 'N'), format(meta_vals, 'U', 'O'),
        format(meta_vals, 'U', 'N'), format(meta_vals, 'D', 'O'));

    EXECUTE format($fn$
        CREATE OR REPLACE FUNCTION import_audit.%1$I() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        DECLARE
            tag  import_audit.change_tag := import_audit.current_tag();
            stmt bigint := nextval('import_audit.statement_seq');
            at   timestamptz := clock_timestamp();
        BEGIN
            INSERT INTO import_audit.%2$I (%3$s, %4$s) SELECT %5$s, %4$s FROM %6$s;
            RETURN NULL;
        END $body$ $fn$,
        trunc_fn, log_name, meta_cols, cols, format(meta_vals, 'T', 'O'), target);

    EXECUTE format('REVOKE ALL ON FUNCTION import_audit.%I() FROM PUBLIC', fn_name);
    EXECUTE format('REVOKE ALL ON FUNCTION import_audit.%I() FROM PUBLIC', trunc_fn);

    EXECUTE format('DROP TRIGGER IF EXISTS importdesk_audit_insert ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS importdesk_audit_update ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS importdesk_audit_delete ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS importdesk_audit_truncate ON %s', target);
    EXECUTE format('CREATE TRIGGER importdesk_audit_insert AFTER INSERT ON %s
                    REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.%I()', target, fn_name);
    EXECUTE format('CREATE TRIGGER importdesk_audit_update AFTER UPDATE ON %s
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.%I()', target, fn_name);
    EXECUTE format('CREATE TRIGGER importdesk_audit_delete AFTER DELETE ON %s
                    REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.%I()', target, fn_name);
    EXECUTE format('CREATE TRIGGER importdesk_audit_truncate BEFORE TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.%I()', target, trunc_fn);

    INSERT INTO import_audit.audited_tables (table_schema, table_name, log_table, key_columns)
    VALUES (tschema, tname, log_name, keys)
    ON CONFLICT (table_schema, table_name)
    DO UPDATE SET log_table = excluded.log_table, key_columns = excluded.key_columns;

    PERFORM import_audit.rebuild_row_changes_view();
    RETURN 'import_audit.' || log_name;
END $$;

-- import_audit.row_changes: one row per changed row across every audited
-- table, with its before- and after-image as jsonb (for people and reports;
-- importdesk itself reads the typed log tables).
CREATE FUNCTION import_audit.rebuild_row_changes_view() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t     record;
    parts text[] := '{}';
    meta  constant text := 'ARRAY[''audit_change_id'', ''audit_stmt_id'', ''audit_op'', ''audit_image'', '
                           '''audit_import_id'', ''audit_rollback_of'', ''audit_actor'', ''audit_role'', '
                           '''audit_txid'', ''audit_at'']';
BEGIN
    FOR t IN SELECT * FROM import_audit.audited_tables ORDER BY table_schema, table_name LOOP
        parts := parts || format($v$
            SELECT coalesce(o.audit_change_id, n.audit_change_id) AS change_id,
                   %1$L::text AS table_name,
                   jsonb_build_object(%2$s) AS primary_key,
                   CASE coalesce(o.audit_op, n.audit_op)
                        WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE'
                        WHEN 'D' THEN 'DELETE' ELSE 'TRUNCATE' END AS operation,
                   CASE WHEN o.audit_change_id IS NOT NULL THEN to_jsonb(o) - %3$s END AS before_image,
                   CASE WHEN n.audit_change_id IS NOT NULL THEN to_jsonb(n) - %3$s END AS after_image,
                   coalesce(o.audit_import_id, n.audit_import_id) AS import_id,
                   coalesce(o.audit_rollback_of, n.audit_rollback_of) AS rollback_of,
                   coalesce(o.audit_actor, n.audit_actor) AS actor,
                   coalesce(o.audit_role, n.audit_role) AS db_role,
                   coalesce(o.audit_txid, n.audit_txid) AS transaction_id,
                   coalesce(o.audit_at, n.audit_at) AS changed_at
              FROM (SELECT * FROM import_audit.%4$I WHERE audit_image = 'O') o
              FULL JOIN (SELECT * FROM import_audit.%4$I WHERE audit_image = 'N') n
                ON o.audit_stmt_id = n.audit_stmt_id AND %5$s$v$,
            t.table_schema || '.' || t.table_name,
            (SELECT string_agg(format('%L, coalesce(o.%I, n.%I)', k, k, k), ', ') FROM unnest(t.key_columns) k),
            meta,
            t.log_table,
            (SELECT string_agg(format('o.%I = n.%I', k, k), ' AND ') FROM unnest(t.key_columns) k));
    END LOOP;
    DROP VIEW IF EXISTS import_audit.row_changes;
    IF array_length(parts, 1) > 0 THEN
        EXECUTE 'CREATE VIEW import_audit.row_changes AS ' || array_to_string(parts, ' UNION ALL ');
    END IF;
END $$;

-- Brings every audited table's log and capture function up to date; the
-- migration runner calls it after each migration run.
CREATE FUNCTION import_audit.sync_audit() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT table_schema, table_name FROM import_audit.audited_tables LOOP
        PERFORM import_audit.enable_audit(format('%I.%I', t.table_schema, t.table_name)::regclass);
    END LOOP;
END $$;

REVOKE ALL ON FUNCTION import_audit.enable_audit(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION import_audit.sync_audit() FROM PUBLIC;
REVOKE ALL ON FUNCTION import_audit.rebuild_row_changes_view() FROM PUBLIC;

SELECT import_audit.enable_audit('public.listings');
