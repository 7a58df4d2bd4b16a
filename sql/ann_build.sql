-- engram_hnsw: builds that outgrow maintenance_work_mem continue on disk;
-- unlogged tables (init fork); concurrent-safe reads after such builds.
SET search_path = public, engram;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.5);

CREATE TABLE ann_big (id int PRIMARY KEY, v engram.vector(32));
INSERT INTO ann_big
SELECT i, (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 32) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 6000) i;
CREATE TABLE ann_big_q (qid int PRIMARY KEY, q engram.vector(32));
INSERT INTO ann_big_q
SELECT i, (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 32) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 5) i;

-- 1MB holds the graph of a few thousand of these rows: the rest goes to disk
SET maintenance_work_mem = '1MB';
\set VERBOSITY terse
CREATE INDEX ann_big_idx ON ann_big USING engram_hnsw (v vector_l2_ops);
\set VERBOSITY default
RESET maintenance_work_mem;
SELECT pg_relation_size('ann_big_idx') > 0 AS has_pages;

SET engram.ef_search = 200;
SET enable_seqscan = off;
CREATE TEMP TABLE r_index AS
	SELECT qid, ARRAY(SELECT id FROM ann_big ORDER BY v <-> q LIMIT 10) AS ids FROM ann_big_q;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE r_exact AS
	SELECT qid, ARRAY(SELECT id FROM ann_big ORDER BY v <-> q LIMIT 10) AS ids FROM ann_big_q;
RESET enable_indexscan;
-- recall@10 over 5 queries, and rows returned
SELECT sum((SELECT count(*) FROM unnest(i.ids) x WHERE x = ANY (e.ids)))::float8 / 50 >= 0.9 AS recall_ok,
       sum(cardinality(i.ids)) AS rows_returned
FROM r_index i JOIN r_exact e USING (qid);
-- every row is reachable through the index (relaxed order: a scan that
-- walks the whole graph must not skip late finds)
SET enable_seqscan = off;
SET engram.ann_max_scan_tuples = 100000;
SET engram.ann_strict_order = off;
SELECT count(*) FROM (SELECT id FROM ann_big ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 100000) s;
RESET engram.ann_max_scan_tuples;
RESET engram.ann_strict_order;
RESET enable_seqscan;
DROP TABLE ann_big, ann_big_q;

-- unlogged table: the index gets an init fork, and works
CREATE UNLOGGED TABLE ann_unlogged (id int, v engram.vector(3));
CREATE INDEX ann_unlogged_idx ON ann_unlogged USING engram_hnsw (v);
INSERT INTO ann_unlogged SELECT i, ARRAY[1, i, i * i % 17]::engram.vector FROM generate_series(1, 100) i;
SET enable_seqscan = off;
SELECT id FROM ann_unlogged ORDER BY v <=> '[1,50,1]' LIMIT 3;
RESET enable_seqscan;
SELECT count(*) FROM pg_class WHERE relname = 'ann_unlogged_idx' AND relpersistence = 'u';
DROP TABLE ann_unlogged;

-- an index on an empty table, filled afterwards, then VACUUM without deletions
CREATE TABLE ann_empty (id int, v engram.vector(4));
CREATE INDEX ann_empty_idx ON ann_empty USING engram_hnsw (v vector_ip_ops);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ann_empty ORDER BY v <#> '[1,2,3,4]' LIMIT 5) s;
INSERT INTO ann_empty SELECT i, ARRAY[i, 1, 0, -i]::engram.vector FROM generate_series(1, 30) i;
VACUUM ann_empty;
SELECT id, (v <#> '[1,2,3,0]') AS neg_ip FROM ann_empty ORDER BY v <#> '[1,2,3,0]' LIMIT 3;
RESET enable_seqscan;
DROP TABLE ann_empty;
