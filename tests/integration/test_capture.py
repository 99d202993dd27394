"""The capture inbox (/_sesame/messages, /_sesame/) and the send statistics
(GetSendQuota, GetSendStatistics) against a real `sesame serve`.

Until the send actions exist, rows are put in the store the way the queue
writes them, with SQL on the test's own store (conftest.store_sql): a captured
message is a `messages` row with status 'delivered' and transport 'capture';
an accept is counted in `send_counts` (per account, kind and minute). The queue's own path (group commit,
delivery, recovery) is also driven here through a row left 'queued', as a
crash would leave it."""
import datetime as dt
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import PG, sql_blob, store_sql


ID1 = "0100018c00000001-11111111-2222-4333-8444-555555555555-000000"
ID2 = "0100018c00000002-11111111-2222-4333-8444-666666666666-000000"
ID3 = "0100018c00000003-11111111-2222-4333-8444-777777777777-000000"
RAW = (b"From: \"Sender\" <sender@example.com>\r\nTo: a@example.net\r\n"
       b"Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=latin1\r\n\r\n"
       b"8-bit body \xe9\x00 and a NUL\r\n.\r\n")


def sql(s, query):
    return store_sql(s.data, query)


def q(v):
    """An SQL literal for a test-controlled value."""
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return sql_blob(v)
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


def put_message(s, mid, *, subject="hello", raw=RAW, created_ms=None, status="delivered",
                transport="capture", account="111122223333", dest=("a@example.net",),
                source="bounce@example.com", from_addr="sender@example.com",
                source_arn="arn:aws:ses:us-east-1:111122223333:identity/example.com",
                region="us-east-1"):
    created_ms = created_ms or int(time.time() * 1000)
    sql(s, "INSERT INTO messages (id, region, sending_account, source_arn, source, from_addr,"
           " subject, destinations, raw, status, created, delivered, transport) VALUES ("
           + ", ".join(q(v) for v in (
               mid, region, account, source_arn, source, from_addr, subject,
               json.dumps(list(dest)), raw, status, created_ms,
               created_ms if status != "queued" else None,
               transport if status != "queued" else None)) + ")")
    if status == "queued":  # a queued message's recipients wait in their own rows
        for i, d in enumerate(dest):
            sql(s, "INSERT INTO recipients (message_id, idx, address, status) VALUES ("
                   + ", ".join(q(v) for v in (mid, i, d, "queued")) + ")")


def message(s, mid):
    """One message's queue state through the admin CLI (any transport, queued
    too), or None when there is no such message."""
    p = s.cli("message", "show", "--id", mid, check=False)
    if p.returncode != 0:
        assert "does not exist" in p.stderr, p.stderr
        return None
    return json.loads(p.stdout)


def request(s, path, method="GET"):
    """(status, content-type, body bytes); never raises on 4xx/5xx."""
    r = urllib.request.Request(s.endpoint + path, method=method)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def inbox(s, query=""):
    status, ctype, body = request(s, "/_sesame/messages" + query)
    assert status == 200, body
    assert ctype.startswith("application/json")
    return json.loads(body)["messages"]


def wait_for(fn, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.1)


# --- the inbox --------------------------------------------------------------


def test_empty_inbox_and_delete(sesame):
    assert inbox(sesame) == []
    status, ctype, body = request(sesame, "/_sesame/messages", method="DELETE")
    assert (status, json.loads(body)) == (200, {"Deleted": 0})
    status, ctype, body = request(sesame, "/_sesame/")
    assert status == 200 and ctype.startswith("text/html")
    assert b"0 captured messages" in body


def test_list_fields_order_and_raw_bytes(sesame):
    now = int(time.time() * 1000)
    put_message(sesame, ID2, subject="second", created_ms=now - 1000,
                dest=("b@example.net", "c@example.org"))
    put_message(sesame, ID1, subject="first", created_ms=now - 2000)
    put_message(sesame, ID3, subject="third", created_ms=now - 500, raw=b"")
    msgs = inbox(sesame)
    assert [m["MessageId"] for m in msgs] == [ID1, ID2, ID3]  # newest last
    m = msgs[1]
    assert set(m) == {"MessageId", "Region", "Source", "From", "Destination", "Subject",
                      "Timestamp", "SendingAccountId", "SourceArn", "MailFrom"}
    assert m["Region"] == "us-east-1"
    assert m["Source"] == "bounce@example.com"
    assert m["MailFrom"] == "bounce@example.com"  # no envelope stored: the Source
    assert m["From"] == "sender@example.com"
    assert m["Destination"] == ["b@example.net", "c@example.org"]
    assert m["Subject"] == "second"
    assert m["SendingAccountId"] == "111122223333"
    assert m["SourceArn"] == "arn:aws:ses:us-east-1:111122223333:identity/example.com"
    ts = dt.datetime.strptime(m["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    want = dt.datetime.utcfromtimestamp((now - 1000) / 1000)
    assert abs((ts - want).total_seconds()) < 0.002
    assert m["Timestamp"].endswith("%03dZ" % ((now - 1000) % 1000))

    # ?limit keeps the newest, still newest last
    assert [m["MessageId"] for m in inbox(sesame, "?limit=2")] == [ID2, ID3]
    assert [m["MessageId"] for m in inbox(sesame, "?limit=10000")] == [ID1, ID2, ID3]

    # raw: exactly the stored bytes (8-bit, NUL, CRLF), as message/rfc822
    status, ctype, body = request(sesame, f"/_sesame/messages/{ID1}/raw")
    assert (status, ctype, body) == (200, "message/rfc822", RAW)
    status, ctype, body = request(sesame, f"/_sesame/messages/{ID3}/raw")
    assert (status, body) == (200, b"")

    # survives a restart
    sesame.stop()
    sesame.start()
    assert [m["MessageId"] for m in inbox(sesame)] == [ID1, ID2, ID3]

    status, _, body = request(sesame, "/_sesame/messages", method="DELETE")
    assert (status, json.loads(body)) == (200, {"Deleted": 3})
    assert inbox(sesame) == []
    assert request(sesame, f"/_sesame/messages/{ID1}/raw")[0] == 404


@pytest.mark.parametrize("query", ["?limit=0", "?limit=-1", "?limit=abc", "?limit=",
                                   "?limit=10001", "?limit=1e3"])
def test_bad_limit(sesame, query):
    status, ctype, body = request(sesame, "/_sesame/messages" + query)
    assert status == 400 and ctype.startswith("application/json")
    assert "limit" in json.loads(body)["error"]


@pytest.mark.parametrize("path", [
    f"/_sesame/messages/{ID1}/raw",                 # unknown id
    f"/_sesame/messages/{ID1}",                     # no /raw
    f"/_sesame/messages/{ID1}/raw/x",
    f"/_sesame/messages/{ID1}/headers",
    "/_sesame/messages/",
    "/_sesame/messages/%2e%2e/raw",
    "/_sesame/messages/a'b/raw",
    "/_sesame/messages/" + "a" * 200 + "/raw",
    "/_sesame/nothing-here",
])
def test_unknown_paths_are_404_json(sesame, path):
    status, ctype, body = request(sesame, path)
    assert status == 404, body
    assert ctype.startswith("application/json")
    assert "error" in json.loads(body)


def test_unknown_id_names_it(sesame):
    status, _, body = request(sesame, f"/_sesame/messages/{ID2}/raw")
    assert status == 404
    assert json.loads(body) == {"error": f"message {ID2} not found"}


def test_queued_messages_are_not_inbox_entries_until_delivered(sesame):
    """A row the queue has not finished is neither listed, nor served raw,
    nor deleted; after a restart the queue delivers it (crash recovery)."""
    sesame.stop()
    put_message(sesame, ID1, status="queued", subject="left behind")
    assert message(sesame, ID1)["Status"] == "queued"
    sesame.start()
    got = wait_for(lambda: inbox(sesame), timeout=10)
    assert [m["MessageId"] for m in got] == [ID1]
    assert got[0]["Subject"] == "left behind"
    m = message(sesame, ID1)
    assert (m["Status"], m["Transport"]) == ("delivered", "capture")
    assert [(ev["Type"], ev["Recipient"]) for ev in m["Events"]] == [
        ("Delivery", "a@example.net")]
    assert m["Events"][0]["Detail"]["smtpResponse"].startswith("250 ")
    assert m["Destination"] == ["a@example.net"]
    assert request(sesame, f"/_sesame/messages/{ID1}/raw")[2] == RAW


def test_delete_keeps_queued_and_foreign_rows(sesame):
    put_message(sesame, ID1)
    put_message(sesame, ID2, transport="mx")
    status, _, body = request(sesame, "/_sesame/messages", method="DELETE")
    assert json.loads(body) == {"Deleted": 1}
    assert message(sesame, ID1) is None
    assert message(sesame, ID2)["Transport"] == "mx"
    # a message another transport handled is not an inbox entry
    assert inbox(sesame) == []
    assert request(sesame, f"/_sesame/messages/{ID2}/raw")[0] == 404


def test_html_inbox_escapes_everything(sesame):
    evil = "<script>alert('x')</script> & \"q\""
    put_message(sesame, ID1, subject=evil, from_addr="a<b>@example.com",
                source="bounce@example.com", dest=("x\"><img src=y>@example.net",))
    # a subject that is not UTF-8 still gives a valid page: SQLite keeps the
    # bytes, PostgreSQL's TEXT only what the store made of them (U+FFFD)
    bad = "bad bytes \ufffd\ufffd <b>" if PG else b"bad bytes \xff\xfe <b>"
    put_message(sesame, ID2, subject=bad, created_ms=int(time.time() * 1000) + 5)
    status, ctype, body = request(sesame, "/_sesame/")
    assert status == 200 and ctype == "text/html; charset=utf-8"
    page = body.decode("utf-8")  # valid UTF-8 whatever was stored
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;" in page
    assert "a&lt;b&gt;@example.com" in page
    assert "x&quot;&gt;&lt;img src=y&gt;@example.net" in page
    assert f'href="/_sesame/messages/{ID1}/raw"' in page
    assert page.index(ID2) < page.index(ID1)  # newest first on the page
    assert "2 captured messages" in page
    assert "bad bytes \ufffd\ufffd &lt;b&gt;" in page
    # the JSON carries the same text, escaped by JSON rules
    assert inbox(sesame)[0]["Subject"] == evil


def test_inbox_methods(sesame):
    assert request(sesame, "/_sesame/messages", method="POST")[0] == 405
    assert request(sesame, "/_sesame/health")[0] == 200


# --- send statistics -----------------------------------------------------


def test_send_quota_and_statistics_count_accept_events(sesame):
    acct, key = sesame.principal("stats")
    other, _ = sesame.principal("other")
    now = int(time.time())
    old = (now - 2 * 86400) // 900 * 900 + 60  # well inside one 15-minute bucket
    rows = [(acct, now - 60, 3, "accept")] + [
        (acct, old, 5, "accept"),                  # outside 24 h, inside 2 weeks
        (acct, old + 10, 1, "bounce"),
        (acct, old + 20, 2, "complaint"),
        (acct, now - 30 * 86400, 7, "accept"),     # outside 2 weeks
        (other, now - 60, 9, "accept"),            # another account
    ]
    sql(sesame, "INSERT INTO send_counts (account_id, minute, recipients, kind) VALUES "
        + ", ".join("(%s, %d, %d, %s)" % (q(a), ts // 60, n, q(k)) for a, ts, n, k in rows))
    # and per quarter hour, as the store counts every event in both
    sql(sesame, "INSERT INTO send_counts_15m (account_id, quarter, recipients, kind) VALUES "
        + ", ".join("(%s, %d, %d, %s)" % (q(a), ts // 900, n, q(k)) for a, ts, n, k in rows))

    ses = sesame.client(key)
    quota = ses.get_send_quota()
    assert quota["SentLast24Hours"] == 3.0
    assert quota["Max24HourSend"] == 50000.0

    points = ses.get_send_statistics()["SendDataPoints"]
    points.sort(key=lambda p: p["Timestamp"])
    assert [(p["DeliveryAttempts"], p["Bounces"], p["Complaints"], p["Rejects"])
            for p in points] == [(5, 1, 2, 0), (3, 0, 0, 0)]
    for p in points:  # 15-minute buckets
        t = p["Timestamp"]
        assert t.minute % 15 == 0 and t.second == 0
    assert abs(points[1]["Timestamp"].timestamp() - (now - 60)) < 900

    out = json.loads(sesame.aws(key, "get-send-quota").stdout)
    assert out["SentLast24Hours"] == 3.0
