"""Identities and verification end to end: addresses by link, domains, Easy
DKIM and MAIL FROM by DNS (dnsmasq on a loopback port is the authoritative
server for the test zone), listing with aws-cli paging, deletion, and the
per-account / per-region boundaries — with aws-cli, boto3 and plain HTTP."""
import json
import os
import re
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import Sesame, err_of, link_for, store_sql

DNSMASQ = "/usr/sbin/dnsmasq"
ZONE = "example.test"


# --- an authoritative test DNS ---------------------------------------------

def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dns_answers(port, name, qtype=16, timeout=0.2):
    """Send one query; True when any answer (even NXDOMAIN) comes back."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(q, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
            return data[:2] == b"\x12\x34"
        except OSError:
            return False


class Zone:
    """dnsmasq serving ZONE (names not published answer NXDOMAIN);
    publish() restarts it with a new set of records on the same port."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.port = None
        self.proc = None
        self.txt, self.mx = [], []

    def publish(self, txt=(), mx=()):
        self.txt, self.mx = list(txt), list(mx)
        for _ in range(5):
            self.stop()
            if self.port is None:
                self.port = _free_udp_port()
            args = [DNSMASQ, "--no-daemon", f"--port={self.port}",
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                    "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                    f"--local=/{ZONE}/"]
            # a TXT value is one argument: dnsmasq splits strings over 255 bytes
            args += [f"--txt-record={n},{v}" for n, v in self.txt]
            args += [f"--mx-host={n},{h},{p}" for n, h, p in self.mx]
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(self.tmp, "dnsmasq.log"), "ab"))
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                if _dns_answers(self.port, "ready." + ZONE):
                    return self
                time.sleep(0.02)
            self.port = None if self.proc.poll() is not None else self.port
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def zone(tmp_path):
    z = Zone(tmp_path).publish()
    yield z
    z.stop()


@pytest.fixture
def dns_sesame(tmp_path, zone):
    data = tmp_path / "sesame"
    data.mkdir()
    s = Sesame(data, extra=["--dns", f"127.0.0.1:{zone.port}"]).start()
    yield s
    s.stop()


# --- helpers -------------------------------------------------------------------

def wait_for(fn, want, timeout=15.0, interval=0.2):
    """Poll fn() until it returns want; returns the last value seen."""
    deadline = time.time() + timeout
    v = fn()
    while v != want and time.time() < deadline:
        time.sleep(interval)
        v = fn()
    return v


def stays(fn, want, seconds=2.5, interval=0.25):
    """fn() keeps returning want for `seconds` (several checker rounds)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert fn() == want
        time.sleep(interval)


def vstatus(ses, identity):
    a = ses.get_identity_verification_attributes(Identities=[identity])["VerificationAttributes"]
    return a.get(identity, {}).get("VerificationStatus")


def dkim_status(ses, identity):
    a = ses.get_identity_dkim_attributes(Identities=[identity])["DkimAttributes"]
    return a.get(identity, {}).get("DkimVerificationStatus")


def mail_from_status(ses, identity):
    a = ses.get_identity_mail_from_domain_attributes(Identities=[identity])
    return a["MailFromDomainAttributes"].get(identity, {}).get("MailFromDomainStatus")


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def stored(s, acct, name, region="us-east-1"):
    """The identity as the store holds it (admin CLI), None when absent."""
    p = s.cli("identity", "show", "--account", acct, "--region", region, name, check=False)
    if p.returncode != 0:
        assert "does not exist" in p.stderr, p.stderr
        return None
    return json.loads(p.stdout)


def sql(s, query):
    return store_sql(s.data, query)


def arn(region, account, identity):
    return f"arn:aws:ses:{region}:{account}:identity/{identity}"


# --- domains -------------------------------------------------------------------

def test_domain_pending_until_txt_served(dns_sesame, zone):
    _, key = dns_sesame.principal()
    ses = dns_sesame.client(key)
    token = ses.verify_domain_identity(Domain="Example.Test")["VerificationToken"]
    assert len(token) == 44 and token.endswith("=")
    assert ses.list_identities()["Identities"] == [ZONE]  # stored lower-cased
    # the same token again while pending (the published record stays valid)
    assert ses.verify_domain_identity(Domain=ZONE)["VerificationToken"] == token

    # a wrong token keeps it Pending through several checks
    zone.publish(txt=[("_amazonses." + ZONE, "not-the-token")])
    stays(lambda: vstatus(ses, ZONE), "Pending")
    attrs = ses.get_identity_verification_attributes(Identities=[ZONE])["VerificationAttributes"]
    assert attrs[ZONE] == {"VerificationStatus": "Pending", "VerificationToken": token}

    zone.publish(txt=[("_amazonses." + ZONE, token)])
    assert wait_for(lambda: vstatus(ses, ZONE), "Success") == "Success"
    # verified is final: verifying again keeps it and its token
    assert ses.verify_domain_identity(Domain=ZONE)["VerificationToken"] == token
    assert vstatus(ses, ZONE) == "Success"


def test_dkim_pending_until_three_records_served(dns_sesame, zone):
    acct, key = dns_sesame.principal()
    out = json.loads(dns_sesame.aws(key, "verify-domain-dkim", "--domain", ZONE).stdout)
    tokens = out["DkimTokens"]
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert all(re.fullmatch(r"[a-z2-7]{32}", t) for t in tokens)
    # idempotent: the same selectors (and keys) on a second call
    again = json.loads(dns_sesame.aws(key, "verify-domain-dkim", "--domain", ZONE).stdout)
    assert again["DkimTokens"] == tokens
    # VerifyDomainDkim added the domain identity too
    assert json.loads(dns_sesame.aws(key, "list-identities").stdout)["Identities"] == [ZONE]

    recs = dns_sesame.cli_json("identity", "dkim-records", "--account", acct,
                               "--region", "us-east-1", ZONE)["Records"]
    # the three RSA records, then the Ed25519 one (RFC 8463, beyond SES)
    recs, ed = recs[:3], recs[3:]
    assert [r["Name"] for r in recs] == [f"{t}._domainkey.{ZONE}" for t in tokens]
    for r in recs:
        assert r["Type"] == "TXT"
        assert re.fullmatch(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*", r["Value"])
        assert len(r["Value"]) > 380  # an RSA-2048 SubjectPublicKeyInfo
    assert [r["Name"] for r in ed] == [f"{tokens[0]}ed._domainkey.{ZONE}"]
    assert ed[0]["Type"] == "TXT"
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed[0]["Value"])

    ses = dns_sesame.client(key)
    attrs = ses.get_identity_dkim_attributes(Identities=[ZONE])["DkimAttributes"][ZONE]
    assert attrs == {"DkimEnabled": True, "DkimVerificationStatus": "Pending", "DkimTokens": tokens}

    # two of three records are not enough
    zone.publish(txt=[(r["Name"], r["Value"]) for r in recs[:2]])
    stays(lambda: dkim_status(ses, ZONE), "Pending", seconds=2)

    zone.publish(txt=[(r["Name"], r["Value"]) for r in recs])
    assert wait_for(lambda: dkim_status(ses, ZONE), "Success") == "Success"
    # a domain whose DKIM records are served is verified too (SES)
    assert vstatus(ses, ZONE) == "Success"

    # DKIM on/off; an address of the domain reports the domain's DKIM setup
    ses.set_identity_dkim_enabled(Identity=ZONE, DkimEnabled=False)
    ses.verify_email_identity(EmailAddress="bob@" + ZONE)
    a = ses.get_identity_dkim_attributes(Identities=[ZONE, "bob@" + ZONE])["DkimAttributes"]
    assert a[ZONE]["DkimEnabled"] is False
    assert a["bob@" + ZONE]["DkimVerificationStatus"] == "Success"
    assert a["bob@" + ZONE]["DkimTokens"] == tokens
    ses.set_identity_dkim_enabled(Identity=ZONE, DkimEnabled=True)
    assert ses.get_identity_dkim_attributes(Identities=[ZONE])["DkimAttributes"][ZONE]["DkimEnabled"]


def test_ed25519_record_checked_with_dkim_and_rearmed_once_verified(dns_sesame, zone):
    """The Ed25519 record is looked for while DKIM is pending and settles
    with it; published after DKIM verified, it counts once VerifyDomainDkim
    is called again, which keeps the selectors, the keys and DKIM's Success."""
    acct, key = dns_sesame.principal()
    ses = dns_sesame.client(key)
    tokens = ses.verify_domain_dkim(Domain=ZONE)["DkimTokens"]
    recs = dns_sesame.cli_json("identity", "dkim-records", "--account", acct,
                               "--region", "us-east-1", ZONE)["Records"]
    rsa = [r for r in recs if "k=rsa;" in r["Value"]]
    ed = [r for r in recs if "k=ed25519;" in r["Value"]]
    assert len(rsa) == 3 and len(ed) == 1

    def ed_status():
        return stored(dns_sesame, acct, ZONE)["DkimEd25519Status"]

    assert ed_status() == "Pending"
    # the three RSA records alone: DKIM verifies; the Ed25519 check ends with it
    zone.publish(txt=[(r["Name"], r["Value"]) for r in rsa])
    assert wait_for(lambda: dkim_status(ses, ZONE), "Success") == "Success"
    assert ed_status() == "Failed"
    assert stored(dns_sesame, acct, ZONE)["NextCheck"] == 0

    # published later: nothing looks for it on its own
    zone.publish(txt=[(r["Name"], r["Value"]) for r in rsa + ed])
    stays(ed_status, "Failed", seconds=2)
    # VerifyDomainDkim again: the same selectors and keys, DKIM still Success,
    # and the Ed25519 check re-armed alone
    assert ses.verify_domain_dkim(Domain=ZONE)["DkimTokens"] == tokens
    assert dkim_status(ses, ZONE) == "Success"
    assert wait_for(ed_status, "Success") == "Success"
    assert dkim_status(ses, ZONE) == "Success"
    assert dns_sesame.cli_json("identity", "dkim-records", "--account", acct,
                               "--region", "us-east-1", ZONE)["Records"] == recs
    # verified is final for it too: verifying again changes nothing
    assert ses.verify_domain_dkim(Domain=ZONE)["DkimTokens"] == tokens
    assert ed_status() == "Success"
    assert stored(dns_sesame, acct, ZONE)["NextCheck"] == 0


def test_dkim_enable_needs_keys_and_records_cli_errors(dns_sesame):
    acct, key = dns_sesame.principal()
    ses = dns_sesame.client(key)
    ses.verify_domain_identity(Domain="nodkim." + ZONE)
    code, msg, status = err_of(lambda: ses.set_identity_dkim_enabled(
        Identity="nodkim." + ZONE, DkimEnabled=True))
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "VerifyDomainDkim" in msg
    ses.set_identity_dkim_enabled(Identity="nodkim." + ZONE, DkimEnabled=False)
    a = ses.get_identity_dkim_attributes(Identities=["nodkim." + ZONE])["DkimAttributes"]
    assert a["nodkim." + ZONE] == {"DkimEnabled": False, "DkimVerificationStatus": "NotStarted"}
    p = dns_sesame.cli("identity", "dkim-records", "--account", acct, "--region", "us-east-1",
                       "nodkim." + ZONE, check=False)
    assert p.returncode == 1 and p.stdout == "" and "no Easy DKIM keys" in p.stderr
    p = dns_sesame.cli("identity", "dkim-records", "--account", acct, "--region", "us-east-1",
                       "bad..domain", check=False)
    assert p.returncode == 1 and "invalid domain" in p.stderr


def test_mail_from_domain(dns_sesame, zone):
    acct, key = dns_sesame.principal()
    ses = dns_sesame.client(key)
    dns_sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", ZONE)
    mf = "bounce." + ZONE
    ses.set_identity_mail_from_domain(Identity=ZONE, MailFromDomain=mf,
                                      BehaviorOnMXFailure="RejectMessage")
    a = ses.get_identity_mail_from_domain_attributes(Identities=[ZONE])["MailFromDomainAttributes"]
    assert a[ZONE] == {"MailFromDomain": mf, "MailFromDomainStatus": "Pending",
                       "BehaviorOnMXFailure": "RejectMessage"}
    # MX alone is not enough; MX + SPF verifies it
    mx = [(mf, "feedback-smtp.us-east-1.amazonses.com", 10)]
    zone.publish(mx=mx)
    stays(lambda: mail_from_status(ses, ZONE), "Pending", seconds=1.5)
    zone.publish(mx=mx, txt=[(mf, "v=spf1 include:amazonses.com ~all")])
    assert wait_for(lambda: mail_from_status(ses, ZONE), "Success") == "Success"

    # errors: not a subdomain, bad enum; clearing it
    for bad in ("other.test", ZONE, "xbounce" + ZONE):
        code, msg, _ = err_of(lambda: ses.set_identity_mail_from_domain(
            Identity=ZONE, MailFromDomain=bad))
        assert code == "InvalidParameterValue", bad
    code, msg, _ = err_of(lambda: ses.set_identity_mail_from_domain(
        Identity=ZONE, MailFromDomain=mf, BehaviorOnMXFailure="Bounce"))
    assert code == "ValidationError" and "UseDefaultValue, RejectMessage" in msg
    ses.set_identity_mail_from_domain(Identity=ZONE)
    a = ses.get_identity_mail_from_domain_attributes(Identities=[ZONE])["MailFromDomainAttributes"]
    assert a[ZONE] == {"BehaviorOnMXFailure": "UseDefaultValue"}
    code, _, _ = err_of(lambda: ses.set_identity_mail_from_domain(
        Identity="unknown." + ZONE, MailFromDomain="a.unknown." + ZONE))
    assert code == "InvalidParameterValue"


def test_dns_down_keeps_pending_and_server_serving(tmp_path):
    port = _free_udp_port()  # nothing listens there
    s = Sesame(tmp_path, extra=["--dns", f"127.0.0.1:{port}"]).start()
    try:
        _, key = s.principal()
        ses = s.client(key)
        ses.verify_domain_identity(Domain=ZONE)
        stays(lambda: vstatus(ses, ZONE), "Pending", seconds=2)
        assert s.get("/_sesame/health")[0] == 200
        assert s.proc.poll() is None
    finally:
        assert s.stop() == 0


# --- addresses -------------------------------------------------------------------

def test_verify_link_once(sesame):
    _, key = sesame.principal()
    ses = sesame.client(key)
    addr = "Alice@" + ZONE
    out = sesame.aws(key, "verify-email-identity", "--email-address", addr).stdout
    assert json.loads(out or "{}") == {}
    assert vstatus(ses, addr) == "Pending"
    attrs = ses.get_identity_verification_attributes(Identities=[addr])["VerificationAttributes"]
    assert attrs == {addr: {"VerificationStatus": "Pending"}}  # no token for an address

    link = link_for(sesame, addr)
    assert link.startswith(sesame.endpoint + "/_sesame/verify?token=")
    token = link.split("token=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits, URL-safe

    # re-calling while Pending issues a fresh link; the old one is dead
    ses.verify_email_identity(EmailAddress=addr)
    link2 = link_for(sesame, addr)
    assert link2 != link
    status, body = http_get(link)
    assert status == 404 and "invalid" in body

    status, body = http_get(link2)
    assert status == 200 and "verified" in body and addr in body
    assert vstatus(ses, addr) == "Success"
    status, body = http_get(link2)
    assert status == 409 and "already been used" in body
    assert vstatus(ses, addr) == "Success"

    # verifying again keeps it verified and mails nothing new
    ses.verify_email_address(EmailAddress=addr)
    assert vstatus(ses, addr) == "Success"
    assert link_for(sesame, addr) == link2
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == [addr]

    # unknown, malformed, domain tokens: all refused
    for q in ("token=" + "A" * 43, "token=short", "token=a%20b", "", "other=1"):
        status, body = http_get(sesame.endpoint + "/_sesame/verify?" + q)
        assert status == 404, q
    dtok = ses.verify_domain_identity(Domain=ZONE)["VerificationToken"]
    status, _ = http_get(sesame.endpoint + "/_sesame/verify?token=" + urllib.request.quote(dtok))
    assert status == 404
    assert vstatus(ses, ZONE) == "Pending"


def test_verify_link_expired(sesame):
    acct, key = sesame.principal()
    ses = sesame.client(key)
    addr = "late@" + ZONE
    ses.verify_email_identity(EmailAddress=addr)
    link = link_for(sesame, addr)
    # 24 hours pass
    sql(sesame, f"UPDATE identities SET token_expires = {int(time.time()) - 1} "
                f"WHERE name = '{addr}'")
    assert vstatus(ses, addr) == "Failed"
    status, body = http_get(link)
    assert status == 410 and "expired" in body
    assert stored(sesame, acct, addr)["VerificationStatus"] == "Failed"
    status, _ = http_get(link)
    assert status == 410
    # verifying again starts over with a new link that works
    ses.verify_email_identity(EmailAddress=addr)
    assert vstatus(ses, addr) == "Pending"
    link2 = link_for(sesame, addr)
    assert link2 != link
    assert http_get(link2)[0] == 200
    assert vstatus(ses, addr) == "Success"


def test_link_after_delete_identity(sesame):
    """DeleteIdentity, then the old link: 404, and the address stays deleted
    (the click must not write the row back, verified and without policies)."""
    acct, key = sesame.principal()
    ses = sesame.client(key)
    addr = "gone@" + ZONE
    ses.verify_email_identity(EmailAddress=addr)
    link = link_for(sesame, addr)
    ses.delete_identity(Identity=addr)
    status, body = http_get(link)
    assert status == 404 and "invalid" in body
    assert ses.list_identities()["Identities"] == []
    assert stored(sesame, acct, addr) is None
    assert vstatus(ses, addr) is None


def test_link_clicked_at_once_verifies_once(sesame):
    """Simultaneous clicks on one link: one 200, the others 409."""
    from concurrent.futures import ThreadPoolExecutor
    _, key = sesame.principal()
    ses = sesame.client(key)
    addr = "twice@" + ZONE
    ses.verify_email_identity(EmailAddress=addr)
    link = link_for(sesame, addr)
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(c for c, _ in pool.map(http_get, [link] * 8))
    assert codes == [200] + [409] * 7
    assert vstatus(ses, addr) == "Success"


def test_expired_link_fails_without_a_click(sesame):
    """The checker turns an unused link Failed at its expiry."""
    acct, key = sesame.principal()
    ses = sesame.client(key)
    addr = "never@" + ZONE
    ses.verify_email_identity(EmailAddress=addr)
    sql(sesame, f"UPDATE identities SET token_expires = {int(time.time()) - 1}, "
                f"next_check = {int(time.time()) - 1} WHERE name = '{addr}'")
    # read the store, not the API (whose read could itself notice the expiry)
    status = lambda: stored(sesame, acct, addr)["VerificationStatus"]
    assert wait_for(status, "Failed", timeout=5) == "Failed"
    assert stored(sesame, acct, addr)["NextCheck"] == 0


# --- listing, deleting -------------------------------------------------------------

def test_list_identities_paging_with_aws_cli(sesame):
    _, key = sesame.principal()
    ses = sesame.client(key)
    emails = [f"u{i}@{ZONE}" for i in range(5)]
    domains = [f"d{i}.{ZONE}" for i in range(3)]
    for e in emails:
        ses.verify_email_identity(EmailAddress=e)
    for d in domains:
        ses.verify_domain_identity(Domain=d)
    everything = sorted(emails + domains)

    def cli(*args):
        return json.loads(sesame.aws(key, "list-identities", *args).stdout)

    assert cli()["Identities"] == everything
    # the server pages at MaxItems=2 (aws-cli's --page-size), aws-cli follows NextToken
    assert cli("--page-size", "2")["Identities"] == everything
    # --max-items stops early and hands back a token to resume from
    seen, tok = [], None
    while True:
        out = cli("--max-items", "3", *(["--starting-token", tok] if tok else []))
        assert len(out["Identities"]) <= 3
        seen += out["Identities"]
        tok = out.get("NextToken")
        if not tok:
            break
    assert seen == everything
    assert cli("--identity-type", "Domain")["Identities"] == sorted(domains)
    assert cli("--identity-type", "EmailAddress", "--page-size", "2")["Identities"] == sorted(emails)

    # the raw API: MaxItems and NextToken
    page = ses.list_identities(MaxItems=3)
    assert page["Identities"] == everything[:3] and page["NextToken"]
    page = ses.list_identities(MaxItems=3, NextToken=page["NextToken"])
    assert page["Identities"] == everything[3:6]
    page = ses.list_identities(MaxItems=3, NextToken=page["NextToken"])
    assert page["Identities"] == everything[6:] and "NextToken" not in page
    code, _, _ = err_of(lambda: ses.list_identities(IdentityType="Phone"))
    assert code == "ValidationError"
    p = sesame.aws(key, "list-identities", "--no-paginate", "--max-items", "0", check=False)
    assert p.returncode != 0


def test_delete_identity_removes_policies(sesame):
    acct, key = sesame.principal("owner")
    other, _ = sesame.principal("delegate")
    ses = sesame.client(key)
    ses.verify_domain_identity(Domain=ZONE)
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", ZONE)
    policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "d", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                       "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                       "Resource": arn("us-east-1", acct, ZONE)}]})
    ses.put_identity_policy(Identity=ZONE, PolicyName="p1", Policy=policy)
    assert ses.list_identity_policies(Identity=ZONE)["PolicyNames"] == ["p1"]
    assert stored(sesame, acct, ZONE)["Policies"] == ["p1"]

    out = sesame.aws(key, "delete-identity", "--identity", ZONE)
    assert json.loads(out.stdout or "{}") == {}
    assert ses.list_identities()["Identities"] == []
    assert stored(sesame, acct, ZONE) is None
    # deleting what is not there succeeds, as SES
    ses.delete_identity(Identity=ZONE)
    # a new identity of the same name starts without policies
    ses.verify_domain_identity(Domain=ZONE)
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", ZONE)
    assert ses.list_identity_policies(Identity=ZONE)["PolicyNames"] == []
    assert stored(sesame, acct, ZONE)["Policies"] == []

    # the legacy address calls
    ses.verify_email_address(EmailAddress="old@" + ZONE)
    sesame.cli("identity", "verify", "--account", acct, "--region", "us-east-1", "old@" + ZONE)
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == ["old@" + ZONE]
    ses.delete_verified_email_address(EmailAddress="old@" + ZONE)
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == []
    # an own ARN names the identity too
    ses.delete_identity(Identity=arn("us-east-1", acct, ZONE))
    assert ses.list_identities()["Identities"] == []


# --- boundaries --------------------------------------------------------------------

def test_another_accounts_arn_is_refused(sesame):
    a, ka = sesame.principal("alice")
    b, kb = sesame.principal("bob")
    sa, sb = sesame.client(ka), sesame.client(kb)
    sb.verify_domain_identity(Domain=ZONE)
    theirs = arn("us-east-1", b, ZONE)
    calls = {
        "GetIdentityVerificationAttributes":
            lambda: sa.get_identity_verification_attributes(Identities=[theirs]),
        "GetIdentityDkimAttributes": lambda: sa.get_identity_dkim_attributes(Identities=[theirs]),
        "GetIdentityMailFromDomainAttributes":
            lambda: sa.get_identity_mail_from_domain_attributes(Identities=[theirs]),
        "SetIdentityDkimEnabled": lambda: sa.set_identity_dkim_enabled(Identity=theirs,
                                                                        DkimEnabled=False),
        "SetIdentityMailFromDomain": lambda: sa.set_identity_mail_from_domain(
            Identity=theirs, MailFromDomain="m." + ZONE),
        "DeleteIdentity": lambda: sa.delete_identity(Identity=theirs),
    }
    for action, call in calls.items():
        code, msg, status = err_of(call)
        assert (code, status) == ("AccessDenied", 403), action
        assert msg == (f"User `arn:aws:iam::{a}:root' is not authorized to perform "
                       f"`ses:{action}' on resource `{theirs}'")
    # untouched
    assert sb.list_identities()["Identities"] == [ZONE]
    # the owner may use its own ARN; the map is keyed as asked
    v = sb.get_identity_verification_attributes(Identities=[theirs])["VerificationAttributes"]
    assert v[theirs]["VerificationStatus"] == "Pending"
    # an ARN of another region is not this request's identity
    code, msg, _ = err_of(lambda: sb.get_identity_verification_attributes(
        Identities=[arn("us-west-2", b, ZONE)]))
    assert code == "InvalidParameterValue" and "us-west-2" in msg
    code, _, _ = err_of(lambda: sb.delete_identity(Identity="arn:aws:ses:us-east-1:nope"))
    assert code == "InvalidParameterValue"


def test_identities_are_per_account_and_region(sesame):
    a, ka = sesame.principal("alice")
    b, kb = sesame.principal("bob")
    east, west = sesame.client(ka), sesame.client(ka, region="us-west-2")
    t1 = east.verify_domain_identity(Domain=ZONE)["VerificationToken"]
    east.verify_email_identity(EmailAddress="x@" + ZONE)
    assert west.list_identities()["Identities"] == []
    assert west.get_identity_verification_attributes(
        Identities=[ZONE, "x@" + ZONE])["VerificationAttributes"] == {}
    t2 = west.verify_domain_identity(Domain=ZONE)["VerificationToken"]
    bob = sesame.client(kb)
    assert bob.list_identities()["Identities"] == []
    t3 = bob.verify_domain_identity(Domain=ZONE)["VerificationToken"]
    assert len({t1, t2, t3}) == 3
    # deleting in one region leaves the other
    west.delete_identity(Identity=ZONE)
    assert east.list_identities()["Identities"] == sorted([ZONE, "x@" + ZONE])
    assert bob.list_identities()["Identities"] == [ZONE]


def test_bad_input(sesame):
    _, key = sesame.principal()
    ses = sesame.client(key)
    for bad in ("not-an-address", "a@", "@example.test", "a b@example.test",
                "a@bad..example.test", "a@-x.example.test", "x" * 65 + "@example.test"):
        code, msg, status = err_of(lambda: ses.verify_email_identity(EmailAddress=bad))
        assert (code, status) == ("InvalidParameterValue", 400), bad
        assert msg
    code, msg, _ = err_of(lambda: ses.verify_email_identity(EmailAddress="nobody"))
    assert "Missing final '@domain'" in msg
    for bad in ("com", "-bad-.test", "exa mple.test", "1.2.3.4", "[127.0.0.1]",
                "a..b.test", "under_score.test", ("x" * 64) + ".test", "a@b.test", ""):
        code, msg, status = err_of(lambda: ses.verify_domain_identity(Domain=bad))
        assert (code, status) == ("InvalidParameterValue", 400), bad
        assert msg
    # IDN: UTF-8 in, punycode stored
    ses.verify_domain_identity(Domain="Bücher.Example.test")
    assert ses.list_identities()["Identities"] == ["xn--bcher-kva.example.test"]
    # a trailing dot is the same domain
    t1 = ses.verify_domain_identity(Domain="dot.example.test.")["VerificationToken"]
    assert ses.verify_domain_identity(Domain="dot.example.test")["VerificationToken"] == t1
    # missing and oversized parameters
    assert ses.get_identity_verification_attributes(Identities=[])["VerificationAttributes"] == {}
    many = [f"u{i}@example.test" for i in range(101)]
    code, _, _ = err_of(lambda: ses.get_identity_verification_attributes(Identities=many))
    assert code == "InvalidParameterValue"
    # unknown and malformed names are just left out of the map
    out = ses.get_identity_verification_attributes(
        Identities=["nobody@example.test", "bad..name", "xn--bcher-kva.example.test"])
    assert list(out["VerificationAttributes"]) == ["xn--bcher-kva.example.test"]
    code, _, _ = err_of(lambda: ses.set_identity_dkim_enabled(Identity="nobody@example.test",
                                                              DkimEnabled=False))
    assert code == "InvalidParameterValue"
