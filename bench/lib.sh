# bench/lib.sh — the set-up every bench/*.sh repeats, sourced (never run:
# bench/run.sh skips it). It cds to the top of the tree and defines:
#
#   bench_init [TEMPLATE]   $work (a temp dir, mktemp's TEMPLATE if given),
#                           the pid list $pids and an EXIT trap that runs the
#                           bench_at_exit hooks, kills every pid in $pids,
#                           waits for the children and removes $work
#   bench_at_exit FUNC      FUNC runs at exit, after the pids are killed and
#                           before $work goes (stop a Postfix, a PostgreSQL)
#   port                    a free loopback TCP port
#   wait_http URL [LOG]     wait up to 15 s for URL to answer; else print
#                           LOG's tail ($work/sesame.log) and return 1
#   ratio A B               A / B with two decimals (0 when B is 0)
#   bench_serve DATA [ARGS...]
#                           start `sesame serve --data DATA ARGS...` on fresh
#                           loopback ports (HTTP, SMTP, SMTPS, feedback),
#                           logging to $BENCH_LOG ($work/sesame.log, appended),
#                           at warn unless ARGS say otherwise; sets SERVE_PID
#                           (added to $pids), SERVE_HTTP and SERVE_SMTP and
#                           waits for its health page
#   bench_cli DATA ARGS...  the sesame CLI on DATA and the store BENCH_DB
#                           names (an array, e.g. (--db postgresql://…))
#   bench_account DATA NAME [ARGS...]
#                           create an account (ARGS: --max-rate …), print its id
#   bench_key DATA ACCOUNT OUT
#                           an access key for ACCOUNT as JSON in OUT
#   bench_identity DATA ACCOUNT DOMAIN
#                           DOMAIN verified for ACCOUNT in us-east-1
#   bench_delegation DATA TAG [ARGS...]
#                           the send_api cast on DATA's store: an account
#                           "owner" with example.com verified and a
#                           "delegate" (ARGS: its limits); their keys in
#                           $work/TAG-owner.json and $work/TAG-delegate.json;
#                           prints "OWNER DELEGATE" (no server needed)
#   bench_delegation_policy TAG PORT OWNER DELEGATE
#                           through a node's API on PORT: the owner's policy
#                           letting the delegate send as *@example.com, and
#                           the delegate's cross-account SendRawEmail form
#                           (~3 KB of message) in $work/TAG-send.body
#   bench_sign KEY PORT BODY OUT [check]
#                           one SigV4-signed POST of the form BODY to
#                           127.0.0.1:PORT with the key in KEY (JSON), as a
#                           wrk Lua script OUT (valid 15 minutes) that also
#                           prints P50_US and P99_US when wrk ends; with
#                           "check", also sent once, which must get a 200;
#                           with "show", the same and its body printed
#   bench_wrk NAME PORT CONNS SECS LUA
#                           one wrk run (output kept in $work/NAME.txt);
#                           prints "rate p50_us p99_us non2xx" (non2xx empty
#                           when none)
#   wrk_url NAME URL CONNS SECS LUA
#                           the same for any loopback URL
#   bench_fsync DIR         the disk's own floor for a durable commit: 32 KB
#                           written over a reused 4 MB file in DIR, then
#                           fdatasync, 1000 times or 5 s; prints
#                           "p50_us p99_us"
#
# Nothing here binds anything but 127.0.0.1.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_DB=()
bench_hooks=()

bench_cleanup() {
	local h p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null
	for h in "${bench_hooks[@]}"; do "$h" >/dev/null 2>&1 || true; done
	[ -n "${work:-}" ] && rm -rf "$work"
}

bench_init() {
	if [ -n "${1:-}" ]; then work=$(mktemp -d "$1"); else work=$(mktemp -d); fi
	pids=()
	BENCH_LOG=${BENCH_LOG:-$work/sesame.log}
	trap bench_cleanup EXIT
}

bench_at_exit() { bench_hooks+=("$1"); }

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {
	for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
	echo "bench: $1 did not answer" >&2; tail -5 "${2:-$work/sesame.log}" >&2; return 1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

bench_serve() {
	local data=$1 level=warn a
	shift
	for a in "$@"; do [ "$a" = --log-level ] && level=""; done
	SERVE_HTTP=$(port)
	SERVE_SMTP=$(port)
	./build/sesame serve --data "$data" "$@" --http 127.0.0.1:$SERVE_HTTP --smtp 127.0.0.1:$SERVE_SMTP \
		--feedback 127.0.0.1:$(port) --smtps 127.0.0.1:$(port) ${level:+--log-level $level} \
		>>"$BENCH_LOG" 2>&1 &
	SERVE_PID=$!
	pids+=("$SERVE_PID")
	wait_http "http://127.0.0.1:$SERVE_HTTP/_sesame/health" "$BENCH_LOG"
}

bench_cli() { local data=$1; shift; ./build/sesame "$@" --data "$data" "${BENCH_DB[@]}"; }

bench_account() {
	local data=$1 name=$2
	shift 2
	bench_cli "$data" account create --name "$name" "$@" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])'
}

bench_key() { bench_cli "$1" key create --account "$2" >"$3"; }

bench_identity() { bench_cli "$1" identity verify --account "$2" --region us-east-1 "$3" >/dev/null; }

bench_delegation() {
	local data=$1 tag=$2 owner delegate
	shift 2
	owner=$(bench_account "$data" owner)
	bench_key "$data" "$owner" "$work/$tag-owner.json"
	bench_identity "$data" "$owner" example.com
	delegate=$(bench_account "$data" delegate "$@")
	bench_key "$data" "$delegate" "$work/$tag-delegate.json"
	echo "$owner $delegate"
}

bench_delegation_policy() {
	/usr/bin/python3 - "$work" "$@" <<'PY'
import base64, json, sys, urllib.parse
import boto3
work, tag, port, owner, delegate = sys.argv[1:6]
ok = json.load(open(f"{work}/{tag}-owner.json"))
arn = f"arn:aws:ses:us-east-1:{owner}:identity/example.com"
boto3.client("ses", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
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
open(f"{work}/{tag}-send.body", "w").write(body)
PY
}

bench_sign() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
import urllib.request
keyfile, port, body, out = sys.argv[1:5]
key = json.load(open(keyfile))
r = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
               headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "ses", "us-east-1").add_auth(r)
with open(out, "w") as f:
    f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(body))
    for k, v in r.headers.items():
        if k.lower() != "host":
            f.write('wrk.headers[%s] = %s\n' % (json.dumps(k), json.dumps(v)))
    f.write('done = function(summary, latency, requests)\n'
            '  io.write(string.format("P50_US %d\\nP99_US %d\\n",'
            ' latency:percentile(50), latency:percentile(99)))\nend\n')
if sys.argv[5:6] in (["check"], ["show"]):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body.encode(),
                                 headers=dict(r.headers), method="POST")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200, resp.status
        if sys.argv[5] == "show":
            sys.stdout.write(resp.read().decode() + "\n")
PY
}

bench_wrk() { wrk_url "$1" "http://127.0.0.1:$2/" "${@:3}"; }

wrk_url() {
	local name=$1 url=$2 conns=$3 secs=$4 lua=$5
	wrk -t1 -c"$conns" -d"${secs}s" -s "$lua" "$url" >"$work/$name.txt" 2>&1 || true
	awk '/Requests\/sec/ { r = $2 } /P50_US/ { p50 = $2 } /P99_US/ { p99 = $2 } /Non-2xx/ { bad = $5 }
		END { printf "%s %s %s %s\n", (r == "" ? 0 : r), (p50 == "" ? 0 : p50), (p99 == "" ? 0 : p99), bad }' \
		"$work/$name.txt"
}

bench_fsync() {
	/usr/bin/python3 - "$1" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-floor")
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, b"\0" * (4 << 20), 0)
os.fsync(fd)
chunk, took, end = os.urandom(32 << 10), [], time.monotonic() + 5
for i in range(1000):
    t = time.perf_counter()
    os.pwrite(fd, chunk, (i * len(chunk)) % (4 << 20))
    os.fdatasync(fd)
    took.append(time.perf_counter() - t)
    if time.monotonic() > end:
        break
os.close(fd)
os.unlink(path)
took.sort()
q = lambda f: int(took[min(len(took) - 1, int(f * len(took)))] * 1e6)
print(q(0.5), q(0.99))
PY
}
