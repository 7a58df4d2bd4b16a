#!/usr/bin/env bash
# engram benchmark suite:  make bench   (or: bash test/bench/run.sh [options])
#
#   --quick            small sizes, runs in CI (a couple of minutes)
#   --rows N           base vectors (default 100000)
#   --dims D           dimensions (default 384)
#   --clusters C       clusters of the generator (default 1000)
#   --queries Q        query vectors (default 500)
#   --duration S       seconds per throughput measurement (default 15)
#
# Starts its own throwaway cluster (private install, as user postgres when run
# as root), generates clustered unit vectors with test/bench/genvec.c, and
# measures engram against a heap table with exact search on the same data in
# the same run; test/bench/ann_bench.sh (run at the end, own cluster) adds
# pgvector's hnsw beside engram_hnsw when pgvector is installed.  Prints a table, writes results.csv, machine.txt and
# recall_qps.png (when gnuplot is present) to test/bench/out/.
# A benchmark, not a test: it checks results (counts, recall computed) but
# never asserts speed.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	out=$here/test/bench/out
	mkdir -p "$out" && chmod 777 "$out"
	run_unprivileged_copy "$here" test/bench/run.sh ENGRAM_BENCH_OUT="$out" ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
rows=100000 dims=384 clusters=1000 queries=500 duration=15 quick=0
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) quick=1; rows=5000; dims=64; clusters=50; queries=50; duration=3 ;;
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
work=$here/../bench
rm -rf "$work"
mkdir -p "$work"

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

# ---- cluster ----
bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '$([ $quick = 1 ] && echo 128MB || echo 2GB)'
maintenance_work_mem = '$([ $quick = 1 ] && echo 64MB || echo 1GB)'
work_mem = '64MB'
wal_level = replica
max_parallel_workers_per_gather = 0
jit = off
CONF
# A failed query marks the run as failed (also from inside $(...)).
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@" || { touch "$work/failed"; echo "bench: query failed: $*" >&2; return 1; }; }
now() { date +%s.%N; }
# pgb ARGS...: run pgbench, print its tps; a failed run marks the bench failed
pgb() {
	local v
	v=$(pgbench "$@" 2>"$work/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	[ -n "$v" ] || { touch "$work/failed"; cat "$work/pgbench.err" >&2; v=0; }
	echo "$v"
}
fmt() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
has() { [ "$(q -c "SELECT $1")" = "t" ]; }

q -c "CREATE EXTENSION engram" || exit 1
q -c "ALTER DATABASE postgres SET search_path = public, engram"
pgver=$(q -c "SHOW server_version")
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores"
	echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
	echo "postgres: $pgver"
	echo "data: $rows x $dims dims, $clusters clusters, $queries queries"
} | tee "$out/machine.txt"

csv=$out/results.csv
echo "phase,subject,metric,value,unit" >"$csv"
record() {	# phase subject metric value unit
	echo "$1,$2,$3,$4,$5" >>"$csv"
	printf '  %-10s %-28s %-22s %14s %s\n' "$1" "$2" "$3" "$4" "$5"
}

# ---- data ----
echo "bench: generating data..."
cc -O2 -o "$work/genvec" test/bench/genvec.c -lm || exit 1
"$work/genvec" "$rows" "$dims" "$clusters" 1 | awk '{ print NR "\t" $0 }' >"$work/base.tsv"
"$work/genvec" "$queries" "$dims" "$clusters" 2 | awk '{ print NR "\t" $0 }' >"$work/queries.tsv"
# text memories: sentences from a fixed vocabulary, deterministic
awk -v n="$rows" 'BEGIN {
	split("agent user meeting project deadline coffee berlin paris model memory recall vector index server backup failover sleep music garden river mountain train ticket budget invoice design review bug release customer support weather", w, " ");
	srand(7);
	for (i = 1; i <= n; i++) {
		s = "";
		for (j = 0; j < 30; j++) s = s (j ? " " : "") w[int(rand() * 31) + 1];
		print i "\t" s;
	}
}' >"$work/text.tsv"

q -c "CREATE TABLE queries (id int PRIMARY KEY, embedding engram.vector)"
q -c "\\copy queries FROM '$work/queries.tsv'"

# ---- ingest ----
echo "bench: ingest"
for am in heap engram; do
	q -c "CREATE TABLE base_$am (id int, embedding engram.vector) USING $am"
	t0=$(now); q -c "\\copy base_$am FROM '$work/base.tsv'"; t1=$(now)
	n=$(q -c "SELECT count(*) FROM base_$am")
	[ "$n" = "$rows" ] || { echo "bench: COPY into $am loaded $n rows, expected $rows"; exit 1; }
	record ingest "$am" "copy" "$(fmt "$(echo "$rows / ($t1 - $t0)" | bc -l)")" rows/s
done
q -c "CREATE UNIQUE INDEX ON base_heap (id)"
ins=$([ $quick = 1 ] && echo 500 || echo 5000)
cat >"$work/insert.sql" <<SQL
\\set id random(1, $rows)
INSERT INTO ins_target SELECT id, embedding FROM base_heap WHERE id = :id;
SQL
for am in heap engram; do
	q -c "DROP TABLE IF EXISTS ins_target; CREATE TABLE ins_target (id int, embedding engram.vector) USING $am"
	tps=$(pgb -n -c 1 -t "$ins" -f "$work/insert.sql")
	record ingest "$am" "insert (1 row/txn)" "$(fmt "$tps")" rows/s
done
if has "to_regproc('engram.remember') IS NOT NULL"; then
	cat >"$work/remember.sql" <<SQL
\\set id random(1, $rows)
SELECT engram.remember('memory number ' || :id, (SELECT embedding FROM base_heap WHERE id = :id));
SQL
	tps=$(pgb -n -c 1 -t "$ins" -f "$work/remember.sql")
	record ingest "engram.remember" "remember (1/txn)" "$(fmt "$tps")" rows/s
fi

# ---- sequential scans ----
echo "bench: scans"
for am in heap engram; do
	best=999999
	for i in 1 2 3; do
		t0=$(now); q -c "SELECT count(*) FROM base_$am WHERE embedding IS NOT NULL" >/dev/null; t1=$(now)
		best=$(echo "if ($t1 - $t0 < $best) $t1 - $t0 else $best" | bc -l)
	done
	record scan "$am" "seq scan" "$(fmt "$(echo "$rows / $best" | bc -l)")" rows/s
	record footprint "$am (vectors only)" "table bytes" "$(q -c "SELECT pg_table_size('base_$am')")" bytes
done

# ---- recall: exact ----
echo "bench: recall"
q <<SQL
CREATE TABLE gt AS
  SELECT qq.id AS qid,
         ARRAY(SELECT b.id FROM base_heap b ORDER BY b.embedding <=> qq.embedding LIMIT 10) AS ids
  FROM queries qq;
CREATE FUNCTION recall_at_10(tbl regclass) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE total int := 0; r record; got int[];
BEGIN
  FOR r IN SELECT qid, ids FROM gt ORDER BY qid LOOP
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = \$1) LIMIT 10) s', tbl)
      INTO got USING r.qid;
    total := total + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (r.ids));
  END LOOP;
  RETURN total::float8 / (10 * (SELECT count(*) FROM gt));
END \$\$;
SQL
qps() {	# table clients [settings]
	cat >"$work/q.sql" <<SQL
\\set q random(1, $queries)
SELECT id FROM $1 ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = :q) LIMIT 10;
SQL
	PGOPTIONS="${3:-}" pgb -n -c "$2" -j "$2" -T "$duration" -f "$work/q.sql" -l --log-prefix="$work/lat"
}
latency() {	# p50 and p99 in ms from the last pgbench log files
	cat "$work"/lat.* | awk '{ print $3 / 1000 }' | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.2f %.2f", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1] }'
	rm -f "$work"/lat.*
}
echo "subject,clients,ef_search,recall,qps,p50_ms,p99_ms" >"$out/recall_qps.csv"
for am in heap engram; do
	for c in 1 2; do
		v=$(qps "base_$am" $c "-c enable_indexscan=off"); read -r p50 p99 <<<"$(latency)"
		record recall "$am exact, $c client(s)" "qps" "$(fmt "$v")" "q/s (p50 $p50 ms, p99 $p99 ms)"
		echo "$am exact,$c,,1.0,$v,$p50,$p99" >>"$out/recall_qps.csv"
	done
done

# ---- recall: ANN index ----
annam=$(q -c "SELECT amname FROM pg_am WHERE amtype = 'i' AND amname LIKE 'engram%' ORDER BY 1 LIMIT 1")
if [ -n "$annam" ]; then
	for am in heap engram; do
		t0=$(now); q -c "CREATE INDEX base_${am}_ann ON base_$am USING $annam (embedding engram.vector_cosine_ops)"; t1=$(now)
		record index "$annam on $am" "build" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" s
		record index "$annam on $am" "size" "$(q -c "SELECT pg_relation_size('base_${am}_ann')")" bytes
	done
	for ef in 10 20 40 80 160; do
		r=$(PGOPTIONS="-c engram.ef_search=$ef" q -c "SELECT round(recall_at_10('base_engram')::numeric, 4)")
		for c in 1 2; do
			v=$(qps base_engram $c "-c engram.ef_search=$ef"); read -r p50 p99 <<<"$(latency)"
			record recall "$annam ef=$ef, $c client(s)" "recall@10 / qps" "$r / $(fmt "$v")" "q/s (p50 $p50 ms, p99 $p99 ms)"
			echo "$annam,$c,$ef,$r,$v,$p50,$p99" >>"$out/recall_qps.csv"
		done
	done
	q -c "DROP TABLE IF EXISTS ins_target; CREATE TABLE ins_target (id int, embedding engram.vector) USING engram;
	      CREATE INDEX ON ins_target USING $annam (embedding engram.vector_cosine_ops)"
	q -c "INSERT INTO ins_target SELECT id, embedding FROM base_heap WHERE id <= $((rows / 10))"
	tps=$(pgb -n -c 1 -t "$ins" -f "$work/insert.sql")
	record ingest "engram + $annam" "insert (1 row/txn)" "$(fmt "$tps")" rows/s
else
	echo "bench: no engram index access method installed; ANN phase skipped"
fi

# ---- the memory API: engram.recall with and without the ANN index ----
if has "to_regproc('engram.recall') IS NOT NULL"; then
	echo "bench: engram.recall"
	q -c "CREATE TABLE text_src (id int, content text)"
	q -c "\\copy text_src FROM '$work/text.tsv'"
	t0=$(now)
	q -c "INSERT INTO engram.memory (space, content, embedding)
	      SELECT 'default', t.content, b.embedding FROM text_src t JOIN base_heap b USING (id) ORDER BY id"
	t1=$(now)
	record ingest "engram.memory" "INSERT ... SELECT" "$(fmt "$(echo "$rows / ($t1 - $t0)" | bc -l)")" rows/s
	cat >"$work/recall.sql" <<SQL
\\set q random(1, $queries)
SELECT count(*) FROM engram.recall((SELECT embedding FROM queries WHERE id = :q), 10);
SQL
	cat >"$work/recall_text.sql" <<SQL
\\set w random(1, 8)
SELECT count(*) FROM engram.recall(NULL, 10, cue_text => (ARRAY['coffee','berlin','budget','river','failover','music','invoice','garden'])[:w]);
SQL
	v=$(PGOPTIONS="-c enable_indexscan=off" pgb -n -c 1 -T "$duration" -f "$work/recall.sql")
	record recall "engram.recall exact" "qps" "$(fmt "$v")" "q/s (1 client)"
	if [ -n "$annam" ]; then
		t0=$(now); q -c "CREATE INDEX memory_embedding_ann ON engram.memory USING $annam (embedding engram.vector_cosine_ops)"; t1=$(now)
		record index "$annam on engram.memory" "build" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" s
		v=$(pgb -n -c 1 -T "$duration" -f "$work/recall.sql")
		record recall "engram.recall with $annam" "qps" "$(fmt "$v")" "q/s (1 client, ef_search default)"
	fi
	v=$(pgb -n -c 1 -T "$duration" -f "$work/recall_text.sql")
	record recall "engram.recall text cue" "qps" "$(fmt "$v")" "q/s (1 client, GIN full-text)"
	q -c "TRUNCATE engram.memory CASCADE"
else
	q -c "CREATE TABLE text_src (id int, content text)"
	q -c "\\copy text_src FROM '$work/text.tsv'"
fi

# ---- footprint per tier: text + embedding memories ----
echo "bench: tiers"
for am in heap engram; do
	q -c "CREATE TABLE mem_$am (id int, content text, embedding engram.vector) USING $am;
	      INSERT INTO mem_$am SELECT t.id, t.content, b.embedding FROM text_src t JOIN base_heap b USING (id)"
done
heapbytes=$(q -c "SELECT pg_table_size('mem_heap')")
record footprint "heap (text+vector)" "bytes/row" "$(fmt "$(echo "$heapbytes / $rows" | bc -l)")" bytes
if has "to_regproc('engram.migrate') IS NOT NULL"; then
	sum0=$(q -c "SELECT md5(string_agg(id || content || embedding::text, ',' ORDER BY id)) FROM mem_engram")
	for tier in hot warm cold; do
		t0=$(now); q -c "SELECT * FROM engram.migrate('mem_engram', NULL, '$tier')" >/dev/null; t1=$(now)
		sum=$(q -c "SELECT md5(string_agg(id || content || embedding::text, ',' ORDER BY id)) FROM mem_engram")
		[ "$sum" = "$sum0" ] || { echo "bench: contents changed after migrating to $tier"; exit 1; }
		# on-disk bytes of the whole relation (pages, FSM, VM, TOAST), as for heap
		b=$(q -c "SELECT pg_table_size('mem_engram')")
		raw=$(q -c "SELECT coalesce(sum(raw_bytes), 0) FROM engram.tier_stats('mem_engram')")
		record footprint "engram $tier (text+vector)" "bytes/row" "$(fmt "$(echo "$b / $rows" | bc -l)")" \
			"bytes ($(awk -v r="$(echo "$b / $heapbytes" | bc -l)" 'BEGIN { printf "%.2f", r }') x heap's table)"
		record tiers "migrate to $tier" "throughput" "$(fmt "$(echo "$raw / 1048576 / ($t1 - $t0)" | bc -l)")" MB/s
		best=999999
		for i in 1 2 3; do
			t0=$(now); q -c "SELECT count(*) FROM mem_engram WHERE length(content) > 0" >/dev/null; t1=$(now)
			best=$(echo "if ($t1 - $t0 < $best) $t1 - $t0 else $best" | bc -l)
		done
		record tiers "scan of $tier rows" "read" "$(fmt "$(echo "$rows / $best" | bc -l)")" rows/s
	done
	# VACUUM FULL keeps the tiers and packs the table
	q -c "VACUUM FULL mem_engram"
	b=$(q -c "SELECT pg_table_size('mem_engram')")
	record footprint "engram cold after VACUUM FULL (text+vector)" "bytes/row" "$(fmt "$(echo "$b / $rows" | bc -l)")" \
		"bytes ($(awk -v r="$(echo "$b / $heapbytes" | bc -l)" 'BEGIN { printf "%.2f", r }') x heap's table)"
else
	b=$(q -c "SELECT pg_table_size('mem_engram')")
	record footprint "engram hot (text+vector)" "bytes/row" "$(fmt "$(echo "$b / $rows" | bc -l)")" bytes
	echo "bench: engram.migrate not installed; tier phase skipped"
fi

# ---- recovery after kill -9 ----
echo "bench: recovery"
q -c "CHECKPOINT"
lsn0=$(q -c "SELECT pg_current_wal_lsn()")
q -c "CREATE TABLE rec (id int, content text, embedding engram.vector) USING engram;
      INSERT INTO rec SELECT * FROM mem_heap; INSERT INTO rec SELECT * FROM mem_heap"
lsn1=$(q -c "SELECT pg_current_wal_lsn()")
walbytes=$(q -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")
# A crash of the whole server: SIGKILL the postmaster and all its children.
pid=$(head -1 "$data/postmaster.pid")
pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
kill -9 $pids
for p in $pids; do
	while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
done
t0=$(now)
pg_ctl -D "$data" -l "$work/server.log" -w -t 900 start >/dev/null || { tail "$work/server.log"; exit 1; }
q -c "SELECT 1" >/dev/null
t1=$(now)
n=$(q -c "SELECT count(*) FROM rec")
[ "$n" = "$((2 * rows))" ] || { echo "bench: after crash recovery rec has $n rows, expected $((2 * rows))"; exit 1; }
secs=$(echo "$t1 - $t0" | bc -l)
record recovery "kill -9, $(fmt "$(echo "$walbytes / 1048576" | bc -l)") MB WAL" "restart to first query" "$(fmt "$secs")" s
record recovery "replay rate" "seconds per GB of WAL" "$(fmt "$(echo "$secs / ($walbytes / 1073741824)" | bc -l)")" s/GB

# ---- engram_hnsw beside pgvector hnsw (own cluster; pgvector only when installed) ----
echo "bench: ANN indexes beside pgvector (test/bench/ann_bench.sh)"
ENGRAM_BENCH_ARGS="$([ $quick = 1 ] && echo --quick || echo "--rows $rows --dims $dims --clusters $clusters --queries $queries")" \
	ENGRAM_BENCH_OUT="$out" bash test/bench/ann_bench.sh --inner || touch "$work/failed"

# ---- plot ----
if command -v gnuplot >/dev/null 2>&1 && [ -n "$annam" ]; then
	grep "^$annam,1," "$out/recall_qps.csv" | awk -F, '{ print $4, $5 }' >"$work/ann.dat"
	grep "^heap exact,1," "$out/recall_qps.csv" | awk -F, '{ print $4, $5 }' >"$work/exact.dat"
	# measured by ann_bench.sh in this run (empty when pgvector is not installed)
	awk -F, '$1 == "synthetic" && $2 == "pgvector hnsw" && $5 != "" { print $4, $5 }' \
		"$out/ann_recall_qps.csv" >"$work/pgvector.dat" 2>/dev/null
	pgvplot=
	[ -s "$work/pgvector.dat" ] && pgvplot=", '$work/pgvector.dat' using 1:2 with linespoints pt 6 title 'pgvector hnsw (ann_bench.sh, same data shape, this run)'"
	gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output '$out/recall_qps.png'
set title 'engram: recall@10 vs queries/s, 1 client ($rows x $dims)'
set xlabel 'recall@10'
set ylabel 'queries per second'
set logscale y
set grid
plot '$work/ann.dat' using 1:2 with linespoints title '$annam (ef_search 10..160)', \
     '$work/exact.dat' using 1:2 with points pt 7 ps 1.5 title 'heap exact scan'$pgvplot
GP
	[ -f "$out/recall_qps.png" ] && echo "bench: plot written to $out/recall_qps.png"
fi
# ---- the memory API beside the raw index query (own cluster) ----
echo "bench: memory API (test/bench/memory_bench.sh)"
ENGRAM_BENCH_ARGS="$([ $quick = 1 ] && echo --quick)" ENGRAM_BENCH_OUT="$out" \
	bash test/bench/memory_bench.sh --inner || touch "$work/failed"

echo "bench: results in $out/results.csv"
if [ -e "$work/failed" ]; then
	echo "bench: FAILED (a query or pgbench run failed, see above)"
	exit 1
fi
