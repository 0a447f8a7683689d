#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every source file of the project (C, headers, CMake, shell, Lua, Python,
# linker scripts) carries an SPDX licence line near its top.
# Usage: test_spdx.sh SOURCE_DIR
set -eu
top=${1:?usage: test_spdx.sh SOURCE_DIR}
cd "$top"
missing=0
for f in $(find core sim harness tests examples cmake share completions .ci \
                CMakeLists.txt -type f \
             \( -name '*.c' -o -name '*.h' -o -name '*.cmake' -o \
                -name 'CMakeLists.txt' -o -name '*.sh' -o -name '*.lua' -o \
                -name '*.py' -o -name '*.ld' -o -name '*.in' -o \
                -name '*.bash' -o -path '.ci/*' \) 2>/dev/null | sort); do
  if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
    echo "no SPDX line in the first 3 lines: $f" >&2
    missing=$((missing + 1))
  fi
done
if [ "$missing" -ne 0 ]; then
  echo "$missing file(s) without an SPDX line" >&2
  exit 1
fi
echo "ok: every source file has an SPDX line"
