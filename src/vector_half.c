/*-------------------------------------------------------------------------
 *
 * vector_half.c
 *	  The engram.halfvec type (pgvector's halfvec): I/O, typmod, casts to
 *	  and from engram.vector and arrays, distances, arithmetic, ordering
 *	  and the avg / sum aggregates.
 *
 * Elements are IEEE 754 binary16.  A float becomes a half by rounding to
 * nearest, ties to even; magnitudes from 65520 up (which round past the
 * largest half, 65504) are out of range (22003), magnitudes below the
 * smallest subnormal (2^-24) round to a signed zero.  Every half is
 * exactly a float, so all arithmetic happens in float: distances convert
 * both operands to float and use engram.vector's dispatched kernels, so
 * a distance between halfvecs is bit for bit the distance between the
 * same values cast to engram.vector.  Messages and SQLSTATEs are
 * pgvector's.
 *
 * IDENTIFICATION
 *	  src/vector_half.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/varbit.h"

#include "vector.h"
#include "vector_half.h"
#include "vector_kernels.h"

/* halves converted to floats on the stack up to this many dimensions */
#define HALF_STACK_DIMS 512

/* ----------------------------------------------------------------
 * float <-> half
 * ----------------------------------------------------------------
 */

/* Round to nearest, ties to even; infinity when out of range. */
static half
float_to_half_unchecked(float f)
{
	uint32		x;
	uint32		absx;
	half		sign;
	uint32		h;
	uint32		rest;

	memcpy(&x, &f, sizeof(x));
	sign = (half) ((x >> 16) & 0x8000);
	absx = x & 0x7fffffff;

	if (absx >= 0x7f800000)		/* infinity or NaN */
		return sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0);
	if (absx >= 0x477ff000)		/* >= 65520: rounds past 65504 */
		return sign | 0x7c00;
	if (absx < 0x38800000)		/* below 2^-14: subnormal half or zero */
	{
		float		a;

		memcpy(&a, &absx, sizeof(a));
		/* a * 2^24 is exact; rintf rounds to nearest even */
		return sign | (half) rintf(a * 16777216.0f);
	}
	h = ((((absx >> 23) - 127 + 15) << 10) | ((absx & 0x7fffff) >> 13));
	rest = absx & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;					/* a carry into the exponent is right */
	return sign | (half) h;
}

static inline bool
half_is_inf(half h)
{
	return (h & 0x7fff) == 0x7c00;
}

static inline bool
half_is_nan(half h)
{
	return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

/* A float that must fit: 22003 when it does not (pgvector's message). */
static half
float_to_half(float f)
{
	half		h = float_to_half_unchecked(f);

	if (unlikely(half_is_inf(h)) && !isinf(f))
	{
		char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

		float_to_shortest_decimal_buf(f, buf);
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%s\" is out of range for type halfvec", buf),
				 errhint("A halfvec element lies between -65504 and 65504.")));
	}
	return h;
}

/* ----------------------------------------------------------------
 * Checks
 * ----------------------------------------------------------------
 */
static EngramHalfVector *
halfvec_new(int dim)
{
	Size		size = HALFVEC_SIZE(dim);
	EngramHalfVector *v = (EngramHalfVector *) palloc0(size);

	SET_VARSIZE(v, size);
	v->dim = dim;
	return v;
}

static void
halfvec_check_dim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));
	if (dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("halfvec cannot have more than %d dimensions", HALFVEC_MAX_DIM)));
}

static void
halfvec_check_dims_match(const EngramHalfVector *a, const EngramHalfVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d", a->dim, b->dim)));
}

static void
halfvec_check_typmod(int dim, int32 typmod)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

static void
halfvec_check_element(half h)
{
	if (half_is_nan(h))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in halfvec")));
	if (half_is_inf(h))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in halfvec")));
}

/*
 * The elements as floats: in buf when there is room (HALF_STACK_DIMS),
 * else in palloc'd memory.
 */
static const float *
halfvec_floats(const EngramHalfVector *v, float *buf)
{
	float	   *f = (v->dim <= HALF_STACK_DIMS) ? buf : (float *) palloc(sizeof(float) * v->dim);

	for (int i = 0; i < v->dim; i++)
		f[i] = half_to_float(v->x[i]);
	return f;
}

/* ----------------------------------------------------------------
 * Text and binary I/O, typmod
 * ----------------------------------------------------------------
 */
static inline bool
halfvec_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *p = lit;
	half	   *buf;
	int			cap = 64;
	int			dim = 0;
	EngramHalfVector *result;

	while (halfvec_isspace(*p))
		p++;
	if (*p != '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
				 errdetail("Vector contents must start with \"[\".")));
	p++;
	while (halfvec_isspace(*p))
		p++;
	if (*p == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	buf = (half *) palloc(sizeof(half) * cap);
	for (;;)
	{
		char	   *end;
		float		f;
		half		h;

		while (halfvec_isspace(*p))
			p++;
		if (*p == '\0' || *p == ',' || *p == ']')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
					 errdetail("Expected a number at position %d.", (int) (p - lit) + 1)));
		errno = 0;
		f = strtof(p, &end);
		if (end == p)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
					 errdetail("Expected a number at position %d.", (int) (p - lit) + 1)));
		h = float_to_half_unchecked(f);
		if ((errno == ERANGE && isinf(f)) || (half_is_inf(h) && !isinf(f)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%.*s\" is out of range for type halfvec", (int) (end - p), p),
					 errhint("A halfvec element lies between -65504 and 65504.")));
		halfvec_check_element(h);

		if (dim >= HALFVEC_MAX_DIM)
			halfvec_check_dim(dim + 1);
		if (dim >= cap)
		{
			cap = Min(cap * 2, HALFVEC_MAX_DIM);
			buf = (half *) repalloc(buf, sizeof(half) * cap);
		}
		buf[dim++] = h;

		p = end;
		while (halfvec_isspace(*p))
			p++;
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ']')
		{
			p++;
			break;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
				 errdetail("Expected \",\" or \"]\" at position %d.", (int) (p - lit) + 1)));
	}
	while (halfvec_isspace(*p))
		p++;
	if (*p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
				 errdetail("Junk after closing right brace.")));

	halfvec_check_typmod(dim, typmod);
	result = halfvec_new(dim);
	memcpy(result->x, buf, sizeof(half) * dim);
	pfree(buf);
	PG_RETURN_POINTER(result);
}

/* each element as the shortest text that reads back to the same float */
PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	char	   *buf = (char *) palloc((Size) v->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 3);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(half_to_float(v->x[i]), p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *mods;
	int			n;

	mods = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errhint("Give exactly one dimension count, as in halfvec(384).")));
	if (mods[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type halfvec must be at least 1")));
	if (mods[0] > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type halfvec cannot exceed %d", HALFVEC_MAX_DIM)));
	PG_RETURN_INT32(mods[0]);
}

/* binary: int16 dim, int16 unused (0), then each half as an int16 */
PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int16		dim = (int16) pq_getmsgint(buf, sizeof(int16));
	int16		unused = (int16) pq_getmsgint(buf, sizeof(int16));
	EngramHalfVector *result;

	halfvec_check_dim(dim);
	halfvec_check_typmod(dim, typmod);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary halfvec: reserved field is %d, expected 0", unused)));
	result = halfvec_new(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (half) pq_getmsgint(buf, sizeof(int16));
		halfvec_check_element(result->x[i]);
	}
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, v->unused);
	for (int i = 0; i < v->dim; i++)
		pq_sendint16(&buf, v->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ----------------------------------------------------------------
 * Casts
 * ----------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(halfvec_typmod_coerce);
Datum
halfvec_typmod_coerce(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);

	halfvec_check_typmod(v->dim, PG_GETARG_INT32(1));
	PG_RETURN_POINTER(v);
}

/* halfvec -> vector: exact */
PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	EngramVector *result;

	if (typmod != -1 && typmod != v->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, v->dim)));
	result = vector_new(v->dim);
	for (int i = 0; i < v->dim; i++)
		result->x[i] = half_to_float(v->x[i]);
	PG_RETURN_POINTER(result);
}

/* vector -> halfvec: rounded; 22003 beyond +-65504 */
PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	EngramHalfVector *result;

	halfvec_check_dim(v->dim);
	halfvec_check_typmod(v->dim, typmod);
	result = halfvec_new(v->dim);
	for (int i = 0; i < v->dim; i++)
		result->x[i] = float_to_half(v->x[i]);
	PG_RETURN_POINTER(result);
}

/* real[] / double precision[] / integer[] / numeric[] -> halfvec */
PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			n;
	EngramHalfVector *result;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D"),
				 errhint("Only a one-dimensional array converts to a halfvec.")));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls"),
				 errhint("Replace the NULL elements before the cast, for example with coalesce().")));
	if (elemtype != FLOAT4OID && elemtype != FLOAT8OID &&
		elemtype != INT4OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array type"),
				 errdetail("Arrays of %s do not convert to halfvec.", format_type_be(elemtype)),
				 errhint("Cast the array to real[] first.")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, NULL, &n);
	halfvec_check_dim(n);
	halfvec_check_typmod(n, typmod);

	result = halfvec_new(n);
	for (int i = 0; i < n; i++)
	{
		float		f;

		switch (elemtype)
		{
			case FLOAT4OID:
				f = DatumGetFloat4(elems[i]);
				break;
			case FLOAT8OID:
				f = (float) DatumGetFloat8(elems[i]);
				break;
			case INT4OID:
				f = (float) DatumGetInt32(elems[i]);
				break;
			default:
				f = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
		}
		result->x[i] = float_to_half(f);
	}
	pfree(elems);
	for (int i = 0; i < n; i++)
		halfvec_check_element(result->x[i]);
	PG_RETURN_POINTER(result);
}

/* halfvec -> real[] */
PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	Datum	   *d = (Datum *) palloc(sizeof(Datum) * v->dim);

	for (int i = 0; i < v->dim; i++)
		d[i] = Float4GetDatum(half_to_float(v->x[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

/* ----------------------------------------------------------------
 * Distances, norms, functions
 * ----------------------------------------------------------------
 */
#define HALF_PAIR_BEGIN \
	EngramHalfVector *a = PG_GETARG_ENGRAM_HALFVEC_P(0); \
	EngramHalfVector *b = PG_GETARG_ENGRAM_HALFVEC_P(1); \
	float		abuf[HALF_STACK_DIMS]; \
	float		bbuf[HALF_STACK_DIMS]; \
	const float *af; \
	const float *bf; \
\
	halfvec_check_dims_match(a, b); \
	af = halfvec_floats(a, abuf); \
	bf = halfvec_floats(b, bbuf)

PG_FUNCTION_INFO_V1(halfvec_l2_distance);
Datum
halfvec_l2_distance(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8(sqrt((double) vector_l2_squared_impl(af, bf, a->dim)));
}

PG_FUNCTION_INFO_V1(halfvec_l2_squared_distance);
Datum
halfvec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8((double) vector_l2_squared_impl(af, bf, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_inner_product);
Datum
halfvec_inner_product(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8((double) vector_inner_product_impl(af, bf, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_negative_inner_product);
Datum
halfvec_negative_inner_product(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8(-(double) vector_inner_product_impl(af, bf, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_cosine_distance);
Datum
halfvec_cosine_distance(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8(vector_cosine_distance_raw(af, bf, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_l1_distance);
Datum
halfvec_l1_distance(PG_FUNCTION_ARGS)
{
	HALF_PAIR_BEGIN;
	PG_RETURN_FLOAT8((double) vk_l1_portable(af, bf, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_dims);
Datum
halfvec_dims(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);

	PG_RETURN_INT32(v->dim);
}

static double
halfvec_norm_double(const EngramHalfVector *v)
{
	double		s = 0.0;

	for (int i = 0; i < v->dim; i++)
	{
		double		f = half_to_float(v->x[i]);

		s += f * f;
	}
	return sqrt(s);
}

PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(halfvec_norm_double(PG_GETARG_ENGRAM_HALFVEC_P(0)));
}

/* a zero vector stays zero; elements rounded to half */
PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	EngramHalfVector *result = halfvec_new(v->dim);
	double		norm = halfvec_norm_double(v);

	if (norm > 0.0)
	{
		for (int i = 0; i < v->dim; i++)
			result->x[i] = float_to_half_unchecked((float) (half_to_float(v->x[i]) / norm));
	}
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	Size		size = VARBITTOTALLEN(v->dim);
	VarBit	   *result = (VarBit *) palloc0(size);
	bits8	   *r;

	SET_VARSIZE(result, size);
	VARBITLEN(result) = v->dim;
	r = VARBITS(result);
	for (int i = 0; i < v->dim; i++)
	{
		/* greater than zero: sign bit clear and not +0 */
		if (!(v->x[i] & 0x8000) && v->x[i] != 0)
			r[i / BITS_PER_BYTE] |= (bits8) (1 << (BITS_PER_BYTE - 1 - i % BITS_PER_BYTE));
	}
	PG_RETURN_VARBIT_P(result);
}

/* as engram.subvector(vector, ...): 1-based, like substring() */
PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	int64		first;
	int64		last;
	EngramHalfVector *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension"),
				 errdetail("subvector() was asked for %d elements.", count)));
	first = Max((int64) start, 1);
	last = Min((int64) start + (int64) count, (int64) v->dim + 1);
	if (first > v->dim || last <= first)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension"),
				 errdetail("Positions %d to %lld of a halfvec of %d dimensions hold no element.",
						   start, (long long) start + count - 1, v->dim)));
	result = halfvec_new((int) (last - first));
	memcpy(result->x, v->x + (first - 1), sizeof(half) * (last - first));
	PG_RETURN_POINTER(result);
}

/* element-wise +, -, *: computed in float, rounded to half, 22003 when out of range */
typedef enum
{
	HALF_ADD,
	HALF_SUB,
	HALF_MUL
} HalfOp;

static Datum
halfvec_elementwise(FunctionCallInfo fcinfo, HalfOp op)
{
	EngramHalfVector *a = PG_GETARG_ENGRAM_HALFVEC_P(0);
	EngramHalfVector *b = PG_GETARG_ENGRAM_HALFVEC_P(1);
	EngramHalfVector *result;

	halfvec_check_dims_match(a, b);
	result = halfvec_new(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		x = half_to_float(a->x[i]);
		float		y = half_to_float(b->x[i]);
		float		r = (op == HALF_ADD) ? x + y : (op == HALF_SUB) ? x - y : x * y;

		result->x[i] = float_to_half_unchecked(r);
	}
	for (int i = 0; i < a->dim; i++)
	{
		if (half_is_inf(result->x[i]))
			float_overflow_error();
		if (op == HALF_MUL && (result->x[i] & 0x7fff) == 0 &&
			(a->x[i] & 0x7fff) != 0 && (b->x[i] & 0x7fff) != 0)
			float_underflow_error();
	}
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_add);
Datum
halfvec_add(PG_FUNCTION_ARGS)
{
	return halfvec_elementwise(fcinfo, HALF_ADD);
}

PG_FUNCTION_INFO_V1(halfvec_sub);
Datum
halfvec_sub(PG_FUNCTION_ARGS)
{
	return halfvec_elementwise(fcinfo, HALF_SUB);
}

PG_FUNCTION_INFO_V1(halfvec_mul);
Datum
halfvec_mul(PG_FUNCTION_ARGS)
{
	return halfvec_elementwise(fcinfo, HALF_MUL);
}

PG_FUNCTION_INFO_V1(halfvec_concat);
Datum
halfvec_concat(PG_FUNCTION_ARGS)
{
	EngramHalfVector *a = PG_GETARG_ENGRAM_HALFVEC_P(0);
	EngramHalfVector *b = PG_GETARG_ENGRAM_HALFVEC_P(1);
	int			dim = (int) a->dim + (int) b->dim;
	EngramHalfVector *result;

	halfvec_check_dim(dim);
	result = halfvec_new(dim);
	memcpy(result->x, a->x, sizeof(half) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(half) * b->dim);
	PG_RETURN_POINTER(result);
}

/* ----------------------------------------------------------------
 * Ordering: element by element (as floats, so -0 = 0), then the shorter
 * first -- the order of engram.vector
 * ----------------------------------------------------------------
 */
static int
halfvec_cmp_internal(const EngramHalfVector *a, const EngramHalfVector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		float		x = half_to_float(a->x[i]);
		float		y = half_to_float(b->x[i]);

		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define HALFVEC_CMP_FUNC(fname, expr) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	EngramHalfVector *a = PG_GETARG_ENGRAM_HALFVEC_P(0); \
	EngramHalfVector *b = PG_GETARG_ENGRAM_HALFVEC_P(1); \
	int			c = halfvec_cmp_internal(a, b); \
\
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	expr; \
}

HALFVEC_CMP_FUNC(halfvec_cmp, PG_RETURN_INT32(c))
HALFVEC_CMP_FUNC(halfvec_eq, PG_RETURN_BOOL(c == 0))
HALFVEC_CMP_FUNC(halfvec_ne, PG_RETURN_BOOL(c != 0))
HALFVEC_CMP_FUNC(halfvec_lt, PG_RETURN_BOOL(c < 0))
HALFVEC_CMP_FUNC(halfvec_le, PG_RETURN_BOOL(c <= 0))
HALFVEC_CMP_FUNC(halfvec_gt, PG_RETURN_BOOL(c > 0))
HALFVEC_CMP_FUNC(halfvec_ge, PG_RETURN_BOOL(c >= 0))

/* ----------------------------------------------------------------
 * avg(halfvec): the state of avg(vector) ({count, sum_1, ..., sum_n} in
 * double); combined by engram.vector_combine, as in pgvector
 * ----------------------------------------------------------------
 */
static float8 *
halfvec_avg_state(ArrayType *state, const char *caller, int *dims)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s: expected state array", caller),
				 errhint("The state of avg(halfvec) is a one-dimensional float8 array without NULLs: {count, sum_1, ..., sum_n}; call avg() rather than its support functions.")));
	*dims = ARR_DIMS(state)[0] - 1;
	return (float8 *) ARR_DATA_PTR(state);
}

PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	EngramHalfVector *v = PG_GETARG_ENGRAM_HALFVEC_P(1);
	int			dims;
	float8	   *s = halfvec_avg_state(state, "halfvec_accum", &dims);

	if (dims == 0)
	{
		/* first row: size the state to this vector */
		float8		count = s[0];
		Datum	   *d = (Datum *) palloc(sizeof(Datum) * (v->dim + 1));

		for (int i = 0; i <= v->dim; i++)
			d[i] = Float8GetDatum(0.0);
		state = construct_array(d, v->dim + 1, FLOAT8OID, sizeof(float8),
								FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		pfree(d);
		s = (float8 *) ARR_DATA_PTR(state);
		s[0] = count;
	}
	else
	{
		halfvec_check_typmod(v->dim, dims);
		if (!AggCheckCallContext(fcinfo, NULL))
		{
			state = DatumGetArrayTypePCopy(PG_GETARG_DATUM(0));
			s = (float8 *) ARR_DATA_PTR(state);
		}
	}
	s[0] += 1.0;
	for (int i = 0; i < v->dim; i++)
	{
		s[i + 1] += (double) half_to_float(v->x[i]);
		if (isinf(s[i + 1]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			dims;
	float8	   *s = halfvec_avg_state(state, "halfvec_avg", &dims);
	EngramHalfVector *result;

	if (s[0] == 0.0)
		PG_RETURN_NULL();
	halfvec_check_dim(dims);
	result = halfvec_new(dims);
	for (int i = 0; i < dims; i++)
	{
		result->x[i] = float_to_half((float) (s[i + 1] / s[0]));
		halfvec_check_element(result->x[i]);
	}
	PG_RETURN_POINTER(result);
}
