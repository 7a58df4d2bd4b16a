-- engram_hnsw: VACUUM repairs the graph after clustered deletes (issue 21,
-- item 4).  10 clusters of 1500 vectors (32 dimensions); 88% of cluster 0
-- (90%, 1350 rows) is deleted and VACUUM repairs the lists that pointed to
-- those nodes by searching from the entry point and gives the survivors
-- back links (before: candidates only from the dead nodes' own neighbours,
-- one or two hops, mostly dead too); then 1350 rows inserted into another
-- cluster reuse the freed slots.  Recall@10 of queries into what is left of
-- cluster 0 must then be about what a freshly built index (REINDEX) gives.
SET search_path = public, engram;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.125);

CREATE TABLE ann_cl_c (k int PRIMARY KEY, c float4[]);
INSERT INTO ann_cl_c SELECT k, (SELECT array_agg((random() * 4 - 2)::float4) FROM generate_series(1, 32) g WHERE g > 0 * k)
FROM generate_series(0, 9) k;
CREATE TABLE ann_cl (id int PRIMARY KEY, k int, v engram.vector(32));
INSERT INTO ann_cl SELECT i, i % 10,
	(SELECT array_agg(c[g] + ((random() + random() + random() - 1.5) * 0.6)::float4) FROM generate_series(1, 32) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 15000) i JOIN ann_cl_c ON k = i % 10;
CREATE INDEX ann_cl_v ON ann_cl USING engram_hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
-- queries: near cluster 0
CREATE TABLE ann_cl_q (qid int PRIMARY KEY, q engram.vector(32));
INSERT INTO ann_cl_q SELECT i,
	(SELECT array_agg(c[g] + ((random() + random() + random() - 1.5) * 0.6)::float4) FROM generate_series(1, 32) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 40) i JOIN ann_cl_c ON k = 0;

CREATE FUNCTION ann_cl_recall() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
	SET LOCAL enable_seqscan = off;
	CREATE TEMP TABLE ri AS SELECT qid, ARRAY(SELECT id FROM ann_cl ORDER BY v <-> q LIMIT 10) ids FROM ann_cl_q;
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	CREATE TEMP TABLE re AS SELECT qid, ARRAY(SELECT id FROM ann_cl ORDER BY v <-> q LIMIT 10) ids FROM ann_cl_q;
	SELECT avg((SELECT count(*) FROM unnest(ri.ids) x WHERE x = ANY (re.ids))::numeric / 10) INTO r
	FROM ri JOIN re USING (qid);
	DROP TABLE ri, re;
	RETURN r;
END $$;

SET engram.ef_search = 10;
DELETE FROM ann_cl WHERE k = 0 AND id % 100 < 88;
VACUUM ann_cl;
-- new rows elsewhere (cluster 5) take the freed slots: the deleted nodes
-- the scans could still walk through are gone
INSERT INTO ann_cl SELECT 100000 + i, 5,
	(SELECT array_agg(c[g] + ((random() + random() + random() - 1.5) * 0.6)::float4) FROM generate_series(1, 32) g WHERE g > 0 * i)::engram.vector
FROM generate_series(1, 1350) i JOIN ann_cl_c ON k = 5;
CREATE TEMP TABLE ann_cl_r AS SELECT 'vacuum' AS what, ann_cl_recall() AS recall;
REINDEX INDEX ann_cl_v;
INSERT INTO ann_cl_r SELECT 'reindex', ann_cl_recall();
SELECT (SELECT recall FROM ann_cl_r WHERE what = 'vacuum') >=
       (SELECT recall FROM ann_cl_r WHERE what = 'reindex') - 0.03 AS close_to_reindex;

DROP TABLE ann_cl, ann_cl_c, ann_cl_q;
DROP FUNCTION ann_cl_recall();
