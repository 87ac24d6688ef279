-- importdesk schema, version 12: trust boundaries (docs/security.md).
--
-- 1. Every check denies when its answer is unknown: a role in
--    importdesk_seller without a seller mapping acts for nobody.
-- 2. The history holds facts the database checked, not what a client
--    claimed: counts are compared with the change log the same transaction
--    wrote, a checksum is 64 hex digits, audit actions come from a closed
--    set, and an import is marked rolled back only together with the
--    rollback's own changes.
-- 3. The per-seller lock is taken through importdesk's functions only, under
--    a random key nobody can compute; a session holding it without the right
--    to act for the seller is stepped around (the key is replaced).
-- 4. A seller sees only its own mapping in seller_accounts.

------------------------------------------------------------------------------
-- Who may act for whom: never NULL.
------------------------------------------------------------------------------

-- True when `p_role` (an oid) is support or owns the audit schema.
CREATE FUNCTION import_audit.role_is_support(p_role oid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
        pg_has_role(p_role, 'importdesk_support', 'MEMBER')
        OR pg_has_role(p_role, (SELECT nspowner FROM pg_namespace WHERE nspname = 'import_audit'), 'MEMBER'),
        false)
$$;

-- True when `p_role` may act for `p_seller`: support, or mapped to exactly that seller.
CREATE FUNCTION import_audit.role_may_act_for(p_role oid, p_seller text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_seller IS NOT NULL AND p_role IS NOT NULL AND coalesce(
        import_audit.role_is_support(p_role)
        OR EXISTS (SELECT 1 FROM import_audit.seller_accounts a
                    JOIN pg_roles r ON r.rolname = a.role_name
                   WHERE r.oid = p_role AND a.seller_id = p_seller),
        false)
$$;

CREATE OR REPLACE FUNCTION import_audit.is_support() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT import_audit.role_is_support((SELECT oid FROM pg_roles WHERE rolname = session_user))
$$;

CREATE OR REPLACE FUNCTION import_audit.may_act_for(seller text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT import_audit.role_may_act_for((SELECT oid FROM pg_roles WHERE rolname = session_user), seller)
$$;

CREATE OR REPLACE FUNCTION import_audit.require_seller(seller text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF import_audit.may_act_for(seller) IS NOT TRUE THEN
        RAISE EXCEPTION 'role % may not act for seller %', session_user, coalesce(seller, '(none)')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- A seller id as importdesk stores it: trimmed, 1-64 characters, no control characters.
CREATE FUNCTION import_audit.require_seller_id_shape(p_seller text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_seller IS NULL OR p_seller = '' OR length(p_seller) > 64
       OR p_seller <> btrim(p_seller, E' \t\r\n\f\v') OR p_seller ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid seller id: it must be 1 to 64 characters, without surrounding spaces or control characters'
            USING ERRCODE = 'check_violation';
    END IF;
END $$;

-- Policies say "true" or deny: NULL never passes.
ALTER POLICY seller_own ON listings
    USING ((seller_id = import_audit.current_seller()) IS TRUE)
    WITH CHECK ((seller_id = import_audit.current_seller()) IS TRUE);
ALTER POLICY read_imports ON import_audit.imports USING (import_audit.may_act_for(seller_id) IS TRUE);
ALTER POLICY read_audit ON import_audit.audit_log
    USING ((import_audit.is_support() OR seller_id = import_audit.current_seller()) IS TRUE);
ALTER POLICY read_changes ON import_audit.log_listings USING (import_audit.may_act_for(seller_id) IS TRUE);

-- A seller sees its own mapping only; support sees them all.
ALTER TABLE import_audit.seller_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_own_mapping ON import_audit.seller_accounts FOR SELECT
    TO importdesk_support, importdesk_seller
    USING ((import_audit.is_support() OR role_name = session_user::text) IS TRUE);
-- Writing mappings stays gated by table privileges alone: the owner, or a
-- role the owner gave INSERT/UPDATE/DELETE (an administrator's role with
-- ADMIN OPTION on the group roles). Sellers and support have SELECT only.
CREATE POLICY insert_mapping ON import_audit.seller_accounts FOR INSERT WITH CHECK (true);
CREATE POLICY update_mapping ON import_audit.seller_accounts FOR UPDATE USING (true) WITH CHECK (true);
CREATE POLICY delete_mapping ON import_audit.seller_accounts FOR DELETE USING (true);

------------------------------------------------------------------------------
-- Facts, not claims: shapes the database checks.
------------------------------------------------------------------------------

-- The shapes of what the history stores are checked by the functions that
-- write it (below), not by table constraints: a row stored before this
-- version must not make a later UPDATE of it (prune, recovery) fail.

-- The closed set of audit-log actions. A later migration that records a new
-- kind of event adds it here.
CREATE TABLE import_audit.audit_actions (
    action text PRIMARY KEY
);
INSERT INTO import_audit.audit_actions (action) VALUES
    ('import started'),
    ('import completed'),
    ('import failed'),
    ('import marked failed after a crash'),
    ('rollback previewed'),
    ('rollback executed'),
    ('rollback refused'),
    ('before-images pruned'),
    ('seller role granted'),
    ('support role granted'),
    ('seller role revoked'),
    ('support role revoked');
GRANT SELECT ON import_audit.audit_actions TO importdesk_support, importdesk_seller;
ALTER TABLE import_audit.audit_log
    ADD CONSTRAINT audit_log_known_action FOREIGN KEY (action)
        REFERENCES import_audit.audit_actions (action) NOT VALID;

------------------------------------------------------------------------------
-- The per-seller lock.
------------------------------------------------------------------------------

-- One random 63-bit advisory-lock key per seller, readable by the owner only.
CREATE TABLE import_audit.seller_locks (
    seller_id text   PRIMARY KEY,
    lock_key  bigint NOT NULL
);
REVOKE ALL ON import_audit.seller_locks FROM PUBLIC;

CREATE FUNCTION import_audit.new_lock_key() RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    -- gen_random_uuid() draws from the server's strong random source.
    SELECT ('x' || substr(md5(gen_random_uuid()::text || gen_random_uuid()::text), 1, 16))::bit(64)::bigint
           & x'7fffffffffffffff'::bigint
$$;

CREATE FUNCTION import_audit.seller_lock_key(p_seller text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k bigint;
BEGIN
    SELECT lock_key INTO k FROM import_audit.seller_locks WHERE seller_id = p_seller;
    IF k IS NULL THEN
        INSERT INTO import_audit.seller_locks (seller_id, lock_key)
        VALUES (p_seller, import_audit.new_lock_key())
        ON CONFLICT (seller_id) DO NOTHING;
        SELECT lock_key INTO k FROM import_audit.seller_locks WHERE seller_id = p_seller;
    END IF;
    RETURN k;
END $$;

-- Sessions holding the advisory lock `p_key` (in any mode), other than this one.
CREATE FUNCTION import_audit.lock_holders(p_key bigint)
RETURNS TABLE (pid integer, role_oid oid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.pid, a.usesysid
      FROM pg_locks l
      JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid = (p_key >> 32)::oid
       AND l.objid = (p_key & x'ffffffff'::bigint)::oid
       AND l.objsubid = 1
       AND l.pid <> pg_backend_pid()
$$;

-- Takes the seller's lock for this session (true), or says it is held by an
-- importdesk session that may act for the seller (false). A holder that may
-- not act for the seller (someone who read the key from pg_locks) is stepped
-- around: the key is replaced, and importdesk's sessions use the new one.
CREATE FUNCTION import_audit.try_lock_seller(p_seller text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k bigint;
BEGIN
    PERFORM import_audit.require_seller(p_seller);
    FOR attempt IN 1..3 LOOP
        k := import_audit.seller_lock_key(p_seller);
        IF pg_try_advisory_lock(k) THEN
            RETURN true;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM import_audit.lock_holders(k) h
                        WHERE NOT import_audit.role_may_act_for(h.role_oid, p_seller)) THEN
            IF EXISTS (SELECT 1 FROM import_audit.lock_holders(k)) THEN
                RETURN false;
            END IF;
            CONTINUE;  -- released meanwhile: try again
        END IF;
        -- Compare-and-swap, so that concurrent callers replace it only once.
        UPDATE import_audit.seller_locks SET lock_key = import_audit.new_lock_key()
         WHERE seller_id = p_seller AND lock_key = k;
    END LOOP;
    RETURN false;
END $$;

CREATE FUNCTION import_audit.unlock_seller(p_seller text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k bigint;
BEGIN
    SELECT lock_key INTO k FROM import_audit.seller_locks WHERE seller_id = p_seller;
    IF k IS NULL THEN
        RETURN false;
    END IF;
    RETURN pg_advisory_unlock(k);
END $$;

-- Does this session hold the seller's lock (exclusively, at session level)?
CREATE FUNCTION import_audit.holds_seller_lock(p_seller text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks l, import_audit.seller_locks s
         WHERE s.seller_id = p_seller
           AND l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock'
           AND l.pid = pg_backend_pid()
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = (s.lock_key >> 32)::oid
           AND l.objid = (s.lock_key & x'ffffffff'::bigint)::oid
           AND l.objsubid = 1)
$$;

CREATE FUNCTION import_audit.require_seller_lock(p_seller text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF import_audit.holds_seller_lock(p_seller) IS NOT TRUE THEN
        RAISE EXCEPTION 'this session does not hold the lock of seller % (take it with import_audit.try_lock_seller)',
            coalesce(p_seller, '(none)')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- Who keeps importdesk waiting for a lock: the sessions pg_blocking_pids
-- names for `p_pid` (a session of the caller's own role), and every session
-- holding a lock on listings or the audit schema strong enough to stop
-- writes (LOCK TABLE). SECURITY DEFINER: other roles' transaction start
-- times are hidden from seller and support roles in pg_stat_activity.
CREATE FUNCTION import_audit.lock_blockers(p_pid integer)
RETURNS TABLE (pid integer, role text, application text, state text, since timestamptz, locks text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH strong(mode) AS (
        VALUES ('ShareLock'), ('ShareRowExclusiveLock'), ('ExclusiveLock'), ('AccessExclusiveLock')
    ), suspects AS (
        SELECT unnest(pg_blocking_pids(p_pid)) AS pid
         WHERE EXISTS (SELECT 1 FROM pg_stat_activity w WHERE w.pid = p_pid AND w.usename = session_user)
        UNION
        SELECT l.pid FROM pg_locks l
          JOIN pg_class c ON c.oid = l.relation
         WHERE l.locktype = 'relation' AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.mode IN (SELECT mode FROM strong)
           AND (c.oid = 'public.listings'::regclass
                OR c.relnamespace = 'import_audit'::regnamespace)
    )
    SELECT a.pid, a.usename::text, a.application_name, a.state,
           coalesce(a.xact_start, a.backend_start),
           (SELECT string_agg(DISTINCT l.mode || ' on ' || l.relation::regclass::text, ', ')
              FROM pg_locks l
             WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation'
               AND l.mode IN (SELECT mode FROM strong))
      FROM suspects s
      JOIN pg_stat_activity a ON a.pid = s.pid
     WHERE a.pid <> pg_backend_pid() AND a.pid IS DISTINCT FROM p_pid
     ORDER BY a.pid
$$;

------------------------------------------------------------------------------
-- The audit log: a closed set of actions, the database role always, facts
-- about imports taken from the imports table.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION import_audit.append_audit(p_actor text, p_action text, p_seller text, p_import bigint, p_details jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    imp     import_audit.imports;
    details jsonb := coalesce(p_details, '{}');
    seller  text := p_seller;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM import_audit.audit_actions WHERE action = p_action) THEN
        RAISE EXCEPTION 'unknown audit action %', quote_literal(left(coalesce(p_action, 'NULL'), 60))
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_actor IS NOT NULL AND (length(p_actor) > 200 OR p_actor ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'an actor label is at most 200 characters, without control characters'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_import IS NOT NULL THEN
        SELECT * INTO imp FROM import_audit.imports WHERE id = p_import;
        IF FOUND THEN
            seller := coalesce(seller, imp.seller_id);
            IF seller IS DISTINCT FROM imp.seller_id THEN
                RAISE EXCEPTION 'import % belongs to another seller', p_import
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF p_action NOT IN ('rollback refused', 'rollback previewed') THEN
            RAISE EXCEPTION 'there is no import %', p_import USING ERRCODE = 'check_violation';
        END IF;
    ELSIF p_action IN ('import started', 'import completed', 'import failed',
                       'import marked failed after a crash', 'rollback executed') THEN
        RAISE EXCEPTION '% needs an import', p_action USING ERRCODE = 'check_violation';
    END IF;
    IF seller IS NOT NULL THEN
        PERFORM import_audit.require_seller(seller);
    ELSIF import_audit.is_support() IS NOT TRUE THEN
        RAISE EXCEPTION 'only support may write audit entries without a seller'
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Actions that state a fact about the import must match its row.
    IF p_action = 'import started' AND imp.status <> 'running' THEN
        RAISE EXCEPTION 'import % is not running', p_import USING ERRCODE = 'check_violation';
    ELSIF p_action IN ('import failed', 'import marked failed after a crash') AND imp.status <> 'failed' THEN
        RAISE EXCEPTION 'import % has not failed', p_import USING ERRCODE = 'check_violation';
    ELSIF p_action = 'import completed' THEN
        IF imp.status <> 'completed' OR imp.data_txid IS DISTINCT FROM pg_current_xact_id() THEN
            RAISE EXCEPTION 'import % was not completed by this transaction', p_import
                USING ERRCODE = 'check_violation';
        END IF;
        details := details || jsonb_build_object('counts', jsonb_build_object(
            'rows_read', imp.rows_read, 'created', imp.created, 'updated', imp.updated,
            'unchanged', imp.unchanged, 'rejected', imp.rejected, 'ignored', imp.ignored_rows),
            'file_sha256', imp.file_sha256);
    ELSIF p_action = 'rollback executed' THEN
        IF imp.status <> 'rolled_back' OR imp.rollback_txid IS DISTINCT FROM pg_current_xact_id() THEN
            RAISE EXCEPTION 'import % was not rolled back by this transaction', p_import
                USING ERRCODE = 'check_violation';
        END IF;
        details := details || jsonb_build_object('restored', imp.rollback_restored,
            'deleted', imp.rollback_deleted, 'skipped', imp.rollback_skipped);
    ELSIF p_action = 'before-images pruned' AND import_audit.is_support() IS NOT TRUE THEN
        RAISE EXCEPTION 'only support prunes before-images' USING ERRCODE = 'insufficient_privilege';
    END IF;

    INSERT INTO import_audit.audit_log (actor, db_role, action, seller_id, import_id, details)
    VALUES (coalesce(nullif(p_actor, ''), session_user::text), session_user, p_action, seller, p_import, details);
END $$;

------------------------------------------------------------------------------
-- The import's life cycle, each step under the seller's lock.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION import_audit.begin_import(p_seller text, p_file text, p_size bigint, p_profile text,
                                                     p_options jsonb, p_actor text, p_os_user text, p_client text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM import_audit.require_seller_id_shape(p_seller);
    PERFORM import_audit.require_seller(p_seller);
    PERFORM import_audit.require_seller_lock(p_seller);
    IF length(p_file) > 4096 OR length(p_actor) > 200 OR length(p_os_user) > 100 OR length(p_client) > 64
       OR p_actor ~ '[[:cntrl:]]' OR p_os_user ~ '[[:cntrl:]]' OR p_client ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'file name, actor, user or client address too long or with control characters'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_profile IS NULL OR p_profile !~ '^[a-z0-9_-]{1,32}$' THEN
        RAISE EXCEPTION 'a profile name is 1 to 32 characters a-z, 0-9, _ or -'
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO import_audit.imports (seller_id, file_name, file_size, profile, options, actor, db_role, os_user, client_addr)
    VALUES (p_seller, p_file, p_size, p_profile, p_options, coalesce(nullif(p_actor, ''), session_user::text),
            session_user, p_os_user, p_client)
    RETURNING id INTO new_id;
    RETURN new_id;
END $$;

CREATE OR REPLACE FUNCTION import_audit.attach_import(p_id bigint, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id AND status = 'running';
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not running', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    PERFORM import_audit.require_seller_lock(seller);
    UPDATE import_audit.imports SET data_txid = pg_current_xact_id() WHERE id = p_id;
    PERFORM set_config('importdesk.import_id', p_id::text, true);
    PERFORM set_config('importdesk.actor', p_actor, true);
END $$;

-- The counts are the change log's: what this transaction's statements wrote
-- under the import's tag. rows_read must add up.
CREATE OR REPLACE FUNCTION import_audit.complete_import(p_id bigint, p_sha text, p_rows bigint, p_created bigint,
        p_updated bigint, p_unchanged bigint, p_rejected bigint, p_ignored bigint,
        p_unknown text[], p_errors jsonb, p_summary text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller     text;
    n_created  bigint;
    n_updated  bigint;
    n_removed  bigint;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports
     WHERE id = p_id AND status = 'running' AND data_txid = pg_current_xact_id();
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not running in this transaction', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    IF p_sha IS NULL OR p_sha !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'file_sha256 must be 64 lowercase hex digits' USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) FILTER (WHERE audit_op = 'I'), count(*) FILTER (WHERE audit_op = 'U')
      INTO n_created, n_updated
      FROM import_audit.log_listings
     WHERE audit_import_id = p_id AND audit_image = 'N';
    SELECT count(*) INTO n_removed
      FROM import_audit.log_listings
     WHERE audit_import_id = p_id AND audit_image = 'O' AND audit_op IN ('D', 'T');
    IF n_removed > 0 THEN
        RAISE EXCEPTION 'import % deleted % listings: an import only creates and updates', p_id, n_removed
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_created IS DISTINCT FROM n_created OR p_updated IS DISTINCT FROM n_updated THEN
        RAISE EXCEPTION 'import % claims % created and % updated listings, but its transaction wrote % and %',
            p_id, p_created, p_updated, n_created, n_updated
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_unchanged < 0 OR p_rejected < 0 OR p_ignored < 0
       OR p_rows IS DISTINCT FROM p_created + p_updated + p_unchanged + p_rejected THEN
        RAISE EXCEPTION 'import % counts do not add up: rows read = created + updated + unchanged + rejected', p_id
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE import_audit.imports
       SET status = 'completed', finished_at = clock_timestamp(), file_sha256 = p_sha,
           rows_read = p_rows, created = n_created, updated = n_updated, unchanged = p_unchanged,
           rejected = p_rejected, ignored_rows = p_ignored, unknown_columns = p_unknown,
           errors = p_errors, error_summary = p_summary,
           last_change_id = pg_sequence_last_value('import_audit.change_seq')
     WHERE id = p_id;
END $$;

CREATE OR REPLACE FUNCTION import_audit.fail_import(p_id bigint, p_sha text, p_rows bigint, p_rejected bigint,
        p_ignored bigint, p_unknown text[], p_errors jsonb, p_summary text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id;
    PERFORM import_audit.require_seller(seller);
    PERFORM import_audit.require_seller_lock(seller);
    IF p_sha IS NOT NULL AND p_sha !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'file_sha256 must be 64 lowercase hex digits' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE import_audit.imports
       SET status = 'failed', finished_at = clock_timestamp(), file_sha256 = p_sha,
           rows_read = greatest(p_rows, 0), created = 0, updated = 0, unchanged = 0,
           rejected = greatest(p_rejected, 0), ignored_rows = greatest(p_ignored, 0),
           unknown_columns = p_unknown, errors = p_errors, error_summary = p_summary
     WHERE id = p_id AND status = 'running';
END $$;

-- Marks a seller's running imports failed. Holding the seller's lock proves
-- no process still works on them, so the caller must hold it.
CREATE OR REPLACE FUNCTION import_audit.fail_abandoned(p_seller text) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM import_audit.require_seller(p_seller);
    PERFORM import_audit.require_seller_lock(p_seller);
    RETURN QUERY
    UPDATE import_audit.imports
       SET status = 'failed', finished_at = clock_timestamp(),
           error_summary = 'interrupted: the importing process or its connection ended before the import finished; nothing was changed'
     WHERE seller_id = p_seller AND status = 'running'
    RETURNING id;
END $$;

CREATE OR REPLACE FUNCTION import_audit.attach_rollback(p_id bigint, p_actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT seller_id INTO seller FROM import_audit.imports WHERE id = p_id AND status = 'completed';
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not applied', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    PERFORM import_audit.require_seller_lock(seller);
    UPDATE import_audit.imports SET rollback_txid = pg_current_xact_id() WHERE id = p_id;
    PERFORM set_config('importdesk.rollback_of', p_id::text, true);
    PERFORM set_config('importdesk.actor', p_actor, true);
END $$;

-- Marks the import rolled back only with the rollback's changes in this very
-- transaction: the deletions and restores are counted in the change log, and
-- a listing counted as skipped must really differ from what the import wrote
-- (or be a created listing other rows now reference).
CREATE OR REPLACE FUNCTION import_audit.mark_rolled_back(p_id bigint, p_by text, p_restored bigint,
        p_deleted bigint, p_skipped bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    imp         import_audit.imports;
    n_deleted   bigint;
    n_restored  bigint;
    n_other     bigint;
    n_untouched bigint;
    same_row    text;
    referenced  text;
BEGIN
    SELECT * INTO imp FROM import_audit.imports
     WHERE id = p_id AND status = 'completed' AND rollback_txid = pg_current_xact_id();
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    PERFORM import_audit.require_seller(imp.seller_id);
    IF p_by IS NOT NULL AND (length(p_by) > 200 OR p_by ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'an actor label is at most 200 characters, without control characters'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) FILTER (WHERE audit_op = 'D' AND audit_image = 'O'),
           count(*) FILTER (WHERE audit_op = 'U' AND audit_image = 'N'),
           count(*) FILTER (WHERE audit_op IN ('I', 'T'))
      INTO n_deleted, n_restored, n_other
      FROM import_audit.log_listings
     WHERE audit_rollback_of = p_id AND audit_txid = pg_current_xact_id();
    IF n_other > 0 THEN
        RAISE EXCEPTION 'the rollback of import % inserted or truncated listings', p_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_deleted IS DISTINCT FROM n_deleted OR p_restored IS DISTINCT FROM n_restored
       OR p_skipped IS DISTINCT FROM imp.created + imp.updated - n_deleted - n_restored
       OR p_skipped < 0 THEN
        RAISE EXCEPTION 'the rollback of import % claims % restored, % deleted, % skipped, but this transaction '
                        'restored % and deleted % of the import''s % listings',
            p_id, p_restored, p_deleted, p_skipped, n_restored, n_deleted, imp.created + imp.updated
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_skipped > 0 THEN
        -- A skipped listing is one changed after the import. Still equal to
        -- the import's after-image means it was simply left out.
        SELECT string_agg(format('l.%1$I IS NOT DISTINCT FROM a.%1$I', la.attname), ' AND ' ORDER BY la.attnum)
          INTO same_row
          FROM pg_attribute la
          JOIN pg_attribute ga ON ga.attrelid = 'import_audit.log_listings'::regclass
                              AND ga.attname = la.attname AND NOT ga.attisdropped
         WHERE la.attrelid = 'public.listings'::regclass AND la.attnum > 0 AND NOT la.attisdropped;
        SELECT coalesce(string_agg(format('EXISTS (SELECT 1 FROM %s f WHERE %s)', fk.conrelid::regclass,
                   (SELECT string_agg(format('f.%I = a.%I', fa.attname, pa.attname), ' AND ')
                      FROM unnest(fk.conkey, fk.confkey) AS k(fcol, pcol)
                      JOIN pg_attribute fa ON fa.attrelid = fk.conrelid AND fa.attnum = k.fcol
                      JOIN pg_attribute pa ON pa.attrelid = fk.confrelid AND pa.attnum = k.pcol)), ' OR '),
                   'false')
          INTO referenced
          FROM pg_constraint fk
         WHERE fk.contype = 'f' AND fk.confrelid = 'public.listings'::regclass;
        EXECUTE format('SELECT count(*) FROM import_audit.log_listings a
                          JOIN public.listings l ON l.seller_id = a.seller_id AND l.sku = a.sku
                         WHERE a.audit_import_id = $1 AND a.audit_image = ''N'' AND a.audit_op IN (''I'', ''U'')
                           AND (%s) AND NOT (a.audit_op = ''I'' AND (%s))', same_row, referenced)
          INTO n_untouched USING p_id;
        IF n_untouched > 0 THEN
            RAISE EXCEPTION 'the rollback of import % leaves % listings exactly as the import wrote them',
                p_id, n_untouched
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    UPDATE import_audit.imports
       SET status = 'rolled_back', rolled_back_at = clock_timestamp(),
           rolled_back_by = coalesce(nullif(p_by, ''), session_user::text),
           rollback_restored = n_restored, rollback_deleted = n_deleted, rollback_skipped = p_skipped
     WHERE id = p_id;
    RETURN 1;
END $$;

------------------------------------------------------------------------------
-- audit prune takes each seller's lock through the same keys.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION import_audit.prune(p_completed_before timestamptz, p_actor text)
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
    IF import_audit.is_support() IS NOT TRUE THEN
        RAISE EXCEPTION 'only support may prune before-images (role %)', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- No import or rollback may run meanwhile for a seller whose data is
    -- pruned: take each seller's lock (the one imports and rollbacks hold).
    FOR seller IN SELECT DISTINCT seller_id FROM import_audit.imports
                   WHERE status IN ('rolled_back', 'completed') ORDER BY seller_id LOOP
        IF NOT pg_try_advisory_xact_lock(import_audit.seller_lock_key(seller)) THEN
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

------------------------------------------------------------------------------
-- Seller roles get bounded statement and idle-in-transaction times in this
-- database (defaults against forgotten sessions; `db grant-seller` flags).
-- A zero or NULL interval leaves the setting alone. Setting them needs the
-- right to ALTER ROLE, which a database owner on a managed service may lack:
-- then the grant still happens and the function returns false (the CLI
-- says what an administrator runs instead).
------------------------------------------------------------------------------

CREATE FUNCTION import_audit.grant_seller(p_role text, p_seller text,
        p_statement_timeout interval, p_idle_timeout interval) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM import_audit.require_seller_id_shape(p_seller);
    PERFORM import_audit.grant_seller(p_role, p_seller);
    BEGIN
        IF p_statement_timeout > interval '0' THEN
            EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L', p_role,
                           current_database(), (extract(epoch FROM p_statement_timeout) * 1000)::bigint || 'ms');
        END IF;
        IF p_idle_timeout > interval '0' THEN
            EXECUTE format('ALTER ROLE %I IN DATABASE %I SET idle_in_transaction_session_timeout = %L', p_role,
                           current_database(), (extract(epoch FROM p_idle_timeout) * 1000)::bigint || 'ms');
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN false;
    END;
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION import_audit.grant_seller(text, text, interval, interval) FROM PUBLIC;

------------------------------------------------------------------------------
-- Privileges: the checking functions are for importdesk's roles only.
------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    import_audit.role_is_support(oid),
    import_audit.role_may_act_for(oid, text),
    import_audit.current_seller(),
    import_audit.is_support(),
    import_audit.may_act_for(text),
    import_audit.require_seller(text),
    import_audit.require_seller_id_shape(text),
    import_audit.new_lock_key(),
    import_audit.seller_lock_key(text),
    import_audit.lock_holders(bigint),
    import_audit.try_lock_seller(text),
    import_audit.unlock_seller(text),
    import_audit.holds_seller_lock(text),
    import_audit.require_seller_lock(text),
    import_audit.lock_blockers(integer),
    import_audit.append_audit(text, text, text, bigint, jsonb),
    import_audit.begin_import(text, text, bigint, text, jsonb, text, text, text),
    import_audit.attach_import(bigint, text),
    import_audit.complete_import(bigint, text, bigint, bigint, bigint, bigint, bigint, bigint, text[], jsonb, text),
    import_audit.fail_import(bigint, text, bigint, bigint, bigint, text[], jsonb, text),
    import_audit.fail_abandoned(text),
    import_audit.attach_rollback(bigint, text),
    import_audit.mark_rolled_back(bigint, text, bigint, bigint, bigint),
    import_audit.current_tag()
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    import_audit.current_seller(),
    import_audit.is_support(),
    import_audit.may_act_for(text),
    import_audit.try_lock_seller(text),
    import_audit.unlock_seller(text),
    import_audit.lock_blockers(integer),
    import_audit.append_audit(text, text, text, bigint, jsonb),
    import_audit.begin_import(text, text, bigint, text, jsonb, text, text, text),
    import_audit.attach_import(bigint, text),
    import_audit.complete_import(bigint, text, bigint, bigint, bigint, bigint, bigint, bigint, text[], jsonb, text),
    import_audit.fail_import(bigint, text, bigint, bigint, bigint, text[], jsonb, text),
    import_audit.fail_abandoned(text),
    import_audit.attach_rollback(bigint, text),
    import_audit.mark_rolled_back(bigint, text, bigint, bigint, bigint)
TO importdesk_support, importdesk_seller;
