/*-------------------------------------------------------------------------
 *
 * ann_build_parallel.c
 *	  engram_hnsw: CREATE INDEX with parallel workers.
 *
 * Shaped like core's parallel btree build (nbtsort.c): the leader enters
 * parallel mode, creates a parallel context whose entry point is
 * ann_build_parallel_main in this library, and puts into its dynamic shared
 * memory segment a shared state, a parallel table scan (so the leader and
 * the workers read disjoint blocks of the table, under the snapshot the
 * leader chose: SnapshotAny, or an MVCC snapshot for CONCURRENTLY) and the
 * graph itself.  The leader takes part as a worker.
 *
 * The graph in shared memory has the serial build's layout (ann_build.c):
 * quantised codes, int32 links and bfloat16 link distances, carved from an
 * arena of maintenance_work_mem bytes; node numbers index an array of
 * PNode, each with an LWLock that guards its link lists.  Codes are written
 * before a node is published (linked to, or made the entry point) and
 * never change.  An insert holds one node lock at a time: it reads a
 * neighbour list under a shared lock, writes its own lists and every back
 * link under the exclusive lock of the node written, and prunes a full
 * list while holding it.  The entry point is guarded by entrylock: an
 * insert that may become the new entry point (its level is above the
 * current one) holds it exclusively for its whole insertion, the others
 * only read it.
 *
 * Every in-memory insert holds flushlock shared.  When the arena or the
 * node array is full, the participant that finds it so takes flushlock
 * exclusively, writes the graph built so far to pages (as the serial
 * build does, ann_build_flush) and says so in a NOTICE; then every
 * participant inserts its remaining rows straight into the on-disk graph
 * (ann_insert_vector, without WAL, under buffer locks as INSERT does).
 * Otherwise the leader writes the graph out once all workers are done.
 * Either way the build is logged once, by the caller, with
 * log_newpage_range over the whole index.
 *
 * L2 indexes quantise relative to a centre, the mean of the first
 * ANN_CENTER_SAMPLE vectors: the leader reads them (from block 0 on, as
 * the serial build would) before it launches the workers, which all use
 * that centre.
 *
 * IDENTIFICATION
 *	  src/ann_build_parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ann.h"
#include "ann_build.h"
#include "fault.h"

/* keys of the shm_toc */
#define ANN_PAR_KEY_SHARED		UINT64CONST(0xE4A7000000000001)
#define ANN_PAR_KEY_SCAN		UINT64CONST(0xE4A7000000000002)
#define ANN_PAR_KEY_GRAPH		UINT64CONST(0xE4A7000000000003)
#define ANN_PAR_KEY_QUERY		UINT64CONST(0xE4A7000000000004)
#define ANN_PAR_KEY_BUFUSAGE	UINT64CONST(0xE4A7000000000005)
#define ANN_PAR_KEY_WALUSAGE	UINT64CONST(0xE4A7000000000006)

/* a node of the shared graph */
typedef struct PNode
{
	LWLock		lock;			/* guards the counts and links */
	ItemPointerData heaptid;
	uint8		level;
	float		scale;
	float		norm2;
	float		resid;
	Size		data;			/* arena offset of codes | nb | nbd | cnt */
} PNode;

typedef struct AnnParShared
{
	/* set by the leader before the workers start, then read only */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	AnnShape	s;
	int			efc;
	int			tranche;
	uint32		capnodes;		/* length of the PNode array */
	Size		nodes_size;		/* bytes before the arena in the graph chunk */
	Size		arena_size;
	bool		has_center;
	AnnMetaPageData cmeta;		/* the centre as the meta page stores it */

	/* mutex guards these */
	slock_t		mutex;
	uint32		nnodes;
	Size		arena_used;
	bool		full;			/* an allocation failed: flush */
	double		reltuples;
	double		indtuples;
	int64		tuples_done;	/* progress report */

	LWLock		entrylock;		/* guards ep, ep_level */
	int32		ep;				/* -1: empty */
	int			ep_level;

	LWLock		flushlock;		/* shared: in-memory insert; exclusive: flush */
	bool		flushed;		/* graph written out: insert on disk */

	float		center[FLEXIBLE_ARRAY_MEMBER];	/* s.dim, if has_center */
} AnnParShared;

/* one participant */
typedef struct ParState
{
	AnnParShared *sh;
	PNode	   *nodes;
	char	   *arena;
	Relation	index;
	AnnShape	s;
	int			efc;
	const float *center;
	bool		leader;
	AnnQVec		query;			/* the node being inserted */
	AnnVisited	visited;
	pg_prng_state rng;
	float	   *xbuf;
	MemoryContext tmpctx;
	double		indtuples;
	int64		unreported;
	/* scratch for one insertion */
	AnnCand    *found;
	AnnCand    *entries;
	AnnCand    *sel;
	AnnCand    *sel2;
	AnnCand    *scratch;
	AnnCand    *old;
} ParState;

static int	ann_build_tranche = 0;

static inline Size
pn_codes_size(const AnnShape *s)
{
	return TYPEALIGN(sizeof(int32), s->dim);
}

/* arena bytes of a node of the given level */
static inline Size
pn_chunk_size(const AnnShape *s, int level)
{
	int			nslots = bnode_offset(s, level + 1);

	return MAXALIGN(pn_codes_size(s) + sizeof(int32) * nslots +
					sizeof(uint16) * nslots + sizeof(uint16) * (level + 1));
}

static inline int8 *
pn_codes(ParState *ps, PNode *n)
{
	return (int8 *) (ps->arena + n->data);
}

static inline int32 *
pn_nb(ParState *ps, PNode *n)
{
	return (int32 *) (ps->arena + n->data + pn_codes_size(&ps->s));
}

static inline uint16 *
pn_nbd(ParState *ps, PNode *n)
{
	return (uint16 *) (pn_nb(ps, n) + bnode_offset(&ps->s, n->level + 1));
}

static inline uint16 *
pn_cnt(ParState *ps, PNode *n)
{
	return pn_nbd(ps, n) + bnode_offset(&ps->s, n->level + 1);
}

/* graph callbacks over the shared graph */
static int
par_neighbors(void *arg, AnnId id, int level, AnnId *out)
{
	ParState   *ps = arg;
	PNode	   *n = &ps->nodes[id];
	int32	   *nb;
	int			k;
	int			i;

	if (n->level < level)
		return 0;
	nb = pn_nb(ps, n) + bnode_offset(&ps->s, level);
	LWLockAcquire(&n->lock, LW_SHARED);
	k = pn_cnt(ps, n)[level];
	for (i = 0; i < k; i++)
		out[i] = (AnnId) nb[i];
	LWLockRelease(&n->lock);
	return k;
}

static float
par_distance(void *arg, AnnId id, bool *deleted)
{
	ParState   *ps = arg;
	PNode	   *n = &ps->nodes[id];

	*deleted = false;
	return ann_code_distance(ps->s.metric, &ps->query, pn_codes(ps, n), n->scale,
							 n->norm2, ps->s.dim);
}

static void
par_prefetch(void *arg, AnnId id)
{
	ParState   *ps = arg;
	PNode	   *n = &ps->nodes[id];
	const char *codes;
	int			off;

	__builtin_prefetch(n);
	codes = (const char *) pn_codes(ps, n);
	for (off = 0; off < ps->s.dim; off += 64)
		__builtin_prefetch(codes + off);
}

static const AnnGraphOps par_ops = {par_neighbors, par_distance, par_prefetch};

static float
par_pairdist(void *arg, AnnId a, AnnId b)
{
	ParState   *ps = arg;
	PNode	   *x = &ps->nodes[a];
	PNode	   *y = &ps->nodes[b];
	AnnQVec		xq;

	xq.scale = x->scale;
	xq.norm2 = x->norm2;
	xq.resid = x->resid;
	xq.codes = pn_codes(ps, x);
	return ann_code_distance(ps->s.metric, &xq, pn_codes(ps, y), y->scale,
							 y->norm2, ps->s.dim);
}

/* link e -> nid on level, under e's lock */
static void
par_backlink(ParState *ps, int e, int level, int nid, float dist)
{
	PNode	   *en = &ps->nodes[e];
	int			off = bnode_offset(&ps->s, level);

	LWLockAcquire(&en->lock, LW_EXCLUSIVE);
	ann_build_link(&ps->s, level, pn_nb(ps, en) + off, pn_nbd(ps, en) + off,
				   &pn_cnt(ps, en)[level], nid, dist, ps->scratch, ps->sel2,
				   par_pairdist, ps);
	LWLockRelease(&en->lock);
}

/* insert node nid (allocated and filled in) into the shared graph */
static void
par_insert(ParState *ps, int nid)
{
	AnnParShared *sh = ps->sh;
	PNode	   *n = &ps->nodes[nid];
	AnnShape   *s = &ps->s;
	int			nentry = 1;
	int			ep;
	int			ep_level;
	bool		entry_held = false;
	int			l;

	LWLockAcquire(&sh->entrylock, LW_SHARED);
	ep = sh->ep;
	ep_level = sh->ep_level;
	LWLockRelease(&sh->entrylock);
	if (ep < 0 || n->level > ep_level)
	{
		/* may become the entry point: keep others from doing so meanwhile */
		LWLockAcquire(&sh->entrylock, LW_EXCLUSIVE);
		entry_held = true;
		ep = sh->ep;
		ep_level = sh->ep_level;
		if (ep < 0)
		{
			sh->ep = nid;
			sh->ep_level = n->level;
			LWLockRelease(&sh->entrylock);
			return;
		}
		if (n->level <= ep_level)
		{
			LWLockRelease(&sh->entrylock);
			entry_held = false;
		}
	}

	ps->query.scale = n->scale;
	ps->query.norm2 = n->norm2;
	ps->query.resid = n->resid;
	ps->query.codes = pn_codes(ps, n);
	ps->entries[0].id = ep;
	ps->entries[0].dist = 0;

	for (l = ep_level; l > n->level; l--)
	{
		ann_visited_reset(&ps->visited);
		if (ann_search_layer(&par_ops, ps, ps->entries, nentry, 1, l, 2 * s->m,
							 &ps->visited, ps->found) > 0)
			ps->entries[0] = ps->found[0];
	}
	for (l = Min(n->level, ep_level); l >= 0; l--)
	{
		int			nf;
		int			nsel;
		int			nold;
		int			off = bnode_offset(s, l);
		int32	   *nb = pn_nb(ps, n) + off;
		uint16	   *nbd = pn_nbd(ps, n) + off;
		uint16	   *cnt = &pn_cnt(ps, n)[l];
		int			i;
		int			j;

		ann_visited_reset(&ps->visited);
		nf = ann_search_layer(&par_ops, ps, ps->entries, nentry, ps->efc, l,
							  2 * s->m, &ps->visited, ps->found);
		nsel = ann_select_neighbors(ps->found, nf, ann_level_cap(s, l),
									par_pairdist, ps, ps->sel);

		/*
		 * Our own list.  Others may have linked to this node already (it is
		 * reachable as soon as an upper level links to it): keep their
		 * links too, pruned with ours.
		 */
		LWLockAcquire(&n->lock, LW_EXCLUSIVE);
		nold = *cnt;
		for (i = 0; i < nold; i++)
		{
			ps->old[i].id = nb[i];
			ps->old[i].dist = bf16_dec(nbd[i]);
		}
		for (i = 0; i < nsel; i++)
		{
			nb[i] = (int32) ps->sel[i].id;
			nbd[i] = bf16_enc(ps->sel[i].dist);
		}
		*cnt = nsel;
		for (j = 0; j < nold; j++)
			ann_build_link(s, l, nb, nbd, cnt, (int) ps->old[j].id,
						   ps->old[j].dist, ps->scratch, ps->sel2,
						   par_pairdist, ps);
		LWLockRelease(&n->lock);

		/* the code distance is symmetric: the same value serves e -> nid */
		for (i = 0; i < nsel; i++)
			par_backlink(ps, (int) ps->sel[i].id, l, nid, ps->sel[i].dist);
		if (nf > 0)
		{
			memcpy(ps->entries, ps->found, sizeof(AnnCand) * nf);
			nentry = nf;
		}
	}
	if (entry_held)
	{
		if (n->level > sh->ep_level)
		{
			sh->ep = nid;
			sh->ep_level = n->level;
		}
		LWLockRelease(&sh->entrylock);
	}
}

static BNode *
par_getnode(void *arg, int i, BNode *tmp)
{
	ParState   *ps = arg;
	PNode	   *n = &ps->nodes[i];

	tmp->heaptid = n->heaptid;
	tmp->level = n->level;
	tmp->q.scale = n->scale;
	tmp->q.norm2 = n->norm2;
	tmp->q.resid = n->resid;
	tmp->q.codes = pn_codes(ps, n);
	tmp->nb = pn_nb(ps, n);
	tmp->nbd = pn_nbd(ps, n);
	tmp->cnt = pn_cnt(ps, n);
	return tmp;
}

/* write the shared graph to pages; flushlock held exclusively */
static void
par_flush(ParState *ps)
{
	AnnParShared *sh = ps->sh;

	ann_build_flush(ps->index, &ps->s, (int) sh->nnodes, par_getnode, ps,
					sh->ep, sh->ep_level, sh->has_center ? &sh->cmeta : NULL);
}

/* add one vector: to the shared graph, or on disk once that is full */
static void
par_add(ParState *ps, ItemPointer tid, EngramVector *v)
{
	AnnParShared *sh = ps->sh;

	if (!sh->flushed)
	{
		int			level;
		Size		size;
		int64		nid = -1;
		Size		data = 0;

		if (!ann_prepare_vector(ps->index, ps->s.metric, v, ps->center, false,
								ps->xbuf))
			return;				/* zero vector under cosine: not indexed */
		level = ann_random_level(&ps->rng, ps->s.m, ps->s.max_level);
		size = pn_chunk_size(&ps->s, level);

		LWLockAcquire(&sh->flushlock, LW_SHARED);
		if (!sh->flushed)
		{
			SpinLockAcquire(&sh->mutex);
			if (!sh->full && sh->nnodes < sh->capnodes &&
				sh->arena_used + size <= sh->arena_size)
			{
				nid = sh->nnodes++;
				data = sh->arena_used;
				sh->arena_used += size;
			}
			else
				sh->full = true;
			SpinLockRelease(&sh->mutex);
		}
		if (nid >= 0)
		{
			PNode	   *n = &ps->nodes[nid];
			AnnQVec		q;

			LWLockInitialize(&n->lock, sh->tranche);
			n->heaptid = *tid;
			n->level = level;
			n->data = data;
			q.codes = pn_codes(ps, n);
			ann_quantize(ps->xbuf, ps->s.dim, &q);
			n->scale = q.scale;
			n->norm2 = q.norm2;
			n->resid = q.resid;
			memset(pn_cnt(ps, n), 0, sizeof(uint16) * (level + 1));
			par_insert(ps, (int) nid);
			LWLockRelease(&sh->flushlock);
			return;
		}
		LWLockRelease(&sh->flushlock);

		LWLockAcquire(&sh->flushlock, LW_EXCLUSIVE);
		if (!sh->flushed)
		{
			ereport(NOTICE,
					(errmsg("engram_hnsw graph no longer fits into maintenance_work_mem"),
					 errdetail("%u tuples were added in memory; building continues on disk, which is slower.",
							   sh->nnodes),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
			par_flush(ps);
			sh->flushed = true;
		}
		LWLockRelease(&sh->flushlock);
	}
	ann_insert_vector(ps->index, v, tid, true, &ps->rng);
}

static void
par_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			 bool tupleIsAlive, void *state)
{
	ParState   *ps = state;
	MemoryContext old;
	EngramVector *v;

	if (isnull[0])
		return;					/* NULL vectors are not indexed */

	ENGRAM_FAULT_POINT("ann_build_parallel_insert");
	old = MemoryContextSwitchTo(ps->tmpctx);
	v = DatumGetEngramVector(values[0]);
	ann_check_dim(index, v->dim, ps->s.dim);
	par_add(ps, tid, v);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ps->tmpctx);

	ps->indtuples++;
	if (++ps->unreported == 64)
	{
		AnnParShared *sh = ps->sh;
		int64		done;

		SpinLockAcquire(&sh->mutex);
		sh->tuples_done += ps->unreported;
		done = sh->tuples_done;
		SpinLockRelease(&sh->mutex);
		ps->unreported = 0;
		if (ps->leader)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);
		CHECK_FOR_INTERRUPTS();
	}
}

/* take part in the build: scan this participant's share of the table */
static void
par_participate(AnnParShared *sh, ParallelTableScanDesc pscan, char *graph,
				Relation heap, Relation index, IndexInfo *indexInfo,
				bool leader)
{
	ParState	ps;
	TableScanDesc scan;
	double		reltuples;
	int			maxnb = 2 * sh->s.m;
	uint32	   *stamps;

	memset(&ps, 0, sizeof(ps));
	ps.sh = sh;
	ps.nodes = (PNode *) graph;
	ps.arena = graph + sh->nodes_size;
	ps.index = index;
	ps.s = sh->s;
	ps.efc = sh->efc;
	ps.center = sh->has_center ? sh->center : NULL;
	ps.leader = leader;
	/* reproducible per participant; the graph depends on timing anyway */
	pg_prng_seed(&ps.rng, UINT64CONST(0x656E6772616D) + (leader ? 0 : ParallelWorkerNumber + 1));
	ps.xbuf = palloc(sizeof(float) * ps.s.dim);
	ps.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw parallel build tuple",
									  ALLOCSET_DEFAULT_SIZES);
	ann_visited_init(&ps.visited, ps.efc * ps.s.m * 4);
	stamps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * sh->capnodes);
	memset(stamps, 0, sizeof(uint32) * sh->capnodes);
	ann_visited_dense(&ps.visited, stamps, sh->capnodes);
	ps.found = palloc(sizeof(AnnCand) * ps.efc);
	ps.entries = palloc(sizeof(AnnCand) * ps.efc);
	ps.sel = palloc(sizeof(AnnCand) * maxnb);
	ps.sel2 = palloc(sizeof(AnnCand) * maxnb);
	ps.scratch = palloc(sizeof(AnnCand) * (maxnb + 1));
	ps.old = palloc(sizeof(AnnCand) * maxnb);

	scan = table_beginscan_parallel(heap, pscan);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, leader,
									   par_callback, &ps, scan);

	SpinLockAcquire(&sh->mutex);
	sh->reltuples += reltuples;
	sh->indtuples += ps.indtuples;
	sh->tuples_done += ps.unreported;
	SpinLockRelease(&sh->mutex);

	MemoryContextDelete(ps.tmpctx);
	pfree(stamps);
}

/* entry point of a worker (CreateParallelContext names it) */
void
ann_build_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	AnnParShared *sh;
	ParallelTableScanDesc pscan;
	char	   *graph;
	char	   *query;
	BufferUsage *bufusage;
	WalUsage   *walusage;
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;
	LOCKMODE	heaplock;
	LOCKMODE	indexlock;

	query = shm_toc_lookup(toc, ANN_PAR_KEY_QUERY, true);
	debug_query_string = query;
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	sh = shm_toc_lookup(toc, ANN_PAR_KEY_SHARED, false);
	pscan = shm_toc_lookup(toc, ANN_PAR_KEY_SCAN, false);
	graph = shm_toc_lookup(toc, ANN_PAR_KEY_GRAPH, false);
	LWLockRegisterTranche(sh->tranche, "engram_hnsw_build");

	/* the lock modes index.c took in the leader (as nbtsort.c does) */
	if (!sh->isconcurrent)
	{
		heaplock = ShareLock;
		indexlock = AccessExclusiveLock;
	}
	else
	{
		heaplock = ShareUpdateExclusiveLock;
		indexlock = RowExclusiveLock;
	}
	heap = table_open(sh->heaprelid, heaplock);
	index = index_open(sh->indexrelid, indexlock);
	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = sh->isconcurrent;

	InstrStartParallelQuery();
	par_participate(sh, pscan, graph, heap, index, indexInfo, false);
	bufusage = shm_toc_lookup(toc, ANN_PAR_KEY_BUFUSAGE, false);
	walusage = shm_toc_lookup(toc, ANN_PAR_KEY_WALUSAGE, false);
	InstrEndParallelQuery(&bufusage[ParallelWorkerNumber],
						  &walusage[ParallelWorkerNumber]);

	index_close(index, indexlock);
	table_close(heap, heaplock);
}

/*
 * Workers the planner grants this build: max_parallel_maintenance_workers,
 * the table's size and parallel_workers, maintenance_work_mem of at least
 * 32MB per participant (plan_create_index_workers, as for btree).
 */
int
ann_build_parallel_workers(Relation heap, Relation index)
{
	if (!IsUnderPostmaster || max_parallel_maintenance_workers == 0)
		return 0;
	return plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
}

/* centre sample: the first vectors in block order */
typedef struct PrescanState
{
	AnnShape   *s;
	int			want;
	int			seen;
	int			nsum;
	double	   *sum;
	float	   *xbuf;
	MemoryContext tmpctx;
} PrescanState;

static void
prescan_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				 bool tupleIsAlive, void *state)
{
	PrescanState *st = state;
	MemoryContext old;
	EngramVector *v;
	int			k;

	if (isnull[0] || st->seen >= st->want)
		return;
	old = MemoryContextSwitchTo(st->tmpctx);
	v = DatumGetEngramVector(values[0]);
	if (st->s->dim == 0)
	{
		/* column without typmod: the first vector decides */
		ann_check_dim(index, v->dim, 0);
		st->s->dim = v->dim;
		st->s->max_level = ann_compute_max_level(st->s->dim, st->s->m);
	}
	ann_check_dim(index, v->dim, st->s->dim);
	MemoryContextSwitchTo(old);
	if (st->sum == NULL)
	{
		st->sum = palloc0(sizeof(double) * st->s->dim);
		st->xbuf = palloc(sizeof(float) * st->s->dim);
	}
	/* as the serial build's sample: every vector counts, valid ones add */
	st->seen++;
	if (ann_prepare_vector(index, st->s->metric, v, NULL, false, st->xbuf))
	{
		for (k = 0; k < st->s->dim; k++)
			st->sum[k] += st->xbuf[k];
		st->nsum++;
	}
	MemoryContextReset(st->tmpctx);
}

/*
 * Build the graph with nworkers workers (and the leader).  *s comes with
 * m and metric, and dim/max_level if the column has a typmod; it leaves
 * with the dimension found.  Returns false, having changed nothing in the
 * index, when the build should rather be serial: no vector to learn the
 * dimension or centre from, no shared memory, or no worker started.
 */
bool
ann_build_parallel(Relation heap, Relation index, IndexInfo *indexInfo,
				   AnnShape *s, int efc, int nworkers, double *reltuples,
				   double *indtuples, int *nlaunched)
{
	PrescanState st;
	AnnMetaPageData *cmeta = NULL;
	float	   *center = NULL;
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		shsize;
	Size		scansize;
	Size		graphsize;
	Size		querylen = 0;
	AnnParShared *sh;
	ParallelTableScanDesc pscan;
	char	   *graph;
	BufferUsage *bufusage;
	WalUsage   *walusage;
	Size		nodesize;
	int			i;

	/* the dimension (untyped column) and the centre (L2) come first */
	memset(&st, 0, sizeof(st));
	st.s = s;
	st.want = s->metric == ANN_METRIC_L2 ? ANN_CENTER_SAMPLE : (s->dim == 0 ? 1 : 0);
	if (st.want > 0)
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
		BlockNumber start = 0;
		BlockNumber chunk = 8;

		st.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw build sample",
										  ALLOCSET_DEFAULT_SIZES);
		while (st.seen < st.want && start < nblocks)
		{
			(void) table_index_build_range_scan(heap, index, indexInfo, false, true,
												false, start, chunk,
												prescan_callback, &st, NULL);
			start += chunk;
			chunk = Min(chunk * 2, 1024);
		}
		MemoryContextDelete(st.tmpctx);
		if (st.seen == 0)
			return false;		/* nothing to index: serial, it is quick */
		if (s->metric == ANN_METRIC_L2)
		{
			float	   *mean = palloc(sizeof(float) * s->dim);
			int			k;

			for (k = 0; k < s->dim; k++)
				mean[k] = st.nsum > 0 ? (float) (st.sum[k] / st.nsum) : 0;
			cmeta = palloc0(sizeof(AnnMetaPageData));
			center = palloc(sizeof(float) * s->dim);
			ann_center_encode(mean, s->dim, cmeta, center);
			pfree(mean);
		}
	}
	if (s->dim == 0)
		return false;

	EnterParallelMode();
	pcxt = CreateParallelContext("engram", "ann_build_parallel_main", nworkers);

	/* as btree: every row for a plain build, an MVCC snapshot for CONCURRENTLY */
	if (!indexInfo->ii_Concurrent)
		snapshot = SnapshotAny;
	else
		snapshot = RegisterSnapshot(GetTransactionSnapshot());

	shsize = add_size(offsetof(AnnParShared, center), sizeof(float) * s->dim);
	scansize = table_parallelscan_estimate(heap, snapshot);
	graphsize = (Size) maintenance_work_mem * 1024;
	shm_toc_estimate_chunk(&pcxt->estimator, shsize);
	shm_toc_estimate_chunk(&pcxt->estimator, scansize);
	shm_toc_estimate_chunk(&pcxt->estimator, graphsize);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(BufferUsage), pcxt->nworkers));
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(WalUsage), pcxt->nworkers));
	shm_toc_estimate_keys(&pcxt->estimator, 6);
	if (debug_query_string)
	{
		querylen = strlen(debug_query_string);
		shm_toc_estimate_chunk(&pcxt->estimator, querylen + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}

	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no shared memory to be had: serial */
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	if (ann_build_tranche == 0)
		ann_build_tranche = LWLockNewTrancheId();
	LWLockRegisterTranche(ann_build_tranche, "engram_hnsw_build");

	sh = shm_toc_allocate(pcxt->toc, shsize);
	memset(sh, 0, shsize);
	sh->heaprelid = RelationGetRelid(heap);
	sh->indexrelid = RelationGetRelid(index);
	sh->isconcurrent = indexInfo->ii_Concurrent;
	sh->s = *s;
	sh->efc = efc;
	sh->tranche = ann_build_tranche;
	if (cmeta)
	{
		sh->has_center = true;
		sh->cmeta = *cmeta;
		memcpy(sh->center, center, sizeof(float) * s->dim);
	}
	SpinLockInit(&sh->mutex);
	LWLockInitialize(&sh->entrylock, ann_build_tranche);
	LWLockInitialize(&sh->flushlock, ann_build_tranche);
	sh->ep = -1;
	sh->ep_level = -1;

	/*
	 * Every node takes a PNode and at least a level-0 chunk: that many
	 * PNodes fill maintenance_work_mem with the arena.
	 */
	nodesize = sizeof(PNode) + pn_chunk_size(s, 0);
	sh->capnodes = (uint32) Min(graphsize / nodesize, (Size) PG_INT32_MAX / 2);
	sh->nodes_size = MAXALIGN(sizeof(PNode) * (Size) sh->capnodes);
	sh->arena_size = graphsize - sh->nodes_size;
	graph = shm_toc_allocate(pcxt->toc, graphsize);

	pscan = shm_toc_allocate(pcxt->toc, scansize);
	table_parallelscan_initialize(heap, pscan, snapshot);

	bufusage = shm_toc_allocate(pcxt->toc, mul_size(sizeof(BufferUsage), pcxt->nworkers));
	walusage = shm_toc_allocate(pcxt->toc, mul_size(sizeof(WalUsage), pcxt->nworkers));
	shm_toc_insert(pcxt->toc, ANN_PAR_KEY_SHARED, sh);
	shm_toc_insert(pcxt->toc, ANN_PAR_KEY_SCAN, pscan);
	shm_toc_insert(pcxt->toc, ANN_PAR_KEY_GRAPH, graph);
	shm_toc_insert(pcxt->toc, ANN_PAR_KEY_BUFUSAGE, bufusage);
	shm_toc_insert(pcxt->toc, ANN_PAR_KEY_WALUSAGE, walusage);
	if (debug_query_string)
	{
		char	   *q = shm_toc_allocate(pcxt->toc, querylen + 1);

		memcpy(q, debug_query_string, querylen + 1);
		shm_toc_insert(pcxt->toc, ANN_PAR_KEY_QUERY, q);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		/* none started: serial, as btree does */
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}
	*nlaunched = pcxt->nworkers_launched;
	ereport(DEBUG1,
			(errmsg_internal("building engram_hnsw index \"%s\" with %d parallel workers",
							 RelationGetRelationName(index), pcxt->nworkers_launched)));

	par_participate(sh, pscan, graph, heap, index, indexInfo, true);
	WaitForParallelWorkersToFinish(pcxt);
	for (i = 0; i < pcxt->nworkers_launched; i++)
		InstrAccumParallelQuery(&bufusage[i], &walusage[i]);

	if (!sh->flushed)
	{
		ParState	ps;

		/* par_getnode needs only these */
		memset(&ps, 0, sizeof(ps));
		ps.sh = sh;
		ps.nodes = (PNode *) graph;
		ps.arena = graph + sh->nodes_size;
		ps.index = index;
		ps.s = sh->s;
		par_flush(&ps);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) sh->indtuples);
	*reltuples = sh->reltuples;
	*indtuples = sh->indtuples;

	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;
}
