/*-------------------------------------------------------------------------
 *
 * memory_features.c
 *	  engram memory API features (sql/install/55_memory_features.sql):
 *	  the write entry points of updates with history, supersede, validity
 *	  in time, expiry, keys and namespaces and core memory blocks; the
 *	  valid_at() predicate; the background worker's expiry pass and
 *	  consolidation schedules.
 *
 * Writes.  Tenants do not write engram.memory, engram.memory_history,
 * engram.core_block or engram.space_policy directly (they hold SELECT at
 * most, narrowed by row-level security).  Each public write function of
 * 55_memory_features.sql (engram.update_memory, engram.supersede, ...) is
 * the C function engram_write_feature below, an ordinary SECURITY INVOKER
 * function, so it knows its real caller, GetUserId().  It
 *	 1. checks that it is one of the functions listed in feature_ops[] of
 *		the extension (a member of it, not returning a set);
 *	 2. calls the function's implementation, engram._<name>_impl, whose
 *		EXECUTE is revoked from PUBLIC, through memory_run_as_owner()
 *		(src/memory_write.c, the one implementation of the owner switch
 *		shared with remember, forget and the other 0.1.0 writes): it works
 *		out the spaces the caller may write (every space for a role that
 *		bypasses row-level security on engram.memory, else the spaces
 *		granted to a role whose privileges it has, the rule of the
 *		row-level security policies), switches to the owner of
 *		engram.memory as the RI triggers and REFRESH MATERIALIZED VIEW do
 *		(SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION) with
 *		search_path = pg_catalog, pg_temp and row_security = on, runs the
 *		call with the caller's arguments as typed parameters (nothing is
 *		cast or interpreted as text) and the array of permitted spaces
 *		(NULL: all) as the last one, and switches back (an error in between
 *		aborts the (sub)transaction, which restores the user id and the
 *		settings).  The implementation checks every argument and touches
 *		only rows of permitted spaces.
 *
 * The C symbol follows the engram_write_* naming of src/memory_write.c, by
 * which the regress test security's catalog check finds every function
 * that switches user.
 *
 * IDENTIFICATION
 *	  src/memory_features.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "memory.h"

int			memory_expire_naptime = 60;

void
memory_features_init(void)
{
	DefineCustomIntVariable("engram.expire_naptime",
							"Time between the background worker's memory passes (engram.expire() over every space, then the spaces' consolidation schedules); 0 disables them.",
							"The background workers run it in every database that has engram (or only engram.migrate_database) when engram is in shared_preload_libraries.",
							&memory_expire_naptime, 60, 0, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* the public write functions; each runs engram._<name>_impl as the owner */
static const char *const feature_ops[] = {
	"update_memory",
	"supersede",
	"invalidate",
	"set_expiry",
	"expire",
	"put",
	"delete_key",
	"set_space_ttl",
	"set_space_schedule",
	"set_block",
	"append_block",
	"replace_block",
	"delete_block",
	NULL
};

/*
 * engram.valid_at(valid_from timestamptz, valid_to timestamptz,
 *				   as_of timestamptz) RETURNS boolean
 *
 * Whether a validity interval [valid_from, valid_to) holds at as_of; a NULL
 * bound is open (valid since always / still valid), a NULL as_of means
 * now().  Never NULL.
 */
PG_FUNCTION_INFO_V1(engram_valid_at);
Datum
engram_valid_at(PG_FUNCTION_ARGS)
{
	TimestampTz as_of;

	as_of = PG_ARGISNULL(2) ? GetCurrentTransactionStartTimestamp()
		: PG_GETARG_TIMESTAMPTZ(2);
	if (!PG_ARGISNULL(0) && PG_GETARG_TIMESTAMPTZ(0) > as_of)
		PG_RETURN_BOOL(false);
	if (!PG_ARGISNULL(1) && PG_GETARG_TIMESTAMPTZ(1) <= as_of)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(true);
}

/*
 * The public write functions of 55_memory_features.sql; see the header
 * comment.  Returns what the implementation returns (one value).
 */
PG_FUNCTION_INFO_V1(engram_write_feature);
Datum
engram_write_feature(PG_FUNCTION_ARGS)
{
	HeapTuple	proctup;
	Form_pg_proc proc;
	char	   *name;
	int			nargs;
	Oid			rettype;
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	bool		known = false;
	StringInfoData sql;
	int			i;
	Datum		ret;
	bool		isnull;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proctup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(proctup);
	name = pstrdup(NameStr(proc->proname));
	nargs = proc->pronargs;
	rettype = proc->prorettype;
	types = palloc(sizeof(Oid) * (nargs + 1));
	memcpy(types, proc->proargtypes.values, sizeof(Oid) * nargs);
	for (i = 0; feature_ops[i] != NULL; i++)
		if (strcmp(feature_ops[i], name) == 0)
			known = true;
	if (!known || proc->proretset ||
		get_extension_oid("engram", true) != getExtensionOfObject(ProcedureRelationId, fcinfo->flinfo->fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("function %s is not a write function of engram",
						format_procedure(fcinfo->flinfo->fn_oid))));
	ReleaseSysCache(proctup);

	values = palloc(sizeof(Datum) * (nargs + 1));
	nulls = palloc(nargs + 1);
	for (i = 0; i < nargs; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	/*
	 * SELECT <schema>._<name>_impl($1, ..., $nargs+1), the schema as %1$s
	 * of memory_run_as_owner's format (the name is one of feature_ops[]:
	 * no '%').  Built per function, so planned per call.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %%1$s.%s(", quote_identifier(psprintf("_%s_impl", name)));
	for (i = 0; i <= nargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');

	ret = memory_run_as_owner(InvalidOid, sql.data, nargs, types, values, nulls,
							  rettype, psprintf("engram.%s", name), &isnull);

	if (rettype == VOIDOID)
		PG_RETURN_VOID();
	if (isnull)
		PG_RETURN_NULL();
	return ret;
}

/*
 * Run one statement of the background worker in the worker's database, in
 * a transaction of its own, when the extension there has the function
 * named by sig (a 0.1.0 install not yet updated has not); errors are
 * logged.  sql is a format with the extension's schema as %I.
 */
static void
memory_worker_statement(const char *sig, const char *sql, const char *what)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		int			rc;
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		Datum		args[2];

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, what);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		args[0] = CStringGetTextDatum(sql);
		args[1] = CStringGetTextDatum(sig);
		rc = SPI_execute_with_args("SELECT pg_catalog.format($1, n.nspname)"
								   " FROM pg_catalog.pg_extension e"
								   " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
								   " WHERE e.extname OPERATOR(pg_catalog.=) 'engram'"
								   " AND pg_catalog.to_regprocedure(pg_catalog.quote_ident(n.nspname)"
								   " OPERATOR(pg_catalog.||) $2) IS NOT NULL",
								   2, argtypes, args, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
		{
			char	   *q = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			rc = SPI_execute(q, false, 0);
			if (rc == SPI_OK_SELECT && SPI_processed == 1)
				elog(DEBUG1, "engram: %s: %s", what,
					 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * The background worker's expiry pass: SELECT engram.expire() (one
 * transaction: the deletes go through the table AM like any DELETE,
 * WAL-logged and atomic, so a crash during the pass rolls the whole pass
 * back), then, in a second transaction, the spaces' consolidation
 * schedules (engram._run_schedules()).
 */
void
memory_expire_pass(void)
{
	memory_worker_statement(".expire(pg_catalog.text)", "SELECT %I.expire()",
							"engram expiry pass");
	memory_worker_statement("._run_schedules()", "SELECT %I._run_schedules()",
							"engram scheduled consolidation");
}

TimestampTz
memory_expire_next(TimestampTz now)
{
	if (memory_expire_naptime <= 0)
		return DT_NOEND;
	return now + (TimestampTz) memory_expire_naptime * USECS_PER_SEC;
}
