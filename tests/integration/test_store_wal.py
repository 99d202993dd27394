"""The SQLite store's write-ahead log under sustained sends: sesame serve
checkpoints on a thread of its own (store_checkpoint_thread) instead of
inside commits, so the WAL must still be copied back and reused — never
grow with everything ever written. 40 MB of messages go in; the WAL stays
a fraction of that, and every message is still there after a restart."""
import json
import os
import threading

import pytest

import conftest

SENDS = 2000
BODY = 20_000          # bytes per message: 2000 × 20 kB = 40 MB written
WAL_LIMIT = 16 << 20   # a WAL that is never checkpointed holds all 40 MB


def test_wal_is_checkpointed_while_sending(sesame):
    if conftest.PG:
        pytest.skip("a SQLite store's property")
    acct, key = sesame.principal("walsender", "--max-rate", "100000", "--max-24h", "-1")
    conftest.verify(sesame, acct, "example.com")
    body = ("x" * 76 + "\r\n") * (BODY // 78)
    counter = iter(range(SENDS))
    lock = threading.Lock()
    ids, errors = [], []

    def sender():
        ses = sesame.client(key)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            raw = (f"From: s@example.com\r\nTo: r@dest.test\r\nSubject: wal {n}\r\n\r\n"
                   f"{body}").encode()
            try:
                mid = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
            except Exception as e:  # recorded, asserted below
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                ids.append(mid)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert len(ids) == SENDS

    wal = os.path.join(sesame.data, "sesame.db-wal")
    size = os.path.getsize(wal)
    assert size < WAL_LIMIT, f"WAL is {size} bytes after {SENDS * BODY} written: not checkpointed"
    assert "checkpoint failed" not in sesame.read_log()

    sesame.stop()
    sesame.start()
    status, page = sesame.get(f"/_sesame/messages?limit={SENDS + 10}")
    assert status == 200
    assert set(ids) <= {m["MessageId"] for m in json.loads(page)["messages"]}
