/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut sweeps (docs/sweeps.md): count the cut points of a clean
 * upgrade, then for each point cut the power there, power the modem up
 * again from its flash, rerun a fresh updater and judge the outcome; some
 * points also get a second cut inside the recovery run.
 */
#ifndef HARNESS_SWEEP_H
#define HARNESS_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "link.h"
#include "pkgbuild.h"
#include "sim/state.h"

/* Which shard of the work this process does: items j with j % m == k - 1.
 * k = m = 1: everything. */
struct harness_shard {
  unsigned k, m;
};

/* "K/M" -> shard; 0 or -1. */
int harness_shard_parse(const char *text, struct harness_shard *out);

struct harness_sweep_opts {
  enum sim_profile profile;
  const struct harness_pkg *pkg;
  const struct sim_state *start;  /* the modem's flash at the start */
  uint32_t byte_step;             /* also cut every N host bytes; 0: no */
  uint32_t stride;                /* every K-th point (1: all) */
  uint64_t only;                  /* just this point (1-based); 0: all */
  struct harness_shard shard;
  uint32_t double_every;          /* double cut at ~1 in N points; 0: no */
  uint64_t seed;                  /* where the second cuts fall */
  bool replay;                    /* replay from zero, not from snapshots */
  bool rerun_all;                 /* no shared reruns (docs/sweeps.md) */
  unsigned jobs;                  /* worker processes; 0 or 1: none */
  enum harness_mutation mutation; /* test hook: broken write ordering */
  uint64_t bound_us;              /* per run */
  unsigned max_transcripts;       /* transcripts printed for failures */
  const char *repro;              /* command prefix reproducing a point */
  const char *junit;              /* JUnit XML path, or NULL */
  FILE *out;                      /* report; NULL: stdout */
};

struct harness_sweep_stats {
  uint64_t points;     /* cut points of the clean run */
  uint64_t selected;   /* points this shard ran */
  uint64_t recovered, reported, failed;
  uint64_t doubles;    /* double cuts run */
  uint64_t runs;       /* recovery runs judged (the others were shared) */
  uint64_t first_failed; /* first failing point, 0: none */
  double wall_s;
  char clean_reason[640]; /* the clean run itself failed: why */
};

/* Returns 0 when every selected point passed, 1 when one failed, -1 on a
 * harness error (OOM, the clean run failing). */
int harness_sweep(const struct harness_sweep_opts *o,
                  struct harness_sweep_stats *st);

/* splitmix64: the per-point / per-run seeds. */
uint64_t harness_mix64(uint64_t x);

/*
 * Build a package from a spec: comma-separated key=value / flags:
 *   size=BYTES version=A.B.C.D build=N family=lr5|lr6|lr8 no-pack no-elf
 *   records=boot+updater+fff+fs
 * Default: the profile's family, all four records in a PACK (the genuine
 * layout), 262144 bytes, with updater.elf. 0, or -1 with `err`.
 */
int harness_pkg_spec_build(const char *spec, enum sim_profile profile,
                           struct harness_pkg *p, char *err, size_t errcap);

/* JUnit helpers shared with the campaign. */
void harness_xml_escape(FILE *f, const char *s);

#endif /* HARNESS_SWEEP_H */
