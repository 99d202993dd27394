#!/usr/bin/env bash
# bench/api_quota: SigV4-signed GetSendQuota requests per second through
# wrk (one pre-signed request, valid for 15 minutes), next to nginx serving a
# static 200 on the same machine in the same run, printed as a ratio.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-32}
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

read -r ours _ _ non200 < <(bench_wrk ours "$HP" "$CONNS" "$SECS" "$work/req.lua")
echo 'wrk.method = "GET"' >"$work/get.lua"
read -r peer _ _ _ < <(bench_wrk nginx "$NP" "$CONNS" "$SECS" "$work/get.lua")
printf 'api_quota: sesame GetSendQuota (SigV4) %s req/s; nginx static 200 %s req/s; ratio %.2f%s\n' \
	"$ours" "$peer" "$(awk -v a="$ours" -v b="$peer" 'BEGIN { print (b > 0 ? a / b : 0) }')" "${non200:+ (non-2xx responses: $non200 — check the key)}"
