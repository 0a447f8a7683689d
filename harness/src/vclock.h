/*
 * The virtual clock of in-process runs: microseconds that only move when
 * the runner advances them, to the earliest deadline of the participants.
 * Nothing sleeps; a ten-minute modem commit takes no wall time.
 */
#ifndef HARNESS_VCLOCK_H
#define HARNESS_VCLOCK_H

#include <stdint.h>

struct harness_vclock {
  uint64_t now_us;
};

void harness_vclock_init(struct harness_vclock *c, uint64_t start_us);
/* Move to `t_us`; never backwards (an earlier time is ignored). */
void harness_vclock_advance_to(struct harness_vclock *c, uint64_t t_us);
/* Earliest of two absolute deadlines (UINT64_MAX = none). */
uint64_t harness_vclock_earliest(uint64_t a, uint64_t b);

#endif /* HARNESS_VCLOCK_H */
