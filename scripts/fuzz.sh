#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/ for SECONDS each, from its seed
# corpus in tests/fuzz/corpus/<name>/ (copied, so the tree is not touched)
# with tests/fuzz/<name>.dict when present. Fails on the first crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in build-fuzz/*_fuzz; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" _fuzz)
	mkdir -p "$work/$name"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/$name/"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	echo "fuzz: $name for ${secs}s"
	if ! ASAN_OPTIONS=detect_leaks=1 "$bin" "${dict[@]}" -max_total_time="$secs" \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=0 \
		"$work/$name" >"$work/$name.log" 2>&1; then
		tail -40 "$work/$name.log"
		mkdir -p build-fuzz/crashes
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* build-fuzz/crashes/ 2>/dev/null || true
		echo "fuzz: $name FAILED (inputs kept in build-fuzz/crashes/)" >&2
		status=1
	else
		grep -E "^Done|stat::number_of_executed_units" "$work/$name.log" | tail -1 || true
	fi
done
exit $status
