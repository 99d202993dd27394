#!/usr/bin/env bash
# bench/store_size: issue 15's "cost flat in the store's size". The same
# SigV4 cross-account SendRawEmail as send_api (pre-signed, through wrk),
# and GetSendQuota and GetSendStatistics, against two sesame nodes running
# side by side: one on an empty store, one on a store filled with
# BENCH_STORE_MESSAGES (1,000,000) messages of the sending account spread
# over the last 14 days, with their recipients, events and statistics as
# the store keeps them. The rounds alternate between the two (BENCH_ROUNDS,
# 5, of BENCH_SECONDS / BENCH_ROUNDS each per store and request), so
# background load falls on both alike; each round's ratio is printed too.
# Aim: full / empty >= 0.8 for SendRawEmail.
#
# The fill does not go through the API (a million sends take too long on a
# small machine): after the CLI has made the schema and the accounts, one
# SQLite transaction writes the rows directly (journal off, synchronous
# off; the store is back in WAL mode before the node starts), shaped like
# the queue leaves them after delivery over MX: per message a `messages`
# row with its ~3 KB raw (BENCH_FILL_RAW bytes), one `recipients` row and
# Send plus Delivery events; 2.5 % bounced (the message failed, a Bounce
# event), 0.1 % complained (a Complaint event an hour later), and the
# per-minute `send_counts` rows (accept, bounce, complaint, reject) the quota
# and the statistics read. The timestamps are even over 14 days, so about a
# fourteenth is in the last 24 h and is counted in the delegate's quota
# (SentLast24Hours) exactly as if it had been sent. Then EXPLAIN QUERY PLAN
# of the store's reads on these paths, on the full store: any full SCAN of
# a history table fails the benchmark. Loopback only; bounded in time
# (the rounds) and in size (the fill).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
CONNS=${BENCH_CONNS:-16}
N=${BENCH_STORE_MESSAGES:-1000000}
RAW=${BENCH_FILL_RAW:-3300}
bench_init
status=0
round_secs=$(awk -v s="$SECS" -v r="$ROUNDS" 'BEGIN { n = int(s / r); print (n < 1 ? 1 : n) }') # wrk: whole seconds

# fill DB OWNER DELEGATE N DAYS RAW_BYTES: prints what it wrote and how fast
fill() {
	/usr/bin/python3 - "$@" <<'PY'
import sqlite3, sys, time
db, owner, delegate = sys.argv[1:4]
n, days, raw_bytes = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
now_ms = int(time.time() * 1000)
span = days * 86400 * 1000
line = b"Thank you for your business.\r\n"
head = (b"From: Billing <billing@example.com>\r\nTo: customer@example.net\r\n"
        b"Subject: Your invoice\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n")
raw = head + line * max(0, (raw_bytes - len(head)) // len(line))
arn = f"arn:aws:ses:us-east-1:{owner}:identity/example.com"
rcpt = "'customer' || (i % 50000) || '@example.net'"
t = time.time()
c = sqlite3.connect(db, isolation_level=None)
for p in ("journal_mode=DELETE", "journal_mode=OFF", "synchronous=OFF", "cache_size=-262144",
          "temp_store=MEMORY"):
    c.execute("PRAGMA " + p)
c.execute("BEGIN")
# h: one row per message, oldest first; fate 0..999: < 25 bounced, 25
# complained, else delivered; r becomes its MessageId (the queue's shape)
c.execute("""CREATE TEMP TABLE h AS WITH RECURSIVE s(i) AS
  (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?1 - 1)
  SELECT i, ?2 + (i * ?3) / ?1 AS created, abs(random()) % 1000 AS fate,
  lower(hex(randomblob(16))) AS r FROM s""", (n, now_ms - span, span))
c.execute("""UPDATE h SET r = printf('0100%012x-%s-%s-4%s-a%s-%s-000000', created, substr(r, 1, 8),
  substr(r, 9, 4), substr(r, 14, 3), substr(r, 18, 3), substr(r, 21, 12))""")
c.execute(f"""INSERT INTO messages (id, region, sending_account, identity_owner, source_arn,
  from_arn, return_path_arn, principal, source_ip, source, from_addr, subject, destinations, raw,
  status, created, delivered, transport, mail_from, config_set, tags)
  SELECT r, 'us-east-1', ?1, ?2, ?3, ?3, NULL, 'arn:aws:iam::' || ?1 || ':root', '127.0.0.1',
  'billing@example.com', 'billing@example.com', 'Your invoice', '["' || {rcpt} || '"]', ?4,
  CASE WHEN fate < 25 THEN 'failed' ELSE 'delivered' END, created, created + 400 + fate, 'mx',
  r || '@bounces.example.com', NULL, NULL FROM h ORDER BY i""", (delegate, owner, arn, raw))
c.execute(f"""INSERT INTO recipients (message_id, idx, address, status, attempts, next_attempt)
  SELECT r, 0, {rcpt}, CASE WHEN fate < 25 THEN 'bounced' ELSE 'delivered' END, 1, 0
  FROM h ORDER BY i""")
c.execute(f"""INSERT INTO events (message_id, recipient, type, ts, detail)
  SELECT r, a, t, ts, d FROM (
   SELECT i, 0 AS k, r, {rcpt} AS a, 'Send' AS t, created AS ts, '{{}}' AS d FROM h
   UNION ALL SELECT i, 1, r, {rcpt}, CASE WHEN fate < 25 THEN 'Bounce' ELSE 'Delivery' END,
    created + 400 + fate, CASE WHEN fate < 25 THEN '{{"bounceType":"Permanent",'
    || '"bounceSubType":"General","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}}'
    ELSE '{{"processingTimeMillis":400,"smtpResponse":"250 2.0.0 Ok","reportingMTA":"bench.test",'
    || '"remoteMtaIp":"127.0.0.1"}}' END FROM h
   UNION ALL SELECT i, 2, r, {rcpt}, 'Complaint', created + 3600000,
    '{{"complaintFeedbackType":"abuse"}}' FROM h WHERE fate = 25)
  ORDER BY i, k""")
# the statistics, per (account, kind, minute) as the store keeps them
c.execute("""INSERT INTO send_counts (account_id, kind, minute, recipients)
  SELECT ?1, 'accept', created / 60000, count(*) FROM h GROUP BY created / 60000
  UNION ALL SELECT ?1, 'bounce', created / 60000, count(*) FROM h WHERE fate < 25
   GROUP BY created / 60000
  UNION ALL SELECT ?1, 'complaint', (created + 3600000) / 60000, count(*) FROM h
   WHERE fate = 25 AND created + 3600000 < ?2 GROUP BY (created + 3600000) / 60000
  UNION ALL SELECT ?1, 'reject', created / 60000, 1 FROM h WHERE fate = 999
   GROUP BY created / 60000""", (delegate, now_ms))
# and per quarter hour (migration 15), as the store writes them beside
c.execute("""INSERT INTO send_counts_15m (account_id, kind, quarter, recipients)
  SELECT account_id, kind, minute / 15, sum(recipients) FROM send_counts
  GROUP BY account_id, kind, minute / 15""")
c.execute("DROP TABLE h")
c.execute("COMMIT")
c.execute("PRAGMA journal_mode=WAL")
# on disk before the clock stops: else the kernel's writeback of the fill
# runs into the first round's fsyncs
import os
fd = os.open(db, os.O_RDONLY); os.fsync(fd); os.close(fd)
day = c.execute("SELECT sum(recipients) FROM send_counts WHERE account_id = ?1 AND kind = 'accept'"
                " AND minute >= ?2 / 60000", (delegate, now_ms - 86400000)).fetchone()[0]
rows = c.execute("SELECT count(*) FROM send_counts").fetchone()[0]
c.close()
print(f"{n} {time.time() - t:.1f} {day} {rows}")
PY
}

# -- the two stores: the same cast; the full one filled before its node starts
read -r e_owner e_delegate < <(bench_delegation "$work/empty" empty --max-rate 1000000 --max-24h 100000000)
read -r f_owner f_delegate < <(bench_delegation "$work/full" full --max-rate 1000000 --max-24h 100000000)
read -r filled fill_secs fill_day fill_rows < <(fill "$work/full/sesame.db" "$f_owner" "$f_delegate" "$N" 14 "$RAW")
printf 'store_size: filled %s messages (14 days, %s in the last 24 h, %s statistics rows) in %s s; store %s MB\n' \
	"$filled" "$fill_day" "$fill_rows" "$fill_secs" "$(du -sm "$work/full" | cut -f1)"
bench_serve "$work/empty" --threads 2
EP=$SERVE_HTTP
bench_serve "$work/full" --threads 2
FP=$SERVE_HTTP
for s in empty full; do
	if [ $s = empty ]; then p=$EP o=$e_owner d=$e_delegate; else p=$FP o=$f_owner d=$f_delegate; fi
	bench_delegation_policy "$s" "$p" "$o" "$d"
	bench_sign "$work/$s-delegate.json" "$p" "$(cat "$work/$s-send.body")" "$work/$s-send.lua" check
	bench_sign "$work/$s-delegate.json" "$p" "Action=GetSendQuota&Version=2010-12-01" "$work/$s-quota.lua" check
	bench_sign "$work/$s-delegate.json" "$p" "Action=GetSendStatistics&Version=2010-12-01" "$work/$s-stats.lua" check
done
sent_full=$(bench_sign "$work/full-delegate.json" "$FP" "Action=GetSendQuota&Version=2010-12-01" \
	"$work/full-quota.lua" show | sed -n 's:.*<SentLast24Hours>\([^<]*\)<.*:\1:p')
echo "store_size: the full store's GetSendQuota says SentLast24Hours $sent_full"

points() { bench_sign "$work/$1-delegate.json" "$2" "Action=GetSendStatistics&Version=2010-12-01" \
	"$work/$1-stats-show.lua" show | grep -o '<member>' | wc -l; }
echo "store_size: GetSendStatistics data points: empty $(points empty "$EP"), full $(points full "$FP")"

# -- the rounds: per request kind, empty then full, ROUNDS times, after one
# unmeasured second of each (connections, caches)
for s in empty full; do
	[ $s = empty ] && p=$EP || p=$FP
	bench_wrk "$s-warm" "$p" "$CONNS" 1 "$work/$s-send.lua" >/dev/null
done
for kind in send quota stats; do
	for i in $(seq "$ROUNDS"); do
		for s in empty full; do
			[ $s = empty ] && p=$EP || p=$FP
			read -r r p50 p99 bad < <(bench_wrk "$s-$kind-$i" "$p" "$CONNS" "$round_secs" "$work/$s-$kind.lua")
			echo "$r $p50 $p99 ${bad:-0}" >>"$work/$s-$kind.rounds"
		done
	done
done
# mean rate, mean p50/p99 and the non-2xx over the rounds; the round ratios
summary() { awk '{ r += $1; p50 += $2; p99 += $3; bad += $4; n++ }
	END { printf "%.1f %.0f %.0f %d\n", r / n, p50 / n, p99 / n, bad }' "$work/$1-$2.rounds"; }
label() { case $1 in send) echo SendRawEmail ;; quota) echo GetSendQuota ;; stats) echo GetSendStatistics ;; esac; }
for kind in send quota stats; do
	read -r er e50 e99 ebad < <(summary empty $kind)
	read -r fr f50 f99 fbad < <(summary full $kind)
	rr=$(paste -d' ' "$work/empty-$kind.rounds" "$work/full-$kind.rounds" |
		awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($1 > 0 ? $5 / $1 : 0) }')
	aim=""
	if [ $kind = send ]; then
		aim=" (aim >= 0.8)"
		awk -v a="$fr" -v b="$er" 'BEGIN { exit !(b > 0 && a / b >= 0.8) }' || status=1
	fi
	printf 'store_size: %-17s empty %s req/s (p50 %s us, p99 %s us%s); %s messages %s req/s (p50 %s us, p99 %s us%s); ratio %s%s, rounds %s\n' \
		"$(label $kind)" "$er" "$e50" "$e99" "$( [ "$ebad" = 0 ] || echo ", non-2xx $ebad")" \
		"$filled" "$fr" "$f50" "$f99" "$( [ "$fbad" = 0 ] || echo ", non-2xx $fbad")" \
		"$(ratio "$fr" "$er")" "$aim" "$rr"
done

# -- the plans of the store's reads on these paths, on the full store: the
# SQL as src/store/store_sqlite.c has it (S_EV_SUM: the quota, read twice
# by every send and by GetSendQuota; S_EV_BUCKETS: GetSendStatistics;
# S_RCPT_CLAIM: the queue's look for due recipients, every second)
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true
/usr/bin/python3 - "$work/full/sesame.db" src/store/store_sqlite.c <<'PY' || status=1
import re, sqlite3, sys
db, src = sys.argv[1:3]
text = open(src).read()
c = sqlite3.connect(db)
bad = False
# each read must be bounded by time: the plan lines that say so
bounded = {"S_EV_SUM": [r"SEARCH send_counts_15m USING .*quarter>",
                        r"SEARCH send_counts USING .*minute>"],
           "S_EV_BUCKETS": [r"SEARCH send_counts_15m USING .*quarter>",
                            r"SEARCH send_counts USING .*minute>"],
           "S_RCPT_CLAIM": [r"recipients_due \(next_attempt<", r"recipients_leased \(lease_until<"]}
for sid in bounded:
    m = re.search(r"\[" + sid + r"\]\s*=\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+)[,}]", text)
    if m is None:
        print(f"store_size: plan {sid}: its SQL is not in {src}"); bad = True; continue
    q = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1)))
    n = max(int(x) for x in re.findall(r"\?(\d+)", q))
    rows = [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + q, ["x"] * n)]
    # a SCAN of a history table, or a search of it not bounded by time,
    # reads history
    scan = [r for r in rows if re.match(r"SCAN (send_counts|send_counts_15m|messages|recipients|events)\b", r)]
    scan += [b for b in bounded[sid] if not any(re.search(b, r) for r in rows)]
    print(f"store_size: plan {sid}: {'; '.join(rows)}{'  <- reads history' if scan else ''}")
    bad = bad or bool(scan)
sys.exit(1 if bad else 0)
PY
exit $status
