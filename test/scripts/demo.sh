#!/usr/bin/env bash
# engram's main job, for a fresh Debian 12 machine:  make demo
#
# Installs missing packages, builds engram, installs it into a private copy
# of PostgreSQL 15, starts a throwaway cluster in a temporary directory as an
# unprivileged user, creates the extension, remembers a few hundred sentences
# and recalls by text and by embedding, moves memories between tiers, updates
# and supersedes memories, stores keyed memories, expires one, edits core
# memory blocks, prints what it found, and stops the cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	run_unprivileged_copy "$here" test/scripts/demo.sh
	exit $?
fi

cd "$here"
source test/scripts/pg_env.sh
echo "engram demo: building and installing into a private PostgreSQL copy..."
pg_env_make_install "$here/../tmp_install" || exit 1

data=$here/../demo_data
port=${ENGRAM_DEMO_PORT:-55432}
initdb -D "$data" -A trust -U postgres >/dev/null || exit 1
cat >>"$data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$here/..'
shared_preload_libraries = 'engram'
CONF
pg_ctl -D "$data" -l "$here/../demo.log" -w start >/dev/null || { cat "$here/../demo.log"; exit 1; }
trap 'pg_ctl -D "$data" -m fast -w stop >/dev/null' EXIT

export PGHOST=$here/.. PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION engram" || exit 1
psql -X -v ON_ERROR_STOP=1 -f test/scripts/demo_sample.sql || exit 1
echo "engram demo: done (cluster stopped, temporary files removed)"
