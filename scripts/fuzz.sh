#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/ for SECONDS each (two at a time,
# one per core) from its seed corpus in tests/fuzz/corpus/<name>/ (copied, so
# the tree is not touched) with tests/fuzz/<name>.dict when present. Fails if
# any target finds a crash, leak or timeout; the inputs are kept in
# build-fuzz/crashes/ to become regression seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export work secs

run_one() {
	bin=$1
	name=$(basename "$bin" _fuzz)
	mkdir -p "$work/$name" "$work/$name.art"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/$name/"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	if ASAN_OPTIONS=detect_leaks=1 "$bin" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$work/$name.art/" "$work/$name" \
		>"$work/$name.log" 2>&1; then
		echo "fuzz: $name ok ($(grep -oE 'stat::number_of_executed_units: [0-9]+' "$work/$name.log" | awk '{print $2}') runs in ${secs}s)"
	else
		tail -40 "$work/$name.log"
		mkdir -p build-fuzz/crashes
		cp "$work/$name.art/"* build-fuzz/crashes/ 2>/dev/null || true
		echo "fuzz: $name FAILED (inputs kept in build-fuzz/crashes/)"
		return 1
	fi
}
export -f run_one
ls build-fuzz/*_fuzz | xargs -P 2 -I{} bash -c 'run_one {}'
