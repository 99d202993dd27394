"""Shared fixtures: a real `sesame serve` on free loopback ports with a fresh
data dir, the admin CLI against the same store, and real clients (boto3,
/usr/bin/aws) pointed at it."""
import json
import os
import socket
import subprocess
import time
import urllib.request

import botocore.exceptions
import pytest

SESAME = os.environ.get("SESAME_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "sesame")
AWS = "/usr/bin/aws"
REGIONS = "us-east-1,us-west-2,eu-west-1"
# The store under test: SQLite in each data dir (the default), or, with
# SESAME_TEST_PG set to a PostgreSQL URL (make test's second pass,
# scripts/pg.sh), a fresh database per data dir on that server.
PG = os.environ.get("SESAME_TEST_PG", "")


def store_url(data):
    """The --db for data dir `data`: "" (SQLite inside it), or its own
    PostgreSQL database, made on first use (one per data dir, so a
    restarted server and the CLI see the same store)."""
    if not PG:
        return ""
    import hashlib
    name = "t" + hashlib.sha1(os.path.abspath(str(data)).encode()).hexdigest()[:20]
    base, _, _ = PG.rpartition("/")
    r = subprocess.run(["psql", "-X", "-q", "-d", PG, "-tAc",
                        f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                       capture_output=True, text=True, timeout=30)
    if r.stdout.strip() != "1":
        c = subprocess.run(["psql", "-X", "-q", "-d", PG, "-c", f"CREATE DATABASE {name}"],
                           capture_output=True, text=True, timeout=60)
        if c.returncode != 0 and "already exists" not in c.stderr:
            raise RuntimeError("cannot create the test database: " + c.stderr)
    return f"{base}/{name}"


def store_sql(data, query, fk_off=False):
    """Run SQL on data dir `data`'s store, SQLite or PostgreSQL, as a test
    that plants or inspects rows must; rows come back '|'-separated.
    fk_off: foreign keys not enforced for this statement."""
    u = store_url(data)
    if u:
        pre = "SET session_replication_role = replica; " if fk_off else ""
        argv = ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", u, "-c", pre + query]
    else:
        argv = ["/usr/bin/sqlite3", "-cmd", ".timeout 5000"]
        if fk_off:
            argv += ["-cmd", "PRAGMA foreign_keys = OFF"]
        argv += [os.path.join(str(data), "sesame.db"), query]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def sql_blob(b):
    """An SQL literal of bytes for store_sql, in the store's dialect."""
    return ("'\\x" + b.hex() + "'::bytea") if PG else ("X'" + b.hex() + "'")


def db_args(data):
    """["--db", URL] for a PostgreSQL run, else []."""
    u = store_url(data)
    return ["--db", u] if u else []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sesame:
    """One server process and its data dir."""

    def __init__(self, tmp, extra=()):
        self.data = str(tmp)
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.smtps_port = free_port()
        self.feedback_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.http_port}"
        self.extra = list(extra)
        self.db = db_args(self.data)
        self.proc = None
        self.log = open(os.path.join(self.data, "serve.log"), "ab")

    def args(self):
        return [SESAME, "serve", "--data", self.data,
                "--http", f"127.0.0.1:{self.http_port}",
                "--smtp", f"127.0.0.1:{self.smtp_port}",
                "--smtps", f"127.0.0.1:{self.smtps_port}",
                "--feedback", f"127.0.0.1:{self.feedback_port}",
                "--regions", REGIONS, "--transport", "capture",
                "--public-url", self.endpoint] + self.db + self.extra

    def start(self, _tries=5):
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                log = self.read_log()
                if "is already in use" in log and _tries > 1 \
                        and "--http" not in self.extra:
                    # a free port taken by a parallel test meanwhile: new ports
                    self.http_port, self.smtp_port, self.smtps_port = (
                        free_port(), free_port(), free_port())
                    self.feedback_port = free_port()
                    self.endpoint = f"http://127.0.0.1:{self.http_port}"
                    return self.start(_tries - 1)
                raise RuntimeError("sesame serve exited: " + log)
            try:
                with urllib.request.urlopen(self.endpoint + "/_sesame/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sesame serve did not come up: " + self.read_log())

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def read_log(self):
        self.log.flush()
        with open(os.path.join(self.data, "serve.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    # --- admin CLI --------------------------------------------------------
    def cli(self, *args, check=True, stdin=None):
        p = subprocess.run([SESAME, *args, "--data", self.data, "--regions", REGIONS, *self.db],
                           capture_output=True, text=True, input=stdin, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"sesame {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*args).stdout)

    def account(self, name="acct", *extra):
        return self.cli_json("account", "create", "--name", name, *extra)

    def key(self, account_id, *extra):
        return self.cli_json("key", "create", "--account", account_id, *extra)

    def principal(self, name="acct", *extra):
        """A new account with a root key: (account_id, key)."""
        a = self.account(name, *extra)
        return a["AccountId"], self.key(a["AccountId"])

    # --- clients ----------------------------------------------------------
    def client(self, key, region="us-east-1", retries=0, service="ses"):
        import boto3
        from botocore.config import Config
        return boto3.client(
            service, region_name=region, endpoint_url=self.endpoint,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"total_max_attempts": retries + 1, "mode": "standard"}))

    def aws(self, key, *args, region="us-east-1", check=True, service="ses"):
        env = dict(os.environ,
                   AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                   AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
                   AWS_DEFAULT_REGION=region, AWS_PAGER="",
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   AWS_MAX_ATTEMPTS="1")
        p = subprocess.run([AWS, service, *args, "--endpoint-url", self.endpoint,
                            "--region", region, "--output", "json"],
                           capture_output=True, text=True, env=env, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {service} {' '.join(args)} failed: {p.stderr}")
        return p

    def get(self, path):
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as r:
            return r.status, r.read()


@pytest.fixture
def sesame(tmp_path):
    s = Sesame(tmp_path).start()
    yield s
    s.stop()


@pytest.fixture
def data_dir(tmp_path):
    """A Sesame whose server is not started (CLI-only tests)."""
    return Sesame(tmp_path)


def sign(endpoint, key, body, region="us-east-1", when=None, service="ses",
         headers=None, method="POST", query=""):
    """SigV4-sign a request with botocore's own signer; `when` (a datetime)
    fakes the signing clock. Returns (url, headers, body bytes)."""
    import datetime as dt
    from unittest import mock
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = endpoint + "/" + (("?" + query) if query else "")
    h = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    h.update(headers or {})
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    signer = SigV4Auth(creds, service, region)
    if when is None:
        signer.add_auth(req)
    else:
        class Fixed(dt.datetime):
            @classmethod
            def utcnow(cls):
                return when
        with mock.patch("botocore.auth.datetime.datetime", Fixed):
            signer.add_auth(req)
    p = req.prepare()
    return p.url, dict(p.headers), p.body if isinstance(p.body, bytes) else (p.body or "").encode()


def post(url, headers, body, method="POST"):
    """Send a request; returns (status, body text). Never raises on 4xx/5xx."""
    import urllib.error
    r = urllib.request.Request(url, data=body if method != "GET" else None,
                               headers=headers, method=method)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def xml_error(text):
    """(Code, Message) of an SES ErrorResponse."""
    import xml.etree.ElementTree as ET
    ns = {"s": "http://ses.amazonaws.com/doc/2010-12-01/"}
    root = ET.fromstring(text)
    return root.findtext("s:Error/s:Code", namespaces=ns), root.findtext("s:Error/s:Message", namespaces=ns)


def verify(sesame, account, identity, region="us-east-1"):
    """Mark `identity` verified for `account` with the operator override."""
    sesame.cli("identity", "verify", "--account", account, "--region", region, identity)



def err_of(call):
    """A boto3 call's failure: (code, message, HTTP status)."""
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


def v2(sesame, key):
    return sesame.client(key, service="sesv2")


def v2_world(sesame, domain):
    """An owner with `domain` verified and a delegate, each with a sesv2
    client (oc, dc)."""
    class W:
        pass
    w = W()
    w.owner, w.okey = sesame.principal("owner")
    w.delegate, w.dkey = sesame.principal("delegate")
    verify(sesame, w.owner, domain)
    w.oc, w.dc = v2(sesame, w.okey), v2(sesame, w.dkey)
    return w

def messages(sesame):
    """The capture inbox, oldest first."""
    status, body = sesame.get("/_sesame/messages")
    assert status == 200
    return json.loads(body)["messages"]


def raw_of(sesame, message_id):
    """The captured message exactly as it would be delivered."""
    status, body = sesame.get(f"/_sesame/messages/{message_id}/raw")
    assert status == 200
    return body.decode()


def link_for(s, address):
    """The link in the newest verification mail to `address`, read from the
    capture inbox as a user would read it in a mailbox."""
    import email
    import email.policy
    import re
    status, body = s.get("/_sesame/messages")
    assert status == 200
    mails = [m for m in json.loads(body)["messages"]
             if m["Destination"] == [address] and "Verification" in (m["Subject"] or "")]
    assert mails, "no verification mail captured"
    assert mails[-1]["SendingAccountId"] in ("", None)  # charged to nobody
    status, raw = s.get(f"/_sesame/messages/{mails[-1]['MessageId']}/raw")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"] == address
    text = msg.get_body(("plain",)).get_content()
    links = re.findall(r"(\S+/_sesame/verify\?token=\S+)", text)
    assert len(links) == 1, text
    return links[0]


def parts(raw):
    """(subject, text, html) of a message."""
    import email
    import email.policy
    m = email.message_from_string(raw, policy=email.policy.default)
    text = m.get_body(preferencelist=("plain",))
    html = m.get_body(preferencelist=("html",))
    return (str(m["Subject"]), text.get_content() if text else None,
            html.get_content() if html else None)


def events(sesame, message_id):
    """The events recorded for a message (GET /_sesame/messages/<id>/events)."""
    with urllib.request.urlopen(
            f"{sesame.endpoint}/_sesame/messages/{message_id}/events", timeout=10) as r:
        return json.loads(r.read())["events"]

def check_bulk_fifty(sesame, ids, html):
    """The bulk-of-50 template tests' common check: 50 distinct MessageIds,
    each in the inbox for u<i>@dest.test with its own rendered data;
    html(i) is the expected HTML part."""
    assert len(set(ids)) == 50
    got = {m["MessageId"]: m for m in messages(sesame)}
    assert set(got) == set(ids)
    for i, mid in enumerate(ids):
        assert got[mid]["Destination"] == [f"u{i}@dest.test"]
        subject, text, body = parts(raw_of(sesame, mid))
        assert subject == f"For user<{i}>"
        assert text.strip() == f"Hi user<{i}> from S, code {i}"
        assert body.strip() == html(i)



# ==== outbound delivery harness (tests/integration/mx.py) ==== BEGIN =========
# A recipient MX (aiosmtpd), a second one on another loopback address with the
# same port (one --mx-port reaches both), and dnsmasq for the whole .test zone.

@pytest.fixture
def dns_zone(tmp_path):
    import mx as mxmod
    d = tmp_path / "dns"
    d.mkdir()
    z = mxmod.Zone(d).publish()
    yield z
    z.stop()


@pytest.fixture
def mx():
    import mx as mxmod
    m = mxmod.MX("127.0.0.1", name="mx1.test").start()
    yield m
    m.stop()


@pytest.fixture
def mx2(mx):
    """The second MX: 127.0.0.2, same port as `mx`."""
    import mx as mxmod
    m = mxmod.MX("127.0.0.2", port=mx.port, name="mx2.test").start()
    yield m
    m.stop()
# ==== outbound delivery harness ==== END =====================================
