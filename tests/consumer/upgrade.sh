#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The installed sqn-sim, started from the named state "healthy" in
# share/sqnup, is upgraded by the installed sqn-update; the state file must
# then show the package's version. Usage: upgrade.sh SQN_SIM SQN_UPDATE DATADIR
set -eu
sim=$1 update=$2 data=$3
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp "$data/states/healthy.json" "$work/modem.json"
"$sim" --state "$work/modem.json" --show | grep -q "5.1.1.0 \[33988\]"

mkfifo "$work/out"
"$sim" --state "$work/modem.json" --time-scale 0 --link "$work/tty" \
  > "$work/out" 2> "$work/sim.err" &
pid=$!
# The first line is "pty: /dev/pts/N"; bounded by the test's TIMEOUT.
exec 3< "$work/out"
if ! read -r line <&3; then
  if grep -qi "pty\|openpty\|posix_openpt" "$work/sim.err"; then
    echo "no pty here: $(cat "$work/sim.err")"; exit 77
  fi
  echo "sqn-sim did not start: $(cat "$work/sim.err")"; exit 1
fi
case $line in pty:*) ;; *) echo "unexpected first line: $line"; exit 1 ;; esac
cat <&3 > /dev/null &

"$update" --port "$work/tty" --timeout-scale 0.01 \
  "$data/packages/lr5-5.1.1.0-38638.dup"

kill -TERM "$pid"
wait "$pid" || { echo "sqn-sim exited $?"; exit 1; }
pid=
"$sim" --state "$work/modem.json" --show --json > "$work/show.json"
cat "$work/show.json"
grep -q '"build": *38638' "$work/show.json"
grep -q '"boot_select": *"FFF"' "$work/show.json"
echo "upgraded: $(grep -o '"version": *"[^"]*"' "$work/show.json" | head -1)"
