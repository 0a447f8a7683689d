/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeded fault campaigns (docs/sweeps.md): random fault schedules drawn
 * from a catalogue of faults the updater must survive or report, every run
 * reproducible from its seed, failing runs shrunk to a minimal fault list.
 */
#ifndef HARNESS_CAMPAIGN_H
#define HARNESS_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "link.h"
#include "sweep.h"

#define HARNESS_CAMPAIGN_MAX_FAULTS 4

struct harness_campaign_opts {
  enum sim_profile profile;
  const struct harness_pkg *pkg;
  const struct sim_state *start;
  uint64_t seed;
  uint64_t runs;
  struct harness_shard shard;
  bool self_check;        /* run some seeds twice, compare transcripts */
  bool has_run_seed;      /* reproduce one run */
  uint64_t run_seed;
  uint32_t keep_mask;     /* with run_seed: faults kept (bit i = fault i) */
  bool narrate;           /* print the transcript of every run */
  bool verbose;           /* one line per run: seed and verdict */
  uint64_t bound_us;
  const char *repro;      /* command prefix reproducing a run */
  const char *junit;
  FILE *out;
};

struct harness_campaign_stats {
  uint64_t runs, recovered, reported, failed, self_checked;
  uint64_t faults_fired;
  double wall_s;
};

/* The fault list of a run seed (at most HARNESS_CAMPAIGN_MAX_FAULTS);
 * returns the count. Pure: the same seed gives the same list. */
unsigned harness_campaign_faults(uint64_t run_seed, uint64_t pkg_len,
                                 struct sim_fault *f);

/* The seed of run r of a campaign. */
uint64_t harness_campaign_run_seed(uint64_t seed, uint64_t r);

/* Returns 0 when every run passed, 1 when one failed, -1 on a harness
 * error. */
int harness_campaign(const struct harness_campaign_opts *o,
                     struct harness_campaign_stats *st);

#endif /* HARNESS_CAMPAIGN_H */
