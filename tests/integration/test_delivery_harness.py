"""The outbound-delivery harness checked on its own (no sesame involved), so
a failure in test_delivery*.py is sesame's and not the harness's: the MX
receives smtplib mail and obeys its per-recipient rules, two MX instances
share one port on two loopback addresses, a closed address refuses, dnsmasq
serves MX / A / TXT (long DKIM keys included) and restarts with new records,
and dkimpy verifies messages signed by keys we control against that DNS."""
import smtplib
import socket
import ssl
import threading
import time

import pytest

import mx as mxmod


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


MSG = (b"From: a@example.test\r\nTo: b@dest.test\r\nSubject: harness\r\n"
       b"Message-ID: <h1@example.test>\r\n\r\nline one\r\n.leading dot\r\n")


def test_mx_receives_smtplib_mail_plain_and_tls(mx):
    with smtplib.SMTP(mx.host, mx.port, timeout=10) as s:
        code, ehlo = s.ehlo("client.test")
        assert code == 250
        assert b"PIPELINING" in ehlo and b"STARTTLS" in ehlo
        s.sendmail("id1@bounces.test", ["b@dest.test", "c@dest.test"], MSG)
    with smtplib.SMTP(mx.host, mx.port, timeout=10) as s:
        s.starttls(context=client_tls())
        s.ehlo("tls.client.test")
        s.sendmail("id2@bounces.test", ["d@dest.test"], MSG)
    a, b = mx.wait(lambda m: len(m.messages()) == 2 and m.messages())
    assert (a.mail_from, a.rcpts, a.tls, a.peer, a.helo) == \
        ("id1@bounces.test", ("b@dest.test", "c@dest.test"), False, "127.0.0.1", "client.test")
    assert a.raw.replace(b"\r\n", b"\n") == MSG.replace(b"\r\n", b"\n")  # dot-unstuffed
    assert (b.mail_from, b.tls, b.helo) == ("id2@bounces.test", True, "tls.client.test")
    assert [m.mail_from for m in mx.for_message("id2")] == ["id2@bounces.test"]
    assert mx.answers("b@dest.test") == ["250 2.1.5 Ok"]
    conns = mx.wait(lambda m: all(c.closed for c in m.conns.values()) and m.conns)
    assert [(c.quit, c.tls) for c in conns.values()] == [(True, False), (True, True)]


def test_mx_rules(mx):
    mx.rule("later@dest.test", mxmod.tempfail(2))
    mx.rule("gone", mxmod.reject())  # by local part, any domain
    mx.rule("full@dest.test", mxmod.mailbox_full())
    mx.rule("snail@dest.test", mxmod.slow(0.5))
    with smtplib.SMTP(mx.host, mx.port, timeout=10) as s:
        s.ehlo("client.test")
        for _ in range(3):
            s.mail("m@bounces.test")
            code, _ = s.rcpt("later@dest.test")
            s.rset()
        assert code == 250
        s.mail("m@bounces.test")
        assert s.rcpt("gone@other.test")[0] == 550
        assert s.rcpt("full@dest.test")[0] == 452
        assert s.rcpt("ok@dest.test")[0] == 250
        assert s.data(MSG)[0] == 250
        s.mail("snail@bounces.test")
        s.rcpt("snail@dest.test")
        t0 = time.time()
        assert s.data(MSG)[0] == 250
        assert time.time() - t0 >= 0.45
    assert [r[:3] for r in mx.answers("later@dest.test")] == ["451", "451", "250"]
    assert mx.answers("gone@other.test")[0].startswith("550 5.1.1")
    assert mx.answers("full@dest.test")[0].startswith("452 4.2.2")
    got = mx.wait(lambda m: len(m.messages()) == 2 and m.messages())
    assert [g.rcpts for g in got] == [("ok@dest.test",), ("snail@dest.test",)]


def test_mx_without_starttls(tmp_path):
    m = mxmod.MX("127.0.0.1", starttls=False).start()
    try:
        with smtplib.SMTP(m.host, m.port, timeout=10) as s:
            code, ehlo = s.ehlo("client.test")
            assert b"STARTTLS" not in ehlo
            assert s.docmd("STARTTLS")[0] == 454  # aiosmtpd: "TLS not available"
    finally:
        m.stop()


def test_held_answers_are_cut_not_accepted_when_the_client_dies(mx):
    """hold(): the final dot gets no answer; a client that goes away then
    leaves a `cut` record and no acceptance. release() answers the rest."""
    mx.hold()
    s = socket.create_connection((mx.host, mx.port), timeout=5)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO dying.test\r\n")
    while f.readline()[:4] != b"250 ":
        pass
    s.sendall(b"MAIL FROM:<dead@bounces.test>\r\nRCPT TO:<x@dest.test>\r\nDATA\r\n")
    assert f.readline()[:3] == b"250" and f.readline()[:3] == b"250" and f.readline()[:3] == b"354"
    s.sendall(MSG + b".\r\n")
    assert mx.wait(lambda m: m.held, timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    f.close()
    s.close()  # RST, as a killed process's socket
    assert mx.wait(lambda m: m.cut, timeout=5)
    assert mx.cut[0][:2] == ("dead@bounces.test", ("x@dest.test",))

    done = []

    def live():
        with smtplib.SMTP(mx.host, mx.port, timeout=10) as c:
            c.sendmail("alive@bounces.test", ["y@dest.test"], MSG)
            done.append(1)
    t = threading.Thread(target=live)
    t.start()
    time.sleep(0.3)
    assert not done and not mx.messages()
    mx.release()
    t.join(10)
    assert done and [a.mail_from for a in mx.messages()] == ["alive@bounces.test"]
    conns = list(mx.conns.values())
    assert conns[0].quit is False and conns[0].closed


def test_two_mx_one_port_and_a_refusing_host(mx, mx2):
    assert mx2.port == mx.port
    for m in (mx, mx2):
        with smtplib.SMTP(m.host, m.port, timeout=10) as s:
            s.sendmail(f"{m.name}@bounces.test", ["r@dest.test"], MSG)
    assert [a.local for a in mx.messages()] == ["127.0.0.1"]
    assert [a.local for a in mx2.messages()] == ["127.0.0.2"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((mxmod.refusing_host(), mx.port), timeout=2)


def test_dnsmasq_serves_mx_a_txt_and_restarts(dns_zone):
    pem, value = mxmod.rsa_dkim_key()
    assert len(value) > 255  # dnsmasq splits it into several strings
    dns_zone.publish(mx=[("dest.test", "mx1.test", 10), ("dest.test", "mx2.test", 20)],
                     hosts=[("mx1.test", "127.0.0.1"), ("mx2.test", "127.0.0.2")],
                     txt=[("_amazonses.example.test", "tok"),
                          ("sel._domainkey.example.test", value),
                          ("mail.example.test", "v=spf1 include:amazonses.com ~all")])
    assert sorted(dns_zone.lookup("dest.test", "MX")) == ["10 mx1.test.", "20 mx2.test."]
    assert dns_zone.lookup("mx2.test", "A") == ["127.0.0.2"]
    assert dns_zone.lookup("dest.test", "A") == []  # only the MX names resolve
    assert dns_zone.lookup("nothing.test", "MX") == []
    assert dns_zone.txt_bytes(b"sel._domainkey.example.test.") == value.encode()
    assert dns_zone.txt_bytes("_amazonses.example.test") == b"tok"
    port = dns_zone.port
    dns_zone.publish(mx=[("dest.test", "mx2.test", 5)])  # hosts and txt kept
    assert dns_zone.port == port
    assert dns_zone.lookup("dest.test", "MX") == ["5 mx2.test."]
    assert dns_zone.txt_bytes("_amazonses.example.test") == b"tok"
    dns_zone.add(txt=[("x.test", "y")])
    assert dns_zone.txt_bytes("x.test") == b"y" and dns_zone.lookup("mx1.test", "A")


def test_dkimpy_verifies_our_own_signatures_over_dns(dns_zone):
    import dkim
    rsa_pem, rsa_txt = mxmod.rsa_dkim_key()
    ed_key, ed_txt = mxmod.ed25519_dkim_key()
    other_pem, other_txt = mxmod.rsa_dkim_key()
    dns_zone.publish(txt=[("rsa._domainkey.example.test", rsa_txt),
                          ("ed._domainkey.example.test", ed_txt),
                          ("wrong._domainkey.example.test", other_txt)])
    heads = [b"from", b"to", b"subject", b"message-id"]
    sig_rsa = dkim.sign(MSG, b"rsa", b"example.test", rsa_pem,
                        canonicalize=(b"relaxed", b"relaxed"), include_headers=heads)
    sig_ed = dkim.sign(sig_rsa + MSG, b"ed", b"example.test", ed_key,
                       canonicalize=(b"relaxed", b"relaxed"), include_headers=heads,
                       signature_algorithm=b"ed25519-sha256")
    signed = sig_ed + sig_rsa + MSG
    res = mxmod.dkim_verify_all(signed, dns_zone)
    assert [(t["a"], t["s"], t["d"], ok) for t, ok in res] == [
        ("ed25519-sha256", "ed", "example.test", True), ("rsa-sha256", "rsa", "example.test", True)]
    # tampered body, a key that is not the signer's, no record: all fail
    assert [ok for _, ok in mxmod.dkim_verify_all(signed.replace(b"line one", b"line 1"),
                                                  dns_zone)] == [False, False]
    wrong = dkim.sign(MSG, b"wrong", b"example.test", rsa_pem, include_headers=heads)
    assert mxmod.dkim_verify_all(wrong + MSG, dns_zone)[0][1] is False
    absent = dkim.sign(MSG, b"absent", b"example.test", rsa_pem, include_headers=heads)
    assert mxmod.dkim_verify_all(absent + MSG, dns_zone)[0][1] is False
