-- engram table access method: create, insert, copy, scan
SELECT amname, amtype FROM pg_am WHERE amname = 'engram';

CREATE TABLE am_t (id int, name text, score float8, flag bool, born date,
                   ts timestamptz, num numeric, data bytea, tags int[])
  USING engram;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'am_t';

INSERT INTO am_t VALUES
  (1, 'one', 1.5, true, '2024-01-01', '2024-01-01 10:00+00', 1.25, '\x0102', '{1,2}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, 'three', -3e10, false, '1999-12-31', '2000-01-01 00:00+00', -0.001, '\x', '{}');
INSERT INTO am_t (id, name) VALUES (4, 'four');
SELECT * FROM am_t ORDER BY id;

COPY am_t (id, name, score) FROM STDIN;
10	ten	10.5
11	\N	11
12	twelve	\N
\.
SELECT id, name, score FROM am_t WHERE id >= 10 ORDER BY id;

-- INSERT ... SELECT, many rows across many pages
INSERT INTO am_t (id, name, score)
  SELECT g, 'row ' || g, g / 2.0 FROM generate_series(100, 5099) g;
SELECT count(*), sum(id), count(name), min(name), max(name) FROM am_t;
SELECT pg_relation_size('am_t') > 8192 * 10 AS many_pages;

-- every row reads back in block order through ctid
SELECT count(*) FROM (SELECT ctid, lag(ctid) OVER () AS prev FROM am_t) s
 WHERE prev IS NOT NULL AND prev >= ctid;

-- TID and TID range scans
EXPLAIN (COSTS OFF) SELECT id FROM am_t WHERE ctid = '(0,1)';
SELECT id FROM am_t WHERE ctid = '(0,1)';
SELECT id FROM am_t WHERE ctid = '(100000,1)';
SELECT id FROM am_t WHERE ctid = '(0,999)';
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM am_t WHERE ctid >= '(1,0)' AND ctid < '(3,5)';
SELECT count(*) = (SELECT count(*) FROM am_t
                    WHERE (ctid::text::point)[0] IN (1, 2)
                       OR ((ctid::text::point)[0] = 3 AND (ctid::text::point)[1] < 5))
       AS same_rows, count(*) > 100 AS nonempty
  FROM am_t WHERE ctid >= '(1,0)' AND ctid < '(3,5)';
SELECT count(*) FROM am_t WHERE ctid > '(100000,0)';
SELECT count(*) FROM am_t WHERE ctid < '(0,0)';

-- a transaction that aborts leaves no visible rows
BEGIN;
INSERT INTO am_t (id) SELECT generate_series(1, 100);
SELECT count(*) FROM am_t;
ROLLBACK;
SELECT count(*) FROM am_t;

-- own inserts are visible within the transaction, by command
BEGIN;
INSERT INTO am_t (id, name) VALUES (-1, 'in xact');
SELECT id, name FROM am_t WHERE id < 0;
COMMIT;
SELECT id, name FROM am_t WHERE id < 0;

-- cursors go both ways
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id FROM am_t WHERE id < 12 ;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH LAST FROM c;
FETCH BACKWARD 2 FROM c;
COMMIT;

-- large values are toasted and read back identical
CREATE TABLE am_big (id int, content text, blob bytea) USING engram;
INSERT INTO am_big
  SELECT g, repeat(md5(g::text), 3200), decode(repeat(md5(g::text), 3200), 'hex')
  FROM generate_series(1, 5) g;
SELECT id, length(content), length(blob),
       md5(content) = md5(repeat(md5(id::text), 3200)) AS content_ok,
       md5(blob) = md5(decode(repeat(md5(id::text), 3200), 'hex')) AS blob_ok
  FROM am_big ORDER BY id;
-- incompressible 100 kB value
INSERT INTO am_big
  SELECT 6, string_agg(md5(g::text), ''), NULL FROM generate_series(1, 3200) g;
SELECT id, length(content),
       md5(content) = (SELECT md5(string_agg(md5(g::text), '')) FROM generate_series(1, 3200) g) AS ok
  FROM am_big WHERE id = 6;
SELECT reltoastrelid <> 0 AS has_toast FROM pg_class WHERE relname = 'am_big';

-- a row too big for a page even after toasting
DO $$
BEGIN
  EXECUTE (SELECT format('CREATE TABLE am_wide (%s) USING engram',
                         string_agg('c' || g || ' int8 DEFAULT ' || g, ', '))
             FROM generate_series(1, 1100) g);
END $$;
INSERT INTO am_wide (c1) VALUES (1);
SELECT count(*) FROM am_wide;

-- new sessions fill the last page instead of starting pages of their own
CREATE TABLE am_sessions (id int, t text) USING engram;
INSERT INTO am_sessions VALUES (1, 'first');
\c
INSERT INTO am_sessions VALUES (2, 'second');
\c
INSERT INTO am_sessions VALUES (3, 'third');
\c
COPY am_sessions FROM STDIN;
4	fourth
\.
SELECT pg_relation_size('am_sessions') AS size, count(*) FROM am_sessions;
DROP TABLE am_sessions;

DROP TABLE am_t, am_big, am_wide;
