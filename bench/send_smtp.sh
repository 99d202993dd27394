#!/usr/bin/env bash
# bench/send_smtp: SMTP messages accepted per second by `sesame serve`
# (STARTTLS, AUTH PLAIN, one message per transaction over BENCH_SMTP_CONNS
# reused connections; 250 after DATA means the message is committed in the
# queue and the send was decided like a SendRawEmail), next to Postfix's
# smtpd accepting the same messages from the same generator (build/smtp_load)
# into its queue over plain SMTP, no TLS, no AUTH, no policy: Postfix gets
# the easier job. Prints each rate, p50/p99 and the ratio sesame/postfix.
#
# The Postfix instance is a throwaway one: its own config_directory and
# queue_directory in a temp dir, mail_owner postfix, smtpd on a loopback
# high port only. It really accepts into its queue: smtpd hands each message
# to cleanup, which writes the queue file and fsyncs it before smtpd says
# 250 (Postfix's default). Every message is put on hold (an access HOLD
# action for every client), so the queue manager never schedules it, and
# master.cf defines no delivery transport at all (no smtp, relay, local,
# virtual), so nothing could leave the machine even if released. The
# queue's flow control (in_flow_delay) is off: the queue manager never
# picks held mail up, so it would never hand out tokens and cleanup would
# sleep a second per message. After the run the held queue files are
# counted and must match the accepts. sesame meanwhile runs its default
# capture transport (delivery into its own inbox, on the same machine): its
# deliveries share the CPU with its accepts, one more handicap. Both log as
# in production: Postfix its usual lines per message to its maillog file,
# sesame at info (BENCH_SESAME_LOG; one line per transaction and one per
# delivery) to a file.
#
# Both servers run side by side (idle when not measured) and the generator
# alternates between them in BENCH_ROUNDS (5) rounds of BENCH_SECONDS /
# BENCH_ROUNDS seconds each, so the load of whatever else the machine runs
# falls on both alike; each round's ratio is printed too (their spread is
# the noise). Bounded: BENCH_SECONDS (10) per peer and BENCH_SMTP_COUNT
# (100000) transactions per peer, whichever first; loopback only;
# everything is stopped and removed on exit, also on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_SMTP_CONNS:-10}
COUNT=${BENCH_SMTP_COUNT:-100000}
ROUNDS=${BENCH_ROUNDS:-5}
[ -x build/smtp_load ] || { echo "send_smtp: build/smtp_load missing (make build)" >&2; exit 1; }
bench_init
pf=""
pf_stop() {
	[ -n "$pf" ] && [ -f "$pf/queue/pid/master.pid" ] || return 0
	postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
	local mp
	mp=$(sed -n '1s/ //gp' "$pf/queue/pid/master.pid" 2>/dev/null || true)
	for _ in $(seq 50); do [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null || break; sleep 0.1; done
	[ -z "$mp" ] || kill "$mp" 2>/dev/null || true
}
bench_at_exit pf_stop

# -- sesame: a verified example.com, SMTP credentials, a throwaway cert
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
bench_serve "$work/var" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
	--log-level "${BENCH_SESAME_LOG:-info}"
HP=$SERVE_HTTP SP=$SERVE_SMTP
acct=$(bench_account "$work/var" bench --max-rate 1000000 --max-24h -1)
bench_key "$work/var" "$acct" "$work/key.json"
bench_identity "$work/var" "$acct" example.com
user=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["SmtpUsername"])' "$work/key.json")
pass=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["SmtpPasswords"]["us-east-1"])' "$work/key.json")

# load NAME PORT [ARGS...]: one round; its figures appended to $work/NAME.txt
load() {
	local name=$1 p=$2; shift 2
	./build/smtp_load --port "$p" --conns "$CONNS" --count $((COUNT / ROUNDS)) \
		--seconds "$(awk -v s="$SECS" -v r="$ROUNDS" 'BEGIN { print s / r }')" \
		--from bench@example.com --to rcpt@example.net --latencies "$work/$name.lat" "$@" \
		>>"$work/$name.txt" 2>"$work/$name.err" || true
	head -3 "$work/$name.err" | sed "s/^/send_smtp: $name: /" >&2
}
# sum NAME: "rate accepted refused p50_ms p99_ms" over all rounds
sum() {
	local n p50 p99
	n=$(wc -l <"$work/$1.lat" 2>/dev/null || echo 0)
	p50=$(sort -n "$work/$1.lat" 2>/dev/null | awk -v n="$n" 'NR == int(n * 0.50) + 1 { printf "%.2f", $1 / 1000 }')
	p99=$(sort -n "$work/$1.lat" 2>/dev/null | awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.2f", $1 / 1000 }')
	awk -v p50="${p50:-0}" -v p99="${p99:-0}" '{ for (i = 1; i < NF; i++) v[$i] += $(i + 1) }
		END { printf "%.1f %d %d %s %s\n", (v["seconds"] > 0 ? v["accepted"] / v["seconds"] : 0),
			v["accepted"], v["refused"], p50, p99 }' "$work/$1.txt"
}

postfix_ok=1
if ! command -v postfix >/dev/null || [ ! -x /usr/lib/postfix/sbin/master ]; then
	echo "send_smtp: postfix: not installed (scripts/deps.sh bench); peer skipped"
	postfix_ok=""
fi
if [ -n "$postfix_ok" ]; then
	# -- Postfix: smtpd -> cleanup -> hold queue, plain SMTP on loopback
	pf=$work/postfix
	mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
	chmod 0755 "$work" # the postfix user chdirs into its queue_directory
	chown postfix "$pf/data"
	PP=$(port)
	cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
myhostname = postfix-bench.localhost
mydomain = localhost
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_client_access static:HOLD
in_flow_delay = 0
biff = no
EOF
	cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$PP inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
anvil     unix  - - n - 1 anvil
proxymap  unix  - - n - - proxymap
postlog   unix-dgram n - n - 1 postlogd
EOF
	postfix -c "$pf/etc" start >"$pf/start.log" 2>&1 || {
		echo "send_smtp: postfix did not start" >&2
		cat "$pf/start.log" "$pf/maillog" >&2 || true
		exit 1
	}
	for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PP) 2>/dev/null && break; sleep 0.1; done
fi

# -- the rounds: sesame, then Postfix, ROUNDS times
for i in $(seq "$ROUNDS"); do
	load sesame "$SP" --starttls --auth plain --user "$user" --pass "$pass"
	if [ -n "$postfix_ok" ]; then load postfix "$PP"; fi
done
committed=$(curl -s "http://127.0.0.1:$HP/metrics" |
	awk '/^sesame_smtp_transactions_total\{.*code="250"/ { n += $NF } END { print n + 0 }')

read -r ours ours_n ours_bad ours50 ours99 < <(sum sesame)
printf 'send_smtp: sesame %s accepts/s (p50 %s ms, p99 %s ms; STARTTLS+AUTH, durable, policy-checked; %s accepted, %s refused; %s committed per /metrics, counting those in flight at each deadline)\n' \
	"$ours" "$ours50" "$ours99" "$ours_n" "$ours_bad" "$committed"
[ -n "$postfix_ok" ] || exit 0
held=$(find "$pf/queue/hold" -type f | wc -l)
read -r peer peer_n peer_bad peer50 peer99 < <(sum postfix)
printf 'send_smtp: postfix %s accepts/s (p50 %s ms, p99 %s ms; plain SMTP into its queue, held; %s accepted, %s refused; %s queue files)\n' \
	"$peer" "$peer50" "$peer99" "$peer_n" "$peer_bad" "$held"
rounds=$(paste -d' ' <(awk '{ for (i = 1; i < NF; i++) if ($i == "rate") print $(i + 1) }' "$work/sesame.txt") \
	<(awk '{ for (i = 1; i < NF; i++) if ($i == "rate") print $(i + 1) }' "$work/postfix.txt") |
	awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0) }')
printf 'send_smtp: ratio sesame/postfix %s (%s connections; %s rounds of %s s per peer, round ratios %s)\n' \
	"$(ratio "$ours" "$peer")" "$CONNS" "$ROUNDS" "$(awk -v s="$SECS" -v r="$ROUNDS" 'BEGIN { print s / r }')" "$rounds"
