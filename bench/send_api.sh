#!/usr/bin/env bash
# bench/send_api: SigV4-signed cross-account SendRawEmail (a delegate sending
# as the owner's domain under a policy) accepted per second with durable
# group commit, through wrk with one pre-signed request (valid 15 minutes),
# next to aws-ses-v2-local (npm; keeps mail in memory, checks nothing)
# accepting the same request in the same run, and moto's server when the
# machine's default python3 has moto. Prints each rate, p99 and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

# aws-ses-v2-local from the npm registry, kept out of the tree.
npmdir=build/bench-npm
if [ ! -x "$npmdir/node_modules/.bin/aws-ses-v2-local" ]; then
	mkdir -p "$npmdir"
	(cd "$npmdir" && npm install --silent --no-audit --no-fund aws-ses-v2-local@2 >/dev/null)
fi

HP=$(port)
./build/sesame serve --data "$work/var" --http 127.0.0.1:$HP --smtp 127.0.0.1:$(port) --feedback 127.0.0.1:$(port) \
	--smtps 127.0.0.1:$(port) --log-level warn --threads 2 >"$work/sesame.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$HP/_sesame/health"
cli() { ./build/sesame "$@" --data "$work/var"; }
owner=$(cli account create --name owner | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')
cli key create --account "$owner" >"$work/owner.json"
cli identity verify --account "$owner" --region us-east-1 example.com >/dev/null
delegate=$(cli account create --name delegate --max-rate 1000000 --max-24h -1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')
cli key create --account "$delegate" >"$work/delegate.json"

/usr/bin/python3 - "$work" "$HP" "$owner" "$delegate" <<'PY'
import base64, json, sys, urllib.parse
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
work, port, owner, delegate = sys.argv[1:5]
ep = f"http://127.0.0.1:{port}"
ok = json.load(open(f"{work}/owner.json"))
dk = json.load(open(f"{work}/delegate.json"))
arn = f"arn:aws:ses:us-east-1:{owner}:identity/example.com"
boto3.client("ses", region_name="us-east-1", endpoint_url=ep,
             aws_access_key_id=ok["AccessKeyId"], aws_secret_access_key=ok["SecretAccessKey"]
             ).put_identity_policy(Identity="example.com", PolicyName="delegate", Policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Sid": "D", "Effect": "Allow",
        "Principal": {"AWS": delegate}, "Action": "ses:SendRawEmail", "Resource": arn,
        "Condition": {"StringLike": {"ses:FromAddress": "*@example.com"}}}]}))
raw = ("From: Billing <billing@example.com>\r\nTo: customer@example.net\r\n"
       "Subject: Your invoice\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
       + "Thank you for your business.\r\n" * 100)
body = urllib.parse.urlencode({"Action": "SendRawEmail", "Version": "2010-12-01",
    "RawMessage.Data": base64.b64encode(raw.encode()).decode(), "SourceArn": arn,
    "Source": "billing@example.com", "Destinations.member.1": "customer@example.net"})
r = AWSRequest(method="POST", url=ep + "/", data=body,
               headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(dk["AccessKeyId"], dk["SecretAccessKey"]), "ses", "us-east-1").add_auth(r)
with open(f"{work}/req.lua", "w") as f:
    f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(body))
    for k, v in r.headers.items():
        if k.lower() != "host":
            f.write('wrk.headers[%s] = %s\n' % (json.dumps(k), json.dumps(v)))
    f.write('done = function(summary, latency, requests)\n'
            '  io.write(string.format("P99_US %d\\n", latency:percentile(99)))\nend\n')
import urllib.request
req = urllib.request.Request(ep + "/", data=body.encode(), headers=dict(r.headers), method="POST")
with urllib.request.urlopen(req) as resp:
    assert resp.status == 200, resp.status
PY

measure() { # name url -> "rate p99_us non2xx"
	wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$work/req.lua" "$2" >"$work/$1.txt" 2>&1 || true
	printf '%s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")" \
		"$(awk '/P99_US/ {print $2}' "$work/$1.txt")" \
		"$(awk '/Non-2xx/ {print $5}' "$work/$1.txt")"
}
read -r ours ours_p99 ours_bad < <(measure sesame "http://127.0.0.1:$HP/")
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

LP=$(port)
node "$npmdir/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$LP" >"$work/local.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$LP/"
read -r peer peer_p99 peer_bad < <(measure local "http://127.0.0.1:$LP/")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf 'send_api: sesame %s accepts/s (p99 %s us%s, durable, policy-checked)\n' "$ours" "$ours_p99" "${ours_bad:+, non-2xx $ours_bad}"
printf 'send_api: aws-ses-v2-local %s req/s (p99 %s us%s, in memory, no checks); ratio %s\n' \
	"$peer" "$peer_p99" "${peer_bad:+, non-2xx $peer_bad}" "$(ratio "$ours" "$peer")"

if python3 -c 'import moto' 2>/dev/null; then
	MP=$(port)
	python3 -m moto.server -H 127.0.0.1 -p "$MP" >"$work/moto.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$MP/"
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x python3 -c "import boto3; boto3.client('ses', region_name='us-east-1', endpoint_url='http://127.0.0.1:$MP').verify_domain_identity(Domain='example.com')" || true
	read -r moto moto_p99 moto_bad < <(measure moto "http://127.0.0.1:$MP/")
	printf 'send_api: moto %s req/s (p99 %s us%s); ratio %s\n' "$moto" "$moto_p99" "${moto_bad:+, non-2xx $moto_bad}" "$(ratio "$ours" "$moto")"
else
	echo "send_api: moto: not installed in the default python3; peer skipped"
fi
