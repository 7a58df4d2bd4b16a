/*
 * genwords.c
 *	  Word vectors from real text, for engram's ANN benchmark.
 *
 *	 genwords N D [WINDOW] < text
 *
 * Reads any text on stdin (the benchmark feeds it the manual pages,
 * copyright files, change logs and Perl documentation a Debian 12 system
 * has under /usr/share), splits it into lower-case words of 2 to 24 letters
 * a-z, and prints one vector per line in engram.vector text form '[x,...]'
 * for the N most frequent words (fewer when the text has fewer words seen
 * at least 5 times), most frequent first, D coordinates each.
 *
 * The vectors come from co-occurrence statistics by random indexing
 * (Kanerva, Sahlgren): every context word c (one of the 20,000 most
 * frequent) has a fixed random gaussian vector R[c]; a word's vector is
 * the sum, over every occurrence of the word and every context word c at
 * distance 1..WINDOW (default 4) around it, of R[c] weighted by 1/distance
 * and by log(T / count(c)) (frequent contexts, "the", count little).  That
 * is a random projection of the word's weighted co-occurrence row, so
 * cosine between two vectors approximates cosine between the rows: words
 * used alike end up near each other, with the skewed, hub-heavy
 * neighbourhoods of real word embeddings.  Finally the mean vector is
 * subtracted (count vectors share one large common direction) and every
 * vector is normalised to unit length.
 *
 * These are not a neural model's embeddings: no training, no subword
 * information, and the text is technical English with noise (names,
 * identifiers, e-mail fragments).  They are real-text vectors with real
 * frequency skew, unlike test/bench/genvec.c's gaussian clusters.
 *
 * A summary (tokens read, words, words printed) goes to stderr; with
 * GENWORDS_VOCAB set, the printed words go to that file, one a line.  Output
 * depends only on the input text and the arguments (xorshift64 PRNG with
 * a fixed seed, Box-Muller gaussians); coordinates are printed with %.5f.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MIN_COUNT	5
#define CONTEXTS	20000
#define MAXWORD		24

typedef struct
{
	char	   *word;
	long		count;
	int			rank;		/* after sorting; -1 while counting */
} Entry;

static Entry *entries;
static long nentries,
			capentries;
static long *htab;			/* index into entries, -1 empty */
static long hsize;

static int *stream;			/* word ids (entry index) in text order */
static long nstream,
			capstream;

static void *
xrealloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
	{
		fprintf(stderr, "genwords: out of memory\n");
		exit(1);
	}
	return q;
}

static uint64_t
hash_str(const char *s, int len)
{
	uint64_t	h = 1469598103934665603ULL;

	for (int i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
grow_table(void)
{
	long		nsize = hsize ? hsize * 2 : (1L << 16);
	long	   *nt = xrealloc(NULL, sizeof(long) * nsize);

	for (long i = 0; i < nsize; i++)
		nt[i] = -1;
	for (long e = 0; e < nentries; e++)
	{
		uint64_t	h = hash_str(entries[e].word, (int) strlen(entries[e].word));
		long		i = (long) (h & (uint64_t) (nsize - 1));

		while (nt[i] >= 0)
			i = (i + 1) & (nsize - 1);
		nt[i] = e;
	}
	free(htab);
	htab = nt;
	hsize = nsize;
}

static long
intern(const char *w, int len)
{
	uint64_t	h;
	long		i;

	if (nentries * 2 >= hsize)
		grow_table();
	h = hash_str(w, len);
	i = (long) (h & (uint64_t) (hsize - 1));
	while (htab[i] >= 0)
	{
		Entry	   *e = &entries[htab[i]];

		if ((int) strlen(e->word) == len && memcmp(e->word, w, len) == 0)
			return htab[i];
		i = (i + 1) & (hsize - 1);
	}
	if (nentries == capentries)
	{
		capentries = capentries ? capentries * 2 : 65536;
		entries = xrealloc(entries, sizeof(Entry) * capentries);
	}
	entries[nentries].word = xrealloc(NULL, len + 1);
	memcpy(entries[nentries].word, w, len);
	entries[nentries].word[len] = '\0';
	entries[nentries].count = 0;
	entries[nentries].rank = -1;
	htab[i] = nentries;
	return nentries++;
}

static void
emit(const char *w, int len)
{
	long		id;

	if (len < 2 || len > MAXWORD)
		return;
	id = intern(w, len);
	entries[id].count++;
	if (nstream == capstream)
	{
		capstream = capstream ? capstream * 2 : (1L << 20);
		stream = xrealloc(stream, sizeof(int) * capstream);
	}
	stream[nstream++] = (int) id;
}

static int
by_count(const void *a, const void *b)
{
	const Entry *x = *(Entry *const *) a;
	const Entry *y = *(Entry *const *) b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->word, y->word);
}

typedef struct
{
	uint64_t	s;
	int			have_spare;
	double		spare;
} Rng;

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
	u1 = ((xorshift64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
	u2 = ((xorshift64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->have_spare = 1;
	return rad * cos(2.0 * M_PI * u2);
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
		fprintf(stderr, "genwords: %s must be an integer in [%ld, %ld], got \"%s\"\n",
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
				window = 4,
				nctx,
				nout;
	char		w[MAXWORD + 1];
	int			len = 0,
				toolong = 0,
				ch;
	Entry	  **sorted;
	int		   *rank_of;		/* entry index -> rank */
	float	   *ctx,
			   *vec;
	double	   *mean;
	Rng			rng = {0x2545F4914F6CDD1DULL, 0, 0.0};

	if (argc != 3 && argc != 4)
	{
		fprintf(stderr, "usage: genwords N D [WINDOW] < text\n");
		return 2;
	}
	n = parse_arg(argv[1], "N", 1, 10000000L);
	d = parse_arg(argv[2], "D", 1, 16000);
	if (argc == 4)
		window = parse_arg(argv[3], "WINDOW", 1, 20);

	/* tokenise: runs of letters, lower-cased; a run longer than MAXWORD is dropped */
	while ((ch = getchar()) != EOF)
	{
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		{
			if (len < MAXWORD)
				w[len++] = (char) (ch | 0x20);
			else
				toolong = 1;
			continue;
		}
		if (len > 0 && !toolong)
			emit(w, len);
		len = 0;
		toolong = 0;
	}
	if (len > 0 && !toolong)
		emit(w, len);

	sorted = xrealloc(NULL, sizeof(Entry *) * (nentries + 1));
	for (long e = 0; e < nentries; e++)
		sorted[e] = &entries[e];
	qsort(sorted, nentries, sizeof(Entry *), by_count);
	rank_of = xrealloc(NULL, sizeof(int) * (nentries + 1));
	nout = 0;
	for (long r = 0; r < nentries; r++)
	{
		sorted[r]->rank = (int) r;
		if (sorted[r]->count >= MIN_COUNT && r < n)
			nout = r + 1;
	}
	for (long e = 0; e < nentries; e++)
		rank_of[e] = entries[e].rank;
	nctx = nentries < CONTEXTS ? nentries : CONTEXTS;
	fprintf(stderr, "genwords: %ld tokens, %ld distinct words, %ld words printed (count >= %d), %ld contexts\n",
			nstream, nentries, nout, MIN_COUNT, nctx);
	if (nout == 0)
	{
		fprintf(stderr, "genwords: no word occurs %d times in the input\n", MIN_COUNT);
		return 1;
	}

	if (getenv("GENWORDS_VOCAB") != NULL)
	{
		FILE	   *f = fopen(getenv("GENWORDS_VOCAB"), "w");

		if (f == NULL)
		{
			fprintf(stderr, "genwords: cannot write %s: %s\n",
					getenv("GENWORDS_VOCAB"), strerror(errno));
			return 1;
		}
		for (long r = 0; r < nout; r++)
			fprintf(f, "%s\n", sorted[r]->word);
		if (fclose(f) != 0)
			return 1;
	}

	/* context vectors, pre-scaled by the context's weight log(T / count) */
	ctx = xrealloc(NULL, sizeof(float) * d * nctx);
	for (long c = 0; c < nctx; c++)
	{
		double		wt = log((double) nstream / (double) sorted[c]->count);

		if (wt < 0.0)
			wt = 0.0;
		for (long i = 0; i < d; i++)
			ctx[c * d + i] = (float) (gaussian(&rng) * wt);
	}

	vec = calloc((size_t) nout * d, sizeof(float));
	mean = calloc(d, sizeof(double));
	if (vec == NULL || mean == NULL)
	{
		fprintf(stderr, "genwords: out of memory\n");
		return 1;
	}
	for (long p = 0; p < nstream; p++)
	{
		int			r = rank_of[stream[p]];
		float	   *v;

		if (r >= nout)
			continue;
		v = vec + (long) r * d;
		for (long k = -window; k <= window; k++)
		{
			long		q = p + k;
			int			c;
			float		f;
			const float *cv;

			if (k == 0 || q < 0 || q >= nstream)
				continue;
			c = rank_of[stream[q]];
			if (c >= nctx)
				continue;
			f = 1.0f / (float) (k < 0 ? -k : k);
			cv = ctx + (long) c * d;
			for (long i = 0; i < d; i++)
				v[i] += f * cv[i];
		}
	}

	/* unit length, centre, unit length again */
	for (long r = 0; r < nout; r++)
	{
		float	   *v = vec + r * d;
		double		s = 0.0;

		for (long i = 0; i < d; i++)
			s += (double) v[i] * v[i];
		s = sqrt(s);
		for (long i = 0; i < d; i++)
		{
			if (s > 0.0)
				v[i] = (float) (v[i] / s);
			mean[i] += v[i];
		}
	}
	for (long i = 0; i < d; i++)
		mean[i] /= (double) nout;
	for (long r = 0; r < nout; r++)
	{
		float	   *v = vec + r * d;
		double		s = 0.0;

		for (long i = 0; i < d; i++)
		{
			v[i] = (float) (v[i] - mean[i]);
			s += (double) v[i] * v[i];
		}
		s = sqrt(s);
		putchar('[');
		for (long i = 0; i < d; i++)
		{
			if (i > 0)
				putchar(',');
			printf("%.5f", s > 0.0 ? v[i] / s : 0.0);
		}
		putchar(']');
		putchar('\n');
	}
	return ferror(stdout) ? 1 : 0;
}
