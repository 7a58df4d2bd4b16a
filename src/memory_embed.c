/*-------------------------------------------------------------------------
 *
 * memory_embed.c
 *	  engram.embed_text(text, dims): a deterministic feature-hashing text
 *	  embedder, so engram can be tried and tested without a model.
 *
 * It is LEXICAL ONLY: texts are similar when they share words, word pairs
 * or word fragments, not when they mean the same thing.  Use a real
 * embedding model for semantic recall.
 *
 * Recipe (stable: the output for a given input never changes, so it may be
 * stored and indexed; the function is IMMUTABLE):
 *	 1. lowercase ASCII letters; bytes >= 0x80 (UTF-8 multibyte characters)
 *		are kept as word characters unchanged, so any encoding works;
 *	 2. words are maximal runs of letters, digits and such bytes; common
 *		English function words ("the", "a", "of", ...) are dropped, unless
 *		the text has nothing else, so that they do not dominate similarity;
 *	 3. features: every word (weight 1.0), every pair of adjacent words
 *		(weight 0.7), and every character trigram of the word padded as
 *		"^word$" (weight 0.3 spread over the word's trigrams);
 *	 4. each feature is hashed with 64-bit FNV-1a (a per-kind seed byte
 *		first); bucket = hash mod dims, sign = top bit of the hash;
 *	 5. the vector is l2-normalised.
 * Text without any word is an error (its vector would have no direction).
 *
 * IDENTIFICATION
 *	  src/memory_embed.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "memory.h"
#include "vector.h"

#define FNV_OFFSET	UINT64CONST(0xcbf29ce484222325)
#define FNV_PRIME	UINT64CONST(0x100000001b3)

#define WEIGHT_WORD		1.0
#define WEIGHT_PAIR		0.7
#define WEIGHT_TRIGRAMS	0.3

typedef struct Word
{
	const char *p;
	int			len;
} Word;

/* dropped before hashing; sorted for bsearch */
static const char *const stopwords[] = {
	"a", "about", "after", "all", "an", "and", "any", "are", "as", "at",
	"be", "been", "before", "but", "by", "can", "could", "did", "do", "does",
	"for", "from", "had", "has", "have", "he", "her", "him", "his", "i",
	"if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or",
	"our", "over", "she", "so", "than", "that", "the", "their", "them",
	"then", "there", "these", "they", "this", "those", "to", "up", "us",
	"was", "we", "were", "will", "with", "would", "you", "your"
};

static int
stopword_cmp(const void *key, const void *elem)
{
	const Word *w = (const Word *) key;
	const char *s = *(const char *const *) elem;
	int			c = strncmp(w->p, s, w->len);

	if (c != 0)
		return c;
	return s[w->len] == '\0' ? 0 : -1;
}

static bool
is_stopword(const Word *w)
{
	return bsearch(w, stopwords, lengthof(stopwords), sizeof(char *),
				   stopword_cmp) != NULL;
}

static inline uint64
fnv1a(uint64 h, const char *p, int len)
{
	for (int i = 0; i < len; i++)
	{
		h ^= (unsigned char) p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static inline bool
is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void
add_feature(float *x, int dims, uint64 h, double w)
{
	int			bucket = (int) (h % (uint64) dims);

	x[bucket] += (h >> 63) ? -w : w;
}

PG_FUNCTION_INFO_V1(engram_embed_text);
Datum
engram_embed_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int32		dims = PG_GETARG_INT32(1);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *s;
	Word	   *words;
	int			nwords = 0;
	EngramVector *v;
	double		norm = 0.0;
	int			i;

	if (dims < 1 || dims > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("embedding dimensions must be between 1 and %d, got %d",
						VECTOR_MAX_DIM, dims),
				 errhint("384 is the default.")));

	/*
	 * The word list takes up to 8 times the text's size: past the limit
	 * the allocation would fail with an internal error.
	 */
	if (len > MEMORY_EMBED_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text to embed is %d bytes, more than the %d bytes engram.embed_text accepts",
						len, MEMORY_EMBED_MAX_BYTES),
				 errhint("Embed a shorter text, e.g. the first part or a summary.")));

	/* lowercase copy; ASCII only, other bytes pass through */
	s = palloc(len + 1);
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) VARDATA_ANY(t)[i];

		s[i] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : (char) c;
	}
	s[len] = '\0';

	words = palloc(sizeof(Word) * (len / 2 + 1));
	i = 0;
	while (i < len)
	{
		int			start;

		while (i < len && !is_word_byte((unsigned char) s[i]))
			i++;
		start = i;
		while (i < len && is_word_byte((unsigned char) s[i]))
			i++;
		if (i > start)
		{
			words[nwords].p = s + start;
			words[nwords].len = i - start;
			nwords++;
		}
	}
	if (nwords > 0)
	{
		int			kept = 0;

		for (i = 0; i < nwords; i++)
		{
			if (!is_stopword(&words[i]))
				words[kept++] = words[i];
		}
		/* keep function words when there is nothing else to go on */
		if (kept > 0)
			nwords = kept;
	}
	if (nwords == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text to embed contains no words"),
				 errhint("engram.embed_text needs at least one letter or digit.")));

	v = (EngramVector *) palloc0(VECTOR_SIZE(dims));
	SET_VARSIZE(v, VECTOR_SIZE(dims));
	v->dim = (int16) dims;
	v->unused = 0;

	for (i = 0; i < nwords; i++)
	{
		const Word *w = &words[i];
		char		padded[3];
		int			ntri;
		uint64		h;

		CHECK_FOR_INTERRUPTS();

		/* the word */
		h = fnv1a(FNV_OFFSET, "w", 1);
		add_feature(v->x, dims, fnv1a(h, w->p, w->len), WEIGHT_WORD);

		/* the pair with the next word, separated by a space */
		if (i + 1 < nwords)
		{
			h = fnv1a(FNV_OFFSET, "b", 1);
			h = fnv1a(h, w->p, w->len);
			h = fnv1a(h, " ", 1);
			h = fnv1a(h, words[i + 1].p, words[i + 1].len);
			add_feature(v->x, dims, h, WEIGHT_PAIR);
		}

		/* character trigrams of "^word$": len trigrams in all */
		ntri = w->len;
		for (int j = 0; j < ntri; j++)
		{
			/* trigram j covers padded positions j .. j+2 */
			for (int k = 0; k < 3; k++)
			{
				int			pos = j + k;	/* 0 = '^', len+1 = '$' */

				if (pos == 0)
					padded[k] = '^';
				else if (pos == w->len + 1)
					padded[k] = '$';
				else
					padded[k] = w->p[pos - 1];
			}
			h = fnv1a(FNV_OFFSET, "t", 1);
			add_feature(v->x, dims, fnv1a(h, padded, 3),
						WEIGHT_TRIGRAMS / ntri);
		}
	}

	for (i = 0; i < dims; i++)
		norm += (double) v->x[i] * v->x[i];
	if (norm > 0.0)
	{
		double		inv = 1.0 / sqrt(norm);

		for (i = 0; i < dims; i++)
			v->x[i] = (float) (v->x[i] * inv);
	}
	else
	{
		/* all features cancelled out: keep a direction, deterministically */
		v->x[0] = 1.0f;
	}

	pfree(words);
	pfree(s);
	PG_RETURN_POINTER(v);
}
