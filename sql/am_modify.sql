--
-- engram table AM: UPDATE, DELETE, row locks, ON CONFLICT, foreign keys,
-- cursors.  Every result here is also what a heap table gives.
--
CREATE TABLE m (id int PRIMARY KEY, val text, n int) USING engram;
INSERT INTO m SELECT g, 'v' || g, g FROM generate_series(1, 20) g;

-- UPDATE and DELETE with RETURNING
UPDATE m SET val = 'upd' || id, n = n * 10 WHERE id <= 3 RETURNING id, val, n;
DELETE FROM m WHERE id IN (4, 5) RETURNING *;
SELECT count(*), sum(n) FROM m;
SELECT * FROM m WHERE id <= 6 ORDER BY id;
-- the index finds the new versions only
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM m WHERE id = 2;
SELECT * FROM m WHERE id = 4;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- an update makes a new version with its own TID (no HOT)
SELECT ctid AS before_ctid FROM m WHERE id = 10 \gset
UPDATE m SET n = n + 1 WHERE id = 10;
SELECT ctid <> :'before_ctid'::tid AS new_tid, n FROM m WHERE id = 10;
SELECT count(*) AS old_version_visible FROM m WHERE ctid = :'before_ctid'::tid;

-- the same row updated twice (and deleted) in one transaction
BEGIN;
UPDATE m SET n = n + 1 WHERE id = 11;
UPDATE m SET n = n + 1 WHERE id = 11;
SELECT n FROM m WHERE id = 11;
UPDATE m SET n = n + 1 WHERE id = 19;
DELETE FROM m WHERE id = 19;
SELECT count(*) FROM m WHERE id = 19;
COMMIT;
SELECT id, n FROM m WHERE id IN (11, 19) ORDER BY id;

-- rollback of updates and deletes
BEGIN;
UPDATE m SET val = 'gone' WHERE id > 10;
DELETE FROM m WHERE id = 1;
SELECT count(*) FROM m;
ROLLBACK;
SELECT count(*) FILTER (WHERE val = 'gone') AS gone, count(*) FROM m;
SELECT * FROM m WHERE id = 1;

-- savepoints
BEGIN;
UPDATE m SET n = 100 WHERE id = 12;
SAVEPOINT s1;
UPDATE m SET n = 200 WHERE id = 12;
DELETE FROM m WHERE id = 13;
SELECT id, n FROM m WHERE id IN (12, 13) ORDER BY id;
ROLLBACK TO s1;
SELECT id, n FROM m WHERE id IN (12, 13) ORDER BY id;
UPDATE m SET n = 300 WHERE id = 13;
SAVEPOINT s2;
UPDATE m SET n = 301 WHERE id = 13;
RELEASE s2;
COMMIT;
SELECT id, n FROM m WHERE id IN (12, 13) ORDER BY id;

-- updates that move rows to another page
CREATE TABLE mv (id int PRIMARY KEY, pad text) USING engram;
INSERT INTO mv SELECT g, repeat('x', 100) FROM generate_series(1, 60) g;
CREATE TEMP TABLE mv_before AS SELECT id, ctid AS old FROM mv WHERE id <= 10;
UPDATE mv SET pad = repeat('y', 1500) WHERE id <= 10;
SELECT count(*) AS moved_to_other_page
  FROM mv JOIN mv_before USING (id)
 WHERE (mv.ctid::text::point)[0] <> (mv_before.old::text::point)[0];
SELECT count(*), sum(length(pad)) FROM mv;
SET enable_seqscan = off;
SELECT id, length(pad), left(pad, 3) FROM mv WHERE id IN (1, 10, 11) ORDER BY id;
RESET enable_seqscan;
-- and back again, several times, still one visible version per row
UPDATE mv SET pad = 'short' WHERE id <= 5;
UPDATE mv SET pad = pad || '!' WHERE id <= 20;
SELECT count(*), count(DISTINCT id), sum(length(pad)) FROM mv;

-- large (toasted) values
CREATE TABLE mt (id int PRIMARY KEY, doc text) USING engram;
ALTER TABLE mt ALTER doc SET STORAGE EXTERNAL;
INSERT INTO mt VALUES (1, repeat('abc', 3000)), (2, 'small');
SELECT reltoastrelid::regclass AS mt_toast FROM pg_class WHERE oid = 'mt'::regclass \gset
SELECT count(DISTINCT chunk_id) AS toast_values FROM :mt_toast;
-- a non-toasted column changes: the toast value is shared, not copied
UPDATE mt SET id = 3 WHERE id = 1;
SELECT count(DISTINCT chunk_id) AS toast_values FROM :mt_toast;
-- the toasted column changes: the old value is deleted with the old version
UPDATE mt SET doc = doc || 'tail' WHERE id = 3;
SELECT count(DISTINCT chunk_id) AS toast_values FROM :mt_toast;
UPDATE mt SET doc = repeat('q', 9000) WHERE id = 2;
SELECT id, length(doc), md5(doc) FROM mt ORDER BY id;
SELECT count(DISTINCT chunk_id) AS toast_values FROM :mt_toast;
DELETE FROM mt WHERE id = 3;
SELECT count(DISTINCT chunk_id) AS toast_values FROM :mt_toast;
BEGIN;
DELETE FROM mt;
ROLLBACK;
SELECT id, length(doc) FROM mt ORDER BY id;

-- INSERT ... ON CONFLICT
CREATE TABLE mc (k int PRIMARY KEY, v int) USING engram;
INSERT INTO mc VALUES (1, 1), (2, 2);
INSERT INTO mc VALUES (1, 10), (3, 30) ON CONFLICT DO NOTHING RETURNING *;
INSERT INTO mc VALUES (2, 20), (4, 40)
  ON CONFLICT (k) DO UPDATE SET v = mc.v + excluded.v RETURNING *;
INSERT INTO mc VALUES (2, 0)
  ON CONFLICT (k) DO UPDATE SET v = 0 WHERE mc.v > 1000 RETURNING *;
INSERT INTO mc VALUES (5, 1), (5, 2) ON CONFLICT (k) DO UPDATE SET v = excluded.v;
INSERT INTO mc VALUES (5, 1), (5, 2) ON CONFLICT DO NOTHING;
SELECT * FROM mc ORDER BY k;
-- speculative insertions that lost: nothing left behind
SELECT count(*) FROM mc WHERE k = 5;

-- row locks in one session
BEGIN;
SELECT id FROM m WHERE id = 2 FOR UPDATE;
SELECT id FROM m WHERE id = 2 FOR SHARE;
SELECT id FROM m WHERE id IN (3, 6) ORDER BY id FOR NO KEY UPDATE;
SELECT id FROM m WHERE id = 7 FOR KEY SHARE;
SELECT id FROM m WHERE id = 7 FOR UPDATE NOWAIT;
SELECT id FROM m WHERE id IN (2, 3, 7) ORDER BY id FOR UPDATE SKIP LOCKED;
WITH u AS (UPDATE m SET n = -n WHERE id IN (2, 3, 7) RETURNING id, n)
SELECT * FROM u ORDER BY id;
COMMIT;
-- a lock taken before a savepoint, an update rolled back after it
BEGIN;
SELECT id FROM m WHERE id = 8 FOR SHARE;
SAVEPOINT a;
UPDATE m SET n = 0 WHERE id = 8;
SELECT id FROM m WHERE id = 8 FOR KEY SHARE;
ROLLBACK TO a;
SELECT id, n FROM m WHERE id = 8;
SAVEPOINT b;
SELECT id FROM m WHERE id = 8 FOR UPDATE;
UPDATE m SET n = 1 WHERE id = 8;
RELEASE b;
COMMIT;
SELECT id, n FROM m WHERE id = 8;
-- locking leaves the row's values and TID alone
SELECT ctid AS lock_ctid FROM m WHERE id = 9 \gset
BEGIN;
SELECT * FROM m WHERE id = 9 FOR UPDATE;
COMMIT;
SELECT ctid = :'lock_ctid'::tid AS same_tid, * FROM m WHERE id = 9;

-- foreign keys to and from engram tables
CREATE TABLE parent (id int PRIMARY KEY, name text) USING engram;
CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE,
					note text) USING engram;
CREATE TABLE hchild (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE) USING heap;
CREATE TABLE hparent (id int PRIMARY KEY) USING heap;
CREATE TABLE echild (id int, hid int REFERENCES hparent ON UPDATE CASCADE) USING engram;
INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO child VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'z');
INSERT INTO hchild VALUES (1, 1), (2, 3);
INSERT INTO child VALUES (9, 99, 'bad');
UPDATE child SET pid = 98 WHERE id = 3;
UPDATE parent SET name = 'A' WHERE id = 1;
UPDATE parent SET id = 20 WHERE id = 2;
DELETE FROM parent WHERE id = 3;
DELETE FROM parent WHERE id = 1;
SELECT * FROM parent ORDER BY id;
SELECT * FROM child ORDER BY id;
SELECT * FROM hchild ORDER BY id;
INSERT INTO hparent VALUES (1), (2);
INSERT INTO echild VALUES (1, 1), (2, 1), (3, 2);
UPDATE hparent SET id = 5 WHERE id = 1;
SELECT * FROM echild ORDER BY id;
DELETE FROM hparent WHERE id = 2;

-- WHERE CURRENT OF
BEGIN;
DECLARE c1 CURSOR FOR SELECT id FROM m WHERE id >= 14 FOR UPDATE;
FETCH 1 FROM c1;
DELETE FROM m WHERE CURRENT OF c1 RETURNING id;
FETCH 1 FROM c1;
UPDATE m SET val = 'cur' WHERE CURRENT OF c1 RETURNING id, val;
CLOSE c1;
-- without FOR UPDATE: the cursor's row was updated since, the newest
-- version is the one changed (get_latest_tid)
DECLARE c2 CURSOR FOR SELECT id, n FROM m WHERE id = 18;
FETCH 1 FROM c2;
UPDATE m SET n = 500 WHERE id = 18;
UPDATE m SET n = n + 1 WHERE CURRENT OF c2 RETURNING id, n;
COMMIT;
SELECT id, val, n FROM m WHERE id IN (14, 15, 18) ORDER BY id;

-- combo cids: rows inserted and updated in one transaction while an older
-- cursor still reads them
CREATE TABLE cc (id int, n int) USING engram;
BEGIN;
INSERT INTO cc SELECT g, 0 FROM generate_series(1, 5) g;
DECLARE cur CURSOR FOR SELECT id, n FROM cc;
FETCH 2 FROM cur;
UPDATE cc SET n = n + 1;
FETCH ALL FROM cur;
SELECT id, n FROM cc ORDER BY id;
UPDATE cc SET n = n + 1 WHERE id = 1;
DELETE FROM cc WHERE id = 2;
SELECT id, n FROM cc ORDER BY id;
-- a loop updating the rows it scans sees each row once
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT id FROM cc LOOP
		UPDATE cc SET n = n + 10 WHERE id = r.id;
	END LOOP;
END
$$;
SELECT id, n FROM cc ORDER BY id;
COMMIT;
SELECT id, n FROM cc ORDER BY id;

-- an update that makes a row too big for a page (fixed-width columns can't
-- be toasted) is refused, and the old version stays
\set ECHO none
SELECT 'CREATE TABLE wide (id int, ' || string_agg(format('c%s int8', g), ', ') || ') USING engram'
  FROM generate_series(1, 1100) g \gexec
\set ECHO all
INSERT INTO wide (id) VALUES (1);
\set ECHO none
SELECT 'UPDATE wide SET ' || string_agg(format('c%s = %s', g, g), ', ')
  FROM generate_series(1, 1100) g \gexec
\set ECHO all
SELECT id, c1, c1100 FROM wide;
UPDATE wide SET c1 = 7;
SELECT id, c1, c1100 FROM wide;
DROP TABLE wide;

DROP TABLE m, mv, mt, mc, child, hchild, parent, echild, hparent, cc;
