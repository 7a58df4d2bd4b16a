-- TID range scans on engram tables (PG's tidrangescan test, found by the
-- core suite, test/core-regress): a range with only a lower bound used to
-- return nothing, because the executor's open upper bound
-- (InvalidBlockNumber, 0xFFFF) wrapped to block 0.
CREATE TABLE tr (id integer, data text) USING engram;
INSERT INTO tr SELECT i, repeat('x', 100) FROM generate_series(1, 200) AS s(i);
SELECT (ctid::text::point)[0] AS page, count(*) FROM tr GROUP BY 1 ORDER BY 1;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT ctid FROM tr WHERE ctid > '(2,50)';
-- lower bound only
SELECT ctid, id FROM tr WHERE ctid > '(2,50)';
SELECT count(*) FROM tr WHERE ctid >= '(1,0)';
SELECT count(*) FROM tr WHERE '(3,0)' <= ctid;
-- upper bound only, both bounds, empty ranges
SELECT count(*) FROM tr WHERE ctid < '(1,0)';
SELECT count(*) FROM tr WHERE ctid > '(1,50)' AND ctid < '(2,3)';
SELECT count(*) FROM tr WHERE ctid > '(9,0)';
SELECT count(*) FROM tr WHERE ctid > '(2,3)' AND ctid < '(1,0)';
-- the same answers as a sequential scan gives
RESET enable_seqscan;
SET enable_tidscan = off;
SELECT count(*) FROM tr WHERE ctid >= '(1,0)';
SELECT count(*) FROM tr WHERE '(3,0)' <= ctid;
RESET enable_tidscan;
DROP TABLE tr;
