/*
 * The narrated transcript of a scenario run: short timestamped lines a
 * newcomer can read ("Host → AT+SMSWBOOT=3,0", "Modem → ERROR", "The modem
 * boots into RECOVERY because ..."). Runs of STP data frames are collapsed
 * into one line ("BLOCK_CMD/BLOCK × 2808 (5665583 bytes)") so a 5 MB push
 * stays readable.
 *
 * A narrator allocates; harness_narrator_init() / harness_narrator_free().
 */
#ifndef HARNESS_NARRATE_H
#define HARNESS_NARRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/modem.h"
#include "sqnup/update.h"

struct harness_narrator {
  char *text; /* the whole transcript, NUL-terminated */
  size_t len, cap;
  char host[64]; /* how the host is named: "sqn-update", "Pycom 2018 ..." */
  /* collapsed STP data run */
  uint64_t run_t_us;
  uint32_t run_cmds, run_blocks, run_acks, run_bad;
  uint64_t run_bytes;
  /* counters the invariants use */
  uint32_t stp_frames_rx; /* STP request frames the modem decoded */
  uint32_t faults_fired;
  bool oom;
};

void harness_narrator_init(struct harness_narrator *n);
void harness_narrator_free(struct harness_narrator *n);
void harness_narrator_set_host(struct harness_narrator *n, const char *host);

/* A free-form line at virtual time t_us ("%s" style). */
void harness_narrate(struct harness_narrator *n, uint64_t t_us,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sinks for the two sides. */
void harness_narrate_sim(struct harness_narrator *n,
                         const struct sim_trace_event *ev);
void harness_narrate_update(struct harness_narrator *n,
                            const struct sqn_update_event *ev);

/* Describe a starting flash in prose (why the modem will boot where). */
void harness_narrate_state(struct harness_narrator *n, uint64_t t_us,
                           const struct sim_state *st);

/* Append another narrator's transcript (indented) to `n`. */
void harness_narrator_append_other(struct harness_narrator *n,
                                   const struct harness_narrator *other);

/* Flush a pending collapsed STP run. */
void harness_narrate_flush(struct harness_narrator *n);

#endif /* HARNESS_NARRATE_H */
