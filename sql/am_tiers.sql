-- every AM read path on rows whose bodies are WARM or COLD
CREATE TABLE am_tr (id int PRIMARY KEY, body text, n int) USING engram;
INSERT INTO am_tr
  SELECT g, repeat('remembered thing ' || g || ' ', 1 + g % 7), g % 10
  FROM generate_series(1, 1500) g;
CREATE TABLE am_tr_ref AS SELECT * FROM am_tr;
CREATE FUNCTION am_tr_same() RETURNS boolean LANGUAGE sql AS $$
  SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM am_tr t) =
         (SELECT md5(string_agg(r::text, '|' ORDER BY id)) FROM am_tr_ref r)
$$;

SELECT count(*) > 0 AS moved FROM engram.migrate('am_tr', target => 'warm');
-- then all of them COLD (chunks)
SELECT count(*) > 0 AS moved FROM engram.migrate('am_tr', target => 'cold');
SELECT engram.tier_of('am_tr', ctid) AS tier, count(*) > 0 AS some
  FROM am_tr GROUP BY 1 ORDER BY 1;
SELECT am_tr_same();

-- TID range scan and scroll cursor over decoded rows
SELECT count(*) = (SELECT count(*) FROM am_tr WHERE (ctid::text::point)[0] < 3) AS same
  FROM am_tr WHERE ctid < '(3,0)';
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id, length(body) FROM am_tr;
FETCH LAST FROM c;
FETCH BACKWARD 1 FROM c;
FETCH FIRST FROM c;
COMMIT;

-- parallel seq scan
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*), sum(length(body)) = (SELECT sum(length(body)) FROM am_tr_ref) AS same
  FROM am_tr;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- sampling and statistics
SELECT count(*) FROM am_tr TABLESAMPLE BERNOULLI (100);
SELECT count(*) FROM am_tr TABLESAMPLE SYSTEM (100);
ANALYZE am_tr;
SELECT reltuples BETWEEN 1400 AND 1600 AS reltuples_ok FROM pg_class WHERE relname = 'am_tr';
SELECT avg_width > 0 AS has_width FROM pg_stats WHERE tablename = 'am_tr' AND attname = 'body';

-- index builds decode bodies: plain, concurrent, expression
CREATE INDEX am_tr_body ON am_tr (left(body, 30));
CREATE INDEX CONCURRENTLY am_tr_n ON am_tr (n, id);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT id FROM am_tr WHERE left(body, 30) = left('remembered thing 78 remembered thing 78 ', 30);
SELECT count(*), sum(id) FROM am_tr WHERE n = 3;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id) FROM am_tr WHERE n = 3;

-- rewrites keep every row's tier (ADR 0010) and the same contents
CLUSTER am_tr USING am_tr_n;
SELECT engram.tier_of('am_tr', ctid) AS tier, count(*) FROM am_tr GROUP BY 1 ORDER BY 1;
SELECT am_tr_same();
SELECT count(*) AS problems FROM engram.verify('am_tr');
SELECT count(*) > 0 AS moved FROM engram.migrate('am_tr', target => 'hot');
VACUUM FULL am_tr;
SELECT engram.tier_of('am_tr', ctid) AS tier, count(*) > 0 AS present FROM am_tr GROUP BY 1 ORDER BY 1;
SELECT am_tr_same();
SELECT count(*) > 0 AS moved FROM engram.migrate('am_tr', target => 'warm');
ALTER TABLE am_tr SET ACCESS METHOD heap;
SELECT am_tr_same();
ALTER TABLE am_tr SET ACCESS METHOD engram;
SELECT am_tr_same();

DROP TABLE am_tr, am_tr_ref;
DROP FUNCTION am_tr_same();
