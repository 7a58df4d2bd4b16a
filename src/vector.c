/*-------------------------------------------------------------------------
 *
 * vector.c
 *	  The engram.vector type: I/O, typmod, casts, distance functions,
 *	  comparison/hash support, and the run-time choice of distance kernels.
 *
 * The text form is pgvector's ('[1,2,3]'); output uses the shortest decimal
 * text that reads back to the same float, like float4out does, so
 * out -> in is exact.  NaN and infinities are never stored.
 *
 * Distances: the SQL functions use the same dispatched float kernels as the
 * ANN index (vector_l2_squared_impl, vector_inner_product_impl), so an
 * index and a sequential scan rank rows identically on a given machine.
 * Kernels accumulate in float with many partial sums (see
 * vector_kernels.h); the final sqrt / cosine division happens in double.
 * Norms and l2_normalize accumulate in double: they run once per vector,
 * not once per candidate, so the cost does not matter.
 *
 * IDENTIFICATION
 *	  src/vector.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/varbit.h"

#include "vector.h"
#include "vector_kernels.h"

/* ----------------------------------------------------------------
 * Kernel dispatch
 *
 * The pointers start at resolver stubs: the first call through either one
 * picks the implementation for this CPU, stores it in all pointers, and
 * forwards the call.  Nothing has to run at load time, and no -march flag
 * is needed anywhere.
 * ----------------------------------------------------------------
 */
static float l2_squared_resolve(const float *a, const float *b, int n);
static float inner_product_resolve(const float *a, const float *b, int n);
static void cosine_parts_resolve(const float *a, const float *b, int n,
								 float *ab, float *aa, float *bb);

float		(*vector_l2_squared_impl) (const float *a, const float *b, int n) = l2_squared_resolve;
float		(*vector_inner_product_impl) (const float *a, const float *b, int n) = inner_product_resolve;
static void (*vector_cosine_parts_impl) (const float *a, const float *b, int n,
										 float *ab, float *aa, float *bb) = cosine_parts_resolve;

static const char *vector_kernel_name = NULL;

static float
l2_squared_portable(const float *a, const float *b, int n)
{
	return vk_l2_squared_portable(a, b, n);
}

static float
inner_product_portable(const float *a, const float *b, int n)
{
	return vk_inner_product_portable(a, b, n);
}

static void
cosine_parts_portable(const float *a, const float *b, int n,
					  float *ab, float *aa, float *bb)
{
	vk_cosine_parts_portable(a, b, n, ab, aa, bb);
}

#ifdef VK_HAVE_AVX2_KERNELS
__attribute__((target("avx2,fma")))
static float
l2_squared_avx2(const float *a, const float *b, int n)
{
	return vk_l2_squared_avx2(a, b, n);
}

__attribute__((target("avx2,fma")))
static float
inner_product_avx2(const float *a, const float *b, int n)
{
	return vk_inner_product_avx2(a, b, n);
}

__attribute__((target("avx2,fma")))
static void
cosine_parts_avx2(const float *a, const float *b, int n,
				  float *ab, float *aa, float *bb)
{
	vk_cosine_parts_avx2(a, b, n, ab, aa, bb);
}
#endif

static void
vector_choose_kernels(void)
{
#ifdef VK_HAVE_AVX2_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		vector_l2_squared_impl = l2_squared_avx2;
		vector_inner_product_impl = inner_product_avx2;
		vector_cosine_parts_impl = cosine_parts_avx2;
		vector_kernel_name = "avx2";
		return;
	}
#endif
	vector_l2_squared_impl = l2_squared_portable;
	vector_inner_product_impl = inner_product_portable;
	vector_cosine_parts_impl = cosine_parts_portable;
	vector_kernel_name = "portable";
}

static float
l2_squared_resolve(const float *a, const float *b, int n)
{
	vector_choose_kernels();
	return vector_l2_squared_impl(a, b, n);
}

static float
inner_product_resolve(const float *a, const float *b, int n)
{
	vector_choose_kernels();
	return vector_inner_product_impl(a, b, n);
}

static void
cosine_parts_resolve(const float *a, const float *b, int n,
					 float *ab, float *aa, float *bb)
{
	vector_choose_kernels();
	vector_cosine_parts_impl(a, b, n, ab, aa, bb);
}

double
vector_cosine_distance_raw(const float *a, const float *b, int n)
{
	float		ab,
				aa,
				bb;

	vector_cosine_parts_impl(a, b, n, &ab, &aa, &bb);
	return vk_cosine_distance_from_parts(ab, aa, bb);
}

const char *
vector_kernel_impl_name(void)
{
	if (vector_kernel_name == NULL)
		vector_choose_kernels();
	return vector_kernel_name;
}

/* ----------------------------------------------------------------
 * Helpers
 * ----------------------------------------------------------------
 */
EngramVector *
vector_new(int dim)
{
	EngramVector *v;
	Size		size = VECTOR_SIZE(dim);

	Assert(dim >= 1 && dim <= VECTOR_MAX_DIM);
	v = (EngramVector *) palloc0(size);
	SET_VARSIZE(v, size);
	v->dim = dim;
	v->unused = 0;
	return v;
}

void
vector_check_dims_match(const EngramVector *a, const EngramVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

static void
vector_check_dim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM)));
}

static void
vector_check_element(float v)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));
	if (isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/* Enforce a column's declared dimension count (typmod -1: any). */
static void
vector_check_typmod(int dim, int32 typmod)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* ----------------------------------------------------------------
 * Text I/O
 * ----------------------------------------------------------------
 */
static inline bool
vector_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *p = lit;
	float	   *buf;
	int			cap = 64;
	int			dim = 0;
	EngramVector *result;

	while (vector_isspace(*p))
		p++;
	if (*p != '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail("Vector contents must start with \"[\".")));
	p++;
	while (vector_isspace(*p))
		p++;
	if (*p == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	buf = (float *) palloc(sizeof(float) * cap);
	for (;;)
	{
		char	   *end;
		float		v;

		while (vector_isspace(*p))
			p++;
		if (*p == '\0' || *p == ',' || *p == ']')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type vector: \"%s\"", lit),
					 errdetail("Expected a number at position %d.", (int) (p - lit) + 1)));
		errno = 0;
		v = strtof(p, &end);
		if (end == p)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type vector: \"%s\"", lit),
					 errdetail("Expected a number at position %d.", (int) (p - lit) + 1)));
		if (errno == ERANGE && isinf(v))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%.*s\" is out of range for type vector",
							(int) (end - p), p)));
		vector_check_element(v);

		if (dim >= VECTOR_MAX_DIM)
			vector_check_dim(dim + 1);
		if (dim >= cap)
		{
			cap = Min(cap * 2, VECTOR_MAX_DIM);
			buf = (float *) repalloc(buf, sizeof(float) * cap);
		}
		buf[dim++] = v;

		p = end;
		while (vector_isspace(*p))
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
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail("Expected \",\" or \"]\" at position %d.", (int) (p - lit) + 1)));
	}

	while (vector_isspace(*p))
		p++;
	if (*p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail("Junk after closing \"]\".")));

	vector_check_typmod(dim, typmod);

	result = vector_new(dim);
	memcpy(result->x, buf, sizeof(float) * dim);
	pfree(buf);
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	char	   *buf;
	char	   *p;
	int			i;

	/* '[' + dim * (number + ',') + ']' + NUL */
	buf = (char *) palloc((Size) v->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 3);
	p = buf;
	*p++ = '[';
	for (i = 0; i < v->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(v->x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

/* ----------------------------------------------------------------
 * Type modifier: engram.vector(N), 1 <= N <= VECTOR_MAX_DIM
 * ----------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *mods;
	int			n;

	mods = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errhint("Give exactly one dimension count, as in vector(384).")));
	if (mods[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector must be at least 1")));
	if (mods[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d", VECTOR_MAX_DIM)));
	PG_RETURN_INT32(mods[0]);
}

PG_FUNCTION_INFO_V1(vector_typmod_out);
Datum
vector_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod < 0)
		PG_RETURN_CSTRING(pstrdup(""));
	PG_RETURN_CSTRING(psprintf("(%d)", typmod));
}

/* ----------------------------------------------------------------
 * Binary I/O: int16 dim, int16 unused (0), float4 x[dim]
 * ----------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int16		dim;
	int16		unused;
	EngramVector *result;
	int			i;

	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));
	vector_check_dim(dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary vector: reserved field is %d, expected 0", unused)));
	vector_check_typmod(dim, typmod);

	result = vector_new(dim);
	for (i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		vector_check_element(result->x[i]);
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, v->unused);
	for (i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ----------------------------------------------------------------
 * Casts
 * ----------------------------------------------------------------
 */

/* vector(vector, typmod, explicit): length coercion for vector(N) columns */
PG_FUNCTION_INFO_V1(vector_typmod_coerce);
Datum
vector_typmod_coerce(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	vector_check_typmod(v->dim, typmod);
	PG_RETURN_ENGRAM_VECTOR_P(v);
}

/*
 * real[] / double precision[] / integer[] / numeric[] -> vector.
 *
 * Checks in pgvector's order, with its messages and SQLSTATEs: shape,
 * NULLs, dimension count, typmod, then every element (a double that does
 * not fit a float becomes infinite and is refused as such, 22000, exactly
 * as pgvector does; a numeric out of float range is refused by
 * numeric_float4 itself, 22003).
 */
PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			n;
	int			i;
	EngramVector *result;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D"),
				 errhint("Only a one-dimensional array converts to a vector.")));
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
				 errdetail("Arrays of %s do not convert to vector.", format_type_be(elemtype)),
				 errhint("Cast the array to real[] first.")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, NULL, &n);

	vector_check_dim(n);
	vector_check_typmod(n, typmod);

	result = vector_new(n);
	for (i = 0; i < n; i++)
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
		result->x[i] = f;
	}
	pfree(elems);
	for (i = 0; i < n; i++)
		vector_check_element(result->x[i]);
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/* vector -> real[] */
PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	Datum	   *d;
	int			i;
	ArrayType  *result;

	d = (Datum *) palloc(sizeof(Datum) * v->dim);
	for (i = 0; i < v->dim; i++)
		d[i] = Float4GetDatum(v->x[i]);
	result = construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* ----------------------------------------------------------------
 * Distances and vector functions
 * ----------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(vector_l2_distance);
Datum
vector_l2_distance(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8(sqrt((double) vector_l2_squared_impl(a->x, b->x, a->dim)));
}

PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vector_l2_squared_impl(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_inner_product);
Datum
vector_inner_product(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vector_inner_product_impl(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_negative_inner_product);
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8(-(double) vector_inner_product_impl(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_cosine_distance);
Datum
vector_cosine_distance(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8(vector_cosine_distance_raw(a->x, b->x, a->dim));
}

/*
 * Taxicab distance (operator <+>), summed in float like the other
 * distances: a sum beyond float range is Infinity, as in pgvector.
 */
PG_FUNCTION_INFO_V1(vector_l1_distance);
Datum
vector_l1_distance(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);

	vector_check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vk_l1_portable(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);

	PG_RETURN_INT32(v->dim);
}

static double
vector_norm_double(const EngramVector *v)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < v->dim; i++)
		s += (double) v->x[i] * (double) v->x[i];
	return sqrt(s);
}

PG_FUNCTION_INFO_V1(vector_l2_norm);
Datum
vector_l2_norm(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);

	PG_RETURN_FLOAT8(vector_norm_double(v));
}

PG_FUNCTION_INFO_V1(vector_l2_normalize);
Datum
vector_l2_normalize(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *result = vector_new(v->dim);
	double		norm = vector_norm_double(v);
	int			i;

	/* the zero vector has no direction: return it unchanged */
	if (norm > 0.0)
	{
		for (i = 0; i < v->dim; i++)
			result->x[i] = (float) ((double) v->x[i] / norm);
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_add);
Datum
vector_add(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);
	EngramVector *result;
	int			i;

	vector_check_dims_match(a, b);
	result = vector_new(a->dim);
	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] + b->x[i];
	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_sub);
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);
	EngramVector *result;
	int			i;

	vector_check_dims_match(a, b);
	result = vector_new(a->dim);
	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] - b->x[i];
	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/*
 * vector_mul(): element-wise product (operator *).  Like pgvector, a
 * product that overflows to infinity is 22003 "value out of range:
 * overflow", and one that underflows to zero although neither factor is
 * zero is 22003 "value out of range: underflow".
 */
PG_FUNCTION_INFO_V1(vector_mul);
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);
	EngramVector *result;
	int			i;

	vector_check_dims_match(a, b);
	result = vector_new(a->dim);
	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] * b->x[i];
	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
		if (result->x[i] == 0.0f && a->x[i] != 0.0f && b->x[i] != 0.0f)
			float_underflow_error();
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/*
 * vector_concat(): a's elements then b's (operator ||); the result must
 * still fit VECTOR_MAX_DIM (54000 otherwise).
 */
PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0);
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1);
	int			dim = (int) a->dim + (int) b->dim;
	EngramVector *result;

	vector_check_dim(dim);
	result = vector_new(dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/*
 * subvector(v, start, count): count elements from position start
 * (1-based, like substring()).  A start before 1 is clamped to 1, as
 * substring() does, which shortens the result; a range reaching past the
 * end stops at the end.  An empty result is an error (22000), as a vector
 * has at least one dimension.  Written so that no int32 sum can overflow.
 */
PG_FUNCTION_INFO_V1(vector_subvector);
Datum
vector_subvector(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	int64		first;
	int64		last;			/* one past the last position taken */
	EngramVector *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("subvector() was asked for %d elements.", count)));
	first = Max((int64) start, 1);
	last = Min((int64) start + (int64) count, (int64) v->dim + 1);
	if (first > v->dim || last <= first)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("Positions %d to %lld of a vector of %d dimensions hold no element.",
						   start, (long long) start + count - 1, v->dim)));
	result = vector_new((int) (last - first));
	memcpy(result->x, v->x + (first - 1), sizeof(float) * (last - first));
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/*
 * binary_quantize(v): a bit string of v's length, bit i set when
 * element i is greater than zero (pgvector's quantisation for Hamming
 * search).
 */
PG_FUNCTION_INFO_V1(vector_binary_quantize);
Datum
vector_binary_quantize(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	Size		size = VARBITTOTALLEN(v->dim);
	VarBit	   *result = (VarBit *) palloc0(size);
	bits8	   *r;
	int			i;

	SET_VARSIZE(result, size);
	VARBITLEN(result) = v->dim;
	r = VARBITS(result);
	for (i = 0; i < v->dim; i++)
	{
		if (v->x[i] > 0.0f)
			r[i / BITS_PER_BYTE] |= (bits8) (1 << (BITS_PER_BYTE - 1 - i % BITS_PER_BYTE));
	}
	PG_RETURN_VARBIT_P(result);
}

/* ----------------------------------------------------------------
 * avg(vector): state is float8[] {count, sum_1, ..., sum_dim}, '{0}' when
 * empty.  Sums in double so long averages do not lose precision.
 *
 * The three support functions behave as pgvector's on a state passed by
 * hand: a state that is not a one-dimensional float8 array without NULLs
 * is "<function>: expected state array" with SQLSTATE XX000, the way
 * PostgreSQL's own float8_accum / float8_combine / float8_avg treat a
 * malformed transition state (only a direct call can produce one); a
 * state with more than VECTOR_MAX_DIM sums, or a count but no sums, is
 * refused like a vector of that many dimensions; sums that overflow
 * double are 22003.  One deliberate difference: combining two empty
 * states gives an empty state, where pgvector 0.8.6 fails with "vector
 * must have at least 1 dimension" -- which breaks its own parallel
 * avg(vector) over a table with no rows.
 * ----------------------------------------------------------------
 */
static float8 *
vector_avg_state(ArrayType *state, const char *caller, int *dims)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s: expected state array", caller),
				 errhint("The state of avg(vector) is a one-dimensional float8 array without NULLs: {count, sum_1, ..., sum_n}; call avg() rather than its support functions.")));
	*dims = ARR_DIMS(state)[0] - 1;
	return (float8 *) ARR_DATA_PTR(state);
}

/* a state of dim sums, all zero, with count 0 */
static ArrayType *
vector_avg_new_state(int dim)
{
	Datum	   *d = (Datum *) palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *result;

	for (int i = 0; i <= dim; i++)
		d[i] = Float8GetDatum(0.0);
	result = construct_array(d, dim + 1, FLOAT8OID, sizeof(float8),
							 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(d);
	return result;
}

PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(1);
	int			dims;
	float8	   *s = vector_avg_state(state, "vector_accum", &dims);

	if (dims == 0)
	{
		/* first row: size the state to this vector */
		float8		count = s[0];

		state = vector_avg_new_state(v->dim);
		s = (float8 *) ARR_DATA_PTR(state);
		s[0] = count;
	}
	else
	{
		vector_check_typmod(v->dim, dims);
		if (!AggCheckCallContext(fcinfo, NULL))
		{
			/* outside an aggregate the input must not be modified */
			state = DatumGetArrayTypePCopy(PG_GETARG_DATUM(0));
			s = (float8 *) ARR_DATA_PTR(state);
		}
	}

	s[0] += 1.0;
	for (int i = 0; i < v->dim; i++)
	{
		s[i + 1] += (double) v->x[i];
		if (isinf(s[i + 1]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *sa = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *sb = PG_GETARG_ARRAYTYPE_P(1);
	int			da,
				db;
	float8	   *a = vector_avg_state(sa, "vector_combine", &da);
	float8	   *b = vector_avg_state(sb, "vector_combine", &db);
	ArrayType  *result;
	float8	   *r;

	if (a[0] == 0.0 && b[0] == 0.0)
	{
		/* nothing accumulated on either side */
		PG_RETURN_ARRAYTYPE_P(vector_avg_new_state(0));
	}
	if (a[0] == 0.0 || b[0] == 0.0)
	{
		/* one side is empty: the other one, checked */
		float8	   *src = (a[0] == 0.0) ? b : a;
		int			dims = (a[0] == 0.0) ? db : da;

		vector_check_dim(dims);
		result = vector_avg_new_state(dims);
		memcpy(ARR_DATA_PTR(result), src, sizeof(float8) * (dims + 1));
		PG_RETURN_ARRAYTYPE_P(result);
	}
	vector_check_dim(da);
	vector_check_typmod(db, da);
	result = vector_avg_new_state(da);
	r = (float8 *) ARR_DATA_PTR(result);
	for (int i = 0; i <= da; i++)
	{
		r[i] = a[i] + b[i];
		if (isinf(r[i]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			dims;
	float8	   *s = vector_avg_state(state, "vector_avg", &dims);
	EngramVector *result;

	/* the average of no values is NULL */
	if (s[0] == 0.0)
		PG_RETURN_NULL();
	vector_check_dim(dims);
	result = vector_new(dims);
	for (int i = 0; i < dims; i++)
	{
		result->x[i] = (float) (s[i + 1] / s[0]);
		vector_check_element(result->x[i]);
	}
	PG_RETURN_ENGRAM_VECTOR_P(result);
}

/* ----------------------------------------------------------------
 * Ordering, equality and hashing
 *
 * Order: element by element, then the shorter vector first.  Elements are
 * compared as floats, so -0 equals 0; the hash maps -0 to 0 to agree.
 * NaN can never be stored, so this is a total order.
 * ----------------------------------------------------------------
 */
static int
vector_cmp_internal(const EngramVector *a, const EngramVector *b)
{
	int			n = Min(a->dim, b->dim);
	int			i;

	for (i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define VECTOR_CMP_FUNC(fname, expr) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	EngramVector *a = PG_GETARG_ENGRAM_VECTOR_P(0); \
	EngramVector *b = PG_GETARG_ENGRAM_VECTOR_P(1); \
	int			c = vector_cmp_internal(a, b); \
\
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	expr; \
}

VECTOR_CMP_FUNC(vector_cmp, PG_RETURN_INT32(c))
VECTOR_CMP_FUNC(vector_eq, PG_RETURN_BOOL(c == 0))
VECTOR_CMP_FUNC(vector_ne, PG_RETURN_BOOL(c != 0))
VECTOR_CMP_FUNC(vector_lt, PG_RETURN_BOOL(c < 0))
VECTOR_CMP_FUNC(vector_le, PG_RETURN_BOOL(c <= 0))
VECTOR_CMP_FUNC(vector_gt, PG_RETURN_BOOL(c > 0))
VECTOR_CMP_FUNC(vector_ge, PG_RETURN_BOOL(c >= 0))

/*
 * The bytes to hash: the float array itself, or a copy with every -0
 * turned into 0 (they compare equal, so they must hash alike).  Hashing
 * the bytes with hash_any / hash_any_extended keeps the rule that the
 * extended hash with seed 0 has the standard hash in its low 32 bits.
 */
static const float *
vector_hash_input(const EngramVector *v, float **copy)
{
	int			i;

	*copy = NULL;
	for (i = 0; i < v->dim; i++)
	{
		if (v->x[i] == 0.0f && signbit(v->x[i]))
			break;
	}
	if (i == v->dim)
		return v->x;
	*copy = (float *) palloc(sizeof(float) * v->dim);
	for (i = 0; i < v->dim; i++)
		(*copy)[i] = (v->x[i] == 0.0f) ? 0.0f : v->x[i];
	return *copy;
}

PG_FUNCTION_INFO_V1(vector_hash);
Datum
vector_hash(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	float	   *copy;
	const float *x = vector_hash_input(v, &copy);
	Datum		h;

	h = hash_any((const unsigned char *) x, sizeof(float) * v->dim);
	if (copy)
		pfree(copy);
	PG_FREE_IF_COPY(v, 0);
	return h;
}

PG_FUNCTION_INFO_V1(vector_hash_extended);
Datum
vector_hash_extended(PG_FUNCTION_ARGS)
{
	EngramVector *v = PG_GETARG_ENGRAM_VECTOR_P(0);
	uint64		seed = PG_GETARG_INT64(1);
	float	   *copy;
	const float *x = vector_hash_input(v, &copy);
	Datum		h;

	h = hash_any_extended((const unsigned char *) x, sizeof(float) * v->dim, seed);
	if (copy)
		pfree(copy);
	PG_FREE_IF_COPY(v, 0);
	return h;
}

/*
 * vector_kernel_selftest(): run every kernel family this CPU supports (not
 * only the one dispatched) over lengths 1..200 on small-integer data, where
 * float sums are exact, and count the results that differ from the exact
 * double-precision answer.  This lets the regression tests cover the
 * portable kernels on AVX2 machines too.
 */
typedef struct VectorKernelFamily
{
	const char *name;
	float		(*l2) (const float *a, const float *b, int n);
	float		(*ip) (const float *a, const float *b, int n);
	void		(*cos) (const float *a, const float *b, int n,
						float *ab, float *aa, float *bb);
} VectorKernelFamily;

PG_FUNCTION_INFO_V1(vector_kernel_selftest);
Datum
vector_kernel_selftest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VectorKernelFamily families[2];
	int			nfamilies = 0;
	const int	maxn = 200;
	float	   *a;
	float	   *b;
	int			f;

	InitMaterializedSRF(fcinfo, 0);

	families[nfamilies].name = "portable";
	families[nfamilies].l2 = l2_squared_portable;
	families[nfamilies].ip = inner_product_portable;
	families[nfamilies].cos = cosine_parts_portable;
	nfamilies++;
#ifdef VK_HAVE_AVX2_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		families[nfamilies].name = "avx2";
		families[nfamilies].l2 = l2_squared_avx2;
		families[nfamilies].ip = inner_product_avx2;
		families[nfamilies].cos = cosine_parts_avx2;
		nfamilies++;
	}
#endif

	/* extra room so unaligned starts (offset 1..3) are covered too */
	a = (float *) palloc(sizeof(float) * (maxn + 4));
	b = (float *) palloc(sizeof(float) * (maxn + 4));
	for (int i = 0; i < maxn + 4; i++)
	{
		a[i] = (float) ((i * 7) % 11 - 5);
		b[i] = (float) ((i * 5) % 9 - 4);
	}

	for (f = 0; f < nfamilies; f++)
	{
		int64		cases = 0;
		int64		failures = 0;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		for (int off = 0; off < 4; off++)
		{
			for (int n = 1; n <= maxn; n++)
			{
				const float *x = a + off;
				const float *y = b + off;
				double		l2 = 0.0,
							ip = 0.0,
							xx = 0.0,
							yy = 0.0;
				float		cab,
							caa,
							cbb;

				CHECK_FOR_INTERRUPTS();
				for (int i = 0; i < n; i++)
				{
					l2 += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
					ip += (double) x[i] * y[i];
					xx += (double) x[i] * x[i];
					yy += (double) y[i] * y[i];
				}
				families[f].cos(x, y, n, &cab, &caa, &cbb);
				cases++;
				if ((double) families[f].l2(x, y, n) != l2 ||
					(double) families[f].ip(x, y, n) != ip ||
					(double) cab != ip || (double) caa != xx || (double) cbb != yy)
					failures++;
			}
		}
		values[0] = CStringGetTextDatum(families[f].name);
		values[1] = Int64GetDatum(cases);
		values[2] = Int64GetDatum(failures);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(a);
	pfree(b);
	return (Datum) 0;
}

/* Which kernel family this backend uses ("avx2" or "portable"). */
PG_FUNCTION_INFO_V1(vector_kernel);
Datum
vector_kernel(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(vector_kernel_impl_name()));
}
