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
# The layers (DESIGN.md "Architecture"): a module includes only modules of a
# lower layer, so imports point down the picture and there is no cycle.
/usr/bin/python3 - <<'PY'
import os, re, sys
rank = {"util": 0, "core": 1, "dns": 1, "conf": 2, "store": 2, "mail": 2, "auth": 3,
        "delivery": 3, "notify": 3, "queue": 4, "sns": 4, "feedback": 5, "send": 5, "verify": 5, "api": 6, "smtp": 6, "cli": 6,
        "(top)": 7}
bad = []
for root, _, files in os.walk("src"):
    for f in files:
        path = os.path.join(root, f)
        mod = path.split("/")[1] if path.count("/") > 1 else "(top)"
        if mod not in rank:
            bad.append(f"{path}: module {mod} has no layer in scripts/checksrc.sh")
            continue
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            m = re.match(r'#include "([^"]+)"', line)
            if not m:
                continue
            dep = m.group(1).split("/")[0] if "/" in m.group(1) else "(top)"
            if dep != mod and rank.get(dep, 99) >= rank[mod]:
                bad.append(f"{path}:{n}: {mod} includes {m.group(1)} (not a lower layer)")
if bad:
    print("\n".join(bad), file=sys.stderr)
    print("checksrc: an include points up or sideways (see scripts/checksrc.sh)", file=sys.stderr)
    sys.exit(1)
PY
echo "checksrc: ok"
