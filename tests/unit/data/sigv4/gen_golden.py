#!/usr/bin/python3
"""Regenerate tests/unit/data/sigv4/golden/*.req: requests signed by botocore's
SigV4Auth (an independent signer) at a fixed time, for test_sigv4.c.

Run from this directory: /usr/bin/python3 gen_golden.py
Output format is the AWS test-suite .req format: request line, "Name: value"
header lines, a blank line, the body. The time is 20261128T101500Z.
"""
import datetime
import types
from urllib.parse import quote

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2026, 11, 28, 10, 15, 0)


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED


botocore.auth.datetime = types.SimpleNamespace(datetime=_FixedDatetime)

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def form(pairs):
    return "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in pairs)


def emit(name, method, url, headers, body, service, region):
    req = AWSRequest(method=method, url=url, headers=headers, data=body)
    SigV4Auth(CREDS, service, region).add_auth(req)
    prepared = req.prepare()
    target = prepared.url.split("://", 1)[1]
    target = target[target.index("/"):]
    host = url.split("://", 1)[1].split("/", 1)[0]
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for k, v in req.headers.items():
        lines.append(f"{k}: {v}")
    data = body.encode() if isinstance(body, str) else (body or b"")
    with open(f"golden/{name}.req", "wb") as f:
        f.write(("\n".join(lines) + "\n\n").encode() + data)


CT = "application/x-www-form-urlencoded; charset=utf-8"

send = form([
    ("Action", "SendEmail"), ("Version", "2010-12-01"),
    ("Source", "Sender Name <sender@example.com>"),
    ("Destination.ToAddresses.member.1", "to@example.net"),
    ("Message.Subject.Data", "Hello & welcome"),
    ("Message.Body.Text.Data", "Caf\u00e9 \u2014 line one\nline two"),
    ("SourceArn", "arn:aws:ses:us-west-2:123456789012:identity/example.com"),
])
emit("ses-sendemail", "POST", "https://email.us-west-2.amazonaws.com/",
     {"Content-Type": CT}, send, "ses", "us-west-2")

import hashlib
body = form([("Action", "GetSendQuota"), ("Version", "2010-12-01")])
emit("email-port-sha256", "POST", "http://127.0.0.1:8787/",
     {"Content-Type": CT, "X-Amz-Content-Sha256": hashlib.sha256(body.encode()).hexdigest(),
      "X-Custom": "  a   b\tc  "},
     body, "email", "us-east-1")

emit("ses-get-query", "GET",
     "http://localhost:8787/?Action=ListIdentities&Version=2010-12-01&IdentityType=Domain"
     "&Weird=%E1%88%B4%20x&A=2&A=1",
     {}, None, "ses", "eu-west-1")
