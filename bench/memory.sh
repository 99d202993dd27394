#!/usr/bin/env bash
# bench/memory: issue 15's "RSS under 64 MB with 100,000 messages queued
# for a slow MX, and steady under a 10-minute load". One `sesame serve`
# (SQLite, --transport relay:// to a slow MX: Postfix's smtp-sink waiting
# BENCH_SINK_DELAY (1) s before it answers each DATA, so the five
# connections sesame opens to one host deliver about 5 messages/s and the
# queue only grows). Then:
#   1. BENCH_QUEUE (100,000) SendRawEmail accepts through wrk (the send_api
#      request, pre-signed; a response counter stops wrk at the count,
#      BENCH_QUEUE_TIMEOUT (600) s at most);
#   2. a steady load of about BENCH_STEADY_RATE (200) sends/s (wrk with a
#      per-request delay on 10 connections) for BENCH_STEADY_SECONDS (600),
#      in one-minute pieces.
# Prints VmRSS and VmHWM (/proc/PID/status) at the start, after the queue
# is filled (with the count of recipients the store holds queued), after
# every minute of the steady load and at the end, beside the 64 MB ceiling:
# PASS when every sample is under it. Loopback only; bounded in count and
# time as above.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
QUEUE=${BENCH_QUEUE:-100000}
QTMO=${BENCH_QUEUE_TIMEOUT:-600}
STEADY=${BENCH_STEADY_SECONDS:-600}
RATE=${BENCH_STEADY_RATE:-200}
DELAY=${BENCH_SINK_DELAY:-1}
CEIL_MB=64
bench_init
SINK_BIN=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[ -x "$SINK_BIN" ] || SINK_BIN=/usr/lib/postfix/sbin/smtp-sink
[ -x "$SINK_BIN" ] || { echo "memory: postfix's smtp-sink is not installed: scripts/deps.sh bench" >&2; exit 1; }

SINK=$(port)
"$SINK_BIN" -u postfix -w "$DELAY" 127.0.0.1:"$SINK" 256 >"$work/sink.log" 2>&1 &
pids+=($!)
read -r owner delegate < <(bench_delegation "$work/var" mem --max-rate 1000000 --max-24h -1)
bench_serve "$work/var" --threads 2 --transport "relay://127.0.0.1:$SINK" \
	--bounce-domain bounces.bench.test --helo sesame-bench.test
HP=$SERVE_HTTP
bench_delegation_policy mem "$HP" "$owner" "$delegate"
bench_sign "$work/mem-delegate.json" "$HP" "$(cat "$work/mem-send.body")" "$work/send.lua" check

rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f %.1f\n", r / 1024, h / 1024 }' "/proc/$SERVE_PID/status"; }
queued() {
	/usr/bin/python3 - "$work/var/sesame.db" <<-'PY'
		import sqlite3, sys
		c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
		print(c.execute("SELECT count(*) FROM recipients WHERE status IN ('queued', 'sending')").fetchone()[0])
	PY
}
worst=0
sample() { # LABEL: one line; the worst VmRSS so far
	local r h
	read -r r h < <(rss)
	worst=$(awk -v a="$worst" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
	printf 'memory: %-32s VmRSS %6s MB  VmHWM %6s MB  (ceiling %s MB)%s\n' "$1" "$r" "$h" "$CEIL_MB" "${2:-}"
}
sample start
read -r start_rss _ < <(rss)

# 1. the queue: QUEUE accepts, counted by the responses
{
	cat "$work/send.lua"
	cat <<-LUA
		local n, limit = 0, $QUEUE
		response = function(status, headers, body)
		  n = n + 1
		  if n >= limit then wrk.thread:stop() end
		end
	LUA
} >"$work/fill.lua"
# wrk's own rate divides by its -d even when the script stopped it early,
# so the time is taken here: wrk runs until the store holds QUEUE messages
# (or QTMO seconds), and is stopped then
messages() {
	/usr/bin/python3 - "$work/var/sesame.db" <<-'PY'
		import sqlite3, sys
		c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
		print(c.execute("SELECT count(*) FROM messages").fetchone()[0])
	PY
}
t0=$(date +%s.%N)
wrk -t1 -c16 -d"${QTMO}s" -s "$work/fill.lua" "http://127.0.0.1:$HP/" >"$work/fill.txt" 2>&1 &
wpid=$!
pids+=("$wpid")
end=$(( $(date +%s) + QTMO ))
while kill -0 "$wpid" 2>/dev/null && [ "$(messages)" -lt "$QUEUE" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
t1=$(date +%s.%N)
kill "$wpid" 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
stored=$(messages)
fill_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
n=$(queued)
sample "queued ($n recipients)" "; $stored accepted in $fill_secs s ($(awk -v n="$stored" -v s="$fill_secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')/s)"
read -r queued_rss _ < <(rss)

# 2. the steady load, a minute at a time
delay_ms=$(awk -v r="$RATE" 'BEGIN { d = 10000 / r; printf "%d", (d < 1 ? 1 : d) }')
{ cat "$work/send.lua"; echo "delay = function() return $delay_ms end"; } >"$work/steady.lua"
left=$STEADY m=0
while [ "$left" -gt 0 ]; do
	piece=$((left < 60 ? left : 60))
	read -r srate _ sp99 sbad < <(bench_wrk "steady-$m" "$HP" 10 "$piece" "$work/steady.lua")
	m=$((m + 1)); left=$((left - piece))
	sample "steady load, $((STEADY - left)) s" "; $srate sends/s, p99 $sp99 us${sbad:+, non-2xx $sbad}"
done
n=$(queued)
sample "end ($n recipients queued)"
read -r end_rss end_hwm < <(rss)
printf 'memory: start %s MB, %s queued %s MB, end %s MB (steady phase %+.1f MB); worst %s MB, peak (VmHWM) %s MB; ceiling %s MB: %s\n' \
	"$start_rss" "$QUEUE" "$queued_rss" "$end_rss" "$(awk -v a="$queued_rss" -v b="$end_rss" 'BEGIN { print b - a }')" \
	"$worst" "$end_hwm" "$CEIL_MB" "$(awk -v w="$end_hwm" -v c="$CEIL_MB" 'BEGIN { print (w < c ? "PASS" : "FAIL") }')"
awk -v w="$end_hwm" -v c="$CEIL_MB" 'BEGIN { exit !(w < c) }'
