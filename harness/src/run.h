/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running one scenario: set up the modem model from the scenario's flash,
 * run each of its runs (in-process updater on the virtual clock, a process
 * on a pty whose master this harness drives with the in-process model, or
 * with --pty real sqn-sim and sqn-update processes), check the
 * expectations, the invariants and the post-conditions, and keep the
 * narrated transcript.
 */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "golden.h"
#include "narrate.h"
#include "scenario.h"

struct harness_opts {
  const char *fixtures; /* fixtures directory ({fixtures}, named states) */
  const char *bin_dir;  /* where sqn-sim / sqn-update / sqn-chat live; NULL:
                           next to the build tree, then PATH */
  const char *self;     /* argv[0] of sqn-scenario, to find the build tree */
  bool pty;             /* every run as a process over a pty */
  bool pty_model;       /* ... driven by the in-process model (--pty=model)
                           instead of a real sqn-sim process (--pty) */
  double wall_scale;    /* wall seconds per virtual second in pty runs */
};

enum harness_status { HARNESS_PASS, HARNESS_FAIL, HARNESS_SKIP };

const char *harness_status_name(enum harness_status s);

struct harness_result {
  enum harness_status status;
  double virtual_s; /* virtual time the scenario took */
  char reason[1024]; /* why it failed / was skipped */
  struct harness_narrator narr;
  struct harness_golden golden; /* the exchange, for golden transcripts */
};

/* Run `s`; the result's narrator must be freed with harness_result_free().
 * Returns 0 (the result says PASS/FAIL/SKIP) or -1 on a harness error
 * (also reported as FAIL with a reason). */
int harness_run_scenario(const struct harness_scenario *s,
                         const struct harness_opts *o,
                         struct harness_result *r);
void harness_result_free(struct harness_result *r);

/* Find a tool binary: bin_dir, the build tree next to `self`, then PATH.
 * Writes the path (or the bare name for a PATH lookup) to out. */
void harness_find_tool(const struct harness_opts *o, const char *name,
                       char *out, size_t cap);

#endif /* HARNESS_RUN_H */
