"""One server per address and per data directory, the operator endpoints
only for --admin-allow clients, the master key outside the data directory,
and private database files. Each defect was reproduced against the server
before the fix: a second serve started and took half the connections,
/_sesame/ answered any client, and sesame.db was world-readable."""
import contextlib
import email
import email.policy
import http.client
import json
import os
import re
import socket
import stat
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import PG, SESAME, Sesame, free_port


# --- helpers ---------------------------------------------------------------------

def second_serve(tmp_path, name, like, same_http=False, same_smtp=False, same_data=False,
                 extra=(), env=None):
    """Start another `sesame serve` that shares one thing with the running
    server `like`; return (exit status, stderr lines, seconds it ran).
    A serve still running after 2 s is killed and counts as started."""
    d = tmp_path / name
    d.mkdir()
    s = Sesame(d, extra=list(extra))
    if same_http:
        s.http_port = like.http_port
    if same_smtp:
        s.smtp_port = like.smtp_port
    args = s.args()
    if same_data:
        args[args.index("--data") + 1] = like.data
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _, err = p.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("the second serve was still running after 2 s")
    return p.returncode, err.decode().splitlines(), time.monotonic() - t0


def error_lines(lines):
    """The `sesame: …` lines (the log lines around them carry a timestamp)."""
    return [ln for ln in lines if ln.startswith("sesame: ")]


def get_from(sesame, path, source="127.0.0.2", method="GET"):
    """(status, body) of a request to the server on 127.0.0.1 from `source`."""
    c = http.client.HTTPConnection("127.0.0.1", sesame.http_port, timeout=10,
                                   source_address=(source, 0))
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def can_bind(source):
    with socket.socket() as s:
        try:
            s.bind((source, 0))
            return True
        except OSError:
            return False


def start_seen_from(s, source):
    """Start `s` and wait until /_sesame/health answers a client at `source`
    (Sesame.start asks from 127.0.0.1, which --admin-allow may refuse)."""
    s.proc = subprocess.Popen(s.args(), stdout=s.log, stderr=s.log)
    deadline = time.time() + 20
    while time.time() < deadline:
        assert s.proc.poll() is None, s.read_log()
        with contextlib.suppress(OSError):
            if get_from(s, "/_sesame/health", source=source)[0] == 200:
                return s
        time.sleep(0.05)
    pytest.fail("sesame serve did not come up: " + s.read_log())


def inbox_count(sesame):
    status, body = get_from(sesame, "/_sesame/messages", source="127.0.0.1")
    assert status == 200
    return len(json.loads(body)["messages"])


def verification_link(sesame, address):
    """The link in the verification mail to `address` from the capture inbox."""
    status, body = sesame.get("/_sesame/messages")
    assert status == 200
    mails = [m for m in json.loads(body)["messages"] if m["Destination"] == [address]]
    assert mails, "no verification mail captured"
    status, raw = sesame.get(f"/_sesame/messages/{mails[-1]['MessageId']}/raw")
    text = email.message_from_bytes(raw, policy=email.policy.default) \
        .get_body(("plain",)).get_content()
    links = re.findall(r"(\S+/_sesame/verify\?token=\S+)", text)
    assert len(links) == 1, text
    return links[0]


@pytest.fixture
def busy(sesame):
    """A running server with exactly one captured message."""
    _, key = sesame.principal()
    sesame.client(key).verify_email_identity(EmailAddress="someone@example.org")
    deadline = time.time() + 10
    while inbox_count(sesame) != 1 and time.time() < deadline:
        time.sleep(0.05)
    assert inbox_count(sesame) == 1
    return sesame


def still_serving(sesame):
    """The first server answers every request itself: health, and the same
    inbox on each of many new connections (the kernel split them between
    two processes before: the count alternated between 1 and 0)."""
    assert sesame.proc.poll() is None
    assert sesame.get("/_sesame/health") == (200, b'{"status": "ok"}\n')
    assert [inbox_count(sesame) for _ in range(40)] == [1] * 40


def write_key(path):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(os.urandom(32))
    return str(path)


# --- one serve per listen address and per data directory ----------------------------

def test_second_serve_on_taken_http_port_fails_at_start(busy, tmp_path):
    rc, lines, secs = second_serve(tmp_path, "second", busy, same_http=True)
    assert rc != 0 and secs < 2
    assert error_lines(lines) == [
        f"sesame: 127.0.0.1:{busy.http_port} is already in use (another sesame serve?)"]
    still_serving(busy)


def test_second_serve_on_taken_smtp_port_fails_at_start(busy, tmp_path):
    rc, lines, secs = second_serve(tmp_path, "second", busy, same_smtp=True)
    assert rc != 0 and secs < 2
    assert error_lines(lines) == [
        f"sesame: 127.0.0.1:{busy.smtp_port} is already in use (another sesame serve?)"]
    still_serving(busy)
    # and the first still takes SMTP connections
    import smtplib
    with smtplib.SMTP("127.0.0.1", busy.smtp_port, timeout=10) as c:
        assert c.ehlo()[0] == 250


def test_second_serve_on_used_data_dir_fails_at_start(busy, tmp_path):
    rc, lines, secs = second_serve(tmp_path, "second", busy, same_data=True)
    assert rc != 0 and secs < 2
    assert error_lines(lines) == [
        f"sesame: data directory {busy.data} is in use by another sesame serve "
        f"(pid {busy.proc.pid})"]
    assert lines == error_lines(lines)  # nothing started, nothing logged
    still_serving(busy)
    # the admin CLI may share the store with the running server
    assert busy.cli_json("account", "create", "--name", "shared")["Name"] == "shared"


def test_data_dir_lock_is_released_at_exit(tmp_path):
    s = Sesame(tmp_path).start()
    assert s.stop() == 0
    s.start()  # the same directory and ports again, at once
    try:
        assert s.get("/_sesame/health")[0] == 200
        with open(os.path.join(s.data, "serve.lock")) as f:
            assert f.read() == f"{s.proc.pid}\n"
    finally:
        s.stop()


# --- --admin-allow -------------------------------------------------------------

needs_127_0_0_2 = pytest.mark.skipif(not can_bind("127.0.0.2"),
                                      reason="cannot bind 127.0.0.2")


@needs_127_0_0_2
def test_dev_endpoints_refuse_clients_outside_admin_allow(busy):
    forbidden = '{"error": "forbidden: 127.0.0.2 is not in --admin-allow"}\n'
    for method, path in [("GET", "/_sesame/messages"), ("GET", "/_sesame/health"),
                         ("GET", "/_sesame/"), ("GET", "/_sesame/messages/x/raw"),
                         ("DELETE", "/_sesame/messages"), ("GET", "/_sesame/nope"),
                         ("POST", "/_sesame/messages"),
                         # the inbox's view, search, delete-one and events
                         ("GET", "/_sesame/messages?q=x"), ("GET", "/_sesame/messages/x"),
                         ("GET", "/_sesame/messages/x/html"),
                         ("GET", "/_sesame/messages/x/attachments/0"),
                         ("DELETE", "/_sesame/messages/x"), ("GET", "/_sesame/events"),
                         ("GET", "/_sesame/?q=x")]:
        assert get_from(busy, path, method=method) == (403, forbidden), (method, path)
    # the refused DELETE emptied nothing; loopback is still allowed
    assert inbox_count(busy) == 1
    assert get_from(busy, "/_sesame/messages", source="127.0.0.1")[0] == 200


@needs_127_0_0_2
def test_admin_allow_widens_the_rule(tmp_path):
    s = Sesame(tmp_path, extra=["--admin-allow", "127.0.0.0/8"]).start()
    try:
        status, body = get_from(s, "/_sesame/messages")
        assert (status, json.loads(body)) == (200, {"messages": []})
    finally:
        s.stop()


@needs_127_0_0_2
def test_admin_allow_can_name_one_host(tmp_path):
    s = start_seen_from(Sesame(tmp_path, extra=["--admin-allow", "127.0.0.2, ::1"]),
                        "127.0.0.2")
    try:
        assert get_from(s, "/_sesame/messages")[0] == 200
        assert get_from(s, "/_sesame/messages", source="127.0.0.1")[0] == 403
    finally:
        s.stop()


@needs_127_0_0_2
def test_verify_link_works_from_anywhere(sesame):
    _, key = sesame.principal()
    ses = sesame.client(key)
    ses.verify_email_identity(EmailAddress="owner@example.org")
    link = verification_link(sesame, "owner@example.org")
    path = link[len(sesame.endpoint):]
    assert path.startswith("/_sesame/verify?token=")
    status, body = get_from(sesame, path)
    assert status == 200 and "verified" in body
    attrs = ses.get_identity_verification_attributes(
        Identities=["owner@example.org"])["VerificationAttributes"]
    assert attrs["owner@example.org"]["VerificationStatus"] == "Success"
    # only GET is exempt; the rest of /_sesame/verify is the operator's
    assert get_from(sesame, path, method="POST")[0] == 403


def test_ipv4_client_of_dual_stack_listener_counts_as_ipv4(tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    s = Sesame(tmp_path)
    s.http_port = free_port()
    s.extra = ["--http", f"[::]:{s.http_port}"]
    s.endpoint = f"http://127.0.0.1:{s.http_port}"
    try:
        s.start()  # start() polls /_sesame/health from 127.0.0.1 = ::ffff:127.0.0.1
    except RuntimeError as e:
        if "Address family not supported" in str(e) or "cannot listen" in str(e):
            pytest.skip("cannot bind [::]")
        raise
    try:
        assert get_from(s, "/_sesame/messages", source="127.0.0.1")[0] == 200
        if can_bind("127.0.0.2"):
            assert get_from(s, "/_sesame/messages")[0] == 403
    finally:
        s.stop()


@pytest.mark.parametrize("value,item", [
    ("10.0.0.0/33", "10.0.0.0/33"), ("127.0.0.1,localhost", "localhost"),
    ("127.0.0.1,", ""), ("::1/129", "::1/129")])
def test_bad_admin_allow_is_a_startup_error(tmp_path, value, item):
    s = Sesame(tmp_path, extra=["--admin-allow", value])
    t0 = time.monotonic()
    p = subprocess.run(s.args(), capture_output=True, text=True, timeout=10)
    assert time.monotonic() - t0 < 2
    assert p.returncode == 2
    assert p.stderr == f"sesame: --admin-allow: bad CIDR '{item}' in '{value}'\n"
    assert not os.path.exists(os.path.join(s.data, "sesame.db"))


# --- the master key outside the data directory ---------------------------------------

def test_master_key_elsewhere(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    kf = write_key(keys / "sesame.key")
    (tmp_path / "data").mkdir()
    s = Sesame(tmp_path / "data", extra=["--master-key", kf])
    acct = s.cli_json("account", "create", "--name", "a", "--master-key", kf)["AccountId"]
    key = s.cli_json("key", "create", "--account", acct, "--master-key", kf)
    assert not os.path.exists(os.path.join(s.data, "master.key"))
    s.start()
    try:
        assert s.client(key).get_send_quota()["MaxSendRate"] == 14.0
        assert not os.path.exists(os.path.join(s.data, "master.key"))
    finally:
        s.stop()


def test_master_key_from_environment(tmp_path, monkeypatch):
    kf = write_key(tmp_path / "credential.key")
    os.chmod(kf, 0o400)  # as systemd hands a credential over
    monkeypatch.setenv("SESAME_MASTER_KEY_FILE", kf)
    (tmp_path / "data").mkdir()
    s = Sesame(tmp_path / "data")
    acct = s.cli_json("account", "create", "--name", "a")["AccountId"]
    key = s.cli_json("key", "create", "--account", acct)
    assert not os.path.exists(os.path.join(s.data, "master.key"))
    s.start()  # inherits the environment
    try:
        assert s.client(key).get_send_quota()["MaxSendRate"] == 14.0
    finally:
        s.stop()
    # --master-key beats the environment
    p = s.cli("key", "create", "--account", acct, "--master-key", str(tmp_path / "no.key"),
              check=False)
    assert p.returncode == 1 and f"master key {tmp_path / 'no.key'} does not exist" in p.stderr
    monkeypatch.delenv("SESAME_MASTER_KEY_FILE")
    # without either, the default key beside the data is a new, different key
    s.start()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s.client(key).get_send_quota()
        assert ei.value.response["Error"]["Code"] == "InternalFailure"
    finally:
        s.stop()
    assert os.path.exists(os.path.join(s.data, "master.key"))


def test_wrong_master_key_is_a_clear_error(tmp_path):
    right, wrong = write_key(tmp_path / "right.key"), write_key(tmp_path / "wrong.key")
    (tmp_path / "data").mkdir()
    s = Sesame(tmp_path / "data", extra=["--master-key", wrong])
    acct = s.cli_json("account", "create", "--name", "a", "--master-key", right)["AccountId"]
    key = s.cli_json("key", "create", "--account", acct, "--master-key", right)
    s.start()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s.client(key).get_send_quota()
        r = ei.value.response
        assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == \
            ("InternalFailure", 500)
        assert r["Error"]["Message"] == ("vault: sealed secret failed authentication "
                                         "(wrong master key or corrupted data)")
        # SMTP AUTH with that key's password: a temporary failure, no crash
        import smtplib
        with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
            c.starttls()
            with pytest.raises(smtplib.SMTPException) as se:
                c.login(key["SmtpUsername"], key["SmtpPasswords"]["us-east-1"])
            assert getattr(se.value, "smtp_code", 0) // 100 == 4
        assert s.proc.poll() is None
        assert s.get("/_sesame/health")[0] == 200
        assert "wrong master key" in s.read_log()
        assert key["SecretAccessKey"] not in s.read_log()
    finally:
        s.stop()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_missing_explicit_master_key_is_never_created(tmp_path, how):
    kf = str(tmp_path / "typo.key")
    (tmp_path / "data").mkdir()
    s = Sesame(tmp_path / "data")
    env = dict(os.environ)
    argv = list(s.args())
    if how == "flag":
        argv += ["--master-key", kf]
    else:
        env["SESAME_MASTER_KEY_FILE"] = kf
    p = subprocess.run(argv, capture_output=True, text=True, timeout=10, env=env)
    assert p.returncode == 1
    assert error_lines(p.stderr.splitlines()) == [
        f"sesame: master key {kf} does not exist (an explicit --master-key is never created; "
        f"make one with: (umask 077; head -c 32 /dev/urandom > {kf}))"]
    assert not os.path.exists(kf)
    assert not os.path.exists(os.path.join(s.data, "master.key"))
    # the admin commands say the same
    c = subprocess.run([SESAME, "account", "create", "--name", "a", "--data", s.data]
                       + (["--master-key", kf] if how == "flag" else []),
                       capture_output=True, text=True, timeout=10, env=env)
    assert c.returncode == 0  # account create seals nothing
    c = subprocess.run([SESAME, "key", "create", "--account",
                        json.loads(c.stdout)["AccountId"], "--data", s.data]
                       + (["--master-key", kf] if how == "flag" else []),
                       capture_output=True, text=True, timeout=10, env=env)
    assert c.returncode == 1 and "does not exist" in c.stderr
    assert not os.path.exists(kf)


@pytest.mark.skipif(bool(PG), reason="the SQLite file's modes; PostgreSQL keeps its own")
def test_data_files_are_private(tmp_path):
    """sesame.db and its WAL files are 0600 like the key, whatever the umask."""
    old = os.umask(0)
    try:
        s = Sesame(tmp_path).start()
    finally:
        os.umask(old)
    try:
        # writes from the CLI while the server holds the store: the WAL stays
        # (a server that dropped its own SQLite locks would let the CLI's
        # close delete the WAL under it)
        _, key = s.principal()
        s.client(key).verify_email_identity(EmailAddress="x@example.org")
        for name in ("sesame.db", "sesame.db-wal", "sesame.db-shm", "master.key",
                     "serve.lock"):
            mode = stat.S_IMODE(os.stat(os.path.join(s.data, name)).st_mode)
            assert mode == 0o600, (name, oct(mode))
    finally:
        s.stop()


@pytest.mark.skipif(bool(PG), reason="the SQLite file's modes; PostgreSQL keeps its own")
def test_existing_wide_database_is_narrowed(tmp_path):
    s = Sesame(tmp_path)
    s.cli_json("account", "create", "--name", "a")
    db = os.path.join(s.data, "sesame.db")
    os.chmod(db, 0o644)  # as an earlier version left it
    s.start()
    try:
        assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(db + "-wal").st_mode) == 0o600
    finally:
        s.stop()
