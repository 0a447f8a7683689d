/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The post-conditions of faults.md section 2 that every scenario checks,
 * read from the emulator's trace alone (so they hold the same way for the
 * in-process model, a harness-driven pty and a real sqn-sim process):
 *
 *   - no `AT+SMSWBOOT=1,x` before the modem reported upgrade success in
 *     this run (an UPGRADE "verdict: success" event or a
 *     "+SMUPGRADE: success" reply), unless the scenario starts from success;
 *   - no `AT+STP` unless the modem is in FFH (SMOD 0);
 *   - no STP bytes after a refused `AT+SMSTPU` / `AT+STP` (until a later
 *     start command is accepted).
 *
 * The tracker is a value (no allocation): harness_post_init() once per
 * scenario, harness_post_run() at the start of each run, then every trace
 * event through harness_post_event(). The first violation is kept.
 */
#ifndef HARNESS_POST_H
#define HARNESS_POST_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/modem.h"

struct harness_post {
  int smod;             /* SMOD as the trace last said; -1 booting / off */
  bool start_success;   /* the scenario starts with upgrade status success */
  bool success_seen;    /* the modem reported success in this run */
  bool stp_cmd_pending; /* an STP start command awaits its final result */
  bool stp_refused;     /* the last STP start command was refused */
  char stp_cmd[48];     /* ... which one */
  unsigned run;         /* 1-based run number, for messages */
  char violation[400];  /* first violation, "" if none */
  uint64_t violation_t_us;
};

void harness_post_init(struct harness_post *p, bool start_success);
/* A new run starts (run numbers from 1; 0 = the harness's own rerun). */
void harness_post_run(struct harness_post *p, unsigned run);
/* A new modem life (sqn-sim restarted / model re-created): mode unknown. */
void harness_post_power(struct harness_post *p);
void harness_post_event(struct harness_post *p,
                        const struct sim_trace_event *ev);

/*
 * The updater's final report, as sqn-update gave it: the DONE event (error
 * name, or success) and the last `version=` INFO (the modem it verified).
 * Fed from in-process events, or from a `sqn-update --log FILE` afterwards.
 */
struct harness_report {
  bool done;          /* a DONE event was seen */
  int err;            /* 0, or the SQN_E_* named by the DONE text */
  char err_name[48];  /* "E_..." ("" for success) */
  char text[320];     /* the DONE text */
  char version[48];   /* last "version=" INFO value, "" if none */
};

void harness_report_reset(struct harness_report *r);
/* One event: kind "DONE" or "INFO" (sqn_update_event_name), its text. */
void harness_report_event(struct harness_report *r, const char *kind,
                          const char *text);
/* Read a sqn-update --log file; 0, or -1 when it cannot be opened. */
int harness_report_load_log(struct harness_report *r, const char *path);
/* SQN_E_* value of "E_NAME", or 1 when unknown. */
int harness_err_by_name(const char *name);

#endif /* HARNESS_POST_H */
