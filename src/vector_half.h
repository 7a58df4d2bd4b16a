/*-------------------------------------------------------------------------
 *
 * vector_half.h
 *	  The engram.halfvec type: a varlena of IEEE 754 binary16 ("half")
 *	  floats with a dimension count, pgvector's halfvec.
 *
 * On-disk layout (stable, part of the storage format):
 *	  int32 vl_len_ | int16 dim | int16 unused (0) | uint16 x[dim]
 * Half the bytes of engram.vector for the same dimensions; values are
 * rounded to the nearest half (ties to even) on the way in, and computed
 * with in float (every half is exactly a float).  Text form '[1,2,3]'.
 *
 * IDENTIFICATION
 *	  src/vector_half.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_HALFVEC_H
#define ENGRAM_HALFVEC_H

#include "postgres.h"
#include "fmgr.h"

#define HALFVEC_MAX_DIM 16000

typedef uint16 half;

typedef struct EngramHalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved, always 0 */
	half		x[FLEXIBLE_ARRAY_MEMBER];
} EngramHalfVector;

#define HALFVEC_SIZE(_dim)		(offsetof(EngramHalfVector, x) + sizeof(half) * (_dim))
#define DatumGetEngramHalfVector(x)	((EngramHalfVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_ENGRAM_HALFVEC_P(x)	DatumGetEngramHalfVector(PG_GETARG_DATUM(x))

/* exact: every half is a float */
static inline float
half_to_float(half h)
{
	uint32		sign = ((uint32) (h & 0x8000)) << 16;
	uint32		exp = (h >> 10) & 0x1f;
	uint32		mant = h & 0x3ff;
	uint32		bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: mant * 2^-24, exact in float */
		f = ldexpf((float) mant, -24);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000 | (mant << 13);	/* infinity or NaN */
	else
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

#endif							/* ENGRAM_HALFVEC_H */
