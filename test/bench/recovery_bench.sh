#!/usr/bin/env bash
# Crash-recovery benchmark:  bash test/bench/recovery_bench.sh [--mb N] [--quick]
#
#   --mb N      megabytes of WAL to generate after the checkpoint (default 256)
#   --quick     32 MB
#
# For the engram table AM (and heap, as the baseline, in the same run): after
# a CHECKPOINT, insert rows (text + engram.vector(64) embedding) until N MB of
# WAL have been written, SIGKILL the postmaster and all its children (no
# shutdown checkpoint), start again and measure the seconds from "pg_ctl
# start" to the first accepted query, i.e. crash recovery replaying those N
# MB.  Prints restart seconds and seconds per GB of WAL replayed, and checks
# that every committed row is there after recovery (a benchmark asserts no
# speed, but it does check results).
#
# Starts its own throwaway cluster from the private installation (built the
# way test/scripts/run_tests.sh builds it; as user postgres when run as root).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	run_unprivileged_copy "$here" test/bench/recovery_bench.sh ENGRAM_BENCH_ARGS="$*"
	exit $?
fi

cd "$here"
set -- ${ENGRAM_BENCH_ARGS:-}
mb=256
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) mb=32 ;;
		--mb) mb=$2; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

source test/scripts/pg_env.sh
if [ -z "${PG_BIN:-}" ]; then
	echo "recovery_bench: building engram into a private PostgreSQL copy..."
	pg_env_make_install "$here/../tmp_install" || exit 1
fi

work=$here/../recovery_bench
rm -rf "$work"
mkdir -p "$work"
bench_start_cluster "$work" <<CONF || exit 1
shared_buffers = '128MB'
wal_level = replica
full_page_writes = on
fsync = on
synchronous_commit = on
CONF
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

q -c "CREATE EXTENSION engram" || exit 1
ams=heap
[ "$(q -c "SELECT count(*) FROM pg_am WHERE amname = 'engram'")" = 1 ] && ams="engram heap"
[ "$ams" = heap ] && echo "recovery_bench: table AM engram not installed yet: heap baseline only"
emb="NULL::engram.vector"
[ "$(q -c "SELECT count(*) FROM pg_proc WHERE proname = 'embed_text'")" -ge 1 ] && emb="engram.embed_text('memory ' || i, 64)"

# kill -9 the postmaster and every child at once (by pid, from the pid file)
crash() {
	local pm kids
	pm=$(head -1 "$data/postmaster.pid")
	kill -STOP "$pm"
	kids=$(ps -o pid= --ppid "$pm")
	kill -9 "$pm" $kids
	while kill -0 "$pm" 2>/dev/null; do sleep 0.05; done
	for k in $kids; do while kill -0 "$k" 2>/dev/null; do sleep 0.05; done; done
}

printf "%-8s %10s %10s %14s %12s\n" "am" "wal_MB" "rows" "restart_s" "s_per_GB"
for am in $ams; do
	q -c "SET client_min_messages = warning; DROP TABLE IF EXISTS rec; CREATE TABLE rec (id int8 PRIMARY KEY, content text, embedding engram.vector) USING $am" || exit 1
	q -c "CHECKPOINT"
	lsn0=$(q -c "SELECT pg_current_wal_insert_lsn()")
	target=$((mb * 1048576))
	next=1
	batch=5000
	while :; do
		q -c "INSERT INTO rec SELECT i, repeat(md5(i::text), 1 + i % 8), $emb FROM generate_series($next, $((next + batch - 1))) i" || exit 1
		next=$((next + batch))
		done_bytes=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0')::int8")
		[ "$done_bytes" -ge "$target" ] && break
	done
	rows=$((next - 1))
	crash
	t0=$(now)
	pg_ctl -D "$data" -l "$work/server.log" start >/dev/null 2>&1
	until q -c "SELECT 1" >/dev/null 2>&1; do sleep 0.02; done
	t1=$(now)
	n=$(q -c "SELECT count(*) FROM rec")
	if [ "$n" != "$rows" ]; then
		echo "recovery_bench: $am: after recovery rec has $n rows, $rows were committed"
		exit 1
	fi
	secs=$(echo "$t1 - $t0" | bc -l)
	awk -v am="$am" -v b="$done_bytes" -v r="$rows" -v s="$secs" \
		'BEGIN { printf "%-8s %10.1f %10d %14.2f %12.1f\n", am, b / 1048576, r, s, s / (b / 1073741824) }'
done
