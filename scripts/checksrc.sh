#!/usr/bin/env bash
# Bans C functions we never use (STYLE.md §16): unsafe string functions,
# non-reentrant time conversions and atoi's silent failures.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gmtime|localtime|gets)[[:space:]]*\('
if grep -rnE "$banned" src tests/unit tests/fuzz bench --include='*.c' --include='*.h' \
	| grep -vE '^\S+:[0-9]+:\s*(\*|//)'; then
	echo "checksrc: banned function used (see STYLE.md §16)" >&2
	exit 1
fi
echo "checksrc: ok"
