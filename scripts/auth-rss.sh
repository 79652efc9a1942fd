#!/usr/bin/env bash
# Resident memory of the server under bursts of 64 concurrent argon2 requests (issue 10, item 5):
# 64 activations with invented codes, then 64 sign-ins with wrong passwords on 64 emails, three
# rounds each, with the production argon2 parameters (19 MiB per computation).
#   scripts/auth-rss.sh [BINARY] [SERVER FLAGS...]
#   cargo build -p server --bin pass-emploi-server && scripts/auth-rss.sh target/debug/pass-emploi-server --auth-address-per-minute 0
# (`--auth-address-per-minute 0`: all requests come from 127.0.0.1, which the per-address limit
# would otherwise refuse after 30: the point here is the argon2 memory.)
set -euo pipefail
BIN=${1:-target/debug/pass-emploi-server}
shift || true
PORT=${PORT:-18080}
DIR=$(mktemp -d)
"$BIN" --listen "127.0.0.1:$PORT" --data-dir "$DIR" "$@" serve --demo >"$DIR/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
  kill -0 $PID 2>/dev/null || { cat "$DIR/log"; exit 1; }
  sleep 0.2
done
rss() { awk '/VmRSS|VmHWM/ { printf "%s %4d MiB  ", $1, $2 / 1024 }' "/proc/$PID/status"; }
burst() { # path, JSON body with {} replaced by 1..64
  seq 64 | xargs -P 64 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
    -d "$2" "http://127.0.0.1:$PORT$1" | sort | uniq -c | tr -s ' \n' ' '
}
echo "idle:                 $(rss)"
for round in 1 2 3; do
  codes=$(burst /api/v1/auth/activate '{"activation_code":"AAAA-BBBB-{}","password":"un-mot-de-passe"}')
  echo "64 activations ($round):   $(rss) answers: $codes"
done
for round in 1 2 3; do
  codes=$(burst /api/v1/auth/login '{"email":"personne{}@exemple.fr","password":"pas le bon mot de passe"}')
  echo "64 sign-ins ($round):      $(rss) answers: $codes"
done
sleep 5
echo "5 s later:            $(rss)"
