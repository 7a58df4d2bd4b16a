-- engram tables with every core index AM, index/bitmap/parallel scans
CREATE TABLE am_ix (id int NOT NULL, t text, val int, tags int[],
                    doc tsvector, b box)
  USING engram;
INSERT INTO am_ix
  SELECT g, 'k' || (g % 500), g % 97, ARRAY[g % 10, g % 7],
         to_tsvector('simple', 'word' || (g % 50) || ' common'),
         box(point(g % 100, g / 100), point(g % 100 + 1, g / 100 + 1))
  FROM generate_series(1, 3000) g;

CREATE UNIQUE INDEX am_ix_id ON am_ix USING btree (id);
CREATE INDEX am_ix_t ON am_ix USING hash (t);
CREATE INDEX am_ix_tags ON am_ix USING gin (tags);
CREATE INDEX am_ix_doc ON am_ix USING gist (doc);
CREATE INDEX am_ix_b ON am_ix USING gist (b);
CREATE INDEX am_ix_brin ON am_ix USING brin (id) WITH (pages_per_range = 2);
CREATE INDEX am_ix_val ON am_ix (val) WHERE val < 10;
CREATE INDEX am_ix_expr ON am_ix ((id % 1000));

SET enable_seqscan = off;
SET enable_bitmapscan = off;

EXPLAIN (COSTS OFF) SELECT id, t FROM am_ix WHERE id = 1234;
SELECT id, t, val FROM am_ix WHERE id = 1234;
SELECT count(*), min(id), max(id) FROM am_ix WHERE id BETWEEN 100 AND 199;
EXPLAIN (COSTS OFF) SELECT id FROM am_ix WHERE t = 'k42';
SELECT array_agg(id ORDER BY id) FROM am_ix WHERE t = 'k42';
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE b && box(point(10,10), point(11,11));
SELECT id FROM am_ix WHERE b && box(point(10.2,10.2), point(10.8,10.8)) ORDER BY id;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE val < 5;
SELECT count(*) FROM am_ix WHERE val < 5;
SELECT count(*) FROM am_ix WHERE id % 1000 = 7;
-- ordered index scan, backward too
SELECT id FROM am_ix WHERE id > 2990 ORDER BY id DESC LIMIT 3;

-- bitmap scans (GIN only does bitmaps)
SET enable_indexscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE tags @> ARRAY[3, 5];
SELECT count(*) FROM am_ix WHERE tags @> ARRAY[3, 5];
SELECT count(*) FROM am_ix WHERE id % 70 = 33 AND tags @> ARRAY[3, 5];
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE doc @@ 'word7'::tsquery;
SELECT count(*) FROM am_ix WHERE doc @@ 'word7'::tsquery;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE id BETWEEN 1000 AND 1100;
SELECT count(*), sum(id) FROM am_ix WHERE id BETWEEN 1000 AND 1100;
-- BRIN only gives lossy pages
SET enable_indexscan = off;
DROP INDEX am_ix_id;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE id BETWEEN 1000 AND 1100;
SELECT count(*), sum(id) FROM am_ix WHERE id BETWEEN 1000 AND 1100;
-- GIN bitmap with many matches
SELECT count(*) FROM am_ix WHERE tags @> ARRAY[1];
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET enable_seqscan;

-- uniqueness is enforced through index fetches with a dirty snapshot
CREATE UNIQUE INDEX am_ix_id ON am_ix (id);
INSERT INTO am_ix (id) VALUES (5);
INSERT INTO am_ix (id) VALUES (3001);
BEGIN;
INSERT INTO am_ix (id) VALUES (3002);
INSERT INTO am_ix (id) VALUES (3002);
ROLLBACK;
-- an aborted row does not block a new one
INSERT INTO am_ix (id) VALUES (3002);
SELECT count(*) FROM am_ix WHERE id > 3000;
CREATE UNIQUE INDEX am_ix_val_unique ON am_ix (val);

-- CREATE INDEX CONCURRENTLY
CREATE INDEX CONCURRENTLY am_ix_val_c ON am_ix (val, id);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'am_ix_val_c'::regclass;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM am_ix WHERE val = 13 AND id < 200;
SELECT id FROM am_ix WHERE val = 13 AND id < 200 ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
REINDEX TABLE am_ix;
SELECT count(*) FROM am_ix WHERE val = 13;

-- parallel sequential scan
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM am_ix;
SELECT count(*), sum(id) FROM am_ix;
SELECT count(*) FROM am_ix WHERE t LIKE 'k1%';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- parallel index build: workers scan blocks through the parallel scan
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
SET client_min_messages = debug1;
CREATE INDEX am_ix_par ON am_ix (val, id);
RESET client_min_messages;
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), sum(id) FROM am_ix WHERE val >= 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id) FROM am_ix WHERE val >= 0;
DROP INDEX am_ix_par;

-- ANALYZE gives sane statistics
ANALYZE am_ix;
SELECT reltuples BETWEEN 2900 AND 3100 AS reltuples_ok, relpages > 0 AS has_pages
  FROM pg_class WHERE relname = 'am_ix';
SELECT n_distinct > 0 OR n_distinct < 0 AS has_stats FROM pg_stats
 WHERE tablename = 'am_ix' AND attname = 'val';

-- TABLESAMPLE
SELECT count(*) FROM am_ix TABLESAMPLE SYSTEM (100);
SELECT count(*) FROM am_ix TABLESAMPLE BERNOULLI (100);
SELECT count(*) BETWEEN 900 AND 2100 AS about_half
  FROM am_ix TABLESAMPLE BERNOULLI (50) REPEATABLE (7);
SELECT count(*) BETWEEN 300 AND 2700 AS some_pages
  FROM am_ix TABLESAMPLE SYSTEM (50) REPEATABLE (7);
SELECT count(*) FROM am_ix TABLESAMPLE SYSTEM (0);

-- BRIN summarizes new ranges through the AM's range scan
INSERT INTO am_ix (id, val) SELECT g, g % 97 FROM generate_series(5001, 6000) g;
SELECT brin_summarize_new_values('am_ix_brin') > 0 AS summarized;
SET enable_seqscan = off;
SET enable_indexscan = off;
DROP INDEX am_ix_id;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_ix WHERE id BETWEEN 5500 AND 5599;
SELECT count(*), sum(id) FROM am_ix WHERE id BETWEEN 5500 AND 5599;
RESET enable_seqscan;
RESET enable_indexscan;

-- rows deleted before an index build are not in the index
DELETE FROM am_ix WHERE id % 4 = 0;
CREATE INDEX am_ix_after_delete ON am_ix (id);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), sum(id) FROM am_ix WHERE id > 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id) FROM am_ix WHERE id > 0;

-- tiny rows: line pointers never go past MaxHeapTuplesPerPage (291)
CREATE TABLE am_tiny () USING engram;
INSERT INTO am_tiny SELECT FROM generate_series(1, 2000);
SELECT count(*), max((ctid::text::point)[1]) <= 291 AS offsets_ok,
       max((ctid::text::point)[1]) > 200 AS dense
  FROM am_tiny;
CREATE TABLE am_tiny2 (b bool) USING engram;
INSERT INTO am_tiny2 SELECT true FROM generate_series(1, 2000);
CREATE INDEX ON am_tiny2 (b);
SET enable_seqscan = off;
SELECT count(*) FROM am_tiny2 WHERE b;
RESET enable_seqscan;

DROP TABLE am_ix, am_tiny, am_tiny2;
