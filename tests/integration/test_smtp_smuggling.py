"""SMTP smuggling against the real server: after AUTH over STARTTLS and
DATA, one write carries a message ending in a non-standard end of data
(\\n.\\n, \\n.\\r\\n, \\r\\n.\\n, \\r.\\r, a bare CR) with a complete second
transaction behind it. The only end of data is CRLF.CRLF, so each must get
exactly one reply (554 bare LF / bare CR), then the connection is closed and
nothing is captured; the same payload with a proper CRLF.CRLF still sends."""
import smtplib
import ssl

import pytest

import conftest
from conftest import messages

REGION = "us-east-1"  # the listener's region: the first of --regions
SENDER = "sender@example.com"

BARE_LF = b"554 Transaction failed: Message contains a bare LF; lines must end with CRLF.\r\n"
BARE_CR = b"554 Transaction failed: Message contains a bare CR; lines must end with CRLF.\r\n"

# a second transaction that would be accepted if it were ever read as commands
SMUGGLED = (b"MAIL FROM:<" + SENDER.encode() + b">\r\nRCPT TO:<victim@dest.test>\r\nDATA\r\n"
            b"From: " + SENDER.encode() + b"\r\nTo: victim@dest.test\r\nSubject: smuggled\r\n\r\n"
            b"smuggled\r\n.\r\nQUIT\r\n")

HEAD = (b"From: " + SENDER.encode() + b"\r\nTo: rcpt@dest.test\r\nSubject: first\r\n\r\nbody")

VARIANTS = [
    ("lf-dot-lf", b"\n.\n", BARE_LF),
    ("lf-dot-crlf", b"\n.\r\n", BARE_LF),
    ("crlf-dot-lf", b"\r\n.\n", BARE_LF),
    ("cr-dot-cr", b"\r.\r", BARE_CR),
    ("cr-dot-crlf", b"\r.\r\n", BARE_CR),
    ("crlf-dot-cr", b"\r\n.\r", BARE_CR),
    ("bare-cr-in-line", b"\rx\r\n.\r\n", BARE_CR),
]


@pytest.fixture
def key(sesame):
    account, key = sesame.principal("owner")
    conftest.verify(sesame, account, "example.com", REGION)
    return key


def session(sesame, key):
    """An authenticated STARTTLS session, ready for MAIL."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the self-signed pair made in the data dir
    s = smtplib.SMTP("127.0.0.1", sesame.smtp_port, timeout=10)
    s.ehlo("client.test")
    s.starttls(context=ctx)
    s.ehlo("client.test")
    s.login(key["SmtpUsername"], key["SmtpPasswords"][REGION])
    return s


def after_data(s, payload):
    """MAIL, RCPT, DATA; then `payload` in one write. Everything the server
    sends after the 354, read until it closes."""
    assert s.mail(SENDER)[0] == 250
    assert s.rcpt("rcpt@dest.test")[0] == 250
    assert s.docmd("DATA")[0] == 354
    s.sock.sendall(payload)  # smtplib would fix the line ends: our bytes, one write
    return s.file.read()     # to EOF: the server must hang up


@pytest.mark.parametrize("name,ending,want", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_smuggled_ending_one_reply_and_close(sesame, key, name, ending, want):
    s = session(sesame, key)
    try:
        got = after_data(s, HEAD + ending + SMUGGLED)
    finally:
        s.close()
    assert got == want  # exactly one reply, then EOF: nothing behind it was read
    assert messages(sesame) == []
    # the server is fine and the account can still send: the inbox then
    # holds that one message, not a smuggled one
    s = session(sesame, key)
    try:
        got = after_data(s, HEAD + b"\r\n.\r\nQUIT\r\n")
    finally:
        s.close()
    assert got.startswith(b"250 Ok ") and got.endswith(b"\r\n221 Bye\r\n")
    (m,) = messages(sesame)
    assert m["Destination"] == ["rcpt@dest.test"]


def test_proper_end_still_sends(sesame, key):
    """CRLF.CRLF ends the message; a dot-stuffed line is unstuffed; QUIT
    pipelined after the end is answered after the message's 250."""
    s = session(sesame, key)
    try:
        got = after_data(s, HEAD + b"\r\n..stuffed\r\n.\r\nQUIT\r\n")
    finally:
        s.close()
    lines = got.split(b"\r\n")
    assert lines[0].startswith(b"250 Ok ") and lines[1:] == [b"221 Bye", b""]
    mid = lines[0].split()[-1].decode()
    (m,) = messages(sesame)
    assert m["MessageId"] == mid
    raw = conftest.raw_of(sesame, mid)
    assert "\r\nbody\r\n.stuffed\r\n" in raw
    assert "smuggled" not in raw
