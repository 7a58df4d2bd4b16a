-- engram_hnsw: slots VACUUM frees are reused without limit (issue 21,
-- item 5).  Before, the meta page remembered at most 1000 pages with
-- deleted slots and the slots on any other page were never reused: an index
-- of more than 1000 pages grew with every delete / VACUUM / insert cycle.
-- Now VACUUM records every such page in the index's free space map.
-- 1000-dimensional vectors (6 nodes per page): 6600 rows, ~1100 pages;
-- three cycles each delete 3300 rows spread over every page, VACUUM, and
-- insert 3300 new rows.  The index must stay (about) the size it had.
SET search_path = public, engram;
SET max_parallel_workers_per_gather = 0;

CREATE FUNCTION ann_rv(i int) RETURNS engram.vector LANGUAGE sql IMMUTABLE AS
$$ SELECT (array_fill((i % 97)::float4, ARRAY[997]) || ARRAY[(i % 13)::float4, (i % 7)::float4, (i % 101)::float4])::engram.vector $$;

CREATE TABLE ann_r (id int PRIMARY KEY, v engram.vector(1000));
INSERT INTO ann_r SELECT i, ann_rv(i) FROM generate_series(1, 6600) i;
CREATE INDEX ann_r_v ON ann_r USING engram_hnsw (v vector_l2_ops) WITH (ef_construction = 16);
CREATE TEMP TABLE ann_sizes AS SELECT 0 AS cycle, pg_relation_size('ann_r_v') / 8192 AS pages;
SELECT pages > 1000 AS more_than_1000_pages FROM ann_sizes;

DELETE FROM ann_r WHERE id % 2 = 0;
VACUUM ann_r;
INSERT INTO ann_r SELECT 100000 + 2 * i, ann_rv(100000 + 2 * i) FROM generate_series(1, 3300) i;
INSERT INTO ann_sizes SELECT 1, pg_relation_size('ann_r_v') / 8192;

DELETE FROM ann_r WHERE id % 2 = 0;
VACUUM ann_r;
INSERT INTO ann_r SELECT 200000 + 2 * i, ann_rv(200000 + 2 * i) FROM generate_series(1, 3300) i;
INSERT INTO ann_sizes SELECT 2, pg_relation_size('ann_r_v') / 8192;

DELETE FROM ann_r WHERE id % 2 = 0;
VACUUM ann_r;
INSERT INTO ann_r SELECT 300000 + 2 * i, ann_rv(300000 + 2 * i) FROM generate_series(1, 3300) i;
INSERT INTO ann_sizes SELECT 3, pg_relation_size('ann_r_v') / 8192;

-- at most 2% larger than after the build after three cycles (engram 0.1.0:
-- 4.5% more per cycle, 13.6% after three)
SELECT cycle, pages <= (SELECT pages FROM ann_sizes WHERE cycle = 0) * 1.02 AS bounded
FROM ann_sizes ORDER BY cycle;

-- and the index still answers as an exact scan does
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ann_r ORDER BY v <-> ann_rv(50)) s;
SET engram.ef_search = 200;
SELECT array_agg(id) FROM (SELECT id FROM ann_r ORDER BY v <-> (array_fill(50.3::float4, ARRAY[997]) || ARRAY[3.7, 2.2, 40.1]::float4[])::engram.vector LIMIT 5) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) FROM (SELECT id FROM ann_r ORDER BY v <-> (array_fill(50.3::float4, ARRAY[997]) || ARRAY[3.7, 2.2, 40.1]::float4[])::engram.vector LIMIT 5) s;
RESET enable_indexscan;
RESET engram.ef_search;

DROP TABLE ann_r;
DROP FUNCTION ann_rv(int);
