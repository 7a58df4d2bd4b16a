/*-------------------------------------------------------------------------
 *
 * memory_write.c
 *	  engram memory API: the only way a tenant's writes reach
 *	  engram.memory and engram.association.
 *
 * Tenants hold SELECT on the memory tables (row-level security narrows it
 * to their spaces) and nothing else: no INSERT, UPDATE, DELETE or TRUNCATE
 * (so no explicit ids, no OVERRIDING SYSTEM VALUE, no LOCK TABLE ... IN
 * ACCESS EXCLUSIVE MODE).  The PL/pgSQL API functions (remember, forget,
 * associate, consolidate) run as the caller, check their arguments and
 * read through row-level security, and write through the primitives
 * below.
 *
 * Each primitive is an ordinary (SECURITY INVOKER) C function, so it knows
 * its real caller: GetUserId().  It then
 *	 1. decides which spaces the caller may write: all of them for a role
 *		that bypasses row-level security on engram.memory (superuser,
 *		BYPASSRLS, a member of the table's owner), else the spaces granted
 *		(engram.space_grant) to a role whose privileges it has -- the same
 *		rule as the row-level security policies, read as the owner and
 *		passed to the statement as its last parameter (PERMITTED below);
 *	 2. switches to the owner of engram.memory the way REFRESH MATERIALIZED
 *		VIEW and the RI triggers do (SECURITY_LOCAL_USERID_CHANGE |
 *		SECURITY_RESTRICTED_OPERATION), with search_path = pg_catalog,
 *		pg_temp and row_security = on for the statement;
 *	 3. runs ONE fixed statement, with the caller's arguments as typed
 *		parameters (no text is ever interpreted, no value is cast: a
 *		caller-owned type cannot reach owner code), restricted to rows of
 *		the permitted spaces;
 *	 4. switches back.  An error in between aborts the (sub)transaction,
 *		which restores the user id and the settings.
 *
 * The statements fire engram's own trigger on engram.memory (which then
 * runs as the owner and may fix a space's dimensions) and the built-in
 * foreign-key triggers; nothing a tenant can define runs as the owner.
 * docs/architecture/0009-security-model.md lists these functions; the
 * regress test security checks the list against the catalog, finding them
 * by their C symbol: every function that switches user is named
 * engram_write_* and does it through memory_run_as_owner() below, the one
 * implementation of these four steps: the primitives of this file and
 * engram_write_feature (memory_features.c, the write functions of
 * sql/install/55_memory_features.sql) call it.
 *
 * IDENTIFICATION
 *	  src/memory_write.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "memory.h"

/*
 * Prepared plans, one per statement (keyed by its format string, a static
 * constant) and primitive: remember and forget run a primitive per call,
 * and planning the statement each time cost more than the write.  The plan
 * cache replans when the tables change.
 */
#define MAX_WRITE_PLANS 16

typedef struct WritePlan
{
	const char *fmt;
	Oid			key;			/* the primitive (or engram.memory for the
								 * grants query): a new one after DROP and
								 * CREATE EXTENSION, with new type OIDs */
	SPIPlanPtr	plan;
} WritePlan;

static WritePlan write_plans[MAX_WRITE_PLANS];
static int	n_write_plans = 0;

/*
 * The spaces granted to the role $1, in SQL: those of engram.space_grant
 * rows whose role $1 has the privileges of -- the rule of the row-level
 * security policies.  %1$s is the extension's schema.
 */
static const char granted_spaces_sql[] =
	"SELECT pg_catalog.array_agg(g.space) FILTER (WHERE g.space IS NOT NULL)"
	" FROM %1$s.space_grant g"
	" JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid"
	" WHERE pg_catalog.pg_has_role($1, r.oid, 'USAGE')";

/* the prepared plan of fmt for key; inside SPI, as the owner */
static SPIPlanPtr
write_plan(const char *fmt, Oid key, const char *schema, int nargs, Oid *types)
{
	SPIPlanPtr	plan;
	int			i;
	int			slot = -1;

	for (i = 0; i < n_write_plans; i++)
		if (write_plans[i].fmt == fmt)
		{
			if (write_plans[i].key == key)
				return write_plans[i].plan;
			slot = i;			/* the extension was re-created */
		}

	/*
	 * Generic plans: a custom plan would be cheaper on paper (it sees the
	 * one-element id array) and so be chosen for ever, at the price of
	 * planning the statement on every call.
	 */
	plan = SPI_prepare_cursor(psprintf(fmt, schema), nargs, types,
							  CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (slot < 0 && n_write_plans >= MAX_WRITE_PLANS)
		return plan;			/* not kept: freed with the SPI context */
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (slot >= 0)
		SPI_freeplan(write_plans[slot].plan);
	else
		slot = n_write_plans++;
	write_plans[slot].fmt = fmt;
	write_plans[slot].key = key;
	write_plans[slot].plan = plan;
	return plan;
}

/* schema of the installed extension (get_extension_schema is static in 15) */
static Oid
extension_schema(void)
{
	Oid			extoid = get_extension_oid("engram", false);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nsp))
		elog(ERROR, "could not find the schema of extension engram");
	return nsp;
}

/*
 * engram.memory of the installed extension, its owner and schema.  The
 * table's OID is remembered: each call checks through the syscache that it
 * still names "memory" in the extension's schema (after DROP EXTENSION and
 * CREATE EXTENSION it does not, and the lookup is made again).
 */
static Oid	cached_memory_relid = InvalidOid;
static Oid	cached_memory_nsp = InvalidOid;

static void
memory_table(Oid *relid, Oid *owner, const char **schema, Oid *nspp)
{
	HeapTuple	tup;
	Form_pg_class cls;

	tup = OidIsValid(cached_memory_relid) ?
		SearchSysCache1(RELOID, ObjectIdGetDatum(cached_memory_relid)) : NULL;
	if (HeapTupleIsValid(tup))
	{
		cls = (Form_pg_class) GETSTRUCT(tup);
		if (cls->relnamespace != cached_memory_nsp ||
			strcmp(NameStr(cls->relname), "memory") != 0)
		{
			ReleaseSysCache(tup);
			tup = NULL;
		}
	}
	if (!HeapTupleIsValid(tup))
	{
		Oid			nsp = extension_schema();
		Oid			rid = get_relname_relid("memory", nsp);

		if (!OidIsValid(rid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table engram.memory does not exist")));
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", rid);
		cached_memory_relid = rid;
		cached_memory_nsp = nsp;
	}
	cls = (Form_pg_class) GETSTRUCT(tup);
	*relid = cached_memory_relid;
	*nspp = cached_memory_nsp;
	*owner = cls->relowner;
	ReleaseSysCache(tup);
	*schema = quote_identifier(get_namespace_name(*nspp));
}

/*
 * Does row-level security on engram.memory not apply to the role?  The
 * rule of engram._rls_bypassed() and of the executor: superuser, BYPASSRLS,
 * or the privileges of the table's owner.
 */
static bool
memory_bypasses(Oid user, Oid owner)
{
	return superuser_arg(user) || has_bypassrls_privilege(user) ||
		has_privs_of_role(user, owner);
}

/*
 * engram._rls_bypassed(): does row-level security on engram.memory not
 * apply to the current role?  memory_bypasses() of the current user and
 * the table's owner -- the rule the SQL definition of 0.1.0 spelled as
 * rolsuper OR rolbypassrls OR pg_has_role(relowner, 'USAGE').  In C with
 * the cached table lookup: engram._check_space (every recall, remember and
 * forget) calls it, and a SQL function was planned again in every
 * transaction.
 */
PG_FUNCTION_INFO_V1(engram_rls_bypassed);
Datum
engram_rls_bypassed(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			owner;
	const char *schema;
	Oid			nsp;

	memory_table(&relid, &owner, &schema, &nsp);
	PG_RETURN_BOOL(memory_bypasses(GetUserId(), owner));
}

/*
 * engram._space_allowed(space text): does the current role hold a grant of
 * the space -- a row of engram.space_grant for it whose role exists and
 * whose privileges the current role has (pg_has_role(role, 'USAGE'))?  The
 * rule of the row-level security policies and of granted_spaces_sql.  NULL
 * is no space: false.  Read through the primary key (space, role) with the
 * query's snapshot, as the STABLE SQL function did; the row-level security
 * of engram.space_grant (a role sees its own grants) would keep exactly the
 * rows this condition keeps, so it is not applied again.
 */
PG_FUNCTION_INFO_V1(engram_space_allowed);
Datum
engram_space_allowed(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			owner;
	const char *schema;
	Oid			nsp;
	Oid			grelid;
	Oid			gindex;
	Relation	grel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			user = GetUserId();
	bool		allowed = false;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	memory_table(&relid, &owner, &schema, &nsp);
	grelid = get_relname_relid("space_grant", nsp);
	gindex = get_relname_relid("space_grant_pkey", nsp);
	if (!OidIsValid(grelid) || !OidIsValid(gindex))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table engram.space_grant or its primary key does not exist")));
	grel = table_open(grelid, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   DEFAULT_COLLATION_OID, F_TEXTEQ, PG_GETARG_DATUM(0));
	scan = systable_beginscan(grel, gindex, true,
							  ActiveSnapshotSet() ? GetActiveSnapshot() : NULL, 1, &key);
	while (!allowed && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Oid			role = DatumGetObjectId(heap_getattr(tup, 2, RelationGetDescr(grel), &isnull));

		/* grants to dropped roles are skipped (the join with pg_roles) */
		if (!isnull &&
			SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)) &&
			has_privs_of_role(user, role))
			allowed = true;
	}
	systable_endscan(scan);
	table_close(grel, AccessShareLock);
	PG_RETURN_BOOL(allowed);
}

/*
 * The one place where a tenant's write switches user (memory.h).  For the
 * current user (the real caller: every engram_write_* function is SECURITY
 * INVOKER) it
 *	 1. decides which spaces the caller may write: all of them (NULL) for a
 *		role that bypasses row-level security on engram.memory, else the
 *		spaces granted (engram.space_grant) to a role whose privileges it
 *		has -- the rule of the row-level security policies, read as the
 *		owner (granted_spaces_sql);
 *	 2. switches to the owner of engram.memory the way REFRESH MATERIALIZED
 *		VIEW and the RI triggers do (SECURITY_LOCAL_USERID_CHANGE |
 *		SECURITY_RESTRICTED_OPERATION), with search_path = pg_catalog,
 *		pg_temp and row_security = on for the statement;
 *	 3. runs the ONE statement sqlfmt (the extension's schema as %1$s), with
 *		the caller's arguments as typed parameters $1..$nargs (no text is
 *		ever interpreted, no value is cast: a caller-owned type cannot reach
 *		owner code) and the permitted spaces (text[], NULL: all) as the last
 *		one, $nargs+1, which the statement must restrict its rows to;
 *	 4. switches back.  An error in between aborts the (sub)transaction,
 *		which restores the user id and the settings.
 *
 * plankey: the OID of the calling primitive, when sqlfmt is a static
 * constant whose plan is kept (write_plan); InvalidOid for a statement
 * built per call, which is planned each time.  rettype: InvalidOid to get
 * the number of rows processed (int8); else the type of the first column,
 * whose value in the first row is returned (*isnull true when there is no
 * row or it is NULL; VOIDOID: nothing).  what names the write in errors.
 */
Datum
memory_run_as_owner(Oid plankey, const char *sqlfmt, int nargs, Oid *types,
					Datum *values, char *nulls, Oid rettype, const char *what,
					bool *isnull)
{
	Oid			caller = GetUserId();
	Oid			relid;
	Oid			owner;
	const char *schema;
	Oid			nsp;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	Oid		   *ptypes = palloc(sizeof(Oid) * (nargs + 1));
	Datum	   *pvalues = palloc(sizeof(Datum) * (nargs + 1));
	char	   *pnulls = palloc(nargs + 2);
	bool		unrestricted;
	int			rc;
	Datum		ret = (Datum) 0;

	memory_table(&relid, &owner, &schema, &nsp);
	unrestricted = memory_bypasses(caller, owner);

	memcpy(ptypes, types, sizeof(Oid) * nargs);
	memcpy(pvalues, values, sizeof(Datum) * nargs);
	memcpy(pnulls, nulls, nargs);
	ptypes[nargs] = TEXTARRAYOID;
	pnulls[nargs + 1] = '\0';
	*isnull = true;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* (the API functions already run with both: then nothing is set) */
	save_nestlevel = NewGUCNestLevel();
	if (strcmp(namespace_search_path, "pg_catalog, pg_temp") != 0)
		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (strcmp(GetConfigOption("row_security", false, false), "on") != 0)
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

		rc = SPI_execute_plan(write_plan(granted_spaces_sql, relid, schema, 1, &gtype),
							  &garg, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the space grants: %s",
				 SPI_result_code_string(rc));
		pvalues[nargs] = SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &gnull);
		if (gnull)
			pvalues[nargs] = PointerGetDatum(construct_empty_array(TEXTOID));
		pnulls[nargs] = ' ';
	}

	if (OidIsValid(plankey))
		rc = SPI_execute_plan(write_plan(sqlfmt, plankey, schema, nargs + 1, ptypes),
							  pvalues, pnulls, false, 0);
	else
		rc = SPI_execute_with_args(psprintf(sqlfmt, schema), nargs + 1, ptypes,
								   pvalues, pnulls, false, 0);
	if (rc < 0)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(rc));
	if (!OidIsValid(rettype))
	{
		ret = Int64GetDatum((int64) SPI_processed);
		*isnull = false;
	}
	else if (rettype != VOIDOID && SPI_processed > 0 && SPI_tuptable != NULL)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, isnull);

		/* copied out of SPI's memory (int8 is by reference on 32-bit builds) */
		if (!*isnull)
		{
			int16		typlen;
			bool		typbyval;

			get_typlenbyval(rettype, &typlen, &typbyval);
			ret = SPI_datumTransfer(d, typbyval, typlen);
		}
	}
	SPI_finish();

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	return ret;
}

/*
 * The spaces the caller may write, as a row condition: every space when
 * the statement's last parameter (memory_run_as_owner's permitted spaces)
 * is NULL (a role that bypasses row-level security), else those in it.
 */
#define PERMITTED(col, spaces) \
	"(" spaces " IS NULL OR " col " = ANY (" spaces "))"

static void
space_denied(const char *space)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for memory space \"%s\"", space),
			 errhint("The space's owner can run SELECT engram.grant_space('%s', '%s').",
					 space, GetUserNameFromId(GetUserId(), false))));
}

/* the argument types of the called function, from its pg_proc row */
static Oid *
arg_types(FunctionCallInfo fcinfo, int nargs)
{
	Oid		   *types;
	int			n;

	(void) get_func_signature(fcinfo->flinfo->fn_oid, &types, &n);
	if (n != nargs)
		elog(ERROR, "function %u has %d arguments, expected %d",
			 fcinfo->flinfo->fn_oid, n, nargs);
	return types;
}

static void
collect_args(FunctionCallInfo fcinfo, int nargs, Datum *values, char *nulls)
{
	int			i;

	for (i = 0; i < nargs; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
}

static void
require_args(FunctionCallInfo fcinfo, int nargs)
{
	int			i;

	for (i = 0; i < nargs; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of %s must not be NULL", i + 1,
							get_func_name(fcinfo->flinfo->fn_oid))));
}

/* a confidence or factor: in [0, 1] (NaN compares above every number) */
static void
require_unit(float4 v, const char *what)
{
	if (isnan(v) || v < 0 || v > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1", what)));
}

/*
 * Run sql as the owner (memory_run_as_owner) with the primitive's nargs
 * arguments, of the types of its pg_proc row, as $1..$nargs.
 */
static Datum
primitive_write(FunctionCallInfo fcinfo, int nargs, Oid rettype,
				const char *sql, bool *isnull)
{
	Datum	   *values = palloc(sizeof(Datum) * nargs);
	char	   *nulls = palloc(nargs);

	collect_args(fcinfo, nargs, values, nulls);
	return memory_run_as_owner(fcinfo->flinfo->fn_oid, sql, nargs,
							   arg_types(fcinfo, nargs), values, nulls,
							   rettype, "memory write", isnull);
}

/*
 * engram._memory_insert(space, content, embedding, confidence, occurred_at,
 *						 location, participants, metadata, kind) RETURNS bigint
 *
 * INSERT of one memory into a space the caller may write; the id.  The
 * trigger engram._memory_before_write checks content, space and dimensions.
 */
PG_FUNCTION_INFO_V1(engram_write_memory_insert);
Datum
engram_write_memory_insert(PG_FUNCTION_ARGS)
{
	Datum		id;
	bool		isnull;
	char	   *space;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("memory space must not be NULL")));
	space = text_to_cstring(PG_GETARG_TEXT_PP(0));
	id = primitive_write(fcinfo, 9, INT8OID,
						 "INSERT INTO %1$s.memory (space, content, embedding, confidence,"
						 " occurred_at, location, participants, metadata, kind)"
						 " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
						 " WHERE " PERMITTED("$1", "$10")
						 " RETURNING id", &isnull);
	if (isnull)
		space_denied(space);
	PG_RETURN_DATUM(id);
}

/*
 * engram._memory_delete(ids bigint[]) RETURNS bigint
 *
 * DELETE of the memories with these ids in spaces the caller may write
 * (their associations go by the foreign keys); how many.
 */
PG_FUNCTION_INFO_V1(engram_write_memory_delete);
Datum
engram_write_memory_delete(PG_FUNCTION_ARGS)
{
	bool		isnull;

	require_args(fcinfo, 1);
	PG_RETURN_DATUM(primitive_write(fcinfo, 1, InvalidOid,
									"DELETE FROM %1$s.memory m"
									" WHERE m.id = ANY ($1)"
									" AND " PERMITTED("m.space", "$2"), &isnull));
}

/*
 * engram._memory_delete_space(space, before, below_confidence) RETURNS bigint
 *
 * DELETE of the memories of a space created before a time (NULL: any) with
 * confidence below a value (NULL: any); how many.  The bounds are checked
 * by the caller (engram.forget) and again here.
 */
PG_FUNCTION_INFO_V1(engram_write_memory_delete_space);
Datum
engram_write_memory_delete_space(PG_FUNCTION_ARGS)
{
	bool		isnull;

	require_args(fcinfo, 1);
	if (!PG_ARGISNULL(2))
		require_unit(PG_GETARG_FLOAT4(2), "below_confidence");
	PG_RETURN_DATUM(primitive_write(fcinfo, 3, InvalidOid,
									"DELETE FROM %1$s.memory m"
									" WHERE m.space = $1"
									" AND ($2 IS NULL OR m.created_at < $2)"
									" AND ($3 IS NULL OR m.confidence < $3)"
									" AND " PERMITTED("$1", "$4"), &isnull));
}

/*
 * engram._memory_reinforce(id bigint, confidence real) RETURNS tid
 *
 * remember()'s dedup reinforcement of one memory: confidence c becomes
 * least(1, c + (1 - c) * confidence / 2), in one UPDATE (a concurrent
 * reinforcement of the same row waits and builds on it).  The new row
 * version's tid, NULL when no such memory may be written by the caller.
 */
PG_FUNCTION_INFO_V1(engram_write_memory_reinforce);
Datum
engram_write_memory_reinforce(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		tid;

	require_args(fcinfo, 2);
	require_unit(PG_GETARG_FLOAT4(1), "confidence");
	tid = primitive_write(fcinfo, 2, TIDOID,
						  "UPDATE %1$s.memory m"
						  " SET confidence = least(1.0::float4, m.confidence + (1 - m.confidence) * $2 / 2)"
						  " WHERE m.id = $1"
						  " AND " PERMITTED("m.space", "$3")
						  " RETURNING m.ctid", &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(tid);
}

/*
 * engram._memory_decay(ids bigint[], factor real) RETURNS bigint
 *
 * consolidate()'s decay: confidence multiplied by factor (in [0, 1]).
 */
PG_FUNCTION_INFO_V1(engram_write_memory_decay);
Datum
engram_write_memory_decay(PG_FUNCTION_ARGS)
{
	bool		isnull;

	require_args(fcinfo, 2);
	require_unit(PG_GETARG_FLOAT4(1), "decay factor");
	PG_RETURN_DATUM(primitive_write(fcinfo, 2, InvalidOid,
									"UPDATE %1$s.memory m"
									" SET confidence = m.confidence * $2"
									" WHERE m.id = ANY ($1)"
									" AND " PERMITTED("m.space", "$3"), &isnull));
}

/*
 * engram._memory_mark_consolidated(ids bigint[], into_id bigint) RETURNS bigint
 *
 * consolidate()'s provenance: metadata.consolidated_into = into_id.
 */
PG_FUNCTION_INFO_V1(engram_write_memory_mark_consolidated);
Datum
engram_write_memory_mark_consolidated(PG_FUNCTION_ARGS)
{
	bool		isnull;

	require_args(fcinfo, 2);
	PG_RETURN_DATUM(primitive_write(fcinfo, 2, InvalidOid,
									"UPDATE %1$s.memory m"
									" SET metadata = m.metadata || jsonb_build_object('consolidated_into', $2)"
									" WHERE m.id = ANY ($1)"
									" AND " PERMITTED("m.space", "$3"), &isnull));
}

/*
 * engram._association_upsert(a bigint[], b bigint[], weight real[]) RETURNS bigint
 *
 * Links (least, greatest) with their weights; an existing link gets the new
 * weight.  Every pair must join two memories in spaces the caller may
 * write, else nothing is written and the error is insufficient_privilege.
 */
PG_FUNCTION_INFO_V1(engram_write_association_upsert);
Datum
engram_write_association_upsert(PG_FUNCTION_ARGS)
{
	bool		isnull;
	int64		n;
	int			want;
	ArrayType  *a;

	require_args(fcinfo, 3);
	a = PG_GETARG_ARRAYTYPE_P(0);
	want = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	n = DatumGetInt64(primitive_write(fcinfo, 3, InvalidOid,
									  "INSERT INTO %1$s.association AS x (src, dst, weight)"
									  " SELECT least(u.a, u.b), greatest(u.a, u.b), u.w"
									  " FROM unnest($1, $2, $3) AS u(a, b, w)"
									  " WHERE $4 IS NULL"
									  " OR (EXISTS (SELECT 1 FROM %1$s.memory m WHERE m.id = u.a AND " PERMITTED("m.space", "$4") ")"
									  " AND EXISTS (SELECT 1 FROM %1$s.memory m WHERE m.id = u.b AND " PERMITTED("m.space", "$4") "))"
									  " ON CONFLICT (src, dst) DO UPDATE SET weight = EXCLUDED.weight", &isnull));
	if (n != want)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to associate memories outside the spaces granted to role \"%s\"",
						GetUserNameFromId(GetUserId(), false)),
				 errhint("Associate memories returned by engram.remember or engram.recall.")));
	PG_RETURN_INT64(n);
}
