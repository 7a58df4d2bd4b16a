--
-- engram.vector: every error path
--
SET search_path = engram, public;
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset null '(null)'

CREATE FUNCTION pg_temp.sqlstate(lit text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lit::engram.vector;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

-- malformed literals: 22P02 invalid_text_representation
SELECT ''::vector;
SELECT '1,2,3'::vector;
SELECT '[1,2,3'::vector;
SELECT '[1,,2]'::vector;
SELECT '[1,2,]'::vector;
SELECT '[,]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,2]x'::vector;
SELECT '[1,2]]'::vector;
SELECT '[a]'::vector;
SELECT '[1e]'::vector;
SELECT '['::vector;
SELECT lit, pg_temp.sqlstate(lit)
  FROM unnest(ARRAY['', '1,2,3', '[1,2,3', '[1,,2]', '[1,2,]', '[,]', '[1 2]',
                    '[1,2]x', '[a]', '[']) lit;

-- empty vector: 22000 data_exception
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT pg_temp.sqlstate('[]');

-- NaN and infinities are not allowed: 22000
SELECT '[NaN]'::vector;
SELECT '[1,inf]'::vector;
SELECT '[-Infinity,1]'::vector;
SELECT pg_temp.sqlstate('[nan]'), pg_temp.sqlstate('[1,Infinity]');

-- out of float range: 22003 numeric_value_out_of_range
SELECT '[1e39]'::vector;
SELECT '[-1e39]'::vector;
SELECT pg_temp.sqlstate('[1e39]');

-- more than 16000 dimensions: 54000 program_limit_exceeded
SELECT ('[' || string_agg('1', ',') || ']')::vector FROM generate_series(1, 16001);
SELECT pg_temp.sqlstate((SELECT '[' || string_agg('1', ',') || ']' FROM generate_series(1, 16001)));
SELECT array_fill(1::real, ARRAY[16001])::vector;

-- type modifier out of range or malformed: 22023 invalid_parameter_value
CREATE TABLE ve (v vector(0));
CREATE TABLE ve (v vector(-5));
CREATE TABLE ve (v vector(16001));
CREATE TABLE ve (v vector(3, 4));
SELECT '[1]'::vector(16001);

-- typmod mismatch: 22000
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3,4]'::vector(3);
SELECT '[1,2]'::vector::vector(3);
CREATE TABLE ve (id int, v vector(3));
INSERT INTO ve VALUES (1, '[1,2,3,4]');
INSERT INTO ve VALUES (2, '[1,2]');
INSERT INTO ve VALUES (3, '[1,2,3,4]'::vector);
INSERT INTO ve VALUES (4, ARRAY[1,2,3,4]);
INSERT INTO ve VALUES (5, ARRAY[1,2]::real[]);
INSERT INTO ve VALUES (6, '[1,2,3]');
UPDATE ve SET v = '[1,2]'::vector;
SELECT * FROM ve;

-- operand dimensions differ: 22000
SELECT '[1,2,3]'::vector <-> '[1,2,3,4]';
SELECT '[1,2,3]'::vector <=> '[1,2,3,4]';
SELECT '[1,2,3]'::vector <#> '[1,2,3,4]';
SELECT l2_distance('[1]'::vector, '[1,2]');
SELECT l2_squared_distance('[1]'::vector, '[1,2]');
SELECT inner_product('[1]'::vector, '[1,2]');
SELECT cosine_distance('[1]'::vector, '[1,2]');
SELECT '[1,2]'::vector + '[1]';
SELECT '[1,2]'::vector - '[1]';

SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);

-- elementwise overflow: 22003
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);

-- arrays
SELECT ARRAY[1,NULL,3]::real[]::vector;         -- 22004 null_value_not_allowed
SELECT ARRAY[NULL]::float8[]::vector;
SELECT ARRAY[[1,2],[3,4]]::real[]::vector;      -- multi-dimensional
SELECT '{}'::real[]::vector;                    -- empty
SELECT ARRAY['NaN']::real[]::vector;
SELECT ARRAY['Infinity']::float8[]::vector;
SELECT ARRAY[1e300]::float8[]::vector;          -- out of float4 range
SELECT ARRAY['NaN']::numeric[]::vector;
SELECT ARRAY[1e39]::numeric[]::vector;
SELECT ARRAY['a']::text[]::vector;              -- no such cast
SELECT '[1,2]'::vector::int[];                  -- no such cast
DO $$
BEGIN
  PERFORM ARRAY[1,NULL]::real[]::engram.vector;
EXCEPTION WHEN null_value_not_allowed THEN
  RAISE NOTICE 'null element: SQLSTATE %', SQLSTATE;
END $$;
DO $$
BEGIN
  PERFORM '[1,2]'::engram.vector <-> '[1]'::engram.vector;
EXCEPTION WHEN data_exception THEN
  RAISE NOTICE 'dimension mismatch: SQLSTATE %', SQLSTATE;
END $$;
DO $$
BEGIN
  PERFORM array_fill(1::real, ARRAY[16001])::engram.vector;
EXCEPTION WHEN program_limit_exceeded THEN
  RAISE NOTICE 'too many dimensions: SQLSTATE %', SQLSTATE;
END $$;

-- binary input is validated too.  Build COPY BINARY files by hand:
-- signature, flags, header extension length, one tuple of one field, trailer.
CREATE FUNCTION pg_temp.copyfile(field bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT '\x5047434f50590aff0d0a00'::bytea || '\x00000000'::bytea || '\x00000000'::bytea
      || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea
$$;
CREATE TABLE vr (v vector);
CREATE TABLE vr3 (v vector(3));
-- a good file first, to show the format is right: [1,-2]
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000200003f800000c0000000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT * FROM vr;
SELECT lo_unlink(:lo);
-- dim 0
SELECT lo_from_bytea(0, pg_temp.copyfile('\x00000000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- dim -1
SELECT lo_from_bytea(0, pg_temp.copyfile('\xffff00003f800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- dim 16001 (0x3e81)
SELECT lo_from_bytea(0, pg_temp.copyfile('\x3e8100003f800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- reserved field not zero
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000100013f800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- NaN element
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000200003f8000007fc00000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- -Infinity element
SELECT lo_from_bytea(0, pg_temp.copyfile('\x00010000ff800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- fewer floats than dim says
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000300003f800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- more bytes than dim says
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000100003f8000003f800000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
-- typmod mismatch on binary input into vector(3)
SELECT lo_from_bytea(0, pg_temp.copyfile('\x000200003f800000c0000000')) AS lo \gset
\lo_export :lo 'results/vector_errors.copy'
\copy vr3 FROM 'results/vector_errors.copy' WITH (FORMAT binary)
SELECT lo_unlink(:lo);
SELECT count(*) AS rows_loaded FROM vr;
SELECT count(*) AS rows_loaded FROM vr3;

DROP TABLE ve, vr, vr3;
RESET search_path;
-- the aggregate's support functions called by hand with a malformed state:
-- pgvector's message and SQLSTATE (XX000, as PostgreSQL's own float8_accum
-- family answers a malformed transition state), with a hint
\set VERBOSITY default
SELECT engram.vector_avg('{}'::float8[]);
SELECT engram.vector_avg('{1,NULL}'::float8[]);
SELECT engram.vector_accum('{{0}}'::float8[], '[1]');
SELECT engram.vector_combine('{0}'::float8[], '{1,NULL}'::float8[]);
\set VERBOSITY terse
-- states that no vector can have: a count without sums, too many sums
SELECT engram.vector_avg('{1}'::float8[]);
SELECT engram.vector_avg(array_fill(1::float8, ARRAY[16002]));
SELECT engram.vector_combine('{1}'::float8[], '{0}'::float8[]);
SELECT engram.vector_combine('{1,2}'::float8[], '{1,2,3}'::float8[]);
SELECT engram.vector_accum('{1,2}'::float8[], '[1,2]');
-- sums beyond double range (22003), averages beyond float range (22000)
SELECT engram.vector_combine('{1,1e308}'::float8[], '{1,1e308}'::float8[]);
SELECT engram.vector_avg('{1,1e300}'::float8[]);
-- two empty states combine to an empty state (pgvector 0.8.6 fails here)
SELECT engram.vector_combine('{0}'::float8[], '{0}'::float8[]);

-- pgvector's other operators and functions
SET search_path = engram, public;
SELECT '[1,2]'::vector * '[3]';                    -- 22000
SELECT '[1e37]'::vector * '[1e37]';                -- 22003 overflow
SELECT '[1e-37]'::vector * '[1e-37]';              -- 22003 underflow
SELECT '[0,1e-37]'::vector * '[1e-37,0]';          -- zero factors: fine
SELECT '[1,2]'::vector <+> '[3]';
SELECT l1_distance('[1]'::vector, '[1,2]');
SELECT array_fill(0, ARRAY[16000])::vector || '[1]';   -- 54000
SELECT vector_dims(array_fill(0, ARRAY[15999])::vector || '[1]');
SELECT subvector('[1,2,3]'::vector, 1, 0);
SELECT subvector('[1,2,3]'::vector, 4, 1);
SELECT subvector('[1,2,3]'::vector, -5, 6);
SELECT subvector('[1,2,3]'::vector, -2147483648, 2147483647);
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647);
SELECT subvector('[1,2,3]'::vector, 3, 2147483647);
RESET search_path;
