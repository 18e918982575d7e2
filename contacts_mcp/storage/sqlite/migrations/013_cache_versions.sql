-- name: versions that tell every process its caches are stale
-- A process keeps copies of a few things it reads on every call: an account's fields and aliases, and the
-- API tokens it verified. Each is paired with a version that triggers raise in the same transaction as
-- any change, whoever makes it (a tool, the CLI, another server process); a process compares the version
-- (a primary-key read) before trusting its copy. This replaces the revocation marker file.

ALTER TABLE accounts ADD COLUMN fields_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE versions (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

INSERT INTO versions (name, value) VALUES ('tokens', 0);

CREATE TRIGGER fields_inserted AFTER INSERT ON fields BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER fields_updated AFTER UPDATE ON fields BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER fields_deleted AFTER DELETE ON fields BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = OLD.account_id;
END;

CREATE TRIGGER field_aliases_inserted AFTER INSERT ON field_aliases BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER field_aliases_updated AFTER UPDATE ON field_aliases BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER field_aliases_deleted AFTER DELETE ON field_aliases BEGIN
    UPDATE accounts SET fields_version = fields_version + 1 WHERE id = OLD.account_id;
END;

CREATE TRIGGER api_tokens_revoked AFTER UPDATE OF revoked_at ON api_tokens BEGIN
    UPDATE versions SET value = value + 1 WHERE name = 'tokens';
END;

CREATE TRIGGER api_tokens_deleted AFTER DELETE ON api_tokens BEGIN
    UPDATE versions SET value = value + 1 WHERE name = 'tokens';
END;
