"""What an operator reads: GET /metrics (Prometheus text, checked by Debian's
promtool and parsed here), GET /healthz, and the one log line per API
request, SMTP transaction and delivery attempt, as text and as JSON lines
(--log-format json), never with a secret or a message body."""
import json
import os
import re
import shutil
import smtplib
import sqlite3
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import conftest
from conftest import PG, Sesame

PROMTOOL = "/usr/bin/promtool"
DOMAIN = "example.com"
BODY = "the-body-text-that-must-never-be-logged"


def scrape(s):
    with urllib.request.urlopen(s.endpoint + "/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{(name, frozenset(labels.items())): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def value(smp, name, **labels):
    return smp.get((name, frozenset(labels.items())), 0.0)


def smtp_send(s, key, to="rcpt@dest.test"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.starttls(context=ctx)
        c.login(key["SmtpUsername"], key["SmtpPasswords"]["us-east-1"])
        c.sendmail(f"sender@{DOMAIN}", [to],
                   f"From: sender@{DOMAIN}\r\nTo: {to}\r\nSubject: smtp\r\n\r\n{BODY}\r\n")


def traffic(s):
    """One accepted API send, one refused, one SMTP send: (key, ids)."""
    account, key = s.principal("ops")
    conftest.verify(s, account, DOMAIN)
    ses = s.client(key)
    ok = ses.send_email(Source=f"sender@{DOMAIN}", Destination={"ToAddresses": ["a@dest.test"]},
                        Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": BODY}}})
    with pytest.raises(Exception) as refused:
        ses.send_email(Source="nobody@unverified.test",
                       Destination={"ToAddresses": ["a@dest.test"]},
                       Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": BODY}}})
    smtp_send(s, key)
    return account, key, ok, refused.value.response


def test_metrics_count_requests_sends_deliveries_and_pass_promtool(sesame):
    before = samples(scrape(sesame))
    account, key, ok, refused = traffic(sesame)
    text = scrape(sesame)
    smp = samples(text)

    def grew(name, **labels):
        return value(smp, name, **labels) - value(before, name, **labels)

    assert grew("sesame_api_requests_total", service="ses", action="SendEmail", code="200") == 1
    assert grew("sesame_api_requests_total", service="ses", action="SendEmail",
                code="MessageRejected") == 1
    assert grew("sesame_sends_total", via="api", outcome="accepted", reason="") == 1
    assert grew("sesame_sends_total", via="api", outcome="refused", reason="MessageRejected") == 1
    assert grew("sesame_sends_total", via="smtp", outcome="accepted", reason="") == 1
    assert grew("sesame_smtp_transactions_total", outcome="accepted", code="250") == 1
    assert grew("sesame_delivery_attempts_total", transport="capture", outcome="delivered") == 2
    assert grew("sesame_queue_commit_batch_messages_count") >= 1
    assert value(smp, "sesame_queue_commit_duration_seconds_bucket", le="+Inf") == \
        value(smp, "sesame_queue_commit_duration_seconds_count")
    assert value(smp, "sesame_api_request_duration_seconds_count", service="ses") >= 2
    for stage in ("auth", "decision", "queue_wait", "answer"):
        assert grew("sesame_send_stage_duration_seconds_count", stage=stage) >= 1, stage
    assert value(smp, "sesame_queue_recipients", state="queued") == 0
    assert ("sesame_sns_outbox_messages", frozenset()) in smp
    assert value(smp, "process_resident_memory_bytes") > 1e6
    assert value(smp, "process_open_fds") > 3
    # this scrape's own connection is open
    assert value(smp, "sesame_open_connections", listener="http") >= 1
    if os.path.exists(PROMTOOL):
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
    else:
        pytest.fail("promtool missing: scripts/deps.sh installs Debian's prometheus")


def get_from(source_ip, port, path):
    """GET path with the client socket bound to source_ip (loopback, but not
    127.0.0.1): the status code."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                   source_address=(source_ip, 0))
    try:
        c.request("GET", path)
        return c.getresponse().status
    finally:
        c.close()


def test_metrics_refused_to_other_sources_by_default(sesame):
    # the default --metrics-allow is --admin-allow's: 127.0.0.1/32 and ::1
    assert get_from("127.0.0.1", sesame.http_port, "/metrics") == 200
    assert get_from("127.0.0.2", sesame.http_port, "/metrics") == 403
    assert get_from("127.0.0.2", sesame.http_port, "/healthz") == 403


def test_healthz_and_who_may_read(tmp_path):
    s = Sesame(tmp_path, extra=["--metrics-allow", "127.0.0.2/32"]).start()
    try:
        for path in ("/metrics", "/healthz"):
            with pytest.raises(urllib.error.HTTPError) as e:
                s.get(path)
            assert e.value.code == 403
            assert get_from("127.0.0.2", s.http_port, path) == 200
        # the API's own answer is untouched: /metrics is not an SES action
        assert s.get("/_sesame/health")[0] == 200
    finally:
        s.stop()
    s = Sesame(tmp_path).start()
    try:
        status, body = s.get("/healthz")
        assert status == 200
        assert json.loads(body) == {"status": "ok", "store": "writable", "queue": "alive"}
        req = urllib.request.Request(s.endpoint + "/metrics", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 405
    finally:
        s.stop()


@pytest.mark.skipif(bool(PG), reason="holds SQLite's write lock from another process")
def test_healthz_fails_while_the_store_cannot_be_written(sesame):
    assert sesame.get("/healthz")[0] == 200
    db = sqlite3.connect(os.path.join(sesame.data, "sesame.db"), timeout=10,
                         isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")  # the queue's next claim cannot write
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                sesame.get("/healthz")
            except urllib.error.HTTPError as e:
                assert e.code == 503
                assert json.loads(e.read())["status"] == "unhealthy"
                break
            time.sleep(0.2)
        else:
            pytest.fail("/healthz stayed 200 while the store could not be written")
    finally:
        db.execute("ROLLBACK")
        db.close()
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            if sesame.get("/healthz")[0] == 200:
                return
        except urllib.error.HTTPError:
            time.sleep(0.2)
    pytest.fail("/healthz did not recover once the store was writable again")


def log_text(s):
    s.log.flush()
    with open(os.path.join(s.data, "serve.log"), "rb") as f:
        return f.read().decode(errors="replace")


def fields(line):
    """k=v pairs of a text log line (values bare or JSON-quoted)."""
    return {k: (json.loads(q) if q else v)
            for k, q, v in re.findall(r' (\w+)=(?:("(?:[^"\\]|\\.)*")|(\S+))', line)}


def test_one_text_line_per_request_transaction_and_attempt(sesame):
    account, key, ok, refused = traffic(sesame)
    time.sleep(0.3)
    log = log_text(sesame)
    rid = ok["ResponseMetadata"]["RequestId"]
    [line] = [l for l in log.splitlines() if f" api request_id={rid} " in l]
    f = fields(line)
    assert " info api " in line
    assert f["action"] == "SendEmail" and f["status"] == "200" and f["account"] == account
    assert f["principal"] == f"arn:aws:iam::{account}:root"
    assert f["identity"] == f"arn:aws:ses:us-east-1:{account}:identity/{DOMAIN}"
    assert int(f["bytes_in"]) > 100 and int(f["bytes_out"]) > 0 and float(f["ms"]) >= 0
    assert f["code"] == "-"
    rid = refused["ResponseMetadata"]["RequestId"]
    [line] = [l for l in log.splitlines() if f" api request_id={rid} " in l]
    f = fields(line)
    assert f["status"] == "400" and f["code"] == "MessageRejected" and f["identity"] == "-"
    assert int(f["bytes_out"]) > 100  # the ErrorResponse document
    smtp = [fields(l) for l in log.splitlines() if " info smtp " in l and "message_id=" in l]
    assert len(smtp) == 1 and smtp[0]["status"] == "250" and smtp[0]["account"] == account
    assert smtp[0]["identity"].endswith(f":identity/{DOMAIN}") and int(smtp[0]["bytes"]) > 0
    deliveries = [fields(l) for l in log.splitlines() if " info delivery " in l]
    assert sorted(d["message_id"] for d in deliveries) == sorted(
        [ok["MessageId"], smtp[0]["message_id"]])
    assert all(d["outcome"] == "delivered" and d["transport"] == "capture" for d in deliveries)
    for secret in (key["SecretAccessKey"], key["SmtpPasswords"]["us-east-1"], BODY):
        assert secret not in log


def test_json_log_lines(tmp_path):
    s = Sesame(tmp_path, extra=["--log-format", "json"]).start()
    try:
        account, key, ok, refused = traffic(s)
        time.sleep(0.3)
        log = log_text(s)
    finally:
        s.stop()
    lines = [json.loads(l) for l in log.splitlines() if l.strip()]  # every line is JSON
    assert all({"time", "level", "msg"} <= set(l) for l in lines)
    [api] = [l for l in lines if l.get("request_id") == ok["ResponseMetadata"]["RequestId"]]
    assert api["msg"] == "api" and api["status"] == 200 and api["action"] == "SendEmail"
    assert api["identity"].endswith(f":identity/{DOMAIN}") and api["code"] is None
    assert isinstance(api["ms"], (int, float)) and api["account"] == account
    assert any(l["msg"] == "smtp" and l["status"] == "250" for l in lines)
    assert sum(l["msg"] == "delivery" for l in lines) == 2
    for secret in (key["SecretAccessKey"], key["SmtpPasswords"]["us-east-1"], BODY):
        assert secret not in log


def test_make_run_prints_a_first_mail_that_lands_in_the_inbox(tmp_path):
    """scripts/run.sh (what `make run` runs) on a fresh data dir: the lines it
    prints, pasted as they are into a shell, send a mail the inbox shows.
    Always the embedded SQLite store, as `make run`."""
    import signal
    repo = os.path.join(os.path.dirname(__file__), "..", "..")
    port = conftest.free_port()
    data = tmp_path / "var"
    env = dict(os.environ, SESAME_BIN=conftest.SESAME, SESAME_DATA=str(data),
               SESAME_HTTP=f"127.0.0.1:{port}")

    def start():
        p = subprocess.Popen(["bash", os.path.join(repo, "scripts", "run.sh"), "--smtp", "off",
                              "--smtps", "off", "--feedback", "off"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, start_new_session=True)
        out = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = p.stdout.readline()
            assert line, "run.sh ended: " + "".join(out)
            out.append(line)
            if line.startswith("then open"):
                return p, "".join(out)
        pytest.fail("no first-mail lines: " + "".join(out))

    def stop(p):
        os.killpg(p.pid, signal.SIGTERM)
        assert p.wait(timeout=15) is not None

    p, out = start()
    try:
        # the last thing on the screen: after serve's banner
        assert out.index("sesame: serving") < out.index("first mail:")
        lines = out.splitlines()
        i = next(k for k, l in enumerate(lines) if l.strip().startswith(". "))
        # the pasted lines: source the env file, then the aws command (two lines)
        script = "\n".join(l.strip() for l in lines[i:i + 3])
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, AWS_CONFIG_FILE="/dev/null",
                                    AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER=""))
        assert r.returncode == 0, r.stderr
        mid = json.loads(r.stdout)["MessageId"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sesame/messages", timeout=10) as h:
            msgs = json.loads(h.read())["messages"]
        assert [m["MessageId"] for m in msgs] == [mid]
        assert msgs[0]["Subject"] == "Hello from sesame"
        assert oct(os.stat(data / "demo.env").st_mode & 0o777) == "0o600"
    finally:
        stop(p)
    # a second run makes no second account and prints the same lines
    p, again = start()
    stop(p)
    assert again.split("first mail:")[1] == out.split("first mail:")[1]
    accounts = subprocess.run([conftest.SESAME, "account", "list", "--data", str(data)],
                              capture_output=True, text=True)
    assert accounts.stdout.count('"AccountId"') == 1, accounts.stdout
