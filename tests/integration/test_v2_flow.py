"""SES v2 end to end (issue 13): the seven steps of a delegated send done
entirely over v2 (boto3 `sesv2` and /usr/bin/aws sesv2), policies written by
one API version and enforced on the other (and ses:ApiVersion conditions),
nodemailer's SMTP transport sending delegated, v2 templates (SendBulkEmail to
50, RenderingFailure, golden TestRenderEmailTemplate renders), and every
operation sesame serves called through aws-cli with its answer's shape
checked."""
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

import conftest
import test_smtp as smtp
from conftest import events, link_for, messages, parts, raw_of
from test_v2 import DOMAIN, JS, arn, err_of, policy, simple, v2, world  # noqa: F401

SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
FLOW_DOMAIN = "flow.test"  # served by dnsmasq (conftest's dns_zone, zone "test")


def account_sent(client):
    return client.get_account()["SendQuota"]["SentLast24Hours"]


def wait_for(fn, timeout=20.0, interval=0.25):
    """Poll fn() until it is truthy; returns the last value."""
    deadline = time.time() + timeout
    v = fn()
    while not v and time.time() < deadline:
        time.sleep(interval)
        v = fn()
    return v


def found(sesame, mid):
    """The capture inbox's entry for mid (exactly one)."""
    got = [m for m in messages(sesame) if m["MessageId"] == mid]
    assert len(got) == 1, (mid, got)
    return got[0]


def v1_denied_message(sesame, dkey, frm, source_arn):
    """The AccessDenied message v1's SendEmail gives the same delegate."""
    c, msg, status = err_of(lambda: sesame.client(dkey).send_email(
        Source=frm, SourceArn=source_arn, Destination={"ToAddresses": ["rcpt@dest.test"]},
        Message={"Subject": {"Data": "v1"}, "Body": {"Text": {"Data": "v1"}}}))
    assert (c, status) == ("AccessDenied", 403)
    return msg


# ---- 1. the seven steps, boto3 sesv2 ---------------------------------------------

def test_seven_steps_boto3(sesame):
    owner, okey = sesame.principal("owner")
    delegate, dkey = sesame.principal("delegate")
    oc, dc = v2(sesame, okey), v2(sesame, dkey)
    addr = "billing@owner.test"
    ident_arn = arn(owner, addr)

    # (1) the owner creates the address identity; the link in the mail verifies it
    r = oc.create_email_identity(EmailIdentity=addr)
    assert (r["IdentityType"], r["VerifiedForSendingStatus"]) == ("EMAIL_ADDRESS", False)
    assert oc.get_email_identity(EmailIdentity=addr)["VerificationStatus"] == "PENDING"
    with urllib.request.urlopen(link_for(sesame, addr), timeout=10) as resp:
        assert resp.status == 200
    g = oc.get_email_identity(EmailIdentity=addr)
    assert (g["VerificationStatus"], g["VerifiedForSendingStatus"]) == ("SUCCESS", True)

    # (2) a sending-authorization policy for the delegate; (3) it is shown
    doc = policy(owner, delegate, SEND_ACTIONS, identity=addr)
    oc.create_email_identity_policy(EmailIdentity=addr, PolicyName="delegate", Policy=doc)
    got = oc.get_email_identity_policies(EmailIdentity=addr)["Policies"]
    assert list(got) == ["delegate"] and json.loads(got["delegate"]) == json.loads(doc)

    # (4) the delegate sends by ARN: delivered, charged to the delegate
    o_before, d_before = account_sent(oc), account_sent(dc)
    mid = simple(dc, frm=addr, FromEmailAddressIdentityArn=ident_arn)["MessageId"]
    m = found(sesame, mid)
    assert (m["SendingAccountId"], m["SourceArn"]) == (delegate, ident_arn)
    assert m["Destination"] == ["rcpt@dest.test"]
    assert "Subject: hello v2" in raw_of(sesame, mid)
    assert account_sent(dc) == d_before + 1
    assert account_sent(oc) == o_before

    # (5) without the ARN the address is not the delegate's
    code, msg, status = err_of(lambda: simple(dc, frm=addr))
    assert (code, status) == ("MessageRejected", 400)
    assert "not verified" in msg and addr in msg

    # (6) the owner deletes the policy
    oc.delete_email_identity_policy(EmailIdentity=addr, PolicyName="delegate")
    assert oc.get_email_identity_policies(EmailIdentity=addr)["Policies"] == {}

    # (7) the next delegated send is refused, in v1's words
    n = len(messages(sesame))
    code, msg, status = err_of(lambda: simple(dc, frm=addr, FromEmailAddressIdentityArn=ident_arn))
    assert (code, status) == ("AccessDeniedException", 403)
    assert msg == (f"User `arn:aws:iam::{delegate}:root' is not authorized to perform "
                   f"`ses:SendEmail' on resource `{ident_arn}'")
    assert msg == v1_denied_message(sesame, dkey, addr, ident_arn)
    assert len(messages(sesame)) == n
    assert account_sent(dc) == d_before + 1


# ---- 1. the seven steps, aws-cli sesv2, a domain verified by DNS -----------------

@pytest.fixture
def dns_sesame(tmp_path, dns_zone):
    data = tmp_path / "sesame"
    data.mkdir()
    s = conftest.Sesame(data, extra=["--dns", f"127.0.0.1:{dns_zone.port}"]).start()
    yield s
    s.stop()


def cli(sesame, key, *args, check=True):
    p = sesame.aws(key, *args, service="sesv2", check=check)
    return json.loads(p.stdout) if check and p.stdout.strip() else p


def cli_send(sesame, key, frm, ident_arn=None, check=True):
    args = ["send-email", "--from-email-address", frm,
            "--destination", "ToAddresses=rcpt@dest.test",
            "--content", "Simple={Subject={Data=cli flow},Body={Text={Data=hi}}}"]
    if ident_arn:
        args += ["--from-email-address-identity-arn", ident_arn]
    return cli(sesame, key, *args, check=check)


def cli_error(p, code):
    """The message of an aws-cli failure with error `code`."""
    assert p.returncode != 0
    m = re.search(r"An error occurred \((\w+)\) when calling the \w+ operation"
                  r"(?: \(reached max retries: \d+\))?: (.*)",
                  p.stderr.strip())
    assert m and m.group(1) == code, p.stderr
    return m.group(2)


def test_seven_steps_aws_cli(dns_sesame, dns_zone):
    s = dns_sesame
    owner, okey = s.principal("owner")
    delegate, dkey = s.principal("delegate")
    ident_arn = arn(owner, FLOW_DOMAIN)
    frm = f"news@{FLOW_DOMAIN}"

    # (1) CreateEmailIdentity of a domain; its DKIM records served → verified
    r = cli(s, okey, "create-email-identity", "--email-identity", FLOW_DOMAIN)
    assert (r["IdentityType"], r["VerifiedForSendingStatus"]) == ("DOMAIN", False)
    tokens = r["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3
    recs = s.cli_json("identity", "dkim-records", "--account", owner, "--region", "us-east-1",
                      FLOW_DOMAIN)["Records"]
    assert [x["Name"] for x in recs[:3]] == [f"{t}._domainkey.{FLOW_DOMAIN}" for t in tokens]
    dns_zone.add(txt=[(x["Name"], x["Value"]) for x in recs])

    def verified():
        g = cli(s, okey, "get-email-identity", "--email-identity", FLOW_DOMAIN)
        return g if g["VerifiedForSendingStatus"] else None
    g = wait_for(verified, timeout=25, interval=0.5)
    assert g, "the domain was not verified from DNS"
    assert (g["VerificationStatus"], g["DkimAttributes"]["Status"]) == ("SUCCESS", "SUCCESS")

    # (2) the policy; (3) shown
    doc = policy(owner, delegate, SEND_ACTIONS, identity=FLOW_DOMAIN)
    cli(s, okey, "create-email-identity-policy", "--email-identity", FLOW_DOMAIN,
        "--policy-name", "delegate", "--policy", doc)
    got = cli(s, okey, "get-email-identity-policies", "--email-identity", FLOW_DOMAIN)["Policies"]
    assert json.loads(got["delegate"]) == json.loads(doc)

    # (4) delegated send by ARN: delivered, the delegate's quota charged
    o_before = cli(s, okey, "get-account")["SendQuota"]["SentLast24Hours"]
    d_before = cli(s, dkey, "get-account")["SendQuota"]["SentLast24Hours"]
    mid = cli_send(s, dkey, frm, ident_arn)["MessageId"]
    m = found(s, mid)
    assert (m["SendingAccountId"], m["SourceArn"]) == (delegate, ident_arn)
    assert "Subject: cli flow" in raw_of(s, mid)
    assert cli(s, dkey, "get-account")["SendQuota"]["SentLast24Hours"] == d_before + 1
    assert cli(s, okey, "get-account")["SendQuota"]["SentLast24Hours"] == o_before

    # (5) no ARN: refused
    assert "not verified" in cli_error(cli_send(s, dkey, frm, check=False), "MessageRejected")

    # (6) DeleteEmailIdentityPolicy; (7) refused with v1's words
    cli(s, okey, "delete-email-identity-policy", "--email-identity", FLOW_DOMAIN,
        "--policy-name", "delegate")
    assert cli(s, okey, "get-email-identity-policies",
               "--email-identity", FLOW_DOMAIN)["Policies"] == {}
    msg = cli_error(cli_send(s, dkey, frm, ident_arn, check=False), "AccessDeniedException")
    assert msg == v1_denied_message(s, dkey, frm, ident_arn)
    assert "ses:SendEmail" in msg and ident_arn in msg


# ---- 2. policies across API versions ------------------------------------------------

def v1_send(sesame, key, source_arn=None):
    kw = {"SourceArn": source_arn} if source_arn else {}
    return sesame.client(key).send_email(
        Source=f"sender@{DOMAIN}", Destination={"ToAddresses": ["rcpt@dest.test"]},
        Message={"Subject": {"Data": "v1 send"}, "Body": {"Text": {"Data": "v1"}}},
        **kw)["MessageId"]


def test_policy_of_one_version_enforced_on_the_other(sesame, world):
    w, ident = world, arn(world.owner)
    v1 = sesame.client(w.okey)
    # v1 PutIdentityPolicy → a v2 send
    v1.put_identity_policy(Identity=DOMAIN, PolicyName="v1pol",
                           Policy=policy(w.owner, w.delegate, SEND_ACTIONS))
    mid = simple(w.dc, FromEmailAddressIdentityArn=ident)["MessageId"]
    assert found(sesame, mid)["SendingAccountId"] == w.delegate
    v1.delete_identity_policy(Identity=DOMAIN, PolicyName="v1pol")
    code, _, _ = err_of(lambda: simple(w.dc, FromEmailAddressIdentityArn=ident))
    assert code == "AccessDeniedException"
    # v2 CreateEmailIdentityPolicy → a v1 send
    v1_denied_message(sesame, w.dkey, f"sender@{DOMAIN}", ident)
    w.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="v2pol",
                                      Policy=policy(w.owner, w.delegate, SEND_ACTIONS))
    assert v1.list_identity_policies(Identity=DOMAIN)["PolicyNames"] == ["v2pol"]
    mid = v1_send(sesame, w.dkey, ident)
    m = found(sesame, mid)
    assert (m["SendingAccountId"], m["SourceArn"]) == (w.delegate, ident)
    w.oc.delete_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="v2pol")
    v1_denied_message(sesame, w.dkey, f"sender@{DOMAIN}", ident)


@pytest.mark.parametrize("version", ["1", "2"])
def test_api_version_condition(sesame, world, version):
    w, ident = world, arn(world.owner)
    w.oc.create_email_identity_policy(
        EmailIdentity=DOMAIN, PolicyName="only",
        Policy=policy(w.owner, w.delegate, SEND_ACTIONS,
                      condition={"StringEquals": {"ses:ApiVersion": version}}))
    send_v1 = lambda: v1_send(sesame, w.dkey, ident)  # noqa: E731
    send_v2 = lambda: simple(w.dc, FromEmailAddressIdentityArn=ident)["MessageId"]  # noqa: E731
    allowed, denied = (send_v1, send_v2) if version == "1" else (send_v2, send_v1)
    found(sesame, allowed())
    code, msg, status = err_of(denied)
    assert code in ("AccessDenied", "AccessDeniedException") and status == 403
    assert "is not authorized to perform `ses:SendEmail'" in msg
    # SMTP submission is v2 (SES documents it as v2 SendRawEmail)
    msg = smtp.message(extra=(f"X-SES-SOURCE-ARN: {ident}",))
    with smtp.starttls(sesame, w.dkey) as c:
        code, text = smtp.send(c, msg=msg)
    assert code == (250 if version == "2" else 554), text


def test_raw_content_arn_headers_and_the_member(sesame, world):
    w, ident = world, arn(world.owner)
    w.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="raw",
                                      Policy=policy(w.owner, w.delegate))

    def raw(header_arn):
        return (f"X-SES-SOURCE-ARN: {header_arn}\r\nX-SES-FROM-ARN: {header_arn}\r\n"
                f"From: sender@{DOMAIN}\r\nTo: rcpt@dest.test\r\nSubject: raw arn\r\n\r\n"
                "body\r\n").encode()
    # the headers alone name the identity (ses:SendEmail is v2's action for Raw too)
    mid = w.dc.send_email(Content={"Raw": {"Data": raw(ident)}})["MessageId"]
    m = found(sesame, mid)
    assert (m["SendingAccountId"], m["SourceArn"]) == (w.delegate, ident)
    assert "X-SES" not in raw_of(sesame, mid).upper()
    # the member wins over headers naming an identity that is not there
    other = arn("111111111111")
    code, _, _ = err_of(lambda: w.dc.send_email(Content={"Raw": {"Data": raw(other)}}))
    assert code == "MessageRejected"  # as v1's SendRawEmail with those headers
    mid = w.dc.send_email(FromEmailAddressIdentityArn=ident,
                          Content={"Raw": {"Data": raw(other)}})["MessageId"]
    assert found(sesame, mid)["SourceArn"] == ident


# ---- 3. nodemailer's SMTP transport: STARTTLS, AUTH, a delegated send ------------------

def nodemailer_smtp(sesame, key, frm, to, arn_=None):
    env = dict(os.environ, SMTP_PORT=str(sesame.smtp_port), SMTP_USER=key["SmtpUsername"],
               SMTP_PASS=key["SmtpPasswords"]["us-east-1"],
               SMTP_CA=os.path.join(sesame.data, "smtp-cert.pem"),
               MAIL_FROM=frm, MAIL_TO=to, MAIL_ARN=arn_ or "")
    p = subprocess.run(["node", "nodemailer_smtp.mjs"], cwd=JS, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_nodemailer_smtp_delegated(sesame, world):
    assert os.path.isdir(os.path.join(JS, "node_modules", "nodemailer")), \
        "nodemailer missing: run scripts/deps.sh (npm ci in tests/js)"
    ident = arn(world.owner)
    # no policy: 554 Access denied, nothing delivered
    r = nodemailer_smtp(sesame, world.dkey, f"sender@{DOMAIN}", "rcpt@dest.test", ident)
    assert not r["ok"] and r["responseCode"] == 554, r
    assert "Access denied" in r["message"] and "ses:SendRawEmail" in r["message"]
    assert messages(sesame) == []
    world.oc.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="smtp",
                                          Policy=policy(world.owner, world.delegate,
                                                        ("ses:SendRawEmail",)))
    before = account_sent(world.dc)
    r = nodemailer_smtp(sesame, world.dkey, f"Sender <sender@{DOMAIN}>", "rcpt@dest.test", ident)
    assert r["ok"], r
    mid = re.fullmatch(r"250 Ok (\S+)", r["response"]).group(1)
    m = found(sesame, mid)
    assert (m["SendingAccountId"], m["SourceArn"]) == (world.delegate, ident)
    raw = raw_of(sesame, mid)
    assert "Subject: hello from nodemailer smtp" in raw
    assert "X-SES" not in raw.upper()
    assert account_sent(world.dc) == before + 1


# ---- 4. v2 templates ------------------------------------------------------------------

def test_send_bulk_email_fifty_each_its_own_data(sesame):
    owner, key = sesame.principal("bulk", "--max-rate", "100")
    conftest.verify(sesame, owner, DOMAIN)
    c = v2(sesame, key)
    c.create_email_template(TemplateName="bulk", TemplateContent={
        "Subject": "For {{name}}", "Text": "Hi {{name}} from {{shop}}, code {{code}}",
        "Html": "<i>{{name}}</i> {{shop}}"})
    entries = [{"Destination": {"ToAddresses": [f"u{i}@dest.test"]},
                "ReplacementEmailContent": {"ReplacementTemplate": {
                    "ReplacementTemplateData": json.dumps({"name": f"user<{i}>", "code": i})}}}
               for i in range(50)]
    r = c.send_bulk_email(FromEmailAddress=f"shop@{DOMAIN}",
                          DefaultContent={"Template": {
                              "TemplateName": "bulk",
                              "TemplateData": json.dumps({"shop": "S", "code": 0})}},
                          BulkEmailEntries=entries)["BulkEmailEntryResults"]
    assert len(r) == 50 and all(x["Status"] == "SUCCESS" for x in r), r
    conftest.check_bulk_fifty(sesame, [x["MessageId"] for x in r],
                              lambda i: f"<i>user&lt;{i}&gt;</i> S")
    assert account_sent(c) == 50


def test_template_send_missing_attribute_is_a_rendering_failure(sesame, world):
    c = world.oc
    c.create_email_template(TemplateName="greet", TemplateContent={
        "Subject": "Hi {{name}}", "Text": "Hello {{name}}, {{city}}"})
    mid = c.send_email(FromEmailAddress=f"sender@{DOMAIN}",
                       Destination={"ToAddresses": ["rcpt@dest.test"]},
                       Content={"Template": {"TemplateName": "greet",
                                             "TemplateData": json.dumps({"name": "Ada"})}})[
        "MessageId"]
    assert mid
    evs = wait_for(lambda: events(sesame, mid))
    assert [e["Type"] for e in evs] == ["RenderingFailure"], evs
    assert evs[0]["Detail"] == {"templateName": "greet",
                                "errorMessage": "Attribute 'city' is not present in the "
                                                "rendering data."}
    assert messages(sesame) == []


def test_template_errors_name_v2_members(sesame, world):
    c = world.oc
    code, msg, status = err_of(lambda: c.create_email_template(
        TemplateName="bad", TemplateContent={"Subject": "ok", "Html": "{{#if x}}open"}))
    assert (code, status) == ("BadRequestException", 400)
    assert msg.startswith("TemplateContent.Html: ") and "never closed" in msg
    c.create_email_template(TemplateName="good", TemplateContent={"Subject": "ok"})
    code, msg, _ = err_of(lambda: c.update_email_template(
        TemplateName="good", TemplateContent={"Subject": "{{name"}))
    assert code == "BadRequestException" and msg.startswith("TemplateContent.Subject: ")
    # v1 keeps its own member names
    code, msg, _ = err_of(lambda: sesame.client(world.okey).create_template(
        Template={"TemplateName": "bad", "TextPart": "{{/if}}"}))
    assert code == "InvalidTemplate" and msg.startswith("TextPart: ")


GOLDEN = {
    "Subject": "Order {{order.id}} for {{customer.name}}",
    "Text": "Dear {{customer.name}},\n"
            "{{#if customer.vip}}VIP thanks{{else}}Thanks{{/if}}.\n"
            "{{#each items}}{{@index}}. {{title}} x{{qty}}\n{{/each}}"
            "Ship to {{customer.address.city}}",
    "Html": "<p>{{customer.name}}</p>{{{banner}}}"
            "<ul>{{#each items}}<li>{{title}}</li>{{/each}}</ul>"
            "{{#if note}}<em>{{note}}</em>{{else}}<em>none</em>{{/if}}",
}
GOLDEN_DATA = {
    "order": {"id": 42},
    "customer": {"name": "Ana & <Bo>", "vip": True, "address": {"city": "Lisboa"}},
    "banner": "<b>sale</b>",
    "items": [{"title": "Cup", "qty": 2}, {"title": "Tea \"green\"", "qty": 1}],
}


@pytest.mark.parametrize("data,subject,text,html", [
    (GOLDEN_DATA, "Order 42 for Ana & <Bo>",
     "Dear Ana & <Bo>,\nVIP thanks.\n0. Cup x2\n1. Tea \"green\" x1\nShip to Lisboa",
     "<p>Ana &amp; &lt;Bo&gt;</p><b>sale</b>"
     "<ul><li>Cup</li><li>Tea &quot;green&quot;</li></ul><em>none</em>"),
    (dict(GOLDEN_DATA, customer={"name": "Cy", "vip": False, "address": {"city": "Porto"}},
          items=[], note="a < b"),
     "Order 42 for Cy", "Dear Cy,\nThanks.\nShip to Porto",
     "<p>Cy</p><b>sale</b><ul></ul><em>a &lt; b</em>"),
], ids=["vip", "plain"])
def test_test_render_email_template_golden(sesame, world, data, subject, text, html):
    c = world.oc
    c.create_email_template(TemplateName="golden", TemplateContent=GOLDEN)
    out = c.test_render_email_template(TemplateName="golden",
                                       TemplateData=json.dumps(data))["RenderedTemplate"]
    got = parts(out)
    assert got[0] == subject
    assert got[1].replace("\r\n", "\n").rstrip("\n") == text
    assert got[2].replace("\r\n", "\n").rstrip("\n") == html


# ---- 5. aws-cli sesv2 for every operation sesame serves --------------------------------------

ACT_V2 = os.path.join(os.path.dirname(__file__), "..", "..", "src", "api", "act_v2.c")
# operations being added beside this file, tested by their own tests
TESTED_ELSEWHERE = {
    "CreateConfigurationSetEventDestination",
    "GetConfigurationSetEventDestinations", "UpdateConfigurationSetEventDestination",
    "DeleteConfigurationSetEventDestination", "PutEmailIdentityConfigurationSetAttributes",
    "PutAccountSuppressionAttributes", "PutConfigurationSetSuppressionOptions",
}  # test_v2_ops.py calls these through boto3 sesv2 and aws-cli


def served_operations():
    """The operation names of act_v2.c's table."""
    src = open(ACT_V2).read()
    table = src[src.index("v2_actions[] = {"):src.index("const struct api_service api_sesv2")]
    return set(re.findall(r'\{"(\w+)",', table))


def model():
    import botocore.session
    return botocore.session.get_session().get_service_model("sesv2")


def conforms(shape, v, where):
    """Check aws-cli's JSON rendering of an answer against botocore's output
    shape: no member the model does not have, enums within the model's
    values, each value of its shape's type."""
    t = shape.type_name
    if t == "structure":
        assert isinstance(v, dict), where
        extra = set(v) - set(shape.members)
        assert not extra, f"{where}: members not in the model: {extra}"
        for k, x in v.items():
            conforms(shape.members[k], x, f"{where}.{k}")
    elif t == "list":
        assert isinstance(v, list), where
        for i, x in enumerate(v):
            conforms(shape.member, x, f"{where}[{i}]")
    elif t == "map":
        assert isinstance(v, dict), where
        for k, x in v.items():
            conforms(shape.value, x, f"{where}[{k}]")
    elif t == "boolean":
        assert isinstance(v, bool), where
    elif t in ("integer", "long", "double", "float"):
        assert isinstance(v, (int, float)) and not isinstance(v, bool), where
    elif t in ("string", "timestamp", "blob"):
        assert isinstance(v, str), where
        enum = getattr(shape, "enum", None)
        if enum:
            assert v in enum, f"{where}: {v!r} not one of {enum}"


def cli_ok(s, key, op, *args):
    """Call `aws sesv2 <op>` and return its JSON answer ({} when empty),
    checked against the operation's output shape in botocore's model."""
    cmd = re.sub(r"(?<!^)(?=[A-Z])", "-", op).lower()
    p = s.aws(key, cmd, *args, service="sesv2")
    CALLED.add(op)
    out = json.loads(p.stdout) if p.stdout.strip() else {}
    shape = model().operation_model(op).output_shape
    if shape is not None:
        conforms(shape, out, op)
    else:
        assert out == {}, (op, out)
    return out


CALLED = set()


def ops_account(s, key):
    a = cli_ok(s, key, "GetAccount")
    assert a["SendQuota"]["Max24HourSend"] > 0 and a["SendingEnabled"] is True
    assert a["EnforcementStatus"] == "HEALTHY" and "ProductionAccessEnabled" in a
    assert cli_ok(s, key, "PutAccountSendingAttributes", "--no-sending-enabled") == {}
    assert cli_ok(s, key, "GetAccount")["SendingEnabled"] is False
    cli_ok(s, key, "PutAccountSendingAttributes", "--sending-enabled")
    r = cli_ok(s, key, "SendEmail", "--from-email-address", f"a@{DOMAIN}",
               "--destination", "ToAddresses=rcpt@dest.test",
               "--content", "Simple={Subject={Data=s},Body={Text={Data=t}}}")
    assert r["MessageId"]
    cli_ok(s, key, "CreateEmailTemplate", "--template-name", "t",
           "--template-content", json.dumps({"Subject": "Hi {{n}}", "Text": "Hello {{n}}"}))
    r = cli_ok(s, key, "SendBulkEmail", "--from-email-address", f"a@{DOMAIN}",
               "--default-content",
               json.dumps({"Template": {"TemplateName": "t", "TemplateData": '{"n":"x"}'}}),
               "--bulk-email-entries",
               json.dumps([{"Destination": {"ToAddresses": ["b@dest.test"]}}]))
    assert r["BulkEmailEntryResults"][0]["Status"] == "SUCCESS"
    assert r["BulkEmailEntryResults"][0]["MessageId"]


def ops_identities(s, key):
    r = cli_ok(s, key, "CreateEmailIdentity", "--email-identity", "ops.test")
    assert r["IdentityType"] == "DOMAIN" and len(r["DkimAttributes"]["Tokens"]) == 3
    g = cli_ok(s, key, "GetEmailIdentity", "--email-identity", "ops.test")
    assert g["VerificationStatus"] == "PENDING" and "MailFromAttributes" in g
    names = [i["IdentityName"] for i in cli_ok(s, key, "ListEmailIdentities")["EmailIdentities"]]
    assert "ops.test" in names
    assert cli_ok(s, key, "PutEmailIdentityDkimAttributes", "--email-identity", "ops.test",
                  "--no-signing-enabled") == {}
    assert cli_ok(s, key, "GetEmailIdentity", "--email-identity", "ops.test")[
        "DkimAttributes"]["SigningEnabled"] is False
    # BYODKIM and back (test_byodkim.py has the DNS check and the signing)
    from test_byodkim import Key
    k = Key()
    r = cli_ok(s, key, "PutEmailIdentityDkimSigningAttributes", "--email-identity", "ops.test",
               "--signing-attributes-origin", "EXTERNAL", "--signing-attributes",
               json.dumps({"DomainSigningSelector": "ops1", "DomainSigningPrivateKey": k.b64}))
    assert r == {"DkimStatus": "PENDING", "DkimTokens": ["ops1"]}
    assert cli_ok(s, key, "GetEmailIdentity", "--email-identity", "ops.test")[
        "DkimAttributes"]["SigningAttributesOrigin"] == "EXTERNAL"
    r = cli_ok(s, key, "PutEmailIdentityDkimSigningAttributes", "--email-identity", "ops.test",
               "--signing-attributes-origin", "AWS_SES")
    assert len(r["DkimTokens"]) == 3
    cli_ok(s, key, "PutEmailIdentityMailFromAttributes", "--email-identity", "ops.test",
           "--mail-from-domain", "bounce.ops.test")
    assert cli_ok(s, key, "GetEmailIdentity", "--email-identity", "ops.test")[
        "MailFromAttributes"]["MailFromDomain"] == "bounce.ops.test"
    # feedback forwarding off needs a notification topic in SES; back on always works
    cli_ok(s, key, "PutEmailIdentityFeedbackAttributes", "--email-identity", "ops.test",
           "--email-forwarding-enabled")
    assert cli_ok(s, key, "GetEmailIdentity", "--email-identity", "ops.test")[
        "FeedbackForwardingStatus"] is True
    doc = policy(key["AccountId"], "123456789012", identity="ops.test")
    cli_ok(s, key, "CreateEmailIdentityPolicy", "--email-identity", "ops.test",
           "--policy-name", "p", "--policy", doc)
    cli_ok(s, key, "UpdateEmailIdentityPolicy", "--email-identity", "ops.test",
           "--policy-name", "p", "--policy", doc)
    pol = cli_ok(s, key, "GetEmailIdentityPolicies", "--email-identity", "ops.test")["Policies"]
    assert json.loads(pol["p"]) == json.loads(doc)
    cli_ok(s, key, "DeleteEmailIdentityPolicy", "--email-identity", "ops.test",
           "--policy-name", "p")
    assert cli_ok(s, key, "DeleteEmailIdentity", "--email-identity", "ops.test") == {}
    p = s.aws(key, "get-email-identity", "--email-identity", "ops.test", service="sesv2",
              check=False)
    cli_error(p, "NotFoundException")


def ops_templates(s, key):
    cli_ok(s, key, "CreateEmailTemplate", "--template-name", "w",
           "--template-content",
           json.dumps({"Subject": "Hi {{n}}", "Text": "Hello {{n}}", "Html": "<b>{{n}}</b>"}))
    g = cli_ok(s, key, "GetEmailTemplate", "--template-name", "w")
    assert g["TemplateName"] == "w" and g["TemplateContent"]["Html"] == "<b>{{n}}</b>"
    cli_ok(s, key, "UpdateEmailTemplate", "--template-name", "w",
           "--template-content", json.dumps({"Subject": "Hey {{n}}", "Text": "Hello {{n}}"}))
    meta = cli_ok(s, key, "ListEmailTemplates")["TemplatesMetadata"]
    assert [m["TemplateName"] for m in meta] == ["w"] and meta[0]["CreatedTimestamp"]
    r = cli_ok(s, key, "TestRenderEmailTemplate", "--template-name", "w",
               "--template-data", '{"n": "Bo"}')
    assert "Subject: Hey Bo" in r["RenderedTemplate"]
    assert cli_ok(s, key, "DeleteEmailTemplate", "--template-name", "w") == {}


def ops_suppression(s, key):
    assert cli_ok(s, key, "PutSuppressedDestination", "--email-address", "gone@dest.test",
                  "--reason", "BOUNCE") == {}
    d = cli_ok(s, key, "GetSuppressedDestination", "--email-address", "gone@dest.test")
    assert d["SuppressedDestination"]["Reason"] == "BOUNCE"
    assert d["SuppressedDestination"]["LastUpdateTime"]
    got = cli_ok(s, key, "ListSuppressedDestinations", "--reasons", "BOUNCE")
    assert [x["EmailAddress"] for x in got["SuppressedDestinationSummaries"]] == ["gone@dest.test"]
    cli_ok(s, key, "DeleteSuppressedDestination", "--email-address", "gone@dest.test")
    assert cli_ok(s, key, "ListSuppressedDestinations")["SuppressedDestinationSummaries"] == []


def ops_configuration_sets(s, key):
    assert cli_ok(s, key, "CreateConfigurationSet", "--configuration-set-name", "cs") == {}
    g = cli_ok(s, key, "GetConfigurationSet", "--configuration-set-name", "cs")
    assert g["ConfigurationSetName"] == "cs" and g["SendingOptions"]["SendingEnabled"] is True
    assert cli_ok(s, key, "ListConfigurationSets")["ConfigurationSets"] == ["cs"]
    cli_ok(s, key, "PutConfigurationSetSendingOptions", "--configuration-set-name", "cs",
           "--no-sending-enabled")
    cli_ok(s, key, "PutConfigurationSetReputationOptions", "--configuration-set-name", "cs",
           "--reputation-metrics-enabled")
    g = cli_ok(s, key, "GetConfigurationSet", "--configuration-set-name", "cs")
    assert g["SendingOptions"]["SendingEnabled"] is False
    assert g["ReputationOptions"]["ReputationMetricsEnabled"] is True
    assert cli_ok(s, key, "DeleteConfigurationSet", "--configuration-set-name", "cs") == {}


GROUPS = {
    "account": (ops_account, {"GetAccount", "PutAccountSendingAttributes", "SendEmail",
                              "CreateEmailTemplate", "SendBulkEmail"}),
    "identities": (ops_identities, {
        "CreateEmailIdentity", "GetEmailIdentity", "ListEmailIdentities",
        "PutEmailIdentityDkimAttributes", "PutEmailIdentityDkimSigningAttributes",
        "PutEmailIdentityMailFromAttributes",
        "PutEmailIdentityFeedbackAttributes", "CreateEmailIdentityPolicy",
        "UpdateEmailIdentityPolicy", "GetEmailIdentityPolicies", "DeleteEmailIdentityPolicy",
        "DeleteEmailIdentity"}),
    "templates": (ops_templates, {"CreateEmailTemplate", "GetEmailTemplate",
                                  "UpdateEmailTemplate", "ListEmailTemplates",
                                  "TestRenderEmailTemplate", "DeleteEmailTemplate"}),
    "suppression": (ops_suppression, {"PutSuppressedDestination", "GetSuppressedDestination",
                                      "ListSuppressedDestinations",
                                      "DeleteSuppressedDestination"}),
    "configuration_sets": (ops_configuration_sets, {
        "CreateConfigurationSet", "GetConfigurationSet", "ListConfigurationSets",
        "PutConfigurationSetSendingOptions", "PutConfigurationSetReputationOptions",
        "DeleteConfigurationSet"}),
}


def test_every_served_operation_has_an_aws_cli_check():
    covered = set().union(*(ops for _, ops in GROUPS.values()))
    served = served_operations()
    assert covered <= served, covered - served
    assert served - covered <= TESTED_ELSEWHERE, \
        f"operations served but not called through aws-cli here: {served - covered - TESTED_ELSEWHERE}"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_aws_cli_operations(sesame, world, group):
    fn, ops = GROUPS[group]
    CALLED.clear()
    fn(sesame, world.okey)
    assert CALLED == ops, (CALLED ^ ops)
