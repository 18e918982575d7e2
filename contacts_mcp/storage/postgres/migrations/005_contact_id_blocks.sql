-- name: contact ids reserved as one block
-- An import batch reserves 5,000 contact ids at once: nextval a row took 16 ms a batch. reserve_contact_ids
-- takes the next n in one call instead, under a session lock held only between its two sequence calls, so
-- that no other reservation lands inside the block. Every contact row is inserted with an id reserved here
-- (never the column's default), so the block is the caller's alone; ids stay rising and never reused.
CREATE FUNCTION reserve_contact_ids(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
BEGIN
    PERFORM pg_advisory_lock(1667851379, 0);  -- 'cids'
    first := nextval(pg_get_serial_sequence('contacts', 'id'));
    IF n > 1 THEN
        PERFORM setval(pg_get_serial_sequence('contacts', 'id'), first + n - 1);
    END IF;
    PERFORM pg_advisory_unlock(1667851379, 0);
    RETURN first;
EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(1667851379, 0);
    RAISE;
END $$;
