-- The visibility map of engram tables (ADR 0012): VACUUM sets PD_ALL_VISIBLE
-- and the VM bits of pages whose rows are visible to all, every change of a
-- row clears them in the same WAL record, index-only scans skip the table for
-- all-visible pages, and pg_class.relallvisible follows the map.
CREATE EXTENSION pg_visibility;
CREATE TABLE vm_t (id int PRIMARY KEY, pad text) USING engram
	WITH (autovacuum_enabled = off);
INSERT INTO vm_t SELECT g, repeat('p', 40) FROM generate_series(1, 3000) g;
CREATE FUNCTION vm_blk(int) RETURNS int LANGUAGE sql
	AS $$ SELECT (ctid::text::point)[0]::int FROM vm_t WHERE id = $1 $$;
-- the planner's choice depends on relallvisible; force the index path
SET enable_seqscan = off;
SET enable_bitmapscan = off;

-- before VACUUM: no map, every index-only fetch visits the table
SELECT relallvisible FROM pg_class WHERE relname = 'vm_t';
SELECT all_visible, all_frozen FROM pg_visibility_map_summary('vm_t');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;

-- VACUUM: every page all-visible (not frozen: the rows are young), the map
-- and PD_ALL_VISIBLE agree, relallvisible = relpages
VACUUM vm_t;
SELECT relpages > 10 AS several_pages, relallvisible = relpages AS all_pages_visible
  FROM pg_class WHERE relname = 'vm_t';
SELECT count(*) AS pages,
       count(*) FILTER (WHERE all_visible AND pd_all_visible) AS visible,
       count(*) FILTER (WHERE all_frozen) AS frozen,
       count(*) FILTER (WHERE all_visible <> pd_all_visible) AS disagree
  FROM pg_visibility('vm_t');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;
SELECT count(*), sum(id) FROM vm_t WHERE id BETWEEN 1 AND 100;

-- a DELETE clears its page's bits (and only that page's): heap fetches for
-- the rows of that page, and the deleted row is not returned
SELECT vm_blk(50) AS blk_of_50 \gset
DELETE FROM vm_t WHERE id = 50;
SELECT blkno, all_visible, all_frozen, pd_all_visible FROM pg_visibility('vm_t')
 WHERE blkno = :blk_of_50;
SELECT count(*) AS other_pages_still_visible FROM pg_visibility('vm_t')
 WHERE blkno <> :blk_of_50 AND NOT all_visible;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;
SELECT count(*), sum(id) FROM vm_t WHERE id BETWEEN 1 AND 100;
-- heap fetches = the rows of ids 1-100 left on the cleared page + the deleted one
SELECT count(*) AS rows_on_cleared_page FROM vm_t
 WHERE (ctid::text::point)[0] = :blk_of_50 AND id BETWEEN 1 AND 100;

-- VACUUM removes the row and makes the page all-visible again (pass 2,
-- after the index entries are gone)
VACUUM vm_t;
SELECT all_visible, pd_all_visible FROM pg_visibility('vm_t', :blk_of_50);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;
SELECT count(*), sum(id) FROM vm_t WHERE id BETWEEN 1 AND 100;

-- an INSERT clears the bits of the page it lands on
INSERT INTO vm_t VALUES (5000, 'new');
SELECT all_visible, pd_all_visible FROM pg_visibility('vm_t', vm_blk(5000));
SELECT id FROM vm_t WHERE id >= 3000 ORDER BY id;

-- an UPDATE clears both pages' bits (old version's and new version's)
VACUUM vm_t;
SELECT vm_blk(1) AS blk_old \gset
UPDATE vm_t SET pad = repeat('u', 3000) WHERE id = 1;
SELECT vm_blk(1) <> :blk_old AS moved;
SELECT all_visible, pd_all_visible FROM pg_visibility('vm_t', :blk_old);
SELECT all_visible, pd_all_visible FROM pg_visibility('vm_t', vm_blk(1));
SELECT id, length(pad) FROM vm_t WHERE id BETWEEN 1 AND 2 ORDER BY id;

-- VACUUM FREEZE sets all-frozen; a row lock clears only all-frozen, as on
-- heap (the rows stay visible to all)
VACUUM FREEZE vm_t;
SELECT count(*) = count(*) FILTER (WHERE all_visible AND all_frozen) AS all_frozen
  FROM pg_visibility('vm_t');
SELECT vm_blk(10) AS blk_10 \gset
SELECT id FROM vm_t WHERE id = 10 FOR KEY SHARE;
SELECT all_visible, all_frozen, pd_all_visible FROM pg_visibility('vm_t', :blk_10);
SELECT id FROM vm_t WHERE id = 11 FOR UPDATE;
SELECT all_visible, all_frozen, pd_all_visible FROM pg_visibility('vm_t', :blk_10);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;

-- truncation: deleting the tail and VACUUM give pages back, the map shrinks
-- with them (no bit stays set for a block past the end)
DELETE FROM vm_t WHERE id > 1000;
VACUUM vm_t;
SELECT relpages = pg_relation_size('vm_t') / current_setting('block_size')::int AS relpages_exact,
       relallvisible = relpages AS all_visible_after_truncate
  FROM pg_class WHERE relname = 'vm_t';
SELECT pg_relation_size('vm_t') / current_setting('block_size')::int AS npages \gset
SELECT count(*) AS bits_past_end FROM pg_visibility_map('vm_t') WHERE blkno >= :npages;
INSERT INTO vm_t SELECT g, repeat('q', 40) FROM generate_series(10001, 13000) g;
SELECT count(*) > 0 AS table_grew FROM pg_visibility('vm_t') WHERE blkno >= :npages;
SELECT count(*) AS new_pages_visible FROM pg_visibility('vm_t')
 WHERE blkno >= :npages - 1 AND (all_visible OR pd_all_visible);
SELECT count(*), sum(id) FROM vm_t;

-- TRUNCATE and VACUUM FULL start a new file without a map; VACUUM builds it
VACUUM FULL vm_t;
SELECT relallvisible FROM pg_class WHERE relname = 'vm_t';
SELECT all_visible FROM pg_visibility_map_summary('vm_t');
VACUUM vm_t;
SELECT relallvisible = relpages AS all_visible_again FROM pg_class WHERE relname = 'vm_t';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM vm_t WHERE id BETWEEN 1 AND 100;
SELECT count(*), sum(id) FROM vm_t WHERE id BETWEEN 1 AND 100;
TRUNCATE vm_t;
SELECT pg_relation_size('vm_t', 'vm') AS vm_size_after_truncate;

RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE vm_t;
DROP FUNCTION vm_blk(int);
DROP EXTENSION pg_visibility;
