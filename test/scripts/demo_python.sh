#!/usr/bin/env bash
# make demo-python: the Python client's example agent loop
# (clients/python/examples/agent_loop.py) against a throwaway cluster.
#
# Like make demo: installs missing packages, builds engram into a private
# copy of PostgreSQL 15, starts a cluster in a temporary directory as an
# unprivileged user, runs the agent loop, stops the cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != "--inner" ]; then
	source "$here/test/scripts/pg_env.sh"
	run_unprivileged_copy "$here" test/scripts/demo_python.sh
	exit $?
fi

cd "$here"
source test/scripts/pg_env.sh
echo "engram demo-python: building and installing into a private PostgreSQL copy..."
pg_env_make_install "$here/../tmp_install" || exit 1

data=$here/../demo_data
port=${ENGRAM_DEMO_PORT:-55433}
initdb -D "$data" -A trust -U postgres >/dev/null || exit 1
cat >>"$data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$here/..'
CONF
pg_ctl -D "$data" -l "$here/../demo.log" -w start >/dev/null || { cat "$here/../demo.log"; exit 1; }
trap 'pg_ctl -D "$data" -m fast -w stop >/dev/null' EXIT

psql -X -q -h "$here/.." -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-c "CREATE EXTENSION engram" || exit 1
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" clients/python/examples/agent_loop.py "host=$here/.. port=$port user=postgres dbname=postgres" || exit 1
echo "engram demo-python: done (cluster stopped, temporary files removed)"
