#!/usr/bin/env bash
# engram_hnsw benchmark:  bash test/bench/ann_bench.sh [--quick] [options]
#
#   --quick        10k x 384 vectors, 100 clusters, 100 queries, 3 s per QPS point
#   (default)      100k x 384 vectors, 1000 clusters, 500 queries, 10 s per point
#   --rows N --dims D --clusters C --queries Q --duration S   override
#
# Starts its own throwaway cluster (private install, as user postgres when run
# as root), generates clustered unit vectors with test/bench/genvec.c and
# measures, in one run:
#   - exact search on a heap table (the baseline): queries/s;
#   - CREATE INDEX ... USING engram_hnsw (vector_cosine_ops): time, size;
#   - recall@10 against exact search and queries/s (1 client, p50/p99) for
#     engram.ef_search 10, 20, 40, 80, 160;
#   - single-row INSERTs into an indexed table: rows/s;
#   - the same index on engram's table AM (when installed): build and recall.
# Prints a table and writes test/bench/out/ann_results.csv.  A benchmark,
# not a test: it checks that results are complete but never asserts speed.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	out=$here/test/bench/out
	mkdir -p "$out" && chmod 777 "$out"
	run_unprivileged_copy "$here" test/bench/ann_bench.sh ENGRAM_BENCH_OUT="$out" ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
rows=100000 dims=384 clusters=1000 queries=500 duration=10 quick=0
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) quick=1; rows=10000; clusters=100; queries=100; duration=3 ;;
		--rows) rows=$2; shift ;;
		--dims) dims=$2; shift ;;
		--clusters) clusters=$2; shift ;;
		--queries) queries=$2; shift ;;
		--duration) duration=$2; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
out=${ENGRAM_BENCH_OUT:-$here/test/bench/out}
mkdir -p "$out"
work=$here/../annbench
rm -rf "$work"
mkdir -p "$work"

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "ann_bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '$([ $quick = 1 ] && echo 256MB || echo 1GB)'
maintenance_work_mem = '$([ $quick = 1 ] && echo 256MB || echo 1GB)'
work_mem = '64MB'
max_parallel_workers_per_gather = 0
max_parallel_maintenance_workers = 0
jit = off
CONF
export PGOPTIONS="-c search_path=public,engram"
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }

q -c "CREATE EXTENSION engram" || exit 1
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "postgres: $(q -c 'SHOW server_version')"
	echo "data: $rows x $dims dims, $clusters clusters, $queries queries; index m=16 ef_construction=64"
} | tee "$out/ann_machine.txt"

csv=$out/ann_results.csv
echo "subject,metric,value,unit" >"$csv"
record() {	# subject metric value unit
	echo "$1,$2,$3,$4" >>"$csv"
	printf '  %-34s %-20s %14s %s\n' "$1" "$2" "$3" "$4"
}

echo "ann_bench: generating data..."
cc -O2 -o "$work/genvec" test/bench/genvec.c -lm || exit 1
"$work/genvec" "$rows" "$dims" "$clusters" 1 | awk '{ print NR "\t" $0 }' >"$work/base.tsv"
"$work/genvec" "$queries" "$dims" "$clusters" 2 | awk '{ print NR "\t" $0 }' >"$work/queries.tsv"
q -c "CREATE TABLE queries (id int PRIMARY KEY, embedding engram.vector($dims))"
q -c "\\copy queries FROM '$work/queries.tsv'"
q -c "CREATE TABLE base (id int PRIMARY KEY, embedding engram.vector($dims))"
q -c "\\copy base FROM '$work/base.tsv'"
q -c "VACUUM ANALYZE base"
q -c "VACUUM ANALYZE queries"
n=$(q -c "SELECT count(*) FROM base")
[ "$n" = "$rows" ] || { echo "ann_bench: loaded $n rows, expected $rows"; exit 1; }

# ---- exact baseline ----
echo "ann_bench: exact search baseline"
q <<SQL
SET enable_indexscan = off;
CREATE TABLE gt AS
  SELECT qq.id AS qid,
         ARRAY(SELECT b.id FROM base b ORDER BY b.embedding <=> qq.embedding LIMIT 10) AS ids
  FROM queries qq;
CREATE FUNCTION recall_at_10(tbl regclass) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE total int := 0; r record; got int[];
BEGIN
  SET LOCAL enable_seqscan = off;
  FOR r IN SELECT qid, ids FROM gt ORDER BY qid LOOP
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = \$1) LIMIT 10) s', tbl)
      INTO got USING r.qid;
    IF cardinality(got) IS DISTINCT FROM 10 THEN
      RAISE EXCEPTION 'query % returned % rows', r.qid, cardinality(got);
    END IF;
    total := total + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (r.ids));
  END LOOP;
  RETURN total::float8 / (10 * (SELECT count(*) FROM gt));
END \$\$;
SQL
qps() {	# table settings -> "tps p50 p99"
	cat >"$work/q.sql" <<SQL
\\set q random(1, $queries)
SELECT id FROM $1 ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = :q) LIMIT 10;
SQL
	rm -f "$work"/lat.*
	local tps
	tps=$(PGOPTIONS="$PGOPTIONS ${2:-}" pgbench -n -c 1 -j 1 -T "$duration" -f "$work/q.sql" -l --log-prefix="$work/lat" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	local lat
	lat=$(cat "$work"/lat.* | awk '{ print $3 / 1000 }' | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.2f %.2f", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1] }')
	echo "$tps $lat"
}
read -r tps p50 p99 <<<"$(qps base "-c enable_indexscan=off")"
record "heap exact scan" "qps (1 client)" "$(fmt "$tps")" "q/s (p50 $p50 ms, p99 $p99 ms)"
echo "subject,ef_search,recall,qps,p50_ms,p99_ms" >"$out/ann_recall_qps.csv"
echo "heap exact,,1.0,$tps,$p50,$p99" >>"$out/ann_recall_qps.csv"

# ---- index ----
echo "ann_bench: build"
t0=$(now); q -c "CREATE INDEX base_ann ON base USING engram_hnsw (embedding vector_cosine_ops)"; t1=$(now)
record "engram_hnsw on heap" "build" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" s
size=$(q -c "SELECT pg_relation_size('base_ann')")
record "engram_hnsw on heap" "index size" "$(fmt "$(echo "$size / 1048576" | bc -l)")" \
	"MiB ($(fmt "$(echo "$size / $rows" | bc -l)") bytes/vector)"
record "heap table" "table size" "$(fmt "$(echo "$(q -c "SELECT pg_table_size('base')") / 1048576" | bc -l)")" MiB

echo "ann_bench: recall and throughput"
for ef in 10 20 40 80 160; do
	r=$(PGOPTIONS="$PGOPTIONS -c engram.ef_search=$ef" q -c "SELECT round(recall_at_10('base')::numeric, 4)")
	read -r tps p50 p99 <<<"$(qps base "-c engram.ef_search=$ef")"
	record "engram_hnsw ef_search=$ef" "recall@10 / qps" "$r / $(fmt "$tps")" "q/s (p50 $p50 ms, p99 $p99 ms)"
	echo "engram_hnsw,$ef,$r,$tps,$p50,$p99" >>"$out/ann_recall_qps.csv"
done

# ---- inserts into an indexed table ----
echo "ann_bench: inserts"
ins=$([ $quick = 1 ] && echo 1000 || echo 5000)
q -c "CREATE TABLE ins (id int, embedding engram.vector($dims));
      INSERT INTO ins SELECT id, embedding FROM base WHERE id <= $((rows / 10));
      CREATE INDEX ON ins USING engram_hnsw (embedding vector_cosine_ops)"
cat >"$work/insert.sql" <<SQL
\\set id random(1, $rows)
INSERT INTO ins SELECT id, embedding FROM base WHERE id = :id;
SQL
q -c "CREATE TABLE ins_plain (id int, embedding engram.vector($dims))"
sed 's/INTO ins /INTO ins_plain /' "$work/insert.sql" >"$work/insert_plain.sql"
tps=$(pgbench -n -c 1 -t "$ins" -f "$work/insert_plain.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
record "heap insert, no index (1 row/txn)" "rows/s" "$(fmt "$tps")" "rows/s (commit/fsync bound baseline)"
tps=$(pgbench -n -c 1 -t "$ins" -f "$work/insert.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
record "engram_hnsw insert (1 row/txn)" "rows/s" "$(fmt "$tps")" "rows/s (index of $((rows / 10))+ rows)"
t0=$(now); q -c "INSERT INTO ins SELECT id, embedding FROM base WHERE id > $((rows - rows / 10))"; t1=$(now)
record "engram_hnsw insert (one statement)" "rows/s" "$(fmt "$(echo "($rows / 10) / ($t1 - $t0)" | bc -l)")" "rows/s ($((rows / 10)) rows in one INSERT)"

# ---- engram table AM ----
if [ "$(q -c "SELECT count(*) FROM pg_am WHERE amname = 'engram' AND amtype = 't'")" = 1 ]; then
	echo "ann_bench: engram table AM"
	q -c "CREATE TABLE base_engram (id int, embedding engram.vector($dims)) USING engram;
	      INSERT INTO base_engram SELECT * FROM base"
	t0=$(now); q -c "CREATE INDEX base_engram_ann ON base_engram USING engram_hnsw (embedding vector_cosine_ops)"; t1=$(now)
	record "engram_hnsw on engram AM" "build" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" s
	r=$(PGOPTIONS="$PGOPTIONS -c engram.ef_search=40" q -c "SELECT round(recall_at_10('base_engram')::numeric, 4)")
	record "engram_hnsw on engram AM" "recall@10 ef=40" "$r" ""
fi
echo "ann_bench: results in $csv"
