#!/usr/bin/env bash
# bench/api_quota: SigV4-signed GetSendQuota requests per second through
# wrk (one pre-signed request, valid for 15 minutes), next to nginx serving a
# static 200 on the same machine in the same run, printed as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HP=$(port); NP=$(port)

./build/sesame serve --data "$work/var" --http 127.0.0.1:$HP --smtp 127.0.0.1:$(port) --feedback 127.0.0.1:$(port) \
	--smtps 127.0.0.1:$(port) --log-level warn ${SESAME_ARGS:-} >"$work/sesame.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HP/_sesame/health" >/dev/null && break; sleep 0.1; done
acct=$(./build/sesame account create --data "$work/var" --name bench | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')
./build/sesame key create --data "$work/var" --account "$acct" >"$work/key.json"

# One signed request, rendered as a wrk Lua script.
/usr/bin/python3 - "$work/key.json" "$HP" >"$work/req.lua" <<'PY'
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
key = json.load(open(sys.argv[1])); port = sys.argv[2]
body = "Action=GetSendQuota&Version=2010-12-01"
r = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
               headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "ses", "us-east-1").add_auth(r)
print('wrk.method = "POST"')
print('wrk.body = %s' % json.dumps(body))
for k, v in r.headers.items():
    if k.lower() == "host":
        continue
    print('wrk.headers[%s] = %s' % (json.dumps(k), json.dumps(v)))
PY

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

rate() { awk '/Requests\/sec/ {print $2}'; }
ours=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$work/req.lua" "http://127.0.0.1:$HP/" | tee "$work/ours.txt" | rate)
non200=$(awk '/Non-2xx/ {print $5}' "$work/ours.txt")
peer=$(wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$NP/" | rate)
printf 'api_quota: sesame GetSendQuota (SigV4) %s req/s; nginx static 200 %s req/s; ratio %.2f%s\n' \
	"$ours" "$peer" "$(awk -v a="$ours" -v b="$peer" 'BEGIN { print (b > 0 ? a / b : 0) }')" "${non200:+ (non-2xx responses: $non200 — check the key)}"
