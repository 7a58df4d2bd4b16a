-- fillfactor on engram tables: inserts, multi-row COPY and the VACUUM FULL
-- rewrite leave (100 - fillfactor)% of each page free, as on heap, so an
-- UPDATE finds room on its row's page.
CREATE TABLE ff100 (id int, pad char(100)) USING engram;
CREATE TABLE ff50 (id int, pad char(100)) USING engram WITH (fillfactor = 50);
INSERT INTO ff100 SELECT g, 'x' FROM generate_series(1, 2000) g;
INSERT INTO ff50 SELECT g, 'x' FROM generate_series(1, 2000) g;

-- rows on the fullest page, and pages used
SELECT max(n) AS rows_per_page_100 FROM (SELECT (ctid::text::point)[0] b, count(*) n FROM ff100 GROUP BY 1) s;
SELECT max(n) AS rows_per_page_50 FROM (SELECT (ctid::text::point)[0] b, count(*) n FROM ff50 GROUP BY 1) s;
SELECT pg_relation_size('ff50')::float8 / pg_relation_size('ff100') BETWEEN 1.8 AND 2.2 AS insert_uses_twice_the_pages;

-- an UPDATE of a row on a fillfactor-50 page stays on its page
UPDATE ff50 SET pad = 'y' WHERE id = 1;
SELECT (ctid::text::point)[0] AS blk FROM ff50 WHERE id = 1;

-- COPY (multi-insert)
CREATE TABLE ff50c (id int, pad char(100) DEFAULT 'x') USING engram WITH (fillfactor = 50);
COPY ff50c (id) FROM PROGRAM 'seq 1 2000';
SELECT max(n) AS copy_rows_per_page_50 FROM (SELECT (ctid::text::point)[0] b, count(*) n FROM ff50c GROUP BY 1) s;

-- the rewrite of VACUUM FULL keeps the fillfactor
ALTER TABLE ff100 SET (fillfactor = 50);
VACUUM FULL ff100;
SELECT max(n) AS rewrite_rows_per_page_50 FROM (SELECT (ctid::text::point)[0] b, count(*) n FROM ff100 GROUP BY 1) s;
SELECT count(*), sum(id) FROM ff100;

DROP TABLE ff100, ff50, ff50c;
