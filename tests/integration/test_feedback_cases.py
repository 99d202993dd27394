"""The feedback loop (issue 11), the cases test_feedback.py leaves out: the
pinned Status -> bounceType/bounceSubType mapping one report at a time
(folded and unfolded, message/delivery-status and
message/global-delivery-status, whole original and headers only); which
message a report lands on (VERP first, then the returned Message-ID, also
behind an unknown VERP local part; the owner's verified custom MAIL FROM
domain); which recipient an ARF names (Original-Rcpt-To, else a one-address
To, else all); reports that survive a restart; the complaint-rate pause; the
suppression CLI and its effect on the next send; the simulator for a
sandboxed delegate and next to a real recipient; and the feedback
listener's SMTP dialogue.

Same world as test_delivery.py: owner A verified example.test, delegate B
sends as it by policy, the MX is aiosmtpd found through dnsmasq. Every wait
is bounded."""
import re
import smtplib
import time

import botocore.exceptions
import pytest

import mx as mxmod
import report_mail as rep
from test_delivery import (BOUNCE, DEST, OWNER_DOMAIN, TS, World, arrived, header, net,
                           start, stats_totals, types, wait_for)

__all__ = ["net"]  # a fixture test_delivery defines, used here

SIM = "simulator.amazonses.com"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
SETTLE = 0.5   # after a report answered 250: long enough for a second event to show


@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


@pytest.fixture
def world(server, net):
    return World(server, net)


# ---- helpers -------------------------------------------------------------------------

def suppressed(s, account):
    return {d["EmailAddress"]: d for d in
            s.cli_json("suppression", "list", "--account", account)["SuppressedDestinations"]}


def delivered_copy(mx, mid):
    (c,) = arrived(mx, mid)
    return c.raw


def delivered_copies(mx, mid, n):
    return arrived(mx, mid, n=n)


def of(events, rcpt, typ):
    return [e for e in events if e["Recipient"] == rcpt and e["Type"] == typ]


def wait_types(s, mid, rcpt, want, timeout=15.0):
    ev = s.wait_events(mid, lambda ev: types(ev, rcpt) == want, timeout=timeout)
    assert types(ev, rcpt) == want, ev
    return [e for e in ev if e["Recipient"] == rcpt]


def report_ok(port, rcpt, data):
    code, text = rep.mail_report(port, rcpt, data)
    assert code == 250, (code, text)
    return text


def zeros():
    return {"DeliveryAttempts": 0, "Bounces": 0, "Complaints": 0, "Rejects": 0}


def check_bounce_detail(d, rcpt, status, btype, subtype, diag=None, mta="dns; mx.dest.test"):
    assert (d["bounceType"], d["bounceSubType"]) == (btype, subtype), d
    assert d["reportingMTA"] == mta, d
    assert d["feedbackId"], d
    assert TS.match(d["timestamp"]), d
    (r,) = d["bouncedRecipients"]
    assert r["emailAddress"] == rcpt, d
    assert r["action"] == "failed", d
    assert r["status"] == status, d
    if diag is not None:
        assert r["diagnosticCode"] == diag, d


# ---- 1. the pinned mapping, one DSN at a time ---------------------------------------------

# (local part, Status, Action, Diagnostic-Code, expected event, bounceType, bounceSubType)
MAPPING = [
    ("nouser", "5.1.1", "failed", "smtp; 550 5.1.1 <{a}>: Recipient address rejected: "
     "User unknown in local recipient table", "Bounce", "Permanent", "NoEmail"),
    ("routed", "5.4.4", "failed", "smtp; 550 5.4.4 Unable to route: no mail hosts for domain",
     "Bounce", "Permanent", "General"),
    ("fullnow", "5.2.2", "failed", "smtp; 552 5.2.2 Mailbox full: the user is over quota",
     "Bounce", "Transient", "MailboxFull"),
    ("fulltmp", "4.2.2", "failed", "smtp; 452 4.2.2 Mailbox full, try again later",
     "Bounce", "Transient", "MailboxFull"),
    ("slow", "4.4.7", "delayed", "smtp; 451 4.4.7 Delivery time expired, still trying",
     "DeliveryDelay", None, None),
    ("nullmx", "5.1.10", "failed", "smtp; 556 5.1.10 Recipient address has null MX",
     "Bounce", "Permanent", "NoEmail"),
    ("moved", "5.1.6", "failed", "smtp; 551 5.1.6 User has moved; no forwarding address",
     "Bounce", "Permanent", "NoEmail"),
    ("big", "5.3.4", "failed", "smtp; 552 5.3.4 Message size exceeds fixed limit",
     "Bounce", "Transient", "MessageTooLarge"),
    ("conv", "5.6.0", "failed", "smtp; 554 5.6.0 Message content conversion failed",
     "Bounce", "Transient", "ContentRejected"),
]
PERMANENT = {"nouser", "routed", "nullmx", "moved"}


@pytest.mark.parametrize("fold,headers_only,global_status", [
    (True, False, False), (False, True, False), (True, True, True)],
    ids=["folded-rfc822", "unfolded-headers", "folded-global"])
def test_each_status_maps_to_its_bounce_type_and_only_permanent_ones_count(
        server, world, mx, fold, headers_only, global_status):
    """One message to five recipients; each recipient answered by its own
    DSN (a separate report each, as a remote MTA sends one per delivery
    attempt) to the VERP address: 5.1.1 Permanent/NoEmail, other 5.x.x
    Permanent/General, 5.2.2 and 4.2.2 Transient/MailboxFull, 5.1.10 and
    5.1.6 NoEmail, 5.3.4 Transient/MessageTooLarge, 5.6.x
    Transient/ContentRejected, Action delayed a DeliveryDelay (spec §2).
    The Diagnostic-Code comes back unfolded. Only the Permanent ones count
    in B's Bounces and go on B's list."""
    rcpts = {lp: f"{lp}@{DEST}" for lp, *_ in MAPPING}
    mid = world.send(to=tuple(rcpts.values()))
    originals = delivered_copies(mx, mid, 1)
    original = originals[0].raw
    for lp, status, action, diag, *_ in MAPPING:
        a = rcpts[lp]
        report = rep.dsn(original, a, status=status, action=action, diagnostic=diag.format(a=a),
                         fold=fold, headers_only=headers_only, global_status=global_status)
        folded = b"\r\n " in report.split(b"Diagnostic-Code:")[1].split(b"\r\n\r\n")[0]
        assert folded == fold
        report_ok(server.feedback_port, f"{mid}@{BOUNCE}", report)
    for lp, status, action, diag, want, btype, sub in MAPPING:
        a = rcpts[lp]
        ev = wait_types(server, mid, a, ["Send", "Delivery", want])
        d = ev[-1]["Detail"]
        if want == "Bounce":
            check_bounce_detail(d, a, status, btype, sub, diag=diag.format(a=a))
    assert stats_totals(world.dc) == {"DeliveryAttempts": len(MAPPING),
                                      "Bounces": len(PERMANENT), "Complaints": 0, "Rejects": 0}
    assert stats_totals(world.oc) == zeros()
    lst = suppressed(server, world.delegate)
    assert set(lst) == {rcpts[lp] for lp in PERMANENT}
    for a in lst:
        assert lst[a]["Reason"] == "BOUNCE" and lst[a]["MessageId"] == mid
        assert ISO.match(lst[a]["LastUpdateTime"]), lst[a]
    assert suppressed(server, world.owner) == {}


# ---- 2. which message a report lands on ------------------------------------------------------

def test_the_verp_address_wins_over_the_returned_message_id(server, world, mx):
    """Two messages of B to the same recipient. A DSN mailed to the first's
    VERP address but quoting the second's headers is the first's bounce."""
    r = "twice@" + DEST
    m1, m2 = world.send(to=(r,)), world.send(to=(r,))
    second = delivered_copy(mx, m2)
    delivered_copy(mx, m1)
    report_ok(server.feedback_port, f"{m1}@{BOUNCE}",
              rep.dsn(second, r, status="5.1.1", diagnostic="smtp; 550 5.1.1 no such user"))
    wait_types(server, m1, r, ["Send", "Delivery", "Bounce"])
    time.sleep(SETTLE)
    assert types(server.events(m2), r) == ["Send", "Delivery"]
    assert suppressed(server, world.delegate)[r]["MessageId"] == m1


def test_an_unknown_verp_local_part_falls_back_to_the_message_id(server, world, mx):
    """The envelope recipient is at the bounce domain but names no message
    (an MTA that rewrote it, or a forwarder): the original's
    Message-ID: <MessageId@email.amazonses.com> finds it, also when only the
    headers came back."""
    r = "fwd@" + DEST
    mid = world.send(to=(r,))
    original = delivered_copy(mx, mid)
    assert header(original, "Message-ID") == [f"<{mid}@email.amazonses.com>"]
    bogus = "0100019999999999-deadbeef-0000-4000-8000-000000000000-000000"
    report_ok(server.feedback_port, f"{bogus}@{BOUNCE}",
              rep.dsn(original, r, status="5.1.1", diagnostic="smtp; 550 5.1.1 gone",
                      headers_only=True))
    ev = wait_types(server, mid, r, ["Send", "Delivery", "Bounce"])
    assert ev[-1]["Detail"]["bounceSubType"] == "NoEmail"
    assert stats_totals(world.dc)["Bounces"] == 1


def test_reports_to_the_owners_verified_mail_from_domain_are_taken(server, world, mx, net):
    """Once A's custom MAIL FROM domain is verified, B's mail leaves with
    MAIL FROM:<MessageId@mail.example.test>, and the feedback listener takes
    reports for that domain (any local part), matched like the bounce
    domain's; a domain that is not a verified MAIL FROM domain is refused."""
    mf = "mail." + OWNER_DOMAIN
    port = server.feedback_port
    assert rep.mail_report_codes(port, f"x@{mf}", b"")["rcpt"] == 550  # not verified yet
    world.oc.set_identity_mail_from_domain(Identity=OWNER_DOMAIN, MailFromDomain=mf)
    net.add(mx=[(mf, "feedback-smtp.us-east-1.amazonses.com", 10)],
            txt=[(mf, "v=spf1 include:amazonses.com ~all")])

    def status():
        a = world.oc.get_identity_mail_from_domain_attributes(Identities=[OWNER_DOMAIN])
        return a["MailFromDomainAttributes"][OWNER_DOMAIN].get("MailFromDomainStatus")
    assert wait_for(status, "Success") == "Success"
    r = "viamf@" + DEST
    mid = world.send(to=(r,))
    (c,) = arrived(mx, mid)
    assert c.mail_from == f"{mid}@{mf}"
    report_ok(port, f"{mid}@{mf}", rep.dsn(c.raw, r, status="5.1.1",
                                           diagnostic="smtp; 550 5.1.1 unknown user"))
    wait_types(server, mid, r, ["Send", "Delivery", "Bounce"])
    assert stats_totals(world.dc)["Bounces"] == 1
    assert stats_totals(world.oc)["Bounces"] == 0
    assert rep.mail_report_codes(port, f"postmaster@{mf}", b"")["rcpt"] == 250
    assert rep.mail_report_codes(port, f"x@other.{OWNER_DOMAIN}", b"")["rcpt"] == 550
    assert rep.mail_report_codes(port, f"x@{OWNER_DOMAIN}", b"")["rcpt"] == 550


# ---- 3. which recipient an ARF names -----------------------------------------------------------

def test_an_arf_names_its_recipient_by_rcpt_to_else_by_a_one_address_to(server, world, mx):
    """Original-Rcpt-To names one of three recipients: only that one
    complains. Without Original-Rcpt-To, a message whose To has one address
    (the others were Cc) is that address's complaint. Mailed twice, a
    report is one Complaint. The feedback type and user agent are carried."""
    x, y, z = "x@" + DEST, "y@" + DEST, "z@" + DEST
    m1 = world.send(to=(x, y, z))
    report = rep.arf(delivered_copies(mx, m1, 1)[0].raw, original_rcpt_to=y,
                     feedback_type="fraud", user_agent="Yahoo!-Mail-Feedback/2.0")
    for _ in range(2):
        report_ok(server.feedback_port, f"{m1}@{BOUNCE}", report)
    ev = wait_types(server, m1, y, ["Send", "Delivery", "Complaint"])
    d = ev[-1]["Detail"]
    assert [r["emailAddress"] for r in d["complainedRecipients"]] == [y]
    assert d["complaintFeedbackType"] == "fraud"
    assert d["userAgent"] == "Yahoo!-Mail-Feedback/2.0"
    assert d["feedbackId"] and TS.match(d["timestamp"]), d
    assert d.get("arrivalDate"), d
    time.sleep(SETTLE)
    ev = server.events(m1)
    assert types(ev, x) == types(ev, z) == ["Send", "Delivery"], ev
    assert len(of(ev, y, "Complaint")) == 1, "a report mailed twice was recorded twice"

    u, v = "u@" + DEST, "v@" + DEST
    m2 = world.dc.send_email(
        Source=f"billing@{OWNER_DOMAIN}", SourceArn=world.arn,
        Destination={"ToAddresses": [u], "CcAddresses": [v]},
        Message={"Subject": {"Data": "cc"}, "Body": {"Text": {"Data": "hi\n"}}})["MessageId"]
    copies = delivered_copies(mx, m2, 1)
    report_ok(server.feedback_port, f"{m2}@{BOUNCE}",
              rep.arf(copies[0].raw, headers_only=True))
    wait_types(server, m2, u, ["Send", "Delivery", "Complaint"])
    time.sleep(SETTLE)
    assert types(server.events(m2), v) == ["Send", "Delivery"]

    assert stats_totals(world.dc)["Complaints"] == 2
    assert stats_totals(world.oc)["Complaints"] == 0
    assert {a: e["Reason"] for a, e in suppressed(server, world.delegate).items()} == {
        y: "COMPLAINT", u: "COMPLAINT"}


# ---- 4. durable, and the complaint-rate pause ---------------------------------------------------

def test_recorded_feedback_survives_a_restart(server, world, mx):
    r = "durable@" + DEST
    mid = world.send(to=(r,))
    report_ok(server.feedback_port, f"{mid}@{BOUNCE}",
              rep.dsn(delivered_copy(mx, mid), r, status="5.1.1", diagnostic="smtp; 550 5.1.1 x"))
    wait_types(server, mid, r, ["Send", "Delivery", "Bounce"])
    server.stop()
    server.start()
    assert types(server.events(mid), r) == ["Send", "Delivery", "Bounce"]
    assert stats_totals(world.dc)["Bounces"] == 1
    assert set(suppressed(server, world.delegate)) == {r}


def test_complaints_past_the_rate_pause_the_delegate_not_the_owner(tmp_path, net, mx):
    s = start(tmp_path, net, mx, reputation_min_volume=2, pause_complaint_rate=0.4)
    try:
        w = World(s, net)
        a, b = "c1@" + DEST, "c2@" + DEST
        mid = w.send(to=(a, b))
        report_ok(s.feedback_port, f"{mid}@{BOUNCE}",
                  rep.arf(delivered_copies(mx, mid, 1)[0].raw, original_rcpt_to=a))
        wait_types(s, mid, a, ["Send", "Delivery", "Complaint"])
        show = s.cli_json("account", "show", "--account", w.delegate)
        assert show["Reputation"]["Paused"] is True, show
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            w.send()
        assert ei.value.response["Error"]["Code"] == "AccountSendingPausedException"
        assert s.cli_json("account", "show", "--account", w.owner)["Reputation"]["Paused"] is False
        w.send(frm=f"billing@{OWNER_DOMAIN}", client=w.oc)
        s.cli_json("account", "resume", "--account", w.delegate)
        w.send()
    finally:
        s.stop()


# ---- 5. the suppression list by hand ------------------------------------------------------------

def test_suppression_cli_add_list_remove_and_the_next_send(server, world, mx):
    """An address B's operator added is skipped at B's next send (accepted,
    not attempted, Bounce Permanent/OnAccountSuppressionList, no Bounces);
    A's list and A's mail are untouched; removed, it is delivered again."""
    held, other = "held@" + DEST, "other@" + DEST
    e = server.cli_json("suppression", "add", "--account", world.delegate, "--address", held,
                        "--reason", "BOUNCE")
    assert (e["EmailAddress"], e["Reason"]) == (held, "BOUNCE")
    assert ISO.match(e["LastUpdateTime"]), e
    e = server.cli_json("suppression", "add", "--account", world.delegate, "--address", other,
                        "--reason", "COMPLAINT")
    assert e["Reason"] == "COMPLAINT"
    lst = suppressed(server, world.delegate)
    assert {a: x["Reason"] for a, x in lst.items()} == {held: "BOUNCE", other: "COMPLAINT"}
    assert suppressed(server, world.owner) == {}

    ok = "ok@" + DEST
    mid = world.send(to=(held, other, ok))
    (c,) = arrived(mx, mid)
    assert list(c.rcpts) == [ok]
    for a in (held, other):
        ev = wait_types(server, mid, a, ["Send", "Bounce"])
        d = ev[-1]["Detail"]
        assert (d["bounceType"], d["bounceSubType"]) == ("Permanent", "OnAccountSuppressionList")
        assert [r["emailAddress"] for r in d["bouncedRecipients"]] == [a]
    wait_types(server, mid, ok, ["Send", "Delivery"])
    assert stats_totals(world.dc)["Bounces"] == 0
    assert mx.answers(held) == [] and mx.answers(other) == []
    own = world.send(to=(held,), frm=f"billing@{OWNER_DOMAIN}", client=world.oc)
    assert list(arrived(mx, own)[0].rcpts) == [held]

    assert server.cli_json("suppression", "remove", "--account", world.delegate,
                           "--address", held) == {"Removed": True}
    assert server.cli_json("suppression", "remove", "--account", world.delegate,
                           "--address", held) == {"Removed": False}
    assert set(suppressed(server, world.delegate)) == {other}
    again = world.send(to=(held,))
    assert list(arrived(mx, again)[0].rcpts) == [held]
    wait_types(server, again, held, ["Send", "Delivery"])

    p = server.cli("suppression", "add", "--account", world.delegate, "--address", held,
                   "--reason", "SPAM", check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert set(suppressed(server, world.delegate)) == {other}


# ---- 6. the simulator for a sandboxed delegate, and next to a real recipient -------------------

def test_a_sandboxed_delegate_reaches_the_simulator_without_verifying_it(tmp_path, net, mx):
    s = start(tmp_path, net, mx, transport="capture")
    try:
        w = World(s, net, delegate_flags=("--sandbox",))
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            w.send(to=("stranger@" + DEST,))
        assert ei.value.response["Error"]["Code"] == "MessageRejected"
        want = {"success": ["Send", "Delivery"], "bounce": ["Send", "Bounce"],
                "complaint": ["Send", "Delivery", "Complaint"],
                "suppressionlist": ["Send", "Bounce"], "ooto": ["Send", "Delivery"]}
        # one message (a sandbox sends one message a second)
        mid = w.send(to=tuple(f"{who}@{SIM}" for who in want))
        for who, t in want.items():
            ev = wait_types(s, mid, f"{who}@{SIM}", t)
            if who == "suppressionlist":
                assert ev[-1]["Detail"]["bounceSubType"] == "Suppressed"
        t = stats_totals(w.dc)  # (Rejects: whether the refusal above counts is not pinned)
        assert (t["DeliveryAttempts"], t["Bounces"], t["Complaints"]) == (5, 0, 0), t
        assert suppressed(s, w.delegate) == {}
    finally:
        s.stop()


def test_simulator_recipients_next_to_a_real_one_in_mx_mode(server, world, mx):
    """One message to bounce@, complaint@ and a real recipient: only the
    real one reaches the MX; each simulator address gets its events; nothing
    moves B's Bounces, Complaints, reputation or suppression list, while a
    real 550 in the same message still does."""
    real, gone = "real@" + DEST, "gone@" + DEST
    mx.rule(gone, mxmod.reject())
    b, c = f"bounce@{SIM}", f"complaint@{SIM}"
    mid = world.send(to=(b, c, real, gone))
    (copy,) = arrived(mx, mid)
    assert list(copy.rcpts) == [real]
    ev = wait_types(server, mid, b, ["Send", "Bounce"])
    d = ev[-1]["Detail"]
    assert (d["bounceType"], d["bounceSubType"]) == ("Permanent", "General")
    assert "550 5.1.1" in d["bouncedRecipients"][0]["diagnosticCode"]
    ev = wait_types(server, mid, c, ["Send", "Delivery", "Complaint"])
    assert ev[-1]["Detail"]["complaintFeedbackType"] == "abuse"
    wait_types(server, mid, real, ["Send", "Delivery"])
    wait_types(server, mid, gone, ["Send", "Bounce"])
    assert stats_totals(world.dc) == {"DeliveryAttempts": 4, "Bounces": 1, "Complaints": 0,
                                      "Rejects": 0}
    assert set(suppressed(server, world.delegate)) == {gone}
    assert not [m for m in mx.messages() if any(SIM in r for r in m.rcpts)]


# ---- 7. the listener's dialogue ------------------------------------------------------------------

def test_the_feedback_listener_dialogue(server, world, mx):
    """MAIL FROM:<> is taken; any local part at the bounce domain is; a
    foreign domain, the owner's identity domain and a subdomain of the bounce
    domain are 550; several reports ride one connection (RSET between); a
    report that matched nothing and one that did are both 250; the HTTP
    side is alive after it."""
    r = "dlg@" + DEST
    mid = world.send(to=(r,))
    original = delivered_copy(mx, mid)
    port = server.feedback_port
    for rcpt, want in [("anything@" + BOUNCE, 250), ("POSTMASTER@" + BOUNCE.upper(), 250),
                       ("x@" + DEST, 550), ("x@" + OWNER_DOMAIN, 550),
                       ("x@sub." + BOUNCE, 550), ("x@example.org", 550)]:
        assert rep.mail_report_codes(port, rcpt, b"")["rcpt"] == want, rcpt
    good = rep.dsn(original, r, status="5.1.1", diagnostic="smtp; 550 5.1.1 nope")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        code, _ = c.ehlo("mx.dest.test")
        assert code == 250
        assert "auth" not in c.esmtp_features
        assert c.mail("")[0] == 250
        assert c.rcpt("x@" + DEST)[0] == 550
        assert c.rcpt(f"{mid}@{BOUNCE}")[0] == 250
        assert c.data(b"Subject: not a report\r\n\r\nhello\r\n")[0] == 250
        assert c.rset()[0] == 250
        assert c.mail("")[0] == 250
        assert c.rcpt(f"{mid}@{BOUNCE}")[0] == 250
        assert c.data(good)[0] == 250
        assert c.noop()[0] == 250
    wait_types(server, mid, r, ["Send", "Delivery", "Bounce"])
    assert stats_totals(world.dc)["Bounces"] == 1
    st, _ = server.get("/_sesame/health")
    assert st == 200


# ---- 8. what a report cannot do, and what it still finds -----------------------------------------

def test_a_report_binds_only_the_messages_own_recipients_and_each_bounce_once(server, world, mx):
    """A DSN to B's VERP address naming an address that was never a
    recipient of that message changes nothing (it cannot put strangers on
    B's list); a DSN for a recipient the MX already refused synchronously is
    not a second bounce; a Final-Recipient whose domain is written in
    capitals still finds its recipient; an ARF mailed with a non-null
    envelope sender (as many feedback loops do) is taken."""
    gone, kept, stranger = "gone@" + DEST, "kept@" + DEST, "stranger@" + DEST
    mx.rule(gone, mxmod.reject())
    mid = world.send(to=(gone, kept))
    original = delivered_copy(mx, mid)
    wait_types(server, mid, gone, ["Send", "Bounce"], timeout=30)
    port, verp = server.feedback_port, f"{mid}@{BOUNCE}"

    report_ok(port, verp, rep.dsn(original, stranger, status="5.1.1",
                                  diagnostic="smtp; 550 5.1.1 unknown"))
    report_ok(port, verp, rep.dsn(original, gone, status="5.1.1",
                                  diagnostic="smtp; 550 5.1.1 unknown (again, by DSN)"))
    time.sleep(SETTLE)
    ev = server.events(mid)
    assert not [e for e in ev if e["Recipient"] == stranger], ev
    assert len(of(ev, gone, "Bounce")) == 1, ev
    assert stats_totals(world.dc)["Bounces"] == 1
    assert set(suppressed(server, world.delegate)) == {gone}

    report_ok(port, verp, rep.dsn(original, "kept@" + DEST.upper(), status="5.1.1",
                                  diagnostic="smtp; 550 5.1.1 unknown"))
    wait_types(server, mid, kept, ["Send", "Delivery", "Bounce"])
    code, text = rep.mail_report(port, verp, rep.arf(original, original_rcpt_to=kept),
                                 sender="fbl@isp.example")
    assert code == 250, (code, text)
    wait_types(server, mid, kept, ["Send", "Delivery", "Bounce", "Complaint"])
    assert stats_totals(world.dc) == {"DeliveryAttempts": 2, "Bounces": 2, "Complaints": 1,
                                      "Rejects": 0}
    assert stats_totals(world.oc) == zeros()


def test_feedback_on_smtp_mail_and_on_the_owners_own_mail_lands_on_each_sender(
        server, world, mx):
    """B's message sent over SMTP and answered by a DSN is B's bounce; A's
    own message (A is the sender) answered by an ARF is A's complaint and on
    A's list, not B's."""
    import ssl
    from test_delivery import REGION, raw_message
    bs, ac = "bsmtp@" + DEST, "aown@" + DEST
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as c:
        c.starttls(context=ctx)
        c.login(world.dkey["SmtpUsername"], world.dkey["SmtpPasswords"][REGION])
        c.mail(f"billing@{OWNER_DOMAIN}")
        c.rcpt(bs)
        code, text = c.data(raw_message(bs, extra=[f"X-SES-SOURCE-ARN: {world.arn}"]))
    assert code == 250, text
    bmid = re.search(rb"(0100[0-9a-f-]+-000000)", text).group(1).decode()
    report_ok(server.feedback_port, f"{bmid}@{BOUNCE}",
              rep.dsn(delivered_copy(mx, bmid), bs, status="5.1.1",
                      diagnostic="smtp; 550 5.1.1 user unknown"))
    wait_types(server, bmid, bs, ["Send", "Delivery", "Bounce"])

    amid = world.send(to=(ac,), frm=f"billing@{OWNER_DOMAIN}", client=world.oc)
    report_ok(server.feedback_port, f"{amid}@{BOUNCE}",
              rep.arf(delivered_copy(mx, amid), original_rcpt_to=ac))
    wait_types(server, amid, ac, ["Send", "Delivery", "Complaint"])

    b, a = stats_totals(world.dc), stats_totals(world.oc)
    assert (b["DeliveryAttempts"], b["Bounces"], b["Complaints"]) == (1, 1, 0), b
    assert (a["DeliveryAttempts"], a["Bounces"], a["Complaints"]) == (1, 0, 1), a
    assert {k: v["Reason"] for k, v in suppressed(server, world.delegate).items()} == {
        bs: "BOUNCE"}
    assert {k: v["Reason"] for k, v in suppressed(server, world.owner).items()} == {
        ac: "COMPLAINT"}


def test_success_dsns_and_an_oversized_report_change_nothing_and_the_listener_goes_on(
        server, world, mx):
    """A DSN whose recipient blocks say delivered / relayed / expanded (a
    NOTIFY=SUCCESS answer) is no bounce; an unreadable Status is an
    Undetermined bounce that counts nowhere. A report over the 10 MB limit (11
    MB, under the 20 MB one test_feedback.py mails) is refused at DATA with
    552 or by closing the connection; either way the next report on a new
    connection is taken and recorded."""
    a, b, c = "ok1@" + DEST, "ok2@" + DEST, "ok3@" + DEST
    mid = world.send(to=(a, b, c))
    original = delivered_copies(mx, mid, 1)[0].raw
    port, verp = server.feedback_port, f"{mid}@{BOUNCE}"
    report_ok(port, verp, rep.dsn(original, [(a, "delivered", "2.0.0", "smtp; 250 2.0.0 Ok"),
                                             (b, "relayed", "2.0.0", ""),
                                             (c, "expanded", "2.0.0", "")]))
    # a failed block whose Status cannot be read: Undetermined, which is no
    # Permanent bounce (not counted, not suppressed)
    odd = "odd@" + DEST
    omid = world.send(to=(odd,))
    report_ok(port, f"{omid}@{BOUNCE}",
              rep.dsn(delivered_copy(mx, omid), odd, status="bogus",
                      diagnostic="smtp; something odd happened"))
    ev = wait_types(server, omid, odd, ["Send", "Delivery", "Bounce"])
    d = ev[-1]["Detail"]
    assert (d["bounceType"], d["bounceSubType"]) == ("Undetermined", "Undetermined"), d
    assert d["bouncedRecipients"][0]["diagnosticCode"] == "smtp; something odd happened"
    before = stats_totals(world.dc)
    assert before["Bounces"] == 0, before
    codes = rep.mail_report_codes(port, verp, rep.huge_report(11 * 1024 * 1024))
    assert codes["rcpt"] == 250 and codes["data"] in (552, None), codes
    time.sleep(SETTLE)
    ev = server.events(mid)
    for r in (a, b, c):
        assert types(ev, r) == ["Send", "Delivery"], ev
    assert stats_totals(world.dc) == before
    assert suppressed(server, world.delegate) == {}
    report_ok(port, verp, rep.dsn(original, a, status="5.1.1",
                                  diagnostic="smtp; 550 5.1.1 now gone"))
    wait_types(server, mid, a, ["Send", "Delivery", "Bounce"])
