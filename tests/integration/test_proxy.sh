#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sqn-sim --proxy: a second sqn-sim on a pty stands in for the real modem.
#  1. The Pycom 2018 chat host against the incident state, directly and
#     through the proxy: same result, same exchange in the modem's trace,
#     and the proxy's own trace shows that exchange too.
#  2. A fault file corrupting STP frame 3 through the proxy: the 2018 host
#     (stripped copy, straight to the push) fails on the bad response, and
#     the trace shows it; sqn-update with frame 4's response CRC corrupted
#     resends that block (the retry shows in the trace) and succeeds.
#  2c/d. Delay and hang faults; AT+IPR: the modem port follows the host's
#     rate change (the sqnsupgrade updater-elf host, FFH at 115200).
#  3. A power-cut fault is refused: impossible through a proxy.
# Skips (77) where no pty can be opened.
#
# usage: test_proxy.sh SQN_SIM SQN_CHAT SQN_UPDATE SQN_DUP REPO_ROOT WORKDIR
set -u
SIM=$1 CHAT=$2 UPD=$3 DUP=$4 ROOT=$5 WORK=$6
rm -rf "$WORK"
mkdir -p "$WORK"
fails=0
pids=()
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

# start NAME ARGS...: run sqn-sim ARGS in the background; sets $pty and $pid
start() {
  local name=$1 i
  shift
  "$SIM" "$@" >"$WORK/$name.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  pty=""
  for i in $(seq 1 200); do # bounded wait for the "pty:" line (20 s)
    pty=$(sed -n 's/^pty: //p' "$WORK/$name.out")
    [ -n "$pty" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q openpty "$WORK/$name.out"; then echo "SKIP: no pty"; exit 77; fi
  fail "$name: sqn-sim $* did not start: $(cat "$WORK/$name.out")"
  exit 1
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# the exchange of a trace: AT lines and STP frames (kind, text and bytes),
# in order, without time or typed fields
exchange() {
  sed -n 's/^{"t":[0-9]*,\("kind":"\(at[<>]\|stp[<>]\)","text":"\([^"\\]\|\\.\)*"\).*/\1/p' "$1"
}

chat() { # chat PTY OUT [VARS...]
  local port=$1 out=$2
  shift 2
  timeout 120 "$CHAT" --timeout-scale 0.1 --sleep-scale 0.05 \
    --var PACKAGE="$WORK/pkg.dup" "$@" "$ROOT/fixtures/hosts/pycom-2018.chat" \
    "$port" >"$out" 2>&1
}

"$DUP" build --size 200000 -o "$WORK/pkg.dup" >/dev/null || { fail "sqn-dup"; exit 1; }
state=$ROOT/fixtures/states/interrupted-upgrade.json

# 1. direct, then through the proxy
cp "$state" "$WORK/direct.json"
start direct --state "$WORK/direct.json" --time-scale 0 --trace "$WORK/direct.trace"
simA=$pid
chat "$pty" "$WORK/direct.chat"
rc_direct=$?
stop $simA

cp "$state" "$WORK/modem.json"
start modem --state "$WORK/modem.json" --time-scale 0 --trace "$WORK/modem.trace"
simB=$pid
start proxy --proxy "$pty" --trace "$WORK/proxy.trace"
px=$pid
chat "$pty" "$WORK/proxied.chat"
rc_proxied=$?
stop $px
stop $simB

[ $rc_direct = 1 ] || fail "direct run: exit $rc_direct, want 1"
[ $rc_proxied = $rc_direct ] || fail "through the proxy: exit $rc_proxied, direct $rc_direct"
grep -q "AT+SMSWBOOT=3,0 failed!" "$WORK/proxied.chat" \
  || fail "through the proxy: no 'AT+SMSWBOOT=3,0 failed!': $(cat "$WORK/proxied.chat")"
exchange "$WORK/direct.trace" >"$WORK/direct.x"
exchange "$WORK/modem.trace" >"$WORK/modem.x"
grep -q 'AT+SMSWBOOT=3,0' "$WORK/direct.x" || fail "direct trace lacks AT+SMSWBOOT=3,0"
cmp -s "$WORK/direct.x" "$WORK/modem.x" \
  || fail "the modem saw another exchange through the proxy: $(diff "$WORK/direct.x" "$WORK/modem.x" | head -6 | tr '\n' ' ')"
exchange "$WORK/proxy.trace" >"$WORK/proxy.x"
cmp -s "$WORK/direct.x" "$WORK/proxy.x" \
  || fail "the proxy's trace differs from the modem's exchange: $(diff "$WORK/direct.x" "$WORK/proxy.x" | head -6 | tr '\n' ' ')"

# 2a. STP frame 3's response corrupted: the 2018 host (stripped copy) fails
cat >"$WORK/frame3.yaml" <<'EOF'
- name: corrupt-frame-3
  when: stp-frame
  first: 3
  last: 3
  do: corrupt-magic
EOF
cp "$state" "$WORK/modem3.json"
start modem3 --state "$WORK/modem3.json" --time-scale 0
simB=$pid
start proxy3 --proxy "$pty" --faults "$WORK/frame3.yaml" --trace "$WORK/proxy3.trace"
px=$pid
chat "$pty" "$WORK/frame3.chat" --var STRIPPED=1
rc=$?
stop $px
stop $simB
[ $rc = 1 ] || fail "frame 3 corrupted: host exit $rc, want 1"
grep -q "Invalid response magic" "$WORK/frame3.chat" \
  || fail "frame 3 corrupted: host did not report the bad magic: $(cat "$WORK/frame3.chat")"
grep -q '"kind":"fault","text":"corrupt-frame-3: stp-frame #3' "$WORK/proxy3.trace" \
  || fail "frame 3 corrupted: the fault is not in the trace"
grep -q '"kind":"stp>".*(corrupted: magic)' "$WORK/proxy3.trace" \
  || fail "frame 3 corrupted: the corrupted response is not in the trace"
after=$(sed -n '/corrupted: magic/,$p' "$WORK/proxy3.trace" | grep -c '"kind":"stp<"')
[ "$after" = 0 ] || fail "frame 3 corrupted: the host sent $after more frames after the failure"

# 2b. sqn-update retries a block whose response CRC was corrupted
cat >"$WORK/frame4.yaml" <<'EOF'
- name: corrupt-frame-4
  when: stp-frame
  first: 4
  last: 4
  do: corrupt-pcrc
EOF
start modem4 --state "$WORK/modem4.json" --time-scale 0
simB=$pid
start proxy4 --proxy "$pty" --faults "$WORK/frame4.yaml" --trace "$WORK/proxy4.trace"
px=$pid
timeout 120 "$UPD" --port "$pty" --timeout-scale 0.2 "$WORK/pkg.dup" >"$WORK/upd4.out" 2>&1
rc=$?
stop $px
stop $simB
[ $rc = 0 ] || fail "frame 4 corrupted: sqn-update exit $rc, want 0 after a retry: $(tail -3 "$WORK/upd4.out")"
tid=$(grep '"kind":"stp<"' "$WORK/proxy4.trace" | sed -n 4p | sed 's/.* tid \([0-9]*\) .*/\1/')
n=$(grep -c "\"kind\":\"stp<\",\"text\":\"op 3 sid [0-9]* tid $tid " "$WORK/proxy4.trace")
[ "$n" = 2 ] || fail "frame 4 corrupted: BLOCK tid $tid sent $n times, want 2 (a retry)"

# 2c. delay and hang: ATE0's answer held 300 ms; the modem hangs at
# AT+SMSWBOOT (nothing forwarded either way from then on)
cat >"$WORK/hang.yaml" <<'EOF'
- name: slow-ate0
  when: at
  match: "ATE0"
  do: delay
  delay_us: 300000
- name: hang
  when: at
  match: "AT+SMSWBOOT"
  do: silent
EOF
cp "$state" "$WORK/modem5.json"
start modem5 --state "$WORK/modem5.json" --time-scale 0 --trace "$WORK/modem5.trace"
simB=$pid
start proxy5 --proxy "$pty" --faults "$WORK/hang.yaml" --trace "$WORK/proxy5.trace"
px=$pid
chat "$pty" "$WORK/hang.chat"
rc=$?
stop $px
stop $simB
[ $rc = 1 ] || fail "hang: host exit $rc, want 1"
t_cmd=$(sed -n 's/^{"t":\([0-9]*\),"kind":"at<","text":"ATE0".*/\1/p' "$WORK/proxy5.trace")
t_ok=$(sed -n '/"text":"ATE0"/,$p' "$WORK/proxy5.trace" | sed -n 's/^{"t":\([0-9]*\),"kind":"at>","text":"OK".*/\1/p' | head -1)
[ -n "$t_cmd" ] && [ -n "$t_ok" ] && [ $((t_ok - t_cmd)) -ge 300000 ] \
  || fail "delay: ATE0 at $t_cmd us, its OK at $t_ok us: want >= 300000 us later"
grep -q 'AT+SMSWBOOT' "$WORK/modem5.trace" && fail "hang: the modem got AT+SMSWBOOT"
after=$(sed -n '/"hang: at/,$p' "$WORK/proxy5.trace" | grep -c '"kind":"at>"')
[ "$after" = 0 ] || fail "hang: $after modem lines after the hang"

# 2d. rate changes follow the host: Pycom's updater-elf host sends
# AT+IPR=921600 to a modem in FFH at 115200 and reopens the port at 921600
cp "$ROOT/fixtures/states/ffh-only.json" "$WORK/ffh.json"
start ffh --state "$WORK/ffh.json" --time-scale 0 --trace "$WORK/ffh.trace"
simB=$pid
start proxy6 --proxy "$pty" --trace "$WORK/proxy6.trace"
px=$pid
timeout 120 "$CHAT" --timeout-scale 1 --sleep-scale 0.05 \
  --var UPDATER="$ROOT/fixtures/packages/updater.elf" \
  --var PACKAGE="$ROOT/fixtures/packages/lr5-5.2.0.0-48829.dup" \
  "$ROOT/fixtures/hosts/sqnsupgrade-updater-elf.chat" "$pty" >"$WORK/ipr.chat" 2>&1
rc=$?
stop $px
stop $simB
[ $rc = 0 ] && grep -q "LR5.2.0.0-48829" "$WORK/ipr.chat" \
  || fail "AT+IPR through the proxy: exit $rc: $(tail -3 "$WORK/ipr.chat")"
sed -n '/"text":"AT+IPR=921600"/,$p' "$WORK/proxy6.trace" \
  | grep -q '"kind":"line","text":"host at 921600 baud, modem port set to 921600"' \
  || fail "the proxy did not follow the host to 921600 after AT+IPR"
grep -q '"kind":"line","text":"[^"]*host at 921600 baud, modem at 921600' "$WORK/ffh.trace" \
  || fail "the modem did not see the host at 921600 after AT+IPR"

# 3. a power cut cannot go through a proxy
cat >"$WORK/cut.yaml" <<'EOF'
- name: cut
  when: stp-op
  op: 3
  do: power-cut
EOF
"$SIM" --proxy /dev/null --faults "$WORK/cut.yaml" >"$WORK/cut.out" 2>&1
rc=$?
[ $rc = 3 ] || fail "power-cut fault: exit $rc, want 3"
grep -q "impossible through a proxy" "$WORK/cut.out" || fail "power-cut fault: $(cat "$WORK/cut.out")"
"$SIM" --help | grep -q "power cut is impossible" || fail "--help does not say a power cut is impossible"

if [ $fails -ne 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "ok"
