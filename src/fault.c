/*-------------------------------------------------------------------------
 *
 * fault.c
 *	  Named fault points for crash tests (see fault.h).
 *
 * IDENTIFICATION
 *	  src/fault.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"

#include "engram.h"
#include "fault.h"

#define FAULT_PANIC		0
#define FAULT_SIGKILL	1
#define FAULT_ERROR		2
#define FAULT_WAIT		3

/*
 * 'wait': the session waits for the session-level advisory lock
 * FAULT_WAIT_KEY, which a test holds, and then goes on (isolation specs
 * use it to stop a backend at a fault point: the wait shows as a lock wait).
 */
#define FAULT_WAIT_KEY	INT64CONST(7411)

static const struct config_enum_entry fault_action_options[] = {
	{"panic", FAULT_PANIC, false},
	{"sigkill", FAULT_SIGKILL, false},
	{"error", FAULT_ERROR, false},
	{"wait", FAULT_WAIT, false},
	{NULL, 0, false}
};

bool		fault_armed = false;
static char *fault_point = NULL;
static int	fault_action = FAULT_PANIC;
static int	fault_skip = 0;
static int	fault_hits = 0;

static void
fault_point_assign(const char *newval, void *extra)
{
	fault_armed = (newval != NULL && newval[0] != '\0');
	fault_hits = 0;
}

void
fault_init(void)
{
	DefineCustomStringVariable("engram.fault_point",
							   "Name of the fault point at which this session dies (crash tests only).",
							   "Empty disables fault injection. See docs/test-plan.md for the list.",
							   &fault_point,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   NULL, fault_point_assign, NULL);
	DefineCustomEnumVariable("engram.fault_action",
							 "What an armed fault point does: panic, sigkill, error or wait.",
							 NULL,
							 &fault_action,
							 FAULT_PANIC,
							 fault_action_options,
							 PGC_SUSET,
							 GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("engram.fault_skip",
							"Number of hits of the armed fault point to let pass before it fires.",
							NULL,
							&fault_skip,
							0, 0, INT_MAX,
							PGC_SUSET,
							GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
}

/* Called only when a fault point is armed: does this one fire? */
void
fault_hit(const char *name)
{
	if (strcmp(name, fault_point) != 0)
		return;
	if (fault_hits++ < fault_skip)
		return;

	switch (fault_action)
	{
		case FAULT_SIGKILL:
			/* no cleanup at all, as if the OOM killer struck */
			kill(getpid(), SIGKILL);
			pg_usleep(10 * 1000000L);
			break;
		case FAULT_WAIT:
			(void) DirectFunctionCall1(pg_advisory_lock_int8, Int64GetDatum(FAULT_WAIT_KEY));
			(void) DirectFunctionCall1(pg_advisory_unlock_int8, Int64GetDatum(FAULT_WAIT_KEY));
			return;
		case FAULT_ERROR:
			fault_armed = false;
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("engram fault point \"%s\" reached", name)));
			break;
		default:
			break;
	}
	elog(PANIC, "engram fault point \"%s\" reached", name);
}
