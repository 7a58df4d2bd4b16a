/*-------------------------------------------------------------------------
 *
 * memory_activation.c
 *	  engram memory API: base-level activation (how "available" a memory is
 *	  given when it was made and how often and how recently it was used).
 *
 * Ages are measured in hours.  Three decay functions, chosen by the GUC
 * engram.decay_function, with d = engram.decay_rate:
 *
 *	 exponential	A = exp(-d * t)				t = hours since last access
 *	 power			A = (1 + t)^-d				(or since creation if never used)
 *	 actr			B = ln(sum_j t_j^-d)		ACT-R base-level learning
 *
 * ACT-R needs the age t_j of every presentation; storage keeps only the
 * count and the last access, so B is computed with Petrov's (2006) hybrid
 * approximation with one exact term (k = 1): the most recent presentation
 * (age t1) is kept exactly and the n-1 older ones are assumed spread
 * uniformly over the lifetime L (age of the creation):
 *
 *	 B = ln( t1^-d + (n-1) * (L^(1-d) - t1^(1-d)) / ((1-d) * (L - t1)) )
 *
 * with n = access_count + 1 (creation is a presentation).  For n = 1 this is
 * ln(t1^-d) = -d ln t1; for L = t1 the second term's limit (n-1) t1^-d is
 * used.  Ages below one second are raised to one second (t^-d diverges at 0),
 * and d must be in [0, 1).
 *
 * The recall score needs a value in [0, 1]: exponential and power already
 * are; B is mapped by the logistic function 1 / (1 + exp(-B)) (ACT-R's
 * retrieval probability with threshold 0 and noise s = 1).
 *
 * IDENTIFICATION
 *	  src/memory_activation.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/timestamp.h"

#include "memory.h"

#define MIN_AGE_HOURS	(1.0 / 3600.0)

static double
hours_between(TimestampTz from, TimestampTz to)
{
	double		h = (double) (to - from) / (double) USECS_PER_HOUR;

	return h > 0.0 ? h : 0.0;
}

static void
check_rate(double rate)
{
	if (isnan(rate) || rate < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decay rate must be a non-negative number"),
				 errhint("Set engram.decay_rate to a value of 0 or more.")));
}

/*
 * Arguments of the SQL-callable math functions: ages are hours (NaN has no
 * meaning; a negative age counts as 0, like a timestamp in the future) and
 * counts cannot be negative.  Internal callers pass values derived from
 * timestamps and storage counters and skip these checks.
 */
static void
check_hours(double hours, const char *what)
{
	if (isnan(hours))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a number of hours, got NaN", what)));
}

static double
decay_exponential(double age_hours, double rate)
{
	return exp(-rate * Max(age_hours, 0.0));
}

static double
decay_power(double age_hours, double rate)
{
	return pow(1.0 + Max(age_hours, 0.0), -rate);
}

static double
actr_base_level(int64 n, double lifetime, double recency, double d)
{
	double		t1;
	double		L;
	double		sum;

	if (isnan(d) || d < 0.0 || d >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ACT-R decay must be in [0, 1), got %g", d),
				 errhint("Set engram.decay_rate below 1 (0.5 is ACT-R's usual value) when engram.decay_function is 'actr'.")));
	if (n < 1)
		n = 1;
	t1 = Max(recency, MIN_AGE_HOURS);
	L = Max(lifetime, t1);

	sum = pow(t1, -d);
	if (n > 1)
	{
		if (L - t1 < 1e-9)
			sum += (double) (n - 1) * pow(t1, -d);
		else
			sum += (double) (n - 1) * (pow(L, 1.0 - d) - pow(t1, 1.0 - d)) /
				((1.0 - d) * (L - t1));
	}
	return log(sum);
}

double
memory_activation_raw(MemoryDecayFunction fn, double rate,
					  TimestampTz created_at, TimestampTz last,
					  int64 count, TimestampTz now)
{
	TimestampTz ref = (last != 0 && last > created_at) ? last : created_at;

	check_rate(rate);
	switch (fn)
	{
		case MEMORY_DECAY_EXPONENTIAL:
			return decay_exponential(hours_between(ref, now), rate);
		case MEMORY_DECAY_POWER:
			return decay_power(hours_between(ref, now), rate);
		case MEMORY_DECAY_ACTR:
			return actr_base_level(count + 1, hours_between(created_at, now),
								   hours_between(ref, now), rate);
	}
	elog(ERROR, "unknown decay function %d", (int) fn);
	return 0.0;					/* keep compiler quiet */
}

double
memory_activation_normalise(MemoryDecayFunction fn, double raw)
{
	if (fn == MEMORY_DECAY_ACTR)
		return 1.0 / (1.0 + exp(-raw));
	return Min(Max(raw, 0.0), 1.0);
}

/* engram.decay_exponential(age_hours float8, rate float8) RETURNS float8 */
PG_FUNCTION_INFO_V1(engram_decay_exponential);
Datum
engram_decay_exponential(PG_FUNCTION_ARGS)
{
	double		rate = PG_GETARG_FLOAT8(1);

	check_rate(rate);
	check_hours(PG_GETARG_FLOAT8(0), "age_hours");
	PG_RETURN_FLOAT8(decay_exponential(PG_GETARG_FLOAT8(0), rate));
}

/* engram.decay_power(age_hours float8, rate float8) RETURNS float8 */
PG_FUNCTION_INFO_V1(engram_decay_power);
Datum
engram_decay_power(PG_FUNCTION_ARGS)
{
	double		rate = PG_GETARG_FLOAT8(1);

	check_rate(rate);
	check_hours(PG_GETARG_FLOAT8(0), "age_hours");
	PG_RETURN_FLOAT8(decay_power(PG_GETARG_FLOAT8(0), rate));
}

/*
 * engram.actr_base_level(n bigint, lifetime_hours float8,
 *						  recency_hours float8, d float8) RETURNS float8
 */
PG_FUNCTION_INFO_V1(engram_actr_base_level);
Datum
engram_actr_base_level(PG_FUNCTION_ARGS)
{
	/* n counts presentations, the first being the memory's creation */
	if (PG_GETARG_INT64(0) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of presentations must be at least 1, got " INT64_FORMAT,
						PG_GETARG_INT64(0)),
				 errhint("n is access_count + 1: the creation counts as the first presentation.")));
	check_hours(PG_GETARG_FLOAT8(1), "lifetime_hours");
	check_hours(PG_GETARG_FLOAT8(2), "recency_hours");
	PG_RETURN_FLOAT8(actr_base_level(PG_GETARG_INT64(0), PG_GETARG_FLOAT8(1),
									 PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3)));
}

/*
 * Shared argument handling of engram.activation and engram.activation_norm:
 * (created_at timestamptz, last_access timestamptz (NULL = never),
 *	access_count bigint (NULL = 0), now timestamptz)
 */
static double
activation_from_args(FunctionCallInfo fcinfo)
{
	TimestampTz created_at = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz last = PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1);
	int64		count = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	TimestampTz now = PG_GETARG_TIMESTAMPTZ(3);

	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("access_count must not be negative, got " INT64_FORMAT, count)));

	return memory_activation_raw((MemoryDecayFunction) memory_decay_function,
								 memory_decay_rate, created_at, last, count, now);
}

/* engram.activation(...) RETURNS float8: raw activation (ACT-R: B) */
PG_FUNCTION_INFO_V1(engram_activation);
Datum
engram_activation(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(activation_from_args(fcinfo));
}

/* engram.activation_norm(...) RETURNS float8: activation mapped to [0, 1] */
PG_FUNCTION_INFO_V1(engram_activation_norm);
Datum
engram_activation_norm(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(memory_activation_normalise((MemoryDecayFunction) memory_decay_function,
												 activation_from_args(fcinfo)));
}

/*
 * engram.recall_score(similarity real, activation real, confidence real)
 * RETURNS real
 *
 *	 score = engram.weight_similarity * similarity
 *		   + engram.weight_activation * activation	(normalised, [0, 1])
 *		   + engram.weight_confidence * confidence
 *
 * A NULL or NaN input counts as 0.  NaN arises from a zero embedding
 * stored before remember() refused them (cosine similarity 0/0); Postgres
 * sorts NaN above every number, so a NaN score would rank such a memory
 * first for every cue.
 */
PG_FUNCTION_INFO_V1(engram_recall_score);
Datum
engram_recall_score(PG_FUNCTION_ARGS)
{
	double		s = PG_ARGISNULL(0) ? 0.0 : PG_GETARG_FLOAT4(0);
	double		a = PG_ARGISNULL(1) ? 0.0 : PG_GETARG_FLOAT4(1);
	double		c = PG_ARGISNULL(2) ? 0.0 : PG_GETARG_FLOAT4(2);

	if (isnan(s))
		s = 0.0;
	if (isnan(a))
		a = 0.0;
	if (isnan(c))
		c = 0.0;

	PG_RETURN_FLOAT4((float4) (memory_weight_similarity * s +
							   memory_weight_activation * a +
							   memory_weight_confidence * c));
}
