#!/usr/bin/env bash
# engram memory API benchmark:  bash test/bench/memory_bench.sh [options]
#
#   --quick            small sizes (make test runs this through run.sh --quick)
#   --rows N           memories (default 50000)
#   --dims D           embedding dimensions (default 384)
#   --clusters C       clusters of the generator (default 1000)
#   --queries Q        vector cues (default 200)
#   --duration S       seconds per throughput measurement (default 10)
#   --skip-consolidate do not time consolidate
#
# Starts its own throwaway cluster (bench_start_cluster), loads N memories
# (clustered unit vectors from test/bench/genvec.c, 30-word texts from a
# 31-word vocabulary so that each cue word matches about 60% of memories,
# metadata {"user": "u<id % 100>"} for a 1% selectivity filter) into
# engram.memory with an engram_hnsw index, and measures with one pgbench
# client, in the same run:
#   raw index query    SELECT id ... WHERE space = 'default' ORDER BY embedding <=> cue LIMIT 10
#   engram.recall      vector cue without / with access history, text cue,
#                      hybrid, vector cue with a metadata filter (1%); text
#                      and hybrid also with engram.recall_text_index = off
#                      (every memory the word matches ranked: the baseline
#                      of the text index), and both as a tenant under
#                      row-level security
#   plain INSERT vs engram.remember (1 row/txn, same row, synchronous_commit
#                      off for both), remember with
#                      engram.dedup_threshold set
#   consolidate        seconds for the whole space
# It checks results (row counts, filters honoured, filtered recall@10
# against an exact scan) and never asserts speed.  Prints a table and writes
# memory.csv to test/bench/out/ (or $ENGRAM_BENCH_OUT).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	out=$here/test/bench/out
	mkdir -p "$out" && chmod 777 "$out"
	run_unprivileged_copy "$here" test/bench/memory_bench.sh ENGRAM_BENCH_OUT="$out" ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
rows=50000 dims=384 clusters=1000 queries=200 duration=10 quick=0 consolidate=1
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) quick=1; rows=3000; dims=64; clusters=60; queries=50; duration=2 ;;
		--rows) rows=$2; shift ;;
		--dims) dims=$2; shift ;;
		--clusters) clusters=$2; shift ;;
		--queries) queries=$2; shift ;;
		--duration) duration=$2; shift ;;
		--skip-consolidate) consolidate=0 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
out=${ENGRAM_BENCH_OUT:-$here/test/bench/out}
mkdir -p "$out"
work=$here/../membench
rm -rf "$work"
mkdir -p "$work"

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "memory bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '$([ $quick = 1 ] && echo 128MB || echo 1GB)'
maintenance_work_mem = '$([ $quick = 1 ] && echo 64MB || echo 512MB)'
work_mem = '64MB'
max_parallel_workers_per_gather = 0
jit = off
shared_preload_libraries = 'pg_stat_statements'
CONF
failed=0
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@" || { failed=1; echo "memory bench: query failed: $*" >&2; return 1; }; }
now() { date +%s.%N; }
pgb() {	# pgbench args...: prints tps; a failed run fails the bench
	local v
	v=$(pgbench "$@" 2>"$work/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	[ -n "$v" ] || { failed=1; cat "$work/pgbench.err" >&2; v=0; }
	echo "$v"
}
fmt() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
check() {	# what actual expected
	if [ "$2" != "$3" ]; then
		echo "memory bench: CHECK FAILED: $1: got '$2', expected '$3'" >&2
		failed=1
	fi
}
csv=$out/memory.csv
echo "subject,metric,value,unit" >"$csv"
record() {	# subject metric value unit
	echo "$1,$2,$3,$4" >>"$csv"
	printf '  %-44s %-16s %12s %s\n' "$1" "$2" "$3" "$4"
}

q -c "CREATE EXTENSION engram" || exit 1
q -c "CREATE EXTENSION pg_stat_statements" || exit 1
q -c "ALTER DATABASE postgres SET search_path = public, engram"
echo "memory bench: $rows memories x $dims dims, $clusters clusters, $queries cues, ${duration}s per figure, 1 client"

# ---- data ----
cc -O2 -o "$work/genvec" test/bench/genvec.c -lm || exit 1
"$work/genvec" "$rows" "$dims" "$clusters" 1 >"$work/base.vec"
"$work/genvec" "$queries" "$dims" "$clusters" 2 | awk '{ print NR "\t" $0 }' >"$work/queries.tsv"
awk -v n="$rows" 'BEGIN {
	split("agent user meeting project deadline coffee berlin paris model memory recall vector index server backup failover sleep music garden river mountain train ticket budget invoice design review bug release customer support weather", w, " ");
	srand(7);
	for (i = 1; i <= n; i++) {
		s = "";
		for (j = 0; j < 30; j++) s = s (j ? " " : "") w[int(rand() * 31) + 1];
		print s;
	}
}' | paste - "$work/base.vec" | awk -F'\t' '{ printf "%d\t%s\t%s\t{\"user\": \"u%d\"}\n", NR, $1, $2, NR % 100 }' >"$work/mem.tsv"

q -c "CREATE TABLE cues (id int PRIMARY KEY, embedding engram.vector)"
q -c "\\copy cues FROM '$work/queries.tsv'"
q -c "CREATE TABLE src (id int PRIMARY KEY, content text, embedding engram.vector, metadata jsonb)"
q -c "\\copy src FROM '$work/mem.tsv'"
t0=$(now)
q -c "INSERT INTO engram.memory (space, content, embedding, metadata)
      SELECT 'default', content, embedding, metadata FROM src ORDER BY id"
t1=$(now)
record "load (INSERT ... SELECT)" "rate" "$(fmt "$(echo "$rows / ($t1 - $t0)" | bc -l)")" rows/s
t0=$(now)
q -c "CREATE INDEX memory_embedding_ann ON engram.memory USING engram_hnsw (embedding engram.vector_cosine_ops)"
t1=$(now)
record "engram_hnsw build" "time" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" s
q -c "VACUUM ANALYZE engram.memory"
check "memories loaded" "$(q -c "SELECT count(*) FROM engram.memory")" "$rows"
# share of memories the text cue words match
share=$(q -c "SELECT round(100.0 * count(*) FILTER (WHERE content_tsv @@ to_tsquery('english', 'coffee')) / count(*)) FROM engram.memory")
echo "memory bench: a one-word text cue matches ${share}% of memories"

# ---- correctness checks (small, not timed) ----
check "vector recall returns k rows" \
	"$(q -c "SELECT count(*) FROM engram.recall((SELECT embedding FROM cues WHERE id = 1), 10, record_access => false)")" 10
check "text recall returns k rows" \
	"$(q -c "SELECT count(*) FROM engram.recall(NULL, 10, cue_text => 'coffee', record_access => false)")" 10
check "hybrid recall returns k rows" \
	"$(q -c "SELECT count(*) FROM engram.recall((SELECT embedding FROM cues WHERE id = 1), 10, cue_text => 'coffee', record_access => false)")" 10
has_filter=$(q -c "SELECT count(*) FROM pg_proc WHERE proname = 'recall' AND 'metadata_filter' = ANY (proargnames)")
if [ "$has_filter" = 1 ]; then
	check "filtered recall returns k rows, all matching" \
		"$(q -c "SELECT count(*) || '/' || count(*) FILTER (WHERE metadata @> '{\"user\": \"u7\"}')
		         FROM engram.recall((SELECT embedding FROM cues WHERE id = 1), 10, record_access => false,
		                            metadata_filter => '{\"user\": \"u7\"}')")" "10/10"
	# recall@10 of filtered recall through the index against the same call
	# with an exact candidate scan (same scoring: only the index differs)
	q -c "CREATE TABLE filt_gt AS SELECT c.id AS qid,
	        ARRAY(SELECT r.id FROM engram.recall(c.embedding, 10, record_access => false,
	              metadata_filter => jsonb_build_object('user', 'u' || (c.id % 100))) r) AS ids
	      FROM cues c" >/dev/null
	PGOPTIONS="-c enable_indexscan=off" q -c "CREATE TABLE filt_exact AS SELECT c.id AS qid,
	        ARRAY(SELECT r.id FROM engram.recall(c.embedding, 10, record_access => false,
	              metadata_filter => jsonb_build_object('user', 'u' || (c.id % 100))) r) AS ids
	      FROM cues c" >/dev/null
	fr=$(q -c "SELECT round(sum((SELECT count(*) FROM unnest(g.ids) x WHERE x = ANY (e.ids)))::numeric
	                        / nullif(sum(cardinality(e.ids)), 0), 4)
	           FROM filt_gt g JOIN filt_exact e USING (qid)")
	record "filtered recall (1% selectivity)" "recall@10" "$fr" "vs exact candidate scan"
	check "filtered recall: every query got 10 rows" \
		"$(q -c "SELECT count(*) FROM filt_gt WHERE cardinality(ids) = 10")" "$queries"
fi
# vector recall through the index equals recall over an exact scan for most cues
q -c "CREATE TABLE vec_idx AS SELECT c.id AS qid, ARRAY(SELECT r.id FROM engram.recall(c.embedding, 10, record_access => false) r) AS ids FROM cues c" >/dev/null
PGOPTIONS="-c enable_indexscan=off" q -c "CREATE TABLE vec_exact AS SELECT c.id AS qid, ARRAY(SELECT r.id FROM engram.recall(c.embedding, 10, record_access => false) r) AS ids FROM cues c" >/dev/null
vr=$(q -c "SELECT round(sum((SELECT count(*) FROM unnest(g.ids) x WHERE x = ANY (e.ids)))::numeric / nullif(sum(cardinality(e.ids)), 0), 4)
           FROM vec_idx g JOIN vec_exact e USING (qid)")
record "vector recall through the index" "recall@10" "$vr" "vs exact candidate scan"

# ---- throughput ----
cat >"$work/raw.sql" <<SQL
\\set q random(1, $queries)
SELECT id FROM engram.memory WHERE space = 'default' ORDER BY embedding <=> (SELECT embedding FROM cues WHERE id = :q) LIMIT 10;
SQL
cat >"$work/recall_noacc.sql" <<SQL
\\set q random(1, $queries)
SELECT id FROM engram.recall((SELECT embedding FROM cues WHERE id = :q), 10, record_access => false);
SQL
cat >"$work/recall_acc.sql" <<SQL
\\set q random(1, $queries)
SELECT id FROM engram.recall((SELECT embedding FROM cues WHERE id = :q), 10);
SQL
words="'coffee','berlin','budget','river','failover','music','invoice','garden'"
cat >"$work/recall_text.sql" <<SQL
\\set w random(1, 8)
SELECT id FROM engram.recall(NULL, 10, cue_text => (ARRAY[$words])[:w], record_access => false);
SQL
cat >"$work/recall_hybrid.sql" <<SQL
\\set q random(1, $queries)
\\set w random(1, 8)
SELECT id FROM engram.recall((SELECT embedding FROM cues WHERE id = :q), 10, cue_text => (ARRAY[$words])[:w], record_access => false);
SQL
cat >"$work/recall_filter.sql" <<SQL
\\set q random(1, $queries)
\\set u random(0, 99)
SELECT id FROM engram.recall((SELECT embedding FROM cues WHERE id = :q), 10, record_access => false, metadata_filter => jsonb_build_object('user', 'u' || :u));
SQL
# the text index gives what ranking every match gives (same transaction:
# the same now(), so the same activation)
check "text recall through the text index = ranking every match" \
	"$(q -c "BEGIN;
	         CREATE TEMP TABLE tf AS SELECT w, ARRAY(SELECT r.id FROM engram.recall(NULL, 10, cue_text => w, record_access => false) r) ids
	           FROM unnest(ARRAY[$words]) w;
	         SET LOCAL engram.recall_text_index = off;
	         SELECT count(*) FILTER (WHERE tf.ids = ARRAY(SELECT r.id FROM engram.recall(NULL, 10, cue_text => tf.w, record_access => false) r)) FROM tf;
	         COMMIT;" | tail -1)" 8
raw=$(pgb -n -c 1 -T "$duration" -f "$work/raw.sql")
record "raw index query (LIMIT 10)" "q/s" "$(fmt "$raw")" "1.00 x raw"
for t in recall_noacc:"recall vector, record_access => false" recall_acc:"recall vector, with access history" \
		 recall_text:"recall text cue (one word, ~${share}%)" recall_hybrid:"recall hybrid (vector + text)"; do
	f=${t%%:*}
	v=$(pgb -n -c 1 -T "$duration" -f "$work/$f.sql")
	record "${t#*:}" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
done
# record_access => false again, now that the run above recorded accesses:
# the early stop reads fewer rows once activations differ (a space whose
# memories were never recalled has one activation for all of them)
v=$(pgb -n -c 1 -T "$duration" -f "$work/recall_noacc.sql")
record "recall vector, record_access => false, after" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
# the same text and hybrid recalls ranking every memory the word matches
# (engram.recall_text_index = off: the path without the text index)
for t in recall_text:"recall text cue, ranking every match" recall_hybrid:"recall hybrid, ranking every text match"; do
	f=${t%%:*}
	v=$(PGOPTIONS="-c engram.recall_text_index=off" pgb -n -c 1 -T "$duration" -f "$work/$f.sql")
	record "${t#*:}" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
done
# the text cue as a tenant: row-level security applies (the full ranking
# is then a seq scan, the text index's buckets a TID scan)
q -c "CREATE ROLE bench_tenant LOGIN" && q -c "SELECT engram.grant_space('default', 'bench_tenant')" >/dev/null
check "tenant text recall = superuser text recall" \
	"$(PGUSER=bench_tenant q -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM engram.recall(NULL, 10, cue_text => 'coffee', record_access => false)")" \
	"$(q -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM engram.recall(NULL, 10, cue_text => 'coffee', record_access => false)")"
v=$(PGUSER=bench_tenant pgb -n -c 1 -T "$duration" -f "$work/recall_text.sql")
record "recall text cue as a tenant (row-level security)" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
v=$(PGUSER=bench_tenant PGOPTIONS="-c engram.recall_text_index=off" pgb -n -c 1 -T "$duration" -f "$work/recall_text.sql")
record "recall text cue as a tenant, ranking every match" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
if [ "$has_filter" = 1 ]; then
	v=$(pgb -n -c 1 -T "$duration" -f "$work/recall_filter.sql")
	record "recall vector + metadata filter (1%)" "q/s" "$(fmt "$v")" "$(ratio "$v" "$raw") x raw"
fi

# ---- remember vs plain INSERT: same row, 1 row per transaction ----
ins=$([ $quick = 1 ] && echo 200 || echo 1000)
cat >"$work/insert.sql" <<SQL
\\set id random(1, $rows)
INSERT INTO engram.memory (space, content, embedding) SELECT 'default', 'note ' || id, embedding FROM src WHERE id = :id;
SQL
cat >"$work/remember.sql" <<SQL
\\set id random(1, $rows)
SELECT engram.remember('note ' || id, embedding) FROM src WHERE id = :id;
SQL
n0=$(q -c "SELECT count(*) FROM engram.memory")
# synchronous_commit off for both: the figure is the statement's cost, not
# the disk's flush latency (shared with other work on the machine)
export PGOPTIONS="-c synchronous_commit=off"
vi=$(pgb -n -c 1 -t "$ins" -f "$work/insert.sql")
record "plain INSERT into engram.memory" "rows/s" "$(fmt "$vi")" "1.00 x INSERT"
vr=$(pgb -n -c 1 -t "$ins" -f "$work/remember.sql")
record "engram.remember" "rows/s" "$(fmt "$vr")" "$(ratio "$vr" "$vi") x INSERT"
check "remember and INSERT added a row each" "$(q -c "SELECT count(*) FROM engram.memory")" "$((n0 + 2 * ins))"
n0=$(q -c "SELECT count(*) FROM engram.memory")
vd=$(PGOPTIONS="$PGOPTIONS -c engram.dedup_threshold=0.99" pgb -n -c 1 -t "$ins" -f "$work/remember.sql")
record "engram.remember, dedup_threshold = 0.99" "rows/s" "$(fmt "$vd")" "$(ratio "$vd" "$vi") x INSERT"
check "dedup reinforced instead of inserting" "$(q -c "SELECT count(*) FROM engram.memory")" "$n0"
unset PGOPTIONS

# ---- top statements (where the time went) ----
q -c "SELECT round(total_exec_time::numeric / greatest(calls, 1), 3) || ' ms x ' || calls || '  ' || left(regexp_replace(query, '\s+', ' ', 'g'), 110)
      FROM pg_stat_statements WHERE calls > 100 ORDER BY total_exec_time DESC LIMIT 12" >"$work/statements.txt"
cp "$work/statements.txt" "$out/memory_statements.txt"

# ---- consolidate ----
if [ $consolidate = 1 ]; then
	t0=$(now)
	res=$(q -c "SELECT string_agg(action || '=' || count, ' ') FROM engram.consolidate('default')")
	t1=$(now)
	record "consolidate $((rows + 2 * ins)) memories" "time" "$(fmt "$(echo "$t1 - $t0" | bc -l)")" "s ($res)"
	check "consolidate ran" "$(echo "$res" | grep -c 'grouped=')" 1
fi

echo "memory bench: results in $csv"
if [ $failed != 0 ]; then
	echo "memory bench: FAILED (see above)"
	exit 1
fi
