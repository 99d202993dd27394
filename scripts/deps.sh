#!/usr/bin/env bash
# Installs the Debian packages sesame needs to build and run (`deps.sh run`:
# what `make run` needs, the test toolchain not included), to test (the
# default) and to benchmark (`deps.sh bench`). Idempotent: installs only what
# is missing and runs `apt-get update` at most once per call.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libevent-dev libssl-dev libjansson-dev libgmime-3.0-dev libc-ares-dev
  libsqlite3-dev libpq-dev libcmocka-dev)
run_pkgs=(awscli curl)
test_pkgs=(python3-boto3 python3-pytest python3-pytest-xdist python3-dkim python3-nacl
  python3-cryptography python3-aiosmtpd python3-dnspython swaks libnet-ssleay-perl dnsmasq-base
  openssl sqlite3 curl postgresql prometheus systemd man-db groff-base
  chromium chromium-driver python3-selenium)
bench_pkgs=(wrk nginx-light postfix)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
[ "${1:-}" = run ] || want+=("${test_pkgs[@]}")
[ "${1:-}" = bench ] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# JavaScript test peers from the npm registry (nodemailer over the SESv2 SDK),
# pinned by tests/js/package-lock.json, installed into tests/js/node_modules
js_peers() {
  [ "${1:-}" = run ] && return 0
  [ -d tests/js/node_modules/nodemailer ] && return 0
  command -v npm >/dev/null 2>&1 || {
    echo "deps: installing nodejs npm" >&2
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  }
  echo "deps: npm ci in tests/js" >&2
  (cd tests/js && npm ci --silent --no-audit --no-fund >/dev/null)
}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
cd "$(dirname "$0")/.."
if [ ${#missing[@]} -eq 0 ]; then
  js_peers "${1:-}"
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
# Packages with a daemon (postgresql, prometheus for its promtool, postfix)
# must not start one: tests run their own on loopback. Docker images forbid
# it already; elsewhere forbid it for the length of the install.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$guard" >/dev/null
  $SUDO chmod +x "$guard"
  trap '$SUDO rm -f "$guard"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
js_peers "${1:-}"
