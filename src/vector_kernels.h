/*-------------------------------------------------------------------------
 *
 * vector_kernels.h
 *	  Distance kernels on raw float arrays, shared by src/vector.c and the
 *	  standalone micro-benchmark test/bench/vector_bench.c.
 *
 * Plain C only (no PostgreSQL headers), every function static inline, so
 * both users compile exactly the same code.
 *
 * Two families:
 *
 * - "portable": written for gcc's vectoriser without -ffast-math.  A float
 *	 reduction with one accumulator cannot be vectorised (that would change
 *	 the summation order), so each kernel keeps VK_LANES independent partial
 *	 sums in a small array; the inner loop over that array is a plain
 *	 element-wise update which gcc turns into SIMD code for whatever ISA the
 *	 file is compiled for (SSE2 on baseline x86-64, NEON on arm64).  The
 *	 partial sums are combined in a fixed order, so results are
 *	 deterministic for a given build.
 *
 * - "avx2": AVX2 + FMA intrinsics, four 8-wide accumulators (32 floats per
 *	 iteration) to hide FMA latency.  Compiled with
 *	 __attribute__((target("avx2,fma"))) so the rest of the build needs no
 *	 -march flag; callers must check the CPU first (vector.c dispatches
 *	 once, at first use, through __builtin_cpu_supports).
 *
 * Both families accumulate in float.  Their results may differ from each
 * other in the last bits (different summation order, fused multiply-add),
 * but each one is deterministic: the same inputs always give the same
 * output on the same machine.
 *
 * IDENTIFICATION
 *	  src/vector_kernels.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_VECTOR_KERNELS_H
#define ENGRAM_VECTOR_KERNELS_H

#include <math.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define VK_HAVE_AVX2_KERNELS 1
#include <immintrin.h>
#endif

/* independent partial sums of the portable kernels */
#define VK_LANES 16

/* Sum the partial sums pairwise, always in the same order. */
static inline float
vk_sum_lanes(const float *acc)
{
	float		t[VK_LANES / 2];
	int			j;

	for (j = 0; j < VK_LANES / 2; j++)
		t[j] = acc[j] + acc[j + VK_LANES / 2];
	for (j = 0; j < VK_LANES / 4; j++)
		t[j] = t[j] + t[j + VK_LANES / 4];
	return (t[0] + t[2]) + (t[1] + t[3]);
}

/* squared Euclidean distance, portable */
static inline float
vk_l2_squared_portable(const float *a, const float *b, int n)
{
	float		acc[VK_LANES] = {0};
	float		s;
	int			i = 0;
	int			j;

	for (; i + VK_LANES <= n; i += VK_LANES)
	{
		for (j = 0; j < VK_LANES; j++)
		{
			float		d = a[i + j] - b[i + j];

			acc[j] += d * d;
		}
	}
	s = vk_sum_lanes(acc);
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* inner product, portable */
static inline float
vk_inner_product_portable(const float *a, const float *b, int n)
{
	float		acc[VK_LANES] = {0};
	float		s;
	int			i = 0;
	int			j;

	for (; i + VK_LANES <= n; i += VK_LANES)
	{
		for (j = 0; j < VK_LANES; j++)
			acc[j] += a[i + j] * b[i + j];
	}
	s = vk_sum_lanes(acc);
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* taxicab (L1) distance, portable (one family: it is not an index metric) */
static inline float
vk_l1_portable(const float *a, const float *b, int n)
{
	float		acc[VK_LANES] = {0};
	float		s;
	int			i = 0;
	int			j;

	for (; i + VK_LANES <= n; i += VK_LANES)
	{
		for (j = 0; j < VK_LANES; j++)
			acc[j] += fabsf(a[i + j] - b[i + j]);
	}
	s = vk_sum_lanes(acc);
	for (; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

/*
 * The three sums cosine distance needs (a.b, |a|^2, |b|^2) in one pass over
 * both arrays, portable.
 */
static inline void
vk_cosine_parts_portable(const float *a, const float *b, int n,
						 float *ab, float *aa, float *bb)
{
	float		sab[VK_LANES] = {0};
	float		saa[VK_LANES] = {0};
	float		sbb[VK_LANES] = {0};
	float		rab,
				raa,
				rbb;
	int			i = 0;
	int			j;

	for (; i + VK_LANES <= n; i += VK_LANES)
	{
		for (j = 0; j < VK_LANES; j++)
		{
			float		x = a[i + j];
			float		y = b[i + j];

			sab[j] += x * y;
			saa[j] += x * x;
			sbb[j] += y * y;
		}
	}
	rab = vk_sum_lanes(sab);
	raa = vk_sum_lanes(saa);
	rbb = vk_sum_lanes(sbb);
	for (; i < n; i++)
	{
		rab += a[i] * b[i];
		raa += a[i] * a[i];
		rbb += b[i] * b[i];
	}
	*ab = rab;
	*aa = raa;
	*bb = rbb;
}

#ifdef VK_HAVE_AVX2_KERNELS

/* Horizontal sum of one 8-wide register, fixed order. */
__attribute__((target("avx2,fma")))
static inline float
vk_hsum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		s = _mm_add_ps(lo, hi);

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
	return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static inline float
vk_l2_squared_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	float		s;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
	}
	s = vk_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

__attribute__((target("avx2,fma")))
static inline float
vk_inner_product_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	float		s;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	s = vk_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

__attribute__((target("avx2,fma")))
static inline void
vk_cosine_parts_avx2(const float *a, const float *b, int n,
					 float *ab, float *aa, float *bb)
{
	__m256		sab0 = _mm256_setzero_ps();
	__m256		sab1 = _mm256_setzero_ps();
	__m256		saa0 = _mm256_setzero_ps();
	__m256		saa1 = _mm256_setzero_ps();
	__m256		sbb0 = _mm256_setzero_ps();
	__m256		sbb1 = _mm256_setzero_ps();
	float		rab,
				raa,
				rbb;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_loadu_ps(a + i);
		__m256		y0 = _mm256_loadu_ps(b + i);
		__m256		x1 = _mm256_loadu_ps(a + i + 8);
		__m256		y1 = _mm256_loadu_ps(b + i + 8);

		sab0 = _mm256_fmadd_ps(x0, y0, sab0);
		saa0 = _mm256_fmadd_ps(x0, x0, saa0);
		sbb0 = _mm256_fmadd_ps(y0, y0, sbb0);
		sab1 = _mm256_fmadd_ps(x1, y1, sab1);
		saa1 = _mm256_fmadd_ps(x1, x1, saa1);
		sbb1 = _mm256_fmadd_ps(y1, y1, sbb1);
	}
	rab = vk_hsum256(_mm256_add_ps(sab0, sab1));
	raa = vk_hsum256(_mm256_add_ps(saa0, saa1));
	rbb = vk_hsum256(_mm256_add_ps(sbb0, sbb1));
	for (; i < n; i++)
	{
		rab += a[i] * b[i];
		raa += a[i] * a[i];
		rbb += b[i] * b[i];
	}
	*ab = rab;
	*aa = raa;
	*bb = rbb;
}

#endif							/* VK_HAVE_AVX2_KERNELS */

/*
 * 1 - cos(a, b) from the three sums, in double.  NaN when either norm is
 * zero (the angle is undefined); the similarity is clamped to [-1, 1] so
 * rounding never yields a distance outside [0, 2].
 */
static inline double
vk_cosine_distance_from_parts(float ab, float aa, float bb)
{
	double		denom = sqrt((double) aa * (double) bb);
	double		sim;

	if (!(denom > 0.0))
		return NAN;
	sim = (double) ab / denom;
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return 1.0 - sim;
}

#endif							/* ENGRAM_VECTOR_KERNELS_H */
