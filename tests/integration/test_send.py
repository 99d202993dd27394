"""SendEmail and SendRawEmail end to end, one test per seed step of SES
sending authorization: the owner verifies a domain and puts a policy, the
delegate sends with the identity's ARN (boto3 and aws-cli), the message
lands in the capture inbox with the delegate as SendingAccountId and the
owner's identity as SourceArn; every refusal is SES's error with nothing
captured and nothing charged; quota and rate are the delegate's."""
import base64
import json
import time
import urllib.parse

import botocore.exceptions
import pytest

import conftest
from conftest import err_of, messages, post, raw_of, sign, xml_error

REGION = "us-east-1"
DOMAIN = "example.com"


# ---- helpers ----------------------------------------------------------------

def arn(account, identity=DOMAIN, region=REGION):
    return f"arn:aws:ses:{region}:{account}:identity/{identity}"


def policy(principal, account, effect="Allow", actions=("ses:SendEmail", "ses:SendRawEmail"),
           identity=DOMAIN, sid="Delegate", condition=None, region=REGION):
    st = {"Sid": sid, "Effect": effect, "Principal": principal, "Action": list(actions),
          "Resource": arn(account, identity, region)}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def verify(sesame, account, identity=DOMAIN, region=REGION):
    conftest.verify(sesame, account, identity, region)


def sent_24h(client):
    return client.get_send_quota()["SentLast24Hours"]


def rejects(client, want=None):
    """Rejects in the client's statistics. They are written off the event
    loop, so when `want` is given, wait (a little) for that count."""
    deadline = time.time() + 5
    while True:
        n = sum(p["Rejects"] for p in client.get_send_statistics()["SendDataPoints"])
        if want is None or n >= want or time.time() > deadline:
            return n
        time.sleep(0.02)


def no_retry_client(sesame, key, region=REGION):
    """A boto3 client that tries once. (botocore 1.29 reads retries
    max_attempts as *retries*, so conftest's client(retries=0) still retries
    Throttling once; total_max_attempts is unambiguous.)"""
    import boto3
    from botocore.config import Config
    return boto3.client("ses", region_name=region, endpoint_url=sesame.endpoint,
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def simple(client, source=f"sender@{DOMAIN}", to=("rcpt@dest.test",), **kw):
    return client.send_email(
        Source=source, Destination={"ToAddresses": list(to)},
        Message={"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "body text"}}}, **kw)


def raw_message(frm=f"sender@{DOMAIN}", to="rcpt@dest.test", extra=(), subject="raw hello",
                body="raw body\n"):
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", *extra, "", body]
    return "\r\n".join(lines).encode()


class World:
    """Owner with a verified example.com, a delegate account, and clients."""

    def __init__(self, sesame, delegate_flags=(), owner_flags=()):
        self.sesame = sesame
        self.owner, self.okey = sesame.principal("owner", *owner_flags)
        self.delegate, self.dkey = sesame.principal("delegate", *delegate_flags)
        verify(sesame, self.owner)
        self.oc = no_retry_client(sesame, self.okey)
        self.dc = no_retry_client(sesame, self.dkey)
        self.arn = arn(self.owner)

    def allow(self, principal=None, name="delegate", **kw):
        principal = principal or {"AWS": f"arn:aws:iam::{self.delegate}:root"}
        self.oc.put_identity_policy(Identity=DOMAIN, PolicyName=name,
                                    Policy=policy(principal, self.owner, **kw))


@pytest.fixture
def world(sesame):
    return World(sesame)


def assert_nothing_captured(sesame, before=0):
    assert len(messages(sesame)) == before


# ---- 1. the happy path: owner verifies, allows; delegate sends ---------------

def test_delegate_sends_with_source_arn_boto3(sesame, world):
    world.allow()
    r = simple(world.dc, SourceArn=world.arn)
    mid = r["MessageId"]
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(mid) == 60 and mid.startswith("0100") and mid.endswith("-000000")
    (m,) = messages(sesame)
    assert m["MessageId"] == mid
    assert m["SendingAccountId"] == world.delegate
    assert m["SourceArn"] == world.arn
    assert m["Source"] == f"sender@{DOMAIN}"
    assert m["From"] == f"sender@{DOMAIN}"
    assert m["Destination"] == ["rcpt@dest.test"]
    assert m["Subject"] == "hello"
    assert m["Region"] == REGION
    raw = raw_of(sesame, mid)
    assert "From: sender@example.com\r\n" in raw
    assert "To: rcpt@dest.test\r\n" in raw
    assert "\r\n\r\nbody text" in raw
    assert "Message-I" in raw and "@email.amazonses.com>" in raw


def test_delegate_sends_with_aws_cli(sesame, world):
    world.allow()
    p = sesame.aws(world.dkey, "send-email", "--from", f"Sender <sender@{DOMAIN}>",
                   "--destination", "ToAddresses=rcpt@dest.test,CcAddresses=cc@dest.test",
                   "--message", "Subject={Data=cli hello},Body={Text={Data=from the cli}}",
                   "--source-arn", world.arn)
    mid = json.loads(p.stdout)["MessageId"]
    raw = raw_message(extra=[f"X-SES-SOURCE-ARN: {world.arn}"])
    p = sesame.aws(world.dkey, "send-raw-email", "--raw-message",
                   "Data=" + base64.b64encode(raw).decode(), "--cli-binary-format", "base64")
    mid2 = json.loads(p.stdout)["MessageId"]
    got = {m["MessageId"]: m for m in messages(sesame)}
    assert set(got) == {mid, mid2}
    assert got[mid]["Destination"] == ["rcpt@dest.test", "cc@dest.test"]
    assert got[mid]["Subject"] == "cli hello"
    for m in got.values():
        assert m["SendingAccountId"] == world.delegate
        assert m["SourceArn"] == world.arn


def test_owner_sends_as_itself_without_arn(sesame, world):
    r = simple(world.oc)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert m["SendingAccountId"] == world.owner
    assert m["SourceArn"] == world.arn  # its own identity


def test_subdomain_address_covered_by_domain(sesame, world):
    world.allow()
    simple(world.dc, source=f"alerts@mail.{DOMAIN}", SourceArn=world.arn)
    assert messages(sesame)[0]["From"] == f"alerts@mail.{DOMAIN}"


# ---- 2. refusals: SES's error, nothing captured, nothing charged --------------

def test_no_policy_is_access_denied(sesame, world):
    code, msg, status = err_of(lambda: simple(world.dc, SourceArn=world.arn))
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User `arn:aws:iam::{world.delegate}:root' is not authorized to perform "
                   f"`ses:SendEmail' on resource `{world.arn}'")
    assert_nothing_captured(sesame)
    assert sent_24h(world.dc) == 0
    assert rejects(world.dc, want=1) == 1
    assert rejects(world.oc) == 0


def test_deny_statement_wins(sesame, world):
    world.allow()
    world.allow(name="deny", effect="Deny", sid="NoDelegate")
    code, _, status = err_of(lambda: simple(world.dc, SourceArn=world.arn))
    assert (code, status) == ("AccessDenied", 403)
    assert_nothing_captured(sesame)


def test_policy_for_another_account_does_not_cover_a_third(sesame, world):
    world.allow()
    _, tkey = sesame.principal("third")
    code, _, status = err_of(lambda: simple(no_retry_client(sesame, tkey), SourceArn=world.arn))
    assert (code, status) == ("AccessDenied", 403)
    assert_nothing_captured(sesame)


def test_arn_of_another_region(sesame, world):
    world.allow()
    other = arn(world.owner, region="us-west-2")
    code, msg, status = err_of(lambda: simple(world.dc, SourceArn=other))
    assert (code, status) == ("AccessDenied", 403)
    assert other in msg
    # and the identity is not verified in the other region when sent there
    code, msg, _ = err_of(lambda: simple(no_retry_client(sesame, world.dkey, region="us-west-2"),
                                         SourceArn=other))
    assert code == "MessageRejected"
    assert "US-WEST-2" in msg
    assert_nothing_captured(sesame)


def test_from_outside_the_identity(sesame, world):
    world.allow()
    code, msg, status = err_of(lambda: simple(world.dc, source="x@other.test",
                                              SourceArn=world.arn))
    assert (code, status) == ("MessageRejected", 400)
    assert msg == ("Email address is not verified. The following identities failed the "
                   "check in region US-EAST-1: x@other.test")
    assert_nothing_captured(sesame)
    assert sent_24h(world.dc) == 0


def test_unverified_source_without_arn(sesame, world):
    code, msg, _ = err_of(lambda: simple(world.dc))
    assert code == "MessageRejected"
    assert msg.endswith(f"sender@{DOMAIN}")
    assert_nothing_captured(sesame)


def test_aws_cli_shows_access_denied(sesame, world):
    p = sesame.aws(world.dkey, "send-email", "--from", f"sender@{DOMAIN}",
                   "--destination", "ToAddresses=rcpt@dest.test",
                   "--message", "Subject={Data=x},Body={Text={Data=y}}",
                   "--source-arn", world.arn, check=False)
    assert p.returncode != 0
    assert "AccessDenied" in p.stderr
    assert_nothing_captured(sesame)


def test_deleting_the_policy_stops_the_delegate_at_once(sesame, world):
    world.allow()
    simple(world.dc, SourceArn=world.arn)
    world.oc.delete_identity_policy(Identity=DOMAIN, PolicyName="delegate")
    code, _, _ = err_of(lambda: simple(world.dc, SourceArn=world.arn))
    assert code == "AccessDenied"
    # and putting it back lets it send again, at once
    world.allow()
    simple(world.dc, SourceArn=world.arn)
    assert len(messages(sesame)) == 2


def test_policy_conditions_see_the_message(sesame, world):
    world.allow(condition={"StringLike": {"ses:FromAddress": "invoices*@example.com"},
                           "ForAllValues:StringLike": {"ses:Recipients": "*@dest.test"}})
    simple(world.dc, source=f"invoices@{DOMAIN}", SourceArn=world.arn)
    code, _, _ = err_of(lambda: simple(world.dc, source=f"ceo@{DOMAIN}", SourceArn=world.arn))
    assert code == "AccessDenied"
    code, _, _ = err_of(lambda: simple(world.dc, source=f"invoices@{DOMAIN}",
                                       to=("a@dest.test", "b@elsewhere.test"),
                                       SourceArn=world.arn))
    assert code == "AccessDenied"
    assert len(messages(sesame)) == 1


# ---- 2b. From spoofing: the From that is authorized is the only From ----------
#
# A delegate limited by `StringLike ses:FromAddress` must not get another
# address into the delivered From: not by a second From field (authorization
# read the first, a reader shows either), nor by a From holding a list or a
# group (authorization saw the first mailbox only). Each is bad input.

SPOOFS = [
    ("two From fields", ["From: invoices@example.com", "To: rcpt@dest.test",
                         "From: ceo@example.com"], "Duplicate header 'From'."),
    ("two From fields, other case", ["FROM: invoices@example.com", "from: CEO <ceo@example.com>",
                                     "To: rcpt@dest.test"], "Duplicate header 'From'."),
    ("a From list", ["From: invoices@example.com, ceo@example.com", "To: rcpt@dest.test"],
     "Multiple addresses in the From header are not supported."),
    ("a folded From list", ["From: Invoices <invoices@example.com>,", " CEO <ceo@example.com>",
                            "To: rcpt@dest.test"],
     "Multiple addresses in the From header are not supported."),
    ("a group", ["From: Board: invoices@example.com, ceo@example.com;", "To: rcpt@dest.test"],
     "Multiple addresses in the From header are not supported."),
    ("a mailbox and a group", ["From: invoices@example.com, Board: ceo@example.com;",
                               "To: rcpt@dest.test"],
     "Multiple addresses in the From header are not supported."),
    ("a group of one", ["From: Billing: invoices@example.com;", "To: rcpt@dest.test"],
     "Group syntax in the From header is not supported."),
]


@pytest.mark.parametrize("name,head,message", SPOOFS, ids=[s[0] for s in SPOOFS])
def test_raw_from_spoofing_is_refused(sesame, world, name, head, message):
    world.allow(condition={"StringLike": {"ses:FromAddress": "invoices*@example.com"}})
    # the condition holds: invoices@ may send, ceo@ may not
    r = world.dc.send_raw_email(RawMessage={"Data": raw_message(frm=f"invoices@{DOMAIN}")},
                                SourceArn=world.arn)
    code, _, _ = err_of(lambda: world.dc.send_raw_email(
        RawMessage={"Data": raw_message(frm=f"ceo@{DOMAIN}")}, SourceArn=world.arn))
    assert code == "AccessDenied"
    # and no second address rides along with the allowed one
    data = "\r\n".join([*head, "Subject: spoof", "", "body"]).encode()
    for kw in ({"SourceArn": world.arn}, {"FromArn": world.arn, "SourceArn": world.arn}):
        code, msg, status = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": data},
                                                                   **kw))
        assert (code, msg, status) == ("InvalidParameterValue", message, 400)
    # the owner itself may not send such a message either: it is malformed
    code, msg, _ = err_of(lambda: world.oc.send_raw_email(RawMessage={"Data": data}))
    assert (code, msg) == ("InvalidParameterValue", message)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert "ceo@" not in raw_of(sesame, r["MessageId"])
    assert sent_24h(world.dc) == 1.0


def test_raw_other_fields_allowed_once(sesame, world):
    world.allow()
    for field, a, b in (("Sender", f"invoices@{DOMAIN}", f"ceo@{DOMAIN}"),
                        ("Reply-To", f"invoices@{DOMAIN}", "attacker@evil.test"),
                        ("To", "rcpt@dest.test", "other@dest.test"),
                        ("Cc", "rcpt@dest.test", "other@dest.test"),
                        ("Subject", "one", "two")):
        base = {"From": f"sender@{DOMAIN}", "To": "rcpt@dest.test", "Subject": "s"}
        lines = [f"{k}: {v}" for k, v in base.items() if k != field]
        lines += [f"{field}: {a}", f"{field.lower()}: {b}", f"X-SES-SOURCE-ARN: {world.arn}",
                  "", "body"]
        data = "\r\n".join(lines).encode()
        code, msg, _ = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": data}))
        assert (code, msg) == ("InvalidParameterValue", f"Duplicate header '{field}'."), field
    assert_nothing_captured(sesame)
    # Date and Message-ID are replaced and Bcc dropped: repeating them is harmless
    data = raw_message(extra=["Date: Mon, 1 Jan 2001 00:00:00 +0000",
                              "Date: Tue, 2 Jan 2001 00:00:00 +0000", "Message-ID: <a@client>",
                              "Message-ID: <b@client>", f"X-SES-SOURCE-ARN: {world.arn}"])
    world.dc.send_raw_email(RawMessage={"Data": data})
    assert len(messages(sesame)) == 1


def test_deleted_owner_fails_closed(sesame, world):
    """The owner's account can go between authorization (which read its
    identity and policy) and the owner's sandbox check. Made here by deleting
    the account row alone (foreign keys off, so the identity and policy stay
    for authz to allow): the send is refused as for an identity that does
    not exist, never decided on an account that is not there."""
    world.allow()
    simple(world.dc, SourceArn=world.arn)
    conftest.store_sql(sesame.data, f"DELETE FROM accounts WHERE id = '{world.owner}'", fk_off=True)
    code, msg, status = err_of(lambda: simple(world.dc, SourceArn=world.arn))
    assert (code, status) == ("MessageRejected", 400)
    assert msg == ("Email address is not verified. The following identities failed the check "
                   f"in region US-EAST-1: sender@{DOMAIN}")
    assert len(messages(sesame)) == 1
    assert sent_24h(world.dc) == 1.0
    assert rejects(world.dc, want=1) == 1


# ---- 3. other principals: IAM users, service principals ----------------------

def test_iam_user_needs_its_own_policy(sesame, world, tmp_path):
    user_arn = f"arn:aws:iam::{world.delegate}:user/mailer"
    world.allow(principal={"AWS": user_arn})
    # without a user policy: refused even though the owner allows the user
    sesame.cli("user", "create", "--account", world.delegate, "--name", "mailer")
    ukey = sesame.key(world.delegate, "--user", "mailer")
    code, msg, status = err_of(lambda: simple(no_retry_client(sesame, ukey), SourceArn=world.arn))
    assert (code, status) == ("AccessDenied", 403)
    assert user_arn in msg
    # with one that allows sending as the owner's identity
    doc = tmp_path / "user.json"
    doc.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": world.arn}]}))
    sesame.cli("user", "create", "--account", world.delegate, "--name", "mailer2",
               "--policy", str(doc))
    world.allow(principal={"AWS": f"arn:aws:iam::{world.delegate}:user/mailer2"}, name="u2")
    ukey2 = sesame.key(world.delegate, "--user", "mailer2")
    r = simple(no_retry_client(sesame, ukey2), SourceArn=world.arn)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert m["SendingAccountId"] == world.delegate
    # its user policy allows SendEmail only
    code, _, _ = err_of(lambda: no_retry_client(sesame, ukey2).send_raw_email(
        RawMessage={"Data": raw_message()}, SourceArn=world.arn))
    assert code == "AccessDenied"


def test_account_principal_covers_its_users(sesame, world, tmp_path):
    world.allow()  # the delegate's root: any principal of that account
    doc = tmp_path / "user.json"
    doc.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ses:Send*", "Resource": "*"}]}))
    sesame.cli("user", "create", "--account", world.delegate, "--name", "app",
               "--policy", str(doc))
    ukey = sesame.key(world.delegate, "--user", "app")
    simple(no_retry_client(sesame, ukey), SourceArn=world.arn)
    assert len(messages(sesame)) == 1


def test_service_principal(sesame, world):
    svc = "notifications.example.internal"
    skey = sesame.key(world.delegate, "--service", svc)
    sc = no_retry_client(sesame, skey)
    code, msg, _ = err_of(lambda: simple(sc, SourceArn=world.arn))
    assert code == "AccessDenied" and svc in msg
    world.allow(principal={"Service": svc},
                condition={"StringEquals": {"aws:SourceAccount": world.delegate}})
    r = simple(sc, SourceArn=world.arn)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert m["SendingAccountId"] == world.delegate


# ---- 4. SendRawEmail: ARNs from parameters and headers -----------------------

def test_raw_from_arn_parameter_beats_header(sesame, world):
    world.allow()
    verify(sesame, world.owner, "other.test")  # verified, but no policy for the delegate
    bad = arn(world.owner, "other.test")
    raw = raw_message(extra=[f"X-SES-FROM-ARN: {bad}", f"X-SES-SOURCE-ARN: {world.arn}"])
    # the header alone names an identity that does not cover the From
    code, _, _ = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": raw}))
    assert code == "MessageRejected"
    # FromArn wins over X-SES-FROM-ARN
    r = world.dc.send_raw_email(RawMessage={"Data": raw}, FromArn=world.arn)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    # and the other way round: a bad parameter beats a good header
    raw = raw_message(extra=[f"X-SES-FROM-ARN: {world.arn}"])
    code, _, _ = err_of(lambda: world.dc.send_raw_email(
        RawMessage={"Data": raw}, FromArn=arn(world.owner, "other.test"), SourceArn=world.arn))
    assert code == "MessageRejected"
    assert len(messages(sesame)) == 1


def test_raw_source_arn_header_alone(sesame, world):
    world.allow()
    raw = raw_message(extra=[f"X-SES-SOURCE-ARN: {world.arn}"])
    r = world.dc.send_raw_email(RawMessage={"Data": raw})
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"] and m["SourceArn"] == world.arn


def test_raw_ses_headers_are_gone_from_the_delivered_copy(sesame, world):
    world.allow()
    raw = raw_message(to="a@dest.test", extra=[
        "Cc: c@dest.test",
        "Bcc: hidden@dest.test",
        f"X-SES-SOURCE-ARN: {world.arn}",
        f"x-ses-from-arn: {world.arn}",
        f"X-SES-RETURN-PATH-ARN: {world.arn}",
        "X-SES-MESSAGE-TAGS: team=billing, kind=invoice",
        "X-SES-SOURCE-ARN: arn:aws:ses:us-east-1:000000000000:identity/ignored.test",
        "Message-ID: <client-chosen@client>",
        "Date: Mon, 1 Jan 2001 00:00:00 +0000",
        "X-Custom: stays",
    ], body="line one\nline two\n")
    r = world.dc.send_raw_email(RawMessage={"Data": raw})
    mid = r["MessageId"]
    (m,) = messages(sesame)
    assert m["Destination"] == ["a@dest.test", "c@dest.test", "hidden@dest.test"]
    out = raw_of(sesame, mid)
    head = out.split("\r\n\r\n", 1)[0].lower()
    assert "x-ses-" not in head
    assert "bcc:" not in head and "hidden@dest.test" not in head
    assert "client-chosen" not in head and "2001" not in head
    assert head.count("message-id:") == 1 and head.count("\r\ndate:") + head.startswith("date:") == 1
    assert f"message-id: <{mid.lower()}@email.amazonses.com>" in head  # the id the API returned
    assert "x-custom: stays" in head
    assert out.endswith("line one\r\nline two\r\n")


def test_raw_destinations_parameter_wins_over_headers(sesame, world):
    world.allow()
    raw = raw_message(to="header@dest.test", extra=[f"X-SES-SOURCE-ARN: {world.arn}"])
    world.dc.send_raw_email(RawMessage={"Data": raw}, Destinations=["env@dest.test"])
    (m,) = messages(sesame)
    assert m["Destination"] == ["env@dest.test"]
    assert "To: header@dest.test" in raw_of(sesame, m["MessageId"])


def test_raw_return_path_header_is_authorized(sesame, world):
    world.allow()
    raw = raw_message(extra=[f"X-SES-SOURCE-ARN: {world.arn}", "Return-Path: <bounce@other.test>"])
    code, msg, _ = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": raw}))
    assert code == "MessageRejected" and "bounce@other.test" in msg
    # the Source parameter wins for feedback
    world.dc.send_raw_email(RawMessage={"Data": raw}, Source=f"bounces@{DOMAIN}")
    (m,) = messages(sesame)
    assert m["Source"] == f"bounces@{DOMAIN}"


def test_send_email_builds_mime(sesame, world):
    verify(sesame, world.owner, "rt@example.com")
    r = world.oc.send_email(
        Source="Jörg Müller <joerg@example.com>",
        Destination={"ToAddresses": ["a@dest.test"], "BccAddresses": ["secret@dest.test"]},
        ReplyToAddresses=["rt@example.com"],
        Message={"Subject": {"Data": "Grüße", "Charset": "UTF-8"},
                 "Body": {"Text": {"Data": "plain ü"}, "Html": {"Data": "<b>html ü</b>"}}})
    (m,) = messages(sesame)
    assert m["Destination"] == ["a@dest.test", "secret@dest.test"]
    assert m["Subject"] == "Grüße"
    import email
    from email import policy as epolicy
    msg = email.message_from_string(raw_of(sesame, r["MessageId"]), policy=epolicy.default)
    assert msg["Subject"] == "Grüße"
    assert msg["From"].addresses[0].display_name == "Jörg Müller"
    assert msg["Reply-To"] == "rt@example.com"
    assert msg["Bcc"] is None
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "plain ü"
    assert parts[1].get_content().strip() == "<b>html ü</b>"


# ---- 5. the delegate pays: quota, rate, sandbox, paused ----------------------

def test_quota_is_charged_to_the_delegate(sesame, world):
    world.allow()
    simple(world.dc, to=("a@dest.test", "b@dest.test", "c@dest.test"), SourceArn=world.arn)
    assert sent_24h(world.dc) == 3.0
    assert sent_24h(world.oc) == 0.0
    points = world.dc.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 3
    assert world.oc.get_send_statistics()["SendDataPoints"] == []


def test_rate_limit_burst_of_five_gets_four_throttled(sesame):
    w = World(sesame, delegate_flags=("--sandbox",))
    w.allow()
    verify(sesame, w.delegate, "rcpt@dest.test")  # sandbox: recipients verified
    c = w.dc
    codes = []
    for _ in range(5):
        try:
            simple(c, SourceArn=w.arn)
            codes.append("ok")
        except botocore.exceptions.ClientError as e:
            codes.append(e.response["Error"]["Code"])
            assert e.response["Error"]["Message"] == "Maximum sending rate exceeded."
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert codes.count("ok") == 1 and codes.count("Throttling") == 4
    assert len(messages(sesame)) == 1
    assert sent_24h(c) == 1.0
    assert rejects(c, want=4) == 4
    # the owner's own bucket is untouched
    simple(w.oc, SourceArn=w.arn)
    time.sleep(1.1)
    simple(c, SourceArn=w.arn)  # refilled after a second


def test_daily_quota(sesame, tmp_path):
    w = World(sesame, delegate_flags=("--max-24h", "3"))
    w.allow()
    simple(w.dc, to=("a@dest.test", "b@dest.test"), SourceArn=w.arn)
    code, msg, status = err_of(lambda: simple(w.dc, to=("c@dest.test", "d@dest.test"),
                                              SourceArn=w.arn))
    assert (code, msg, status) == ("Throttling", "Daily message quota exceeded.", 400)
    simple(w.dc, to=("c@dest.test",), SourceArn=w.arn)  # exactly at the limit
    code, msg, _ = err_of(lambda: simple(w.dc, SourceArn=w.arn))
    assert msg == "Daily message quota exceeded."
    assert sent_24h(w.dc) == 3.0
    # the owner's quota is its own
    simple(w.oc, to=("a@dest.test", "b@dest.test", "c@dest.test", "d@dest.test"))


def test_sandbox_recipients_must_be_verified(sesame):
    w = World(sesame, delegate_flags=("--sandbox",))
    w.allow()
    code, msg, _ = err_of(lambda: simple(w.dc, to=("a@dest.test", "b@dest.test"),
                                         SourceArn=w.arn))
    assert code == "MessageRejected"
    assert msg == ("Email address is not verified. The following identities failed the check "
                   "in region US-EAST-1: a@dest.test, b@dest.test")
    verify(sesame, w.delegate, "dest.test")  # a verified domain covers its addresses
    simple(w.dc, to=("a@dest.test",), SourceArn=w.arn)
    # the mailbox simulator is always allowed
    time.sleep(1.1)
    simple(w.dc, to=("success@simulator.amazonses.com",), SourceArn=w.arn)
    assert len(messages(sesame)) == 2


def test_sandboxed_owner_limits_the_delegate_too(sesame):
    w = World(sesame, owner_flags=("--sandbox",))
    w.allow()
    code, msg, _ = err_of(lambda: simple(w.dc, SourceArn=w.arn))
    assert code == "MessageRejected" and "rcpt@dest.test" in msg
    assert_nothing_captured(sesame)


def test_paused_account(sesame, world):
    world.allow()
    world.dc.update_account_sending_enabled(Enabled=False)
    code, msg, status = err_of(lambda: simple(world.dc, SourceArn=world.arn))
    assert (code, msg, status) == ("AccountSendingPausedException",
                                   "Sending is paused for this account.", 400)
    # the owner pausing itself does not stop the delegate
    world.dc.update_account_sending_enabled(Enabled=True)
    world.oc.update_account_sending_enabled(Enabled=False)
    simple(world.dc, SourceArn=world.arn)
    assert len(messages(sesame)) == 1


# ---- 6. bad input: SES's error, nothing captured, quota not charged ----------

def query(sesame, key, params, region=REGION):
    body = urllib.parse.urlencode(params).encode()
    url, headers, data = sign(sesame.endpoint, key, body, region=region)
    status, text = post(url, headers, data)
    return status, text


def send_email_params(**over):
    p = {"Action": "SendEmail", "Version": "2010-12-01", "Source": f"sender@{DOMAIN}",
         "Destination.ToAddresses.member.1": "rcpt@dest.test",
         "Message.Subject.Data": "s", "Message.Body.Text.Data": "b"}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def raw_params(data, **over):
    p = {"Action": "SendRawEmail", "Version": "2010-12-01", "RawMessage.Data": data}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def many(n):
    return {f"Destination.ToAddresses.member.{i + 1}": f"r{i}@dest.test" for i in range(n)}


BAD = [
    ("missing Source", send_email_params(Source=None), "MissingParameter", None),
    ("Source without domain", send_email_params(Source="sender"), "InvalidParameterValue",
     "Missing final '@domain'"),
    ("CR/LF in Source", send_email_params(Source="sender@example.com\r\nBcc: x@evil.test"),
     "InvalidParameterValue", None),
    ("CR/LF in a recipient",
     send_email_params(**{"Destination.ToAddresses.member.1": "a@dest.test\nBcc: x@evil.test"}),
     "InvalidParameterValue", None),
    ("CR/LF in the subject", send_email_params(**{"Message.Subject.Data": "a\r\nBcc: x@e.test"}),
     "InvalidParameterValue", None),
    ("51 recipients", send_email_params(**many(51)), "InvalidParameterValue",
     "Recipient count exceeds 50."),
    ("no recipients", send_email_params(**{"Destination.ToAddresses.member.1": None}),
     "MessageRejected", "There are no recipients specified."),
    ("empty body", send_email_params(**{"Message.Body.Text.Data": None}),
     "InvalidParameterValue", None),
    ("missing subject", send_email_params(**{"Message.Subject.Data": None}), "MissingParameter",
     None),
    ("unknown charset", send_email_params(**{"Message.Body.Text.Charset": "no-such-cs"}),
     "InvalidParameterValue", None),
    ("not an SES identity ARN", send_email_params(
        SourceArn="arn:aws:sns:us-east-1:111122223333:topic/x"), "InvalidParameterValue", None),
    ("not an ARN at all", send_email_params(SourceArn="example.com"), "InvalidParameterValue",
     "Invalid ARN <example.com>."),
    ("configuration set", send_email_params(ConfigurationSetName="nope"),
     "ConfigurationSetDoesNotExist", None),
    ("bad tag", send_email_params(**{"Tags.member.1.Name": "a b", "Tags.member.1.Value": "v"}),
     "InvalidParameterValue", None),
    ("broken base64", raw_params("!!!not base64!!!"), "InvalidParameterValue", None),
    ("raw without headers", raw_params(b64("just some text\r\n")), "InvalidParameterValue",
     "Missing required header 'From'."),
    ("raw without From", raw_params(b64("To: a@dest.test\r\n\r\nbody")), "InvalidParameterValue",
     "Missing required header 'From'."),
    ("raw without recipients", raw_params(b64(f"From: s@{DOMAIN}\r\nSubject: x\r\n\r\nbody")),
     "InvalidParameterValue", "Missing required header 'To'."),
    ("raw header injection", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n"
                                            "Bcc x@evil.test\r\n\r\nbody")),
     "InvalidParameterValue", None),
    ("raw bare CR", raw_params(b64(f"From: s@{DOMAIN}\rTo: a@dest.test\r\n\r\nbody")),
     "InvalidParameterValue", None),
    ("raw 8-bit garbage in a header", raw_params(b64(
        f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\nSubject: \xff\xfe\r\n\r\nb".encode("latin-1"))),
     "InvalidParameterValue", None),
    ("raw with an empty header name", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n"
                                                     ": x\r\n\r\nb")),
     "InvalidParameterValue", "Empty header names are illegal."),
    ("raw 51 recipients", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: " + ", ".join(
        f"r{i}@dest.test" for i in range(51)) + "\r\n\r\nbody")),
     "InvalidParameterValue", "Recipient count exceeds 50."),
    ("raw bad X-SES-SOURCE-ARN", raw_params(b64(
        f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\nX-SES-SOURCE-ARN: not-an-arn\r\n\r\nb")),
     "InvalidParameterValue", "Invalid ARN <not-an-arn>."),
    ("raw bad FromArn", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n\r\nb"),
                                   FromArn="arn:aws:ses:us-east-1:1:identity/x.com"),
     "InvalidParameterValue", None),
    ("raw empty To", raw_params(b64(f"From: s@{DOMAIN}\r\nTo:\r\nBcc: a@dest.test\r\n\r\nb")),
     "InvalidParameterValue", "Empty required header 'To'."),
    ("missing RawMessage", {"Action": "SendRawEmail", "Version": "2010-12-01"},
     "MissingParameter", None),
    ("raw bad X-SES-MESSAGE-TAGS", raw_params(b64(
        f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\nX-SES-MESSAGE-TAGS: a b=c\r\n\r\nb")),
     "InvalidParameterValue", None),
    ("raw X-SES-CONFIGURATION-SET", raw_params(b64(
        f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\nX-SES-CONFIGURATION-SET: cs\r\n\r\nb")),
     "ConfigurationSetDoesNotExist", "Configuration set <cs> does not exist."),
    ("raw two From fields", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n"
                                           f"From: t@{DOMAIN}\r\n\r\nb")),
     "InvalidParameterValue", "Duplicate header 'From'."),
    ("raw From list", raw_params(b64(f"From: s@{DOMAIN}, t@{DOMAIN}\r\nTo: a@dest.test\r\n\r\nb")),
     "InvalidParameterValue", "Multiple addresses in the From header are not supported."),
    ("raw From group", raw_params(b64(f"From: G: s@{DOMAIN};\r\nTo: a@dest.test\r\n\r\nb")),
     "InvalidParameterValue", "Group syntax in the From header is not supported."),
    ("raw two Subject fields", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n"
                                              "Subject: a\r\nSubject: b\r\n\r\nb")),
     "InvalidParameterValue", "Duplicate header 'Subject'."),
    ("raw Destinations with 51", raw_params(b64(f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\n\r\nb"),
                                            **{f"Destinations.member.{i + 1}": f"r{i}@dest.test"
                                               for i in range(51)}),
     "InvalidParameterValue", "Recipient count exceeds 50."),
]


@pytest.mark.parametrize("name,params,code,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input(sesame, world, name, params, code, message):
    world.allow()
    if params.get("Action") == "SendEmail" and "SourceArn" not in params:
        params = dict(params, SourceArn=world.arn)
    status, text = query(sesame, world.dkey, params)
    got_code, got_msg = xml_error(text)
    assert status in (400, 404) and got_code == code, (status, text)
    if message is not None:
        assert got_msg == message
    assert_nothing_captured(sesame)
    assert sent_24h(world.dc) == 0
    assert rejects(world.dc) == 0


def test_query_string_plus_is_refused(sesame, world):
    """SigV4 reads a '+' in a query string as a plus sign (canonical %2B),
    so a request signed with `a%2Bb` keeps its signature when rewritten to
    `a+b`; form decoding would read that '+' as a space. A literal '+' in a
    query string is refused, so one signature has one meaning."""
    world.allow()
    q = ("Action=SendEmail&Version=2010-12-01&Source=sender%40example.com"
         "&Destination.ToAddresses.member.1=rcpt%40dest.test&Message.Subject.Data=a%2Bb"
         "&Message.Body.Text.Data=body&SourceArn=" + urllib.parse.quote(world.arn, safe=""))
    url, headers, _ = sign(sesame.endpoint, world.dkey, b"", method="GET", query=q)
    status, text = post(url, headers, b"", method="GET")
    assert status == 200, text
    (m,) = messages(sesame)
    assert m["Subject"] == "a+b"
    # the same signature over the rewritten query: refused, nothing sent
    tampered = url.replace("Message.Subject.Data=a%2Bb", "Message.Subject.Data=a+b")
    assert tampered != url
    status, text = post(tampered, headers, b"", method="GET")
    assert status == 404, text
    assert xml_error(text) == ("MalformedQueryString",
                               "The query string contains a literal '+': encode a space as %20 "
                               "and a plus sign as %2B.")
    assert len(messages(sesame)) == 1
    assert sent_24h(world.dc) == 1.0


def test_message_size_limit(sesame, world):
    world.allow()
    head = f"From: s@{DOMAIN}\r\nTo: a@dest.test\r\nX-SES-SOURCE-ARN: {world.arn}\r\n\r\n"
    line = "x" * 998 + "\r\n"
    for size, ok in ((10485760, True), (10485761, False)):
        body = line * ((size - len(head)) // len(line))
        body += "y" * (size - len(head) - len(body))
        data = (head + body).encode()
        assert len(data) == size
        if ok:
            world.dc.send_raw_email(RawMessage={"Data": data})
        else:
            code, msg, _ = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": data}))
            assert code == "InvalidParameterValue"
            assert msg == "Message length is more than 10485760 bytes long: '10485761'."
    assert len(messages(sesame)) == 1
    assert sent_24h(world.dc) == 1.0


# ---- the owner's identity policies bind its own principals (spec §4.4.2-3) ---

def test_owner_identity_deny_blocks_its_own_iam_user(sesame, world, tmp_path):
    doc = tmp_path / "bob.json"
    doc.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ses:*", "Resource": "*"}]}))
    sesame.cli("user", "create", "--account", world.owner, "--name", "bob",
               "--policy", str(doc))
    bc = no_retry_client(sesame, sesame.key(world.owner, "--user", "bob"))
    bob = f"arn:aws:iam::{world.owner}:user/bob"
    simple(bc)  # its user policy allows ses:* on *
    world.oc.put_identity_policy(
        Identity=DOMAIN, PolicyName="nobob",
        Policy=policy({"AWS": bob}, world.owner, effect="Deny", sid="NoBob"))
    # explicit Deny wins everywhere: the owner's identity policy binds its own user
    code, msg, status = err_of(lambda: simple(bc))
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User `{bob}' is not authorized to perform `ses:SendEmail' "
                   f"on resource `{world.arn}'")
    code, _, status = err_of(lambda: bc.send_raw_email(RawMessage={"Data": raw_message()}))
    assert (code, status) == ("AccessDenied", 403)
    assert len(messages(sesame)) == 1
    # the Deny names bob only: the owner's root still sends
    simple(world.oc)
    assert len(messages(sesame)) == 2
    # removing the Deny lets bob send again, at once
    world.oc.delete_identity_policy(Identity=DOMAIN, PolicyName="nobob")
    simple(bc)
    assert len(messages(sesame)) == 3


def test_owner_identity_policy_and_user_policy_are_a_union(sesame, world):
    # a user of the owner without any user policy ...
    sesame.cli("user", "create", "--account", world.owner, "--name", "nopol")
    uc = no_retry_client(sesame, sesame.key(world.owner, "--user", "nopol"))
    user = f"arn:aws:iam::{world.owner}:user/nopol"
    code, _, status = err_of(lambda: simple(uc))
    assert (code, status) == ("AccessDenied", 403)
    # ... is allowed by an identity policy naming it (same account: either side allows)
    world.oc.put_identity_policy(Identity=DOMAIN, PolicyName="nopol",
                                 Policy=policy({"AWS": user}, world.owner, sid="LetNopol"))
    r = simple(uc)
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert m["SendingAccountId"] == world.owner
    # a Deny on "*" binds everyone, the owner's root included
    world.oc.put_identity_policy(Identity=DOMAIN, PolicyName="lock",
                                 Policy=policy("*", world.owner, effect="Deny", sid="Lock"))
    for c, who in ((uc, user), (world.oc, f"arn:aws:iam::{world.owner}:root")):
        code, msg, status = err_of(lambda: simple(c))
        assert (code, status) == ("AccessDenied", 403)
        assert msg.startswith(f"User `{who}' ")
    assert len(messages(sesame)) == 1


# ---- 2c. the Sender field is checked like From ---------------------------------

def test_raw_sender_field_is_checked_like_from(sesame, world):
    """A delegate held to invoices*@ by ses:FromAddress cannot put another
    owner address, nor an address no identity covers, in Sender."""
    world.allow(condition={"StringLike": {"ses:FromAddress": "invoices*@example.com"}})
    frm = f"invoices@{DOMAIN}"
    ok = world.dc.send_raw_email(RawMessage={"Data": raw_message(
        frm=frm, extra=(f"Sender: Invoices desk <invoices-desk@{DOMAIN}>",))}, SourceArn=world.arn)
    code, msg, status = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": raw_message(
        frm=frm, extra=(f"Sender: ceo@{DOMAIN}",))}, SourceArn=world.arn))
    assert (code, status) == ("AccessDenied", 403)
    assert msg.endswith(f"`ses:SendRawEmail' on resource `{world.arn}'")
    code, msg, _ = err_of(lambda: world.dc.send_raw_email(RawMessage={"Data": raw_message(
        frm=frm, extra=("Sender: someone@unverified.test",))}, FromArn=world.arn,
        SourceArn=world.arn))
    assert (code, msg) == ("MessageRejected", "Email address is not verified. The following "
                           "identities failed the check in region US-EAST-1: "
                           "someone@unverified.test")
    (m,) = messages(sesame)
    assert m["MessageId"] == ok["MessageId"]
    assert sent_24h(world.dc) == 1.0
