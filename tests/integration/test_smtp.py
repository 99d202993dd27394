"""SMTP submission end to end with real clients (Python smtplib and swaks):
STARTTLS on --smtp, implicit TLS on --smtps, SES SMTP passwords for the
first served region (us-east-1), the same send pipeline as the API
(own-identity and delegated sends via X-SES-SOURCE-ARN, AccessDenied,
MessageRejected, Throttling), and the hostile-input caps."""
import base64
import json
import shutil
import smtplib
import socket
import ssl
import subprocess

import pytest

import conftest
from conftest import messages, raw_of

REGION = "us-east-1"  # the listener's region: the first of --regions
DOMAIN = "example.com"
SWAKS = "/usr/bin/swaks"


def arn(account, identity=DOMAIN, region=REGION):
    return f"arn:aws:ses:{region}:{account}:identity/{identity}"


def policy(principal, account, actions=("ses:SendRawEmail",), identity=DOMAIN):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Delegate", "Effect": "Allow", "Principal": principal,
        "Action": list(actions), "Resource": arn(account, identity)}]})


def verify(sesame, account, identity=DOMAIN, region=REGION):
    conftest.verify(sesame, account, identity, region)


def creds(key):
    return key["SmtpUsername"], key["SmtpPasswords"][REGION]


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the self-signed pair made in the data dir
    return ctx


def starttls(sesame, key=None):
    s = smtplib.SMTP("127.0.0.1", sesame.smtp_port, timeout=10)
    s.ehlo("client.test")
    s.starttls(context=tls_ctx())
    s.ehlo("client.test")
    if key is not None:
        s.login(*creds(key))
    return s


def implicit(sesame, key=None):
    s = smtplib.SMTP_SSL("127.0.0.1", sesame.smtps_port, timeout=10, context=tls_ctx())
    s.ehlo("client.test")
    if key is not None:
        s.login(*creds(key))
    return s


def message(frm=f"sender@{DOMAIN}", to="rcpt@dest.test", extra=(), subject="smtp hello",
            body="smtp body"):
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", *extra, "", body, ""]
    return "\r\n".join(lines).encode()


def send(s, frm=f"sender@{DOMAIN}", to=("rcpt@dest.test",), msg=None):
    """(code, text) of the reply to the end of DATA, via MAIL/RCPT/DATA."""
    code, _ = s.mail(frm)
    assert code == 250
    for r in to:
        code, _ = s.rcpt(r)
        assert code == 250
    return s.data(msg if msg is not None else message(frm=frm, to=", ".join(to)))


class World:
    """Owner with a verified example.com; a delegate account."""

    def __init__(self, sesame, delegate_flags=()):
        self.sesame = sesame
        self.owner, self.okey = sesame.principal("owner")
        self.delegate, self.dkey = sesame.principal("delegate", *delegate_flags)
        verify(sesame, self.owner)
        self.arn = arn(self.owner)

    def allow(self):
        principal = {"AWS": f"arn:aws:iam::{self.delegate}:root"}
        self.sesame.client(self.okey).put_identity_policy(
            Identity=DOMAIN, PolicyName="delegate", Policy=policy(principal, self.owner))


@pytest.fixture
def world(sesame):
    return World(sesame)


def raw_session(port):
    """A plaintext socket after the greeting (read with a short wait, so
    the server never sees input before its greeting)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = sock.makefile("rb")
    greeting = f.readline()
    assert greeting.startswith(b"220 ")
    return sock, f


def cmd(sock, f, line):
    sock.sendall(line)
    return read_reply(f)


def read_reply(f):
    lines = []
    while True:
        ln = f.readline()
        if not ln:
            return b"".join(lines)
        lines.append(ln)
        if len(ln) < 4 or ln[3:4] != b"-":
            return b"".join(lines)


# ---- own identity, both listeners, both clients ----------------------------

def test_own_identity_starttls_smtplib(sesame, world):
    with starttls(sesame, world.okey) as s:
        code, text = send(s)
    assert code == 250
    mid = text.decode().split()[-1]
    assert text.decode().startswith("Ok ") and len(mid) == 60
    (m,) = messages(sesame)
    assert m["MessageId"] == mid
    assert m["SendingAccountId"] == world.owner
    assert m["Source"] == f"sender@{DOMAIN}"
    assert m["From"] == f"sender@{DOMAIN}"
    assert m["Destination"] == ["rcpt@dest.test"]
    assert m["Subject"] == "smtp hello"
    assert m["Region"] == REGION
    raw = raw_of(sesame, mid)
    assert "smtp body" in raw and f"<{mid}@email.amazonses.com>" in raw


def test_own_identity_implicit_tls_smtplib(sesame, world):
    with implicit(sesame, world.okey) as s:
        code, _ = send(s, to=("a@dest.test", "b@dest.test"))
    assert code == 250
    (m,) = messages(sesame)
    assert m["Destination"] == ["a@dest.test", "b@dest.test"]


def test_ehlo_advertises_auth_only_over_tls(sesame):
    s = smtplib.SMTP("127.0.0.1", sesame.smtp_port, timeout=10)
    s.ehlo("client.test")
    assert s.has_extn("starttls") and not s.has_extn("auth")
    assert s.has_extn("pipelining") and s.has_extn("size")
    s.starttls(context=tls_ctx())
    s.ehlo("client.test")
    assert not s.has_extn("starttls")
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    s.quit()


def swaks_tls():
    """swaks speaks TLS only with Net::SSLeay (Debian: libnet-ssleay-perl)."""
    return shutil.which(SWAKS) and subprocess.run(
        ["perl", "-MNet::SSLeay", "-e", "1"], capture_output=True).returncode == 0


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
@pytest.mark.parametrize("mech", ["LOGIN", "PLAIN"])
def test_swaks(sesame, world, mode, mech):
    # scripts/deps.sh installs both: a missing one is a broken setup, not a skip
    assert swaks_tls(), "swaks with Net::SSLeay (libnet-ssleay-perl) is required"
    user, password = creds(world.okey)
    port = sesame.smtp_port if mode == "starttls" else sesame.smtps_port
    tls = ["--tls"] if mode == "starttls" else ["--tls-on-connect"]
    p = subprocess.run([SWAKS, "--server", f"127.0.0.1:{port}", *tls, "--auth", mech,
                        "--auth-user", user, "--auth-password", password,
                        "--from", f"sender@{DOMAIN}", "--to", "rcpt@dest.test",
                        "--header", "Subject: via swaks", "--body", "swaks body"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "235 Authentication successful" in p.stdout
    assert "<~  250 Ok 0100" in p.stdout
    (m,) = messages(sesame)
    assert m["Subject"] == "via swaks"


# ---- delegated sends: X-SES-SOURCE-ARN -------------------------------------

def test_delegated_send_with_source_arn_header(sesame, world):
    world.allow()
    msg = message(extra=(f"X-SES-SOURCE-ARN: {world.arn}",))
    with starttls(sesame, world.dkey) as s:
        code, text = send(s, msg=msg)
    assert code == 250, text
    (m,) = messages(sesame)
    assert m["SendingAccountId"] == world.delegate
    assert m["SourceArn"] == world.arn
    raw = raw_of(sesame, m["MessageId"])
    assert "X-SES" not in raw.upper()


def test_delegated_without_policy_access_denied(sesame, world):
    msg = message(extra=(f"X-SES-SOURCE-ARN: {world.arn}",))
    with starttls(sesame, world.dkey) as s:
        code, text = send(s, msg=msg)
    assert code == 554
    assert text.decode() == (
        f"Access denied: User `arn:aws:iam::{world.delegate}:root' is not authorized to "
        f"perform `ses:SendRawEmail' on resource `{world.arn}'")
    assert messages(sesame) == []


def test_policy_for_send_email_only_is_not_enough(sesame, world):
    principal = {"AWS": f"arn:aws:iam::{world.delegate}:root"}
    sesame.client(world.okey).put_identity_policy(
        Identity=DOMAIN, PolicyName="p",
        Policy=policy(principal, world.owner, actions=("ses:SendEmail",)))
    msg = message(extra=(f"X-SES-SOURCE-ARN: {world.arn}",))
    with implicit(sesame, world.dkey) as s:
        code, _ = send(s, msg=msg)
    assert code == 554


def test_unverified_message_rejected(sesame, world):
    with starttls(sesame, world.dkey) as s:
        code, text = send(s, frm="someone@unverified.test")
    assert code == 554
    assert text.decode().startswith(
        "Message rejected: Email address is not verified. The following identities failed "
        "the check in region US-EAST-1: ")
    assert "someone@unverified.test" in text.decode()
    assert messages(sesame) == []


def test_envelope_sender_is_the_source(sesame, world):
    # From is the owner's verified domain; MAIL FROM an unverified address
    with starttls(sesame, world.okey) as s:
        code, text = send(s, frm="bounce@unverified.test",
                          msg=message(frm=f"sender@{DOMAIN}"))
    assert code == 554 and b"bounce@unverified.test" in text


# ---- authentication ----------------------------------------------------------

def test_wrong_password_535(sesame, world):
    s = starttls(sesame)
    user, password = creds(world.okey)
    with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
        s.login(user, "B" + password[1:-2] + "AA")
    assert ei.value.smtp_code == 535
    assert ei.value.smtp_error == b"Authentication Credentials Invalid"
    # another region's password is wrong here too
    other = world.okey["SmtpPasswords"]["us-west-2"]
    code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(
        f"\0{user}\0{other}".encode()).decode())
    assert code == 535
    s.close()


def test_auth_before_starttls_530(sesame, world):
    s = smtplib.SMTP("127.0.0.1", sesame.smtp_port, timeout=10)
    s.ehlo("client.test")
    user, password = creds(world.okey)
    code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(
        f"\0{user}\0{password}".encode()).decode())
    assert (code, text) == (530, b"Must issue a STARTTLS command first")
    code, text = s.docmd("MAIL", f"FROM:<sender@{DOMAIN}>")
    assert (code, text) == (530, b"Authentication required")
    s.close()


def test_auth_login_and_plain_smtplib(sesame, world):
    for mech in ("LOGIN", "PLAIN"):
        s = starttls(sesame)
        s.user, s.password = creds(world.okey)
        code, text = s.auth(mech, getattr(s, "auth_" + mech.lower()))
        assert (code, text) == (235, b"Authentication successful")
        s.quit()


# ---- limits --------------------------------------------------------------------

def test_rate_limit_454(sesame):
    w = World(sesame, delegate_flags=("--sandbox",))  # MaxSendRate 1
    w.allow()
    verify(sesame, w.delegate, "rcpt@dest.test")
    msg = message(extra=(f"X-SES-SOURCE-ARN: {w.arn}",))
    codes = []
    with starttls(sesame, w.dkey) as s:
        for _ in range(3):
            code, text = send(s, msg=msg)
            codes.append(code)
            if code == 454:
                assert text == b"Throttling failure: Maximum sending rate exceeded."
    assert codes == [250, 454, 454]
    assert len(messages(sesame)) == 1


def test_daily_quota_454(sesame):
    acct, k = sesame.principal("small", "--max-24h", "1")
    verify(sesame, acct)
    with implicit(sesame, k) as s:
        assert send(s)[0] == 250
        code, text = send(s)
    assert (code, text) == (454, b"Throttling failure: Daily message quota exceeded.")


# ---- hostile input ------------------------------------------------------------

def test_oversize_552(sesame, world):
    with starttls(sesame, world.okey) as s:
        code, text = s.mail(f"sender@{DOMAIN}", ["SIZE=10485761"])
        assert (code, text) == (552, b"Message is too long.")
        big = message(body="x" * 998 + "\r\n") * 1 + (("y" * 998 + "\r\n") * 10600).encode()
        code, _ = s.mail(f"sender@{DOMAIN}")
        assert code == 250
        assert s.rcpt("rcpt@dest.test")[0] == 250
        code, text = s.data(big)
        assert (code, text) == (552, b"Message is too long.")
        assert s.noop()[0] == 250  # still serving
    assert messages(sesame) == []


def test_bare_lf_in_data_refused(sesame, world):
    with starttls(sesame, world.okey) as s:
        assert s.mail(f"sender@{DOMAIN}")[0] == 250
        assert s.rcpt("rcpt@dest.test")[0] == 250
        assert s.docmd("DATA")[0] == 354
        # smtplib would fix the line ends; send the bytes ourselves
        s.send(b"From: sender@example.com\r\nTo: rcpt@dest.test\r\n\r\nline\n.\nmore\r\n.\r\n")
        code, text = s.getreply()
        assert code == 554 and b"bare LF" in text
        # one answer, then the server hangs up (every smuggling variant:
        # test_smtp_smuggling.py)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            s.noop()
    with starttls(sesame, world.okey) as s:
        assert send(s)[0] == 250  # and the next session sends
    assert len(messages(sesame)) == 1


def test_bare_lf_command_and_long_line(sesame):
    sock, f = raw_session(sesame.smtp_port)
    assert cmd(sock, f, b"EHLO client.test\r\n").startswith(b"250-")
    assert cmd(sock, f, b"NOOP\n").startswith(b"500 ")
    assert cmd(sock, f, b"NOOP " + b"a" * 2000 + b"\r\n") == b"500 Line too long.\r\n"
    assert cmd(sock, f, b"NOOP\r\n") == b"250 Ok\r\n"
    assert cmd(sock, f, b"VRFY someone\r\n").startswith(b"252 ")
    # a few more long lines and the server hangs up
    assert cmd(sock, f, b"X" * 1500 + b"\r\n") == b"500 Line too long.\r\n"
    assert cmd(sock, f, b"X" * 1500 + b"\r\n") == b"500 Line too long.\r\n"
    assert f.readline().startswith(b"421 ")
    assert f.readline() == b""
    sock.close()
    # and it keeps serving others
    sock, f = raw_session(sesame.smtp_port)
    assert cmd(sock, f, b"QUIT\r\n").startswith(b"221 ")
    sock.close()


def test_talking_before_greeting_is_dropped(sesame):
    sock = socket.create_connection(("127.0.0.1", sesame.smtp_port), timeout=10)
    sock.sendall(b"EHLO spam.test\r\nMAIL FROM:<a@b.test>\r\n")
    f = sock.makefile("rb")
    data = f.read()
    assert b"554 SMTP synchronization error" in data
    assert not data.startswith(b"220 ") or b"250" not in data
    sock.close()


def test_plaintext_pipelined_after_starttls_is_discarded(sesame, world):
    sock, f = raw_session(sesame.smtp_port)
    assert cmd(sock, f, b"EHLO client.test\r\n").startswith(b"250-")
    assert cmd(sock, f, b"STARTTLS\r\nNOOP\r\n") == b"220 Ready to start TLS\r\n"
    tls = tls_ctx().wrap_socket(sock, server_hostname="localhost")
    tf = tls.makefile("rb")
    tls.sendall(b"EHLO client.test\r\n")
    assert read_reply(tf).startswith(b"250-localhost")  # not the NOOP's reply
    tls.sendall(b"QUIT\r\n")
    assert read_reply(tf).startswith(b"221 ")
    tls.close()


def test_too_many_recipients(sesame, world):
    with starttls(sesame, world.okey) as s:
        assert s.mail(f"sender@{DOMAIN}")[0] == 250
        for i in range(50):
            assert s.rcpt(f"r{i}@dest.test")[0] == 250
        code, _ = s.rcpt("r50@dest.test")
        assert code == 452
        code, _ = s.data(message())
        assert code == 250
    (m,) = messages(sesame)
    assert len(m["Destination"]) == 50


def test_unauthenticated_command_cap(sesame):
    sock, f = raw_session(sesame.smtp_port)
    replies = [cmd(sock, f, b"NOOP\r\n") for _ in range(20)]
    assert all(r == b"250 Ok\r\n" for r in replies)
    assert cmd(sock, f, b"NOOP\r\n").startswith(b"421 ")
    sock.close()


def test_delegated_send_counts_against_delegate(sesame, world):
    world.allow()
    msg = message(extra=(f"X-SES-SOURCE-ARN: {world.arn}",))
    with implicit(sesame, world.dkey) as s:
        assert send(s, msg=msg)[0] == 250
    dq = sesame.client(world.dkey).get_send_quota()["SentLast24Hours"]
    oq = sesame.client(world.okey).get_send_quota()["SentLast24Hours"]
    assert (dq, oq) == (1.0, 0.0)


def test_self_signed_pair_made_in_data_dir(sesame):
    import os
    import stat
    key = os.path.join(sesame.data, "smtp-key.pem")
    cert = os.path.join(sesame.data, "smtp-cert.pem")
    assert os.path.exists(cert)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with socket.create_connection(("127.0.0.1", sesame.smtps_port), timeout=10) as raw:
        with tls_ctx().wrap_socket(raw, server_hostname="localhost") as t:
            der = t.getpeercert(binary_form=True)
    assert der


def test_sender_field_is_checked_like_from(sesame, world):
    world.allow()
    msg = message(extra=(f"X-SES-SOURCE-ARN: {world.arn}", "Sender: someone@unverified.test"))
    with starttls(sesame, world.dkey) as s:
        code, text = send(s, msg=msg)
    assert code == 554
    assert text.decode() == ("Message rejected: Email address is not verified. The following "
                             "identities failed the check in region US-EAST-1: "
                             "someone@unverified.test")
    assert messages(sesame) == []
