# Sourced by engram's scripts: locate PostgreSQL 15 and build a private
# installation with engram in it.
#
# pg_env_make_install DIR
#   copies the PostgreSQL 15 installation (binaries, libraries, share) under
#   DIR, builds engram and installs it there with DESTDIR, then exports
#   PG_BIN (bin dir of the copy, first on PATH), PGXS_DIR and
#   ENGRAM_NOLIB_INSTALL (a second copy without engram, for standby tests).
#   PostgreSQL finds its lib and share directories relative to its binaries,
#   so a copy at another root is a complete installation.

PG_CONFIG=${PG_CONFIG:-pg_config}

pg_env_make_install() {
	local dest=$1
	local bindir pkglibdir sharedir
	bindir=$($PG_CONFIG --bindir)
	pkglibdir=$($PG_CONFIG --pkglibdir)
	sharedir=$($PG_CONFIG --sharedir)
	PGXS_DIR=$(dirname "$(dirname "$(dirname "$($PG_CONFIG --pgxs)")")")
	export PGXS_DIR

	rm -rf "$dest" "$dest-nolib"
	local d
	for d in "$bindir" "$pkglibdir" "$sharedir"; do
		mkdir -p "$dest$(dirname "$d")"
		cp -a "$d" "$dest$d"
	done
	# Neither copy may carry an engram installed into the system by hand
	# ("make install"): the one without engram must really lack it.
	rm -f "$dest$pkglibdir"/engram.so "$dest$sharedir"/extension/engram[.-]*
	rm -rf "$dest$pkglibdir"/bitcode/engram "$dest$pkglibdir"/bitcode/engram.index.bc
	# The copy without engram: same server, engram never installed.
	cp -a "$dest" "$dest-nolib"
	[ ! -e "$dest-nolib$pkglibdir/engram.so" ] || { echo "engram: the no-library copy has engram.so"; return 1; }

	make -s -j2 PG_CONFIG="$PG_CONFIG" >build.log 2>&1 || { cat build.log; echo "engram: build failed"; return 1; }
	grep -E 'warning:' build.log && echo "engram: (build warnings above)"
	make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$dest" >>build.log 2>&1 || { cat build.log; return 1; }

	PG_BIN="$dest$bindir"
	ENGRAM_NOLIB_INSTALL="$dest-nolib$(dirname "$bindir")"
	export PG_BIN ENGRAM_NOLIB_INSTALL
	export PATH="$PG_BIN:$PATH"
	# Make sure the binaries we run are the private copy.
	[ "$(command -v initdb)" = "$PG_BIN/initdb" ] || { echo "engram: initdb is not the private copy"; return 1; }
	return 0
}

# run_unprivileged_copy TREE SCRIPT [VAR=value ...]
#   Installs missing packages, copies TREE to a fresh work directory and runs
#   "bash SCRIPT --inner" there with the given environment, as the
#   unprivileged user ENGRAM_TEST_USER (default postgres) when called as root,
#   because initdb and postgres refuse to run as root.  As root it also
#   mounts a small tmpfs (ENGRAM_SMALL_FS_MB, default 24) at WORK/smallfs and
#   passes its path as ENGRAM_SMALL_FS (empty when it could not: the
#   disk-full test then skips, see test/skip-allowlist.txt).  The work
#   directory is removed on success unless ENGRAM_KEEP is set.  Returns
#   SCRIPT's status.
run_unprivileged_copy() {
	local tree=$1 script=$2
	shift 2
	bash "$tree/test/scripts/deps.sh" || return 1
	local work rc user
	work=$(mktemp -d /tmp/engram.XXXXXX)
	chmod 755 "$work"
	rsync -a --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' \
		--exclude results --exclude tmp_check --exclude tmp_install \
		--exclude test/isolation/output --exclude test/bench/out "$tree/" "$work/src/"
	local smallfs=
	if [ "$(id -u)" -eq 0 ]; then
		user=${ENGRAM_TEST_USER:-postgres}
		id "$user" >/dev/null 2>&1 || useradd --system --create-home "$user"
		chown -R "$user" "$work"
		# A small filesystem for the disk-full tests (test/t/017_disk_full.pl):
		# only root can mount it, the tests run unprivileged.
		mkdir -p "$work/smallfs"
		if mount -t tmpfs -o "size=${ENGRAM_SMALL_FS_MB:-24}m,mode=0700,uid=$(id -u "$user")" tmpfs "$work/smallfs" 2>/dev/null; then
			smallfs=$work/smallfs
		else
			echo "engram: could not mount a tmpfs for the disk-full tests" >&2
		fi
		runuser -u "$user" -- env ENGRAM_SMALL_FS="$smallfs" "$@" bash "$work/src/$script" --inner
	else
		env ENGRAM_SMALL_FS="" "$@" bash "$work/src/$script" --inner
	fi
	rc=$?
	[ -n "$smallfs" ] && umount "$smallfs"
	if [ $rc -eq 0 ] && [ -z "${ENGRAM_KEEP:-}" ]; then
		rm -rf "$work"
	else
		echo "engram: work directory kept at $work"
	fi
	return $rc
}

# bench_start_cluster WORK  (extra postgresql.conf lines on stdin)
#   initdb a throwaway cluster in WORK/data on a free-looking port, with a
#   socket in WORK and no TCP, checkpoints out of the way, plus the caller's
#   settings; start it, stop it (immediate) when the script exits, and export
#   PGHOST/PGPORT/PGUSER/PGDATABASE.  Sets data and port.  Used by the
#   benchmarks in test/bench/.
bench_start_cluster() {
	local work=$1
	data=$work/data
	port=$((56000 + RANDOM % 4000))
	initdb -D "$data" -A trust -U postgres >/dev/null || return 1
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$work'"
		echo "max_wal_size = '8GB'"
		echo "checkpoint_timeout = '1h'"
		cat
	} >>"$data/postgresql.conf"
	pg_ctl -D "$data" -l "$work/server.log" -w start >/dev/null || { tail "$work/server.log"; return 1; }
	trap 'pg_ctl -D "$data" -m immediate -w stop >/dev/null 2>&1' EXIT
	export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}
