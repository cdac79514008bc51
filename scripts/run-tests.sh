#!/usr/bin/env bash
# Run the test suite against a real PostgreSQL server started here and stopped afterwards, whatever happens.
# Usage: scripts/run-tests.sh PYTEST [ARGS...]
set -euo pipefail
pytest=$1; shift

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/pupildata-pg.XXXXXX")
port=$("$(dirname "$pytest")/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'scripts/pg.sh stop "$pgdir"' EXIT
url=$(scripts/pg.sh start "$pgdir" "$port")

export PUPILDATA_TEST_POSTGRES_URL=$url
export PUPILDATA_REQUIRE_POSTGRES=1
export PUPILDATA_REQUIRE_BROWSER=1
"$pytest" "$@"
