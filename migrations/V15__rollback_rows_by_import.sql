-- importdesk schema, version 15: a rollback's change-log rows are indexed
-- by the import they undo, not among the hand edits (docs/performance.md,
-- 2026-12-01 afternoon).
--
-- V9 indexed every untagged row (hand edits and rollbacks) by listing key.
-- A rollback writes one or two rows per listing of the import, all with keys
-- that earlier imports and rollbacks of the same seller already hold there:
-- each entry landed between old ones, on a full page, and a 1M-row rollback
-- spent more time in that index than in the rest of its capture. Its rows
-- now go to an index led by the rolled-back import: one rollback's entries
-- are one contiguous run, written in key order. The listing timeline finds
-- them as it finds an import's rows: one probe per rolled-back import of
-- the seller. The by-key index keeps the hand edits only (few).

DROP INDEX import_audit.log_listings_untagged_by_key;

CREATE INDEX log_listings_hand_edits_by_key
    ON import_audit.log_listings (seller_id, sku, audit_change_id)
    WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL;

CREATE INDEX log_listings_by_rollback
    ON import_audit.log_listings (audit_rollback_of, seller_id, sku, audit_change_id)
    WHERE audit_rollback_of IS NOT NULL;

-- The restore of one listing finds the before-image of an untagged update
-- through the index that holds the change's own rows.
CREATE OR REPLACE FUNCTION import_audit.record_listing_restore(p_seller text, p_sku text, p_change bigint,
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
    ELSIF changed.audit_rollback_of IS NOT NULL THEN
        SELECT to_jsonb(b) INTO before_img
          FROM import_audit.log_listings b
         WHERE b.audit_rollback_of = changed.audit_rollback_of AND b.audit_import_id IS NULL
           AND b.seller_id = p_seller AND b.sku = p_sku
           AND b.audit_change_id < p_change AND b.audit_stmt_id = changed.audit_stmt_id
           AND b.audit_image = 'O'
         ORDER BY b.audit_change_id DESC LIMIT 1;
    ELSE
        SELECT to_jsonb(b) INTO before_img
          FROM import_audit.log_listings b
         WHERE b.audit_import_id IS NULL AND b.audit_rollback_of IS NULL
           AND b.seller_id = p_seller AND b.sku = p_sku
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
