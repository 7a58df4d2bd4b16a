/*-------------------------------------------------------------------------
 *
 * memory_access.c
 *	  engram memory API: the single place that asks storage for a memory
 *	  row's access history and tier, and records accesses.
 *
 * Every SQL path (recall, remember's dedup reinforcement, the
 * engram.memories view, engram.access_count/last_access, consolidate's
 * staleness test) goes through the three functions below, via the
 * SQL-callable wrappers engram._access(regclass, tid),
 * engram._record_access(regclass, tid) and engram._tier(regclass, tid).
 *
 * For an engram table they ask the table AM (engram_get_access and
 * engram_record_access in tier_access.c, tier_of_tid in tier_sql.c); a heap
 * table keeps no history (count 0, last unknown, so callers fall back to
 * created_at) and all its rows are 'hot'.
 *
 * Recording an access must never create a row version (recall is a read)
 * and must never write on a hot standby or in a read-only transaction: the
 * check is made here, before storage is asked to record anything.
 *
 * IDENTIFICATION
 *	  src/memory_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "engram_am.h"
#include "memory.h"
#include "tier.h"

/*
 * Access history of the row at tid: number of recorded accesses (not
 * counting the insert) and the time of the last one.  Returns false when
 * storage keeps no history for the row.
 */
bool
memory_access_get(Relation rel, ItemPointer tid, uint32 *count,
				  TimestampTz *last)
{
	if (engram_is_engram_rel(rel))
		return engram_get_access(rel, tid, count, last);
	*count = 0;
	*last = 0;
	return false;
}

/*
 * Record one access of the row at tid, without a new row version.  A no-op
 * on a hot standby and in a read-only transaction.
 */
void
memory_access_record(Relation rel, ItemPointer tid)
{
	if (RecoveryInProgress() || XactReadOnly)
		return;
	engram_record_access(rel, tid);
}

/*
 * Storage tier of the row at tid ('hot', 'warm', 'cold'), or NULL when
 * storage cannot tell (the SQL wrapper then returns NULL).
 */
const char *
memory_tier_get(Relation rel, ItemPointer tid)
{
	if (engram_is_engram_rel(rel))
		return tier_of_tid(rel, tid);
	/* every row of a heap table is 'hot' */
	return "hot";
}

/*
 * The row-visibility check of engram_check_row_visible keeps one prepared
 * plan: recall asks about many rows of the same table in a row, so the
 * query is planned once per table and role (the plan cache replans when
 * the role or the policies change).
 */
static SPIPlanPtr visible_plan = NULL;
static char *visible_query = NULL;

/*
 * Raise an error unless the row at tid is one the current role may SELECT
 * under the table's row-level security policies (and visible to the
 * current snapshot).  A no-op when row-level security does not apply to the
 * role (no policies, table owner, superuser, BYPASSRLS).
 *
 * Without it, the SQL functions that take a (table, tid) pair would read or
 * record the access history and tier of rows the role's policies hide,
 * since SELECT on the table is the only privilege they check.  The check
 * runs the policies themselves: SELECT 1 FROM ONLY rel WHERE ctid = $1.
 */
static void
not_visible_error(Relation rel, ItemPointer tid)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("row %s of table \"%s\" is not visible to the current role",
					DatumGetCString(DirectFunctionCall1(tidout, PointerGetDatum(tid))),
					RelationGetRelationName(rel)),
			 errdetail("Row-level security hides the row, or no row version at that position is visible to the current snapshot."),
			 errhint("Access history and tiers can be read or recorded only for rows the role can SELECT.")));
}

/*
 * Is a version of the row at tid visible to the active snapshot?  What a
 * TID scan (SELECT ... WHERE ctid = $1 without policies) answers: a
 * position past the end of the table or no visible version there is "no".
 */
static bool
row_version_visible(Relation rel, ItemPointer tid)
{
	TupleTableSlot *slot;
	bool		found;

	if (!ItemPointerIsValid(tid) ||
		ItemPointerGetBlockNumber(tid) >= RelationGetNumberOfBlocks(rel))
		return false;
	slot = table_slot_create(rel, NULL);
	found = table_tuple_fetch_row_version(rel, tid, GetActiveSnapshot(), slot);
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

void
engram_check_row_visible(Relation rel, ItemPointer tid)
{
	Oid			relid = RelationGetRelid(rel);
	char	   *query;
	Datum		arg = PointerGetDatum(tid);
	Oid			argtype = TIDOID;
	int			rc;
	bool		found;

	switch (check_enable_rls(relid, InvalidOid, true))
	{
		case RLS_NONE:
			return;
		case RLS_NONE_ENV:

			/*
			 * The role bypasses the policies (table owner, superuser,
			 * BYPASSRLS): the query below would be a plain TID scan, so ask
			 * the table AM directly for the row version visible to the same
			 * snapshot.  Same answer, without an executor start per row
			 * (recall asks about every candidate).
			 */
			if (!row_version_visible(rel, tid))
				not_visible_error(rel, tid);
			return;
		case RLS_ENABLED:
			break;
	}

	query = psprintf("SELECT 1 FROM ONLY %s WHERE ctid OPERATOR(pg_catalog.=) $1",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (visible_plan == NULL || strcmp(visible_query, query) != 0)
	{
		SPIPlanPtr	plan;

		if (visible_plan != NULL)
		{
			SPI_freeplan(visible_plan);
			visible_plan = NULL;
			pfree(visible_query);
			visible_query = NULL;
		}
		plan = SPI_prepare(query, 1, &argtype);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		visible_plan = plan;
		visible_query = MemoryContextStrdup(TopMemoryContext, query);
	}
	rc = SPI_execute_plan(visible_plan, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	SPI_finish();

	if (!found)
		not_visible_error(rel, tid);
}

/*
 * Open rel for one of the SQL wrappers: reading or recording access history
 * is a read of the row, so it needs SELECT on the table and, under
 * row-level security, a row the role's policies let it see.
 */
static Relation
memory_open_checked(Oid relid, ItemPointer tid)
{
	Relation	rel = table_open(relid, AccessShareLock);

	/*
	 * Only tables store rows at TIDs: a view, sequence, foreign or
	 * partitioned table would otherwise get the heap answers (no history,
	 * every "row" hot), which would be silently wrong.
	 */
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW &&
		rel->rd_rel->relkind != RELKIND_TOASTVALUE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("Access history and tiers exist only for rows of tables."),
				 errhint("Pass engram.memory or another table (for a partitioned table, the partition holding the row).")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	engram_check_row_visible(rel, tid);
	return rel;
}

/*
 * engram._access(rel regclass, tid tid, OUT access_count bigint,
 *				  OUT last_access timestamptz)
 */
PG_FUNCTION_INFO_V1(engram_memory_access);
Datum
engram_memory_access(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(1);
	TupleDesc	tupdesc;
	Relation	rel;
	uint32		count;
	TimestampTz last;
	bool		known;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	rel = memory_open_checked(relid, tid);
	known = memory_access_get(rel, tid, &count, &last);
	table_close(rel, AccessShareLock);

	values[0] = Int64GetDatum(known ? (int64) count : 0);
	if (known && last != 0)
		values[1] = TimestampTzGetDatum(last);
	else
		nulls[1] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* engram._record_access(rel regclass, tid tid) RETURNS boolean */
PG_FUNCTION_INFO_V1(engram_memory_record_access);
Datum
engram_memory_record_access(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(1);
	Relation	rel;

	if (RecoveryInProgress() || XactReadOnly)
		PG_RETURN_BOOL(false);
	rel = memory_open_checked(relid, tid);
	memory_access_record(rel, tid);
	table_close(rel, AccessShareLock);
	PG_RETURN_BOOL(true);
}

/*
 * engram._seed_access(rel regclass, tid tid, count bigint, last timestamptz)
 * RETURNS boolean: give the row at tid count more recorded accesses, the
 * last at last (engram.move_space copies a row's history with it).  For
 * the table's owner (EXECUTE is revoked from PUBLIC too).
 */
PG_FUNCTION_INFO_V1(engram_memory_seed_access);
Datum
engram_memory_seed_access(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(1);
	int64		count = PG_GETARG_INT64(2);
	TimestampTz last = PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3);
	Relation	rel;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rel, tid and count must not be NULL")));
	if (count < 0 || count > PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("access count must be between 0 and %u, got " INT64_FORMAT,
						PG_UINT32_MAX, count)));
	if (RecoveryInProgress() || XactReadOnly)
		PG_RETURN_BOOL(false);
	rel = memory_open_checked(relid, tid);
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	if (engram_is_engram_rel(rel))
		engram_seed_access(rel, tid, (uint32) count, last);
	table_close(rel, AccessShareLock);
	PG_RETURN_BOOL(true);
}

/* engram._tier(rel regclass, tid tid) RETURNS text */
PG_FUNCTION_INFO_V1(engram_memory_tier);
Datum
engram_memory_tier(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(1);
	Relation	rel;
	const char *tier;

	rel = memory_open_checked(relid, tid);
	tier = memory_tier_get(rel, tid);
	table_close(rel, AccessShareLock);
	if (tier == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(tier));
}
