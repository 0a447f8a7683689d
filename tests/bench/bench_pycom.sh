#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench_pycom.sh: sqn-update (default options) against Pycom's sqnsupgrade
# 1.2.2 desktop conversation (fixtures/hosts/sqnsupgrade-1.2-desktop.chat,
# replayed by sqn-chat with the tool's own sleeps), on the same emulator:
# sqn-sim --time-scale 0 from fixtures/states/healthy, one package, rounds
# interleaved (sqn-update, Pycom, sqn-update, ...). Each run is checked: exit
# 0 and sqn-sim --show reporting the package's fff version afterwards.
#
# usage: tests/bench/bench_pycom.sh BUILD_DIR [ROUNDS (9)] [SIZE (5665583)]
set -eu
B=$(cd "$1" && pwd); ROUNDS=${2:-9}; SIZE=${3:-5665583}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/sqn-bench-pycom-XXXXXX")
trap 'rm -rf "$T"' EXIT
"$B/core/tools/sqn-dup/sqn-dup" build --version 5.2.0.0 --build 48829 \
  --size "$SIZE" -o "$T/pkg.dup" >/dev/null
run() { # $1: upd|pycom -> prints seconds
  cp "$SRC/fixtures/states/healthy.json" "$T/st.json"
  "$B/sim/sqn-sim" --state "$T/st.json" --time-scale 0 --link "$T/tty" \
    >"$T/sim.out" 2>&1 &
  local spid=$! i
  for i in $(seq 250); do [ -e "$T/tty" ] && break; sleep 0.02; done
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  if [ "$1" = upd ]; then
    "$B/core/tools/sqn-update/sqn-update" --port "$T/tty" "$T/pkg.dup" \
      >"$T/run.out" 2>&1 || rc=$?
  else
    "$B/harness/chat/sqn-chat" --var "PACKAGE=$T/pkg.dup" \
      "$SRC/fixtures/hosts/sqnsupgrade-1.2-desktop.chat" "$T/tty" \
      >"$T/run.out" 2>&1 || rc=$?
  fi
  t1=$(date +%s.%N)
  kill -TERM "$spid"; wait "$spid" || true
  if [ $rc -ne 0 ] || ! "$B/sim/sqn-sim" --state "$T/st.json" --show |
      grep -q '^fff: *valid *5.2.0.0 \[48829\]'; then
    echo "bench_pycom: $1 run failed (exit $rc):" >&2; cat "$T/run.out" >&2
    exit 1
  fi
  echo "$t1 - $t0" | bc
}
echo "package: $SIZE bytes; sqn-sim --time-scale 0 from healthy; $ROUNDS interleaved rounds"
U=(); P=()
for r in $(seq "$ROUNDS"); do U+=("$(run upd)"); P+=("$(run pycom)"); done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
mu=$(med "${U[@]}"); mp=$(med "${P[@]}")
printf '%-44s %8s %17s\n' what "median s" "spread s"
printf '%-44s %8.2f %8.2f-%-8.2f\n' "sqn-update --port P PKG (defaults)" "$mu" \
  "$(printf '%s\n' "${U[@]}" | sort -g | head -1)" "$(printf '%s\n' "${U[@]}" | sort -g | tail -1)"
printf '%-44s %8.2f %8.2f-%-8.2f\n' "Pycom 1.2.2 desktop conversation (sqn-chat)" "$mp" \
  "$(printf '%s\n' "${P[@]}" | sort -g | head -1)" "$(printf '%s\n' "${P[@]}" | sort -g | tail -1)"
echo "rounds sqn-update: ${U[*]}"
echo "rounds Pycom:      ${P[*]}"
echo "Pycom / sqn-update (medians): $(echo "scale=1; $mp / $mu" | bc)x"
