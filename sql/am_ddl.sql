-- engram tables: TRUNCATE, VACUUM FULL, CLUSTER, SET ACCESS METHOD,
-- SET TABLESPACE, unlogged and temporary tables, wide vectors
CREATE TABLE am_d (id int PRIMARY KEY, t text, pad text) USING engram;
INSERT INTO am_d SELECT g, 'v' || g, repeat('x', g % 300)
  FROM generate_series(1, 2000) g;
-- a function, not a view, so that column types may change below
CREATE FUNCTION am_d_sum(OUT n bigint, OUT h text) LANGUAGE sql AS $$
  SELECT count(*), md5(string_agg(id || ':' || t || ':' || pad, ',' ORDER BY id))
  FROM am_d $$;
CREATE TEMP TABLE am_d_before AS SELECT * FROM am_d_sum();

-- TRUNCATE in a transaction that rolls back, then for real
BEGIN;
TRUNCATE am_d;
SELECT count(*) FROM am_d;
ROLLBACK;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();

-- VACUUM FULL keeps every row and the indexes work afterwards
VACUUM FULL am_d;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();
SET enable_seqscan = off;
SELECT id, t FROM am_d WHERE id = 1500;
RESET enable_seqscan;

-- CLUSTER writes rows in index order
CREATE INDEX am_d_t ON am_d (t);
CLUSTER am_d USING am_d_t;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();
SELECT count(*) AS out_of_order FROM
  (SELECT t, lag(t) OVER (ORDER BY ctid) AS prev FROM am_d) s
  WHERE prev > t;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'am_d';

-- CLUSTER on a GiST index goes through an index scan
CREATE TABLE am_pts (id int, p point) USING engram;
INSERT INTO am_pts SELECT g, point(g % 37, g % 41) FROM generate_series(1, 1500) g;
DELETE FROM am_pts WHERE id % 3 = 0;
CREATE INDEX am_pts_p ON am_pts USING gist (p);
CLUSTER am_pts USING am_pts_p;
SELECT count(*), sum(id), count(DISTINCT ctid) FROM am_pts;
SET enable_seqscan = off;
SELECT count(*) FROM am_pts WHERE p <@ box(point(0,0), point(5,5));
RESET enable_seqscan;
SELECT count(*) FROM am_pts WHERE p <@ box(point(0,0), point(5,5));
DROP TABLE am_pts;

-- a rewrite after a column was added and dropped
ALTER TABLE am_d ADD COLUMN extra int DEFAULT 7;
ALTER TABLE am_d DROP COLUMN extra;
VACUUM FULL am_d;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();

-- a rewriting ALTER TABLE
ALTER TABLE am_d ALTER COLUMN id TYPE bigint;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();

-- heap <-> engram round trip
ALTER TABLE am_d SET ACCESS METHOD heap;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'am_d';
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();
ALTER TABLE am_d SET ACCESS METHOD engram;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'am_d';
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();
CREATE TABLE am_d_heap (LIKE am_d) USING heap;
INSERT INTO am_d_heap SELECT * FROM am_d;
CREATE TABLE am_d_back USING engram AS SELECT * FROM am_d_heap;
SELECT count(*) FROM (SELECT * FROM am_d EXCEPT SELECT * FROM am_d_back) s;

-- SET TABLESPACE copies the files
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE am_ts LOCATION '';
ALTER TABLE am_d SET TABLESPACE am_ts;
SELECT n, h = (SELECT h FROM am_d_before) AS same FROM am_d_sum();
ALTER TABLE am_d SET TABLESPACE pg_default;
DROP TABLESPACE am_ts;

TRUNCATE am_d;
SELECT count(*) FROM am_d;
INSERT INTO am_d VALUES (1, 'again', '');
SELECT * FROM am_d;

-- unlogged and temporary tables
CREATE UNLOGGED TABLE am_unlogged (id int, t text) USING engram;
INSERT INTO am_unlogged SELECT g, 'u' || g FROM generate_series(1, 500) g;
CREATE INDEX ON am_unlogged (id);
SELECT count(*), sum(id) FROM am_unlogged;
SELECT relpersistence FROM pg_class WHERE relname = 'am_unlogged';
-- its empty init fork exists (the table is reset to it after a crash)
SELECT (pg_stat_file(pg_relation_filepath('am_unlogged') || '_init')).size AS init_size;
VACUUM FULL am_unlogged;
SELECT (pg_stat_file(pg_relation_filepath('am_unlogged') || '_init')).size AS init_size;
SELECT count(*), sum(id) FROM am_unlogged;
ALTER TABLE am_unlogged SET LOGGED;
SELECT count(*), sum(id) FROM am_unlogged;
ALTER TABLE am_unlogged SET UNLOGGED;
SELECT (pg_stat_file(pg_relation_filepath('am_unlogged') || '_init')).size AS init_size;
SELECT count(*), sum(id) FROM am_unlogged;
-- engram as the default table access method
SET default_table_access_method = engram;
CREATE TABLE am_default (id int);
INSERT INTO am_default SELECT generate_series(1, 10);
SELECT a.amname, (SELECT count(*) FROM am_default) AS n
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'am_default';
RESET default_table_access_method;
DROP TABLE am_default;
CREATE TEMP TABLE am_temp (id int, t text) USING engram;
INSERT INTO am_temp SELECT g, 't' || g FROM generate_series(1, 500) g;
CREATE INDEX ON am_temp (id);
SET enable_seqscan = off;
SELECT t FROM am_temp WHERE id = 250;
RESET enable_seqscan;
SELECT count(*) FROM am_temp;
CLUSTER am_temp USING am_temp_id_idx;
SELECT count(*), sum(id) FROM am_temp;

-- COPY FREEZE (rows stored with frozen xmin; the xmin column shows the raw xid)
BEGIN;
CREATE TABLE am_frozen (id int, t text) USING engram;
COPY am_frozen FROM STDIN (FREEZE);
1	one
2	two
\.
COMMIT;
SELECT id, t FROM am_frozen ORDER BY id;
DROP TABLE am_frozen;

-- materialized views stored as engram
CREATE MATERIALIZED VIEW am_mv USING engram AS
  SELECT g AS id, g * 2 AS twice FROM generate_series(1, 300) g;
CREATE UNIQUE INDEX am_mv_id ON am_mv (id);
SELECT count(*), sum(twice) FROM am_mv;
REFRESH MATERIALIZED VIEW am_mv;
SELECT count(*), sum(twice) FROM am_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY am_mv;
SELECT count(*), sum(twice) FROM am_mv;
DROP MATERIALIZED VIEW am_mv;

-- a 16000-dimension vector survives storage and rewrites
CREATE TABLE am_vec (id int, v engram.vector) USING engram;
INSERT INTO am_vec
  SELECT 1, ('[' || string_agg((g * 0.5)::text, ',') || ']')::engram.vector
  FROM generate_series(1, 16000) g;
SELECT md5(v::text) = (SELECT md5(('[' || string_agg((g * 0.5)::text, ',') || ']')::engram.vector::text)
                        FROM generate_series(1, 16000) g) AS same
  FROM am_vec;
VACUUM FULL am_vec;
SELECT md5(v::text) = (SELECT md5(('[' || string_agg((g * 0.5)::text, ',') || ']')::engram.vector::text)
                        FROM generate_series(1, 16000) g) AS same
  FROM am_vec;

DROP TABLE am_d_heap, am_d_back, am_unlogged, am_vec;
DROP FUNCTION am_d_sum();
DROP TABLE am_d;
