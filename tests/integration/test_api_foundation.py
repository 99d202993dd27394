"""The SigV4-authenticated Query API with real clients: aws-cli and boto3
succeed with a key from the CLI; every kind of bad request gets SES's error
and the server keeps serving."""
import datetime as dt
import json
import urllib.parse

import pytest

from conftest import err_of, post, sign, xml_error


def quota_body():
    return urllib.parse.urlencode({"Action": "GetSendQuota", "Version": "2010-12-01"})


def test_aws_cli_get_send_quota(sesame):
    _, key = sesame.principal("cli")
    out = json.loads(sesame.aws(key, "get-send-quota").stdout)
    assert out == {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0}


def test_boto3_account_actions(sesame):
    acct, key = sesame.principal("boto", "--sandbox")
    ses = sesame.client(key, region="us-west-2")
    q = ses.get_send_quota()
    assert (q["Max24HourSend"], q["MaxSendRate"], q["SentLast24Hours"]) == (200.0, 1.0, 0.0)
    assert ses.get_account_sending_enabled()["Enabled"] is True
    ses.update_account_sending_enabled(Enabled=False)
    assert ses.get_account_sending_enabled()["Enabled"] is False
    ses.update_account_sending_enabled(Enabled=True)
    assert ses.get_account_sending_enabled()["Enabled"] is True
    assert ses.get_send_statistics()["SendDataPoints"] == []
    assert ses.list_identities()["Identities"] == []
    assert q["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(q["ResponseMetadata"]["RequestId"]) == 36


def test_sending_switch_is_per_account(sesame):
    _, k1 = sesame.principal("one")
    _, k2 = sesame.principal("two")
    sesame.client(k1).update_account_sending_enabled(Enabled=False)
    assert sesame.client(k2).get_account_sending_enabled()["Enabled"] is True


def test_wrong_secret(sesame):
    _, key = sesame.principal()
    bad = dict(key, SecretAccessKey="x" * 40)
    code, msg, status = err_of(lambda: sesame.client(bad).get_send_quota())
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "signature we calculated does not match" in msg


def test_unknown_key(sesame):
    key = {"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "SecretAccessKey": "s" * 40}
    code, msg, status = err_of(lambda: sesame.client(key).get_send_quota())
    assert (code, status) == ("InvalidClientTokenId", 403)
    assert msg == "The security token included in the request is invalid."


def test_deleted_key_stops_at_once(sesame):
    _, key = sesame.principal()
    ses = sesame.client(key)
    ses.get_send_quota()
    sesame.cli("key", "delete", "--key", key["AccessKeyId"])
    code, _, status = err_of(lambda: ses.get_send_quota())
    assert (code, status) == ("InvalidClientTokenId", 403)


@pytest.mark.parametrize("minutes", [-20, 20])
def test_skewed_date(sesame, minutes):
    _, key = sesame.principal()
    when = dt.datetime.utcnow() + dt.timedelta(minutes=minutes)
    status, text = post(*sign(sesame.endpoint, key, quota_body(), when=when))
    code, msg = xml_error(text)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert ("Signature expired" in msg) if minutes < 0 else ("not yet current" in msg)


def test_small_skew_is_accepted(sesame):
    _, key = sesame.principal()
    when = dt.datetime.utcnow() - dt.timedelta(minutes=10)
    status, _ = post(*sign(sesame.endpoint, key, quota_body(), when=when))
    assert status == 200


def test_tampered_body(sesame):
    _, key = sesame.principal()
    url, headers, body = sign(sesame.endpoint, key, quota_body())
    body = body.replace(b"GetSendQuota", b"GetSendStatistics")
    status, text = post(url, headers, body)
    assert (status, xml_error(text)[0]) == (403, "SignatureDoesNotMatch")


def test_region_not_served(sesame):
    _, key = sesame.principal()
    code, msg, status = err_of(lambda: sesame.client(key, region="ap-south-1").get_send_quota())
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "valid region" in msg


def test_wrong_service_scope(sesame):
    _, key = sesame.principal()
    status, text = post(*sign(sesame.endpoint, key, quota_body(), service="sqs"))
    code, msg = xml_error(text)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "correct service" in msg


def test_email_service_scope_is_accepted(sesame):
    _, key = sesame.principal()
    status, _ = post(*sign(sesame.endpoint, key, quota_body(), service="email"))
    assert status == 200


def test_get_with_query_string(sesame):
    _, key = sesame.principal()
    status, text = post(*sign(sesame.endpoint, key, b"", method="GET", query=quota_body()),
                        method="GET")
    assert status == 200 and "<Max24HourSend>50000.0</Max24HourSend>" in text


def test_missing_authorization(sesame):
    status, text = post(sesame.endpoint + "/",
                        {"Content-Type": "application/x-www-form-urlencoded"},
                        quota_body().encode())
    assert (status, xml_error(text)) == (403, ("MissingAuthenticationToken",
                                               "Request is missing Authentication Token"))


@pytest.mark.parametrize("authz", ["garbage", "AWS4-HMAC-SHA256 Credential=AKIA/20260101",
                                   "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00"])
def test_garbled_authorization(sesame, authz):
    _, key = sesame.principal()
    url, headers, body = sign(sesame.endpoint, key, quota_body())
    headers["Authorization"] = authz
    status, text = post(url, headers, body)
    assert status in (400, 403)
    assert xml_error(text)[0] in ("IncompleteSignature", "SignatureDoesNotMatch",
                                  "MissingAuthenticationToken")


def signed_error(sesame, key, body):
    status, text = post(*sign(sesame.endpoint, key, body))
    return status, xml_error(text)


def test_unknown_action(sesame):
    _, key = sesame.principal()
    status, (code, msg) = signed_error(sesame, key, "Action=FlyToTheMoon&Version=2010-12-01")
    assert (status, code) == (400, "InvalidAction")
    assert "FlyToTheMoon" in msg


def test_missing_action(sesame):
    _, key = sesame.principal()
    status, (code, _) = signed_error(sesame, key, "Version=2010-12-01")
    assert (status, code) == (400, "MissingAction")


def test_malformed_form(sesame):
    _, key = sesame.principal()
    status, (code, _) = signed_error(sesame, key, "Action=GetSendQuota&Version=%ZZ")
    assert code == "MalformedQueryString" and status in (400, 404)


def test_non_utf8(sesame):
    _, key = sesame.principal()
    status, (code, _) = signed_error(sesame, key, "Action=GetSendQuota&Version=2010-12-01&X=%FF%FE")
    assert code == "MalformedQueryString"


def test_duplicate_parameter(sesame):
    _, key = sesame.principal()
    status, (code, msg) = signed_error(sesame, key, "Action=GetSendQuota&Action=GetSendQuota")
    assert (status, code) == (400, "InvalidParameterValue")
    assert "Action" in msg


def test_bad_boolean(sesame):
    _, key = sesame.principal()
    status, (code, _) = signed_error(
        sesame, key, "Action=UpdateAccountSendingEnabled&Version=2010-12-01&Enabled=maybe")
    assert (status, code) == (400, "InvalidParameterValue")


def test_oversized_body(sesame):
    _, key = sesame.principal()
    body = quota_body() + "&Pad=" + "a" * (15 * 1024 * 1024 + 512 * 1024)
    status, text = post(*sign(sesame.endpoint, key, body))
    assert status == 413
    assert xml_error(text)[0] == "RequestEntityTooLarge"


def test_server_survives_garbage(sesame):
    import socket
    _, key = sesame.principal()
    for junk in [b"\x00\x01\x02\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n",
                 b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]:
        with socket.create_connection(("127.0.0.1", sesame.http_port), timeout=5) as s:
            s.sendall(junk)
            try:
                s.recv(4096)
            except OSError:
                pass
    assert sesame.client(key).get_send_quota()["Max24HourSend"] == 50000.0


def test_admin_changes_seen_at_once(sesame):
    acct, key = sesame.principal()
    ses = sesame.client(key)
    assert ses.get_send_quota()["MaxSendRate"] == 14.0
    # a second key made while the server runs works immediately
    key2 = sesame.key(acct)
    assert sesame.client(key2).get_send_quota()["MaxSendRate"] == 14.0


def test_sigterm_shuts_down_cleanly(sesame):
    assert sesame.stop() == 0
