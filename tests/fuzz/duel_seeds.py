#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Seed the duel corpora (fixtures/corpus/{updater_duel,sim_deep}) from the
scenario library: each fixtures/scenarios/*.yaml becomes one duel program
with the scenario's starting state (setup byte) and its faults mapped onto
the duel's fault table (tests/fuzz/fuzz_duel.h, duel_fault), followed by
the faithful line. Run from the repository root; rewrites seed-* files."""
import glob, os, re, sys

# (when, do, match-substring) -> duel fault table index
TABLE = [
    ("at", "error", "SMSWBOOT=3"), ("at", "error", "SMSWBOOT=1"),
    ("at", "delay", "SMOD"), ("at", "split", "SMOD"),
    ("at", "no-reply", "ATI1"), ("at", "nul", ""), ("at", "error", "SMSTPU"),
    ("at", "delay", "SMUPGRADE"), ("stp", "corrupt-pcrc", ""),
    ("stp", "drop", ""), ("stp", "delay", ""), ("stp", "residue", ""),
    ("stp", "nack", ""), ("stp", "corrupt-tid", ""),
    ("stp-percent", "power-cut", ""), ("stp-percent", "crash", ""),
    ("mode", "silent", ""), ("mode", "quiet-boot", ""),
    ("mode", "echo-on", ""), ("elapsed", "reboot", ""),
    ("at", "fail-upgrade", ""), ("at", "urc", ""),
    ("power-on", "data-mode", ""), ("at", "no-reply", "RESET"),
]
STATES = {"healthy": 0, "interrupted-upgrade": 1, "gm02s-recovery": 3,
          "factory-33080": 0, "ffh-only": 1}

def field(block, key):
    m = re.search(r'\b%s:\s*"?([^",}\n]+)' % key, block)
    return m.group(1).strip() if m else ""

def main():
    root = os.getcwd()
    for target in ("updater_duel", "sim_deep"):
        out = os.path.join(root, "fixtures/corpus", target)
        os.makedirs(out, exist_ok=True)
        for old in glob.glob(os.path.join(out, "seed-scn-*")):
            os.remove(old)
        for path in sorted(glob.glob(os.path.join(root, "fixtures/scenarios/*.yaml"))):
            text = open(path).read()
            name = os.path.basename(path)[:-5]
            setup = STATES.get(field(text, "state"), 0)
            if "state_set" in text and "recovery" in text:
                setup = 1
            prog = bytearray([setup])
            for block in re.split(r"\n\s*- ", text.split("faults:", 1)[-1])[1:] if "faults:" in text else []:
                when, do, match = field(block, "when"), field(block, "do"), field(block, "match")
                kind = "stp" if when.startswith("stp") and when != "stp-percent" else when
                for i, (w, d, mm) in enumerate(TABLE):
                    if w == kind and d == do and mm in match:
                        prog.append(7 | (i << 3))
                        break
            # a few steps of normal traffic before the faithful tail
            prog += bytes([0, 1, 2, 0, 1, 2])
            open(os.path.join(out, "seed-scn-" + name), "wb").write(prog)

if __name__ == "__main__":
    sys.exit(main())
