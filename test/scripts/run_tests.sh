#!/usr/bin/env bash
# engram's whole test suite: pg_regress, isolation specs and TAP tests.
#
#   make test                      (or: bash test/scripts/run_tests.sh)
#   ENGRAM_TESTS="regress isolation tap" PROVE_TESTS="test/t/010_x.pl" make test
#   make test-long                 (ENGRAM_TESTS=long: test/t/long/*.pl)
#   make test-core                 (ENGRAM_TESTS=core: PostgreSQL's own regression
#                                   suite with engram as the default table AM,
#                                   test/scripts/core_regress.sh; in make test-long)
#
# It installs missing packages, copies the tree to a private work directory,
# builds there, installs engram into a private copy of the PostgreSQL 15
# installation (so the system's server is untouched and tests can also run a
# server *without* engram), and runs every suite against temporary clusters.
# initdb refuses root, so when started as root it runs the suites as the
# unprivileged user ENGRAM_TEST_USER (default postgres).
#
# Counting: every TAP assertion ("ok N" / "not ok N" at the top level of a
# test's TAP stream) is one test; every pg_regress test and isolation spec is
# one; bench --quick is one.  A TAP file that exits non-zero, dies after its
# last assertion or has no assertion at all adds one failure.  Every skip
# (an "ok N # skip" line, a "1..0 # SKIP" file, a TODO) is counted as
# skipped and FAILS the run unless it matches an entry of
# test/skip-allowlist.txt (printed at the end, with its reason).
# An unknown ENGRAM_TESTS word or a PROVE_TESTS file that does not exist
# fails the run.  Ends with one line:
#   engram: N passed, M failed, K skipped
# and exits non-zero when M > 0 or a skip is not allowed.
set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
suites=${ENGRAM_TESTS:-regress isolation tap bench}
known_suites="regress isolation tap bench long core"

for s in $suites; do
	if [[ " $known_suites " != *" $s "* ]]; then
		echo "engram: unknown ENGRAM_TESTS value '$s' (known: $known_suites)" >&2
		echo "engram: 0 passed, 1 failed, 0 skipped"
		exit 2
	fi
done
if [ -z "${suites// /}" ]; then
	echo "engram: ENGRAM_TESTS is empty (known: $known_suites)" >&2
	echo "engram: 0 passed, 1 failed, 0 skipped"
	exit 2
fi
for t in ${PROVE_TESTS:-}; do
	if [ ! -f "$here/$t" ]; then
		echo "engram: PROVE_TESTS names $t, which does not exist" >&2
		echo "engram: 0 passed, 1 failed, 0 skipped"
		exit 2
	fi
done

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	core_env=()
	if [[ " $suites " == *" core "* ]]; then
		# PostgreSQL's regression sources, fetched before the unprivileged copy.
		bash "$here/test/scripts/deps.sh" || { echo "engram: 0 passed, 1 failed, 0 skipped"; exit 1; }
		source "$here/test/scripts/core_regress.sh"
		core_fetch_sources || { echo "engram: 0 passed, 1 failed, 0 skipped"; exit 1; }
		core_env=(ENGRAM_CORE_SRC="$ENGRAM_CORE_SRC" ENGRAM_CORE_SRC_VERSION="$ENGRAM_CORE_SRC_VERSION")
		if [ -n "${ENGRAM_CORE_UPDATE:-}" ]; then
			core_out=$(mktemp -d /tmp/engram-core-list.XXXXXX)
			chmod 777 "$core_out"
			core_env+=(ENGRAM_CORE_UPDATE=1 ENGRAM_CORE_OUT="$core_out")
		fi
	fi
	run_unprivileged_copy "$here" test/scripts/run_tests.sh ENGRAM_TESTS="$suites" PROVE_TESTS="${PROVE_TESTS:-}" \
		ENGRAM_FUZZ_ITERATIONS="${ENGRAM_FUZZ_ITERATIONS:-}" "${core_env[@]}"
	rc=$?
	if [ -n "${core_out:-}" ]; then
		if [ -f "$core_out/expected-differences.txt" ]; then
			rm -rf "$here/test/core-regress/diffs"
			mkdir -p "$here/test/core-regress/diffs"
			cp "$core_out"/diffs/*.diff "$here/test/core-regress/diffs/" 2>/dev/null
			cp "$core_out/expected-differences.txt" "$here/test/core-regress/"
			echo "engram: test/core-regress/ regenerated (review with git diff; heap's and engram's failures against PostgreSQL's expected output: $core_out)"
		else
			echo "engram: the core suite wrote no list; test/core-regress/ unchanged"
		fi
	fi
	exit $rc
fi

# ---- inner part: runs unprivileged inside the work directory -------------
cd "$here"
source test/scripts/pg_env.sh
pg_env_make_install "$here/../tmp_install" || { echo "engram: 0 passed, 1 failed, 0 skipped"; exit 1; }

mkdir -p tmp_check
passed=0
failed=0
skipped=0
failures=()
allowed_skips=()
bad_skips=()
count() {	# name rc
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

# The allow-list: "file | regular expression on the skip message | reason"
allowlist=test/skip-allowlist.txt
skip_allowed() {	# file message -> prints the reason, status 0 when allowed
	local file=$1 msg=$2 f re why
	[ -f "$allowlist" ] || return 1
	while IFS='|' read -r f re why; do
		f=$(echo "$f" | xargs); re=$(echo "$re" | sed 's/^ *//; s/ *$//'); why=$(echo "$why" | sed 's/^ *//')
		[ -z "$f" ] && continue
		[[ "$f" == \#* ]] && continue
		if [ "$f" = "$file" ] && [[ "$msg" =~ $re ]]; then
			echo "$why"
			return 0
		fi
	done <"$allowlist"
	return 1
}

# Count one TAP file's stream (prove -v output in $2); $3 is prove's status.
count_tap() {	# name outfile rc
	local name=$1 out=$2 rc=$3 np nf ns line msg why
	np=$(grep -cE '^ok [0-9]+' "$out" | head -1)
	ns=$(grep -ciE '^ok [0-9]+[^#]*# (skip|todo)' "$out" | head -1)
	nf=$(grep -E '^not ok [0-9]+' "$out" | grep -cviE '# todo' | head -1)
	local ntodo
	ntodo=$(grep -ciE '^not ok [0-9]+[^#]*# todo' "$out" | head -1)
	np=$((np - ns))
	passed=$((passed + np))
	failed=$((failed + nf))
	[ "$nf" -gt 0 ] && failures+=("$name: $nf assertion(s) failed")
	# skips, TODOs and skip_all files
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		skipped=$((skipped + 1))
		msg=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+[^#]*# *(skip|SKIP|todo|TODO) *//; s/^1\.\.0 *# *(skip|SKIP) *//; s/^[^ ]+ \.\. skipped: *//')
		if why=$(skip_allowed "$(basename "$name")" "$msg"); then
			allowed_skips+=("$name: $msg -- allowed: $why")
		else
			bad_skips+=("$name: $msg")
		fi
	done < <(grep -iE '^(ok [0-9]+[^#]*# (skip|todo)|not ok [0-9]+[^#]*# todo|1\.\.0 *# *skip|[^ ]+ \.\. skipped:)' "$out")
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name: exit status $rc (died, wrong plan or timeout) with no failed assertion")
	elif [ "$np" -eq 0 ] && [ "$nf" -eq 0 ] && ! grep -qiE '^(1\.\.0 *# *skip|[^ ]+ \.\. skipped:)' "$out"; then
		failed=$((failed + 1))
		failures+=("$name: no assertion at all")
	fi
	echo "   $name: $np passed, $nf failed, $((ns + ntodo)) skipped (exit $rc)"
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

run_taps() {	# files...
	local t rc name out
	mkdir -p tmp_check/tap
	for t in "$@"; do
		name="tap/${t#test/t/}"
		out="tmp_check/tap/$(basename "$t" .pl).out"
		TESTDIR="$here" PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
			ENGRAM_NOLIB_INSTALL="$ENGRAM_NOLIB_INSTALL" \
			timeout "${ENGRAM_TAP_TIMEOUT:-1200}" prove -v -I "$PGXS_DIR/src/test/perl" -I test/perl "$t" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		count_tap "$name" "$out" "$rc"
		if [ $rc -ne 0 ]; then
			for f in tmp_check/log/regress_log_$(basename "$t" .pl); do
				[ -f "$f" ] && { echo "---- tail of $f"; tail -n 60 "$f"; }
			done
		fi
	done
}

if [[ " $suites " == *" tap "* ]]; then
	taps=${PROVE_TESTS:-$(ls test/t/*.pl 2>/dev/null | sort)}
	if [ -n "$taps" ]; then
		echo "== TAP"
		run_taps $taps
	fi
fi

if [[ " $suites " == *" long "* ]]; then
	# Tests too heavy for every CI run (make test-long): see docs/test-plan.md.
	longs=$(ls test/t/long/*.pl 2>/dev/null | sort)
	if [ -n "$longs" ]; then
		echo "== TAP (long)"
		ENGRAM_TAP_TIMEOUT=${ENGRAM_TAP_TIMEOUT:-3600} run_taps $longs
	fi
fi

if [[ " $suites " == *" core "* ]]; then
	# PostgreSQL's own regression suite, heap against engram: see
	# test/scripts/core_regress.sh and test/core-regress/README.md.
	source test/scripts/core_regress.sh
	core_run
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
echo "Skip allow-list ($allowlist; any other skip fails the run):"
if [ -f "$allowlist" ]; then
	grep -v '^[[:space:]]*\(#\|$\)' "$allowlist" | sed 's/^/  allowed: /'
fi
if [ ${#allowed_skips[@]} -gt 0 ]; then
	echo "Skips that happened and are allowed:"
	for f in "${allowed_skips[@]}"; do echo "  SKIPPED: $f"; done
fi
if [ ${#bad_skips[@]} -gt 0 ]; then
	echo "Skips NOT in $allowlist (each one fails the run):"
	for f in "${bad_skips[@]}"; do echo "  SKIPPED (not allowed): $f"; done
fi
echo "engram: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#bad_skips[@]} -eq 0 ]
