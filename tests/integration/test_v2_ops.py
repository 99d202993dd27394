"""SES v2 operations over v1's machinery (issue 13), with boto3 `sesv2` and
/usr/bin/aws sesv2: configuration set event destinations (SNS topics hosted
in sesame), an identity's default configuration set, the account's
suppression reasons, and BYODKIM (the owner's own DKIM key, sealed at rest,
signing the owner's and delegated mail)."""
import json

import botocore.exceptions
import pytest

import conftest
from conftest import messages

REGION = "us-east-1"
DOMAIN = "example.com"


def v2(sesame, key):
    return sesame.client(key, service="sesv2")


def err_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


def cli_err(p):
    """The error code of a failed aws-cli call."""
    assert p.returncode != 0, p.stdout
    return p.stderr


def simple(client, frm=f"sender@{DOMAIN}", to=("rcpt@dest.test",), **kw):
    kw.setdefault("Destination", {"ToAddresses": list(to)})
    return client.send_email(
        FromEmailAddress=frm,
        Content={"Simple": {"Subject": {"Data": "hello v2"},
                            "Body": {"Text": {"Data": "body text"}}}}, **kw)["MessageId"]


@pytest.fixture
def world(sesame):
    class W:
        pass
    w = W()
    w.owner, w.okey = sesame.principal("owner")
    w.delegate, w.dkey = sesame.principal("delegate")
    conftest.verify(sesame, w.owner, DOMAIN)
    w.oc, w.dc = v2(sesame, w.okey), v2(sesame, w.dkey)
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
