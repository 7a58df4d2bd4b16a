/*-------------------------------------------------------------------------
 *
 * vector.h
 *	  The engram.vector type: a varlena of float4 with a dimension count.
 *
 * On-disk layout (stable, part of the storage format):
 *	  int32 vl_len_ | int16 dim | int16 unused (0) | float4 x[dim]
 * Text form is pgvector's: '[1,2,3]'.  Depends on nothing else of engram.
 *
 * IDENTIFICATION
 *	  src/vector.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_VECTOR_H
#define ENGRAM_VECTOR_H

#include "postgres.h"
#include "fmgr.h"

#define VECTOR_MAX_DIM 16000

typedef struct EngramVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved, always 0 */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} EngramVector;

#define VECTOR_SIZE(_dim)		(offsetof(EngramVector, x) + sizeof(float) * (_dim))
#define DatumGetEngramVector(x)	((EngramVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_ENGRAM_VECTOR_P(x)	DatumGetEngramVector(PG_GETARG_DATUM(x))
#define PG_RETURN_ENGRAM_VECTOR_P(x)	PG_RETURN_POINTER(x)

extern EngramVector *vector_new(int dim);
extern void vector_check_dims_match(const EngramVector *a, const EngramVector *b);

/*
 * Distance kernels on raw float arrays.  Chosen at load time for the CPU
 * (AVX2+FMA when present, portable auto-vectorised C otherwise); callers use
 * these pointers, never a particular implementation.
 */
extern float (*vector_l2_squared_impl) (const float *a, const float *b, int n);
extern float (*vector_inner_product_impl) (const float *a, const float *b, int n);
/* returns 1 - cos(a, b); NaN when either norm is zero */
extern double vector_cosine_distance_raw(const float *a, const float *b, int n);

/* "avx2" or "portable": the kernel family chosen for this CPU */
extern const char *vector_kernel_impl_name(void);

#endif							/* ENGRAM_VECTOR_H */
