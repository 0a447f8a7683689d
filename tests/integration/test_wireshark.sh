#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pcapng export and the Wireshark dissector (share/wireshark/sqnup.lua),
# checked with Debian's tshark against the emulator's own trace events:
#  - a 1 MiB upgrade (sqn-update against sqn-sim on a pty): the BLOCK frames
#    tshark decodes are as many as the emulator's stp< BLOCK events, their
#    payload bytes add up to the package size, no CRC verdict is bad, no
#    bad-CRC expert mark;
#  - the same upgrade with one response frame's payload CRC corrupted by a
#    fault: exactly one bad-CRC expert mark, on that frame;
#  - sqn-update's --log converts too (AT lines and notes);
#  - with socat installed, the same upgrade sniffed by `socat -x` between
#    sqn-update and sqn-sim: the dump decodes to the emulator's frames, and
#    with --reads (one packet per read, frames cut across packets) the
#    dissector's reassembly gives the same AT lines and STP frames.
# Skips (77) without tshark or without a pty.
#
# usage: test_wireshark.sh SQN_SIM SQN_UPDATE SQN_DUP REPO_ROOT WORKDIR
set -u
SIM=$1 UPD=$2 DUP=$3 ROOT=$4 WORK=$5
LUA=$ROOT/share/wireshark/sqnup.lua
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
rm -rf "$WORK"
mkdir -p "$WORK"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

ts() { tshark -X lua_script:"$LUA" -r "$@" 2>"$WORK/tshark.err"; }

# run_upgrade NAME PACKAGE [FAULTS]: sqn-update against a fresh sqn-sim,
# with a trace.
run_upgrade() {
  local name=$1 pkg=$2 faults=${3:-}
  local args=(--state "$WORK/$name.json" --time-scale 0 --trace "$WORK/$name.trace")
  [ -n "$faults" ] && args+=(--faults "$faults")
  "$SIM" "${args[@]}" >"$WORK/$name.sim" 2>&1 &
  local pid=$! pty="" i
  for i in $(seq 1 200); do # bounded wait for the "pty:" line (20 s)
    pty=$(sed -n 's/^pty: //p' "$WORK/$name.sim")
    [ -n "$pty" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$pty" ]; then
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    if grep -q openpty "$WORK/$name.sim"; then echo "SKIP: no pty"; exit 77; fi
    fail "$name: sqn-sim did not start: $(cat "$WORK/$name.sim")"
    return 1
  fi
  timeout 120 "$UPD" --port "$pty" --timeout-scale 0.2 --log "$WORK/$name.log" \
    "$pkg" >"$WORK/$name.upd" 2>&1 || fail "$name: sqn-update failed: $(tail -3 "$WORK/$name.upd")"
  kill -TERM $pid; wait $pid 2>/dev/null
  return 0
}

"$DUP" build --size 1048576 -o "$WORK/pkg.dup" >/dev/null || { fail "sqn-dup"; exit 1; }
"$DUP" build --size 300000 -o "$WORK/small.dup" >/dev/null || { fail "sqn-dup"; exit 1; }
size=$(stat -c %s "$WORK/pkg.dup")

# 1. clean upgrade
run_upgrade clean "$WORK/pkg.dup" || exit 1
"$SIM" --decode "$WORK/clean.trace" --pcapng "$WORK/clean.pcapng" >/dev/null \
  || fail "--pcapng of the emulator trace"
# one tshark pass over every STP frame: op, ACK bit, tid, plen, magic,
# both verdicts, and whether it carries a bad-CRC expert mark
ts "$WORK/clean.pcapng" -Y sqn_stp -T fields -E 'aggregator=|' -e sqn_stp.op \
  -e sqn_stp.ack -e sqn_stp.tid -e sqn_stp.plen -e sqn_stp.magic \
  -e sqn_stp.hcrc.status -e sqn_stp.pcrc.status -e sqn_stp.bad_hcrc \
  -e sqn_stp.bad_pcrc >"$WORK/frames.txt" || fail "tshark: $(cat "$WORK/tshark.err")"
want_blocks=$(grep -c '"kind":"stp<","text":"op 3 ' "$WORK/clean.trace")
awk -F'\t' '$1 == 3 && $5 == "0x66617374"' "$WORK/frames.txt" >"$WORK/blocks.txt"
got_blocks=$(wc -l <"$WORK/blocks.txt")
got_bytes=$(awk -F'\t' '{s += $4} END {print s + 0}' "$WORK/blocks.txt")
[ "$got_blocks" -gt 0 ] && [ "$got_blocks" = "$want_blocks" ] \
  || fail "BLOCK frames: tshark $got_blocks, emulator $want_blocks"
[ "$got_bytes" = "$size" ] || fail "BLOCK bytes: tshark $got_bytes, package $size"
n_good=$(awk -F'\t' '$6 == "good" && $7 == "good"' "$WORK/blocks.txt" | wc -l)
[ "$n_good" = "$got_blocks" ] || fail "BLOCK CRC verdicts: $n_good of $got_blocks good"
# every frame: both verdicts good, or an hcrc of 0 ("not computed": real
# modems send 0 in responses); never bad, no bad-CRC mark
want_frames=$(grep -c '"kind":"stp[<>]"' "$WORK/clean.trace")
[ "$(wc -l <"$WORK/frames.txt")" = "$want_frames" ] \
  || fail "STP frames: tshark $(wc -l <"$WORK/frames.txt"), emulator $want_frames"
n_bad=$(awk -F'\t' '$6 == "bad" || $7 == "bad" || $8 != "" || $9 != ""' "$WORK/frames.txt" | wc -l)
[ "$n_bad" = 0 ] || fail "$n_bad frames with a bad CRC verdict or mark in a clean upgrade"
# the ops in order match the emulator's events (op numbers with ACK bits)
sed -n 's/.*"kind":"stp[<>]".*"raw":"\([0-9a-f]*\)".*/\1/p' "$WORK/clean.trace" |
  awk 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++)
         v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
       { op = hex(substr($1, 9, 2)); print op % 64, (op >= 128) ? 1 : 0, hex(substr($1, 17, 8)) }' \
  >"$WORK/ops.want"
awk -F'\t' '{print $1, ($2 == "True" || $2 == "1") ? 1 : 0, $3}' "$WORK/frames.txt" >"$WORK/ops.got"
cmp -s "$WORK/ops.got" "$WORK/ops.want" || fail "STP ops/tids differ from the emulator's events: $(diff "$WORK/ops.want" "$WORK/ops.got" | head -4 | tr '\n' ' ')"

# 2. one corrupted response
cat >"$WORK/corrupt.yaml" <<'EOF'
- name: pcrc-4
  when: stp-frame
  first: 4
  last: 4
  do: corrupt-pcrc
EOF
run_upgrade corrupt "$WORK/small.dup" "$WORK/corrupt.yaml" || exit 1
grep -q '"kind":"fault","text":"pcrc-4' "$WORK/corrupt.trace" || fail "the fault did not fire"
"$SIM" --decode "$WORK/corrupt.trace" --pcapng "$WORK/corrupt.pcapng" >/dev/null \
  || fail "--pcapng of the corrupted trace"
ts "$WORK/corrupt.pcapng" -Y 'sqn_stp.bad_hcrc || sqn_stp.bad_pcrc' -T fields \
  -e frame.number -e sqn_stp.op -e sqn_stp.ack >"$WORK/bad2.txt"
[ "$(wc -l <"$WORK/bad2.txt")" = 1 ] || fail "bad-CRC expert marks: $(wc -l <"$WORK/bad2.txt"), want exactly 1"

# 2b. the other expert marks, on a trace put together from frames the
# emulator sent under faults (corrupt-tid, residue 100): a URC, ERROR to a
# command, a response with the wrong tid, a BLOCK answered with a residue
cat >"$WORK/marks.trace" <<'EOF'
{"t":1,"kind":"at>","text":"+SYSSTART"}
{"t":2,"kind":"at<","text":"AT+SMSWBOOT=3,0","raw":"41542b534d5357424f4f543d332c30"}
{"t":3,"kind":"at>","text":"ERROR"}
{"t":4,"kind":"stp<","text":"op 3 sid 1 tid 3 plen 8176 hcrc ok pcrc ok","raw":"6661737403011ff000000003ea34131c"}
{"t":5,"kind":"stp>","text":"op 0x83 sid 1 tid 2 plen 2","raw":"747361668301000200000002000000000000"}
{"t":6,"kind":"stp<","text":"op 3 sid 1 tid 5 plen 8176 hcrc ok pcrc ok","raw":"6661737403011ff000000005222794ae"}
{"t":7,"kind":"stp>","text":"op 0x83 sid 1 tid 5 plen 2","raw":"74736166830100020000000500002c220064"}
EOF
"$SIM" --decode "$WORK/marks.trace" --pcapng "$WORK/marks.pcapng" >/dev/null || fail "--pcapng of marks.trace"
ts "$WORK/marks.pcapng" -Y _ws.expert -T fields -E 'aggregator=|' -e frame.number \
  -e _ws.expert.message >"$WORK/marks.txt"
printf '3\tERROR answering AT+SMSWBOOT=3,0\n5\ttid 2 answers a request with tid 3\n7\tresidue 100\n' >"$WORK/marks.want"
cmp -s "$WORK/marks.txt" "$WORK/marks.want" || fail "expert marks: $(cat "$WORK/marks.txt" | tr '\n\t' '; ')"
ts "$WORK/marks.pcapng" -Y sqn_at -T fields -e sqn_at.kind >"$WORK/kinds.txt"
printf 'URC\ncommand\nfinal result\n' | cmp -s - "$WORK/kinds.txt" \
  || fail "AT kinds: $(tr '\n' ' ' <"$WORK/kinds.txt")"

# 3. sqn-update --log converts: its AT commands are there
"$SIM" --decode "$WORK/clean.log" --pcapng "$WORK/log.pcapng" >/dev/null \
  || fail "--pcapng of an sqn-update --log"
ts "$WORK/log.pcapng" -Y 'sqn_at.line == "AT+SMSWBOOT=3,1"' -T fields \
  -e sqn_at.kind >"$WORK/log.txt"
grep -qx command "$WORK/log.txt" || fail "AT+SMSWBOOT=3,1 not a command in the --log capture"

# 3b. a socat -x sniff, cut into units by sqn-sim or reassembled by the dissector
if command -v socat >/dev/null; then
  cp /dev/null "$WORK/sniff.dump"
  "$SIM" --state "$WORK/sniff.json" --time-scale 0 --trace "$WORK/sniff.trace" >"$WORK/sniff.sim" 2>&1 &
  spid=$!
  for i in $(seq 1 200); do
    spty=$(sed -n 's/^pty: //p' "$WORK/sniff.sim"); [ -n "$spty" ] && break; sleep 0.1
  done
  socat -x PTY,link="$WORK/sniff",raw,echo=0 "$spty",raw,echo=0,b921600 2>"$WORK/sniff.dump" &
  sopid=$!
  for i in $(seq 1 100); do [ -e "$WORK/sniff" ] && break; sleep 0.1; done
  timeout 120 "$UPD" --port "$WORK/sniff" --timeout-scale 0.2 "$WORK/small.dup" >"$WORK/sniff.upd" 2>&1 \
    || fail "upgrade through socat: $(tail -2 "$WORK/sniff.upd")"
  kill $sopid; wait $sopid 2>/dev/null
  kill -TERM $spid; wait $spid 2>/dev/null
  "$SIM" --decode "$WORK/sniff.dump" --pcapng "$WORK/units.pcapng" >/dev/null || fail "--pcapng of a socat dump"
  "$SIM" --decode "$WORK/sniff.dump" --pcapng "$WORK/reads.pcapng" --reads >/dev/null \
    || fail "--pcapng --reads of a socat dump"
  for v in units reads; do
    ts "$WORK/$v.pcapng" -Y sqn_stp -T fields -E 'aggregator=|' -e sqn_stp.op -e sqn_stp.tid \
      -e sqn_stp.plen -e sqn_stp.hcrc.status -e sqn_stp.pcrc.status >"$WORK/$v.stp"
    ts "$WORK/$v.pcapng" -Y sqn_at -T fields -E 'aggregator=|' -e sqn_at.line | tr '|' '\n' >"$WORK/$v.at"
  done
  want=$(grep -c '"kind":"stp[<>]"' "$WORK/sniff.trace")
  got=$(tr '|' '\n' <"$WORK/units.stp" | grep -c .)
  [ "$got" = "$want" ] || fail "socat dump: $got STP frames, the emulator traced $want"
  cmp -s "$WORK/units.stp" "$WORK/reads.stp" || fail "reassembled STP frames differ from the cut ones"
  cmp -s "$WORK/units.at" "$WORK/reads.at" || fail "reassembled AT lines differ from the cut ones"
  [ "$(ts "$WORK/reads.pcapng" -Y 'sqnlink.proto == 3' -T fields -e frame.number | wc -l)" -gt 0 ] \
    || fail "--reads wrote no stream packets"
  if grep -q bad "$WORK/units.stp"; then fail "a bad CRC verdict in the socat dump"; fi
else
  echo "note: socat not installed, sniffer part skipped"
fi

# 4. bad input: a clear error naming file and line, nothing written
printf '{"t":1,"kind":"at<","text":"AT"}\n{"t":2,"kind":\n' >"$WORK/bad.trace"
"$SIM" --decode "$WORK/bad.trace" --pcapng "$WORK/bad.pcapng" 2>"$WORK/bad.err"
rc=$?
[ $rc = 3 ] || fail "bad trace: exit $rc, want 3"
grep -q "bad.trace:2:" "$WORK/bad.err" || fail "bad trace: error does not name line 2: $(cat "$WORK/bad.err")"
[ ! -e "$WORK/bad.pcapng" ] || fail "bad trace: a pcapng was written"

if [ $fails -ne 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "ok: $got_blocks BLOCK frames, $got_bytes bytes, 1 bad-CRC mark with one corrupted frame"
