-- name: folded city, company and postal code stored with the row
-- Step 14 indexed contacts_fold(city), contacts_fold(company) and contacts_fold(postal_code): three calls of the
-- server's Python function for every contact inserted or updated, from inside SQLite (measured on an import:
-- 0.7 s of 6.1 for 300,000 lines). The folded values are now columns written with the row by the server
-- itself (storage/sqlite/contacts.py: insert_contacts, insert_wire_rows, update_contacts), and plain columns are
-- indexed. An update that sets city, company or postal code without them (none does) is put right by the
-- trigger. Inserts have none: an AFTER INSERT trigger, even one whose WHEN is false, doubled an import's insert
-- time (5.4 s -> 11.7 s for 300,000 lines); both insert paths write them, and a test holds them to it.
ALTER TABLE contacts ADD COLUMN city_folded TEXT;
ALTER TABLE contacts ADD COLUMN company_folded TEXT;
ALTER TABLE contacts ADD COLUMN postal_code_folded TEXT;
UPDATE contacts SET city_folded = contacts_fold(city), company_folded = contacts_fold(company),
    postal_code_folded = contacts_fold(postal_code)
    WHERE city IS NOT NULL OR company IS NOT NULL OR postal_code IS NOT NULL;
DROP INDEX contacts_city_folded;
DROP INDEX contacts_company_folded;
DROP INDEX contacts_postal_code_folded;
CREATE INDEX contacts_city_folded ON contacts (account_id, city_folded);
CREATE INDEX contacts_company_folded ON contacts (account_id, company_folded);
CREATE INDEX contacts_postal_code_folded ON contacts (account_id, postal_code_folded);
CREATE TRIGGER contacts_folded_on_update AFTER UPDATE OF city, company, postal_code ON contacts
    WHEN NEW.city_folded IS NOT contacts_fold(NEW.city) OR NEW.company_folded IS NOT contacts_fold(NEW.company)
        OR NEW.postal_code_folded IS NOT contacts_fold(NEW.postal_code)
BEGIN
    UPDATE contacts SET city_folded = contacts_fold(NEW.city), company_folded = contacts_fold(NEW.company),
        postal_code_folded = contacts_fold(NEW.postal_code) WHERE id = NEW.id;
END;
