-- importdesk schema, version 1: listings, the import history and the audit log.
-- Runs as a plain database owner (no superuser, no extensions, no event triggers).

CREATE TABLE listings (
    seller_id      text        NOT NULL CHECK (seller_id <> '' AND length(seller_id) <= 64),
    sku            text        NOT NULL CHECK (sku <> '' AND length(sku) <= 200),
    title          text        CHECK (length(title) <= 500),
    description    text        CHECK (length(description) <= 100000),
    price          numeric     CHECK (price >= 0),
    currency       char(3)     CHECK (currency ~ '^[A-Z]{3}$'),
    quantity       integer     CHECK (quantity >= 0),
    status         text        NOT NULL DEFAULT 'active'
                               CHECK (status IN ('active', 'inactive', 'ended', 'draft')),
    condition      text        CHECK (length(condition) <= 200),
    category       text        CHECK (length(category) <= 500),
    listing_number text        CHECK (length(listing_number) <= 100),
    end_date       timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, sku)
);

CREATE SCHEMA import_audit;
COMMENT ON SCHEMA import_audit IS
    'importdesk: import history, trigger-captured row changes and the append-only audit log';

CREATE TABLE import_audit.imports (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id         text        NOT NULL,
    file_name         text        NOT NULL,
    file_sha256       text,
    file_size         bigint,
    profile           text        NOT NULL,
    options           jsonb       NOT NULL DEFAULT '{}',
    status            text        NOT NULL DEFAULT 'running'
                                  CHECK (status IN ('running', 'completed', 'failed', 'rolled_back')),
    started_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at       timestamptz,
    actor             text        NOT NULL,
    db_role           text        NOT NULL DEFAULT session_user,
    os_user           text,
    client_addr       text,
    rows_read         bigint      NOT NULL DEFAULT 0,
    created           bigint      NOT NULL DEFAULT 0,
    updated           bigint      NOT NULL DEFAULT 0,
    unchanged         bigint      NOT NULL DEFAULT 0,
    rejected          bigint      NOT NULL DEFAULT 0,
    ignored_rows      bigint      NOT NULL DEFAULT 0,
    unknown_columns   text[]      NOT NULL DEFAULT '{}',
    error_summary     text,
    errors            jsonb       NOT NULL DEFAULT '[]',
    -- The transaction that wrote the import's data: triggers trust the
    -- import tag only inside this transaction.
    data_txid         xid8,
    rolled_back_at    timestamptz,
    rolled_back_by    text,
    rollback_txid     xid8,
    rollback_restored bigint,
    rollback_deleted  bigint,
    rollback_skipped  bigint
);
CREATE INDEX imports_seller_newest ON import_audit.imports (seller_id, id DESC);
CREATE INDEX imports_status ON import_audit.imports (status) WHERE status = 'running';

CREATE TABLE import_audit.audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text        NOT NULL,
    db_role   text        NOT NULL DEFAULT session_user,
    action    text        NOT NULL,
    seller_id text,
    import_id bigint,
    details   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_import ON import_audit.audit_log (import_id);

-- Append-only, enforced by the database: statement-level so that even an
-- UPDATE or DELETE matching no row is refused, and TRUNCATE too.
CREATE FUNCTION import_audit.refuse_audit_log_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'import_audit.audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON import_audit.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION import_audit.refuse_audit_log_change();

REVOKE ALL ON SCHEMA import_audit FROM PUBLIC;
