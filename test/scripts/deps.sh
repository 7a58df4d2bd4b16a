#!/usr/bin/env bash
# Install what engram's build, demo and tests need on Debian 12.
# Idempotent and quiet when everything is present; as a non-root user it only
# says what is missing (and uses sudo when it can do so without a password).
set -euo pipefail

PKGS=(
	postgresql-15             # server, initdb, pg_ctl, pg_rewind, pg_basebackup
	postgresql-server-dev-15  # PGXS, pg_regress, isolation tester, TAP modules
	postgresql-contrib        # amcheck, pageinspect
	liblz4-dev                # warm tier codec (and 0.1 cold chunks)
	libzstd-dev               # cold tier codec
	zstd                      # test/scripts/engram_pagedump.pl decodes COLD chunks with it
	libipc-run-perl           # PostgreSQL::Test::Cluster
	build-essential
	rsync                     # the test runner copies the tree
	perl                      # prove
	bc                        # benchmark arithmetic
	procps                    # pgrep, free (benchmark, TAP helpers)
	gnuplot-nox               # benchmark plot
	postgresql-15-auto-failover  # automated failover test (054)
	patroni                   # Patroni failover test (056)
	etcd-server               # its DCS
	python3-psycopg           # Python client (clients/python), test/t/080
	python3-psycopg-pool      # its connection-pool test
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=(sudo -n)
	else
		echo "engram: missing Debian packages: ${missing[*]}" >&2
		echo "engram: run as root (or a password-less sudoer): apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi

echo "engram: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# Only the benchmark plot is optional; pg_auto_failover is required by
# test/t/054_auto_failover.pl, which fails without it.
required=()
optional=()
for p in "${missing[@]}"; do
	case "$p" in gnuplot-nox) optional+=("$p") ;; *) required+=("$p") ;; esac
done
if [ ${#required[@]} -gt 0 ]; then
	"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${required[@]}" >/dev/null
fi
for p in "${optional[@]}"; do
	"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
		echo "engram: optional package $p could not be installed (only the benchmark plot needs it)" >&2
done
# Debian's postgresql-common creates a default cluster; engram never uses it.
exit 0
