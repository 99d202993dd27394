#!/usr/bin/python3
"""dkim_verify.py DIR NGOOD NBAD — the independent check of src/mail/dkim.c.

test_dkim.c writes signed messages into DIR and the public key records into
DIR/dns.txt (one "<selector>._domainkey.<domain>. <TXT text>" per line),
then runs this script, which verifies them with dkimpy (Debian's
python3-dkim; Ed25519 through python3-nacl):

  - every DKIM-Signature of each DIR/good-*.eml must verify;
  - in each of them, h= (as dkimpy parses it) lists "from" once more than
    the message has From fields (over-signing; dkimpy itself also adds a
    "from" when verifying, so the bad-*-from messages alone cannot show it);
  - each DIR/bad-*.eml (a signed message altered after signing) must have
    no signature that verifies.

Exit 0 only if all of that holds and exactly NGOOD good and NBAD bad
messages were seen (so an empty or half-written DIR cannot pass).
"""
import os
import re
import sys

import dkim
import dkim.util


def main():
    d, want_good, want_bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    records = {}
    with open(os.path.join(d, "dns.txt"), "rb") as f:
        for line in f:
            name, txt = line.rstrip(b"\n").split(b" ", 1)
            records[name] = txt

    def dnsfunc(name, timeout=5):
        return records.get(name)

    ok, good, bad = True, 0, 0
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".eml"):
            continue
        with open(os.path.join(d, fn), "rb") as f:
            msg = f.read()
        v = dkim.DKIM(msg)
        nsig = sum(1 for k, _ in v.headers if k.lower() == b"dkim-signature")
        results = []
        for i in range(nsig):
            try:
                results.append(bool(v.verify(idx=i, dnsfunc=dnsfunc)))
            except dkim.DKIMException as e:
                results.append(False)
                if fn.startswith("good-"):
                    print("%s: signature %d: %s" % (fn, i, e))
        if fn.startswith("good-"):
            good += 1
            if nsig == 0 or not all(results):
                ok = False
                print("FAIL %s: dkimpy says %s" % (fn, results))
            nfrom = sum(1 for k, _ in v.headers if k.lower() == b"from")
            for k, val in v.headers:
                if k.lower() != b"dkim-signature":
                    continue
                tags = dkim.util.parse_tag_value(val)
                signed = [x.lower() for x in re.split(br"\s*:\s*", tags[b"h"])]
                if signed.count(b"from") != nfrom + 1:
                    ok = False
                    print("FAIL %s: h=%s does not over-sign From" % (fn, tags[b"h"]))
        elif fn.startswith("bad-"):
            bad += 1
            if nsig == 0 or any(results):
                ok = False
                print("FAIL %s: altered but dkimpy says %s" % (fn, results))
    if (good, bad) != (want_good, want_bad):
        print("FAIL: saw %d good and %d bad messages, expected %d and %d"
              % (good, bad, want_good, want_bad))
        ok = False
    print("dkim_verify: %d good, %d bad, %s" % (good, bad, "ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
