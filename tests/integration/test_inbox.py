"""The capture inbox's view, search, delete-one and live updates
(/_sesame/messages?…, /_sesame/messages/<id>, /html, /attachments/<n>,
DELETE /_sesame/messages/<id>, /_sesame/events) against a real `sesame
serve`, with mail sent through boto3. The page itself is driven in a
browser by test_inbox_browser.py."""
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

import pytest

import conftest

DOMAIN = "example.com"
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary \r\n bytes\n"


def request(s, path, method="GET", host=None):
    """(status, headers, body bytes); never raises on 4xx/5xx."""
    r = urllib.request.Request(s.endpoint + path, method=method)
    if host is not None:
        r.add_unredirected_header("Host", host)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(s, path):
    status, headers, body = request(s, path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def listing(s, **params):
    q = urllib.parse.urlencode(params)
    return get_json(s, "/_sesame/messages" + ("?" + q if q else ""))["messages"]


def subjects(msgs):
    return [m["Subject"] for m in msgs]


def rich_message(subject="Invoice 42", to="alice@dest.test", frm=f"billing@{DOMAIN}"):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m.set_content("Plain text: café\n")
    m.add_alternative("<html><body><h1 id='t'>Hello HTML</h1>"
                      "<script>document.title='pwned'</script></body></html>",
                      subtype="html")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice 42.pdf")
    m.add_attachment("<script>alert(1)</script>", subtype="html", filename="evil.html")
    return m.as_bytes()


class World:
    def __init__(self, s):
        self.account, key = s.principal("inbox")
        self.other, okey = s.principal("other")
        conftest.verify(s, self.account, DOMAIN)
        conftest.verify(s, self.other, "other.test")
        self.c = s.client(key)
        self.oc = s.client(okey)
        self.arn = f"arn:aws:ses:us-east-1:{self.account}:identity/{DOMAIN}"

    def simple(self, subject, to="bob@dest.test", frm=f"news@{DOMAIN}", html=None, c=None):
        body = {"Text": {"Data": "text of " + subject}}
        if html is not None:
            body["Html"] = {"Data": html}
        return (c or self.c).send_email(
            Source=frm, Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject}, "Body": body})["MessageId"]

    def raw(self, data):
        return self.c.send_raw_email(RawMessage={"Data": data})["MessageId"]


@pytest.fixture
def world(sesame):
    return World(sesame)


def wait_count(s, n, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = listing(s)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


# --- search ------------------------------------------------------------------


def test_search_params(sesame, world):
    world.simple("Welcome aboard", to="carol@dest.test")
    world.simple("Password reset 100%_done", to="dave@dest.test", frm=f"security@{DOMAIN}")
    world.raw(rich_message())
    world.simple("From the other account", to="erin@other.test", frm="ops@other.test",
                 c=world.oc)
    assert len(wait_count(sesame, 4)) == 4
    assert subjects(listing(sesame, q="WELCOME")) == ["Welcome aboard"]  # case-insensitive
    assert subjects(listing(sesame, q="dave@")) == ["Password reset 100%_done"]  # a recipient
    assert subjects(listing(sesame, q="security")) == ["Password reset 100%_done"]  # From
    assert subjects(listing(sesame, subject="invoice")) == ["Invoice 42"]
    assert subjects(listing(sesame, subject="alice")) == []  # subject only
    assert subjects(listing(sesame, to="alice@dest.test")) == ["Invoice 42"]
    assert subjects(listing(sesame, to="billing")) == []  # recipients only
    assert subjects(listing(sesame, **{"from": "billing@"})) == ["Invoice 42"]
    assert subjects(listing(sesame, account=world.other)) == ["From the other account"]
    assert len(listing(sesame, account=world.account)) == 3
    assert listing(sesame, account=world.account[:6]) == []  # exact, not a substring
    # LIKE's wildcards are literal
    assert subjects(listing(sesame, q="100%_")) == ["Password reset 100%_done"]
    assert subjects(listing(sesame, q="%")) == ["Password reset 100%_done"]
    assert listing(sesame, q="w%e") == listing(sesame, q="w_lcome") == []
    assert listing(sesame, q="!") == []  # the escape character is literal too
    # filters combine, and limit still keeps the newest
    assert subjects(listing(sesame, q="dest.test", account=world.account, limit=1)) == [
        "Invoice 42"]
    assert subjects(listing(sesame, q="dest.test", subject="a")) == [
        "Welcome aboard", "Password reset 100%_done"]
    # an empty parameter is no filter; same members as the plain list
    assert listing(sesame, q="", subject="") == listing(sesame)
    assert set(listing(sesame, q="welcome")[0]) == set(listing(sesame)[0])


@pytest.mark.parametrize("query", ["?q=" + "a" * 257, "?subject=" + "b" * 300, "?limit=0&q=x"])
def test_bad_search_is_400(sesame, query):
    status, headers, body = request(sesame, "/_sesame/messages" + query)
    assert status == 400 and "error" in json.loads(body)


def test_search_at_its_cap(sesame, world):
    world.simple("s" * 256)
    wait_count(sesame, 1)
    assert len(listing(sesame, q="s" * 256)) == 1


def test_page_search_is_server_rendered_and_escaped(sesame, world):
    world.simple("alpha one")
    world.simple("beta two")
    wait_count(sesame, 2)
    status, headers, body = request(sesame, "/_sesame/?q=" + urllib.parse.quote('alpha"><b>'))
    page = body.decode()
    assert status == 200 and "0 captured messages matching" in page
    assert 'value="alpha&quot;&gt;&lt;b&gt;"' in page
    status, headers, body = request(sesame, "/_sesame/?q=alpha")
    page = body.decode()
    assert "1 captured message matching" in page and "alpha one" in page
    assert "beta two" not in page


# --- the parsed view -----------------------------------------------------------


def test_parsed_view_and_attachment_bytes(sesame, world):
    mid = world.raw(rich_message())
    wait_count(sesame, 1)
    v = get_json(sesame, f"/_sesame/messages/{mid}")
    # the list's members are all there
    (row,) = listing(sesame)
    for k, val in row.items():
        assert v[k] == val, k
    assert v["SourceArn"] == world.arn and v["SendingAccountId"] == world.account
    names = [h["Name"] for h in v["Headers"]]
    assert "Subject" in names and "MIME-Version" in names
    hdr = {h["Name"].lower(): h["Value"] for h in v["Headers"]}
    assert hdr["subject"] == "Invoice 42" and hdr["to"] == "alice@dest.test"
    assert v["Text"] == "Plain text: café\n"
    assert "<h1 id='t'>Hello HTML</h1>" in v["Html"]
    assert v["HtmlUrl"] == f"/_sesame/messages/{mid}/html"
    assert v["RawUrl"] == f"/_sesame/messages/{mid}/raw"
    assert v["Truncated"] is False
    raw = request(sesame, f"/_sesame/messages/{mid}/raw")[2]
    assert v["Size"] == len(raw)
    att = v["Attachments"]
    assert [(a["Index"], a["Filename"], a["ContentType"], a["Inline"]) for a in att] == [
        (0, "invoice 42.pdf", "application/pdf", False),
        (1, "evil.html", "text/html", False)]
    assert att[0]["Size"] == len(PDF)
    status, headers, body = request(sesame, att[0]["Url"])
    assert status == 200 and body == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"invoice 42.pdf\"; filename*=UTF-8''invoice%2042.pdf")
    assert headers["X-Content-Type-Options"] == "nosniff"
    # an HTML attachment is a download, never a page on the inbox's origin
    status, headers, body = request(sesame, att[1]["Url"])
    # (a text part: its line ends are the wire's, CRLF)
    assert status == 200 and body == b"<script>alert(1)</script>\r\n"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in headers["Content-Security-Policy"]


def test_html_part_policy(sesame, world):
    mid = world.raw(rich_message())
    wait_count(sesame, 1)
    status, headers, body = request(sesame, f"/_sesame/messages/{mid}/html")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"Hello HTML" in body
    csp = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert not any("script-src" in d for d in csp)  # default-src 'none' covers scripts
    assert "img-src data: cid:" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_inline_images_become_data_uris(sesame, world):
    png = bytes.fromhex("89504e470d0a1a0a") + b"not a real png"
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = f"news@{DOMAIN}", "ann@dest.test", "with a logo"
    m.set_content("text")
    m.add_alternative('<p><img src="cid:logo@example.com" alt="logo"></p>', subtype="html")
    m.get_payload()[1].add_related(png, maintype="image", subtype="png",
                                   cid="<logo@example.com>")
    mid = world.raw(m.as_bytes())
    wait_count(sesame, 1)
    v = get_json(sesame, f"/_sesame/messages/{mid}")
    assert 'src="cid:logo@example.com"' in v["Html"]  # the JSON has the part as sent
    (a,) = v["Attachments"]
    assert (a["ContentType"], a["ContentId"], a["Size"]) == ("image/png", "logo@example.com",
                                                              len(png))
    status, headers, body = request(sesame, f"/_sesame/messages/{mid}/html")
    import base64
    assert ('src="data:image/png;base64,' + base64.b64encode(png).decode() + '"').encode() in body
    assert b"cid:" not in body


def test_text_only_message(sesame, world):
    mid = world.simple("just text")
    wait_count(sesame, 1)
    v = get_json(sesame, f"/_sesame/messages/{mid}")
    assert v["Text"].startswith("text of just text")
    assert (v["Html"], v["HtmlUrl"], v["Attachments"]) == (None, None, [])
    status, _, body = request(sesame, f"/_sesame/messages/{mid}/html")
    assert status == 404 and "no HTML part" in json.loads(body)["error"]
    status, _, body = request(sesame, f"/_sesame/messages/{mid}/attachments/0")
    assert status == 404


def test_bad_mime_never_breaks_the_view(sesame, world):
    """Rows planted as the queue writes them, with bytes no client sends."""
    from test_capture import put_message, ID1, ID2, ID3
    nasty = (b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             + b"--b\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" * 500
             + b"--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\xff\r\n")
    put_message(sesame, ID1, raw=nasty)
    put_message(sesame, ID2, raw=b"")
    put_message(sesame, ID3, raw=b"\xff\xfe\x00garbage without headers")
    for mid in (ID1, ID3):
        v = get_json(sesame, f"/_sesame/messages/{mid}")
        assert v["MessageId"] == mid
        for a in v["Attachments"]:
            assert request(sesame, a["Url"])[0] == 200
    v = get_json(sesame, f"/_sesame/messages/{ID2}")
    assert v["ParseError"] == "the message is empty" and v["Headers"] == []
    assert (v["Text"], v["Html"], v["Attachments"], v["Truncated"]) == (None, None, [], False)
    assert request(sesame, f"/_sesame/messages/{ID2}/html")[0] == 404


@pytest.mark.parametrize("suffix", [
    "", "/html", "/attachments/0", "/attachments/x", "/attachments/-1",
    "/attachments/99999", "/attachments/", "/attachments/0/x", "/text"])
def test_view_404s(sesame, world, suffix):
    mid = world.simple("there")
    wait_count(sesame, 1)
    known = suffix in ("", "/html")
    path = f"/_sesame/messages/{'0' * 60 if known else mid}{suffix}"
    status, headers, body = request(sesame, path)
    assert status == 404, path
    assert headers["Content-Type"].startswith("application/json")
    assert "error" in json.loads(body)


# --- delete one ------------------------------------------------------------------


def test_delete_one(sesame, world):
    a = world.simple("keep me")
    b = world.simple("delete me")
    wait_count(sesame, 2)
    status, _, body = request(sesame, f"/_sesame/messages/{b}", method="DELETE")
    assert (status, json.loads(body)) == (200, {"Deleted": 1})
    assert [m["MessageId"] for m in listing(sesame)] == [a]
    status, _, body = request(sesame, f"/_sesame/messages/{b}", method="DELETE")
    assert status == 404 and json.loads(body) == {"error": f"message {b} not found"}
    assert request(sesame, f"/_sesame/messages/{b}")[0] == 404
    assert request(sesame, "/_sesame/messages/a'b", method="DELETE")[0] == 404
    assert request(sesame, "/_sesame/messages/", method="DELETE")[0] == 404
    # the events of a deleted message go with it
    assert request(sesame, f"/_sesame/messages/{b}/events")[0] == 404


def test_delete_one_keeps_other_transports(sesame):
    from test_capture import put_message, ID1, message
    put_message(sesame, ID1, transport="mx")
    assert request(sesame, f"/_sesame/messages/{ID1}", method="DELETE")[0] == 404
    assert message(sesame, ID1)["Transport"] == "mx"


# --- the admin gate on every new route -------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("GET", "/_sesame/messages?q=x"),
    ("GET", "/_sesame/messages/{id}"),
    ("GET", "/_sesame/messages/{id}/html"),
    ("GET", "/_sesame/messages/{id}/attachments/0"),
    ("DELETE", "/_sesame/messages/{id}"),
    ("GET", "/_sesame/events"),
    ("GET", "/_sesame/?q=x"),
])
def test_admin_gate(sesame, world, method, path):
    mid = world.raw(rich_message())
    wait_count(sesame, 1)
    path = path.format(id=mid)
    status, _, body = request(sesame, path, method=method, host="evil.example")
    assert status == 403, path
    assert "forbidden" in json.loads(body)["error"]
    status, _, _ = request(sesame, path, method=method, host=f"evil.example:{sesame.http_port}")
    assert status == 403
    assert len(listing(sesame)) == 1  # nothing was deleted


# --- the page -----------------------------------------------------------------------


def test_page_escapes_a_hostile_subject_and_has_a_policy(sesame, world):
    evil = "<img src=x onerror=alert(1)><script>alert('x')</script>"
    world.simple(evil, to="x@dest.test")
    wait_count(sesame, 1)
    status, headers, body = request(sesame, "/_sesame/")
    page = body.decode()
    assert status == 200
    assert "<script>" not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(&#39;x&#39;)" in page
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert "script-src 'sha256-" in csp and "frame-ancestors 'none'" in csp
    # the script builds rows with textContent only
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page
    assert '<iframe id="frame" sandbox=""' in page
    assert headers["Cache-Control"] == "no-store"


# --- server-sent events ---------------------------------------------------------------


def sse_open(s, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=timeout)
    c.request("GET", "/_sesame/events")
    return c, c.getresponse()


def sse_event(resp):
    """The next event as (name, data), skipping comments and retry."""
    name, data = None, None
    while True:
        line = resp.fp.readline()
        assert line, "stream ended"
        line = line.decode().rstrip("\n")
        if line == "":
            if name is not None:
                return name, data
            continue
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])


def test_events_announce_new_mail(sesame, world):
    c, resp = sse_open(sesame)
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type").startswith("text/event-stream")
        assert sse_event(resp) == ("mail", {"Newest": ""})  # the state at once
        mid = world.simple("live one")
        assert sse_event(resp) == ("mail", {"Newest": mid})
        mid2 = world.simple("live two")
        assert sse_event(resp) == ("mail", {"Newest": mid2})
        request(sesame, "/_sesame/messages", method="DELETE")
        assert sse_event(resp) == ("mail", {"Newest": ""})
    finally:
        c.close()


def test_events_are_capped_and_freed(sesame):
    conns = []
    try:
        for _ in range(32):
            c, resp = sse_open(sesame)
            assert resp.status == 200
            assert sse_event(resp)[0] == "mail"
            conns.append(c)
        status, headers, body = request(sesame, "/_sesame/events")
        assert status == 503 and headers["Retry-After"] == "5"
        assert "too many" in json.loads(body)["error"]
        # the rest of the server is not held up by 32 open streams
        assert request(sesame, "/_sesame/messages")[0] == 200
    finally:
        for c in conns:
            c.close()
    # closed streams are freed: there is room again (bounded wait)
    deadline = time.time() + 10
    while True:
        c, resp = sse_open(sesame)
        if resp.status == 200:
            c.close()
            break
        c.close()
        assert time.time() < deadline, "closed streams were never freed"
        time.sleep(0.2)
    # and the server still stops cleanly with a stream open
    c, resp = sse_open(sesame)
    assert resp.status == 200
    assert sesame.stop() == 0
    c.close()
