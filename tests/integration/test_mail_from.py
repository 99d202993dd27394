"""The envelope sender as a message leaves (issue 10, item 4): VERP on
--bounce-domain, the identity's custom MAIL FROM domain only once verified,
and SES's MailFromDomainNotVerifiedException when the domain is not verified
and its BehaviorOnMXFailure is RejectMessage — for the owner and for a
delegate sending as the owner's identity. DNS points at a closed port, so
the MAIL FROM domain stays unverified (a verified one as the envelope is in
test_delivery.py, with dnsmasq serving its MX and SPF)."""
import json

import botocore.exceptions
import pytest

import conftest
from conftest import Sesame, verify

BOUNCE = "bounces.sesame.test"


@pytest.fixture
def server(tmp_path):
    s = Sesame(tmp_path, extra=["--bounce-domain", BOUNCE,
                                "--dns", f"127.0.0.1:{conftest.free_port()}"]).start()
    yield s
    s.stop()


def two_accounts(s, behavior):
    owner, okey = s.principal("owner")
    dele, dkey = s.principal("delegate")
    verify(s, owner, "example.com")
    o = s.client(okey)
    o.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.com",
                                    BehaviorOnMXFailure=behavior)
    arn = f"arn:aws:ses:us-east-1:{owner}:identity/example.com"
    o.put_identity_policy(Identity="example.com", PolicyName="d", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dele}:root"},
            "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": arn}]}))
    return o, s.client(dkey), arn


def send(c, arn=None):
    kw = {"SourceArn": arn} if arn else {}
    return c.send_email(Source="billing@example.com", Destination={"ToAddresses": ["b@x.test"]},
                        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
                        **kw)["MessageId"]


def inbox_entry(s, mid):
    (m,) = [m for m in conftest.messages(s) if m["MessageId"] == mid]
    return m


def test_unverified_mail_from_with_reject_message_refuses_owner_and_delegate(server):
    owner, delegate, arn = two_accounts(server, "RejectMessage")
    attrs = owner.get_identity_mail_from_domain_attributes(Identities=["example.com"])
    assert attrs["MailFromDomainAttributes"]["example.com"]["MailFromDomainStatus"] != "Success"
    for c, a in ((owner, None), (delegate, arn)):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            send(c, a)
        err = ei.value.response["Error"]
        assert err["Code"] == "MailFromDomainNotVerifiedException"
        assert "bounce.example.com" in err["Message"]
        assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert conftest.messages(server) == []  # nothing queued


def test_unverified_mail_from_with_use_default_goes_out_on_the_bounce_domain(server):
    owner, delegate, arn = two_accounts(server, "UseDefaultValue")
    for c, a in ((owner, None), (delegate, arn)):
        mid = send(c, a)
        m = inbox_entry(server, mid)
        assert m["MailFrom"] == f"{mid}@{BOUNCE}"   # VERP on --bounce-domain
        assert m["Source"] == "billing@example.com"

