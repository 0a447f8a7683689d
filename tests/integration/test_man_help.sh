#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages (man/*.scd) and the tools' --help must not drift apart:
# every option a tool's --help (or a subcommand's --help) mentions appears
# in its man page, and every option the man page describes (an entry line
# starting with *-) is one --help knows.
# Usage: test_man_help.sh MANDIR TOOL=PATH...
set -u
mandir=$1
shift
fail=0
opts() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
for arg in "$@"; do
  tool=${arg%%=*} bin=${arg#*=}
  page=$mandir/$tool.1.scd
  if [ ! -f "$page" ]; then
    echo "FAIL $tool: no man page $page"; fail=1; continue
  fi
  subs=
  case $tool in
  sqn-scenario) subs="run check sweep campaign merge import diff" ;;
  sqn-dup) subs="build build-elf info" ;;
  esac
  help=$("$bin" --help; for s in $subs; do "$bin" $s --help; done)
  [ -n "$help" ] || { echo "FAIL $tool: empty --help"; fail=1; continue; }
  h=$(printf '%s\n' "$help" | opts)
  m=$(opts < "$page")
  defined=$(grep -- '^\*-' "$page" | opts)
  for o in $h; do
    printf '%s\n' "$m" | grep -qx -- "$o" ||
      { echo "FAIL $tool: $o is in --help but not in $page"; fail=1; }
  done
  for o in $defined; do
    printf '%s\n' "$h" | grep -qx -- "$o" ||
      { echo "FAIL $tool: $page describes $o, --help does not know it"; fail=1; }
  done
  echo "$tool: $(printf '%s\n' "$h" | wc -l) options in --help, $(printf '%s\n' "$defined" | wc -l) described in the man page"
done
exit $fail
