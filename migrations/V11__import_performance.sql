-- importdesk schema, version 11: import and rollback performance
-- (docs/performance.md).
--
-- Changes made outside any import or rollback ("hand edits") of one seller,
-- in change order. A rollback preview compares only the listings changed
-- after the import, and of the rows after it only hand edits matter: the
-- seller's later imports were all rolled back (else this one is not
-- eligible), and their rollbacks put back what they changed. Hand edits are
-- few, so this index costs imports nothing (its predicate leaves their rows
-- out) and makes the preview's look at "what changed after" independent of
-- the size of later imports, their rollbacks and other sellers' changes.
CREATE INDEX log_listings_hand_edits_by_seller
    ON import_audit.log_listings (seller_id, audit_change_id)
    WHERE audit_import_id IS NULL AND audit_rollback_of IS NULL;
