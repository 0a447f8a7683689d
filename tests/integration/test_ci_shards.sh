#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A campaign split into three shards by the environment (as a GitHub matrix
# with SQN_SHARD_INDEX/SQN_SHARD_TOTAL would), each writing its JUnit file,
# then `sqn-scenario merge`: all shards give one report with every run; a
# missing shard makes merge exit 1 and name it; the same shard twice exit 2.
# Usage: test_ci_shards.sh SQN_SCENARIO FIXTURES
set -eu
scn=$1 fixtures=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for k in 1 2 3; do
  SQN_SHARD_INDEX=$k SQN_SHARD_TOTAL=3 "$scn" campaign --fixtures "$fixtures" \
    --seed 5 --runs 9 --package-size 65536 --junit "$work/c-$k.xml" \
    > "$work/out-$k" 2> "$work/err-$k"
  grep -q "shard $k/3 from SQN_SHARD_INDEX/SQN_SHARD_TOTAL" "$work/err-$k"
  grep -q "shard $k/3: 3 runs" "$work/out-$k"
done
"$scn" merge -o "$work/all.xml" "$work"/c-*.xml 2> "$work/merge.err"
cat "$work/merge.err"
grep -q '<testsuites tests="9" failures="0"' "$work/all.xml"
test "$(grep -c '<testcase' "$work/all.xml")" -eq 9
grep -q "0 shards missing" "$work/merge.err"

rc=0
"$scn" merge -o "$work/part.xml" "$work/c-1.xml" "$work/c-3.xml" \
  2> "$work/part.err" || rc=$?
cat "$work/part.err"
test "$rc" -eq 1
grep -q "missing: campaign seed 5 shard 2/3" "$work/part.err"

rc=0
"$scn" merge -o "$work/dup.xml" "$work/c-1.xml" "$work/c-1.xml" \
  2> "$work/dup.err" || rc=$?
cat "$work/dup.err"
test "$rc" -eq 2
test ! -e "$work/dup.xml"
test ! -e "$work/dup.xml.tmp"

# A wrong environment is a usage error naming the variable.
rc=0
CI_NODE_INDEX=4 CI_NODE_TOTAL=3 "$scn" campaign --fixtures "$fixtures" \
  --runs 3 2> "$work/bad.err" > /dev/null || rc=$?
cat "$work/bad.err"
test "$rc" -eq 2
grep -q "CI_NODE_INDEX=4" "$work/bad.err"
echo "shards and merge: ok"
