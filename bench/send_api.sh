#!/usr/bin/env bash
# bench/send_api: SigV4-signed cross-account SendRawEmail (a delegate sending
# as the owner's domain under a policy) accepted per second with durable
# group commit, through wrk with pre-signed requests (valid 15 minutes):
# sesame on SQLite, then on a throwaway PostgreSQL cluster with one node and
# with two nodes sharing it (when PostgreSQL's server is installed), next to
# aws-ses-v2-local (npm; keeps mail in memory, checks nothing) accepting the
# same request in the same run, and moto's server when the machine's default
# python3 has moto. Prints each rate, p99 and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
work=$(mktemp -d)
pids=()
pgdir=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null
	[ -n "$pgdir" ] && bash scripts/pg.sh stop "$pgdir" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
	for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
	echo "bench: $1 did not answer" >&2; tail -5 "$work/sesame.log" >&2; return 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# aws-ses-v2-local from the npm registry, kept out of the tree.
npmdir=build/bench-npm
if [ ! -x "$npmdir/node_modules/.bin/aws-ses-v2-local" ]; then
	mkdir -p "$npmdir"
	(cd "$npmdir" && npm install --silent --no-audit --no-fund aws-ses-v2-local@2 >/dev/null)
fi

# serve DATA [ARGS...]: a node (a data dir is one node's; nodes on one
# store share its master key); prints "PID PORT".
serve() {
	local data=$1 hp; shift
	hp=$(port)
	./build/sesame serve --data "$data" "$@" --http 127.0.0.1:$hp --smtp 127.0.0.1:$(port) \
		--feedback 127.0.0.1:$(port) --smtps 127.0.0.1:$(port) --log-level warn --threads 2 \
		>>"$work/sesame.log" 2>&1 &
	echo "$! $hp"
}

# prepare DATA PORTS [--db URL]: owner, delegate and policy on that store,
# and one pre-signed request per node in req-PORT.lua (SigV4 signs Host).
prepare() {
	local data=$1 ports=$2 owner delegate; shift 2
	cli() { ./build/sesame "$@" --data "$data" "${db[@]}"; }
	db=("$@")
	owner=$(cli account create --name owner | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')
	cli key create --account "$owner" >"$work/owner.json"
	cli identity verify --account "$owner" --region us-east-1 example.com >/dev/null
	delegate=$(cli account create --name delegate --max-rate 1000000 --max-24h -1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')
	cli key create --account "$delegate" >"$work/delegate.json"
	/usr/bin/python3 - "$work" "$ports" "$owner" "$delegate" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
work, ports, owner, delegate = sys.argv[1:5]
ports = ports.split(",")
ok = json.load(open(f"{work}/owner.json"))
dk = json.load(open(f"{work}/delegate.json"))
arn = f"arn:aws:ses:us-east-1:{owner}:identity/example.com"
boto3.client("ses", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{ports[0]}",
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
for port in ports:
    ep = f"http://127.0.0.1:{port}"
    r = AWSRequest(method="POST", url=ep + "/", data=body,
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(dk["AccessKeyId"], dk["SecretAccessKey"]), "ses", "us-east-1").add_auth(r)
    with open(f"{work}/req-{port}.lua", "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(body))
        for k, v in r.headers.items():
            if k.lower() != "host":
                f.write('wrk.headers[%s] = %s\n' % (json.dumps(k), json.dumps(v)))
        f.write('done = function(summary, latency, requests)\n'
                '  io.write(string.format("P99_US %d\\n", latency:percentile(99)))\nend\n')
    req = urllib.request.Request(ep + "/", data=body.encode(), headers=dict(r.headers), method="POST")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200, resp.status
PY
}

# measure NAME PORT [CONNS] [LUA]: "rate p99_us non2xx"
measure() {
	local lua=${4:-$work/req-$2.lua}
	[ -f "$lua" ] || lua=$work/req-any.lua
	wrk -t1 -c"${3:-$CONNS}" -d"${SECS}s" -s "$lua" "http://127.0.0.1:$2/" >"$work/$1.txt" 2>&1 || true
	printf '%s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")" \
		"$(awk '/P99_US/ {print $2}' "$work/$1.txt")" \
		"$(awk '/Non-2xx/ {print $5}' "$work/$1.txt")"
}

# -- sesame on SQLite
read -r pid HP < <(serve "$work/var")
pids+=("$pid")
wait_http "http://127.0.0.1:$HP/_sesame/health"
prepare "$work/var" "$HP"
cp "$work/req-$HP.lua" "$work/req-any.lua" # the peers take any signature
read -r ours ours_p99 ours_bad < <(measure sesame "$HP")
curl -s "http://127.0.0.1:$HP/metrics" >"$work/metrics.txt" || true
kill "$pid"; wait "$pid" 2>/dev/null || true
printf 'send_api: sesame/sqlite %s accepts/s (p99 %s us%s, durable, policy-checked)\n' "$ours" "$ours_p99" "${ours_bad:+, non-2xx $ours_bad}"
# where the time of an accepted send goes (issue 15): each stage's p50 and
# p99 as the upper bound of the histogram bucket they fall in
/usr/bin/python3 - "$work/metrics.txt" <<'PY'
import re, sys
stages = {}
for line in open(sys.argv[1]):
    m = re.match(r'(sesame_send_stage_duration_seconds|sesame_queue_commit_duration_seconds)_bucket\{(?:stage="(\w+)",)?le="([^"]+)"\} (\d+)', line)
    if m:
        stages.setdefault(m.group(2) or "commit", []).append((float(m.group(3)), int(m.group(4))))
for name, b in stages.items():
    total = b[-1][1]
    if total == 0:
        continue
    q = lambda f: next((le for le, c in b if c >= f * total), float("inf"))
    print(f"send_api: stage {name:<10} n={total:<7} p50 <= {q(0.5) * 1e3:g} ms, p99 <= {q(0.99) * 1e3:g} ms")
PY

# -- sesame on PostgreSQL: one node, then two nodes sharing the store
if command -v pg_ctlcluster >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	pgdir=$(mktemp -d /tmp/sesame-bench-pg.XXXXXX)
	url=$(bash scripts/pg.sh start "$pgdir")
	read -r p1 N1 < <(serve "$work/pg" --db "$url")
	pids+=("$p1")
	wait_http "http://127.0.0.1:$N1/_sesame/health"
	read -r p2 N2 < <(serve "$work/pg2" --db "$url" --master-key "$work/pg/master.key")
	pids+=("$p2")
	wait_http "http://127.0.0.1:$N2/_sesame/health"
	prepare "$work/pg" "$N1,$N2" --db "$url"
	kill -STOP "$p2"                   # one node alone first
	read -r pg1 pg1_p99 pg1_bad < <(measure pg1 "$N1")
	kill -CONT "$p2"
	measure pg2a "$N1" $((CONNS / 2)) >"$work/pg2a.out" &
	measure pg2b "$N2" $((CONNS / 2)) >"$work/pg2b.out"
	wait %1 2>/dev/null || true
	read -r a a_p99 _ <"$work/pg2a.out"
	read -r b b_p99 _ <"$work/pg2b.out"
	pg2=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a + b }')
	printf 'send_api: sesame/postgresql 1 node %s accepts/s (p99 %s us%s); ratio to sqlite %s\n' \
		"$pg1" "$pg1_p99" "${pg1_bad:+, non-2xx $pg1_bad}" "$(ratio "$pg1" "$ours")"
	printf 'send_api: sesame/postgresql 2 nodes %s accepts/s (p99 %s / %s us); ratio to 1 node %s\n' \
		"$pg2" "$a_p99" "$b_p99" "$(ratio "$pg2" "$pg1")"
	kill "$p1" "$p2"; wait "$p1" "$p2" 2>/dev/null || true
else
	echo "send_api: sesame/postgresql: PostgreSQL's server is not installed; skipped"
fi

LP=$(port)
node "$npmdir/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$LP" >"$work/local.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$LP/"
read -r peer peer_p99 peer_bad < <(measure local "$LP")
printf 'send_api: aws-ses-v2-local %s req/s (p99 %s us%s, in memory, no checks); ratio %s\n' \
	"$peer" "$peer_p99" "${peer_bad:+, non-2xx $peer_bad}" "$(ratio "$ours" "$peer")"

if python3 -c 'import moto' 2>/dev/null; then
	MP=$(port)
	python3 -m moto.server -H 127.0.0.1 -p "$MP" >"$work/moto.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$MP/"
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x python3 -c "import boto3; boto3.client('ses', region_name='us-east-1', endpoint_url='http://127.0.0.1:$MP').verify_domain_identity(Domain='example.com')" || true
	read -r moto moto_p99 moto_bad < <(measure moto "$MP")
	printf 'send_api: moto %s req/s (p99 %s us%s); ratio %s\n' "$moto" "$moto_p99" "${moto_bad:+, non-2xx $moto_bad}" "$(ratio "$ours" "$moto")"
else
	echo "send_api: moto: not installed in the default python3; peer skipped"
fi
