"""The outbound-delivery harness: a programmable recipient MX (aiosmtpd in a
thread), an authoritative test DNS (dnsmasq) serving MX, A and TXT records,
a DKIM verifier (dkimpy) whose key lookups are real DNS queries to that
dnsmasq (dnspython), and a `sesame serve` started with delivery flags.

The MX records, per message, only what it can honestly know:
  - `rcpts`: every RCPT it answered, with the answer;
  - `accepted`: every message whose final-dot 250 it handed to the kernel on
    a connection that was still open (the handler chose 250 AND the write of
    the 250 succeeded). Whether the client read that 250 before it died is
    beyond what any server can know (RFC 5321 §6.1's duplicate window);
  - `cut`: every DATA whose answer was never written because the
    connection went away while the MX was still deciding (slow or held);
  - `conns`: every connection with its open/close times and whether the
    client said QUIT.

Several MX instances can share one port on different loopback addresses
(Linux routes all of 127/8 to lo), so one `--mx-port` reaches them all; an
address of 127/8 where nothing listens is an MX that refuses connections."""
import asyncio
import base64
import functools
import os
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

DNSMASQ = "/usr/sbin/dnsmasq"
OPENSSL = "/usr/bin/openssl"


# ---- behaviour rules -----------------------------------------------------------

@dataclass
class Rule:
    """What the MX answers for one recipient: `first` are the RCPT answers of
    the first len(first) attempts, `then` the answer of every later attempt;
    `data_delay` seconds pass before the answer to the final dot."""
    first: tuple = ()
    then: str = "250 2.1.5 Ok"
    data_delay: float = 0.0
    attempts: int = 0  # RCPT attempts seen so far (the MX counts them)

    def answer(self):
        self.attempts += 1
        if self.attempts <= len(self.first):
            return self.first[self.attempts - 1]
        return self.then


def accept():
    return Rule()


def tempfail(n, reply="451 4.3.0 Temporary failure, try again later"):
    """451 for the first n attempts, then 250."""
    return Rule(first=(reply,) * n)


def reject(reply="550 5.1.1 The email account that you tried to reach does not exist"):
    return Rule(then=reply)


def always_tempfail(reply="451 4.3.0 Temporary failure, try again later"):
    return Rule(then=reply)


def mailbox_full(reply="452 4.2.2 The email account that you tried to reach is over quota"):
    return Rule(then=reply)


def slow(seconds):
    """250 to RCPT, and the final dot answered after `seconds`."""
    return Rule(data_delay=seconds)


# ---- what the MX saw -------------------------------------------------------------

@dataclass
class RcptAnswer:
    address: str
    reply: str
    mail_from: str
    peer: str
    tls: bool
    conn: int
    t: float


@dataclass
class Accepted:
    mail_from: str
    rcpts: tuple
    raw: bytes
    peer: str          # the client's IP address
    local: str         # the MX address it was accepted on
    tls: bool
    helo: str
    conn: int
    t_data: float      # when the final dot arrived
    t: float = 0.0     # when the 250 was written


@dataclass
class Conn:
    opened: float
    closed: float = None
    quit: bool = False
    tls: bool = False


# ---- a throwaway self-signed certificate ------------------------------------------

@functools.lru_cache(maxsize=1)
def _cert_pair():
    d = tempfile.mkdtemp(prefix="mx-cert-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=mx.test",
                    "-addext", "subjectAltName=DNS:mx1.test,DNS:mx2.test"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def server_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*_cert_pair())
    return ctx


# ---- the MX ------------------------------------------------------------------------

def mx_port(addresses=("127.0.0.1", "127.0.0.2", "127.0.0.3")):
    """A TCP port free on every one of `addresses` at once."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
        ok = True
        for a in addresses:
            with socket.socket() as t:
                try:
                    t.bind((a, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no port free on all of " + ", ".join(addresses))


class _Handler:
    """aiosmtpd's hooks; all state lives in the MX."""

    def __init__(self, mx):
        self.mx = mx

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # aiosmtpd reads pipelined commands one by one; say so
        return responses[:-1] + ["250-PIPELINING"] + responses[-1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mx = self.mx
        with mx.lock:
            reply = mx.rule_for(address).answer()
            mx.rcpts.append(RcptAnswer(address, reply, envelope.mail_from, session.peer[0],
                                       session.ssl is not None, server.conn, time.time()))
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):
        mx = self.mx
        t_data = time.time()
        rcpts = tuple(envelope.rcpt_tos)
        with mx.lock:
            delay = max([mx.rule_for(r).data_delay for r in rcpts] or [0.0])
        try:
            if delay:
                await asyncio.sleep(delay)
            while not mx.gate.is_set():
                with mx.lock:
                    mx.held.add(id(server))
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            with mx.lock:
                mx.held.discard(id(server))
                mx.cut.append((envelope.mail_from, rcpts, server.conn, time.time()))
            raise
        with mx.lock:
            mx.held.discard(id(server))
            reply = mx.data_reply
        if reply.startswith("250"):
            server.pending = Accepted(
                envelope.mail_from, rcpts, bytes(envelope.original_content), session.peer[0],
                server.local, session.ssl is not None, session.host_name or "", server.conn,
                t_data)
        return reply


def _make_server_class():
    from aiosmtpd.smtp import SMTP

    class _Server(SMTP):
        """aiosmtpd's SMTP, counting connections and writes of the final 250."""

        def __init__(self, mx, *args, **kwargs):
            super().__init__(mx.handler, *args, **kwargs)
            self.mx = mx
            self.conn = None
            self.local = mx.host
            self.pending = None

        def connection_made(self, transport):
            first = self.transport is None  # not the TLS layer after STARTTLS
            super().connection_made(transport)
            if first:
                self.conn = self.mx._opened()
            else:
                self.mx._tls(self.conn)

        def connection_lost(self, error):
            self.mx._closed(self.conn)
            super().connection_lost(error)

        async def smtp_QUIT(self, arg):
            self.mx._quit(self.conn)
            await super().smtp_QUIT(arg)

        async def push(self, status):
            pending, self.pending = self.pending, None
            await super().push(status)  # raises when the connection is gone
            if pending is not None and status.startswith("250") \
                    and self.transport is not None and not self.transport.is_closing():
                pending.t = time.time()
                self.mx._accept(pending)

    return _Server


class MX:
    """A recipient MX on host:port. rule(address_or_localpart, Rule) programs
    it; unlisted recipients get 250. starttls=False offers no STARTTLS."""

    def __init__(self, host="127.0.0.1", port=None, starttls=True, name="mx.test"):
        self.host = host
        self.port = port or mx_port()
        self.starttls = starttls
        self.name = name
        self.lock = threading.Lock()
        self.handler = _Handler(self)
        self.rules = {}
        self.default = accept
        self.data_reply = "250 2.0.0 Ok: queued"
        self.gate = threading.Event()
        self.gate.set()
        self.held = set()
        self.controller = None
        self.reset()

    # programming
    def rule(self, who, rule):
        with self.lock:
            self.rules[who.lower()] = rule
        return rule

    def rule_for(self, address):
        """The rule of a full address, else of its local part, else a fresh
        default rule kept for that address (so attempts are counted)."""
        a = address.lower()
        r = self.rules.get(a) or self.rules.get(a.split("@")[0])
        if r is None:
            r = self.rules[a] = self.default()
        return r

    def hold(self):
        """Answer no final dot until release(); held DATA whose connection
        goes away are recorded in `cut`, never in `accepted`."""
        self.gate.clear()

    def release(self):
        self.gate.set()

    def reset(self):
        with self.lock:
            self.rcpts, self.accepted, self.cut, self.conns = [], [], [], {}

    # aiosmtpd side
    def _opened(self):
        with self.lock:
            n = len(self.conns) + 1
            self.conns[n] = Conn(time.time())
            return n

    def _tls(self, n):
        with self.lock:
            if n in self.conns:
                self.conns[n].tls = True

    def _closed(self, n):
        with self.lock:
            if n in self.conns and self.conns[n].closed is None:
                self.conns[n].closed = time.time()

    def _quit(self, n):
        with self.lock:
            if n in self.conns:
                self.conns[n].quit = True

    def _accept(self, a):
        with self.lock:
            self.accepted.append(a)

    # life
    def start(self):
        from aiosmtpd.controller import Controller
        server_cls = _make_server_class()
        mx = self
        kwargs = {"server_hostname": self.name, "timeout": 60,
                  "data_size_limit": 50 * 1024 * 1024}
        if self.starttls:
            kwargs["tls_context"] = server_tls_context()

        class _Controller(Controller):
            def factory(self):
                return server_cls(mx, **self.SMTP_kwargs)

        self.controller = _Controller(self.handler, hostname=self.host, port=self.port,
                                      ready_timeout=10, **kwargs)
        self.controller.start()
        self.reset()  # the controller's own readiness probe is not a client
        return self

    def stop(self):
        if self.controller is not None:
            self.release()
            self.controller.stop()
            self.controller = None

    # reading
    def messages(self):
        with self.lock:
            return list(self.accepted)

    def for_message(self, message_id):
        """Accepted copies whose VERP envelope sender names message_id."""
        return [a for a in self.messages() if a.mail_from.split("@")[0] == message_id]

    def answers(self, address):
        with self.lock:
            return [r.reply for r in self.rcpts if r.address.lower() == address.lower()]

    def wait(self, pred, timeout=20.0, interval=0.05):
        """Poll pred(self) until true; returns its last value."""
        deadline = time.time() + timeout
        v = pred(self)
        while not v and time.time() < deadline:
            time.sleep(interval)
            v = pred(self)
        return v


def refusing_host():
    """An address where nothing listens on any port MX() picked: a host that
    refuses connections (mx_port() checked the port is free there too)."""
    return "127.0.0.3"


# ---- the DNS -------------------------------------------------------------------------

def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Zone:
    """dnsmasq, authoritative for every name under `domain` (names not
    published answer NXDOMAIN; nothing is forwarded). Records: mx
    (name, host, preference), hosts (name, IPv4), txt (name, value).
    publish() restarts it on the same port with the records given (lists not
    given stay as they were); add() adds to them."""

    def __init__(self, tmp, domain="test"):
        self.tmp = str(tmp)
        self.domain = domain
        self.port = None
        self.proc = None
        self.mx, self.hosts, self.txt = [], [], []

    def add(self, mx=(), hosts=(), txt=()):
        return self.publish(mx=self.mx + list(mx), hosts=self.hosts + list(hosts),
                            txt=self.txt + list(txt))

    def publish(self, mx=None, hosts=None, txt=None):
        if mx is not None:
            self.mx = list(mx)
        if hosts is not None:
            self.hosts = list(hosts)
        if txt is not None:
            self.txt = list(txt)
        for _ in range(5):
            self.stop()
            if self.port is None:
                self.port = free_udp_port()
            args = [DNSMASQ, "--no-daemon", f"--port={self.port}",
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                    "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                    f"--local=/{self.domain}/"]
            args += [f"--mx-host={n},{h},{p}" for n, h, p in self.mx]
            args += [f"--host-record={n},{ip}" for n, ip in self.hosts]
            # one argument per TXT value: dnsmasq itself splits strings over 255 bytes
            args += [f"--txt-record={n},{v}" for n, v in self.txt]
            log = open(os.path.join(self.tmp, "dnsmasq.log"), "ab")
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
            log.close()
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                if self._answers("ready." + self.domain):
                    return self
                time.sleep(0.02)
            if self.proc.poll() is not None:
                self.port = None  # the port was taken meanwhile: another one
        raise RuntimeError("dnsmasq did not start: " + self.read_log())

    def read_log(self):
        try:
            with open(os.path.join(self.tmp, "dnsmasq.log"), "rb") as f:
                return f.read().decode(errors="replace")[-2000:]
        except OSError:
            return ""

    def _answers(self, name):
        import dns.message
        import dns.query
        try:
            dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=self.port,
                          timeout=0.2)
            return True
        except Exception:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self.proc = None

    # lookups through this server, as any resolver would make them
    def resolver(self):
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = self.port
        r.lifetime = 2.0
        return r

    def lookup(self, name, rdtype):
        """Answers as text (MX: 'pref host.'), [] for NXDOMAIN or no data."""
        import dns.resolver
        try:
            return [r.to_text() for r in self.resolver().resolve(name, rdtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []

    def txt_bytes(self, name, timeout=5):
        """dkimpy's dnsfunc: the TXT record of `name` (bytes or str), its
        strings joined, or None."""
        import dns.resolver
        if isinstance(name, bytes):
            name = name.decode()
        try:
            ans = self.resolver().resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(ans[0].strings)


# ---- DKIM, verified independently ----------------------------------------------------

def dkim_signatures(raw):
    """The tags of every DKIM-Signature header of `raw`, in header order."""
    import email
    import email.policy
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for v in msg.get_all("DKIM-Signature") or []:
        v = re.sub(r"\s+", "", str(v))
        out.append(dict(t.split("=", 1) for t in v.split(";") if "=" in t))
    return out


def dkim_verify_all(raw, zone):
    """[(tags, verified)] for every signature, each checked by dkimpy with
    its key fetched from `zone` over DNS."""
    import dkim

    def one(i):
        try:
            return bool(dkim.DKIM(raw).verify(idx=i, dnsfunc=zone.txt_bytes))
        except dkim.DKIMException:
            return False
    return [(tags, one(i)) for i, tags in enumerate(dkim_signatures(raw))]


def rsa_dkim_key():
    """(private PEM, TXT value) of a fresh RSA-2048 DKIM key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    spki = k.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()


def ed25519_dkim_key():
    """(private key as dkimpy wants it: base64 of the 32-byte seed, TXT value)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    k = ed25519.Ed25519PrivateKey.generate()
    seed = k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed), "v=DKIM1; k=ed25519; p=" + base64.b64encode(pub).decode()


# ---- sesame with delivery flags ----------------------------------------------------------

def outbound_sesame(tmp, transport="mx", extra=()):
    """A conftest.Sesame whose --transport is `transport` (the base class
    always passes capture; the value is replaced, not repeated)."""
    import json
    import urllib.request
    from conftest import Sesame

    class Outbound(Sesame):
        def args(self):
            a = super().args()
            a[a.index("--transport") + 1] = transport
            return a

        def events(self, message_id):
            with urllib.request.urlopen(
                    f"{self.endpoint}/_sesame/messages/{message_id}/events", timeout=10) as r:
                assert r.status == 200
                return json.loads(r.read())["events"]

        def wait_events(self, message_id, pred, timeout=20.0, interval=0.1):
            """Poll the events of message_id until pred(events); returns them."""
            deadline = time.time() + timeout
            ev = self.events(message_id)
            while not pred(ev) and time.time() < deadline:
                time.sleep(interval)
                ev = self.events(message_id)
            return ev

    return Outbound(tmp, extra=extra)
