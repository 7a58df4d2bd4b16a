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

-- VACUUM frees the slots of deleted nodes and inserts reuse them
CREATE TABLE ann_churn (id int, v engram.vector(16));
INSERT INTO ann_churn SELECT i, (SELECT array_agg(sin(i * 0.37 + g * 1.71)::float4) FROM generate_series(1, 16) g)::engram.vector
FROM generate_series(1, 2000) i;
CREATE INDEX ann_churn_idx ON ann_churn USING engram_hnsw (v vector_l2_ops);
SELECT pg_relation_size('ann_churn_idx') AS size0 \gset
DELETE FROM ann_churn WHERE id % 2 = 0;
VACUUM ann_churn;
INSERT INTO ann_churn SELECT i, (SELECT array_agg(cos(i * 0.23 + g * 1.31)::float4) FROM generate_series(1, 16) g)::engram.vector
FROM generate_series(2001, 3000) i;
SELECT pg_relation_size('ann_churn_idx') <= :size0 * 1.1 AS no_growth;
SET engram.ef_search = 1000;
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM ann_churn ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 8) AS index_scan;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM ann_churn ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 8) AS exact;
RESET enable_indexscan;
DROP TABLE ann_churn;
