--
-- pgvector compatibility (docs/pgvector-migration.md):
--   1. the one documented step -- engram last on the search_path -- makes
--      pgvector's queries run unchanged, engram_hnsw included;
--   2. pgvector 0.8.6's own type tests (vector_type.sql and the vector
--      part of cast.sql, test/pgvector/cases.tsv; halfvec.sql and the
--      halfvec part of cast.sql, test/pgvector/cases_halfvec.tsv) give
--      pgvector's results (test/pgvector/pgvector-0.8.6*.tsv, recorded
--      from a real pgvector 0.8.6; test/t/070_pgvector_compat.pl re-checks
--      those files against a live pgvector when one is installed);
--   3. the step does not weaken engram's own functions: objects that
--      shadow engram's names in public change nothing they compute.
--
-- Runs in a database of its own, configured the way the docs say.
\set SHOW_CONTEXT never
\set VERBOSITY terse
SELECT current_database() AS regress_db, current_user AS regress_user \gset

-- without the step, the type and its operators are not found (what issue 20
-- reported): the schema engram is not on the default search_path
SET search_path = "$user", public;
SELECT '[1,2]'::vector <=> '[2,1]';
SELECT '[1,2]'::engram.vector <=> '[2,1]';
RESET search_path;

-- the documented step, per database (ALTER ROLE ... SET works the same)
CREATE DATABASE regress_engram_pgv;
ALTER DATABASE regress_engram_pgv SET search_path = "$user", public, engram;
\c regress_engram_pgv
CREATE EXTENSION engram;
SHOW search_path;
-- new objects still go to public, not into the extension's schema
SELECT current_schema();

SELECT '[1,2]'::vector <=> '[2,1]' AS cosine;
SELECT '[1,2,3]'::vector <-> '[3,2,1]' AS l2, '[1,2,3]'::vector <#> '[3,2,1]' AS neg_ip,
       '[1,2,3]'::vector <+> '[3,2,1]' AS l1;
-- || is vector concatenation, never text concatenation
SELECT '[1,2,3]'::vector || '[4,5]' AS concat, pg_typeof('[1,2,3]'::vector || '[4,5]');
SELECT '[1,2,3]'::vector * '[4,5,6]' AS mul, '[1,2,3]'::vector + '[4,5,6]' AS add,
       '[1,2,3]'::vector - '[4,5,6]' AS sub;
SELECT vector_norm('[3,4]'), subvector('[1,2,3,4,5]'::vector, 2, 3),
       binary_quantize('[1,-2,0,3]'::vector), pg_typeof(binary_quantize('[1]'::vector));

-- ALTER ROLE: a role's own setting, seen at its next login
CREATE ROLE regress_pgv_user LOGIN;
ALTER ROLE regress_pgv_user SET search_path = "$user", public, engram;
GRANT CREATE ON SCHEMA public TO regress_pgv_user;
\c - regress_pgv_user
SHOW search_path;
SELECT '[1,2]'::vector <=> '[2,1]' AS cosine_as_role;
\c - :regress_user

-- pgvector's README queries, unchanged, on an engram table with an
-- engram_hnsw index (only the DDL names engram's storage and index)
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3), category_id int) USING engram;
INSERT INTO items (embedding, category_id) VALUES ('[1,2,3]', 1), ('[4,5,6]', 2);
INSERT INTO items (embedding, category_id)
SELECT ARRAY[(g * 37) % 101, (g * 53) % 97, (g * 71) % 89]::real[], g % 3
  FROM generate_series(1, 600) g;
CREATE INDEX items_l2 ON items USING engram_hnsw (embedding vector_l2_ops);
ANALYZE items;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
SELECT id, embedding FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
-- the same rows as an exact scan
SET enable_indexscan = off;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
SELECT id, embedding FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
RESET enable_indexscan;
-- cosine and inner product indexes
CREATE INDEX items_cos ON items USING engram_hnsw (embedding vector_cosine_ops);
CREATE INDEX items_ip ON items USING engram_hnsw (embedding vector_ip_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <=> '[3,1,2]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <#> '[3,1,2]' LIMIT 5;
SELECT count(*) AS five FROM (SELECT id FROM items ORDER BY embedding <=> '[3,1,2]' LIMIT 5) s;
RESET enable_seqscan;
SELECT * FROM items WHERE id != 1 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 5;
SELECT id, round((embedding <-> '[3,1,2]')::numeric, 4) AS distance FROM items WHERE id <= 3 ORDER BY id;
SELECT id, round((1 - (embedding <=> '[3,1,2]'))::numeric, 4) AS cosine_similarity FROM items WHERE id <= 3 ORDER BY id;
SELECT id, (embedding <#> '[3,1,2]') * -1 AS inner_product FROM items WHERE id <= 3 ORDER BY id;
SELECT count(*) FROM items WHERE embedding <-> '[3,1,2]' < 20;
SELECT AVG(embedding) FROM items WHERE id <= 2;
SELECT category_id, AVG(embedding) FROM items WHERE id <= 4 GROUP BY category_id ORDER BY category_id;
UPDATE items SET embedding = '[1,2,4]' WHERE id = 1;
DELETE FROM items WHERE id = 2;
SELECT id, embedding FROM items WHERE id <= 3 ORDER BY id;

-- pgvector 0.8.6's type tests: engram's outcome against pgvector's
\i test/pgvector/run_case.sql
CREATE TEMP TABLE cases (n int PRIMARY KEY, q text);
\copy cases FROM 'test/pgvector/cases.tsv'
CREATE TEMP TABLE pgvector_ref (n int PRIMARY KEY, r text);
\copy pgvector_ref FROM 'test/pgvector/pgvector-0.8.6.tsv'
CREATE TEMP TABLE got AS SELECT n, pg_temp.run_case(q) AS r FROM cases;
SELECT count(*) AS cases, count(*) FILTER (WHERE g.r = p.r) AS same_as_pgvector
  FROM got g JOIN pgvector_ref p USING (n);
-- every difference, each one deliberate (docs/pgvector-migration.md):
-- 150: pgvector fails to combine two empty avg states, which breaks its
--      own parallel avg(vector) over no rows (shown below)
SELECT n, c.q, p.r AS pgvector, g.r AS engram
  FROM cases c JOIN pgvector_ref p USING (n) JOIN got g USING (n)
 WHERE g.r IS DISTINCT FROM p.r ORDER BY n;
-- engram's outcome of every case
SELECT n, left(q, 70) AS q, left(r, 90) AS outcome FROM cases JOIN got USING (n) ORDER BY n;

-- pgvector 0.8.6's halfvec tests (its halfvec.sql and the halfvec part of
-- cast.sql, test/pgvector/cases_halfvec.tsv) against engram.halfvec
CREATE TEMP TABLE hcases (n int PRIMARY KEY, q text);
\copy hcases FROM 'test/pgvector/cases_halfvec.tsv'
CREATE TEMP TABLE hpgvector_ref (n int PRIMARY KEY, r text);
\copy hpgvector_ref FROM 'test/pgvector/pgvector-0.8.6-halfvec.tsv'
CREATE TEMP TABLE hgot AS SELECT n, pg_temp.run_case(q) AS r FROM hcases;
SELECT count(*) AS halfvec_cases, count(*) FILTER (WHERE g.r = p.r) AS same_as_pgvector
  FROM hgot g JOIN hpgvector_ref p USING (n);
SELECT n, c.q, p.r AS pgvector, g.r AS engram
  FROM hcases c JOIN hpgvector_ref p USING (n) JOIN hgot g USING (n)
 WHERE g.r IS DISTINCT FROM p.r ORDER BY n;
SELECT n, left(q, 70) AS q, left(r, 90) AS outcome FROM hcases JOIN hgot USING (n) ORDER BY n;

-- the difference of case 150, where it matters: parallel avg over no rows
CREATE TABLE empty_items (embedding vector(2));
INSERT INTO empty_items SELECT '[1,2]' FROM generate_series(1, 2000);
DELETE FROM empty_items;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(embedding) FROM empty_items;
SELECT avg(embedding) IS NULL AS avg_is_null, sum(embedding) IS NULL AS sum_is_null FROM empty_items;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- search_path safety: public comes before engram, so a user's own objects
-- in public may shadow engram's names for the user's own queries (as with
-- any schema), but engram's functions pin their search_path and qualify
-- every reference: what they compute does not change
SELECT count(engram.remember('note ' || i, engram.embed_text('note ' || i, 16)))
  FROM generate_series(1, 8) i;
CREATE TEMP TABLE recall_before AS
SELECT id, similarity FROM engram.recall(engram.embed_text('note 3', 16), 4, record_access => false);
CREATE FUNCTION public.cosine_distance(engram.vector, engram.vector) RETURNS float8
	LANGUAGE sql IMMUTABLE AS 'SELECT 0::float8';
CREATE OPERATOR public.<=> (LEFTARG = engram.vector, RIGHTARG = engram.vector,
	FUNCTION = public.cosine_distance);
CREATE FUNCTION public.vector_dims(engram.vector) RETURNS int
	LANGUAGE sql IMMUTABLE AS 'SELECT -1';
-- the user's own query sees the user's operator ...
SELECT '[1,2]'::vector <=> '[2,1]' AS shadowed_by_public;
-- ... engram's own functions do not
SELECT count(*) AS recall_rows, count(*) FILTER (WHERE a.similarity = b.similarity) AS same_similarity
  FROM recall_before b
  JOIN engram.recall(engram.embed_text('note 3', 16), 4, record_access => false) a USING (id);
SELECT '[1,2]'::vector OPERATOR(engram.<=>) '[2,1]' AS qualified_still_engram;
DROP OPERATOR public.<=> (engram.vector, engram.vector);
DROP FUNCTION public.cosine_distance(engram.vector, engram.vector);
DROP FUNCTION public.vector_dims(engram.vector);

\c :regress_db
DROP DATABASE regress_engram_pgv;
DROP OWNED BY regress_pgv_user;
DROP ROLE regress_pgv_user;
