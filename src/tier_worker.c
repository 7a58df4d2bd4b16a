/*-------------------------------------------------------------------------
 *
 * tier_worker.c
 *	  Background worker that runs migration passes, and its state.
 *
 * Registered only when engram is in shared_preload_libraries.  Every
 * engram.migrate_naptime it connects to engram.migrate_database, lists the
 * engram tables there and runs one slice of a policy pass over each, each
 * in its own transaction (errors are counted, logged and the next table is
 * tried).  A slice visits at most engram.migrate_pages pages and moves at
 * most engram.migrate_batch of row data, then remembers where it stopped:
 * the next slice goes on from there, so a large table is covered over
 * several naptimes and no pass rereads what an earlier one covered (issue
 * 24 item 5).  Every change of a slice is decided under one page's
 * exclusive lock (ADR 0010), so a slice holds only AccessShareLock on the
 * table, which does not conflict with VACUUM's ShareUpdateExclusiveLock:
 * autovacuum never skips a table because of the worker.  Only the sweep of
 * 0.1 COLD chunk pages, at the end of a cycle over a table that has any,
 * takes ShareUpdateExclusiveLock, and only if it is free at once.
 *
 * The worker's state (last pass, rows and bytes moved, errors) is in shared
 * memory and shown by the view engram.tier_worker.  On a hot standby the
 * worker only sleeps: migration writes pages.  Without preloading,
 * engram.migrate() does the same work on demand.  Every
 * engram.expire_naptime it also runs the memory expiry pass
 * (memory_expire_pass, src/memory_features.c).
 *
 * IDENTIFICATION
 *	  src/tier_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "engram_am.h"
#include "memory.h"
#include "tier.h"

PGDLLEXPORT void tier_worker_main(Datum arg);
PG_FUNCTION_INFO_V1(engram_tier_worker_state);

/* the worker's state, in shared memory (engram.tier_worker) */
typedef struct TierWorkerState
{
	slock_t		mutex;
	int			pid;			/* 0 when not running */
	Oid			dboid;
	TimestampTz started;
	TimestampTz last_pass_start;
	TimestampTz last_pass_end;
	int64		passes;
	int64		tables;			/* table slices run */
	int64		pages;
	int64		rows_moved;
	int64		bytes_moved;
	int64		stamped;
	int64		chunks_reclaimed;
	int64		errors;
	TimestampTz last_error_time;
	char		last_error[256];
} TierWorkerState;

static TierWorkerState *tier_state = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
tier_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(TierWorkerState)));
}

static void
tier_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tier_state = ShmemInitStruct("engram tier worker", sizeof(TierWorkerState), &found);
	if (!found)
	{
		memset(tier_state, 0, sizeof(TierWorkerState));
		SpinLockInit(&tier_state->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
tier_worker_register(void)
{
	BackgroundWorker bgw;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = tier_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = tier_shmem_startup;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 60;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "engram");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "tier_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "engram tier migration");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "engram tier migration");
	RegisterBackgroundWorker(&bgw);
}

/* OIDs of the engram tables of this database */
static List *
tier_worker_tables(MemoryContext outer)
{
	List	   *oids = NIL;
	int			ret;
	uint64		i;

	SPI_connect();
	/*
	 * The worker is a superuser: operators qualified, so that no schema on
	 * the database's default search_path can supply one.
	 */
	ret = SPI_execute("SELECT c.oid FROM pg_catalog.pg_class c "
					  "JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam "
					  "WHERE a.amname OPERATOR(pg_catalog.=) 'engram' "
					  "AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}'::pg_catalog.\"char\"[]) "
					  "AND c.relpersistence OPERATOR(pg_catalog.<>) 't' ORDER BY c.oid",
					  true, 0);
	if (ret == SPI_OK_SELECT)
	{
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
			{
				MemoryContext old = MemoryContextSwitchTo(outer);

				oids = lappend_oid(oids, DatumGetObjectId(d));
				MemoryContextSwitchTo(old);
			}
		}
	}
	SPI_finish();
	return oids;
}

/* where the slices over each table stand (worker-local, kept across passes) */
static TierCursor *cursors = NULL;
static int	ncursors = 0;
static int	maxcursors = 0;
static MemoryContext cursor_cxt = NULL;

static TierCursor *
tier_cursor(Oid relid)
{
	int			i;

	for (i = 0; i < ncursors; i++)
		if (cursors[i].relid == relid)
			return &cursors[i];
	if (ncursors == maxcursors)
	{
		MemoryContext old = MemoryContextSwitchTo(cursor_cxt);

		maxcursors = maxcursors ? maxcursors * 2 : 16;
		cursors = cursors ? repalloc(cursors, sizeof(TierCursor) * maxcursors) :
			palloc(sizeof(TierCursor) * maxcursors);
		MemoryContextSwitchTo(old);
	}
	memset(&cursors[ncursors], 0, sizeof(TierCursor));
	cursors[ncursors].relid = relid;
	return &cursors[ncursors++];
}

static void
tier_worker_table(Oid relid)
{
	Relation	rel;
	TierPassResult res;
	TierCursor *cur = tier_cursor(relid);
	int64		rows = 0;
	int64		bytes = 0;
	bool		cycle_done;
	int			f;
	int			t;

	/* AccessShareLock: never in the way of VACUUM (see the file header) */
	if (!ConditionalLockRelationOid(relid, AccessShareLock))
		return;
	rel = try_table_open(relid, NoLock);
	if (rel == NULL)
	{
		UnlockRelationOid(relid, AccessShareLock);
		return;
	}
	if (!engram_is_engram_rel(rel))
	{
		table_close(rel, AccessShareLock);
		return;
	}
	cycle_done = tier_migrate_slice(rel,
									cur,
									tier_migrate_batch < 0 ? -1 : (int64) tier_migrate_batch * 1024,
									(BlockNumber) tier_migrate_pages, &res);
	if (cycle_done && cur->chunk_pages &&
		ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
	{
		res.swept += tier_sweep_chunks(rel);
		UnlockRelationOid(relid, ShareUpdateExclusiveLock);
	}
	for (f = 0; f < ENGRAM_NUM_TIERS; f++)
		for (t = 0; t < ENGRAM_NUM_TIERS; t++)
		{
			rows += res.rows[f][t];
			bytes += res.bytes[f][t];
		}
	if (tier_state)
	{
		SpinLockAcquire(&tier_state->mutex);
		tier_state->tables++;
		tier_state->pages += res.pages;
		tier_state->rows_moved += rows;
		tier_state->bytes_moved += bytes;
		tier_state->stamped += res.stamped;
		tier_state->chunks_reclaimed += res.swept;
		SpinLockRelease(&tier_state->mutex);
	}
	table_close(rel, AccessShareLock);
}

/* count an error of a table's slice in the shared state */
static void
tier_worker_error(ErrorData *edata)
{
	if (tier_state == NULL)
		return;
	SpinLockAcquire(&tier_state->mutex);
	tier_state->errors++;
	tier_state->last_error_time = GetCurrentTimestamp();
	strlcpy(tier_state->last_error, edata->message ? edata->message : "?",
			sizeof(tier_state->last_error));
	SpinLockRelease(&tier_state->mutex);
}

static void
tier_worker_exit(int code, Datum arg)
{
	if (tier_state)
	{
		SpinLockAcquire(&tier_state->mutex);
		tier_state->pid = 0;
		SpinLockRelease(&tier_state->mutex);
	}
}

void
tier_worker_main(Datum arg)
{
	MemoryContext worker_cxt;
	TimestampTz next_run;
	TimestampTz next_expire;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(tier_migrate_database, NULL, 0);
	pgstat_report_appname("engram tier migration");
	cursor_cxt = AllocSetContextCreate(TopMemoryContext, "engram tier worker cursors",
									   ALLOCSET_SMALL_SIZES);
	if (tier_state)
	{
		SpinLockAcquire(&tier_state->mutex);
		tier_state->pid = MyProcPid;
		tier_state->dboid = MyDatabaseId;
		tier_state->started = GetCurrentTimestamp();
		SpinLockRelease(&tier_state->mutex);
	}
	on_shmem_exit(tier_worker_exit, (Datum) 0);
	/* the table list must outlive the transaction that reads it */
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "engram tier worker",
									   ALLOCSET_DEFAULT_SIZES);

	/* the first pass comes one naptime after start, like every later one */
	next_run = GetCurrentTimestamp() + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC;
	next_expire = memory_expire_next(GetCurrentTimestamp());
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();

		/* memory expiry, every engram.expire_naptime (src/memory_features.c) */
		if (now >= next_expire)
		{
			if (!RecoveryInProgress())
				memory_expire_pass();
			next_expire = memory_expire_next(GetCurrentTimestamp());
		}
		if (now < next_run)
		{
			long		ms = (long) Min((Min(next_run, next_expire) - now) / 1000 + 1, 3600 * 1000L);

			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
				/* a shorter naptime takes effect at once */
				next_run = Min(next_run, now + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC);
				next_expire = Min(next_expire, memory_expire_next(now));
			}
			continue;
		}
		next_run = now + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC;

		if (RecoveryInProgress())
			continue;

		{
			List	   *tables;
			ListCell   *lc;

			if (tier_state)
			{
				SpinLockAcquire(&tier_state->mutex);
				tier_state->last_pass_start = GetCurrentTimestamp();
				SpinLockRelease(&tier_state->mutex);
			}
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			MemoryContextReset(worker_cxt);
			tables = tier_worker_tables(worker_cxt);
			PopActiveSnapshot();
			CommitTransactionCommand();

			foreach(lc, tables)
			{
				Oid			relid = lfirst_oid(lc);
				MemoryContext oldcxt = worker_cxt;

				CHECK_FOR_INTERRUPTS();
				PG_TRY();
				{
					SetCurrentStatementStartTimestamp();
					StartTransactionCommand();
					pgstat_report_activity(STATE_RUNNING, "engram tier migration pass");
					tier_worker_table(relid);
					CommitTransactionCommand();
				}
				PG_CATCH();
				{
					ErrorData  *edata;

					MemoryContextSwitchTo(oldcxt);
					edata = CopyErrorData();
					tier_worker_error(edata);
					FreeErrorData(edata);
					EmitErrorReport();
					FlushErrorState();
					AbortCurrentTransaction();
				}
				PG_END_TRY();
				pgstat_report_activity(STATE_IDLE, NULL);
			}
			if (tier_state)
			{
				SpinLockAcquire(&tier_state->mutex);
				tier_state->passes++;
				tier_state->last_pass_end = GetCurrentTimestamp();
				SpinLockRelease(&tier_state->mutex);
			}
		}
	}
}

/*
 * engram.tier_worker_state(): the worker's shared state, one row; none when
 * engram is not in shared_preload_libraries (no worker, no shared memory).
 */
Datum
engram_tier_worker_state(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TierWorkerState st;
	Datum		values[15];
	bool		nulls[15];
	char	   *dbname;

	InitMaterializedSRF(fcinfo, 0);
	if (tier_state == NULL)
		return (Datum) 0;
	SpinLockAcquire(&tier_state->mutex);
	memcpy(&st, tier_state, sizeof(st));
	SpinLockRelease(&tier_state->mutex);

	memset(nulls, 0, sizeof(nulls));
	values[0] = BoolGetDatum(st.pid != 0);
	if (st.pid != 0)
		values[1] = Int32GetDatum(st.pid);
	else
		nulls[1] = true;
	dbname = OidIsValid(st.dboid) ? get_database_name(st.dboid) : NULL;
	if (dbname)
		values[2] = CStringGetTextDatum(dbname);
	else
		nulls[2] = true;
#define TS(i, v) do { if ((v) != 0) values[i] = TimestampTzGetDatum(v); else nulls[i] = true; } while (0)
	TS(3, st.started);
	TS(4, st.last_pass_start);
	TS(5, st.last_pass_end);
	values[6] = Int64GetDatum(st.passes);
	values[7] = Int64GetDatum(st.tables);
	values[8] = Int64GetDatum(st.pages);
	values[9] = Int64GetDatum(st.rows_moved);
	values[10] = Int64GetDatum(st.bytes_moved);
	values[11] = Int64GetDatum(st.chunks_reclaimed);
	values[12] = Int64GetDatum(st.errors);
	TS(13, st.last_error_time);
#undef TS
	if (st.errors > 0)
		values[14] = CStringGetTextDatum(st.last_error);
	else
		nulls[14] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
