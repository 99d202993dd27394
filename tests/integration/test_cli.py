"""The admin CLI as users run it: `sesame <noun> <verb> …` on a fresh data dir
per test, no server. Every command's output shape, exit statuses (1 bad
input, 2 usage), "one line on stderr and nothing on stdout" on failure, and
global options before or after the command."""
import json
import os
import re
import sqlite3
import stat
import subprocess

import pytest

SESAME = os.environ.get("SESAME_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "sesame")

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": "*"}]})


class Cli:
    def __init__(self, data):
        self.data = str(data)

    def raw(self, *args, where="after"):
        glob = ["--data", self.data]
        argv = [SESAME] + (glob + list(args) if where == "before" else list(args) + glob)
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    def ok(self, *args, **kw):
        p = self.raw(*args, **kw)
        assert p.returncode == 0, p.stderr
        assert p.stderr == ""
        assert p.stdout.endswith("\n")
        out = json.loads(p.stdout)
        assert isinstance(out, dict)
        return out

    def bad(self, rc, msg, *args):
        p = self.raw(*args)
        assert p.returncode == rc, (p.returncode, p.stderr)
        assert p.stdout == ""
        lines = p.stderr.splitlines()
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith("sesame: ")
        assert msg in lines[0], lines[0]
        return lines[0]

    def account(self, name="acct", *extra):
        return self.ok("account", "create", "--name", name, *extra)["AccountId"]


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path / "data")


def test_account_create_defaults_and_flags(cli):
    a = cli.ok("account", "create", "--name", "team-a")
    assert set(a) == {"AccountId", "Name", "Max24HourSend", "MaxSendRate", "Sandbox"}
    assert re.fullmatch(r"[1-9][0-9]{11}", a["AccountId"])
    assert (a["Name"], a["Max24HourSend"], a["MaxSendRate"], a["Sandbox"]) == \
        ("team-a", 50000, 14, False)
    s = cli.ok("account", "create", "--name=sbx", "--sandbox")
    assert (s["Max24HourSend"], s["MaxSendRate"], s["Sandbox"]) == (200, 1, True)
    s2 = cli.ok("account", "create", "--name", "sbx2", "--sandbox", "--max-24h", "10")
    assert (s2["Max24HourSend"], s2["MaxSendRate"]) == (10, 1)
    r = cli.ok("account", "create", "--name", "r", "--max-rate=2.5", "--max-24h=-1")
    assert (r["Max24HourSend"], r["MaxSendRate"]) == (-1, 2.5)
    ids = {a["AccountId"], s["AccountId"], s2["AccountId"], r["AccountId"]}
    assert len(ids) == 4

    lst = cli.ok("account", "list")
    assert set(lst) == {"Accounts"}
    assert {x["Name"] for x in lst["Accounts"]} == {"team-a", "sbx", "sbx2", "r"}
    for x in lst["Accounts"]:
        assert set(x) == {"AccountId", "Name", "Max24HourSend", "MaxSendRate", "Sandbox",
                          "SendingEnabled"}
        assert x["SendingEnabled"] is True


def test_global_options_before_and_after(cli, tmp_path):
    a = cli.ok("account", "create", "--name", "g", where="before")
    assert [x["AccountId"] for x in cli.ok("account", "list", where="after")["Accounts"]] == \
        [a["AccountId"]]
    # --db points elsewhere: a separate store
    other = tmp_path / "other.db"
    p = subprocess.run([SESAME, "--db", f"sqlite:{other}", "account", "list", "--data",
                        cli.data], capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout) == {"Accounts": []}
    # --regions decides the SMTP password regions
    key = cli.ok("key", "create", "--account", a["AccountId"], "--regions",
                 "eu-west-1,us-east-1")
    assert set(key["SmtpPasswords"]) == {"eu-west-1", "us-east-1"}


@pytest.mark.parametrize("args,rc,msg", [
    (["account", "create", "--name", "bad name"], 1, "invalid account name"),
    (["account", "create", "--name", "x" * 65], 1, "invalid account name"),
    (["account", "create", "--name", "x", "--max-24h", "-2"], 1, "--max-24h"),
    (["account", "create", "--name", "x", "--max-24h", "1.5"], 1, "--max-24h"),
    (["account", "create", "--name", "x", "--max-rate", "0"], 1, "--max-rate"),
    (["account", "create", "--name", "x", "--max-rate", "inf"], 1, "--max-rate"),
    (["account", "create"], 2, "missing --name"),
    (["account", "create", "--name", "x", "--nope"], 2, "unknown flag '--nope'"),
    (["account", "create", "--name", "x", "--sandbox=1"], 2, "takes no value"),
    (["account", "create", "--name", "x", "stray"], 2, "unexpected argument"),
    (["account", "explode"], 2, "unknown verb"),
    (["account"], 2, "missing verb"),
    (["nothing"], 2, "unknown command"),
    (["account", "delete", "--account", "123456789012"], 1, "does not exist"),
    (["user", "create", "--account", "123456789012", "--name", "u"], 1, "does not exist"),
    (["user", "list", "--account", "123456789012"], 1, "does not exist"),
    (["key", "create", "--account", "123456789012"], 1, "does not exist"),
    (["key", "delete", "--key", "AKIAAAAAAAAAAAAAAAAA"], 1, "does not exist"),
    (["identity", "verify", "--account", "123456789012", "--region", "us-east-1", "a.com"],
     1, "does not exist"),
    (["identity", "list", "--account", "123456789012"], 2, "missing --region"),
])
def test_bad_input_writes_nothing(cli, args, rc, msg):
    cli.bad(rc, msg, *args)
    assert cli.ok("account", "list") == {"Accounts": []}


def test_account_duplicate_and_delete(cli):
    a = cli.account("dup")
    cli.bad(1, "already exists", "account", "create", "--name", "dup")
    assert len(cli.ok("account", "list")["Accounts"]) == 1
    assert cli.ok("account", "delete", "--account", a) == {"Deleted": a}
    cli.bad(1, "does not exist", "account", "delete", "--account", a)
    assert cli.ok("account", "list") == {"Accounts": []}


def test_users(cli, tmp_path):
    a = cli.account()
    pol = tmp_path / "p.json"
    pol.write_text(POLICY)
    u = cli.ok("user", "create", "--account", a, "--name", "alice", "--policy", str(pol))
    assert u == {"Arn": f"arn:aws:iam::{a}:user/alice", "AccountId": a, "UserName": "alice",
                 "HasPolicy": True}
    u2 = cli.ok("user", "create", "--account", a, "--name", "bob+ci@x")
    assert u2["HasPolicy"] is False and u2["Arn"] == f"arn:aws:iam::{a}:user/bob+ci@x"

    cli.bad(1, "already exists", "user", "create", "--account", a, "--name", "alice")
    cli.bad(1, "invalid user name", "user", "create", "--account", a, "--name", "no/slash")
    cli.bad(2, "missing --name", "user", "create", "--account", a)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cli.bad(1, "not valid JSON", "user", "create", "--account", a, "--name", "c",
            "--policy", str(broken))
    big = tmp_path / "big.json"
    big.write_text(POLICY + " " * (6145 - len(POLICY)))
    cli.bad(1, "6144", "user", "create", "--account", a, "--name", "c", "--policy", str(big))
    limit = tmp_path / "limit.json"
    limit.write_text(POLICY + " " * (6144 - len(POLICY)))
    cli.ok("user", "create", "--account", a, "--name", "c", "--policy", str(limit))

    lst = cli.ok("user", "list", "--account", a)["Users"]
    assert [x["UserName"] for x in lst] == ["alice", "bob+ci@x", "c"]
    assert all({"Arn", "AccountId", "UserName", "HasPolicy"} <= set(x) for x in lst)
    assert cli.ok("user", "delete", "--account", a, "--name", "alice") == \
        {"Deleted": f"arn:aws:iam::{a}:user/alice"}
    cli.bad(1, "does not exist", "user", "delete", "--account", a, "--name", "alice")


def test_keys(cli):
    a = cli.account()
    cli.ok("user", "create", "--account", a, "--name", "sender")
    k = cli.ok("key", "create", "--account", a)
    assert set(k) == {"AccessKeyId", "SecretAccessKey", "AccountId", "Principal",
                      "SmtpUsername", "SmtpPasswords"}
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", k["AccessKeyId"])
    assert re.fullmatch(r"[A-Za-z0-9/+]{40}", k["SecretAccessKey"])
    assert k["Principal"] == f"arn:aws:iam::{a}:root"
    assert k["SmtpUsername"] == k["AccessKeyId"]
    assert set(k["SmtpPasswords"]) == {"us-east-1", "us-west-2", "eu-west-1"}
    for pw in k["SmtpPasswords"].values():
        assert re.fullmatch(r"B[A-Za-z0-9/+]{43}", pw)
    assert len(set(k["SmtpPasswords"].values())) == 3

    ku = cli.ok("key", "create", "--account", a, "--user", "sender")
    assert ku["Principal"] == f"arn:aws:iam::{a}:user/sender"
    ks = cli.ok("key", "create", "--account", a, "--service", "notify.example.internal")
    assert ks["Principal"] == "notify.example.internal"
    cli.bad(1, "does not exist", "key", "create", "--account", a, "--user", "ghost")
    cli.bad(1, "invalid service name", "key", "create", "--account", a, "--service", "nodot")
    cli.bad(2, "exclude each other", "key", "create", "--account", a, "--user", "sender",
            "--service", "a.b")

    # the secret is in the store only sealed
    db = sqlite3.connect(os.path.join(cli.data, "sesame.db"))
    blobs = [r[0] for r in db.execute("SELECT sealed FROM access_keys")]
    db.close()
    assert len(blobs) == 3
    for secret in (k["SecretAccessKey"], ku["SecretAccessKey"], ks["SecretAccessKey"]):
        assert all(secret.encode() not in b for b in blobs)
    mode = os.stat(os.path.join(cli.data, "master.key")).st_mode
    assert stat.S_IMODE(mode) == 0o600

    p = cli.raw("key", "list")
    assert k["SecretAccessKey"] not in p.stdout
    lst = json.loads(p.stdout)["AccessKeys"]
    assert {x["AccessKeyId"] for x in lst} == {k["AccessKeyId"], ku["AccessKeyId"],
                                               ks["AccessKeyId"]}
    assert all(set(x) == {"AccessKeyId", "AccountId", "Principal", "Created"} for x in lst)
    assert len(cli.ok("key", "list", "--account", a)["AccessKeys"]) == 3
    assert cli.ok("key", "delete", "--key", k["AccessKeyId"]) == {"Deleted": k["AccessKeyId"]}
    cli.bad(1, "does not exist", "key", "delete", "--key", k["AccessKeyId"])
    # deleting the user takes its key with it
    cli.ok("user", "delete", "--account", a, "--name", "sender")
    assert [x["AccessKeyId"] for x in cli.ok("key", "list")["AccessKeys"]] == \
        [ks["AccessKeyId"]]


def test_refuses_world_readable_master_key(cli):
    a = cli.account()
    key = os.path.join(cli.data, "master.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o644)
    cli.bad(1, "chmod 600", "key", "create", "--account", a)
    assert cli.ok("key", "list") == {"AccessKeys": []}


def test_identities(cli):
    a = cli.account()
    e = cli.ok("identity", "verify", "--account", a, "--region", "us-west-2", "Jane@Example.COM")
    assert e == {"Identity": "Jane@example.com", "Region": "us-west-2", "AccountId": a,
                 "VerificationStatus": "Success"}
    d = cli.ok("identity", "verify", "--region=us-west-2", "EXAMPLE.org", "--account", a)
    assert d["Identity"] == "example.org"
    # again: idempotent
    cli.ok("identity", "verify", "--account", a, "--region", "us-west-2", "example.org")
    cli.bad(1, "not served", "identity", "verify", "--account", a, "--region", "mars-1", "x.com")
    cli.bad(1, "invalid identity", "identity", "verify", "--account", a, "--region",
            "us-east-1", "has space.com")
    cli.bad(2, "missing argument", "identity", "verify", "--account", a, "--region",
            "us-east-1")
    lst = cli.ok("identity", "list", "--account", a, "--region", "us-west-2")
    assert lst == {"Identities": [
        {"Identity": "Jane@example.com", "Type": "EmailAddress", "VerificationStatus": "Success"},
        {"Identity": "example.org", "Type": "Domain", "VerificationStatus": "Success"}]}
    assert cli.ok("identity", "list", "--account", a, "--region", "eu-west-1") == \
        {"Identities": []}


def test_unreachable_postgres_is_a_clear_error_without_the_password(cli):
    p = subprocess.run([SESAME, "account", "list", "--db",
                        "postgresql://u:secretpw@127.0.0.1:1/db"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("sesame: store: cannot connect to PostgreSQL: ")
    assert "secretpw" not in p.stderr


# ---- the self-explaining binary (issue 16): help, version, print-config ----

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def run(*args, env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "SESAME_MASTER_KEY_FILE"}
    env.update(env_extra or {})
    return subprocess.run([SESAME] + list(args), capture_output=True, text=True, timeout=30,
                          env=env, cwd=cwd)


def shown(*args, **kw):
    """A help or info text: stdout, nothing on stderr, exit 0."""
    p = run(*args, **kw)
    assert (p.returncode, p.stderr) == (0, ""), (args, p.returncode, p.stderr)
    assert p.stdout.endswith("\n") and p.stdout.strip()
    return p.stdout


def usage_error(msg, *args):
    p = run(*args)
    assert p.returncode == 2 and p.stdout == "", (args, p.returncode, p.stdout)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sesame: "), p.stderr
    assert msg in lines[0], lines[0]
    return lines[0]


def print_config(*args, **kw):
    out = shown("serve", "--print-config", *args, **kw)
    conf = {}
    for line in out.splitlines():
        m = re.fullmatch(r"([a-z0-9-]+) =(?: (.*))?", line)
        assert m, line
        assert m.group(1) not in conf, line
        conf[m.group(1)] = m.group(2) or ""
    return out, conf


def test_serve_help_lists_every_option_with_its_default(tmp_path):
    out = shown("serve", "--help", cwd=tmp_path)
    assert shown("serve", "-h", cwd=tmp_path) == out
    assert shown("help", "serve", cwd=tmp_path) == out
    assert out.startswith("usage: sesame serve ")
    opts = {}
    for line in out.splitlines():
        m = re.match(r"  --([a-z0-9-]+)(?: ([A-Z][A-Z:]*))? +(\S.*)$", line)
        if m:
            assert m.group(1) not in opts, line
            opts[m.group(1)] = (m.group(2), m.group(3))
    assert {"help", "print-config", "print-defaults"} <= set(opts)
    del opts["help"], opts["print-config"], opts["print-defaults"]
    _, conf = print_config(cwd=tmp_path)
    # every option is listed, the ones --print-config shows and config itself
    assert set(opts) == set(conf) | {"config"}
    assert {"log-format", "metrics-allow", "data", "db"} <= set(opts)
    derived = {"helo", "bounce-domain", "node-name"}  # filled in from the host
    for name, (meta, text) in opts.items():
        assert meta, name  # every option takes a value, and names it
        m = re.search(r"\(default: ([^()]*(?:\([^()]*\))?[^()]*)\)$", text)
        assert m, (name, text)
        default = m.group(1)
        value = conf.get(name, "")
        if name in derived or value == "":
            continue  # the help says in words what the unset value means
        try:
            assert float(default) == float(value), name
        except ValueError:
            assert default == value, name
    # the global options are marked as such
    glob = out[out.index("global options"):out.index("serve options")]
    for g in ("--data", "--db", "--config"):
        assert "\n  " + g + " " in glob


def test_print_config_round_trips_through_config(tmp_path):
    key = tmp_path / "mk"
    first, conf = print_config(
        "--smtp", "off", "--threads=5", "--helo", "mx.example.com", "--pause-bounce-rate",
        "0.333", "--admin-allow", "", "--log-format", "json", "--regions", "eu-west-1",
        env_extra={"SESAME_MASTER_KEY_FILE": str(key)})
    assert "config" not in conf
    assert (conf["smtp"], conf["threads"], conf["helo"], conf["bounce-domain"]) == \
        ("off", "5", "mx.example.com", "mx.example.com")
    assert (conf["admin-allow"], conf["log-format"], conf["master-key"]) == \
        ("", "json", str(key))
    assert float(conf["pause-bounce-rate"]) == 0.333
    f = tmp_path / "sesame.conf"
    f.write_text("# from --print-config\n" + first)
    again, _ = print_config("--config", str(f))
    assert again == first
    # the command line still beats the file
    _, over = print_config("--config", str(f), "--threads", "7")
    assert over["threads"] == "7" and over["smtp"] == "off"
    # a bad value is refused as it would be by serve, nothing printed
    usage_error("--threads", "serve", "--print-config", "--threads", "0")


def test_version():
    out = shown("--version")
    assert shown("version") == out
    lines = out.splitlines()
    m = re.fullmatch(r"sesame (\d+\.\d+\.\d+)", lines[0])
    assert m, lines[0]
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    assert re.search(r"project\(sesame VERSION " + re.escape(m.group(1)) + r"\b", cmake)
    libs = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in lines[1:]}
    assert {"libevent", "openssl", "sqlite"} <= set(libs)
    assert all(re.match(r"\d+\.\d+", v) for v in libs.values()), libs
    usage_error("unexpected argument", "version", "extra")


def test_help_for_every_command():
    top = shown("help")
    assert shown("--help") == top and shown("-h") == top
    assert top.startswith("usage: sesame ")
    # no command: the same list, as a usage error
    p = run()
    assert (p.returncode, p.stdout, p.stderr) == (2, "", top)
    nouns, pairs = set(), []
    for line in top.splitlines():
        m = re.match(r"  ([a-z]+) ([a-z0-9-]+) ", line)
        if m:
            nouns.add(m.group(1))
            pairs.append((m.group(1), m.group(2)))
    assert {"account", "user", "key", "identity", "message", "suppression"} <= nouns
    for word in ("serve", "policy", "help", "version"):
        assert re.search(r"^  " + word + r"\b", top, re.M), word
    for noun in sorted(nouns - {"policy"}):
        text = shown("help", noun)
        assert shown(noun, "--help") == text and shown(noun, "-h") == text
        verbs = [v for n, v in pairs if n == noun]
        assert [l.split()[3] for l in text.splitlines() if l.startswith("usage:")] == verbs
    for noun, verb in pairs:
        if noun == "policy":
            continue
        text = shown("help", noun, verb)
        assert text.startswith(f"usage: sesame {noun} {verb}")
        assert shown(noun, verb, "--help") == text
        # --help wins over whatever else is on the line, and opens no store
        assert shown(noun, verb, "--bogus", "-h") == text
    # the synopsis comes from the flags the parser accepts
    assert shown("help", "account", "create").splitlines()[0] == \
        "usage: sesame account create --name NAME [--max-24h N] [--max-rate N] [--sandbox]"
    assert shown("help", "identity", "show").splitlines()[0] == \
        "usage: sesame identity show --account ID --region REGION IDENTITY"
    pol = shown("help", "policy")
    assert "sesame policy check FILE" in pol and "sesame policy simulate" in pol
    assert shown("policy", "--help") == pol and shown("policy", "simulate", "--help") == pol
    usage_error("unknown command 'nope'", "help", "nope")
    usage_error("unknown verb 'nope'", "help", "account", "nope")


def test_unknown_names_suggest_the_nearest():
    assert usage_error("unknown argument '--htp'", "serve", "--htp", "x") \
        .endswith(" (did you mean --http?)")
    assert "(did you mean --threads?)" in usage_error("--thread=3", "serve", "--thread=3")
    assert "(did you mean --print-config?)" in usage_error("", "serve", "--print-confg")
    assert "(did you mean --transport?)" in usage_error("", "serve", "--trans", "mx")
    assert "did you mean" not in usage_error("unknown argument", "serve", "--zzzzzz")
    line = usage_error("unknown flag '--acount'", "account", "show", "--acount", "1")
    assert "(did you mean --account?)" in line
    # the options every command takes count too
    assert "(did you mean --regions?)" in usage_error(
        "unknown flag", "key", "create", "--account", "123456789012", "--region", "eu-west-1")
    assert "did you mean" not in usage_error("unknown flag", "key", "list", "--zzzzzz")
    assert usage_error("unknown command 'acount'", "acount", "list") \
        .endswith("(did you mean account?)")
    assert "(did you mean suppression?)" in usage_error("unknown command", "supression")
    assert "(see sesame --help)" in usage_error("unknown command", "zzzzzz")
    assert "(did you mean create?)" in usage_error("unknown verb 'craete'", "account",
                                                   "craete")
