#!/usr/bin/env bash
# bench/deliver: messages per second from sesame's queue to Postfix's
# smtp-sink on loopback, next to peers measured in the same run:
#  (a) unsigned: sesame (--transport relay://sink) next to a throwaway
#      Postfix (private main.cf/master.cf in a temp dir, relayhost = the
#      same sink) relaying the same number of the same messages, injected
#      with smtp-source. Aim: sesame >= 3x Postfix.
#  (b) RSA-2048 DKIM-signed (the owner's Easy DKIM, verified through a
#      dnsmasq serving the records), next to `openssl speed -seconds 3
#      rsa2048` signs per second. Aim: >= 70 % of that ceiling.
# Both sides are timed end to end, first injection to the sink's N-th
# message (smtp-sink -M N exits then): sesame's side includes its HTTP
# accepts (a Python injector on keep-alive connections, one pre-signed
# SendRawEmail reused), Postfix's its smtpd accepts. Bounded: N messages
# (BENCH_MESSAGES, 1000) and BENCH_TIMEOUT seconds (120) per phase.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
N=${BENCH_MESSAGES:-1000}
TMO=${BENCH_TIMEOUT:-120}
SESSIONS=${BENCH_SESSIONS:-20}
bench_init /tmp/bench-deliver.XXXXXX
chmod 755 "$work" # postfix's daemons must reach the spool under it
pf_conf=""
pf_stop() { [ -z "$pf_conf" ] || postfix -c "$pf_conf" stop; }
bench_at_exit pf_stop
SINK_BIN=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[ -x "$SINK_BIN" ] || SINK_BIN=/usr/lib/postfix/sbin/smtp-sink
SOURCE_BIN=$(command -v smtp-source || echo /usr/sbin/smtp-source)
if [ ! -x "$SINK_BIN" ] || [ ! -x "$SOURCE_BIN" ] || ! command -v postfix >/dev/null; then
	echo "deliver: postfix (smtp-sink, smtp-source) is not installed: scripts/deps.sh bench" >&2
	exit 1
fi
status=0
SINK=$(port)
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }

# The message both sides send: ~2 KB of text, the headers SES signs.
msg="$work/message.eml"
{
	printf 'From: Billing <billing@bench.test>\nTo: customer@dest.test\nSubject: Your invoice\n'
	printf 'Date: Mon, 01 Jan 2024 00:00:00 +0000\nMIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=utf-8\n\n'
	for _ in $(seq 40); do printf 'Thank you for your business; your invoice is attached.\n'; done
} >"$msg"


# ---- (a) peer: Postfix relaying N messages to the sink ---------------------------
postfix_rate() {
	local d="$work/pf" pfport
	pfport=$(port)
	mkdir -p "$d/conf" "$d/spool" "$d/data"
	chown postfix "$d/data"
	cat >"$d/conf/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $d/spool
		data_directory = $d/data
		mail_owner = postfix
		setgid_group = postdrop
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		myhostname = postfix-bench.test
		mydestination =
		mynetworks = 127.0.0.0/8
		relayhost = [127.0.0.1]:$SINK
		smtp_tls_security_level = none
		smtpd_tls_security_level = none
		maillog_file = /dev/stdout
		alias_maps =
		alias_database =
		local_recipient_maps =
		smtpd_relay_restrictions = permit_mynetworks, reject
		biff = no
	EOF
	# the stock services, nothing chrooted, smtpd on a private loopback port
	cat >"$d/conf/master.cf" <<-EOF
		127.0.0.1:$pfport inet n - n - - smtpd
		pickup    unix n - n 60 1 pickup
		cleanup   unix n - n - 0 cleanup
		qmgr      unix n - n 300 1 qmgr
		rewrite   unix - - n - - trivial-rewrite
		bounce    unix - - n - 0 bounce
		defer     unix - - n - 0 bounce
		trace     unix - - n - 0 bounce
		verify    unix - - n - 1 verify
		flush     unix n - n 1000? 0 flush
		proxymap  unix - - n - - proxymap
		smtp      unix - - n - - smtp
		relay     unix - - n - - smtp
		showq     unix n - n - - showq
		error     unix - - n - - error
		retry     unix - - n - - error
		discard   unix - - n - - discard
		anvil     unix - - n - 1 anvil
		scache    unix - - n - 1 scache
		postlog   unix-dgram n - n - 1 postlogd
	EOF
	pf_conf="$d/conf"
	postfix -c "$pf_conf" start >"$work/postfix.log" 2>&1 || { cat "$work/postfix.log" >&2; return 1; }
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$pfport") 2>/dev/null && break
		sleep 0.1
	done
	local sink t0 t1
	# a fresh sink that exits after N messages
	timeout "$TMO" "$SINK_BIN" -u postfix -M "$N" 127.0.0.1:"$SINK" 256 >/dev/null 2>"$work/sink.err" &
	sink=$!
	sleep 0.2
	t0=$(date +%s.%N)
	"$SOURCE_BIN" -s "$SESSIONS" -m "$N" -F "$msg" -f billing@bench.test -t customer@dest.test \
		127.0.0.1:"$pfport" >"$work/source.log" 2>&1
	wait "$sink" || { echo "deliver: postfix: the sink did not get $N messages in ${TMO}s" >&2; return 1; }
	t1=$(date +%s.%N)
	postfix -c "$pf_conf" stop >/dev/null 2>&1
	pf_conf=""
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$work/pf.secs"
}

# ---- (b) ceiling: RSA-2048 signatures per second -----------------------------------
rsa_ceiling() {
	openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $6 }'
}

# ---- sesame: N messages, unsigned then signed ----------------------------------------
# prints "unsigned SECONDS" and "signed SECONDS" (or an error line on stderr)
sesame_rates() {
	/usr/bin/python3 - "$work" "$N" "$SINK" "$SINK_BIN" "$TMO" "$msg" <<-'PY'
		import json, os, subprocess, sys, threading, time, urllib.parse, base64, http.client
		work, n, sink_port, sink_bin, tmo, msgfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6]
		sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
		os.environ.setdefault("SESAME_BIN", os.path.join(os.getcwd(), "build", "sesame"))
		import mx as mxmod
		from botocore.auth import SigV4Auth
		from botocore.awsrequest import AWSRequest
		from botocore.credentials import Credentials

		os.makedirs(f"{work}/dns"); os.makedirs(f"{work}/var")
		zone = mxmod.Zone(f"{work}/dns").publish()
		s = mxmod.outbound_sesame(f"{work}/var", f"relay://127.0.0.1:{sink_port}", extra=[
		    "--dns", f"127.0.0.1:{zone.port}", "--bounce-domain", "bounces.bench.test",
		    "--log-level", "warn", "--threads", "2"])
		try:
		    try:
		        s.start()
		    except RuntimeError as e:
		        print("sesame: " + str(e).strip().splitlines()[0][:300], file=sys.stderr)
		        sys.exit(2)
		    acct = s.account("bench", "--max-rate", "1000000", "--max-24h", "-1")["AccountId"]
		    key = s.key(acct)
		    ses = s.client(key)
		    s.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "bench.test")
		    # signed.test: Easy DKIM, its TXT records served, status Success
		    ses.verify_domain_identity(Domain="signed.test")
		    ses.verify_domain_dkim(Domain="signed.test")
		    recs = s.cli_json("identity", "dkim-records", "--account", acct, "--region", "us-east-1",
		                      "signed.test")["Records"]
		    zone.add(txt=[(r["Name"], r["Value"]) for r in recs])
		    s.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "signed.test")
		    deadline = time.time() + 30
		    while ses.get_identity_dkim_attributes(Identities=["signed.test"])["DkimAttributes"][
		            "signed.test"]["DkimVerificationStatus"] != "Success":
		        if time.time() > deadline:
		            print("sesame: signed.test DKIM never verified", file=sys.stderr); sys.exit(2)
		        time.sleep(0.2)
		    raw = open(msgfile, "rb").read().replace(b"\n", b"\r\n")

		    def request(domain):
		        data = raw.replace(b"@bench.test", b"@" + domain.encode())
		        body = urllib.parse.urlencode({"Action": "SendRawEmail", "Version": "2010-12-01",
		            "RawMessage.Data": base64.b64encode(data).decode()})
		        r = AWSRequest(method="POST", url=s.endpoint + "/", data=body,
		                       headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
		        SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "ses", "us-east-1").add_auth(r)
		        return body.encode(), dict(r.headers)

		    def phase(name, domain):
		        body, headers = request(domain)
		        sink = subprocess.Popen(["timeout", str(int(tmo)), sink_bin, "-u", "postfix", "-M", str(n),
		                                 f"127.0.0.1:{sink_port}", "256"], stdout=subprocess.DEVNULL)
		        time.sleep(0.2)
		        todo, lock, bad = iter(range(n)), threading.Lock(), []
		        def injector():
		            c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=30)
		            while True:
		                with lock:
		                    i = next(todo, None)
		                if i is None:
		                    return
		                c.request("POST", "/", body=body, headers=headers)
		                r = c.getresponse(); r.read()
		                if r.status != 200:
		                    with lock:
		                        bad.append(r.status)
		        t0 = time.time()
		        th = [threading.Thread(target=injector) for _ in range(8)]
		        for t in th: t.start()
		        for t in th: t.join()
		        t_acc = time.time()
		        rc = sink.wait()
		        t1 = time.time()
		        if bad or rc != 0:
		            print(f"sesame: {name}: {len(bad)} refused sends, sink rc {rc} "
		                  f"(fewer than {n} messages in {tmo:.0f}s)", file=sys.stderr)
		            sys.exit(2)
		        print(f"{name} {t1 - t0:.3f} {t_acc - t0:.3f}", flush=True)

		    phase("unsigned", "bench.test")
		    phase("signed", "signed.test")
		finally:
		    s.stop(); zone.stop()
	PY
}

echo "deliver: $N messages of $(wc -c <"$msg") bytes, sink smtp-sink on 127.0.0.1:$SINK"
postfix_rate || status=1
pf_secs=$(cat "$work/pf.secs" 2>/dev/null || echo 0)
pf_rate=$(rate "$N" "$pf_secs")
rsa=$(rsa_ceiling)
out=$(sesame_rates) || status=1
uns=$(awk '$1 == "unsigned" { print $2 }' <<<"$out")
uns_acc=$(awk '$1 == "unsigned" { print $3 }' <<<"$out")
sig=$(awk '$1 == "signed" { print $2 }' <<<"$out")
printf 'deliver: postfix %s msgs/s queue-to-sink (smtp-source -s %s, %ss)\n' "$pf_rate" "$SESSIONS" "$pf_secs"
printf 'deliver: openssl rsa2048 %s signs/s (one core, openssl speed -seconds 3)\n' "${rsa:-?}"
if [ -n "$uns" ]; then
	u=$(rate "$N" "$uns")
	printf 'deliver: (a) sesame unsigned %s msgs/s (accepts done at %ss of %ss); ratio to postfix %s (aim >= 3)\n' \
		"$u" "$uns_acc" "$uns" "$(ratio "$u" "$pf_rate")"
else
	echo "deliver: (a) sesame unsigned: not measured"
fi
if [ -n "$sig" ]; then
	g=$(rate "$N" "$sig")
	printf 'deliver: (b) sesame DKIM-signed %s msgs/s; ratio to the rsa2048 ceiling %s (aim >= 0.70)\n' \
		"$g" "$(ratio "$g" "${rsa:-0}")"
else
	echo "deliver: (b) sesame DKIM-signed: not measured"
fi
exit $status
