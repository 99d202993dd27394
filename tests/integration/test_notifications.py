"""Notification settings and feedback forwarding (issue 12 items 2 and 5):
owner A and delegate B each keep their own topics for A's identity (B names
it by ARN, and only when A's policy lets B send from it); neither sees the
other's; feedback forwarding is A's alone, and the forwarded bounce or
complaint reaches the Return-Path mailbox (a real MX on aiosmtpd) as a
multipart/report."""
import email
import json

import botocore.exceptions
import pytest

import mx as mxmod
from test_delivery import (DEST, OWNER_DOMAIN, REGION, World, arrived, net, start,
                           terminal_for)

__all__ = ["net"]


@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


@pytest.fixture
def world(server, net):
    w = World(server, net)
    # the Return-Path's domain has a mailbox on the same test MX
    net.add(mx=[(OWNER_DOMAIN, "mx1.test", 10)])
    return w


def topic(account, name):
    return f"arn:aws:sns:{REGION}:{account}:{name}"


def attrs(client, identity):
    a = client.get_identity_notification_attributes(Identities=[identity])
    return a["NotificationAttributes"].get(identity)


def code_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


def test_owner_and_delegate_keep_their_own_settings(server, world):
    a, b = world.oc, world.dc
    a.set_identity_notification_topic(Identity=OWNER_DOMAIN, NotificationType="Bounce",
                                      SnsTopic=topic(world.owner, "owner-bounces"))
    b.set_identity_notification_topic(Identity=world.arn, NotificationType="Bounce",
                                      SnsTopic=topic(world.delegate, "delegate-bounces"))
    b.set_identity_notification_topic(Identity=world.arn, NotificationType="Delivery",
                                      SnsTopic=topic(world.delegate, "delegate-deliveries"))
    b.set_identity_headers_in_notifications_enabled(Identity=world.arn,
                                                    NotificationType="Delivery", Enabled=True)
    mine = attrs(a, OWNER_DOMAIN)
    assert mine["BounceTopic"] == topic(world.owner, "owner-bounces")
    assert "DeliveryTopic" not in mine and mine["ForwardingEnabled"] is True
    assert mine["HeadersInDeliveryNotificationsEnabled"] is False
    theirs = attrs(b, world.arn)
    assert theirs["BounceTopic"] == topic(world.delegate, "delegate-bounces")
    assert theirs["DeliveryTopic"] == topic(world.delegate, "delegate-deliveries")
    assert theirs["HeadersInDeliveryNotificationsEnabled"] is True
    # the owner's view by ARN is still the owner's own
    assert attrs(a, world.arn)["BounceTopic"] == topic(world.owner, "owner-bounces")
    # a topic must be the caller's own, in the request's region
    code, _ = code_of(lambda: b.set_identity_notification_topic(
        Identity=world.arn, NotificationType="Complaint",
        SnsTopic=topic(world.owner, "owner-bounces")))
    assert code == "InvalidParameterValue"
    # clearing is per setter too
    b.set_identity_notification_topic(Identity=world.arn, NotificationType="Bounce")
    assert "BounceTopic" not in attrs(b, world.arn)
    assert attrs(a, OWNER_DOMAIN)["BounceTopic"] == topic(world.owner, "owner-bounces")
    # headers need a topic of that type
    code, _ = code_of(lambda: b.set_identity_headers_in_notifications_enabled(
        Identity=world.arn, NotificationType="Bounce", Enabled=True))
    assert code == "InvalidParameterValue"


def test_an_unauthorized_account_cannot_set_topics_on_the_identity(server, world):
    stranger, key = server.principal("stranger")
    c = server.client(key)
    code, _ = code_of(lambda: c.set_identity_notification_topic(
        Identity=world.arn, NotificationType="Bounce", SnsTopic=topic(stranger, "t")))
    assert code == "AccessDenied"
    assert attrs(c, world.arn) is None


def test_feedback_forwarding_is_the_owners_alone_and_reaches_the_return_path(server, world, mx):
    code, message = code_of(lambda: world.dc.set_identity_feedback_forwarding_enabled(
        Identity=world.arn, ForwardingEnabled=False))
    assert code == "InvalidParameterValue" and world.owner in message
    # forwarding on (the default) and no topic: the bounce is mailed to the Return-Path
    gone = "gone@" + DEST
    mx.rule(gone, mxmod.reject())
    mid = world.send(to=(gone,))
    server.wait_events(mid, terminal_for([gone]), timeout=30)
    copies = mx.wait(lambda m: [c for c in m.messages()
                                if f"billing@{OWNER_DOMAIN}" in c.rcpts] or None, timeout=30)
    assert copies, "the bounce was not forwarded to the Return-Path"
    (fwd,) = copies
    assert fwd.mail_from in ("", "<>")  # the null sender: no bounce loops back
    report = email.message_from_bytes(fwd.raw)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    status = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    assert status and gone in status[0].as_string()
    headers = [p for p in report.walk() if p.get_content_type() == "text/rfc822-headers"]
    assert headers and mid in headers[0].get_payload()

    # the owner cannot turn it off before both feedback topics are set
    code, _ = code_of(lambda: world.oc.set_identity_feedback_forwarding_enabled(
        Identity=OWNER_DOMAIN, ForwardingEnabled=False))
    assert code == "InvalidParameterValue"
    for t in ("Bounce", "Complaint"):
        world.oc.set_identity_notification_topic(Identity=OWNER_DOMAIN, NotificationType=t,
                                                 SnsTopic=topic(world.owner, "feedback"))
    world.oc.set_identity_feedback_forwarding_enabled(Identity=OWNER_DOMAIN,
                                                      ForwardingEnabled=False)
    assert attrs(world.oc, OWNER_DOMAIN)["ForwardingEnabled"] is False
    before = len(mx.messages())
    mid = world.send(to=(gone,))
    server.wait_events(mid, terminal_for([gone]), timeout=30)
    import time
    time.sleep(2.0)
    assert [c for c in mx.messages()[before:] if f"billing@{OWNER_DOMAIN}" in c.rcpts] == []
    # removing a feedback topic turns forwarding back on
    world.oc.set_identity_notification_topic(Identity=OWNER_DOMAIN, NotificationType="Bounce")
    assert attrs(world.oc, OWNER_DOMAIN)["ForwardingEnabled"] is True


# ---- delivered through sesame's own SNS topics -------------------------------------

def sns_client(server, key):
    import boto3
    return boto3.client("sns", region_name=REGION, endpoint_url=server.endpoint,
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])


def by_kind(notes):
    """{(notificationType, recipient): count} of SES notifications."""
    out = {}
    for _, n in notes:
        kind = n["notificationType"]
        obj = n[kind[0].lower() + kind[1:]]
        rcpts = (obj.get("recipients") or [r["emailAddress"] for r in
                 obj.get("bouncedRecipients", []) + obj.get("complainedRecipients", [])])
        for r in rcpts:
            out[(kind, r)] = out.get((kind, r), 0) + 1
    return out


def test_owner_and_delegate_endpoints_each_get_their_notifications_once(server, world, mx):
    import report_mail as rep
    from sns_endpoint import Endpoint, subscribe
    from test_delivery import BOUNCE
    ep_a, ep_b = Endpoint("owner"), Endpoint("delegate")
    try:
        sa, sb = sns_client(server, world.okey), sns_client(server, world.dkey)
        ta = sa.create_topic(Name="a-feedback")["TopicArn"]
        tb = sb.create_topic(Name="b-feedback")["TopicArn"]
        subscribe(sa, ta, ep_a)
        subscribe(sb, tb, ep_b)
        for t in ("Bounce", "Complaint", "Delivery"):
            world.oc.set_identity_notification_topic(Identity=OWNER_DOMAIN, NotificationType=t,
                                                     SnsTopic=ta)
            world.dc.set_identity_notification_topic(Identity=world.arn, NotificationType=t,
                                                     SnsTopic=tb)
        ok, gone, annoyed = "ok@" + DEST, "gone@" + DEST, "annoyed@" + DEST
        mx.rule(gone, mxmod.reject())
        mid = world.send(to=(ok, gone, annoyed))
        server.wait_events(mid, terminal_for([ok, gone, annoyed]), timeout=30)
        (copy,) = [c for c in arrived(mx, mid)]
        arf = rep.arf(copy.raw, original_rcpt_to=annoyed)
        assert rep.mail_report(server.feedback_port, f"{mid}@{BOUNCE}", arf)[0] == 250
        want = {("Delivery", ok): 1, ("Delivery", annoyed): 1, ("Bounce", gone): 1,
                ("Complaint", annoyed): 1}
        for ep in (ep_a, ep_b):
            got = ep.wait(lambda e: by_kind(e.notifications()) == want or None, timeout=30)
            assert got, (ep.name, by_kind(ep.notifications()))
            for env, n in ep.notifications():
                assert n["mail"]["messageId"] == mid
                assert n["mail"]["sendingAccountId"] == world.delegate
                assert n["mail"]["sourceArn"] == world.arn
                assert env["TopicArn"] == (ta if ep is ep_a else tb)
        # the owner's own mail notifies only the owner's endpoint
        own = world.send(to=("own@" + DEST,), frm=f"billing@{OWNER_DOMAIN}", client=world.oc)
        assert ep_a.wait(lambda e: [n for _, n in e.notifications()
                                    if n["mail"]["messageId"] == own] or None, timeout=30)
        import time
        time.sleep(1.5)
        assert not [n for _, n in ep_b.notifications() if n["mail"]["messageId"] == own]
        assert by_kind([x for x in ep_b.notifications()]) == want  # nothing twice
    finally:
        ep_a.stop()
        ep_b.stop()


def test_notifications_wait_out_a_down_subscriber_and_a_restart(server, world, mx):
    """The subscriber answers 500 while the delegate's mail is delivered and
    the server restarts; afterwards every Delivery notification arrives,
    none twice."""
    from sns_endpoint import Endpoint, subscribe
    ep = Endpoint("owner")
    try:
        sa = sns_client(server, world.okey)
        ta = sa.create_topic(Name="deliveries")["TopicArn"]
        subscribe(sa, ta, ep)
        world.oc.set_identity_notification_topic(Identity=OWNER_DOMAIN,
                                                 NotificationType="Delivery", SnsTopic=ta)
        ep.down = True
        rcpts = [f"r{i}@{DEST}" for i in range(3)]
        mid = world.send(to=rcpts)
        server.wait_events(mid, terminal_for(rcpts), timeout=30)
        import time
        time.sleep(2)
        assert ep.notifications() == []
        server.stop()
        server.start()
        ep.down = False
        want = {("Delivery", r): 1 for r in rcpts}
        assert ep.wait(lambda e: by_kind(e.notifications()) == want or None, timeout=40), \
            by_kind(ep.notifications())
        time.sleep(1.5)
        assert by_kind(ep.notifications()) == want
    finally:
        ep.stop()
