"""The feedback loop (issue 11): bounces and complaints that come back after
a message left — DSNs and ARF reports mailed by a remote MTA to sesame's
--feedback listener, built with Python's `email` package as ISPs write them
(tests/integration/report_mail.py) — and the mailbox simulator. Owner A
verified example.test and lets delegate B send as it (test_delivery's World,
a real MX on aiosmtpd found through dnsmasq); every bounce and complaint
lands on B's statistics, reputation and suppression list, never on A's
(DESIGN.md "Feedback: who gets what")."""
import json
import smtplib
import ssl
import subprocess
import time
import urllib.request

import botocore.exceptions
import pytest

import mx as mxmod
import report_mail as rep
from test_delivery import (BOUNCE, DELIVERY_WAIT, DEST, OWNER_DOMAIN, REGION, World, arrived,
                           net, raw_message, start, stats_totals, terminal_for, types)

__all__ = ["net"]  # a fixture test_delivery defines, used here

SIM = "simulator.amazonses.com"
FOLDED = ("smtp; 550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual "
          "mailbox table (the mailbox was closed by its owner last year)")


@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


@pytest.fixture
def world(server, net):
    return World(server, net)


def suppressed(s, account):
    return {d["EmailAddress"]: d for d in
            s.cli_json("suppression", "list", "--account", account)["SuppressedDestinations"]}


def delivered_copy(mx, mid):
    (c,) = arrived(mx, mid)
    return c.raw


def wait_types(s, mid, rcpt, want, timeout=10.0):
    ev = s.wait_events(mid, lambda ev: types(ev, rcpt) == want, timeout=timeout)
    assert types(ev, rcpt) == want, ev
    return [e for e in ev if e["Recipient"] == rcpt]


def test_reported_bounces_and_complaints_count_for_the_delegate_not_the_owner(server, world, mx):
    """A synchronous 550, a later DSN (VERP, folded Diagnostic-Code, sent
    with swaks) and an ARF report on B's mail: B's Bounces and Complaints,
    B's suppression list; A sees none of it."""
    gone, later, annoyed = "gone@" + DEST, "later@" + DEST, "annoyed@" + DEST
    mx.rule(gone, mxmod.reject())
    sync = world.send(to=(gone,))
    server.wait_events(sync, terminal_for([gone]), timeout=DELIVERY_WAIT)

    mid = world.send(to=(later,))
    original = delivered_copy(mx, mid)
    report = rep.dsn(original, [(later, "failed", "5.1.1", FOLDED.format(a=later))])
    assert b"\r\n " in report.split(b"Diagnostic-Code:")[1][:200], "the diagnostic is not folded"
    path = server.data + "/dsn.eml"
    with open(path, "wb") as f:
        f.write(report)
    p = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.feedback_port}",
                        "--from", "", "--to", f"{mid}@{BOUNCE}", "--helo", "mx.dest.test",
                        "--data", "@" + path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and f"250 Ok {mid}" in p.stdout, p.stdout + p.stderr
    (b,) = [e for e in wait_types(server, mid, later, ["Send", "Delivery", "Bounce"])
            if e["Type"] == "Bounce"]
    d = b["Detail"]
    assert (d["bounceType"], d["bounceSubType"]) == ("Permanent", "NoEmail")
    assert d["reportingMTA"] == "dns; mx.dest.test"
    (r,) = d["bouncedRecipients"]
    assert r["emailAddress"] == later and r["status"] == "5.1.1"
    assert r["diagnosticCode"] == FOLDED.format(a=later)  # unfolded, as the MTA wrote it

    cmid = world.send(to=(annoyed,))
    report = rep.arf(delivered_copy(mx, cmid), original_rcpt_to=annoyed)
    assert rep.mail_report(server.feedback_port, f"{cmid}@{BOUNCE}", report)[0] == 250
    (c,) = [e for e in wait_types(server, cmid, annoyed, ["Send", "Delivery", "Complaint"])
            if e["Type"] == "Complaint"]
    assert c["Detail"]["complaintFeedbackType"] == "abuse"
    assert c["Detail"]["userAgent"] == "ExampleISP-FBL/2.1"
    assert [x["emailAddress"] for x in c["Detail"]["complainedRecipients"]] == [annoyed]

    assert stats_totals(world.dc) == {"DeliveryAttempts": 3, "Bounces": 2, "Complaints": 1,
                                      "Rejects": 0}
    assert stats_totals(world.oc) == {"DeliveryAttempts": 0, "Bounces": 0, "Complaints": 0,
                                      "Rejects": 0}
    lst = suppressed(server, world.delegate)
    assert {a: e["Reason"] for a, e in lst.items()} == {
        gone: "BOUNCE", later: "BOUNCE", annoyed: "COMPLAINT"}
    assert lst[later]["MessageId"] == mid and lst[annoyed]["MessageId"] == cmid
    assert suppressed(server, world.owner) == {}

    # B's next send to them is accepted, not attempted, and says why
    fresh = "fresh@" + DEST
    nxt = world.send(to=(later, annoyed, fresh))
    (copy,) = arrived(mx, nxt)
    assert list(copy.rcpts) == [fresh]
    for a in (later, annoyed):
        ev = wait_types(server, nxt, a, ["Send", "Bounce"])
        d = ev[-1]["Detail"]
        assert (d["bounceType"], d["bounceSubType"]) == ("Permanent", "OnAccountSuppressionList")
    assert stats_totals(world.dc)["Bounces"] == 2  # suppressed sends count no bounce
    # the owner's own mail to the same address is not held by B's list
    own = world.send(to=(later,), frm=f"billing@{OWNER_DOMAIN}", client=world.oc)
    assert list(arrived(mx, own)[0].rcpts) == [later]


def test_a_dsn_found_by_message_id_counted_once_and_typed_by_status(server, world, mx):
    """No VERP local part (the report went to postmaster@): the original's
    Message-ID finds the message. The same DSN mailed twice counts once; a
    delay is a DeliveryDelay; a full mailbox is Transient and suppresses
    nothing."""
    a, b, c = "a@" + DEST, "b@" + DEST, "c@" + DEST
    mid = world.send(to=(a, b, c))
    original = delivered_copy(mx, mid)
    assert f"<{mid}@email.amazonses.com>" in original.decode()
    report = rep.dsn(original, [(a, "failed", "5.1.1", "smtp; 550 5.1.1 no such user"),
                                (b, "delayed", "4.2.2", "smtp; 452 4.2.2 mailbox full"),
                                (c, "failed", "5.2.2", "smtp; 552 5.2.2 over quota")],
                     headers_only=True)
    for _ in range(2):
        code, text = rep.mail_report(server.feedback_port, "postmaster@" + BOUNCE, report)
        assert (code, text) == (250, f"Ok {mid}".encode()), (code, text)
    wait_types(server, mid, a, ["Send", "Delivery", "Bounce"])
    wait_types(server, mid, b, ["Send", "Delivery", "DeliveryDelay"])
    ev = wait_types(server, mid, c, ["Send", "Delivery", "Bounce"])
    assert (ev[-1]["Detail"]["bounceType"], ev[-1]["Detail"]["bounceSubType"]) == (
        "Transient", "MailboxFull")
    time.sleep(0.5)
    assert len(types(server.events(mid))) == 9, "a report mailed twice was recorded twice"
    assert stats_totals(world.dc)["Bounces"] == 1
    assert set(suppressed(server, world.delegate)) == {a}


def test_a_redacted_complaint_counts_for_every_recipient(server, world, mx):
    """An ARF without Original-Rcpt-To whose original's To is masked: SES
    holds every recipient of the message to it."""
    x, y = "x@" + DEST, "y@" + DEST
    mid = world.send(to=(x, y))
    report = rep.arf(delivered_copy(mx, mid), redact_to=True)
    assert b"Original-Rcpt-To" not in report
    assert rep.mail_report(server.feedback_port, f"{mid}@{BOUNCE}", report)[0] == 250
    for r in (x, y):
        wait_types(server, mid, r, ["Send", "Delivery", "Complaint"])
    assert stats_totals(world.dc)["Complaints"] == 2
    assert stats_totals(world.oc)["Complaints"] == 0
    assert {e["Reason"] for e in suppressed(server, world.delegate).values()} == {"COMPLAINT"}


def test_reported_bounces_pause_the_delegate_and_only_resume_lifts_it(tmp_path, net, mx):
    s = start(tmp_path, net, mx, reputation_min_volume=2, pause_bounce_rate=0.5)
    try:
        w = World(s, net)
        a, b = "one@" + DEST, "two@" + DEST
        mid = w.send(to=(a, b))
        report = rep.dsn(delivered_copy(mx, mid), [(a, "failed", "5.1.1", "")])
        assert rep.mail_report(s.feedback_port, f"{mid}@{BOUNCE}", report)[0] == 250
        wait_types(s, mid, a, ["Send", "Delivery", "Bounce"])
        show = s.cli_json("account", "show", "--account", w.delegate)
        assert show["Reputation"]["Paused"] is True, show
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            w.send()
        assert ei.value.response["Error"]["Code"] == "AccountSendingPausedException"
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
            c.starttls(context=ctx)
            c.login(w.dkey["SmtpUsername"], w.dkey["SmtpPasswords"][REGION])
            c.mail(f"billing@{OWNER_DOMAIN}")
            c.rcpt("ok@" + DEST)
            code, _ = c.data(raw_message("ok@" + DEST, extra=[f"X-SES-SOURCE-ARN: {w.arn}"]))
        assert code == 554
        w.send(frm=f"billing@{OWNER_DOMAIN}", client=w.oc)  # A is not paused
        w.dc.update_account_sending_enabled(Enabled=True)
        with pytest.raises(botocore.exceptions.ClientError):
            w.send()
        s.cli_json("account", "resume", "--account", w.delegate)
        w.send()
    finally:
        s.stop()


SIMULATED = {
    "success": ["Send", "Delivery"],
    "bounce": ["Send", "Bounce"],
    "ooto": ["Send", "Delivery"],
    "complaint": ["Send", "Delivery", "Complaint"],
    "suppressionlist": ["Send", "Bounce"],
}


@pytest.mark.parametrize("transport", ["capture", "mx"])
def test_each_simulator_address_gives_its_events_and_moves_nothing(tmp_path, net, mx, transport):
    s = start(tmp_path, net, mx, transport=transport)
    try:
        w = World(s, net)
        sent = {who: w.send(to=(f"{who}+t1@{SIM}",)) for who in SIMULATED}
        for who, mid in sent.items():
            ev = wait_types(s, mid, f"{who}+t1@{SIM}", SIMULATED[who])
            if who == "bounce":
                d = ev[-1]["Detail"]
                assert (d["bounceType"], d["bounceSubType"]) == ("Permanent", "General")
                assert "550 5.1.1" in d["bouncedRecipients"][0]["diagnosticCode"]
            if who == "suppressionlist":
                assert ev[-1]["Detail"]["bounceSubType"] == "Suppressed"
            if who == "complaint":
                assert ev[-1]["Detail"]["complaintFeedbackType"] == "abuse"
        time.sleep(1.0)
        assert not mx.messages(), "a simulator address left the machine"
        assert stats_totals(w.dc) == {"DeliveryAttempts": 5, "Bounces": 0, "Complaints": 0,
                                      "Rejects": 0}
        assert suppressed(s, w.delegate) == {}
        rep_ = s.cli_json("account", "show", "--account", w.delegate)["Reputation"]
        assert rep_["Paused"] is False and rep_["BounceRate"] == 0, rep_
        if transport == "capture":
            # ooto's out-of-office answer comes back to the Source, and with
            # no notification topic set the bounces and the complaint are
            # forwarded to it by email (ses-api.md §8)
            def replies():
                with urllib.request.urlopen(s.endpoint + "/_sesame/messages", timeout=10) as r:
                    return sorted(m["Subject"] for m in json.loads(r.read())["messages"]
                                  if m["Destination"] == [f"billing@{OWNER_DOMAIN}"])
            want = sorted(["Out of the office", "Complaint about your message"]
                          + ["Delivery Status Notification (Failure)"] * 2)
            deadline = time.time() + 10
            while replies() != want and time.time() < deadline:
                time.sleep(0.1)
            assert replies() == want
    finally:
        s.stop()


def test_unknown_garbage_and_huge_reports_are_answered_and_change_nothing(server, world, mx):
    mid = world.send(to=("kept@" + DEST,))
    original = delivered_copy(mx, mid)
    before = stats_totals(world.dc)
    unknown = original.replace(mid.encode(), b"0100019999999999-00000000-0000-4000-8000-000000000000-000000")
    report = rep.dsn(unknown, [("kept@" + DEST, "failed", "5.1.1", "smtp; 550 5.1.1 gone")])
    assert rep.mail_report(server.feedback_port, "postmaster@" + BOUNCE, report)[0] == 250
    assert rep.mail_report(server.feedback_port, f"{mid}@{BOUNCE}", rep.garbage_report())[0] == 250
    assert rep.mail_report(server.feedback_port, f"{mid}@{BOUNCE}",
                           b"Subject: hello\r\n\r\njust a note\r\n")[0] == 250
    try:
        code, _ = rep.mail_report(server.feedback_port, f"{mid}@{BOUNCE}", rep.huge_report())
        assert code == 552
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        pass  # closed on the oversized DATA: also an answer
    # only the bounce domain (and verified MAIL FROM domains) take reports
    assert rep.mail_report(server.feedback_port, f"{mid}@{DEST}", report)[0] == 550
    assert rep.mail_report(server.feedback_port, f"{mid}@mail.{OWNER_DOMAIN}", report)[0] == 550
    # no AUTH on this listener
    with smtplib.SMTP("127.0.0.1", server.feedback_port, timeout=10) as c:
        c.ehlo("mx.dest.test")
        assert "auth" not in c.esmtp_features
    time.sleep(0.5)
    assert types(server.events(mid)) == ["Send", "Delivery"]
    assert stats_totals(world.dc) == before
    assert suppressed(server, world.delegate) == {}
    with urllib.request.urlopen(server.endpoint + "/_sesame/health", timeout=5) as r:
        assert r.status == 200
