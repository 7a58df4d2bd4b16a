#!/usr/bin/env bash
# Tiered storage benchmark:  bash test/bench/tier_bench.sh [--rows N] [--dims D] [--quick]
#
#   --rows N    memory rows (default 20000)
#   --dims D    embedding dimensions (default 64)
#   --vectors   vector-heavy rows: 384 dimensions and a short text
#   --quick     2000 rows
#
# Rows like an agent's memories: text drawn from a small vocabulary (45-89
# words, ~300-600 bytes; with --vectors 8-15 words) plus a float4 unit
# embedding.  Loads them into a heap
# table and an engram table, then moves the engram rows HOT -> WARM -> COLD
# -> HOT with engram.migrate (forced targets) and prints, per tier, the
# on-disk bytes per row of the whole relation (pg_table_size: pages, FSM,
# VM, TOAST; no indexes) next to heap's in the same run, the row body bytes
# tier_stats reports, and the migration speed in MB of row data per second.
# Then a steady state as issue 22 measured it (N more rows arrive in both
# tables and go COLD too; then N more arrive and stay HOT) and VACUUM FULL
# then three rounds of (all COLD, N more arrive), then all COLD, VACUUM FULL
# (tiers kept), and VACUUM FULL again with cold_vectors = float16 (lossy).
# COLD is measured with and without byte shuffling (engram.cold_shuffle).
# Shared buffers (issue 22): with every 10th row read recently and the rest
# COLD, a policy pass under engram.hot_budget makes the read rows HOT; then
# EXPLAIN (ANALYZE, BUFFERS) of the same recalls on heap and on engram, each
# once right after a restart (empty shared_buffers) and once again, prints
# shared hit / read buffers side by side: by index over the hot rows, a
# whole-table scan, and (in the steady state) the newest rows by index.
# Checks that the contents are identical after every move (md5); asserts
# no speed.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	run_unprivileged_copy "$here" test/bench/tier_bench.sh ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
rows=20000
dims=64
words="45 + (i % 45)"
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) rows=2000 ;;
		--vectors) dims=384; words="8 + (i % 8)" ;;
		--rows) rows=$2; shift ;;
		--dims) dims=$2; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "tier_bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

work=$here/../tier_bench
rm -rf "$work"
mkdir -p "$work"
bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '256MB'
autovacuum = off
CONF
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

q -c "CREATE EXTENSION engram" || exit 1
[ "$(q -c "SELECT count(*) FROM pg_am WHERE amname = 'engram'")" = 1 ] ||
	{ echo "tier_bench: the engram table AM is not installed"; exit 1; }

q <<SQL || exit 1
SELECT setseed(0.42);
CREATE TABLE words AS SELECT string_to_array(
    'the a user asked about meeting project deadline python database memory agent prefers '
    'dark mode coffee morning report weekly summary customer invoice travel flight hotel '
    'booking paris berlin tokyo birthday friend sister dentist appointment tuesday friday '
    'budget review quarterly goals bug fix deploy server postgres index vector search '
    'recall remember note important follow up email phone call lunch dinner recipe garden '
    'book novel chapter exercise running gym weight sleep schedule medication allergy', ' ') AS wa;
CREATE TABLE src AS
  SELECT i AS id,
         (SELECT string_agg(wa[1 + floor(random() * array_length(wa, 1))::int], ' ')
            FROM words, generate_series(1, $words)) || '.' AS content,
         (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, $dims) WHERE i > 0) AS e
  FROM generate_series(1, $rows) i;
CREATE TABLE heap_m (id int PRIMARY KEY, content text, embedding engram.vector($dims), importance float4, created_at timestamptz);
CREATE TABLE eng_m (id int PRIMARY KEY, content text, embedding engram.vector($dims), importance float4, created_at timestamptz) USING engram;
SQL
for t in heap_m eng_m; do
	t0=$(now)
	q -c "INSERT INTO $t SELECT id, content, engram.array_to_vector(e, $dims, true), 0.5, '2026-01-01'::timestamptz + id * interval '1 minute' FROM src" || exit 1
	t1=$(now)
	echo "tier_bench: loaded $rows rows into $t in $(echo "$t1 - $t0" | bc -l | cut -c1-5) s"
done
q -c "VACUUM ANALYZE heap_m" -c "VACUUM ANALYZE eng_m" || exit 1
want=$(q -c "SELECT md5(string_agg(h::text, '|' ORDER BY id)) FROM heap_m h")
heap_bytes=$(q -c "SELECT pg_table_size('heap_m')")
heap_bpr=$(echo "$heap_bytes / $rows" | bc -l)

printf "\n%-26s %10s %8s %12s %10s %8s\n" "layout" "disk/row" "x heap" "body/row" "raw/row" "MB/s"
printf "%-26s %10.1f %8s %12s %10s %8s\n" "heap (whole relation)" "$heap_bpr" "1.00" "" "" ""

disk() {	# label [body/row raw/row MB/s]
	local b
	b=$(q -c "SELECT pg_table_size('eng_m')")
	printf "%-26s %10.1f %8.2f %12s %10s %8s\n" "$1" "$(echo "$b / $rows" | bc -l)" \
		"$(echo "$b / $heap_bytes" | bc -l)" "${2:-}" "${3:-}" "${4:-}"
}
disk "engram HOT (loaded)"

step() {	# label target shuffle
	local label=$1 target=$2 shuffle=$3 t0 t1 moved got stats
	t0=$(now)
	moved=$(q -c "SET engram.cold_shuffle = $shuffle; SELECT coalesce(sum(bytes), 0) FROM engram.migrate('eng_m', target => '$target') WHERE direction LIKE '%->%'") || exit 1
	t1=$(now)
	got=$(q -c "SELECT md5(string_agg(m::text, '|' ORDER BY id)) FROM eng_m m")
	if [ "$got" != "$want" ]; then
		echo "tier_bench: contents differ after moving to $target"
		exit 1
	fi
	stats=$(q -c "SELECT round(body_bytes::numeric / rows, 1) || ' ' || round(raw_bytes::numeric / rows, 1) FROM engram.tier_stats('eng_m') WHERE tier = '$target' AND rows > 0")
	set -- $stats
	disk "$label" "${1:-}" "${2:-}" "$(echo "$moved / 1048576 / ($t1 - $t0)" | bc -l | awk '{ printf "%.1f", $1 }')"
}
step "engram WARM (lz4)" warm on
step "engram COLD (zstd+shuf)" cold on
step "engram HOT again" hot on
step "engram COLD (zstd)" cold off
step "engram HOT again" hot on
step "engram COLD (zstd+shuf)" cold on

# ---- shared buffers: recalls over hot memories, heap vs engram ----
q <<'SQL' || exit 1
CREATE FUNCTION bufs(query text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE j json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || query INTO j;
	RETURN (j->0->'Plan'->>'Shared Hit Blocks') || ' ' || (j->0->'Plan'->>'Shared Read Blocks');
END $f$;
SQL
restart() { pg_ctl -D "$data" -l "$work/server.log" -w -m fast restart >/dev/null || { tail "$work/server.log"; exit 1; }; }
buffers() {	# label query-with-TABLE
	local h1 h2 e1 e2
	restart
	h1=$(q -c "SET enable_seqscan = ${3:-on}; SET enable_bitmapscan = off; SELECT bufs(\$\$${2//TABLE/heap_m}\$\$)")
	e1=$(q -c "SET enable_seqscan = ${3:-on}; SET enable_bitmapscan = off; SELECT bufs(\$\$${2//TABLE/eng_m}\$\$)")
	h2=$(q -c "SET enable_seqscan = ${3:-on}; SET enable_bitmapscan = off; SELECT bufs(\$\$${2//TABLE/heap_m}\$\$)")
	e2=$(q -c "SET enable_seqscan = ${3:-on}; SET enable_bitmapscan = off; SELECT bufs(\$\$${2//TABLE/eng_m}\$\$)")
	set -- "$1" $h1 $e1 $h2 $e2
	printf "%-34s %9s %9s %9s %9s   %9s %9s\n" "$1" "$2" "$3" "$4" "$5" "$6" "$8"
}
hot_n=$((rows / 10))
hot_kb=$(q -c "SELECT ceil(sum(pg_column_size(h.*)) / 1024.0)::int FROM heap_m h WHERE id % 10 = 0")
q -c "SELECT count(engram.record_access('eng_m', ctid)) FROM eng_m WHERE id % 10 = 0" >/dev/null || exit 1
q -c "SET engram.hot_budget = '${hot_kb}kB'; SET engram.warm_after = '1h'; SET engram.cold_after = '2h'; SELECT count(*) FROM engram.migrate('eng_m')" >/dev/null || exit 1
echo
echo "shared buffers ($hot_n of $rows rows read recently, engram.hot_budget = ${hot_kb}kB, shared_buffers = 256MB;"
echo "  tiers now: $(q -c "SELECT string_agg(tier || '=' || rows, ',') FROM engram.tier_stats('eng_m') WHERE rows > 0"))"
printf "%-34s %9s %9s %9s %9s   %9s %9s\n" "recall (after restart | again)" "heap hit" "heap read" "eng hit" "eng read" "heap hit" "eng hit"
buffers "hot rows by index (id % 10 = 0)" "SELECT sum(length(content)) FROM TABLE WHERE id = ANY (ARRAY(SELECT generate_series(10, $rows, 10)))" off
buffers "whole table scan" "SELECT count(*) FROM TABLE WHERE content LIKE '%tokyo paris%'"

# steady state as issue 22 measured it: N more rows arrive in both tables
# and go COLD too (2x rows); then N more arrive and stay HOT (3x rows)
load_more() {	# shift
	for t in heap_m eng_m; do
		q -c "INSERT INTO $t SELECT id + $1, content, engram.array_to_vector(e, $dims, true), 0.5, '2026-01-01'::timestamptz + id * interval '1 minute' FROM src" || exit 1
	done
}
steady() {	# label
	q -c "VACUUM heap_m" -c "VACUUM eng_m" || exit 1
	printf "%-26s %10.1f %8.2f %12s %10s %8s\n" "$1" \
		"$(q -c "SELECT pg_table_size('eng_m')::numeric / count(*) FROM eng_m")" \
		"$(q -c "SELECT pg_table_size('eng_m')::numeric / pg_table_size('heap_m')")" \
		"$(q -c "SELECT string_agg(tier || '=' || rows, ',') FROM engram.tier_stats('eng_m') WHERE rows > 0")" "" ""
}
load_more 1000000
q -c "SELECT count(*) FROM engram.migrate('eng_m', target => 'cold')" >/dev/null || exit 1
steady "2x rows, all COLD"
load_more 2000000
steady "3x rows, newest HOT"
echo
printf "%-34s %9s %9s %9s %9s   %9s %9s\n" "recall (after restart | again)" "heap hit" "heap read" "eng hit" "eng read" "heap hit" "eng hit"
buffers "newest rows by index (HOT)" "SELECT sum(length(content)) FROM TABLE WHERE id > 2000000 AND id % 10 = 0" off
buffers "whole table scan (3x rows)" "SELECT count(*) FROM TABLE WHERE content LIKE '%tokyo paris%'"
echo
# a longer steady state: each round every row goes COLD, then N more arrive
# (the newest N HOT); the ratio falls as pages fill with COLD rows
for r in 4 5 6; do
	q -c "SELECT count(*) FROM engram.migrate('eng_m', target => 'cold')" >/dev/null || exit 1
	load_more "${r}000000"
	steady "${r}x rows, newest HOT"
done
want3=$(q -c "SELECT md5(string_agg(h::text, '|' ORDER BY id)) FROM heap_m h")
q -c "SELECT count(*) FROM engram.migrate('eng_m', target => 'cold')" >/dev/null || exit 1
steady "6x rows, all COLD"
q -c "VACUUM FULL eng_m" || exit 1
steady "6x rows, VACUUM FULL"
got=$(q -c "SELECT md5(string_agg(m::text, '|' ORDER BY id)) FROM eng_m m")
[ "$got" = "$want3" ] || { echo "tier_bench: contents differ after VACUUM FULL"; exit 1; }
problems=$(q -c "SELECT count(*) FROM engram.verify('eng_m')")
[ "$problems" = 0 ] || { echo "tier_bench: verify reports $problems problems"; exit 1; }
# the lossy option (off by default; VALUES CHANGE): vectors of COLD rows
# rounded to float16 by the next rewrite
q -c "SELECT engram.set_table_option('eng_m', 'cold_vectors', 'float16')" -c "VACUUM FULL eng_m" >/dev/null || exit 1
steady "... float16 (LOSSY)"

echo
echo "disk/row: pg_table_size / rows (the whole relation: pages, FSM, VM, TOAST), beside heap."
echo "body/row: row bodies as tier_stats counts them (COLD: references + chunk items);"
echo "every engram row also keeps its item header, tuple header and line pointer."
echo "MB/s: raw row data moved per second by engram.migrate (one backend)."
problems=$(q -c "SELECT count(*) FROM engram.verify('eng_m')")
[ "$problems" = 0 ] || { echo "tier_bench: verify reports $problems problems"; exit 1; }
