#!/usr/bin/env bash
# engram's whole test suite: pg_regress, isolation specs and TAP tests.
#
#   make test                      (or: bash test/scripts/run_tests.sh)
#   ENGRAM_TESTS="regress isolation tap" PROVE_TESTS="test/t/010_x.pl" make test
#
# It installs missing packages, copies the tree to a private work directory,
# builds there, installs engram into a private copy of the PostgreSQL 15
# installation (so the system's server is untouched and tests can also run a
# server *without* engram), and runs every suite against temporary clusters.
# initdb refuses root, so when started as root it runs the suites as the
# unprivileged user ENGRAM_TEST_USER (default postgres).
# Ends with one line: "engram: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
suites=${ENGRAM_TESTS:-regress isolation tap bench}

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	run_unprivileged_copy "$here" test/scripts/run_tests.sh ENGRAM_TESTS="$suites" PROVE_TESTS="${PROVE_TESTS:-}" \
		ENGRAM_FUZZ_ITERATIONS="${ENGRAM_FUZZ_ITERATIONS:-}"
	exit $?
fi

# ---- inner part: runs unprivileged inside the work directory -------------
cd "$here"
source test/scripts/pg_env.sh
pg_env_make_install "$here/../tmp_install" || { echo "engram: 0 passed, 1 failed"; exit 1; }

mkdir -p tmp_check
passed=0
failed=0
failures=()
count() {	# name rc
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

if [[ " $suites " == *" regress "* ]]; then
	tests=$(ls sql/*.sql 2>/dev/null | grep -v '/engram--' | sed 's|sql/||; s|\.sql$||' | sort)
	if [ -n "$tests" ]; then
		echo "== pg_regress"
		"$PGXS_DIR/src/test/regress/pg_regress" --temp-instance="$here/tmp_check/regress" \
			--bindir="$PG_BIN" --inputdir=. --outputdir=. --load-extension=engram \
			--temp-config=test/scripts/regress.conf $tests | tee regress.log
		for t in $tests; do
			if grep -E "[ ]$t[ ]+\.\.\.[ ]+ok" regress.log >/dev/null; then
				count "regress/$t" 0
			else
				count "regress/$t" 1
			fi
		done
		[ -f regression.diffs ] && head -c 20000 regression.diffs
	fi
fi

if [[ " $suites " == *" isolation "* ]]; then
	specs=$(ls test/isolation/specs/*.spec 2>/dev/null | sed 's|.*/||; s|\.spec$||' | sort)
	if [ -n "$specs" ]; then
		echo "== isolation"
		mkdir -p test/isolation/output
		"$PGXS_DIR/src/test/isolation/pg_isolation_regress" --temp-instance="$here/tmp_check/isolation" \
			--bindir="$PG_BIN" --inputdir=test/isolation --outputdir=test/isolation/output \
			--load-extension=engram --temp-config=test/scripts/regress.conf $specs | tee isolation.log
		for t in $specs; do
			if grep -E "[ ]$t[ ]+\.\.\.[ ]+ok" isolation.log >/dev/null; then count "isolation/$t" 0; else count "isolation/$t" 1; fi
		done
		[ -f test/isolation/output/regression.diffs ] && head -c 20000 test/isolation/output/regression.diffs
	fi
fi

if [[ " $suites " == *" tap "* ]]; then
	taps=${PROVE_TESTS:-$(ls test/t/*.pl 2>/dev/null | sort)}
	if [ -n "$taps" ]; then
		echo "== TAP"
		mkdir -p tmp_check
		for t in $taps; do
			TESTDIR="$here" PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
				ENGRAM_NOLIB_INSTALL="$ENGRAM_NOLIB_INSTALL" \
				timeout 1200 prove -I "$PGXS_DIR/src/test/perl" -I test/perl "$t"
			rc=$?
			count "tap/$(basename "$t")" $rc
			if [ $rc -ne 0 ]; then
				for f in tmp_check/log/regress_log_$(basename "$t" .pl); do
					[ -f "$f" ] && { echo "---- tail of $f"; tail -n 60 "$f"; }
				done
			fi
		done
	fi
fi

if [[ " $suites " == *" bench "* ]]; then
	# The benchmark harness in its quick mode, so it cannot rot; it checks
	# results (row counts, contents after migration, recall computed) but
	# asserts no speed.
	echo "== bench --quick"
	ENGRAM_BENCH_ARGS=--quick ENGRAM_BENCH_OUT="$here/bench_out" timeout 900 bash test/bench/run.sh --inner
	count "bench/quick" $?
fi

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "engram: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
