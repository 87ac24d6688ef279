-- importdesk schema, version 3: roles, row-level security, and a protected
-- audit schema written only through SECURITY DEFINER functions.
--
-- importdesk_support: sees and manages every seller.
-- importdesk_seller:  sees and rolls back only the seller its login role is
--                     mapped to in import_audit.seller_accounts.
-- The database owner (who runs migrations) bypasses row-level security.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_support') THEN
        CREATE ROLE importdesk_support NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'importdesk_seller') THEN
        CREATE ROLE importdesk_seller NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'importdesk needs the roles importdesk_support and importdesk_seller; '
        'create them once as an administrator (CREATE ROLE importdesk_support NOLOGIN; '
        'CREATE ROLE importdesk_seller NOLOGIN;) or give the migrating role CREATEROLE';
END $$;

CREATE TABLE import_audit.seller_accounts (
    role_name text PRIMARY KEY,
    seller_id text NOT NULL CHECK (seller_id <> '')
);

-- The seller the connected login role acts for (NULL for support/owner).
CREATE FUNCTION import_audit.current_seller() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT seller_id FROM import_audit.seller_accounts WHERE role_name = session_user::text
$$;

-- Support staff and the schema's owner act for every seller.
CREATE FUNCTION import_audit.is_support() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_has_role(session_user, 'importdesk_support', 'MEMBER')
        OR pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'import_audit'), 'MEMBER')
$$;

CREATE FUNCTION import_audit.may_act_for(seller text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT import_audit.is_support() OR seller = import_audit.current_seller()
$$;

CREATE FUNCTION import_audit.require_seller(seller text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT import_audit.may_act_for(seller) THEN
        RAISE EXCEPTION 'role % may not act for seller %', session_user, seller
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- Row-level security: sellers see and write only their own listings.
ALTER TABLE listings ENABLE ROW LEVEL SECURITY;
CREATE POLICY support_all ON listings TO importdesk_support USING (true) WITH CHECK (true);
CREATE POLICY seller_own ON listings TO importdesk_seller
    USING (seller_id = import_audit.current_seller())
    WITH CHECK (seller_id = import_audit.current_seller());
GRANT SELECT, INSERT, UPDATE, DELETE ON listings TO importdesk_support, importdesk_seller;

-- The audit schema: readable (sellers: their own rows), never writable directly.
GRANT USAGE ON SCHEMA import_audit TO importdesk_support, importdesk_seller;
ALTER TABLE import_audit.imports ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_imports ON import_audit.imports FOR SELECT TO importdesk_support, importdesk_seller
    USING (import_audit.may_act_for(seller_id));
GRANT SELECT ON import_audit.imports TO importdesk_support, importdesk_seller;
ALTER TABLE import_audit.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_audit ON import_audit.audit_log FOR SELECT TO importdesk_support, importdesk_seller
    USING (import_audit.is_support() OR seller_id = import_audit.current_seller());
GRANT SELECT ON import_audit.audit_log TO importdesk_support, importdesk_seller;
ALTER TABLE import_audit.log_listings ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_changes ON import_audit.log_listings FOR SELECT TO importdesk_support, importdesk_seller
    USING (import_audit.may_act_for(seller_id));
GRANT SELECT ON import_audit.log_listings TO importdesk_support, importdesk_seller;
GRANT SELECT ON import_audit.seller_accounts TO importdesk_support, importdesk_seller;

-- Writes to the history and the audit log, each checking the caller may
-- act for the seller; the audit log records the real login role.
CREATE FUNCTION import_audit.append_audit(p_actor text, p_action text, p_seller text, p_import bigint, p_details jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_seller IS NOT NULL THEN
        PERFORM import_audit.require_seller(p_seller);
    ELSIF NOT import_audit.is_support() THEN
        RAISE EXCEPTION 'only support may write audit entries without a seller'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO import_audit.audit_log (actor, db_role, action, seller_id, import_id, details)
    VALUES (p_actor, session_user, p_action, p_seller, p_import, coalesce(p_details, '{}'));
END $$;

CREATE FUNCTION import_audit.begin_import(p_seller text, p_file text, p_size bigint, p_profile text,
                                          p_options jsonb, p_actor text, p_os_user text, p_client text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM import_audit.require_seller(p_seller);
    INSERT INTO import_audit.imports (seller_id, file_name, file_size, profile, options, actor, db_role, os_user, client_addr)
    VALUES (p_seller, p_file, p_size, p_profile, p_options, p_actor, session_user, p_os_user, p_client)
    RETURNING id INTO new_id;
    RETURN new_id;
END $$;

-- Ties a running import to the current transaction and tags it, so the
-- capture triggers attribute this transaction's changes to the import.
CREATE FUNCTION import_audit.attach_import(p_id bigint, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id AND status = 'running';
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not running', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    UPDATE import_audit.imports SET data_txid = pg_current_xact_id() WHERE id = p_id;
    PERFORM set_config('importdesk.import_id', p_id::text, true);
    PERFORM set_config('importdesk.actor', p_actor, true);
END $$;

CREATE FUNCTION import_audit.complete_import(p_id bigint, p_sha text, p_rows bigint, p_created bigint,
        p_updated bigint, p_unchanged bigint, p_rejected bigint, p_ignored bigint,
        p_unknown text[], p_errors jsonb, p_summary text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE import_audit.imports
       SET status = 'completed', finished_at = clock_timestamp(), file_sha256 = p_sha,
           rows_read = p_rows, created = p_created, updated = p_updated, unchanged = p_unchanged,
           rejected = p_rejected, ignored_rows = p_ignored, unknown_columns = p_unknown,
           errors = p_errors, error_summary = p_summary
     WHERE id = p_id AND status = 'running' AND data_txid = pg_current_xact_id();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import % is not running in this transaction', p_id;
    END IF;
END $$;

CREATE FUNCTION import_audit.fail_import(p_id bigint, p_sha text, p_rows bigint, p_rejected bigint,
        p_ignored bigint, p_unknown text[], p_errors jsonb, p_summary text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id;
    PERFORM import_audit.require_seller(seller);
    UPDATE import_audit.imports
       SET status = 'failed', finished_at = clock_timestamp(), file_sha256 = p_sha,
           rows_read = p_rows, created = 0, updated = 0, unchanged = 0, rejected = p_rejected,
           ignored_rows = p_ignored, unknown_columns = p_unknown, errors = p_errors,
           error_summary = p_summary
     WHERE id = p_id AND status = 'running';
END $$;

-- Marks a seller's running imports failed; the caller holds the seller's
-- advisory lock, which proves no process still works on them.
CREATE FUNCTION import_audit.fail_abandoned(p_seller text) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT import_audit.may_act_for(p_seller) THEN
        RETURN;
    END IF;
    RETURN QUERY
    UPDATE import_audit.imports
       SET status = 'failed', finished_at = clock_timestamp(),
           error_summary = 'interrupted: the importing process or its connection ended before the import finished; nothing was changed'
     WHERE seller_id = p_seller AND status = 'running'
    RETURNING id;
END $$;

CREATE FUNCTION import_audit.attach_rollback(p_id bigint, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id AND status = 'completed';
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not applied', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    UPDATE import_audit.imports SET rollback_txid = pg_current_xact_id() WHERE id = p_id;
    PERFORM set_config('importdesk.rollback_of', p_id::text, true);
    PERFORM set_config('importdesk.actor', p_actor, true);
END $$;

CREATE FUNCTION import_audit.mark_rolled_back(p_id bigint, p_by text, p_restored bigint,
        p_deleted bigint, p_skipped bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE import_audit.imports
       SET status = 'rolled_back', rolled_back_at = clock_timestamp(), rolled_back_by = p_by,
           rollback_restored = p_restored, rollback_deleted = p_deleted, rollback_skipped = p_skipped
     WHERE id = p_id AND status = 'completed' AND rollback_txid = pg_current_xact_id();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Administrators map login roles (idempotent; `importdesk db grant-*`).
CREATE FUNCTION import_audit.grant_seller(p_role text, p_seller text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT importdesk_seller TO %I', p_role);
    INSERT INTO import_audit.seller_accounts (role_name, seller_id) VALUES (p_role, p_seller)
    ON CONFLICT (role_name) DO UPDATE SET seller_id = excluded.seller_id;
END $$;

CREATE FUNCTION import_audit.grant_support(p_role text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT importdesk_support TO %I', p_role);
    DELETE FROM import_audit.seller_accounts WHERE role_name = p_role;
END $$;

REVOKE ALL ON FUNCTION import_audit.grant_seller(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION import_audit.grant_support(text) FROM PUBLIC;

-- Every role checks the schema version before working.
GRANT SELECT ON public.importdesk_schema_history TO importdesk_support, importdesk_seller;
