"""The identity-policy API with boto3 and aws-cli: put/get/list/delete round
trip, SES's limits and messages, identity named by name or by ARN, another
account's ARN refused; and `sesame policy check|simulate` on real files."""
import json

import botocore.exceptions
import pytest


def owner(sesame, identity="example.com", region="us-east-1"):
    acct, key = sesame.principal("owner")
    sesame.cli("identity", "verify", "--account", acct, "--region", region, identity)
    return acct, key, sesame.client(key, region=region)


def allow(acct_or_arn, resource, sid="AllowDelegate", condition=None):
    st = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": acct_or_arn},
          "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": resource}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def arn(acct, identity="example.com", region="us-east-1"):
    return f"arn:aws:ses:{region}:{acct}:identity/{identity}"


def error(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_round_trip(sesame):
    acct, _, ses = owner(sesame)
    doc = allow("111122223333", arn(acct))
    ses.put_identity_policy(Identity="example.com", PolicyName="p1", Policy=doc)
    ses.put_identity_policy(Identity=arn(acct), PolicyName="p2", Policy=doc)
    assert sorted(ses.list_identity_policies(Identity="example.com")["PolicyNames"]) == ["p1", "p2"]
    got = ses.get_identity_policies(Identity="example.com", PolicyNames=["p1", "nope"])["Policies"]
    assert list(got) == ["p1"] and json.loads(got["p1"]) == json.loads(doc)
    # upsert replaces
    doc2 = allow("444455556666", arn(acct))
    ses.put_identity_policy(Identity="example.com", PolicyName="p1", Policy=doc2)
    got = ses.get_identity_policies(Identity="example.com", PolicyNames=["p1"])["Policies"]
    assert json.loads(got["p1"]) == json.loads(doc2)
    ses.delete_identity_policy(Identity="example.com", PolicyName="p1")
    ses.delete_identity_policy(Identity="example.com", PolicyName="p1")  # absent: still OK
    assert ses.list_identity_policies(Identity=arn(acct))["PolicyNames"] == ["p2"]


def test_aws_cli_round_trip(sesame, tmp_path):
    acct, key, _ = owner(sesame, "sender@example.org")
    f = tmp_path / "p.json"
    f.write_text(allow("111122223333", arn(acct, "sender@example.org")))
    sesame.aws(key, "put-identity-policy", "--identity", "sender@example.org",
               "--policy-name", "cli", "--policy", f"file://{f}")
    out = json.loads(sesame.aws(key, "list-identity-policies", "--identity",
                                "sender@example.org").stdout)
    assert out == {"PolicyNames": ["cli"]}
    out = json.loads(sesame.aws(key, "get-identity-policies", "--identity", "sender@example.org",
                                "--policy-names", "cli").stdout)
    assert json.loads(out["Policies"]["cli"])["Statement"][0]["Sid"] == "AllowDelegate"


def test_twenty_policies_at_most(sesame):
    acct, _, ses = owner(sesame)
    doc = allow("111122223333", arn(acct))
    for i in range(20):
        ses.put_identity_policy(Identity="example.com", PolicyName=f"p{i}", Policy=doc)
    code, msg, status = error(lambda: ses.put_identity_policy(
        Identity="example.com", PolicyName="p20", Policy=doc))
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "exceeds max allowed number of policies" in msg
    ses.put_identity_policy(Identity="example.com", PolicyName="p7", Policy=doc)  # upsert fine
    assert len(ses.list_identity_policies(Identity="example.com")["PolicyNames"]) == 20


def test_size_limit(sesame):
    acct, _, ses = owner(sesame)
    compact = allow("111122223333", arn(acct))
    ok = compact + " " * (4096 - len(compact))  # insignificant whitespace counts too
    assert len(ok) == 4096
    ses.put_identity_policy(Identity="example.com", PolicyName="big", Policy=ok)
    code, _, status = error(lambda: ses.put_identity_policy(
        Identity="example.com", PolicyName="big2", Policy=ok + " "))
    assert (code, status) == ("InvalidPolicy", 400)


@pytest.mark.parametrize("name,code", [
    ("has space", "InvalidParameterValue"), ("dot.name", "InvalidParameterValue"),
    ("x" * 65, "ValidationError")])
def test_bad_policy_names(sesame, name, code):
    acct, _, ses = owner(sesame)
    got, _, status = error(lambda: ses.put_identity_policy(
        Identity="example.com", PolicyName=name, Policy=allow("111122223333", arn(acct))))
    assert (got, status) == (code, 400)


def test_name_of_64_is_fine(sesame):
    acct, _, ses = owner(sesame)
    name = "a" * 64
    doc = allow("111122223333", arn(acct))
    ses.put_identity_policy(Identity="example.com", PolicyName=name, Policy=doc)
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == [name]
    got = ses.get_identity_policies(Identity="example.com", PolicyNames=[name])["Policies"]
    assert json.loads(got[name]) == json.loads(doc)


@pytest.mark.parametrize("doc,expected", [
    ("{not json",
     "Policy has invalid JSON: string or '}' expected near 'not' (line 1, column 4)."),
    (json.dumps({"Version": "2012-10-17", "Statement": []}),
     "Policy must contain at least one statement."),
    (json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                "Action": "ses:SendEmail", "Resource": "RESOURCE",
                                "Condition": {"StringEquals": {"AWS:SourceAccount": "1"}}}]}),
     "Unknown or unapplicable condition field 'AWS:SourceAccount'."),
    (json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*",
                                "Action": "ses:SendEmail", "Resource": "RESOURCE"}]}),
     "Invalid effect 'Maybe': Effect must be Allow or Deny."),
    (json.dumps({"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail",
                                "Resource": "RESOURCE"}]}),
     "Missing required field Principal."),
    (json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                "Action": "ses:SendEmail",
                                "Resource": "arn:aws:ses:us-east-1:999999999999:identity/other.com"}]}),
     "Policy resource must be the identity's ARN: RESOURCE."),
    (json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                "Action": "ses:SendEmail", "Resource": "RESOURCE",
                                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/99"}}}]}),
     "Invalid IP address or CIDR '10.0.0.0/99' for condition key 'aws:SourceIp'."),
])
def test_invalid_policies(sesame, doc, expected):
    acct, _, ses = owner(sesame)
    doc = doc.replace("RESOURCE", arn(acct))
    code, msg, status = error(lambda: ses.put_identity_policy(
        Identity="example.com", PolicyName="bad", Policy=doc))
    assert (code, status) == ("InvalidPolicy", 400)
    assert msg == expected.replace("RESOURCE", arn(acct))
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == []


def test_lowercase_aws_key_is_accepted(sesame):
    """SES wants the `aws:` prefix of a condition key in lower case (the
    `AWS:` spelling is refused, in test_invalid_policies): the lower-case
    spelling is stored and served back as written."""
    acct, _, ses = owner(sesame)
    doc = allow("111122223333", arn(acct), condition={"StringEquals": {"aws:SourceAccount": "1"}})
    ses.put_identity_policy(Identity="example.com", PolicyName="ok", Policy=doc)
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == ["ok"]
    got = ses.get_identity_policies(Identity="example.com", PolicyNames=["ok"])["Policies"]
    assert json.loads(got["ok"]) == json.loads(doc)


def test_other_accounts_arn_refused(sesame):
    acct, _, _ = owner(sesame)
    other_acct, other_key = sesame.principal("intruder")
    ses = sesame.client(other_key)
    code, msg, status = error(lambda: ses.put_identity_policy(
        Identity=arn(acct), PolicyName="mine", Policy=allow(other_acct, arn(acct))))
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User `arn:aws:iam::{other_acct}:root' is not authorized to perform "
                   f"`ses:PutIdentityPolicy' on resource `{arn(acct)}'")
    code, _, status = error(lambda: ses.list_identity_policies(Identity=arn(acct)))
    assert (code, status) == ("AccessDenied", 403)


def test_identity_of_another_region_or_absent(sesame):
    acct, _, ses = owner(sesame)
    code, _, _ = error(lambda: ses.list_identity_policies(Identity="nothere.com"))
    assert code == "InvalidParameterValue"
    code, _, _ = error(lambda: ses.list_identity_policies(Identity=arn(acct, region="us-west-2")))
    assert code == "InvalidParameterValue"
    west = sesame.client(sesame.key(acct), region="us-west-2")
    code, _, _ = error(lambda: west.list_identity_policies(Identity="example.com"))
    assert code == "InvalidParameterValue"


def test_malformed_identity_arn(sesame):
    _, _, ses = owner(sesame)
    code, msg, _ = error(lambda: ses.list_identity_policies(Identity="arn:aws:ses:us-east-1:12:identity/x.com"))
    assert code == "InvalidParameterValue" and "Invalid ARN" in msg


def test_delete_identity_removes_policies(sesame):
    acct, _, ses = owner(sesame)
    ses.put_identity_policy(Identity="example.com", PolicyName="p",
                            Policy=allow("111122223333", arn(acct)))
    ses.delete_identity(Identity="example.com")
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "example.com")
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == []


# ---- the CLI on real files --------------------------------------------------

def test_policy_check_cli(sesame, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(allow("111122223333", arn("888888888888")))
    assert json.loads(sesame.cli("policy", "check", str(good)).stdout) == {"Valid": True}
    bad = tmp_path / "bad.json"
    bad.write_text(allow("111122223333", arn("888888888888"),
                         condition={"StringEquals": {"AWS:SourceAccount": "1"}}))
    p = sesame.cli("policy", "check", str(bad), check=False)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["Valid"] is False and out["Error"]["Code"] == "InvalidPolicy"
    assert "AWS:SourceAccount" in p.stderr


def test_policy_simulate_cli(sesame, tmp_path):
    res = arn("888888888888")
    f = tmp_path / "p.json"
    f.write_text(allow("111122223333", res, condition={
        "StringLike": {"ses:FromAddress": "invoices*@example.com"}}))
    deny = tmp_path / "d.json"
    deny.write_text(json.dumps({"Statement": [{"Sid": "NoMarketing", "Effect": "Deny",
                                               "Principal": "*", "Action": "ses:Send*",
                                               "Resource": res, "Condition": {
                                                   "ForAnyValue:StringLike": {"ses:Recipients": "*@competitor.com"}}}]}))

    def sim(*extra):
        return json.loads(sesame.cli("policy", "simulate", "--policy", str(f), "--policy", str(deny),
                                     "--action", "ses:SendRawEmail", "--resource", res,
                                     *extra).stdout)
    assert sim("--principal", "arn:aws:iam::111122223333:user/jane",
               "--context", "ses:FromAddress=invoices-2@example.com",
               "--context", "ses:Recipients=a@b.com") == {
        "EvalDecision": "allowed", "MatchedStatements": ["AllowDelegate"]}
    assert sim("--principal", "111122223333",
               "--context", "ses:FromAddress=ceo@example.com")["EvalDecision"] == "implicitDeny"
    assert sim("--principal", "111122223333",
               "--context", "ses:FromAddress=invoices@example.com",
               "--context", "ses:Recipients=a@b.com",
               "--context", "ses:Recipients=x@competitor.com") == {
        "EvalDecision": "explicitDeny", "MatchedStatements": ["NoMarketing"]}


def test_policy_simulate_batch(sesame):
    res = arn("888888888888")
    lines = [
        {"policies": [json.loads(allow("111122223333", res))], "principal": "111122223333",
         "action": "ses:SendEmail", "resource": res, "context": {}},
        {"policies": [allow("111122223333", res)], "principal": "999999999999",
         "action": "ses:SendEmail", "resource": res, "context": {}},
        {"policies": ["{broken"], "principal": "111122223333", "action": "ses:SendEmail",
         "resource": res, "context": {}},
    ]
    out = sesame.cli("policy", "simulate", "--batch",
                     stdin="\n".join(json.dumps(l) for l in lines) + "\n").stdout.splitlines()
    got = [json.loads(l) for l in out]
    assert got[0]["EvalDecision"] == "allowed"
    assert got[1]["EvalDecision"] == "implicitDeny"
    assert got[2]["Error"]["Code"] == "InvalidPolicy"
