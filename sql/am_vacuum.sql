--
-- VACUUM of engram tables: removal of dead rows, slot reuse, index cleanup,
-- freezing, statistics, truncation.  Dead rows come from aborted inserts here
-- (no dependency on DELETE); am_vacuum_delete covers deleted rows.
--
CREATE TABLE am_vac (id int PRIMARY KEY, tags text[], body text) USING engram;
CREATE INDEX am_vac_tags ON am_vac USING gin (tags);

INSERT INTO am_vac
  SELECT g, ARRAY['keep', 't' || (g % 10)], repeat('x', 100)
  FROM generate_series(1, 400) g;

-- 400 rows of an aborted transaction, between two committed batches
BEGIN;
INSERT INTO am_vac
  SELECT g, ARRAY['gone'], repeat('x', 100) FROM generate_series(1001, 1400) g;
SELECT array_agg(ctid ORDER BY ctid)::text AS gone_ctids FROM am_vac WHERE id > 1000 \gset
ROLLBACK;
INSERT INTO am_vac
  SELECT g, ARRAY['keep', 't' || (g % 10)], repeat('x', 100)
  FROM generate_series(401, 800) g;
SELECT pg_relation_size('am_vac') AS size1 \gset

-- make sure the inserts' statistics are flushed before VACUUM overwrites them
SELECT pg_stat_force_next_flush();
VACUUM am_vac;

-- VACUUM's counts: 800 live rows, nothing dead left behind
SELECT n_live_tup, n_dead_tup FROM pg_stat_all_tables
 WHERE relid = 'am_vac'::regclass;
SELECT relname, reltuples FROM pg_class
 WHERE oid IN ('am_vac'::regclass, 'am_vac_pkey'::regclass) ORDER BY relname;
SELECT pg_relation_size('am_vac') = :size1 AS same_size;

-- new rows take the freed slots instead of extending the table
\c -
INSERT INTO am_vac
  SELECT g, ARRAY['new'], repeat('x', 100) FROM generate_series(2001, 2400) g;
SELECT pg_relation_size('am_vac') = :size1 AS table_did_not_grow;
SELECT count(*) > 0 AS slots_reused
  FROM am_vac WHERE id > 2000 AND ctid = ANY (:'gone_ctids'::tid[]);

-- indexes return only the right rows after slot reuse
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_vac WHERE id BETWEEN 1001 AND 1400;
SELECT count(*) FROM am_vac WHERE id BETWEEN 1001 AND 1400;
SELECT count(*), min(id), max(id) FROM am_vac WHERE id BETWEEN 2001 AND 2400;
SELECT id, tags FROM am_vac WHERE id IN (400, 401, 1200, 2200) ORDER BY id;
RESET enable_bitmapscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM am_vac WHERE tags @> '{gone}';
SELECT count(*) FROM am_vac WHERE tags @> '{gone}';
SELECT count(*) FROM am_vac WHERE tags @> '{new}';
SELECT count(*) FROM am_vac WHERE tags @> '{t3}';
RESET enable_seqscan;
SELECT count(*), count(DISTINCT id), sum(id) FROM am_vac;

-- a second VACUUM finds nothing to remove and the index agrees
VACUUM am_vac;
SET enable_seqscan = off;
SELECT count(*) FROM am_vac WHERE id > 0;
RESET enable_seqscan;

--
-- INDEX_CLEANUP off: dead rows lose their storage but keep their slots
-- (their index entries still exist) until a VACUUM that cleans the indexes
--
BEGIN;
INSERT INTO am_vac
  SELECT g, ARRAY['gone2'], repeat('y', 100) FROM generate_series(3001, 3200) g;
ROLLBACK;
VACUUM (INDEX_CLEANUP off) am_vac;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM am_vac WHERE id BETWEEN 3001 AND 3200;
RESET enable_bitmapscan;
SELECT count(*) FROM am_vac WHERE tags @> '{gone2}';
RESET enable_seqscan;
VACUUM (INDEX_CLEANUP on) am_vac;
\c -
INSERT INTO am_vac
  SELECT g, ARRAY['new2'], repeat('y', 100) FROM generate_series(4001, 4200) g;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM am_vac WHERE id BETWEEN 3001 AND 3200;
SELECT count(*) FROM am_vac WHERE id BETWEEN 4001 AND 4200;
RESET enable_bitmapscan;
SELECT count(*) FROM am_vac WHERE tags @> '{gone2}';
SELECT count(*) FROM am_vac WHERE tags @> '{new2}';
RESET enable_seqscan;

--
-- Truncation: empty pages at the end are given back
--
SELECT pg_relation_size('am_vac') AS size_before_tail \gset
BEGIN;
INSERT INTO am_vac
  SELECT g, ARRAY['tail'], repeat('z', 200) FROM generate_series(10001, 13000) g;
ROLLBACK;
SELECT pg_relation_size('am_vac') > :size_before_tail AS grew;
VACUUM (TRUNCATE off) am_vac;
SELECT pg_relation_size('am_vac') > :size_before_tail AS still_big;
VACUUM am_vac;
SELECT pg_relation_size('am_vac') = :size_before_tail AS truncated_back;
SELECT count(*) FROM am_vac;
SET enable_seqscan = off;
SELECT count(*) FROM am_vac WHERE id BETWEEN 10001 AND 13000;
RESET enable_seqscan;

--
-- FREEZE: relfrozenxid advances to (almost) the current xid
--
CREATE PROCEDURE am_vac_burn_xids(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM pg_catalog.txid_current();
    COMMIT;
  END LOOP;
END $$;
CALL am_vac_burn_xids(300);
SELECT age(relfrozenxid) AS age_before FROM pg_class
 WHERE oid = 'am_vac'::regclass \gset
SELECT :age_before >= 300 AS old_enough;
VACUUM (FREEZE) am_vac;
SELECT age(relfrozenxid) < 100 AS frozen_recently,
       age(relfrozenxid) < :age_before AS advanced
  FROM pg_class WHERE oid = 'am_vac'::regclass;
-- frozen rows stay visible and intact
SELECT count(*), sum(id) FROM am_vac;
-- pending statistics of the rolled-back batch above must not land after the
-- VACUUM's report (they are flushed at most once a second otherwise)
SELECT pg_stat_force_next_flush();
VACUUM (FREEZE, ANALYZE) am_vac;
SELECT n_live_tup, n_dead_tup FROM pg_stat_all_tables
 WHERE relid = 'am_vac'::regclass;

--
-- A table without indexes: dead rows are freed in one pass
--
CREATE TABLE am_vac_noidx (id int, body text) USING engram;
INSERT INTO am_vac_noidx SELECT g, repeat('a', 50) FROM generate_series(1, 300) g;
BEGIN;
INSERT INTO am_vac_noidx SELECT g, repeat('b', 50) FROM generate_series(301, 600) g;
SELECT array_agg(ctid)::text AS gone_ctids FROM am_vac_noidx WHERE id > 300 \gset
ROLLBACK;
INSERT INTO am_vac_noidx SELECT g, repeat('c', 50) FROM generate_series(601, 900) g;
VACUUM am_vac_noidx;
\c -
INSERT INTO am_vac_noidx SELECT g, repeat('d', 50) FROM generate_series(901, 1200) g;
SELECT count(*) > 0 AS slots_reused
  FROM am_vac_noidx WHERE id > 900 AND ctid = ANY (:'gone_ctids'::tid[]);
SELECT count(*), sum(id) FROM am_vac_noidx;

-- temporary and unlogged tables (generic WAL skips WAL for them)
CREATE TEMP TABLE am_vac_temp (id int PRIMARY KEY) USING engram;
INSERT INTO am_vac_temp SELECT generate_series(1, 100);
BEGIN; INSERT INTO am_vac_temp SELECT generate_series(101, 200); ROLLBACK;
VACUUM am_vac_temp;
INSERT INTO am_vac_temp SELECT generate_series(201, 300);
SELECT count(*), sum(id) FROM am_vac_temp;
CREATE UNLOGGED TABLE am_vac_unlogged (id int PRIMARY KEY) USING engram;
INSERT INTO am_vac_unlogged SELECT generate_series(1, 100);
BEGIN; INSERT INTO am_vac_unlogged SELECT generate_series(101, 200); ROLLBACK;
VACUUM (FREEZE) am_vac_unlogged;
SELECT count(*), sum(id) FROM am_vac_unlogged;

-- autovacuum settings are accepted and kept
ALTER TABLE am_vac SET (autovacuum_vacuum_scale_factor = 0.01,
                        autovacuum_vacuum_threshold = 10,
                        autovacuum_freeze_max_age = 100000000,
                        vacuum_index_cleanup = off,
                        vacuum_truncate = false);
SELECT reloptions FROM pg_class WHERE oid = 'am_vac'::regclass;
-- vacuum_index_cleanup = off is honoured: dead slots stay LP_DEAD, indexes right
BEGIN; INSERT INTO am_vac SELECT g, '{x}', 'x' FROM generate_series(20001, 20100) g; ROLLBACK;
VACUUM am_vac;
SET enable_seqscan = off;
SELECT count(*) FROM am_vac WHERE id BETWEEN 20001 AND 20100;
RESET enable_seqscan;
ALTER TABLE am_vac RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
                          autovacuum_freeze_max_age, vacuum_index_cleanup,
                          vacuum_truncate);

-- VACUUM of an empty table, and of a table with only dead rows
CREATE TABLE am_vac_empty (id int PRIMARY KEY) USING engram;
VACUUM am_vac_empty;
BEGIN; INSERT INTO am_vac_empty SELECT generate_series(1, 1000); ROLLBACK;
VACUUM am_vac_empty;
SELECT pg_relation_size('am_vac_empty') AS empty_size, count(*) FROM am_vac_empty;

DROP TABLE am_vac, am_vac_noidx, am_vac_temp, am_vac_unlogged, am_vac_empty;
DROP PROCEDURE am_vac_burn_xids(int);
