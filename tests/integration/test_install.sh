#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` into a temporary prefix, then, from outside the source
# and build trees: the installed sqn-scenario runs an installed scenario with
# its data found in <prefix>/share/sqnup, every tool answers --version, and
# the downstream project tests/consumer builds against the installed
# libsqnup (find_package and pkg-config) and passes its own ctest.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
cd "$work"
unset SQNUP_DATADIR
for t in sqn-sim sqn-update sqn-dup sqn-scenario sqn-chat; do
  "$prefix/bin/$t" --version | grep -q "^$t [0-9]"
done
"$prefix/bin/sqn-scenario" run "$prefix/share/sqnup/scenarios/s00-healthy-upgrade.yaml"
"$prefix/bin/sqn-scenario" sweep --stride 50 --package size=65536 | tail -1
test -f "$prefix/share/man/man1/sqn-update.1.gz" || test -z "$(command -v scdoc)"
cmake -S "$src/tests/consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" > "$work/consumer.log"
cmake --build "$work/consumer" >> "$work/consumer.log"
ctest --test-dir "$work/consumer" --output-on-failure
