"""SES v2 operations over v1's machinery (issue 13), with boto3 `sesv2` and
/usr/bin/aws sesv2: configuration set event destinations (SNS topics hosted
in sesame), an identity's default configuration set and the account's
suppression reasons (BYODKIM, the owner's own DKIM key, is
test_byodkim.py's)."""
import json

import botocore.exceptions
import pytest

import conftest
import test_v2
from test_delivery import net

__all__ = ["net"]
from conftest import err_of, messages

REGION = "us-east-1"
DOMAIN = "example.com"


def cli_err(p):
    """The error code of a failed aws-cli call."""
    assert p.returncode != 0, p.stdout
    return p.stderr


def simple(client, **kw):
    return test_v2.simple(client, **kw)["MessageId"]


@pytest.fixture
def world(sesame):
    w = conftest.v2_world(sesame, DOMAIN)
    w.sns = sesame.client(w.okey, service="sns")
    return w


def events_of(ep, mid):
    return [n for _, n in ep.notifications() if n.get("mail", {}).get("messageId") == mid]


# ---- 4. configuration set event destinations -------------------------------------

def test_event_destination_operations_shapes_and_errors(sesame, world):
    c = world.oc
    topic = world.sns.create_topic(Name="events")["TopicArn"]
    c.create_configuration_set(ConfigurationSetName="cs")
    c.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="to-sns",
        EventDestination={"Enabled": True,
                          "MatchingEventTypes": ["SEND", "DELIVERY", "RENDERING_FAILURE",
                                                 "DELIVERY_DELAY", "SUBSCRIPTION"],
                          "SnsDestination": {"TopicArn": topic}})
    got = c.get_configuration_set_event_destinations(ConfigurationSetName="cs")
    assert got["EventDestinations"] == [{
        "Name": "to-sns", "Enabled": True,
        "MatchingEventTypes": ["SEND", "DELIVERY", "RENDERING_FAILURE", "DELIVERY_DELAY",
                               "SUBSCRIPTION"],
        "SnsDestination": {"TopicArn": topic}}]
    # the same destination is v1's too, with v1's names
    v1 = sesame.client(world.okey).describe_configuration_set(
        ConfigurationSetName="cs", ConfigurationSetAttributeNames=["eventDestinations"])
    assert v1["EventDestinations"][0]["MatchingEventTypes"] == [
        "send", "delivery", "renderingFailure", "deliveryDelay"]

    # errors of the model
    code, _, st = err_of(lambda: c.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="to-sns",
        EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": topic}}))
    assert (code, st) == ("AlreadyExistsException", 400)
    code, _, st = err_of(lambda: c.create_configuration_set_event_destination(
        ConfigurationSetName="nope", EventDestinationName="d",
        EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": topic}}))
    assert (code, st) == ("NotFoundException", 404)
    for kind, value in [("CloudWatchDestination", {"DimensionConfigurations": [{
            "DimensionName": "n", "DimensionValueSource": "MESSAGE_TAG",
            "DefaultDimensionValue": "v"}]}),
            ("KinesisFirehoseDestination", {"IamRoleArn": "arn:aws:iam::1:role/r",
                                            "DeliveryStreamArn": "arn:aws:firehose:x"}),
            ("PinpointDestination", {"ApplicationArn": "arn:aws:mobiletargeting:x"})]:
        code, msg, st = err_of(lambda: c.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="other",
            EventDestination={"MatchingEventTypes": ["SEND"], kind: value}))
        assert (code, st) == ("BadRequestException", 400) and kind in msg \
            and "not supported by sesame" in msg
    # no destination at all, a topic of another account, a bad type, no types
    other_id, other_key = sesame.principal("other")
    foreign = sesame.client(other_key, service="sns").create_topic(Name="t")["TopicArn"]
    for ed in [{"MatchingEventTypes": ["SEND"]},
               {"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": foreign}},
               {"MatchingEventTypes": [], "SnsDestination": {"TopicArn": topic}}]:
        code, _, st = err_of(lambda: c.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="bad", EventDestination=ed))
        assert (code, st) == ("BadRequestException", 400), ed
    # an event type outside the enum (botocore does not validate enums)
    code, msg, _ = err_of(lambda: c.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="bad",
        EventDestination={"MatchingEventTypes": ["send"], "SnsDestination": {"TopicArn": topic}}))
    assert code == "BadRequestException" and "send" in msg
    assert len(c.get_configuration_set_event_destinations(
        ConfigurationSetName="cs")["EventDestinations"]) == 1

    # update replaces it; a missing one is NotFound
    c.update_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="to-sns",
        EventDestination={"Enabled": False, "MatchingEventTypes": ["BOUNCE", "COMPLAINT"],
                          "SnsDestination": {"TopicArn": topic}})
    d = c.get_configuration_set_event_destinations(ConfigurationSetName="cs")["EventDestinations"]
    assert d == [{"Name": "to-sns", "Enabled": False, "MatchingEventTypes": ["BOUNCE", "COMPLAINT"],
                  "SnsDestination": {"TopicArn": topic}}]
    code, _, st = err_of(lambda: c.update_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="absent",
        EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": topic}}))
    assert (code, st) == ("NotFoundException", 404)
    code, _, st = err_of(lambda: c.get_configuration_set_event_destinations(
        ConfigurationSetName="nope"))
    assert (code, st) == ("NotFoundException", 404)

    # aws-cli: create, get, update, delete
    p = sesame.aws(world.okey, "create-configuration-set-event-destination",
                   "--configuration-set-name", "cs", "--event-destination-name", "cli",
                   "--event-destination", json.dumps({
                       "Enabled": True, "MatchingEventTypes": ["REJECT"],
                       "SnsDestination": {"TopicArn": topic}}), service="sesv2")
    p = sesame.aws(world.okey, "get-configuration-set-event-destinations",
                   "--configuration-set-name", "cs", service="sesv2")
    names = [x["Name"] for x in json.loads(p.stdout)["EventDestinations"]]
    assert names == ["cli", "to-sns"]
    sesame.aws(world.okey, "update-configuration-set-event-destination",
               "--configuration-set-name", "cs", "--event-destination-name", "cli",
               "--event-destination", json.dumps({"MatchingEventTypes": ["OPEN", "CLICK"],
                                                  "SnsDestination": {"TopicArn": topic}}),
               service="sesv2")
    p = sesame.aws(world.okey, "delete-configuration-set-event-destination",
                   "--configuration-set-name", "cs", "--event-destination-name", "cli",
                   service="sesv2")
    p = sesame.aws(world.okey, "delete-configuration-set-event-destination",
                   "--configuration-set-name", "cs", "--event-destination-name", "cli",
                   service="sesv2", check=False)
    assert "NotFoundException" in cli_err(p)
    c.delete_configuration_set_event_destination(ConfigurationSetName="cs",
                                                 EventDestinationName="to-sns")
    assert c.get_configuration_set_event_destinations(
        ConfigurationSetName="cs")["EventDestinations"] == []
    # the set belongs to its account: the delegate sees none
    code, _, _ = err_of(lambda: world.dc.get_configuration_set_event_destinations(
        ConfigurationSetName="cs"))
    assert code == "NotFoundException"


def test_a_v2_send_with_the_set_publishes_to_the_subscribed_endpoint(sesame, world):
    from sns_endpoint import Endpoint, subscribe
    ep = Endpoint("v2-events")
    try:
        topic = world.sns.create_topic(Name="v2-events")["TopicArn"]
        subscribe(world.sns, topic, ep)
        world.oc.create_configuration_set(ConfigurationSetName="tracked")
        world.oc.create_configuration_set_event_destination(
            ConfigurationSetName="tracked", EventDestinationName="sns",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                              "SnsDestination": {"TopicArn": topic}})
        mid = simple(world.oc, ConfigurationSetName="tracked")
        got = ep.wait(lambda e: len(events_of(e, mid)) >= 2 and events_of(e, mid), timeout=30)
        assert got, [n for _, n in ep.notifications()]
        assert sorted(n["eventType"] for n in got) == ["Delivery", "Send"]
        assert got[0]["mail"]["tags"]["ses:configuration-set"] == ["tracked"]
        # a send naming no set publishes nothing there
        mid2 = simple(world.oc)
        assert [m for m in messages(sesame) if m["MessageId"] == mid2]
        ep.wait(lambda e: events_of(e, mid2), timeout=2)
        assert events_of(ep, mid2) == []
    finally:
        ep.stop()


# ---- 2. an identity's default configuration set ------------------------------------

def delegate_policy(w):
    w.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="delegate", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "Delegate", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{w.delegate}:root"},
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": f"arn:aws:ses:{REGION}:{w.owner}:identity/{DOMAIN}"}]}))


def test_default_configuration_set_of_an_identity(sesame, world):
    from sns_endpoint import Endpoint, subscribe
    c = world.oc
    ep = Endpoint("default-set")
    try:
        topic = world.sns.create_topic(Name="default-events")["TopicArn"]
        subscribe(world.sns, topic, ep)
        c.create_configuration_set(ConfigurationSetName="dflt")
        c.create_configuration_set_event_destination(
            ConfigurationSetName="dflt", EventDestinationName="sns",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND"],
                              "SnsDestination": {"TopicArn": topic}})
        assert "ConfigurationSetName" not in c.get_email_identity(EmailIdentity=DOMAIN)
        c.put_email_identity_configuration_set_attributes(EmailIdentity=DOMAIN,
                                                          ConfigurationSetName="dflt")
        assert c.get_email_identity(EmailIdentity=DOMAIN)["ConfigurationSetName"] == "dflt"

        # the owner's send naming no set gets the default one's events
        mid = simple(c)
        got = ep.wait(lambda e: events_of(e, mid), timeout=30)
        assert got and got[0]["eventType"] == "Send", [n for _, n in ep.notifications()]
        assert got[0]["mail"]["tags"]["ses:configuration-set"] == ["dflt"]
        # v1's SendEmail too (the same send decision)
        mid1 = sesame.client(world.okey).send_email(
            Source=f"v1@{DOMAIN}", Destination={"ToAddresses": ["r@dest.test"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})["MessageId"]
        assert ep.wait(lambda e: events_of(e, mid1), timeout=30)

        # a delegate's send from the owner's identity does not get the owner's set
        delegate_policy(world)
        dmid = simple(world.dc, FromEmailAddressIdentityArn=(
            f"arn:aws:ses:{REGION}:{world.owner}:identity/{DOMAIN}"))
        assert [m for m in messages(sesame) if m["MessageId"] == dmid]
        # a later owner send proves the endpoint is live; the delegate's has nothing
        mid2 = simple(c)
        assert ep.wait(lambda e: events_of(e, mid2), timeout=30)
        assert events_of(ep, dmid) == []

        # a paused default set refuses the send, as a named one does
        c.put_configuration_set_sending_options(ConfigurationSetName="dflt", SendingEnabled=False)
        code, _, _ = err_of(lambda: simple(c))
        assert code == "SendingPausedException"
        c.put_configuration_set_sending_options(ConfigurationSetName="dflt", SendingEnabled=True)

        # errors: an unknown set, an unknown identity, another account's identity
        code, _, st = err_of(lambda: c.put_email_identity_configuration_set_attributes(
            EmailIdentity=DOMAIN, ConfigurationSetName="nope"))
        assert (code, st) == ("NotFoundException", 404)
        code, _, st = err_of(lambda: c.put_email_identity_configuration_set_attributes(
            EmailIdentity="absent.example", ConfigurationSetName="dflt"))
        assert (code, st) == ("NotFoundException", 404)
        code, _, _ = err_of(lambda: world.dc.put_email_identity_configuration_set_attributes(
            EmailIdentity=DOMAIN, ConfigurationSetName="dflt"))
        assert code == "NotFoundException"
        assert c.get_email_identity(EmailIdentity=DOMAIN)["ConfigurationSetName"] == "dflt"

        # aws-cli: no --configuration-set-name clears it
        sesame.aws(world.okey, "put-email-identity-configuration-set-attributes",
                   "--email-identity", DOMAIN, service="sesv2")
        assert "ConfigurationSetName" not in c.get_email_identity(EmailIdentity=DOMAIN)
        mid3 = simple(c)
        mid4 = simple(c, ConfigurationSetName="dflt")
        assert ep.wait(lambda e: events_of(e, mid4), timeout=30)
        assert events_of(ep, mid3) == []

        # set at creation; a deleted default is no set (and not shown)
        c.create_email_identity(EmailIdentity="other.example", ConfigurationSetName="dflt")
        assert c.get_email_identity(
            EmailIdentity="other.example")["ConfigurationSetName"] == "dflt"
        code, _, _ = err_of(lambda: c.create_email_identity(
            EmailIdentity="third.example", ConfigurationSetName="nope"))
        assert code == "NotFoundException"
        code, _, _ = err_of(lambda: c.get_email_identity(EmailIdentity="third.example"))
        assert code == "NotFoundException"
        c.delete_configuration_set(ConfigurationSetName="dflt")
        assert "ConfigurationSetName" not in c.get_email_identity(EmailIdentity="other.example")
    finally:
        ep.stop()


# ---- 3. which feedback adds to the suppression list ---------------------------------

@pytest.fixture
def mx_server(tmp_path, net, mx):
    from test_delivery import start
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


def test_suppressed_reasons_of_the_account_and_of_a_set(mx_server, net, mx):
    import mx as mxmod
    from test_delivery import DEST, OWNER_DOMAIN, World, terminal_for
    s = mx_server
    w = World(s, net)
    c = s.client(w.okey, service="sesv2")

    def bounce(addr, **kw):
        mx.rule(addr, mxmod.reject())
        mid = simple(c, frm=f"billing@{OWNER_DOMAIN}", to=(addr,), **kw)
        s.wait_events(mid, terminal_for([addr]), timeout=30)
        return mid

    def is_suppressed(addr):
        try:
            return c.get_suppressed_destination(
                EmailAddress=addr)["SuppressedDestination"]["Reason"]
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "NotFoundException"
            return None

    # a new account suppresses both, as SES's default
    assert c.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE", "COMPLAINT"]
    c.put_account_suppression_attributes(SuppressedReasons=[])
    assert c.get_account()["SuppressionAttributes"]["SuppressedReasons"] == []
    gone1 = "gone1@" + DEST
    bounce(gone1)
    assert is_suppressed(gone1) is None

    # aws-cli: complaints only, still no bounce on the list
    s.aws(w.okey, "put-account-suppression-attributes", "--suppressed-reasons", "COMPLAINT",
          service="sesv2")
    p = s.aws(w.okey, "get-account", service="sesv2")
    assert json.loads(p.stdout)["SuppressionAttributes"]["SuppressedReasons"] == ["COMPLAINT"]
    gone2 = "gone2@" + DEST
    bounce(gone2)
    assert is_suppressed(gone2) is None

    c.put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
    gone3 = "gone3@" + DEST
    bounce(gone3)
    assert is_suppressed(gone3) == "BOUNCE"

    # a set's own reasons win over the account's, for sends naming it
    c.put_account_suppression_attributes(SuppressedReasons=[])
    c.create_configuration_set(ConfigurationSetName="sup",
                               SuppressionOptions={"SuppressedReasons": ["BOUNCE"]})
    assert c.get_configuration_set(ConfigurationSetName="sup")["SuppressionOptions"] == {
        "SuppressedReasons": ["BOUNCE"]}
    gone4 = "gone4@" + DEST
    bounce(gone4, ConfigurationSetName="sup")
    assert is_suppressed(gone4) == "BOUNCE"
    c.put_account_suppression_attributes(SuppressedReasons=["BOUNCE", "COMPLAINT"])
    s.aws(w.okey, "put-configuration-set-suppression-options", "--configuration-set-name", "sup",
          "--suppressed-reasons", "COMPLAINT", service="sesv2")
    assert c.get_configuration_set(ConfigurationSetName="sup")["SuppressionOptions"] == {
        "SuppressedReasons": ["COMPLAINT"]}
    gone5 = "gone5@" + DEST
    bounce(gone5, ConfigurationSetName="sup")
    assert is_suppressed(gone5) is None
    # no SuppressedReasons: the account's again
    c.put_configuration_set_suppression_options(ConfigurationSetName="sup")
    assert "SuppressionOptions" not in c.get_configuration_set(ConfigurationSetName="sup")
    gone6 = "gone6@" + DEST
    bounce(gone6, ConfigurationSetName="sup")
    assert is_suppressed(gone6) == "BOUNCE"

    # errors
    code, _, st = err_of(lambda: c.put_account_suppression_attributes(SuppressedReasons=["SPAM"]))
    assert (code, st) == ("BadRequestException", 400)
    code, _, st = err_of(lambda: c.put_configuration_set_suppression_options(
        ConfigurationSetName="nope", SuppressedReasons=["BOUNCE"]))
    assert (code, st) == ("NotFoundException", 404)
    code, _, _ = err_of(lambda: c.put_configuration_set_suppression_options(
        ConfigurationSetName="sup", SuppressedReasons=["bounce"]))
    assert code == "BadRequestException"
    assert c.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE", "COMPLAINT"]
