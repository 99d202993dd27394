"""What probing as an attacker found (issue 17), each fixed and held here:
HTTP request framing that two readers could disagree on (duplicate
Content-Length, Content-Length with Transfer-Encoding, a body on GET) is
refused with 400 before any body is read and nothing behind it is served;
a client that dribbles its header lines is cut at --header-timeout."""
import socket
import time

import pytest

from conftest import Sesame


def exchange(sesame, data, wait=5.0):
    """Send raw bytes to --http; everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", sesame.http_port), timeout=wait) as s:
        s.sendall(data)
        got = b""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        return got


SMUGGLED = (b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")


def post(framing, body):
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + framing + b"\r\n" + body)


@pytest.mark.parametrize("name,request_bytes,why", [
    ("two Content-Length values",
     post(b"Content-Length: 20\r\nContent-Length: 0\r\n", b"Action=GetSendQuota" + SMUGGLED),
     b"two different Content-Length values"),
    ("Content-Length with Transfer-Encoding",
     post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
     b"Content-Length together with Transfer-Encoding"),
    ("a Content-Length that is a list",
     post(b"Content-Length: 0, 0\r\n", SMUGGLED), b"an invalid Content-Length"),
    ("a GET with a body evhttp would read as the next request",
     b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED)
     + SMUGGLED, b"a body on a method that has none"),
])
def test_ambiguous_framing_is_refused_and_nothing_behind_it_is_served(sesame, name,
                                                                        request_bytes, why):
    got = exchange(sesame, request_bytes)
    assert got.startswith(b"HTTP/1.1 400 Bad Request\r\n"), got
    assert why in got
    # one answer, and it is the refusal: the smuggled request got none
    assert got.count(b"HTTP/1.1 ") == 1, got
    # the listener still serves
    ok = exchange(sesame, b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200"), ok


def test_the_same_content_length_twice_is_accepted(sesame):
    body = b"Action=GetSendQuota"
    got = exchange(sesame, post(b"Content-Length: %d\r\nContent-Length: %d\r\n"
                                b"Connection: close\r\n" % (len(body), len(body)), body))
    # it reaches SigV4, which refuses the unsigned request in SES's words
    assert got.startswith(b"HTTP/1.1 403"), got
    assert b"MissingAuthenticationToken" in got


@pytest.fixture
def quick(tmp_path):
    s = Sesame(tmp_path, extra=["--header-timeout", "2"]).start()
    yield s
    s.stop()


def test_a_client_dribbling_header_lines_is_cut_at_the_header_timeout(quick):
    with socket.create_connection(("127.0.0.1", quick.http_port), timeout=10) as s:
        s.sendall(b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        start = time.monotonic()
        closed_after = None
        for i in range(12):  # a line a second: never idle, never done
            time.sleep(1)
            try:
                s.sendall(b"X-Slow-%d: 1\r\n" % i)
                if s.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed_after = time.monotonic() - start
                    break
            except BlockingIOError:
                continue
            except OSError:
                closed_after = time.monotonic() - start
                break
        assert closed_after is not None, "still open after 12 s of header lines"
        assert closed_after < 6, closed_after
    # a prompt client on the same server is untouched
    got = exchange(quick, b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200"), got


def test_a_keep_alive_connection_idle_between_requests_is_not_cut(quick):
    """The deadline is on a header section, not on the connection."""
    with socket.create_connection(("127.0.0.1", quick.http_port), timeout=10) as s:
        f = s.makefile("rb")
        for _ in range(2):
            s.sendall(b"GET /_sesame/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert f.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := f.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            time.sleep(3.5)  # longer than the header timeout, between requests
