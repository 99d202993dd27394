"""`make install` as an operator runs it: the binary, the systemd unit (which
systemd-analyze accepts), the sample configuration (every option at its
default, in sync with the parser) and sesame(1) generated from the help."""
import os
import re
import subprocess

import pytest

from conftest import SESAME

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_install(*args):
    p = subprocess.run(["make", "-s", "-C", REPO, "install", *args], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


def options():
    """Every option name the parser accepts, from --print-config."""
    out = subprocess.run([SESAME, "serve", "--print-config"], capture_output=True, text=True,
                         check=True).stdout
    return [l.split(" =")[0] for l in out.splitlines()]


@pytest.mark.skipif(not os.path.exists("/usr/bin/systemd-analyze"), reason="no systemd")
def test_make_install_layout_and_the_unit_systemd_accepts(tmp_path):
    dest = tmp_path / "stage"
    make_install(f"DESTDIR={dest}")
    binary = dest / "usr/local/bin/sesame"
    unit = dest / "usr/local/lib/systemd/system/sesame.service"
    conf = dest / "etc/sesame/sesame.conf"
    man = dest / "usr/local/share/man/man1/sesame.1"
    assert os.access(binary, os.X_OK)
    assert subprocess.run([binary, "--version"], capture_output=True, text=True,
                          check=True).stdout.startswith("sesame ")
    text = unit.read_text()
    assert "ExecStart=/usr/local/bin/sesame serve --config /etc/sesame/sesame.conf" in text
    for hardening in ("DynamicUser=yes", "StateDirectory=sesame", "ProtectSystem=strict",
                      "NoNewPrivileges=yes", "Restart=on-failure"):
        assert hardening in text
    assert "@" not in re.sub(r"@system-service|@privileged|@resources", "", text)

    # the sample config is the parser's own, comments every option, and reads back
    sample = conf.read_text()
    assert sample == open(os.path.join(REPO, "contrib", "sesame.conf")).read()
    assert sample == subprocess.run([SESAME, "serve", "--print-defaults"], capture_output=True,
                                    text=True, check=True).stdout
    for name in options():
        assert re.search(rf"^#{re.escape(name)} =", sample, re.M), name
    same = subprocess.run([SESAME, "serve", "--config", str(conf), "--print-config"],
                          capture_output=True, text=True, check=True).stdout
    assert same == subprocess.run([SESAME, "serve", "--print-config"], capture_output=True,
                                  text=True, check=True).stdout

    # the man page renders and names every option and every command
    page = subprocess.run(["man", "-l", str(man)], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="120", MAN_KEEP_FORMATTING="0"),
                          check=True).stdout
    page = re.sub(r".\x08", "", page)
    for name in options():
        assert f"--{name}" in page, name
    for command in ("account create", "key create", "identity verify", "suppression add",
                    "policy check"):
        assert command in page, command

    # an upgrade keeps the operator's configuration
    conf.write_text("http = 127.0.0.1:9999\n")
    make_install(f"DESTDIR={dest}")
    assert conf.read_text() == "http = 127.0.0.1:9999\n"

    # installed for real under a prefix, the unit passes systemd's own check
    # (one test: two `make install`s must never run at once under xdist)
    prefix = tmp_path / "usr"
    make_install(f"PREFIX={prefix}", f"SYSCONFDIR={tmp_path}/etc")
    unit = prefix / "lib/systemd/system/sesame.service"
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=str(prefix / "share/man")), timeout=60)
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout + p.stderr
