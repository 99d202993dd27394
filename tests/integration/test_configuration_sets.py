"""Configuration sets and event publishing (issue 12 item 3), with real
clients (boto3, aws-cli, smtplib): the v1 actions and their errors exactly
as botocore's model names them; a send naming a set picks the SENDING
account's own set (a delegate naming the owner's is
ConfigurationSetDoesNotExist); a paused set refuses sends; the set's SNS
destination (a topic hosted in sesame, delivered to a stdlib http.server
that checks every SNS signature) gets SES's event publishing JSON — Send,
Delivery, Bounce, RenderingFailure — each once, with mail.tags holding the
sender's tags and SES's auto-tags; X-SES-CONFIGURATION-SET and
X-SES-MESSAGE-TAGS work on SMTP and SendRawEmail and are stripped before
delivery."""
import base64
import json
import smtplib
import ssl
import time

import botocore.exceptions
import botocore.session
import pytest

from conftest import REGIONS, raw_of
from test_delivery import DEST, OWNER_DOMAIN, REGION, World, arrived, net, start, terminal_for

__all__ = ["net"]

SIM_BOUNCE = "bounce@simulator.amazonses.com"
SIM_COMPLAINT = "complaint@simulator.amazonses.com"
MODEL = botocore.session.get_session().get_service_model("ses")


def err(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    e = ei.value.response["Error"]
    return e["Code"], e["Message"]


def out_members(op):
    return set(MODEL.operation_model(op).output_shape.members)


def sns_of(server, key):
    return server.client(key, service="sns")


def raw_mail(frm, to, headers=(), subject="raw"):
    h = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n{h}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n").encode()


# ---- the API: shapes and every error ----------------------------------------------

def test_actions_shapes_and_errors(sesame):
    acct, key = sesame.principal("a")
    other, okey = sesame.principal("other")
    ses, sns = sesame.client(key), sns_of(sesame, key)
    topic = sns.create_topic(Name="events")["TopicArn"]
    foreign = sns_of(sesame, okey).create_topic(Name="theirs")["TopicArn"]

    assert ses.list_configuration_sets()["ConfigurationSets"] == []
    ses.create_configuration_set(ConfigurationSet={"Name": "set-1"})
    assert err(lambda: ses.create_configuration_set(ConfigurationSet={"Name": "set-1"}))[0] \
        == "ConfigurationSetAlreadyExists"
    for bad in ("has space", "x" * 65, "dot.ted", ""):
        assert err(lambda: ses.create_configuration_set(ConfigurationSet={"Name": bad}))[0] \
            in ("InvalidConfigurationSet", "MissingParameter"), bad
    ses.create_configuration_set(ConfigurationSet={"Name": "x" * 64})
    ses.create_configuration_set(ConfigurationSet={"Name": "a_set"})
    # another account's and another region's sets are not ours
    sesame.client(okey).create_configuration_set(ConfigurationSet={"Name": "set-1"})
    r = ses.list_configuration_sets()
    assert set(r) - {"ResponseMetadata"} <= out_members("ListConfigurationSets")
    assert [c["Name"] for c in r["ConfigurationSets"]] == ["a_set", "set-1", "x" * 64]
    other_region = REGIONS.split(",")[1]
    assert sesame.client(key, region=other_region).list_configuration_sets()[
        "ConfigurationSets"] == []
    page = ses.list_configuration_sets(MaxItems=2)
    assert [c["Name"] for c in page["ConfigurationSets"]] == ["a_set", "set-1"]
    rest = ses.list_configuration_sets(MaxItems=2, NextToken=page["NextToken"])
    assert [c["Name"] for c in rest["ConfigurationSets"]] == ["x" * 64]
    assert "NextToken" not in rest

    # Describe
    assert err(lambda: ses.describe_configuration_set(ConfigurationSetName="nope"))[0] \
        == "ConfigurationSetDoesNotExist"
    d = ses.describe_configuration_set(ConfigurationSetName="set-1")
    assert set(d) - {"ResponseMetadata"} == {"ConfigurationSet"}
    assert d["ConfigurationSet"] == {"Name": "set-1"}
    d = ses.describe_configuration_set(ConfigurationSetName="set-1",
                                       ConfigurationSetAttributeNames=["eventDestinations",
                                                                       "reputationOptions"])
    assert set(d) - {"ResponseMetadata"} <= out_members("DescribeConfigurationSet")
    assert d["EventDestinations"] == []
    assert d["ReputationOptions"]["SendingEnabled"] is True
    assert d["ReputationOptions"]["ReputationMetricsEnabled"] is False

    # event destinations
    dest = {"Name": "to-sns", "Enabled": True, "MatchingEventTypes": ["send", "bounce"],
            "SNSDestination": {"TopicARN": topic}}
    assert err(lambda: ses.create_configuration_set_event_destination(
        ConfigurationSetName="nope", EventDestination=dest))[0] == "ConfigurationSetDoesNotExist"
    for t in (foreign, topic + "-missing", f"arn:aws:sns:eu-west-1:{acct}:events", "junk"):
        bad = dict(dest, SNSDestination={"TopicARN": t})
        assert err(lambda: ses.create_configuration_set_event_destination(
            ConfigurationSetName="set-1", EventDestination=bad))[0] == "InvalidSNSDestination", t
    bad = dict(dest, MatchingEventTypes=["send", "opened"])
    assert err(lambda: ses.create_configuration_set_event_destination(
        ConfigurationSetName="set-1", EventDestination=bad))[0] == "InvalidParameterValue"
    bad = dict(dest, Name="bad name")
    assert err(lambda: ses.create_configuration_set_event_destination(
        ConfigurationSetName="set-1", EventDestination=bad))[0] == "InvalidParameterValue"
    ses.create_configuration_set_event_destination(ConfigurationSetName="set-1",
                                                   EventDestination=dest)
    assert err(lambda: ses.create_configuration_set_event_destination(
        ConfigurationSetName="set-1", EventDestination=dest))[0] == "EventDestinationAlreadyExists"
    d = ses.describe_configuration_set(ConfigurationSetName="set-1",
                                       ConfigurationSetAttributeNames=["eventDestinations"])
    assert d["EventDestinations"] == [dest]
    assert set(d["EventDestinations"][0]) <= set(MODEL.shape_for("EventDestination").members)
    assert set(MODEL.shape_for("ConfigurationSet").members) == {"Name"}
    upd = dict(dest, Enabled=False, MatchingEventTypes=["delivery", "renderingFailure",
                                                        "deliveryDelay", "open", "click"])
    ses.update_configuration_set_event_destination(ConfigurationSetName="set-1",
                                                   EventDestination=upd)
    d = ses.describe_configuration_set(ConfigurationSetName="set-1",
                                       ConfigurationSetAttributeNames=["eventDestinations"])
    (got,) = d["EventDestinations"]
    assert got["Enabled"] is False and set(got["MatchingEventTypes"]) == set(
        upd["MatchingEventTypes"])
    missing = dict(dest, Name="absent")
    assert err(lambda: ses.update_configuration_set_event_destination(
        ConfigurationSetName="set-1", EventDestination=missing))[0] \
        == "EventDestinationDoesNotExist"
    assert err(lambda: ses.update_configuration_set_event_destination(
        ConfigurationSetName="nope", EventDestination=dest))[0] == "ConfigurationSetDoesNotExist"
    assert err(lambda: ses.delete_configuration_set_event_destination(
        ConfigurationSetName="set-1", EventDestinationName="absent"))[0] \
        == "EventDestinationDoesNotExist"
    assert err(lambda: ses.delete_configuration_set_event_destination(
        ConfigurationSetName="nope", EventDestinationName="to-sns"))[0] \
        == "ConfigurationSetDoesNotExist"
    ses.delete_configuration_set_event_destination(ConfigurationSetName="set-1",
                                                   EventDestinationName="to-sns")
    assert ses.describe_configuration_set(
        ConfigurationSetName="set-1",
        ConfigurationSetAttributeNames=["eventDestinations"])["EventDestinations"] == []

    # the switches
    for call in (ses.update_configuration_set_sending_enabled,
                 ses.update_configuration_set_reputation_metrics_enabled):
        assert err(lambda: call(ConfigurationSetName="nope", Enabled=True))[0] \
            == "ConfigurationSetDoesNotExist"
    ses.update_configuration_set_reputation_metrics_enabled(ConfigurationSetName="set-1",
                                                            Enabled=True)
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="set-1", Enabled=False)
    rep = ses.describe_configuration_set(
        ConfigurationSetName="set-1",
        ConfigurationSetAttributeNames=["reputationOptions"])["ReputationOptions"]
    assert rep["SendingEnabled"] is False and rep["ReputationMetricsEnabled"] is True
    assert set(rep) <= set(MODEL.shape_for("ReputationOptions").members)

    # sends: a paused set refuses, an unknown one does not exist
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "a.test")
    msg = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}
    send = dict(Source="me@a.test", Destination={"ToAddresses": ["to@dest.test"]}, Message=msg)
    code, text = err(lambda: ses.send_email(ConfigurationSetName="set-1", **send))
    assert code == "ConfigurationSetSendingPausedException" and "set-1" in text
    code, text = err(lambda: ses.send_email(ConfigurationSetName="nope", **send))
    assert code == "ConfigurationSetDoesNotExist" and "nope" in text
    raw = raw_mail("me@a.test", "to@dest.test", [("X-SES-CONFIGURATION-SET", "set-1")])
    assert err(lambda: ses.send_raw_email(RawMessage={"Data": raw}))[0] \
        == "ConfigurationSetSendingPausedException"
    ses.create_template(Template={"TemplateName": "t", "SubjectPart": "s", "TextPart": "b"})
    bulk = dict(Source="me@a.test", Template="t", DefaultTemplateData="{}",
                Destinations=[{"Destination": {"ToAddresses": ["to@dest.test"]}}])
    assert err(lambda: ses.send_bulk_templated_email(ConfigurationSetName="set-1", **bulk))[0] \
        == "ConfigurationSetSendingPausedException"
    assert err(lambda: ses.send_bulk_templated_email(ConfigurationSetName="nope", **bulk))[0] \
        == "ConfigurationSetDoesNotExist"
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="set-1", Enabled=True)
    st = ses.send_bulk_templated_email(ConfigurationSetName="set-1",
                                       DefaultTags=[{"Name": "d", "Value": "1"}], **bulk)
    assert [x["Status"] for x in st["Status"]] == ["Success"]
    ses.send_email(ConfigurationSetName="set-1", Tags=[{"Name": "campaign", "Value": "c-1"}],
                   **send)
    # tags: SES's character rules, on the parameter and on the header
    for tag in ({"Name": "ses:x", "Value": "v"}, {"Name": "n", "Value": "a b"},
                {"Name": "", "Value": "v"}, {"Name": "n" * 257, "Value": "v"}):
        assert err(lambda: ses.send_email(ConfigurationSetName="set-1", Tags=[tag], **send))[0] \
            in ("InvalidParameterValue", "MissingParameter"), tag
    raw = raw_mail("me@a.test", "to@dest.test", [("X-SES-MESSAGE-TAGS", "a=1, b")])
    assert err(lambda: ses.send_raw_email(RawMessage={"Data": raw}))[0] == "InvalidParameterValue"
    # the control headers are stripped from what is delivered
    raw = raw_mail("me@a.test", "to@dest.test", [("X-SES-CONFIGURATION-SET", "set-1"),
                                                ("X-SES-MESSAGE-TAGS", "a=1, b=2")])
    mid = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    body = raw_of(sesame, mid)
    assert "X-SES-CONFIGURATION-SET" not in body.upper() and "X-SES-MESSAGE-TAGS" not in \
        body.upper() and "Subject: raw" in body

    # SMTP: the same checks, in SMTP's words
    for hdr, words in ((("X-SES-CONFIGURATION-SET", "nope"),
                        b"Configuration set <nope> does not exist"),
                       (("X-SES-MESSAGE-TAGS", "a=1, b c=2"), b"Invalid tag name")):
        raw = raw_mail("me@a.test", "to@dest.test", [hdr])
        with pytest.raises(smtplib.SMTPDataError) as ei:
            smtp_send(sesame, key, "me@a.test", "to@dest.test", raw)
        assert ei.value.smtp_code == 554 and words in ei.value.smtp_error, ei.value.smtp_error
    smtp_send(sesame, key, "me@a.test", "to@dest.test",
              raw_mail("me@a.test", "to@dest.test", [("X-SES-CONFIGURATION-SET", "set-1")]))

    # aws-cli sees the same
    p = sesame.aws(key, "describe-configuration-set", "--configuration-set-name", "set-1",
                   "--configuration-set-attribute-names", "reputationOptions")
    assert json.loads(p.stdout)["ReputationOptions"]["SendingEnabled"] is True
    p = sesame.aws(key, "delete-configuration-set", "--configuration-set-name", "nope",
                   check=False)
    assert p.returncode != 0 and "ConfigurationSetDoesNotExist" in p.stderr

    ses.delete_configuration_set(ConfigurationSetName="set-1")
    assert err(lambda: ses.delete_configuration_set(ConfigurationSetName="set-1"))[0] \
        == "ConfigurationSetDoesNotExist"
    assert [c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"]] \
        == ["a_set", "x" * 64]
    # the other account's set of the same name is still there
    assert sesame.client(okey).describe_configuration_set(
        ConfigurationSetName="set-1")["ConfigurationSet"]["Name"] == "set-1"


# ---- event publishing through sesame's SNS -------------------------------------------

@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


@pytest.fixture
def world(server, net):
    w = World(server, net)
    # the delegate may also send templated mail from the owner's identity
    w.oc.put_identity_policy(Identity=OWNER_DOMAIN, PolicyName="delegate", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "Delegate", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{w.delegate}:root"},
            "Action": ["ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail",
                       "ses:SendBulkTemplatedEmail"],
            "Resource": w.arn}]}))
    return w


def events_of(ep, mid):
    return [n for _, n in ep.notifications() if n["mail"]["messageId"] == mid]


def kinds(evs):
    return sorted(e["eventType"] for e in evs)


def smtp_send(server, key, frm, to, raw):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        s.login(key["SmtpUsername"], key["SmtpPasswords"][REGION])
        return s.sendmail(frm, [to], raw)


def test_delegate_set_gets_its_events_once(server, world, mx):
    from sns_endpoint import Endpoint, subscribe
    ep, ep_a = Endpoint("delegate-events"), Endpoint("owner-events")
    try:
        sb, sa = sns_of(server, world.dkey), sns_of(server, world.okey)
        tb = sb.create_topic(Name="b-events")["TopicArn"]
        ta = sa.create_topic(Name="a-events")["TopicArn"]
        subscribe(sb, tb, ep)
        subscribe(sa, ta, ep_a)
        b, a = world.dc, world.oc
        b.create_configuration_set(ConfigurationSet={"Name": "b-set"})
        b.create_configuration_set_event_destination(
            ConfigurationSetName="b-set",
            EventDestination={"Name": "sns", "Enabled": True,
                              "MatchingEventTypes": ["send", "reject", "bounce", "complaint",
                                                     "delivery", "renderingFailure",
                                                     "deliveryDelay"],
                              "SNSDestination": {"TopicARN": tb}})
        a.create_configuration_set(ConfigurationSet={"Name": "a-set"})
        a.create_configuration_set_event_destination(
            ConfigurationSetName="a-set",
            EventDestination={"Name": "sns", "Enabled": True,
                              "MatchingEventTypes": ["send", "delivery", "bounce"],
                              "SNSDestination": {"TopicARN": ta}})
        msg = {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "body\n"}}}
        frm = f"billing@{OWNER_DOMAIN}"
        ok = "ok@" + DEST

        # the owner's set is not the delegate's: it does not exist for B
        code, text = err(lambda: b.send_email(
            Source=frm, SourceArn=world.arn, Destination={"ToAddresses": [ok]}, Message=msg,
            ConfigurationSetName="a-set"))
        assert code == "ConfigurationSetDoesNotExist" and "a-set" in text

        mid = b.send_email(Source=frm, SourceArn=world.arn,
                           Destination={"ToAddresses": [ok, SIM_BOUNCE, SIM_COMPLAINT]},
                           Message=msg,
                           ConfigurationSetName="b-set",
                           Tags=[{"Name": "campaign", "Value": "spring"},
                                 {"Name": "team", "Value": "b_team"}])["MessageId"]
        server.wait_events(mid, terminal_for([ok, SIM_BOUNCE, SIM_COMPLAINT]), timeout=30)
        want = ["Bounce", "Complaint", "Delivery", "Delivery", "Send"]
        got = ep.wait(lambda e: kinds(events_of(e, mid)) == want or None, timeout=30)
        assert got, kinds(events_of(ep, mid))
        evs = {(e["eventType"], json.dumps(e.get("delivery", {}).get("recipients"))): e
               for e in events_of(ep, mid)}
        evs = {k[0] if k[0] != "Delivery" else ("Delivery", json.loads(k[1])[0]): v
               for k, v in evs.items()}
        for e in evs.values():
            assert "notificationType" not in e
            m = e["mail"]
            assert m["sendingAccountId"] == world.delegate and m["sourceArn"] == world.arn
            assert m["destination"] == [ok, SIM_BOUNCE, SIM_COMPLAINT]
            assert m["commonHeaders"]["subject"] == "hi"
            t = m["tags"]
            assert t["campaign"] == ["spring"] and t["team"] == ["b_team"]
            assert t["ses:configuration-set"] == ["b-set"]
            assert t["ses:from-domain"] == [OWNER_DOMAIN]
            assert t["ses:caller-identity"] == ["root"]
            assert t["ses:source-ip"] == ["127.0.0.1"]
        assert evs["Send"]["send"] == {}
        assert evs[("Delivery", ok)]["delivery"]["recipients"] == [ok]
        assert evs[("Delivery", SIM_COMPLAINT)]["delivery"]["recipients"] == [SIM_COMPLAINT]
        c_obj = evs["Complaint"]["complaint"]
        assert [r["emailAddress"] for r in c_obj["complainedRecipients"]] == [SIM_COMPLAINT]
        b_obj = evs["Bounce"]["bounce"]
        assert b_obj["bounceType"] == "Permanent"
        assert [r["emailAddress"] for r in b_obj["bouncedRecipients"]] == [SIM_BOUNCE]

        # RenderingFailure of B's own template
        b.create_template(Template={"TemplateName": "t", "SubjectPart": "Hi {{name}}",
                                    "TextPart": "Dear {{name}}"})
        rf = b.send_templated_email(Source=frm, SourceArn=world.arn,
                                    Destination={"ToAddresses": [ok]}, Template="t",
                                    TemplateData="{}", ConfigurationSetName="b-set",
                                    Tags=[{"Name": "kind", "Value": "tpl"}])["MessageId"]
        got = ep.wait(lambda e: kinds(events_of(e, rf)) == ["RenderingFailure"] or None,
                      timeout=30)
        assert got, kinds(events_of(ep, rf))
        (f,) = events_of(ep, rf)
        assert f["failure"]["templateName"] == "t" and f["failure"]["errorMessage"]
        assert f["mail"]["tags"]["kind"] == ["tpl"]

        # SendBulkTemplatedEmail: DefaultTags, a destination's ReplacementTags win by name
        st = b.send_bulk_templated_email(
            Source=frm, SourceArn=world.arn, Template="t", DefaultTemplateData='{"name": "x"}',
            ConfigurationSetName="b-set",
            DefaultTags=[{"Name": "d", "Value": "1"}, {"Name": "keep", "Value": "k"}],
            Destinations=[{"Destination": {"ToAddresses": [ok]},
                           "ReplacementTags": [{"Name": "d", "Value": "2"}]}])["Status"]
        assert [x["Status"] for x in st] == ["Success"], st
        bid = st[0]["MessageId"]
        got = ep.wait(lambda e: kinds(events_of(e, bid)) == ["Delivery", "Send"] or None,
                      timeout=30)
        assert got, kinds(events_of(ep, bid))
        tags = events_of(ep, bid)[0]["mail"]["tags"]
        assert tags["d"] == ["2"] and tags["keep"] == ["k"]
        assert tags["ses:configuration-set"] == ["b-set"]

        # SMTP: X-SES-CONFIGURATION-SET and X-SES-MESSAGE-TAGS, stripped on the way out
        raw = raw_mail(frm, ok, [("X-SES-SOURCE-ARN", world.arn),
                                 ("X-SES-CONFIGURATION-SET", "b-set"),
                                 ("X-SES-MESSAGE-TAGS", "via=smtp, n=1")], subject="by smtp")
        smtp_send(server, world.dkey, frm, ok, raw)
        got = ep.wait(lambda e: [n for _, n in e.notifications()
                                 if n["mail"]["commonHeaders"].get("subject") == "by smtp"
                                 and n["eventType"] == "Delivery"] or None, timeout=30)
        assert got
        (d,) = got
        smid = d["mail"]["messageId"]
        assert kinds(events_of(ep, smid)) == ["Delivery", "Send"]
        assert d["mail"]["tags"]["via"] == ["smtp"] and d["mail"]["tags"]["n"] == ["1"]
        (copy,) = arrived(mx, smid)
        assert b"X-SES-CONFIGURATION-SET" not in copy.raw.upper()
        assert b"X-SES-MESSAGE-TAGS" not in copy.raw.upper()
        # the owner's set named over SMTP by the delegate: 554, nothing sent
        raw = raw_mail(frm, ok, [("X-SES-SOURCE-ARN", world.arn),
                                 ("X-SES-CONFIGURATION-SET", "a-set")])
        with pytest.raises(smtplib.SMTPDataError) as ei:
            smtp_send(server, world.dkey, frm, ok, raw)
        assert ei.value.smtp_code == 554 and b"Configuration set <a-set> does not exist" \
            in ei.value.smtp_error

        # nothing twice, and the owner's set heard nothing of the delegate's mail
        time.sleep(2)
        assert kinds(events_of(ep, mid)) == want
        assert kinds(events_of(ep, rf)) == ["RenderingFailure"]
        assert ep_a.notifications() == []
    finally:
        ep.stop()
        ep_a.stop()


def test_delivery_delay_is_published(server, world, mx):
    import mx as mxmod
    from sns_endpoint import Endpoint, subscribe
    ep = Endpoint("delays")
    try:
        sb = sns_of(server, world.dkey)
        tb = sb.create_topic(Name="delays")["TopicArn"]
        subscribe(sb, tb, ep)
        world.dc.create_configuration_set(ConfigurationSet={"Name": "d"})
        world.dc.create_configuration_set_event_destination(
            ConfigurationSetName="d",
            EventDestination={"Name": "sns", "Enabled": True,
                              "MatchingEventTypes": ["deliveryDelay"],
                              "SNSDestination": {"TopicARN": tb}})
        rcpt = "full@" + DEST
        mx.rule(rcpt, mxmod.mailbox_full())
        mid = world.dc.send_email(
            Source=f"billing@{OWNER_DOMAIN}", SourceArn=world.arn,
            Destination={"ToAddresses": [rcpt]}, ConfigurationSetName="d",
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})["MessageId"]
        got = ep.wait(lambda e: events_of(e, mid) or None, timeout=30)
        assert got
        (d,) = got
        assert d["eventType"] == "DeliveryDelay"
        dd = d["deliveryDelay"]
        assert dd["delayType"] == "MailboxFull"
        assert dd["delayedRecipients"][0]["emailAddress"] == rcpt
        # only deliveryDelay matches: no Send event
        time.sleep(1.5)
        assert kinds(events_of(ep, mid)) == ["DeliveryDelay"]
    finally:
        ep.stop()
