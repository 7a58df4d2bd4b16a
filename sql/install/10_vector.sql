-- ---------------------------------------------------------------------
-- 10_vector: the engram.vector type (src/vector.c)
--
-- Text form as pgvector: '[1,2,3]'.  Optional typmod: engram.vector(384),
-- 1..16000.  Operators: <-> L2 distance, <=> cosine distance (NaN when a
-- vector is all zeros), <#> negative inner product; = <> < <= > >= with
-- default btree and hash operator classes.
-- ---------------------------------------------------------------------

CREATE TYPE @extschema@.vector;

CREATE FUNCTION @extschema@.vector_in(pg_catalog.cstring, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_out(@extschema@.vector)
	RETURNS pg_catalog.cstring
	AS 'MODULE_PATHNAME', 'vector_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_typmod_in(pg_catalog.cstring[])
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'vector_typmod_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_typmod_out(pg_catalog.int4)
	RETURNS pg_catalog.cstring
	AS 'MODULE_PATHNAME', 'vector_typmod_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_recv(pg_catalog.internal, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_send(@extschema@.vector)
	RETURNS pg_catalog.bytea
	AS 'MODULE_PATHNAME', 'vector_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Floats do not compress: keep values uncompressed, out of line when large.
CREATE TYPE @extschema@.vector (
	INPUT = @extschema@.vector_in,
	OUTPUT = @extschema@.vector_out,
	TYPMOD_IN = @extschema@.vector_typmod_in,
	TYPMOD_OUT = @extschema@.vector_typmod_out,
	RECEIVE = @extschema@.vector_recv,
	SEND = @extschema@.vector_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

-- casts -----------------------------------------------------------------

CREATE FUNCTION @extschema@.vector(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_typmod_coerce'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'array_to_vector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'array_to_vector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'array_to_vector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'array_to_vector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_to_float4(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	RETURNS pg_catalog.float4[]
	AS 'MODULE_PATHNAME', 'vector_to_float4'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.vector AS @extschema@.vector)
	WITH FUNCTION @extschema@.vector(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	AS IMPLICIT;

CREATE CAST (pg_catalog.float4[] AS @extschema@.vector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.float8[] AS @extschema@.vector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.int4[] AS @extschema@.vector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.numeric[] AS @extschema@.vector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (@extschema@.vector AS pg_catalog.float4[])
	WITH FUNCTION @extschema@.vector_to_float4(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

-- distance and vector functions -----------------------------------------

CREATE FUNCTION @extschema@.l2_distance(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_squared_distance(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_l2_squared_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.inner_product(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_negative_inner_product(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.cosine_distance(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_dims(@extschema@.vector)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'vector_dims'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_norm(@extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_l2_norm'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_normalize(@extschema@.vector)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_l2_normalize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_add(@extschema@.vector, @extschema@.vector)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_add'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_sub(@extschema@.vector, @extschema@.vector)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_sub'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Not IMMUTABLE: the answer depends on the CPU the server runs on.
CREATE FUNCTION @extschema@.vector_kernel()
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'vector_kernel'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Diagnostic: checks every kernel family this CPU supports against exact
-- answers; one row per family.
CREATE FUNCTION @extschema@.vector_kernel_selftest(
		OUT kernel pg_catalog.text, OUT cases pg_catalog.int8, OUT failures pg_catalog.int8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'vector_kernel_selftest'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<-> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.l2_distance,
	COMMUTATOR = OPERATOR(@extschema@.<->)
);

CREATE OPERATOR @extschema@.<=> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.cosine_distance,
	COMMUTATOR = OPERATOR(@extschema@.<=>)
);

CREATE OPERATOR @extschema@.<#> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_negative_inner_product,
	COMMUTATOR = OPERATOR(@extschema@.<#>)
);

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_add,
	COMMUTATOR = OPERATOR(@extschema@.+)
);

CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_sub
);

-- aggregates -------------------------------------------------------------

CREATE FUNCTION @extschema@.vector_accum(pg_catalog.float8[], @extschema@.vector)
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'vector_accum'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_combine(pg_catalog.float8[], pg_catalog.float8[])
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'vector_combine'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_avg(pg_catalog.float8[])
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_avg'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- element-wise mean (sums in double); NULL over no rows
CREATE AGGREGATE @extschema@.avg(@extschema@.vector) (
	SFUNC = @extschema@.vector_accum,
	STYPE = pg_catalog.float8[],
	FINALFUNC = @extschema@.vector_avg,
	COMBINEFUNC = @extschema@.vector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

-- element-wise sum (float, errors on overflow)
CREATE AGGREGATE @extschema@.sum(@extschema@.vector) (
	SFUNC = @extschema@.vector_add,
	STYPE = @extschema@.vector,
	COMBINEFUNC = @extschema@.vector_add,
	PARALLEL = SAFE
);

-- comparison, btree and hash support ------------------------------------

CREATE FUNCTION @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'vector_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_eq(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_ne(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_lt(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_le(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_gt(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_ge(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'vector_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_hash(@extschema@.vector)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'vector_hash'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_hash_extended(@extschema@.vector, pg_catalog.int8)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'vector_hash_extended'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_eq,
	COMMUTATOR = OPERATOR(@extschema@.=),
	NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
	HASHES, MERGES
);

CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>),
	NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);

CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_lt,
	COMMUTATOR = OPERATOR(@extschema@.>),
	NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);

CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_le,
	COMMUTATOR = OPERATOR(@extschema@.>=),
	NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);

CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_gt,
	COMMUTATOR = OPERATOR(@extschema@.<),
	NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=),
	NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.vector_ops
	DEFAULT FOR TYPE @extschema@.vector USING btree AS
	OPERATOR 1 @extschema@.< ,
	OPERATOR 2 @extschema@.<= ,
	OPERATOR 3 @extschema@.= ,
	OPERATOR 4 @extschema@.>= ,
	OPERATOR 5 @extschema@.> ,
	FUNCTION 1 @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector);

CREATE OPERATOR CLASS @extschema@.vector_ops
	DEFAULT FOR TYPE @extschema@.vector USING hash AS
	OPERATOR 1 @extschema@.= ,
	FUNCTION 1 @extschema@.vector_hash(@extschema@.vector),
	FUNCTION 2 @extschema@.vector_hash_extended(@extschema@.vector, pg_catalog.int8);

-- descriptions (\df+ and \dd show them) -------------------------------------

COMMENT ON FUNCTION @extschema@.vector_in(pg_catalog.cstring, pg_catalog.oid, pg_catalog.int4) IS
'input function of engram.vector: text ''[1,2,3]''';
COMMENT ON FUNCTION @extschema@.vector_out(@extschema@.vector) IS
'output function of engram.vector';
COMMENT ON FUNCTION @extschema@.vector_typmod_in(pg_catalog.cstring[]) IS
'typmod input of engram.vector(dims), 1 to 16000 dimensions';
COMMENT ON FUNCTION @extschema@.vector_typmod_out(pg_catalog.int4) IS
'typmod output of engram.vector(dims)';
COMMENT ON FUNCTION @extschema@.vector_recv(pg_catalog.internal, pg_catalog.oid, pg_catalog.int4) IS
'binary input function of engram.vector';
COMMENT ON FUNCTION @extschema@.vector_send(@extschema@.vector) IS
'binary output function of engram.vector';
COMMENT ON FUNCTION @extschema@.vector(@extschema@.vector, pg_catalog.int4, pg_catalog.bool) IS
'length coercion to engram.vector(dims): checks the dimensions';
COMMENT ON FUNCTION @extschema@.array_to_vector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool) IS
'cast real[] to engram.vector';
COMMENT ON FUNCTION @extschema@.array_to_vector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool) IS
'cast double precision[] to engram.vector';
COMMENT ON FUNCTION @extschema@.array_to_vector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool) IS
'cast integer[] to engram.vector';
COMMENT ON FUNCTION @extschema@.array_to_vector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool) IS
'cast numeric[] to engram.vector';
COMMENT ON FUNCTION @extschema@.vector_to_float4(@extschema@.vector, pg_catalog.int4, pg_catalog.bool) IS
'cast engram.vector to real[]';
COMMENT ON FUNCTION @extschema@.l2_distance(@extschema@.vector, @extschema@.vector) IS
'Euclidean distance (operator <->)';
COMMENT ON FUNCTION @extschema@.l2_squared_distance(@extschema@.vector, @extschema@.vector) IS
'squared Euclidean distance';
COMMENT ON FUNCTION @extschema@.inner_product(@extschema@.vector, @extschema@.vector) IS
'inner (dot) product';
COMMENT ON FUNCTION @extschema@.vector_negative_inner_product(@extschema@.vector, @extschema@.vector) IS
'negative inner product (operator <#>, smaller is nearer)';
COMMENT ON FUNCTION @extschema@.cosine_distance(@extschema@.vector, @extschema@.vector) IS
'cosine distance 1 - cos(a, b) (operator <=>); NaN for a zero vector';
COMMENT ON FUNCTION @extschema@.vector_dims(@extschema@.vector) IS
'number of dimensions';
COMMENT ON FUNCTION @extschema@.l2_norm(@extschema@.vector) IS
'Euclidean length';
COMMENT ON FUNCTION @extschema@.l2_normalize(@extschema@.vector) IS
'the vector scaled to length 1 (a zero vector stays zero)';
COMMENT ON FUNCTION @extschema@.vector_add(@extschema@.vector, @extschema@.vector) IS
'element-wise sum (operator +)';
COMMENT ON FUNCTION @extschema@.vector_sub(@extschema@.vector, @extschema@.vector) IS
'element-wise difference (operator -)';
COMMENT ON FUNCTION @extschema@.vector_kernel() IS
'distance kernel chosen at load time for this CPU';
COMMENT ON FUNCTION @extschema@.vector_kernel_selftest() IS
'compare every available distance kernel with the scalar reference on random vectors';
COMMENT ON FUNCTION @extschema@.vector_accum(pg_catalog.float8[], @extschema@.vector) IS
'transition function of avg(vector) and sum(vector)';
COMMENT ON FUNCTION @extschema@.vector_combine(pg_catalog.float8[], pg_catalog.float8[]) IS
'combine function of avg(vector) and sum(vector)';
COMMENT ON FUNCTION @extschema@.vector_avg(pg_catalog.float8[]) IS
'final function of avg(vector)';
COMMENT ON AGGREGATE @extschema@.avg(@extschema@.vector) IS
'element-wise average of vectors';
COMMENT ON AGGREGATE @extschema@.sum(@extschema@.vector) IS
'element-wise sum of vectors';
COMMENT ON FUNCTION @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector) IS
'btree comparison of vectors (element by element, then by dimensions)';
COMMENT ON FUNCTION @extschema@.vector_eq(@extschema@.vector, @extschema@.vector) IS
'implementation of = for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_ne(@extschema@.vector, @extschema@.vector) IS
'implementation of <> for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_lt(@extschema@.vector, @extschema@.vector) IS
'implementation of < for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_le(@extschema@.vector, @extschema@.vector) IS
'implementation of <= for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_gt(@extschema@.vector, @extschema@.vector) IS
'implementation of > for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_ge(@extschema@.vector, @extschema@.vector) IS
'implementation of >= for engram.vector';
COMMENT ON FUNCTION @extschema@.vector_hash(@extschema@.vector) IS
'hash support of engram.vector';
COMMENT ON FUNCTION @extschema@.vector_hash_extended(@extschema@.vector, pg_catalog.int8) IS
'seeded hash support of engram.vector';
-- pgvector's other vector functions and operators (0.2.0) ----------------
--   <+> taxicab distance, * element-wise product, || concatenation,
--   vector_norm (pgvector's name for l2_norm), subvector, binary_quantize

CREATE FUNCTION @extschema@.l1_distance(@extschema@.vector, @extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_l1_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_norm(@extschema@.vector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'vector_l2_norm'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_mul(@extschema@.vector, @extschema@.vector)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_mul'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_concat(@extschema@.vector, @extschema@.vector)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_concat'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.subvector(@extschema@.vector, pg_catalog.int4, pg_catalog.int4)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'vector_subvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.binary_quantize(@extschema@.vector)
	RETURNS pg_catalog.bit
	AS 'MODULE_PATHNAME', 'vector_binary_quantize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<+> (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.l1_distance,
	COMMUTATOR = OPERATOR(@extschema@.<+>)
);

CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_mul,
	COMMUTATOR = OPERATOR(@extschema@.*)
);

-- exact operand types, so vector || vector never resolves to text || text
CREATE OPERATOR @extschema@.|| (
	LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
	FUNCTION = @extschema@.vector_concat
);

COMMENT ON FUNCTION @extschema@.l1_distance(@extschema@.vector, @extschema@.vector) IS
'taxicab (L1) distance (operator <+>)';
COMMENT ON FUNCTION @extschema@.vector_norm(@extschema@.vector) IS
'Euclidean length (pgvector''s name for l2_norm)';
COMMENT ON FUNCTION @extschema@.vector_mul(@extschema@.vector, @extschema@.vector) IS
'element-wise product (operator *)';
COMMENT ON FUNCTION @extschema@.vector_concat(@extschema@.vector, @extschema@.vector) IS
'concatenation (operator ||)';
COMMENT ON FUNCTION @extschema@.subvector(@extschema@.vector, pg_catalog.int4, pg_catalog.int4) IS
'count elements from a 1-based start position, like substring()';
COMMENT ON FUNCTION @extschema@.binary_quantize(@extschema@.vector) IS
'bit string with bit i set when element i is greater than zero';

