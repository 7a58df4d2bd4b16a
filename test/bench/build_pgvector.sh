#!/usr/bin/env bash
# Build and install pgvector from source, for the comparison in make bench:
#   bash test/bench/build_pgvector.sh [TAG]        (default v0.8.6, as measured)
#
# Debian 12 does not package pgvector (only the PostgreSQL project's apt
# repository does), so test/bench/ann_bench.sh finds it only where someone
# installed it; without it the bench prints "pgvector: not installed" and
# measures engram_hnsw against heap exact search alone.  This script clones
# the given release tag of https://github.com/pgvector/pgvector (network
# needed; PGVECTOR_REPO overrides the address, e.g. with a local clone),
# checks that HEAD is that tag, builds it with the pg_config on PATH (or
# PG_CONFIG) and runs make install, which needs root for a Debian server.
# The bench's private server copy (test/scripts/pg_env.sh) copies the
# server's lib and extension directories, so it picks pgvector up from there.
# Not used by make test.
set -euo pipefail
tag=${1:-v0.8.6}
repo=${PGVECTOR_REPO:-https://github.com/pgvector/pgvector.git}
PG_CONFIG=${PG_CONFIG:-pg_config}
command -v git >/dev/null || { echo "build_pgvector: git is needed" >&2; exit 1; }
[ -e "$($PG_CONFIG --pgxs)" ] || { echo "build_pgvector: no PGXS ($PG_CONFIG --pgxs); install postgresql-server-dev-15" >&2; exit 1; }
src=$(mktemp -d /tmp/pgvector.XXXXXX)
trap 'rm -rf "$src"' EXIT
git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$tag" "$repo" "$src/pgvector"
cd "$src/pgvector"
[ "$(git describe --tags --exact-match HEAD)" = "$tag" ] || { echo "build_pgvector: HEAD is not $tag" >&2; exit 1; }
# OPTFLAGS="" keeps -march=native out, so the library runs on other CPUs too
make -s OPTFLAGS="" PG_CONFIG="$PG_CONFIG"
make -s install PG_CONFIG="$PG_CONFIG"
echo "build_pgvector: pgvector $tag installed into $($PG_CONFIG --pkglibdir) and $($PG_CONFIG --sharedir)/extension"
