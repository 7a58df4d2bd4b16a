-- ---------------------------------------------------------------------
-- 12_halfvec: engram.halfvec (src/vector_half.c, 0.2.0; the upgrade from
-- 0.1.0 runs this file as it is: sql/upgrade/12_halfvec.sql links to it)
-- pgvector's halfvec, IEEE
-- binary16 elements (half the bytes of engram.vector), values rounded to
-- the nearest half; |x| <= 65504.  Casts to and from engram.vector and
-- arrays; the operators, functions and aggregates of engram.vector.  No
-- engram_hnsw operator class yet: index halfvec columns through an
-- expression cast to engram.vector.
-- ---------------------------------------------------------------------

CREATE TYPE @extschema@.halfvec;

CREATE FUNCTION @extschema@.halfvec_in(pg_catalog.cstring, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_out(@extschema@.halfvec)
	RETURNS pg_catalog.cstring
	AS 'MODULE_PATHNAME', 'halfvec_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_typmod_in(pg_catalog.cstring[])
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'halfvec_typmod_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_recv(pg_catalog.internal, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_send(@extschema@.halfvec)
	RETURNS pg_catalog.bytea
	AS 'MODULE_PATHNAME', 'halfvec_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.halfvec (
	INPUT = @extschema@.halfvec_in,
	OUTPUT = @extschema@.halfvec_out,
	TYPMOD_IN = @extschema@.halfvec_typmod_in,
	TYPMOD_OUT = @extschema@.vector_typmod_out,
	RECEIVE = @extschema@.halfvec_recv,
	SEND = @extschema@.halfvec_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

CREATE FUNCTION @extschema@.halfvec(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_typmod_coerce'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'halfvec_to_vector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'vector_to_halfvec'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_halfvec(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'array_to_halfvec'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_halfvec(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'array_to_halfvec'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_halfvec(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'array_to_halfvec'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_halfvec(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'array_to_halfvec'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	RETURNS pg_catalog.float4[]
	AS 'MODULE_PATHNAME', 'halfvec_to_float4'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.halfvec AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.halfvec(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	AS IMPLICIT;

CREATE CAST (@extschema@.halfvec AS @extschema@.vector)
	WITH FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (@extschema@.vector AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, pg_catalog.int4, pg_catalog.bool)
	AS IMPLICIT;

CREATE CAST (pg_catalog.float4[] AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.array_to_halfvec(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.float8[] AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.array_to_halfvec(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.int4[] AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.array_to_halfvec(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.numeric[] AS @extschema@.halfvec)
	WITH FUNCTION @extschema@.array_to_halfvec(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (@extschema@.halfvec AS pg_catalog.float4[])
	WITH FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE FUNCTION @extschema@.l2_distance(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_l2_squared_distance(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_l2_squared_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.inner_product(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_negative_inner_product(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.cosine_distance(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l1_distance(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_l1_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_dims(@extschema@.halfvec)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'halfvec_dims'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_norm(@extschema@.halfvec)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'halfvec_l2_norm'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_normalize(@extschema@.halfvec)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_l2_normalize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.binary_quantize(@extschema@.halfvec)
	RETURNS pg_catalog.bit
	AS 'MODULE_PATHNAME', 'halfvec_binary_quantize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.subvector(@extschema@.halfvec, pg_catalog.int4, pg_catalog.int4)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_subvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_add(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_add'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_sub(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_sub'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_mul(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_mul'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_concat(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_concat'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<-> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.l2_distance,
	COMMUTATOR = OPERATOR(@extschema@.<->)
);

CREATE OPERATOR @extschema@.<#> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_negative_inner_product,
	COMMUTATOR = OPERATOR(@extschema@.<#>)
);

CREATE OPERATOR @extschema@.<=> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.cosine_distance,
	COMMUTATOR = OPERATOR(@extschema@.<=>)
);

CREATE OPERATOR @extschema@.<+> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.l1_distance,
	COMMUTATOR = OPERATOR(@extschema@.<+>)
);

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_add,
	COMMUTATOR = OPERATOR(@extschema@.+)
);

CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_sub
);

CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_mul,
	COMMUTATOR = OPERATOR(@extschema@.*)
);

CREATE OPERATOR @extschema@.|| (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_concat
);

CREATE FUNCTION @extschema@.halfvec_accum(pg_catalog.float8[], @extschema@.halfvec)
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'halfvec_accum'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_avg(pg_catalog.float8[])
	RETURNS @extschema@.halfvec
	AS 'MODULE_PATHNAME', 'halfvec_avg'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_combine(pg_catalog.float8[], pg_catalog.float8[])
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'vector_combine'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.avg(@extschema@.halfvec) (
	SFUNC = @extschema@.halfvec_accum,
	STYPE = pg_catalog.float8[],
	FINALFUNC = @extschema@.halfvec_avg,
	COMBINEFUNC = @extschema@.halfvec_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE @extschema@.sum(@extschema@.halfvec) (
	SFUNC = @extschema@.halfvec_add,
	STYPE = @extschema@.halfvec,
	COMBINEFUNC = @extschema@.halfvec_add,
	PARALLEL = SAFE
);

CREATE FUNCTION @extschema@.halfvec_cmp(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'halfvec_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_eq(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_ne(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_lt(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_le(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_gt(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.halfvec_ge(@extschema@.halfvec, @extschema@.halfvec)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'halfvec_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_eq,
	COMMUTATOR = OPERATOR(@extschema@.=),
	NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
	MERGES
);

CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>),
	NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);

CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_lt,
	COMMUTATOR = OPERATOR(@extschema@.>),
	NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);

CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_le,
	COMMUTATOR = OPERATOR(@extschema@.>=),
	NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);

CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_gt,
	COMMUTATOR = OPERATOR(@extschema@.<),
	NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
	FUNCTION = @extschema@.halfvec_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=),
	NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.halfvec_ops
	DEFAULT FOR TYPE @extschema@.halfvec USING btree AS
	OPERATOR 1 @extschema@.< ,
	OPERATOR 2 @extschema@.<= ,
	OPERATOR 3 @extschema@.= ,
	OPERATOR 4 @extschema@.>= ,
	OPERATOR 5 @extschema@.> ,
	FUNCTION 1 @extschema@.halfvec_cmp(@extschema@.halfvec, @extschema@.halfvec);

COMMENT ON TYPE @extschema@.halfvec IS
'vector of IEEE half-precision (16-bit) floats, pgvector''s halfvec: half the storage of engram.vector';
COMMENT ON FUNCTION @extschema@.halfvec_in(pg_catalog.cstring, pg_catalog.oid, pg_catalog.int4) IS
'input function of engram.halfvec: text ''[1,2,3]'', rounded to half precision';
COMMENT ON FUNCTION @extschema@.halfvec_out(@extschema@.halfvec) IS
'output function of engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_typmod_in(pg_catalog.cstring[]) IS
'typmod input of engram.halfvec(dims), 1 to 16000 dimensions';
COMMENT ON FUNCTION @extschema@.halfvec_recv(pg_catalog.internal, pg_catalog.oid, pg_catalog.int4) IS
'binary input function of engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_send(@extschema@.halfvec) IS
'binary output function of engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool) IS
'length coercion to engram.halfvec(dims): checks the dimensions';
COMMENT ON FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool) IS
'cast engram.halfvec to engram.vector (exact)';
COMMENT ON FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, pg_catalog.int4, pg_catalog.bool) IS
'cast engram.vector to engram.halfvec (rounded; error beyond +-65504)';
COMMENT ON FUNCTION @extschema@.array_to_halfvec(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool) IS
'cast real[] to engram.halfvec';
COMMENT ON FUNCTION @extschema@.array_to_halfvec(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool) IS
'cast double precision[] to engram.halfvec';
COMMENT ON FUNCTION @extschema@.array_to_halfvec(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool) IS
'cast integer[] to engram.halfvec';
COMMENT ON FUNCTION @extschema@.array_to_halfvec(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool) IS
'cast numeric[] to engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, pg_catalog.int4, pg_catalog.bool) IS
'cast engram.halfvec to real[]';
COMMENT ON FUNCTION @extschema@.l2_distance(@extschema@.halfvec, @extschema@.halfvec) IS
'Euclidean distance (operator <->)';
COMMENT ON FUNCTION @extschema@.halfvec_l2_squared_distance(@extschema@.halfvec, @extschema@.halfvec) IS
'squared Euclidean distance';
COMMENT ON FUNCTION @extschema@.inner_product(@extschema@.halfvec, @extschema@.halfvec) IS
'inner (dot) product';
COMMENT ON FUNCTION @extschema@.halfvec_negative_inner_product(@extschema@.halfvec, @extschema@.halfvec) IS
'negative inner product (operator <#>, smaller is nearer)';
COMMENT ON FUNCTION @extschema@.cosine_distance(@extschema@.halfvec, @extschema@.halfvec) IS
'cosine distance 1 - cos(a, b) (operator <=>); NaN for a zero vector';
COMMENT ON FUNCTION @extschema@.l1_distance(@extschema@.halfvec, @extschema@.halfvec) IS
'taxicab (L1) distance (operator <+>)';
COMMENT ON FUNCTION @extschema@.vector_dims(@extschema@.halfvec) IS
'number of dimensions';
COMMENT ON FUNCTION @extschema@.l2_norm(@extschema@.halfvec) IS
'Euclidean length';
COMMENT ON FUNCTION @extschema@.l2_normalize(@extschema@.halfvec) IS
'the vector scaled to length 1 (a zero vector stays zero)';
COMMENT ON FUNCTION @extschema@.binary_quantize(@extschema@.halfvec) IS
'bit string with bit i set when element i is greater than zero';
COMMENT ON FUNCTION @extschema@.subvector(@extschema@.halfvec, pg_catalog.int4, pg_catalog.int4) IS
'count elements from a 1-based start position, like substring()';
COMMENT ON FUNCTION @extschema@.halfvec_add(@extschema@.halfvec, @extschema@.halfvec) IS
'element-wise sum (operator +)';
COMMENT ON FUNCTION @extschema@.halfvec_sub(@extschema@.halfvec, @extschema@.halfvec) IS
'element-wise difference (operator -)';
COMMENT ON FUNCTION @extschema@.halfvec_mul(@extschema@.halfvec, @extschema@.halfvec) IS
'element-wise product (operator *)';
COMMENT ON FUNCTION @extschema@.halfvec_concat(@extschema@.halfvec, @extschema@.halfvec) IS
'concatenation (operator ||)';
COMMENT ON FUNCTION @extschema@.halfvec_accum(pg_catalog.float8[], @extschema@.halfvec) IS
'transition function of avg(halfvec)';
COMMENT ON FUNCTION @extschema@.halfvec_avg(pg_catalog.float8[]) IS
'final function of avg(halfvec)';
COMMENT ON FUNCTION @extschema@.halfvec_combine(pg_catalog.float8[], pg_catalog.float8[]) IS
'combine function of avg(halfvec)';
COMMENT ON AGGREGATE @extschema@.avg(@extschema@.halfvec) IS
'element-wise average of half vectors';
COMMENT ON AGGREGATE @extschema@.sum(@extschema@.halfvec) IS
'element-wise sum of half vectors';
COMMENT ON FUNCTION @extschema@.halfvec_cmp(@extschema@.halfvec, @extschema@.halfvec) IS
'btree comparison of half vectors (element by element, then by dimensions)';
COMMENT ON FUNCTION @extschema@.halfvec_eq(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of = for engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_ne(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of <> for engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_lt(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of < for engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_le(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of <= for engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_gt(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of > for engram.halfvec';
COMMENT ON FUNCTION @extschema@.halfvec_ge(@extschema@.halfvec, @extschema@.halfvec) IS
'implementation of >= for engram.halfvec';
