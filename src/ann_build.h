/*-------------------------------------------------------------------------
 *
 * ann_build.h
 *	  engram_hnsw: what the serial build (ann_build.c) and the parallel
 *	  build (ann_build_parallel.c) share: the in-memory node layout seen
 *	  by the page writer, link pruning, and writing a graph out.
 *
 * IDENTIFICATION
 *	  src/ann_build.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_ANN_BUILD_H
#define ENGRAM_ANN_BUILD_H

#include "access/parallel.h"
#include "nodes/execnodes.h"

#include "ann.h"

/*
 * One node of an in-memory graph, as the page writer sees it.  Links are
 * node numbers (0..n-1 in insertion order); level 0 has 2m slots, every
 * level above m.
 */
typedef struct BNode
{
	ItemPointerData heaptid;
	uint8		level;
	AnnQVec		q;
	int32	   *nb;				/* level 0: 2m slots, then m per level */
	uint16	   *nbd;			/* distance to each linked node (bf16), same layout */
	uint16	   *cnt;			/* level + 1 counts */
} BNode;

/*
 * Distances kept with the links only steer the pruning heuristic: the upper
 * 16 bits of the float (bfloat16, 8 bits of mantissa, the float's range)
 * are enough and halve what they cost.
 */
static inline uint16
bf16_enc(float f)
{
	uint32		u;

	memcpy(&u, &f, sizeof(u));
	u += 0x7FFF + ((u >> 16) & 1);	/* round to nearest even */
	return (uint16) (u >> 16);
}

static inline float
bf16_dec(uint16 h)
{
	uint32		u = (uint32) h << 16;
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* first link slot of a level in a node's nb/nbd arrays */
static inline int
bnode_offset(const AnnShape *s, int level)
{
	return level == 0 ? 0 : 2 * s->m + (level - 1) * s->m;
}

typedef float (*AnnPairDist) (void *ctx, AnnId a, AnnId b);

/* a graph's node i, either in place or filled into *tmp */
typedef BNode *(*AnnBuildGetNode) (void *arg, int i, BNode *tmp);

/* ann_build.c */
extern void ann_build_link(const AnnShape *s, int level, int32 *nb, uint16 *nbd,
						   uint16 *cnt, int nid, float dist, AnnCand *scratch,
						   AnnCand *sel, AnnPairDist pairdist, void *ctx);
extern void ann_build_flush(Relation index, const AnnShape *s, int nnodes,
							AnnBuildGetNode get, void *arg, int ep, int ep_level,
							const AnnMetaPageData *cmeta);

/* ann_build_parallel.c */
extern int	ann_build_parallel_workers(Relation heap, Relation index);
extern bool ann_build_parallel(Relation heap, Relation index, IndexInfo *indexInfo,
							   AnnShape *s, int efc, int nworkers,
							   double *reltuples, double *indtuples,
							   int *nlaunched);
extern PGDLLEXPORT void ann_build_parallel_main(dsm_segment *seg, shm_toc *toc);

#endif							/* ENGRAM_ANN_BUILD_H */
