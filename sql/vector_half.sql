--
-- engram.halfvec: rounding, storage, casts, ordering, aggregates, binary
-- I/O, use in engram tables.  pgvector's own halfvec tests run in
-- sql/pgvector_compat.sql.
--
SET search_path = engram, public;
\set VERBOSITY terse

SELECT typname, typlen, typstorage, typalign
  FROM pg_type WHERE oid = 'engram.halfvec'::regtype;

-- half the bytes of engram.vector (8 bytes of header either way)
SELECT pg_column_size(array_fill(0.5::real, ARRAY[384])::vector) AS vector_bytes,
       pg_column_size(array_fill(0.5::real, ARRAY[384])::halfvec) AS halfvec_bytes;

-- rounding to nearest, ties to even
SELECT '[2049,2051,2050,1.0004883,1.0014648]'::halfvec AS ties;
SELECT '[65504,65519,-65519]'::halfvec AS largest;
SELECT '[6.1035156e-05,5.9604645e-08,2.9802322e-08,8.940697e-08,1e-8,-1e-8]'::halfvec AS tiny;
-- every subnormal and the first normals are exact: k * 2^-24, k = 0..2047
SELECT count(*) AS n,
       count(*) FILTER (WHERE h::vector = v) AS exact,
       count(*) FILTER (WHERE h::text::halfvec = h) AS text_round_trip
  FROM (SELECT ARRAY[k * 2 ^ -24]::float8[]::vector AS v,
               ARRAY[k * 2 ^ -24]::float8[]::halfvec AS h
          FROM generate_series(0, 2047) k) s;
-- every integer up to 2048 is exact; above, spacing 2, 4, ... 32
SELECT count(*) FILTER (WHERE ARRAY[i]::halfvec::vector = ARRAY[i]::vector) AS exact_to_2048
  FROM generate_series(-2048, 2048) i;
SELECT ARRAY[4097, 8195, 65000]::halfvec AS spaced;
-- text out -> in is exact for every value of the range sampled
SELECT count(*) AS n, count(*) FILTER (WHERE h::text::halfvec::vector = h::vector) AS same
  FROM (SELECT ARRAY[(i * 7.77)::real]::halfvec AS h FROM generate_series(-8000, 8000) i) s;

-- casts
SELECT '[1.5,2,3]'::vector::halfvec, '[1.5,2,3]'::halfvec::vector,
       '[1,2]'::halfvec::real[], ARRAY[1,2]::halfvec, ARRAY[0.1]::float8[]::halfvec,
       ARRAY[0.1]::numeric[]::halfvec, '[0.1]'::halfvec::vector AS widened;
SELECT '[1,2,3]'::halfvec(3), '[1,2]'::vector::halfvec(2);
CREATE TABLE ht (id int, h halfvec(3));
INSERT INTO ht VALUES (1, '[1,2,3]'), (2, '[0.1,0.2,0.3]'::vector), (3, ARRAY[4,5,6]),
  (4, ARRAY[-1,0,1]::real[]);
SELECT id, h FROM ht ORDER BY id;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'ht'::regclass AND attname = 'h';

-- distances equal those of the same values as engram.vector
SELECT count(*) AS n,
       count(*) FILTER (WHERE (a <-> b) = (a::vector <-> b::vector)
                          AND (a <#> b) = (a::vector <#> b::vector)
                          AND (a <+> b) = (a::vector <+> b::vector)
                          AND inner_product(a, b) = inner_product(a::vector, b::vector)
                          AND halfvec_l2_squared_distance(a, b) = l2_squared_distance(a::vector, b::vector)
                          AND ((a <=> b) = (a::vector <=> b::vector)
                               OR ((a <=> b) = 'NaN' AND (a::vector <=> b::vector) = 'NaN'))) AS same
  FROM (SELECT x.h AS a, y.h AS b FROM ht x, ht y) s;
SELECT l2_norm('[3,4]'::halfvec), vector_dims('[1,2,3]'::halfvec),
       l2_normalize('[3,4]'::halfvec), binary_quantize('[1,-1,0,2]'::halfvec),
       subvector('[1,2,3,4]'::halfvec, 2, 2), '[1,2]'::halfvec || '[3]',
       '[1,2]'::halfvec + '[3,4]', '[1,2]'::halfvec - '[3,4]', '[1,2]'::halfvec * '[3,4]';

-- ordering and a btree index
SELECT '[1,2]'::halfvec < '[1,3]' AS lt, '[1,2]'::halfvec < '[1,2,0]' AS prefix_lt,
       '[-0]'::halfvec = '[0]' AS zero_eq, halfvec_cmp('[2]', '[1,9]') AS cmp;
CREATE INDEX ht_btree ON ht (h);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ht WHERE h = '[1,2,3]';
SELECT id FROM ht WHERE h = '[1,2,3]';
SELECT array_agg(id ORDER BY h, id) FROM ht;
RESET enable_seqscan;

-- aggregates, also in a parallel plan
SELECT avg(h), sum(h) FROM ht;
SELECT avg(h), sum(h) FROM ht WHERE false;
CREATE TABLE hpar AS SELECT ARRAY[g % 10, 1]::real[]::halfvec AS h FROM generate_series(1, 20000) g;
ANALYZE hpar;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(h) FROM hpar;
SELECT avg(h) FROM hpar;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE hpar;

-- binary I/O: int16 dim, int16 0, the halves' bits; COPY BINARY round trip
SELECT halfvec_send('[1,-2,0.5]');
\copy ht TO 'results/vector_half.copy' WITH (FORMAT binary)
CREATE TABLE ht2 (LIKE ht);
\copy ht2 FROM 'results/vector_half.copy' WITH (FORMAT binary)
SELECT count(*) AS identical FROM ht JOIN ht2 USING (id) WHERE halfvec_send(ht.h) = halfvec_send(ht2.h);

-- in an engram table, in every tier, with an engram_hnsw index on the
-- expression cast to engram.vector
CREATE TABLE hdocs (id int PRIMARY KEY, h halfvec(3), body text) USING engram;
INSERT INTO hdocs SELECT g, ARRAY[(g * 37) % 101, (g * 53) % 97, (g * 71) % 89]::real[],
       repeat('body ' || g, 30)
  FROM generate_series(1, 500) g;
SELECT md5(string_agg(id || h::text || body, ',' ORDER BY id)) AS before_md5 FROM hdocs \gset
SELECT count(*) > 0 AS moved FROM engram.migrate('hdocs', NULL, 'cold');
SELECT md5(string_agg(id || h::text || body, ',' ORDER BY id)) = :'before_md5' AS same_after_cold FROM hdocs;
CREATE INDEX hdocs_ann ON hdocs USING engram_hnsw ((h::vector(3)) vector_l2_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hdocs ORDER BY h::vector(3) <-> '[3,1,2]' LIMIT 5;
SELECT array_agg(id) AS ann FROM (SELECT id FROM hdocs ORDER BY h::vector(3) <-> '[3,1,2]' LIMIT 5) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) AS exact FROM (SELECT id FROM hdocs ORDER BY h <-> '[3,1,2]' LIMIT 5) s;
RESET enable_indexscan;

-- errors (pgvector's messages and SQLSTATEs)
SELECT '[65520]'::halfvec;
SELECT '[1e39]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[inf]'::halfvec;
SELECT '[]'::halfvec;
SELECT '[1,2'::halfvec;
SELECT '[1]'::halfvec(2);
CREATE TABLE he (h halfvec(0));
CREATE TABLE he (h halfvec(16001));
CREATE TABLE he (h halfvec(1, 2));
SELECT '[70000]'::vector::halfvec;
SELECT ARRAY[70000]::halfvec;
SELECT ARRAY[1e300]::float8[]::halfvec;
SELECT ARRAY[NULL]::real[]::halfvec;
SELECT ARRAY[[1]]::real[]::halfvec;
SELECT '[1,2]'::halfvec <-> '[1]';
SELECT '[60000]'::halfvec + '[60000]';
SELECT '[0.001]'::halfvec * '[0.0001]';        -- 1e-7: a subnormal half
SELECT '[0.0001]'::halfvec * '[0.0001]';       -- 1e-8: underflow
SELECT subvector('[1,2]'::halfvec, 3, 1);
SELECT array_fill(1, ARRAY[16000])::halfvec || '[1]';
SELECT avg(h) FROM (VALUES ('[1]'::halfvec), ('[1,2]')) t(h);
SELECT halfvec_avg('{1,70000}');
SELECT halfvec_accum('{{0}}', '[1]');

DROP TABLE ht, ht2, hdocs;
RESET search_path;
