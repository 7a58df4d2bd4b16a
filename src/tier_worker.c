/*-------------------------------------------------------------------------
 *
 * tier_worker.c
 *	  Background workers that run migration and memory passes in every
 *	  database that has engram, and their state.
 *
 * Registered only when engram is in shared_preload_libraries.  A launcher
 * ("engram tier launcher", no database) wakes every engram.migrate_naptime
 * (and every engram.expire_naptime), lists the databases from pg_database
 * (connectable, not templates, not half-dropped; only
 * engram.migrate_database when that is set) and starts, for one database
 * after the other, a dynamic worker ("engram tier migration") connected to
 * it, waiting for each to finish before the next.  The worker looks for the
 * extension; in a database without it, it exits at once, having changed
 * nothing.  So a database created, or given CREATE EXTENSION engram, after
 * start is served from the next round on, a DROP EXTENSION stops it, and
 * a reload changes every GUC below for the next round (the launcher rereads
 * the naptimes at once).  No worker stays connected to a database between
 * passes, so CREATE DATABASE ... TEMPLATE and DROP DATABASE are not blocked
 * by an idle worker (DROP DATABASE waits, as for any session, while a pass
 * runs there) (issue 24 item 5).
 *
 * A worker lists the engram tables of its database and runs one slice of a
 * policy pass over each, each in its own transaction (errors are counted,
 * logged and the next table is tried).  A slice visits at most
 * engram.migrate_pages pages and moves at most engram.migrate_batch of row
 * data, then remembers where it stopped, in shared memory (the workers
 * come and go): the next slice goes on from there, so a large table is
 * covered over several naptimes and no pass rereads what an earlier one
 * covered.  Every change of a slice is decided under one page's exclusive
 * lock (ADR 0010), so a slice holds only AccessShareLock on the table,
 * which does not conflict with VACUUM's ShareUpdateExclusiveLock:
 * autovacuum never skips a table because of the worker.  Only the sweep of
 * 0.1 COLD chunk pages, at the end of a cycle over a table that has any,
 * takes ShareUpdateExclusiveLock, and only if it is free at once.  When the
 * round is also due for it, the worker then runs the memory expiry pass
 * (memory_expire_pass, src/memory_features.c).
 *
 * The state of each database served (last pass, rows and bytes moved,
 * errors) is in shared memory and shown by the view engram.tier_worker, one
 * row per database.  On a hot standby the launcher only sleeps: migration
 * writes pages.  Without preloading, engram.migrate() does the same work on
 * demand.
 *
 * IDENTIFICATION
 *	  src/tier_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
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
PGDLLEXPORT void tier_launcher_main(Datum arg);
PG_FUNCTION_INFO_V1(engram_tier_worker_state);

/* what a round asks of a database's worker (bgw_main_arg) */
#define TIER_DO_MIGRATE		0x01
#define TIER_DO_EXPIRE		0x02

/* databases whose state is kept, and table cursors kept (shared memory) */
#define TIER_MAX_DATABASES	64
#define TIER_MAX_CURSORS	2048

/* one database's worker state (a row of engram.tier_worker) */
typedef struct TierDbState
{
	Oid			dboid;			/* InvalidOid: free slot */
	int			pid;			/* worker running a pass there now, or 0 */
	TimestampTz started;		/* first served since the server started */
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
} TierDbState;

/* where the slices over one table stand, kept across the workers */
typedef struct TierCursorSlot
{
	Oid			dboid;			/* InvalidOid: free slot */
	uint64		used;			/* tier_state->clock at last use */
	TierCursor	cur;
} TierCursorSlot;

typedef struct TierWorkerState
{
	slock_t		mutex;
	int			launcher_pid;	/* 0 when not running */
	uint64		clock;
	TierDbState dbs[TIER_MAX_DATABASES];
	TierCursorSlot cursors[TIER_MAX_CURSORS];
} TierWorkerState;

static TierWorkerState *tier_state = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this worker's slot in tier_state->dbs (under the mutex), or -1 */
static int	my_db_slot = -1;

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
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "tier_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "engram tier launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "engram tier launcher");
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

/*
 * The cursor of table relid of this database, from shared memory; a new
 * one (from block 0) when none is kept.
 */
static void
tier_cursor_get(Oid relid, TierCursor *cur)
{
	int			i;

	memset(cur, 0, sizeof(TierCursor));
	cur->relid = relid;
	SpinLockAcquire(&tier_state->mutex);
	for (i = 0; i < TIER_MAX_CURSORS; i++)
	{
		TierCursorSlot *slot = &tier_state->cursors[i];

		if (slot->dboid == MyDatabaseId && slot->cur.relid == relid)
		{
			*cur = slot->cur;
			slot->used = ++tier_state->clock;
			break;
		}
	}
	SpinLockRelease(&tier_state->mutex);
}

/*
 * Keep cur in shared memory: in its slot, else a free one, else the one
 * least recently used (that table's next slice then starts at block 0,
 * which is correct, only not incremental).
 */
static void
tier_cursor_put(const TierCursor *cur)
{
	int			i;
	int			victim = -1;

	SpinLockAcquire(&tier_state->mutex);
	for (i = 0; i < TIER_MAX_CURSORS; i++)
	{
		TierCursorSlot *slot = &tier_state->cursors[i];

		if (slot->dboid == MyDatabaseId && slot->cur.relid == cur->relid)
		{
			victim = i;
			break;
		}
		if (!OidIsValid(slot->dboid))
		{
			if (victim < 0 || OidIsValid(tier_state->cursors[victim].dboid))
				victim = i;
		}
		else if (victim < 0 ||
				 (OidIsValid(tier_state->cursors[victim].dboid) &&
				  slot->used < tier_state->cursors[victim].used))
			victim = i;
	}
	tier_state->cursors[victim].dboid = MyDatabaseId;
	tier_state->cursors[victim].cur = *cur;
	tier_state->cursors[victim].used = ++tier_state->clock;
	SpinLockRelease(&tier_state->mutex);
}

static void
tier_worker_table(Oid relid)
{
	Relation	rel;
	TierPassResult res;
	TierCursor	cur;
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
	tier_cursor_get(relid, &cur);
	cycle_done = tier_migrate_slice(rel,
									&cur,
									tier_migrate_batch < 0 ? -1 : (int64) tier_migrate_batch * 1024,
									(BlockNumber) tier_migrate_pages, &res);
	if (cycle_done && cur.chunk_pages &&
		ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
	{
		res.swept += tier_sweep_chunks(rel);
		UnlockRelationOid(relid, ShareUpdateExclusiveLock);
	}
	tier_cursor_put(&cur);
	for (f = 0; f < ENGRAM_NUM_TIERS; f++)
		for (t = 0; t < ENGRAM_NUM_TIERS; t++)
		{
			rows += res.rows[f][t];
			bytes += res.bytes[f][t];
		}
	SpinLockAcquire(&tier_state->mutex);
	if (my_db_slot >= 0)
	{
		TierDbState *db = &tier_state->dbs[my_db_slot];

		db->tables++;
		db->pages += res.pages;
		db->rows_moved += rows;
		db->bytes_moved += bytes;
		db->stamped += res.stamped;
		db->chunks_reclaimed += res.swept;
	}
	SpinLockRelease(&tier_state->mutex);
	table_close(rel, AccessShareLock);
}

/* count an error of a table's slice in the shared state */
static void
tier_worker_error(ErrorData *edata)
{
	SpinLockAcquire(&tier_state->mutex);
	if (my_db_slot >= 0)
	{
		TierDbState *db = &tier_state->dbs[my_db_slot];

		db->errors++;
		db->last_error_time = GetCurrentTimestamp();
		strlcpy(db->last_error, edata->message ? edata->message : "?",
				sizeof(db->last_error));
	}
	SpinLockRelease(&tier_state->mutex);
}

/*
 * Claim this database's slot in the shared state: its own, else a free
 * one, else the one whose last pass is oldest (a database that lost engram
 * or was dropped long ago).
 */
static void
tier_worker_claim_slot(void)
{
	int			i;
	int			victim = -1;

	SpinLockAcquire(&tier_state->mutex);
	for (i = 0; i < TIER_MAX_DATABASES; i++)
	{
		TierDbState *db = &tier_state->dbs[i];

		if (db->dboid == MyDatabaseId)
		{
			victim = i;
			break;
		}
		if (!OidIsValid(db->dboid))
		{
			if (victim < 0 || OidIsValid(tier_state->dbs[victim].dboid))
				victim = i;
		}
		else if (victim < 0 ||
				 (OidIsValid(tier_state->dbs[victim].dboid) &&
				  db->pid == 0 &&
				  db->last_pass_end < tier_state->dbs[victim].last_pass_end))
			victim = i;
	}
	if (tier_state->dbs[victim].dboid != MyDatabaseId)
	{
		memset(&tier_state->dbs[victim], 0, sizeof(TierDbState));
		tier_state->dbs[victim].dboid = MyDatabaseId;
		tier_state->dbs[victim].started = GetCurrentTimestamp();
	}
	tier_state->dbs[victim].pid = MyProcPid;
	tier_state->dbs[victim].last_pass_start = GetCurrentTimestamp();
	my_db_slot = victim;
	SpinLockRelease(&tier_state->mutex);
}

/* this database no longer has engram: forget its state and cursors */
static void
tier_worker_forget_database(void)
{
	int			i;

	SpinLockAcquire(&tier_state->mutex);
	for (i = 0; i < TIER_MAX_DATABASES; i++)
		if (tier_state->dbs[i].dboid == MyDatabaseId && tier_state->dbs[i].pid == 0)
			memset(&tier_state->dbs[i], 0, sizeof(TierDbState));
	for (i = 0; i < TIER_MAX_CURSORS; i++)
		if (tier_state->cursors[i].dboid == MyDatabaseId)
			memset(&tier_state->cursors[i], 0, sizeof(TierCursorSlot));
	SpinLockRelease(&tier_state->mutex);
}

static void
tier_worker_exit(int code, Datum arg)
{
	SpinLockAcquire(&tier_state->mutex);
	if (my_db_slot >= 0 && tier_state->dbs[my_db_slot].pid == MyProcPid)
		tier_state->dbs[my_db_slot].pid = 0;
	SpinLockRelease(&tier_state->mutex);
}

/*
 * A database's worker: one round's work in the database given in
 * bgw_extra, then exit.  Nothing at all where engram is not installed.
 */
void
tier_worker_main(Datum arg)
{
	int			todo = DatumGetInt32(arg);
	Oid			dboid;
	bool		has_engram;
	MemoryContext worker_cxt;
	List	   *tables;
	ListCell   *lc;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (tier_state == NULL)
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("engram tier migration");

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	has_engram = OidIsValid(get_extension_oid("engram", true));
	CommitTransactionCommand();
	if (!has_engram || RecoveryInProgress())
	{
		if (!has_engram)
			tier_worker_forget_database();
		proc_exit(0);
	}

	on_shmem_exit(tier_worker_exit, (Datum) 0);
	tier_worker_claim_slot();

	if (todo & TIER_DO_MIGRATE)
	{
		/* the table list must outlive the transaction that reads it */
		worker_cxt = AllocSetContextCreate(TopMemoryContext, "engram tier worker",
										   ALLOCSET_DEFAULT_SIZES);
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
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
		SpinLockAcquire(&tier_state->mutex);
		tier_state->dbs[my_db_slot].passes++;
		SpinLockRelease(&tier_state->mutex);
	}

	/* memory expiry, every engram.expire_naptime (src/memory_features.c) */
	if (todo & TIER_DO_EXPIRE)
		memory_expire_pass();

	SpinLockAcquire(&tier_state->mutex);
	tier_state->dbs[my_db_slot].last_pass_end = GetCurrentTimestamp();
	SpinLockRelease(&tier_state->mutex);
	proc_exit(0);
}

/* the databases to visit: connectable, not templates, not half-dropped */
static List *
tier_launcher_databases(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database d = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!d->datallowconn || d->datistemplate)
			continue;
#ifdef DATCONNLIMIT_INVALID_DB
		if (database_is_invalid_form(d))	/* interrupted DROP DATABASE */
			continue;
#endif
		if (tier_migrate_database != NULL && tier_migrate_database[0] != '\0' &&
			strcmp(NameStr(d->datname), tier_migrate_database) != 0)
			continue;
		old = MemoryContextSwitchTo(outer);
		dbs = lappend_oid(dbs, d->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/* run one database's worker and wait for it; false when none could start */
static bool
tier_launcher_run(Oid dboid, int todo)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "engram");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "tier_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "engram tier migration for database %u", dboid);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "engram tier migration");
	bgw.bgw_main_arg = Int32GetDatum(todo);
	memcpy(bgw.bgw_extra, &dboid, sizeof(Oid));
	bgw.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("engram: no background worker slot free for the tier migration of database %u", dboid),
				 errhint("Raise max_worker_processes; the next round tries again.")));
		return false;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
	{
		pfree(handle);
		return true;
	}
	(void) WaitForBackgroundWorkerShutdown(handle);
	pfree(handle);
	return true;
}

static void
tier_launcher_exit(int code, Datum arg)
{
	SpinLockAcquire(&tier_state->mutex);
	tier_state->launcher_pid = 0;
	SpinLockRelease(&tier_state->mutex);
}

/*
 * The launcher: every engram.migrate_naptime (and engram.expire_naptime),
 * one round over the databases, each served by a worker of its own in turn.
 */
void
tier_launcher_main(Datum arg)
{
	TimestampTz next_run;
	TimestampTz next_expire;
	MemoryContext round_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (tier_state == NULL)
		proc_exit(0);

	/* no database: shared catalogs (pg_database) only */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("engram tier launcher");
	SpinLockAcquire(&tier_state->mutex);
	tier_state->launcher_pid = MyProcPid;
	SpinLockRelease(&tier_state->mutex);
	on_shmem_exit(tier_launcher_exit, (Datum) 0);
	round_cxt = AllocSetContextCreate(TopMemoryContext, "engram tier launcher",
									  ALLOCSET_DEFAULT_SIZES);

	/* the first pass comes one naptime after start, like every later one */
	next_run = GetCurrentTimestamp() + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC;
	next_expire = memory_expire_next(GetCurrentTimestamp());
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		int			todo = 0;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a shorter naptime takes effect at once */
			next_run = Min(next_run, now + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC);
			next_expire = Min(next_expire, memory_expire_next(now));
		}
		if (now >= next_run)
		{
			todo |= TIER_DO_MIGRATE;
			next_run = now + (TimestampTz) tier_migrate_naptime * USECS_PER_SEC;
		}
		if (now >= next_expire)
		{
			todo |= TIER_DO_EXPIRE;
			next_expire = memory_expire_next(now);
		}
		if (todo != 0 && !RecoveryInProgress())
		{
			List	   *dbs;
			ListCell   *lc;

			MemoryContextReset(round_cxt);
			MemoryContextSwitchTo(round_cxt);
			dbs = tier_launcher_databases();
			foreach(lc, dbs)
			{
				CHECK_FOR_INTERRUPTS();
				if (!tier_launcher_run(lfirst_oid(lc), todo))
					break;
			}
			MemoryContextSwitchTo(TopMemoryContext);
			continue;			/* look at the clock again */
		}
		{
			long		ms = (long) Min((Min(next_run, next_expire) - now) / 1000 + 1, 3600 * 1000L);

			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}

/*
 * engram.tier_worker_state(): one row per database the workers serve
 * (engram found there since the server started); none when engram is not
 * in shared_preload_libraries (no worker, no shared memory).
 */
Datum
engram_tier_worker_state(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TierDbState *dbs;
	int			launcher_pid;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (tier_state == NULL)
		return (Datum) 0;
	dbs = palloc(sizeof(TierDbState) * TIER_MAX_DATABASES);
	SpinLockAcquire(&tier_state->mutex);
	memcpy(dbs, tier_state->dbs, sizeof(TierDbState) * TIER_MAX_DATABASES);
	launcher_pid = tier_state->launcher_pid;
	SpinLockRelease(&tier_state->mutex);

	for (i = 0; i < TIER_MAX_DATABASES; i++)
	{
		TierDbState *st = &dbs[i];
		Datum		values[15];
		bool		nulls[15];
		char	   *dbname;

		if (!OidIsValid(st->dboid))
			continue;
		dbname = get_database_name(st->dboid);
		if (dbname == NULL)
			continue;			/* dropped */
		memset(nulls, 0, sizeof(nulls));
		/* served: the launcher runs (a pass may or may not run there now) */
		values[0] = BoolGetDatum(launcher_pid != 0);
		if (st->pid != 0)
			values[1] = Int32GetDatum(st->pid);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(dbname);
#define TS(i, v) do { if ((v) != 0) values[i] = TimestampTzGetDatum(v); else nulls[i] = true; } while (0)
		TS(3, st->started);
		TS(4, st->last_pass_start);
		TS(5, st->last_pass_end);
		values[6] = Int64GetDatum(st->passes);
		values[7] = Int64GetDatum(st->tables);
		values[8] = Int64GetDatum(st->pages);
		values[9] = Int64GetDatum(st->rows_moved);
		values[10] = Int64GetDatum(st->bytes_moved);
		values[11] = Int64GetDatum(st->chunks_reclaimed);
		values[12] = Int64GetDatum(st->errors);
		TS(13, st->last_error_time);
#undef TS
		if (st->errors > 0)
			values[14] = CStringGetTextDatum(st->last_error);
		else
			nulls[14] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
