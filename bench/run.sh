#!/usr/bin/env bash
# `make bench`: every benchmark, each printing our figure next to a peer or a
# ceiling measured in the same run. Bounded in time; loopback only.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
	case $(basename "$b") in run.sh | lib.sh) continue ;; esac
	echo "== $(basename "$b" .sh)"
	bash "$b" || status=1
done
for b in build/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || status=1
done
exit $status
