#!/usr/bin/env bash
# `make run`: serve ./var with the capture transport and, on a fresh ./var,
# make a demo account, its key and a verified demo identity, then print the
# lines that send a first mail into the inbox. The demo key is kept in
# ./var/demo.env (mode 0600): the store keeps only its sealed secret, so a
# later `make run` can show the same lines again.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SESAME_BIN:-./build/sesame}
DATA=${SESAME_DATA:-./var}
HTTP=${SESAME_HTTP:-127.0.0.1:8787}
REGION=us-east-1
FROM=demo@example.com
ENV_FILE=$DATA/demo.env

mkdir -p "$DATA"
chmod 700 "$DATA"
if [ ! -e "$ENV_FILE" ]; then
  acct=$("$BIN" account create --data "$DATA" --name demo | sed -n 's/.*"AccountId": "\([0-9]*\)".*/\1/p')
  key=$("$BIN" key create --data "$DATA" --account "$acct")
  "$BIN" identity verify --data "$DATA" --account "$acct" --region "$REGION" "$FROM" >/dev/null
  field() { printf '%s\n' "$key" | sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" | head -1; }
  umask 077
  {
    echo "# the demo account $acct of make run (sesame account show --account $acct)"
    echo "export AWS_ACCESS_KEY_ID=$(field AccessKeyId)"
    echo "export AWS_SECRET_ACCESS_KEY=$(field SecretAccessKey)"
    echo "export AWS_DEFAULT_REGION=$REGION"
  } > "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
fi

first_mail() {
	cat <<MSG

first mail: in another terminal, paste
  . $ENV_FILE
  /usr/bin/aws ses send-email --endpoint-url http://$HTTP \\
    --from $FROM --to you@example.net --subject "Hello from sesame" --text "It works."
then open http://$HTTP/_sesame/ to read it (the capture transport keeps every
message; nothing leaves this machine). /usr/bin/aws is aws-cli v2, which
needs no configuration beyond these variables; an aws-cli v1 first on PATH
works too but prints warnings.

MSG
}

# the lines come after serve's banner (its last line names get-send-quota),
# so they are the last thing on the screen once it is listening
"$BIN" serve --data "$DATA" --http "$HTTP" --transport capture "$@" > >(
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in *get-send-quota*) first_mail ;; esac
	done
) &
serve=$!
trap 'kill -TERM $serve 2>/dev/null; wait $serve' INT TERM
wait $serve
