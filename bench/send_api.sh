#!/usr/bin/env bash
# bench/send_api: SigV4-signed cross-account SendRawEmail (a delegate sending
# as the owner's domain under a policy) accepted per second with durable
# group commit, through wrk with pre-signed requests (valid 15 minutes):
# sesame on SQLite, then on a throwaway PostgreSQL cluster with one node and
# with two nodes sharing it (when PostgreSQL's server is installed), next to
# aws-ses-v2-local (npm; keeps mail in memory, checks nothing) accepting the
# same request in the same run, and moto's server when the machine's default
# python3 has moto. Prints each rate, p99 and the ratios.
# Each is measured at every connection count in BENCH_CONNS ("1 4 16 64"), the
# peers running beside sesame and measured right after it at each count, so
# a burst of background load falls on all of them alike; PostgreSQL at the
# last (largest) count, two nodes splitting it. Prints rate, p50 and p99 of
# each, and sesame's ratio to each peer at each count. First the disk's own
# floor beside which the latencies read: a durable send waits for at least
# one fsync, and at a few connections for the batch ahead's fsync too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CONNS_LIST=${BENCH_CONNS:-1 4 16 64}
CONNS=${CONNS_LIST##* } # the largest: PostgreSQL's
bench_init
pgdir=""
pg_stop() { [ -z "$pgdir" ] || bash scripts/pg.sh stop "$pgdir"; }
bench_at_exit pg_stop

# aws-ses-v2-local from the npm registry, kept out of the tree.
npmdir=build/bench-npm
if [ ! -x "$npmdir/node_modules/.bin/aws-ses-v2-local" ]; then
	mkdir -p "$npmdir"
	(cd "$npmdir" && npm install --silent --no-audit --no-fund aws-ses-v2-local@2 >/dev/null)
fi

# prepare DATA PORTS: owner, delegate and policy on that store (BENCH_DB
# names it), and one pre-signed request per node in req-PORT.lua (SigV4
# signs Host).
prepare() {
	local data=$1 ports=$2 owner delegate p
	read -r owner delegate < <(bench_delegation "$data" api --max-rate 1000000 --max-24h -1)
	bench_delegation_policy api "${ports%%,*}" "$owner" "$delegate"
	for p in ${ports//,/ }; do
		bench_sign "$work/api-delegate.json" "$p" "$(cat "$work/api-send.body")" "$work/req-$p.lua" check
	done
}

# measure NAME PORT [CONNS] [LUA]: "rate p50_us p99_us non2xx"
measure() {
	local lua=${4:-$work/req-$2.lua}
	[ -f "$lua" ] || lua=$work/req-any.lua
	bench_wrk "$1" "$2" "${3:-$CONNS}" "$SECS" "$lua"
}

# -- the disk under the data dir, alone, before anything runs
read -r fs_p50 fs_p99 < <(bench_fsync "$work")
printf 'send_api: disk floor: 32 KB write + fdatasync p50 %s us, p99 %s us (a send at a few connections waits for about two)\n' \
	"$fs_p50" "$fs_p99"

# -- the servers: sesame on SQLite and the peers, all idle but the one measured
bench_serve "$work/var" --threads 2
pid=$SERVE_PID HP=$SERVE_HTTP
prepare "$work/var" "$HP"
cp "$work/req-$HP.lua" "$work/req-any.lua" # the peers take any signature
LP=$(port)
node "$npmdir/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$LP" >"$work/local.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$LP/" "$work/local.log"
MP=""
if python3 -c 'import moto' 2>/dev/null; then
	MP=$(port)
	python3 -m moto.server -H 127.0.0.1 -p "$MP" >"$work/moto.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$MP/" "$work/moto.log"
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x python3 -c "import boto3; boto3.client('ses', region_name='us-east-1', endpoint_url='http://127.0.0.1:$MP').verify_domain_identity(Domain='example.com')" || true
fi

# -- the sweep: at each count sesame, then each peer
for c in $CONNS_LIST; do
	read -r ours ours_p50 ours_p99 ours_bad < <(measure "sesame-$c" "$HP" "$c")
	printf 'send_api: %2d conns sesame/sqlite %s accepts/s (p50 %s us, p99 %s us%s, durable, policy-checked)\n' \
		"$c" "$ours" "$ours_p50" "$ours_p99" "${ours_bad:+, non-2xx $ours_bad}"
	read -r peer peer_p50 peer_p99 peer_bad < <(measure "local-$c" "$LP" "$c")
	printf 'send_api: %2d conns aws-ses-v2-local %s req/s (p50 %s us, p99 %s us%s, in memory, no checks); ratio %s\n' \
		"$c" "$peer" "$peer_p50" "$peer_p99" "${peer_bad:+, non-2xx $peer_bad}" "$(ratio "$ours" "$peer")"
	if [ -n "$MP" ]; then
		read -r moto moto_p50 moto_p99 moto_bad < <(measure "moto-$c" "$MP" "$c")
		printf 'send_api: %2d conns moto %s req/s (p50 %s us, p99 %s us%s); ratio %s\n' \
			"$c" "$moto" "$moto_p50" "$moto_p99" "${moto_bad:+, non-2xx $moto_bad}" "$(ratio "$ours" "$moto")"
	fi
done
[ -n "$MP" ] || echo "send_api: moto: not installed in the default python3; peer skipped"
curl -s "http://127.0.0.1:$HP/metrics" >"$work/metrics.txt" || true
kill "$pid"; wait "$pid" 2>/dev/null || true
ours_last=$ours # sqlite at the largest count: PostgreSQL's reference
# where the time of an accepted send goes (issue 15), over the whole sweep:
# each stage's p50 and p99 as the upper bound of the histogram bucket they
# fall in
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
	BENCH_DB=(--db "$url")
	bench_serve "$work/pg" --threads 2 --db "$url"
	p1=$SERVE_PID N1=$SERVE_HTTP
	bench_serve "$work/pg2" --threads 2 --db "$url" --master-key "$work/pg/master.key"
	p2=$SERVE_PID N2=$SERVE_HTTP
	prepare "$work/pg" "$N1,$N2"
	kill -STOP "$p2"                   # one node alone first
	read -r pg1 _ pg1_p99 pg1_bad < <(measure pg1 "$N1")
	kill -CONT "$p2"
	measure pg2a "$N1" $((CONNS / 2)) >"$work/pg2a.out" &
	measure pg2b "$N2" $((CONNS / 2)) >"$work/pg2b.out"
	wait $! 2>/dev/null || true
	read -r a _ a_p99 _ <"$work/pg2a.out"
	read -r b _ b_p99 _ <"$work/pg2b.out"
	pg2=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a + b }')
	printf 'send_api: %2d conns sesame/postgresql 1 node %s accepts/s (p99 %s us%s); ratio to sqlite %s\n' \
		"$CONNS" "$pg1" "$pg1_p99" "${pg1_bad:+, non-2xx $pg1_bad}" "$(ratio "$pg1" "$ours_last")"
	printf 'send_api: %2d conns sesame/postgresql 2 nodes %s accepts/s (p99 %s / %s us); ratio to 1 node %s\n' \
		"$CONNS" "$pg2" "$a_p99" "$b_p99" "$(ratio "$pg2" "$pg1")"
	kill "$p1" "$p2"; wait "$p1" "$p2" 2>/dev/null || true
else
	echo "send_api: sesame/postgresql: PostgreSQL's server is not installed; skipped"
fi
