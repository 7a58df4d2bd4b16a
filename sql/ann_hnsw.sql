-- engram_hnsw: index scans give the same rows, in the same order, as exact
-- search when ef_search covers the (small) table; every operator class;
-- inserts after build; DELETE + VACUUM + re-insert; filtered LIMIT k.
SET search_path = public, engram;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.25);

CREATE TABLE ann_items (id int PRIMARY KEY, space text, embedding engram.vector(12));
-- 500 random vectors with components in [-1, 1), fixed seed
INSERT INTO ann_items
SELECT i, CASE WHEN i % 20 = 0 THEN 'rare' ELSE 'common' END,
       (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 12) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 500) i;

-- query vectors: 8 random ones and 2 that are equal to table rows
CREATE TABLE ann_queries (qid int PRIMARY KEY, q engram.vector(12));
INSERT INTO ann_queries
SELECT i, (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 12) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 8) i;
INSERT INTO ann_queries SELECT 100 + id, embedding FROM ann_items WHERE id IN (17, 333);

CREATE INDEX ann_items_cos ON ann_items USING engram_hnsw (embedding vector_cosine_ops);
CREATE INDEX ann_items_l2 ON ann_items USING engram_hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX ann_items_ip ON ann_items USING engram_hnsw (embedding vector_ip_ops);

SET engram.ef_search = 1000;

-- the planner uses the index for ORDER BY <op> LIMIT, for each operator
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ann_items ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ann_items ORDER BY embedding <-> '[1,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ann_items ORDER BY embedding <#> '[1,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ann_items WHERE space = 'rare' ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 5;
-- without ORDER BY the index is useless; without LIMIT the exact sort wins
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM ann_items ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,1]';
EXPLAIN (COSTS OFF) SELECT id FROM ann_items WHERE embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,1]' < 0.5;

-- compare top-15 of the index scan with exact search, per query and operator
CREATE FUNCTION ann_topk(op text, k int, filter text DEFAULT 'true')
RETURNS TABLE (qid int, ids int[])
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT qid, ARRAY(SELECT id FROM ann_items WHERE %s ORDER BY embedding %s q LIMIT %s) FROM ann_queries ORDER BY qid',
		filter, op, k);
END $$;

CREATE FUNCTION ann_compare(op text, k int, filter text DEFAULT 'true')
RETURNS TABLE (queries bigint, identical bigint, rows_per_query numeric)
LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_indexscan = on;
	CREATE TEMP TABLE ann_r_index AS SELECT * FROM ann_topk(op, k, filter);
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	CREATE TEMP TABLE ann_r_exact AS SELECT * FROM ann_topk(op, k, filter);
	RETURN QUERY SELECT count(*), count(*) FILTER (WHERE i.ids = e.ids),
		round(avg(cardinality(i.ids)), 1)
		FROM ann_r_index i JOIN ann_r_exact e USING (qid);
	DROP TABLE ann_r_index, ann_r_exact;
END $$;

-- the index scan really is an index scan inside the function
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT ARRAY(SELECT id FROM ann_items ORDER BY embedding <=> q LIMIT 15) FROM ann_queries;
RESET enable_seqscan;

SELECT 'cosine' AS op, * FROM ann_compare('<=>', 15);
SELECT 'l2' AS op, * FROM ann_compare('<->', 15);
SELECT 'ip' AS op, * FROM ann_compare('<#>', 15);

-- exact order and distances, shown once
SET enable_seqscan = off;
SELECT id, round((embedding <=> q)::numeric, 4) AS dist
FROM ann_items, ann_queries WHERE qid = 117
ORDER BY embedding <=> q LIMIT 5;
RESET enable_seqscan;

-- inserts after the build
INSERT INTO ann_items
SELECT i, CASE WHEN i % 20 = 0 THEN 'rare' ELSE 'common' END,
       (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 12) g WHERE g > 0 * i)::engram.vector
FROM generate_series(501, 800) i;
SELECT 'cosine' AS op, * FROM ann_compare('<=>', 15);
SELECT 'l2' AS op, * FROM ann_compare('<->', 15);
SELECT 'ip' AS op, * FROM ann_compare('<#>', 15);

-- DELETE + VACUUM, then re-insert
DELETE FROM ann_items WHERE id % 3 = 0;
VACUUM ann_items;
SELECT 'cosine' AS op, * FROM ann_compare('<=>', 15);
SELECT 'l2' AS op, * FROM ann_compare('<->', 15);
SELECT 'ip' AS op, * FROM ann_compare('<#>', 15);
INSERT INTO ann_items
SELECT i, CASE WHEN i % 20 = 0 THEN 'rare' ELSE 'common' END,
       (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 12) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 800) i WHERE i % 3 = 0;
SELECT 'cosine' AS op, * FROM ann_compare('<=>', 15);
SELECT 'l2' AS op, * FROM ann_compare('<->', 15);
SELECT 'ip' AS op, * FROM ann_compare('<#>', 15);
-- everything deleted: VACUUM empties the graph, inserts start a new one
CREATE TABLE ann_small (id int, v engram.vector(3));
CREATE INDEX ann_small_idx ON ann_small USING engram_hnsw (v vector_l2_ops);
INSERT INTO ann_small SELECT i, ARRAY[i, i % 7, 1]::engram.vector FROM generate_series(1, 50) i;
DELETE FROM ann_small;
VACUUM ann_small;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ann_small ORDER BY v <-> '[1,1,1]' LIMIT 5) s;
INSERT INTO ann_small SELECT i, ARRAY[i, i % 7, 1]::engram.vector FROM generate_series(1, 20) i;
SELECT id, round((v <-> '[3,3.2,1]')::numeric, 3) AS dist FROM ann_small ORDER BY v <-> '[3,3.2,1]' LIMIT 3;
RESET enable_seqscan;
DROP TABLE ann_small;

-- filtered search: 1 row in 20 qualifies, ef_search is small, still k rows
-- (strict order, the default: rows always in exact order; relaxed: a late
-- find nearer than rows already returned is returned too)
SET engram.ef_search = 10;
SELECT 'cosine rare' AS op, * FROM ann_compare('<=>', 10, 'space = ''rare''');
SELECT 'l2 rare' AS op, * FROM ann_compare('<->', 10, 'space = ''rare''');
SET engram.ann_strict_order = off;
SELECT 'cosine rare relaxed' AS op, * FROM ann_compare('<=>', 10, 'space = ''rare''');
RESET engram.ann_strict_order;
-- strict order: the rows of a filtered index scan are in exact order
SET enable_seqscan = off;
SELECT bool_and(ok) AS all_sorted, count(*) AS rows FROM (
	SELECT d >= lag(d) OVER (PARTITION BY qid ORDER BY rn) IS NOT FALSE AS ok
	FROM ann_queries, LATERAL (
		SELECT embedding <=> q AS d, row_number() OVER () AS rn
		FROM ann_items WHERE space = 'rare' ORDER BY embedding <=> q LIMIT 10) s) t;
RESET enable_seqscan;
-- the cap on how far a scan widens: beyond it an error, never a short answer
SET engram.ann_max_scan_tuples = 40;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ann_items WHERE space = 'rare'
	ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 10) s;
RESET enable_seqscan;
RESET engram.ann_max_scan_tuples;
SET engram.ef_search = 1000;

-- NULL vectors and zero vectors (cosine) are not indexed, others still are
INSERT INTO ann_items VALUES (2001, 'common', NULL), (2002, 'common', '[0,0,0,0,0,0,0,0,0,0,0,0]');
SET enable_seqscan = off;
SET engram.ann_strict_order = off;	-- count every indexed row
SELECT count(*) FROM (SELECT id FROM ann_items ORDER BY embedding <=> '[1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10000) s;
SELECT count(*) FROM (SELECT id FROM ann_items ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10000) s;
RESET engram.ann_strict_order;
SELECT count(*) FROM ann_items;
RESET enable_seqscan;

-- REINDEX gives the same answers
REINDEX INDEX ann_items_cos;
SELECT 'cosine reindexed' AS op, * FROM ann_compare('<=>', 15);

-- a column without typmod: the first vector fixes the dimension
CREATE TABLE ann_free (id int, v engram.vector);
CREATE INDEX ann_free_idx ON ann_free USING engram_hnsw (v vector_l2_ops);
INSERT INTO ann_free VALUES (1, '[1,2,3]'), (2, '[3,2,1]'), (3, '[1,1,1]');
SET enable_seqscan = off;
SELECT id FROM ann_free ORDER BY v <-> '[1,2,2]' LIMIT 3;
RESET enable_seqscan;

-- the operator classes pass validation
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'engram_hnsw' ORDER BY opcname;

DROP TABLE ann_items, ann_queries, ann_free;
DROP FUNCTION ann_compare(text, int, text);
DROP FUNCTION ann_topk(text, int, text);
