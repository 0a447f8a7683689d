#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Golden transcripts: a scenario with a golden file passes while its
# exchange matches, fails (naming the first differing line) when it does
# not, and --update-golden rewrites the file. Every golden file in
# fixtures/scenarios/golden belongs to a scenario.
#
# usage: test_golden.sh SQN_SCENARIO REPO_ROOT WORKDIR
set -u
SCN=$1 ROOT=$2 WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK/golden"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
F="$ROOT/fixtures"
cp "$F/scenarios/s00-healthy-upgrade.yaml" "$WORK/"
cp "$F/scenarios/golden/s00-healthy-upgrade.txt" "$WORK/golden/" || fail "no golden file for s00"
"$SCN" run --fixtures "$F" "$WORK/s00-healthy-upgrade.yaml" >"$WORK/1.out" 2>&1 \
  || fail "matching golden: $(head -3 "$WORK/1.out")"
sed -i 's/^at> AT+SMSWBOOT=3,1$/at> AT+SMSWBOOT=3,0/' "$WORK/golden/s00-healthy-upgrade.txt"
"$SCN" run --fixtures "$F" "$WORK/s00-healthy-upgrade.yaml" >"$WORK/2.out" 2>&1
[ $? = 1 ] || fail "a changed exchange passed"
grep -q 'differs from .*golden/s00-healthy-upgrade.txt at line [0-9]*: want "at> AT+SMSWBOOT=3,0", got "at> AT+SMSWBOOT=3,1"' "$WORK/2.out" \
  || fail "the failure does not name the line: $(grep reason "$WORK/2.out")"
"$SCN" run --update-golden --fixtures "$F" "$WORK/s00-healthy-upgrade.yaml" >"$WORK/3.out" 2>&1 \
  || fail "--update-golden: $(head -3 "$WORK/3.out")"
cmp -s "$WORK/golden/s00-healthy-upgrade.txt" "$F/scenarios/golden/s00-healthy-upgrade.txt" \
  || fail "--update-golden did not restore the golden file"
for g in "$F"/scenarios/golden/*.txt; do
  n=$(basename "$g" .txt)
  [ -e "$F/scenarios/$n.yaml" ] || fail "golden/$n.txt has no scenario"
done
[ $fails = 0 ] || exit 1
echo ok
