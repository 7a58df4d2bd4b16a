--
-- engram table AM: UPDATE, DELETE, row locks and ON CONFLICT on rows whose
-- bodies live in the WARM and COLD tiers.  New versions start HOT; the
-- values read back are those a heap table gives for the same statements
-- (checked against heap by hand: same counts and sums).
--
CREATE TABLE tt (id int PRIMARY KEY, body text, big text) USING engram;
ALTER TABLE tt ALTER big SET STORAGE EXTERNAL;
INSERT INTO tt SELECT g, repeat('body' || g, 30),
	CASE WHEN g % 10 = 0 THEN repeat('B', 5000) END
  FROM generate_series(1, 300) g;
SELECT sum(rows) > 0 AS migrated FROM engram.migrate('tt', NULL, 'warm');
SELECT engram.tier_of('tt', ctid) AS tier, count(*) FROM tt GROUP BY 1 ORDER BY 1;

-- update WARM rows: the new versions are HOT, the rest stay WARM
UPDATE tt SET body = body || '!' WHERE id % 3 = 0;
SELECT engram.tier_of('tt', ctid) AS tier, count(*), count(*) FILTER (WHERE body LIKE '%!') AS bang
  FROM tt GROUP BY 1 ORDER BY 1;
SELECT sum(rows) > 0 AS migrated FROM engram.migrate('tt', NULL, 'cold');
SELECT engram.tier_of('tt', ctid) AS tier, count(*) FROM tt GROUP BY 1 ORDER BY 1;

-- lock, update, delete COLD rows (some with toasted values) in one transaction
BEGIN;
SELECT count(*) FROM (SELECT id FROM tt WHERE id % 4 = 0 FOR UPDATE) s;
SELECT count(*) FROM (SELECT id FROM tt WHERE id % 4 = 1 FOR KEY SHARE) s;
UPDATE tt SET body = upper(body) WHERE id % 4 = 0;
DELETE FROM tt WHERE id % 5 = 0;
SELECT count(*), sum(length(body)), sum(length(big)) FROM tt;
COMMIT;
-- upserts over COLD rows and deleted keys
INSERT INTO tt SELECT g, 'x', 'y' FROM generate_series(290, 310) g
  ON CONFLICT (id) DO UPDATE SET body = tt.body || '#';
SELECT count(*), sum(length(body)), sum(length(big)),
	   count(*) FILTER (WHERE body LIKE '%#') AS upserted FROM tt;
SELECT id, left(body, 12), length(body), big FROM tt WHERE id IN (3, 4, 8, 291, 300, 310) ORDER BY id;
-- the index and a sequential scan see the same rows
SET enable_seqscan = off;
SELECT count(*), sum(length(body)) FROM tt WHERE id BETWEEN 1 AND 1000;
RESET enable_seqscan;
SELECT * FROM engram.verify('tt');

-- a rolled-back delete of COLD rows with toasted values leaves them intact
INSERT INTO tt SELECT g, 'toast' || g, repeat('T', 6000) FROM generate_series(400, 405) g;
SELECT sum(rows) > 0 AS migrated FROM engram.migrate('tt', NULL, 'cold');
BEGIN;
DELETE FROM tt WHERE id >= 400;
ROLLBACK;
SELECT count(*), sum(length(big)) FROM tt WHERE id >= 400;
DELETE FROM tt WHERE id >= 403;
SELECT count(*), sum(length(big)) FROM tt WHERE id >= 400;

VACUUM tt;
SELECT * FROM engram.verify('tt');
SELECT count(*), sum(length(body)), sum(length(big)) FROM tt;

DROP TABLE tt;
