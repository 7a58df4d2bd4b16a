/*-------------------------------------------------------------------------
 *
 * engram_am_handler.c
 *	  engram table access method: the TableAmRoutine and its SQL handler.
 *
 * The callbacks live in one file per AM phase (see engram_am.h); this file
 * only wires them together.
 *
 * IDENTIFICATION
 *	  src/engram_am_handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "executor/tuptable.h"
#include "fmgr.h"

#include "engram.h"
#include "engram_am.h"

PG_FUNCTION_INFO_V1(engram_am_handler);

void
engram_am_init(void)
{
	/* the table AM has no settings of its own yet */
}

/* rows are handed out as palloc'd or scan-owned heap-format tuples */
static const TupleTableSlotOps *
engram_slot_callbacks(Relation rel)
{
	return &TTSOpsHeapTuple;
}

static const TableAmRoutine engram_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = engram_slot_callbacks,

	/* scans (engram_am_scan.c) */
	.scan_begin = engram_scan_begin,
	.scan_end = engram_scan_end,
	.scan_rescan = engram_scan_rescan,
	.scan_getnextslot = engram_scan_getnextslot,
	.scan_set_tidrange = engram_scan_set_tidrange,
	.scan_getnextslot_tidrange = engram_scan_getnextslot_tidrange,

	.parallelscan_estimate = table_block_parallelscan_estimate,
	.parallelscan_initialize = engram_parallelscan_initialize,
	.parallelscan_reinitialize = table_block_parallelscan_reinitialize,

	.index_fetch_begin = engram_index_fetch_begin,
	.index_fetch_reset = engram_index_fetch_reset,
	.index_fetch_end = engram_index_fetch_end,
	.index_fetch_tuple = engram_index_fetch_tuple,

	.tuple_fetch_row_version = engram_tuple_fetch_row_version,
	.tuple_tid_valid = engram_tuple_tid_valid,
	.tuple_get_latest_tid = engram_tuple_get_latest_tid,
	.tuple_satisfies_snapshot = engram_tuple_satisfies_snapshot,
	.index_delete_tuples = engram_index_delete_tuples,

	/* writes (engram_am_insert.c, engram_am_modify.c) */
	.tuple_insert = engram_tuple_insert,
	.tuple_insert_speculative = engram_tuple_insert_speculative,
	.tuple_complete_speculative = engram_tuple_complete_speculative,
	.multi_insert = engram_multi_insert,
	.tuple_delete = engram_tuple_delete,
	.tuple_update = engram_tuple_update,
	.tuple_lock = engram_tuple_lock,
	.finish_bulk_insert = engram_finish_bulk_insert,

	/* DDL (engram_am_ddl.c), VACUUM (engram_am_vacuum.c) */
	.relation_set_new_filenode = engram_relation_set_new_filenode,
	.relation_nontransactional_truncate = engram_relation_nontransactional_truncate,
	.relation_copy_data = engram_relation_copy_data,
	.relation_copy_for_cluster = engram_relation_copy_for_cluster,
	.relation_vacuum = engram_relation_vacuum,
	.scan_analyze_next_block = engram_scan_analyze_next_block,
	.scan_analyze_next_tuple = engram_scan_analyze_next_tuple,
	.index_build_range_scan = engram_index_build_range_scan,
	.index_validate_scan = engram_index_validate_scan,

	/* planner support */
	.relation_size = engram_relation_size,
	.relation_needs_toast_table = engram_relation_needs_toast_table,
	.relation_toast_am = engram_relation_toast_am,
	.relation_fetch_toast_slice = NULL,	/* toast tables are heap */
	.relation_estimate_size = engram_relation_estimate_size,

	.scan_bitmap_next_block = engram_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = engram_scan_bitmap_next_tuple,
	.scan_sample_next_block = engram_scan_sample_next_block,
	.scan_sample_next_tuple = engram_scan_sample_next_tuple
};

const TableAmRoutine *
engram_table_am_routine(void)
{
	return &engram_methods;
}

Datum
engram_am_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&engram_methods);
}
