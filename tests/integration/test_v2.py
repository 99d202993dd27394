"""SES v2 (rest-json under /v2/email/) end to end with boto3 `sesv2` and
/usr/bin/aws sesv2: the same store, the same send decision and the same
policies as v1, in v2's wire format and v2's error shapes."""
import json
import os
import subprocess

import pytest

import conftest
from conftest import err_of, messages, post, v2

REGION = "us-east-1"
DOMAIN = "example.com"


def arn(account, identity=DOMAIN, region=REGION):
    return f"arn:aws:ses:{region}:{account}:identity/{identity}"


def policy(account, delegate, actions=("ses:SendEmail",), identity=DOMAIN, condition=None):
    st = {"Sid": "Delegate", "Effect": "Allow",
          "Principal": {"AWS": f"arn:aws:iam::{delegate}:root"},
          "Action": list(actions), "Resource": arn(account, identity)}
    if condition is not None:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def simple(client, frm=f"sender@{DOMAIN}", to=("rcpt@dest.test",), **kw):
    kw.setdefault("Destination", {"ToAddresses": list(to)})
    return client.send_email(
        FromEmailAddress=frm,
        Content={"Simple": {"Subject": {"Data": "hello v2"},
                            "Body": {"Text": {"Data": "body text"},
                                     "Html": {"Data": "<p>body</p>"}}}}, **kw)


@pytest.fixture
def world(sesame):
    return conftest.v2_world(sesame, DOMAIN)


# ---- sending ---------------------------------------------------------------

def test_own_identity_send_lands_in_the_inbox(sesame, world):
    r = simple(world.oc, ReplyToAddresses=["reply@dest.test"],
               Destination={"ToAddresses": ["to@dest.test"], "CcAddresses": ["cc@dest.test"],
                            "BccAddresses": ["bcc@dest.test"]},
               EmailTags=[{"Name": "campaign", "Value": "v2"}])
    mid = r["MessageId"]
    assert mid
    m = [x for x in messages(sesame) if x["MessageId"] == mid]
    assert len(m) == 1
    assert m[0]["SendingAccountId"] == world.owner
    raw = conftest.raw_of(sesame, mid)
    assert "Subject: hello v2" in raw and "Reply-To: reply@dest.test" in raw
    assert "bcc@dest.test" not in raw.split("\r\n\r\n")[0]


def test_raw_send(sesame, world):
    msg = (f"From: sender@{DOMAIN}\r\nTo: rcpt@dest.test\r\nSubject: raw v2\r\n\r\nraw body\r\n")
    r = world.oc.send_email(Content={"Raw": {"Data": msg.encode()}})
    assert "Subject: raw v2" in conftest.raw_of(sesame, r["MessageId"])


def test_aws_cli_send(sesame, world):
    p = sesame.aws(world.okey, "send-email", "--from-email-address", f"sender@{DOMAIN}",
                   "--destination", "ToAddresses=rcpt@dest.test",
                   "--content", "Simple={Subject={Data=cli v2},Body={Text={Data=hi}}}",
                   service="sesv2")
    mid = json.loads(p.stdout)["MessageId"]
    assert "Subject: cli v2" in conftest.raw_of(sesame, mid)


def test_delegated_send_needs_a_policy(sesame, world):
    code, msg, status = err_of(lambda: simple(world.dc, FromEmailAddressIdentityArn=arn(world.owner)))
    assert (code, status) == ("AccessDeniedException", 403)
    assert "ses:SendEmail" in msg
    world.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="delegate",
                                          Policy=policy(world.owner, world.delegate))
    r = simple(world.dc, FromEmailAddressIdentityArn=arn(world.owner))
    m = [x for x in messages(sesame) if x["MessageId"] == r["MessageId"]][0]
    assert m["SendingAccountId"] == world.delegate
    assert m["SourceArn"] == arn(world.owner)


def test_unverified_sender_is_message_rejected(sesame, world):
    code, _, status = err_of(lambda: simple(world.oc, frm="someone@elsewhere.test"))
    assert (code, status) == ("MessageRejected", 400)


def test_bad_requests(sesame, world):
    code, _, status = err_of(lambda: world.oc.send_email(
        FromEmailAddress=f"sender@{DOMAIN}", Destination={"ToAddresses": ["a@dest.test"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {}}}))
    assert (code, status) == ("BadRequestException", 400)
    code, _, status = err_of(lambda: simple(world.oc, ConfigurationSetName="nope"))
    assert (code, status) == ("NotFoundException", 404)


def test_sending_paused(sesame, world):
    world.oc.put_account_sending_attributes(SendingEnabled=False)
    code, _, _ = err_of(lambda: simple(world.oc))
    assert code == "SendingPausedException"
    assert world.oc.get_account()["SendingEnabled"] is False
    world.oc.put_account_sending_attributes(SendingEnabled=True)
    simple(world.oc)


def test_unsupported_operation_is_bad_request(sesame, world):
    code, msg, status = err_of(lambda: world.oc.list_contact_lists())
    assert (code, status) == ("BadRequestException", 400)
    assert "ListContactLists" in msg and "not supported by sesame" in msg
    # the one operation the model routes under /v1/email/ is v2's too: it
    # reaches BYODKIM's key check (test_byodkim.py)
    code, msg, status = err_of(lambda: world.oc.put_email_identity_dkim_signing_attributes(
        EmailIdentity=DOMAIN, SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "s1", "DomainSigningPrivateKey": "a2V5"}))
    assert (code, status) == ("BadRequestException", 400), (code, msg)
    assert "DomainSigningPrivateKey" in msg, msg


def test_error_shape_on_the_wire(sesame, world):
    url = sesame.endpoint + "/v2/email/identities/nobody%40nowhere.test"
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(world.okey["AccessKeyId"], world.okey["SecretAccessKey"]),
              "ses", REGION).add_auth(req)
    import urllib.request, urllib.error
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers)), timeout=10)
        assert False
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert e.headers["x-amzn-ErrorType"] == "NotFoundException"
        assert e.headers["x-amzn-RequestId"]
        assert "message" in json.loads(e.read())


def test_unsigned_is_refused(sesame):
    status, body = post(sesame.endpoint + "/v2/email/account", {}, None, method="GET")
    assert status == 403


# ---- account ---------------------------------------------------------------

def test_get_account_quota_moves(sesame, world):
    a = world.oc.get_account()
    assert a["EnforcementStatus"] == "HEALTHY"
    assert a["SendingEnabled"] is True
    assert isinstance(a["ProductionAccessEnabled"], bool)
    before = a["SendQuota"]["SentLast24Hours"]
    assert a["SendQuota"]["Max24HourSend"] > 0 and a["SendQuota"]["MaxSendRate"] > 0
    simple(world.oc, to=("a@dest.test", "b@dest.test"))
    assert world.oc.get_account()["SendQuota"]["SentLast24Hours"] == before + 2


# ---- identities ------------------------------------------------------------

def test_identity_lifecycle(sesame, world):
    c = world.oc
    r = c.create_email_identity(EmailIdentity="me@mine.test")
    assert r["IdentityType"] == "EMAIL_ADDRESS" and r["VerifiedForSendingStatus"] is False
    r = c.create_email_identity(EmailIdentity="mine.test")
    assert r["IdentityType"] == "DOMAIN"
    assert len(r["DkimAttributes"]["Tokens"]) == 3
    code, _, _ = err_of(lambda: c.create_email_identity(EmailIdentity="mine.test"))
    assert code == "AlreadyExistsException"
    g = c.get_email_identity(EmailIdentity="me@mine.test")
    assert g["IdentityType"] == "EMAIL_ADDRESS" and g["VerificationStatus"] == "PENDING"
    g = c.get_email_identity(EmailIdentity=DOMAIN)
    assert g["VerifiedForSendingStatus"] is True and g["VerificationStatus"] == "SUCCESS"
    names = {i["IdentityName"]: i for i in c.list_email_identities()["EmailIdentities"]}
    assert set(names) >= {"me@mine.test", "mine.test", DOMAIN}
    assert names[DOMAIN]["SendingEnabled"] is True
    page = c.list_email_identities(PageSize=1)
    assert len(page["EmailIdentities"]) == 1 and page["NextToken"]
    nxt = c.list_email_identities(PageSize=1, NextToken=page["NextToken"])
    assert nxt["EmailIdentities"][0]["IdentityName"] != page["EmailIdentities"][0]["IdentityName"]
    c.delete_email_identity(EmailIdentity="me@mine.test")
    code, _, status = err_of(lambda: c.get_email_identity(EmailIdentity="me@mine.test"))
    assert (code, status) == ("NotFoundException", 404)
    code, _, _ = err_of(lambda: c.delete_email_identity(EmailIdentity="me@mine.test"))
    assert code == "NotFoundException"
    # the v1 API sees the same store
    v1 = sesame.client(world.okey)
    assert "mine.test" in v1.list_identities()["Identities"]


def test_identity_with_aws_cli(sesame, world):
    p = sesame.aws(world.okey, "create-email-identity", "--email-identity", "cli@mine.test",
                   service="sesv2")
    assert json.loads(p.stdout)["IdentityType"] == "EMAIL_ADDRESS"
    p = sesame.aws(world.okey, "get-email-identity", "--email-identity", "cli@mine.test",
                   service="sesv2")
    assert json.loads(p.stdout)["VerificationStatus"] == "PENDING"


# ---- policies ----------------------------------------------------------------

def test_policies(sesame, world):
    c = world.oc
    doc = policy(world.owner, world.delegate)
    c.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="p1", Policy=doc)
    code, _, _ = err_of(lambda: c.create_email_identity_policy(
        EmailIdentity=DOMAIN, PolicyName="p1", Policy=doc))
    assert code == "AlreadyExistsException"
    assert json.loads(c.get_email_identity_policies(EmailIdentity=DOMAIN)["Policies"]["p1"]) \
        == json.loads(doc)
    assert "p1" in c.get_email_identity(EmailIdentity=DOMAIN)["Policies"]
    doc2 = policy(world.owner, world.delegate, actions=("ses:SendEmail", "ses:SendRawEmail"))
    c.update_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="p1", Policy=doc2)
    code, _, _ = err_of(lambda: c.update_email_identity_policy(
        EmailIdentity=DOMAIN, PolicyName="p2", Policy=doc))
    assert code == "NotFoundException"
    # the same validation as v1's PutIdentityPolicy
    code, _, _ = err_of(lambda: c.create_email_identity_policy(
        EmailIdentity=DOMAIN, PolicyName="bad", Policy="{not json"))
    assert code == "BadRequestException"
    code, _, _ = err_of(lambda: c.create_email_identity_policy(
        EmailIdentity="nobody.test", PolicyName="p", Policy=doc))
    assert code == "NotFoundException"
    # v1 sees it
    assert sesame.client(world.okey).list_identity_policies(Identity=DOMAIN)["PolicyNames"] == ["p1"]
    c.delete_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="p1")
    assert c.get_email_identity_policies(EmailIdentity=DOMAIN)["Policies"] == {}
    code, _, _ = err_of(lambda: c.delete_email_identity_policy(EmailIdentity=DOMAIN,
                                                               PolicyName="p1"))
    assert code == "NotFoundException"


def test_request_log_line_and_metrics(sesame, world):
    world.oc.get_account()
    err_of(lambda: world.oc.list_contact_lists())
    log = sesame.read_log()
    assert "service=sesv2 action=GetAccount" in log
    assert "service=sesv2 action=ListContactLists" in log and "code=BadRequestException" in log
    status, body = sesame.get("/metrics")
    text = body.decode()
    assert 'sesame_api_requests_total{service="sesv2",action="GetAccount",code="200"} 1' in text
    assert 'service="sesv2",action="ListContactLists",code="BadRequestException"' in text


# ---- templates ---------------------------------------------------------------

def test_templates_and_templated_send(sesame, world):
    c = world.oc
    c.create_email_template(TemplateName="welcome", TemplateContent={
        "Subject": "Hi {{name}}", "Text": "Hello {{name}}!", "Html": "<b>{{name}}</b>"})
    code, _, _ = err_of(lambda: c.create_email_template(
        TemplateName="welcome", TemplateContent={"Subject": "x", "Text": "y"}))
    assert code == "AlreadyExistsException"
    t = c.get_email_template(TemplateName="welcome")
    assert t["TemplateContent"]["Subject"] == "Hi {{name}}"
    c.update_email_template(TemplateName="welcome", TemplateContent={
        "Subject": "Hey {{name}}", "Text": "Hello {{name}}!"})
    assert "Html" not in c.get_email_template(TemplateName="welcome")["TemplateContent"]
    assert [m["TemplateName"] for m in c.list_email_templates()["TemplatesMetadata"]] == ["welcome"]
    # v1 sees the same template
    assert sesame.client(world.okey).get_template(TemplateName="welcome")["Template"]["SubjectPart"] \
        == "Hey {{name}}"
    r = c.send_email(FromEmailAddress=f"sender@{DOMAIN}",
                     Destination={"ToAddresses": ["rcpt@dest.test"]},
                     Content={"Template": {"TemplateName": "welcome",
                                           "TemplateData": json.dumps({"name": "Ada"})}})
    assert "Subject: Hey Ada" in conftest.raw_of(sesame, r["MessageId"])
    code, _, status = err_of(lambda: c.send_email(
        FromEmailAddress=f"sender@{DOMAIN}", Destination={"ToAddresses": ["rcpt@dest.test"]},
        Content={"Template": {"TemplateName": "nope", "TemplateData": "{}"}}))
    assert (code, status) == ("NotFoundException", 404)
    rendered = c.test_render_email_template(TemplateName="welcome",
                                            TemplateData=json.dumps({"name": "Bo"}))
    assert "Subject: Hey Bo" in rendered["RenderedTemplate"]
    code, msg, _ = err_of(lambda: c.test_render_email_template(TemplateName="welcome",
                                                               TemplateData="{}"))
    assert code == "BadRequestException" and "name" in msg
    c.delete_email_template(TemplateName="welcome")
    code, _, status = err_of(lambda: c.get_email_template(TemplateName="welcome"))
    assert (code, status) == ("NotFoundException", 404)
    code, _, _ = err_of(lambda: c.delete_email_template(TemplateName="welcome"))
    assert code == "NotFoundException"


# ---- suppression ---------------------------------------------------------------

def test_suppression_list(sesame, world):
    c = world.oc
    c.put_suppressed_destination(EmailAddress="gone@dest.test", Reason="BOUNCE")
    c.put_suppressed_destination(EmailAddress="angry@dest.test", Reason="COMPLAINT")
    d = c.get_suppressed_destination(EmailAddress="gone@dest.test")["SuppressedDestination"]
    assert d["Reason"] == "BOUNCE" and d["LastUpdateTime"]
    got = c.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert sorted(x["EmailAddress"] for x in got) == ["angry@dest.test", "gone@dest.test"]
    got = c.list_suppressed_destinations(Reasons=["COMPLAINT"])["SuppressedDestinationSummaries"]
    assert [x["EmailAddress"] for x in got] == ["angry@dest.test"]
    got = c.list_suppressed_destinations(Reasons=["COMPLAINT", "BOUNCE"])[
        "SuppressedDestinationSummaries"]
    assert len(got) == 2
    page = c.list_suppressed_destinations(PageSize=1)
    assert len(page["SuppressedDestinationSummaries"]) == 1 and page["NextToken"]
    rest = c.list_suppressed_destinations(PageSize=1, NextToken=page["NextToken"])
    assert rest["SuppressedDestinationSummaries"][0]["EmailAddress"] == "gone@dest.test"
    c.delete_suppressed_destination(EmailAddress="gone@dest.test")
    code, _, status = err_of(lambda: c.get_suppressed_destination(EmailAddress="gone@dest.test"))
    assert (code, status) == ("NotFoundException", 404)
    code, _, _ = err_of(lambda: c.put_suppressed_destination(EmailAddress="x@dest.test",
                                                             Reason="OTHER"))
    assert code == "BadRequestException"
    # the CLI reads the same list
    out = json.loads(sesame.cli("suppression", "list", "--account", world.owner).stdout)
    assert [x["EmailAddress"] for x in out["SuppressedDestinations"]] == ["angry@dest.test"]


# ---- nodemailer (tests/js, installed by scripts/deps.sh) -----------------------------------

JS = os.path.join(os.path.dirname(__file__), "..", "js")


def nodemailer(sesame, key, frm, to, arn_=None):
    env = dict(os.environ, SESAME_ENDPOINT=sesame.endpoint, AWS_ACCESS_KEY_ID=key["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], MAIL_FROM=frm, MAIL_TO=to,
               MAIL_ARN=arn_ or "")
    p = subprocess.run(["node", "nodemailer_send.mjs"], cwd=JS, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_nodemailer_ses_transport(sesame, world):
    # scripts/deps.sh installs tests/js (npm ci) with the test toolchain
    assert os.path.isdir(os.path.join(JS, "node_modules", "nodemailer")), \
        "nodemailer missing: run scripts/deps.sh (npm ci in tests/js)"
    r = nodemailer(sesame, world.okey, f"Sender <sender@{DOMAIN}>", "rcpt@dest.test")
    assert r["ok"], r
    # nodemailer reports SES's MessageId as its response
    mid = r["response"]
    assert "Subject: hello from nodemailer" in conftest.raw_of(sesame, mid)
    # a delegate by ARN: refused without a policy, sent with one
    r = nodemailer(sesame, world.dkey, f"sender@{DOMAIN}", "rcpt@dest.test", arn(world.owner))
    assert not r["ok"] and r["name"] == "AccessDeniedException", r
    world.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="delegate",
                                          Policy=policy(world.owner, world.delegate))
    r = nodemailer(sesame, world.dkey, f"sender@{DOMAIN}", "rcpt@dest.test", arn(world.owner))
    assert r["ok"], r
    m = [x for x in messages(sesame) if x["MessageId"] == r["response"]][0]
    assert m["SendingAccountId"] == world.delegate


# ---- limits, sandbox, IAM users: the same decision as v1 -------------------------

def test_limits_in_v2_words(sesame):
    acct, key = sesame.principal("small", "--max-24h", "3", "--sandbox")
    conftest.verify(sesame, acct, DOMAIN)
    conftest.verify(sesame, acct, "rcpt@dest.test")  # sandbox: recipients verified
    c = v2(sesame, key)
    assert c.get_account()["ProductionAccessEnabled"] is False
    simple(c)
    code, msg, status = err_of(lambda: simple(c))  # 1 a second in the sandbox
    assert (code, status) == ("TooManyRequestsException", 429)
    assert msg == "Maximum sending rate exceeded."
    import time
    time.sleep(1.1)
    simple(c)
    time.sleep(1.1)
    simple(c)
    time.sleep(1.1)
    code, msg, status = err_of(lambda: simple(c))
    assert (code, msg, status) == ("LimitExceededException", "Daily message quota exceeded.", 400)
    assert c.get_account()["SendQuota"]["SentLast24Hours"] == 3.0
    # sandbox: an unverified recipient is refused as in v1
    code, _, _ = err_of(lambda: simple(c, to=("stranger@dest.test",)))
    assert code == "MessageRejected"  # the account check comes before the limits


def test_iam_user_policy_applies(sesame, tmp_path, world):
    def user(name, statements):
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
        sesame.cli("user", "create", "--account", world.owner, "--name", name, "--policy", str(f))
        return sesame.key(world.owner, "--user", name)
    reader = v2(sesame, user("reader", [{"Effect": "Allow", "Action": "ses:GetEmailIdentity",
                                         "Resource": arn(world.owner)}]))
    assert reader.get_email_identity(EmailIdentity=DOMAIN)["IdentityType"] == "DOMAIN"
    code, msg, status = err_of(lambda: reader.delete_email_identity(EmailIdentity=DOMAIN))
    assert (code, status) == ("AccessDeniedException", 403)
    assert "ses:DeleteEmailIdentity" in msg
    code, _, _ = err_of(lambda: reader.get_account())
    assert code == "AccessDeniedException"
    assert world.oc.get_email_identity(EmailIdentity=DOMAIN)  # still there
    # the resource of CreateEmailIdentity is named in the body
    maker = v2(sesame, user("maker", [{"Effect": "Allow", "Action": "ses:CreateEmailIdentity",
                                       "Resource": arn(world.owner, "new.test")}]))
    assert maker.create_email_identity(EmailIdentity="new.test")["IdentityType"] == "DOMAIN"
    code, _, _ = err_of(lambda: maker.create_email_identity(EmailIdentity="other.test"))
    assert code == "AccessDeniedException"


def test_aws_cli_error(sesame, world):
    p = sesame.aws(world.okey, "get-email-identity", "--email-identity", "nobody@none.test",
                   service="sesv2", check=False)
    assert p.returncode != 0
    assert "NotFoundException" in p.stderr


# ---- configuration sets -----------------------------------------------------------

def test_configuration_sets(sesame, world):
    c = world.oc
    c.create_configuration_set(ConfigurationSetName="cs1")
    code, _, _ = err_of(lambda: c.create_configuration_set(ConfigurationSetName="cs1"))
    assert code == "AlreadyExistsException"
    code, _, _ = err_of(lambda: c.create_configuration_set(ConfigurationSetName="bad name"))
    assert code == "BadRequestException"
    code, msg, _ = err_of(lambda: c.create_configuration_set(
        ConfigurationSetName="cs2", TrackingOptions={"CustomRedirectDomain": "t.example.com"}))
    assert code == "BadRequestException" and "not supported by sesame" in msg
    g = c.get_configuration_set(ConfigurationSetName="cs1")
    assert g["SendingOptions"]["SendingEnabled"] is True
    assert c.list_configuration_sets()["ConfigurationSets"] == ["cs1"]
    # v1 sees it; a send names it
    assert sesame.client(world.okey).describe_configuration_set(
        ConfigurationSetName="cs1")["ConfigurationSet"]["Name"] == "cs1"
    simple(c, ConfigurationSetName="cs1")
    c.put_configuration_set_sending_options(ConfigurationSetName="cs1", SendingEnabled=False)
    code, _, _ = err_of(lambda: simple(c, ConfigurationSetName="cs1"))
    assert code == "SendingPausedException"
    c.put_configuration_set_reputation_options(ConfigurationSetName="cs1",
                                               ReputationMetricsEnabled=True)
    assert c.get_configuration_set(ConfigurationSetName="cs1")["ReputationOptions"][
        "ReputationMetricsEnabled"] is True
    c.delete_configuration_set(ConfigurationSetName="cs1")
    code, _, status = err_of(lambda: c.get_configuration_set(ConfigurationSetName="cs1"))
    assert (code, status) == ("NotFoundException", 404)


# ---- identity attributes ------------------------------------------------------------

def test_identity_attributes(sesame, world):
    c = world.oc
    c.create_email_identity(EmailIdentity="attrs.test")
    c.put_email_identity_mail_from_attributes(EmailIdentity="attrs.test",
                                              MailFromDomain="bounce.attrs.test",
                                              BehaviorOnMxFailure="REJECT_MESSAGE")
    mf = c.get_email_identity(EmailIdentity="attrs.test")["MailFromAttributes"]
    assert mf == {"MailFromDomain": "bounce.attrs.test", "MailFromDomainStatus": "PENDING",
                  "BehaviorOnMxFailure": "REJECT_MESSAGE"}
    code, _, _ = err_of(lambda: c.put_email_identity_mail_from_attributes(
        EmailIdentity="attrs.test", MailFromDomain="elsewhere.test"))
    assert code == "BadRequestException"
    # v1 sees the same setting
    v1 = sesame.client(world.okey).get_identity_mail_from_domain_attributes(
        Identities=["attrs.test"])["MailFromDomainAttributes"]["attrs.test"]
    assert v1["MailFromDomain"] == "bounce.attrs.test" and v1["BehaviorOnMXFailure"] == "RejectMessage"
    c.put_email_identity_dkim_attributes(EmailIdentity="attrs.test", SigningEnabled=False)
    assert c.get_email_identity(EmailIdentity="attrs.test")["DkimAttributes"]["SigningEnabled"] is False
    c.put_email_identity_dkim_attributes(EmailIdentity="attrs.test", SigningEnabled=True)
    assert c.get_email_identity(EmailIdentity="attrs.test")["DkimAttributes"]["SigningEnabled"] is True
    # forwarding can only be turned off once bounce and complaint topics are set (v1's rule)
    code, _, _ = err_of(lambda: c.put_email_identity_feedback_attributes(
        EmailIdentity="attrs.test", EmailForwardingEnabled=False))
    assert code == "BadRequestException"
    c.put_email_identity_feedback_attributes(EmailIdentity="attrs.test", EmailForwardingEnabled=True)
    code, _, status = err_of(lambda: c.put_email_identity_dkim_attributes(
        EmailIdentity="none.test", SigningEnabled=True))
    assert (code, status) == ("NotFoundException", 404)


# ---- SendBulkEmail ------------------------------------------------------------------

def test_send_bulk_email(sesame, world):
    c = world.oc
    c.create_email_template(TemplateName="bulk", TemplateContent={
        "Subject": "Hi {{name}}", "Text": "Hello {{name}} from {{team}}"})
    r = c.send_bulk_email(
        FromEmailAddress=f"sender@{DOMAIN}",
        DefaultContent={"Template": {"TemplateName": "bulk",
                                     "TemplateData": json.dumps({"name": "you", "team": "ops"})}},
        DefaultEmailTags=[{"Name": "campaign", "Value": "bulk"}],
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["a@dest.test"]},
             "ReplacementEmailContent": {"ReplacementTemplate": {
                 "ReplacementTemplateData": json.dumps({"name": "Ada"})}},
             "ReplacementTags": [{"Name": "campaign", "Value": "ada"}]},
            {"Destination": {"ToAddresses": ["b@dest.test"]}},
            {"Destination": {"ToAddresses": ["not an address"]}},
        ])["BulkEmailEntryResults"]
    assert [x["Status"] for x in r] == ["SUCCESS", "SUCCESS", "INVALID_PARAMETER"]
    assert "Subject: Hi Ada" in conftest.raw_of(sesame, r[0]["MessageId"])
    assert "Hello Ada from ops" in conftest.raw_of(sesame, r[0]["MessageId"])
    assert "Subject: Hi you" in conftest.raw_of(sesame, r[1]["MessageId"])
    assert r[2]["Error"]
    code, _, status = err_of(lambda: c.send_bulk_email(
        FromEmailAddress=f"sender@{DOMAIN}",
        DefaultContent={"Template": {"TemplateName": "nope", "TemplateData": "{}"}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": ["a@dest.test"]}}]))
    assert (code, status) == ("NotFoundException", 404)
    # a delegate without a policy: each entry fails, the request answers
    world.dc.create_email_template(TemplateName="mine", TemplateContent={"Subject": "s",
                                                                         "Text": "t"})
    r = world.dc.send_bulk_email(
        FromEmailAddress=f"sender@{DOMAIN}", FromEmailAddressIdentityArn=arn(world.owner),
        DefaultContent={"Template": {"TemplateName": "mine", "TemplateData": "{}"}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": ["a@dest.test"]}}])
    assert r["BulkEmailEntryResults"][0]["Status"] == "FAILED"
    assert "not authorized" in r["BulkEmailEntryResults"][0]["Error"]
