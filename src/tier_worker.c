/*-------------------------------------------------------------------------
 *
 * tier_worker.c
 *	  Background worker that runs migration passes.
 *
 * Registered only when engram is in shared_preload_libraries.  Every
 * engram.migrate_naptime it connects to engram.migrate_database, lists the
 * engram tables there and runs one policy pass over each, each in its own
 * transaction (errors are logged and the next table is tried).  On a hot
 * standby it only sleeps: migration writes pages.  Without preloading,
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
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "engram_am.h"
#include "memory_features.h"
#include "tier.h"

PGDLLEXPORT void tier_worker_main(Datum arg);

void
tier_worker_register(void)
{
	BackgroundWorker bgw;

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

static void
tier_worker_table(Oid relid)
{
	Relation	rel;
	TierPassResult res;

	/* skip a table VACUUM or another pass is busy with */
	if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
		return;
	rel = try_table_open(relid, NoLock);
	if (rel == NULL)
	{
		UnlockRelationOid(relid, ShareUpdateExclusiveLock);
		return;
	}
	if (engram_is_engram_rel(rel))
	{
		tier_migrate_pass(rel, -1,
						  tier_migrate_batch < 0 ? -1 : (int64) tier_migrate_batch * 1024,
						  &res);
		elog(DEBUG1, "engram: migration pass over \"%s\": %lld first seen, %u chunk pages reclaimed",
			 RelationGetRelationName(rel), (long long) res.stamped, res.swept);
	}
	table_close(rel, ShareUpdateExclusiveLock);
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
					MemoryContextSwitchTo(oldcxt);
					EmitErrorReport();
					FlushErrorState();
					AbortCurrentTransaction();
				}
				PG_END_TRY();
				pgstat_report_activity(STATE_IDLE, NULL);
			}
		}
	}
}
