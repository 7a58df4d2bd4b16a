--
-- engram.vector: I/O, typmod, casts, distances, ordering, hashing, binary I/O
--
SET search_path = engram, public;

-- type definition: variable length, uncompressed out-of-line storage
SELECT typname, typlen, typstorage, typalign
  FROM pg_type WHERE oid = 'engram.vector'::regtype;

-- text input and output
SELECT '[1,2,3]'::vector;
SELECT '  [ 1 ,2,	3 ]  '::vector;
SELECT '[-1.5,0.25,1e-3,2E+2]'::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[-0,0]'::vector;
SELECT '[3.4028235e38,-3.4028235e38,1e-45,1.17549435e-38]'::vector;
SELECT '[1.00000001]'::vector;          -- rounds to the nearest float
SELECT '[123456789]'::vector;
SELECT '[1e-50,-1e-50]'::vector;         -- underflow reads as (signed) zero
-- output is the shortest text that reads back to the same floats
SELECT v, v::text::vector = v AS same,
       vector_send(v::text::vector) = vector_send(v) AS same_bits
  FROM (VALUES ('[0.1,0.7,1e-7,3.1415927,16777217,-2.5e-40]'::vector)) t(v);
SELECT setseed(0.42);
SELECT count(*) AS n,
       count(*) FILTER (WHERE vector_send(v::text::vector) = vector_send(v)) AS exact
  FROM (SELECT array_agg((random() - 0.5)::real * (10 ^ (g % 40 - 20))::real)::vector AS v
          FROM generate_series(1, 2000) g GROUP BY g % 100) s;

-- type modifier
SELECT '[1,2,3]'::vector(3);
CREATE TABLE vt (id int, v vector(3));
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'vt'::regclass AND attname = 'v';
INSERT INTO vt VALUES (1, '[1,2,3]'), (2, '[4,5,6]');
INSERT INTO vt VALUES (3, ARRAY[7,8,9]);          -- integer[] by assignment
INSERT INTO vt VALUES (4, ARRAY[1.5,2,3]::real[]);
INSERT INTO vt VALUES (5, ARRAY[0.5,0,-1]::float8[]);
INSERT INTO vt VALUES (6, ARRAY[1.25,2,3]::numeric[]);
SELECT * FROM vt ORDER BY id;
SELECT pg_typeof(engram.vector_typmod_out(384)), engram.vector_typmod_out(384);

-- casts
SELECT ARRAY[1,2,3]::real[]::vector, ARRAY[1,2,3]::float8[]::vector,
       ARRAY[1,2,3]::vector, ARRAY[1.5,2.25]::numeric[]::vector;
SELECT '[1,2.5,-3]'::vector::real[];
SELECT ARRAY[0.1]::float8[]::vector;   -- rounded to float4
SELECT '[1,2]'::vector::vector(2);
CREATE TABLE vt_arr (a real[]);
INSERT INTO vt_arr SELECT '[4,5]'::vector;       -- vector -> real[] by assignment
SELECT a FROM vt_arr;
DROP TABLE vt_arr;

-- distances (hand-checkable)
SELECT '[1,2,3]'::vector <-> '[4,5,6]' AS l2,       -- sqrt(27) = 5.196152...
       '[1,2,3]'::vector <=> '[4,5,6]' AS cosine,   -- 1 - 32/sqrt(14*77)
       '[1,2,3]'::vector <#> '[4,5,6]' AS neg_ip;   -- -32
SELECT l2_distance('[0,0]'::vector, '[3,4]'), l2_squared_distance('[0,0]'::vector, '[3,4]'),
       inner_product('[1,2,3]'::vector, '[4,5,6]'), cosine_distance('[1,0]'::vector, '[0,1]'),
       cosine_distance('[1,1]'::vector, '[2,2]'), cosine_distance('[1,1]'::vector, '[-1,-1]');
SELECT round(('[0.1,0.2,0.3]'::vector <-> '[0.3,0.2,0.1]')::numeric, 6) AS l2,
       round(('[0.1,0.2,0.3]'::vector <=> '[0.3,0.2,0.1]')::numeric, 6) AS cos,
       round(('[0.1,0.2,0.3]'::vector <#> '[0.3,0.2,0.1]')::numeric, 6) AS nip;
-- the operators are commutative
SELECT ('[1,2]'::vector <-> '[5,-1]') = ('[5,-1]'::vector <-> '[1,2]') AS l2_comm,
       ('[1,2]'::vector <=> '[5,-1]') = ('[5,-1]'::vector <=> '[1,2]') AS cos_comm,
       ('[1,2]'::vector <#> '[5,-1]') = ('[5,-1]'::vector <#> '[1,2]') AS ip_comm;
-- cosine distance with a zero vector is NaN (the angle is undefined)
SELECT '[0,0]'::vector <=> '[1,2]' AS nan1, cosine_distance('[1,2]'::vector, '[0,0]') AS nan2;
-- other functions
SELECT vector_dims('[1,2,3]'::vector), l2_norm('[3,4]'::vector), l2_norm('[0,0,0]'::vector),
       l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector), l2_normalize('[-2]'::vector);
SELECT '[1,2,3]'::vector + '[0.5,-2,10]', '[1,2,3]'::vector - '[0.5,-2,10]';
-- pgvector's other operators and functions
SELECT '[1,2,3]'::vector <+> '[4,0,6]' AS l1, l1_distance('[-1,-2]'::vector, '[1,2]') AS l1_fn,
       ('[1,2]'::vector <+> '[5,-1]') = ('[5,-1]'::vector <+> '[1,2]') AS l1_comm;
-- l1 over every length 1..40 against an exact SQL sum (all tails of the lanes)
SELECT count(*) AS lengths, count(*) FILTER (WHERE l1_distance(a::vector, b::vector) = l1) AS l1_ok
  FROM (SELECT n, array_agg((i % 7 - 3)::real ORDER BY i) AS a,
               array_agg(((i * 3) % 5 - 2)::real ORDER BY i) AS b,
               sum(abs((i % 7 - 3) - ((i * 3) % 5 - 2))) AS l1
          FROM generate_series(1, 40) n, generate_series(1, n) i GROUP BY n) d;
SELECT '[1,2,3]'::vector * '[0.5,-2,0]' AS mul, '[-0.5]'::vector * '[0]' AS neg_zero;
SELECT '[1]'::vector || '[2,3]' AS cat, vector_dims('[1,2,3]'::vector || '[4,5]') AS dims;
SELECT vector_norm('[3,4]'::vector) = l2_norm('[3,4]'::vector) AS same_norm, vector_norm('[1,1]'::vector);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 2), subvector('[1,2,3,4,5]'::vector, 0, 2),
       subvector('[1,2,3,4,5]'::vector, 4, 100), subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT binary_quantize('[1]'::vector), binary_quantize('[-1,0,2]'::vector),
       binary_quantize('[1,1,1,1,1,1,1,1]'::vector), binary_quantize('[1,-1,1,-1,1,-1,1,-1,1]'::vector),
       length(binary_quantize(array_fill(1::real, ARRAY[16000])::vector)) AS bits;
-- operators qualified explicitly work without the schema on search_path
SET search_path = public;
SELECT '[1,2,3]'::engram.vector OPERATOR(engram.<->) '[4,5,6]'::engram.vector;
SET search_path = engram, public;

-- kernels against exact SQL sums, for every length from 1 to 100 (covers
-- every tail of the 8-, 16- and 32-wide loops); integer data keeps the
-- float sums exact, so any mismatch is a kernel bug
WITH d AS (
  SELECT n,
         array_agg((i % 7 - 3)::real ORDER BY i) AS a,
         array_agg(((i * 3) % 5 - 2)::real ORDER BY i) AS b,
         sum(((i % 7 - 3) - ((i * 3) % 5 - 2))^2) AS l2sq,
         sum((i % 7 - 3) * ((i * 3) % 5 - 2)) AS ip,
         sum((i % 7 - 3)^2) AS aa, sum(((i * 3) % 5 - 2)^2) AS bb
    FROM generate_series(1, 100) n, generate_series(1, n) i
   GROUP BY n)
SELECT count(*) AS lengths,
       count(*) FILTER (WHERE l2_squared_distance(a::vector, b::vector) = l2sq) AS l2_ok,
       count(*) FILTER (WHERE inner_product(a::vector, b::vector) = ip) AS ip_ok,
       count(*) FILTER (WHERE (a::vector <#> b::vector) = -ip) AS nip_ok,
       count(*) FILTER (WHERE abs((a::vector <=> b::vector) - (1 - ip / sqrt(aa * bb))) < 1e-12
                          OR (aa * bb = 0 AND (a::vector <=> b::vector) = 'NaN')) AS cos_ok,
       count(*) FILTER (WHERE abs(l2_norm(a::vector) - sqrt(aa)) < 1e-12) AS norm_ok
  FROM d;
SELECT vector_kernel() IN ('avx2', 'portable') AS known_kernel;
-- every kernel family the CPU supports (not only the dispatched one)
-- against exact answers, lengths 1..200 at 4 alignments
SELECT kernel, cases, failures FROM vector_kernel_selftest() WHERE kernel = 'portable';
SELECT bool_and(failures = 0) AS all_exact,
       bool_or(kernel = vector_kernel()) AS dispatched_one_tested
  FROM vector_kernel_selftest();

-- 16000 dimensions work (text and array input), 16001 do not
SELECT vector_dims(v), l2_norm(v), v <-> v AS self, v <#> v AS nip
  FROM (SELECT array_fill(1::real, ARRAY[16000])::vector AS v) s;
SELECT vector_dims(('[' || string_agg('2', ',') || ']')::vector)
  FROM generate_series(1, 16000);
SELECT array_fill(0::real, ARRAY[16000])::vector <-> array_fill(1::real, ARRAY[16000])::vector
  AS sqrt_16000;
SELECT vector_dims(('[' || string_agg('2', ',') || ']')::vector)
  FROM generate_series(1, 16001);
SELECT vector_dims(array_fill(1::real, ARRAY[16001])::vector);
CREATE TABLE vt_big (v vector(16000));
INSERT INTO vt_big SELECT array_fill(0.5::real, ARRAY[16000]);
-- stored uncompressed: the stored size is the raw size minus the header
SELECT vector_dims(v), pg_column_size(v), l2_norm(v) FROM vt_big;
DROP TABLE vt_big;

-- aggregates: element-wise avg (double sums) and sum
CREATE TABLE va (g int, v vector(3));
INSERT INTO va VALUES (1, '[1,2,3]'), (1, '[3,2,1]'), (1, '[2,5,-4]'),
  (2, '[0.5,0.5,0.5]'), (3, NULL);
SELECT g, avg(v), sum(v), count(v) FROM va GROUP BY g ORDER BY g;
SELECT avg(v), sum(v) FROM va;
SELECT avg(v), sum(v) FROM va WHERE false;          -- no rows: NULL
-- avg keeps double precision internally: 1e7 + 1 - 1e7 in float would be 0
SELECT avg(v) FROM (VALUES ('[10000000]'::vector), ('[1]'), ('[-10000000]')) t(v);
-- parallel plan with partial aggregation (combine function)
CREATE TABLE vpar AS SELECT g % 4 AS k, ARRAY[g % 10, 1]::real[]::vector AS v
  FROM generate_series(1, 20000) g;
ANALYZE vpar;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM vpar;
SELECT avg(v), sum(v) FROM vpar;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE va, vpar;

-- equality and ordering: element by element, then the shorter first
SELECT '[1,2]'::vector = '[1,2]' AS eq, '[1,2]'::vector <> '[1,2]' AS ne,
       '[1,2]'::vector < '[1,3]' AS lt, '[1,2]'::vector < '[1,2,0]' AS prefix_lt,
       '[2]'::vector > '[1,9,9]' AS gt, '[1,2]'::vector <= '[1,2]' AS le,
       '[1,2]'::vector >= '[1,2.5]' AS ge, '[-0]'::vector = '[0]' AS zero_eq;
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,3]', '[1,2]'),
       vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1]', '[1,0]');
CREATE TABLE vo (id int, v vector);
INSERT INTO vo VALUES (1, '[3,1]'), (2, '[1,2,3]'), (3, '[1,2]'), (4, '[-1,5]'),
  (5, '[1,2]'), (6, '[0]'), (7, '[-0]'), (8, '[1,2,3]'), (9, '[1,-2]');
SELECT v FROM vo ORDER BY v, id;
SELECT v FROM vo ORDER BY v DESC, id;
-- [0] and [-0] are one group; which of the two represents it depends on
-- the plan, so print the group key in a sign-blind way
CREATE FUNCTION pg_temp.show(v vector) RETURNS text LANGUAGE sql AS
  $$ SELECT CASE WHEN v = '[0]' THEN '[+-0]' ELSE v::text END $$;
SELECT pg_temp.show(v) FROM (SELECT DISTINCT v FROM vo) s ORDER BY v;
SELECT count(DISTINCT v) AS distinct_values FROM vo;
SELECT pg_temp.show(v), count(*), array_agg(id ORDER BY id) FROM vo GROUP BY v ORDER BY v;
-- a btree index is used and agrees with the sort
CREATE INDEX vo_btree ON vo (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM vo WHERE v = '[1,2]' ORDER BY id;
SELECT id FROM vo WHERE v = '[1,2]' ORDER BY id;
SELECT id FROM vo WHERE v > '[1,2]' AND v <= '[1,2,3]' ORDER BY id;
SELECT array_agg(id) FROM (SELECT id FROM vo ORDER BY v, id) s;
-- hash index
CREATE INDEX vo_hash ON vo USING hash (v);
DROP INDEX vo_btree;
EXPLAIN (COSTS OFF) SELECT id FROM vo WHERE v = '[1,2,3]';
SELECT id FROM vo WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM vo WHERE v = '[0]' ORDER BY id;    -- -0 and 0 share a bucket
RESET enable_seqscan;
RESET enable_bitmapscan;
-- hash join and hashed aggregation
CREATE TABLE vo2 (v vector, tag text);
INSERT INTO vo2 VALUES ('[1,2]', 'a'), ('[0]', 'zero'), ('[-1,5]', 'b'), ('[9,9]', 'none');
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT vo.id, vo2.tag FROM vo JOIN vo2 ON vo.v = vo2.v;
SELECT vo.id, vo2.tag FROM vo JOIN vo2 ON vo.v = vo2.v ORDER BY vo.id;
RESET enable_mergejoin;
RESET enable_nestloop;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT v, count(*) FROM vo GROUP BY v;
SELECT pg_temp.show(v), count(*) FROM vo GROUP BY v ORDER BY v;
RESET enable_sort;
-- hashes: -0 and 0 alike; the extended hash with seed 0 extends the plain one
SELECT vector_hash('[-0,1]') = vector_hash('[0,1]') AS h0,
       vector_hash_extended('[-0,1]', 7) = vector_hash_extended('[0,1]', 7) AS hx0,
       vector_hash('[1,2]') <> vector_hash('[2,1]') AS differs;
SELECT count(*) FILTER (WHERE (vector_hash_extended(v, 0) & 4294967295)
                              = (vector_hash(v)::bigint & 4294967295)) AS low_bits_match,
       count(*) AS n
  FROM vo;

-- binary I/O: int16 dim, int16 0, big-endian float4s
SELECT vector_send('[1,-2]');
SELECT vector_send('[0.5]');
-- round trip through COPY BINARY (file in the test's results directory)
CREATE TABLE vb (id int, v vector(3), w vector);
INSERT INTO vb VALUES (1, '[1,2,3]', '[0.1]'), (2, '[-0,1e-45,3.4028235e38]', '[1,2,3,4,5]');
\copy vb TO 'results/vector_binary.copy' WITH (FORMAT binary)
CREATE TABLE vb2 (LIKE vb);
\copy vb2 FROM 'results/vector_binary.copy' WITH (FORMAT binary)
SELECT * FROM vb2 ORDER BY id;
SELECT count(*) AS identical FROM vb JOIN vb2 USING (id)
 WHERE vector_send(vb.v) = vector_send(vb2.v) AND vector_send(vb.w) = vector_send(vb2.w);

-- every vector function is immutable, strict and parallel safe, except
-- the CPU-dependent diagnostics vector_kernel() and vector_kernel_selftest()
SELECT proname, provolatile, proisstrict, proparallel
  FROM pg_proc
 WHERE pronamespace = 'engram'::regnamespace
   AND probin IS NOT NULL
   AND (prosrc LIKE 'vector%' OR prosrc = 'array_to_vector')
   AND (provolatile <> 'i' OR NOT proisstrict OR proparallel <> 's')
 ORDER BY proname;

DROP TABLE vt, vo, vo2, vb, vb2;
RESET search_path;
