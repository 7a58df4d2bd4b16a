--
-- am_scanhint: reading rows VACUUM has not hinted yet must not dirty the
-- shared pages (hint bits land only in the reader's copy), and visibility
-- stays right on that path.
--
CREATE TABLE am_scanhint (id int, body text) USING engram
  WITH (autovacuum_enabled = false);
INSERT INTO am_scanhint SELECT g, repeat('x', 200) FROM generate_series(1, 300) g;
-- write the inserted pages out so that only the scan could dirty them
CHECKPOINT;

-- 'some' if EXPLAIN BUFFERS reports a shared buffer the execution dirtied
CREATE FUNCTION am_scanhint_dirtied(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  result text := 'none';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    -- the executor's lines only: planning may set hints on catalog rows
    EXIT WHEN line ~ '^Planning';
    IF line ~ 'dirtied=' THEN
      result := 'some';
    END IF;
  END LOOP;
  RETURN result;
END $$;

SELECT am_scanhint_dirtied('SELECT count(*) FROM am_scanhint');
SELECT am_scanhint_dirtied('SELECT count(*) FROM am_scanhint');
SELECT count(*), min(id), max(id) FROM am_scanhint;

-- own uncommitted rows are visible to their transaction only, then gone
BEGIN;
INSERT INTO am_scanhint SELECT g, 'new' FROM generate_series(301, 305) g;
SELECT count(*) FROM am_scanhint;
ROLLBACK;
SELECT count(*), max(id) FROM am_scanhint;

-- committed deletes and updates
DELETE FROM am_scanhint WHERE id <= 10;
UPDATE am_scanhint SET body = 'upd' WHERE id = 20;
SELECT count(*), count(*) FILTER (WHERE body = 'upd') FROM am_scanhint;
-- rows with a committed xmax, read again after their pages were written
CHECKPOINT;
SELECT am_scanhint_dirtied('SELECT count(*) FROM am_scanhint');
SELECT count(*), min(id) FROM am_scanhint;

-- a deleting transaction that rolled back leaves its rows visible
BEGIN;
DELETE FROM am_scanhint WHERE id BETWEEN 11 AND 19;
SELECT count(*) FROM am_scanhint;
ROLLBACK;
SELECT count(*) FROM am_scanhint;
-- rows with an aborted xmax, likewise
CHECKPOINT;
SELECT am_scanhint_dirtied('SELECT count(*) FROM am_scanhint');
SELECT count(*), min(id) FROM am_scanhint;

-- after VACUUM the rows read the same
VACUUM am_scanhint;
CHECKPOINT;
SELECT count(*), min(id), max(id) FROM am_scanhint;
SELECT am_scanhint_dirtied('SELECT count(*) FROM am_scanhint');

DROP TABLE am_scanhint;
DROP FUNCTION am_scanhint_dirtied(text);
