-- importdesk schema, version 10: live screens (docs/console.md, "Live").
--
-- Every transaction that writes the history (an import starting or
-- finishing, a rollback, a prune) or the audit log sends one notification on
-- the channel `importdesk_changes` as it commits; a rolled-back transaction
-- sends none. The console listens on a connection of its own and reloads
-- what it shows. The payload is only the table's name: which seller changed
-- what stays behind row-level security (a listener reloads and sees what it
-- may see). PostgreSQL folds identical notifications of one transaction into
-- one, so a 300,000-row import sends a handful, not one per row.

CREATE FUNCTION import_audit.notify_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('importdesk_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION import_audit.notify_change() FROM PUBLIC;

CREATE TRIGGER notify_change
    AFTER INSERT OR UPDATE OR DELETE ON import_audit.imports
    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.notify_change();

CREATE TRIGGER notify_change
    AFTER INSERT OR UPDATE OR DELETE ON import_audit.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.notify_change();
