#!/usr/bin/env bash
# bench/api_quota: SigV4-signed GetSendQuota requests per second through
# wrk (one pre-signed request, valid for 15 minutes), next to nginx serving a
# static 200 on the same machine in the same run, printed as a ratio. The
# two alternate in BENCH_ROUNDS rounds (default 5) of BENCH_SECONDS/rounds
# each, so background load on a shared machine hits both alike; each
# round's ratio is printed (their spread is the noise), the figure is the
# total over the rounds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-32}
ROUNDS=${BENCH_ROUNDS:-5}
bench_init

# shellcheck disable=SC2086 # SESAME_ARGS: extra serve flags, split on purpose
bench_serve "$work/var" ${SESAME_ARGS:-}
HP=$SERVE_HTTP
NP=$(port)
acct=$(bench_account "$work/var" bench)
bench_key "$work/var" "$acct" "$work/key.json"
# One signed request, rendered as a wrk Lua script.
bench_sign "$work/key.json" "$HP" "Action=GetSendQuota&Version=2010-12-01" "$work/req.lua"

cat >"$work/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$NP; location / { return 200 "ok\n"; } }
}
NGX
nginx -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1 &
pids+=($!)
sleep 0.5

echo 'wrk.method = "GET"' >"$work/get.lua"
round=$(awk -v s="$SECS" -v r="$ROUNDS" 'BEGIN { v = s / r; printf "%d", (v < 1 ? 1 : v) }')
ours=0 peer=0 health=0 rounds="" bad=""
for _ in $(seq "$ROUNDS"); do
	read -r o _ _ non200 < <(bench_wrk ours "$HP" "$CONNS" "$round" "$work/req.lua")
	read -r n _ _ _ < <(bench_wrk nginx "$NP" "$CONNS" "$round" "$work/get.lua")
	read -r h _ _ _ < <(wrk_url health "http://127.0.0.1:$HP/_sesame/health" "$CONNS" "$round" "$work/get.lua")
	ours=$(awk -v a="$ours" -v b="$o" 'BEGIN { print a + b }')
	peer=$(awk -v a="$peer" -v b="$n" 'BEGIN { print a + b }')
	health=$(awk -v a="$health" -v b="$h" 'BEGIN { print a + b }')
	rounds="$rounds $(ratio "$o" "$n")"
	bad=${bad:-$non200}
done
ours=$(awk -v a="$ours" -v r="$ROUNDS" 'BEGIN { printf "%.0f", a / r }')
peer=$(awk -v a="$peer" -v r="$ROUNDS" 'BEGIN { printf "%.0f", a / r }')
health=$(awk -v a="$health" -v r="$ROUNDS" 'BEGIN { printf "%.0f", a / r }')
printf 'api_quota: sesame GetSendQuota (SigV4) %s req/s; nginx static 200 %s req/s; ratio %s (%s rounds of %s s, round ratios%s)%s\n' \
	"$ours" "$peer" "$(ratio "$ours" "$peer")" "$ROUNDS" "$round" "$rounds" \
	"${bad:+ (non-2xx responses: $bad — check the key)}"
printf 'api_quota: sesame /_sesame/health (its HTTP layer alone) %s req/s; ratio to nginx %s\n' \
	"$health" "$(ratio "$health" "$peer")"
