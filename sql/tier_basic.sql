-- tiered storage of engram tables: HOT, WARM (lz4 per row), COLD (zstd
-- chunks); contents must be identical through every move
CREATE TABLE tier_t (id int PRIMARY KEY, body text, emb engram.vector(8), n int)
  USING engram;
CREATE TABLE tier_h (id int PRIMARY KEY, body text, emb engram.vector(8), n int);
INSERT INTO tier_t
  SELECT g, repeat('memory ' || g || ' about the garden and the sea; ', 1 + g % 9),
         engram.array_to_vector(ARRAY(SELECT round(sin(g * i)::numeric, 3)::float4
                                      FROM generate_series(1, 8) i), 8, true),
         g % 5
  FROM generate_series(1, 1200) g;
INSERT INTO tier_t VALUES (5000, NULL, NULL, NULL), (5001, '', '[0,0,0,0,0,0,0,0]', 0);
INSERT INTO tier_h SELECT * FROM tier_t;

CREATE FUNCTION tier_same() RETURNS boolean LANGUAGE sql AS $$
  SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM tier_t t) =
         (SELECT md5(string_agg(h::text, '|' ORDER BY id)) FROM tier_h h)
$$;
-- the same checks through a seq scan, an index scan and a bitmap scan
CREATE FUNCTION tier_reads() RETURNS TABLE(scan text, ok boolean) LANGUAGE plpgsql AS $$
DECLARE
  want text;
BEGIN
  SELECT md5(string_agg(h::text, '|' ORDER BY id)) INTO want
    FROM tier_h h WHERE id BETWEEN 100 AND 700;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off;
  SET LOCAL enable_seqscan = on;
  scan := 'seq';
  SELECT md5(string_agg(t::text, '|' ORDER BY id)) = want INTO ok
    FROM tier_t t WHERE id BETWEEN 100 AND 700;
  RETURN NEXT;
  SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
  scan := 'index';
  SELECT md5(string_agg(t::text, '|' ORDER BY id)) = want INTO ok
    FROM tier_t t WHERE id BETWEEN 100 AND 700;
  RETURN NEXT;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = on;
  scan := 'bitmap';
  SELECT md5(string_agg(t::text, '|' ORDER BY id)) = want INTO ok
    FROM tier_t t WHERE id BETWEEN 100 AND 700;
  RETURN NEXT;
END
$$;
CREATE VIEW tier_v AS
  SELECT tier, rows, raw_bytes,
         CASE WHEN rows = 0 THEN NULL ELSE body_bytes < raw_bytes END AS compressed
  FROM engram.tier_stats('tier_t');

SELECT * FROM tier_v;
SELECT tier_same();

-- HOT -> WARM
SELECT * FROM engram.migrate('tier_t', target => 'warm');
SELECT * FROM tier_v;
SELECT engram.tier_of('tier_t', ctid), count(*) FROM tier_t GROUP BY 1 ORDER BY 1;
SELECT tier_same();
SELECT * FROM tier_reads();
SELECT * FROM engram.verify('tier_t');
-- a second pass has nothing to do
SELECT * FROM engram.migrate('tier_t', target => 'warm');

-- WARM -> COLD
SELECT * FROM engram.migrate('tier_t', target => 'cold');
SELECT * FROM tier_v;
SELECT tier_same();
SELECT * FROM tier_reads();
SELECT * FROM engram.verify('tier_t');
-- COLD rows share chunk pages
SELECT count(*) > 1 AND count(*) < 100 AS few_chunks FROM (
  SELECT DISTINCT (ctid::text::point)[0] FROM tier_t) s;

-- DML on COLD rows (same on the heap copy)
UPDATE tier_t SET n = n + 100 WHERE id % 10 = 0;
UPDATE tier_h SET n = n + 100 WHERE id % 10 = 0;
DELETE FROM tier_t WHERE id % 7 = 0;
DELETE FROM tier_h WHERE id % 7 = 0;
SELECT tier_same();
SELECT engram.tier_of('tier_t', ctid), count(*) FROM tier_t GROUP BY 1 ORDER BY 1;
VACUUM tier_t;
SELECT tier_same();
SELECT * FROM tier_reads();
SELECT * FROM engram.verify('tier_t');

-- COLD -> HOT (the updated HOT rows stay)
SELECT * FROM engram.migrate('tier_t', target => 'hot');
SELECT * FROM tier_v;
SELECT tier_same();
SELECT * FROM tier_reads();
-- no chunk page is referenced any more: all reclaimed
SELECT * FROM engram.verify('tier_t');

-- HOT -> COLD directly, then DML and VACUUM on COLD rows, then WARM
SELECT direction FROM engram.migrate('tier_t', target => 'cold');
DELETE FROM tier_t WHERE id % 3 = 0;
DELETE FROM tier_h WHERE id % 3 = 0;
UPDATE tier_t SET body = upper(body) WHERE id % 11 = 0;
UPDATE tier_h SET body = upper(body) WHERE id % 11 = 0;
VACUUM tier_t;
SELECT tier_same();
SELECT direction FROM engram.migrate('tier_t', target => 'warm');
SELECT * FROM tier_v;
SELECT tier_same();
SELECT * FROM tier_reads();
SELECT * FROM engram.verify('tier_t');
-- UPDATE and DELETE of WARM rows
UPDATE tier_t SET emb = NULL WHERE id % 13 = 0;
UPDATE tier_h SET emb = NULL WHERE id % 13 = 0;
DELETE FROM tier_t WHERE id % 17 = 0;
DELETE FROM tier_h WHERE id % 17 = 0;
VACUUM tier_t;
SELECT tier_same();
SELECT * FROM engram.verify('tier_t');

-- max_bytes limits a pass
SELECT direction, rows > 0 AND rows < 50 AS partial
  FROM engram.migrate('tier_t', max_bytes => 2000, target => 'cold');
SELECT tier_same();

-- policy: never-read rows are first stamped, then judged by age
SELECT direction FROM engram.migrate('tier_t', target => 'hot');
SET engram.warm_after = 0;
SET engram.cold_after = '1h';
SELECT direction, rows = (SELECT count(*) FROM tier_t) AS all_rows
  FROM engram.migrate('tier_t');
SELECT direction FROM engram.migrate('tier_t');
SELECT engram.tier_of('tier_t', ctid), count(*) FROM tier_t GROUP BY 1 ORDER BY 1;
-- reading rows makes them HOT again at the next pass
SELECT engram.record_access('tier_t', ctid) FROM tier_t WHERE id IN (1, 2, 3);
SELECT access_count, last_access IS NOT NULL AS has_last
  FROM engram.access_history('tier_t', (SELECT ctid FROM tier_t WHERE id = 2));
SET engram.warm_after = '1h';
SET engram.cold_after = '2h';
SELECT * FROM engram.migrate('tier_t');
SELECT id, engram.tier_of('tier_t', ctid) FROM tier_t WHERE id <= 5 ORDER BY id;
SELECT tier_same();
-- the access history survived the move and is in the row header
SELECT access_count FROM engram.access_history('tier_t', (SELECT ctid FROM tier_t WHERE id = 2));
-- read twice more in one transaction, and once in one that aborts
BEGIN;
SELECT engram.record_access('tier_t', ctid) FROM tier_t WHERE id = 2;
SELECT engram.record_access('tier_t', ctid) FROM tier_t WHERE id = 2;
-- this transaction sees its own reads
SELECT access_count FROM engram.access_history('tier_t', (SELECT ctid FROM tier_t WHERE id = 2));
COMMIT;
BEGIN;
SELECT engram.record_access('tier_t', ctid) FROM tier_t WHERE id = 2;
ROLLBACK;
SELECT access_count FROM engram.access_history('tier_t', (SELECT ctid FROM tier_t WHERE id = 2));
-- no new row version: same TID, same xmin
SELECT ctid = '(0,2)' AS same_tid FROM tier_t WHERE id = 2;
RESET engram.warm_after;
RESET engram.cold_after;

-- hot_budget: the coldest HOT rows go WARM first
SELECT direction FROM engram.migrate('tier_t', target => 'hot');
SET engram.hot_budget = '4kB';
SELECT direction FROM engram.migrate('tier_t');
SELECT engram.tier_of('tier_t', ctid), count(*) FROM tier_t GROUP BY 1 ORDER BY 1;
SELECT id FROM tier_t WHERE engram.tier_of('tier_t', ctid) = 'hot' ORDER BY id;
RESET engram.hot_budget;
SELECT tier_same();
SELECT * FROM engram.verify('tier_t');

-- the view over all engram tables
SELECT relation, tier, rows FROM engram.tier_stats_all WHERE relation = 'tier_t'::regclass;

-- rows that do not compress stay HOT
CREATE TABLE tier_rand (id int, b bytea) USING engram;
INSERT INTO tier_rand SELECT g, decode(md5(g::text) || md5((g * 7)::text), 'hex') FROM generate_series(1, 50) g;
SELECT * FROM engram.migrate('tier_rand', target => 'warm');
SELECT tier, rows FROM engram.tier_stats('tier_rand');

-- a TID that is not a row
SELECT engram.tier_of('tier_t', '(0,999)');
SELECT engram.tier_of('tier_t', '(999999,1)');
SELECT * FROM engram.access_history('tier_t', '(999999,1)');

-- errors
SELECT * FROM engram.migrate('tier_t', target => 'lukewarm');
SELECT * FROM engram.migrate('tier_t', max_bytes => -1);
SELECT * FROM engram.migrate(NULL);
SELECT * FROM engram.migrate('tier_h');
SELECT * FROM engram.tier_stats('tier_h');
SELECT * FROM engram.verify('tier_h');
SELECT engram.tier_of('tier_h', '(0,1)');
SELECT engram.record_access('tier_h', '(0,1)');
SELECT * FROM engram.access_history('tier_h', '(0,1)');
SELECT * FROM engram.migrate('tier_v');
SELECT * FROM engram.migrate('tier_t_pkey');
BEGIN READ ONLY;
SELECT * FROM engram.migrate('tier_t');
ROLLBACK;
CREATE ROLE tier_nobody;
SET ROLE tier_nobody;
SELECT * FROM engram.migrate('tier_t');
SELECT * FROM engram.tier_stats('tier_t');
RESET ROLE;
DROP ROLE tier_nobody;

DROP TABLE tier_t, tier_h, tier_rand CASCADE;
DROP FUNCTION tier_same(), tier_reads();
