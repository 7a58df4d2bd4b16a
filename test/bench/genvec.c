/*
 * genvec.c
 *	  Synthetic embedding-like vectors for engram's benchmarks.
 *
 *	 genvec N D CLUSTERS SEED
 *
 * Prints N lines, each one vector in engram.vector text form '[x,...]' with
 * D coordinates: a mixture of CLUSTERS gaussian blobs.  Each point picks a
 * cluster uniformly, takes its centroid (a random unit vector), adds
 * 1.05/sqrt(D) * N(0,1) noise to every coordinate and is normalised to unit
 * length.  The noise has about the same norm as the centroid, so clusters
 * overlap like real embeddings do instead of being trivially separable.
 *
 * The centroids depend on CLUSTERS and D only (their generator is seeded
 * independently of SEED), so a base set and a query set made with
 * different SEEDs share clusters.  PRNG: xorshift64; gaussians by
 * Box-Muller.  Coordinates are printed with %.5f.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct
{
	uint64_t	s;
	int			have_spare;
	double		spare;
} Rng;

/* Spread any seed (0 included) into a non-zero xorshift state. */
static void
rng_init(Rng *r, uint64_t seed)
{
	uint64_t	z = seed + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	r->s = z ? z : 0x2545F4914F6CDD1DULL;
	r->have_spare = 0;
}

static uint64_t
xorshift64(Rng *r)
{
	uint64_t	x = r->s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->s = x;
	return x;
}

/* uniform in (0, 1]: never 0, so log() below is finite */
static double
uniform01(Rng *r)
{
	return ((xorshift64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static double
gaussian(Rng *r)
{
	double		u1,
				u2,
				rad;

	if (r->have_spare)
	{
		r->have_spare = 0;
		return r->spare;
	}
	u1 = uniform01(r);
	u2 = uniform01(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->have_spare = 1;
	return rad * cos(2.0 * M_PI * u2);
}

static void
normalise(double *v, long d)
{
	double		s = 0.0;

	for (long i = 0; i < d; i++)
		s += v[i] * v[i];
	s = sqrt(s);
	if (s > 0.0)
		for (long i = 0; i < d; i++)
			v[i] /= s;
}

static long
parse_arg(const char *s, const char *what, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "genvec: %s must be an integer in [%ld, %ld], got \"%s\"\n",
				what, min, max, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	long		n,
				d,
				k,
				seed;
	double	   *centroids;
	double	   *v;
	double		sigma;
	Rng			crng,
				prng;

	if (argc != 5)
	{
		fprintf(stderr, "usage: genvec N D CLUSTERS SEED\n");
		return 2;
	}
	n = parse_arg(argv[1], "N", 0, 1000000000L);
	d = parse_arg(argv[2], "D", 1, 16000);
	k = parse_arg(argv[3], "CLUSTERS", 1, 1000000L);
	seed = parse_arg(argv[4], "SEED", 0, 0x7fffffffffffffffL);

	centroids = malloc(sizeof(double) * d * k);
	v = malloc(sizeof(double) * d);
	if (centroids == NULL || v == NULL)
	{
		fprintf(stderr, "genvec: out of memory\n");
		return 1;
	}

	/* centroids: seeded by CLUSTERS alone, never by SEED */
	rng_init(&crng, 0xC3A5C85C97CB3127ULL ^ (uint64_t) k);
	for (long c = 0; c < k; c++)
	{
		for (long i = 0; i < d; i++)
			centroids[c * d + i] = gaussian(&crng);
		normalise(centroids + c * d, d);
	}

	rng_init(&prng, (uint64_t) seed);
	sigma = 1.05 / sqrt((double) d);
	for (long p = 0; p < n; p++)
	{
		long		c = (long) (xorshift64(&prng) % (uint64_t) k);

		for (long i = 0; i < d; i++)
			v[i] = centroids[c * d + i] + sigma * gaussian(&prng);
		normalise(v, d);

		putchar('[');
		for (long i = 0; i < d; i++)
		{
			if (i > 0)
				putchar(',');
			printf("%.5f", v[i]);
		}
		putchar(']');
		putchar('\n');
	}
	free(centroids);
	free(v);
	return ferror(stdout) ? 1 : 0;
}
