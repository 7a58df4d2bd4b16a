/*-------------------------------------------------------------------------
 *
 * memory_spread.c
 *	  engram.spread(seeds bigint[], max_hops, decay, threshold): spreading
 *	  activation over engram.association.
 *
 * Seeds get activation 1.0 at hop 0.  Each hop, every node whose activation
 * improved in the previous hop passes  activation * weight * decay  to its
 * neighbours along associations in both directions.  A node keeps the
 * largest activation offered to it (and the hop at which it first got that
 * value); offers below threshold are dropped, and the walk stops after
 * max_hops or when no node improved.  This is a bounded max-product search,
 * so the result does not depend on the order rows are read in; it is
 * returned ordered by activation descending, then hops, then id.
 *
 * Associations are read with SPI as the calling user, so row-level
 * security limits the walk to spaces the caller may see.  Nothing is
 * written: it runs on a hot standby.
 *
 * IDENTIFICATION
 *	  src/memory_spread.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "memory.h"

#define SPREAD_MAX_HOPS 100

typedef struct SpreadNode
{
	int64		id;				/* hash key */
	double		act;
	int			hops;
} SpreadNode;

typedef struct FrontierItem
{
	int64		id;
	double		act;
} FrontierItem;

static int
spread_node_cmp(const void *a, const void *b)
{
	const SpreadNode *x = *(SpreadNode *const *) a;
	const SpreadNode *y = *(SpreadNode *const *) b;

	if (x->act != y->act)
		return x->act > y->act ? -1 : 1;
	if (x->hops != y->hops)
		return x->hops < y->hops ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

/* Offer activation to node id at hop; true when it improved the node. */
static bool
spread_offer(HTAB *nodes, int64 id, double act, int hop)
{
	bool		found;
	SpreadNode *n = hash_search(nodes, &id, HASH_ENTER, &found);

	if (found && n->act >= act)
		return false;
	if (!found || n->act < act)
	{
		n->act = act;
		n->hops = hop;
	}
	return true;
}

PG_FUNCTION_INFO_V1(engram_spread);
Datum
engram_spread(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *seeds;
	int32		max_hops;
	double		decay;
	double		threshold;
	Datum	   *elems;
	bool	   *elnulls;
	int			nelems;
	HASHCTL		ctl;
	HTAB	   *nodes;
	HTAB	   *fset;
	FrontierItem *frontier;
	int			nfrontier = 0;
	int			cap;
	SPIPlanPtr	plan;
	Oid			argtypes[1] = {INT8ARRAYOID};
	HASH_SEQ_STATUS seq;
	SpreadNode *n;
	SpreadNode **sorted;
	int			nsorted;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of engram.spread must not be NULL")));
	seeds = PG_GETARG_ARRAYTYPE_P(0);
	max_hops = PG_GETARG_INT32(1);
	decay = PG_GETARG_FLOAT4(2);
	threshold = PG_GETARG_FLOAT4(3);

	if (max_hops < 0 || max_hops > SPREAD_MAX_HOPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hops must be between 0 and %d, got %d",
						SPREAD_MAX_HOPS, max_hops)));
	if (isnan(decay) || decay <= 0.0 || decay > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decay must be in (0, 1], got %g", decay),
				 errhint("Each hop multiplies activation by weight * decay.")));
	if (isnan(threshold) || threshold < 0.0 || threshold > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be in [0, 1], got %g", threshold)));

	InitMaterializedSRF(fcinfo, 0);

	deconstruct_array(seeds, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &elnulls, &nelems);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SpreadNode);
	ctl.hcxt = CurrentMemoryContext;
	nodes = hash_create("engram spread nodes", 256, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(FrontierItem);
	fset = hash_create("engram spread frontier", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	cap = Max(nelems, 16);
	frontier = palloc(sizeof(FrontierItem) * cap);
	for (i = 0; i < nelems; i++)
	{
		int64		id;

		if (elnulls[i])
			continue;
		id = DatumGetInt64(elems[i]);
		if (spread_offer(nodes, id, 1.0, 0))
		{
			frontier[nfrontier].id = id;
			frontier[nfrontier].act = 1.0;
			nfrontier++;
		}
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * Every operator and type qualified: spread() runs with the caller's
	 * search_path, and a schema searched before pg_catalog could otherwise
	 * supply "=" for bigint (run as whoever calls spread, a superuser too).
	 */
	plan = SPI_prepare("SELECT src, dst, weight::pg_catalog.float8 FROM engram.association"
					   " WHERE src OPERATOR(pg_catalog.=) ANY ($1)"
					   " OR dst OPERATOR(pg_catalog.=) ANY ($1) ORDER BY src, dst",
					   1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	for (int hop = 1; hop <= max_hops && nfrontier > 0; hop++)
	{
		Datum	   *ids;
		ArrayType  *idarr;
		Datum		arg;
		int			nnext = 0;
		FrontierItem *next;
		int			nextcap;
		HASH_SEQ_STATUS fseq;
		FrontierItem *fi;

		CHECK_FOR_INTERRUPTS();

		/* the frontier as of the start of this hop */
		hash_seq_init(&fseq, fset);
		while ((fi = hash_seq_search(&fseq)) != NULL)
			hash_search(fset, &fi->id, HASH_REMOVE, NULL);
		ids = palloc(sizeof(Datum) * nfrontier);
		for (i = 0; i < nfrontier; i++)
		{
			fi = hash_search(fset, &frontier[i].id, HASH_ENTER, NULL);
			fi->act = frontier[i].act;
			ids[i] = Int64GetDatum(frontier[i].id);
		}
		idarr = construct_array(ids, nfrontier, INT8OID, 8, FLOAT8PASSBYVAL,
								TYPALIGN_DOUBLE);
		arg = PointerGetDatum(idarr);

		if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed");

		nextcap = Max((int) SPI_processed * 2, 16);
		next = palloc(sizeof(FrontierItem) * nextcap);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		ends[2];
			double		w;

			ends[0] = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
			ends[1] = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
			w = DatumGetFloat8(SPI_getbinval(tup, td, 3, &isnull));
			if (isnull || w <= 0.0)
				continue;

			for (int e = 0; e < 2; e++)
			{
				FrontierItem *from = hash_search(fset, &ends[e], HASH_FIND, NULL);
				int64		to = ends[1 - e];
				double		offer;

				if (from == NULL)
					continue;
				offer = from->act * w * decay;
				if (offer < threshold)
					continue;
				if (spread_offer(nodes, to, offer, hop))
				{
					if (nnext == nextcap)
					{
						nextcap *= 2;
						next = repalloc(next, sizeof(FrontierItem) * nextcap);
					}
					next[nnext].id = to;
					next[nnext].act = offer;
					nnext++;
				}
			}
		}
		SPI_freetuptable(SPI_tuptable);

		/*
		 * A node improved twice in one hop appears twice; the frontier keeps
		 * its final (largest) activation, which the hash lookup of the next
		 * hop takes from the last entry entered.
		 */
		for (i = 0; i < nnext; i++)
		{
			n = hash_search(nodes, &next[i].id, HASH_FIND, NULL);
			next[i].act = n->act;
		}
		pfree(frontier);
		frontier = next;
		nfrontier = nnext;
		pfree(ids);
	}
	SPI_finish();

	nsorted = hash_get_num_entries(nodes);
	sorted = palloc(sizeof(SpreadNode *) * Max(nsorted, 1));
	i = 0;
	hash_seq_init(&seq, nodes);
	while ((n = hash_seq_search(&seq)) != NULL)
		sorted[i++] = n;
	qsort(sorted, nsorted, sizeof(SpreadNode *), spread_node_cmp);

	for (i = 0; i < nsorted; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(sorted[i]->id);
		values[1] = Float4GetDatum((float4) sorted[i]->act);
		values[2] = Int32GetDatum(sorted[i]->hops);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
