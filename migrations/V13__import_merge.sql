-- importdesk schema, version 13: what an import's merge did, read from the
-- change log (docs/performance.md).
--
-- An import that goes through the staging table merges it into `listings`
-- with one MERGE (one join of the file with the seller's listings; it used
-- to be an UPDATE and an INSERT, two joins). MERGE has no RETURNING in
-- PostgreSQL 15, so what it created and updated is read back from the rows
-- the capture trigger wrote under the import's tag in this transaction: the
-- counts and an order-independent hash of the keys, which the plan
-- fingerprint compares with the dry run's. SECURITY DEFINER: the log's
-- row-level policy would otherwise be evaluated once per row for a seller's
-- own login role; the function checks the caller itself.
CREATE FUNCTION import_audit.import_changes(p_id bigint)
RETURNS TABLE (created bigint, created_keys text, updated bigint, updated_keys text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seller text;
BEGIN
    SELECT i.seller_id INTO seller FROM import_audit.imports i
     WHERE i.id = p_id AND i.status = 'running' AND i.data_txid = pg_current_xact_id();
    IF seller IS NULL THEN
        RAISE EXCEPTION 'import % is not running in this transaction', p_id;
    END IF;
    PERFORM import_audit.require_seller(seller);
    RETURN QUERY
    SELECT count(*) FILTER (WHERE c.audit_op = 'I'),
           coalesce(sum(hashtextextended(c.sku, 0)::numeric) FILTER (WHERE c.audit_op = 'I'), 0)::text,
           count(*) FILTER (WHERE c.audit_op = 'U'),
           coalesce(sum(hashtextextended(c.sku, 0)::numeric) FILTER (WHERE c.audit_op = 'U'), 0)::text
      FROM import_audit.log_listings c
     WHERE c.audit_import_id = p_id AND c.audit_image = 'N';
END $$;

REVOKE ALL ON FUNCTION import_audit.import_changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_audit.import_changes(bigint) TO importdesk_support, importdesk_seller;
