-- name: cache versions announced with NOTIFY
-- A raised version is announced on the channel contacts_mcp_versions when its transaction commits: each
-- process keeps the versions it read until told (store.py, Versions), instead of a round trip per request.
CREATE OR REPLACE FUNCTION bump_fields_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET fields_version = fields_version + 1
        WHERE id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.account_id ELSE NEW.account_id END);
    PERFORM pg_notify('contacts_mcp_versions', 'fields');
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION bump_tokens_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE versions SET value = value + 1 WHERE name = 'tokens';
    PERFORM pg_notify('contacts_mcp_versions', 'tokens');
    RETURN NULL;
END $$;
