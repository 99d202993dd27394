"""Outbound delivery end to end (issue 10): a delegate's mail, sent with
boto3, aws-cli and smtplib, leaves sesame through a real MX lookup (dnsmasq)
for a real SMTP server (aiosmtpd, programmable per recipient), signed with
the identity OWNER's Easy-DKIM key and verified by dkimpy against the DNS
records; per-recipient outcomes (250, 451 then 250, 452, 550, refused
connections, past --max-queue-age) become the events of
/_sesame/messages/<id>/events; the envelope is VERP on the bounce domain or
the owner's verified custom MAIL FROM domain; relay and capture transports;
--outbound-tls; the verification mail goes out the same way.

Every server here is started with the delivery flags of DESIGN.md; a build
without them fails at start-up with its unknown-argument error."""
import base64
import json
import re
import smtplib
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

import mx as mxmod
from conftest import REGIONS, SESAME

REGION = "us-east-1"
OWNER_DOMAIN = "example.test"
DEST = "dest.test"            # MX 10 mx1.test -> 127.0.0.1
BOUNCE = "bounces.sesame.test"
HELO = "sesame-out.test"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DELIVERY_WAIT = 30.0          # seconds for one message to reach its MX (retry-base 1)


# ---- servers --------------------------------------------------------------------

def flags(zone, port, **over):
    f = {"dns": f"127.0.0.1:{zone.port}", "mx-port": str(port), "bounce-domain": BOUNCE,
         "helo": HELO, "retry-base": "1", "max-queue-age": "600", "lease": "300",
         "outbound-timeout-scale": "0.02"}
    f.update({k.replace("_", "-"): str(v) for k, v in over.items()})
    out = []
    for k, v in f.items():
        out += [f"--{k}", v]
    return out


def start(tmp_path, zone, mx, transport="mx", name="sesame", **over):
    d = tmp_path / name
    d.mkdir()
    return mxmod.outbound_sesame(d, transport, extra=flags(zone, mx.port, **over)).start()


@pytest.fixture
def net(dns_zone):
    """dest.test's MX is mx1.test; mx2.test and mx0.test (refusing) exist."""
    dns_zone.publish(mx=[(DEST, "mx1.test", 10)],
                     hosts=[("mx1.test", "127.0.0.1"), ("mx2.test", "127.0.0.2"),
                            ("mx0.test", mxmod.refusing_host())])
    return dns_zone


@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


# ---- the owner (Easy DKIM verified through DNS) and the delegate ---------------------

def arn(account, identity=OWNER_DOMAIN):
    return f"arn:aws:ses:{REGION}:{account}:identity/{identity}"


def wait_for(fn, want, timeout=20.0, interval=0.2):
    deadline = time.time() + timeout
    v = fn()
    while v != want and time.time() < deadline:
        time.sleep(interval)
        v = fn()
    return v


def err_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    return ei.value.response["Error"]["Code"]


class World:
    """The owner verified example.test by DNS and Easy DKIM (the TXT records
    `sesame identity dkim-records` prints, served by dnsmasq); its policy
    lets the delegate account send from it."""

    def __init__(self, s, zone, ed25519=False, delegate_flags=()):
        self.s, self.zone = s, zone
        self.owner, self.okey = s.principal("owner")
        self.delegate, self.dkey = s.principal("delegate", *delegate_flags)
        self.oc, self.dc = s.client(self.okey), s.client(self.dkey)
        self.arn = arn(self.owner)
        token = self.oc.verify_domain_identity(Domain=OWNER_DOMAIN)["VerificationToken"]
        self.tokens = self.oc.verify_domain_dkim(Domain=OWNER_DOMAIN)["DkimTokens"]
        recs = s.cli_json("identity", "dkim-records", "--account", self.owner,
                          "--region", REGION, OWNER_DOMAIN)["Records"]
        self.rsa = [r for r in recs if re.search(r"\bk=rsa\b", r["Value"])]
        self.ed = [r for r in recs if re.search(r"\bk=ed25519\b", r["Value"])]
        assert [r["Name"] for r in self.rsa] == [f"{t}._domainkey.{OWNER_DOMAIN}"
                                                for t in self.tokens]
        served = self.rsa + (self.ed if ed25519 else [])
        zone.add(txt=[("_amazonses." + OWNER_DOMAIN, token)]
                 + [(r["Name"], r["Value"]) for r in served])
        assert wait_for(self.dkim_status, "Success") == "Success"
        assert wait_for(lambda: self.oc.get_identity_verification_attributes(
            Identities=[OWNER_DOMAIN])["VerificationAttributes"][OWNER_DOMAIN]
            ["VerificationStatus"], "Success") == "Success"
        self.oc.put_identity_policy(Identity=OWNER_DOMAIN, PolicyName="delegate", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "Delegate", "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{self.delegate}:root"},
                "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": self.arn}]}))

    def dkim_attrs(self):
        return self.oc.get_identity_dkim_attributes(
            Identities=[OWNER_DOMAIN])["DkimAttributes"][OWNER_DOMAIN]

    def dkim_status(self):
        return self.dkim_attrs()["DkimVerificationStatus"]

    def send(self, to=("rcpt@" + DEST,), subject="hello", frm=f"Billing <billing@{OWNER_DOMAIN}>",
             client=None):
        r = (client or self.dc).send_email(
            Source=frm, SourceArn=self.arn, Destination={"ToAddresses": list(to)},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": "body text\n"}}})
        return r["MessageId"]


@pytest.fixture
def world(server, net):
    return World(server, net)


# ---- what arrived ---------------------------------------------------------------------

def arrived(mx, mid, n=1, timeout=DELIVERY_WAIT):
    """The copies of message `mid` accepted by `mx`, once there are n; then
    a short settle proves no further copy follows."""
    got = mx.wait(lambda m: len(m.for_message(mid)) >= n and m.for_message(mid), timeout=timeout)
    assert got, f"message {mid} did not reach {mx.name} ({mx.host})"
    return got


def settle_same(mx, mid, n, seconds=2.0):
    time.sleep(seconds)  # two retry periods at --retry-base 1
    assert len(mx.for_message(mid)) == n, "a message was delivered again"


def by_recipient(events):
    out = {}
    for e in events:
        out.setdefault(e["Recipient"], []).append(e)
    return out


def types(events, rcpt=None):
    return [e["Type"] for e in events if rcpt is None or e["Recipient"] == rcpt]


TERMINAL = {"Delivery", "Bounce"}


def terminal_for(recipients):
    return lambda ev: all(any(e["Type"] in TERMINAL for e in by_recipient(ev).get(r, []))
                          for r in recipients)


def check_events_shape(events):
    assert events, "no events"
    stamps = [e["Timestamp"] for e in events]
    assert all(TS.match(t) for t in stamps), stamps
    assert stamps == sorted(stamps), "events are not oldest first"
    for e in events:
        assert set(e) >= {"Type", "Recipient", "Timestamp", "Detail"}


def assert_owner_signed(raw, w):
    """Exactly one rsa-sha256 signature, d=owner's domain, s=one of the
    owner's tokens, relaxed/relaxed, verified by dkimpy over DNS; every
    signature present verifies."""
    res = mxmod.dkim_verify_all(raw, w.zone)
    rsa = [t for t, _ in res if t.get("a") == "rsa-sha256"]
    assert len(rsa) == 1, [t for t, _ in res]
    t = rsa[0]
    assert t["d"] == OWNER_DOMAIN
    assert t["s"] in w.tokens
    assert t["c"] == "relaxed/relaxed"
    signed = t["h"].lower().split(":")
    for h in ("from", "to", "subject", "date", "message-id", "mime-version"):
        assert h in signed, (h, t["h"])
    assert all(ok for _, ok in res), [(t.get("a"), t.get("s"), ok) for t, ok in res]
    return res


def header(raw, name):
    import email
    import email.policy
    return email.message_from_bytes(raw, policy=email.policy.compat32).get_all(name) or []


def assert_delivered_as_ses(copy, mid, w, to, mail_from_domain=BOUNCE):
    assert copy.mail_from == f"{mid}@{mail_from_domain}"
    assert copy.rcpts == tuple(to)
    assert copy.helo == HELO
    assert not re.search(rb"(?im)^x-ses-", copy.raw), "an X-SES header left the machine"
    assert header(copy.raw, "From") == [f"Billing <billing@{OWNER_DOMAIN}>"]
    assert_owner_signed(copy.raw, w)


# ---- 1. a delegate's mail, three clients, one real MX lookup ---------------------------

def test_delegate_send_email_reaches_the_mx_signed_by_the_owner(server, world, mx):
    to = ("alice@" + DEST, "bob@" + DEST)
    mid = world.send(to=to)
    # one Send per recipient at accept, before anything else
    ev = server.events(mid)
    assert sorted((e["Type"], e["Recipient"]) for e in ev[:2]) == \
        [("Send", to[0]), ("Send", to[1])]
    copies = arrived(mx, mid)
    got = sorted(r for c in copies for r in c.rcpts)
    assert got == sorted(to), "each recipient exactly once"
    for c in copies:
        assert c.mail_from == f"{mid}@{BOUNCE}"
        assert c.local == "127.0.0.1"   # mx1.test, found by the MX lookup (dest.test has no A)
        assert c.tls is True            # opportunistic STARTTLS, offered by the MX
        assert header(c.raw, "Message-ID") == [f"<{mid}@email.amazonses.com>"]
        assert header(c.raw, "From") == [f"Billing <billing@{OWNER_DOMAIN}>"]
        assert c.helo == HELO
        assert_owner_signed(c.raw, world)
    ev = server.wait_events(mid, terminal_for(to))
    check_events_shape(ev)
    for r in to:
        assert types(ev, r) == ["Send", "Delivery"], ev
        d = [e for e in ev if e["Recipient"] == r and e["Type"] == "Delivery"][0]["Detail"]
        assert d["recipients"] == [r]
        assert d["smtpResponse"].startswith("250")
        assert d["remoteMtaIp"] == "127.0.0.1"
        assert isinstance(d["processingTimeMillis"], int) and d["processingTimeMillis"] >= 0
        assert TS.match(d["timestamp"])
        assert d["reportingMTA"]
    settle_same(mx, mid, len(copies))


def raw_message(to, extra=(), frm=f"Billing <billing@{OWNER_DOMAIN}>"):
    lines = [f"From: {frm}", f"To: {to}", "Subject: raw hello",
             "Date: Mon, 01 Jan 2024 00:00:00 +0000", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8", *extra, "", "raw body", ""]
    return "\r\n".join(lines).encode()


def test_delegate_send_raw_email_boto3_and_aws_cli(server, world, mx):
    to = "carol@" + DEST
    m1 = world.dc.send_raw_email(
        Source=f"billing@{OWNER_DOMAIN}", SourceArn=world.arn, Destinations=[to],
        RawMessage={"Data": raw_message(to, extra=["Message-ID: <own-1@example.test>"])}
    )["MessageId"]
    raw = raw_message(to, extra=[f"X-SES-SOURCE-ARN: {world.arn}"])
    p = server.aws(world.dkey, "send-raw-email", "--raw-message",
                   "Data=" + base64.b64encode(raw).decode(), "--cli-binary-format", "base64")
    m2 = json.loads(p.stdout)["MessageId"]
    for mid in (m1, m2):
        (c,) = arrived(mx, mid)
        assert_delivered_as_ses(c, mid, world, [to])
        assert server.wait_events(mid, terminal_for([to]))[-1]["Type"] == "Delivery"
    (c1,) = mx.for_message(m1)
    # as SES: the sender's own Message-ID is replaced by the one the API returned
    assert header(c1.raw, "Message-ID") == [f"<{m1}@email.amazonses.com>"]
    (c2,) = mx.for_message(m2)
    assert header(c2.raw, "Message-ID") == [f"<{m2}@email.amazonses.com>"]
    settle_same(mx, m1, 1)


def test_delegate_smtp_message_reaches_the_mx_signed_by_the_owner(server, world, mx):
    to = "dave@" + DEST
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as s:
        s.starttls(context=ctx)
        s.login(world.dkey["SmtpUsername"], world.dkey["SmtpPasswords"][REGION])
        s.mail(f"billing@{OWNER_DOMAIN}")
        s.rcpt(to)
        code, text = s.data(raw_message(to, extra=[f"X-SES-SOURCE-ARN: {world.arn}"]))
    assert code == 250, text
    mid = re.search(rb"(0100[0-9a-f-]+-000000)", text).group(1).decode()
    (c,) = arrived(mx, mid)
    assert_delivered_as_ses(c, mid, world, [to])
    settle_same(mx, mid, 1)


# ---- 2. DKIM is the owner's alone ------------------------------------------------------------

def test_owner_disables_dkim_no_signature_then_enables_again(server, world, mx):
    world.oc.set_identity_dkim_enabled(Identity=OWNER_DOMAIN, DkimEnabled=False)
    assert world.dkim_attrs()["DkimEnabled"] is False
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert header(c.raw, "DKIM-Signature") == []
    assert c.mail_from == f"{mid}@{BOUNCE}"
    p = server.aws(world.okey, "set-identity-dkim-enabled", "--identity", OWNER_DOMAIN,
                   "--dkim-enabled")
    assert p.returncode == 0
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert_owner_signed(c.raw, world)


def test_delegate_cannot_change_the_owners_dkim(server, world, mx):
    for ident in (world.arn, OWNER_DOMAIN):
        code = err_of(lambda: world.dc.set_identity_dkim_enabled(Identity=ident,
                                                                 DkimEnabled=False))
        assert code in ("AccessDenied", "InvalidParameterValue"), (ident, code)
    p = server.aws(world.dkey, "set-identity-dkim-enabled", "--identity", world.arn,
                   "--no-dkim-enabled", check=False)
    assert p.returncode != 0
    assert world.dkim_attrs()["DkimEnabled"] is True
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert_owner_signed(c.raw, world)


def test_owners_own_mail_is_signed_too(server, world, mx):
    mid = world.send(client=world.oc)
    (c,) = arrived(mx, mid)
    assert_owner_signed(c.raw, world)


def test_ed25519_signature_beside_rsa_once_its_record_is_served(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    try:
        w = World(s, net, ed25519=True)
        assert len(w.ed) == 1, "dkim-records prints no k=ed25519 record"
        ed = w.ed[0]
        assert ed["Type"] == "TXT"
        assert ed["Name"] == f"{w.tokens[0]}ed._domainkey.{OWNER_DOMAIN}"
        assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed["Value"])
        mid = w.send()
        (c,) = arrived(mx, mid)
        res = assert_owner_signed(c.raw, w)
        eds = [t for t, ok in res if t.get("a") == "ed25519-sha256"]
        assert len(eds) == 1, [t for t, _ in res]
        assert eds[0]["d"] == OWNER_DOMAIN and eds[0]["s"] == w.tokens[0] + "ed"
        assert eds[0]["c"] == "relaxed/relaxed"
        assert all(ok for _, ok in res)  # dkimpy verified both (python3-nacl)
    finally:
        s.stop()


# ---- 3. MX selection ---------------------------------------------------------------------------

def test_lower_preference_first_then_the_next_when_it_refuses(tmp_path, net, mx, mx2):
    # listed high first, so only the preference can pick mx1
    net.add(mx=[("pref.test", "mx2.test", 20), ("pref.test", "mx1.test", 10),
                ("fallback.test", "mx2.test", 20), ("fallback.test", "mx0.test", 10)])
    s = start(tmp_path, net, mx)
    try:
        w = World(s, net)
        mids = [w.send(to=(f"p{i}@pref.test",)) for i in range(3)]
        for mid in mids:
            arrived(mx, mid)
        assert not any(mx2.for_message(mid) for mid in mids)
        mid = w.send(to=("f@fallback.test",))
        (c,) = arrived(mx2, mid)
        assert c.local == "127.0.0.2" and c.rcpts == ("f@fallback.test",)
        ev = s.wait_events(mid, terminal_for(["f@fallback.test"]))
        d = [e for e in ev if e["Type"] == "Delivery"][0]["Detail"]
        assert d["remoteMtaIp"] == "127.0.0.2"
        assert not mx.for_message(mid)
    finally:
        s.stop()


def test_connection_refused_is_retried_until_the_mx_comes_up(tmp_path, net, mx):
    net.add(mx=[("later.test", "mx2.test", 10)])  # nothing listens on 127.0.0.2 yet
    s = start(tmp_path, net, mx)
    late = None
    try:
        w = World(s, net)
        rcpt = "r@later.test"
        mid = w.send(to=(rcpt,))
        ev = s.wait_events(mid, lambda ev: "DeliveryDelay" in types(ev))
        assert types(ev, rcpt) == ["Send", "DeliveryDelay"], ev
        d = ev[-1]["Detail"]
        assert d["delayType"] == "TransientCommunicationFailure"
        assert [r["emailAddress"] for r in d["delayedRecipients"]] == [rcpt]
        assert TS.match(d["expirationTime"])
        late = mxmod.MX("127.0.0.2", port=mx.port, name="mx2.test").start()
        (c,) = arrived(late, mid)
        ev = s.wait_events(mid, terminal_for([rcpt]))
        assert types(ev, rcpt) == ["Send", "DeliveryDelay", "Delivery"], ev
        settle_same(late, mid, 1)
    finally:
        s.stop()
        if late:
            late.stop()


# ---- 4. per-recipient outcomes -------------------------------------------------------------------

def test_451_then_250_delivered_once_with_a_delay_then_a_delivery(server, world, mx):
    rcpt = "later@" + DEST
    mx.rule(rcpt, mxmod.tempfail(1))
    mid = world.send(to=(rcpt,))
    (c,) = arrived(mx, mid)
    assert c.rcpts == (rcpt,)
    ev = server.wait_events(mid, terminal_for([rcpt]))
    check_events_shape(ev)
    assert types(ev, rcpt) == ["Send", "DeliveryDelay", "Delivery"], ev
    delay = ev[1]["Detail"]
    assert delay["delayType"] == "TransientCommunicationFailure"
    (dr,) = delay["delayedRecipients"]
    assert dr["emailAddress"] == rcpt
    assert "451" in dr["diagnosticCode"] and dr["status"].startswith("4.")
    assert TS.match(delay["expirationTime"]) and delay["expirationTime"] > ev[0]["Timestamp"]
    assert [a[:3] for a in mx.answers(rcpt)] == ["451", "250"]
    settle_same(mx, mid, 1)
    assert len(mx.answers(rcpt)) == 2


def test_452_mailbox_full_is_a_mailbox_full_delay(server, world, mx):
    rcpt = "full@" + DEST
    mx.rule(rcpt, mxmod.mailbox_full())
    mid = world.send(to=(rcpt,))
    ev = server.wait_events(mid, lambda ev: "DeliveryDelay" in types(ev), timeout=DELIVERY_WAIT)
    assert types(ev, rcpt) == ["Send", "DeliveryDelay"], ev
    d = ev[-1]["Detail"]
    assert d["delayType"] == "MailboxFull"
    assert d["delayedRecipients"][0]["status"] == "4.2.2"
    # still deferred, retried with backoff, never delivered
    assert mx.wait(lambda m: len(m.answers(rcpt)) >= 2, timeout=10)
    assert not mx.for_message(mid)


def test_each_recipient_on_its_own_550_bounces_at_once(server, world, mx):
    ok, later, gone = "ok@" + DEST, "later2@" + DEST, "gone@" + DEST
    mx.rule(later, mxmod.tempfail(1))
    mx.rule(gone, mxmod.reject())
    mid = world.send(to=(ok, later, gone))
    ev = server.wait_events(mid, terminal_for([ok, later, gone]), timeout=DELIVERY_WAIT)
    check_events_shape(ev)
    assert types(ev, ok) == ["Send", "Delivery"], ev
    assert types(ev, later) == ["Send", "DeliveryDelay", "Delivery"], ev
    assert types(ev, gone) == ["Send", "Bounce"], ev
    b = [e for e in ev if e["Type"] == "Bounce"][0]["Detail"]
    # 5.1.1 is Permanent/NoEmail (spec/feedback-notify.md §2, pinned mapping)
    assert (b["bounceType"], b["bounceSubType"]) == ("Permanent", "NoEmail")
    (br,) = b["bouncedRecipients"]
    assert br["emailAddress"] == gone and br["status"] == "5.1.1"
    assert br["diagnosticCode"].startswith("smtp; 550 5.1.1")
    assert b["feedbackId"] and TS.match(b["timestamp"])
    delivered = sorted(r for c in mx.for_message(mid) for r in c.rcpts)
    assert delivered == sorted([ok, later])
    time.sleep(2.0)
    assert len(mx.answers(gone)) == 1, "a 5xx recipient was tried again"
    assert sorted(r for c in mx.for_message(mid) for r in c.rcpts) == sorted([ok, later])


def stats_totals(client):
    pts = client.get_send_statistics()["SendDataPoints"]
    return {k: sum(p[k] for p in pts) for k in ("DeliveryAttempts", "Bounces", "Complaints",
                                                 "Rejects")}


def test_a_delegates_550_bounce_counts_in_the_delegates_statistics_not_the_owners(
        server, world, mx):
    """DESIGN.md "Feedback: who gets what": GetSendStatistics Bounces are the
    sending account's; a Permanent bounce counts, a Transient one does not."""
    gone, full = "nobody@" + DEST, "full@" + DEST
    mx.rule(gone, mxmod.reject())
    mx.rule(full, mxmod.reject("552 5.2.2 The email account that you tried to reach is over quota"))
    mid = world.send(to=(gone, full))
    ev = server.wait_events(mid, terminal_for([gone, full]), timeout=DELIVERY_WAIT)
    assert types(ev, gone) == ["Send", "Bounce"] and types(ev, full) == ["Send", "Bounce"], ev
    kinds = {e["Recipient"]: e["Detail"]["bounceType"] for e in ev if e["Type"] == "Bounce"}
    assert kinds == {gone: "Permanent", full: "Transient"}
    d = stats_totals(world.dc)
    assert d["DeliveryAttempts"] == 2 and d["Bounces"] == 1, d
    o = stats_totals(world.oc)
    assert o["DeliveryAttempts"] == 0 and o["Bounces"] == 0, o
    # the owner's own bounce is the owner's
    mid = world.send(to=(gone,), frm=f"billing@{OWNER_DOMAIN}", client=world.oc)
    server.wait_events(mid, terminal_for([gone]), timeout=DELIVERY_WAIT)
    assert stats_totals(world.oc)["Bounces"] == 1
    assert stats_totals(world.dc)["Bounces"] == 1


def test_past_max_queue_age_bounces_transient(tmp_path, net, mx):
    s = start(tmp_path, net, mx, max_queue_age=3)
    try:
        w = World(s, net)
        rcpt = "never@" + DEST
        mx.rule(rcpt, mxmod.always_tempfail())
        mid = w.send(to=(rcpt,))
        ev = s.wait_events(mid, terminal_for([rcpt]), timeout=30)
        assert types(ev, rcpt) == ["Send", "DeliveryDelay", "Bounce"], ev
        b = ev[-1]["Detail"]
        assert (b["bounceType"], b["bounceSubType"]) == ("Transient", "General")
        assert [r["emailAddress"] for r in b["bouncedRecipients"]] == [rcpt]
        tries = len(mx.answers(rcpt))
        assert tries >= 2, "deferred but never retried"
        time.sleep(2.5)
        assert len(mx.answers(rcpt)) == tries, "tried again after the bounce"
        assert not mx.for_message(mid)
    finally:
        s.stop()


# ---- 5. the envelope ---------------------------------------------------------------------------------

def test_envelope_is_verp_on_the_bounce_domain_then_the_verified_mail_from(server, world, mx, net):
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert c.mail_from == f"{mid}@{BOUNCE}"
    mf = "mail." + OWNER_DOMAIN
    world.oc.set_identity_mail_from_domain(Identity=OWNER_DOMAIN, MailFromDomain=mf)
    # pending (no records yet): still the bounce domain
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert c.mail_from == f"{mid}@{BOUNCE}"
    net.add(mx=[(mf, "feedback-smtp.us-east-1.amazonses.com", 10)],
            txt=[(mf, "v=spf1 include:amazonses.com ~all")])

    def status():
        a = world.oc.get_identity_mail_from_domain_attributes(Identities=[OWNER_DOMAIN])
        return a["MailFromDomainAttributes"][OWNER_DOMAIN].get("MailFromDomainStatus")
    assert wait_for(status, "Success") == "Success"
    mid = world.send()
    (c,) = arrived(mx, mid)
    assert_delivered_as_ses(c, mid, world, ["rcpt@" + DEST], mail_from_domain=mf)


# ---- 6. transports ---------------------------------------------------------------------------------------

def test_relay_sends_everything_to_one_smarthost(tmp_path, net, mx):
    relay = mxmod.MX("127.0.0.1", name="smarthost.test").start()  # its own port
    s = start(tmp_path, net, mx, transport=f"relay://127.0.0.1:{relay.port}")
    try:
        w = World(s, net)
        to = ("a@" + DEST, "b@nowhere.test", "c@example.org")  # MX, NXDOMAIN, outside the zone
        mid = w.send(to=to)
        copies = arrived(relay, mid)
        assert sorted(r for c in copies for r in c.rcpts) == sorted(to)
        for c in copies:
            assert c.mail_from == f"{mid}@{BOUNCE}"
            assert_owner_signed(c.raw, w)
        ev = s.wait_events(mid, terminal_for(to))
        assert all(types(ev, r) == ["Send", "Delivery"] for r in to), ev
        assert not mx.messages(), "the relay transport looked up an MX"
    finally:
        s.stop()
        relay.stop()


def test_unknown_transport_is_a_one_line_startup_error(tmp_path):
    from conftest import free_port
    p = subprocess.run([SESAME, "serve", "--data", str(tmp_path), "--regions", REGIONS,
                        "--http", f"127.0.0.1:{free_port()}", "--smtp", f"127.0.0.1:{free_port()}",
                        "--smtps", f"127.0.0.1:{free_port()}", "--transport", "carrier-pigeon"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "carrier-pigeon" in lines[0], p.stderr


def test_capture_keeps_the_message_as_it_would_leave(tmp_path, net, mx):
    d = tmp_path / "capture"
    d.mkdir()
    s = mxmod.outbound_sesame(d, "capture", extra=["--dns", f"127.0.0.1:{net.port}",
                                                   "--bounce-domain", BOUNCE]).start()
    try:
        w = World(s, net)
        rcpt = "inbox@" + DEST
        mid = w.send(to=(rcpt,))
        (m,) = [m for m in json.loads(s.get("/_sesame/messages")[1])["messages"]
                if m["MessageId"] == mid]
        # Source is SES's (the Return-Path); MailFrom the envelope as it leaves
        assert m["Source"] == f"billing@{OWNER_DOMAIN}"
        assert m["MailFrom"] == f"{mid}@{BOUNCE}"
        assert m["From"] == f"billing@{OWNER_DOMAIN}"
        raw = s.get(f"/_sesame/messages/{mid}/raw")[1]
        assert header(raw, "Message-ID") == [f"<{mid}@email.amazonses.com>"]
        assert_owner_signed(raw, w)
        ev = s.wait_events(mid, terminal_for([rcpt]))
        assert types(ev, rcpt) == ["Send", "Delivery"], ev
        assert not mx.messages()
    finally:
        s.stop()


# ---- 7. outbound TLS ------------------------------------------------------------------------------------

@pytest.fixture
def plain_mx(net, mx):
    """plain.test's MX is mx2.test: 127.0.0.2, no STARTTLS."""
    net.add(mx=[("plain.test", "mx2.test", 10)])
    m = mxmod.MX("127.0.0.2", port=mx.port, starttls=False, name="mx2.test").start()
    yield m
    m.stop()


def test_outbound_tls_required(tmp_path, net, mx, plain_mx):
    s = start(tmp_path, net, mx, outbound_tls="required")
    try:
        w = World(s, net)
        plain, tls = "p@plain.test", "t@" + DEST
        m_plain, m_tls = w.send(to=(plain,)), w.send(to=(tls,))
        (c,) = arrived(mx, m_tls)
        assert c.tls is True
        ev = s.wait_events(m_plain, lambda ev: "DeliveryDelay" in types(ev))
        assert types(ev, plain) == ["Send", "DeliveryDelay"], ev
        assert ev[-1]["Detail"]["delayType"] == "TransientCommunicationFailure"
        time.sleep(2.0)  # retried, never sent in the clear
        assert not plain_mx.messages()
        assert plain_mx.answers(plain) == [], "MAIL/RCPT went out without TLS"
        assert plain_mx.conns, "the MX without STARTTLS was never tried"
    finally:
        s.stop()


def test_outbound_tls_opportunistic_falls_back_to_plain(server, world, plain_mx):
    mid = world.send(to=("p@plain.test",))
    (c,) = arrived(plain_mx, mid)
    assert c.tls is False
    assert_owner_signed(c.raw, world)


def test_outbound_tls_none_never_starts_tls(tmp_path, net, mx):
    s = start(tmp_path, net, mx, outbound_tls="none")
    try:
        w = World(s, net)
        mid = w.send()
        (c,) = arrived(mx, mid)
        assert c.tls is False
    finally:
        s.stop()


# ---- 8. sesame's own mail -------------------------------------------------------------------------------

def test_verification_mail_goes_out_through_the_mx(server, mx):
    _, key = server.principal("verifier")
    ses = server.client(key)
    addr = "alice@" + DEST
    ses.verify_email_identity(EmailAddress=addr)
    got = mx.wait(lambda m: [a for a in m.messages() if addr in a.rcpts], timeout=DELIVERY_WAIT)
    assert got, "the verification mail did not reach the MX"
    (c,) = got
    import email
    import email.policy
    msg = email.message_from_bytes(c.raw, policy=email.policy.default)
    links = re.findall(r"(\S+/_sesame/verify\?token=\S+)", msg.get_body(("plain",)).get_content())
    assert len(links) == 1
    try:
        with urllib.request.urlopen(links[0], timeout=10) as r:
            assert r.status == 200
    except urllib.error.HTTPError as e:
        raise AssertionError(f"the mailed link answered {e.code}")
    a = ses.get_identity_verification_attributes(Identities=[addr])["VerificationAttributes"]
    assert a[addr]["VerificationStatus"] == "Success"


def test_a_delegate_past_the_bounce_rate_is_paused_the_owner_is_not(tmp_path, net, mx):
    """DESIGN.md "Semantics we pin" (reputation): the delegate's own Permanent
    bounces pause the delegate's account everywhere; only `sesame account
    resume` lifts it; the owner keeps sending."""
    s = start(tmp_path, net, mx, reputation_min_volume=2, pause_bounce_rate=0.5)
    try:
        w = World(s, net)
        gone = "gone@" + DEST
        mx.rule(gone, mxmod.reject())
        mid = w.send(to=(gone, "ok@" + DEST))
        s.wait_events(mid, terminal_for([gone, "ok@" + DEST]), timeout=DELIVERY_WAIT)
        show = s.cli_json("account", "show", "--account", w.delegate)
        assert show["Reputation"]["Paused"] is True, show
        assert show["Reputation"]["Volume"] == 2 and show["Reputation"]["BounceRate"] == 0.5
        assert show["SendingEnabled"] is False
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            w.send()
        assert ei.value.response["Error"]["Code"] == "AccountSendingPausedException"
        assert w.dc.get_account_sending_enabled()["Enabled"] is False
        # SMTP says so in SES's words
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
            c.starttls(context=ctx)
            c.login(w.dkey["SmtpUsername"], w.dkey["SmtpPasswords"][REGION])
            c.mail(f"billing@{OWNER_DOMAIN}")
            c.rcpt("ok@" + DEST)
            code, text = c.data(raw_message("ok@" + DEST,
                                            extra=[f"X-SES-SOURCE-ARN: {w.arn}"]))
        assert (code, text) == (554, b"Account sending paused"), (code, text)
        # the owner is not paused by the delegate's traffic
        assert s.cli_json("account", "show", "--account", w.owner)["Reputation"]["Paused"] is False
        w.send(frm=f"billing@{OWNER_DOMAIN}", client=w.oc)
        # the delegate's own switch cannot lift the pause
        w.dc.update_account_sending_enabled(Enabled=True)
        with pytest.raises(botocore.exceptions.ClientError):
            w.send()
        # the operator can; the window starts again
        r = s.cli_json("account", "resume", "--account", w.delegate)
        assert r["Reputation"]["Paused"] is False and r["Reputation"]["Volume"] == 0, r
        assert w.dc.get_account_sending_enabled()["Enabled"] is True
        w.send()
    finally:
        s.stop()
