"""Two `sesame serve` nodes on one PostgreSQL store (issue 14): what must hold
across nodes — the delegate's 24-hour quota in total, a policy change made
on one node seen by the other within a second, and a node killed with
deliveries in flight whose recipients the other node finishes, each once.

Only on PostgreSQL (make test's second pass, SESAME_TEST_PG): SQLite is one
node's store by design."""
import collections
import json
import os
import threading
import time

import pytest
from botocore.exceptions import ClientError

import mx as mxmod
from conftest import PG, Sesame, store_url, verify
from test_delivery import DEST, OWNER_DOMAIN, TERMINAL, World, flags, net  # noqa: F401

pytestmark = pytest.mark.skipif(not PG, reason="two nodes share a PostgreSQL store")


def second_node(first, tmp, cls=Sesame, **kw):
    """A node on `first`'s store and master key, with its own data dir
    (TLS pair, logs) and ports."""
    d = tmp / "node-b"
    d.mkdir()
    b = cls(d, **kw)
    b.db = ["--db", store_url(first.data)]
    b.extra += ["--master-key", os.path.join(first.data, "master.key")]
    return b


def owner_and_delegate(s, delegate_flags=()):
    owner, okey = s.principal("owner")
    delegate, dkey = s.principal("delegate", *delegate_flags)
    oc = s.client(okey)
    verify(s, owner, "sender@owner.test")
    arn = f"arn:aws:ses:us-east-1:{owner}:identity/sender@owner.test"
    oc.put_identity_policy(Identity="sender@owner.test", PolicyName="d", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{delegate}:root"},
            "Action": "ses:SendEmail", "Resource": arn}]}))
    return oc, dkey, arn


def send(c, arn, n):
    return c.send_email(Source="sender@owner.test", SourceArn=arn,
                        Destination={"ToAddresses": [f"r{n}@example.net"]},
                        Message={"Subject": {"Data": f"m{n}"},
                                 "Body": {"Text": {"Data": "x"}}})["MessageId"]


@pytest.fixture
def nodes(tmp_path):
    a_dir = tmp_path / "node-a"
    a_dir.mkdir()
    a = Sesame(a_dir).start()
    b = second_node(a, tmp_path)
    try:
        b.start()
        yield a, b
    finally:
        b.stop()
        a.stop()


def test_the_daily_quota_holds_across_nodes(nodes):
    a, b = nodes
    _, dkey, arn = owner_and_delegate(a, ("--max-24h", "100", "--max-rate", "100000"))
    clients = [a.client(dkey), b.client(dkey)]
    verdicts, lock = collections.Counter(), threading.Lock()
    todo = iter(range(150))

    def sender(c):
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            try:
                send(c, arn, n)
                v = "accepted"
            except ClientError as e:
                v = (e.response["Error"]["Code"], e.response["Error"]["Message"])
            with lock:
                verdicts[v] += 1

    threads = [threading.Thread(target=sender, args=(clients[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert verdicts == {"accepted": 100, ("Throttling", "Daily message quota exceeded."): 50}, \
        verdicts
    for c in clients:
        assert c.get_send_quota()["SentLast24Hours"] == 100


def test_a_policy_deleted_on_one_node_stops_sends_on_the_other_within_a_second(nodes):
    a, b = nodes
    oc, dkey, arn = owner_and_delegate(a)
    bc = b.client(dkey)
    send(bc, arn, 0)                        # B has the policy compiled and cached
    oc.delete_identity_policy(Identity="sender@owner.test", PolicyName="d")
    t0 = time.time()
    refused = None
    while time.time() - t0 < 3:
        try:
            send(bc, arn, 1)
        except ClientError as e:
            refused = time.time() - t0
            assert e.response["Error"]["Code"] == "AccessDenied"
            break
        time.sleep(0.05)
    assert refused is not None and refused <= 1.0, f"node B still sent {refused} s later"


TOTAL = 120
SLOW = 0.2


def test_a_node_killed_mid_delivery_leaves_its_recipients_to_the_other(tmp_path, net, mx):
    """Node A is killed -9 while the MX holds every final dot in flight (so no
    250 is unrecorded); node B, running all along, takes over A's claims
    when their lease ends: every recipient is accepted at the MX once."""
    lease = 3
    a_dir = tmp_path / "node-a"
    a_dir.mkdir()
    f = flags(net, mx.port, outbound_timeout_scale=0.05, lease=lease)
    a = mxmod.outbound_sesame(a_dir, "mx", extra=f).start()
    b_cls = type(a)
    b = None
    try:
        w = World(a, net, delegate_flags=("--max-rate", "100000"))
        mx.default = lambda: mxmod.slow(SLOW)
        mx.hold()
        mids = {w.send(to=(f"k{n:03d}@{DEST}",), subject=f"k{n}"): f"k{n:03d}@{DEST}"
                for n in range(TOTAL)}
        b = second_node(a, tmp_path, cls=b_cls, extra=f)
        b.start()
        mx.release()
        assert mx.wait(lambda m: len(m.messages()) >= 20, timeout=60)
        mx.hold()
        time.sleep(SLOW + 0.3)
        before = {r for m in mx.messages() for r in m.rcpts}
        assert mx.wait(lambda m: all(
            any(e["Type"] == "Delivery" for e in b.events(mid))
            for mid, r in mids.items() if r in before), timeout=30), \
            "a 250 the MX wrote was not recorded"
        assert mx.held, "nothing in flight at the kill: the test would prove nothing"
        a.proc.kill()
        a.proc.wait(timeout=10)
        assert mx.wait(lambda m: len(m.cut) >= 1, timeout=10), \
            "node A had no DATA in flight: nothing was left to node B"
        mx.release()
        deadline = time.time() + 90
        pending = set(mids)
        while pending and time.time() < deadline:
            for mid in list(pending):
                if any(e["Type"] in TERMINAL for e in b.events(mid)):
                    pending.discard(mid)
            time.sleep(0.5)
        assert not pending, f"{len(pending)} recipients never finished"
    finally:
        mx.release()
        if b is not None:
            b.stop()
        a.stop()
    copies = collections.Counter(r for m in mx.messages() for r in m.rcpts)
    assert set(copies) == set(mids.values())
    twice = {r: n for r, n in copies.items() if n > 1}
    assert not twice, f"{len(twice)} recipients delivered twice, e.g. {sorted(twice)[:3]}"
