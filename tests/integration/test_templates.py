"""Email templates end to end with boto3 (and aws-cli): Create/Get/Update/
Delete/ListTemplates round trips and SES's errors, TestRenderTemplate's
MIME, SendTemplatedEmail delivered to the capture inbox with the rendered
parts, a bulk send of 50 destinations each with its own data, a delegate
using its own template (never the owner's) when sending as the owner's
identity, and a missing attribute: accepted, nothing delivered, one
RenderingFailure event."""
import json
import time


import conftest
from conftest import err_of, events, messages, parts, raw_of

REGION = "us-east-1"
DOMAIN = "example.com"


def owner(sesame, name="owner", *flags):
    acct, key = sesame.principal(name, *flags)
    conftest.verify(sesame, acct, DOMAIN)
    return acct, key, sesame.client(key)


WELCOME = {
    "TemplateName": "welcome",
    "SubjectPart": "Hello {{name}}",
    "TextPart": "Dear {{name}}, {{#if vip}}thanks for being VIP{{else}}welcome{{/if}}.\n"
                "{{#each items}}- {{this.title}} x{{qty}}\n{{/each}}",
    "HtmlPart": "<p>Dear {{name}}</p><p>{{{banner}}}</p>"
                "<ul>{{#each items}}<li>{{@index}}: {{title}}</li>{{/each}}</ul>",
}
DATA = {"name": "Ana & <Bo>", "vip": True, "banner": "<b>sale</b>",
        "items": [{"title": "Cup", "qty": 2}, {"title": "Tea \"green\"", "qty": 1}]}


# ---- CRUD ---------------------------------------------------------------------

def test_crud_round_trip(sesame):
    _, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    got = ses.get_template(TemplateName="welcome")["Template"]
    assert got == WELCOME
    # AlreadyExists for the same name
    code, msg, status = err_of(lambda: ses.create_template(Template=WELCOME))
    assert (code, status) == ("AlreadyExists", 400)
    assert "welcome" in msg
    # update replaces the parts
    ses.update_template(Template={"TemplateName": "welcome", "SubjectPart": "New {{x}}",
                                  "TextPart": "t"})
    got = ses.get_template(TemplateName="welcome")["Template"]
    assert got == {"TemplateName": "welcome", "SubjectPart": "New {{x}}", "TextPart": "t"}
    # list with metadata
    meta = ses.list_templates()["TemplatesMetadata"]
    assert [m["Name"] for m in meta] == ["welcome"]
    assert abs(meta[0]["CreatedTimestamp"].timestamp() - time.time()) < 120
    # delete; then gone
    ses.delete_template(TemplateName="welcome")
    code, msg, status = err_of(lambda: ses.get_template(TemplateName="welcome"))
    assert (code, status) == ("TemplateDoesNotExist", 400)
    assert msg == "Template welcome does not exist."
    ses.delete_template(TemplateName="welcome")  # absent: fine, as SES
    assert ses.list_templates()["TemplatesMetadata"] == []


def test_errors(sesame):
    _, _, ses = owner(sesame)
    code, msg, _ = err_of(lambda: ses.update_template(
        Template={"TemplateName": "absent", "SubjectPart": "x"}))
    assert code == "TemplateDoesNotExist"
    code, msg, status = err_of(lambda: ses.create_template(
        Template={"TemplateName": "bad", "SubjectPart": "Hi", "HtmlPart": "{{#if x}}open"}))
    assert (code, status) == ("InvalidTemplate", 400)
    assert "HtmlPart" in msg and "never closed" in msg
    code, msg, _ = err_of(lambda: ses.create_template(
        Template={"TemplateName": "bad", "TextPart": "{{name"}))
    assert code == "InvalidTemplate"
    code, _, _ = err_of(lambda: ses.create_template(
        Template={"TemplateName": "bad name!", "TextPart": "x"}))
    assert code == "InvalidParameterValue"
    # nothing was stored by the failures
    assert ses.list_templates()["TemplatesMetadata"] == []
    # 500 KB: the limit is fine, one byte more is not
    ses.create_template(Template={"TemplateName": "big", "TextPart": "a" * 512000})
    code, msg, _ = err_of(lambda: ses.create_template(
        Template={"TemplateName": "big2", "TextPart": "a" * 512001}))
    assert code == "InvalidTemplate"
    # an update that does not compile leaves the template as it was
    code, _, _ = err_of(lambda: ses.update_template(
        Template={"TemplateName": "big", "TextPart": "{{/if}}"}))
    assert code == "InvalidTemplate"
    assert len(ses.get_template(TemplateName="big")["Template"]["TextPart"]) == 512000


def test_list_paging_and_accounts_apart(sesame):
    _, _, ses = owner(sesame)
    _, _, other = owner(sesame, "other")
    for i in range(12):
        ses.create_template(Template={"TemplateName": f"t{i:02d}", "TextPart": "x"})
    other.create_template(Template={"TemplateName": "mine", "TextPart": "y"})
    r = ses.list_templates()  # SES's default page: 10
    assert [m["Name"] for m in r["TemplatesMetadata"]] == [f"t{i:02d}" for i in range(10)]
    r2 = ses.list_templates(NextToken=r["NextToken"], MaxItems=5)
    assert [m["Name"] for m in r2["TemplatesMetadata"]] == ["t10", "t11"]
    assert "NextToken" not in r2
    r = ses.list_templates(MaxItems=12)
    assert len(r["TemplatesMetadata"]) == 12 and "NextToken" not in r
    assert [m["Name"] for m in other.list_templates()["TemplatesMetadata"]] == ["mine"]
    code, _, _ = err_of(lambda: other.get_template(TemplateName="t00"))
    assert code == "TemplateDoesNotExist"


def test_aws_cli(sesame, tmp_path):
    acct, key, ses = owner(sesame)
    p = sesame.aws(key, "create-template", "--template",
                   json.dumps({"TemplateName": "cli", "SubjectPart": "Hi {{n}}",
                               "TextPart": "T {{n}}"}))
    assert p.returncode == 0
    out = json.loads(sesame.aws(key, "test-render-template", "--template-name", "cli",
                                "--template-data", '{"n": "you"}').stdout)
    assert "Subject: Hi you" in out["RenderedTemplate"]
    assert "T you" in out["RenderedTemplate"]
    got = json.loads(sesame.aws(key, "list-templates").stdout)
    assert [m["Name"] for m in got["TemplatesMetadata"]] == ["cli"]


# ---- TestRenderTemplate -------------------------------------------------------

def test_render_golden(sesame):
    _, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    out = ses.test_render_template(TemplateName="welcome",
                                   TemplateData=json.dumps(DATA))["RenderedTemplate"]
    assert "\r\nMIME-Version: 1.0\r\n" in out
    assert "multipart/alternative" in out
    subject, text, html = parts(out)
    assert subject == "Hello Ana & <Bo>"  # subject and text are not escaped
    assert text.replace("\r\n", "\n") == ("Dear Ana & <Bo>, thanks for being VIP.\n"
                                          "- Cup x2\n- Tea \"green\" x1\n")
    assert html.replace("\r\n", "\n").rstrip("\n") == (
        "<p>Dear Ana &amp; &lt;Bo&gt;</p><p><b>sale</b></p>"
        "<ul><li>0: Cup</li><li>1: Tea &quot;green&quot;</li></ul>")


def test_render_errors(sesame):
    _, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    code, msg, status = err_of(lambda: ses.test_render_template(
        TemplateName="welcome", TemplateData='{"vip": false, "items": []}'))
    assert (code, status) == ("MissingRenderingAttribute", 400)
    assert msg == "Attribute 'name' is not present in the rendering data."
    code, _, _ = err_of(lambda: ses.test_render_template(
        TemplateName="welcome", TemplateData='{"name": '))
    assert code == "InvalidRenderingParameter"
    code, _, _ = err_of(lambda: ses.test_render_template(
        TemplateName="welcome", TemplateData='["not", "an", "object"]'))
    assert code == "InvalidRenderingParameter"
    code, _, _ = err_of(lambda: ses.test_render_template(
        TemplateName="absent", TemplateData="{}"))
    assert code == "TemplateDoesNotExist"


# ---- sending ------------------------------------------------------------------

def test_send_templated_delivered(sesame):
    acct, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    r = ses.send_templated_email(
        Source=f"Shop <shop@{DOMAIN}>", Destination={"ToAddresses": ["ana@dest.test"],
                                                     "CcAddresses": ["cc@dest.test"]},
        ReplyToAddresses=[f"help@{DOMAIN}"],
        Template="welcome", TemplateData=json.dumps(DATA))
    mid = r["MessageId"]
    (m,) = messages(sesame)
    assert m["MessageId"] == mid
    assert m["Subject"] == "Hello Ana & <Bo>"
    assert m["Destination"] == ["ana@dest.test", "cc@dest.test"]
    raw = raw_of(sesame, mid)
    assert "\r\nTo: ana@dest.test\r\n" in raw and "Reply-To: help@example.com" in raw
    subject, text, html = parts(raw)
    assert subject == "Hello Ana & <Bo>"
    assert "Dear Ana & <Bo>, thanks for being VIP." in text
    assert "<p>Dear Ana &amp; &lt;Bo&gt;</p><p><b>sale</b></p>" in html
    assert sorted(e["Type"] for e in events(sesame, mid)) == ["Delivery"] * 2 + ["Send"] * 2
    # errors: no such template; data too long
    code, _, _ = err_of(lambda: ses.send_templated_email(
        Source=f"shop@{DOMAIN}", Destination={"ToAddresses": ["b@dest.test"]},
        Template="absent", TemplateData="{}"))
    assert code == "TemplateDoesNotExist"
    assert len(messages(sesame)) == 1


def test_missing_attribute_is_a_rendering_failure(sesame):
    _, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    sent = ses.get_send_quota()["SentLast24Hours"]
    r = ses.send_templated_email(
        Source=f"shop@{DOMAIN}", Destination={"ToAddresses": ["ana@dest.test"]},
        Template="welcome", TemplateData='{"vip": true, "items": []}')
    mid = r["MessageId"]
    assert len(mid) == 60
    assert messages(sesame) == []  # nothing delivered
    (ev,) = events(sesame, mid)
    assert ev["Type"] == "RenderingFailure"
    assert ev["Recipient"] is None
    assert ev["Detail"] == {"templateName": "welcome",
                            "errorMessage": "Attribute 'name' is not present in the "
                                            "rendering data."}
    # bad JSON at send time: accepted the same way
    r = ses.send_templated_email(
        Source=f"shop@{DOMAIN}", Destination={"ToAddresses": ["ana@dest.test"]},
        Template="welcome", TemplateData="{not json")
    (ev,) = events(sesame, r["MessageId"])
    assert ev["Type"] == "RenderingFailure"
    assert messages(sesame) == []
    assert ses.get_send_quota()["SentLast24Hours"] == sent + 2


def test_bulk_fifty(sesame):
    _, _, ses = owner(sesame, "owner", "--max-rate", "100")
    ses.create_template(Template={"TemplateName": "bulk", "SubjectPart": "For {{name}}",
                                  "TextPart": "Hi {{name}} from {{shop}}, code {{code}}",
                                  "HtmlPart": "<i>{{name}}</i>"})
    dests = [{"Destination": {"ToAddresses": [f"u{i}@dest.test"]},
              "ReplacementTemplateData": json.dumps({"name": f"user<{i}>", "code": i})}
             for i in range(50)]
    r = ses.send_bulk_templated_email(Source=f"shop@{DOMAIN}", Template="bulk",
                                      DefaultTemplateData='{"shop": "S", "code": 0}',
                                      Destinations=dests)
    st = r["Status"]
    assert len(st) == 50
    assert all(s["Status"] == "Success" for s in st), st
    conftest.check_bulk_fifty(sesame, [s["MessageId"] for s in st],
                              lambda i: f"<i>user&lt;{i}&gt;</i>")


def test_bulk_per_destination_status(sesame):
    _, _, ses = owner(sesame)
    ses.create_template(Template={"TemplateName": "b", "SubjectPart": "S",
                                  "TextPart": "{{name}}"})
    r = ses.send_bulk_templated_email(
        Source=f"shop@{DOMAIN}", Template="b", DefaultTemplateData='{"name": "default"}',
        Destinations=[{"Destination": {"ToAddresses": ["a@dest.test"]}},
                      {"Destination": {"ToAddresses": ["not an address"]}},
                      {"Destination": {"ToAddresses": ["c@dest.test"]},
                       "ReplacementTemplateData": '{"other": 1}'}])
    st = r["Status"]
    assert st[0]["Status"] == "Success"
    assert st[1]["Status"] == "InvalidParameterValue" and "MessageId" not in st[1]
    # defaults fill what the destination's data lacks
    assert st[2]["Status"] == "Success"
    got = {m["MessageId"]: m for m in messages(sesame)}
    assert parts(raw_of(sesame, st[0]["MessageId"]))[1].strip() == "default"
    assert parts(raw_of(sesame, st[2]["MessageId"]))[1].strip() == "default"
    assert len(got) == 2
    code, _, _ = err_of(lambda: ses.send_bulk_templated_email(
        Source=f"shop@{DOMAIN}", Template="absent",
        Destinations=[{"Destination": {"ToAddresses": ["a@dest.test"]}}]))
    assert code == "TemplateDoesNotExist"


def test_delegate_uses_its_own_template(sesame):
    own, okey, oc = owner(sesame)
    dacct, dkey = sesame.principal("delegate")
    dc = sesame.client(dkey)
    identity_arn = f"arn:aws:ses:{REGION}:{own}:identity/{DOMAIN}"
    oc.put_identity_policy(Identity=DOMAIN, PolicyName="p", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "T", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dacct}:root"},
            "Action": ["ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail"],
            "Resource": identity_arn}]}))
    oc.create_template(Template={"TemplateName": "owners", "SubjectPart": "owner's",
                                 "TextPart": "owner's {{x}}"})
    # the owner's template is not the delegate's
    code, _, _ = err_of(lambda: dc.send_templated_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn,
        Destination={"ToAddresses": ["r@dest.test"]}, Template="owners",
        TemplateData='{"x": 1}'))
    assert code == "TemplateDoesNotExist"
    code, _, _ = err_of(lambda: dc.send_templated_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn,
        Destination={"ToAddresses": ["r@dest.test"]},
        TemplateArn=f"arn:aws:ses:{REGION}:{own}:template/owners", Template="owners",
        TemplateData='{"x": 1}'))
    assert code == "TemplateDoesNotExist"
    # its own template of the same name is used
    dc.create_template(Template={"TemplateName": "owners", "SubjectPart": "delegate's {{x}}",
                                 "TextPart": "delegate's {{x}}"})
    r = dc.send_templated_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn,
        Destination={"ToAddresses": ["r@dest.test"]}, Template="owners",
        TemplateData='{"x": 7}')
    (m,) = messages(sesame)
    assert m["MessageId"] == r["MessageId"]
    assert m["SendingAccountId"] == dacct
    assert m["SourceArn"] == identity_arn
    assert m["Subject"] == "delegate's 7"
    r = dc.send_bulk_templated_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn, Template="owners",
        Destinations=[{"Destination": {"ToAddresses": ["r2@dest.test"]},
                       "ReplacementTemplateData": '{"x": 8}'}])
    assert r["Status"][0]["Status"] == "Success"
    assert parts(raw_of(sesame, r["Status"][0]["MessageId"]))[0] == "delegate's 8"
    # the policy's action is ses:SendTemplatedEmail: SendEmail is not allowed
    code, _, _ = err_of(lambda: dc.send_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn,
        Destination={"ToAddresses": ["r@dest.test"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}))
    assert code == "AccessDenied"


def test_delegate_without_templated_action_refused(sesame):
    own, okey, oc = owner(sesame)
    dacct, dkey = sesame.principal("delegate")
    dc = sesame.client(dkey)
    identity_arn = f"arn:aws:ses:{REGION}:{own}:identity/{DOMAIN}"
    oc.put_identity_policy(Identity=DOMAIN, PolicyName="p", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "S", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dacct}:root"},
            "Action": ["ses:SendEmail"], "Resource": identity_arn}]}))
    dc.create_template(Template={"TemplateName": "t", "TextPart": "x"})
    code, msg, status = err_of(lambda: dc.send_templated_email(
        Source=f"d@{DOMAIN}", SourceArn=identity_arn,
        Destination={"ToAddresses": ["r@dest.test"]}, Template="t", TemplateData="{}"))
    assert (code, status) == ("AccessDenied", 403)
    assert "ses:SendTemplatedEmail" in msg
    assert messages(sesame) == []


def test_clean_shutdown_after_every_path(sesame):
    """Under integration-asan a leak in any template path fails the exit."""
    _, _, ses = owner(sesame)
    ses.create_template(Template=WELCOME)
    ses.test_render_template(TemplateName="welcome", TemplateData=json.dumps(DATA))
    err_of(lambda: ses.test_render_template(TemplateName="welcome", TemplateData="{}"))
    ses.send_templated_email(Source=f"shop@{DOMAIN}", Destination={"ToAddresses": ["a@dest.test"]},
                             Template="welcome", TemplateData=json.dumps(DATA))
    ses.send_templated_email(Source=f"shop@{DOMAIN}", Destination={"ToAddresses": ["a@dest.test"]},
                             Template="welcome", TemplateData="{}")
    ses.send_bulk_templated_email(
        Source=f"shop@{DOMAIN}", Template="welcome", DefaultTemplateData=json.dumps(DATA),
        Destinations=[{"Destination": {"ToAddresses": ["b@dest.test"]}},
                      {"Destination": {"ToAddresses": ["bad"]}},
                      {"Destination": {"ToAddresses": ["c@dest.test"]},
                       "ReplacementTemplateData": "{bad json"}])
    ses.list_templates(MaxItems=1)
    ses.delete_template(TemplateName="welcome")
    assert sesame.stop() == 0
