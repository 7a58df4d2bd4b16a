/*-------------------------------------------------------------------------
 *
 * ann.c
 *	  engram_hnsw: the index access method handler, its options, GUCs,
 *	  cost estimate and operator-class validation.
 *
 * The AM is graph based (HNSW) and speaks only the index AM API: the build
 * reads the table through table_index_build_scan and scans hand back heap
 * TIDs, so it works the same on heap tables and on engram's table AM.
 * See ann.h for the storage format, ann_build.c, ann_insert.c,
 * ann_scan.c and ann_vacuum.c for the algorithms.
 *
 * IDENTIFICATION
 *	  src/ann.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "engram.h"
#include "ann.h"

int			ann_ef_search = 40;
int			ann_max_scan_tuples = 20000;
bool		ann_strict_order = true;

static relopt_kind ann_relopt_kind;

PG_FUNCTION_INFO_V1(hnsw_handler);
PG_FUNCTION_INFO_V1(hnsw_metric_l2);
PG_FUNCTION_INFO_V1(hnsw_metric_cosine);
PG_FUNCTION_INFO_V1(hnsw_metric_ip);

void
ann_init(void)
{
	ann_kernels_init();

	ann_relopt_kind = add_reloption_kind();
	add_int_reloption(ann_relopt_kind, "m",
					  "Maximum number of links per node and level (twice that on level 0)",
					  ANN_DEFAULT_M, ANN_MIN_M, ANN_MAX_M, AccessExclusiveLock);
	add_int_reloption(ann_relopt_kind, "ef_construction",
					  "Size of the candidate list while building the graph",
					  ANN_DEFAULT_EFC, ANN_MIN_EFC, ANN_MAX_EFC, AccessExclusiveLock);

	DefineCustomIntVariable("engram.ef_search",
							"Size of the candidate list of engram_hnsw index scans.",
							"Larger values find the true nearest neighbours more often, slower.",
							&ann_ef_search, 40, 1, 1000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.ann_max_scan_tuples",
							"Maximum number of rows one engram_hnsw index scan returns.",
							"A scan that would return more (a filter rejects rows, or there "
							"is no LIMIT) fails with an error instead of ending early.",
							&ann_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("engram.ann_strict_order",
							 "Keep engram_hnsw scans in exact distance order when they widen.",
							 "On: a row found by a later round of a widening scan that is nearer "
							 "than rows already returned is held back to the scan's final pass, "
							 "so the rows before it are in exact distance order.  Off: it is "
							 "returned at once (better recall under selective filters, order "
							 "may be slightly off).  Every indexed row is returned either way.",
							 &ann_strict_order, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}

/* The metric of an operator class is what its support function 2 says. */
Datum
hnsw_metric_l2(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ANN_METRIC_L2);
}

Datum
hnsw_metric_cosine(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ANN_METRIC_COSINE);
}

Datum
hnsw_metric_ip(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ANN_METRIC_IP);
}

int
ann_get_metric(Relation index)
{
	FmgrInfo   *proc;
	int			metric;

	if (!OidIsValid(index_getprocid(index, 1, ANN_METRIC_PROC)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("operator class of index \"%s\" has no metric support function",
						RelationGetRelationName(index)),
				 errhint("Use engram.vector_cosine_ops, engram.vector_l2_ops or engram.vector_ip_ops.")));
	proc = index_getprocinfo(index, 1, ANN_METRIC_PROC);
	metric = DatumGetInt32(FunctionCall1(proc, (Datum) 0));
	if (metric < ANN_METRIC_L2 || metric > ANN_METRIC_IP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported metric %d in operator class of index \"%s\"",
						metric, RelationGetRelationName(index))));
	return metric;
}

void
ann_get_options(Relation index, int *m, int *efc)
{
	AnnOptions *opts = (AnnOptions *) index->rd_options;

	*m = opts ? opts->m : ANN_DEFAULT_M;
	*efc = opts ? opts->ef_construction : ANN_DEFAULT_EFC;
}

/* highest level whose node still fits a page, or -1 */
int
ann_compute_max_level(int dim, int m)
{
	AnnShape	s;
	int			level;

	s.dim = dim;
	s.m = m;
	for (level = ANN_MAX_LEVEL; level >= 0; level--)
	{
		if (MAXALIGN(ann_node_size(&s, level)) <= ANN_MAX_NODE_SIZE)
			return level;
	}
	return -1;
}

/* dimension limits, checked at CREATE INDEX and when the first vector arrives */
void
ann_check_dim(Relation index, int dim, int index_dim)
{
	int			m;
	int			efc;

	if (index_dim > 0 && dim != index_dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector has %d dimensions, but index \"%s\" has %d",
						dim, RelationGetRelationName(index), index_dim)));
	ann_get_options(index, &m, &efc);
	if (dim > ANN_MAX_DIM || ann_compute_max_level(dim, m) < ANN_MIN_UPPER_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engram_hnsw indexes support at most %d dimensions, got %d",
						ANN_MAX_DIM, dim),
				 errhint("Reduce the dimension of the vectors before indexing them.")));
}

static bytea *
ann_amoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(AnnOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(AnnOptions, ef_construction)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ann_relopt_kind,
									  sizeof(AnnOptions), tab, lengthof(tab));
}

static char *
ann_ambuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case ANN_PHASE_LOAD:
			return "building graph";
		case ANN_PHASE_WRITE:
			return "writing pages";
		default:
			return NULL;
	}
}

/*
 * The index is only useful for ORDER BY <distance op> ... LIMIT.  A scan
 * visits roughly ef_search * 2m nodes whatever the table size before the
 * first row comes out: that is startup cost.
 */
static void
ann_amcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				   Cost *indexStartupCost, Cost *indexTotalCost,
				   Selectivity *indexSelectivity, double *indexCorrelation,
				   double *indexPages)
{
	GenericCosts costs;
	double		ntuples = path->indexinfo->tuples;
	double		visit;

	if (path->indexorderbys == NIL)
	{
		/* nothing to offer without an ORDER BY: never choose it */
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	/*
	 * Count the ef_search result candidates as the tuples read; the pages a
	 * search touches are mostly the same hot upper part of the graph.
	 */
	visit = (double) ann_ef_search;
	if (ntuples > 0)
		visit = Min(visit, ntuples);
	costs.numIndexTuples = visit;
	genericcostestimate(root, path, loop_count, &costs);

	/*
	 * Every further row means expanding the search: about 2m distance
	 * computations.  Charging for it keeps the planner from using the index
	 * for an ORDER BY without LIMIT (where the sort of a seq scan is exact
	 * and complete), while with a LIMIT only the first rows count.
	 */
	*indexStartupCost = costs.indexTotalCost;
	*indexTotalCost = costs.indexTotalCost +
		Max(ntuples, 1) * 2 * ANN_DEFAULT_M * cpu_operator_cost * 10;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}

/*
 * amvalidate: support 1 is the ORDER BY operator's distance function
 * (vector, vector) -> float8, support 2 reports the metric; the only
 * operator is an ordering operator with strategy 1 returning float8.
 */
static bool
ann_amvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	CatCList   *proclist;
	CatCList   *oprlist;
	bool		seen[ANN_NPROCS + 1] = {false};
	bool		seen_op = false;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);
		bool		ok;

		if (procform->amproclefttype != opcintype ||
			procform->amprocrighttype != opcintype)
			continue;
		switch (procform->amprocnum)
		{
			case ANN_DISTANCE_PROC:
				ok = check_amproc_signature(procform->amproc, FLOAT8OID, true,
											2, 2, opcintype, opcintype);
				break;
			case ANN_METRIC_PROC:
				ok = check_amproc_signature(procform->amproc, INT4OID, true,
											1, 1, INTERNALOID);
				break;
			default:
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("engram_hnsw operator class \"%s\" has invalid support function number %d",
								opclassname, procform->amprocnum)));
				result = false;
				continue;
		}
		if (!ok)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("engram_hnsw operator class \"%s\" has wrong signature for support function %d",
							opclassname, procform->amprocnum)));
			result = false;
		}
		seen[procform->amprocnum] = true;
	}
	ReleaseSysCacheList(proclist);

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != ANN_ORDER_STRATEGY ||
			oprform->amoppurpose != AMOP_ORDER ||
			!OidIsValid(oprform->amopsortfamily) ||
			!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("engram_hnsw operator class \"%s\" has invalid operator %s: only one ORDER BY operator (strategy 1) returning float8 is supported",
							opclassname, format_operator(oprform->amopopr))));
			result = false;
		}
		else
			seen_op = true;
	}
	ReleaseSysCacheList(oprlist);

	for (i = 1; i <= ANN_NPROCS; i++)
	{
		if (!seen[i])
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("engram_hnsw operator class \"%s\" is missing support function %d",
							opclassname, i)));
			result = false;
		}
	}
	if (!seen_op)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("engram_hnsw operator class \"%s\" has no ORDER BY operator",
						opclassname)));
		result = false;
	}
	ReleaseSysCache(classtup);
	return result;
}

Datum
hnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 1;
	amroutine->amsupport = ANN_NPROCS;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_NO_PARALLEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = ann_ambuild;
	amroutine->ambuildempty = ann_ambuildempty;
	amroutine->aminsert = ann_aminsert;
	amroutine->ambulkdelete = ann_ambulkdelete;
	amroutine->amvacuumcleanup = ann_amvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = ann_amcostestimate;
	amroutine->amoptions = ann_amoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = ann_ambuildphasename;
	amroutine->amvalidate = ann_amvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = ann_ambeginscan;
	amroutine->amrescan = ann_amrescan;
	amroutine->amgettuple = ann_amgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = ann_amendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
