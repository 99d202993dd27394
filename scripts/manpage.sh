#!/usr/bin/env bash
# sesame(1) on stdout, generated from the binary's own help (the tables that
# parse the commands and options), so the page cannot drift from the parser.
# Usage: scripts/manpage.sh [path/to/sesame]
set -euo pipefail
BIN=${1:-./build/sesame}
SYSCONFDIR=${SYSCONFDIR:-/etc}

# roff-safe text: backslashes, a leading dot or quote, hyphens as minus signs
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'; }
block() { echo ".nf"; esc; echo ".fi"; }

version=$("$BIN" --version | head -1)
cat <<ROFF
.TH SESAME 1 "" "$version" "User Commands"
.SH NAME
sesame \\- a self\\-hosted Amazon SES: the SES API, SMTP submission and sending authorization
.SH SYNOPSIS
.B sesame
[\\fB\\-\\-data\\fR \\fIDIR\\fR] [\\fB\\-\\-db\\fR \\fIURL\\fR] [\\fB\\-\\-config\\fR \\fIFILE\\fR] \\fICOMMAND\\fR ...
.SH DESCRIPTION
\\fBsesame serve\\fR speaks Amazon SES's protocols: the SES Query API over HTTP
with SigV4 signatures, SNS topics, and SMTP submission with STARTTLS or
implicit TLS. Identity owners verify addresses and domains and attach policies
to them; delegate senders in other accounts send from those identities by
their ARN. The other commands administer the same store directly and print
one JSON object on stdout.
.SH COMMANDS
ROFF
"$BIN" --help | block
echo ".SH SERVE OPTIONS"
"$BIN" serve --help | block
echo ".SH ADMIN COMMANDS"
# every admin command the top-level list names (serve, help, version aside)
nouns=$("$BIN" --help | awk '/^  [a-z]/ && $1 != "serve" && $1 != "help" && $1 != "version" \
  && !seen[$1]++ {print $1}')
for noun in $nouns; do
  echo ".SS $noun"
  "$BIN" help "$noun" | block
done
sed "s|@SYSCONFDIR@|$SYSCONFDIR|" <<'ROFF'
.SH ENDPOINTS
On \fB\-\-http\fR: the SES v1 Query API and SNS (SigV4), \fB/metrics\fR
(Prometheus) and \fB/healthz\fR for \fB\-\-metrics\-allow\fR clients, the
capture inbox and developer endpoints under \fB/_sesame/\fR for
\fB\-\-admin\-allow\fR clients.
.SH ENVIRONMENT
.TP
.B SESAME_MASTER_KEY_FILE
the master key file when \fB\-\-master\-key\fR is not given.
.SH FILES
.TP
.I @SYSCONFDIR@/sesame/sesame.conf
the configuration of the systemd unit (every option, commented, at its default).
.TP
.I /var/lib/sesame
the data directory of the systemd unit: sesame.db, master.key, serve.lock.
.SH SIGNALS
SIGTERM and SIGINT: stop accepting, answer every accepted message, exit 0.
.SH SEE ALSO
.BR aws (1),
.BR swaks (1),
.BR systemd.exec (5)
ROFF
