"""sesame's SNS (issue 12 item 1): topics and http subscriptions over the SNS
Query API with boto3 and aws-cli, SNS's confirmation handshake (a POSTed
SubscriptionConfirmation, confirmed by GETting SubscribeURL or by
ConfirmSubscription), deliveries in SNS's envelope whose signatures the
subscriber checks itself against SigningCertURL (versions 1 and 2), raw
delivery, Unsubscribe, and the durable outbox: a subscriber that is down
while the server restarts still gets every message, once."""
import json
import time
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from sns_endpoint import Endpoint, verify_signature


@pytest.fixture
def ep():
    e = Endpoint("sub")
    yield e
    e.stop()


def sns(sesame, key, region="us-east-1"):
    return sesame.client(key, region=region, service="sns")


def err(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def subscribed(sesame, ep, name="t", **topic_attrs):
    """An account, its topic and ep subscribed and confirmed by SubscribeURL."""
    acct, key = sesame.principal("sns")
    c = sns(sesame, key)
    arn = c.create_topic(Name=name, Attributes=topic_attrs)["TopicArn"]
    assert c.subscribe(TopicArn=arn, Protocol="http", Endpoint=ep.url)["SubscriptionArn"] \
        == "pending confirmation"
    conf = ep.confirm()
    return acct, key, c, arn, conf


def test_topics_and_their_errors(sesame):
    a, ka = sesame.principal("a")
    b, kb = sesame.principal("b")
    ca, cb = sns(sesame, ka), sns(sesame, kb)
    arn = ca.create_topic(Name="orders")["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{a}:orders"
    assert ca.create_topic(Name="orders")["TopicArn"] == arn  # idempotent
    ca.create_topic(Name="other-1_x", Attributes={"DisplayName": "Other"})
    assert [t["TopicArn"] for t in ca.list_topics()["Topics"]] == [
        arn, f"arn:aws:sns:us-east-1:{a}:other-1_x"]
    assert cb.list_topics()["Topics"] == []
    at = ca.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert at["Owner"] == a and at["TopicArn"] == arn and at["SubscriptionsConfirmed"] == "0"
    assert at["SignatureVersion"] == "1"
    ca.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    ca.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
    at = ca.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (at["SignatureVersion"], at["DisplayName"]) == ("2", "Orders")
    # errors in SNS's words and statuses
    assert err(lambda: ca.create_topic(Name="bad name"))[:2] == ("InvalidParameter", 400)
    assert err(lambda: ca.create_topic(Name="x" * 257))[:2] == ("InvalidParameter", 400)
    assert err(lambda: ca.create_topic(Name="orders", Attributes={"DisplayName": "New"}))[:2] \
        == ("InvalidParameter", 400)
    assert err(lambda: ca.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion",
                                               AttributeValue="3"))[:2] == ("InvalidParameter", 400)
    missing = f"arn:aws:sns:us-east-1:{a}:nope"
    assert err(lambda: ca.get_topic_attributes(TopicArn=missing))[:2] == ("NotFound", 404)
    assert err(lambda: ca.publish(TopicArn=missing, Message="x"))[:2] == ("NotFound", 404)
    code, status, msg = err(lambda: cb.publish(TopicArn=arn, Message="x"))
    assert (code, status) == ("AuthorizationError", 403) and arn in msg
    assert err(lambda: cb.delete_topic(TopicArn=arn))[:2] == ("AuthorizationError", 403)
    assert err(lambda: cb.subscribe(TopicArn=arn, Protocol="http",
                                    Endpoint="http://127.0.0.1:9/x"))[:2] \
        == ("AuthorizationError", 403)
    # a topic is in its region
    west = sns(sesame, ka, region="eu-west-1")
    assert west.list_topics()["Topics"] == []
    assert err(lambda: west.get_topic_attributes(TopicArn=arn))[:2] == ("NotFound", 404)
    ca.delete_topic(TopicArn=arn)
    ca.delete_topic(TopicArn=arn)  # deleting what is gone is no error
    assert err(lambda: ca.get_topic_attributes(TopicArn=arn))[:2] == ("NotFound", 404)


def test_subscribe_errors_and_publish_validation(sesame):
    _, k = sesame.principal("a")
    c = sns(sesame, k)
    arn = c.create_topic(Name="t")["TopicArn"]
    for proto, endpoint in (("email", "a@b.test"), ("sqs", "arn:aws:sqs:us-east-1:1:q"),
                            ("http", "https://127.0.0.1/x"), ("https", "http://127.0.0.1/x"),
                            ("http", "not a url"), ("http", "http://")):
        assert err(lambda: c.subscribe(TopicArn=arn, Protocol=proto, Endpoint=endpoint))[:2] \
            == ("InvalidParameter", 400), (proto, endpoint)
    assert err(lambda: c.publish(TopicArn=arn, Message=""))[:2] == ("InvalidParameter", 400)
    assert err(lambda: c.publish(TopicArn=arn, Message="x" * (256 * 1024 + 1)))[:2] \
        == ("InvalidParameter", 400)
    assert err(lambda: c.publish(TopicArn=arn, Message="x", Subject="a\nb"))[:2] \
        == ("InvalidParameter", 400)
    assert err(lambda: c.publish(TopicArn=arn, Message='{"http": "x"}',
                                 MessageStructure="json"))[:2] == ("InvalidParameter", 400)
    assert err(lambda: c.confirm_subscription(TopicArn=arn, Token="00" * 32))[:2] \
        == ("InvalidParameter", 400)
    # a Publish to a topic without subscribers still answers a MessageId
    assert len(c.publish(TopicArn=arn, Message="nobody listens")["MessageId"]) == 36


def test_confirmation_publish_and_signatures(sesame, ep):
    acct, key, c, arn, conf = subscribed(sesame, ep)
    # the confirmation: SNS's headers and fields, signed, its URLs ours
    (h, _), = ep.received
    assert h["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert h["x-amz-sns-topic-arn"] == arn
    assert h["User-Agent"] == "Amazon Simple Notification Service Agent"
    assert h["Content-Type"].startswith("text/plain")
    assert conf["SigningCertURL"] == sesame.endpoint + "/_sesame/sns/cert.pem"
    assert conf["SubscribeURL"].startswith(sesame.endpoint + "/?Action=ConfirmSubscription&")
    assert arn in conf["Message"] and len(conf["Token"]) >= 64
    (sub,) = c.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(arn + ":") and sub["Endpoint"] == ep.url
    assert c.list_subscriptions()["Subscriptions"] == [sub]

    mid = c.publish(TopicArn=arn, Message="hello", Subject="greeting")["MessageId"]
    got = ep.wait(lambda e: e.messages("Notification"))
    (n,) = got
    verify_signature(n)
    assert (n["MessageId"], n["Message"], n["Subject"], n["TopicArn"], n["SignatureVersion"]) \
        == (mid, "hello", "greeting", arn, "1")
    assert n["Timestamp"].endswith("Z") and "." in n["Timestamp"]
    assert n["UnsubscribeURL"].startswith(sesame.endpoint + "/?Action=Unsubscribe&")
    h = ep.received[-1][0]
    assert h["x-amz-sns-message-id"] == mid
    assert h["x-amz-sns-subscription-arn"] == sub["SubscriptionArn"]

    # a tampered message does not verify: the check can fail
    bad = dict(n, Message="hellO")
    with pytest.raises(Exception):
        verify_signature(bad)

    # SignatureVersion 2: SHA256withRSA
    c.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    mid2 = c.publish(TopicArn=arn, Message=json.dumps({"k": "v"}))["MessageId"]
    (n2,) = ep.wait(lambda e: [m for m in e.messages("Notification") if m["MessageId"] == mid2])
    assert n2["SignatureVersion"] == "2" and "Subject" not in n2
    verify_signature(n2)
    assert json.loads(n2["Message"]) == {"k": "v"}


def test_unconfirmed_gets_nothing_and_confirm_by_api(sesame, ep):
    _, k = sesame.principal("a")
    c = sns(sesame, k)
    arn = c.create_topic(Name="t")["TopicArn"]
    c.subscribe(TopicArn=arn, Protocol="http", Endpoint=ep.url)
    (conf,) = ep.wait(lambda e: e.messages("SubscriptionConfirmation"))
    (sub,) = c.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sub["SubscriptionArn"] == "PendingConfirmation"
    assert c.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsPending"] == "1"
    c.publish(TopicArn=arn, Message="too early")
    time.sleep(1.5)
    assert ep.messages("Notification") == []
    # confirmed with the API this time
    sarn = c.confirm_subscription(TopicArn=arn, Token=conf["Token"])["SubscriptionArn"]
    assert sarn.startswith(arn + ":")
    assert c.confirm_subscription(TopicArn=arn, Token=conf["Token"])["SubscriptionArn"] == sarn
    a = c.get_subscription_attributes(SubscriptionArn=sarn)["Attributes"]
    assert (a["PendingConfirmation"], a["RawMessageDelivery"], a["Endpoint"]) == \
        ("false", "false", ep.url)
    c.publish(TopicArn=arn, Message="now")
    (n,) = ep.wait(lambda e: e.messages("Notification"))
    assert n["Message"] == "now"  # the early one was never queued


def test_raw_delivery_and_unsubscribe_url(sesame, ep):
    _, _, c, arn, _ = subscribed(sesame, ep)
    (sub,) = c.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    sarn = sub["SubscriptionArn"]
    c.set_subscription_attributes(SubscriptionArn=sarn, AttributeName="RawMessageDelivery",
                                  AttributeValue="true")
    c.publish(TopicArn=arn, Message='{"raw": true}')
    got = ep.wait(lambda e: len(e.received) >= 2 or None)
    assert got
    h, body = ep.received[-1]
    assert body == b'{"raw": true}' and h["x-amz-sns-rawdelivery"] == "true"
    c.set_subscription_attributes(SubscriptionArn=sarn, AttributeName="RawMessageDelivery",
                                  AttributeValue="false")
    mid = c.publish(TopicArn=arn, Message="enveloped")["MessageId"]
    (n,) = ep.wait(lambda e: [m for m in e.messages("Notification") if m["MessageId"] == mid])
    # the UnsubscribeURL works without a signature, as SNS's
    with urllib.request.urlopen(n["UnsubscribeURL"], timeout=10) as r:
        assert r.status == 200 and b"UnsubscribeResponse" in r.read()
    assert c.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    c.publish(TopicArn=arn, Message="after")
    time.sleep(1.5)
    assert [m for m in ep.messages("Notification") if m["Message"] == "after"] == []
    # an unsigned request for anything else is refused
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(sesame.endpoint + "/?Action=ListTopics", timeout=10)
    assert ei.value.code == 403


def test_aws_cli_sns(sesame, ep):
    _, k = sesame.principal("cli")
    arn = json.loads(sesame.aws(k, "create-topic", "--name", "cli", service="sns").stdout)[
        "TopicArn"]
    sesame.aws(k, "subscribe", "--topic-arn", arn, "--protocol", "http",
               "--notification-endpoint", ep.url, service="sns")
    ep.confirm()
    out = json.loads(sesame.aws(k, "publish", "--topic-arn", arn, "--message", "from the cli",
                                service="sns").stdout)
    (n,) = ep.wait(lambda e: e.messages("Notification"))
    verify_signature(n)
    assert (n["MessageId"], n["Message"]) == (out["MessageId"], "from the cli")


def test_subscriber_down_across_a_restart_gets_everything_once(sesame, ep):
    _, key, c, arn, _ = subscribed(sesame, ep)
    ep.down = True
    sent = [c.publish(TopicArn=arn, Message=f"m{i}")["MessageId"] for i in range(5)]
    time.sleep(2.5)  # a few failed attempts
    assert ep.messages("Notification") == []
    sesame.stop()
    sesame.start()
    time.sleep(1)
    ep.down = False
    got = ep.wait(lambda e: len(e.messages("Notification")) >= 5 or None, timeout=40)
    assert got, ep.messages("Notification")
    time.sleep(1.5)
    ids = [m["MessageId"] for m in ep.messages("Notification")]
    assert sorted(ids) == sorted(sent)  # every one, none twice
    for m in ep.messages("Notification"):
        verify_signature(m)  # the key survived the restart


def test_iam_user_is_held_to_its_sns_policy(sesame, tmp_path):
    acct, root = sesame.principal("a")
    c = sns(sesame, root)
    allowed = c.create_topic(Name="allowed")["TopicArn"]
    other = c.create_topic(Name="other")["TopicArn"]
    pol = tmp_path / "pol.json"
    pol.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": allowed}]}))
    sesame.cli("user", "create", "--account", acct, "--name", "pub", "--policy", str(pol))
    u = sns(sesame, sesame.key(acct, "--user", "pub"))
    assert len(u.publish(TopicArn=allowed, Message="ok")["MessageId"]) == 36
    code, status, msg = err(lambda: u.publish(TopicArn=other, Message="no"))
    assert (code, status) == ("AuthorizationError", 403)
    assert "sns:Publish" in msg and other in msg
    assert err(lambda: u.create_topic(Name="mine"))[:2] == ("AuthorizationError", 403)


def test_https_endpoint_with_a_trusted_certificate(sesame, tmp_path, monkeypatch):
    """An https subscription: sesame checks the endpoint's certificate
    against the CAs it trusts (here SSL_CERT_FILE) and its host name."""
    import ssl
    import subprocess
    cert, key = tmp_path / "ep.pem", tmp_path / "ep.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ep = Endpoint("tls")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    ep.server.socket = ctx.wrap_socket(ep.server.socket, server_side=True)
    ep.url = ep.url.replace("http://127.0.0.1", "https://localhost")
    untrusted = Endpoint("untrusted")
    untrusted.server.socket = ctx.wrap_socket(untrusted.server.socket, server_side=True)
    # the same certificate, reached by an address it does not name
    untrusted.url = untrusted.url.replace("http://", "https://")
    try:
        sesame.stop()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        sesame.start()
        _, k = sesame.principal("tls")
        c = sns(sesame, k)
        arn = c.create_topic(Name="t")["TopicArn"]
        c.subscribe(TopicArn=arn, Protocol="https", Endpoint=ep.url)
        c.subscribe(TopicArn=arn, Protocol="https", Endpoint=untrusted.url)
        conf = ep.confirm()
        assert conf["TopicArn"] == arn
        time.sleep(2)
        assert untrusted.received == []  # host name 127.0.0.1 is not in the certificate
        c.publish(TopicArn=arn, Message="over TLS")
        (n,) = ep.wait(lambda e: e.messages("Notification"))
        verify_signature(n)
        assert n["Message"] == "over TLS"
    finally:
        ep.stop()
        untrusted.stop()
