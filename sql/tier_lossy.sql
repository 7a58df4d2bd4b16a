-- Lossy COLD vectors (issue 22 item: a per-table option, off by default):
-- engram.set_table_option(rel, 'cold_vectors', 'float16') rounds every
-- engram.vector of a row that goes COLD to float16's precision (11
-- significant bits, float4's range, kept as float4).  VALUES CHANGE.  Without the option COLD rows are
-- bit-identical to what was inserted.  ADR 0013.
SELECT setseed(0.13);
CREATE TABLE lz_src AS
  SELECT i AS id, 'note ' || i || ' ' || repeat(chr(97 + i % 26), 5 + i % 20) AS note,
         ARRAY(SELECT (random() * 2 - 1)::float4 FROM generate_series(1, 384) WHERE i > 0) AS v
  FROM generate_series(1, 400) i;
-- a few components at the ends: tiny (below half's range) and large
UPDATE lz_src SET v[1] = 3.0e-6, v[2] = -1.0e-30, v[3] = 60000.5 WHERE id = 7;
CREATE TABLE lz_h (id int PRIMARY KEY, note text, embedding engram.vector(384));
INSERT INTO lz_h SELECT id, note, v::engram.vector(384) FROM lz_src;
CREATE TABLE lz_e (LIKE lz_h INCLUDING ALL) USING engram;   -- default: lossless
CREATE TABLE lz_f (LIKE lz_h INCLUDING ALL) USING engram;   -- cold_vectors = float16
INSERT INTO lz_e SELECT * FROM lz_h;
INSERT INTO lz_f SELECT * FROM lz_h;
CREATE INDEX lz_f_ann ON lz_f USING engram_hnsw (embedding engram.vector_l2_ops);

-- the option: errors first
SELECT engram.set_table_option('lz_h', 'cold_vectors', 'float16');
SELECT engram.set_table_option('lz_f', 'cold_vector', 'float16');
SELECT engram.set_table_option('lz_f', 'cold_vectors', 'int4');
CREATE ROLE lz_other;
SET ROLE lz_other;
SELECT engram.set_table_option('lz_f', 'cold_vectors', 'float16');
INSERT INTO engram.table_option VALUES ('lz_f', 'float16');
INSERT INTO engram.table_option
  SELECT c.oid, 'float16', c.relowner, c.relnamespace, c.relname FROM pg_class c
  WHERE c.oid = 'lz_f'::regclass;
RESET ROLE;
SELECT count(*) AS options FROM engram.table_option;
SELECT engram.set_table_option('lz_f', 'cold_vectors', 'float16');
SELECT relation, cold_vectors FROM engram.table_option;

SELECT count(*) FROM engram.migrate('lz_e', target => 'cold');
SELECT count(*) FROM engram.migrate('lz_f', target => 'cold');
SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('lz_e');
SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('lz_f');

-- lossless by default: every COLD row bit-identical to heap's
SELECT count(*) AS differ FROM lz_h h JOIN lz_e e USING (id)
WHERE e.embedding::float4[]::text <> h.embedding::float4[]::text OR e.note <> h.note;

-- float16: every component keeps 11 significant bits (the low 13 mantissa
-- bits are zero), within 2^-11 of itself; text is untouched
SELECT count(*) AS low_bits_set FROM lz_h h JOIN lz_f f USING (id), unnest(f.embedding::float4[]) AS u(b)
WHERE (get_byte(float4send(b), 3) <> 0 OR get_byte(float4send(b), 2) & 31 <> 0);
SELECT count(*) AS changed_rows, sum(n) > 100000 AS many_components FROM (
  SELECT h.id, count(*) AS n FROM lz_h h JOIN lz_f f USING (id),
       unnest(h.embedding::float4[], f.embedding::float4[]) AS u(a, b)
  WHERE a <> b GROUP BY h.id) s;
SELECT max(abs(b::float8 - a::float8) / abs(a::float8)) <= 2 ^ -11 AS within_bound,
       max(abs(b::float8 - a::float8) / abs(a::float8)) > 2 ^ -12 AS bound_reached
FROM lz_h h JOIN lz_f f USING (id), unnest(h.embedding::float4[], f.embedding::float4[]) AS u(a, b)
WHERE a <> 0;
-- where halves have 11 bits (|x| in [2^-14, 65504]) that is the nearest
-- half: the halfvec cast rounds the same way
SELECT count(*) AS not_as_halfvec FROM lz_h h JOIN lz_f f USING (id),
       unnest(h.embedding::float4[], f.embedding::float4[],
              h.embedding::engram.halfvec::engram.vector::float4[]) AS u(a, b, hv)
WHERE abs(a) >= 2 ^ -14 AND b <> hv;
SELECT (f.embedding::float4[])[1:3] AS row7_ends FROM lz_f f WHERE id = 7;
-- a vector with a component that would round to infinity stays exact;
-- a tie rounds to even
CREATE TABLE lz_x (id int, v engram.vector(3)) USING engram;
INSERT INTO lz_x VALUES (1, '[3.4028235e38,1.1,2]'), (2, '[1.00048828125,1.00146484375,-3]');
SELECT engram.set_table_option('lz_x', 'cold_vectors', 'float16');
SELECT count(*) FROM engram.migrate('lz_x', target => 'cold');
SELECT id, v::float4[] FROM lz_x ORDER BY id;
DROP TABLE lz_x;
SELECT count(*) AS notes_differ FROM lz_h h JOIN lz_f f USING (id) WHERE f.note <> h.note;

-- COLD bodies smaller than the lossless table's (the relation keeps its
-- pages until VACUUM FULL packs it: TIDs do not move), and clean
SELECT pg_relation_size('lz_f') <= pg_relation_size('lz_e') AS not_larger,
       (SELECT body_bytes FROM engram.tier_stats('lz_f') WHERE tier = 'cold') * 10 <
       (SELECT body_bytes FROM engram.tier_stats('lz_e') WHERE tier = 'cold') * 8 AS bodies_under_80pct;
SELECT count(*) AS problems FROM engram.verify('lz_e');
SELECT count(*) AS problems FROM engram.verify('lz_f');

-- recall over lossy rows: the nearest row to each of 20 rows' original
-- vectors is that row, by the index and by a scan, at a distance within the
-- rounding's bound
SET search_path = public, engram;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT f.id FROM lz_f f ORDER BY f.embedding <-> '[1,2,3]'::vector LIMIT 1;
SELECT count(*) AS found, max(d) < 0.01 AS near FROM (
  SELECT q.id, n.id AS nid, n.d
  FROM lz_h q, LATERAL (SELECT f.id, f.embedding <-> q.embedding AS d FROM lz_f f
                        ORDER BY f.embedding <-> q.embedding LIMIT 1) n
  WHERE q.id % 20 = 0) s WHERE id = nid;
RESET enable_seqscan;
SELECT count(*) AS found FROM (
  SELECT q.id, (SELECT f.id FROM lz_f f ORDER BY f.embedding <-> q.embedding LIMIT 1) AS nid
  FROM lz_h q WHERE q.id % 20 = 0) s WHERE id = nid;
RESET search_path;

-- rounding is idempotent: VACUUM FULL keeps tiers and values; a row made
-- HOT again keeps its rounded values
CREATE TEMP TABLE lz_before AS SELECT id, embedding::float4[]::text AS t FROM lz_f;
VACUUM FULL lz_f;
VACUUM FULL lz_e;
SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('lz_f');
-- packed: whole relation beside heap, lossless and float16
SELECT pg_table_size('lz_e') <= pg_table_size('lz_h') AS lossless_not_larger,
       pg_table_size('lz_f') * 100 <= pg_table_size('lz_h') * 60 AS float16_under_060,
       pg_table_size('lz_f') * 100 <= pg_table_size('lz_e') * 65 AS float16_under_065_of_lossless;
SELECT count(*) AS changed FROM lz_before b JOIN lz_f f USING (id) WHERE f.embedding::float4[]::text <> b.t;
SELECT count(*) >= 0 FROM engram.migrate('lz_f', target => 'hot');
SELECT count(*) AS changed FROM lz_before b JOIN lz_f f USING (id) WHERE f.embedding::float4[]::text <> b.t;
SELECT count(*) AS problems FROM engram.verify('lz_f');

-- VACUUM FULL of HOT rows in a float16 table rounds only what goes COLD
CREATE TABLE lz_g (LIKE lz_h) USING engram;
INSERT INTO lz_g SELECT * FROM lz_h WHERE id <= 100;
SELECT engram.set_table_option('lz_g', 'cold_vectors', 'float16');
SELECT count(*) FROM engram.migrate('lz_g', 40000, 'cold');
VACUUM FULL lz_g;
SELECT count(*) FILTER (WHERE engram.tier_of('lz_g', g.ctid) = 'cold') > 0 AS some_cold,
       count(*) FILTER (WHERE engram.tier_of('lz_g', g.ctid) = 'hot') > 0 AS some_hot,
       count(*) FILTER (WHERE engram.tier_of('lz_g', g.ctid) = 'hot'
                          AND g.embedding::float4[]::text <> h.embedding::float4[]::text) AS hot_changed,
       count(*) FILTER (WHERE engram.tier_of('lz_g', g.ctid) = 'cold'
                          AND g.embedding::float4[]::text = h.embedding::float4[]::text) AS cold_exact
FROM lz_g g JOIN lz_h h USING (id);

-- back to lossless: rows going COLD from now on are exact
-- (the row stays, rounded: its rows rounded before keep their values)
SELECT engram.set_table_option('lz_g', 'cold_vectors', 'lossless');
SELECT cold_vectors, rounded FROM engram.table_option WHERE relation = 'lz_g'::regclass;
INSERT INTO lz_g SELECT * FROM lz_h WHERE id BETWEEN 101 AND 150;
SELECT count(*) FROM engram.migrate('lz_g', target => 'cold');
SELECT count(*) AS differ FROM lz_g g JOIN lz_h h USING (id)
WHERE g.id > 100 AND g.embedding::float4[]::text <> h.embedding::float4[]::text;

-- a dropped table's option goes with it, also when a role that does not
-- own it drops it (DROP SCHEMA ... CASCADE by the schema's owner)
CREATE SCHEMA lz_s AUTHORIZATION lz_other;
CREATE TABLE lz_s.t (v engram.vector(3)) USING engram;
SELECT engram.set_table_option('lz_s.t', 'cold_vectors', 'float16');
SET ROLE lz_other;
DROP SCHEMA lz_s CASCADE;
RESET ROLE;
DROP TABLE lz_g;
SELECT relation, cold_vectors FROM engram.table_option;
DROP TABLE lz_f;
SELECT count(*) AS options FROM engram.table_option;

-- a row that outlives its table never applies to a later table with that
-- OID.  The drop trigger does not run for a TEMP table dropped at session
-- end, nor while event triggers are disabled: the row stays, and its OID
-- may come to another role's table.  Each row records the owner, schema and
-- name of the table it was set for; direct writes must name the table's own.
GRANT CREATE ON SCHEMA public TO lz_other;
SET ROLE lz_other;
CREATE TABLE lz_v (v engram.vector(3)) USING engram;
SELECT engram.set_table_option('lz_v', 'cold_vectors', 'float16');
SELECT relation, cold_vectors, relowner, relnamespace, relname FROM engram.table_option;
-- forged identities (another name, owner, schema) are refused
INSERT INTO engram.table_option VALUES ('lz_v', 'float16', 'lz_other', 'public', 'lz_w')
  ON CONFLICT (relation) DO UPDATE SET relname = EXCLUDED.relname;
UPDATE engram.table_option SET relowner = 'pg_monitor' WHERE relation = 'lz_v'::regclass;
UPDATE engram.table_option SET relnamespace = 'engram' WHERE relation = 'lz_v'::regclass;
RESET ROLE;
-- the attacker's table goes without the drop trigger: its row stays
ALTER EVENT TRIGGER engram_table_option_cleanup DISABLE;
SET ROLE lz_other;
DROP TABLE lz_v;
RESET ROLE;
ALTER EVENT TRIGGER engram_table_option_cleanup ENABLE;
SELECT relation::oid::text ~ '^[0-9]+$' AS table_gone, cold_vectors, relowner, relnamespace, relname
FROM engram.table_option;
-- another role's table, same schema and name, gets that OID (OID reuse
-- cannot be forced here: the stale row is pointed at the new table's OID)
CREATE TABLE lz_v (LIKE lz_h) USING engram;
INSERT INTO lz_v SELECT * FROM lz_h WHERE id <= 100;
UPDATE engram.table_option SET relation = 'lz_v' WHERE relname = 'lz_v';
SELECT relation, cold_vectors, relowner, relnamespace, relname FROM engram.table_option;
SELECT count(*) FROM engram.migrate('lz_v', target => 'cold');
SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('lz_v');
-- the stale row is ignored: every COLD vector bit-identical, also after
-- VACUUM FULL (which reads the option too)
SELECT count(*) AS differ FROM lz_h h JOIN lz_v v USING (id)
WHERE v.embedding::float4[]::text <> h.embedding::float4[]::text;
VACUUM FULL lz_v;
SELECT count(*) AS differ FROM lz_h h JOIN lz_v v USING (id)
WHERE v.embedding::float4[]::text <> h.embedding::float4[]::text;
-- the table's owner replaces the stale row: lossless, its identity, and
-- rounded kept (a float16 row cannot be told from one of this table)
SELECT engram.set_table_option('lz_v', 'cold_vectors', 'lossless');
SELECT relation, cold_vectors, relname, rounded FROM engram.table_option;
DROP TABLE lz_v;
REVOKE CREATE ON SCHEMA public FROM lz_other;
-- the option follows the table's identity: a rename stops it (lossless)
-- until it is set again (then the pass repacks the page's COLD rows with
-- the new one, all rounded)
CREATE TABLE lz_x (id int, v engram.vector(3)) USING engram;
INSERT INTO lz_x VALUES (1, '[1.1,2.2,3.3]');
SELECT engram.set_table_option('lz_x', 'cold_vectors', 'float16');
ALTER TABLE lz_x RENAME TO lz_y;
SELECT count(*) FROM engram.migrate('lz_y', target => 'cold');
SELECT id, v::float4[] AS exact FROM lz_y;
SELECT engram.set_table_option('lz_y', 'cold_vectors', 'float16');
INSERT INTO lz_y VALUES (2, '[1.1,2.2,3.3]');
SELECT count(*) FROM engram.migrate('lz_y', target => 'cold');
SELECT id, v::float4[] AS rounded FROM lz_y ORDER BY id;
DROP TABLE lz_y;
SELECT count(*) AS options FROM engram.table_option;

-- back to lossless after rows were rounded: the row stays, rounded set, so
-- engram_hnsw scans keep widening their bounds (the index's codes were
-- computed from the original values).  Vectors on the index's int8 grid
-- (centre 0: each row and its negation; k * s, max |k| = 127) and queries
-- on the query's grid (integers, max 4095) give bounds within about 0.01 of
-- the distances, while rounding moves them by about 0.5: without the
-- widening the executor gets a bound above a row's distance ("index
-- returned tuples in wrong order", as before this row was kept).
SELECT setseed(0.31);
CREATE TABLE lz_k AS
  SELECT j, ARRAY(SELECT CASE WHEN i = 16 THEN 127 ELSE floor(random() * 255)::int - 127 END
                  FROM generate_series(1, 16) i WHERE j > 0) AS k
  FROM generate_series(1, 40) j;
CREATE TABLE lz_t (id int, v engram.vector(16)) USING engram;
INSERT INTO lz_t SELECT 2 * j + s, ARRAY(SELECT (s2 * k[i])::float4 * 19.87654::float4
                                          FROM generate_series(1, 16) i)::engram.vector(16)
  FROM lz_k, LATERAL (VALUES (0, 1), (1, -1)) AS x(s, s2);
CREATE TEMP TABLE lz_t0 AS SELECT id, v::float4[]::text AS t FROM lz_t;
CREATE INDEX lz_t_ann ON lz_t USING engram_hnsw (v engram.vector_l2_ops);
SELECT engram.set_table_option('lz_t', 'cold_vectors', 'float16');
SELECT count(*) FROM engram.migrate('lz_t', target => 'cold');
SELECT count(*) AS rounded_rows FROM lz_t JOIN lz_t0 USING (id) WHERE v::float4[]::text <> t;
SELECT engram.set_table_option('lz_t', 'cold_vectors', 'lossless');
SELECT relation, cold_vectors, rounded FROM engram.table_option;
CREATE TEMP TABLE lz_q AS
  SELECT n, ARRAY(SELECT CASE WHEN i = 1 THEN 4095 ELSE floor(random() * 5201)::int - 2600 END::float4
                  FROM generate_series(1, 16) i WHERE n > 0)::engram.vector(16) AS q
  FROM generate_series(1, 10) n;
-- the exact order (a sort of a scan); every distance differs
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE lz_exact AS
  SELECT n, (SELECT array_agg(id ORDER BY d, id) FROM
               (SELECT id, v OPERATOR(engram.<->) lz_q.q AS d FROM lz_t) s) AS ids,
         (SELECT count(DISTINCT v OPERATOR(engram.<->) lz_q.q) FROM lz_t) AS distinct_d
  FROM lz_q;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT count(*) AS queries, min(distinct_d) AS distinct_distances FROM lz_exact;
SET engram.ef_search = 1000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM lz_t ORDER BY v OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 80;
CREATE TEMP TABLE lz_by_index AS
  SELECT n, (SELECT array_agg(id) FROM (SELECT id FROM lz_t ORDER BY v OPERATOR(engram.<->) lz_q.q LIMIT 80) s) AS ids
  FROM lz_q;
SELECT count(*) AS same_order FROM lz_by_index i JOIN lz_exact e USING (n) WHERE i.ids = e.ids;
-- VACUUM FULL (and CLUSTER: same rewrite, same OID) and REINDEX keep the row
VACUUM FULL lz_t;
REINDEX TABLE lz_t;
SELECT relation, cold_vectors, rounded FROM engram.table_option;
SELECT count(*) AS same_order FROM lz_q q JOIN lz_exact e USING (n)
WHERE e.ids = (SELECT array_agg(id) FROM (SELECT id FROM lz_t ORDER BY v OPERATOR(engram.<->) q.q LIMIT 80) s);
RESET enable_seqscan;
RESET engram.ef_search;
-- the owner cannot clear the marker: a rounded row is not deleted, rounded
-- stays set, the row is not moved to another live table; a row that never
-- said float16 may go
GRANT CREATE ON SCHEMA public TO lz_other;
SET ROLE lz_other;
CREATE TABLE lz_m (v engram.vector(3)) USING engram;
CREATE TABLE lz_n (v engram.vector(3)) USING engram;
SELECT engram.set_table_option('lz_m', 'cold_vectors', 'float16');
SELECT engram.set_table_option('lz_m', 'cold_vectors', 'lossless');
DELETE FROM engram.table_option WHERE relation = 'lz_m'::regclass RETURNING relation;
UPDATE engram.table_option SET rounded = false WHERE relation = 'lz_m'::regclass RETURNING rounded;
UPDATE engram.table_option SET relation = 'lz_n', relname = 'lz_n' WHERE relation = 'lz_m'::regclass;
INSERT INTO engram.table_option VALUES ('lz_n', 'lossless', 'lz_other', 'public', 'lz_n', false);
SELECT relation, cold_vectors, rounded FROM engram.table_option ORDER BY relation::text;
DELETE FROM engram.table_option WHERE relation = 'lz_n'::regclass RETURNING relation;
-- a rename (identity no longer the row's): still lossless, still widened;
-- set again, the row takes the new identity and keeps rounded
ALTER TABLE lz_m RENAME TO lz_m2;
SELECT engram.set_table_option('lz_m2', 'cold_vectors', 'lossless');
SELECT relation, cold_vectors, relname, rounded FROM engram.table_option ORDER BY relation::text;
DROP TABLE lz_m2, lz_n;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lz_other;
DROP TABLE lz_t, lz_k;
SELECT count(*) AS options FROM engram.table_option;

DROP TABLE lz_e, lz_h, lz_src;
DROP ROLE lz_other;
