/*-------------------------------------------------------------------------
 *
 * memory_api.c
 *	  engram memory API: GUCs and small SQL-callable helpers used by the
 *	  SQL functions of sql/install/50_memory.sql (remember, recall, forget,
 *	  associate, consolidate).
 *
 * The API itself is written in SQL/PL/pgSQL so that it reaches storage only
 * through the executor (row-level security, triggers, any index and any
 * table access method work unchanged).  The helpers here give that SQL a
 * dependable way to read engram's GUCs (current_setting() fails for a
 * custom GUC until the library is loaded in the session) and to learn
 * whether writes are allowed (hot standby, read-only transactions).
 *
 * IDENTIFICATION
 *	  src/memory_api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "engram.h"
#include "memory.h"

double		memory_dedup_threshold = 0.0;
double		memory_weight_similarity = 0.7;
double		memory_weight_activation = 0.2;
double		memory_weight_confidence = 0.1;
int			memory_decay_function = MEMORY_DECAY_ACTR;
double		memory_decay_rate = 0.5;
int			memory_recall_candidates = 100;
bool		memory_text_enabled = true;
double		memory_consolidate_threshold = 0.92;
char	   *memory_forget_after = NULL;
double		memory_forget_threshold = 0.1;
double		memory_forget_factor = 0.5;
int			memory_max_content_bytes = 1024 * 1024;

static const struct config_enum_entry decay_function_options[] = {
	{"exponential", MEMORY_DECAY_EXPONENTIAL, false},
	{"power", MEMORY_DECAY_POWER, false},
	{"actr", MEMORY_DECAY_ACTR, false},
	{NULL, 0, false}
};

void
memory_init(void)
{
	DefineCustomRealVariable("engram.dedup_threshold",
							 "Cosine similarity at or above which remember() reinforces an existing memory instead of inserting; 0 disables.",
							 NULL, &memory_dedup_threshold, 0.0, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.weight_similarity",
							 "Weight of cue similarity in the recall score.",
							 NULL, &memory_weight_similarity, 0.7, 0.0, 1000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.weight_activation",
							 "Weight of normalised base-level activation in the recall score.",
							 NULL, &memory_weight_activation, 0.2, 0.0, 1000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.weight_confidence",
							 "Weight of confidence in the recall score.",
							 NULL, &memory_weight_confidence, 0.1, 0.0, 1000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("engram.decay_function",
							 "Base-level activation decay: exponential, power or actr.",
							 NULL, &memory_decay_function, MEMORY_DECAY_ACTR,
							 decay_function_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.decay_rate",
							 "Decay rate (per hour for exponential, exponent for power and actr; actr needs a value below 1).",
							 NULL, &memory_decay_rate, 0.5, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.recall_candidates",
							"Candidates fetched by nearest-neighbour order before re-ranking (at least k*10 are fetched).",
							NULL, &memory_recall_candidates, 100, 1, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("engram.recall_text_index",
							 "Lets recall read a one-word text cue's candidates bucket by bucket from memory_text_keys_idx.",
							 "Off: recall ranks every memory the text cue matches (the same result, more slowly).",
							 &memory_text_enabled, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.consolidate_threshold",
							 "Cosine similarity at or above which consolidate() groups episodic memories.",
							 NULL, &memory_consolidate_threshold, 0.92, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("engram.forget_after",
							   "Episodic memories not accessed for this long lose confidence in consolidate().",
							   NULL, &memory_forget_after, "90 days",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.forget_threshold",
							 "consolidate() forgets episodic memories whose confidence falls below this.",
							 NULL, &memory_forget_threshold, 0.1, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("engram.forget_decay_factor",
							 "Factor consolidate() multiplies the confidence of stale episodic memories by.",
							 NULL, &memory_forget_factor, 0.5, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.max_content_bytes",
							"Largest content remember() accepts, and largest metadata (as text) of a memory, in bytes (superusers set it: a tenant cannot raise it).",
							NULL, &memory_max_content_bytes, 1024 * 1024, 1,
							MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
}

/*
 * engram._setting(name text) RETURNS text
 *
 * current_setting() for one of engram's GUCs that works even in a session
 * that has not loaded the library yet (calling this loads it).
 */
PG_FUNCTION_INFO_V1(engram_memory_setting);
Datum
engram_memory_setting(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (strncmp(name, "engram.", 7) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an engram setting", name)));
	PG_RETURN_TEXT_P(cstring_to_text(GetConfigOptionByName(name, NULL, false)));
}

/*
 * engram.writes_allowed() RETURNS boolean
 *
 * False on a hot standby and in a read-only transaction: recall then skips
 * recording accesses, and the write paths raise a clear error early.
 */
PG_FUNCTION_INFO_V1(engram_memory_writes_allowed);
Datum
engram_memory_writes_allowed(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!RecoveryInProgress() && !XactReadOnly);
}

/*
 * engram._check_content(content text, check_size bool DEFAULT true)
 * RETURNS void
 *
 * Rejects empty (or whitespace-only) content and, when check_size is true,
 * content larger than engram.max_content_bytes.
 */
PG_FUNCTION_INFO_V1(engram_memory_check_content);
Datum
engram_memory_check_content(PG_FUNCTION_ARGS)
{
	text	   *t;
	const char *p;
	int			len;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("memory content must not be NULL"),
				 errhint("Pass the text to remember as the first argument.")));
	t = PG_GETARG_TEXT_PP(0);
	p = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);

	if ((PG_NARGS() < 2 || PG_ARGISNULL(1) || PG_GETARG_BOOL(1)) &&
		len > memory_max_content_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("memory content is %d bytes, larger than engram.max_content_bytes (%d)",
						len, memory_max_content_bytes),
				 errhint("Split the content into several memories; engram.max_content_bytes is a superuser setting.")));

	for (i = 0; i < len; i++)
	{
		if (!isspace((unsigned char) p[i]))
			break;
	}
	if (i == len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("memory content must not be empty"),
				 errhint("Pass non-blank text to remember.")));
	PG_RETURN_VOID();
}
