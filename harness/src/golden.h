/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Golden transcripts: the exchange of a scenario (AT lines and STP frames
 * the emulator saw and sent, in order, without times), kept next to the
 * scenario as golden/<file>.txt. `sqn-scenario run` compares a scenario's
 * exchange with its golden file when there is one; --update-golden writes
 * it. Runs of the data phase (BLOCK_CMD, BLOCK and their ACKs, all with good
 * CRCs) are collapsed into one line, so a 5 MB upgrade is a few lines.
 */
#ifndef HARNESS_GOLDEN_H
#define HARNESS_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/modem.h"

struct harness_golden {
  char *text; /* NUL-terminated; NULL until the first line */
  size_t len, cap;
  /* the collapsed data run */
  uint32_t run_cmds, run_blocks, run_acks;
  uint64_t run_bytes;
  bool oom;
};

/* One model trace event (the harness's trace sink calls this). */
void harness_golden_event(struct harness_golden *g,
                          const struct sim_trace_event *ev);
/* Finish the pending data run. */
void harness_golden_end(struct harness_golden *g);
void harness_golden_free(struct harness_golden *g);

struct harness_scenario;
/* Only scenarios whose every run is an in-process sqn-update have golden
 * transcripts: a process on a pty runs on the wall clock, and a host that
 * polls (the Pycom scripts) sends as many AT lines as its timing allows. */
bool harness_golden_applies(const struct harness_scenario *s);

/* "DIR/golden/NAME.txt" for the scenario file DIR/NAME.yaml. */
void harness_golden_path(const char *scenario_path, char *out, size_t cap);

enum harness_golden_verdict {
  HARNESS_GOLDEN_NONE,    /* no golden file: nothing to compare */
  HARNESS_GOLDEN_SAME,
  HARNESS_GOLDEN_DIFFERS, /* msg says where */
  HARNESS_GOLDEN_WRITTEN, /* --update-golden */
  HARNESS_GOLDEN_ERROR    /* cannot read or write it (msg) */
};

enum harness_golden_verdict harness_golden_check(const char *scenario_path,
                                                 struct harness_golden *g,
                                                 bool update, char *msg,
                                                 size_t cap);

#endif /* HARNESS_GOLDEN_H */
