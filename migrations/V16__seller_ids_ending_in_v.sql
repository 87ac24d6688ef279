-- importdesk schema, version 16: seller ids that begin or end with "v".
--
-- V12 checked for surrounding whitespace with btrim(p_seller, E' \t\r\n\f\v'),
-- but PostgreSQL's escape strings know no \v: it stood for the letter v, so
-- "vendor", "dev" or "kiev" were refused as "invalid seller id" when their
-- first import began (found from the outside, 2026-12-01). Control
-- characters, the vertical tab among them, are refused by [[:cntrl:]]; the
-- trim looks for blanks only.

CREATE OR REPLACE FUNCTION import_audit.require_seller_id_shape(p_seller text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_seller IS NULL OR p_seller = '' OR length(p_seller) > 64
       OR p_seller <> btrim(p_seller, ' ') OR p_seller ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid seller id: it must be 1 to 64 characters, without surrounding spaces or control characters'
            USING ERRCODE = 'check_violation';
    END IF;
END $$;
