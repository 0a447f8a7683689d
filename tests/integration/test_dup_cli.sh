#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CLI test of sqn-dup: build -> info, sizes, families, errors, exit codes,
# atomic output, and byte-for-byte reproduction of fixtures/packages and
# fixtures/elf from the commands in their READMEs.
#
# usage: test_dup_cli.sh SQN_DUP REPO_ROOT WORKDIR
set -u
DUP=$1
ROOT=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
fails=0
n=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# expect CODE DESCRIPTION -- command...   (stdout/stderr kept in $WORK/out, err)
expect() {
  local want=$1 what=$2
  shift 3
  n=$((n + 1))
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit $got, want $want: $*"
    sed 's/^/  stderr: /' "$WORK/err" | head -5 >&2
  fi
}

# grep_in FILE PATTERN DESCRIPTION
grep_in() {
  if ! grep -q -- "$2" "$1"; then
    fail "$3: '$2' not in $(basename "$1"):"
    head -5 "$1" | sed 's/^/  /' >&2
  fi
}

size_of() { wc -c <"$1" | tr -d ' '; }

# ---- help and usage errors ----
expect 0 "top help" -- "$DUP" --help
grep_in "$WORK/out" "build-elf" "top help lists commands"
expect 2 "no command" -- "$DUP"
expect 2 "unknown command" -- "$DUP" frobnicate
grep_in "$WORK/err" "unknown command 'frobnicate'" "unknown command named"
for c in build build-elf info; do
  expect 0 "$c --help" -- "$DUP" $c --help
  grep_in "$WORK/out" "usage: sqn-dup $c" "$c help"
done
expect 2 "unknown option" -- "$DUP" build --frob -o "$WORK/x.dup"
grep_in "$WORK/err" "unknown option '--frob'" "unknown option named"
expect 2 "bad version text" -- "$DUP" build --version 5.1.x.0 --build 1 -o "$WORK/x.dup"
grep_in "$WORK/err" "bad version '5.1.x.0'" "bad version named"
expect 2 "version with 3 parts" -- "$DUP" build --version 5.1.1 --build 1 -o "$WORK/x.dup"
expect 2 "version without build" -- "$DUP" build --version 5.1.1.0 -o "$WORK/x.dup"
expect 2 "unknown family version" -- "$DUP" build --version 7.0.0.0 --build 1 -o "$WORK/x.dup"
expect 2 "family mismatch" -- "$DUP" build --family lr6 --version 5.1.1.0 --build 1 -o "$WORK/x.dup"
grep_in "$WORK/err" "does not agree" "family mismatch explained"
expect 2 "bad family" -- "$DUP" build --family lr9 -o "$WORK/x.dup"
expect 2 "missing -o" -- "$DUP" build
grep_in "$WORK/err" "missing -o FILE" "missing -o named"
expect 2 "option without value" -- "$DUP" build -o
expect 2 "bad size" -- "$DUP" build --size 12k -o "$WORK/x.dup"
expect 2 "size too small" -- "$DUP" build --size 1000 -o "$WORK/x.dup"
grep_in "$WORK/err" "minimum for these options is 2166 bytes" "minimum size stated"
expect 2 "bad records" -- "$DUP" build --records boot,kernel -o "$WORK/x.dup"
expect 2 "info without file" -- "$DUP" info
expect 2 "info two files" -- "$DUP" info a b
[ -e "$WORK/x.dup" ] && fail "a usage error left $WORK/x.dup behind"

# ---- I/O errors ----
expect 3 "unwritable output" -- "$DUP" build -o "$WORK/no/such/dir/x.dup"
grep_in "$WORK/err" "no/such/dir/x.dup" "unwritable output named"
expect 3 "missing file" -- "$DUP" info "$WORK/missing.dup"
grep_in "$WORK/err" "missing.dup" "missing file named"

# ---- build -> info, every family, PACK and bare, natural and exact size ----
for fam in lr5 lr6 lr8; do
  for pack in "" --no-pack; do
    for size in "" 5665583; do
      f="$WORK/$fam${pack:+-nopack}${size:+-$size}.dup"
      expect 0 "build $fam $pack $size" -- "$DUP" build --family $fam $pack ${size:+--size $size} -o "$f"
      [ -n "$size" ] && [ "$(size_of "$f")" != "$size" ] && fail "$f: size $(size_of "$f"), want $size"
      expect 0 "info $f" -- "$DUP" info "$f"
      case $fam in
        lr5) v=LR5.1.1.0-38638 ;;
        lr6) v=LR6.0.0.0-41019 ;;
        lr8) v=LR8.2.1.0-61488 ;;
      esac
      grep_in "$WORK/out" "summary: family ${fam^^}.*fff $v" "summary of $f"
      grep_in "$WORK/out" "fff upgrade package.*target fff image $v fff-payload" "fff line of $f"
      if [ -z "$pack" ]; then
        grep_in "$WORK/out" '^  PACK v3 @0 (0x0)' "PACK first in $f"
      else
        grep -q PACK "$WORK/out" && fail "--no-pack output $f has a PACK"
      fi
    done
  done
done
expect 0 "explicit version" -- "$DUP" build --version 5.2.0.0 --build 48829 --family LR5 -o "$WORK/new.dup"
expect 0 "info explicit version" -- "$DUP" info "$WORK/new.dup"
grep_in "$WORK/out" "fff LR5.2.0.0-48829" "explicit version shown"
expect 0 "records subset" -- "$DUP" build --records updater,fff -o "$WORK/sub.dup"
expect 0 "info subset" -- "$DUP" info "$WORK/sub.dup"
grep_in "$WORK/out" "3 records" "subset record count"

# ---- JSON ----
expect 0 "info --json" -- "$DUP" info --json "$WORK/lr5.dup"
grep_in "$WORK/out" '"valid": true' "json valid"
grep_in "$WORK/out" '"fff_version": "LR5.1.1.0-38638"' "json version"

# ---- defects ----
f="$WORK/lr5.dup"
len=$(size_of "$f")
head -c $((len - 100)) "$f" >"$WORK/trunc.dup"
expect 1 "truncated" -- "$DUP" info "$WORK/trunc.dup"
grep_in "$WORK/err" "trunc.dup: record UPGR at byte 1733 (0x6c5): stream ends inside a record (detected at byte $((len - 100)))" "truncation named"
expect 1 "truncated json" -- "$DUP" info --json "$WORK/trunc.dup"
grep_in "$WORK/out" '"code": "TRUNCATED"' "json error code"
# Flip one byte inside the fff record's data (the ELF .rodata).
cp "$f" "$WORK/flip.dup"
printf '\xff' | dd of="$WORK/flip.dup" bs=1 seek=1300 conv=notrunc status=none
expect 1 "flipped byte" -- "$DUP" info "$WORK/flip.dup"
grep_in "$WORK/err" "flip.dup: record UPGR at byte 1167 (0x48f): " "flipped record named"
# Flip a byte inside the bootrom record's data: its signature mismatches,
# and the record line says so (not "incomplete").
cp "$f" "$WORK/badsig.dup"
printf '\xff' | dd of="$WORK/badsig.dup" bs=1 seek=300 conv=notrunc status=none
expect 1 "signature mismatch" -- "$DUP" info "$WORK/badsig.dup"
grep_in "$WORK/err" "record UPGR at byte 35 (0x23): signature mismatch" "bad signature named"
grep_in "$WORK/out" "UPGR v3 @35 (0x23) .* sig fletcher32 mismatch" "record line says mismatch"
if grep -q "@35 (0x23).*incomplete" "$WORK/out"; then
  fail "mismatching record still marked incomplete"
fi
expect 1 "signature mismatch json" -- "$DUP" info --json "$WORK/badsig.dup"
grep_in "$WORK/out" '"sig": "mismatch"' "json record says mismatch"
: >"$WORK/empty.dup"
expect 1 "empty file" -- "$DUP" info "$WORK/empty.dup"

# ---- atomic output: a failed build leaves nothing behind ----
mkdir -p "$WORK/ro"
cp "$f" "$WORK/ro/keep.dup"
if [ "$(id -u)" != 0 ]; then
  chmod 555 "$WORK/ro"
  expect 3 "read-only dir" -- "$DUP" build -o "$WORK/ro/keep.dup"
  chmod 755 "$WORK/ro"
  cmp -s "$f" "$WORK/ro/keep.dup" || fail "failed build changed the existing file"
fi
ls "$WORK" | grep -q '\.tmp\.' && fail "temporary files left behind: $(ls "$WORK" | grep '\.tmp\.')"

# ---- ELF ----
expect 0 "build-elf" -- "$DUP" build-elf -o "$WORK/u.elf"
[ "$(head -c 4 "$WORK/u.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || fail "ELF magic"
[ "$(size_of "$WORK/u.elf")" = 476 ] || fail "ELF size $(size_of "$WORK/u.elf")"
grep -q -a "updater 5.1.1.0 \[38638\]" "$WORK/u.elf" || fail "ELF version text"
expect 0 "build-elf sized" -- "$DUP" build-elf --family lr8 --size 4096 -o "$WORK/u8.elf"
[ "$(size_of "$WORK/u8.elf")" = 4096 ] || fail "sized ELF"
expect 2 "build-elf too small" -- "$DUP" build-elf --size 100 -o "$WORK/u.elf"
grep_in "$WORK/err" "minimum of 476" "ELF minimum stated"

# ---- two-part packages (F20) ----
expect 0 "part 1" -- "$DUP" build --version 5.1.1.0 --build 39529 --part 1/2 -o "$WORK/p1.dup"
expect 0 "part 1 info" -- "$DUP" info "$WORK/p1.dup"
grep_in "$WORK/out" "fff upgrade package part 1/2" "part 1 tag shown"
expect 0 "part 2" -- "$DUP" build --version 5.2.0.0 --build 48829 --part 2/2 --part-base 5.1.1.0-39529 -o "$WORK/p2.dup"
expect 0 "part 2 info" -- "$DUP" info "$WORK/p2.dup"
grep_in "$WORK/out" "part 2/2 from 5.1.1.0 \[39529\]" "part 2 tag shown"
expect 2 "part 2 without base" -- "$DUP" build --part 2/2 -o "$WORK/x.dup"
grep_in "$WORK/err" "needs --part-base" "missing base named"
expect 2 "bad part" -- "$DUP" build --part 3/2 -o "$WORK/x.dup"
expect 2 "base without part 2" -- "$DUP" build --part 1/2 --part-base 5.1.1.0-1 -o "$WORK/x.dup"
expect 2 "part without fff" -- "$DUP" build --part 1/2 --records boot -o "$WORK/x.dup"
[ -e "$WORK/x.dup" ] && fail "a part usage error left $WORK/x.dup behind"

# ---- fixtures reproduce byte for byte from their READMEs ----
for dir in packages elf; do
  readme="$ROOT/fixtures/$dir/README.md"
  if [ ! -f "$readme" ]; then
    fail "missing $readme"
    continue
  fi
  count=0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    out=$(sed -n 's/.*-o \(fixtures\/[^ ]*\).*/\1/p' <<<"$line")
    [ -n "$out" ] || { fail "no -o fixtures/... in: $line"; continue; }
    mkdir -p "$WORK/$(dirname "$out")"
    # shellcheck disable=SC2086
    set -- ${line#sqn-dup }
    args=()
    for a in "$@"; do
      [ "$a" = "$out" ] && a="$WORK/$out"
      args+=("$a")
    done
    expect 0 "fixture command: $line" -- "$DUP" "${args[@]}"
    cmp -s "$WORK/$out" "$ROOT/$out" || fail "$out does not reproduce from: $line"
    count=$((count + 1))
  done < <(grep -E '^sqn-dup build(-elf)? ' "$readme")
  [ "$count" -gt 0 ] || fail "$readme lists no sqn-dup commands"
  for fx in "$ROOT/fixtures/$dir"/*.dup; do
    [ -e "$fx" ] || continue
    expect 0 "fixture valid: $fx" -- "$DUP" info "$fx"
  done
done

# Issue 14: `info` ends at once on endless or huge input (each used to read
# forever or for over a minute), and stops at the first defect.
for endless in /dev/zero /dev/urandom; do
  expect 3 "info on $endless" -- timeout 10 "$DUP" info "$endless"
  grep_in "$WORK/err" "not a regular file" "info on $endless refused"
done
mkfifo "$WORK/fifo"
expect 3 "info on a FIFO" -- timeout 10 "$DUP" info "$WORK/fifo"
grep_in "$WORK/err" "not a regular file" "info on a FIFO refused"
rm -f "$WORK/fifo"
: >"$WORK/sparse.dup"
truncate -s 20G "$WORK/sparse.dup"
expect 1 "info on a 20 GB sparse file" -- timeout 10 "$DUP" info "$WORK/sparse.dup"
grep_in "$WORK/err" "larger than any plausible package" "20 GB file refused"
rm -f "$WORK/sparse.dup"

echo "test_dup_cli: $n checks, $fails failures"
[ "$fails" = 0 ]
