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
 *		the extension's schema;
 *	 2. works out the spaces the caller may write: every space for a role
 *		that bypasses row-level security on engram.memory (superuser,
 *		BYPASSRLS, the privileges of the table's owner), else the spaces
 *		granted (engram.space_grant) to a role whose privileges it has, the
 *		rule of the row-level security policies;
 *	 3. switches to the owner of engram.memory as the RI triggers and
 *		REFRESH MATERIALIZED VIEW do (SECURITY_LOCAL_USERID_CHANGE |
 *		SECURITY_RESTRICTED_OPERATION), with search_path = pg_catalog,
 *		pg_temp and row_security = on;
 *	 4. calls the function's implementation, engram._<name>_impl, whose
 *		EXECUTE is revoked from PUBLIC, with the caller's arguments as typed
 *		parameters (nothing is cast or interpreted as text) and the array of
 *		permitted spaces (NULL: all) as the last one.  The implementation
 *		checks every argument and touches only rows of permitted spaces;
 *	 5. switches back (an error in between aborts the (sub)transaction,
 *		which restores the user id and the settings).
 *
 * This is the design of src/memory_write.c (branch sec) for remember,
 * forget and the other 0.1.0 writes, repeated here so both can be merged
 * independently; the C symbol follows its engram_write_* naming, by which
 * its catalog check finds every function that switches user.
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
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "memory_features.h"

int			memory_expire_naptime = 60;

void
memory_features_init(void)
{
	DefineCustomIntVariable("engram.expire_naptime",
							"Time between the background worker's memory passes (engram.expire() over every space, then the spaces' consolidation schedules); 0 disables them.",
							"The worker runs in engram.migrate_database when engram is in shared_preload_libraries.",
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
 * engram.memory in the schema nsp (the write function's own schema: the
 * extension's, since only a superuser can create a function with this C
 * symbol), and its owner
 */
static Oid
feature_memory_owner(Oid nsp)
{
	Oid			relid;
	Oid			owner;
	HeapTuple	tup;

	relid = get_relname_relid("memory", nsp);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table engram.memory does not exist")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * The public write functions of 55_memory_features.sql; see the header
 * comment.  Returns what the implementation returns (one value).
 */
PG_FUNCTION_INFO_V1(engram_write_feature);
Datum
engram_write_feature(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	HeapTuple	proctup;
	Form_pg_proc proc;
	char	   *name;
	int			nargs;
	Oid			rettype;
	Oid		   *ptypes;
	Datum	   *pvalues;
	char	   *pnulls;
	Oid			owner;
	Oid			nsp;
	const char *schema;
	bool		known = false;
	bool		unrestricted;
	StringInfoData sql;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			rc;
	int			i;
	int16		typlen;
	bool		typbyval;
	Datum		ret = (Datum) 0;
	bool		isnull = true;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proctup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(proctup);
	name = pstrdup(NameStr(proc->proname));
	nargs = proc->pronargs;
	rettype = proc->prorettype;
	ptypes = palloc(sizeof(Oid) * (nargs + 1));
	memcpy(ptypes, proc->proargtypes.values, sizeof(Oid) * nargs);
	nsp = proc->pronamespace;
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
	owner = feature_memory_owner(nsp);
	schema = quote_identifier(get_namespace_name(nsp));

	pvalues = palloc(sizeof(Datum) * (nargs + 1));
	pnulls = palloc(nargs + 2);
	for (i = 0; i < nargs; i++)
	{
		pvalues[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		pnulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	ptypes[nargs] = TEXTARRAYOID;
	pnulls[nargs + 1] = '\0';

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s.%s(", schema, quote_identifier(psprintf("_%s_impl", name)));
	for (i = 0; i <= nargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');

	unrestricted = superuser_arg(caller) || has_bypassrls_privilege(caller) ||
		has_privs_of_role(caller, owner);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("row_security", "on",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the caller's spaces, by the rule of the row-level security policies */
	if (unrestricted)
	{
		pvalues[nargs] = (Datum) 0;
		pnulls[nargs] = 'n';
	}
	else
	{
		Oid			gtype = OIDOID;
		Datum		garg = ObjectIdGetDatum(caller);
		bool		gnull;
		char	   *gsql;

		gsql = psprintf("SELECT pg_catalog.array_agg(g.space) FILTER (WHERE g.space IS NOT NULL)"
						" FROM %s.space_grant g"
						" JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid"
						" WHERE pg_catalog.pg_has_role($1, r.oid, 'USAGE')",
						schema);
		rc = SPI_execute_with_args(gsql, 1, &gtype, &garg, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the space grants: %s",
				 SPI_result_code_string(rc));
		pvalues[nargs] = SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &gnull);
		if (gnull)
			pvalues[nargs] = PointerGetDatum(construct_empty_array(TEXTOID));
		pnulls[nargs] = ' ';
	}

	rc = SPI_execute_with_args(sql.data, nargs + 1, ptypes, pvalues, pnulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "engram.%s failed: %s", name, SPI_result_code_string(rc));
	if (rettype != VOIDOID && SPI_processed == 1)
	{
		ret = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			get_typlenbyval(rettype, &typlen, &typbyval);
			ret = SPI_datumTransfer(ret, typbyval, typlen);
		}
	}
	SPI_finish();

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);

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
