#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster (scripts/pg.sh) whose
# URL is in SESAME_TEST_PG and SESAME_TEST_STORE_URLS; the cluster is
# stopped and removed afterwards, also when the command fails or is
# interrupted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/sesame-pg.XXXXXX)
trap 'bash "$here/pg.sh" stop "$dir"' EXIT INT TERM
url=$(bash "$here/pg.sh" start "$dir")
export SESAME_TEST_PG="$url" SESAME_TEST_STORE_URLS="$url"
"$@"
