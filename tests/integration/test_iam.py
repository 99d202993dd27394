"""The caller's own IAM side of non-send actions: an IAM user may do only
what its user policy allows; a service principal's key only sends; the
account root may do everything to its own account."""
import json

import botocore.exceptions
import pytest


def error(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def user(sesame, tmp_path, acct, name, statements=None):
    args = ["user", "create", "--account", acct, "--name", name]
    if statements is not None:
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
        args += ["--policy", str(f)]
    sesame.cli(*args)
    return sesame.key(acct, "--user", name)


@pytest.fixture
def owner(sesame):
    acct, key = sesame.principal("owner")
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "example.com")
    return acct, key


def arn(acct, identity="example.com"):
    return f"arn:aws:ses:us-east-1:{acct}:identity/{identity}"


def open_policy(acct):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "ses:SendEmail", "Resource": arn(acct)}]})


def test_user_without_policy_can_do_nothing(sesame, owner, tmp_path):
    acct, _ = owner
    ses = sesame.client(user(sesame, tmp_path, acct, "intern"))
    who = f"arn:aws:iam::{acct}:user/intern"
    code, msg, status = error(lambda: ses.put_identity_policy(
        Identity="example.com", PolicyName="open", Policy=open_policy(acct)))
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User: {who} is not authorized to perform: ses:PutIdentityPolicy "
                   f"on resource: {arn(acct)}")
    code, msg, status = error(lambda: ses.get_send_quota())
    assert (code, status, msg) == ("AccessDenied", 403,
                                   f"User: {who} is not authorized to perform: ses:GetSendQuota")
    for call in (lambda: ses.delete_identity(Identity="example.com"),
                 lambda: ses.update_account_sending_enabled(Enabled=False),
                 lambda: ses.verify_email_identity(EmailAddress="new@example.org"),
                 lambda: ses.delete_identity_policy(Identity="example.com", PolicyName="x"),
                 lambda: ses.list_identities()):
        assert error(call)[0] == "AccessDenied"
    # nothing changed: the root still sees its identity, no policy, sending on
    root = sesame.client(owner[1])
    assert root.list_identity_policies(Identity="example.com")["PolicyNames"] == []
    assert root.get_account_sending_enabled()["Enabled"] is True


def test_user_policy_scopes_actions_and_resources(sesame, owner, tmp_path):
    acct, root_key = owner
    sesame.client(root_key).verify_domain_identity(Domain="other.example")
    ses = sesame.client(user(sesame, tmp_path, acct, "ops", [
        {"Effect": "Allow", "Action": ["ses:Get*", "ses:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ses:PutIdentityPolicy", "Resource": arn(acct)},
    ]))
    assert ses.get_send_quota()["MaxSendRate"] == 14.0
    assert "example.com" in ses.list_identities()["Identities"]
    ses.put_identity_policy(Identity="example.com", PolicyName="p", Policy=open_policy(acct))
    code, msg, _ = error(lambda: ses.put_identity_policy(
        Identity="other.example", PolicyName="p", Policy=json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "ses:SendEmail",
            "Resource": arn(acct, "other.example")}]})))
    assert code == "AccessDenied" and arn(acct, "other.example") in msg
    assert error(lambda: ses.delete_identity(Identity="example.com"))[0] == "AccessDenied"


def test_user_policy_deny_wins(sesame, owner, tmp_path):
    acct, _ = owner
    ses = sesame.client(user(sesame, tmp_path, acct, "half", [
        {"Effect": "Allow", "Action": "ses:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ses:*IdentityPolic*", "Resource": "*"},
    ]))
    ses.get_send_quota()
    assert error(lambda: ses.list_identity_policies(Identity="example.com"))[0] == "AccessDenied"


def test_user_policy_change_applies_at_once(sesame, owner, tmp_path):
    acct, _ = owner
    ses = sesame.client(user(sesame, tmp_path, acct, "temp", [
        {"Effect": "Allow", "Action": "ses:GetSendQuota", "Resource": "*"}]))
    ses.get_send_quota()
    sesame.cli("user", "delete", "--account", acct, "--name", "temp")
    assert error(lambda: ses.get_send_quota())[0] in ("InvalidClientTokenId", "AccessDenied")


def test_service_key_only_sends(sesame, owner):
    acct, _ = owner
    svc = sesame.client(sesame.key(acct, "--service", "notifications.example.internal"))
    code, _, status = error(lambda: svc.get_send_quota())
    assert (code, status) == ("AccessDenied", 403)
    assert error(lambda: svc.put_identity_policy(
        Identity="example.com", PolicyName="open", Policy=open_policy(acct)))[0] == "AccessDenied"


def test_root_may_do_everything(sesame, owner):
    """The root key has no IAM policy and needs none: every account-level and
    identity-level action succeeds and takes effect."""
    acct, key = owner
    ses = sesame.client(key)
    ses.put_identity_policy(Identity="example.com", PolicyName="p", Policy=open_policy(acct))
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == ["p"]
    got = ses.get_identity_policies(Identity="example.com", PolicyNames=["p"])["Policies"]
    assert json.loads(got["p"]) == json.loads(open_policy(acct))
    quota = ses.get_send_quota()
    assert (quota["Max24HourSend"], quota["MaxSendRate"]) == (50000.0, 14.0)
    ses.verify_email_identity(EmailAddress="new@example.org")
    assert sorted(ses.list_identities()["Identities"]) == ["example.com", "new@example.org"]
    ses.update_account_sending_enabled(Enabled=False)
    assert ses.get_account_sending_enabled()["Enabled"] is False
    ses.update_account_sending_enabled(Enabled=True)
    assert ses.get_account_sending_enabled()["Enabled"] is True
    ses.delete_identity_policy(Identity="example.com", PolicyName="p")
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == []
    ses.delete_identity(Identity="new@example.org")
    assert ses.list_identities()["Identities"] == ["example.com"]


def test_ipv4_client_of_dual_stack_listener_is_ipv4(tmp_path):
    """On a [::] listener an IPv4 client arrives as ::ffff:127.0.0.1; policies
    must still see 127.0.0.1, or an IP-based Deny is silently skipped."""
    import socket
    from conftest import Sesame, free_port
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    s = Sesame(tmp_path)
    port = free_port()
    s.extra = ["--http", f"[::]:{port}"]
    s.http_port = port
    s.endpoint = f"http://127.0.0.1:{port}"
    try:
        s.start()
    except RuntimeError as e:
        if "Address family not supported" in str(e) or "cannot listen" in str(e):
            pytest.skip("cannot bind [::]")
        raise
    try:
        acct, _ = s.principal("v6")
        key = user(s, tmp_path, acct, "nolocal", [
            {"Effect": "Allow", "Action": "ses:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ses:*", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}])
        code, _, status = error(lambda: s.client(key).get_send_quota())
        assert (code, status) == ("AccessDenied", 403)
    finally:
        s.stop()
