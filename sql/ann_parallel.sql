-- engram_hnsw: parallel CREATE INDEX (issue 21).  With
-- max_parallel_maintenance_workers = 1 the build launches one worker (the
-- meta page records it: bytes 58-59 of block 0, AnnMetaPageData.build_workers),
-- and the index answers LIMIT queries exactly as an exact scan does, with
-- every row reachable (L2; cosine CONCURRENTLY; a column without typmod);
-- a bad vector or an error in a participant leaves no index.
SET search_path = public, engram;
SET max_parallel_workers_per_gather = 0;
CREATE EXTENSION IF NOT EXISTS pageinspect;

CREATE FUNCTION pg_temp.build_workers(idx regclass) RETURNS int
LANGUAGE sql AS $$
	SELECT get_byte(p, 58) + 256 * get_byte(p, 59) FROM get_raw_page(idx::text, 0) p
$$;

CREATE TABLE ann_par (id int, v engram.vector(16)) USING engram;
INSERT INTO ann_par
SELECT i, (SELECT array_agg((sin(i * 0.37 + g * 1.71) + cos(i * g * 0.013) + 3)::float4)
           FROM generate_series(1, 16) g)::engram.vector
FROM generate_series(1, 4000) i;
CREATE TABLE ann_par_q AS
SELECT q, (SELECT array_agg((sin(q * 7.1 + g * 0.61) + 3)::float4)
           FROM generate_series(1, 16) g)::engram.vector AS qv
FROM generate_series(1, 10) q;

-- a table this small gets workers only without the size threshold
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 1;
CREATE INDEX ann_par_l2 ON ann_par USING engram_hnsw (v vector_l2_ops);
SELECT pg_temp.build_workers('ann_par_l2') AS l2_workers;
-- without workers: a serial build says 0
SET max_parallel_maintenance_workers = 0;
CREATE INDEX ann_par_l2_serial ON ann_par USING engram_hnsw (v vector_l2_ops);
SELECT pg_temp.build_workers('ann_par_l2_serial') AS serial_workers;
DROP INDEX ann_par_l2_serial;
SET max_parallel_maintenance_workers = 1;

-- LIMIT queries: with a high ef_search the index answers as exact search
CREATE FUNCTION pg_temp.mismatches(op text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint := 0;
	r record;
	a int[];
	b int[];
BEGIN
	FOR r IN SELECT q, qv FROM ann_par_q ORDER BY q LOOP
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_indexscan = on;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ann_par ORDER BY v %s $1 LIMIT 10) s', op)
			INTO a USING r.qv;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ann_par ORDER BY v %s $1, id LIMIT 10) s', op)
			INTO b USING r.qv;
		IF a IS DISTINCT FROM b THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
SET engram.ef_search = 500;
SELECT pg_temp.mismatches('<->') AS l2_mismatches;
-- every row is reachable through the index
SET enable_seqscan = off;
SET engram.ann_max_scan_tuples = 100000;
SELECT count(*) AS l2_rows FROM (SELECT id FROM ann_par ORDER BY v <-> '[3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3]' LIMIT 100000) s;
RESET enable_seqscan;
DROP INDEX ann_par_l2;

-- cosine, CONCURRENTLY (an MVCC snapshot shared with the worker)
CREATE INDEX CONCURRENTLY ann_par_cos ON ann_par USING engram_hnsw (v vector_cosine_ops);
SELECT pg_temp.build_workers('ann_par_cos') AS cos_workers;
SELECT pg_temp.mismatches('<=>') AS cos_mismatches;
DROP INDEX ann_par_cos;

-- a column without typmod: the leader learns the dimension first
CREATE TABLE ann_par_u (id int, v engram.vector);
INSERT INTO ann_par_u SELECT id, v FROM ann_par;
CREATE INDEX ann_par_u_cos ON ann_par_u USING engram_hnsw (v);
SELECT pg_temp.build_workers('ann_par_u_cos') AS untyped_workers;
SET enable_seqscan = off;
SELECT count(*) AS untyped_rows FROM (SELECT id FROM ann_par_u ORDER BY v <=> '[3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,1]' LIMIT 100000) s;
RESET enable_seqscan;
-- a vector of another dimension: refused, whichever participant meets it
DROP INDEX ann_par_u_cos;
INSERT INTO ann_par_u VALUES (0, '[1,2,3]');
\set VERBOSITY terse
CREATE INDEX ann_par_u_cos ON ann_par_u USING engram_hnsw (v);
\set VERBOSITY default
SELECT to_regclass('ann_par_u_cos') IS NULL AS no_index;
DROP TABLE ann_par_u;

-- an error in a participant (the leader or the worker) aborts the build
SET engram.fault_point = 'ann_build_parallel_insert';
SET engram.fault_action = 'error';
SET engram.fault_skip = 500;
\set VERBOSITY terse
CREATE INDEX ann_par_fault ON ann_par USING engram_hnsw (v vector_l2_ops);
\set VERBOSITY default
RESET engram.fault_point;
RESET engram.fault_action;
RESET engram.fault_skip;
SELECT to_regclass('ann_par_fault') IS NULL AS no_index;
SELECT count(*) AS table_rows FROM ann_par;

RESET engram.ef_search;
RESET engram.ann_max_scan_tuples;
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
DROP TABLE ann_par, ann_par_q;
DROP EXTENSION pageinspect;
