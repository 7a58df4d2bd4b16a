/*-------------------------------------------------------------------------
 *
 * shard_route.c
 *	  engram sharding: the round trip from a coordinator to a shard, and a
 *	  shard's adoption of a placed space.
 *
 * Tenants authenticate on the coordinator; the coordinator's
 * engram.space_grant is authoritative.  A shard trusts one login, its
 * service role (engram.shard_init), which the coordinator reaches through
 * a postgres_fdw foreign server and the user mapping of the owner of
 * engram.memory.  Tenants hold no USAGE on that server, so they cannot use
 * the mapping themselves (dblink and postgres_fdw check it).
 *
 * engram._shard_call(shard, op, args) is an ordinary (SECURITY INVOKER) C
 * function, so it knows its caller.  Through memory_run_as_owner() it
 * reads the spaces granted to the caller, switches to the owner, and runs
 * ONE fixed statement: dblink to the server "engram_shard_<shard>"
 * calling engram._shard_serve(op, args || {"allowed": <those spaces>}) on
 * the shard.  op and args reach the shard as quoted literals (format %L);
 * the "allowed" key is always the coordinator's own (jsonb || lets the
 * right operand win), so no caller can widen it.  _shard_serve runs there
 * as the service role, refuses any space not in "allowed" and acts on
 * memories of allowed spaces only.  The rows come back as one jsonb array.
 *
 * engram._shard_adopt(space, dims), on a shard, creates the space when
 * missing and grants it to the service role, as the owner of
 * engram.memory; the statement runs only when the caller has the
 * privileges of the service role recorded by engram.shard_init.
 *
 * engram._move_apply(space, payload), on a shard, applies one step of
 * engram.move_space to a space (insert copied rows with their ids and
 * access history, drop or purge rows, replace its associations) as the
 * owner, for the service role only and on a space granted to it.
 *
 * IDENTIFICATION
 *	  src/shard_route.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "memory.h"
#include "shard.h"

PG_FUNCTION_INFO_V1(engram_write_shard_call);
PG_FUNCTION_INFO_V1(engram_write_shard_adopt);
PG_FUNCTION_INFO_V1(engram_write_move_apply);

/* quoted schema of an installed extension; errors when it is missing */
static char *
required_extension_schema(const char *extname)
{
	Oid			extoid = get_extension_oid(extname, true);
	Oid			nspoid = InvalidOid;
	char	   *nsp;

	if (OidIsValid(extoid))
	{
		/* get_extension_schema() is static in PostgreSQL 15 */
		Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(extoid));
		scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
			nspoid = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	if (!OidIsValid(nspoid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("routing to shards needs the %s extension", extname),
				 errhint("Run CREATE EXTENSION %s on the coordinator.", extname)));
	nsp = get_namespace_name(nspoid);
	if (nsp == NULL)
		elog(ERROR, "could not find the schema of extension %s", extname);
	return (char *) quote_identifier(nsp);
}

/*
 * engram._shard_call(shard text, op text, args jsonb) RETURNS jsonb[]
 *
 * The statement's parameters: $1 the foreign server's name, $2 op, $3 args,
 * $4 the caller's spaces (appended by memory_run_as_owner; NULL for a role
 * that bypasses row-level security).  %1$s is engram's schema, the same on
 * every node.  A lost connection fails with dblink's SQLSTATE (class 08),
 * which the SQL wrapper engram._shard_rpc turns into an error naming the
 * shard.
 */
Datum
engram_write_shard_call(PG_FUNCTION_ARGS)
{
	const char *dblink_schema;
	char	   *sqlfmt;
	char	   *shard;
	Oid			types[3] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	Datum		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("shard, op and args must not be NULL")));
	/*
	 * args must be an object: jsonb || on an array or scalar concatenates
	 * arrays, and the shard would find no "allowed" key in the result
	 */
	if (!JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(2)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shard call arguments must be a JSON object")));
	shard = text_to_cstring(PG_GETARG_TEXT_PP(0));
	dblink_schema = required_extension_schema("dblink");

	/*
	 * psprintf here leaves %1$s (engram's schema) and %%L (format()'s
	 * literal) for memory_run_as_owner's psprintf.
	 */
	sqlfmt = psprintf("SELECT pg_catalog.array_agg(r.j ORDER BY r.n)"
					  " FROM %s.dblink($1, pg_catalog.format("
					  "'SELECT s.j, s.n FROM %%1$s._shard_serve(%%%%L, %%%%L::pg_catalog.jsonb)"
					  " WITH ORDINALITY AS s(j, n)',"
					  " $2, $3 OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('allowed', $4)))"
					  " AS r(j pg_catalog.jsonb, n pg_catalog.int8)",
					  dblink_schema);
	values[0] = CStringGetTextDatum(psprintf("engram_shard_%s", shard));
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	result = memory_run_as_owner(InvalidOid, sqlfmt, 3, types, values, nulls,
								 JSONBARRAYOID, "a call to a shard", &isnull);
	if (isnull)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(JSONBOID));
	PG_RETURN_DATUM(result);
}

/*
 * engram._shard_adopt(space text, dims int4) RETURNS void, on a shard:
 * engram._shard_adopt_as_owner(space, dims) as the owner, only for a caller
 * with the privileges of the service role of engram.shard_self ($3).
 */
static const char shard_adopt_sql[] =
	"SELECT %1$s._shard_adopt_as_owner($1, $2)"
	" FROM %1$s.shard_self s"
	" WHERE s.service_role IS NOT NULL"
	" AND pg_catalog.pg_has_role($3, s.service_role::pg_catalog.oid, 'USAGE')";

Datum
engram_write_shard_adopt(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, INT4OID, OIDOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	Datum		n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("space must not be NULL")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	values[2] = ObjectIdGetDatum(GetUserId());
	n = memory_run_as_owner(InvalidOid, shard_adopt_sql, 3, types, values,
							nulls, InvalidOid, "adopting a space", &isnull);
	if (DatumGetInt64(n) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to adopt memory space \"%s\"",
						text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("Only this shard's service role (engram.shard_init) places spaces here.")));
	PG_RETURN_VOID();
}

/*
 * engram._move_apply(space text, payload jsonb) RETURNS int8, on a shard:
 * engram._move_apply_as_owner(space, payload) as the owner, only for a
 * caller with the privileges of the service role ($3) and on a space the
 * caller holds ($4, appended by memory_run_as_owner; NULL: every space).
 */
static const char move_apply_sql[] =
	"SELECT %1$s._move_apply_as_owner($1, $2)"
	" FROM %1$s.shard_self s"
	" WHERE s.service_role IS NOT NULL"
	" AND pg_catalog.pg_has_role($3, s.service_role::pg_catalog.oid, 'USAGE')"
	" AND ($4 IS NULL OR $1 OPERATOR(pg_catalog.=) ANY ($4))";

Datum
engram_write_move_apply(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, JSONBOID, OIDOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	Datum		n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("space and payload must not be NULL")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = ObjectIdGetDatum(GetUserId());
	n = memory_run_as_owner(InvalidOid, move_apply_sql, 3, types, values,
							nulls, INT8OID, "moving a space", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to move memory space \"%s\"",
						text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("Only this shard's service role (engram.shard_init) moves spaces here, for a coordinator's engram.move_space.")));
	PG_RETURN_DATUM(n);
}
