-- ---------------------------------------------------------------------
-- 10_vector: 0.1.0 -> 0.2.0 (src/vector.c)
--
-- New: pgvector's <+>, *, ||, l1_distance, vector_norm, vector_mul,
-- vector_concat, subvector, binary_quantize (the type engram.halfvec and
-- its functions: 12_halfvec, a link to the install fragment).  The C functions behind
-- 0.1.0's objects changed behaviour only (pgvector's messages, aggregate
-- state checks); their SQL definitions are unchanged.
-- ---------------------------------------------------------------------

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

