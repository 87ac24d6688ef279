-- importdesk schema, version 8: a shared server's role lifecycle and what
-- support and sellers may read in psql.
--
-- * revoke_seller / revoke_support: offboarding, audited (`importdesk db
--   revoke-seller ROLE`, `db revoke-support ROLE`); like grant_*, they run
--   with the caller's rights, so only a role with ADMIN OPTION on the group
--   roles (the owner, or an administrator) can use them.
-- * import_audit.row_changes is granted to support (every row) and to sellers
--   (only their own rows): the view is rebuilt after every migration, so the
--   filter and the grant live in the function that rebuilds it.
-- * prunable_rolled_back(): which rolled-back imports still hold change-log
--   rows, so a prune with nothing to delete says so.

CREATE FUNCTION import_audit.revoke_seller(p_role text, p_actor text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller    text;
    was_member boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
        RAISE EXCEPTION 'role "%" does not exist', p_role USING ERRCODE = 'undefined_object';
    END IF;
    SELECT seller_id INTO seller FROM import_audit.seller_accounts WHERE role_name = p_role;
    SELECT EXISTS (SELECT 1 FROM pg_auth_members am
                     JOIN pg_roles g ON g.oid = am.roleid
                     JOIN pg_roles m ON m.oid = am.member
                    WHERE g.rolname = 'importdesk_seller' AND m.rolname = p_role)
      INTO was_member;
    IF was_member THEN
        EXECUTE format('REVOKE importdesk_seller FROM %I', p_role);
    END IF;
    DELETE FROM import_audit.seller_accounts WHERE role_name = p_role;
    PERFORM import_audit.append_audit(p_actor, 'seller role revoked', seller, NULL,
        jsonb_build_object('role', p_role, 'was_member', was_member, 'seller', seller));
    RETURN seller;
END $$;

CREATE FUNCTION import_audit.revoke_support(p_role text, p_actor text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    was_member boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
        RAISE EXCEPTION 'role "%" does not exist', p_role USING ERRCODE = 'undefined_object';
    END IF;
    SELECT EXISTS (SELECT 1 FROM pg_auth_members am
                     JOIN pg_roles g ON g.oid = am.roleid
                     JOIN pg_roles m ON m.oid = am.member
                    WHERE g.rolname = 'importdesk_support' AND m.rolname = p_role)
      INTO was_member;
    IF was_member THEN
        EXECUTE format('REVOKE importdesk_support FROM %I', p_role);
    END IF;
    PERFORM import_audit.append_audit(p_actor, 'support role revoked', NULL, NULL,
        jsonb_build_object('role', p_role, 'was_member', was_member));
    RETURN was_member;
END $$;

REVOKE ALL ON FUNCTION import_audit.revoke_seller(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION import_audit.revoke_support(text, text) FROM PUBLIC;

-- Rolled-back imports whose change-log rows (or their rollback's) are still
-- there: what a prune would delete for them.
CREATE FUNCTION import_audit.prunable_rolled_back() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t     record;
    found bigint[] := '{}';
    part  bigint[];
BEGIN
    IF NOT import_audit.is_support() THEN
        RAISE EXCEPTION 'only support may prune before-images (role %)', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR t IN SELECT log_table FROM import_audit.audited_tables ORDER BY log_table LOOP
        EXECUTE format('SELECT coalesce(array_agg(i.id), ''{}'') FROM import_audit.imports i
                         WHERE i.status = ''rolled_back''
                           AND EXISTS (SELECT 1 FROM import_audit.%I l
                                        WHERE l.audit_import_id = i.id OR l.audit_rollback_of = i.id)',
                       t.log_table)
           INTO part;
        found := found || part;
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT x FROM unnest(found) x ORDER BY x);
END $$;

REVOKE ALL ON FUNCTION import_audit.prunable_rolled_back() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_audit.prunable_rolled_back() TO importdesk_support;

-- The row_changes view again, now readable: support sees every row, a
-- seller only rows of its own seller id (tables without a seller_id column:
-- support only). The view reads the log tables with its owner's rights, so
-- the filter is the protection; security_barrier keeps a caller's functions
-- from seeing rows before it.
CREATE OR REPLACE FUNCTION import_audit.rebuild_row_changes_view() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t          record;
    parts      text[] := '{}';
    has_seller boolean;
    meta       constant text := 'ARRAY[''audit_change_id'', ''audit_stmt_id'', ''audit_op'', ''audit_image'', '
                                '''audit_import_id'', ''audit_rollback_of'', ''audit_actor'', ''audit_role'', '
                                '''audit_txid'', ''audit_at'']';
BEGIN
    FOR t IN SELECT * FROM import_audit.audited_tables ORDER BY table_schema, table_name LOOP
        SELECT EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = format('import_audit.%I', t.log_table)::regclass
                          AND attname = 'seller_id' AND NOT attisdropped)
          INTO has_seller;
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
                ON o.audit_stmt_id = n.audit_stmt_id AND %5$s
             WHERE (SELECT import_audit.is_support()) IS TRUE %6$s$v$,
            t.table_schema || '.' || t.table_name,
            (SELECT string_agg(format('%L, coalesce(o.%I, n.%I)', k, k, k), ', ') FROM unnest(t.key_columns) k),
            meta,
            t.log_table,
            (SELECT string_agg(format('o.%I = n.%I', k, k), ' AND ') FROM unnest(t.key_columns) k),
            CASE WHEN has_seller
                 THEN 'OR coalesce(o.seller_id, n.seller_id) = (SELECT import_audit.current_seller())'
                 ELSE '' END);
    END LOOP;
    DROP VIEW IF EXISTS import_audit.row_changes;
    IF array_length(parts, 1) > 0 THEN
        EXECUTE 'CREATE VIEW import_audit.row_changes WITH (security_barrier) AS '
                || array_to_string(parts, ' UNION ALL ');
        GRANT SELECT ON import_audit.row_changes TO importdesk_support, importdesk_seller;
    END IF;
END $$;

SELECT import_audit.rebuild_row_changes_view();
