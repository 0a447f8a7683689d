/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The narrated transcript of a scenario run: short timestamped lines a
 * newcomer can read ("Host → AT+SMSWBOOT=3,0", "Modem → ERROR", "The modem
 * boots into RECOVERY because ..."). Runs of STP data frames are collapsed
 * into one line ("BLOCK_CMD/BLOCK × 2808 (5665583 bytes)") so a 5 MB push
 * stays readable.
 *
 * Two levels: every line is kept in `text` (the expectation checks search
 * it), but lines that only matter when debugging (flash records, STP
 * session frames, the exact command line, runs that merely re-establish
 * an earlier scenario's state) start with HARNESS_NARR_DETAIL, and the
 * one-line recaps that stand for them with HARNESS_NARR_COMPACT.
 * harness_narrator_print() shows one level or the other.
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

#include <stdio.h>

#define HARNESS_NARR_DETAIL '\x01'  /* line shown only in full detail */
#define HARNESS_NARR_COMPACT '\x02' /* line shown only in the short story */

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
  /* story aids */
  bool after_escape;  /* the host's "+++" just prefixed an AT line */
  bool unpaced;       /* in-process run: transfers take no virtual time */
  bool unpaced_said;
  char pkg_version[48]; /* "5.1.1.0-38638": label versions read back */
  char old_version[48]; /* the modem's application before the story */
  char recent[8][96];   /* modem lines since the host last sent a line */
  unsigned recent_count;
  size_t cmd_end;     /* text length right after the host's last AT line */
  uint64_t cmd_t_us;  /* ... and its time: answers join that line */
  bool cmd_answered;  /* that line already carries an answer */
};

void harness_narrator_init(struct harness_narrator *n);
void harness_narrator_free(struct harness_narrator *n);
void harness_narrator_set_host(struct harness_narrator *n, const char *host);

/* A free-form line at virtual time t_us ("%s" style). */
void harness_narrate(struct harness_narrator *n, uint64_t t_us,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line shown only in full detail. */
void harness_narrate_detail(struct harness_narrator *n, uint64_t t_us,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line shown only in the short story (a recap of detail lines). */
void harness_narrate_compact(struct harness_narrator *n, uint64_t t_us,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line a host process printed: detail when it only echoes what the modem
 * just answered. */
void harness_narrate_host_says(struct harness_narrator *n, uint64_t t_us,
                               const char *text);
/* Turn every line from byte offset `from` into a detail line. */
void harness_narrator_demote(struct harness_narrator *n, size_t from);
/* Print the transcript: the short story, or (full) every line. */
void harness_narrator_print(const struct harness_narrator *n, FILE *f,
                            bool full);
/* Versions to label when the modem reports them. */
void harness_narrator_set_versions(struct harness_narrator *n,
                                   const char *pkg, const char *old);

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
