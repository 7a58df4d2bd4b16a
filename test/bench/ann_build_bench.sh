#!/usr/bin/env bash
# engram_hnsw build benchmark, serial against parallel, in one run:
#   bash test/bench/ann_build_bench.sh [--quick] [--rows N] [--dims D] [--clusters C]
#                                      [--queries Q] [--rounds R] [--metric cosine|l2]
#
#   (default)  100k x 384 clustered vectors (test/bench/genvec.c), 200 queries, 1 round
#   --quick    10k x 384, 100 queries
#
# Starts its own throwaway cluster (private install, as user postgres when run
# as root; maintenance_work_mem = 1GB) and, R times in turn, builds the same
# engram_hnsw index with max_parallel_maintenance_workers = 0 and = 1
# (min_parallel_table_scan_size = 0), then once more with one worker and the
# default maintenance_work_mem (64MB).  For each build it prints the time, the
# index size, the workers the meta page records and recall@10 at
# engram.ef_search = 40 against exact search, plus the load average before and
# after (the machine may be shared: compare builds of the same run only).
# Writes test/bench/out/ann_build.csv.  A benchmark, never asserts speed.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	out=$here/test/bench/out
	mkdir -p "$out" && chmod 777 "$out"
	run_unprivileged_copy "$here" test/bench/ann_build_bench.sh ENGRAM_BENCH_OUT="$out" ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
rows=100000 dims=384 clusters=1000 queries=200 rounds=1 metric=cosine
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) rows=10000; clusters=100; queries=100 ;;
		--rows) rows=$2; shift ;;
		--dims) dims=$2; shift ;;
		--clusters) clusters=$2; shift ;;
		--queries) queries=$2; shift ;;
		--rounds) rounds=$2; shift ;;
		--metric) metric=$2; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case "$metric" in
	cosine) ops=vector_cosine_ops; op='<=>' ;;
	l2) ops=vector_l2_ops; op='<->' ;;
	*) echo "unknown metric $metric" >&2; exit 2 ;;
esac
out=${ENGRAM_BENCH_OUT:-$here/test/bench/out}
mkdir -p "$out"
work=$here/../annbuildbench
rm -rf "$work"
mkdir -p "$work"

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "ann_build_bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '1GB'
maintenance_work_mem = '1GB'
max_worker_processes = 8
max_parallel_workers = 8
max_parallel_workers_per_gather = 0
jit = off
CONF
export PGOPTIONS="-c search_path=public,engram"
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

q -c "CREATE EXTENSION engram; CREATE EXTENSION pageinspect" || exit 1
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores; data: $rows x $dims, $clusters clusters, $metric, m=16 ef_construction=64"

cc -O2 -o "$work/genvec" test/bench/genvec.c -lm || exit 1
"$work/genvec" "$rows" "$dims" "$clusters" 1 | awk '{ print NR "\t" $0 }' >"$work/base.tsv"
"$work/genvec" "$queries" "$dims" "$clusters" 2 | awk '{ print NR "\t" $0 }' >"$work/queries.tsv"
q -c "CREATE TABLE queries (id int PRIMARY KEY, embedding engram.vector($dims))"
q -c "\\copy queries FROM '$work/queries.tsv'"
q -c "CREATE TABLE base (id int PRIMARY KEY, embedding engram.vector($dims))"
q -c "\\copy base FROM '$work/base.tsv'"
q -c "VACUUM ANALYZE base"
rm -f "$work"/*.tsv
q <<SQL || exit 1
SET enable_indexscan = off;
CREATE TABLE gt AS
  SELECT qq.id AS qid,
         ARRAY(SELECT b.id FROM base b ORDER BY b.embedding $op qq.embedding LIMIT 10) AS ids
  FROM queries qq;
CREATE FUNCTION recall_at_10() RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE total int := 0; r record; got int[];
BEGIN
  SET LOCAL enable_seqscan = off;
  FOR r IN SELECT qid, ids FROM gt ORDER BY qid LOOP
    SELECT array_agg(id) INTO got FROM (SELECT id FROM base
      ORDER BY embedding $op (SELECT embedding FROM queries WHERE id = r.qid) LIMIT 10) s;
    total := total + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (r.ids));
  END LOOP;
  RETURN total::float8 / (10 * (SELECT count(*) FROM gt));
END \$\$;
SQL

csv=$out/ann_build.csv
echo "build,workers_setting,workers_used,maintenance_work_mem,seconds,index_mib,recall_at_10_ef40,load_before,load_after" >"$csv"
build() {	# label workers mwm
	local l0 t0 t1 w size r l1
	l0=$(load)
	t0=$(now)
	q -c "SET max_parallel_maintenance_workers = $2; SET min_parallel_table_scan_size = 0;
	      SET maintenance_work_mem = '$3';
	      CREATE INDEX base_ann ON base USING engram_hnsw (embedding $ops)" || exit 1
	t1=$(now)
	l1=$(load)
	w=$(q -c "SELECT get_byte(p, 58) + 256 * get_byte(p, 59) FROM get_raw_page('base_ann', 0) p")
	size=$(q -c "SELECT pg_relation_size('base_ann')")
	r=$(PGOPTIONS="$PGOPTIONS -c engram.ef_search=40" q -c "SELECT round(recall_at_10()::numeric, 4)")
	q -c "DROP INDEX base_ann"
	printf '  %-26s %8s s  %7s MiB  workers %s  recall@10 %s  (load %s -> %s)\n' "$1" \
		"$(fmt "$(echo "$t1 - $t0" | bc -l)")" "$(fmt "$(echo "$size / 1048576" | bc -l)")" "$w" "$r" "$l0" "$l1"
	echo "$1,$2,$w,$3,$(echo "$t1 - $t0" | bc -l),$(echo "$size / 1048576" | bc -l),$r,$l0,$l1" >>"$csv"
}
for ((i = 1; i <= rounds; i++)); do
	build "serial (round $i)" 0 1GB
	build "1 worker (round $i)" 1 1GB
done
build "1 worker, mwm 64MB" 1 64MB
echo "ann_build_bench: results in $csv"
