#!/usr/bin/env bash
# ANN benchmark, engram_hnsw beside pgvector's hnsw in one run:
#   bash test/bench/ann_bench.sh [--quick] [options]     (also run by make bench)
#
#   --quick          tiny sizes for make test (3,000 x 16 synthetic, 2,000 words
#                    x 16 from 4 MB of text, 30 queries, 50 queries per
#                    throughput point, ef_search 10/40/160): checks that every figure is produced
#                    and sane, in seconds; no timing is asserted
#   (default)        synthetic 100,000 x 384 (1,000 clusters) and 100,000 word
#                    vectors x 100 dims, 500 queries each, 8 s per point
#   --rows N --dims D --clusters C   the synthetic set (test/bench/genvec.c)
#   --words N --word-dims D          the word-vector set (test/bench/genwords.c;
#                                    --words 0 skips it, --rows 0 the synthetic)
#   --queries Q --duration S         queries per corpus, seconds per point
#
# Starts its own throwaway cluster (private install, as user postgres when run
# as root).  engram lives in database "postgres"; pgvector, when the server
# has it (pg_available_extensions), in database "pgv", so that no backend
# loads both libraries (PG 15 modules export their symbols and both define
# vector_in, vector_cmp, ...).  Both get the same rows from the same files.
# For each corpus it measures, one client, one backend at a time:
#   - exact search on the heap table (the baseline) and the ground truth:
#     top 10 by cosine distance, also under WHERE f100 = 0 (1% of rows) and
#     WHERE f1000 = 0 (0.1%);
#   - per index (engram_hnsw, pgvector hnsw; m=16, ef_construction=64 both):
#     build time with max_parallel_maintenance_workers 0 and 1, index size
#     (pg_relation_size), recall@10 over an ef_search sweep and queries/s
#     (pgbench, p50/p99) at the sweep's points, from which the cheapest
#     setting reaching recall 0.95 and 0.99 is picked and reported;
#   - filtered queries (WHERE f... = 0 ORDER BY <=> LIMIT 10) at the ef_search
#     picked for 0.95: recall against the exact filtered top 10 and rows
#     returned per query (first 100 queries), with default settings (an
#     error, such as engram's ann_max_scan_tuples cap, is recorded as the
#     figure) and widened: pgvector with hnsw.iterative_scan = strict_order,
#     engram with engram.ann_max_scan_tuples = the table's rows;
#   - single-row INSERTs (1 row per transaction) into an indexed table and
#     one INSERT ... SELECT of a tenth of the rows: rows/s.
# Writes ann_results.csv, ann_recall_qps.csv, ann_machine.txt and
# ann_summary.txt (engram / pgvector ratios beside issue 21's goals) to
# test/bench/out/ (or $ENGRAM_BENCH_OUT).  A benchmark, not a test: it fails
# when a figure is missing or insane (recall outside [0,1], an index scan
# that returns no rows, a plan without the index), never on speed.
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
rows=100000 dims=384 clusters=1000 queries=500 duration=8 quick=0
words=100000 wdims=100
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) quick=1; rows=3000; dims=16; clusters=20; queries=30; words=2000; wdims=16 ;;
		--rows) rows=$2; shift ;;
		--dims) dims=$2; shift ;;
		--clusters) clusters=$2; shift ;;
		--words) words=$2; shift ;;
		--word-dims) wdims=$2; shift ;;
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
shared_buffers = '$([ $quick = 1 ] && echo 128MB || echo 1GB)'
maintenance_work_mem = '$([ $quick = 1 ] && echo 128MB || echo 1GB)'
work_mem = '64MB'
max_parallel_workers_per_gather = 0
max_parallel_maintenance_workers = 0
min_parallel_table_scan_size = 0
jit = off
CONF
export PGOPTIONS="-c search_path=public,engram -c client_min_messages=warning"
# a failure marks the run as failed, also from inside $(...)
fail() { echo "ann_bench: FAILED: $*" >&2; touch "$work/failed"; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@" || { fail "query: $*"; return 1; }; }
qv() { PGDATABASE=pgv q "$@"; }
now() { date +%s.%N; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# each throughput point: a fixed number of queries in quick mode, seconds otherwise
if [ $quick = 1 ]; then pgblen="-t 50"; ins=50; else pgblen="-T $duration"; ins=2000; fi
# filtered queries are slow for both indexes: their recall is taken over the
# first 100 queries only

q -c "CREATE EXTENSION engram" || exit 1
pgv=0
if [ "$(q -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" = 1 ]; then
	q -c "CREATE DATABASE pgv" && qv -c "CREATE EXTENSION vector" && pgv=1
fi
pgvver=$([ $pgv = 1 ] && qv -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
	echo "load average at start: $(load)"
	echo "postgres: $(q -c 'SHOW server_version')"
	echo "engram: $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'engram'")"
	if [ $pgv = 1 ]; then echo "pgvector: $pgvver (database pgv)"; else echo "pgvector: not installed"; fi
	echo "synthetic: $rows x $dims dims, $clusters clusters; words: $words x $wdims dims; $queries queries each"
	echo "indexes: m=16 ef_construction=64, cosine; one client; $([ $quick = 1 ] && echo "$pgblen" || echo "${duration}s") per throughput point"
} | tee "$out/ann_machine.txt"
[ $pgv = 1 ] || echo "ann_bench: pgvector: not installed (engram_hnsw is measured against heap exact only)"

csv=$out/ann_results.csv
echo "corpus,subject,metric,value,unit,note" >"$csv"
record() {	# corpus subject metric value unit [note]
	echo "$1,$2,$3,$4,$5,${6:-}" >>"$csv"
	printf '  %-9s %-24s %-26s %12s %-8s %s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}"
}
get() {	# corpus subject metric -> value (empty when absent)
	awk -F, -v c="$1" -v s="$2" -v m="$3" '$1 == c && $2 == s && $3 == m { v = $4 } END { print v }' "$csv"
}
rqcsv=$out/ann_recall_qps.csv
echo "corpus,subject,ef_search,recall,qps,p50_ms,p99_ms" >"$rqcsv"
cc -O2 -o "$work/genvec" test/bench/genvec.c -lm || exit 1
cc -O2 -o "$work/genwords" test/bench/genwords.c -lm || exit 1

# text of the word-vector corpus: what a Debian 12 system has under /usr/share
# (manual pages without roff requests, copyright files and change logs, Perl
# documentation), in a fixed order; the quick mode reads its first 4 MB
corpus_text() {
	{
		find /usr/share/man -path '/usr/share/man/man[1-8]/*' -name '*.gz' | LC_ALL=C sort |
			xargs -r zcat -f 2>/dev/null | grep -av '^[.'"'"']'
		find /usr/share/doc -type f \( -name copyright -o -name '*.gz' \) | LC_ALL=C sort |
			xargs -r zcat -f 2>/dev/null
		find /usr/share/perl /usr/share/perl5 -type f \( -name '*.pm' -o -name '*.pod' \) 2>/dev/null |
			LC_ALL=C sort | xargs -r cat
	} | if [ $quick = 1 ]; then head -c 4000000; else cat; fi
}

# bench_corpus NAME DIMS VECTOR-FILE: the whole comparison on one data set.
# VECTOR-FILE has one vector per line; every (lines / queries)-th line is a
# query and is left out of the base table.
bench_corpus() {
	local c=$1 d=$2 vf=$3
	local n nq step
	n=$(wc -l <"$vf")
	step=$((n / queries))
	[ $step -ge 2 ] || { fail "$c: $n vectors are too few for $queries queries"; return 1; }
	awk -v s=$step -v b="$work/$c.base" -v qf="$work/$c.queries" '
		NR % s == 0 && ++nq <= '"$queries"' { print nq "\t" $0 > qf; next }
		{ ++id; print id "\t" (id * 7919) % 100 "\t" (id * 7919) % 1000 "\t" $0 > b }' "$vf"
	n=$(wc -l <"$work/$c.base")
	nq=$(wc -l <"$work/$c.queries")
	echo "ann_bench: corpus $c: $n base vectors, $nq queries, $d dims (load $(load))"
	record "$c" data rows "$n" rows "$nq queries; $d dims; load $(load)"

	local dbs="q" db
	[ $pgv = 1 ] && dbs="q qv"
	for db in $dbs; do
		local vt=engram.vector
		[ $db = qv ] && vt=public.vector
		$db <<SQL || return 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS base, queries, ins, ins_plain, gt, gt_f100, gt_f1000;
CREATE TABLE queries (id int PRIMARY KEY, embedding $vt($d));
\\copy queries FROM '$work/$c.queries'
CREATE TABLE base (id int PRIMARY KEY, f100 int NOT NULL, f1000 int NOT NULL, embedding $vt($d));
\\copy base FROM '$work/$c.base'
VACUUM ANALYZE base;
VACUUM ANALYZE queries;
CREATE OR REPLACE FUNCTION bench_recall(sql text, gt regclass, OUT recall float8, OUT rows_per_query float8)
LANGUAGE plpgsql AS \$\$
DECLARE hits bigint := 0; want bigint := 0; got_rows bigint := 0; nq int := 0; r record; got int[];
BEGIN
  FOR r IN EXECUTE format('SELECT qid, ids FROM %s ORDER BY qid', gt) LOOP
    EXECUTE sql INTO got USING r.qid;
    nq := nq + 1;
    want := want + coalesce(cardinality(r.ids), 0);
    got_rows := got_rows + coalesce(cardinality(got), 0);
    hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (r.ids));
  END LOOP;
  recall := hits::float8 / greatest(want, 1);
  rows_per_query := got_rows::float8 / greatest(nq, 1);
END \$\$;
SQL
		[ "$($db -c "SELECT count(*) FROM base")" = "$n" ] || { fail "$c: base has not $n rows"; return 1; }
	done

	# ---- exact: ground truth (no index exists yet) and the baseline ----
	local topk="SELECT array_agg(id) FROM (SELECT id FROM base WHERE %s ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = \$1) LIMIT 10) s"
	local t0 t1 g where
	for g in gt:true gt_f100:f100=0 gt_f1000:f1000=0; do
		where=${g#*:}
		t0=$(now)
		q -c "CREATE TABLE ${g%%:*} AS SELECT qq.id AS qid, ARRAY(SELECT b.id FROM base b WHERE $where ORDER BY b.embedding <=> qq.embedding LIMIT 10) AS ids FROM queries qq$([ "${g%%:*}" = gt ] || echo " WHERE qq.id <= 100")" || return 1
		t1=$(now)
		[ "${g%%:*}" = gt ] && record "$c" "heap exact" "ground truth" "$(elapsed "$t0" "$t1")" s "$nq queries in one statement"
		if [ $pgv = 1 ]; then
			q -c "\\copy ${g%%:*} TO '$work/$c.${g%%:*}'" &&
				qv -c "CREATE TABLE ${g%%:*} (qid int, ids int[])" -c "\\copy ${g%%:*} FROM '$work/$c.${g%%:*}'" || return 1
		fi
	done
	for g in 100:1% 1000:0.1%; do
		record "$c" "heap exact" "filtered ${g#*:} rows" "$(q -c "SELECT round(avg(coalesce(cardinality(ids), 0)), 2) FROM gt_f${g%%:*}")" \
			"rows/query" "of LIMIT 10; $(q -c "SELECT count(*) FROM base WHERE f${g%%:*} = 0") rows match"
	done
	local tps p50 p99
	read -r tps p50 p99 <<<"$(qps q "" "-c enable_indexscan=off" "$queries")"
	record "$c" "heap exact" "qps" "$(fmt "$tps")" "q/s" "p50 $p50 ms; p99 $p99 ms"
	echo "$c,heap exact,,1.0,$tps,$p50,$p99" >>"$rqcsv"

	bench_index "$c" "$d" engram_hnsw q "engram.ef_search" || return 1
	if [ $pgv = 1 ]; then
		bench_index "$c" "$d" "pgvector hnsw" qv "hnsw.ef_search" || return 1
	fi
	echo "ann_bench: corpus $c done (load $(load))"
}

qps() {	# db where settings nqueries -> "tps p50 p99" (ms)
	local db=$1 where=${2:+WHERE $2} settings=${3:-} nq=$4 dbname=postgres
	[ "$db" = qv ] && dbname=pgv
	cat >"$work/q.sql" <<SQL
\\set q random(1, $nq)
SELECT id FROM base $where ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = :q) LIMIT 10;
SQL
	rm -f "$work"/lat.*
	local tps
	tps=$(PGOPTIONS="$PGOPTIONS $settings" pgbench -n -c 1 -j 1 $pgblen -f "$work/q.sql" -l --log-prefix="$work/lat" "$dbname" 2>"$work/pgbench.err" |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	[ -n "$tps" ] || { cat "$work/pgbench.err" >&2; fail "pgbench ($db $where $settings)"; echo "0 0 0"; return; }
	echo "$tps $(cat "$work"/lat.* | awk '{ print $3 / 1000 }' | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.2f %.2f", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1] }')"
}

# bench_index CORPUS DIMS NAME DB EF-GUC
bench_index() {
	local c=$1 d=$2 name=$3 db=$4 guc=$5
	local using="engram_hnsw (embedding engram.vector_cosine_ops)" t0 t1 w size
	[ "$db" = qv ] && using="hnsw (embedding vector_cosine_ops)"
	echo "ann_bench: $c: $name (load $(load))"
	for w in 0 1; do
		$db -c "DROP INDEX IF EXISTS base_ann" || return 1
		t0=$(now)
		$db -c "SET max_parallel_maintenance_workers = $w; SET client_min_messages = debug1;
		        CREATE INDEX base_ann ON base USING $using WITH (m = 16, ef_construction = 64)" 2>"$work/build.msg" || { cat "$work/build.msg"; return 1; }
		t1=$(now)
		record "$c" "$name" "build $w workers" "$(elapsed "$t0" "$t1")" s \
			"$(grep -aio 'using [0-9]* parallel workers\|[0-9]* parallel workers\|parallel[^,]*' "$work/build.msg" | head -1 | tr -d ,)"
	done
	size=$($db -c "SELECT pg_relation_size('base_ann')")
	[ "${size:-0}" -gt 0 ] || fail "$c: $name index has no size"
	record "$c" "$name" "index size" "$(fmt "$(echo "$size / 1048576" | bc -l)")" MiB \
		"$(fmt "$(echo "$size / $(get "$c" data rows)" | bc -l)") bytes/vector"
	local plan
	plan=$($db -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM base WHERE f1000 = 0 ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10")
	grep -q base_ann <<<"$plan" || fail "$c: $name: the filtered query does not use the index: $plan"

	# recall sweep; stop one point after recall 0.99 (or at 0.999)
	local efs="16 20 24 32 40 48 64 80 100 128 160 200 256 320 400 512"
	[ $quick = 1 ] && efs="10 40 160"
	local ef r rr best95= best99= qps95=0 qps99=0 after=0 tps p50 p99 maxr=0 maxef=
	local unf="SELECT array_agg(id) FROM (SELECT id FROM base ORDER BY embedding <=> (SELECT embedding FROM queries WHERE id = \$1) LIMIT 10) s"
	for ef in $efs; do
		rr=$(PGOPTIONS="$PGOPTIONS -c $guc=$ef -c enable_seqscan=off" $db -c "SELECT round(recall::numeric, 4) || ' ' || round(rows_per_query::numeric, 2) FROM bench_recall('$unf', 'gt')") || return 1
		r=${rr% *}
		awk -v r="$r" 'BEGIN { exit !(r >= 0 && r <= 1) }' || fail "$c: $name ef $ef: recall $r"
		[ "${rr#* }" = "10.00" ] || fail "$c: $name ef $ef: ${rr#* } rows per query, expected 10"
		if awk -v r="$r" -v m="$maxr" 'BEGIN { exit !(r > m) }'; then maxr=$r maxef=$ef; fi
		if [ $quick = 1 ] || awk -v r="$r" 'BEGIN { exit !(r >= 0.9) }'; then
			read -r tps p50 p99 <<<"$(qps "$db" "" "-c $guc=$ef" "$queries")"
			record "$c" "$name" "ef_search=$ef" "$r / $(fmt "$tps")" "recall / q/s" "p50 $p50 ms; p99 $p99 ms"
			echo "$c,$name,$ef,$r,$tps,$p50,$p99" >>"$rqcsv"
			if awk -v r="$r" -v t="$tps" -v b="$qps95" 'BEGIN { exit !(r >= 0.95 && t > b) }'; then best95=$ef qps95=$tps; fi
			if awk -v r="$r" -v t="$tps" -v b="$qps99" 'BEGIN { exit !(r >= 0.99 && t > b) }'; then best99=$ef qps99=$tps; fi
		else
			record "$c" "$name" "ef_search=$ef" "$r" "recall" "below 0.9: throughput not measured"
			echo "$c,$name,$ef,$r,,," >>"$rqcsv"
		fi
		if awk -v r="$r" 'BEGIN { exit !(r >= 0.99) }'; then after=$((after + 1)); fi
		[ $quick = 0 ] && { [ $after -ge 2 ] || awk -v r="$r" 'BEGIN { exit !(r >= 0.999) }'; } && break
	done
	[ $quick = 1 ] && ! awk -v r="$maxr" 'BEGIN { exit !(r >= 0.8) }' && fail "$c: $name: best recall $maxr (ef $maxef) is not sane"
	local nr="not reached (best recall $maxr at ef_search $maxef)"
	record "$c" "$name" "qps at recall 0.95" "$(fmt "$qps95")" "q/s" "$([ -n "$best95" ] && echo "ef_search=$best95" || echo "$nr")"
	record "$c" "$name" "qps at recall 0.99" "$(fmt "$qps99")" "q/s" "$([ -n "$best99" ] && echo "ef_search=$best99" || echo "$nr")"

	# filtered, at the ef_search picked for 0.95 (else the sweep's best)
	local fef=${best95:-$maxef} sel f variant settings
	for sel in f100:1% f1000:0.1%; do
		f=${sel%%:*}
		# plain: default settings; wide: pgvector's hnsw.iterative_scan, or
		# engram.ann_max_scan_tuples raised to the table's size (its default
		# cap of 20,000 rows makes a scan that needs more fail with an error)
		for variant in plain wide; do
			settings="-c $guc=$fef"
			local sub="$name"
			if [ $variant = wide ]; then
				if [ "$db" = qv ]; then
					settings="$settings -c hnsw.iterative_scan=strict_order" sub="$name iterative_scan"
				else
					settings="$settings -c engram.ann_max_scan_tuples=$(get "$c" data rows)" sub="$name max_scan_tuples=all"
				fi
			fi
			local dbname=postgres
			[ "$db" = qv ] && dbname=pgv
			# an error of the index scan is a figure here, not a failure of the bench
			if ! rr=$(PGOPTIONS="$PGOPTIONS $settings -c enable_seqscan=off" psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$dbname" \
				-c "SELECT round(recall::numeric, 4) || ' ' || round(rows_per_query::numeric, 2) FROM bench_recall('$(printf "$topk" "$f = 0")', 'gt_$f')" 2>"$work/filter.err"); then
				record "$c" "$sub" "filtered ${sel#*:} recall" "error" "recall@10" "ef_search=$fef; $(head -1 "$work/filter.err" | tr -d ,)"
				record "$c" "$sub" "filtered ${sel#*:} rows" "error" "rows/query" "the query fails"
				continue
			fi
			read -r tps p50 p99 <<<"$(PGOPTIONS="$PGOPTIONS -c enable_seqscan=off" qps "$db" "$f = 0" "$settings" 100)"
			record "$c" "$sub" "filtered ${sel#*:} recall" "${rr% *}" "recall@10" "ef_search=$fef; ${rr#* } rows/query; $(fmt "$tps") q/s; p99 $p99 ms"
			record "$c" "$sub" "filtered ${sel#*:} rows" "${rr#* }" "rows/query" "of LIMIT 10"
		done
	done

	# inserts into an indexed table
	local tenth=$(( $(get "$c" data rows) / 10 ))
	$db -c "DROP TABLE IF EXISTS ins; CREATE TABLE ins (LIKE base);
	        INSERT INTO ins SELECT * FROM base WHERE id <= $tenth;
	        CREATE INDEX ON ins USING $using WITH (m = 16, ef_construction = 64)" || return 1
	cat >"$work/insert.sql" <<SQL
\\set id random($((tenth + 1)), $(get "$c" data rows))
INSERT INTO ins SELECT * FROM base WHERE id = :id;
SQL
	local dbname=postgres
	[ "$db" = qv ] && dbname=pgv
	tps=$(pgbench -n -c 1 -t "$ins" -f "$work/insert.sql" "$dbname" 2>"$work/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	[ -n "$tps" ] || { cat "$work/pgbench.err" >&2; fail "$c: $name inserts"; tps=0; }
	record "$c" "$name" "insert 1 row/txn" "$(fmt "$tps")" "rows/s" "$ins rows into an indexed table of $tenth"
	t0=$(now)
	$db -c "INSERT INTO ins SELECT * FROM base WHERE id > $((tenth * 9))" || return 1
	t1=$(now)
	record "$c" "$name" "insert one statement" "$(fmt "$(echo "$tenth / ($t1 - $t0)" | bc -l)")" "rows/s" "$tenth rows in one INSERT ... SELECT"
	$db -c "DROP TABLE ins"
}

if [ "$rows" -gt 0 ]; then
	echo "ann_bench: generating the synthetic set..."
	"$work/genvec" $((rows + queries)) "$dims" "$clusters" 1 >"$work/synthetic.vec" || exit 1
	bench_corpus synthetic "$dims" "$work/synthetic.vec" || fail "corpus synthetic"
fi
if [ "$words" -gt 0 ]; then
	echo "ann_bench: generating word vectors from /usr/share text..."
	# (in quick mode head(1) ends the text early: only genwords' status counts)
	corpus_text 2>/dev/null | "$work/genwords" $((words + queries)) "$wdims" >"$work/words.vec" 2>"$work/genwords.msg"
	[ "${PIPESTATUS[1]}" = 0 ] || { cat "$work/genwords.msg"; exit 1; }
	cat "$work/genwords.msg" | tee -a "$out/ann_machine.txt"
	bench_corpus words "$wdims" "$work/words.vec" || fail "corpus words"
fi
echo "load average at end: $(load)" | tee -a "$out/ann_machine.txt"

# ---- engram / pgvector beside issue 21's goals ----
summary() {
	local c g95 ratio
	echo "engram_hnsw / pgvector hnsw, same run, one client (issue 21 goals)"
	if [ $pgv = 0 ]; then echo "pgvector: not installed: no ratios"; return; fi
	for c in synthetic words; do
		[ -n "$(get $c data rows)" ] || continue
		g95=2.5
		[ $c = words ] && g95=4
		for t in 0.95:$g95 0.99:2; do
			local e p
			e=$(get $c engram_hnsw "qps at recall ${t%%:*}") p=$(get $c "pgvector hnsw" "qps at recall ${t%%:*}")
			awk -v c=$c -v t="${t%%:*}" -v g="${t#*:}" -v e="$e" -v p="$p" 'BEGIN {
				if (p + 0 == 0 || e + 0 == 0) { printf "%-9s q/s at recall %s: engram %s, pgvector %s: no ratio (a target not reached)\n", c, t, e, p; exit }
				r = e / p; printf "%-9s q/s at recall %s: %.2fx (engram %s, pgvector %s); goal >= %sx: %s\n", c, t, r, e, p, g, (r >= g ? "met" : "not met") }'
		done
		awk -v c=$c -v e="$(get $c engram_hnsw "build 1 workers")" -v e0="$(get $c engram_hnsw "build 0 workers")" \
			-v p="$(get $c "pgvector hnsw" "build 0 workers")" -v p1="$(get $c "pgvector hnsw" "build 1 workers")" 'BEGIN {
			r = e / p; printf "%-9s build: engram 1 worker %.1f s / pgvector 0 workers %.1f s = %.2fx; goal <= 0.25x: %s (engram 0 workers %.1f s, pgvector 1 worker %.1f s)\n",
				c, e, p, r, (r <= 0.25 ? "met" : "not met"), e0, p1 }'
		awk -v c=$c -v e="$(get $c engram_hnsw "index size")" -v p="$(get $c "pgvector hnsw" "index size")" 'BEGIN {
			printf "%-9s index size: engram %.1f MiB, pgvector %.1f MiB = %.2fx\n", c, e, p, e / p }'
		awk -v c=$c -v e="$(get $c engram_hnsw "insert 1 row/txn")" -v p="$(get $c "pgvector hnsw" "insert 1 row/txn")" 'BEGIN {
			printf "%-9s insert, 1 row/txn: engram %.0f rows/s, pgvector %.0f rows/s = %.2fx\n", c, e, p, e / p }'
		for s in 1% 0.1%; do
			awk -v c=$c -v s=$s -v x="$(get $c "heap exact" "filtered $s rows")" -v er="$(get $c engram_hnsw "filtered $s recall")" -v en="$(get $c engram_hnsw "filtered $s rows")" \
				-v pr="$(get $c "pgvector hnsw" "filtered $s recall")" -v pn="$(get $c "pgvector hnsw" "filtered $s rows")" \
				-v ir="$(get $c "pgvector hnsw iterative_scan" "filtered $s recall")" -v in_="$(get $c "pgvector hnsw iterative_scan" "filtered $s rows")" \
				-v wr="$(get $c "engram_hnsw max_scan_tuples=all" "filtered $s recall")" -v wn="$(get $c "engram_hnsw max_scan_tuples=all" "filtered $s rows")" 'BEGIN {
				printf "%-9s filtered %s: engram recall %s, %s rows (max_scan_tuples=all: %s, %s rows); pgvector %s, %s rows (iterative_scan: %s, %s rows)%s\n", c, s, er, en, wr, wn, pr, pn, ir, in_,
					(s == "0.1%" ? "; goal k rows with recall >= 0.95: " ((en + 0 >= x && er + 0 >= 0.95) ? "met" : "not met") " (exact: " x " rows)" : "") }'
		done
	done
}
summary | tee "$out/ann_summary.txt"
echo "ann_bench: results in $csv"
if [ -e "$work/failed" ]; then
	echo "ann_bench: FAILED (see above)"
	exit 1
fi
