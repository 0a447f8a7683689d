/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A real `sqn-sim` process for `sqn-scenario run --pty`: the modem's flash
 * goes to a state file, the run's faults to a YAML faults file, and the
 * emulator's trace (JSON lines) is read back incrementally so the scenario
 * is narrated and checked from it.
 *
 * Objects: harness_simproc_start() / harness_simproc_stop() (which also
 * releases everything start acquired). Every wait is bounded.
 */
#ifndef HARNESS_SIMPROC_H
#define HARNESS_SIMPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim/fault.h"
#include "sim/modem.h"

struct harness_simproc {
  pid_t pid;          /* 0: not running */
  char pty[128];      /* the slave path from "pty: /dev/pts/N" */
  char state_path[512];
  char faults_path[512];
  char trace_path[512];
  char err_path[512]; /* sqn-sim's stderr */
  double scale;       /* --time-scale: wall seconds per modem second */
  double wall0;       /* monotonic seconds when it was started */
  uint64_t v0_us;     /* harness virtual time at wall0 */
  int trace_fd;       /* -1 until the trace file is open */
  char *tbuf;         /* partial trace line */
  size_t tlen, tcap;
  unsigned starts;    /* how many times sqn-sim was started */
  int exit_status;    /* of the last stop: exit code, or -1 */
};

/* Monotonic wall seconds. */
double harness_wall_now(void);

/* Write faults as a YAML list sqn-sim --faults loads (sim/fault.h).
 * 0, or -1 with errno. */
int harness_faults_write_yaml(const char *path, const struct sim_fault *f,
                              size_t n);

/*
 * Start `sim_bin` on the state file `dir`/state.json (which must exist),
 * with `faults` (may be 0), time scale `scale`, tracing to
 * `dir`/trace-<k>.jsonl. Waits (bounded, 10 s wall) for the "pty:" line.
 * `v0_us` is the harness's virtual time now. 0, or -1 with `err`.
 */
int harness_simproc_start(struct harness_simproc *p, const char *sim_bin,
                          const char *dir, const char *profile, double scale,
                          const struct sim_fault *faults, size_t nfaults,
                          uint64_t v0_us, char *err, size_t errcap);

/* Virtual time (harness clock) that corresponds to the wall clock now. */
uint64_t harness_simproc_vnow(const struct harness_simproc *p);

/*
 * Read the trace lines written since the last call and pass each event to
 * `fn`, its time converted to harness virtual time. Returns the number of
 * events, or -1 on a malformed line (reported in `err`).
 */
int harness_simproc_poll_trace(struct harness_simproc *p,
                               void (*fn)(void *ctx,
                                          const struct sim_trace_event *ev),
                               void *ctx, char *err, size_t errcap);

/* SIGTERM, wait (at most 5 s wall), SIGKILL if needed; reads the rest of
 * the trace through `fn` (may be NULL). Idempotent. 0 if it exited 0. */
int harness_simproc_stop(struct harness_simproc *p,
                         void (*fn)(void *ctx,
                                    const struct sim_trace_event *ev),
                         void *ctx);

/* Last lines of sqn-sim's stderr, for failure reasons ("" if none). */
void harness_simproc_stderr(const struct harness_simproc *p, char *out,
                            size_t cap);

#endif /* HARNESS_SIMPROC_H */
