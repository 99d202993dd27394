"""An SNS HTTP subscriber as SES users write one: a stdlib http.server on
loopback that records every POST, checks each message's signature the way
SNS handler libraries do (fetch SigningCertURL, rebuild the string to sign,
RSA PKCS#1 v1.5 with SHA-1 for SignatureVersion 1, SHA-256 for 2), and
confirms subscriptions by GETting SubscribeURL."""
import base64
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                     "Type"]


def string_to_sign(m):
    keys = NOTIFICATION_KEYS if m["Type"] == "Notification" else CONFIRMATION_KEYS
    return "".join(f"{k}\n{m[k]}\n" for k in keys if k in m and m[k] is not None).encode()


_certs = {}


def verify_signature(m):
    """Raise unless m's Signature verifies under the certificate at its
    SigningCertURL."""
    url = m["SigningCertURL"]
    if url not in _certs:
        with urllib.request.urlopen(url, timeout=10) as r:
            _certs[url] = x509.load_pem_x509_certificate(r.read())
    algo = {"1": hashes.SHA1(), "2": hashes.SHA256()}[m["SignatureVersion"]]
    _certs[url].public_key().verify(base64.b64decode(m["Signature"]), string_to_sign(m),
                                    padding.PKCS1v15(), algo)


class Endpoint:
    """One subscriber URL. `down` makes it answer 500, as a handler that is
    failing; received holds (headers, parsed body) of every POST taken."""

    def __init__(self, name="ep"):
        self.name, self.received, self.down, self.lock = name, [], False, threading.Lock()
        ep = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if ep.down:
                    self.send_response(500)
                    self.end_headers()
                    return
                with ep.lock:
                    ep.received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{name}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def messages(self, type_=None):
        with self.lock:
            out = []
            for h, b in self.received:
                m = json.loads(b)
                if type_ is None or m.get("Type") == type_:
                    out.append(m)
            return out

    def wait(self, pred, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = pred(self)
            if got:
                return got
            time.sleep(0.1)
        return pred(self)

    def confirm(self, timeout=20.0):
        """Wait for the SubscriptionConfirmation, check it, GET SubscribeURL."""
        got = self.wait(lambda e: e.messages("SubscriptionConfirmation"), timeout)
        assert got, f"{self.name}: no SubscriptionConfirmation"
        m = got[-1]
        verify_signature(m)
        with urllib.request.urlopen(m["SubscribeURL"], timeout=10) as r:
            assert r.status == 200
        return m

    def notifications(self):
        """The SES notifications delivered, each signature checked, as
        (envelope, parsed Message)."""
        out = []
        for m in self.messages("Notification"):
            verify_signature(m)
            out.append((m, json.loads(m["Message"])))
        return out


def subscribe(sns, topic_arn, ep):
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=ep.url)
    ep.confirm()
