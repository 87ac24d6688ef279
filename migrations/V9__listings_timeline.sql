-- importdesk schema, version 9: listings and their history.
--
-- * A listing's timeline is every change-log row of one key, newest first.
--   Rows an import wrote are found through the log's by-import b-tree
--   (import id, image, operation, seller, sku): one probe per import of the
--   seller. Every other row (rollbacks, hand edits) goes into a partial
--   b-tree by key. Imports, the hot path, pay nothing for the timeline: a
--   b-tree by key over every log row made a 500,000-row import markedly
--   slower (an extra index in random key order costs about as much as the
--   bare insert; docs/performance.md).
-- * Hand edits (neither an import nor a rollback) are few: a partial index
--   lists them newest first for the audit screen.
-- * Restoring one listing from its timeline is an ordinary edit, made with
--   the caller's own rights (row-level security applies) and captured by the
--   same triggers. What makes it a restore is recorded by
--   import_audit.record_listing_restore, which checks the facts itself: this
--   transaction changed the listing, and the listing now holds the values it
--   had before the named change. Only then does it write
--   import_audit.listing_restores and the audit-log entry `listing restored`.
--
-- The indexes are built in the migration's transaction (not CONCURRENTLY);
-- they cover only the log's untagged rows, so this is quick unless a very
-- large rollback history exists.

CREATE INDEX log_listings_untagged_by_key
    ON import_audit.log_listings (seller_id, sku, audit_change_id)
    WHERE audit_import_id IS NULL;

CREATE INDEX log_listings_hand_edits
    ON import_audit.log_listings (audit_change_id)
    WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL;

CREATE TABLE import_audit.listing_restores (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    seller_id     text        NOT NULL,
    sku           text        NOT NULL,
    -- The change whose before-image was restored (any of its log rows' ids).
    before_change bigint      NOT NULL,
    -- The restoring transaction: its change-log rows are the restore.
    txid          xid8        NOT NULL,
    actor         text        NOT NULL,
    db_role       text        NOT NULL DEFAULT session_user
);
CREATE INDEX listing_restores_by_key ON import_audit.listing_restores (seller_id, sku, txid);

ALTER TABLE import_audit.listing_restores ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_restores ON import_audit.listing_restores FOR SELECT
    TO importdesk_support, importdesk_seller
    USING (import_audit.may_act_for(seller_id));
GRANT SELECT ON import_audit.listing_restores TO importdesk_support, importdesk_seller;

-- Records that this transaction restored listing (p_seller, p_sku) to the
-- values it had before change p_change, after checking that it did; appends
-- `listing restored` to the audit log with p_details plus the checked facts.
-- Returns the restore's id.
CREATE FUNCTION import_audit.record_listing_restore(p_seller text, p_sku text, p_change bigint,
                                                    p_actor text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed    import_audit.log_listings;
    before_img jsonb;
    now_img    jsonb;
    same       boolean;
    restore_id bigint;
BEGIN
    PERFORM import_audit.require_seller(p_seller);
    SELECT * INTO changed
      FROM import_audit.log_listings c
     WHERE c.seller_id = p_seller AND c.sku = p_sku AND c.audit_change_id = p_change;
    IF changed.audit_change_id IS NULL THEN
        RAISE EXCEPTION 'change % is not a change of listing % of seller %', p_change, p_sku, p_seller
            USING ERRCODE = 'no_data_found';
    END IF;
    -- The listing before that change: the deleted row itself, or the old row
    -- its statement logged for this key.
    IF changed.audit_image = 'O' THEN
        before_img := to_jsonb(changed);
    ELSIF changed.audit_import_id IS NOT NULL THEN
        SELECT to_jsonb(b) INTO before_img
          FROM import_audit.log_listings b
         WHERE b.audit_import_id = changed.audit_import_id AND b.audit_image = 'O'
           AND b.audit_op = 'U' AND b.seller_id = p_seller AND b.sku = p_sku;
    ELSE
        SELECT to_jsonb(b) INTO before_img
          FROM import_audit.log_listings b
         WHERE b.audit_import_id IS NULL AND b.seller_id = p_seller AND b.sku = p_sku
           AND b.audit_change_id < p_change AND b.audit_stmt_id = changed.audit_stmt_id
           AND b.audit_image = 'O'
         ORDER BY b.audit_change_id DESC LIMIT 1;
    END IF;
    IF before_img IS NULL THEN
        RAISE EXCEPTION 'change % created listing %: it had no values before it', p_change, p_sku
            USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM import_audit.log_listings w
                    WHERE w.audit_import_id IS NULL AND w.seller_id = p_seller AND w.sku = p_sku
                      AND w.audit_txid = pg_current_xact_id() AND w.audit_image = 'N'
                      AND w.audit_rollback_of IS NULL) THEN
        RAISE EXCEPTION 'this transaction did not change listing %', p_sku
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT to_jsonb(l) INTO now_img FROM public.listings l WHERE l.seller_id = p_seller AND l.sku = p_sku;
    -- Every current column except updated_at (the restore is a new edit)
    -- equals the before-image (jsonb compares numbers by value).
    SELECT bool_and(b.value IS NOT DISTINCT FROM c.value) INTO same
      FROM jsonb_each(now_img) c
      LEFT JOIN jsonb_each(before_img) b ON b.key = c.key
     WHERE c.key <> 'updated_at';
    IF NOT coalesce(same, false) THEN
        RAISE EXCEPTION 'listing % does not hold the values it had before change %', p_sku, p_change
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO import_audit.listing_restores (seller_id, sku, before_change, txid, actor, db_role)
    VALUES (p_seller, p_sku, p_change, pg_current_xact_id(), p_actor, session_user)
    RETURNING id INTO restore_id;
    PERFORM import_audit.append_audit(p_actor, 'listing restored', p_seller, NULL,
        coalesce(p_details, '{}') || jsonb_build_object(
            'sku', p_sku, 'before_change', p_change, 'restore_id', restore_id));
    RETURN restore_id;
END $$;

REVOKE ALL ON FUNCTION import_audit.record_listing_restore(text, text, bigint, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_audit.record_listing_restore(text, text, bigint, text, jsonb)
    TO importdesk_support, importdesk_seller;
