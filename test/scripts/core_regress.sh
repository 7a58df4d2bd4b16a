# Sourced by test/scripts/run_tests.sh for ENGRAM_TESTS=core (make test-long,
# make test-core): PostgreSQL 15's own regression suite run twice against
# temporary clusters of the private installation, once stock (heap, no
# engram) and once with engram preloaded, created in template1 and the
# regression database, and default_table_access_method = engram.  What the
# engram run prints differently from the heap run, test by test, must be
# exactly what test/core-regress/ lists (see its README.md); anything else,
# a new differing test or a changed diff, fails the run.
#
# core_fetch_sources  (outer part, as the calling user, before the copy)
#   Debian's binary packages lack src/test/regress, so this fetches the
#   postgresql-15 source package with apt-get source into a cache
#   (ENGRAM_PG_SRC_CACHE, default /var/tmp/engram-pg15-src), using the
#   machine's own apt sources turned into deb-src entries in a private apt
#   configuration (the system's apt state is not touched; no root needed).
#   It takes the version of the installed server package if the mirrors
#   still have its source, else the newest postgresql-15 source that they
#   have, and says so: both runs use the same test files, so the comparison
#   engram/heap does not depend on it.  Exports ENGRAM_CORE_SRC (the
#   src/test/regress directory) and ENGRAM_CORE_SRC_VERSION.
#
# core_run  (inner part, unprivileged, after pg_env_make_install)
#   Builds regress.so from the sources with the installed PGXS, runs both
#   suites, compares and counts every test with count() of run_tests.sh.
#   ENGRAM_CORE_UPDATE=1 writes the regenerated list to ENGRAM_CORE_OUT
#   (the outer part copies it into test/core-regress/).

core_fetch_sources() {
	local cache=${ENGRAM_PG_SRC_CACHE:-/var/tmp/engram-pg15-src}
	local want have v dir f apt
	want=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null) ||
		{ echo "engram core: postgresql-15 is not installed" >&2; return 1; }
	# ok-VERSION marks a fetched source; for an installed version whose source
	# could not be had it holds the version used instead.
	if [ ! -f "$cache/ok-$want" ]; then
		mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/src"
		# deb-src twins of the machine's configured apt sources.
		: >"$cache/apt/sources.list"
		: >"$cache/apt/deb-src.sources"
		if [ -f /etc/apt/sources.list ]; then
			sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >>"$cache/apt/sources.list"
		fi
		for f in /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$cache/apt/sources.list"
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] && { sed 's/^Types:.*/Types: deb-src/' "$f"; echo; } >>"$cache/apt/deb-src.sources"
		done
		mkdir -p "$cache/apt/sources.list.d"
		cp "$cache/apt/deb-src.sources" "$cache/apt/sources.list.d/deb-src.sources"
		apt=(apt-get -q -o Dir::Etc::SourceList="$cache/apt/sources.list"
			-o Dir::Etc::SourceParts="$cache/apt/sources.list.d"
			-o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache="$cache/apt/cache"
			-o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
		"${apt[@]}" update >"$cache/apt/update.log" 2>&1 ||
			{ cat "$cache/apt/update.log" >&2; echo "engram core: apt-get update (deb-src) failed" >&2; return 1; }
		# The installed version first, then what the mirrors have, newest first.
		local versions
		versions=$( { echo "$want"; apt-cache -o Dir::Etc::SourceList="$cache/apt/sources.list" \
			-o Dir::Etc::SourceParts="$cache/apt/sources.list.d" -o Dir::State::Lists="$cache/apt/lists" \
			-o Dir::Cache="$cache/apt/cache" showsrc postgresql-15 2>/dev/null |
			sed -n 's/^Version: //p' | sort -rV; } | awk '!seen[$0]++')
		have=
		for v in $versions; do
			rm -rf "$cache/src/work" && mkdir -p "$cache/src/work"
			if (cd "$cache/src/work" && "${apt[@]}" source "postgresql-15=$v" >"$cache/apt/source.log" 2>&1); then
				have=$v
				break
			fi
			echo "engram core: the source of postgresql-15 $v could not be fetched ($(grep -m1 '^E:' "$cache/apt/source.log"))" >&2
		done
		[ -n "$have" ] || { echo "engram core: no postgresql-15 source package could be fetched" >&2; return 1; }
		dir=$(find "$cache/src/work" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-15-*' | head -1)
		[ -f "$dir/src/test/regress/parallel_schedule" ] ||
			{ echo "engram core: $dir has no src/test/regress/parallel_schedule" >&2; return 1; }
		rm -rf "$cache/src/$have"
		mkdir -p "$cache/src/$have"
		cp -a "$dir/src/test/regress" "$cache/src/$have/"
		rm -rf "$cache/src/work"
		chmod -R a+rX "$cache"
		: >"$cache/ok-$have"
		# Remember, for this installed version, which source was used.
		[ "$have" = "$want" ] || echo "$have" >"$cache/ok-$want"
	fi
	have=$want
	[ -s "$cache/ok-$want" ] && have=$(cat "$cache/ok-$want")
	ENGRAM_CORE_SRC=$cache/src/$have/regress
	ENGRAM_CORE_SRC_VERSION=$have
	export ENGRAM_CORE_SRC ENGRAM_CORE_SRC_VERSION
	if [ "$have" != "$want" ]; then
		echo "engram core: server package $want, regression tests from source package $have (the mirrors lack $want's source);" \
			"the heap run shows what that changes, the engram/heap comparison does not depend on it"
	else
		echo "engram core: regression tests from source package postgresql-15 $have (the installed server's)"
	fi
}

# core_cluster DIR PORT (postgresql.conf lines on stdin): initdb and start.
core_cluster() {
	local dir=$1 port=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	initdb -D "$dir/data" -A trust -U postgres --no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; return 1; }
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		# as pg_regress's own temporary instance has them
		echo "max_prepared_transactions = 2"
		echo "log_autovacuum_min_duration = 0"
		echo "log_lock_waits = on"
		echo "fsync = off"
		cat
	} >>"$dir/data/postgresql.conf"
	pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null || { tail -n 30 "$dir/server.log"; return 1; }
}

core_run() {
	local S=${ENGRAM_CORE_SRC:?} work=$here/tmp_check/core lst=test/core-regress
	local t rc port_heap=$((57000 + RANDOM % 1000)) port_engram started
	port_engram=$((port_heap + 1))
	started=$(date +%s)
	echo "== PostgreSQL's regression suite (sources $ENGRAM_CORE_SRC_VERSION) with heap and with engram"
	rm -rf "$work"
	mkdir -p "$work/lib"
	# regress.so, built with the installed PGXS; autoinc and refint (contrib/spi)
	# come with the server package.
	# (the system's pg_config: the private copy has no headers)
	local pgc
	pgc=$(PATH=${PATH#"$PG_BIN:"} command -v "$PG_CONFIG")
	cp "$S/regress.c" "$work/lib/"
	printf 'MODULES = regress\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' >"$work/lib/Makefile"
	make -s -C "$work/lib" PG_CONFIG="$pgc" >"$work/lib/build.log" 2>&1 ||
		{ cat "$work/lib/build.log"; echo "engram core: regress.so did not build"; count "core/build" 1; return; }
	local pkglib
	pkglib=$("$pgc" --pkglibdir)
	cp "$pkglib/autoinc.so" "$pkglib/refint.so" "$work/lib/" ||
		{ echo "engram core: autoinc.so/refint.so missing (postgresql-15)"; count "core/build" 1; return; }
	# The schedule without the publication tests (publication, subscription:
	# they need no table AM and list every table of the database).
	sed -E 's/[[:space:]](publication|subscription)\b//g; /^test:[[:space:]]*$/d' "$S/parallel_schedule" >"$work/schedule"
	local tests
	tests=$(sed -n 's/^test://p' "$work/schedule" | tr ' ' '\n' | sed '/^$/d')
	echo "   $(echo "$tests" | wc -l) tests ($S/parallel_schedule less publication, subscription)"

	local mode
	for mode in heap engram; do
		local dir=$work/$mode port conf extra=()
		if [ $mode = heap ]; then
			port=$port_heap
			core_cluster "$dir" "$port" </dev/null || { count "core/$mode-cluster" 1; return; }
		else
			port=$port_engram
			core_cluster "$dir" "$port" <<-EOF || { count "core/$mode-cluster" 1; return; }
				shared_preload_libraries = 'engram'
				# the worker must not move rows while the tests look at them
				engram.migrate_naptime = 86400
				engram.expire_naptime = 0
			EOF
			# in template1 (databases the tests create) and postgres, then the
			# default AM (set after, so CREATE EXTENSION itself runs as usual)
			local db
			for db in template1 postgres; do
				psql -X -q -h "$dir" -p "$port" -U postgres -d $db -c 'CREATE EXTENSION engram' >/dev/null ||
					{ count "core/$mode-cluster" 1; return; }
			done
			echo "default_table_access_method = 'engram'" >>"$dir/data/postgresql.conf"
			pg_ctl -D "$dir/data" reload >/dev/null
			sleep 1
			extra=(--load-extension=engram)
		fi
		local t0=$(date +%s)
		mkdir -p "$dir/out"
		"$PGXS_DIR/src/test/regress/pg_regress" --host="$dir" --port="$port" --user=postgres \
			--bindir="$PG_BIN" --inputdir="$S" --outputdir="$dir/out" --dlpath="$work/lib" \
			--schedule="$work/schedule" "${extra[@]}" >"$dir/regress.log" 2>&1
		rc=$?
		pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1
		local nfail
		nfail=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$dir/regress.log")
		echo "   $mode: $(grep -m1 -E 'tests (passed|failed)|of [0-9]+ tests' "$dir/regress.log" | sed 's/^[ =]*//; s/[ =]*$//') in $(( $(date +%s) - t0 )) s (pg_regress exit $rc, $nfail failing against PostgreSQL's expected output)"
		if grep -qE 'PANIC|terminated by signal|server closed the connection unexpectedly' "$dir/server.log"; then
			echo "   $mode: the server log has a crash:"
			grep -E 'PANIC|terminated by signal' "$dir/server.log" | head -5
			count "core/$mode-no-crash" 1
		else
			count "core/$mode-no-crash" 0
		fi
		grep -E '\.\.\. FAILED|\.\.\. failed' "$dir/regress.log" | sed -E 's/^(test )?[^a-z_]*([a-z_0-9]+).*/\2/' | sort >"$dir/failing.txt"
	done
	echo "   heap run's failures against PostgreSQL's expected output (setup and source version, not engram): $(tr '\n' ' ' <"$work/heap/failing.txt")"
	echo "   engram run's failures against PostgreSQL's expected output: $(tr '\n' ' ' <"$work/engram/failing.txt")"

	# What engram prints differently from heap, test by test.
	mkdir -p "$work/diffs"
	: >"$work/differing.txt"
	for t in $tests; do
		local h=$work/heap/out/results/$t.out e=$work/engram/out/results/$t.out
		if [ ! -f "$h" ] || [ ! -f "$e" ]; then
			echo "$t" >>"$work/differing.txt"
			echo "(missing result file: heap $( [ -f "$h" ] && echo present || echo absent ), engram $( [ -f "$e" ] && echo present || echo absent ))" >"$work/diffs/$t.diff"
			continue
		fi
		if ! diff -U3 --label "heap/$t.out" --label "engram/$t.out" "$h" "$e" >"$work/diffs/$t.diff"; then
			echo "$t" >>"$work/differing.txt"
			# The extension's own catalog rows carry OIDs (>= 16384), which
			# move with every object the extension adds: mask them so a
			# listed diff stays the same (hunk headers left alone).
			sed -E -i '/^@@/!s/\b(1[6-9][0-9]{3}|[2-9][0-9]{4}|[1-9][0-9]{5,})\b/<oid>/g' "$work/diffs/$t.diff"
		else
			rm -f "$work/diffs/$t.diff"
		fi
	done

	# The checked-in list: "test | why" lines, the diff in diffs/TEST.diff.
	local listed why ok nnew=0 nchanged=0 ngone=0
	listed=$(grep -v '^[[:space:]]*\(#\|$\)' "$lst/expected-differences.txt" | cut -d'|' -f1 | xargs -n1 2>/dev/null | sort)
	for t in $tests; do
		local inlist=0 differs=0
		echo "$listed" | grep -qx "$t" && inlist=1
		grep -qx "$t" "$work/differing.txt" && differs=1
		ok=0
		if [ $inlist = 0 ] && [ $differs = 1 ]; then
			echo "   NEW DIFFERENCE: $t (engram's output differs from heap's; diff below)"
			head -c 6000 "$work/diffs/$t.diff" | sed 's/^/      /'
			nnew=$((nnew + 1)); ok=1
		elif [ $inlist = 1 ] && [ $differs = 0 ]; then
			echo "   GONE: $t is listed in $lst/expected-differences.txt but engram now prints what heap prints (regenerate the list)"
			ngone=$((ngone + 1)); ok=1
		elif [ $inlist = 1 ] && ! cmp -s "$work/diffs/$t.diff" "$lst/diffs/$t.diff"; then
			echo "   CHANGED DIFFERENCE: $t (engram vs heap is not $lst/diffs/$t.diff; diff of the diffs below)"
			diff -u --label "listed" --label "now" "$lst/diffs/$t.diff" "$work/diffs/$t.diff" 2>&1 | head -c 6000 | sed 's/^/      /'
			nchanged=$((nchanged + 1)); ok=1
		elif [ $inlist = 1 ]; then
			why=$(grep -E "^[[:space:]]*$t[[:space:]]*\|" "$lst/expected-differences.txt" | head -1 | cut -d'|' -f2-)
			if echo "$why" | grep -q 'UNEXPLAINED'; then
				echo "   UNEXPLAINED: $t is listed without a reason"
				ok=1
			fi
		fi
		count "core/$t" $ok
	done
	echo "   engram/heap: $(wc -l <"$work/differing.txt") tests differ; $nnew new, $nchanged changed, $ngone no longer differing (list: $lst/expected-differences.txt) in $(( $(date +%s) - started )) s"

	if [ -n "${ENGRAM_CORE_UPDATE:-}" ] && [ -n "${ENGRAM_CORE_OUT:-}" ]; then
		mkdir -p "$ENGRAM_CORE_OUT/diffs"
		{
			sed '/^# ---- list/q' "$lst/expected-differences.txt"
			while read -r t; do
				why=$(grep -E "^[[:space:]]*$t[[:space:]]*\|" "$lst/expected-differences.txt" | head -1 | cut -d'|' -f2- | sed 's/^ *//')
				[ -n "$why" ] || why="UNEXPLAINED: new difference; say why here or fix engram"
				printf '%s | %s\n' "$t" "$why"
				cp "$work/diffs/$t.diff" "$ENGRAM_CORE_OUT/diffs/"
			done <"$work/differing.txt"
		} >"$ENGRAM_CORE_OUT/expected-differences.txt"
		cp "$work/heap/failing.txt" "$ENGRAM_CORE_OUT/heap-failing.txt"
		cp "$work/engram/failing.txt" "$ENGRAM_CORE_OUT/engram-failing.txt"
		echo "   regenerated list written to $ENGRAM_CORE_OUT"
	fi
}
