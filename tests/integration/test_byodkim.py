"""BYODKIM in SES v2 (issue 13): the owner's own RSA key through
CreateEmailIdentity's DkimSigningAttributes and
PutEmailIdentityDkimSigningAttributes (boto3 `sesv2` and /usr/bin/aws
sesv2). The key is checked, sealed at rest and never stored or logged in the
clear; the DNS checker verifies the one TXT record <selector>._domainkey.
<domain> (dnsmasq); mail from the domain, the owner's and a delegate's,
leaves for the test MX signed rsa-sha256 under the owner's selector and
verifies with dkimpy; AWS_SES takes the domain back to Easy DKIM with fresh
keys; bad keys and bad requests are BadRequestException; only the owner can
change any of it."""
import base64
import json
import os
import subprocess

import botocore.exceptions
import pytest

import conftest
import mx as mxmod
from test_delivery import DEST, REGION, arrived, net, start, wait_for

__all__ = ["net"]

DOMAIN = "byo.test"
SELECTOR = "sel2024"


# ---- keys --------------------------------------------------------------------------

class Key:
    """An RSA key in every form a caller may hand over, and its TXT record."""

    def __init__(self, bits=2048, pem=None):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        if pem is None:
            k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        else:
            k = serialization.load_pem_private_key(pem, password=None)
        none = serialization.NoEncryption()
        self.pkcs8 = k.private_bytes(serialization.Encoding.DER,
                                     serialization.PrivateFormat.PKCS8, none)
        self.pkcs1 = k.private_bytes(serialization.Encoding.DER,
                                     serialization.PrivateFormat.TraditionalOpenSSL, none)
        self.pem = k.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.TraditionalOpenSSL, none)
        spki = k.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        self.pub = base64.b64encode(spki).decode()
        self.record = "v=DKIM1; k=rsa; p=" + self.pub
        self.b64 = base64.b64encode(self.pkcs8).decode()      # what SES documents
        self.b64_pkcs1 = base64.b64encode(self.pkcs1).decode()

    def secrets(self):
        """Byte strings that would betray the private key if found at rest."""
        body = b"".join(self.pem.splitlines()[1:-1])
        return [self.pkcs8, self.pkcs1, self.b64.encode(), self.b64_pkcs1.encode(), body,
                self.pkcs8.hex().encode(), self.pkcs1.hex().encode()]


def openssl_key(bits):
    """A PKCS#8 PEM RSA key of `bits` from `openssl genpkey` (any size it makes)."""
    p = subprocess.run([mxmod.OPENSSL, "genpkey", "-algorithm", "RSA",
                        "-pkeyopt", f"rsa_keygen_bits:{bits}"],
                       capture_output=True, timeout=120, check=True)
    return p.stdout


def der_b64_of_pem(pem):
    return "".join(l for l in pem.decode().splitlines() if not l.startswith("-----"))


# ---- servers and clients ---------------------------------------------------------------

@pytest.fixture
def server(tmp_path, net, mx):
    s = start(tmp_path, net, mx)
    yield s
    s.stop()


def err_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    r = ei.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


class World:
    def __init__(self, s, zone):
        self.s, self.zone = s, zone
        self.owner, self.okey = s.principal("owner")
        self.delegate, self.dkey = s.principal("delegate")
        self.oc = s.client(self.okey, service="sesv2")
        self.dc = s.client(self.dkey, service="sesv2")
        self.v1 = s.client(self.okey)

    def arn(self, identity=DOMAIN):
        return f"arn:aws:ses:{REGION}:{self.owner}:identity/{identity}"

    def dkim(self, identity=DOMAIN):
        return self.oc.get_email_identity(EmailIdentity=identity)["DkimAttributes"]

    def allow_delegate(self, identity=DOMAIN):
        self.oc.create_email_identity_policy(
            EmailIdentity=identity, PolicyName="delegate", Policy=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.delegate}:root"},
                    "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                    "Resource": self.arn(identity)}]}))

    def send(self, client, subject="hello", **kw):
        return client.send_email(
            FromEmailAddress=f"Billing <billing@{DOMAIN}>",
            Destination={"ToAddresses": [f"rcpt@{DEST}"]},
            Content={"Simple": {"Subject": {"Data": subject},
                                "Body": {"Text": {"Data": "body text\n"}}}}, **kw)["MessageId"]


@pytest.fixture
def world(server, net):
    return World(server, net)


def assert_signed_by(raw, zone, selector, domain=DOMAIN):
    """One signature, rsa-sha256, d=domain, s=selector, verified by dkimpy
    with the key fetched from the test DNS."""
    res = mxmod.dkim_verify_all(raw, zone)
    assert [(t.get("a"), t.get("d"), t.get("s")) for t, _ in res] == \
        [("rsa-sha256", domain, selector)], [t for t, _ in res]
    assert res[0][1] is True, "dkimpy did not verify the BYODKIM signature"


# ---- 1. CreateEmailIdentity with the owner's key: verified, signing -----------------------

def test_create_external_verifies_by_dns_and_signs_owner_and_delegate_mail(server, world, mx):
    key = Key()
    r = world.oc.create_email_identity(EmailIdentity=DOMAIN, DkimSigningAttributes={
        "DomainSigningSelector": SELECTOR, "DomainSigningPrivateKey": key.b64})
    d = r["DkimAttributes"]
    assert r["IdentityType"] == "DOMAIN" and r["VerifiedForSendingStatus"] is False
    assert d["SigningAttributesOrigin"] == "EXTERNAL" and d["Tokens"] == [SELECTOR]
    assert d["Status"] == "PENDING" and d["SigningEnabled"] is True
    assert "CurrentSigningKeyLength" not in d      # [Easy DKIM] only
    # the one record the owner publishes; sesame's CLI prints the same
    recs = server.cli_json("identity", "dkim-records", "--account", world.owner,
                           "--region", REGION, DOMAIN)["Records"]
    assert recs == [{"Name": f"{SELECTOR}._domainkey.{DOMAIN}", "Type": "TXT",
                     "Value": key.record}]
    world.zone.add(txt=[(f"{SELECTOR}._domainkey.{DOMAIN}", key.record)])
    assert wait_for(lambda: world.dkim()["Status"], "SUCCESS") == "SUCCESS"
    g = world.oc.get_email_identity(EmailIdentity=DOMAIN)
    # DKIM verified verifies the domain too (SES)
    assert g["VerifiedForSendingStatus"] is True and g["VerificationStatus"] == "SUCCESS"
    assert g["DkimAttributes"]["SigningAttributesOrigin"] == "EXTERNAL"
    assert g["DkimAttributes"]["Tokens"] == [SELECTOR]
    # v1 sees the selector as the one DKIM token
    v1 = world.v1.get_identity_dkim_attributes(Identities=[DOMAIN])["DkimAttributes"][DOMAIN]
    assert v1["DkimTokens"] == [SELECTOR] and v1["DkimVerificationStatus"] == "Success"
    assert v1["DkimEnabled"] is True

    # the owner's mail, then a delegate's: both signed with the owner's key
    mid = world.send(world.oc)
    for c in arrived(mx, mid):
        assert_signed_by(c.raw, world.zone, SELECTOR)
    world.allow_delegate()
    mid = world.send(world.dc, subject="from the delegate",
                     FromEmailAddressIdentityArn=world.arn())
    for c in arrived(mx, mid):
        assert_signed_by(c.raw, world.zone, SELECTOR)

    # v1's VerifyDomainDkim leaves the owner's key alone and answers its selector
    assert world.v1.verify_domain_dkim(Domain=DOMAIN)["DkimTokens"] == [SELECTOR]
    assert world.dkim()["Status"] == "SUCCESS"
    mid = world.send(world.oc, subject="after VerifyDomainDkim")
    for c in arrived(mx, mid):
        assert_signed_by(c.raw, world.zone, SELECTOR)

    # signing off: the mail leaves unsigned; on again: signed
    world.oc.put_email_identity_dkim_attributes(EmailIdentity=DOMAIN, SigningEnabled=False)
    mid = world.send(world.oc, subject="unsigned")
    assert [mxmod.dkim_signatures(c.raw) for c in arrived(mx, mid)] == [[]]
    world.oc.put_email_identity_dkim_attributes(EmailIdentity=DOMAIN, SigningEnabled=True)


def test_key_replaced_under_the_same_selector_is_checked_again(server, world, mx):
    old, new = Key(), Key()
    world.oc.create_email_identity(EmailIdentity=DOMAIN, DkimSigningAttributes={
        "DomainSigningSelector": SELECTOR, "DomainSigningPrivateKey": old.b64})
    world.zone.add(txt=[(f"{SELECTOR}._domainkey.{DOMAIN}", old.record)])
    assert wait_for(lambda: world.dkim()["Status"], "SUCCESS") == "SUCCESS"
    # the same key again (a re-applied configuration) changes nothing
    r = world.oc.put_email_identity_dkim_signing_attributes(
        EmailIdentity=DOMAIN, SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": SELECTOR,
                           "DomainSigningPrivateKey": old.b64_pkcs1})
    assert (r["DkimStatus"], r["DkimTokens"]) == ("SUCCESS", [SELECTOR])
    # a new key under the same selector: the old record no longer proves it
    r = world.oc.put_email_identity_dkim_signing_attributes(
        EmailIdentity=DOMAIN, SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": SELECTOR,
                           "DomainSigningPrivateKey": new.b64})
    assert (r["DkimStatus"], r["DkimTokens"]) == ("PENDING", [SELECTOR])
    import time
    time.sleep(3)   # several checker rounds against the old record
    assert world.dkim()["Status"] == "PENDING"
    world.zone.publish(txt=[(f"{SELECTOR}._domainkey.{DOMAIN}", new.record)])
    assert wait_for(lambda: world.dkim()["Status"], "SUCCESS") == "SUCCESS"
    mid = world.send(world.oc)
    for c in arrived(mx, mid):
        assert_signed_by(c.raw, world.zone, SELECTOR)


# ---- 2. aws-cli: an Easy DKIM domain to EXTERNAL and back ---------------------------------

def cli(s, key, *args, check=True):
    p = s.aws(key, *args, service="sesv2", check=check)
    return json.loads(p.stdout) if check and p.stdout.strip() else p


def test_aws_cli_switches_easy_dkim_to_external_and_back(sesame):
    owner, okey = sesame.principal("owner")
    r = cli(sesame, okey, "create-email-identity", "--email-identity", "cli.test")
    easy = r["DkimAttributes"]["Tokens"]
    assert len(easy) == 3 and r["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES"
    assert r["DkimAttributes"]["CurrentSigningKeyLength"] == "RSA_2048_BIT"
    key = Key(pem=openssl_key(2048))
    r = cli(sesame, okey, "put-email-identity-dkim-signing-attributes",
            "--email-identity", "cli.test", "--signing-attributes-origin", "EXTERNAL",
            "--signing-attributes", json.dumps({"DomainSigningSelector": "cli-1",
                                                "DomainSigningPrivateKey": key.b64}))
    assert r == {"DkimStatus": "PENDING", "DkimTokens": ["cli-1"]}
    g = cli(sesame, okey, "get-email-identity", "--email-identity", "cli.test")
    assert g["DkimAttributes"]["SigningAttributesOrigin"] == "EXTERNAL"
    assert g["DkimAttributes"]["Tokens"] == ["cli-1"]
    shown = sesame.cli_json("identity", "show", "--account", owner, "--region", REGION,
                            "cli.test")
    assert shown["DkimSigningAttributesOrigin"] == "EXTERNAL"
    recs = sesame.cli_json("identity", "dkim-records", "--account", owner, "--region", REGION,
                           "cli.test")["Records"]
    assert [x["Value"] for x in recs] == [key.record]
    # back to Easy DKIM: sesame's keys, made afresh (three selectors and Ed25519)
    r = cli(sesame, okey, "put-email-identity-dkim-signing-attributes",
            "--email-identity", "cli.test", "--signing-attributes-origin", "AWS_SES")
    assert r["DkimStatus"] == "PENDING" and len(r["DkimTokens"]) == 3
    assert not set(r["DkimTokens"]) & set(easy) and "cli-1" not in r["DkimTokens"]
    g = cli(sesame, okey, "get-email-identity", "--email-identity", "cli.test")
    assert g["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES"
    assert g["DkimAttributes"]["Tokens"] == r["DkimTokens"]
    recs = sesame.cli_json("identity", "dkim-records", "--account", owner, "--region", REGION,
                           "cli.test")["Records"]
    assert len(recs) == 4 and key.record not in [x["Value"] for x in recs]
    # AWS_SES again keeps them; the region-named origin of newer models is AWS_SES
    r2 = cli(sesame, okey, "put-email-identity-dkim-signing-attributes",
             "--email-identity", "cli.test", "--signing-attributes-origin", "AWS_SES",
             "--signing-attributes", "NextSigningKeyLength=RSA_2048_BIT")
    assert r2["DkimTokens"] == r["DkimTokens"]
    c = sesame.client(okey, service="sesv2")
    assert c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="cli.test", SigningAttributesOrigin="AWS_SES_US_EAST_1")[
        "DkimTokens"] == r["DkimTokens"]


def test_key_forms_accepted(sesame):
    """PKCS#8 and PKCS#1 DER in base64, PEM text, base64 of PEM text, 1024
    and 2048 bits (the limits), base64 with line breaks."""
    owner, okey = sesame.principal("owner")
    c = sesame.client(okey, service="sesv2")
    k2048, k1024 = Key(), Key(bits=1024)
    forms = [k2048.b64, k2048.b64_pkcs1, k2048.pem.decode(),
             base64.b64encode(k2048.pem).decode(), k1024.b64,
             base64.encodebytes(k2048.pkcs8).decode(),
             der_b64_of_pem(openssl_key(2048))]
    for i, form in enumerate(forms):
        name = f"form{i}.test"
        r = c.create_email_identity(EmailIdentity=name, DkimSigningAttributes={
            "DomainSigningSelector": f"s{i}", "DomainSigningPrivateKey": form})
        assert r["DkimAttributes"]["Tokens"] == [f"s{i}"], i
        recs = sesame.cli_json("identity", "dkim-records", "--account", owner,
                               "--region", REGION, name)["Records"]
        want = (k1024 if i == 4 else k2048).record if i != 6 else None
        if want is not None:
            assert [x["Value"] for x in recs] == [want], i


# ---- 3. refusals ------------------------------------------------------------------------

def test_bad_keys_and_requests_are_bad_request(sesame):
    owner, okey = sesame.principal("owner")
    c = sesame.client(okey, service="sesv2")
    c.create_email_identity(EmailIdentity="bad.test")
    before = c.get_email_identity(EmailIdentity="bad.test")["DkimAttributes"]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    ec_der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    ed_der = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    k = Key()
    enc = subprocess.run([mxmod.OPENSSL, "pkcs8", "-topk8", "-v2", "aes-128-cbc",
                          "-passout", "pass:secret"], input=k.pem, capture_output=True,
                         check=True, timeout=60).stdout
    bad_keys = {
        "not base64": "!!!not base64!!!",
        "base64 of junk": base64.b64encode(b"\x30\x82junk" * 20).decode(),
        "truncated DER": base64.b64encode(k.pkcs8[:-10]).decode(),
        "DER with a tail": base64.b64encode(k.pkcs8 + b"\x00").decode(),
        "EC key": base64.b64encode(ec_der).decode(),
        "Ed25519 key": base64.b64encode(ed_der).decode(),
        "768 bits": der_b64_of_pem(openssl_key(768)),
        "3072 bits": der_b64_of_pem(openssl_key(3072)),
        "encrypted PEM": enc.decode(),
        "public key PEM": "-----BEGIN PUBLIC KEY-----\n" + k.pub + "\n-----END PUBLIC KEY-----\n",
        "over 20480 characters": "A" * 20484,
    }
    for what, value in bad_keys.items():
        code, msg, st = err_of(lambda: c.put_email_identity_dkim_signing_attributes(
            EmailIdentity="bad.test", SigningAttributesOrigin="EXTERNAL",
            SigningAttributes={"DomainSigningSelector": "s1",
                               "DomainSigningPrivateKey": value}))
        assert (code, st) == ("BadRequestException", 400), (what, code, msg)
        assert "DomainSigningPrivateKey" in msg, (what, msg)
        assert value[:40] not in msg, (what, msg)   # the key is never echoed
    assert "3072 bits" in err_of(lambda: c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="bad.test", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "s1",
                           "DomainSigningPrivateKey": bad_keys["3072 bits"]}))[1]
    bad_requests = [
        dict(SigningAttributesOrigin="EXTERNAL",
             SigningAttributes={"DomainSigningPrivateKey": k.b64}),           # no selector
        dict(SigningAttributesOrigin="EXTERNAL",
             SigningAttributes={"DomainSigningSelector": "s1"}),               # no key
        dict(SigningAttributesOrigin="EXTERNAL"),                              # neither
        dict(SigningAttributesOrigin="EXTERNAL",
             SigningAttributes={"DomainSigningSelector": "-s1", "DomainSigningPrivateKey": k.b64}),
        dict(SigningAttributesOrigin="EXTERNAL",
             SigningAttributes={"DomainSigningSelector": "a_b", "DomainSigningPrivateKey": k.b64}),
        dict(SigningAttributesOrigin="EXTERNAL",
             SigningAttributes={"DomainSigningSelector": "s" * 64,
                                "DomainSigningPrivateKey": k.b64}),
        dict(SigningAttributesOrigin="AWS_SES",
             SigningAttributes={"DomainSigningSelector": "s1", "DomainSigningPrivateKey": k.b64}),
        dict(SigningAttributesOrigin="AWS_SES",
             SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}),
        dict(SigningAttributesOrigin="AWS_SES",
             SigningAttributes={"NextSigningKeyLength": "RSA_4096_BIT"}),
        dict(SigningAttributesOrigin="SOMEONE_ELSE"),
    ]
    for req in bad_requests:
        code, msg, st = err_of(lambda: c.put_email_identity_dkim_signing_attributes(
            EmailIdentity="bad.test", **req))
        assert (code, st) == ("BadRequestException", 400), (req, code, msg)
    # the selector at its limit (63) is fine
    r = c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="bad.test", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "s" * 63, "DomainSigningPrivateKey": k.b64})
    assert r["DkimTokens"] == ["s" * 63]
    c.put_email_identity_dkim_signing_attributes(EmailIdentity="bad.test",
                                                 SigningAttributesOrigin="AWS_SES")
    assert before["Tokens"] != c.get_email_identity(EmailIdentity="bad.test")[
        "DkimAttributes"]["Tokens"]

    # an email address identity: BYODKIM is for domains (SES's rule)
    code, msg, st = err_of(lambda: c.create_email_identity(
        EmailIdentity="someone@bad.test", DkimSigningAttributes={
            "DomainSigningSelector": "s1", "DomainSigningPrivateKey": k.b64}))
    assert (code, st) == ("BadRequestException", 400) and "domain" in msg
    conftest.verify(sesame, owner, "addr@elsewhere.test")
    code, msg, st = err_of(lambda: c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="addr@elsewhere.test", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "s1", "DomainSigningPrivateKey": k.b64}))
    assert (code, st) == ("BadRequestException", 400) and "domain" in msg
    # a bad key on CreateEmailIdentity creates nothing
    code, _, _ = err_of(lambda: c.create_email_identity(
        EmailIdentity="never.test", DkimSigningAttributes={
            "DomainSigningSelector": "s1", "DomainSigningPrivateKey": "AAAA"}))
    assert code == "BadRequestException"
    code, _, st = err_of(lambda: c.get_email_identity(EmailIdentity="never.test"))
    assert (code, st) == ("NotFoundException", 404)
    # no such identity
    code, _, st = err_of(lambda: c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="absent.test", SigningAttributesOrigin="AWS_SES"))
    assert (code, st) == ("NotFoundException", 404)
    # aws-cli's view of a refusal
    p = cli(sesame, okey, "put-email-identity-dkim-signing-attributes",
            "--email-identity", "bad.test", "--signing-attributes-origin", "EXTERNAL",
            "--signing-attributes", json.dumps({"DomainSigningSelector": "s1",
                                                "DomainSigningPrivateKey": "bm90IGEga2V5"}),
            check=False)
    assert p.returncode != 0 and "BadRequestException" in p.stderr


# ---- 4. the key at rest and in the log --------------------------------------------------

def test_private_key_never_in_the_clear(sesame):
    owner, okey = sesame.principal("owner")
    c = sesame.client(okey, service="sesv2")
    k1, k2 = Key(), Key()
    c.create_email_identity(EmailIdentity="rest.test", DkimSigningAttributes={
        "DomainSigningSelector": "r1", "DomainSigningPrivateKey": k1.b64})
    c.create_email_identity(EmailIdentity="rest2.test")
    c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="rest2.test", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "r2",
                           "DomainSigningPrivateKey": k2.pem.decode()})
    # a refused key is not logged either
    k3 = Key()
    err_of(lambda: c.put_email_identity_dkim_signing_attributes(
        EmailIdentity="rest2.test", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "-bad",
                           "DomainSigningPrivateKey": k3.b64}))
    sesame.stop()   # everything flushed: the log, the store's files
    blobs = []
    if conftest.PG:
        rows = conftest.store_sql(sesame.data, "SELECT encode(dkim_keys, 'hex'), dkim_origin,"
                                  " dkim_token1 FROM identities WHERE name LIKE 'rest%'")
        assert "EXTERNAL" in rows and "r1" in rows and "r2" in rows
        blobs.append(rows.encode())
        blobs.append(bytes.fromhex("".join(
            l.split("|")[0] for l in rows.splitlines())))
    else:
        for f in os.listdir(sesame.data):
            if f.startswith("sesame.db"):
                blobs.append(open(os.path.join(sesame.data, f), "rb").read())
        rows = conftest.store_sql(sesame.data, "SELECT dkim_origin, dkim_token1 FROM identities"
                                  " WHERE name LIKE 'rest%' ORDER BY name")
        assert rows.splitlines() == ["EXTERNAL|r1", "EXTERNAL|r2"]
    log = open(os.path.join(sesame.data, "serve.log"), "rb").read()
    assert blobs and log
    for k in (k1, k2, k3):
        for secret in k.secrets():
            for where, data in [("store", b) for b in blobs] + [("serve.log", log)]:
                assert secret not in data, f"private key material in the {where}"
            # and no 40-byte run of its base64 either
            b = k.b64.encode()
            for i in range(0, len(b) - 40, 97):
                assert b[i:i + 40] not in log
    sesame.start()   # the fixture stops it again


# ---- 5. only the owner -------------------------------------------------------------------

def test_delegate_cannot_change_dkim_signing(sesame):
    owner, okey = sesame.principal("owner")
    delegate, dkey = sesame.principal("delegate")
    oc, dc = sesame.client(okey, service="sesv2"), sesame.client(dkey, service="sesv2")
    k = Key()
    oc.create_email_identity(EmailIdentity="own.test", DkimSigningAttributes={
        "DomainSigningSelector": "o1", "DomainSigningPrivateKey": k.b64})
    conftest.verify(sesame, owner, "own.test")
    arn = f"arn:aws:ses:{REGION}:{owner}:identity/own.test"
    oc.create_email_identity_policy(EmailIdentity="own.test", PolicyName="p", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{delegate}:root"},
            "Action": ["ses:*"], "Resource": arn}]}))
    mine = Key()
    for ident in ("own.test", arn):
        for call in (
                lambda: dc.put_email_identity_dkim_signing_attributes(
                    EmailIdentity=ident, SigningAttributesOrigin="EXTERNAL",
                    SigningAttributes={"DomainSigningSelector": "d1",
                                       "DomainSigningPrivateKey": mine.b64}),
                lambda: dc.put_email_identity_dkim_signing_attributes(
                    EmailIdentity=ident, SigningAttributesOrigin="AWS_SES")):
            got = err_of(call)
            # the answer every owner-only identity operation gives a delegate
            same = err_of(lambda: dc.put_email_identity_dkim_attributes(
                EmailIdentity=ident, SigningEnabled=False))
            assert (got[0], got[2]) == (same[0], same[2]), (ident, got, same)
            assert got[2] in (403, 404), got
    p = sesame.aws(dkey, "put-email-identity-dkim-signing-attributes", "--email-identity",
                   "own.test", "--signing-attributes-origin", "AWS_SES", service="sesv2",
                   check=False)
    assert p.returncode != 0 and "NotFoundException" in p.stderr
    d = oc.get_email_identity(EmailIdentity="own.test")["DkimAttributes"]
    assert d["SigningAttributesOrigin"] == "EXTERNAL" and d["Tokens"] == ["o1"]
    recs = sesame.cli_json("identity", "dkim-records", "--account", owner, "--region", REGION,
                           "own.test")["Records"]
    assert [x["Value"] for x in recs] == [k.record]
