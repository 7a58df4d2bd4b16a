--
-- VACUUM after DELETE and UPDATE on engram tables: removal, slot reuse,
-- index cleanup, index tuple deletion during UPDATE bursts, freezing of
-- updated / multixact-locked rows.
--
CREATE TABLE am_vd (id int PRIMARY KEY, grp int, note text) USING engram;
CREATE INDEX am_vd_grp ON am_vd (grp);
INSERT INTO am_vd SELECT g, g % 10, 'n' || g FROM generate_series(1, 1000) g;
SELECT pg_relation_size('am_vd') AS size0 \gset
DELETE FROM am_vd WHERE id % 4 = 0;
SELECT pg_stat_force_next_flush();
VACUUM am_vd;
SELECT n_live_tup, n_dead_tup FROM pg_stat_all_tables WHERE relid = 'am_vd'::regclass;
SELECT relname, reltuples FROM pg_class
 WHERE oid IN ('am_vd'::regclass, 'am_vd_pkey'::regclass, 'am_vd_grp'::regclass)
 ORDER BY relname;

-- deleted slots are reused, the table does not grow, indexes stay right
\c -
INSERT INTO am_vd SELECT g, 99, 'new' || g FROM generate_series(2001, 2250) g;
SELECT pg_relation_size('am_vd') = :size0 AS table_did_not_grow;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM am_vd WHERE id % 4 = 0 AND id <= 1000;
SELECT count(*), min(id), max(id) FROM am_vd WHERE grp = 99;
SELECT count(*) FROM am_vd WHERE grp = 0;
SELECT id, grp, note FROM am_vd WHERE id IN (3, 4, 5, 2001, 2250) ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id) FROM am_vd;

-- UPDATE bursts on an unchanged indexed column: btree asks the table AM
-- which old versions are dead (bottom-up deletion) instead of splitting
CREATE TABLE am_vu (id int PRIMARY KEY, k int, v int) USING engram;
CREATE INDEX am_vu_k ON am_vu (k) WITH (deduplicate_items = off);
INSERT INTO am_vu SELECT g, g, 0 FROM generate_series(1, 300) g;
CREATE PROCEDURE am_vu_burst(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    UPDATE am_vu SET v = v + 1;
    COMMIT;
  END LOOP;
END $$;
CALL am_vu_burst(30);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), min(v), max(v) FROM am_vu WHERE k BETWEEN 1 AND 300;
SELECT count(*), min(v), max(v) FROM am_vu WHERE id BETWEEN 1 AND 300;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- 30 versions of 300 rows = 9000 index entries without deletion (> 25 pages)
SELECT pg_relation_size('am_vu_k') / 8192 AS index_pages \gset
SELECT :index_pages < 15 AS index_stayed_small;
VACUUM am_vu;
SELECT relname, reltuples FROM pg_class
 WHERE oid IN ('am_vu'::regclass, 'am_vu_k'::regclass, 'am_vu_pkey'::regclass)
 ORDER BY relname;
SET enable_seqscan = off;
SELECT count(*), sum(v) FROM am_vu WHERE k > 0;
RESET enable_seqscan;

-- freezing rows with multixact xmax (lock + update in a subtransaction)
BEGIN;
SELECT id FROM am_vu WHERE id <= 3 ORDER BY id FOR SHARE;
SAVEPOINT s1;
UPDATE am_vu SET v = -1 WHERE id <= 3;
RELEASE s1;
COMMIT;
BEGIN;
SELECT id FROM am_vu WHERE id BETWEEN 4 AND 6 ORDER BY id FOR KEY SHARE;
COMMIT;
CREATE PROCEDURE am_vd_burn_xids(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM pg_catalog.txid_current();
    COMMIT;
  END LOOP;
END $$;
CALL am_vd_burn_xids(100);
SELECT relminmxid AS minmxid_before FROM pg_class WHERE oid = 'am_vu'::regclass \gset
VACUUM (FREEZE) am_vu;
SELECT age(relfrozenxid) < 50 AS frozen_recently,
       relminmxid::text::bigint > :'minmxid_before'::text::bigint AS minmxid_advanced
  FROM pg_class WHERE oid = 'am_vu'::regclass;
SELECT id, k, v FROM am_vu WHERE id <= 6 ORDER BY id;
UPDATE am_vu SET v = 7 WHERE id <= 6;
DELETE FROM am_vu WHERE id = 6;
SELECT id, k, v FROM am_vu WHERE id <= 6 ORDER BY id;
VACUUM (FREEZE) am_vu;
SELECT count(*), sum(v) FROM am_vu;

-- delete everything: VACUUM gives all pages back
DELETE FROM am_vd;
VACUUM am_vd;
SELECT pg_relation_size('am_vd') AS size_after_delete_all, count(*) FROM am_vd;
INSERT INTO am_vd VALUES (1, 1, 'again');
SELECT * FROM am_vd;

DROP TABLE am_vd, am_vu;
DROP PROCEDURE am_vu_burst(int);
DROP PROCEDURE am_vd_burn_xids(int);
