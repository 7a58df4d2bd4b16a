/*
 * vector_bench.c
 *	  Micro-benchmark of engram's distance kernels (src/vector_kernels.h):
 *	  naive scalar loop vs the portable auto-vectorised kernels vs the
 *	  AVX2+FMA kernels, for 384, 768 and 1536 dimensions.
 *
 * Build and run with test/bench/vector_bench.sh (cc -O2 -ftree-vectorize,
 * no -march flag: the AVX2 kernels are selected at run time exactly as in
 * src/vector.c).
 *
 *	 vector_bench [milliseconds-per-measurement]
 *
 * For each dimension it scans a set of NVEC vectors (sized to stay in the
 * L2/L3 caches, so the kernels, not DRAM, are measured) against one query,
 * repeatedly, and prints nanoseconds per distance and GB/s, where GB/s
 * counts both operands (2 * dim * 4 bytes per distance).  It also checks
 * that every kernel agrees with a double-precision reference.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/vector_kernels.h"

#define NVEC 256

typedef float (*kernel_fn) (const float *a, const float *b, int n);

/*
 * The naive loops: one accumulator, so the compiler may not reorder the
 * sum; keep gcc from vectorising even the element-wise part so this really
 * is the scalar baseline.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define NO_VECTORIZE
#endif

NO_VECTORIZE static float
naive_l2_squared(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

NO_VECTORIZE static float
naive_inner_product(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static float
portable_l2_squared(const float *a, const float *b, int n)
{
	return vk_l2_squared_portable(a, b, n);
}

static float
portable_inner_product(const float *a, const float *b, int n)
{
	return vk_inner_product_portable(a, b, n);
}

#ifdef VK_HAVE_AVX2_KERNELS
__attribute__((target("avx2,fma")))
static float
avx2_l2_squared(const float *a, const float *b, int n)
{
	return vk_l2_squared_avx2(a, b, n);
}

__attribute__((target("avx2,fma")))
static float
avx2_inner_product(const float *a, const float *b, int n)
{
	return vk_inner_product_avx2(a, b, n);
}
#endif

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static float
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float) ((rng >> 40) * (1.0 / 16777216.0)) - 0.5f;
}

static volatile float sink;

/* ns per distance for one kernel over the whole set */
static double
measure(kernel_fn fn, const float *q, const float *set, int dim, double budget_ns)
{
	double		start,
				elapsed;
	long		calls = 0;
	float		acc = 0.0f;

	/* warm up caches and branch predictors */
	for (int v = 0; v < NVEC; v++)
		acc += fn(q, set + (size_t) v * dim, dim);

	start = now_ns();
	do
	{
		for (int v = 0; v < NVEC; v++)
			acc += fn(q, set + (size_t) v * dim, dim);
		calls += NVEC;
		elapsed = now_ns() - start;
	} while (elapsed < budget_ns);
	sink = acc;
	return elapsed / calls;
}

/*
 * Largest error of fn against a double-precision reference, relative to
 * the sum of the absolute terms (an inner product of random vectors is
 * near zero, so relative to the result itself would only measure the
 * cancellation, not the kernel).
 */
static double
max_rel_error(kernel_fn fn, const float *q, const float *set, int dim, int is_l2)
{
	double		worst = 0.0;

	for (int v = 0; v < NVEC; v++)
	{
		const float *x = set + (size_t) v * dim;
		double		ref = 0.0;
		double		mag = 0.0;
		double		got = fn(q, x, dim);
		double		err;

		for (int i = 0; i < dim; i++)
		{
			double		t = is_l2 ? ((double) q[i] - x[i]) * ((double) q[i] - x[i])
				: (double) q[i] * x[i];

			ref += t;
			mag += fabs(t);
		}
		err = fabs(got - ref) / (mag > 1e-30 ? mag : 1.0);
		if (err > worst)
			worst = err;
	}
	return worst;
}

int
main(int argc, char **argv)
{
	static const int dims[] = {384, 768, 1536};
	double		budget_ms = argc > 1 ? atof(argv[1]) : 150.0;
	int			have_avx2 = 0;

	struct
	{
		const char *name;
		kernel_fn	l2;
		kernel_fn	ip;
	}			impls[3];
	int			nimpl = 0;

	if (budget_ms <= 0)
	{
		fprintf(stderr, "usage: %s [milliseconds-per-measurement]\n", argv[0]);
		return 2;
	}

	impls[nimpl].name = "naive-scalar";
	impls[nimpl].l2 = naive_l2_squared;
	impls[nimpl].ip = naive_inner_product;
	nimpl++;
	impls[nimpl].name = "portable-autovec";
	impls[nimpl].l2 = portable_l2_squared;
	impls[nimpl].ip = portable_inner_product;
	nimpl++;
#ifdef VK_HAVE_AVX2_KERNELS
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (have_avx2)
	{
		impls[nimpl].name = "avx2-fma";
		impls[nimpl].l2 = avx2_l2_squared;
		impls[nimpl].ip = avx2_inner_product;
		nimpl++;
	}
#endif
	printf("# engram vector kernels: %d vectors per set, %.0f ms per measurement, avx2+fma %s\n",
		   NVEC, budget_ms, have_avx2 ? "available" : "NOT available (skipped)");
	printf("# GB/s counts both operands: 2 * dim * 4 bytes per distance\n");
	printf("%-6s %-18s %-6s %12s %9s %10s %12s\n",
		   "dim", "kernel", "dist", "ns/distance", "GB/s", "speedup", "max-rel-err");

	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
	{
		int			dim = dims[d];
		float	   *q = malloc(sizeof(float) * dim);
		float	   *set = malloc(sizeof(float) * dim * NVEC);

		for (int i = 0; i < dim; i++)
			q[i] = rnd();
		for (int i = 0; i < dim * NVEC; i++)
			set[i] = rnd();

		for (int which = 0; which < 2; which++)
		{
			double		base = 0.0;

			for (int k = 0; k < nimpl; k++)
			{
				kernel_fn	fn = which == 0 ? impls[k].l2 : impls[k].ip;
				double		ns = measure(fn, q, set, dim, budget_ms * 1e6);
				double		err = max_rel_error(fn, q, set, dim, which == 0);

				if (k == 0)
					base = ns;
				printf("%-6d %-18s %-6s %12.1f %9.2f %9.2fx %12.2e\n",
					   dim, impls[k].name, which == 0 ? "l2sq" : "ip",
					   ns, (2.0 * dim * sizeof(float)) / ns, base / ns, err);
			}
		}
		free(q);
		free(set);
	}
	return 0;
}
